/**
 * The subscription of a RedisStore to its channel: one connection of its own (a `duplicate()` of
 * the store's client) shared by every subscriber of the store, reporting when delivery starts and
 * stops. No Koa in here.
 */
import { warnOnce } from '../warnings'
import type { StoreSubscriber } from './TokenStore'

/** What the feed uses of the subscribing client (a node-redis client, v4 to v6). */
interface SubscriberLike {
  readonly isOpen: boolean
  connect(): Promise<unknown>
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>
  on(event: string, listener: (...args: unknown[]) => void): unknown
  destroy?(): void
  disconnect?(): Promise<unknown>
}

/** The subscription of a store: one connection for every subscriber of the store. */
export interface Feed {
  /** Whether messages are delivered now. */
  live: boolean
  /** Closes the connection; the subscribers hear `state(false)`. */
  stop(): Promise<void>
}

/** Milliseconds between two attempts at subscribing. */
const SUBSCRIBE_RETRY = 500

/**
 * Subscribes a duplicate of `base` to `channel`, delivering to every member of `subscribers` (read
 * at each delivery: members may come and go). Never throws: failures are retried and reported as
 * `state(false)`.
 */
export function startFeed(base: { duplicate?(): unknown }, channel: string, subscribers: ReadonlySet<StoreSubscriber>): Feed {
  if (typeof base.duplicate !== 'function') {
    warnOnce(
      'KOA_JWT_STORE_NO_SUBSCRIBE',
      'RedisStore: the client has no duplicate(), so the store cannot subscribe to revocations: every request asks Redis. Give a node-redis client.',
    )
    return { live: false, stop: async () => undefined }
  }
  const client = base.duplicate() as SubscriberLike
  let subscribed = false
  let stopped = false
  let retry: NodeJS.Timeout | undefined
  const feed: Feed = {
    live: false,
    stop: async () => {
      stopped = true
      clearTimeout(retry)
      report(false)
      if (typeof client.destroy === 'function') client.destroy()
      else await client.disconnect?.().catch(() => undefined)
    },
  }
  const report = (live: boolean): void => {
    if (feed.live === live || (live && stopped)) return
    feed.live = live
    for (const subscriber of [...subscribers]) subscriber.state(live)
  }
  const deliver = (message: string): void => {
    for (const subscriber of [...subscribers]) subscriber.message(message)
  }
  // Without an 'error' listener a lost connection would crash the process.
  client.on('error', () => report(false))
  client.on('reconnecting', () => report(false))
  client.on('end', () => report(false))
  // After a reconnection, node-redis has subscribed again when it says ready.
  client.on('ready', () => subscribed && report(true))
  const begin = async (): Promise<void> => {
    if (stopped) return
    try {
      if (!client.isOpen) await client.connect()
      await client.subscribe(channel, deliver)
      subscribed = true
      report(true)
    } catch {
      report(false)
      if (stopped) return
      retry = setTimeout(() => void begin(), SUBSCRIBE_RETRY)
      retry.unref()
    }
  }
  void begin()
  return feed
}
