import { expect } from 'chai'
import { createClient } from 'redis'

import { decodeMessage, encodeMessage, RevocationMirror, type Revocations } from '../../source/core/RevocationMirror'
import { newJti, TokenRegistry } from '../../source/core/TokenRegistry'
import type { JwtPayload } from '../../source/core/token'
import {
  MemoryStore,
  RedisStore,
  RevokedToken,
  StoreUnavailable,
  type ConfigurationInput,
  type RedisClientLike,
  type StoreSubscriber,
} from '../../source'
import { buildApp, makeClock } from '../helpers/app'
import { makeConfig } from '../helpers/parts'
import { startRedisServer, type RedisServer } from '../helpers/redis-server'
import { caught, caughtSync } from '../helpers/token-core'

const START = 1_700_000_000.25

/** The in-process pub/sub of {@link BroadcastingMemoryStore}s: what Redis is across processes. */
class Hub {
  readonly subscribers = new Set<StoreSubscriber>()
  live = true
  published: string[] = []
  failPublish = false
  publish(text: string): void {
    this.published.push(text)
    if (this.live) for (const subscriber of [...this.subscribers]) subscriber.message(text)
  }
  /** Cuts every subscription (messages are lost until {@link reconnect}). */
  cut(): void {
    this.live = false
    for (const subscriber of this.subscribers) subscriber.state(false)
  }
  reconnect(): void {
    this.live = true
    for (const subscriber of this.subscribers) subscriber.state(true)
  }
}

/** A MemoryStore that broadcasts through a hub, counting its reads. */
class BroadcastingMemoryStore extends MemoryStore {
  gets = 0
  constructor(
    readonly hub: Hub,
    clock: () => number,
  ) {
    super({ clock })
  }
  override get(key: string) {
    this.gets++
    return super.get(key)
  }
  async publish(message: string): Promise<void> {
    if (this.hub.failPublish) throw new Error('publish failed')
    this.hub.publish(message)
  }
  subscribe(subscriber: StoreSubscriber): () => Promise<void> {
    this.hub.subscribers.add(subscriber)
    if (this.hub.live) queueMicrotask(() => subscriber.state(true))
    return async () => {
      this.hub.subscribers.delete(subscriber)
    }
  }
}

/** Waits for pending promise callbacks (a load of a MemoryStore settles within a few turns). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('RevocationMirror', function () {
  describe('messages', function () {
    it('encodes and decodes the three kinds', function () {
      for (const message of [
        { t: 'token', jti: 'a', exp: 1_700_000_000.5 },
        { t: 'token', jti: 'b', exp: null },
        { t: 'unrevoke', jti: 'a' },
        { t: 'user', id: '42', before: 1_700_000_000.25 },
      ] as const) {
        expect(decodeMessage(encodeMessage(message))).to.deep.equal(message)
      }
    })

    it('ignores anything else on the channel', function () {
      for (const text of [
        '',
        'not json',
        'null',
        '42',
        '"token"',
        '[]',
        '{}',
        '{"t":"token","jti":1,"exp":null}',
        '{"t":"token","jti":"a"}',
        '{"t":"token","jti":"a","exp":"soon"}',
        '{"t":"user","id":"1","before":"yesterday"}',
        '{"t":"user","id":1,"before":1}',
        '{"t":"unrevoke"}',
        '{"t":"drop-everything"}',
      ]) {
        expect(decodeMessage(text), text).to.equal(undefined)
      }
    })
  })

  describe('rules', function () {
    function make(loaded: Partial<Revocations> = {}) {
      const time = makeClock(START)
      const hub = new Hub()
      const store = new BroadcastingMemoryStore(hub, time.clock)
      let loads = 0
      let load: () => Promise<Revocations> = async () => {
        loads++
        return { tokens: new Map(loaded.tokens ?? []), users: new Map(loaded.users ?? []) }
      }
      const mirror = new RevocationMirror(store, { load: () => load(), now: time.clock, retryDelay: 5 })
      return {
        time,
        hub,
        mirror,
        get loads() {
          return loads
        },
        setLoad(next: () => Promise<Revocations>) {
          load = async () => {
            loads++
            return next()
          }
        },
      }
    }

    it('does not answer before it is subscribed and loaded, then answers', async function () {
      const t = make()
      expect(t.mirror.state).to.equal('syncing')
      expect(t.mirror.check('a', '1', START)).to.equal(undefined)
      t.mirror.start()
      await settle()
      expect(t.mirror.state).to.equal('live')
      expect(t.mirror.check('a', '1', Math.floor(START))).to.equal(false)
    })

    it('refuses a revoked token until its mark expires, then forgets it', async function () {
      const t = make({ tokens: new Map([['gone', START + 10]]) })
      t.mirror.start()
      await settle()
      expect(t.mirror.check('gone', '1', START)).to.equal(true)
      t.time.now = START + 10
      expect(t.mirror.check('gone', '1', START)).to.equal(false)
      expect(t.mirror.size.tokens).to.equal(0)
    })

    it('refuses a token revoked without expiry for ever', async function () {
      const t = make({ tokens: new Map([['forever', null]]) })
      t.mirror.start()
      await settle()
      t.time.now = START + 10 ** 9
      expect(t.mirror.check('forever', '1', START)).to.equal(true)
    })

    describe("a user's cut-off", function () {
      const before = 1_700_000_100.5

      async function live() {
        const t = make({ users: new Map([['7', before]]) })
        t.mirror.start()
        await settle()
        return t
      }

      it('refuses a token issued in an earlier second', async function () {
        const t = await live()
        expect(t.mirror.check(newJti(), '7', 1_700_000_099)).to.equal(true)
        expect(t.mirror.check(newJti(), '7', 1_600_000_000)).to.equal(true)
      })

      it('accepts a token issued in a later second, and tokens of other users', async function () {
        const t = await live()
        expect(t.mirror.check(newJti(), '7', 1_700_000_101)).to.equal(false)
        expect(t.mirror.check(newJti(), '8', 1_700_000_000)).to.equal(false)
      })

      it('leaves a token issued in the same second to the store (only its record has the exact time)', async function () {
        const t = await live()
        expect(t.mirror.check(newJti(), '7', 1_700_000_100)).to.equal(undefined)
      })

      it('leaves a token without a numeric iat to the store', async function () {
        const t = await live()
        expect(t.mirror.check(newJti(), '7', undefined)).to.equal(undefined)
        expect(t.mirror.check(newJti(), '7', '1700000000')).to.equal(undefined)
      })

      it('only moves forward: an older cut-off arriving late changes nothing', async function () {
        const t = await live()
        t.mirror.apply({ t: 'user', id: '7', before: 1_700_000_000 })
        expect(t.mirror.check(newJti(), '7', 1_700_000_050)).to.equal(true)
        t.mirror.apply({ t: 'user', id: '7', before: 1_700_000_200.5 })
        expect(t.mirror.check(newJti(), '7', 1_700_000_150)).to.equal(true)
      })
    })

    it('applies revocations and unrevocations published after the load', async function () {
      const t = make()
      t.mirror.start()
      await settle()
      t.hub.publish(encodeMessage({ t: 'token', jti: 'x', exp: START + 60 }))
      expect(t.mirror.check('x', '1', START)).to.equal(true)
      t.hub.publish(encodeMessage({ t: 'unrevoke', jti: 'x' }))
      expect(t.mirror.check('x', '1', START)).to.equal(false)
      t.hub.publish('garbage')
      expect(t.mirror.state).to.equal('live')
    })

    it('keeps the messages that arrive during a load and applies them after it, in order', async function () {
      const t = make()
      let finish: (value: Revocations) => void = () => undefined
      t.setLoad(() => new Promise<Revocations>((resolve) => (finish = resolve)))
      t.mirror.start()
      await settle()
      expect(t.mirror.state).to.equal('syncing')
      t.hub.publish(encodeMessage({ t: 'token', jti: 'during', exp: START + 60 }))
      t.hub.publish(encodeMessage({ t: 'token', jti: 'lifted', exp: START + 60 }))
      t.hub.publish(encodeMessage({ t: 'unrevoke', jti: 'lifted' }))
      t.hub.publish(encodeMessage({ t: 'unrevoke', jti: 'loaded-then-lifted' }))
      expect(t.mirror.check('during', '1', START)).to.equal(undefined)
      // The load read the store before the last unrevocation was written.
      finish({ tokens: new Map([['loaded-then-lifted', START + 60], ['loaded', START + 60]]), users: new Map() })
      await settle()
      expect(t.mirror.state).to.equal('live')
      expect(t.mirror.check('during', '1', START)).to.equal(true)
      expect(t.mirror.check('lifted', '1', START)).to.equal(false)
      expect(t.mirror.check('loaded-then-lifted', '1', START)).to.equal(false)
      expect(t.mirror.check('loaded', '1', START)).to.equal(true)
    })

    it('stops answering when the subscription is lost, and loads everything again when it is back', async function () {
      const t = make()
      t.mirror.start()
      await settle()
      expect(t.loads).to.equal(1)
      t.hub.cut()
      expect(t.mirror.state).to.equal('down')
      expect(t.mirror.check('x', '1', START)).to.equal(undefined)
      // Missed while down; the next load finds it in the store.
      t.hub.publish(encodeMessage({ t: 'token', jti: 'missed', exp: START + 60 }))
      t.setLoad(async () => ({ tokens: new Map([['missed', START + 60]]), users: new Map() }))
      t.hub.reconnect()
      await settle()
      expect(t.loads).to.equal(2)
      expect(t.mirror.state).to.equal('live')
      expect(t.mirror.check('missed', '1', START)).to.equal(true)
    })

    it('drops a load that was under way when the subscription was lost', async function () {
      const t = make()
      let finish: (value: Revocations) => void = () => undefined
      t.setLoad(() => new Promise<Revocations>((resolve) => (finish = resolve)))
      t.mirror.start()
      await settle()
      t.hub.cut()
      finish({ tokens: new Map(), users: new Map() })
      await settle()
      expect(t.mirror.state).to.equal('down')
      expect(t.mirror.check('x', '1', START)).to.equal(undefined)
    })

    it('tries a failed load again, and answers once one succeeds', async function () {
      const t = make()
      let failures = 2
      t.setLoad(async () => {
        if (failures-- > 0) throw new Error('store down')
        return { tokens: new Map([['r', null]]), users: new Map() }
      })
      t.mirror.start()
      await settle()
      expect(t.mirror.state).to.equal('syncing')
      for (let i = 0; i < 50 && t.mirror.state !== 'live'; i++) await sleep(5)
      expect(t.loads).to.equal(3)
      expect(t.mirror.check('r', '1', START)).to.equal(true)
    })

    it('sweeps expired marks as the map grows', async function () {
      const t = make()
      t.mirror.start()
      await settle()
      for (let i = 0; i < 1000; i++) t.mirror.apply({ t: 'token', jti: `old-${i}`, exp: START + 1 })
      t.time.now = START + 2
      for (let i = 0; i < 1100; i++) t.mirror.apply({ t: 'token', jti: `new-${i}`, exp: START + 60 })
      expect(t.mirror.size.tokens).to.be.below(2100)
      expect(t.mirror.check('new-0', '1', START)).to.equal(true)
    })

    it('close() unsubscribes, forgets and no longer answers', async function () {
      const t = make({ tokens: new Map([['r', null]]) })
      t.mirror.start()
      await settle()
      await t.mirror.close()
      expect(t.hub.subscribers.size).to.equal(0)
      expect(t.mirror.state).to.equal('closed')
      expect(t.mirror.check('r', '1', START)).to.equal(undefined)
      t.hub.reconnect()
      await settle()
      expect(t.mirror.state).to.equal('closed')
    })
  })

  describe('TokenRegistry on a store that broadcasts', function () {
    function make(settings: ConfigurationInput = {}, hub = new Hub(), time = makeClock(START)) {
      const config = makeConfig({ clock: time.clock, revocationEnabled: true, ...settings })
      const store = new BroadcastingMemoryStore(hub, time.clock)
      const registry = new TokenRegistry(config, store, () => undefined)
      return { time, hub, store, registry }
    }

    /** Two processes: two registries on one store (the shared Redis) and one hub. */
    function pair(settings: ConfigurationInput = {}) {
      const a = make(settings)
      const config = makeConfig({ clock: a.time.clock, revocationEnabled: true, ...settings })
      const b = { ...a, registry: new TokenRegistry(config, a.store, () => undefined) }
      return { a, b }
    }

    function payload(time: { now: number }, userId = 1): JwtPayload {
      const iat = Math.floor(time.now)
      return { user_id: userId, iat, exp: iat + 1800, jti: newJti() }
    }

    const accepted = (registry: TokenRegistry, token: JwtPayload): Promise<void> =>
      Promise.resolve(registry.checkAccessNow(token))

    it('is live after start-up, and checks a request without reading the store', async function () {
      const { a } = pair()
      await settle()
      expect(a.registry.mirror).to.equal('live')
      const token = payload(a.time)
      await a.registry.recordAccess(token, {})
      const reads = a.store.gets
      for (let i = 0; i < 10; i++) expect(a.registry.checkAccessNow(token)).to.equal(undefined)
      expect(a.store.gets).to.equal(reads)
    })

    it('a revocation in one registry is refused by the other at once, without a read', async function () {
      const { a, b } = pair()
      await settle()
      const token = payload(a.time)
      await a.registry.recordAccess(token, {})
      await accepted(b.registry, token)
      await a.registry.revoke(token.jti as string)
      const reads = a.store.gets
      expect(caughtSync(() => b.registry.checkAccessNow(token))).to.be.instanceOf(RevokedToken)
      expect(a.store.gets).to.equal(reads)
    })

    it('writes the revoked:<jti> index beside the record, and removes it on unrevoke', async function () {
      const { a, b } = pair()
      await settle()
      const token = payload(a.time)
      await a.registry.recordAccess(token, {})
      await a.registry.revoke(token.jti as string)
      const mark = await a.store.get(`revoked:${token.jti}`)
      expect(mark).to.have.property('exp').that.is.a('number')
      await a.registry.unrevoke(token.jti as string)
      expect(await a.store.get(`revoked:${token.jti}`)).to.equal(undefined)
      await accepted(b.registry, token)
      expect(a.hub.published.map((text) => decodeMessage(text)?.t)).to.deep.equal(['token', 'unrevoke'])
    })

    it('a logout refuses the whole login in the other registry, refresh-family members included', async function () {
      const { a, b } = pair({ refreshTokenEnabled: true })
      await settle()
      const ctx = {}
      const token = payload(a.time)
      await a.registry.recordAccess(token, ctx)
      await a.registry.recordRefresh('refresh-token-of-the-login', 1, ctx)
      await a.registry.logout(token, false)
      expect(caughtSync(() => b.registry.checkAccessNow(token))).to.be.instanceOf(RevokedToken)
    })

    it('"log out everywhere" is one message, honoured by the other registry', async function () {
      const { a, b } = pair()
      await settle()
      const old = payload(a.time, 5)
      await a.registry.recordAccess(old, {})
      a.time.now = START + 10
      await a.registry.revokeUser(5)
      expect(caughtSync(() => b.registry.checkAccessNow(old))).to.be.instanceOf(RevokedToken)
      a.time.now = START + 20
      const later = payload(a.time, 5)
      await a.registry.recordAccess(later, {})
      const reads = a.store.gets
      expect(b.registry.checkAccessNow(later)).to.equal(undefined)
      expect(a.store.gets).to.equal(reads)
    })

    it('asks the store for a token issued in the same second as the cut-off, and judges it by its record', async function () {
      const { a, b } = pair()
      await settle()
      a.time.now = 1_700_000_100.2
      const before = payload(a.time, 9)
      await a.registry.recordAccess(before, {})
      a.time.now = 1_700_000_100.5
      await a.registry.revokeUser(9)
      a.time.now = 1_700_000_100.7
      const after = payload(a.time, 9)
      await a.registry.recordAccess(after, {})
      expect(before.iat).to.equal(after.iat)
      const reads = a.store.gets
      expect(await caught(() => b.registry.checkAccessNow(before))).to.be.instanceOf(RevokedToken)
      await accepted(b.registry, after)
      expect(a.store.gets).to.be.above(reads)
    })

    it('a registry started after the revocations loads them from the store', async function () {
      const first = make()
      await settle()
      const revoked = payload(first.time, 1)
      const kept = payload(first.time, 2)
      await first.registry.recordAccess(revoked, {})
      await first.registry.recordAccess(kept, {})
      await first.registry.revoke(revoked.jti as string)
      first.time.now = START + 30
      await first.registry.revokeUser(3)
      const old3 = { user_id: 3, iat: Math.floor(START), exp: Math.floor(START) + 1800, jti: newJti() }
      const config = makeConfig({ clock: first.time.clock, revocationEnabled: true })
      const late = new TokenRegistry(config, first.store, () => undefined)
      await settle()
      expect(late.mirror).to.equal('live')
      const reads = first.store.gets
      expect(caughtSync(() => late.checkAccessNow(revoked))).to.be.instanceOf(RevokedToken)
      expect(caughtSync(() => late.checkAccessNow(old3))).to.be.instanceOf(RevokedToken)
      expect(late.checkAccessNow(kept)).to.equal(undefined)
      expect(first.store.gets).to.equal(reads)
    })

    it('reads the store on each request while the subscription is down, and is live again after', async function () {
      const { a, b } = pair()
      await settle()
      const token = payload(a.time)
      await a.registry.recordAccess(token, {})
      a.hub.cut()
      expect(b.registry.mirror).to.equal('down')
      // Revoked while b hears nothing: b asks the store.
      await a.registry.revoke(token.jti as string)
      const reads = a.store.gets
      expect(await caught(() => b.registry.checkAccessNow(token))).to.be.instanceOf(RevokedToken)
      expect(a.store.gets).to.be.above(reads)
      a.hub.reconnect()
      await settle()
      expect(b.registry.mirror).to.equal('live')
      expect(caughtSync(() => b.registry.checkAccessNow(token))).to.be.instanceOf(RevokedToken)
    })

    it('a failed publish is StoreUnavailable, with the revocation stored (and applied here)', async function () {
      const { a, b } = pair()
      await settle()
      const token = payload(a.time)
      await a.registry.recordAccess(token, {})
      a.hub.failPublish = true
      expect(await caught(() => a.registry.revoke(token.jti as string))).to.be.instanceOf(StoreUnavailable)
      expect((await a.registry.get(token.jti as string))?.revoked).to.equal(true)
      expect(caughtSync(() => a.registry.checkAccessNow(token))).to.be.instanceOf(RevokedToken)
      // The other registry missed the message: it learns on its next load.
      a.hub.failPublish = false
      a.hub.cut()
      a.hub.reconnect()
      await settle()
      expect(caughtSync(() => b.registry.checkAccessNow(token))).to.be.instanceOf(RevokedToken)
    })

    it('revocationMirror: false keeps no mirror: every check reads the store', async function () {
      const t = make({ revocationMirror: false })
      await settle()
      expect(t.registry.mirror).to.equal('off')
      expect(t.hub.subscribers.size).to.equal(0)
      const token = payload(t.time)
      await t.registry.recordAccess(token, {})
      const reads = t.store.gets
      await accepted(t.registry, token)
      expect(t.store.gets).to.equal(reads + 2)
    })

    it('a store that does not broadcast has no mirror and no index', async function () {
      const time = makeClock(START)
      const store = new MemoryStore({ clock: time.clock })
      const registry = new TokenRegistry(makeConfig({ clock: time.clock, revocationEnabled: true }), store, () => undefined)
      expect(registry.mirror).to.equal('off')
      const token = payload(time)
      await registry.recordAccess(token, {})
      await registry.revoke(token.jti as string)
      const keys: string[] = []
      for await (const key of store.keys()) keys.push(key)
      expect(keys.filter((key) => key.startsWith('revoked:'))).to.deep.equal([])
    })

    it('close() ends the subscription', async function () {
      const t = make()
      await settle()
      await t.registry.close()
      expect(t.registry.mirror).to.equal('closed')
      expect(t.hub.subscribers.size).to.equal(0)
    })
  })

  describe('on a real redis-server (RedisStore)', function () {
    this.timeout(20_000)

    let server: RedisServer
    let run = 0
    const cleanups: Array<() => Promise<unknown>> = []

    before(async function () {
      server = await startRedisServer()
    })

    afterEach(async function () {
      await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
    })

    after(async function () {
      await server?.stop()
    })

    /** A RedisStore on its own client, counting the GET commands of that client. */
    function countingStore(prefix: string): { store: RedisStore; gets: () => number } {
      const client = createClient({ url: server.url, disableOfflineQueue: true })
      client.on('error', () => undefined)
      let gets = 0
      const send = client.sendCommand.bind(client) as (args: string[]) => Promise<unknown>
      ;(client as unknown as { sendCommand: (args: string[]) => Promise<unknown> }).sendCommand = (args) => {
        if (args[0] === 'GET') gets++
        return send(args)
      }
      const store = new RedisStore({ client: client as unknown as RedisClientLike, prefix })
      cleanups.push(async () => {
        await store.close()
        await client.close()
      })
      return { store, gets: () => gets }
    }

    function app(prefix: string, settings: ConfigurationInput = {}) {
      const counted = countingStore(prefix)
      const built = buildApp({ tokenStore: counted.store, ...settings })
      cleanups.push(() => built.jwt.tokens.close())
      return { ...built, ...counted }
    }

    async function untilLive(...apps: Array<{ jwt: { tokens: TokenRegistry } }>): Promise<void> {
      for (let i = 0; i < 200; i++) {
        if (apps.every((one) => one.jwt.tokens.mirror === 'live')) return
        await sleep(10)
      }
      throw new Error(`mirror not live: ${apps.map((one) => one.jwt.tokens.mirror).join(', ')}`)
    }

    it('a live mirror answers protected requests without a Redis GET', async function () {
      const a = app(`mirror:${++run}:`)
      await untilLive(a)
      const { access_token: token } = await a.login()
      const before = a.gets()
      for (let i = 0; i < 20; i++) await a.agent.get('/protected').set('Authorization', `Bearer ${token}`).expect(200)
      expect(a.gets() - before).to.equal(0)
    })

    it('revocationMirror: false reads Redis on every protected request (the lookup)', async function () {
      const a = app(`mirror:${++run}:`, { revocationMirror: false })
      await sleep(50)
      expect(a.jwt.tokens.mirror).to.equal('off')
      const { access_token: token } = await a.login()
      const before = a.gets()
      for (let i = 0; i < 5; i++) await a.agent.get('/protected').set('Authorization', `Bearer ${token}`).expect(200)
      expect(a.gets() - before).to.equal(10)
    })

    it('a token revoked through one instance is refused by another on the same prefix, without a GET', async function () {
      const prefix = `mirror:${++run}:`
      const a = app(prefix)
      const b = app(prefix)
      await untilLive(a, b)
      const { access_token: token } = await a.login()
      await b.agent.get('/protected').set('Authorization', `Bearer ${token}`).expect(200)
      expect(await a.jwt.tokens.revoke(token as string)).to.equal(true)
      const before = b.gets()
      let refused = false
      for (let i = 0; i < 50 && !refused; i++) {
        const response = await b.agent.get('/protected').set('Authorization', `Bearer ${token}`)
        if (response.status === 401) {
          expect(response.body).to.include({ exception: 'RevokedToken', code: 'ERR_JWT_REVOKED' })
          refused = true
        } else await sleep(2)
      }
      expect(refused).to.equal(true)
      expect(b.gets() - before).to.equal(0)
    })

    it('instances on other prefixes do not hear each other', async function () {
      const a = app(`mirror:${++run}:`)
      const b = app(`mirror:${++run}:`)
      await untilLive(a, b)
      await a.jwt.tokens.revokeUser(1)
      await sleep(50)
      const { access_token: token } = await b.login()
      await b.agent.get('/protected').set('Authorization', `Bearer ${token}`).expect(200)
    })

    it('loses its subscription when Redis drops it, asks Redis meanwhile, and is live again after', async function () {
      const prefix = `mirror:${++run}:`
      const a = app(prefix)
      const b = app(prefix)
      await untilLive(a, b)
      const { access_token: token } = await a.login()
      const states = new Set<string>()
      const watch = setInterval(() => states.add(b.jwt.tokens.mirror), 1)
      try {
        const admin = createClient({ url: server.url })
        await admin.connect()
        await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])
        await admin.close()
        await a.jwt.tokens.revoke(token as string)
        await b.agent.get('/protected').set('Authorization', `Bearer ${token}`).expect(401)
        await untilLive(a, b)
      } finally {
        clearInterval(watch)
      }
      expect([...states].some((state) => state === 'down' || state === 'syncing'), [...states].join()).to.equal(true)
      const before = b.gets()
      await b.agent.get('/protected').set('Authorization', `Bearer ${token}`).expect(401)
      expect(b.gets() - before).to.equal(0)
    })
  })
})
