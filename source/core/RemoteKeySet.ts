/**
 * The keys of a verify-only service, read from an issuer's JWK Set (`jwksUri`): fetched on the
 * first verification, used from memory while a token names a known `kid`, fetched again when one
 * names an unknown `kid` (at most once per `jwksCooldown`, concurrent requests sharing the fetch)
 * and in the background once the set is older than `jwksMaxAge`. A failed fetch keeps the keys
 * known before. No Koa in here.
 */
import { createPublicKey } from 'node:crypto'

import { KeysUnavailable } from '../errors'
import { ALGORITHMS, isAsymmetric, type Algorithm } from '../settings'
import { KeyRing, publicJwk, unknownKid, type RingKey } from './key-ring'
import { checkKeyType } from './keys'
import { headerKid } from './token'

/** Largest key set read, in bytes: a JWK Set of a few keys is a few kilobytes. */
const MAX_BODY_BYTES = 256 * 1024

/** How a remote key set fetches and when. @internal */
export interface RemoteKeySetOptions {
  /** Seconds a fetch may take. */
  readonly timeout: number
  /** Seconds between two fetches caused by unknown kids. */
  readonly cooldown: number
  /** Seconds after which a fetched set is fetched again, in the background. */
  readonly maxAge: number
  /** Current time in seconds (the instance's `clock` setting). */
  readonly clock: () => number
  /** The fetch function. @default globalThis.fetch */
  readonly fetch?: typeof fetch
}

const ASYMMETRIC: ReadonlySet<string> = new Set(ALGORITHMS.filter((alg) => isAsymmetric(alg)))

/**
 * The usable keys of a JWK Set document: asymmetric keys for signatures (`use` 'sig' or absent,
 * `key_ops` absent or holding 'verify'), with a `kid` and an `alg` this library verifies, public
 * members only, of a type and size fitting that `alg`. Anything else is skipped, as is a second
 * key with the same `kid`. @internal
 *
 * @throws Error when the document holds no usable key.
 */
export function ringFromJwks(document: unknown): KeyRing {
  const list = (document as { keys?: unknown } | null)?.keys
  if (!Array.isArray(list)) throw new Error('the key set has no "keys" list')
  const keys = new Map<string, RingKey>()
  for (const candidate of list as unknown[]) {
    const key = usableKey(candidate)
    if (key !== undefined && !keys.has(key.kid)) keys.set(key.kid, key)
  }
  if (keys.size === 0) throw new Error('the key set holds no usable key')
  return new KeyRing([...keys.values()], undefined)
}

function usableKey(candidate: unknown): RingKey | undefined {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) return undefined
  const jwk = candidate as Record<string, unknown>
  const { kid, alg, use, key_ops: ops } = jwk
  if (typeof kid !== 'string' || kid === '' || typeof alg !== 'string' || !ASYMMETRIC.has(alg)) return undefined
  if (use !== undefined && use !== 'sig') return undefined
  if (ops !== undefined && !(Array.isArray(ops) && ops.includes('verify'))) return undefined
  // A published private key is the issuer's mistake; never take it as a key here.
  if ('d' in jwk || (jwk.kty !== 'RSA' && jwk.kty !== 'EC')) return undefined
  try {
    const verifyKey = createPublicKey({ key: jwk as never, format: 'jwk' })
    checkKeyType(verifyKey, alg as Algorithm)
    return Object.freeze({
      kid,
      algorithm: alg as Algorithm,
      signKey: undefined,
      verifyKey,
      signOptions: undefined,
      jwk: publicJwk(verifyKey, kid, alg as Algorithm),
    })
  } catch {
    return undefined
  }
}

/** The keys of a `jwksUri`. @internal */
export class RemoteKeySet {
  readonly #url: string
  readonly #options: RemoteKeySetOptions
  #ring: KeyRing | undefined
  /** When the keys in use were fetched (seconds of the clock). */
  #fetchedAt = -Infinity
  /** When the last fetch started, successful or not. */
  #triedAt = -Infinity
  #lastFailed = false
  #pending: Promise<void> | undefined

  constructor(url: string, options: RemoteKeySetOptions) {
    this.#url = url
    this.#options = options
  }

  /** The keys in use (undefined before the first successful fetch). */
  get ring(): KeyRing | undefined {
    return this.#ring
  }

  /**
   * The key named by a token's `kid`: from memory when known (no promise), else after a fetch
   * of the set when the cooldown allows one.
   *
   * @throws InvalidToken (no `kid`, or a `kid` the set does not hold: `ERR_JWT_UNKNOWN_KID`),
   *   KeysUnavailable when the set could not be fetched and no known key fits.
   */
  keyFor(token: string): RingKey | Promise<RingKey> {
    const ring = this.#ring
    if (ring !== undefined) {
      const key = ring.find(token)
      if (key !== undefined) {
        const now = this.#options.clock()
        if (now - this.#fetchedAt >= this.#options.maxAge && now - this.#triedAt >= this.#options.cooldown) {
          void this.#refresh(now)
        }
        return key
      }
    } else {
      // A token without kid is refused before anything is fetched for it.
      headerKid(token)
    }
    const pending = this.#pending ?? this.#refreshIfAllowed()
    if (pending === undefined) return this.#after(token)
    return pending.then(() => this.#after(token))
  }

  /**
   * Fetches the set now (sharing a fetch in progress), unless one started within the cooldown.
   *
   * @returns whether the keys in use come from a fetch that succeeded.
   */
  async refresh(): Promise<boolean> {
    const pending = this.#pending ?? this.#refreshIfAllowed()
    if (pending !== undefined) await pending
    return !this.#lastFailed
  }

  #refreshIfAllowed(): Promise<void> | undefined {
    const now = this.#options.clock()
    return now - this.#triedAt >= this.#options.cooldown ? this.#refresh(now) : undefined
  }

  /** The key after a fetch (or without one, within the cooldown). */
  #after(token: string): RingKey {
    const key = this.#ring?.find(token)
    if (key !== undefined) return key
    // The set was not read: it may hold the key, so the token is not known to be invalid.
    if (this.#lastFailed || this.#ring === undefined) throw new KeysUnavailable()
    throw unknownKid()
  }

  #refresh(now: number): Promise<void> {
    if (this.#pending !== undefined) return this.#pending
    this.#triedAt = now
    const pending = this.#fetch().then(
      (ring) => {
        this.#ring = ring
        this.#fetchedAt = this.#options.clock()
        this.#lastFailed = false
      },
      () => {
        // The keys known before stay in use; the failure is answered as KeysUnavailable only
        // for tokens they cannot verify.
        this.#lastFailed = true
      },
    )
    const settled = pending.finally(() => {
      if (this.#pending === settled) this.#pending = undefined
    })
    this.#pending = settled
    return settled
  }

  async #fetch(): Promise<KeyRing> {
    const fetcher = this.#options.fetch ?? globalThis.fetch
    const response = await fetcher(this.#url, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(Math.ceil(this.#options.timeout * 1000)),
    })
    if (!response.ok) {
      await response.body?.cancel()
      throw new Error(`the key set answered ${response.status}`)
    }
    const length = Number(response.headers.get('content-length') ?? 0)
    if (length > MAX_BODY_BYTES) {
      await response.body?.cancel()
      throw new Error('the key set is too large')
    }
    return ringFromJwks(JSON.parse(await readBounded(response)))
  }
}

/**
 * The body as text, read chunk by chunk and abandoned past {@link MAX_BODY_BYTES}: a body without
 * `content-length` (chunked) is never held whole in memory before its size is known.
 */
async function readBounded(response: Response): Promise<string> {
  const body = response.body
  if (body === null) return ''
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_BODY_BYTES) {
      await reader.cancel()
      throw new Error('the key set is too large')
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}
