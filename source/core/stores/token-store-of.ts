/**
 * Which token store an instance uses, decided once at start-up. No Koa in here.
 */
import type { Configuration } from '../../Configuration'
import { InvalidConfiguration } from '../../errors'
import { MemoryStore } from './MemoryStore'
import type { TokenStore } from './TokenStore'

const STORE_METHODS = ['get', 'set', 'setIfAbsent', 'compareAndSet', 'delete', 'keysOfUser', 'keys', 'close'] as const

/**
 * The token store of an instance: the `tokenStore` option (which turns revocation on unless the
 * setting says otherwise), a `MemoryStore` on the instance's clock when revocation is on without
 * one, else none.
 *
 * @throws InvalidConfiguration for a `tokenStore` that is not a store, or a `storeTimeout` of 0.
 * @internal
 */
export function tokenStoreOf(config: Configuration, store: unknown): TokenStore | undefined {
  if (store !== undefined) {
    const candidate = store as Record<string, unknown> | null
    const missing = STORE_METHODS.filter((name) => typeof candidate?.[name] !== 'function')
    if (typeof store !== 'object' || store === null || missing.length > 0) {
      throw new InvalidConfiguration(`the "tokenStore" option must be a TokenStore (missing: ${missing.join(', ')}).`)
    }
    if (!config.isExplicit('revocationEnabled')) config.set('revocationEnabled', true)
  }
  if (!config.get('revocationEnabled')) return undefined
  if (!(config.get('storeTimeout') > 0)) {
    throw new InvalidConfiguration('the "storeTimeout" setting must be more than 0 seconds.')
  }
  return (store as TokenStore | undefined) ?? new MemoryStore({ clock: () => config.get('clock')() })
}
