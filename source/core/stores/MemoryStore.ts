/**
 * The embedded default {@link TokenStore}: a bounded map in the memory of one process.
 *
 * Nothing runs in the background: no timer keeps the process alive or wakes it up. An expired
 * entry is invisible from its `expiresAt` on, dropped when a call touches it, and a few expired
 * entries are swept by every write (the soonest-expiring sit at the top of a min-heap, so a sweep
 * finds them without a scan). The heap also picks the entry to evict when the store is full, so a
 * write is O(log n) whatever the size.
 *
 * @module
 */
import { warnOnce } from '../warnings'
import { checkKey, checkOptions, checkValue } from './store-values'
import type { StoreSetOptions, StoreValue, TokenStore } from './TokenStore'

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most entries held. A write beyond it evicts the entry that expires soonest (an expired one
   * first of all, one without expiry last); evicting an unexpired revocation marker lets that
   * revoked token through again, so size it for every token that can be revoked while it is valid.
   *
   * @default 100_000
   */
  readonly maxEntries?: number
  /**
   * The current time in epoch seconds. The library passes its `clock` setting, so entries expire
   * on the same time as the tokens they describe.
   *
   * @default () => Date.now() / 1000
   */
  readonly clock?: () => number
}

/** Expired entries a write drops at most, besides the one it may evict: bounds the write's cost. */
const SWEEP_BUDGET = 8

const OPTION_NAMES: ReadonlySet<string> = new Set(['maxEntries', 'clock'])

/** One stored key. Mutable, and updated in place by a rewrite, to keep its heap slot. */
class Entry {
  constructor(
    readonly key: string,
    public value: StoreValue,
    /**
     * Epoch seconds, or null for none. Kept as null rather than Infinity: with integer expiries
     * V8 then stores the field inline, where Infinity would box every entry's number.
     */
    public expiresAt: number | null,
    public userId: string | undefined,
    /** Position in the heap, kept up to date by every heap move, for O(log n) removal. */
    public slot: number,
  ) {}
}

/** Whether `a` expires strictly before `b` (null, no expiry, sorts after every time). */
function sooner(a: Entry, b: Entry): boolean {
  return a.expiresAt !== null && (b.expiresAt === null || a.expiresAt < b.expiresAt)
}

/** Whether an entry can no longer be read at `now`: `expiresAt` itself is past, like a token's `exp`. */
function expired(entry: Entry, now: number): boolean {
  return entry.expiresAt !== null && entry.expiresAt <= now
}

/** The error of every call on a closed store. */
function closedError(): Error {
  return new Error('MemoryStore is closed')
}

/**
 * A copy of a value, so that the caller changing its object later cannot change the store. Not
 * frozen: the copy never leaves the store (reads copy it again), and freezing made V8 spend about
 * 120 more bytes on each value (measured at 1M entries). Only what a serialising store (Redis,
 * SQL) would read back equal is accepted: a value this store took and another refused would be a
 * bug found in production only.
 */
function copyValue(value: StoreValue, what: string): StoreValue {
  checkValue(value, what)
  // A spread defines own properties: a `__proto__` key is copied as data, never as a prototype.
  return { ...value }
}

/** Whether two flat values have the same keys with the same values, in any order. */
function sameValue(stored: StoreValue, expected: StoreValue): boolean {
  const names = Object.keys(expected)
  if (names.length !== Object.keys(stored).length) return false
  for (const name of names) {
    if (!Object.hasOwn(stored, name) || stored[name] !== expected[name]) return false
  }
  return true
}

/**
 * The embedded default token store: entries in the memory of this process, expiring at their
 * `expiresAt` with no timer, at most `maxEntries` of them.
 *
 * Suited to one process. Every worker of a cluster has its own: a token revoked in one is still
 * accepted by the others, and a restart forgets every revocation. Use a shared store (Redis...)
 * beyond one process.
 *
 * Bounded: when full, a write evicts the entry that expires soonest (expired ones first, entries
 * without expiry last), and warns once (`KOA_JWT_STORE_EVICTING`) when that starts to evict
 * unexpired entries. An evicted revocation marker is forgotten: that revoked token is accepted
 * again until it expires. Raise `maxEntries` if the warning shows.
 *
 * `setIfAbsent` and `compareAndSet` are atomic within this process (each runs synchronously from
 * its read to its write), which is all one in-memory store can promise.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ maxEntries: 200_000 })
 * await store.set('token:abc', { revoked: true }, { expiresAt: exp, userId: '42' })
 * await store.get('token:abc') // { revoked: true }
 * for await (const key of store.keysOfUser('42')) console.log(key) // token:abc
 * new Initialize(app, { secret, authenticate, tokenStore: store })
 * ```
 */
export class MemoryStore implements TokenStore {
  /** Most entries held. */
  readonly maxEntries: number
  readonly #clock: () => number
  readonly #entries = new Map<string, Entry>()
  /** Min-heap on `expiresAt` (null last): the next entry to expire, or to evict, is at the top. */
  readonly #heap: Entry[] = []
  /** Keys by user id, for `keysOfUser` without a scan. A user's set goes when it is empty. */
  readonly #byUser = new Map<string, Set<string>>()
  #closed = false
  /** Whether this store warned about evicting unexpired entries (once per store). */
  #warned = false

  /**
   * @param options - `maxEntries` (a positive integer, default 100 000) and `clock` (seconds).
   * @throws TypeError on an invalid or unknown option.
   */
  constructor(options: MemoryStoreOptions = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new TypeError('MemoryStore options must be an object { maxEntries?, clock? }')
    }
    const unknown = Object.keys(options).filter((name) => !OPTION_NAMES.has(name))
    if (unknown.length > 0) {
      throw new TypeError(`MemoryStore takes { maxEntries, clock } only (got ${unknown.join(', ')})`)
    }
    const { maxEntries = 100_000, clock } = options
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('MemoryStore maxEntries must be a positive integer')
    }
    if (clock !== undefined && typeof clock !== 'function') {
      throw new TypeError('MemoryStore clock must be a function returning epoch seconds')
    }
    this.maxEntries = maxEntries
    this.#clock = clock ?? ((): number => Date.now() / 1000)
  }

  /**
   * Entries held: the unexpired ones, plus expired ones no call has dropped yet (a read of the key,
   * a listing, or a write's sweep drops them). Never more than `maxEntries`; 0 once closed.
   */
  get size(): number {
    return this.#entries.size
  }

  /** {@inheritDoc TokenStore.get} */
  async get(key: string): Promise<StoreValue | undefined> {
    return this.getNow(key)
  }

  /**
   * {@link get} without a promise: the request path of the revocation check reads the embedded
   * store synchronously (no microtask per read). Throws where `get` rejects. @internal
   */
  getNow(key: string): StoreValue | undefined {
    this.#open()
    checkKey(key)
    const entry = this.#live(key, this.#clock())
    // A copy on read too: the caller may change what it got.
    return entry === undefined ? undefined : { ...entry.value }
  }

  /** {@inheritDoc TokenStore.set} */
  async set(key: string, value: StoreValue, options: StoreSetOptions): Promise<void> {
    this.#open()
    checkKey(key)
    checkOptions(options)
    this.#write(key, copyValue(value, 'value'), options, this.#clock())
  }

  /** {@inheritDoc TokenStore.setIfAbsent} */
  async setIfAbsent(key: string, value: StoreValue, options: StoreSetOptions): Promise<boolean> {
    this.#open()
    checkKey(key)
    checkOptions(options)
    const copy = copyValue(value, 'value')
    const now = this.#clock()
    if (this.#live(key, now) !== undefined) return false
    this.#write(key, copy, options, now)
    return true
  }

  /**
   * {@inheritDoc TokenStore.compareAndSet}
   *
   * Atomic within this process only: the comparison and the write run without yielding.
   */
  async compareAndSet(
    key: string,
    expected: StoreValue,
    value: StoreValue,
    options: StoreSetOptions,
  ): Promise<boolean> {
    this.#open()
    checkKey(key)
    checkOptions(options)
    if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) {
      throw new TypeError('expected must be a flat object of JSON scalars')
    }
    const copy = copyValue(value, 'value')
    const now = this.#clock()
    const entry = this.#live(key, now)
    if (entry === undefined || !sameValue(entry.value, expected)) return false
    this.#write(key, copy, options, now)
    return true
  }

  /** {@inheritDoc TokenStore.delete} */
  async delete(key: string): Promise<boolean> {
    this.#open()
    checkKey(key)
    const entry = this.#entries.get(key)
    if (entry === undefined) return false
    this.#remove(entry)
    return !expired(entry, this.#clock())
  }

  /**
   * {@inheritDoc TokenStore.keysOfUser}
   *
   * Live: keys written or removed during the iteration may or may not be listed.
   */
  async *keysOfUser(userId: string): AsyncIterable<string> {
    this.#open()
    if (typeof userId !== 'string') throw new TypeError('userId must be a string')
    const keys = this.#byUser.get(userId)
    if (keys === undefined) return
    // Set iteration survives deletions, including the ones this loop makes.
    for (const key of keys) {
      const entry = this.#live(key, this.#clock())
      if (entry !== undefined) yield key
      this.#open()
    }
  }

  /**
   * {@inheritDoc TokenStore.keys}
   *
   * Live: keys written or removed during the iteration may or may not be listed.
   */
  async *keys(prefix?: string): AsyncIterable<string> {
    this.#open()
    if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError('prefix must be a string')
    for (const [key, entry] of this.#entries) {
      if (prefix !== undefined && !key.startsWith(prefix)) continue
      if (expired(entry, this.#clock())) {
        this.#remove(entry)
        continue
      }
      yield key
      this.#open()
    }
  }

  /**
   * Forgets every entry. Every later call rejects with `Error('MemoryStore is closed')`, except
   * `close()` itself, which does nothing more: shutdown code may run twice.
   */
  async close(): Promise<void> {
    this.#closed = true
    this.#entries.clear()
    this.#heap.length = 0
    this.#byUser.clear()
  }

  /** Throws once the store is closed. */
  #open(): void {
    if (this.#closed) throw closedError()
  }

  /** The unexpired entry of a key; an expired one is dropped on the way. */
  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (expired(entry, now)) {
      this.#remove(entry)
      return undefined
    }
    return entry
  }

  /** Writes a checked, copied value: in place for a held key, or as a new entry. */
  #write(key: string, value: StoreValue, options: StoreSetOptions, now: number): void {
    const { expiresAt } = options
    const userId = options.userId
    this.#sweep(now)
    const entry = this.#entries.get(key)
    // Already expired when written: what a read would see is nothing, so hold nothing.
    if (expiresAt !== null && expiresAt <= now) {
      if (entry !== undefined) this.#remove(entry)
      return
    }
    if (entry !== undefined) {
      entry.value = value
      if (entry.userId !== userId) {
        this.#unindex(entry)
        entry.userId = userId
        this.#index(entry)
      }
      const earlier = expiresAt !== null && (entry.expiresAt === null || expiresAt < entry.expiresAt)
      entry.expiresAt = expiresAt
      if (earlier) this.#up(entry.slot)
      else this.#down(entry.slot)
      return
    }
    if (this.#entries.size >= this.maxEntries) this.#evict(now)
    const added = new Entry(key, value, expiresAt, userId, this.#heap.length)
    this.#entries.set(key, added)
    this.#heap.push(added)
    this.#up(added.slot)
    this.#index(added)
  }

  /** Drops up to {@link SWEEP_BUDGET} expired entries from the top of the heap. */
  #sweep(now: number): void {
    for (let budget = SWEEP_BUDGET; budget > 0; budget--) {
      const top = this.#heap[0]
      if (top === undefined || !expired(top, now)) return
      this.#remove(top)
    }
  }

  /** Makes room for one entry: drops the one that expires soonest. */
  #evict(now: number): void {
    const top = this.#heap[0]
    if (top === undefined) return
    if (!expired(top, now) && !this.#warned) {
      this.#warned = true
      warnOnce(
        'KOA_JWT_STORE_EVICTING',
        `MemoryStore is full (maxEntries ${this.maxEntries}) and evicts entries that have not ` +
          'expired: revocations may be forgotten, and those revoked tokens accepted again until ' +
          'they expire. Raise maxEntries, or use a shared store.',
      )
    }
    this.#remove(top)
  }

  /** Removes an entry from the map, the heap and the user index. */
  #remove(entry: Entry): void {
    this.#entries.delete(entry.key)
    this.#unindex(entry)
    const heap = this.#heap
    const last = heap.pop()
    // The removed entry was the last slot: nothing to move.
    if (last === undefined || last === entry) return
    heap[entry.slot] = last
    last.slot = entry.slot
    // The moved entry may belong above or below its new slot: one of the two moves nothing.
    this.#up(last.slot)
    this.#down(last.slot)
  }

  #index(entry: Entry): void {
    if (entry.userId === undefined) return
    const keys = this.#byUser.get(entry.userId)
    if (keys === undefined) this.#byUser.set(entry.userId, new Set([entry.key]))
    else keys.add(entry.key)
  }

  #unindex(entry: Entry): void {
    if (entry.userId === undefined) return
    const keys = this.#byUser.get(entry.userId)
    if (keys === undefined) return
    keys.delete(entry.key)
    if (keys.size === 0) this.#byUser.delete(entry.userId)
  }

  /** Moves the entry at `slot` up while it expires before its parent. */
  #up(slot: number): void {
    const heap = this.#heap
    const entry = heap[slot]
    if (entry === undefined) return
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1
      const parent = heap[parentSlot] as Entry
      if (!sooner(entry, parent)) break
      heap[slot] = parent
      parent.slot = slot
      slot = parentSlot
    }
    heap[slot] = entry
    entry.slot = slot
  }

  /** Moves the entry at `slot` down while a child expires before it. */
  #down(slot: number): void {
    const heap = this.#heap
    const entry = heap[slot]
    if (entry === undefined) return
    const length = heap.length
    for (;;) {
      const left = 2 * slot + 1
      if (left >= length) break
      const right = left + 1
      let child = heap[left] as Entry
      let childSlot = left
      if (right < length && sooner(heap[right] as Entry, child)) {
        child = heap[right] as Entry
        childSlot = right
      }
      if (!sooner(child, entry)) break
      heap[slot] = child
      child.slot = slot
      slot = childSlot
    }
    heap[slot] = entry
    entry.slot = slot
  }
}
