import type { JwtMiddleware, ProtectOptions, UserState } from '../types'
import { appResolver, compileOverrides, dual, guarded, type InstanceResolver } from './guard'

/** Builds `injectUser()` for a resolver; `User` types `ctx.state.user` after it. @internal */
export function createInjectUser<User = any>(
  resolve: InstanceResolver,
  options: ProtectOptions = {},
): JwtMiddleware<UserState<User>> {
  const overrides = compileOverrides(options as Record<string, unknown>)
  return dual<UserState<User>>(function injectUserMiddleware(ctx, next, view) {
    return guarded(ctx, next, resolve, overrides, {}, async ({ auth }, ctx) => {
      const payload =
        (ctx.state.jwt as Record<string, unknown> | undefined) ??
        (await auth.extractPayload(ctx, { verify: false }))
      ctx.state.user = payload ? ((await auth.retrieveUser(ctx, payload)) ?? null) : null
    }, view)
  })
}

/**
 * Module-level `injectUser()`: sets `ctx.state.user` with the `Initialize` of `ctx.app`. The
 * handlers after it on a route see `ctx.state.user` as the router's `JwtState` user or null.
 */
export function injectUser(options: ProtectOptions = {}): JwtMiddleware<UserState> {
  return createInjectUser(appResolver, options)
}
