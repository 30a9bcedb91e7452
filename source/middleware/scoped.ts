import type { Context } from 'koa'

import type { ScopeRequirement } from '../Authentication'
import type { JwtPayload } from '../core/token'
import { normalizeScope, type ScopeTuple } from '../core/scope-matcher'
import { InvalidConfiguration, Unauthorized } from '../errors'
import type { InstanceParts } from '../registry'
import type { JwtMiddleware, LoadedUserState, ProtectedState, ScopedOptions } from '../types'
import { appResolver, compileOverrides, dual, guarded, type InstanceResolver } from './guard'
import { verifyAndStore } from './protect'
import { requireFresh, requirementsOf, withRequirements } from './requirements'

const INVALID_SCOPE = 'Invalid scope.'

/** Builds `scoped()` for a resolver. Requirements given as values are normalised here, once. @internal */
export function createScoped(
  resolve: InstanceResolver,
  scopes: ScopeRequirement | null | false,
  options: ScopedOptions = {},
): JwtMiddleware<ProtectedState> {
  if (scopes === null || scopes === false) {
    // sanic-jwt: scoped(None) leaves the route unprotected.
    return dual<ProtectedState>(function scopedMiddleware(_ctx, next) {
      return next()
    })
  }
  if (
    typeof scopes !== 'function' &&
    typeof scopes !== 'string' &&
    !(Array.isArray(scopes) && scopes.every((scope) => typeof scope === 'string'))
  ) {
    throw new InvalidConfiguration(
      'scoped() takes a scope string, a list of scope strings, a function of ctx returning them, or null.',
    )
  }
  const overrides = compileOverrides(options as Record<string, unknown>)
  const compiled: readonly ScopeTuple[] | undefined =
    typeof scopes === 'function' ? undefined : (typeof scopes === 'string' ? [scopes] : scopes).map(normalizeScope)
  const matchOptions = {
    requireAll: options.requireAll ?? true,
    requireAllActions: options.requireAllActions ?? true,
  }
  const denied = (): never => {
    throw new Unauthorized(INVALID_SCOPE, {
      status: 403,
      code: 'ERR_JWT_INVALID_SCOPE',
      headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope"' },
    })
  }
  const checkScopes = (parts: InstanceParts, ctx: Context): void | Promise<void> => {
    const verdict = parts.auth.scopesMatch(ctx, ctx.state.jwt as JwtPayload, scopes, compiled, matchOptions)
    if (verdict === false) denied()
    if (verdict instanceof Promise) {
      return verdict.then((ok) => {
        if (!ok) denied()
      })
    }
  }
  const requirements = requirementsOf(options)
  // Verify, then freshness (a property of the token), then the scopes; the user lookup (a store
  // query) runs last.
  const matchScopes = (parts: InstanceParts, ctx: Context): void | Promise<void> => {
    if (requirements.fresh) requireFresh(parts, ctx, ctx.state.jwt as JwtPayload)
    return checkScopes(parts, ctx)
  }
  const verifyAndMatch = (parts: InstanceParts, ctx: Context): void | Promise<void> => {
    // doProtection is read once: a getter's value holds for the whole request anyway.
    if (!parts.config.get('doProtection', ctx)) return
    const pending = verifyAndStore(parts, ctx, options.skipRevocationCheck !== true)
    return pending === undefined ? matchScopes(parts, ctx) : pending.then(() => matchScopes(parts, ctx))
  }
  const check = withRequirements(verifyAndMatch, { fresh: false, user: requirements.user })
  return dual<ProtectedState>(function scopedMiddleware(ctx, next, view) {
    return guarded(ctx, next, resolve, overrides, options, check, view)
  })
}

/**
 * Module-level `scoped()`: protects a route and requires scopes, with the `Initialize` of
 * `ctx.app`. The handlers after it on a route see `ctx.state.jwt` as defined
 * ({@link ProtectedState}). `scoped(null)` leaves the route unprotected (and adds nothing to the
 * state's type).
 */
export function scoped(scopes: ScopeRequirement, options: ScopedOptions & { user: true }): JwtMiddleware<ProtectedState & LoadedUserState>
export function scoped(scopes: ScopeRequirement, options?: ScopedOptions): JwtMiddleware<ProtectedState>
/** `scoped(null)` and `scoped(false)` leave the route unprotected. */
export function scoped(scopes: ScopeRequirement | null | false, options?: ScopedOptions): JwtMiddleware
export function scoped(
  scopes: ScopeRequirement | null | false,
  options: ScopedOptions = {},
): JwtMiddleware<ProtectedState> {
  return createScoped(appResolver, scopes, options)
}
