import type { Context } from 'koa'

import type { InstanceParts } from '../registry'
import type { JwtMiddleware, LoadedUserState, ProtectedState, ProtectOptions } from '../types'
import {
  appResolver,
  compileOverrides,
  dual,
  guarded,
  toUnauthorized,
  type InstanceResolver,
} from './guard'
import { requirementsOf, withRequirements } from './requirements'

/** Verifies the request's access token and stores the payload in `ctx.state.jwt`. @internal */
export function authenticateRequest(parts: InstanceParts, ctx: Context): void | Promise<void> {
  if (!parts.config.get('doProtection', ctx)) return
  return verifyAndStore(parts, ctx)
}

/** {@link authenticateRequest} on a route with `skipRevocationCheck`. @internal */
export function authenticateSkippingRevocation(parts: InstanceParts, ctx: Context): void | Promise<void> {
  if (!parts.config.get('doProtection', ctx)) return
  return verifyAndStore(parts, ctx, false)
}

/**
 * {@link authenticateRequest} without the CSRF check, for the guards of `/auth/refresh` (which
 * checks the refresh token's value instead) and `/auth/logout` (which checks once its body is
 * read). @internal
 */
export function authenticateLeavingCsrf(parts: InstanceParts, ctx: Context): void | Promise<void> {
  if (!parts.config.get('doProtection', ctx)) return
  return verifyAndStore(parts, ctx, true, false)
}

const SKIP_REVOCATION = Object.freeze({ revocation: false })
const SKIP_CSRF = Object.freeze({ csrf: false })

/** {@link authenticateRequest} once `doProtection` is known to hold. @internal */
export function verifyAndStore(parts: InstanceParts, ctx: Context, revocation = true, csrf = true): void | Promise<void> {
  const { auth } = parts
  let result: ReturnType<typeof auth.verifyRequestNow>
  try {
    result = auth.verifyRequestNow(ctx, csrf ? (revocation ? undefined : SKIP_REVOCATION) : SKIP_CSRF)
  } catch (error) {
    return refused(parts, ctx, error)
  }
  if (result instanceof Promise) {
    return result.then(
      (payload) => {
        ctx.state.jwt = payload
      },
      (error: unknown) => refused(parts, ctx, error),
    )
  }
  ctx.state.jwt = result
}

/** A failed extraction or verification, as the protected route answers it (reference §3.3). */
function refused(parts: InstanceParts, ctx: Context, error: unknown): never {
  throw toUnauthorized(error, parts.config.get('debug', ctx))
}

/**
 * Builds `protected()` for a resolver; `leaveCsrf` (the guards of `/auth/refresh` and
 * `/auth/logout`) leaves the CSRF check to the endpoint. @internal
 */
export function createProtect(
  resolve: InstanceResolver,
  options: ProtectOptions = {},
  leaveCsrf = false,
): JwtMiddleware<ProtectedState> {
  const overrides = compileOverrides(options as Record<string, unknown>)
  const authenticate = leaveCsrf
    ? authenticateLeavingCsrf
    : options.skipRevocationCheck === true
      ? authenticateSkippingRevocation
      : authenticateRequest
  const check = withRequirements(authenticate, requirementsOf(options))
  return dual<ProtectedState>(function protectedMiddleware(ctx, next, view) {
    return guarded(ctx, next, resolve, overrides, options, check, view)
  })
}

/**
 * Module-level `protected()`: protects a route with the `Initialize` of `ctx.app`.
 * Also exported as `protected` (a reserved word: bind it through a namespace import). The
 * handlers after it on a route see `ctx.state.jwt` as defined ({@link ProtectedState}).
 *
 * @example
 * ```ts
 * router.get('/secret', protect(), (ctx) => { ctx.body = ctx.state.jwt })
 * ```
 */
export function protect(options: ProtectOptions & { user: true }): JwtMiddleware<ProtectedState & LoadedUserState>
export function protect(options?: ProtectOptions): JwtMiddleware<ProtectedState>
export function protect(options: ProtectOptions = {}): JwtMiddleware<ProtectedState> {
  return createProtect(appResolver, options)
}
