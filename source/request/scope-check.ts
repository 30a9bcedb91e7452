/**
 * The scope check of `scoped()` for one request: the route's requirement (values normalised once
 * at the route, or resolved per request through `destructureScopes` and scope functions) against
 * the token's scopes claim, with `overrideScopeValidator` when one is given.
 */
import type { Context } from 'koa'

import type { Configuration } from '../Configuration'
import { matchScopes, normalizeScope, type ScopeTuple } from '../core/scope-matcher'
import type { JwtPayload } from '../core/token'

/** The request as a scope function sees it: a Koa context with the route's `params`. */
export type ScopeContext = Context & { params: Record<string, string> }

/** What a scope requirement may be: a scope, a list of scopes, or a function of the request. */
export type ScopeRequirement =
  | string
  | readonly string[]
  | ((ctx: ScopeContext) => string | readonly string[] | Promise<string | readonly string[]>)

/** The scope hooks of `Authentication`. @internal */
export interface ScopeHooks {
  destructureScopes(scopes: ScopeRequirement, ctx?: Context): ScopeRequirement | Promise<ScopeRequirement>
  overrideScopeValidator(
    isValid: boolean,
    required: ScopeTuple,
    userScopes: ScopeTuple[],
    requireAllActions: boolean,
  ): boolean
}

/** How a route combines its scopes. @internal */
export interface ScopeCheckOptions {
  readonly requireAll: boolean
  readonly requireAllActions: boolean
}

/**
 * Checks a payload's scopes against a route's requirement: synchronously when the requirement
 * was declared as values and `destructureScopes` is the base one.
 *
 * @param base - the base hooks, to tell when `hooks` replaced them.
 * @internal
 */
export function scopesMatch(
  hooks: ScopeHooks,
  base: ScopeHooks,
  config: Configuration,
  ctx: Context,
  payload: JwtPayload,
  requirement: ScopeRequirement,
  compiled: readonly ScopeTuple[] | undefined,
  options: ScopeCheckOptions,
): boolean | Promise<boolean> {
  if (compiled !== undefined && hooks.destructureScopes === base.destructureScopes) {
    return matchWith(hooks, base, config, ctx, payload, compiled, options)
  }
  return resolveScopes(hooks, ctx, requirement).then((required) =>
    required === undefined ? false : matchWith(hooks, base, config, ctx, payload, required, options),
  )
}

async function resolveScopes(
  hooks: ScopeHooks,
  ctx: Context,
  requirement: ScopeRequirement,
): Promise<ScopeTuple[] | undefined> {
  let scopes = await hooks.destructureScopes(requirement, ctx)
  if (typeof scopes === 'function') scopes = await scopes(ctx as ScopeContext)
  const list: readonly unknown[] = typeof scopes === 'string' ? [scopes] : scopes
  if (!Array.isArray(list) || !list.every((s): s is string => typeof s === 'string')) return undefined
  return list.map(normalizeScope)
}

function matchWith(
  hooks: ScopeHooks,
  base: ScopeHooks,
  config: Configuration,
  ctx: Context,
  payload: JwtPayload,
  required: readonly ScopeTuple[],
  options: ScopeCheckOptions,
): boolean {
  const claim = payload[config.get('scopesName', ctx)]
  if (hooks.overrideScopeValidator === base.overrideScopeValidator) {
    return matchScopes(required, claim, options)
  }
  return matchScopes(required, claim, { ...options, override: hooks.overrideScopeValidator.bind(hooks) })
}
