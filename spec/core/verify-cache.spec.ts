import { createSecretKey, type KeyObject } from 'node:crypto'

import { expect } from 'chai'

import { KEY_LENGTH, cacheKey } from '../../source/core/verify-cache'
import { VerifyCache, deepFreeze, type JwtPayload } from '../../source'

const NOW = 1_700_000_000
const LEEWAY = 180
const ALG = 'HS256'

/** A fresh secret KeyObject (a distinct object on every call, even for the same bytes). */
function key(secret = 'a-test-secret-that-is-long-enough'): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'))
}

/** A JWT-shaped string; the cache treats it as opaque bytes. */
function token(id: string): string {
  const body = Buffer.from(JSON.stringify({ id })).toString('base64url')
  return `eyJhbGciOiJIUzI1NiJ9.${body}.sig-${id}`
}

/** A payload valid for an hour from NOW. */
function payload(extra: JwtPayload = {}): JwtPayload {
  return { user_id: 1, iat: NOW, exp: NOW + 3600, ...extra }
}

describe('VerifyCache', () => {
  let k: KeyObject
  beforeEach(() => {
    k = key()
  })

  describe('constructor', () => {
    it('defaults to 1000 entries and a 600 s ttl', () => {
      const cache = new VerifyCache()
      expect(cache.max).to.equal(1000)
      expect(cache.ttl).to.equal(600)
      expect(cache.size).to.equal(0)
    })

    it('keeps the given max and ttl', () => {
      const cache = new VerifyCache({ max: 3, ttl: 30 })
      expect(cache.max).to.equal(3)
      expect(cache.ttl).to.equal(30)
    })

    for (const max of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      it(`throws a TypeError when max is ${max}`, () => {
        expect(() => new VerifyCache({ max })).to.throw(TypeError, /max/)
      })
    }

    for (const ttl of [0, -1, Number.NaN]) {
      it(`throws a TypeError when ttl is ${ttl}`, () => {
        expect(() => new VerifyCache({ ttl })).to.throw(TypeError, /ttl/)
      })
    }
  })

  describe('#get()', () => {
    it('returns the stored payload for the same token, key object and algorithm', () => {
      const cache = new VerifyCache()
      const verified = payload()
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(verified)
      expect(cache.get(token('a'), k, ALG, NOW + 10)).to.equal(verified)
    })

    it('returns undefined for an unknown token', () => {
      const cache = new VerifyCache()
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
    })

    it('misses for a token that differs in one character, and keeps the original entry', () => {
      const cache = new VerifyCache()
      const original = token('a')
      const verified = payload()
      cache.set(original, verified, k, ALG, NOW, LEEWAY)
      const last = original.at(-1) === 'A' ? 'B' : 'A'
      const oneCharOff = original.slice(0, -1) + last
      const firstCharOff = (original[0] === 'f' ? 'g' : 'f') + original.slice(1)
      const middle = Math.floor(original.length / 2)
      const swapped = original[middle] === 'x' ? 'y' : 'x'
      const middleOff = original.slice(0, middle) + swapped + original.slice(middle + 1)
      const others = [oneCharOff, firstCharOff, middleOff, `${original} `, original.slice(0, -1)]
      for (const other of others) {
        expect(other).to.not.equal(original)
        expect(cache.get(other, k, ALG, NOW), other).to.equal(undefined)
      }
      expect(cache.size).to.equal(1)
      expect(cache.get(original, k, ALG, NOW)).to.equal(verified)
    })

    it('misses for another key object holding the same secret bytes, and drops the entry', () => {
      const cache = new VerifyCache()
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      const sameBytes = key()
      expect(sameBytes.equals(k)).to.equal(true)
      expect(cache.get(token('a'), sameBytes, ALG, NOW)).to.equal(undefined)
      expect(cache.size).to.equal(0)
      // Dropped: the original key no longer finds it either.
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
    })

    it('misses for a different key, and drops the entry', () => {
      const cache = new VerifyCache()
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      const other = key('another-secret-that-is-long-enough')
      expect(cache.get(token('a'), other, ALG, NOW)).to.equal(undefined)
      expect(cache.size).to.equal(0)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
    })

    it('misses for another algorithm with the same key object, and drops the entry', () => {
      const cache = new VerifyCache()
      cache.set(token('a'), payload(), k, 'HS256', NOW, LEEWAY)
      expect(cache.get(token('a'), k, 'HS512', NOW)).to.equal(undefined)
      expect(cache.size).to.equal(0)
      expect(cache.get(token('a'), k, 'HS256', NOW)).to.equal(undefined)
    })

    it('only drops the mismatched entry, never the others', () => {
      const cache = new VerifyCache()
      const kept = payload({ user_id: 2 })
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('b'), kept, k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), key(), ALG, NOW)).to.equal(undefined)
      expect(cache.size).to.equal(1)
      expect(cache.get(token('b'), k, ALG, NOW)).to.equal(kept)
    })
  })

  describe('entry lifetime: until = min(exp + leeway, now + ttl)', () => {
    it('serves a token until exp + leeway when that comes before now + ttl, then misses', () => {
      const cache = new VerifyCache({ ttl: 10_000 })
      const verified = payload({ exp: NOW + 100 })
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), k, ALG, NOW + 100 + LEEWAY - 1)).to.equal(verified)
      expect(cache.get(token('a'), k, ALG, NOW + 100 + LEEWAY)).to.equal(undefined)
      expect(cache.size).to.equal(0)
    })

    it('uses the leeway given to set()', () => {
      const cache = new VerifyCache({ ttl: 10_000 })
      const verified = payload({ exp: NOW + 100 })
      cache.set(token('a'), verified, k, ALG, NOW, 0)
      expect(cache.get(token('a'), k, ALG, NOW + 99)).to.equal(verified)
      expect(cache.get(token('a'), k, ALG, NOW + 100)).to.equal(undefined)
    })

    it('serves a token until now + ttl when that comes before exp + leeway, then misses', () => {
      const cache = new VerifyCache({ ttl: 60 })
      const verified = payload({ exp: NOW + 3600 })
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), k, ALG, NOW + 59)).to.equal(verified)
      expect(cache.get(token('a'), k, ALG, NOW + 60)).to.equal(undefined)
      expect(cache.size).to.equal(0)
    })

    it('counts the ttl from the time the entry was stored, not from the token iat', () => {
      const cache = new VerifyCache({ ttl: 60 })
      const verified = payload({ iat: NOW - 1000, exp: NOW + 3600 })
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), k, ALG, NOW + 59)).to.equal(verified)
      expect(cache.get(token('a'), k, ALG, NOW + 60)).to.equal(undefined)
    })

    it('bounds a token without exp by the ttl', () => {
      const cache = new VerifyCache({ ttl: 30 })
      const verified: JwtPayload = { user_id: 1 }
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), k, ALG, NOW + 29)).to.equal(verified)
      expect(cache.get(token('a'), k, ALG, NOW + 30)).to.equal(undefined)
    })

    it('does not refresh the lifetime on a hit', () => {
      const cache = new VerifyCache({ ttl: 60 })
      const verified = payload()
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), k, ALG, NOW + 50)).to.equal(verified)
      expect(cache.get(token('a'), k, ALG, NOW + 60)).to.equal(undefined)
    })

    it('does not store a token already past exp + leeway', () => {
      const cache = new VerifyCache()
      cache.set(token('a'), payload({ exp: NOW - LEEWAY - 1 }), k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(0)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
    })

    it('does not store a token whose window ends exactly now (exp + leeway = now)', () => {
      const cache = new VerifyCache()
      cache.set(token('a'), payload({ exp: NOW - LEEWAY }), k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(0)
    })

    it('stores a token with one second of its window left, for that second only', () => {
      const cache = new VerifyCache()
      const verified = payload({ exp: NOW - LEEWAY + 1 })
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(1)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(verified)
      expect(cache.get(token('a'), k, ALG, NOW + 1)).to.equal(undefined)
    })

    it('does not store an expired token even when set() is given a zero leeway', () => {
      const cache = new VerifyCache()
      cache.set(token('a'), payload({ exp: NOW - 1 }), k, ALG, NOW, 0)
      expect(cache.size).to.equal(0)
    })

    it('does not store a token past its window when the cache is full (no entry is evicted for it)', () => {
      const cache = new VerifyCache({ max: 1 })
      const kept = payload()
      cache.set(token('a'), kept, k, ALG, NOW, LEEWAY)
      cache.set(token('b'), payload({ exp: NOW - LEEWAY - 1 }), k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(1)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(kept)
    })
  })

  describe('LRU eviction', () => {
    it('evicts the oldest entry first when over max', () => {
      const cache = new VerifyCache({ max: 2 })
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('b'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('c'), payload(), k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(2)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('b'), k, ALG, NOW)).to.not.equal(undefined)
      expect(cache.get(token('c'), k, ALG, NOW)).to.not.equal(undefined)
    })

    it('refreshes recency on get(): the least recently used entry goes first', () => {
      const cache = new VerifyCache({ max: 2 })
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('b'), payload(), k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), k, ALG, NOW)).to.not.equal(undefined)
      cache.set(token('c'), payload(), k, ALG, NOW, LEEWAY)
      expect(cache.get(token('b'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('a'), k, ALG, NOW)).to.not.equal(undefined)
      expect(cache.get(token('c'), k, ALG, NOW)).to.not.equal(undefined)
    })

    it('follows the order of use across many operations', () => {
      const cache = new VerifyCache({ max: 3 })
      for (const id of ['a', 'b', 'c']) cache.set(token(id), payload(), k, ALG, NOW, LEEWAY)
      cache.get(token('b'), k, ALG, NOW)
      cache.get(token('a'), k, ALG, NOW)
      // Recency, oldest first: c, b, a.
      cache.set(token('d'), payload(), k, ALG, NOW, LEEWAY)
      expect(cache.get(token('c'), k, ALG, NOW)).to.equal(undefined)
      cache.set(token('e'), payload(), k, ALG, NOW, LEEWAY)
      expect(cache.get(token('b'), k, ALG, NOW)).to.equal(undefined)
      for (const id of ['a', 'd', 'e']) {
        expect(cache.get(token(id), k, ALG, NOW), id).to.not.equal(undefined)
      }
    })

    it('never holds more than max entries', () => {
      const cache = new VerifyCache({ max: 5 })
      for (let i = 0; i < 50; i++) {
        cache.set(token(`t${i}`), payload(), k, ALG, NOW, LEEWAY)
        expect(cache.size).to.be.at.most(5)
      }
      expect(cache.size).to.equal(5)
      for (let i = 45; i < 50; i++) {
        expect(cache.get(token(`t${i}`), k, ALG, NOW)).to.not.equal(undefined)
      }
    })

    it('keeps a single entry with max 1', () => {
      const cache = new VerifyCache({ max: 1 })
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('b'), payload(), k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(1)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('b'), k, ALG, NOW)).to.not.equal(undefined)
    })

    it('replaces an entry stored again for the same token without evicting another one', () => {
      // Two concurrent requests with the same new token both miss, then both store it.
      const cache = new VerifyCache({ max: 2 })
      const second = payload({ user_id: 2 })
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('b'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('b'), second, k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(2)
      expect(cache.get(token('a'), k, ALG, NOW)).to.not.equal(undefined)
      expect(cache.get(token('b'), k, ALG, NOW)).to.equal(second)
    })
  })

  describe('#evict()', () => {
    let cache: VerifyCache
    beforeEach(() => {
      cache = new VerifyCache()
      cache.set(token('a'), payload({ user_id: 1, jti: 'j-a' }), k, ALG, NOW, LEEWAY)
      cache.set(token('b'), payload({ user_id: 1, jti: 'j-b' }), k, ALG, NOW, LEEWAY)
      cache.set(token('c'), payload({ user_id: 2, jti: 'j-c' }), k, ALG, NOW, LEEWAY)
      cache.set(token('d'), payload({ user_id: 2, jti: 'j-b' }), k, ALG, NOW, LEEWAY)
    })

    it('removes one token and returns 1, then 0 once it is gone', () => {
      expect(cache.evict({ token: token('a') }, 'user_id')).to.equal(1)
      expect(cache.size).to.equal(3)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.evict({ token: token('a') }, 'user_id')).to.equal(0)
      expect(cache.size).to.equal(3)
    })

    it('returns 0 for a token that was never stored', () => {
      expect(cache.evict({ token: token('zzz') }, 'user_id')).to.equal(0)
      expect(cache.size).to.equal(4)
    })

    it('removes every entry with a jti and returns how many', () => {
      expect(cache.evict({ jti: 'j-b' }, 'user_id')).to.equal(2)
      expect(cache.size).to.equal(2)
      expect(cache.get(token('b'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('d'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('a'), k, ALG, NOW)).to.not.equal(undefined)
      expect(cache.evict({ jti: 'j-b' }, 'user_id')).to.equal(0)
    })

    it('removes every token of a user, read under the given user id key, and returns how many', () => {
      expect(cache.evict({ userId: 1 }, 'user_id')).to.equal(2)
      expect(cache.size).to.equal(2)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('b'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('c'), k, ALG, NOW)).to.not.equal(undefined)
      expect(cache.evict({ userId: 1 }, 'user_id')).to.equal(0)
    })

    it('reads the user id under the key it is given', () => {
      cache.set(token('e'), payload({ user_id: 9, sub: 'alice' }), k, ALG, NOW, LEEWAY)
      expect(cache.evict({ userId: 'alice' }, 'user_id')).to.equal(0)
      expect(cache.evict({ userId: 9 }, 'sub')).to.equal(0)
      expect(cache.evict({ userId: 'alice' }, 'sub')).to.equal(1)
      expect(cache.size).to.equal(4)
    })

    it('counts each removed entry once when filters overlap', () => {
      expect(cache.evict({ token: token('a'), jti: 'j-a', userId: 1 }, 'user_id')).to.equal(2)
      expect(cache.size).to.equal(2)
    })

    it('removes nothing with an empty filter', () => {
      expect(cache.evict({}, 'user_id')).to.equal(0)
      expect(cache.size).to.equal(4)
    })
  })

  describe('keyed by the token tail, hit only on the whole token', () => {
    /** Two tokens that differ before their last KEY_LENGTH characters only. */
    const twins = (): [string, string] => {
      const tail = 'S'.repeat(KEY_LENGTH)
      return [`eyJhbGciOiJIUzI1NiJ9.${'a'.repeat(40)}.sig${tail}`, `eyJhbGciOiJIUzI1NiJ9.${'b'.repeat(40)}.sig${tail}`]
    }

    it('keys a token by its last KEY_LENGTH characters, a short one by itself', () => {
      const [first] = twins()
      expect(cacheKey(first)).to.equal('S'.repeat(KEY_LENGTH))
      expect(cacheKey('a.b.c')).to.equal('a.b.c')
      expect(cacheKey('x'.repeat(2 * KEY_LENGTH))).to.equal('x'.repeat(2 * KEY_LENGTH))
    })

    it('misses for another token with the same tail, and keeps the stored entry', () => {
      const cache = new VerifyCache()
      const [stored, lookalike] = twins()
      const verified = payload()
      cache.set(stored, verified, k, ALG, NOW, LEEWAY)
      expect(cache.get(lookalike, k, ALG, NOW)).to.equal(undefined)
      expect(cache.size).to.equal(1)
      expect(cache.get(stored, k, ALG, NOW)).to.equal(verified)
    })

    it('lets the last of two tokens with the same tail win the slot: the other then misses', () => {
      const cache = new VerifyCache()
      const [first, second] = twins()
      const one = payload({ user_id: 1 })
      const two = payload({ user_id: 2 })
      cache.set(first, one, k, ALG, NOW, LEEWAY)
      cache.set(second, two, k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(1)
      expect(cache.get(first, k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(second, k, ALG, NOW)).to.equal(two)
    })

    it('evicts by token only the exact token, not another one with the same tail', () => {
      const cache = new VerifyCache()
      const [stored, lookalike] = twins()
      cache.set(stored, payload(), k, ALG, NOW, LEEWAY)
      expect(cache.evict({ token: lookalike }, 'user_id')).to.equal(0)
      expect(cache.size).to.equal(1)
      expect(cache.evict({ token: stored }, 'user_id')).to.equal(1)
      expect(cache.size).to.equal(0)
    })

    it('keeps exact LRU order when the newest entry is hit again and again', () => {
      const cache = new VerifyCache({ max: 2 })
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('b'), payload(), k, ALG, NOW, LEEWAY)
      for (let i = 0; i < 3; i++) expect(cache.get(token('b'), k, ALG, NOW)).to.not.equal(undefined)
      expect(cache.get(token('a'), k, ALG, NOW)).to.not.equal(undefined)
      expect(cache.get(token('a'), k, ALG, NOW)).to.not.equal(undefined)
      // Recency, oldest first: b, a.
      cache.set(token('c'), payload(), k, ALG, NOW, LEEWAY)
      expect(cache.get(token('b'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('a'), k, ALG, NOW)).to.not.equal(undefined)
      expect(cache.get(token('c'), k, ALG, NOW)).to.not.equal(undefined)
    })

    it('forgets the newest entry once it is evicted, cleared or dropped, and serves it again once stored', () => {
      const cache = new VerifyCache({ max: 2 })
      const verified = payload({ jti: 'j-a' })
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.evict({ jti: 'j-a' }, 'user_id')).to.equal(1)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(verified)
      cache.clear()
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
      cache.set(token('a'), verified, k, ALG, NOW, LEEWAY)
      expect(cache.get(token('a'), key(), ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.size).to.equal(0)
    })
  })

  describe('#clear() and #size', () => {
    it('counts entries and empties the cache', () => {
      const cache = new VerifyCache()
      expect(cache.size).to.equal(0)
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('b'), payload(), k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(2)
      cache.clear()
      expect(cache.size).to.equal(0)
      expect(cache.get(token('a'), k, ALG, NOW)).to.equal(undefined)
      expect(cache.get(token('b'), k, ALG, NOW)).to.equal(undefined)
    })

    it('does not count a token stored twice twice', () => {
      const cache = new VerifyCache()
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      cache.set(token('a'), payload(), k, ALG, NOW, LEEWAY)
      expect(cache.size).to.equal(1)
    })
  })
})

describe('deepFreeze()', () => {
  it('returns the same value, frozen', () => {
    const value = { a: 1 }
    expect(deepFreeze(value)).to.equal(value)
    expect(Object.isFrozen(value)).to.equal(true)
  })

  it('freezes nested objects and arrays, at any depth', () => {
    const value: JwtPayload = {
      scopes: ['user', 'admin'],
      nested: { list: [{ deep: ['x'] }], inner: { more: { leaf: 1 } } },
    }
    deepFreeze(value)
    const scopes = value.scopes as string[]
    const nested = value.nested as { list: { deep: string[] }[]; inner: { more: { leaf: number } } }
    const list = nested.list
    const { inner } = nested
    const parts = [value, scopes, nested, list, list[0], list[0]?.deep, inner, inner.more]
    for (const part of parts) {
      expect(Object.isFrozen(part)).to.equal(true)
    }
  })

  it('makes mutation of nested arrays throw in strict mode', () => {
    const value = deepFreeze({ scopes: ['user'], nested: { list: [1, 2] } })
    expect(() => value.scopes.push('admin')).to.throw(TypeError)
    expect(() => {
      value.scopes[0] = 'admin'
    }).to.throw(TypeError)
    expect(() => value.nested.list.pop()).to.throw(TypeError)
    expect(() => {
      ;(value as Record<string, unknown>).extra = true
    }).to.throw(TypeError)
    expect(value).to.deep.equal({ scopes: ['user'], nested: { list: [1, 2] } })
  })

  it('freezes a top-level array and its elements', () => {
    const value = deepFreeze([{ a: [1] }])
    expect(Object.isFrozen(value)).to.equal(true)
    expect(Object.isFrozen(value[0])).to.equal(true)
    expect(Object.isFrozen(value[0]?.a)).to.equal(true)
  })

  it('passes primitives and null through', () => {
    expect(deepFreeze(1)).to.equal(1)
    expect(deepFreeze('x')).to.equal('x')
    expect(deepFreeze(null)).to.equal(null)
    expect(deepFreeze(undefined)).to.equal(undefined)
  })
})
