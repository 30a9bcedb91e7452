/**
 * A {@link TokenStore} on Redis (node-redis, the official client): one store shared by every
 * process and host that points at the same server and prefix.
 *
 * Layout, under the store's `prefix` (default `koa-jwt-kit:`):
 * - `<prefix><key>`: a string, the JSON `{"v": <value>, "u": <userId>}` (`u` only when given),
 *   with a Redis expiry (`PXAT`) at `expiresAt`, so Redis itself drops expired entries.
 * - `<prefix>user-index:<userId>`: a set of the full keys written with that user id. It expires
 *   with its latest member (`PEXPIREAT ... GT`), or never while a member has no expiry. Entries of
 *   keys that expired are skipped by `keysOfUser` and removed from the set then (lazily).
 *
 * Every write runs as one Lua script, so `setIfAbsent` and `compareAndSet` are atomic across every
 * client of the server, and the user index never disagrees with the key it lists. The scripts
 * touch the index of the previous owner, a key they compute: a standalone server (or a
 * primary with replicas) only, not Redis Cluster.
 *
 * @module
 */
import type * as Redis from 'redis'

import { checkKey, checkOptions, checkValue } from './store-values'
import type { StoreSetOptions, StoreSubscriber, StoreValue, TokenStore } from './TokenStore'
import { startFeed, type Feed } from './redis-feed'
import { DELETE, WRITE, type Script } from './redis-scripts'

/**
 * What the store uses of a node-redis client (`createClient()` from `redis`, v4 to v6): a
 * `RedisClientType` fits, and so does any object with these members.
 */
export interface RedisClientLike {
  readonly isOpen: boolean
  readonly isReady: boolean
  connect(): Promise<unknown>
  sendCommand(args: string[]): Promise<unknown>
  /**
   * A new client with the same options (node-redis' `duplicate()`): the store's subscription to
   * revocations runs on a connection of its own. Without it, the store does not subscribe and
   * every process asks Redis on every request.
   */
  duplicate?(): unknown
}

/** Options of {@link RedisStore}: exactly one of `client` and `url`. */
export interface RedisStoreOptions {
  /**
   * A node-redis client, connected or not (the store connects it when it is not open). It stays
   * its owner's: `close()` leaves it open, and its owner listens to its `'error'` events. Create it
   * with `disableOfflineQueue: true` so that calls fail at once while it reconnects (otherwise they
   * fail after `commandTimeout`).
   */
  readonly client?: RedisClientLike
  /**
   * A Redis URL (`redis://user:pass@host:6379/0`, `rediss://...`): the store creates its own
   * client (offline queue disabled, reconnecting in the background) and `close()` closes it.
   */
  readonly url?: string
  /**
   * Prepended to every Redis key: stores with different prefixes on one server do not see each
   * other's keys. Do not use a prefix that starts with another store's prefix.
   *
   * @default 'koa-jwt-kit:'
   */
  readonly prefix?: string
  /**
   * Milliseconds a Redis command (or the first connection) may take before the call rejects:
   * a server that is down or unreachable makes calls reject, never hang.
   *
   * @default 2000
   */
  readonly commandTimeout?: number
}

const OPTION_NAMES: ReadonlySet<string> = new Set(['client', 'url', 'prefix', 'commandTimeout'])

/** The name of the user index sets, after the prefix. Store keys may not start with it. */
const INDEX = 'user-index:'

/** Keys asked of SCAN / SSCAN per round trip. */
const SCAN_COUNT = '500'
/** The channel of revocation messages, after the prefix. */
const CHANNEL = 'revocations'


/** How a stored entry reads. */
interface Stored {
  readonly v: StoreValue
  readonly u?: string
}

function checkRedisKey(key: unknown): asserts key is string {
  checkKey(key)
  if (key.startsWith(INDEX)) throw new TypeError(`RedisStore keys may not start with "${INDEX}"`)
}

/** A prefix as a SCAN MATCH pattern that matches it literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&')
}

/** Epoch milliseconds for `PXAT`: at least 1 (Redis refuses 0 and below). */
function pxat(expiresAt: number): string {
  return String(Math.max(1, Math.floor(expiresAt * 1000)))
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}

/**
 * A token store on Redis, shared by every process that uses the same server and prefix: a token
 * revoked by one is refused by all, and revocations survive a restart of the application.
 *
 * Redis expires entries at their `expiresAt` on its own clock (keep the hosts' clocks in sync).
 * `setIfAbsent` and `compareAndSet` are atomic for every client of the server (Lua scripts).
 * Standalone Redis (7.0 or later: `PEXPIREAT ... GT`), not Redis Cluster.
 *
 * Each call is bounded by `commandTimeout`: while the server is down or unreachable, calls reject
 * (the library then answers 503 `StoreUnavailable`) and never hang; they work again once the client
 * has reconnected.
 *
 * @example
 * ```ts
 * const store = new RedisStore({ url: process.env.REDIS_URL })
 * new Initialize(app, { secret, authenticate, tokenStore: store })
 * // or with a client of your own (left open by store.close()):
 * const client = createClient({ url, disableOfflineQueue: true }).on('error', console.error)
 * const shared = new RedisStore({ client, prefix: 'myapp:jwt:' })
 * ```
 */
export class RedisStore implements TokenStore {
  /** Prepended to every Redis key. */
  readonly prefix: string
  /** Milliseconds each command may take. */
  readonly commandTimeout: number
  readonly #client: RedisClientLike
  /** Whether the store created the client (and closes it). */
  readonly #owned: boolean
  #connecting: Promise<unknown> | undefined
  #closed = false
  /** The last error the created client emitted, for messages. */
  #lastError: Error | undefined
  readonly #subscribers = new Set<StoreSubscriber>()
  #feed: Feed | undefined

  /**
   * @param options - exactly one of `client` and `url`; `prefix`, `commandTimeout`.
   * @throws TypeError on an invalid or unknown option.
   */
  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new TypeError('RedisStore options must be an object { client | url, prefix?, commandTimeout? }')
    }
    const unknown = Object.keys(options).filter((name) => !OPTION_NAMES.has(name))
    if (unknown.length > 0) {
      throw new TypeError(`RedisStore takes { client, url, prefix, commandTimeout } only (got ${unknown.join(', ')})`)
    }
    const { client, url, prefix = 'koa-jwt-kit:', commandTimeout = 2000 } = options
    if ((client === undefined) === (url === undefined)) {
      throw new TypeError('RedisStore takes exactly one of client and url')
    }
    if (url !== undefined && (typeof url !== 'string' || url === '')) {
      throw new TypeError('RedisStore url must be a non-empty string (redis://host:port)')
    }
    if (
      client !== undefined &&
      (typeof client !== 'object' ||
        client === null ||
        typeof client.sendCommand !== 'function' ||
        typeof client.connect !== 'function')
    ) {
      throw new TypeError('RedisStore client must be a node-redis client (createClient() from "redis")')
    }
    if (typeof prefix !== 'string') throw new TypeError('RedisStore prefix must be a string')
    if (!(typeof commandTimeout === 'number' && Number.isFinite(commandTimeout) && commandTimeout > 0)) {
      throw new TypeError('RedisStore commandTimeout must be a positive number of milliseconds')
    }
    this.prefix = prefix
    this.commandTimeout = commandTimeout
    if (client !== undefined) {
      this.#client = client
      this.#owned = false
    } else {
      // Loaded here, not at the top: importing koa-jwt-kit without Redis does not pay for the
      // client (about 150 ms of module loading).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createClient } = require('redis') as typeof Redis
      const created = createClient({
        url: url as string,
        disableOfflineQueue: true,
        socket: {
          connectTimeout: commandTimeout,
          // Keep trying in the background, at most a second apart; calls fail fast meanwhile.
          reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), 1000),
        },
      })
      // Without a listener an 'error' event would crash the process; calls report failures.
      created.on('error', (error: unknown) => {
        this.#lastError = error instanceof Error ? error : new Error(String(error))
      })
      this.#client = created as unknown as RedisClientLike
      this.#owned = true
    }
  }

  /** {@inheritDoc TokenStore.get} */
  async get(key: string): Promise<StoreValue | undefined> {
    this.#open()
    checkRedisKey(key)
    const raw = await this.#command(['GET', this.prefix + key])
    if (raw === null || raw === undefined) return undefined
    return (JSON.parse(String(raw)) as Stored).v
  }

  /** {@inheritDoc TokenStore.set} */
  async set(key: string, value: StoreValue, options: StoreSetOptions): Promise<void> {
    await this.#write('set', key, value, options, undefined)
  }

  /** {@inheritDoc TokenStore.setIfAbsent} */
  async setIfAbsent(key: string, value: StoreValue, options: StoreSetOptions): Promise<boolean> {
    return this.#write('nx', key, value, options, undefined)
  }

  /**
   * {@inheritDoc TokenStore.compareAndSet}
   *
   * Atomic on the server: the comparison (field by field, in any order, types included) and the
   * write run in one Lua script.
   */
  async compareAndSet(
    key: string,
    expected: StoreValue,
    value: StoreValue,
    options: StoreSetOptions,
  ): Promise<boolean> {
    this.#open()
    checkValue(expected, 'expected')
    return this.#write('cas', key, value, options, expected)
  }

  /** {@inheritDoc TokenStore.delete} */
  async delete(key: string): Promise<boolean> {
    this.#open()
    checkRedisKey(key)
    const reply = await this.#script(DELETE, [this.prefix + key], [this.prefix + INDEX])
    return Number(reply) === 1
  }

  /**
   * {@inheritDoc TokenStore.keysOfUser}
   *
   * Reads the user's index set in batches (SSCAN), skips the keys that expired or now belong to
   * someone else, and removes those from the set.
   */
  async *keysOfUser(userId: string): AsyncIterable<string> {
    this.#open()
    if (typeof userId !== 'string') throw new TypeError('userId must be a string')
    const index = this.prefix + INDEX + userId
    let cursor = '0'
    do {
      const [next, members] = (await this.#command(['SSCAN', index, cursor, 'COUNT', SCAN_COUNT])) as [
        unknown,
        unknown[],
      ]
      cursor = String(next)
      const keys = members.map(String)
      if (keys.length === 0) continue
      const values = (await this.#command(['MGET', ...keys])) as unknown[]
      const stale: string[] = []
      const live: string[] = []
      keys.forEach((fullKey, n) => {
        const raw = values[n]
        const owner = raw === null || raw === undefined ? undefined : (JSON.parse(String(raw)) as Stored).u
        if (owner === userId) live.push(fullKey.slice(this.prefix.length))
        else stale.push(fullKey)
      })
      // Lazy pruning. A key rewritten for this user meanwhile is added back by its own write
      // script only if SREM ran first; a race here at worst drops an entry of a key that is
      // written in the same instant, which its next write re-adds.
      if (stale.length > 0) await this.#command(['SREM', index, ...stale])
      for (const key of live) {
        this.#open()
        yield key
      }
      this.#open()
    } while (cursor !== '0')
  }

  /**
   * {@inheritDoc TokenStore.keys}
   *
   * SCAN with a MATCH pattern (the prefix taken literally) and `TYPE string`, which leaves out
   * the user index sets. Keys written during the scan may or may not be listed.
   */
  async *keys(prefix = ''): AsyncIterable<string> {
    this.#open()
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string')
    const pattern = `${escapeGlob(this.prefix + prefix)}*`
    let cursor = '0'
    do {
      const [next, keys] = (await this.#command([
        'SCAN',
        cursor,
        'MATCH',
        pattern,
        'COUNT',
        SCAN_COUNT,
        'TYPE',
        'string',
      ])) as [unknown, unknown[]]
      cursor = String(next)
      for (const fullKey of keys) {
        this.#open()
        yield String(fullKey).slice(this.prefix.length)
      }
      this.#open()
    } while (cursor !== '0')
  }

  /**
   * {@inheritDoc TokenStore.close}
   *
   * Closes the client the store created from `url` (waiting up to `commandTimeout` for commands
   * under way, then dropping the connection). A client given as `client` is left open: its owner
   * closes it. Later calls reject with "RedisStore is closed"; closing again resolves.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const feed = this.#feed
    this.#feed = undefined
    // Subscribers hear state(false) first: the store no longer delivers.
    await feed?.stop()
    this.#subscribers.clear()
    if (!this.#owned) return
    const client = this.#client as unknown as { isOpen: boolean; close(): Promise<void>; destroy(): void }
    if (!client.isOpen) return
    try {
      await this.#bounded(client.close(), 'close')
    } catch {
      if (client.isOpen) client.destroy()
    }
  }

  /**
   * {@inheritDoc TokenStore.publish}
   *
   * `PUBLISH` on the channel `<prefix>revocations`.
   */
  async publish(message: string): Promise<void> {
    if (typeof message !== 'string') throw new TypeError('A message must be a string')
    await this.#command(['PUBLISH', this.prefix + CHANNEL, message])
  }

  /**
   * {@inheritDoc TokenStore.subscribe}
   *
   * The subscribers of one store share one connection of their own (a `duplicate()` of the
   * client), made at the first `subscribe` and closed with the last unsubscribe or `close()`. It
   * reconnects by itself; node-redis subscribes again before it reports ready.
   */
  subscribe(subscriber: StoreSubscriber): () => Promise<void> {
    this.#open()
    this.#subscribers.add(subscriber)
    const feed = (this.#feed ??= startFeed(this.#client, this.prefix + CHANNEL, this.#subscribers))
    if (feed.live) queueMicrotask(() => this.#subscribers.has(subscriber) && subscriber.state(true))
    return async () => {
      if (!this.#subscribers.delete(subscriber) || this.#subscribers.size > 0) return
      const current = this.#feed
      this.#feed = undefined
      await current?.stop()
    }
  }

  #open(): void {
    if (this.#closed) throw new Error('RedisStore is closed')
  }

  async #write(
    mode: 'set' | 'nx' | 'cas',
    key: string,
    value: StoreValue,
    options: StoreSetOptions,
    expected: StoreValue | undefined,
  ): Promise<boolean> {
    this.#open()
    checkRedisKey(key)
    checkOptions(options)
    checkValue(value, 'value')
    const fullKey = this.prefix + key
    const { expiresAt, userId } = options
    // JSON.stringify copies: the caller changing its object later changes nothing stored.
    const stored = JSON.stringify(userId === undefined ? { v: value } : { v: value, u: userId })
    const index = this.prefix + INDEX
    const args = [
      mode,
      stored,
      expiresAt === null ? '' : pxat(expiresAt),
      userId === undefined ? '0' : '1',
      index,
      expected === undefined ? '' : JSON.stringify(expected),
    ]
    const keys = [fullKey, userId === undefined ? fullKey : index + userId]
    return Number(await this.#script(WRITE, keys, args)) === 1
  }

  /** Runs a script by its SHA, loading it (EVAL) on a server that does not have it yet. */
  async #script(script: Script, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args]
    try {
      return await this.#command(['EVALSHA', script.sha, ...tail])
    } catch (error) {
      if (!isNoScript(error)) throw error
      return this.#command(['EVAL', script.source, ...tail])
    }
  }

  /** Sends one command, connecting first if need be, rejecting after `commandTimeout`. */
  async #command(args: string[]): Promise<unknown> {
    this.#open()
    const client = this.#client
    if (!client.isReady) {
      if (this.#connecting === undefined && !client.isOpen) {
        const connecting = client.connect()
        this.#connecting = connecting
        // Settled: forgotten, so that a failed first connection is retried by a later call.
        const settled = (): void => {
          if (this.#connecting === connecting) this.#connecting = undefined
        }
        connecting.then(settled, settled)
      }
      if (this.#connecting !== undefined) {
        // Calls made while the first connection is under way wait for it (bounded).
        await this.#bounded(this.#connecting, 'connect')
        this.#open()
      } else if (this.#owned) {
        // Reconnecting in the background: fail at once rather than queue.
        throw new Error(`RedisStore: Redis is unreachable${this.#lastError ? ` (${this.#lastError.message})` : ''}`)
      }
    }
    return this.#bounded(client.sendCommand(args), args[0] as string)
  }

  /** A promise that rejects after `commandTimeout`, clearing its timer when settled first. */
  #bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`RedisStore: ${what} took more than ${this.commandTimeout} ms`)),
        this.commandTimeout,
      )
    })
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
  }
}
