import type { ScopeRequirement } from '../Authentication'
import { normalizeScope, type ScopeTuple } from '../core/scope-matcher'
import { Unauthorized } from '../errors'
import type { JwtMiddleware, ScopedOptions } from '../types'
import { appResolver, compileOverrides, dual, guarded, type InstanceResolver } from './guard'
import { authenticateRequest } from './protect'

const INVALID_SCOPE = 'Invalid scope.'

/** Builds `scoped()` for a resolver. Requirements given as values are normalised here, once. @internal */
export function createScoped(
  resolve: InstanceResolver,
  scopes: ScopeRequirement | null | false,
  options: ScopedOptions = {},
): JwtMiddleware {
  if (scopes === null || scopes === false) {
    // sanic-jwt: scoped(None) leaves the route unprotected.
    return dual(function scopedMiddleware(_ctx, next) {
      return next()
    })
  }
  const overrides = compileOverrides(options as Record<string, unknown>)
  const compiled: readonly ScopeTuple[] | undefined =
    typeof scopes === 'function' ? undefined : (typeof scopes === 'string' ? [scopes] : scopes).map(normalizeScope)
  const matchOptions = {
    requireAll: options.requireAll ?? true,
    requireAllActions: options.requireAllActions ?? true,
  }
  return dual(function scopedMiddleware(ctx, next, view) {
    return guarded(ctx, next, resolve, overrides, options, async (parts, ctx) => {
      await authenticateRequest(parts, ctx)
      if (!parts.config.get('doProtection', ctx)) return
      const payload = ctx.state.jwt as Record<string, unknown>
      if (!(await parts.auth.scopesMatch(ctx, payload, scopes, compiled, matchOptions))) {
        throw new Unauthorized(INVALID_SCOPE, {
          status: 403,
          code: 'ERR_JWT_INVALID_SCOPE',
          headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope"' },
        })
      }
    }, view)
  })
}

/**
 * Module-level `scoped()`: protects a route and requires scopes, with the `Initialize` of
 * `ctx.app`. `scoped(null)` leaves the route unprotected.
 */
export function scoped(scopes: ScopeRequirement | null | false, options: ScopedOptions = {}): JwtMiddleware {
  return createScoped(appResolver, scopes, options)
}
