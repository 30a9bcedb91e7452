/**
 * What a route may require of a verified token beyond its validity: freshness
 * (`protected({ fresh: true })`, flask-jwt-extended's `jwt_required(fresh=True)`) and a user that
 * `retrieveUser` finds (`protected({ user: true })`, `injectUser({ required: true })`).
 */
import type { Context } from 'koa'

import { isFresh } from '../core/freshness'
import { isThenable } from '../core/thenable'
import { readClock, type JwtPayload } from '../core/token'
import { NeedsFreshToken, UserLookupFailed } from '../errors'
import type { InstanceParts } from '../registry'

/** A check run by `guarded()`: synchronous unless something has to be awaited. @internal */
export type Check = (parts: InstanceParts, ctx: Context) => void | Promise<void>

/** The requirements of one route, read once from its options. @internal */
export interface Requirements {
  readonly fresh: boolean
  readonly user: boolean
}

/** The requirements a route's options ask for. @internal */
export function requirementsOf(options: { fresh?: boolean | undefined; user?: boolean | undefined }): Requirements {
  return { fresh: options.fresh === true, user: options.user === true }
}

/**
 * `check` followed by the route's requirements; `check` itself when there are none (the common
 * route pays nothing). @internal
 */
export function withRequirements(check: Check, requirements: Requirements): Check {
  if (!requirements.fresh && !requirements.user) return check
  return (parts, ctx) => {
    const pending = check(parts, ctx)
    return pending === undefined ? requireOf(parts, ctx, requirements) : pending.then(() => requireOf(parts, ctx, requirements))
  }
}

/** Checks the requirements against `ctx.state.jwt` (absent when `doProtection` is off: nothing to check). */
function requireOf(parts: InstanceParts, ctx: Context, requirements: Requirements): void | Promise<void> {
  const payload = ctx.state.jwt as JwtPayload | undefined
  if (payload === undefined) return
  if (requirements.fresh) requireFresh(parts, ctx, payload)
  if (requirements.user) return loadUser(parts, ctx, payload, true)
}

/**
 * Refuses a valid token that is not fresh at the configured clock.
 *
 * @throws NeedsFreshToken
 */
export function requireFresh(parts: InstanceParts, ctx: Context, payload: JwtPayload): void {
  if (!isFresh(payload.fresh, readClock(parts.config.get('clock', ctx)))) throw new NeedsFreshToken()
}

/** The user `retrieveUser` found for a request, by instance and payload: one lookup per request. */
const found = new WeakMap<Context, { readonly auth: object; readonly payload: JwtPayload; readonly user: unknown }>()

/**
 * Puts the user of `payload` in `ctx.state.user` (null when there is none, unless `required`).
 * `retrieveUser` runs once per request for one instance and token: a second guard or `injectUser()`
 * on the same route reuses what the first found.
 *
 * @throws UserLookupFailed when `required` and `retrieveUser` finds no user.
 * @internal
 */
export function loadUser(parts: InstanceParts, ctx: Context, payload: JwtPayload | null, required: boolean): void | Promise<void> {
  if (payload === null) {
    ctx.state.user = null
    return
  }
  const auth = parts.auth
  const known = found.get(ctx)
  if (known !== undefined && known.auth === auth && known.payload === payload) return settle(known.user)
  const user = auth.retrieveUser(ctx, payload)
  if (!isThenable(user)) {
    found.set(ctx, { auth, payload, user })
    return settle(user)
  }
  return Promise.resolve(user).then((result) => {
    found.set(ctx, { auth, payload, user: result })
    settle(result)
  })

  function settle(user: unknown): void {
    if (user === null || user === undefined) {
      if (required) throw new UserLookupFailed()
      ctx.state.user = null
      return
    }
    ctx.state.user = user
  }
}
