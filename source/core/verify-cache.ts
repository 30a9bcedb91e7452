/**
 * An opt-in cache of verified tokens (issue: performance). A hit needs the exact same token bytes
 * and the same algorithm and key object; the registered claims (exp/nbf/iat/aud/iss) are checked
 * again on every hit with the clock and rules of that request, so an entry can never outlive the
 * token's validity window nor be read under settings that would reject it. Custom claims and extra
 * verifications also run on every hit.
 *
 * Keyed by the last {@link KEY_LENGTH} characters of the token (signature bytes, which differ
 * for every validly signed token), with the whole token kept in the entry and compared on every
 * hit: hashing 16 characters instead of the whole token (~250 characters for HS256, ~600 for
 * RS256) made a lookup about twice as fast, and hashing with SHA-256 (fast-jwt's way) is slower
 * than either (bench/README.md, "cache lookup"). Two tokens sharing the tail only cost each other
 * a miss: a hit always needs the exact same token bytes. Entries hold tokens that are valid
 * credentials anyway, and eviction by user or token id is explicit.
 */
import type { KeyObject } from 'node:crypto'

import type { JwtPayload } from './token'

/** Options of the verified-token cache. */
export interface VerifyCacheOptions {
  /** Most entries kept (least recently used evicted first). @default 1000 */
  max?: number
  /** Longest an entry may live, in seconds, whatever the token's `exp`. @default 600 */
  ttl?: number
}

/** How many trailing characters of a token key its entry. @internal */
export const KEY_LENGTH = 16

/** The Map key of a token: its tail, or the whole token when that is short. @internal */
export function cacheKey(token: string): string {
  return token.length > 2 * KEY_LENGTH ? token.slice(-KEY_LENGTH) : token
}

interface Entry {
  readonly token: string
  readonly payload: JwtPayload
  readonly key: KeyObject
  readonly algorithm: string
  readonly until: number
}

/** A bounded LRU of verified payloads. */
export class VerifyCache {
  /** Most entries kept. */
  readonly max: number
  /** Longest lifetime of an entry, in seconds. */
  readonly ttl: number
  #entries = new Map<string, Entry>()
  /** The most recently stored or used entry (last in Map order): a hit on it moves nothing. */
  #newest: Entry | undefined

  constructor(options: VerifyCacheOptions = {}) {
    this.max = options.max ?? 1000
    this.ttl = options.ttl ?? 600
    if (!Number.isInteger(this.max) || this.max < 1) throw new TypeError('verifyCache.max must be a positive integer')
    if (typeof this.ttl !== 'number' || !(this.ttl > 0)) {
      throw new TypeError('verifyCache.ttl must be a positive number of seconds')
    }
    const unknown = Object.keys(options).filter((key) => key !== 'max' && key !== 'ttl')
    if (unknown.length > 0 || Array.isArray(options)) {
      throw new TypeError(`verifyCache takes { max, ttl } only (got ${unknown.join(', ') || 'a list'})`)
    }
  }

  /** The payload verified earlier for this token with this key, if still within its lifetime. */
  get(token: string, key: KeyObject, algorithm: string, now: number): JwtPayload | undefined {
    const id = cacheKey(token)
    const entry = this.#entries.get(id)
    // Another token with the same tail: a miss, and that token's entry stays.
    if (entry === undefined || entry.token !== token) return undefined
    if (entry.key !== key || entry.algorithm !== algorithm || now >= entry.until) {
      this.#remove(id, entry)
      return undefined
    }
    // Refresh recency (Map iteration order is insertion order), unless it is already the newest.
    if (entry !== this.#newest) {
      this.#entries.delete(id)
      this.#entries.set(id, entry)
      this.#newest = entry
    }
    return entry.payload
  }

  /** Remembers a verified payload until its `exp` (plus leeway) or the ttl, whichever is first. */
  set(token: string, payload: JwtPayload, key: KeyObject, algorithm: string, now: number, leeway: number): void {
    const exp = typeof payload.exp === 'number' ? payload.exp + leeway : Infinity
    const until = Math.min(exp, now + this.ttl)
    if (until <= now) return
    const id = cacheKey(token)
    // Two concurrent misses of one token both store it (and a token sharing the tail replaces the
    // other): replace, never evict another entry.
    this.#entries.delete(id)
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value as string)
    const entry: Entry = { token, payload, key, algorithm, until }
    this.#entries.set(id, entry)
    this.#newest = entry
  }

  /**
   * Removes entries: by token, by `jti`, or by the user id under `userIdKey`.
   *
   * @returns how many entries were removed.
   */
  evict(filter: { token?: string; jti?: unknown; userId?: unknown }, userIdKey: string): number {
    let removed = 0
    if (filter.token !== undefined) {
      const id = cacheKey(filter.token)
      const entry = this.#entries.get(id)
      if (entry?.token === filter.token) {
        this.#remove(id, entry)
        removed++
      }
    }
    if (filter.jti === undefined && filter.userId === undefined) return removed
    for (const [id, entry] of this.#entries) {
      const { payload } = entry
      if (
        (filter.jti !== undefined && payload.jti === filter.jti) ||
        (filter.userId !== undefined && payload[userIdKey] === filter.userId)
      ) {
        this.#remove(id, entry)
        removed++
      }
    }
    return removed
  }

  /** Drops an entry (and the reference to it, when it was the newest). */
  #remove(id: string, entry: Entry): void {
    this.#entries.delete(id)
    if (entry === this.#newest) this.#newest = undefined
  }

  /** Empties the cache. */
  clear(): void {
    this.#entries.clear()
    this.#newest = undefined
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size
  }
}

/** Freezes a payload and everything in it, so one verified payload can be shared safely. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
