/**
 * Calls to a token store, each bounded by `storeTimeout` and failing as `StoreUnavailable`: no
 * request hangs on a store, and no check is skipped because a store failed. No Koa in here.
 */
import { StoreUnavailable } from '../../errors'
import { MemoryStore } from './MemoryStore'
import type { StoreValue, TokenStore } from './TokenStore'

/** Bounded calls to one store (or to none: every call is StoreUnavailable). @internal */
export class StoreCalls {
  readonly #store: TokenStore | undefined
  readonly #timeout: () => number
  // An in-process store cannot hang: its calls need no timer. Only the embedded store itself: a
  // subclass may do I/O.
  readonly #bounded: boolean

  /** @param timeout - the `storeTimeout` setting in seconds, read at each call. */
  constructor(store: TokenStore | undefined, timeout: () => number) {
    this.#store = store
    this.#timeout = timeout
    this.#bounded = store !== undefined && store.constructor !== MemoryStore
  }

  /**
   * One store call: a failure or an answer slower than `storeTimeout` is StoreUnavailable (the
   * cause kept, never shown).
   */
  async call<T>(fn: (store: TokenStore) => Promise<T>): Promise<T> {
    const store = this.#need()
    if (!this.#bounded) {
      try {
        return await fn(store)
      } catch (error) {
        throw error instanceof StoreUnavailable ? error : new StoreUnavailable(null, { cause: error })
      }
    }
    const ms = this.#timeout() * 1000
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the token store did not answer within ${ms} ms`)), ms)
      timer.unref()
    })
    try {
      return await Promise.race([fn(store), timeout])
    } catch (error) {
      throw error instanceof StoreUnavailable ? error : new StoreUnavailable(null, { cause: error })
    } finally {
      clearTimeout(timer)
    }
  }

  /** Iterates a store listing, its start and each step bounded like any other call. */
  async *iterate(list: (store: TokenStore) => AsyncIterable<string>): AsyncIterable<string> {
    const iterator = await this.call(async (store) => list(store)[Symbol.asyncIterator]())
    for (;;) {
      const step = await this.call(() => iterator.next())
      if (step.done === true) return
      yield step.value
    }
  }

  /** Reads every entry under a key prefix (the key without the prefix), 64 reads at a time. */
  async each(prefix: string, take: (name: string, value: StoreValue) => void): Promise<void> {
    let batch: string[] = []
    const flush = async (): Promise<void> => {
      const keys = batch
      batch = []
      const values = await this.call((store) => Promise.all(keys.map((key) => store.get(key))))
      values.forEach((value, i) => {
        if (value !== undefined) take((keys[i] as string).slice(prefix.length), value)
      })
    }
    for await (const key of this.iterate((store) => store.keys(prefix))) {
      batch.push(key)
      if (batch.length === 64) await flush()
    }
    if (batch.length > 0) await flush()
  }

  #need(): TokenStore {
    if (this.#store === undefined) {
      throw new StoreUnavailable('Revocation is not enabled: no token store.')
    }
    return this.#store
  }
}
