/**
 * CSRF double submit in cookie mode (flask-jwt-extended's, reference §4): the CSRF values, their
 * constant-time comparison and the start-up check of the cookie names. The request side lives in
 * `request/RequestReader.ts`. No Koa in here.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

import type { Configuration } from '../Configuration'
import { CSRFError, InvalidConfiguration } from '../errors'

/** Reason of a request that sent no CSRF value. */
export const MISSING_CSRF = 'Missing CSRF token.'

/** Reason of a request whose CSRF value is not the token's. */
export const CSRF_MISMATCH = 'CSRF double submit tokens do not match.'

/** A new CSRF value for the `csrf` claim of an access token: 128 random bits, base64url. */
export function newCsrfValue(): string {
  return randomBytes(16).toString('base64url')
}

/**
 * The CSRF value of a refresh token. Refresh tokens are opaque strings, not JWTs, and may be
 * kept by the user's handlers: they have no claim to carry a value, so it is derived from the
 * token (128 bits of a SHA-256, base64url). Only who holds the token can compute it, and it
 * gives nothing back of a random token.
 */
export function refreshCsrfValue(refreshToken: string): string {
  return createHash('sha256').update('koa-jwt-kit csrf refresh\0').update(refreshToken).digest().subarray(0, 16).toString('base64url')
}

/**
 * Compares the value a request sent with the token's, in constant time for values of one
 * length; a value of another length, or no value in the token, is no match (never a throw).
 */
export function csrfMatches(expected: unknown, sent: string): boolean {
  if (typeof expected !== 'string' || expected === '') return false
  const a = Buffer.from(expected, 'utf8')
  const b = Buffer.from(sent, 'utf8')
  // timingSafeEqual throws on different lengths; compare a with itself to keep the timing flat.
  return a.length === b.length ? timingSafeEqual(a, b) : !timingSafeEqual(a, a)
}

/**
 * The double-submit check itself: the request sent a value (a string, not empty) and it is the
 * token's. A token without a value (issued in header mode, or before protection was on) matches
 * nothing, as flask-jwt-extended refuses it.
 *
 * @param expected - the token's value (the `csrf` claim, or the refresh token's derived value).
 * @param sent - what the header or the form field held.
 * @throws CSRFError "Missing CSRF token." or "CSRF double submit tokens do not match."
 */
export function checkDoubleSubmit(expected: unknown, sent: unknown): void {
  if (sent === undefined || sent === null || sent === '') throw new CSRFError(MISSING_CSRF)
  // Several values (a repeated field) cannot be the one value.
  if (typeof sent !== 'string' || !csrfMatches(expected, sent)) throw new CSRFError(CSRF_MISMATCH)
}

/**
 * Refuses, at start-up, CSRF cookie names that collide with a token cookie or with each other:
 * one would overwrite the other in the browser. Only while `cookieCsrfProtect` is on.
 *
 * @throws InvalidConfiguration
 */
export function checkCsrfCookieNames(config: Configuration): void {
  if (!config.get('cookieCsrfProtect')) return
  const taken = new Map<string, string>([
    [config.get('cookieAccessTokenName'), 'cookieAccessTokenName'],
    [config.get('cookieRefreshTokenName'), 'cookieRefreshTokenName'],
  ])
  if (config.get('cookieSplit')) taken.set(config.get('cookieSplitSignatureName'), 'cookieSplitSignatureName')
  for (const name of ['cookieCsrfAccessName', 'cookieCsrfRefreshName'] as const) {
    const value = config.get(name)
    const other = taken.get(value)
    if (other !== undefined) {
      throw new InvalidConfiguration(`the "${name}" setting names the same cookie as "${other}" ("${value}").`)
    }
    taken.set(value, name)
  }
}
