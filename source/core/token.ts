/**
 * The token engine: signing and signature verification through jsonwebtoken with prepared keys
 * and frozen option objects, plus the claim rules of sanic-jwt/PyJWT (reference §1.6, §3.5)
 * evaluated against the configured clock. No Koa in here.
 */
import type { KeyObject } from 'node:crypto'

import jwt from 'jsonwebtoken'

import { InvalidConfiguration, InvalidToken, type ErrorCode } from '../errors'
import { ALGORITHMS, type Algorithm } from '../settings'

/** A decoded JWT payload. */
export type JwtPayload = Record<string, unknown>

// One frozen options object per algorithm, built once. Claims are checked below with our clock, so
// jsonwebtoken only checks structure, algorithm and signature, and never writes into these objects.
// Its clock is read only for the exp/nbf/maxAge checks that these options turn off, so a fixed
// clockTimestamp spares it a Date.now() per verification (jsonwebtoken 9: `clockTimestamp ||
// Math.floor(Date.now() / 1000)`); the value is never compared with anything.
const VERIFY_OPTIONS = Object.freeze(
  Object.fromEntries(
    ALGORITHMS.map((alg) => [
      alg,
      Object.freeze({
        algorithms: Object.freeze([alg]) as unknown as jwt.Algorithm[],
        ignoreExpiration: true,
        ignoreNotBefore: true,
        clockTimestamp: 1,
        // The decoded header as well (jsonwebtoken has it anyway): for the crit check below.
        complete: true,
      }),
    ]),
  ),
) as Readonly<Record<Algorithm, jwt.VerifyOptions>>

const SIGN_OPTIONS = Object.freeze(
  Object.fromEntries(
    ALGORITHMS.map((alg) => [
      alg,
      {
        // jsonwebtoken stamps its own iat unless told not to, and deletes ours when told not to:
        // pick the object that keeps the payload as built.
        withIat: Object.freeze({ algorithm: alg }),
        withoutIat: Object.freeze({ algorithm: alg, noTimestamp: true }),
      },
    ]),
  ),
) as Readonly<Record<Algorithm, { withIat: jwt.SignOptions; withoutIat: jwt.SignOptions }>>

/** Frozen jsonwebtoken sign options of one key (its `kid` in the header): with and without jsonwebtoken's own `iat`. */
export interface SignOptions {
  // jsonwebtoken's SignOptions, typed as objects: the published .d.ts must not need @types/jsonwebtoken.
  readonly withIat: object
  readonly withoutIat: object
}

/**
 * The sign options of a key that writes `kid` into the header (built once per key, at start-up or
 * by `rotateKeys`). @internal
 */
export function signOptionsFor(algorithm: Algorithm, kid: string): SignOptions {
  return Object.freeze({
    withIat: Object.freeze({ algorithm, keyid: kid }),
    withoutIat: Object.freeze({ algorithm, keyid: kid, noTimestamp: true }),
  })
}

/**
 * Signs a payload. The payload is copied by jsonwebtoken, never mutated.
 *
 * @param options - the key's options from `signOptionsFor` (a `kid` in the header); none: no `kid`.
 */
export function signToken(payload: JwtPayload, key: KeyObject, algorithm: Algorithm, options?: SignOptions): string {
  const chosen = options ?? SIGN_OPTIONS[algorithm]
  return jwt.sign(payload, key, ('iat' in payload ? chosen.withIat : chosen.withoutIat) as jwt.SignOptions)
}

/** Codes of failures that concern the token's structure or signature rather than a claim. */
export const DECODE_FAILURE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_JWT_MALFORMED',
  'ERR_JWT_INVALID_SIGNATURE',
  'ERR_JWT_INVALID_ALGORITHM',
  'ERR_JWT_INVALID_CLAIM_TYPE',
  'ERR_JWT_UNKNOWN_KID',
])

function badClock(value: unknown): InvalidConfiguration {
  return new InvalidConfiguration(
    `the "clock" setting must return the current time as a finite number of seconds (got ${typeof value === 'number' ? String(value) : typeof value}).`,
  )
}

/**
 * Reads a `clock`, refusing anything but a finite number (a NaN would make every claim comparison
 * false). @internal
 *
 * @throws InvalidConfiguration
 */
export function readClock(clock: () => unknown): number {
  const now = clock()
  if (!isTime(now)) throw badClock(now)
  return now
}

function tokenError(code: ErrorCode, message: string, cause?: unknown): InvalidToken {
  return new InvalidToken(message, cause === undefined ? { code } : { code, cause })
}

function decodeSegment(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return undefined
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

const isObject = (value: unknown): value is JwtPayload =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Explains a failed verification in PyJWT's words, without the engine's wording. Only runs on
 * the failure path.
 */
function classify(token: string, error: unknown, algorithm?: Algorithm): InvalidToken {
  const parts = token.split('.')
  if (parts.length < 3) return tokenError('ERR_JWT_MALFORMED', 'Not enough segments.', error)
  if (parts.length > 3) return tokenError('ERR_JWT_MALFORMED', 'Too many segments.', error)
  const header = decodeSegment(parts[0]!)
  if (!isObject(header)) return tokenError('ERR_JWT_MALFORMED', 'Invalid header string.', error)
  if (!isObject(decodeSegment(parts[1]!))) {
    return tokenError('ERR_JWT_MALFORMED', 'Invalid payload string: must be a json object.', error)
  }
  const message = error instanceof Error ? error.message : ''
  if (message === 'invalid algorithm' || header.alg !== (algorithm ?? header.alg) || typeof header.alg !== 'string') {
    return tokenError('ERR_JWT_INVALID_ALGORITHM', 'The specified alg value is not allowed.', error)
  }
  if (!/^[A-Za-z0-9_-]*$/.test(parts[2]!)) {
    return tokenError('ERR_JWT_MALFORMED', 'Invalid crypto padding.', error)
  }
  return tokenError('ERR_JWT_INVALID_SIGNATURE', 'Signature verification failed.', error)
}

/**
 * Checks structure, algorithm (exactly `algorithm`, never `none`) and signature.
 *
 * @returns the payload, always a plain object.
 * @throws InvalidToken with a decode-failure code.
 */
export function verifySignature(token: string, key: KeyObject, algorithm: Algorithm): JwtPayload {
  let decoded: { header: Record<string, unknown>; payload: unknown }
  try {
    decoded = jwt.verify(token, key, VERIFY_OPTIONS[algorithm]) as unknown as typeof decoded
  } catch (error) {
    // jsonwebtoken throws its own errors, but also plain TypeError/SyntaxError for some inputs.
    throw classify(token, error, algorithm)
  }
  // RFC 7515 §4.1.11: a token that names critical header extensions must be refused unless they
  // are all understood; this library understands none (jsonwebtoken ignores crit).
  if (decoded.header.crit !== undefined) {
    throw tokenError('ERR_JWT_MALFORMED', 'Unsupported critical header parameters (crit).')
  }
  const payload = decoded.payload
  if (!isObject(payload) || !payloadIsObjectText(token)) {
    throw tokenError('ERR_JWT_MALFORMED', 'Invalid payload string: must be a json object.')
  }
  return payload
}

/**
 * jsonwebtoken parses a payload twice, so a JSON *string* holding claims passes as claims
 * (RFC 7519 §7.2, RFC 8725 §2.8). The claims text must itself be an object: base64url text of a
 * JSON object starts with 'e' ('{' is 0x7B); anything else is decoded and checked.
 */
function payloadIsObjectText(token: string): boolean {
  const start = token.indexOf('.') + 1
  if (token.charCodeAt(start) === 101) return true
  return isObject(decodeSegment(token.slice(start, token.indexOf('.', start))))
}

/**
 * The `kid` of a token's header, before anything is verified (to pick the key of a ring).
 *
 * @throws InvalidToken: `ERR_JWT_MALFORMED` for a header that is no JSON object,
 *   `ERR_JWT_UNKNOWN_KID` when it names no key (no `kid`, or one that is not a non-empty string).
 */
export function headerKid(token: string): string {
  const dot = token.indexOf('.')
  const header = dot > 0 ? decodeSegment(token.slice(0, dot)) : undefined
  if (!isObject(header)) throw classify(token, undefined)
  const kid = header.kid
  if (typeof kid !== 'string' || kid === '') {
    throw tokenError('ERR_JWT_UNKNOWN_KID', 'The token names no key (kid).')
  }
  return kid
}

/** Reads the payload without verifying anything (for per-user secret lookup). */
export function decodeUnverified(token: string): JwtPayload {
  const parts = token.split('.')
  const payload = parts.length === 3 ? decodeSegment(parts[1]!) : undefined
  if (!isObject(payload)) throw classify(token, undefined)
  return payload
}

/** The claim rules in force for one verification. */
export interface ClaimRules {
  /** Current time in seconds. */
  readonly now: number
  readonly leeway: number
  readonly verifyExp: boolean
  /** A token without `exp` passes (one with `exp` is still checked). Default false. */
  readonly allowNoExpiration?: boolean
  readonly audience: string | readonly string[] | null
  readonly issuer: string | null
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

/**
 * The registered-claim rules of PyJWT 2 as sanic-jwt uses them, with two fixes: `exp` is required
 * while `verifyExp` is on (reference §7.2.20) unless `allowNoExpiration`, and a missing required
 * `aud`/`iss` is a 401, not a crash (§7.2.16).
 *
 * @throws InvalidToken
 */
export function checkClaims(payload: JwtPayload, rules: ClaimRules): void {
  // A clock that returns NaN (or anything but a number) would make every comparison below false
  // and let expired tokens through: fail closed.
  if (!isTime(rules.now)) throw badClock(rules.now)
  const now = Math.floor(rules.now)
  const { leeway } = rules
  const { exp, nbf, iat } = payload
  // A token issued without exp (expirationDelta: false) passes only where the instance allows it.
  if (rules.verifyExp && !(exp === undefined && rules.allowNoExpiration === true)) {
    if (exp === undefined) {
      throw tokenError('ERR_JWT_CLAIM_MISSING', 'Token is missing the "exp" claim.')
    }
    if (!isTime(exp)) {
      throw tokenError('ERR_JWT_INVALID_CLAIM_TYPE', 'Expiration Time claim (exp) must be an integer.')
    }
    if (exp <= now - leeway) throw tokenError('ERR_JWT_EXPIRED', 'Signature has expired.')
  } else if (exp !== undefined && !isTime(exp)) {
    throw tokenError('ERR_JWT_INVALID_CLAIM_TYPE', 'Expiration Time claim (exp) must be an integer.')
  }
  if (iat !== undefined) {
    if (!isTime(iat)) {
      throw tokenError('ERR_JWT_INVALID_CLAIM_TYPE', 'Issued At claim (iat) must be an integer.')
    }
    if (iat > now + leeway) throw tokenError('ERR_JWT_NOT_YET_VALID', 'The token is not yet valid (iat).')
  }
  if (nbf !== undefined) {
    if (!isTime(nbf)) {
      throw tokenError('ERR_JWT_INVALID_CLAIM_TYPE', 'Not Before claim (nbf) must be an integer.')
    }
    if (nbf > now + leeway) throw tokenError('ERR_JWT_NOT_YET_VALID', 'The token is not yet valid (nbf).')
  }
  checkAudience(payload.aud, rules.audience)
  if (rules.issuer !== null) {
    if (payload.iss === undefined) {
      throw tokenError('ERR_JWT_INVALID_ISSUER', 'Invalid issuer.')
    }
    if (payload.iss !== rules.issuer) throw tokenError('ERR_JWT_INVALID_ISSUER', 'Invalid issuer.')
  }
}

function checkAudience(aud: unknown, expected: string | readonly string[] | null): void {
  if (expected === null) {
    if (aud !== undefined) throw tokenError('ERR_JWT_INVALID_AUDIENCE', 'Invalid audience.')
    return
  }
  if (aud === undefined) {
    throw tokenError('ERR_JWT_INVALID_AUDIENCE', 'Invalid audience.')
  }
  const claimed = typeof aud === 'string' ? [aud] : aud
  if (!Array.isArray(claimed) || !claimed.every((value) => typeof value === 'string')) {
    throw tokenError('ERR_JWT_INVALID_AUDIENCE', 'Invalid claim format in token.')
  }
  const wanted = typeof expected === 'string' ? [expected] : expected
  if (!wanted.some((value) => claimed.includes(value))) {
    throw tokenError('ERR_JWT_INVALID_AUDIENCE', 'Invalid audience.')
  }
}
