import { createPublicKey } from 'node:crypto'

import { expect } from 'chai'
import jsonwebtoken from 'jsonwebtoken'
import Koa from 'koa'
import request from 'supertest'

import { Initialize, InvalidConfiguration, type KeyRingEntry } from '../../source'
import { thumbprint } from '../../source/core/key-ring'
import { buildApp } from '../helpers/app'
import { bearer } from '../helpers/initialize'
import { KEYS } from '../helpers/keys'
import { caughtSync, ecPair, initialize, peekHeader } from '../helpers/token-core'

const PATH = '/auth/.well-known/jwks.json'
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']
const EC = ecPair('P-256')

function ring(): KeyRingEntry[] {
  return [
    { kid: 'es-1', algorithm: 'ES256', privateKey: EC.privateKey },
    { kid: 'hs-1', algorithm: 'HS256', secret: 'an-hmac-secret-that-is-long-enough!!' },
    { kid: 'rs-1', algorithm: 'RS256', privateKey: KEYS.rsa.privateKey },
  ]
}

describe('endpoint: GET /auth/.well-known/jwks.json (jwksEnabled)', () => {
  it('publishes the public keys of the ring with kid, alg and use, never an HMAC key nor a private member', async () => {
    const { agent } = buildApp({ secret: undefined, keys: ring(), jwksEnabled: true })
    const res = await agent.get(PATH).expect(200)
    expect(res.headers['content-type']).to.match(/^application\/jwk-set\+json/)
    const body = JSON.parse(res.text) as { keys: Record<string, unknown>[] }
    expect(Object.keys(body)).to.deep.equal(['keys'])
    expect(body.keys.map((key) => key.kid)).to.deep.equal(['es-1', 'rs-1'])
    const [ec, rsa] = body.keys as [Record<string, unknown>, Record<string, unknown>]
    expect(ec).to.have.all.keys('kty', 'crv', 'x', 'y', 'kid', 'alg', 'use')
    expect(ec).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    expect(rsa).to.have.all.keys('kty', 'n', 'e', 'kid', 'alg', 'use')
    expect(rsa).to.include({ kty: 'RSA', e: 'AQAB', alg: 'RS256', use: 'sig' })
    for (const key of body.keys) for (const member of PRIVATE_MEMBERS) expect(key).not.to.have.property(member)
    expect(res.text).not.to.include('an-hmac-secret')
  })

  it('publishes keys that verify the tokens the instance signs', async () => {
    const { agent, login } = buildApp({ secret: undefined, keys: ring(), jwksEnabled: true })
    const { access_token: token } = await login()
    const { keys } = (await agent.get(PATH)).body as { keys: Record<string, unknown>[] }
    const jwk = keys.find((key) => key.kid === peekHeader(token!).kid)!
    const key = createPublicKey({ key: jwk as never, format: 'jwk' })
    expect(jsonwebtoken.verify(token!, key, { algorithms: ['ES256'] })).to.include({ user_id: 1 })
  })

  it('answers with Cache-Control public and max-age (jwksMaxAge) and a strong ETag; 304 on If-None-Match', async () => {
    const { agent } = buildApp({ secret: undefined, keys: ring(), jwksEnabled: true, jwksMaxAge: '10m' })
    const first = await agent.get(PATH).expect(200)
    expect(first.headers['cache-control']).to.equal('public, max-age=600')
    const etag = first.headers['etag'] as string
    expect(etag).to.match(/^"[A-Za-z0-9_-]{27}"$/)
    const again = await agent.get(PATH).set('If-None-Match', etag).expect(304)
    expect(again.text).to.equal('')
    expect(again.headers['etag']).to.equal(etag)
    expect(again.headers['cache-control']).to.equal('public, max-age=600')
    await agent.get(PATH).set('If-None-Match', `"other", W/${etag}`).expect(304)
    await agent.get(PATH).set('If-None-Match', '"other"').expect(200)
  })

  it('defaults max-age to 300 seconds', async () => {
    const { agent } = buildApp({ secret: undefined, keys: ring(), jwksEnabled: true })
    expect((await agent.get(PATH)).headers['cache-control']).to.equal('public, max-age=300')
  })

  it('publishes the new keys, under a new ETag, after rotateKeys()', async () => {
    const { agent, jwt } = buildApp({ secret: undefined, keys: ring(), jwksEnabled: true })
    const before = await agent.get(PATH)
    const next = ecPair('P-256')
    jwt.rotateKeys([{ kid: 'es-2', algorithm: 'ES256', privateKey: next.privateKey }, ring()[0]!])
    const after = await agent.get(PATH).set('If-None-Match', before.headers['etag'] as string).expect(200)
    expect(after.headers['etag']).not.to.equal(before.headers['etag'])
    expect((after.body as { keys: { kid: string }[] }).keys.map((key) => key.kid)).to.deep.equal(['es-2', 'es-1'])
  })

  it('answers HEAD and OPTIONS, and honours urlPrefix and pathToJwks', async () => {
    const { agent } = buildApp({
      secret: undefined,
      keys: ring(),
      jwksEnabled: true,
      urlPrefix: '/api/auth',
      pathToJwks: '/keys',
    })
    await agent.get(PATH).expect(404)
    await agent.get('/api/auth/keys').expect(200)
    await agent.head('/api/auth/keys').expect(200)
    await agent.options('/api/auth/keys').expect(204)
  })

  it('is not mounted without jwksEnabled', async () => {
    const { agent } = buildApp({ secret: undefined, keys: ring() })
    await agent.get(PATH).expect(404)
  })

  it('is mounted on a verify-only instance holding public keys', async () => {
    const app = new Koa()
    new Initialize(app, {
      authMode: false,
      jwksEnabled: true,
      keys: [{ kid: 'pub', algorithm: 'RS256', publicKey: KEYS.rsa.publicKey }],
    })
    const res = await request(app.callback()).get(PATH).expect(200)
    expect((res.body as { keys: { kid: string }[] }).keys.map((key) => key.kid)).to.deep.equal(['pub'])
  })

  describe('with the key settings (one asymmetric key)', () => {
    it('publishes the key under its RFC 7638 thumbprint and signs tokens with that kid', async () => {
      const { agent, login } = buildApp({
        secret: undefined,
        algorithm: 'RS256',
        privateKey: KEYS.rsa.privateKey,
        jwksEnabled: true,
      })
      const kid = thumbprint(createPublicKey(KEYS.rsa.publicKey))
      const { keys } = (await agent.get(PATH).expect(200)).body as { keys: Record<string, unknown>[] }
      expect(keys).to.have.length(1)
      expect(keys[0]).to.include({ kid, alg: 'RS256', use: 'sig', kty: 'RSA' })
      const { access_token: token } = await login()
      expect(peekHeader(token!)).to.deep.include({ alg: 'RS256', kid })
      await agent.get('/protected').set('Authorization', bearer(token)).expect(200)
    })

    it('signs without kid, as before, while jwksEnabled is off; and still verifies a token carrying one', async () => {
      const { agent, login } = buildApp({ secret: undefined, algorithm: 'ES256', privateKey: KEYS.p256.privateKey })
      const { access_token: token } = await login()
      expect(peekHeader(token!)).not.to.have.property('kid')
      const withKid = jsonwebtoken.sign({ user_id: 1, exp: 4_000_000_000 }, KEYS.p256.privateKey, {
        algorithm: 'ES256',
        keyid: 'anything',
      })
      await agent.get('/protected').set('Authorization', bearer(withKid)).expect(200)
    })

    it('refuses jwksEnabled with an HMAC key or per-user secrets at start-up', () => {
      expect(caughtSync(() => initialize({ jwksEnabled: true }))).to.be.instanceOf(InvalidConfiguration)
      const error = caughtSync(() =>
        initialize({
          algorithm: 'RS256',
          privateKey: KEYS.rsa.privateKey,
          jwksEnabled: true,
          retrieveUserSecret: () => KEYS.rsa.privateKey,
        }),
      )
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.include('"jwksEnabled"')
    })

    it('refuses jwksEnabled with a ring of HMAC keys only', () => {
      const error = caughtSync(() =>
        initialize({ secret: undefined, jwksEnabled: true, keys: [ring()[1]!] }),
      )
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.include('HMAC keys only')
    })
  })
})

describe('thumbprint() (RFC 7638)', () => {
  it('gives the thumbprint of the example key of RFC 7638 §3.1', () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw'
    const key = createPublicKey({ key: { kty: 'RSA', n, e: 'AQAB' }, format: 'jwk' })
    expect(thumbprint(key)).to.equal('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  })
})
