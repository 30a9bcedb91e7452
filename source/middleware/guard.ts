/**
 * What `protected()`, `scoped()` and `injectUser()` share: per-route overrides, instance lookup,
 * failure mapping (reference §3.3) and the middleware/decorator duality.
 */
import type { Context, Next } from 'koa'

import { DECODE_FAILURE_CODES } from '../core/token'
import {
  asLibraryError,
  CSRFError,
  HandlerFailed,
  InvalidConfiguration,
  InvalidToken,
  KoaJwtError,
  RevokedToken,
  StoreUnavailable,
  KeysUnavailable,
  Unauthorized,
} from '../errors'
import { endpointOfRequest, instances, type InstanceParts } from '../registry'
import { renderError } from '../Responses'
import { normalizeSetting } from '../setting-values'
import { KINDS, canonicalName, type SettingName } from '../settings'
import type { JwtMiddleware } from '../types'

/**
 * Finds the instance a middleware works for; `view` is the endpoint object when the middleware is
 * used as a method decorator. @internal
 */
export type InstanceResolver = (ctx: Context, view?: unknown) => InstanceParts

/** Keys of route options that are not settings. */
const ROUTE_KEYS = new Set(['redirectOnFail', 'redirectUrl', 'requireAll', 'requireAllActions', 'fresh', 'user', 'required', 'skipRevocationCheck'])

/** Per-route overrides compiled once: static values normalised, functions kept for each request. @internal */
export interface CompiledOverrides {
  readonly fixed: ReadonlyMap<SettingName, unknown>
  readonly dynamic: readonly (readonly [SettingName, () => unknown])[]
}

/**
 * Validates per-route overrides at the time the route is declared.
 *
 * @throws InvalidConfiguration for unknown names or wrong types.
 */
export function compileOverrides(raw: Readonly<Record<string, unknown>> = {}): CompiledOverrides {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidConfiguration('the options of protected(), scoped() and injectUser() must be an object.')
  }
  const fixed = new Map<SettingName, unknown>()
  const dynamic: [SettingName, () => unknown][] = []
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue
    if (ROUTE_KEYS.has(name)) {
      const expected = name === 'redirectUrl' ? 'string' : 'boolean'
      if (typeof value !== expected) {
        throw new InvalidConfiguration(`the "${name}" route option must be a ${expected} (got ${typeof value}).`)
      }
      continue
    }
    const key = canonicalName(name)
    if (key === undefined) throw new InvalidConfiguration(`unknown per-route setting "${name}".`)
    if (typeof value === 'function' && KINDS[key] !== 'function') dynamic.push([key, value as () => unknown])
    else fixed.set(key, normalizeSetting(key, value))
  }
  return { fixed, dynamic }
}

/** Puts the overrides in place for this request; returns the restore function, if any. @internal */
export function applyOverrides(
  parts: InstanceParts,
  ctx: Context,
  overrides: CompiledOverrides,
): (() => void) | undefined {
  if (overrides.fixed.size === 0 && overrides.dynamic.length === 0) return undefined
  let values = overrides.fixed
  if (overrides.dynamic.length > 0) {
    const merged = new Map(overrides.fixed)
    for (const [key, fn] of overrides.dynamic) merged.set(key, normalizeSetting(key, fn()))
    values = merged
  }
  return parts.config.pushRequestValues(ctx, values)
}

/** Resolver for module-level middleware: the instance of `ctx.app`, never another one. @internal */
export function appResolver(ctx: Context, view?: unknown): InstanceParts {
  // A module-level decorator on a class view works for the instance that mounted the view.
  const fromView = view as Partial<InstanceParts> | undefined
  if (fromView?.auth && fromView.config && fromView.responses) return fromView as InstanceParts
  const parts = endpointOfRequest.get(ctx) ?? instances.get(ctx.app)
  if (parts === undefined) {
    throw new KoaJwtError(
      'Authentication instance not found. Perhaps you used protect() on a router-initialized setup? Use the middleware of that instance: jwt.protected().',
      { code: 'ERR_JWT_INSTANCE_NOT_FOUND' },
    )
  }
  return parts
}

const MISSING_CODES = new Set([
  'ERR_JWT_MISSING_HEADER',
  'ERR_JWT_MISSING_COOKIE',
  'ERR_JWT_MISSING_QUERY_ARG',
  'ERR_JWT_INVALID_HEADER',
])

/**
 * Turns a failure of token extraction or verification into what a protected route answers
 * (reference §3.3). Outside debug mode, every structural or signature failure reads the same.
 *
 * @internal
 */
export function toUnauthorized(error: unknown, debug: boolean): KoaJwtError {
  if (!(error instanceof KoaJwtError)) {
    return debug ? new HandlerFailed(null, { cause: error }) : new Unauthorized(null, { cause: error })
  }
  // flask-jwt-extended's failures answer as themselves (their hooks and clients tell them by
  // class); a store that fails is the server's 503, never a 401 that sends the user to log in.
  // A revocation check that cannot answer (HandlerFailed from isTokenRevoked) fails closed the same way.
  // A failed CSRF check answers as itself too (flask-jwt-extended's CSRFError).
  if (
    error instanceof RevokedToken ||
    error instanceof StoreUnavailable ||
    error instanceof KeysUnavailable ||
    error instanceof HandlerFailed ||
    error instanceof CSRFError
  ) {
    return error
  }
  if (MISSING_CODES.has(error.code)) {
    return new Unauthorized(error.reasons, { status: debug ? 400 : 401, code: error.code, cause: error })
  }
  if (error instanceof InvalidToken && DECODE_FAILURE_CODES.has(error.code)) {
    return debug
      ? new Unauthorized(error.reasons, { status: 400, code: error.code, cause: error })
      : new Unauthorized(null, { code: 'ERR_JWT_INVALID_TOKEN', cause: error })
  }
  if (error.status < 500 || !debug) {
    return new Unauthorized(error.reasons, { status: 401, code: error.code, cause: error })
  }
  return error
}

/** Answers a failed check: a redirect when asked for, else the rendered error. @internal */
export interface FailureOptions {
  readonly redirectOnFail?: boolean | undefined
  readonly redirectUrl?: string | undefined
}

/** A failed check: a redirect when the route asks for one, else the error, as a library error. */
function refuse(ctx: Context, parts: InstanceParts, failure: FailureOptions, error: unknown): void {
  // A store (or a key set) that fails is the server's 503, and a failed CSRF check a request the
  // page did not make (or made without its value): sending the user to the login page would not help.
  if (
    failure.redirectOnFail &&
    !(error instanceof StoreUnavailable || error instanceof KeysUnavailable || error instanceof CSRFError)
  ) {
    const target = failure.redirectUrl ?? parts.config.get('loginRedirectUrl', ctx)
    if (target) return ctx.redirect(target)
  }
  throw asLibraryError(error)
}

/**
 * Runs `check`, then `next`, rendering library errors with the instance's `Responses`. Written
 * with promise chains rather than `async`: on the common path (a synchronous check) a request
 * costs one `then`, not a coroutine. @internal
 */
export function guarded(
  ctx: Context,
  next: Next,
  resolve: InstanceResolver,
  overrides: CompiledOverrides,
  failure: FailureOptions,
  check: (parts: InstanceParts, ctx: Context) => void | Promise<void>,
  view?: unknown,
): Promise<void> {
  if (ctx.method === 'OPTIONS') return next()
  let parts: InstanceParts
  try {
    parts = resolve(ctx, view)
  } catch (error) {
    if (!(error instanceof KoaJwtError)) return Promise.reject(error)
    renderError(ctx, error)
    return Promise.resolve()
  }
  let restore: (() => void) | undefined
  const fail = (error: unknown): void | Promise<void> => {
    restore?.()
    if (!(error instanceof KoaJwtError)) throw error
    return parts.responses.failureResponse(ctx, error)
  }
  let pending: void | Promise<void>
  try {
    restore = applyOverrides(parts, ctx, overrides)
    pending = check(parts, ctx)
  } catch (error) {
    return new Promise<void>((settle) => {
      refuse(ctx, parts, failure, error)
      settle()
    }).then(() => restore?.(), fail)
  }
  // `restore` (undefined without per-route overrides) runs once the route has answered.
  if (pending !== undefined) {
    return pending.then(() => next(), (error: unknown) => refuse(ctx, parts, failure, error)).then(restore, fail)
  }
  try {
    return next().then(restore, fail)
  } catch (error) {
    return new Promise<void>((settle) => settle(fail(error)))
  }
}

/**
 * Makes one function that is both Koa middleware and a TypeScript 5 method decorator for
 * `BaseEndpoint` verbs, with one implementation behind both; `StateT` is what it adds to
 * `ctx.state` (types only). @internal
 */
export function dual<StateT = {}>(
  middleware: (ctx: Context, next: Next, view?: unknown) => Promise<void>,
): JwtMiddleware<StateT> {
  function jwtMiddleware(this: unknown, first: unknown, second: unknown): unknown {
    if (
      typeof first === 'function' &&
      typeof second === 'object' &&
      second !== null &&
      (second as { kind?: unknown }).kind === 'method'
    ) {
      const method = first as (this: unknown, ctx: Context, ...rest: unknown[]) => unknown
      return async function decorated(this: unknown, ctx: Context, ...rest: unknown[]) {
        let result: unknown
        await middleware(
          ctx,
          async () => {
            result = await method.call(this, ctx, ...rest)
          },
          this,
        )
        return result
      }
    }
    return middleware(first as Context, second as Next)
  }
  Object.defineProperty(jwtMiddleware, 'name', { value: middleware.name })
  return jwtMiddleware as JwtMiddleware<StateT>
}
