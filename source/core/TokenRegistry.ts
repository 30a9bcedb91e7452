/**
 * Issued tokens in the token store: the records written when tokens are issued, the revocation
 * check of a verified token, revocation by token, by user and by login family, and refresh tokens
 * kept in the store (expiry, rotation, reuse detection). No Koa in here.
 *
 * Store layout: `token:<jti>` → a {@link TokenRecord} (until the token expires), `user:<id>` →
 * `{ revokedBefore }` (a per-user cut-off: "log out everywhere" in O(1) per request),
 * `family:<id>` → `{ revoked: true }` (a login whose tokens are all refused, members recorded
 * later included). On a store that broadcasts (RedisStore), also `revoked:<jti>` → `{ exp }` for
 * each revoked token, the index a {@link RevocationMirror} loads from, and one message published
 * per revocation.
 */
import { createHash, randomBytes } from 'node:crypto'

import type { Configuration } from '../Configuration'
import { InvalidToken, RefreshTokenReused, RevokedToken, StoreUnavailable } from '../errors'
import {
  broadcasts,
  encodeMessage,
  loadRevocations,
  RevocationMirror,
  type BroadcastingStore,
  type MirrorState,
  type RevocationMessage,
} from './RevocationMirror'
import { MemoryStore } from './stores/MemoryStore'
import { StoreCalls } from './stores/store-calls'
import type { StoreValue, TokenRecord, TokenStore } from './stores/TokenStore'
import { decodeUnverified, readClock, type JwtPayload } from './token'

/** What the library reports to `Authentication#audit()`: never a token or a secret. */
export interface AuditEvent {
  readonly type: 'login' | 'refresh' | 'logout' | 'revoked' | 'reuse_detected'
  /** The user id, as text. */
  readonly userId: string
  /** The token concerned (the jti of an access token, the id of a refresh token), if one. */
  readonly jti: string | null
  /** Seconds, from the `clock` setting. */
  readonly time: number
}

const tokenKey = (jti: string): string => `token:${jti}`
const userKey = (userId: string): string => `user:${userId}`
const familyKey = (family: string): string => `family:${family}`
const revokedKey = (jti: string): string => `revoked:${jti}`

/** A new token id: 128 random bits, base64url (22 characters). */
export function newJti(): string {
  return randomBytes(16).toString('base64url')
}

/** The id under which an opaque refresh token is recorded: a hash, never the token itself. */
export function refreshTokenId(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url').slice(0, 22)
}

function toRecord(value: StoreValue | undefined): TokenRecord | undefined {
  if (value === undefined) return undefined
  const { jti, userId, type, issuedAt, expiresAt, revoked, family, retiredAt, replacedBy } = value
  if (typeof jti !== 'string' || typeof userId !== 'string' || (type !== 'access' && type !== 'refresh')) return undefined
  return {
    jti,
    userId,
    type,
    issuedAt: typeof issuedAt === 'number' ? issuedAt : 0,
    expiresAt: typeof expiresAt === 'number' ? expiresAt : null,
    revoked: revoked === true,
    family: typeof family === 'string' ? family : null,
    retiredAt: typeof retiredAt === 'number' ? retiredAt : null,
    replacedBy: typeof replacedBy === 'string' ? replacedBy : null,
  }
}

const asValue = (record: TokenRecord): StoreValue => ({ ...record })

/**
 * The tokens an instance issued (`jwt.tokens`): revoke and unrevoke them, list them, and log a
 * user out everywhere. Every method rejects with `StoreUnavailable` (503) when the store fails or
 * takes longer than `storeTimeout`, and when revocation is off (there is no store then).
 *
 * @example
 * ```ts
 * await jwt.tokens.revoke(jti)          // one token
 * await jwt.tokens.revokeUser(42)       // every token of user 42 issued up to now
 * for await (const record of jwt.tokens.forUser(42)) console.log(record.jti, record.type)
 * ```
 */
export class TokenRegistry {
  readonly #config: Configuration
  readonly #store: TokenStore | undefined
  readonly #calls: StoreCalls
  readonly #audit: (event: AuditEvent) => unknown
  // The login family of the tokens issued in one request (a login, or a refresh).
  readonly #families = new WeakMap<object, string>()
  // A store shared by several processes: revocations are indexed and published.
  readonly #broadcast: BroadcastingStore | undefined
  readonly #mirror: RevocationMirror | undefined

  /** @internal */
  constructor(config: Configuration, store: TokenStore | undefined, audit: (event: AuditEvent) => unknown) {
    this.#config = config
    this.#store = store
    this.#calls = new StoreCalls(store, () => config.get('storeTimeout'))
    this.#audit = audit
    this.#broadcast = broadcasts(store) ? store : undefined
    if (this.#broadcast !== undefined && config.get('revocationMirror')) {
      this.#mirror = new RevocationMirror(this.#broadcast, { load: () => loadRevocations(this.#calls), now: () => this.#now() })
      this.#mirror.start()
    }
  }

  /**
   * The local mirror of revocations: `'off'` without one (a store that does not broadcast, or the
   * `revocationMirror` setting off), `'live'` while requests are checked against it, `'syncing'`
   * or `'down'` while they ask the store, `'closed'` after {@link close}.
   */
  get mirror(): MirrorState | 'off' {
    return this.#mirror?.state ?? 'off'
  }

  /** Ends the mirror's subscription (the store itself stays open: close it yourself). */
  async close(): Promise<void> {
    await this.#mirror?.close()
  }

  /** The store in use, or undefined when revocation is off. */
  get store(): TokenStore | undefined {
    return this.#store
  }

  /** The record of a token id, or undefined. */
  async get(jti: string): Promise<TokenRecord | undefined> {
    return toRecord(await this.#calls.call((store) => store.get(tokenKey(jti))))
  }

  /**
   * Revokes one token: by its id (`jti`), by the access token itself (a JWT: its `jti` claim is
   * read without verification), or by an opaque refresh token. A JWT not recorded yet (issued by
   * another instance sharing the key) is recorded as revoked until its `exp`.
   *
   * @returns false when nothing was known under that id.
   */
  async revoke(jtiOrToken: string): Promise<boolean> {
    const now = this.#now()
    let record = await this.get(jtiOrToken)
    if (record === undefined) record = await this.get(refreshTokenId(jtiOrToken))
    if (record === undefined && jtiOrToken.split('.').length === 3) {
      const payload = tryDecode(jtiOrToken)
      if (payload !== undefined && typeof payload.jti === 'string') {
        record = (await this.get(payload.jti)) ?? this.#accessRecordOf(payload, payload.jti, null)
      }
    }
    if (record === undefined) return false
    await this.#revokeAccess(record)
    await this.#audit({ type: 'revoked', userId: record.userId, jti: record.jti, time: now })
    return true
  }

  /**
   * Lifts the revocation of one token (by id). A token of a user revoked with `revokeUser` stays
   * refused.
   *
   * @returns false when nothing was known under that id.
   */
  async unrevoke(jti: string): Promise<boolean> {
    const record = await this.get(jti)
    if (record === undefined) return false
    await this.#write({ ...record, revoked: false })
    if (this.#broadcast !== undefined) {
      await this.#calls.call((store) => store.delete(revokedKey(record.jti)))
      await this.#publish({ t: 'unrevoke', jti: record.jti })
    }
    return true
  }

  /** The unexpired records of a user's tokens. */
  async *forUser(userId: unknown): AsyncIterable<TokenRecord> {
    const id = String(userId)
    // Tokens refused by the user's cut-off are shown revoked, as the check treats them.
    const cutoff = (await this.#calls.call((store) => store.get(userKey(id))))?.revokedBefore
    for await (const key of this.#calls.iterate((store) => store.keysOfUser(id))) {
      if (!key.startsWith('token:')) continue
      const record = await this.get(key.slice('token:'.length))
      if (record === undefined) continue
      yield typeof cutoff === 'number' && record.issuedAt < cutoff && !record.revoked ? { ...record, revoked: true } : record
    }
  }

  /** Every unexpired record. */
  async *all(): AsyncIterable<TokenRecord> {
    for await (const key of this.#calls.iterate((store) => store.keys('token:'))) {
      const record = await this.get(key.slice('token:'.length))
      if (record !== undefined) yield record
    }
  }

  /**
   * Logs a user out everywhere: every token of the user issued up to now is refused (a per-user
   * cut-off time, checked in O(1) per request), refresh tokens included. Tokens issued afterwards
   * are accepted.
   */
  async revokeUser(userId: unknown): Promise<void> {
    const id = String(userId)
    const now = this.#now()
    // Kept until deleted: no setting bounds how long a token issued before it may live (a per-token
    // expirationDelta, a token without exp). One small entry per user ever logged out everywhere.
    await this.#calls.call((store) => store.set(userKey(id), { revokedBefore: now }, { expiresAt: null, userId: id }))
    await this.#publish({ t: 'user', id, before: now })
    await this.#audit({ type: 'revoked', userId: id, jti: null, time: now })
  }

  /**
   * Revokes every token of one login (its refresh tokens and the access tokens made with them).
   * @internal
   */
  async revokeFamily(userId: string, family: string): Promise<void> {
    // The marker first: a member recorded while the records are marked (the winner of a race) is
    // refused by it. It lives as long as a member of the family can.
    const c = this.#config
    const expiresAt = this.#now() + c.get('refreshExpirationDelta') + c.get('expirationDelta') + c.get('leeway')
    await this.#calls.call((store) => store.set(familyKey(family), { revoked: true }, { expiresAt, userId }))
    for await (const record of this.forUser(userId)) {
      if (record.family === family && !record.revoked) await this.#revokeAccess(record)
    }
  }

  /**
   * The store check of a verified access token: its record is not revoked and it was issued after
   * the user's cut-off.
   *
   * @throws InvalidToken without a `jti` claim, RevokedToken, StoreUnavailable
   * @internal
   */
  async checkAccess(payload: JwtPayload): Promise<void> {
    return this.checkAccessNow(payload)
  }

  /**
   * {@link checkAccess}, synchronous on the embedded MemoryStore (the request path then makes no
   * promise), else a promise. Throws or rejects. @internal
   */
  checkAccessNow(payload: JwtPayload): void | Promise<void> {
    const { jti } = payload
    if (typeof jti !== 'string' || jti === '') {
      throw new InvalidToken('Token is missing the "jti" claim.', { code: 'ERR_JWT_CLAIM_MISSING' })
    }
    const userId = String(payload[this.#config.get('userId')])
    const mirror = this.#mirror
    if (mirror !== undefined) {
      const revoked = mirror.check(jti, userId, payload.iat)
      if (revoked === true) throw new RevokedToken()
      if (revoked === false) return
    }
    const store = this.#store
    if (store !== undefined && store.constructor === MemoryStore) {
      let value: StoreValue | undefined
      let cutoff: StoreValue | undefined
      try {
        value = (store as MemoryStore).getNow(tokenKey(jti))
        cutoff = (store as MemoryStore).getNow(userKey(userId))
      } catch (error) {
        throw new StoreUnavailable(null, { cause: error })
      }
      return this.#judge(value, cutoff, payload)
    }
    return this.#calls.call((s) => Promise.all([s.get(tokenKey(jti)), s.get(userKey(userId))])).then(([value, cutoff]) =>
      this.#judge(value, cutoff, payload),
    )
  }

  /** @throws RevokedToken for a revoked record or a token issued before its user's cut-off. */
  #judge(value: StoreValue | undefined, cutoff: StoreValue | undefined, payload: JwtPayload): void {
    const record = toRecord(value)
    if (record?.revoked === true) throw new RevokedToken()
    this.#checkCutoff(cutoff, record?.issuedAt ?? payload.iat)
  }

  /**
   * Writes the record of a new member of a family, then reads the family's revocation marker:
   * a family revoked meanwhile (reuse detected by a concurrent refresh, whose marker is written
   * before it marks the members it finds) gets this member marked too. Either the revoker finds
   * this record, or this check finds its marker: no member escapes, and the request path reads
   * only the token's own record.
   */
  async #recordMember(record: TokenRecord, expiresAt: number | null): Promise<void> {
    const key = tokenKey(record.jti)
    const options = { expiresAt, userId: record.userId }
    const family = record.family
    const [, marker] = await this.#calls.call(async (store) => {
      await store.set(key, asValue(record), options)
      return [undefined, family === null ? undefined : await store.get(familyKey(family))] as const
    })
    if (marker !== undefined) await this.#revokeAccess(record)
  }

  #checkCutoff(cutoff: StoreValue | undefined, issuedAt: unknown): void {
    const before = cutoff?.revokedBefore
    if (typeof before !== 'number') return
    // Without a time of issue there is no telling it came after the cut-off: refused. A token issued
    // in the very instant of the cut-off (a new login right after "log out everywhere") passes.
    if (typeof issuedAt !== 'number' || issuedAt < before) throw new RevokedToken()
  }

  /**
   * Records an access token just signed (before it is handed out: a store that fails issues no
   * token). Its family is the login's: the one set for this request by a refresh, else its own
   * id, which the refresh token of the same login then takes. @internal
   */
  async recordAccess(payload: JwtPayload, ctx: object | undefined): Promise<void> {
    const jti = payload.jti as string
    const family = typeof payload.sid === 'string' ? payload.sid : this.sessionOf(ctx, jti)
    const exp = payload.exp
    const expiresAt = typeof exp === 'number' ? exp + this.#config.get('leeway', ctx) : null
    await this.#recordMember(
      {
        jti,
        userId: String(payload[this.#config.get('userId', ctx)]),
        type: 'access',
        issuedAt: this.#now(),
        expiresAt,
        revoked: false,
        family,
        retiredAt: null,
        replacedBy: null,
      },
      expiresAt,
    )
  }

  /**
   * The login family (`sid` claim) of a token issued for this request: the one a refresh set,
   * else the login's first access token's id, kept for the refresh token of the same login.
   * @internal
   */
  sessionOf(ctx: object | undefined, jti: string): string {
    const family = (ctx && this.#families.get(ctx)) ?? jti
    if (ctx) this.#families.set(ctx, family)
    return family
  }

  /** Makes the tokens issued for this request members of `family` (a refresh). @internal */
  joinFamily(ctx: object, family: string): void {
    this.#families.set(ctx, family)
  }

  /**
   * Records a new opaque refresh token of a user, in the family of this request's login.
   * @internal
   */
  async recordRefresh(token: string, userId: unknown, ctx: object | undefined): Promise<string> {
    const jti = refreshTokenId(token)
    const now = this.#now()
    const family = (ctx && this.#families.get(ctx)) ?? jti
    const written = await this.#calls.call((store) =>
      store.setIfAbsent(tokenKey(jti), asValue(this.#refreshRecord(jti, String(userId), family, now, ctx)), {
        expiresAt: now + this.#config.get('refreshExpirationDelta', ctx),
        userId: String(userId),
      }),
    )
    // 128 bits of a hash of a random token: a collision is a broken generateRefreshToken.
    if (!written) throw new StoreUnavailable('A refresh token id is already taken: generateRefreshToken must return random tokens.')
    // As for every member: a family revoked meanwhile gets this one marked (see #recordMember).
    const marker = await this.#calls.call((store) => store.get(familyKey(family)))
    if (marker !== undefined) await this.#revokeAccess(this.#refreshRecord(jti, String(userId), family, now, ctx))
    return jti
  }

  #refreshRecord(jti: string, userId: string, family: string, now: number, ctx: object | undefined): TokenRecord {
    return {
      jti,
      userId,
      type: 'refresh',
      issuedAt: now,
      expiresAt: now + this.#config.get('refreshExpirationDelta', ctx),
      revoked: false,
      family,
      retiredAt: null,
      replacedBy: null,
    }
  }

  /**
   * Checks a refresh token of the store: recorded for this user, unexpired, not revoked (itself,
   * its login's family, its user's cut-off). A retired token (`refreshRotation`) is reuse: the
   * family is revoked (401 `RefreshTokenReused`), unless it was retired less than
   * `refreshReuseInterval` seconds ago (two tabs), when it is accepted without rotation. The
   * tokens issued next in this request join the token's family.
   *
   * @param refused - the error for a token that is not a valid refresh token of this user.
   * @returns the record, and whether to rotate it (with {@link rotateRefresh}, last).
   * @throws RefreshTokenReused, RevokedToken, the `refused` error, StoreUnavailable
   * @internal
   */
  async checkRefresh(
    token: string,
    userId: unknown,
    ctx: object | undefined,
    refused: () => Error,
  ): Promise<{ record: TokenRecord; rotate: boolean }> {
    const id = String(userId)
    const jti = refreshTokenId(token)
    const now = this.#now()
    const [value, cutoff] = await this.#calls.call((store) => Promise.all([store.get(tokenKey(jti)), store.get(userKey(id))]))
    const record = toRecord(value)
    if (record === undefined || record.type !== 'refresh' || record.userId !== id) throw refused()
    if (record.expiresAt !== null && record.expiresAt <= now) throw refused()
    const family = record.family ?? record.jti
    if (this.#config.get('revocationChecks', ctx) !== 'access') {
      if (record.revoked) throw new RevokedToken()
      this.#checkCutoff(cutoff, record.issuedAt)
    }
    if (ctx) this.#families.set(ctx, family)
    if (!this.#config.get('refreshRotation', ctx)) return { record, rotate: false }
    if (record.retiredAt !== null) {
      await this.#retired(record, family, now, ctx)
      return { record, rotate: false }
    }
    return { record, rotate: true }
  }

  /**
   * Retires a checked refresh token in favour of its successor, atomically: the last write of a
   * refresh, after the successor and the new access token are recorded, so that a store failing
   * halfway leaves the old token usable. Of two concurrent rotations one wins; the other's
   * successor is deleted and the rules of a retired token apply to it.
   *
   * @returns true when this rotation won; false when another did and this one is answered
   *   within the reuse interval (without its successor).
   * @throws RefreshTokenReused, RevokedToken, StoreUnavailable
   * @internal
   */
  async rotateRefresh(record: TokenRecord, successor: string, ctx: object | undefined): Promise<boolean> {
    const now = this.#now()
    const next = refreshTokenId(successor)
    const retired: TokenRecord = { ...record, retiredAt: now, replacedBy: next }
    const key = tokenKey(record.jti)
    const options = { expiresAt: record.expiresAt, userId: record.userId }
    if (await this.#calls.call((store) => store.compareAndSet(key, asValue(record), asValue(retired), options))) return true
    // Another request rotated it first: this successor never becomes a family member.
    await this.#calls.call((store) => store.delete(tokenKey(next)))
    const current = toRecord(await this.#calls.call((store) => store.get(key)))
    if (current === undefined || current.revoked) throw new RevokedToken()
    await this.#retired(current, record.family ?? record.jti, now, ctx)
    return false
  }

  /** A retired token presented again: accepted within the reuse interval, else reuse. */
  async #retired(record: TokenRecord, family: string, now: number, ctx: object | undefined): Promise<void> {
    const grace = this.#config.get('refreshReuseInterval', ctx)
    if (record.retiredAt !== null && now - record.retiredAt < grace) return
    await this.revokeFamily(record.userId, family)
    await this.#audit({ type: 'reuse_detected', userId: record.userId, jti: record.jti, time: now })
    throw new RefreshTokenReused()
  }

  /**
   * Logs out the owner of a verified access token: that token and the other tokens of its login,
   * or, with `everywhere`, every token of the user. @internal
   */
  async logout(payload: JwtPayload, everywhere: boolean): Promise<void> {
    const userId = String(payload[this.#config.get('userId')])
    if (everywhere) return this.revokeUser(userId)
    const jti = typeof payload.jti === 'string' ? payload.jti : undefined
    if (jti === undefined) return
    const record = await this.get(jti)
    // The token names its login (sid); a token without (issued before) falls back on its record,
    // then on its own id, a login's first token's family.
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined
    await this.revokeFamily(userId, sid ?? record?.family ?? jti)
    await this.#revokeAccess(record ?? this.#accessRecordOf(payload, jti, null))
    await this.#audit({ type: 'revoked', userId, jti, time: this.#now() })
  }

  /** The record of a verified access token the store does not hold. */
  #accessRecordOf(payload: JwtPayload, jti: string, family: string | null): TokenRecord {
    const now = this.#now()
    return {
      jti,
      userId: String(payload[this.#config.get('userId')] ?? ''),
      type: 'access',
      issuedAt: typeof payload.iat === 'number' ? payload.iat : now,
      expiresAt: typeof payload.exp === 'number' ? payload.exp + this.#config.get('leeway') : null,
      revoked: false,
      family,
      retiredAt: null,
      replacedBy: null,
    }
  }

  /**
   * Marks an access token revoked. While refresh tokens are on, the mark outlives the token: an
   * expired access token is still presented to `/auth/refresh` (which skips `exp`), for as long as
   * a refresh token lives.
   */
  async #revokeAccess(record: TokenRecord): Promise<void> {
    const c = this.#config
    let { expiresAt } = record
    if (expiresAt !== null && record.type === 'access' && c.get('refreshTokenEnabled')) {
      expiresAt = Math.max(expiresAt, this.#now() + c.get('refreshExpirationDelta') + c.get('leeway'))
    }
    await this.#write({ ...record, revoked: true, expiresAt })
    if (this.#broadcast === undefined) return
    // The index (what a mirror loads) after the record (what a lookup reads), then the message.
    const options = { expiresAt, userId: record.userId }
    await this.#calls.call((store) => store.set(revokedKey(record.jti), { exp: expiresAt }, options))
    await this.#publish({ t: 'token', jti: record.jti, exp: expiresAt })
  }

  /**
   * Tells every process sharing the store (this one first, at once). A failure is StoreUnavailable:
   * the revocation is stored, but processes whose mirror missed it would accept the token, so the
   * caller hears of it (and may retry: revoking again is harmless).
   */
  async #publish(message: RevocationMessage): Promise<void> {
    const store = this.#broadcast
    if (store === undefined) return
    this.#mirror?.apply(message)
    await this.#calls.call(() => store.publish(encodeMessage(message)))
  }

  /** Writes a record until it expires. */
  #write(record: TokenRecord): Promise<void> {
    return this.#calls.call((store) =>
      store.set(tokenKey(record.jti), asValue(record), { expiresAt: record.expiresAt, userId: record.userId }),
    )
  }

  #now(): number {
    return readClock(this.#config.get('clock'))
  }
}

function tryDecode(token: string): JwtPayload | undefined {
  try {
    return decodeUnverified(token)
  } catch {
    return undefined
  }
}
