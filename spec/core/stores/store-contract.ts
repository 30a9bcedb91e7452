/**
 * The behaviour every {@link TokenStore} must have, as mocha specs: `MemoryStore` runs them, and so
 * will any other store (Redis...). Only the interface is used here, never a store's own API.
 */
import { expect } from 'chai'

import type { StoreSetOptions, StoreValue, TokenStore } from '../../../source'

/**
 * The time a store is made with. `clock` answers `now`; with `controlsTime`, specs move time by
 * changing `now`. Without it, `now` is the real time and cannot be set.
 */
export interface ContractClock {
  now: number
  clock: () => number
}

/** How the contract drives a store. */
export interface ContractOptions {
  /**
   * Whether the store reads its time from the given clock (`MemoryStore({ clock })`). When true,
   * the expiry specs move the fake clock; when false (a store with its own clock, such as Redis),
   * they write entries that expire a second later and wait for it for real. @default true
   */
  readonly controlsTime?: boolean
}

/** Where the fake clock starts: a fixed time, so expiries in the specs read as plain numbers. */
const START = 1_700_000_000

/** How many calls the concurrency specs make at once. */
const CONCURRENT = 50

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Every item of an async iterable, sorted (stores list keys in no particular order). */
export async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const items: string[] = []
  for await (const item of iterable) items.push(item)
  return items.sort()
}

/** Whether a promise rejects (with an Error). */
async function rejects(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise
  } catch (error) {
    expect(error).to.be.instanceOf(Error)
    return true
  }
  return false
}

/**
 * Declares the specs every token store must pass.
 *
 * @param name - the describe title.
 * @param make - makes an empty store for one spec; a store that `controlsTime` reads `clock.clock`.
 * @param cleanup - runs after every spec with the store it made (closed, after the close specs).
 * @param options - see {@link ContractOptions}.
 */
export function describeTokenStore(
  name: string,
  make: (clock: ContractClock) => TokenStore | Promise<TokenStore>,
  cleanup?: (store: TokenStore) => Promise<void>,
  options: ContractOptions = {},
): void {
  const controlsTime = options.controlsTime ?? true

  describe(`${name} (TokenStore contract)`, function () {
    // Waiting for a real expiry takes over a second per spec.
    if (!controlsTime) this.timeout(10_000)

    let time: ContractClock
    let store: TokenStore

    beforeEach(async () => {
      if (controlsTime) {
        const fake = { now: START, clock: (): number => fake.now }
        time = fake
      } else {
        const real = (): number => Date.now() / 1000
        // No setter: a spec that tried to move real time would throw instead of passing silently.
        time = {
          get now() {
            return real()
          },
          clock: real,
        }
      }
      store = await make(time)
    })

    afterEach(async () => {
      if (cleanup !== undefined) await cleanup(store)
    })

    /** An expiry far enough ahead that no spec reaches it. */
    const later = (): number => time.clock() + 3600
    /** An expiry the specs pass with {@link pass}: a minute on the fake clock, a second for real. */
    const soon = (): number => time.clock() + (controlsTime ? 60 : 1)
    /** Lets time go past `expiresAt`: moves the fake clock, or waits. */
    const pass = async (expiresAt: number): Promise<void> => {
      if (controlsTime) {
        time.now = expiresAt + 1
        return
      }
      // A margin for a store whose clock runs a little behind ours (another host's).
      const wait = (expiresAt - time.clock()) * 1000 + 200
      if (wait > 0) await sleep(wait)
    }
    const until = (expiresAt: number | null, userId?: string): StoreSetOptions =>
      userId === undefined ? { expiresAt } : { expiresAt, userId }

    describe('get / set / delete', () => {
      it('answers undefined for a key never written', async () => {
        expect(await store.get('token:missing')).to.equal(undefined)
      })

      it('reads back a value equal to the one written, every kind of scalar included', async () => {
        const value = {
          jti: 'abc',
          userId: '42',
          issuedAt: 1_700_000_000.125,
          count: -3,
          zero: 0,
          revoked: true,
          other: false,
          family: null,
          empty: '',
          text: 'é ü 漢字 "quoted" \\ \n',
        }
        await store.set('token:abc', value, until(later()))
        expect(await store.get('token:abc')).to.deep.equal(value)
      })

      it('reads back an empty object', async () => {
        await store.set('token:empty', {}, until(later()))
        expect(await store.get('token:empty')).to.deep.equal({})
      })

      it('replaces the whole value on a second set (no merge)', async () => {
        await store.set('token:a', { a: 1, b: 2 }, until(later()))
        await store.set('token:a', { c: 3 }, until(later()))
        expect(await store.get('token:a')).to.deep.equal({ c: 3 })
      })

      it('keeps keys apart', async () => {
        await store.set('token:a', { n: 1 }, until(later()))
        await store.set('token:b', { n: 2 }, until(later()))
        expect(await store.get('token:a')).to.deep.equal({ n: 1 })
        expect(await store.get('token:b')).to.deep.equal({ n: 2 })
      })

      it('deletes a key: true when it held a value, false when it held none', async () => {
        await store.set('token:a', { n: 1 }, until(later()))
        expect(await store.delete('token:a')).to.equal(true)
        expect(await store.get('token:a')).to.equal(undefined)
        expect(await store.delete('token:a')).to.equal(false)
        expect(await store.delete('token:never')).to.equal(false)
      })

      it('writes a deleted key again', async () => {
        await store.set('token:a', { n: 1 }, until(later()))
        await store.delete('token:a')
        await store.set('token:a', { n: 2 }, until(later()))
        expect(await store.get('token:a')).to.deep.equal({ n: 2 })
      })
    })

    describe('expiry', () => {
      it('reads a value before its expiresAt and nothing after', async () => {
        const expiresAt = soon()
        await store.set('token:a', { n: 1 }, until(expiresAt))
        expect(await store.get('token:a')).to.deep.equal({ n: 1 })
        await pass(expiresAt)
        expect(await store.get('token:a')).to.equal(undefined)
      })

      it('keeps a value with expiresAt null while another expires', async () => {
        const expiresAt = soon()
        await store.set('token:forever', { n: 1 }, until(null))
        await store.set('token:short', { n: 2 }, until(expiresAt))
        await pass(expiresAt)
        if (controlsTime) time.now += 10 * 365 * 86_400
        expect(await store.get('token:forever')).to.deep.equal({ n: 1 })
        expect(await store.get('token:short')).to.equal(undefined)
      })

      it('takes the expiry of the latest write: later, earlier, or none', async () => {
        const expiresAt = soon()
        await store.set('token:longer', { n: 1 }, until(expiresAt))
        await store.set('token:longer', { n: 2 }, until(later()))
        await store.set('token:shorter', { n: 1 }, until(later()))
        await store.set('token:shorter', { n: 2 }, until(expiresAt))
        await store.set('token:none', { n: 1 }, until(expiresAt))
        await store.set('token:none', { n: 2 }, until(null))
        await pass(expiresAt)
        expect(await store.get('token:longer')).to.deep.equal({ n: 2 })
        expect(await store.get('token:shorter')).to.equal(undefined)
        expect(await store.get('token:none')).to.deep.equal({ n: 2 })
      })

      it('holds nothing for a value written with an expiresAt already past', async () => {
        await store.set('token:a', { n: 1 }, until(later()))
        await store.set('token:a', { n: 2 }, until(time.clock() - 10))
        expect(await store.get('token:a')).to.equal(undefined)
        expect(await collect(store.keys())).to.deep.equal([])
      })

      it('answers false when deleting an expired key', async () => {
        const expiresAt = soon()
        await store.set('token:a', { n: 1 }, until(expiresAt))
        await pass(expiresAt)
        expect(await store.delete('token:a')).to.equal(false)
      })
    })

    describe('setIfAbsent()', () => {
      it('writes an absent key and answers true', async () => {
        expect(await store.setIfAbsent('token:a', { n: 1 }, until(later()))).to.equal(true)
        expect(await store.get('token:a')).to.deep.equal({ n: 1 })
      })

      it('leaves a present key alone and answers false', async () => {
        await store.set('token:a', { n: 1 }, until(later(), 'u1'))
        expect(await store.setIfAbsent('token:a', { n: 2 }, until(null, 'u2'))).to.equal(false)
        expect(await store.get('token:a')).to.deep.equal({ n: 1 })
        expect(await collect(store.keysOfUser('u1'))).to.deep.equal(['token:a'])
        expect(await collect(store.keysOfUser('u2'))).to.deep.equal([])
      })

      it('writes over an expired key and answers true', async () => {
        const expiresAt = soon()
        await store.set('token:a', { n: 1 }, until(expiresAt))
        await pass(expiresAt)
        expect(await store.setIfAbsent('token:a', { n: 2 }, until(later()))).to.equal(true)
        expect(await store.get('token:a')).to.deep.equal({ n: 2 })
      })

      it('writes a deleted key and answers true', async () => {
        await store.set('token:a', { n: 1 }, until(later()))
        await store.delete('token:a')
        expect(await store.setIfAbsent('token:a', { n: 2 }, until(later()))).to.equal(true)
      })

      it('sets the expiry and the user of what it writes', async () => {
        const expiresAt = soon()
        await store.setIfAbsent('token:a', { n: 1 }, until(expiresAt, 'u1'))
        expect(await collect(store.keysOfUser('u1'))).to.deep.equal(['token:a'])
        await pass(expiresAt)
        expect(await store.get('token:a')).to.equal(undefined)
      })

      it(`lets exactly one of ${CONCURRENT} concurrent calls write`, async () => {
        const results = await Promise.all(
          Array.from({ length: CONCURRENT }, (_, n) => store.setIfAbsent('token:race', { n }, until(later()))),
        )
        const winners = results.flatMap((won, n) => (won ? [n] : []))
        expect(winners).to.have.length(1)
        expect(await store.get('token:race')).to.deep.equal({ n: winners[0] })
      })
    })

    describe('compareAndSet()', () => {
      const current: StoreValue = { jti: 'abc', revoked: false, retiredAt: null, issuedAt: 1_700_000_000.5 }

      it('replaces a value equal to the expected one and answers true', async () => {
        await store.set('token:a', current, until(later()))
        const next = { ...current, revoked: true }
        expect(await store.compareAndSet('token:a', current, next, until(later()))).to.equal(true)
        expect(await store.get('token:a')).to.deep.equal(next)
      })

      it('compares field by field, in any order', async () => {
        await store.set('token:a', { a: 1, b: 'two', c: null }, until(later()))
        const reordered = { c: null, b: 'two', a: 1 }
        expect(await store.compareAndSet('token:a', reordered, { d: 4 }, until(later()))).to.equal(true)
        expect(await store.get('token:a')).to.deep.equal({ d: 4 })
      })

      it('answers false and changes nothing when the value changed', async () => {
        await store.set('token:a', current, until(later()))
        await store.set('token:a', { ...current, revoked: true }, until(later()))
        expect(await store.compareAndSet('token:a', current, { n: 1 }, until(later()))).to.equal(false)
        expect(await store.get('token:a')).to.deep.equal({ ...current, revoked: true })
      })

      it('answers false for an expected value with fewer, more, or differently typed fields', async () => {
        await store.set('token:a', { a: 1, b: true }, until(later()))
        const attempts: StoreValue[] = [
          { a: 1 },
          { a: 1, b: true, c: null },
          { a: '1', b: true },
          { a: 1, b: 'true' },
          { a: 1, b: null },
          { a: 1, c: true },
          {},
        ]
        for (const expected of attempts) {
          const won = await store.compareAndSet('token:a', expected, { n: 1 }, until(later()))
          expect(won, JSON.stringify(expected)).to.equal(false)
        }
        expect(await store.get('token:a')).to.deep.equal({ a: 1, b: true })
      })

      it('answers false and writes nothing for a missing key', async () => {
        expect(await store.compareAndSet('token:a', current, { n: 1 }, until(later()))).to.equal(false)
        expect(await store.get('token:a')).to.equal(undefined)
        expect(await store.compareAndSet('token:a', {}, { n: 1 }, until(later()))).to.equal(false)
        expect(await store.get('token:a')).to.equal(undefined)
      })

      it('answers false and writes nothing for an expired key', async () => {
        const expiresAt = soon()
        await store.set('token:a', current, until(expiresAt))
        await pass(expiresAt)
        expect(await store.compareAndSet('token:a', current, { n: 1 }, until(later()))).to.equal(false)
        expect(await store.get('token:a')).to.equal(undefined)
      })

      it('sets the expiry and the user of what it writes', async () => {
        const expiresAt = soon()
        await store.set('token:a', current, until(null, 'u1'))
        expect(await store.compareAndSet('token:a', current, { n: 1 }, until(expiresAt, 'u2'))).to.equal(true)
        expect(await collect(store.keysOfUser('u1'))).to.deep.equal([])
        expect(await collect(store.keysOfUser('u2'))).to.deep.equal(['token:a'])
        await pass(expiresAt)
        expect(await store.get('token:a')).to.equal(undefined)
      })

      it(`lets exactly one of ${CONCURRENT} concurrent calls with the same expected value win`, async () => {
        await store.set('token:race', current, until(later()))
        const results = await Promise.all(
          Array.from({ length: CONCURRENT }, (_, n) =>
            store.compareAndSet('token:race', current, { ...current, replacedBy: `jti-${n}` }, until(later())),
          ),
        )
        const winners = results.flatMap((won, n) => (won ? [n] : []))
        expect(winners).to.have.length(1)
        expect(await store.get('token:race')).to.deep.equal({ ...current, replacedBy: `jti-${winners[0]}` })
      })
    })

    describe('keysOfUser()', () => {
      it('lists the keys written with the user id, and only those', async () => {
        await store.set('token:a', { n: 1 }, until(later(), 'u1'))
        await store.set('token:b', { n: 2 }, until(null, 'u1'))
        await store.set('token:c', { n: 3 }, until(later(), 'u2'))
        await store.set('token:d', { n: 4 }, until(later()))
        expect(await collect(store.keysOfUser('u1'))).to.deep.equal(['token:a', 'token:b'])
        expect(await collect(store.keysOfUser('u2'))).to.deep.equal(['token:c'])
        expect(await collect(store.keysOfUser('nobody'))).to.deep.equal([])
      })

      it('moves a key rewritten with another user id, and drops it when rewritten without one', async () => {
        await store.set('token:a', { n: 1 }, until(later(), 'u1'))
        await store.set('token:a', { n: 2 }, until(later(), 'u2'))
        expect(await collect(store.keysOfUser('u1'))).to.deep.equal([])
        expect(await collect(store.keysOfUser('u2'))).to.deep.equal(['token:a'])
        await store.set('token:a', { n: 3 }, until(later()))
        expect(await collect(store.keysOfUser('u2'))).to.deep.equal([])
      })

      it('forgets a deleted key', async () => {
        await store.set('token:a', { n: 1 }, until(later(), 'u1'))
        await store.set('token:b', { n: 2 }, until(later(), 'u1'))
        await store.delete('token:a')
        expect(await collect(store.keysOfUser('u1'))).to.deep.equal(['token:b'])
      })

      it('skips an expired key', async () => {
        const expiresAt = soon()
        await store.set('token:a', { n: 1 }, until(expiresAt, 'u1'))
        await store.set('token:b', { n: 2 }, until(later(), 'u1'))
        await pass(expiresAt)
        expect(await collect(store.keysOfUser('u1'))).to.deep.equal(['token:b'])
      })

      it('tells apart user ids that share a prefix', async () => {
        await store.set('token:a', { n: 1 }, until(later(), '1'))
        await store.set('token:b', { n: 2 }, until(later(), '12'))
        expect(await collect(store.keysOfUser('1'))).to.deep.equal(['token:a'])
      })
    })

    describe('keys()', () => {
      beforeEach(async () => {
        await store.set('token:a', { n: 1 }, until(later()))
        await store.set('token:b', { n: 2 }, until(null, 'u1'))
        await store.set('family:f', { n: 3 }, until(later()))
        await store.set('user:42', { n: 4 }, until(later()))
      })

      it('lists every key without a prefix', async () => {
        expect(await collect(store.keys())).to.deep.equal(['family:f', 'token:a', 'token:b', 'user:42'])
      })

      it('lists the keys starting with the prefix', async () => {
        expect(await collect(store.keys('token:'))).to.deep.equal(['token:a', 'token:b'])
        expect(await collect(store.keys('family:'))).to.deep.equal(['family:f'])
        expect(await collect(store.keys('token:a'))).to.deep.equal(['token:a'])
        expect(await collect(store.keys('nothing:'))).to.deep.equal([])
      })

      it('takes the prefix literally (no pattern characters)', async () => {
        await store.set('odd*[?]:x', { n: 5 }, until(later()))
        expect(await collect(store.keys('odd*[?]:'))).to.deep.equal(['odd*[?]:x'])
        expect(await collect(store.keys('*'))).to.deep.equal([])
        expect(await collect(store.keys('token:?'))).to.deep.equal([])
      })

      it('skips deleted and expired keys', async () => {
        const expiresAt = soon()
        await store.set('token:c', { n: 5 }, until(expiresAt))
        await store.delete('token:a')
        await pass(expiresAt)
        expect(await collect(store.keys('token:'))).to.deep.equal(['token:b'])
      })
    })

    describe('copies', () => {
      it('is not changed by the writer changing the object it wrote', async () => {
        const value: Record<string, string | number | boolean | null> = { n: 1 }
        await store.set('token:a', value, until(later()))
        value.n = 2
        value.extra = true
        expect(await store.get('token:a')).to.deep.equal({ n: 1 })

        const absent: Record<string, string | number | boolean | null> = { n: 1 }
        await store.setIfAbsent('token:b', absent, until(later()))
        absent.n = 2
        expect(await store.get('token:b')).to.deep.equal({ n: 1 })

        const next: Record<string, string | number | boolean | null> = { n: 3 }
        await store.compareAndSet('token:b', { n: 1 }, next, until(later()))
        next.n = 4
        expect(await store.get('token:b')).to.deep.equal({ n: 3 })
      })

      it('is not changed by a reader changing the object it read, which it may', async () => {
        await store.set('token:a', { n: 1 }, until(later()))
        const read = (await store.get('token:a')) as Record<string, unknown>
        read.n = 2
        read.extra = true
        delete read.n
        expect(await store.get('token:a')).to.deep.equal({ n: 1 })
      })
    })

    describe('close()', () => {
      it('resolves, and every later call rejects', async () => {
        await store.set('token:a', { n: 1 }, until(later(), 'u1'))
        await store.close()
        const calls: Record<string, () => Promise<unknown>> = {
          get: () => store.get('token:a'),
          set: () => store.set('token:b', { n: 1 }, until(later())),
          setIfAbsent: () => store.setIfAbsent('token:b', { n: 1 }, until(later())),
          compareAndSet: () => store.compareAndSet('token:a', { n: 1 }, { n: 2 }, until(later())),
          delete: () => store.delete('token:a'),
          keys: () => collect(store.keys()),
          keysOfUser: () => collect(store.keysOfUser('u1')),
        }
        for (const [method, call] of Object.entries(calls)) {
          expect(await rejects(call()), method).to.equal(true)
        }
      })
    })
  })
}
