/**
 * Two apps on loopback: an issuer with a key ring publishing its JWK Set, and a verify-only
 * service reading it through `jwksUri`, through a rotation, a cooldown and an issuer outage.
 */
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:http'

import Router from '@koa/router'
import { expect } from 'chai'
import jsonwebtoken from 'jsonwebtoken'
import Koa from 'koa'
import request from 'supertest'

import { Initialize, InvalidConfiguration, type KeyRingEntry } from '../../source'
import { buildApp, makeClock, SECRET, type TestApp } from '../helpers/app'
import { bearer, expectError } from '../helpers/initialize'
import { KEYS } from '../helpers/keys'
import { caughtSync, ecPair, hmacToken } from '../helpers/token-core'

const JWKS_PATH = '/auth/.well-known/jwks.json'
const FIRST = ecPair('P-256')
const SECOND = ecPair('P-256')

const firstRing = (): KeyRingEntry[] => [{ kid: 'k1', algorithm: 'ES256', privateKey: FIRST.privateKey }]
const rotatedRing = (): KeyRingEntry[] => [
  { kid: 'k2', algorithm: 'ES256', privateKey: SECOND.privateKey },
  { kid: 'k1', algorithm: 'ES256', publicKey: FIRST.publicKey },
]

/** The issuer, listening on 127.0.0.1, counting the requests for its JWK Set. */
interface Issuer {
  app: TestApp
  url: string
  fetches: number
  /** When set, the JWK Set requests hang (never answered) instead. */
  hang: boolean
  stop(): Promise<void>
  start(): Promise<void>
}

async function startIssuer(): Promise<Issuer> {
  const app = buildApp({ secret: undefined, keys: firstRing(), jwksEnabled: true })
  let server: Server | undefined
  let port = 0
  const issuer: Issuer = {
    app,
    url: '',
    fetches: 0,
    hang: false,
    async start() {
      const handler = app.app.callback()
      server = createServer((req, res) => {
        if (req.url === JWKS_PATH) {
          issuer.fetches++
          if (issuer.hang) return
        }
        void handler(req, res)
      })
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve))
      port = (server.address() as AddressInfo).port
      issuer.url = `http://127.0.0.1:${port}${JWKS_PATH}`
    },
    async stop() {
      server?.closeAllConnections()
      await new Promise<void>((resolve) => server!.close(() => resolve()))
    },
  }
  await issuer.start()
  return issuer
}

/** The verify-only service on the issuer's JWK Set, with a settable clock. */
function startVerifier(issuer: Issuer, options: Record<string, unknown> = {}) {
  const time = makeClock()
  const app = new Koa()
  const jwt = new Initialize(app, { authMode: false, jwksUri: issuer.url, clock: time.clock, ...options })
  const router = new Router()
  router.get('/orders', jwt.protected(), (ctx) => {
    ctx.body = { user: ctx.state.jwt.user_id }
  })
  app.use(router.routes())
  const agent = request(app.callback())
  const call = (token: string | undefined) => agent.get('/orders').set('Authorization', bearer(token))
  return { time, jwt, call }
}

describe('option: jwksUri (two apps on loopback)', function () {
  this.timeout(10_000)
  let issuer: Issuer

  beforeEach(async () => {
    issuer = await startIssuer()
  })

  afterEach(async () => {
    await issuer.stop().catch(() => undefined)
  })

  it('verifies the issuer’s tokens, fetching the key set once (not per request)', async () => {
    const { call } = startVerifier(issuer)
    expect(issuer.fetches).to.equal(0) // nothing fetched at start-up
    const { access_token: token } = await issuer.app.login()
    await call(token).expect(200, { user: 1 })
    await call(token).expect(200)
    await call(token).expect(200)
    expect(issuer.fetches).to.equal(1)
  })

  it('goes through a rotation: picks up the new key on its first unknown kid, keeps the old one', async () => {
    const { call, time } = startVerifier(issuer)
    const { access_token: old } = await issuer.app.login()
    await call(old).expect(200)
    time.now += 3600 // rotations come long after the first fetch (jwksCooldown is 30 s)
    issuer.app.jwt.rotateKeys(rotatedRing())
    const { access_token: fresh } = await issuer.app.login()
    await call(fresh).expect(200, { user: 1 })
    expect(issuer.fetches).to.equal(2)
    await call(old).expect(200)
    await call(fresh).expect(200)
    expect(issuer.fetches).to.equal(2)
  })

  it('shares one fetch between concurrent requests naming the same unknown kid', async () => {
    const { call, time } = startVerifier(issuer)
    await call((await issuer.app.login()).access_token).expect(200)
    time.now += 3600
    issuer.app.jwt.rotateKeys(rotatedRing())
    const { access_token: fresh } = await issuer.app.login()
    const answers = await Promise.all(Array.from({ length: 12 }, () => call(fresh)))
    expect(answers.map((res) => res.status)).to.deep.equal(Array(12).fill(200))
    expect(issuer.fetches).to.equal(2)
  })

  it('fetches for unknown kids at most once per jwksCooldown (the clock setting), then answers 401', async () => {
    const { call, time } = startVerifier(issuer, { jwksCooldown: 60 })
    await call((await issuer.app.login()).access_token).expect(200)
    const made = (kid: string) =>
      jsonwebtoken.sign({ user_id: 1, exp: 4_000_000_000 }, SECOND.privateKey, { algorithm: 'ES256', keyid: kid })
    await call(made('nobody-1')).expect(401)
    await call(made('nobody-2')).expect(401)
    expect(issuer.fetches).to.equal(1) // within the cooldown of the first fetch: none
    time.now += 61
    const res = await call(made('nobody-3'))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN')
    expect(issuer.fetches).to.equal(2)
    // A rotation within the cooldown is seen once the cooldown has passed.
    issuer.app.jwt.rotateKeys(rotatedRing())
    const { access_token: fresh } = await issuer.app.login()
    await call(fresh).expect(401)
    time.now += 61
    await call(fresh).expect(200)
    expect(issuer.fetches).to.equal(3)
  })

  it('answers 503 KeysUnavailable while the issuer is down, keeps the known keys, and recovers', async () => {
    const { call, time } = startVerifier(issuer)
    const { access_token: old } = await issuer.app.login()
    await call(old).expect(200)
    time.now += 3600
    issuer.app.jwt.rotateKeys(rotatedRing())
    const { access_token: fresh } = await issuer.app.login()
    await issuer.stop()
    expectError(await call(fresh), 503, 'KeysUnavailable', 'ERR_JWT_KEYS_UNAVAILABLE')
    await call(old).expect(200) // the known key stays in use
    // Within the cooldown after the failure: still 503, without hammering the issuer.
    expectError(await call(fresh), 503, 'KeysUnavailable', 'ERR_JWT_KEYS_UNAVAILABLE')
    await issuer.start()
    const before = issuer.fetches
    time.now += 31
    await call(fresh).expect(200)
    expect(issuer.fetches).to.equal(before + 1)
  })

  it('answers 503 when no key was ever fetched, and never a 500 nor a hang (jwksTimeout)', async () => {
    issuer.hang = true
    const { call, time } = startVerifier(issuer, { jwksTimeout: 0.2 })
    const { access_token: token } = await issuer.app.login()
    const started = Date.now()
    expectError(await call(token), 503, 'KeysUnavailable', 'ERR_JWT_KEYS_UNAVAILABLE')
    expect(Date.now() - started).to.be.below(2000)
    issuer.hang = false
    time.now += 31
    await call(token).expect(200)
  })

  it('fetches again in the background once the set is older than jwksMaxAge: a removed key stops verifying', async () => {
    const { call, time } = startVerifier(issuer, { jwksMaxAge: 600 })
    const { access_token: old } = await issuer.app.login()
    await call(old).expect(200)
    issuer.app.jwt.rotateKeys([rotatedRing()[0]!]) // k1 removed at the issuer
    time.now += 599
    await call(old).expect(200)
    expect(issuer.fetches).to.equal(1)
    time.now += 2
    await call(old).expect(200) // answered from the keys in memory, the fetch runs behind it
    for (let i = 0; i < 50 && issuer.fetches < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(issuer.fetches).to.equal(2)
    await call(old).expect(401)
  })

  it('refuses a token without kid and an HMAC token naming a published kid, without fetching for them', async () => {
    const { call } = startVerifier(issuer)
    await call(hmacToken({ user_id: 1, exp: 4_000_000_000 })).expect(401)
    expect(issuer.fetches).to.equal(0)
    await call((await issuer.app.login()).access_token).expect(200)
    // The classic confusion: the published public key as an HMAC secret, under its kid.
    const confused = hmacToken({ user_id: 1, exp: 4_000_000_000 }, FIRST.publicKey, 'HS256', { kid: 'k1' })
    await call(confused).expect(401)
    expect(issuer.fetches).to.equal(1)
  })
})

describe('option: jwksUri (start-up checks)', () => {
  const start = (options: Record<string, unknown>) => () =>
    new Initialize(new Koa(), { authMode: false, jwksUri: 'https://auth.example.com/.well-known/jwks.json', ...options })

  it('takes an https: URL, or http: on a loopback host, and fetches nothing at start-up', () => {
    expect(start({})).not.to.throw()
    for (const uri of ['http://localhost:3000/jwks', 'http://127.0.0.1/jwks', 'http://[::1]:8080/jwks']) {
      expect(start({ jwksUri: uri }), uri).not.to.throw()
    }
  })

  it('refuses another scheme, http: on a network host and credentials, without showing the URL', () => {
    for (const uri of ['http://auth.example.com/jwks', 'ftp://auth.example.com/jwks', 'https://user:hunter2@auth.example.com/jwks', 'not a url']) {
      const error = caughtSync(start({ jwksUri: uri }))
      expect(error, uri).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.include('"jwksUri"')
      expect(error.message).not.to.include('hunter2')
      expect(error.message).not.to.include('auth.example.com')
    }
  })

  it('is for verify-only services, and replaces the keys', () => {
    expect(caughtSync(start({ authMode: true, authenticate: () => ({ user_id: 1 }) })).message).to.include('authMode')
    expect(caughtSync(start({ secret: SECRET })).message).to.include('replaces the key settings')
    expect(caughtSync(start({ algorithm: 'RS256', publicKey: KEYS.rsa.publicKey })).message).to.include('"secret", "algorithm"')
    expect(caughtSync(start({ keys: firstRing() })).message).to.include('cannot be combined')
    expect(caughtSync(start({ jwksEnabled: true })).message).to.include('jwksEnabled')
    expect(caughtSync(start({ jwksTimeout: 0 })).message).to.include('"jwksTimeout"')
  })
})
