/**
 * Key rings: keys named by `kid`, compiled once (at start-up, and again by `rotateKeys`); the
 * first key signs, every key verifies the tokens whose header names it. Also the published form
 * of the public keys (an RFC 7517 JWK Set) and RFC 7638 thumbprints. No Koa in here.
 */
import { createHash, type KeyObject } from 'node:crypto'

import { InvalidConfiguration, InvalidToken, KoaJwtError, RequiredKeysNotFound } from '../errors'
import { ALGORITHMS, isAsymmetric, type Algorithm, type KeyInput } from '../settings'
import { compileKeys } from './keys'
import { headerKid, signOptionsFor, type SignOptions } from './token'

/**
 * One key of the `keys` option (a key ring). The first key of the ring signs; every key
 * verifies the tokens whose header names its `kid`.
 *
 * - HS256/384/512: `secret` (the HMAC key).
 * - RS/PS/ES: `privateKey` to sign (needed by the first key, unless `authMode` is false), and
 *   `publicKey` to verify (derived from `privateKey` when not given). A key kept only to verify
 *   the tokens it signed before a rotation needs only `publicKey`.
 *
 * Keys are text (PEM or secret), a `URL` or `{ path }` naming a file, a Buffer or a `KeyObject`,
 * as the key settings take them.
 *
 * @example
 * ```ts
 * const keys: KeyRingEntry[] = [
 *   { kid: '2025-06', algorithm: 'ES256', privateKey: { path: '/run/secrets/es256-2025-06.pem' } },
 *   { kid: '2025-01', algorithm: 'ES256', publicKey: { path: '/etc/auth/es256-2025-01.pub.pem' } },
 * ]
 * ```
 */
export interface KeyRingEntry {
  /** The key's id, written into the header of the tokens it signs (non-empty, unique in the ring). */
  kid: string
  /** The key's algorithm: the only one a token naming this `kid` may use. */
  algorithm: Algorithm
  /** Signing key of an RS/PS/ES key. */
  privateKey?: KeyInput | null | undefined
  /** Verification key of an RS/PS/ES key (derived from `privateKey` when not given). */
  publicKey?: KeyInput | null | undefined
  /** The key of an HS* key. */
  secret?: KeyInput | null | undefined
}

/** A compiled key of a ring. @internal */
export interface RingKey {
  readonly kid: string
  readonly algorithm: Algorithm
  /** Undefined for a key that only verifies. */
  readonly signKey: KeyObject | undefined
  readonly verifyKey: KeyObject
  /** jsonwebtoken options that write this `kid` (undefined for a key that only verifies). */
  readonly signOptions: SignOptions | undefined
  /** The public JWK published for it (asymmetric keys only, with `jwksEnabled`). */
  readonly jwk: Readonly<Record<string, unknown>> | undefined
}

/** The JWK Set document of a ring, serialised once. @internal */
export interface PublishedKeys {
  /** The JSON text of `{ keys: [...] }`. */
  readonly body: string
  /** A strong ETag of `body` (quoted). */
  readonly etag: string
}

// A token's header segment → its key: a handful of distinct headers in practice (one per kid and
// algorithm), bounded so that headers made up by a client cannot grow it.
const HEADER_MEMO_SIZE = 64

/** A compiled key ring: keys by `kid`, the signing key, the published JWK Set. @internal */
export class KeyRing {
  /** The keys by `kid`, in the order given. */
  readonly keys: ReadonlyMap<string, RingKey>
  /** The key that signs (the first one), undefined when it cannot sign. */
  readonly signing: RingKey | undefined
  readonly #byHeader = new Map<string, RingKey>()
  #published: PublishedKeys | undefined

  constructor(keys: readonly RingKey[], signing: RingKey | undefined) {
    this.keys = new Map(keys.map((key) => [key.kid, key]))
    this.signing = signing
  }

  /**
   * The key named by a token's `kid`, or undefined when no key of the ring has that kid.
   *
   * @throws InvalidToken for a malformed header or a header without `kid` (`ERR_JWT_UNKNOWN_KID`).
   */
  find(token: string): RingKey | undefined {
    const dot = token.indexOf('.')
    const segment = dot > 0 ? token.slice(0, dot) : ''
    const memo = this.#byHeader.get(segment)
    if (memo !== undefined) return memo
    const key = this.keys.get(headerKid(token))
    if (key !== undefined && this.#byHeader.size < HEADER_MEMO_SIZE) this.#byHeader.set(segment, key)
    return key
  }

  /**
   * The key of a token: the one its `kid` names, never another.
   *
   * @throws InvalidToken (`ERR_JWT_UNKNOWN_KID` when the ring has no such key).
   */
  keyFor(token: string): RingKey {
    const key = this.find(token)
    if (key === undefined) throw unknownKid()
    return key
  }

  /** The published JWK Set: the public keys only, never a private or HMAC key. */
  published(): PublishedKeys {
    if (this.#published === undefined) {
      const keys = [...this.keys.values()].flatMap((key) => (key.jwk === undefined ? [] : [key.jwk]))
      const body = JSON.stringify({ keys })
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
      this.#published = Object.freeze({ body, etag })
    }
    return this.#published
  }
}

/** The 401 of a token whose `kid` names no key of the ring. @internal */
export function unknownKid(): InvalidToken {
  return new InvalidToken("The token's key (kid) is unknown.", { code: 'ERR_JWT_UNKNOWN_KID' })
}

/**
 * The public JWK of a public key with its `kid`, `alg` and `use: 'sig'` (RFC 7517 §4).
 *
 * @throws Error when the key has no JWK form (an `rsa-pss` key).
 */
export function publicJwk(key: KeyObject, kid: string, algorithm: Algorithm): Readonly<Record<string, unknown>> {
  const exported = key.export({ format: 'jwk' }) as Record<string, unknown>
  // Only the public members: a private key object would export d, p, q, dp, dq, qi too.
  const members = exported.kty === 'RSA' ? ['kty', 'n', 'e'] : ['kty', 'crv', 'x', 'y']
  const jwk: Record<string, unknown> = {}
  for (const name of members) jwk[name] = exported[name]
  return Object.freeze({ ...jwk, kid, alg: algorithm, use: 'sig' })
}

/** The RFC 7638 thumbprint (SHA-256, base64url) of a public RSA or EC key: a stable `kid`. */
export function thumbprint(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as Record<string, unknown>
  // RFC 7638 §3.2: the required members only, in lexicographic order, no white space.
  const members = jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : ['crv', 'kty', 'x', 'y']
  const text = `{${members.map((name) => `${JSON.stringify(name)}:${JSON.stringify(jwk[name])}`).join(',')}}`
  return createHash('sha256').update(text).digest('base64url')
}

/** What compiling a ring checks beyond each key. @internal */
export interface RingRules {
  /** The first key must be able to sign (auth mode). */
  readonly requireSigning: boolean
  /** The ring is published (`jwksEnabled`): it needs an asymmetric key, and JWKs are made. */
  readonly publish: boolean
}

const ENTRY_FIELDS: ReadonlySet<string> = new Set(['kid', 'algorithm', 'privateKey', 'publicKey', 'secret'])

const isGiven = (value: unknown): boolean => value !== undefined && value !== null

// A message of the key's own failure, without the prefix InvalidConfiguration adds again.
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  // compileKeys' RequiredKeysNotFound ends with "(<alg>: <reason>.)": the reason says it all.
  const detail = /\((?:RS|PS|ES)\d{3}: (.*)\.\)$/.exec(message)
  if (detail !== null) return detail[1]!
  return message.replace(/^An invalid setting was passed to the koa-jwt-kit configuration: /, '')
}

function compileEntry(entry: unknown, index: number, rules: RingRules, first: boolean): RingKey {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new InvalidConfiguration(`the "keys" option: keys[${index}] must be an object { kid, algorithm, ... }.`)
  }
  const fields = entry as Record<string, unknown>
  const { kid, algorithm } = fields
  if (typeof kid !== 'string' || kid === '') {
    throw new InvalidConfiguration(`the "keys" option: keys[${index}] needs a "kid", a non-empty string.`)
  }
  const name = `the key "${kid}" of the "keys" option`
  const unknown = Object.keys(fields).filter((field) => !ENTRY_FIELDS.has(field))
  if (unknown.length > 0) {
    throw new InvalidConfiguration(`${name} has unknown fields (${unknown.join(', ')}); it takes kid, algorithm, privateKey, publicKey, secret.`)
  }
  if (typeof algorithm !== 'string' || !(ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new InvalidConfiguration(`${name} needs an "algorithm": one of ${ALGORITHMS.join(', ')}.`)
  }
  const alg = algorithm as Algorithm
  const { secret, privateKey, publicKey } = fields as Record<string, KeyInput | null | undefined>
  try {
    if (!isAsymmetric(alg)) {
      if (isGiven(privateKey) || isGiven(publicKey)) {
        throw new InvalidConfiguration(`${alg} takes a "secret", not "privateKey" nor "publicKey".`)
      }
      const compiled = compileKeys(alg, secret ?? null, null)
      return Object.freeze({
        kid,
        algorithm: alg,
        signKey: compiled.signKey,
        verifyKey: compiled.verifyKey,
        signOptions: signOptionsFor(alg, kid),
        jwk: undefined,
      })
    }
    if (isGiven(secret)) {
      throw new InvalidConfiguration(`${alg} takes "privateKey" and "publicKey", not "secret".`)
    }
    if (first && rules.requireSigning && !isGiven(privateKey)) {
      throw new RequiredKeysNotFound('the first key signs: it needs a "privateKey".')
    }
    const compiled = compileKeys(alg, publicKey ?? null, privateKey ?? null)
    return Object.freeze({
      kid,
      algorithm: alg,
      signKey: compiled.signKey,
      verifyKey: compiled.verifyKey,
      signOptions: compiled.signKey === undefined ? undefined : signOptionsFor(alg, kid),
      jwk: rules.publish ? exportable(compiled.verifyKey, kid, alg) : undefined,
    })
  } catch (error) {
    // Each message names the key by its kid, never its material (compileKeys already keeps it out).
    const Type = error instanceof KoaJwtError ? (error.constructor as typeof InvalidConfiguration) : InvalidConfiguration
    const reason = reasonOf(error)
    throw new Type(Type === InvalidConfiguration ? `${name}: ${reason}` : `${name[0]!.toUpperCase()}${name.slice(1)}: ${reason}`, {
      cause: error,
    })
  }
}

function exportable(key: KeyObject, kid: string, algorithm: Algorithm): Readonly<Record<string, unknown>> {
  try {
    return publicJwk(key, kid, algorithm)
  } catch (error) {
    throw new InvalidConfiguration(`this key has no JWK form to publish (${(error as Error).message}).`, { cause: error })
  }
}

/**
 * Compiles the `keys` option (or the argument of `rotateKeys`): every key checked against its
 * algorithm, the kids unique. Nothing is kept from a list that fails.
 *
 * @throws InvalidConfiguration or RequiredKeysNotFound, naming the key by its kid (never its material).
 * @internal
 */
export function compileRing(entries: unknown, rules: RingRules): KeyRing {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new InvalidConfiguration('the "keys" option must be a non-empty list of { kid, algorithm, secret | privateKey | publicKey }.')
  }
  const keys: RingKey[] = []
  const seen = new Set<string>()
  entries.forEach((entry: unknown, index) => {
    const key = compileEntry(entry, index, rules, index === 0)
    if (seen.has(key.kid)) throw new InvalidConfiguration(`the "keys" option names the kid "${key.kid}" twice.`)
    seen.add(key.kid)
    keys.push(key)
  })
  if (rules.publish && !keys.some((key) => key.jwk !== undefined)) {
    throw new InvalidConfiguration(
      'the "jwksEnabled" setting publishes public keys, but the "keys" option holds HMAC keys only (an HMAC key is never published).',
    )
  }
  const first = keys[0]!
  return new KeyRing(keys, first.signKey === undefined ? undefined : first)
}

/**
 * The one-key ring of an instance configured with the key settings (`algorithm`, `privateKey`,
 * `publicKey`) and `jwksEnabled`: its `kid` is the RFC 7638 thumbprint of the public key. @internal
 */
export function singleKeyRing(algorithm: Algorithm, signKey: KeyObject | undefined, verifyKey: KeyObject): KeyRing {
  const kid = thumbprint(verifyKey)
  const key: RingKey = Object.freeze({
    kid,
    algorithm,
    signKey,
    verifyKey,
    signOptions: signKey === undefined ? undefined : signOptionsFor(algorithm, kid),
    jwk: publicJwk(verifyKey, kid, algorithm),
  })
  return new KeyRing([key], signKey === undefined ? undefined : key)
}
