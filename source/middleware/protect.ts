import type { Context } from 'koa'

import type { ScopeRequirement } from '../Authentication'
import type { ScopeTuple } from '../core/scope-matcher'
import { normalizeScope } from '../core/scope-matcher'
import { Unauthorized } from '../errors'
import type { InstanceParts } from '../registry'
import type { JwtMiddleware, ProtectOptions, ScopedOptions } from '../types'
import {
  appResolver,
  compileOverrides,
  dual,
  guarded,
  toUnauthorized,
  type InstanceResolver,
} from './guard'

/** Verifies the request's access token and stores the payload in `ctx.state.jwt`. @internal */
export async function authenticateRequest(parts: InstanceParts, ctx: Context): Promise<void> {
  const { config, auth } = parts
  if (!config.get('doProtection', ctx)) return
  try {
    ctx.state.jwt = await auth.verifyRequest(ctx)
  } catch (error) {
    throw toUnauthorized(error, config.get('debug', ctx))
  }
}

/** Builds `protected()` for a resolver. @internal */
export function createProtect(resolve: InstanceResolver, options: ProtectOptions = {}): JwtMiddleware {
  const overrides = compileOverrides(options as Record<string, unknown>)
  return dual(function protectedMiddleware(ctx, next, view) {
    return guarded(ctx, next, resolve, overrides, options, authenticateRequest, view)
  })
}

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

/**
 * Module-level `protected()`: protects a route with the `Initialize` of `ctx.app`.
 * Also exported as `protected` (a reserved word: bind it through a namespace import).
 *
 * @example
 * ```ts
 * router.get('/secret', protect(), (ctx) => { ctx.body = ctx.state.jwt })
 * ```
 */
export function protect(options: ProtectOptions = {}): JwtMiddleware {
  return createProtect(appResolver, options)
}

/**
 * Module-level `scoped()`: protects a route and requires scopes, with the `Initialize` of
 * `ctx.app`. `scoped(null)` leaves the route unprotected.
 */
export function scoped(scopes: ScopeRequirement | null | false, options: ScopedOptions = {}): JwtMiddleware {
  return createScoped(appResolver, scopes, options)
}

/** Module-level `injectUser()`: sets `ctx.state.user` with the `Initialize` of `ctx.app`. */
export function injectUser(options: ProtectOptions = {}): JwtMiddleware {
  return createInjectUser(appResolver, options)
}
