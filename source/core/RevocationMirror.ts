/**
 * A process's own copy of the revocations in a shared token store (RedisStore), kept current by
 * the store's broadcast (`publish`/`subscribe`), so that the revocation check of a request is a
 * map lookup instead of a store round trip. No Koa in here.
 *
 * The mirror answers only while it is live: subscribed, then loaded from the store (messages that
 * arrive during the load are applied after it, in order). While the subscription is down, or being
 * set up again, it answers "don't know" and the request asks the store, as without a mirror.
 */
import type { StoreCalls } from './stores/store-calls'
import type { StoreSubscriber, TokenStore } from './stores/TokenStore'

/** What the mirror holds: the revoked token ids (with their expiry) and the per-user cut-offs. */
export interface Revocations {
  /** jti → the time (seconds) the revocation mark expires, null for never. */
  readonly tokens: Map<string, number | null>
  /** user id → the cut-off time (seconds): tokens issued before it are refused. */
  readonly users: Map<string, number>
}

/** One revocation, as published to the other processes. @internal */
export type RevocationMessage =
  | { readonly t: 'token'; readonly jti: string; readonly exp: number | null }
  | { readonly t: 'unrevoke'; readonly jti: string }
  | { readonly t: 'user'; readonly id: string; readonly before: number }

/** Where a mirror is: `syncing` (loading), `live` (answering), `down` (subscription lost), `closed`. */
export type MirrorState = 'syncing' | 'live' | 'down' | 'closed'

/** A store that can broadcast: one with `publish` and `subscribe`. @internal */
export type BroadcastingStore = TokenStore & Required<Pick<TokenStore, 'publish' | 'subscribe'>>

/** Whether a store broadcasts (has both optional methods). @internal */
export function broadcasts(store: TokenStore | undefined): store is BroadcastingStore {
  return typeof store?.publish === 'function' && typeof store.subscribe === 'function'
}

/** The text of a message (JSON). @internal */
export function encodeMessage(message: RevocationMessage): string {
  return JSON.stringify(message)
}

/** A message read back, or undefined for anything else on the channel. @internal */
export function decodeMessage(text: string): RevocationMessage | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const m = value as Record<string, unknown>
  if (m.t === 'token' && typeof m.jti === 'string' && (m.exp === null || isTime(m.exp))) {
    return { t: 'token', jti: m.jti, exp: m.exp as number | null }
  }
  if (m.t === 'unrevoke' && typeof m.jti === 'string') return { t: 'unrevoke', jti: m.jti }
  if (m.t === 'user' && typeof m.id === 'string' && isTime(m.before)) return { t: 'user', id: m.id, before: m.before }
  return undefined
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

/**
 * Every revocation in a store: the `revoked:<jti>` index and the `user:<id>` cut-offs, read through
 * bounded calls. @internal
 */
export async function loadRevocations(calls: StoreCalls): Promise<Revocations> {
  const tokens = new Map<string, number | null>()
  const users = new Map<string, number>()
  await calls.each('revoked:', (jti, value) => {
    tokens.set(jti, isTime(value.exp) ? value.exp : null)
  })
  await calls.each('user:', (id, value) => {
    if (isTime(value.revokedBefore)) users.set(id, value.revokedBefore)
  })
  return { tokens, users }
}

/** Options of {@link RevocationMirror}. @internal */
export interface MirrorOptions {
  /** Reads every revocation from the store (bounded by the caller). */
  readonly load: () => Promise<Revocations>
  /** Seconds, from the `clock` setting. */
  readonly now: () => number
  /** Milliseconds between two attempts at a load that failed. @default 1000 */
  readonly retryDelay?: number
}

/**
 * The local mirror of a broadcasting store's revocations. `check()` is synchronous.
 * @internal
 */
export class RevocationMirror {
  readonly #store: BroadcastingStore
  readonly #options: MirrorOptions
  #tokens = new Map<string, number | null>()
  #users = new Map<string, number>()
  #state: MirrorState = 'syncing'
  /** Messages received during a load, applied after it; undefined when not loading. */
  #pending: RevocationMessage[] | undefined
  /** Bumped by every change of the subscription: a load started before it is dropped. */
  #generation = 0
  #retry: NodeJS.Timeout | undefined
  #unsubscribe: (() => Promise<void>) | undefined
  /** Size of the token map after the last sweep of expired marks. */
  #swept = 0

  constructor(store: BroadcastingStore, options: MirrorOptions) {
    this.#store = store
    this.#options = options
  }

  /** Subscribes; the mirror answers once the first load is done. */
  start(): void {
    const subscriber: StoreSubscriber = {
      message: (text) => this.#receive(text),
      state: (live) => (live ? this.#resync() : this.#lose()),
    }
    this.#unsubscribe = this.#store.subscribe(subscriber)
  }

  /** Where the mirror is. */
  get state(): MirrorState {
    return this.#state
  }

  /** How many revoked tokens and user cut-offs the mirror holds. */
  get size(): { readonly tokens: number; readonly users: number } {
    return { tokens: this.#tokens.size, users: this.#users.size }
  }

  /**
   * Whether a verified token is revoked: true or false when the mirror knows, undefined when the
   * store must be asked (the mirror is not live, or the token was issued in the same second as
   * its user's cut-off: only its record's exact time of issue tells).
   */
  check(jti: string, userId: string, issuedAt: unknown): boolean | undefined {
    if (this.#state !== 'live') return undefined
    const tokens = this.#tokens
    if (tokens.size !== 0) {
      const expiresAt = tokens.get(jti)
      if (expiresAt !== undefined) {
        if (expiresAt === null || expiresAt > this.#options.now()) return true
        tokens.delete(jti)
      }
    }
    if (this.#users.size === 0) return false
    const before = this.#users.get(userId)
    if (before === undefined) return false
    if (typeof issuedAt !== 'number') return undefined
    if (issuedAt < Math.floor(before)) return true
    if (issuedAt > before) return false
    return undefined
  }

  /** Applies a revocation made by this process (the broadcast brings it back too, harmlessly). */
  apply(message: RevocationMessage): void {
    if (this.#pending !== undefined) this.#pending.push(message)
    else if (this.#state === 'live') this.#apply(message)
  }

  /** Ends the subscription; the mirror no longer answers. */
  async close(): Promise<void> {
    this.#state = 'closed'
    this.#generation++
    clearTimeout(this.#retry)
    const unsubscribe = this.#unsubscribe
    this.#unsubscribe = undefined
    this.#tokens = new Map()
    this.#users = new Map()
    await unsubscribe?.()
  }

  #receive(text: string): void {
    const message = decodeMessage(text)
    if (message !== undefined) this.apply(message)
  }

  #apply(message: RevocationMessage): void {
    switch (message.t) {
      case 'token':
        this.#tokens.set(message.jti, message.exp)
        if (this.#tokens.size > 2 * this.#swept + 1024) this.#sweep()
        break
      case 'unrevoke':
        this.#tokens.delete(message.jti)
        break
      case 'user': {
        // Cut-offs only move forward: of two revocations of one user, the later one holds.
        const known = this.#users.get(message.id)
        if (known === undefined || message.before > known) this.#users.set(message.id, message.before)
        break
      }
    }
  }

  /** Drops the marks of tokens expired by now (amortised: when the map has doubled). */
  #sweep(): void {
    const now = this.#options.now()
    for (const [jti, expiresAt] of this.#tokens) {
      if (expiresAt !== null && expiresAt <= now) this.#tokens.delete(jti)
    }
    this.#swept = this.#tokens.size
  }

  /** The subscription is lost: messages may be missed, so stop answering until a new load. */
  #lose(): void {
    if (this.#state === 'closed') return
    this.#state = 'down'
    this.#generation++
    this.#pending = undefined
    clearTimeout(this.#retry)
  }

  /** Subscribed (again): load everything, then apply what arrived meanwhile, then answer. */
  #resync(): void {
    if (this.#state === 'closed') return
    const generation = ++this.#generation
    this.#state = 'syncing'
    this.#pending = []
    clearTimeout(this.#retry)
    this.#options.load().then(
      (loaded) => {
        if (generation !== this.#generation) return
        const pending = this.#pending ?? []
        this.#tokens = loaded.tokens
        this.#users = loaded.users
        this.#swept = loaded.tokens.size
        this.#pending = undefined
        this.#state = 'live'
        for (const message of pending) this.#apply(message)
      },
      () => {
        if (generation !== this.#generation) return
        // Still subscribed (messages keep being kept): try the load again a little later.
        this.#retry = setTimeout(() => {
          if (generation === this.#generation) this.#resync()
        }, this.#options.retryDelay ?? 1000)
        this.#retry.unref()
      },
    )
  }
}
