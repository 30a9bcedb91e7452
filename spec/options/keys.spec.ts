import { createPublicKey, createSecretKey } from 'node:crypto'

import { expect } from 'chai'
import jsonwebtoken from 'jsonwebtoken'

import {
  InvalidConfiguration,
  RequiredKeysNotFound,
  type KeyRingEntry,
} from '../../source'
import { buildApp, makeClock, SECRET } from '../helpers/app'
import { bearer, expectError } from '../helpers/initialize'
import { KEYS } from '../helpers/keys'
import { caught, caughtSync, ecPair, hmacToken, initialize, peekHeader, pemFragments, segment } from '../helpers/token-core'

const HS_A = 'ring-secret-a-ring-secret-a-ring-secret-a'
const HS_B = 'ring-secret-b-ring-secret-b-ring-secret-b'
const EC_NEW = ecPair('P-256')

/** A ring: an ES256 key that signs, an RS256 key and an HS256 key kept to verify. */
function ring(): KeyRingEntry[] {
  return [
    { kid: 'es-new', algorithm: 'ES256', privateKey: EC_NEW.privateKey },
    { kid: 'rs-old', algorithm: 'RS256', privateKey: KEYS.rsa.privateKey },
    { kid: 'hs-old', algorithm: 'HS256', secret: HS_A },
  ]
}

const PAYLOAD = { user_id: 1, exp: 4_000_000_000 }

describe('option: keys', () => {
  describe('signing and verifying', () => {
    it('signs with the first key and writes its kid into the header', async () => {
      const { login } = buildApp({ secret: undefined, keys: ring() })
      const { access_token: token } = await login()
      expect(peekHeader(token!)).to.deep.include({ alg: 'ES256', kid: 'es-new' })
    })

    it('verifies a token of every key of the ring by its kid', async () => {
      const { agent } = buildApp({ secret: undefined, keys: ring() })
      const tokens = [
        jsonwebtoken.sign(PAYLOAD, EC_NEW.privateKey, { algorithm: 'ES256', keyid: 'es-new' }),
        jsonwebtoken.sign(PAYLOAD, KEYS.rsa.privateKey, { algorithm: 'RS256', keyid: 'rs-old' }),
        hmacToken(PAYLOAD, HS_A, 'HS256', { kid: 'hs-old' }),
      ]
      for (const token of tokens) {
        await agent.get('/protected').set('Authorization', bearer(token)).expect(200, { protected: true })
      }
    })

    it('refuses a token whose kid is unknown (ERR_JWT_UNKNOWN_KID in debug mode), never trying another key', async () => {
      const { agent } = buildApp({ secret: undefined, keys: ring(), debug: true })
      // Signed with a key of the ring, but naming a kid the ring does not hold.
      const token = hmacToken(PAYLOAD, HS_A, 'HS256', { kid: 'hs-gone' })
      const res = await agent.get('/protected').set('Authorization', bearer(token))
      expectError(res, 400, 'Unauthorized', 'ERR_JWT_UNKNOWN_KID', ["The token's key (kid) is unknown."])
    })

    it('answers an unknown kid outside debug mode as every signature failure: 401 Auth required.', async () => {
      const { agent } = buildApp({ secret: undefined, keys: ring() })
      const token = hmacToken(PAYLOAD, HS_A, 'HS256', { kid: 'nobody' })
      const res = await agent.get('/protected').set('Authorization', bearer(token))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
    })

    it('refuses a token without kid (a ring never guesses the key) with ERR_JWT_UNKNOWN_KID', async () => {
      const { jwt } = buildApp({ secret: undefined, keys: ring() })
      const error = await caught(() => jwt.auth.verifyToken(hmacToken(PAYLOAD, HS_A)))
      expect(error).to.include({ name: 'InvalidToken', status: 401, code: 'ERR_JWT_UNKNOWN_KID' })
      expect(error.reasons).to.deep.equal(['The token names no key (kid).'])
    })

    it('refuses a token whose kid is not a string, and a malformed header', async () => {
      const { jwt } = buildApp({ secret: undefined, keys: ring() })
      const numeric = hmacToken(PAYLOAD, HS_A, 'HS256', { kid: 7 })
      expect(await caught(() => jwt.auth.verifyToken(numeric))).to.include({ code: 'ERR_JWT_UNKNOWN_KID' })
      const badHeader = `bm90LWpzb24.${segment(PAYLOAD)}.c2ln`
      expect(await caught(() => jwt.auth.verifyToken(badHeader))).to.include({ code: 'ERR_JWT_MALFORMED' })
    })

    it('verifies with the algorithm of the key the kid names, never the alg of the token', async () => {
      const { jwt } = buildApp({ secret: undefined, keys: ring() })
      // The RS256 key's public PEM used as an HMAC secret, under its kid: the classic confusion.
      const confused = hmacToken(PAYLOAD, KEYS.rsa.publicKey, 'HS256', { kid: 'rs-old' })
      expect(await caught(() => jwt.auth.verifyToken(confused))).to.include({ code: 'ERR_JWT_INVALID_ALGORITHM' })
      // The HMAC key's kid on a token signed with another algorithm.
      const other = jsonwebtoken.sign(PAYLOAD, KEYS.rsa.privateKey, { algorithm: 'RS256', keyid: 'hs-old' })
      expect(await caught(() => jwt.auth.verifyToken(other))).to.include({ code: 'ERR_JWT_INVALID_ALGORITHM' })
      // alg none under a known kid.
      const none = `${segment({ alg: 'none', kid: 'es-new' })}.${segment(PAYLOAD)}.`
      expect(await caught(() => jwt.auth.verifyToken(none))).to.include({ code: 'ERR_JWT_INVALID_ALGORITHM' })
    })

    it('refuses a token signed by another key under a known kid', async () => {
      const { jwt } = buildApp({ secret: undefined, keys: ring() })
      const forged = hmacToken(PAYLOAD, HS_B, 'HS256', { kid: 'hs-old' })
      expect(await caught(() => jwt.auth.verifyToken(forged))).to.include({ code: 'ERR_JWT_INVALID_SIGNATURE' })
    })

    it('works with a ring of one HMAC key, and checks claims with the clock setting', async () => {
      const time = makeClock()
      const { jwt, login, agent } = buildApp({
        secret: undefined,
        clock: time.clock,
        keys: [{ kid: 'only', algorithm: 'HS512', secret: HS_A + HS_A }],
      })
      const { access_token: token } = await login()
      expect(peekHeader(token!)).to.deep.include({ alg: 'HS512', kid: 'only' })
      await agent.get('/protected').set('Authorization', bearer(token)).expect(200)
      time.now += 3600
      expect(await caught(() => jwt.auth.verifyToken(token!))).to.include({ code: 'ERR_JWT_EXPIRED' })
    })

    it('lets a verify-only instance (authMode: false) hold public keys only', async () => {
      const jwt = initialize({
        authMode: false,
        secret: undefined,
        keys: [{ kid: 'pub', algorithm: 'RS256', publicKey: KEYS.rsa.publicKey }],
      })
      const token = jsonwebtoken.sign(PAYLOAD, KEYS.rsa.privateKey, { algorithm: 'RS256', keyid: 'pub' })
      expect(await jwt.auth.verifyToken(token)).to.include({ user_id: 1 })
      // Nothing in that ring signs.
      expect(await caught(() => jwt.auth.generateAccessToken({ user_id: 1 }))).to.be.instanceOf(RequiredKeysNotFound)
    })
  })

  describe('start-up checks', () => {
    const start = (options: Record<string, unknown>) => () => initialize({ secret: undefined, ...options })

    it('refuses keys together with a key setting, naming it', () => {
      for (const [name, value] of [
        ['secret', SECRET],
        ['publicKey', KEYS.rsa.publicKey],
        ['privateKey', KEYS.rsa.privateKey],
        ['algorithm', 'HS256'],
      ] as const) {
        const error = caughtSync(start({ keys: ring(), [name]: value }))
        expect(error, name).to.be.instanceOf(InvalidConfiguration)
        expect(error.message).to.include('the "keys" option replaces the key settings')
        expect(error.message).to.include(name === 'publicKey' ? '"secret"' : `"${name}"`)
      }
    })

    it('refuses keys with per-user secrets', () => {
      const error = caughtSync(start({ keys: ring(), retrieveUserSecret: () => SECRET }))
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.include('per-user secrets')
    })

    it('refuses an empty list, an entry that is no object, a missing or empty kid, a duplicate kid', () => {
      expect(caughtSync(start({ keys: [] })).message).to.include('non-empty list')
      expect(caughtSync(start({ keys: 'key' })).message).to.include('non-empty list')
      expect(caughtSync(start({ keys: [null] })).message).to.include('keys[0] must be an object')
      expect(caughtSync(start({ keys: [{ algorithm: 'HS256', secret: HS_A }] })).message).to.include('keys[0] needs a "kid"')
      expect(caughtSync(start({ keys: [{ kid: '', algorithm: 'HS256', secret: HS_A }] })).message).to.include('needs a "kid"')
      const twice = caughtSync(start({ keys: [...ring(), { kid: 'rs-old', algorithm: 'HS256', secret: HS_B }] }))
      expect(twice).to.be.instanceOf(InvalidConfiguration)
      expect(twice.message).to.include('names the kid "rs-old" twice')
    })

    it('refuses a bad algorithm, unknown fields and material that does not fit, naming the kid', () => {
      const bad = (entry: Record<string, unknown>): string => caughtSync(start({ keys: [entry] })).message
      expect(bad({ kid: 'k', algorithm: 'none', secret: HS_A })).to.include('the key "k" of the "keys" option needs an "algorithm"')
      expect(bad({ kid: 'k', algorithm: 'HS256', secret: HS_A, private_key: 'x' })).to.include('unknown fields (private_key)')
      expect(bad({ kid: 'k', algorithm: 'HS256' })).to.include('the key "k"')
      expect(bad({ kid: 'k', algorithm: 'HS256', secret: KEYS.rsa.publicKey })).to.include('PEM key material')
      expect(bad({ kid: 'k', algorithm: 'HS256', privateKey: KEYS.rsa.privateKey })).to.include('takes a "secret"')
      expect(bad({ kid: 'k', algorithm: 'RS256', secret: KEYS.rsa.publicKey })).to.include('not "secret"')
      expect(bad({ kid: 'k', algorithm: 'ES256', privateKey: KEYS.rsa.privateKey })).to.include('The key "k"')
      expect(bad({ kid: 'k', algorithm: 'ES256', privateKey: KEYS.p384.privateKey })).to.include('curve')
      expect(bad({ kid: 'k', algorithm: 'RS256', privateKey: KEYS.rsa.privateKey, publicKey: KEYS.p256.publicKey })).to.include(
        'The key "k"',
      )
    })

    it('needs a private key for the first key in auth mode, not for the others', () => {
      const error = caughtSync(start({ keys: [{ kid: 'pub', algorithm: 'RS256', publicKey: KEYS.rsa.publicKey }] }))
      expect(error).to.be.instanceOf(RequiredKeysNotFound)
      expect(error.message).to.include('The key "pub" of the "keys" option: the first key signs')
      expect(() =>
        start({
          keys: [
            { kid: 'new', algorithm: 'RS256', privateKey: KEYS.rsa.privateKey },
            { kid: 'old', algorithm: 'RS256', publicKey: KEYS.rsa.publicKey },
          ],
        })(),
      ).not.to.throw()
    })

    it('never puts key material into a message', () => {
      const messages = [
        caughtSync(start({ keys: [{ kid: 'k', algorithm: 'HS256', secret: KEYS.rsa.privateKey }] })).message,
        caughtSync(start({ keys: [{ kid: 'k', algorithm: 'ES256', privateKey: KEYS.rsa.privateKey }] })).message,
        caughtSync(start({ keys: [{ kid: 'k', algorithm: 'RS256', privateKey: 'not a key at all' }] })).message,
        caughtSync(start({ keys: [{ kid: 'k', algorithm: 'RS256', secret: KEYS.rsa.privateKey }] })).message,
      ]
      for (const message of messages) {
        for (const fragment of pemFragments(KEYS.rsa.privateKey)) expect(message).not.to.include(fragment)
        expect(message).not.to.include('not a key at all')
      }
    })

    it('accepts KeyObjects and refuses to change a key setting at run time', () => {
      const jwt = initialize({
        secret: undefined,
        keys: [
          { kid: 'obj', algorithm: 'HS256', secret: createSecretKey(Buffer.from(HS_A)) },
          { kid: 'pub', algorithm: 'RS256', publicKey: createPublicKey(KEYS.rsa.publicKey) },
        ],
      })
      const error = caughtSync(() => jwt.config.set('secret', HS_B))
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.include('rotateKeys()')
      expect(jwt.config.get('secret')).to.equal(null)
    })
  })

  describe('jwt.rotateKeys()', () => {
    const NEXT = ecPair('P-256')
    const rotated = (): KeyRingEntry[] => [
      { kid: 'es-next', algorithm: 'ES256', privateKey: NEXT.privateKey },
      { kid: 'es-new', algorithm: 'ES256', publicKey: EC_NEW.publicKey },
    ]

    it('signs with the new first key at once, and still verifies the tokens of a key it kept', async () => {
      const { jwt, login, agent } = buildApp({ secret: undefined, keys: ring() })
      const { access_token: before } = await login()
      jwt.rotateKeys(rotated())
      const { access_token: after } = await login()
      expect(peekHeader(after!)).to.deep.include({ alg: 'ES256', kid: 'es-next' })
      await agent.get('/protected').set('Authorization', bearer(after)).expect(200)
      await agent.get('/protected').set('Authorization', bearer(before)).expect(200)
    })

    it('refuses the tokens of a key it removed (401)', async () => {
      const { jwt, agent } = buildApp({ secret: undefined, keys: ring() })
      const old = hmacToken(PAYLOAD, HS_A, 'HS256', { kid: 'hs-old' })
      await agent.get('/protected').set('Authorization', bearer(old)).expect(200)
      jwt.rotateKeys(rotated())
      const res = await agent.get('/protected').set('Authorization', bearer(old))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN')
      expect(await caught(() => jwt.auth.verifyToken(old))).to.include({ code: 'ERR_JWT_UNKNOWN_KID' })
    })

    it('lets no token verified before through the verify cache once its key is removed', async () => {
      const { jwt, agent } = buildApp({ secret: undefined, keys: ring(), verifyCache: true })
      const old = hmacToken(PAYLOAD, HS_A, 'HS256', { kid: 'hs-old' })
      await agent.get('/protected').set('Authorization', bearer(old)).expect(200)
      await agent.get('/protected').set('Authorization', bearer(old)).expect(200) // a cache hit
      jwt.rotateKeys(rotated())
      await agent.get('/protected').set('Authorization', bearer(old)).expect(401)
      // Put back under the same kid with another secret: the cached payload is not reused.
      jwt.rotateKeys([...rotated(), { kid: 'hs-old', algorithm: 'HS256', secret: HS_B }])
      expect(await caught(() => jwt.auth.verifyToken(old))).to.include({ code: 'ERR_JWT_INVALID_SIGNATURE' })
    })

    it('keeps the ring in use when the new list fails, naming the key', async () => {
      const { jwt, login, agent } = buildApp({ secret: undefined, keys: ring() })
      const { access_token: before } = await login()
      for (const keys of [
        [],
        [{ kid: 'x', algorithm: 'RS256', publicKey: KEYS.rsa.publicKey }],
        [...rotated(), { kid: 'es-next', algorithm: 'HS256', secret: HS_B }],
        [{ kid: 'bad', algorithm: 'ES256', privateKey: KEYS.rsa.privateKey }],
      ] as KeyRingEntry[][]) {
        expect(() => jwt.rotateKeys(keys)).to.throw(/keys/)
      }
      await agent.get('/protected').set('Authorization', bearer(before)).expect(200)
      const { access_token: after } = await login()
      expect(peekHeader(after!)).to.deep.include({ kid: 'es-new' })
    })

    it('is refused on an instance started without the keys option', () => {
      const jwt = initialize()
      const error = caughtSync(() => jwt.rotateKeys(ring()))
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.include('started with the "keys" option')
    })
  })
})
