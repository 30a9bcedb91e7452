import { expect } from 'chai'
import { createClient } from 'redis'

import { RedisStore } from '../../../source'
import type { RedisClientLike, StoreSubscriber, StoreValue, TokenStore } from '../../../source'
import { escapeGlob } from '../../../source/core/stores/RedisStore'
import { type RedisServer, startRedisServer } from '../../helpers/redis-server'
import { warningsDuring } from '../../helpers/warnings'
import { collect, describeTokenStore } from './store-contract'

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}

describe('RedisStore', function () {
  this.timeout(20_000)

  let server: RedisServer
  let run = 0
  const open: RedisStore[] = []
  /** A fresh prefix per store, so specs never see each other's keys. */
  const freshPrefix = (): string => `spec:${process.pid}:${++run}:`
  const make = (options: { prefix?: string; commandTimeout?: number } = {}): RedisStore => {
    const store = new RedisStore({ url: server.url, prefix: freshPrefix(), ...options })
    open.push(store)
    return store
  }

  before(async () => {
    server = await startRedisServer()
  })

  after(async () => {
    await Promise.all(open.map((store) => store.close()))
    await server?.stop()
  })

  describeTokenStore(
    'RedisStore',
    () => make(),
    async (store: TokenStore) => store.close(),
    { controlsTime: false },
  )

  describe('Redis layout', () => {
    it('stores JSON under the prefix, with a Redis expiry, and a user index set', async () => {
      const store = make()
      const raw = createClient({ url: server.url })
      await raw.connect()
      try {
        const expiresAt = Date.now() / 1000 + 100
        await store.set('token:a', { n: 1 }, { expiresAt, userId: 'u1' })
        expect(JSON.parse(String(await raw.get(`${store.prefix}token:a`)))).to.deep.equal({ v: { n: 1 }, u: 'u1' })
        const expiry = Number(await raw.pExpireTime(`${store.prefix}token:a`))
        expect(expiry).to.equal(Math.floor(expiresAt * 1000))
        expect(await raw.sMembers(`${store.prefix}user-index:u1`)).to.deep.equal([`${store.prefix}token:a`])
        expect(Number(await raw.pExpireTime(`${store.prefix}user-index:u1`))).to.equal(expiry)
        await store.set('token:b', { n: 2 }, { expiresAt: null, userId: 'u1' })
        expect(Number(await raw.pExpireTime(`${store.prefix}user-index:u1`))).to.equal(-1)
        await store.delete('token:a')
        await store.delete('token:b')
        expect(await raw.exists(`${store.prefix}user-index:u1`)).to.equal(0)
      } finally {
        raw.destroy()
      }
    })

    it('escapes glob characters of a prefix', () => {
      expect(escapeGlob('a*b?c[d]e\\f')).to.equal('a\\*b\\?c\\[d\\]e\\\\f')
    })

    it('refuses keys that would collide with the user index', async () => {
      const store = make()
      expect((await rejection(store.set('user-index:x', {}, { expiresAt: null }))).name).to.equal('TypeError')
    })
  })

  describe('shared state', () => {
    it('isolates two stores with different prefixes on one server', async () => {
      const first = make()
      const second = make()
      await first.set('token:a', { n: 1 }, { expiresAt: null, userId: 'u1' })
      expect(await second.get('token:a')).to.equal(undefined)
      expect(await collect(second.keys())).to.deep.equal([])
      expect(await collect(second.keysOfUser('u1'))).to.deep.equal([])
      expect(await collect(first.keys())).to.deep.equal(['token:a'])
    })

    it('keeps values for a new RedisStore on the same server and prefix', async () => {
      const prefix = freshPrefix()
      const first = make({ prefix })
      await first.set('token:a', { revoked: true }, { expiresAt: Date.now() / 1000 + 60, userId: 'u1' })
      await first.close()
      const second = make({ prefix })
      expect(await second.get('token:a')).to.deep.equal({ revoked: true })
      expect(await collect(second.keysOfUser('u1'))).to.deep.equal(['token:a'])
    })

    it('lets exactly one of 20 concurrent compareAndSet from two clients win', async () => {
      const prefix = freshPrefix()
      const first = make({ prefix })
      const second = make({ prefix })
      const current: StoreValue = { jti: 'abc', revoked: false }
      await first.set('family:f', current, { expiresAt: null })
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          (n % 2 === 0 ? first : second).compareAndSet('family:f', current, { ...current, n }, { expiresAt: null }),
        ),
      )
      const winners = results.flatMap((won, n) => (won ? [n] : []))
      expect(winners).to.have.length(1)
      expect(await second.get('family:f')).to.deep.equal({ ...current, n: winners[0] })
    })

    it('keysOfUser skips and prunes an index entry of a key now owned by someone else', async () => {
      const store = make()
      const raw = createClient({ url: server.url })
      await raw.connect()
      try {
        await store.set('token:a', { n: 1 }, { expiresAt: null, userId: 'u2' })
        // As if the key expired and was rewritten for u2 with u1's stale entry left behind.
        await raw.sAdd(`${store.prefix}user-index:u1`, `${store.prefix}token:a`)
        expect(await collect(store.keysOfUser('u1'))).to.deep.equal([])
        expect(await raw.exists(`${store.prefix}user-index:u1`)).to.equal(0)
        expect(await collect(store.keysOfUser('u2'))).to.deep.equal(['token:a'])
      } finally {
        raw.destroy()
      }
    })
  })

  describe('a given client', () => {
    it('connects a client that is not connected, and leaves it open on close()', async () => {
      const client = createClient({ url: server.url, disableOfflineQueue: true })
      client.on('error', () => undefined)
      const store = new RedisStore({ client: client as unknown as RedisClientLike, prefix: freshPrefix() })
      await store.set('token:a', { n: 1 }, { expiresAt: null })
      expect(await store.get('token:a')).to.deep.equal({ n: 1 })
      await store.close()
      expect(client.isOpen).to.equal(true)
      expect((await rejection(store.get('token:a'))).message).to.equal('RedisStore is closed')
      client.destroy()
    })
  })

  describe('an unreachable server', () => {
    it('makes every call reject within about commandTimeout, never hang', async () => {
      const own = await startRedisServer()
      const store = new RedisStore({ url: own.url, prefix: freshPrefix(), commandTimeout: 200 })
      open.push(store)
      const given = createClient({ url: own.url, socket: { reconnectStrategy: () => 100 } })
      given.on('error', () => undefined)
      const withClient = new RedisStore({ client: given as unknown as RedisClientLike, commandTimeout: 200 })
      try {
        await store.set('token:a', { n: 1 }, { expiresAt: null, userId: 'u1' })
        await withClient.get('token:a')
        await own.stop()
        for (const target of [store, withClient]) {
          const calls: Array<() => Promise<unknown>> = [
            () => target.get('token:a'),
            () => target.set('token:b', {}, { expiresAt: null }),
            () => target.setIfAbsent('token:b', {}, { expiresAt: null }),
            () => target.compareAndSet('token:a', { n: 1 }, {}, { expiresAt: null }),
            () => target.delete('token:a'),
            () => collect(target.keys()),
            () => collect(target.keysOfUser('u1')),
          ]
          for (const call of calls) {
            const started = Date.now()
            const error = await rejection(call())
            expect(error).to.be.instanceOf(Error)
            expect(Date.now() - started).to.be.below(600)
          }
        }
        const started = Date.now()
        await store.close()
        expect(Date.now() - started).to.be.below(600)
      } finally {
        await own.stop()
        given.destroy()
      }
    })
  })

  describe('a server never reached', () => {
    it('rejects calls within about commandTimeout, and close() resolves', async () => {
      const own = await startRedisServer()
      await own.stop()
      const store = new RedisStore({ url: own.url, commandTimeout: 200 })
      for (let n = 0; n < 3; n++) {
        const started = Date.now()
        expect(await rejection(store.get('token:a'))).to.be.instanceOf(Error)
        expect(Date.now() - started).to.be.below(600)
      }
      const started = Date.now()
      await store.close()
      expect(Date.now() - started).to.be.below(600)
    })
  })

  describe('a restarted server', () => {
    it('works again once the client has reconnected (the helper restarts on the same port)', async () => {
      const own = await startRedisServer()
      const store = new RedisStore({ url: own.url, commandTimeout: 200 })
      try {
        await store.set('token:a', { n: 1 }, { expiresAt: null })
        const pid = own.pid
        await own.restart()
        expect(own.pid).to.not.equal(pid)
        const deadline = Date.now() + 5000
        let value: unknown = 'unset'
        while (Date.now() < deadline) {
          try {
            // Nothing is saved: the restarted server is empty.
            value = await store.get('token:a')
            break
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50))
          }
        }
        expect(value).to.equal(undefined)
        await store.set('token:a', { n: 2 }, { expiresAt: null })
        expect(await store.get('token:a')).to.deep.equal({ n: 2 })
      } finally {
        await store.close()
        await own.stop()
      }
    })
  })

  describe('broadcast (publish / subscribe)', () => {
    /** A subscriber that records what it hears. */
    function listener() {
      const heard: string[] = []
      const states: boolean[] = []
      const subscriber: StoreSubscriber = {
        message: (text) => heard.push(text),
        state: (live) => states.push(live),
      }
      return { heard, states, subscriber }
    }

    async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
      const deadline = Date.now() + ms
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }

    it('delivers a message published by one store to the subscribers of every store on the prefix', async () => {
      const prefix = freshPrefix()
      const a = make({ prefix })
      const b = make({ prefix })
      const other = make()
      const [onA, onB, onOther] = [listener(), listener(), listener()]
      a.subscribe(onA.subscriber)
      b.subscribe(onB.subscriber)
      other.subscribe(onOther.subscriber)
      await until(() => onA.states.includes(true) && onB.states.includes(true) && onOther.states.includes(true), 'subscriptions')
      await a.publish('{"t":"user","id":"1","before":1}')
      await until(() => onA.heard.length === 1 && onB.heard.length === 1, 'delivery')
      expect(onB.heard).to.deep.equal(['{"t":"user","id":"1","before":1}'])
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(onOther.heard).to.deep.equal([])
    })

    it('shares one subscription between the subscribers of a store; a late one hears state(true) at once', async () => {
      const store = make()
      const first = listener()
      store.subscribe(first.subscriber)
      await until(() => first.states.includes(true), 'first subscription')
      const second = listener()
      const stop = store.subscribe(second.subscriber)
      await until(() => second.states.includes(true), 'second subscription')
      await stop()
      await store.publish('one')
      await until(() => first.heard.length === 1, 'delivery')
      expect(second.heard).to.deep.equal([])
    })

    it('reports false when the server goes away and true once it is back and subscribed again', async () => {
      const store = make({ commandTimeout: 300 })
      const heard = listener()
      store.subscribe(heard.subscriber)
      await until(() => heard.states.includes(true), 'subscription')
      await server.restart()
      await until(() => heard.states.lastIndexOf(false) > heard.states.indexOf(true), 'state(false)')
      await until(() => heard.states.at(-1) === true, 'state(true) again', 10_000)
      // Subscribed again: a message published now is heard.
      await until(
        () => {
          void store.publish('after restart').catch(() => undefined)
          return heard.heard.includes('after restart')
        },
        'a message after the restart',
        10_000,
      )
    })

    it('close() ends the subscription: state(false), nothing heard after', async () => {
      const prefix = freshPrefix()
      const store = make({ prefix })
      const publisher = make({ prefix })
      const heard = listener()
      store.subscribe(heard.subscriber)
      await until(() => heard.states.includes(true), 'subscription')
      await store.close()
      expect(heard.states.at(-1)).to.equal(false)
      await publisher.publish('late')
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(heard.heard).to.deep.equal([])
      expect(() => store.subscribe(listener().subscriber)).to.throw(/closed/)
    })

    it('refuses a message that is not text', async () => {
      const error = await rejection(make().publish(42 as never))
      expect(error).to.be.instanceOf(TypeError)
    })

    it('a client without duplicate() warns once and never reports live', async () => {
      const client = createClient({ url: server.url, disableOfflineQueue: true })
      client.on('error', () => undefined)
      const bare: RedisClientLike = {
        get isOpen() {
          return client.isOpen
        },
        get isReady() {
          return client.isReady
        },
        connect: () => client.connect(),
        sendCommand: (args) => client.sendCommand(args),
      }
      const store = new RedisStore({ client: bare, prefix: freshPrefix() })
      const heard = listener()
      const warnings = await warningsDuring(() => store.subscribe(heard.subscriber))
      expect(warnings.map((warning) => warning.code)).to.deep.equal(['KOA_JWT_STORE_NO_SUBSCRIBE'])
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(heard.states).to.deep.equal([])
      await store.close()
      if (client.isOpen) await client.close()
    })
  })

  describe('options', () => {
    it('takes exactly one of client and url', () => {
      expect(() => new RedisStore({})).to.throw(TypeError, /exactly one of client and url/)
      const client = createClient({ url: 'redis://127.0.0.1:1' }) as unknown as RedisClientLike
      expect(() => new RedisStore({ client, url: 'redis://127.0.0.1:1' })).to.throw(TypeError, /exactly one/)
    })

    it('refuses invalid and unknown options', () => {
      const url = 'redis://127.0.0.1:1'
      const cases: unknown[] = [
        null,
        'redis://x',
        { url: '' },
        { url, prefix: 3 },
        { url, commandTimeout: 0 },
        { url, commandTimeout: Number.NaN },
        { url, commandTimeout: '200' },
        { client: {} },
        { url, host: 'x' },
      ]
      for (const options of cases) {
        expect(() => new RedisStore(options as never), JSON.stringify(options)).to.throw(TypeError)
      }
    })

    it('defaults prefix and commandTimeout', () => {
      const store = new RedisStore({ url: 'redis://127.0.0.1:1' })
      expect(store.prefix).to.equal('koa-jwt-kit:')
      expect(store.commandTimeout).to.equal(2000)
    })
  })
})
