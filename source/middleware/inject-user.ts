import type { Context } from 'koa'

import type { JwtPayload } from '../core/token'
import type { InstanceParts } from '../registry'
import type { InjectUserOptions, JwtMiddleware, LoadedUserState, ProtectedState, UserState } from '../types'
import { appResolver, compileOverrides, dual, guarded, type InstanceResolver } from './guard'
import { authenticateRequest } from './protect'
import { loadUser, withRequirements, type Check } from './requirements'

/** Sets `ctx.state.user` from the request's token, or null for an anonymous request. */
async function inject(parts: InstanceParts, ctx: Context): Promise<void> {
  const payload =
    (ctx.state.jwt as JwtPayload | undefined) ?? (await parts.auth.extractPayload(ctx, { verify: false }))
  await loadUser(parts, ctx, payload, false)
}

/** Builds `injectUser()` for a resolver; `User` types `ctx.state.user` after it. @internal */
export function createInjectUser<User = any>(
  resolve: InstanceResolver,
  options: InjectUserOptions = {},
): JwtMiddleware<UserState<User>> {
  const overrides = compileOverrides(options as Record<string, unknown>)
  // required: a guard as protected() is (its answers when there is no valid token), then
  // UserLookupFailed when retrieveUser finds no user.
  const check: Check = options.required === true ? withRequirements(authenticateRequest, { fresh: false, user: true }) : inject
  return dual<UserState<User>>(function injectUserMiddleware(ctx, next, view) {
    return guarded(ctx, next, resolve, overrides, options.required === true ? options : {}, check, view)
  })
}

/**
 * Module-level `injectUser()`: sets `ctx.state.user` with the `Initialize` of `ctx.app`. The
 * handlers after it on a route see `ctx.state.user` as the router's `JwtState` user or null.
 */
export function injectUser(options: InjectUserOptions & { required: true }): JwtMiddleware<ProtectedState & LoadedUserState>
export function injectUser(options?: InjectUserOptions): JwtMiddleware<UserState>
export function injectUser(options: InjectUserOptions = {}): JwtMiddleware<UserState> {
  return createInjectUser(appResolver, options)
}
