import { createPrivateKey, type KeyObject } from 'node:crypto'

import { expect } from 'chai'

import { KeyStore, type UserSecretSource } from '../../source/core/KeyStore'
import {
  InvalidConfiguration,
  InvalidToken,
  UserSecretNotImplemented,
  type SettingName,
} from '../../source'
import { SECRET } from '../helpers/app'
import { KEYS } from '../helpers/keys'
import { OTHER_SECRET, makeConfig, secretText } from '../helpers/parts'
import { caught, caughtSync } from '../helpers/token-core'

/** A retrieveUserSecret source answering `secret(userId)` and recording its calls. */
function source(secret: (userId: unknown, options: { encode: boolean }) => unknown): UserSecretSource & {
  calls: { self: unknown; userId: unknown; options: { encode: boolean } }[]
} {
  const calls: { self: unknown; userId: unknown; options: { encode: boolean } }[] = []
  return {
    calls,
    retrieveUserSecret(userId, options) {
      calls.push({ self: this, userId, options })
      return secret(userId, options)
    },
  }
}

/** A per-user secret of a safe length for user `n`. */
const userSecret = (n: unknown): string => `per-user-secret-number-${String(n)}-long-enough`

describe('KeyStore#compiled()', () => {
  it('compiles the keys of the stored settings', () => {
    const keys = new KeyStore(makeConfig()).compiled()
    expect(keys.algorithm).to.equal('HS256')
    expect(secretText(keys.signKey)).to.equal(SECRET)
    expect(keys.verifyKey).to.equal(keys.signKey)
  })

  it('returns the same object on every call while the key settings are unchanged', () => {
    const store = new KeyStore(makeConfig())
    const first = store.compiled()
    expect(store.compiled()).to.equal(first)
    expect(store.compiled({})).to.equal(first)
  })

  it('keeps the same object when a setting other than a key setting changes', () => {
    const config = makeConfig()
    const store = new KeyStore(config)
    const first = store.compiled()
    config.set('leeway', 5).set('claimIss', 'issuer')
    expect(store.compiled()).to.equal(first)
  })

  it('compiles again when the secret changes', () => {
    const config = makeConfig()
    const store = new KeyStore(config)
    const first = store.compiled()
    config.set('secret', OTHER_SECRET)
    const second = store.compiled()
    expect(second).not.to.equal(first)
    expect(secretText(second.verifyKey)).to.equal(OTHER_SECRET)
    expect(store.compiled()).to.equal(second)
  })

  it('compiles again when the algorithm changes', () => {
    const config = makeConfig()
    const store = new KeyStore(config)
    const first = store.compiled()
    config.set('algorithm', 'HS512')
    const second = store.compiled()
    expect(second).not.to.equal(first)
    expect(second.algorithm).to.equal('HS512')
  })

  it('compiles again when the private key changes', () => {
    const config = makeConfig({
      algorithm: 'RS256',
      secret: KEYS.rsa.publicKey,
      privateKey: KEYS.rsa.privateKey,
      authMode: false,
    })
    const store = new KeyStore(config)
    const first = store.compiled()
    expect(first.signKey?.type).to.equal('private')
    config.set('privateKey', null)
    const second = store.compiled()
    expect(second).not.to.equal(first)
    expect(second.signKey).to.equal(undefined)
    expect(second.verifyKey.type).to.equal('public')
  })

  it('compiles the keys of a per-request key setting for that request, then those of the stored settings again', () => {
    const config = makeConfig()
    const store = new KeyStore(config)
    const stored = store.compiled()
    const ctx = {}
    config.pushRequestValues(ctx, new Map<SettingName, unknown>([['secret', OTHER_SECRET]]))
    const perRequest = store.compiled(ctx)
    expect(secretText(perRequest.verifyKey)).to.equal(OTHER_SECRET)
    expect(store.compiled(ctx)).to.equal(perRequest)
    const again = store.compiled()
    expect(secretText(again.verifyKey)).to.equal(SECRET)
    expect(again).not.to.equal(stored)
  })

  it('throws the configuration errors of compileKeys', () => {
    const config = makeConfig()
    const store = new KeyStore(config)
    const ctx = {}
    config.pushRequestValues(ctx, new Map<SettingName, unknown>([['secret', KEYS.rsa.publicKey]]))
    expect(caughtSync(() => store.compiled(ctx))).to.be.instanceOf(InvalidConfiguration)
  })
})

describe('KeyStore#recompile()', () => {
  it('compiles the stored settings again into a new object that compiled() then returns', () => {
    const store = new KeyStore(makeConfig())
    const first = store.compiled()
    const second = store.recompile()
    expect(second).not.to.equal(first)
    expect(secretText(second.verifyKey)).to.equal(SECRET)
    expect(store.compiled()).to.equal(second)
  })
})

describe('KeyStore#userKey()', () => {
  let store: KeyStore
  beforeEach(() => {
    store = new KeyStore(makeConfig({ userSecretEnabled: true }))
  })

  it('asks retrieveUserSecret, called as a method of the source, with the user id and { encode }', async () => {
    const secrets = source(userSecret)
    await store.userKey(secrets, 7, 'HS256', false, false)
    await store.userKey(secrets, 8, 'HS256', true, true)
    expect(secrets.calls.map((call) => [call.self, call.userId, call.options])).to.deep.equal([
      [secrets, 7, { encode: false }],
      [secrets, 8, { encode: true }],
    ])
  })

  it('compiles the secret of the user into a secret key', async () => {
    const key = await store.userKey(source(userSecret), 7, 'HS256', false, false)
    expect(key.type).to.equal('secret')
    expect(secretText(key)).to.equal(userSecret(7))
  })

  it('awaits an async retrieveUserSecret', async () => {
    const key = await store.userKey(source(async (id) => userSecret(id)), 3, 'HS256', false, false)
    expect(secretText(key)).to.equal(userSecret(3))
  })

  it('asks retrieveUserSecret on every call but compiles a string secret once', async () => {
    const secrets = source(() => userSecret(1))
    const first = await store.userKey(secrets, 1, 'HS256', false, false)
    const second = await store.userKey(secrets, 1, 'HS256', false, false)
    expect(secrets.calls).to.have.length(2)
    expect(second).to.equal(first)
  })

  it('shares the compiled key between users with the same string secret', async () => {
    const secrets = source(() => 'a-secret-that-two-users-share-here')
    const first = await store.userKey(secrets, 1, 'HS256', false, false)
    expect(await store.userKey(secrets, 2, 'HS256', false, false)).to.equal(first)
  })

  it('compiles a string secret apart for each algorithm and direction', async () => {
    const secrets = source(() => userSecret(1))
    const hs256 = await store.userKey(secrets, 1, 'HS256', false, false)
    const hs512 = await store.userKey(secrets, 1, 'HS512', false, false)
    const encoding = await store.userKey(secrets, 1, 'HS256', true, true)
    expect(hs512).not.to.equal(hs256)
    expect(encoding).not.to.equal(hs256)
    expect(await store.userKey(secrets, 1, 'HS512', false, false)).to.equal(hs512)
  })

  it('compiles the private key to sign and the public key to verify with an asymmetric algorithm', async () => {
    const secrets = source((_id, { encode }) => (encode ? KEYS.rsa.privateKey : KEYS.rsa.publicKey))
    expect((await store.userKey(secrets, 1, 'RS256', true, true)).type).to.equal('private')
    expect((await store.userKey(secrets, 1, 'RS256', false, false)).type).to.equal('public')
  })

  it('derives the public key to verify from private key text', async () => {
    const secrets = source(() => KEYS.rsa.privateKey)
    const signing = await store.userKey(secrets, 1, 'RS256', true, true)
    const verifying = await store.userKey(secrets, 1, 'RS256', false, false)
    expect(signing.type).to.equal('private')
    expect(verifying.type).to.equal('public')
  })

  it('keeps at most 256 compiled keys: the 257th distinct secret evicts the oldest', async () => {
    const secrets = source(userSecret)
    const first: KeyObject[] = []
    for (let n = 0; n < 256; n++) first.push(await store.userKey(secrets, n, 'HS256', false, false))
    // All 256 are still there (a hit does not reorder the entries).
    expect(await store.userKey(secrets, 0, 'HS256', false, false)).to.equal(first[0])
    expect(await store.userKey(secrets, 255, 'HS256', false, false)).to.equal(first[255])
    await store.userKey(secrets, 256, 'HS256', false, false)
    // The second oldest survived the 257th; the oldest was compiled again.
    expect(await store.userKey(secrets, 1, 'HS256', false, false)).to.equal(first[1])
    const recompiled = await store.userKey(secrets, 0, 'HS256', false, false)
    expect(recompiled).not.to.equal(first[0])
    expect(secretText(recompiled)).to.equal(userSecret(0))
    // Putting the oldest back evicted the next oldest.
    expect(await store.userKey(secrets, 1, 'HS256', false, false)).not.to.equal(first[1])
    expect(await store.userKey(secrets, 2, 'HS256', false, false)).not.to.equal(first[2])
    expect(await store.userKey(secrets, 255, 'HS256', false, false)).to.equal(first[255])
  })

  const missing: [string, unknown][] = [
    ['an empty string', ''],
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object that is no key', {}],
    ['a function', () => 'secret'],
    ['Object.prototype (a secrets["__proto__"] lookup)', Object.prototype],
  ]
  for (const [label, value] of missing) {
    it(`answers InvalidToken 401 ERR_JWT_INVALID_SIGNATURE when verifying and retrieveUserSecret returns ${label}`, async () => {
      const error = await caught(() => store.userKey(source(() => value), '__proto__', 'HS256', false, false))
      expect(error).to.be.instanceOf(InvalidToken)
      expect(error.status).to.equal(401)
      expect(error.code).to.equal('ERR_JWT_INVALID_SIGNATURE')
    })

    it(`answers UserSecretNotImplemented 500 when signing and retrieveUserSecret returns ${label}`, async () => {
      const error = await caught(() => store.userKey(source(() => value), 1, 'HS256', false, true))
      expect(error).to.be.instanceOf(UserSecretNotImplemented)
      expect(error.status).to.equal(500)
      expect(error.code).to.equal('ERR_JWT_USER_SECRET_NOT_IMPLEMENTED')
    })
  }

  it('rejects with what retrieveUserSecret throws', async () => {
    const failure = new Error('store down')
    const error = await caught(() =>
      store.userKey(
        source(() => {
          throw failure
        }),
        1,
        'HS256',
        false,
        false,
      ),
    )
    expect(error).to.equal(failure)
  })
})

// Fails on the current source: the cache key of a non-string secret (KeyObject, Buffer, URL,
// { path }) is the object alone, without the algorithm and the direction, so the key compiled for
// one direction is handed out for the other. End to end: a login followed by a protected request
// answers 401 (verified with the private key); a protected request first makes every later login a
// 500 (signed with the public key).
describe('KeyStore#userKey(): one input object for both directions (cached per direction)', () => {
  it('answers the public key to verify after compiling the same private KeyObject to sign', async () => {
    const store = new KeyStore(makeConfig({ userSecretEnabled: true }))
    const privateKey = createPrivateKey(KEYS.rsa.privateKey)
    const secrets = source(() => privateKey)
    expect((await store.userKey(secrets, 1, 'RS256', true, true)).type).to.equal('private')
    expect((await store.userKey(secrets, 1, 'RS256', false, false)).type).to.equal('public')
  })

  it('answers the private key to sign after compiling the same private KeyObject to verify', async () => {
    const store = new KeyStore(makeConfig({ userSecretEnabled: true }))
    const privateKey = createPrivateKey(KEYS.rsa.privateKey)
    const secrets = source(() => privateKey)
    expect((await store.userKey(secrets, 1, 'RS256', false, false)).type).to.equal('public')
    expect((await store.userKey(secrets, 1, 'RS256', true, true)).type).to.equal('private')
  })
})
