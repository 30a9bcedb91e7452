/**
 * Verifying tokens: the verification settings (derived once while settings are static), the
 * instance or per-user key, the verify cache, the registered-claim check on every call (cache hits
 * included), then extra verifications and custom claims. No Koa in here.
 */
import type { KeyObject } from 'node:crypto'

import type { Claim, ClaimClass } from '../Claim'
import type { Configuration } from '../Configuration'
import {
  HandlerFailed,
  InvalidConfiguration,
  InvalidVerification,
  InvalidVerificationError,
  KoaJwtError,
  RevokedToken,
} from '../errors'
import type { Algorithm } from '../settings'
import { verifyClaims, withInline } from './claims'
import { isThenable } from './thenable'
import type { KeyStore, UserSecretSource } from './KeyStore'
import { checkClaims, decodeUnverified, verifySignature, type JwtPayload } from './token'
import { VerifyCache, deepFreeze, type VerifyCacheOptions } from './verify-cache'

/** A function run on every verified payload; it must return a boolean. */
export type ExtraVerification = (payload: JwtPayload) => boolean | Promise<boolean>

/** What the verifier calls back on `Authentication`: its key handler and its revocation check. @internal */
export interface VerifierHost extends UserSecretSource {
  isTokenRevoked(payload: JwtPayload, ctx?: object): unknown
}

/** The settings that verifying a token reads. @internal */
export interface VerifyRules {
  readonly algorithm: Algorithm
  readonly userSecretEnabled: boolean
  readonly userIdKey: string
  readonly clock: () => number
  readonly leeway: number
  readonly verifyExp: boolean
  readonly allowNoExpiration: boolean
  /** Access tokens are checked for revocation (`revocationEnabled`, `revocationChecks` not 'refresh'). */
  readonly revocation: boolean
  readonly audience: string | string[] | null
  readonly issuer: string | null
  /** The verification key of these settings (undefined with a key ring or a jwksUri: picked by `kid`). */
  readonly key: KeyObject | undefined
}

/** What one `verify()` call may change (the options of `verifyToken`). @internal */
export interface VerifyOptions {
  /** Inline claim classes for this call only. */
  readonly customClaims?: readonly ClaimClass[] | undefined
  /** The request, for per-request settings. */
  readonly ctx?: object | undefined
  /** When false, extra verifications and custom claims are skipped. */
  readonly verify?: boolean | undefined
  /** When false, the revocation check is skipped (a route's `skipRevocationCheck`). */
  readonly revocation?: boolean | undefined
}

/** Verifies tokens for one instance. @internal */
export class TokenVerifier {
  readonly #keys: KeyStore
  readonly #rules: (ctx?: object) => VerifyRules
  #claims: readonly Claim[] = []
  #verifications: readonly ExtraVerification[] = []
  #cache: VerifyCache | undefined

  constructor(config: Configuration, keys: KeyStore) {
    this.#keys = keys
    this.#rules = config.derived((ctx) => ({
      algorithm: config.get('algorithm', ctx),
      userSecretEnabled: config.get('userSecretEnabled', ctx),
      userIdKey: config.get('userId', ctx),
      clock: config.get('clock', ctx),
      leeway: config.get('leeway', ctx),
      verifyExp: config.get('verifyExp', ctx),
      allowNoExpiration: config.get('allowNoExpiration', ctx),
      revocation: config.get('revocationEnabled', ctx) && config.get('revocationChecks', ctx) !== 'refresh',
      audience: config.get('claimAud', ctx),
      issuer: config.get('claimIss', ctx),
      key: keys.source === undefined ? keys.compiled(ctx).verifyKey : undefined,
    }))
  }

  /**
   * Takes the registered claims, the extra verifications and the cache options (once, at
   * start-up).
   *
   * @throws InvalidConfiguration for a bad `verifyCache` or `extraVerifications` option,
   *   InvalidVerification for a verification that is not a function.
   */
  setup(claims: readonly Claim[], verifications: readonly ExtraVerification[], cache: VerifyCacheOptions | boolean): void {
    if (typeof cache !== 'boolean' && (typeof cache !== 'object' || cache === null)) {
      throw new InvalidConfiguration('the "verifyCache" option must be a boolean or { max, ttl }.')
    }
    if (!Array.isArray(verifications)) {
      throw new InvalidConfiguration('the "extraVerifications" option must be a list of functions.')
    }
    for (const verification of verifications) {
      if (typeof verification !== 'function') throw new InvalidVerification()
    }
    try {
      this.#cache = cache === false ? undefined : new VerifyCache(cache === true ? {} : cache)
    } catch (error) {
      throw new InvalidConfiguration(`the "verifyCache" option is invalid: ${(error as Error).message}.`)
    }
    this.#claims = claims
    this.#verifications = [...verifications]
  }

  /** Empties the verify cache (the keys changed). */
  clearCache(): void {
    this.#cache?.clear()
  }

  /**
   * Removes verified tokens from the cache: by token, by `jti`, or all the tokens of a user.
   *
   * @returns how many entries were removed (0 when the cache is off).
   */
  evict(filter: { token?: string; jti?: unknown; userId?: unknown }, userIdKey: string): number {
    return this.#cache?.evict(filter, userIdKey) ?? 0
  }

  /**
   * Verifies a token. Synchronous unless a per-user secret or an extra check has to be awaited:
   * the common path allocates no promise.
   *
   * @throws InvalidToken (with a code naming the failure), InvalidCustomClaimError,
   *   InvalidVerificationError, and the developer errors InvalidCustomClaim, InvalidVerification.
   */
  verify(token: string, options: VerifyOptions, secrets: VerifierHost): JwtPayload | Promise<JwtPayload> {
    return this.verifyUnder(this.#rules(options.ctx), token, options, secrets)
  }

  /**
   * The settings a verification of this request reads: one object while settings are static, a
   * new one per call while a getter, a per-route value or an override is in force. A result
   * remembered with them holds only while they are the same object. @internal
   */
  rulesFor(ctx?: object): VerifyRules {
    return this.#rules(ctx)
  }

  /** {@link verify} under rules read by {@link rulesFor}. @internal */
  verifyUnder(
    rules: VerifyRules,
    token: string,
    options: VerifyOptions,
    secrets: VerifierHost,
  ): JwtPayload | Promise<JwtPayload> {
    const source = this.#keys.source
    if (source !== undefined) {
      // The key the token's kid names, with its own algorithm: never another key, never the
      // token's alg (a ring of RS256 keys refuses an HS256 token signed with a public key).
      const found = source.keyFor(token)
      if (isThenable(found)) {
        return found.then((key) => this.#verifyWith(token, key.verifyKey, key.algorithm, rules, options, secrets))
      }
      return this.#verifyWith(token, found.verifyKey, found.algorithm, rules, options, secrets)
    }
    if (rules.userSecretEnabled) {
      const userId = decodeUnverified(token)[rules.userIdKey]
      return this.#keys
        .userKey(secrets, userId, rules.algorithm, false, false)
        .then((key) => this.#verifyWith(token, key, rules.algorithm, rules, options, secrets))
    }
    return this.#verifyWith(token, rules.key!, rules.algorithm, rules, options, secrets)
  }

  #verifyWith(
    token: string,
    key: KeyObject,
    algorithm: Algorithm,
    rules: VerifyRules,
    options: VerifyOptions,
    host: VerifierHost,
  ): JwtPayload | Promise<JwtPayload> {
    const now = rules.clock()
    const cache = this.#cache
    let payload = cache?.get(token, key, algorithm, now)
    const hit = payload !== undefined
    if (payload === undefined) {
      payload = verifySignature(token, key, algorithm)
      // Cached payloads are shared between requests, so they must be read-only.
      if (cache !== undefined) deepFreeze(payload)
    }
    // Registered claims are checked on every hit too, with this request's clock and rules.
    checkClaims(payload, {
      now,
      leeway: rules.leeway,
      verifyExp: rules.verifyExp,
      allowNoExpiration: rules.allowNoExpiration,
      audience: rules.audience,
      issuer: rules.issuer,
    })
    const remember = (): JwtPayload => {
      if (cache !== undefined && !hit) cache.set(token, payload, key, algorithm, now, rules.leeway)
      return payload
    }
    const result =
      options.verify !== false &&
      (this.#verifications.length > 0 || this.#claims.length > 0 || options.customClaims !== undefined)
        ? this.#verifyExtras(payload, options.customClaims).then(remember)
        : remember()
    // Last, on cache hits too: a revoked token is refused however it was verified.
    if (!rules.revocation || options.revocation === false) return result
    return result instanceof Promise
      ? result.then((verified) => checkRevocation(host, verified, options.ctx))
      : checkRevocation(host, result, options.ctx)
  }

  async #verifyExtras(payload: JwtPayload, inline: readonly ClaimClass[] | undefined): Promise<void> {
    for (const verification of this.#verifications) {
      const result = await verification(payload)
      if (typeof result !== 'boolean') throw new InvalidVerification()
      if (!result) throw new InvalidVerificationError()
    }
    await verifyClaims(payload, withInline(this.#claims, inline))
  }
}

/**
 * Asks `isTokenRevoked` (the store check unless replaced) about a verified payload.
 *
 * @throws RevokedToken; HandlerFailed when the answer is not a boolean.
 */
function checkRevocation(host: VerifierHost, payload: JwtPayload, ctx: object | undefined): JwtPayload | Promise<JwtPayload> {
  let answer: unknown
  try {
    answer = host.isTokenRevoked(payload, ctx)
  } catch (error) {
    throw cannotAnswer(error)
  }
  // Synchronous when the check is (the embedded store): no promise on the request path.
  if (!isThenable(answer)) return verdict(answer, payload)
  return Promise.resolve(answer).then((revoked) => verdict(revoked, payload), (error: unknown) => {
    throw cannotAnswer(error)
  })
}

/** A check that cannot answer is the server's failure (500, or the store's 503), never "log in again". */
function cannotAnswer(error: unknown): KoaJwtError {
  return error instanceof KoaJwtError ? error : new HandlerFailed(null, { cause: error })
}

function verdict(revoked: unknown, payload: JwtPayload): JwtPayload {
  if (revoked === true) throw new RevokedToken()
  if (revoked !== false) throw new HandlerFailed('isTokenRevoked must return a boolean.')
  return payload
}
