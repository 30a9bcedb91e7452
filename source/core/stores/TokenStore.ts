/**
 * The storage behind revocation, logout and refresh tokens: a small asynchronous key-value
 * interface with expiry, two atomic writes and a per-user index. `MemoryStore` is the embedded
 * default; write your own for Postgres, DynamoDB... (docs/token-stores.md). No Koa in here.
 *
 * @module
 */

/** A value the library stores: a flat object of JSON scalars. */
export type StoreValue = Readonly<Record<string, string | number | boolean | null>>

/** How long an entry lives and whom it belongs to. */
export interface StoreSetOptions {
  /**
   * Epoch seconds after which the entry is gone (reads no longer see it; the store may drop it).
   * `null`: kept until deleted (or evicted by a bounded store).
   */
  readonly expiresAt: number | null
  /** Lists the entry under this user id (`keysOfUser`). */
  readonly userId?: string | undefined
}

/**
 * What koa-jwt-kit needs of a store. Every method may reject (the request is then answered 503
 * `StoreUnavailable`, never let through); the library bounds each call with the `storeTimeout`
 * setting. Keys are short ASCII strings the library makes (`token:<jti>`, `user:<id>`,
 * `family:<id>`); values are flat objects of JSON scalars, read back equal to what was written.
 *
 * @example
 * ```ts
 * class PostgresStore implements TokenStore {
 *   async get(key: string) { ... }
 *   // set, setIfAbsent, compareAndSet, delete, keysOfUser, keys, close
 * }
 * new Initialize(app, { secret, authenticate, tokenStore: new PostgresStore(pool) })
 * ```
 */
export interface TokenStore {
  /** The value of a key, or undefined when there is none (or it expired). */
  get(key: string): Promise<StoreValue | undefined>
  /** Writes a value, replacing any other. */
  set(key: string, value: StoreValue, options: StoreSetOptions): Promise<void>
  /**
   * Writes a value only when the key holds none (or an expired one), atomically.
   *
   * @returns true when written.
   */
  setIfAbsent(key: string, value: StoreValue, options: StoreSetOptions): Promise<boolean>
  /**
   * Replaces the value only when the stored one still equals `expected` (the same keys with the
   * same values), atomically: of two concurrent calls with the same `expected`, at most one wins.
   *
   * @returns true when replaced.
   */
  compareAndSet(key: string, expected: StoreValue, value: StoreValue, options: StoreSetOptions): Promise<boolean>
  /**
   * Removes a key.
   *
   * @returns true when there was an unexpired value.
   */
  delete(key: string): Promise<boolean>
  /** The unexpired keys written with this `userId`, in no particular order. */
  keysOfUser(userId: string): AsyncIterable<string>
  /** Every unexpired key starting with `prefix` (all keys without one), in no particular order. */
  keys(prefix?: string): AsyncIterable<string>
  /** Releases what the store holds (connections, memory); later calls reject. */
  close(): Promise<void>
  /**
   * Optional, with {@link TokenStore.subscribe}: sends a message to every process subscribed to
   * this store (its own included). The library publishes each revocation after writing it, so
   * that processes sharing the store keep a local mirror of revocations instead of asking the
   * store on every request (the `revocationMirror` setting). A store without these two methods
   * is asked on every request.
   */
  publish?(message: string): Promise<void>
  /**
   * Optional, with {@link TokenStore.publish}: delivers every message published from now on to
   * `subscriber.message`, and tells `subscriber.state` when delivery starts (`true`: from then on
   * no message is lost) and when it stops (`false`: messages may be lost until the next `true`).
   * Never throws: a subscription that cannot be made reports `false` and keeps trying.
   *
   * @returns a function that ends this subscription.
   */
  subscribe?(subscriber: StoreSubscriber): () => Promise<void>
}

/** What {@link TokenStore.subscribe} reports to. */
export interface StoreSubscriber {
  /** A message another process (or this one) published. */
  message(text: string): void
  /**
   * `true` once messages are delivered (after a reconnection too), `false` when they may be lost
   * (the connection dropped).
   */
  state(live: boolean): void
}

/** One issued token as the store records it (what `jwt.tokens.get(jti)` answers). */
export interface TokenRecord {
  /** The token's id: the `jti` claim of an access token, a hash of an opaque refresh token. */
  readonly jti: string
  /** The user id, as text. */
  readonly userId: string
  readonly type: 'access' | 'refresh'
  /** When it was issued, in seconds (with a fraction). */
  readonly issuedAt: number
  /** When it stops being accepted, in seconds; null for a token without `exp`. */
  readonly expiresAt: number | null
  /** Revoked by `revoke()`, a logout, or the revocation of its family. */
  readonly revoked: boolean
  /** The login it descends from: every token made by one login and the refreshes after it. */
  readonly family: string | null
  /** A rotated refresh token: when it was replaced, and by which jti. */
  readonly retiredAt: number | null
  readonly replacedBy: string | null
}
