import type { JwtMiddleware, ProtectOptions } from '../types'
import { appResolver, compileOverrides, dual, guarded, type InstanceResolver } from './guard'

/** Builds `injectUser()` for a resolver. @internal */
export function createInjectUser(resolve: InstanceResolver, options: ProtectOptions = {}): JwtMiddleware {
  const overrides = compileOverrides(options as Record<string, unknown>)
  return dual(function injectUserMiddleware(ctx, next, view) {
    return guarded(ctx, next, resolve, overrides, {}, async ({ auth }, ctx) => {
      const payload =
        (ctx.state.jwt as Record<string, unknown> | undefined) ??
        (await auth.extractPayload(ctx, { verify: false }))
      ctx.state.user = payload ? ((await auth.retrieveUser(ctx, payload)) ?? null) : null
    }, view)
  })
}

/** Module-level `injectUser()`: sets `ctx.state.user` with the `Initialize` of `ctx.app`. */
export function injectUser(options: ProtectOptions = {}): JwtMiddleware {
  return createInjectUser(appResolver, options)
}
