import Router from '@koa/router'
import { createHmac } from 'node:crypto'

import { expect } from 'chai'
import Koa from 'koa'
import request from 'supertest'

import { Initialize, InvalidConfiguration, type InitializeOptions } from '../../source'
import { authenticateWith, makeClock, makeUsers, SECRET, type TestUser } from '../helpers/app'
import { bearer, expectError, signRaw } from '../helpers/initialize'
import { build, expectNoUnhandledErrors, payloadOf, type OptionsApp } from '../helpers/options'
import { warningsDuring, withCode } from '../helpers/warnings'

const DAY = 24 * 3600
const YEAR = 365 * DAY
const NO_EXP = ['Token is missing the "exp" claim.']
const USER: TestUser = { user_id: 1, username: 'user1', password: 'abcxyz', scopes: ['user'] }

/*
 * Signature checks are counted on jsonwebtoken's `verify`, as in spec/options/verify-cache.spec.ts:
 * the library reads it from the CommonJS exports object at call time.
 */
const engine = require('jsonwebtoken') as { verify: (...args: unknown[]) => unknown }
const engineVerify = engine.verify
let signatureChecks = 0

/** A display of a test value (JSON, but NaN and Infinity by name). */
const show = (value: unknown): string => (typeof value === 'number' ? String(value) : JSON.stringify(value))

/** An HS256 token of the test secret over any payload (jsonwebtoken refuses a non-numeric exp). */
function hs256(payload: Record<string, unknown>): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`
  return `${signed}.${createHmac('sha256', SECRET).update(signed).digest('base64url')}`
}

/**
 * A token without exp from `generateAccessToken(user, { expirationDelta: false })`, its one-time
 * warning captured (so it does not clutter the report).
 */
async function noExpToken(t: OptionsApp, user: TestUser = USER): Promise<string> {
  let token = ''
  await warningsDuring(async () => {
    token = await t.jwt.auth.generateAccessToken(user, { expirationDelta: false })
  })
  return token
}

async function thrownBy(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

const get = (t: OptionsApp, token: string, path = '/protected') =>
  t.agent.get(path).set('Authorization', bearer(token))

function expectOk(res: request.Response): void {
  expect(res.status, `${res.status} ${JSON.stringify(res.body)}`).to.equal(200)
}

describe('option: generateAccessToken({ expirationDelta })', () => {
  afterEach(expectNoUnhandledErrors)

  it('overrides the lifetime of one token with a number of seconds', async () => {
    const t = build()
    const token = await t.jwt.auth.generateAccessToken(USER, { expirationDelta: 60 })
    expect(payloadOf(token).exp).to.equal(t.clock.now + 60)
    const other = await t.jwt.auth.generateAccessToken(USER)
    expect(payloadOf(other).exp).to.equal(t.clock.now + 1800)
  })

  for (const [span, seconds] of [
    ['5m', 300],
    ['2h', 7200],
    ['45', 45],
  ] as const) {
    it(`reads the span ${JSON.stringify(span)} as ${seconds} seconds`, async () => {
      const t = build()
      const token = await t.jwt.auth.generateAccessToken(USER, { expirationDelta: span })
      expect(payloadOf(token).exp).to.equal(t.clock.now + seconds)
    })
  }

  it('makes the token expire after its own lifetime (plus leeway), not the setting', async () => {
    const t = build()
    const token = await t.jwt.auth.generateAccessToken(USER, { expirationDelta: '5m' })
    // Expired once exp + leeway is reached.
    t.clock.now += 300 + 180 - 1
    expectOk(await get(t, token))
    t.clock.now += 1
    expectError(await get(t, token), 401, 'Unauthorized', 'ERR_JWT_EXPIRED', ['Signature has expired.'])
  })

  for (const value of ['soon', -1, true, Number.NaN, null]) {
    it(`refuses expirationDelta: ${show(value)} with InvalidConfiguration`, async () => {
      const t = build()
      const error = await thrownBy(() => t.jwt.auth.generateAccessToken(USER, { expirationDelta: value as never }))
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect((error as Error).message).to.include('"expirationDelta"')
    })
  }

  describe('false', () => {
    it('issues a token without exp, keeping the other claims', async () => {
      const t = build({ claimIat: true, addScopesToPayload: (user) => user.scopes ?? [] })
      const token = await noExpToken(t)
      expect(payloadOf(token)).to.deep.equal({ user_id: 1, iat: t.clock.now, scopes: ['user'] })
    })

    it('emits the process warning KOA_JWT_NO_EXPIRATION once, however many tokens', async () => {
      const t = build()
      const warnings = await warningsDuring(async () => {
        await t.jwt.auth.generateAccessToken(USER, { expirationDelta: false })
        await t.jwt.auth.generateAccessToken(USER, { expirationDelta: false })
        await build().jwt.auth.generateAccessToken(USER, { expirationDelta: false })
      })
      const noExp = withCode(warnings, 'KOA_JWT_NO_EXPIRATION')
      expect(noExp).to.have.length(1)
      expect(noExp[0]?.name).to.equal('KoaJwtKitWarning')
      expect(noExp[0]?.message).to.include('allowNoExpiration')
    })

    it('emits no such warning for tokens with exp', async () => {
      const t = build()
      const warnings = await warningsDuring(async () => {
        await t.jwt.auth.generateAccessToken(USER)
        await t.jwt.auth.generateAccessToken(USER, { expirationDelta: '1m' })
        await t.login()
      })
      expect(withCode(warnings, 'KOA_JWT_NO_EXPIRATION')).to.deep.equal([])
    })

    it('emits no warning when the token is not issued (a failing option)', async () => {
      const t = build()
      const warnings = await warningsDuring(async () => {
        await thrownBy(() => t.jwt.auth.generateAccessToken(USER, { expirationDelta: false, fresh: 'yes' as never }))
      })
      expect(withCode(warnings, 'KOA_JWT_NO_EXPIRATION')).to.deep.equal([])
    })
  })
})

describe('option: allowNoExpiration', () => {
  afterEach(expectNoUnhandledErrors)

  it('defaults to false: a token without exp is refused with 401 ERR_JWT_CLAIM_MISSING', async () => {
    const t = build()
    expect(t.jwt.config.get('allowNoExpiration')).to.equal(false)
    const token = await noExpToken(t)
    expectError(await get(t, token), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING', NO_EXP)
  })

  it('refuses a token without exp with the same 401 in debug mode', async () => {
    const t = build({ debug: true })
    const token = await noExpToken(t)
    expectError(await get(t, token), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING', NO_EXP)
  })

  it('true accepts a token without exp, also years later', async () => {
    const t = build({ allowNoExpiration: true })
    const token = await noExpToken(t)
    expectOk(await get(t, token))
    t.clock.now += 10 * YEAR
    expectOk(await get(t, token))
  })

  it('true still checks the exp of a token that has one', async () => {
    const t = build({ allowNoExpiration: true })
    const { access_token } = await t.login()
    t.clock.now += 1800 + 180 + 1
    expectError(await get(t, access_token as string), 401, 'Unauthorized', 'ERR_JWT_EXPIRED', ['Signature has expired.'])
  })

  it('true does not accept exp: null or a string in place of a missing exp', async () => {
    const t = build({ allowNoExpiration: true })
    for (const exp of [null, 'never']) {
      const res = await get(t, hs256({ user_id: 1, exp }))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
    }
  })

  it('true still checks the other claims of a token without exp (nbf, iat, signature)', async () => {
    const t = build({ allowNoExpiration: true })
    let res = await get(t, signRaw({ user_id: 1, nbf: t.clock.now + 1000 }))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_NOT_YET_VALID', ['The token is not yet valid (nbf).'])
    res = await get(t, signRaw({ user_id: 1 }, 'another-secret-that-is-long-enough'))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
  })

  it('applies to GET /auth/verify too', async () => {
    const token = await noExpToken(build())
    let res = await build({ allowNoExpiration: true }).agent.get('/auth/verify').set('Authorization', bearer(token))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ valid: true })
    res = await build().agent.get('/auth/verify').set('Authorization', bearer(token))
    expect(res.status).to.equal(401)
    expect(res.body).to.include({ valid: false, code: 'ERR_JWT_CLAIM_MISSING' })
  })

  it('works as a per-route override', async () => {
    const t = build()
    t.router.get('/api-clients', t.jwt.protected({ allowNoExpiration: true }), (ctx) => {
      ctx.body = { ok: true }
    })
    const token = await noExpToken(t)
    expectOk(await get(t, token, '/api-clients'))
    expectError(await get(t, token), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING')
  })

  it('can be switched with config.set()', async () => {
    const t = build()
    const token = await noExpToken(t)
    t.jwt.config.set('allowNoExpiration', true)
    expectOk(await get(t, token))
    t.jwt.config.set('allowNoExpiration', false)
    expectError(await get(t, token), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING')
  })

  it('reads the environment preset KOA_JWT_ALLOW_NO_EXPIRATION', () => {
    const name = 'KOA_JWT_ALLOW_NO_EXPIRATION'
    const saved = process.env[name]
    process.env[name] = 'true'
    try {
      expect(build().jwt.config.get('allowNoExpiration')).to.equal(true)
    } finally {
      if (saved === undefined) delete process.env[name]
      else process.env[name] = saved
    }
  })

  it('refuses a value that is not a boolean at start-up', () => {
    expect(() => build({ allowNoExpiration: 'yes' as never })).to.throw(InvalidConfiguration, /"allowNoExpiration"/)
  })

  describe('with the verify cache', () => {
    beforeEach(() => {
      signatureChecks = 0
      engine.verify = function countedVerify(this: unknown, ...args: unknown[]): unknown {
        signatureChecks++
        return engineVerify.apply(this, args)
      }
    })
    afterEach(() => {
      engine.verify = engineVerify
    })

    it('caches a token without exp until the ttl of the cache only', async () => {
      const t = build({ allowNoExpiration: true, verifyCache: { ttl: 100 } })
      const token = await noExpToken(t)
      expectOk(await get(t, token))
      expect(signatureChecks).to.equal(1)
      t.clock.now += 99
      expectOk(await get(t, token))
      expect(signatureChecks, 'a hit within the ttl').to.equal(1)
      t.clock.now += 1
      expectOk(await get(t, token))
      expect(signatureChecks, 'verified again once the ttl has passed').to.equal(2)
      t.clock.now += 5 * YEAR
      expectOk(await get(t, token))
      expect(signatureChecks).to.equal(3)
    })

    it('refuses a cached token without exp once allowNoExpiration is turned off (claims are checked on hits)', async () => {
      const t = build({ allowNoExpiration: true, verifyCache: { ttl: 1000 } })
      const token = await noExpToken(t)
      expectOk(await get(t, token))
      t.jwt.config.set('allowNoExpiration', false)
      expectError(await get(t, token), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING', NO_EXP)
    })

    it('never caches a refused token without exp', async () => {
      const t = build({ verifyCache: true })
      const token = await noExpToken(t)
      expectError(await get(t, token), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING')
      expectError(await get(t, token), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING')
      expect(signatureChecks).to.equal(2)
    })
  })
})

describe('recipes: long-lived tokens (docs seed recipes)', () => {
  afterEach(expectNoUnhandledErrors)

  /**
   * An app with `POST /create-dev-token` (a token valid one year) and `POST /create-api-token` (a
   * token without exp), both protected and loading the user.
   */
  function recipeApp(options: InitializeOptions<TestUser> = {}, clock = makeClock()) {
    const app = new Koa()
    const users = makeUsers()
    const jwt = new Initialize<TestUser>(app, {
      secret: SECRET,
      clock: clock.clock,
      authenticate: authenticateWith(users),
      retrieveUser: (_ctx, payload) => users.find((u) => u.user_id === payload.user_id) ?? null,
      ...options,
    })
    const router = new Router()
    router.post('/create-dev-token', jwt.protected({ user: true }), async (ctx) => {
      ctx.body = {
        token: await jwt.auth.generateAccessToken(ctx.state.user, { ctx, expirationDelta: 365 * 24 * 3600 }),
      }
    })
    router.post('/create-api-token', jwt.protected({ user: true }), async (ctx) => {
      ctx.body = { token: await jwt.auth.generateAccessToken(ctx.state.user, { ctx, expirationDelta: false }) }
    })
    router.get('/protected', jwt.protected(), (ctx) => {
      ctx.body = { user_id: ctx.state.jwt.user_id }
    })
    app.use(router.routes())
    const agent = request(app.callback())
    const login = async (): Promise<string> => {
      const res = await agent.post('/auth').send({ username: 'user2', password: 'abcxyz' })
      return res.body.access_token as string
    }
    const mint = async (path: string): Promise<string> => {
      const res = await agent.post(path).set('Authorization', bearer(await login()))
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      return res.body.token as string
    }
    return { jwt, agent, clock, mint }
  }

  it('POST /create-dev-token: a token for the logged-in user valid 364 days later, refused 366 days later', async () => {
    const r = recipeApp()
    const token = await r.mint('/create-dev-token')
    expect(payloadOf(token)).to.include({ user_id: 2, exp: r.clock.now + YEAR })
    r.clock.now += 364 * DAY
    let res = await r.agent.get('/protected').set('Authorization', bearer(token))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ user_id: 2 })
    r.clock.now += 2 * DAY
    res = await r.agent.get('/protected').set('Authorization', bearer(token))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_EXPIRED', ['Signature has expired.'])
  })

  it('POST /create-dev-token: refuses a request without a token', async () => {
    const r = recipeApp()
    const res = await r.agent.post('/create-dev-token')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
  })

  it('POST /create-api-token: a token without exp, valid years later where allowNoExpiration is on, refused where it is off', async () => {
    const clock = makeClock()
    const allowing = recipeApp({ allowNoExpiration: true }, clock)
    const strict = recipeApp({}, clock)
    const warnings = await warningsDuring(async () => {
      const token = await allowing.mint('/create-api-token')
      expect(payloadOf(token)).to.not.have.property('exp')
      clock.now += 7 * YEAR
      let res = await allowing.agent.get('/protected').set('Authorization', bearer(token))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ user_id: 2 })
      res = await strict.agent.get('/protected').set('Authorization', bearer(token))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING', NO_EXP)
    })
    expect(withCode(warnings, 'KOA_JWT_NO_EXPIRATION')).to.have.length(1)
  })

  it('POST /create-api-token: the instance that refuses such tokens can still mint them (the warning says so)', async () => {
    const r = recipeApp()
    let token = ''
    const warnings = await warningsDuring(async () => {
      token = await r.mint('/create-api-token')
    })
    expect(withCode(warnings, 'KOA_JWT_NO_EXPIRATION')).to.have.length(1)
    const res = await r.agent.get('/protected').set('Authorization', bearer(token))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING')
  })
})
