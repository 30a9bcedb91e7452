import { expect } from 'chai'

import { MemoryStore, type StoreSetOptions, type StoreValue } from '../../../source'
import { warningsDuring, withCode } from '../../helpers/warnings'
import { collect, describeTokenStore } from './store-contract'

describeTokenStore('MemoryStore', (time) => new MemoryStore({ clock: time.clock }))

const START = 1_700_000_000
const EVICTING = 'KOA_JWT_STORE_EVICTING'

/** A store on a fake clock: move `time.now` to move its time. */
function fakeStore(options: { maxEntries?: number } = {}): { store: MemoryStore; time: { now: number } } {
  const time = { now: START }
  return { store: new MemoryStore({ ...options, clock: () => time.now }), time }
}

/** Whether the call rejects, and with what. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the call to reject')
}

/** Runs `fn`, which evicts on purpose, capturing the warnings: how many eviction warnings came. */
async function evicting(fn: () => Promise<void>): Promise<number> {
  return withCode(await warningsDuring(fn), EVICTING).length
}

/** A deterministic pseudo-random generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

describe('MemoryStore', () => {
  describe('options', () => {
    it('defaults to 100 000 entries and the system clock', async () => {
      const store = new MemoryStore()
      expect(store.maxEntries).to.equal(100_000)
      expect(store.size).to.equal(0)
      const now = Date.now() / 1000
      await store.set('token:live', { n: 1 }, { expiresAt: now + 60 })
      await store.set('token:past', { n: 1 }, { expiresAt: now - 1 })
      expect(await store.get('token:live')).to.deep.equal({ n: 1 })
      expect(await store.get('token:past')).to.equal(undefined)
    })

    it('takes maxEntries and clock', () => {
      const store = new MemoryStore({ maxEntries: 5, clock: () => START })
      expect(store.maxEntries).to.equal(5)
    })

    for (const maxEntries of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', null, 2 ** 60]) {
      it(`refuses maxEntries ${String(maxEntries)} with a TypeError naming the option`, () => {
        expect(() => new MemoryStore({ maxEntries: maxEntries as number })).to.throw(TypeError, /maxEntries/)
      })
    }

    it('refuses a clock that is not a function', () => {
      expect(() => new MemoryStore({ clock: 5 as unknown as () => number })).to.throw(TypeError, /clock/)
    })

    it('refuses unknown options and a non-object', () => {
      expect(() => new MemoryStore({ maxEntrys: 5 } as never)).to.throw(TypeError, /maxEntrys/)
      expect(() => new MemoryStore(null as never)).to.throw(TypeError)
      expect(() => new MemoryStore([] as never)).to.throw(TypeError)
    })

    it('reads the clock on every call, never a cached time', async () => {
      const { store, time } = fakeStore()
      await store.set('token:a', { n: 1 }, { expiresAt: START + 10 })
      time.now = START + 9
      expect(await store.get('token:a')).to.deep.equal({ n: 1 })
      time.now = START + 11
      expect(await store.get('token:a')).to.equal(undefined)
    })
  })

  describe('expiry', () => {
    it('hides an entry from its expiresAt on, like a token from its exp', async () => {
      const { store, time } = fakeStore()
      await store.set('token:a', { n: 1 }, { expiresAt: START + 10.5, userId: 'u1' })
      time.now = START + 10.499
      expect(await store.get('token:a')).to.deep.equal({ n: 1 })
      time.now = START + 10.5
      expect(await store.get('token:a')).to.equal(undefined)
      expect(await collect(store.keysOfUser('u1'))).to.deep.equal([])
    })

    it('accepts a write whose expiresAt is now, holding nothing', async () => {
      const { store } = fakeStore()
      expect(await store.setIfAbsent('token:a', { n: 1 }, { expiresAt: START })).to.equal(true)
      expect(store.size).to.equal(0)
    })
  })

  describe('values', () => {
    const options: StoreSetOptions = { expiresAt: START + 60 }

    for (const [label, value] of [
      ['a nested object', { a: { b: 1 } }],
      ['an array field', { a: [1] }],
      ['undefined', { a: undefined }],
      ['NaN', { a: Number.NaN }],
      ['Infinity', { a: Number.POSITIVE_INFINITY }],
      ['a function', { a: () => 1 }],
      ['a bigint', { a: 1n }],
    ] as const) {
      it(`rejects a value holding ${label} with a TypeError naming the field`, async () => {
        const { store } = fakeStore()
        const error = await rejection(store.set('token:a', value as unknown as StoreValue, options))
        expect(error).to.be.instanceOf(TypeError)
        expect(error.message).to.match(/value\.a/)
        expect(store.size).to.equal(0)
      })
    }

    for (const value of [null, [], 'text', 1]) {
      it(`rejects ${JSON.stringify(value)} as a value`, async () => {
        const { store } = fakeStore()
        const bad = value as unknown as StoreValue
        expect(await rejection(store.set('token:a', bad, options))).to.be.instanceOf(TypeError)
        expect(await rejection(store.setIfAbsent('token:a', bad, options))).to.be.instanceOf(TypeError)
      })
    }

    it('refuses a bad value to compareAndSet even when the comparison fails', async () => {
      const { store } = fakeStore()
      const error = await rejection(store.compareAndSet('token:a', {}, { a: [] } as never, options))
      expect(error).to.be.instanceOf(TypeError)
      expect(await rejection(store.compareAndSet('token:a', null as never, {}, options))).to.be.instanceOf(TypeError)
    })

    it('rejects a bad expiresAt, userId or key with a TypeError', async () => {
      const { store } = fakeStore()
      for (const bad of [{}, { expiresAt: 'soon' }, { expiresAt: Number.NaN }, { expiresAt: Infinity }, null]) {
        const error = await rejection(store.set('token:a', {}, bad as never))
        expect(error, JSON.stringify(bad)).to.be.instanceOf(TypeError)
      }
      const numericUser = { expiresAt: null, userId: 42 as never }
      expect(await rejection(store.set('token:a', {}, numericUser))).to.be.instanceOf(TypeError)
      expect(await rejection(store.set(42 as never, {}, { expiresAt: null }))).to.be.instanceOf(TypeError)
      expect(await rejection(store.get(42 as never))).to.be.instanceOf(TypeError)
      expect(await rejection(collect(store.keys(42 as never)))).to.be.instanceOf(TypeError)
      expect(await rejection(collect(store.keysOfUser(42 as never)))).to.be.instanceOf(TypeError)
    })

    it('stores a __proto__ field as data, never as a prototype', async () => {
      const { store } = fakeStore()
      const value = JSON.parse('{"__proto__": "x", "n": 1}') as StoreValue
      await store.set('token:a', value, options)
      const read = (await store.get('token:a')) as Record<string, unknown>
      expect(Object.getPrototypeOf(read)).to.equal(Object.prototype)
      expect(Object.keys(read).sort()).to.deep.equal(['__proto__', 'n'])
      expect(await store.compareAndSet('token:a', value, { n: 2 }, options)).to.equal(true)
    })

    it('answers a new, extensible object on every read', async () => {
      const { store } = fakeStore()
      await store.set('token:a', { n: 1 }, options)
      const first = await store.get('token:a')
      const second = await store.get('token:a')
      expect(first).to.not.equal(second)
      expect(Object.isFrozen(first)).to.equal(false)
    })
  })

  describe('bounded size', () => {
    it('evicts the entry that expires soonest when a 4th key comes into 3', async () => {
      const warned = await evicting(async () => {
        const { store } = fakeStore({ maxEntries: 3 })
        await store.set('token:late', { n: 1 }, { expiresAt: START + 300 })
        await store.set('token:never', { n: 2 }, { expiresAt: null })
        await store.set('token:soon', { n: 3 }, { expiresAt: START + 100 })
        await store.set('token:new', { n: 4 }, { expiresAt: START + 200 })
        expect(store.size).to.equal(3)
        expect(await collect(store.keys())).to.deep.equal(['token:late', 'token:never', 'token:new'])
        await store.set('token:newer', { n: 5 }, { expiresAt: START + 400 })
        expect(await collect(store.keys())).to.deep.equal(['token:late', 'token:never', 'token:newer'])
      })
      expect(warned).to.equal(1)
    })

    it('evicts entries without expiry last, and the written entry always lands', async () => {
      const warned = await evicting(async () => {
        const { store } = fakeStore({ maxEntries: 3 })
        await store.set('token:n1', { n: 1 }, { expiresAt: null })
        await store.set('token:n2', { n: 2 }, { expiresAt: null })
        await store.set('token:far', { n: 3 }, { expiresAt: START + 10_000 })
        // Expires before every held entry, yet held: a write the store answered must be readable.
        await store.set('token:short', { n: 4 }, { expiresAt: START + 1 })
        expect(await collect(store.keys())).to.deep.equal(['token:n1', 'token:n2', 'token:short'])
        await store.set('token:n3', { n: 5 }, { expiresAt: null })
        expect(await collect(store.keys())).to.deep.equal(['token:n1', 'token:n2', 'token:n3'])
        await store.set('token:n4', { n: 6 }, { expiresAt: null })
        expect(store.size).to.equal(3)
        expect(await store.get('token:n4')).to.deep.equal({ n: 6 })
      })
      expect(warned).to.equal(1)
    })

    it('evicts expired entries first, without a warning', async () => {
      const { store, time } = fakeStore({ maxEntries: 3 })
      const warnings = await warningsDuring(async () => {
        await store.set('token:late', { n: 1 }, { expiresAt: START + 100 })
        await store.set('token:gone', { n: 2 }, { expiresAt: START + 5 })
        await store.set('token:never', { n: 3 }, { expiresAt: null })
        time.now = START + 10
        await store.set('token:new', { n: 4 }, { expiresAt: START + 50 })
      })
      expect(await collect(store.keys())).to.deep.equal(['token:late', 'token:never', 'token:new'])
      expect(withCode(warnings, EVICTING)).to.deep.equal([])
    })

    it('evicts nothing for a rewrite of a held key or a write already expired', async () => {
      const { store } = fakeStore({ maxEntries: 2 })
      await store.set('token:a', { n: 1 }, { expiresAt: START + 10 })
      await store.set('token:b', { n: 2 }, { expiresAt: START + 20 })
      await store.set('token:b', { n: 3 }, { expiresAt: START + 5 })
      await store.setIfAbsent('token:c', { n: 4 }, { expiresAt: START - 1 })
      await store.set('token:c', { n: 4 }, { expiresAt: START - 1 })
      expect(await store.get('token:a')).to.deep.equal({ n: 1 })
      expect(await store.get('token:b')).to.deep.equal({ n: 3 })
      expect(store.size).to.equal(2)
    })

    it('evicts in expiry order after rewrites and deletes have moved entries around', async () => {
      const warned = await evicting(async () => {
        const next = random(20)
        const { store } = fakeStore({ maxEntries: 100 })
        const expiries = new Map<string, number>()
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < 100; i++) {
            const key = `token:${i}`
            // Distinct expiries, so exactly one order is right.
            const expiresAt = START + 1 + next() * 1e6
            if (next() < 0.1) {
              await store.delete(key)
              expiries.delete(key)
            } else {
              await store.set(key, { i }, { expiresAt })
              expiries.set(key, expiresAt)
            }
          }
        }
        const order = [...expiries].sort((a, b) => a[1] - b[1]).map(([key]) => key)
        // Fill up with entries that never expire, so none of them is evicted before the old ones.
        let fresh = 0
        while (store.size < 100) await store.set(`fresh:${fresh++}`, {}, { expiresAt: null })
        for (const expected of order) {
          expect(await store.get(expected), expected).to.not.equal(undefined)
          await store.set(`fresh:${fresh++}`, {}, { expiresAt: null })
          expect(await store.get(expected), expected).to.equal(undefined)
        }
        expect(await collect(store.keys('token:'))).to.deep.equal([])
      })
      expect(warned).to.equal(1)
    })

    it('stays at maxEntries through 200 000 writes with random expiries (no O(n) work per write)', async function () {
      // Speed targets belong in the benchmarks: this only catches a write that scans the store,
      // which would take minutes here.
      this.timeout(30_000)
      const warned = await evicting(async () => {
        const next = random(7)
        const { store, time } = fakeStore({ maxEntries: 10_000 })
        let peak = 0
        for (let i = 0; i < 200_000; i++) {
          time.now = START + i / 100
          const expiresAt = next() < 0.05 ? null : time.now + next() * 3600
          await store.set(`token:${i}`, { i }, { expiresAt, userId: `u${i % 1000}` })
          peak = Math.max(peak, store.size)
        }
        expect(peak).to.equal(10_000)
        expect(await store.get('token:199999')).to.deep.equal({ i: 199_999 })
      })
      expect(warned).to.equal(1)
    })
  })

  describe('eviction warning', () => {
    it('warns once per store when it starts evicting unexpired entries', async () => {
      const { store } = fakeStore({ maxEntries: 2 })
      const warnings = await warningsDuring(async () => {
        for (let i = 0; i < 10; i++) await store.set(`token:${i}`, { i }, { expiresAt: START + 100 + i })
      })
      const evicting = withCode(warnings, EVICTING)
      expect(evicting).to.have.length(1)
      expect(evicting[0]?.name).to.equal('KoaJwtKitWarning')
      expect(evicting[0]?.message).to.match(/maxEntries 2\b/)
      expect(evicting[0]?.message).to.match(/revocations may be forgotten/)
      expect(evicting[0]?.message).to.match(/Raise maxEntries/)
    })

    it('does not warn before the store is full, and warns again for another store', async () => {
      const first = fakeStore({ maxEntries: 3 }).store
      const second = fakeStore({ maxEntries: 4 }).store
      const warnings = await warningsDuring(async () => {
        for (let i = 0; i < 3; i++) await first.set(`token:${i}`, {}, { expiresAt: null })
        for (let i = 0; i < 4; i++) await second.set(`token:${i}`, {}, { expiresAt: null })
      })
      expect(withCode(warnings, EVICTING)).to.deep.equal([])
      const later = await warningsDuring(async () => {
        await first.set('token:x', {}, { expiresAt: null })
        await second.set('token:x', {}, { expiresAt: null })
        await second.set('token:y', {}, { expiresAt: null })
      })
      const sizes = withCode(later, EVICTING).map((warning) => warning.message.match(/maxEntries \d+/)?.[0])
      expect(sizes).to.deep.equal(['maxEntries 3', 'maxEntries 4'])
    })
  })

  describe('no timers', () => {
    it('leaves no active handle, timer or immediate behind its writes, reads and listings', async () => {
      // After one turn: mocha arms this spec's timeout timer once the spec has returned its promise.
      await Promise.resolve()
      const before = process.getActiveResourcesInfo().sort()
      // An unref'd timer is not an active resource but still runs in the background: count the
      // calls too (through to the real functions, so nothing else changes).
      const scheduled: string[] = []
      const originals = { setTimeout, setInterval, setImmediate }
      for (const name of ['setTimeout', 'setInterval', 'setImmediate'] as const) {
        const original = originals[name] as (...args: unknown[]) => unknown
        ;(globalThis as Record<string, unknown>)[name] = (...args: unknown[]) => {
          scheduled.push(name)
          return original(...args)
        }
      }
      let warned = 0
      try {
        const store = new MemoryStore({ maxEntries: 500 })
        const now = Date.now() / 1000
        // Full, so evictions and their warning (a nextTick, not a timer) happen too.
        warned = await evicting(async () => {
          for (let i = 0; i < 1000; i++) {
            await store.set(`token:${i}`, { i }, { expiresAt: now + 0.001 * i, userId: 'u1' })
            await store.setIfAbsent(`family:${i}`, { i }, { expiresAt: now + 3600 })
            await store.compareAndSet(`family:${i}`, { i }, { i: -i }, { expiresAt: null })
          }
          await store.get('token:1')
          await store.delete('token:2')
          await collect(store.keysOfUser('u1'))
          await collect(store.keys())
          // warningsDuring waits with a setImmediate of its own: stop counting before it.
          Object.assign(globalThis, originals)
        })
      } finally {
        Object.assign(globalThis, originals)
      }
      expect(warned).to.equal(1)
      expect(scheduled).to.deep.equal([])
      expect(process.getActiveResourcesInfo().sort()).to.deep.equal(before)
    })
  })

  describe('lazy sweep', () => {
    it('counts expired entries in size until something drops them', async () => {
      const { store, time } = fakeStore()
      for (let i = 0; i < 5; i++) await store.set(`token:${i}`, {}, { expiresAt: START + 10 })
      time.now = START + 20
      expect(store.size).to.equal(5)
    })

    it('drops an expired entry that a read, a delete or a setIfAbsent touches', async () => {
      const { store, time } = fakeStore()
      for (let i = 0; i < 3; i++) await store.set(`token:${i}`, {}, { expiresAt: START + 10, userId: 'u1' })
      time.now = START + 20
      await store.get('token:0')
      expect(store.size).to.equal(2)
      expect(await store.delete('token:1')).to.equal(false)
      expect(store.size).to.equal(1)
      expect(await store.compareAndSet('token:2', {}, {}, { expiresAt: null })).to.equal(false)
      expect(store.size).to.equal(0)
    })

    it('drops the expired entries a listing passes', async () => {
      const { store, time } = fakeStore()
      for (let i = 0; i < 3; i++) await store.set(`token:${i}`, {}, { expiresAt: START + 10, userId: 'u1' })
      for (let i = 0; i < 3; i++) await store.set(`family:${i}`, {}, { expiresAt: START + 10 })
      await store.set('token:live', {}, { expiresAt: null })
      time.now = START + 20
      expect(await collect(store.keysOfUser('u1'))).to.deep.equal([])
      expect(store.size).to.equal(4)
      expect(await collect(store.keys())).to.deep.equal(['token:live'])
      expect(store.size).to.equal(1)
    })

    it('sweeps expired entries on writes, a bounded number per write', async () => {
      const { store, time } = fakeStore()
      for (let i = 0; i < 100; i++) await store.set(`old:${i}`, {}, { expiresAt: START + 10 + i, userId: 'u1' })
      await store.set('live', {}, { expiresAt: null })
      time.now = START + 1000
      await store.set('new:0', {}, { expiresAt: null })
      // Shrank, but not all at once: a write's cost does not grow with the backlog.
      expect(store.size).to.be.below(102).and.above(2)
      for (let i = 1; i < 100; i++) await store.set(`new:${i}`, {}, { expiresAt: null })
      expect(store.size).to.equal(101)
      expect(await collect(store.keys('old:'))).to.deep.equal([])
    })
  })

  describe('close()', () => {
    it('empties the store; later calls reject with "MemoryStore is closed"; close again resolves', async () => {
      const { store } = fakeStore()
      await store.set('token:a', {}, { expiresAt: null, userId: 'u1' })
      await store.close()
      expect(store.size).to.equal(0)
      const error = await rejection(store.get('token:a'))
      expect(error.message).to.equal('MemoryStore is closed')
      expect((await rejection(collect(store.keys()))).message).to.equal('MemoryStore is closed')
      await store.close()
    })

    it('stops a listing that was under way', async () => {
      const { store } = fakeStore()
      for (let i = 0; i < 3; i++) await store.set(`token:${i}`, {}, { expiresAt: null })
      const iterator = store.keys()[Symbol.asyncIterator]()
      expect((await iterator.next()).done).to.equal(false)
      await store.close()
      expect((await rejection(iterator.next())).message).to.equal('MemoryStore is closed')
    })
  })

  describe('against a model', () => {
    it('answers like a plain map with expiry through random operations', async () => {
      const next = random(42)
      const { store, time } = fakeStore()
      const model = new Map<string, { value: StoreValue; expiresAt: number | null; userId: string | undefined }>()
      const liveModel = (key: string): StoreValue | undefined => {
        const held = model.get(key)
        if (held === undefined) return undefined
        if (held.expiresAt !== null && held.expiresAt <= time.now) return undefined
        return held.value
      }
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T
      for (let step = 0; step < 5000; step++) {
        const key = `k:${Math.floor(next() * 60)}`
        const value = { v: Math.floor(next() * 3) }
        const expiresAt = next() < 0.2 ? null : time.now + next() * 100 - 5
        const userId = pick([undefined, 'u1', 'u2', 'u3'])
        const options: StoreSetOptions = userId === undefined ? { expiresAt } : { expiresAt, userId }
        const write = (): void => {
          model.set(key, { value, expiresAt, userId })
        }
        const op = next()
        if (op < 0.3) {
          await store.set(key, value, options)
          write()
        } else if (op < 0.45) {
          const absent = liveModel(key) === undefined
          expect(await store.setIfAbsent(key, value, options)).to.equal(absent)
          if (absent) write()
        } else if (op < 0.6) {
          const expected = { v: Math.floor(next() * 3) }
          const held = liveModel(key)
          const match = held !== undefined && held.v === expected.v
          expect(await store.compareAndSet(key, expected, value, options)).to.equal(match)
          if (match) write()
        } else if (op < 0.7) {
          const held = liveModel(key) !== undefined
          expect(await store.delete(key)).to.equal(held)
          model.delete(key)
        } else if (op < 0.9) {
          expect(await store.get(key)).to.deep.equal(liveModel(key))
        } else {
          time.now += next() * 20
        }
        if (step % 250 === 0) {
          const live = [...model.keys()].filter((name) => liveModel(name) !== undefined)
          expect(await collect(store.keys())).to.deep.equal(live.sort())
          for (const user of ['u1', 'u2', 'u3']) {
            const mine = live.filter((name) => model.get(name)?.userId === user)
            expect(await collect(store.keysOfUser(user))).to.deep.equal(mine.sort())
          }
        }
      }
    })
  })
})
