/**
 * The freshness rule of flask-jwt-extended 4 (`fresh` claim): `true` is fresh; a number is the
 * epoch until which the token is fresh, compared with the current time without leeway (equal is
 * still fresh); anything else (false, missing, a string) is not fresh. No Koa in here.
 */

/** True when a `fresh` claim counts as fresh at `now` (seconds). */
export function isFresh(claim: unknown, now: number): boolean {
  if (claim === true) return true
  return typeof claim === 'number' && Number.isFinite(claim) && claim >= now
}
