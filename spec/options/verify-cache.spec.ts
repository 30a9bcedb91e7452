import { createSecretKey } from 'node:crypto'

import { expect } from 'chai'
import Koa, { type Context } from 'koa'
import type { Response } from 'supertest'

import {
  Claim,
  Initialize,
  InvalidConfiguration,
  type InitializeOptions,
  type JwtPayload,
  type VerifyCacheOptions,
} from '../../source'
import {
  SECRET,
  authenticateWith,
  buildApp,
  makeClock,
  makeUsers,
  type TestApp,
  type TestUser,
} from '../helpers/app'
import { KEYS } from '../helpers/keys'
import { EXPIRED_AFTER, REASONS, expectUnauthorized, payloadOf, tamper } from '../helpers/options'

/*
 * Signature checks are counted on jsonwebtoken's `verify`, the only place the library checks a
 * signature (source/core/token.ts verifySignature). jsonwebtoken is CommonJS and the library reads
 * `verify` from its exports object at call time, so wrapping it here sees every call. A cache hit
 * is a request that ran no signature check.
 */
const engine = require('jsonwebtoken') as { verify: (...args: unknown[]) => unknown }
const engineVerify = engine.verify
let signatureChecks = 0

function countSignatureChecks(): void {
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
}

const OTHER_SECRET = 'another-test-secret-that-is-long-enough'
const LIFETIME = 1800
const LEEWAY = 180
const NBF_REASONS = ['The token is not yet valid (nbf).']
const IAT_REASONS = ['The token is not yet valid (iat).']
const NOT_MET = ['Verifications were not met.']
const INVALID_AUDIENCE = ['Invalid audience.']
const INVALID_ISSUER = ['Invalid issuer.']

/** A test app with a settable clock and extra routes; 5xx errors are collected, not logged. */
interface CacheApp extends TestApp {
  clock: { now: number; clock: () => number }
  /** Errors Koa's error handler saw (5xx only). */
  errors: unknown[]
  /** `GET path` with the token as a Bearer token. */
  get(path: string, token: string): Promise<Response>
}

let current: CacheApp | undefined

/**
 * `buildApp` with a settable clock and these routes (all echo `ctx.state.jwt`):
 * `/payload` (defaults), `/no-exp` (verifyExp false), `/lenient` (leeway 1000), `/strict`
 * (leeway 0), `/later` (a clock 5000 s ahead), plus `/frozen`, `/mutate`, `/mutate-scopes`.
 */
function setup(options: InitializeOptions<TestUser> = {}): CacheApp {
  const clock = makeClock()
  const t = buildApp({ clock: clock.clock, ...options })
  t.app.silent = true
  const errors: unknown[] = []
  t.app.on('error', (error: unknown) => {
    const status = (error as { status?: unknown } | null)?.status
    if (typeof status !== 'number' || status >= 500) errors.push(error)
  })
  const echo = (ctx: Context): void => {
    ctx.body = ctx.state.jwt
  }
  t.router.get('/payload', t.jwt.protected(), echo)
  t.router.get('/no-exp', t.jwt.protected({ verifyExp: false }), echo)
  t.router.get('/lenient', t.jwt.protected({ leeway: 1000 }), echo)
  t.router.get('/strict', t.jwt.protected({ leeway: 0 }), echo)
  t.router.get('/later', t.jwt.protected({ clock: () => clock.now + 5000 }), echo)
  t.router.get('/frozen', t.jwt.protected(), (ctx) => {
    const payload = ctx.state.jwt as JwtPayload
    ctx.body = {
      payload: Object.isFrozen(payload),
      scopes: payload.scopes === undefined ? null : Object.isFrozen(payload.scopes),
    }
  })
  t.router.get('/mutate', t.jwt.protected(), (ctx) => {
    ;(ctx.state.jwt as JwtPayload).user_id = 2
    ctx.body = { mutated: true }
  })
  t.router.get('/mutate-scopes', t.jwt.protected(), (ctx) => {
    ;((ctx.state.jwt as JwtPayload).scopes as string[]).push('admin')
    ctx.body = { mutated: true }
  })
  const app: CacheApp = {
    ...t,
    clock,
    errors,
    get: async (path, token) => t.agent.get(path).set('Authorization', `Bearer ${token}`),
  }
  current = app
  return app
}

async function loginToken(t: TestApp, username = 'user1'): Promise<string> {
  const token = (await t.login(username)).access_token
  if (token === undefined) throw new Error('no access_token')
  return token
}

/** Asserts a 401 'Unauthorized' answer with `code` and `reasons`. */
function expect401(res: Response, code: string, reasons: readonly string[]): void {
  expectUnauthorized(res, 401, code, reasons)
}

/** Asserts the 401 of a structure/signature failure outside debug mode. */
function expectInvalidToken(res: Response): void {
  expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
}

/** Asserts the 401 of an expired token. */
function expectExpired(res: Response): void {
  expectUnauthorized(res, 401, 'ERR_JWT_EXPIRED', REASONS.expired)
}

function expectOk(res: Response): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(200)
}

/** The token with one character of its signature changed. */
function oneCharOff(token: string): string {
  const at = token.lastIndexOf('.') + 5
  const replacement = token[at] === 'A' ? 'B' : 'A'
  return token.slice(0, at) + replacement + token.slice(at + 1)
}

class TenantClaim extends Claim<TestUser> {
  static allowed = 'acme'
  static calls = 0
  key = 'tenant'
  setup(): string {
    return 'acme'
  }
  verify(value: unknown): boolean {
    TenantClaim.calls++
    return value === TenantClaim.allowed
  }
}

interface Mode {
  name: string
  verifyCache: boolean | VerifyCacheOptions
  /** Expected signature checks: `cached` for the long-ttl cache, `off` without cache. */
  checks(t: { cached: number; off: number }): void
}

const LONG_TTL = 100_000

const MODES: Mode[] = [
  {
    name: 'cache off',
    verifyCache: false,
    checks: ({ off }) => expect(signatureChecks, 'signature checks').to.equal(off),
  },
  {
    name: `cache { max: 50, ttl: ${LONG_TTL} }`,
    verifyCache: { max: 50, ttl: LONG_TTL },
    checks: ({ cached }) => expect(signatureChecks, 'signature checks').to.equal(cached),
  },
  {
    // Default ttl (600 s): the clock moves below often outlast it, so hits are not counted.
    name: 'cache on (defaults)',
    verifyCache: true,
    checks: () => undefined,
  },
]

describe('option: verifyCache', () => {
  countSignatureChecks()

  beforeEach(() => {
    current = undefined
    TenantClaim.allowed = 'acme'
    TenantClaim.calls = 0
  })

  afterEach(function noUnexpectedErrors() {
    const errors = current?.errors.splice(0) ?? []
    if (this.currentTest?.state === 'failed') return
    expect(errors.map((error) => String((error as Error)?.stack ?? error))).to.deep.equal([])
  })

  for (const mode of MODES) {
    describe(`rules kept with ${mode.name}`, () => {
      const withMode = (options: InitializeOptions<TestUser> = {}): CacheApp =>
        setup({ verifyCache: mode.verifyCache, ...options })

      it('answers 200 with the same payload on repeated requests with one token', async () => {
        const t = withMode()
        const token = await loginToken(t)
        for (let i = 0; i < 3; i++) {
          const res = await t.get('/payload', token)
          expectOk(res)
          expect(res.body).to.deep.equal(payloadOf(token))
        }
        mode.checks({ cached: 1, off: 3 })
      })

      it('rejects a copy of a verified token with one signature character changed (401 ERR_JWT_INVALID_TOKEN)', async () => {
        const t = withMode()
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        expectInvalidToken(await t.get('/payload', oneCharOff(token)))
        expectInvalidToken(await t.get('/payload', tamper(token)))
        expectOk(await t.get('/payload', token))
        mode.checks({ cached: 3, off: 4 })
      })

      it('rejects tokens that keep the signature of a verified token under another header or payload, and still serves the original', async () => {
        const t = withMode()
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        const [, payload, signature] = token.split('.')
        const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
        const lookalikes = [
          `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`,
          `${b64({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`,
          tamper(token, { scopes: ['admin'] }),
          `x${token}`,
        ]
        for (const lookalike of lookalikes) {
          expect(lookalike.slice(-16)).to.equal(token.slice(-16))
          expectInvalidToken(await t.get('/payload', lookalike))
        }
        const res = await t.get('/payload', token)
        expectOk(res)
        expect(res.body).to.deep.equal(payloadOf(token))
        // Cached: the first request only, the original served from the cache at the end.
        mode.checks({ cached: 1 + lookalikes.length, off: 2 + lookalikes.length })
      })

      it('rejects a verified token once the clock reaches exp + leeway (401 ERR_JWT_EXPIRED)', async () => {
        const t = withMode()
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        t.clock.now += EXPIRED_AFTER - 1
        expectOk(await t.get('/payload', token))
        mode.checks({ cached: 1, off: 2 })
        t.clock.now += 1
        expectExpired(await t.get('/payload', token))
        expectExpired(await t.get('/payload', token))
      })

      it('checks exp with the leeway of the route (leeway: 0) on a verified token', async () => {
        const t = withMode()
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        t.clock.now += LIFETIME + 10
        expectOk(await t.get('/payload', token))
        expectExpired(await t.get('/strict', token))
        expectOk(await t.get('/payload', token))
        mode.checks({ cached: 1, off: 4 })
      })

      it('checks exp with the clock of the route on a verified token', async () => {
        const t = withMode()
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        expectExpired(await t.get('/later', token))
        expectOk(await t.get('/payload', token))
        // Under the later clock the entry is past its window: dropped, so verified again after.
        mode.checks({ cached: 3, off: 3 })
      })

      it('serves an expired token on a verifyExp: false route and still rejects it on the default route after', async () => {
        const t = withMode()
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        t.clock.now += EXPIRED_AFTER
        expectOk(await t.get('/no-exp', token))
        expectExpired(await t.get('/payload', token))
        expectOk(await t.get('/no-exp', token))
        expectExpired(await t.get('/payload', token))
      })

      it('rejects an expired token on the default route and still serves it on a verifyExp: false route after', async () => {
        const t = withMode()
        const token = await loginToken(t)
        t.clock.now += EXPIRED_AFTER
        expectExpired(await t.get('/payload', token))
        expectOk(await t.get('/no-exp', token))
        expectExpired(await t.get('/payload', token))
        expectOk(await t.get('/no-exp', token))
      })

      it('serves a token past the default leeway on a leeway: 1000 route and still rejects it on the default route after', async () => {
        const t = withMode()
        const token = await loginToken(t)
        t.clock.now += EXPIRED_AFTER + 100
        expectOk(await t.get('/lenient', token))
        expectExpired(await t.get('/payload', token))
        expectOk(await t.get('/lenient', token))
        expectExpired(await t.get('/payload', token))
        mode.checks({ cached: 1, off: 4 })
      })

      it('rejects a token past the default leeway on the default route and still serves it on a leeway: 1000 route after', async () => {
        const t = withMode()
        const token = await loginToken(t)
        t.clock.now += EXPIRED_AFTER + 100
        expectExpired(await t.get('/payload', token))
        expectOk(await t.get('/lenient', token))
        expectExpired(await t.get('/payload', token))
        expectOk(await t.get('/lenient', token))
      })

      it('never serves a token whose nbf is not yet valid, even after a lenient route accepted it (401 ERR_JWT_NOT_YET_VALID)', async () => {
        // nbf = now + leeway + 60
        const t = withMode({ claimNbf: true, claimNbfDelta: 60 })
        const token = await loginToken(t)
        expect401(await t.get('/payload', token), 'ERR_JWT_NOT_YET_VALID', NBF_REASONS)
        expectOk(await t.get('/lenient', token))
        expect401(await t.get('/payload', token), 'ERR_JWT_NOT_YET_VALID', NBF_REASONS)
        mode.checks({ cached: 2, off: 3 })
        t.clock.now += 59
        expect401(await t.get('/payload', token), 'ERR_JWT_NOT_YET_VALID', NBF_REASONS)
        t.clock.now += 1
        expectOk(await t.get('/payload', token))
      })

      it('never serves a token issued in the future, even after a lenient route accepted it (401 ERR_JWT_NOT_YET_VALID)', async () => {
        const t = withMode({ claimIat: true })
        t.clock.now += 1000
        const token = await loginToken(t)
        t.clock.now -= 1000
        expect(payloadOf(token).iat).to.equal(t.clock.now + 1000)
        expect401(await t.get('/payload', token), 'ERR_JWT_NOT_YET_VALID', IAT_REASONS)
        expectOk(await t.get('/lenient', token))
        expect401(await t.get('/payload', token), 'ERR_JWT_NOT_YET_VALID', IAT_REASONS)
        mode.checks({ cached: 2, off: 3 })
      })

      it('applies a claimAud changed with config.set to a verified token (401 ERR_JWT_INVALID_AUDIENCE)', async () => {
        const t = withMode({ claimAud: 'api' })
        const token = await loginToken(t)
        expect(payloadOf(token).aud).to.equal('api')
        expectOk(await t.get('/payload', token))
        t.jwt.config.set('claimAud', 'other-api')
        expect401(await t.get('/payload', token), 'ERR_JWT_INVALID_AUDIENCE', INVALID_AUDIENCE)
        t.jwt.config.set('claimAud', null)
        expect401(await t.get('/payload', token), 'ERR_JWT_INVALID_AUDIENCE', INVALID_AUDIENCE)
        t.jwt.config.set('claimAud', 'api')
        expectOk(await t.get('/payload', token))
        mode.checks({ cached: 1, off: 4 })
      })

      it('applies a claimAud set later to a verified token without aud', async () => {
        const t = withMode()
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        t.jwt.config.set('claimAud', 'api')
        expect401(await t.get('/payload', token), 'ERR_JWT_INVALID_AUDIENCE', INVALID_AUDIENCE)
        mode.checks({ cached: 1, off: 2 })
      })

      it('applies a claimIss changed with config.set to a verified token (401 ERR_JWT_INVALID_ISSUER)', async () => {
        const t = withMode({ claimIss: 'issuer-a' })
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        t.jwt.config.set('claimIss', 'issuer-b')
        expect401(await t.get('/payload', token), 'ERR_JWT_INVALID_ISSUER', INVALID_ISSUER)
        t.jwt.config.set('claimIss', 'issuer-a')
        expectOk(await t.get('/payload', token))
        mode.checks({ cached: 1, off: 3 })
      })

      it('runs extra verifications on every request, and rejects a verified token once one returns false (401 ERR_JWT_VERIFICATION_FAILED)', async () => {
        let allow = true
        let calls = 0
        const t = withMode({
          extraVerifications: [
            () => {
              calls++
              return allow
            },
          ],
        })
        const token = await loginToken(t)
        for (let i = 0; i < 3; i++) expectOk(await t.get('/payload', token))
        expect(calls).to.equal(3)
        allow = false
        expect401(await t.get('/payload', token), 'ERR_JWT_VERIFICATION_FAILED', NOT_MET)
        expect(calls).to.equal(4)
        allow = true
        expectOk(await t.get('/payload', token))
        mode.checks({ cached: 1, off: 5 })
      })

      it('runs custom claims on every request, and rejects a verified token once one fails (401 ERR_JWT_CUSTOM_CLAIM_FAILED)', async () => {
        const t = withMode({ customClaims: [TenantClaim] })
        const token = await loginToken(t)
        expect(payloadOf(token).tenant).to.equal('acme')
        for (let i = 0; i < 3; i++) expectOk(await t.get('/payload', token))
        expect(TenantClaim.calls).to.equal(3)
        TenantClaim.allowed = 'globex'
        const res = await t.get('/payload', token)
        expect401(res, 'ERR_JWT_CUSTOM_CLAIM_FAILED', ['Invalid claim: tenant.'])
        expect(TenantClaim.calls).to.equal(4)
        mode.checks({ cached: 1, off: 4 })
      })

      it('rejects a verified token of a user whose secret changed, and keeps serving the other users', async () => {
        const secrets = new Map<unknown, string>([
          [1, 'user-one-secret-that-is-long-enough'],
          [2, 'user-two-secret-that-is-long-enough'],
        ])
        const t = withMode({ retrieveUserSecret: (userId) => secrets.get(userId) ?? '' })
        const one = await loginToken(t, 'user1')
        const two = await loginToken(t, 'user2')
        expectOk(await t.get('/payload', one))
        expectOk(await t.get('/payload', two))
        secrets.set(1, 'user-one-new-secret-that-is-long-enough')
        expectInvalidToken(await t.get('/payload', one))
        expectInvalidToken(await t.get('/payload', one))
        expectOk(await t.get('/payload', two))
        expectOk(await t.get('/payload', await loginToken(t, 'user1')))
        mode.checks({ cached: 5, off: 6 })
      })

      it('rejects a verified token on a route whose secret override differs', async () => {
        const t = withMode()
        t.router.get('/other-secret', t.jwt.protected({ secret: OTHER_SECRET }), (ctx) => {
          ctx.body = ctx.state.jwt
        })
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        expectInvalidToken(await t.get('/other-secret', token))
        expectOk(await t.get('/payload', token))
      })

      it('rejects a verified token on a route whose algorithm override differs, with the same key object', async () => {
        const t = withMode({ secret: createSecretKey(Buffer.from(SECRET, 'utf8')) })
        t.router.get('/hs512', t.jwt.protected({ algorithm: 'HS512' }), (ctx) => {
          ctx.body = ctx.state.jwt
        })
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        expectInvalidToken(await t.get('/hs512', token))
        expectOk(await t.get('/payload', token))
        // The mismatch dropped the entry: the last request verified the signature again.
        mode.checks({ cached: 3, off: 3 })
      })

      it(
        mode.verifyCache === false
          ? 'gives each request its own, writable ctx.state.jwt'
          : 'makes ctx.state.jwt and its nested arrays read-only (cached payloads are shared)',
        async () => {
          const t = withMode({ addScopesToPayload: (user) => user.scopes ?? [] })
          const token = await loginToken(t)
          const frozen = mode.verifyCache !== false
          for (let i = 0; i < 2; i++) {
            const res = await t.get('/frozen', token)
            expectOk(res)
            expect(res.body).to.deep.equal({ payload: frozen, scopes: frozen })
          }
        },
      )

      it('never lets a route that mutates ctx.state.jwt change the payload of the next request', async () => {
        const t = withMode({ addScopesToPayload: (user) => user.scopes ?? [] })
        const token = await loginToken(t)
        const expected = payloadOf(token)
        expect(expected.scopes).to.deep.equal(['user'])
        const status = mode.verifyCache === false ? 200 : 500
        expectOk(await t.get('/payload', token))
        expect((await t.get('/mutate', token)).status).to.equal(status)
        let res = await t.get('/payload', token)
        expectOk(res)
        expect(res.body).to.deep.equal(expected)
        expect((await t.get('/mutate-scopes', token)).status).to.equal(status)
        res = await t.get('/payload', token)
        expectOk(res)
        expect(res.body).to.deep.equal(expected)
        const errors = t.errors.splice(0)
        expect(errors).to.have.length(mode.verifyCache === false ? 0 : 2)
        for (const error of errors) expect(error).to.be.instanceOf(TypeError)
      })
    })
  }

  describe('with the cache on', () => {
    it('holds a token once it has been verified: evictVerified({ token }) is 0 before, 1 after', async () => {
      const t = setup({ verifyCache: true })
      const token = await loginToken(t)
      expect(t.jwt.auth.evictVerified({ token })).to.equal(0)
      expectOk(await t.get('/payload', token))
      expect(t.jwt.auth.evictVerified({ token })).to.equal(1)
      expect(t.jwt.auth.evictVerified({ token })).to.equal(0)
    })

    it('verifies the signature once for repeated requests, and again after an eviction', async () => {
      const t = setup({ verifyCache: true })
      const token = await loginToken(t)
      for (let i = 0; i < 5; i++) expectOk(await t.get('/payload', token))
      expect(signatureChecks).to.equal(1)
      expect(t.jwt.auth.evictVerified({ token })).to.equal(1)
      expectOk(await t.get('/payload', token))
      expect(signatureChecks).to.equal(2)
    })

    it('stores nothing for a token that fails verification', async () => {
      const t = setup({ verifyCache: true, claimNbf: true, claimNbfDelta: 60 })
      const token = await loginToken(t)
      expect401(await t.get('/payload', token), 'ERR_JWT_NOT_YET_VALID', NBF_REASONS)
      expect(t.jwt.auth.evictVerified({ token })).to.equal(0)
      expectInvalidToken(await t.get('/payload', tamper(token)))
      expect(t.jwt.auth.evictVerified({ token: tamper(token) })).to.equal(0)
    })

    it('does not store a token accepted only because expiry is not verified and already past its window', async () => {
      const t = setup({ verifyCache: true })
      const token = await loginToken(t)
      t.clock.now += EXPIRED_AFTER
      expectOk(await t.get('/no-exp', token))
      expect(t.jwt.auth.evictVerified({ token })).to.equal(0)
    })

    it('serves a hit until exp + leeway and drops the entry then', async () => {
      const t = setup({ verifyCache: { ttl: LONG_TTL } })
      const token = await loginToken(t)
      expectOk(await t.get('/payload', token))
      t.clock.now += LIFETIME + LEEWAY - 1
      expectOk(await t.get('/payload', token))
      expect(signatureChecks).to.equal(1)
      t.clock.now += 1
      expectExpired(await t.get('/payload', token))
      expect(t.jwt.auth.evictVerified({ token })).to.equal(0)
    })

    it('keeps an entry no longer than the ttl', async () => {
      const t = setup({ verifyCache: { ttl: 60 } })
      const token = await loginToken(t)
      expectOk(await t.get('/payload', token))
      t.clock.now += 59
      expectOk(await t.get('/payload', token))
      expect(signatureChecks).to.equal(1)
      t.clock.now += 1
      expectOk(await t.get('/payload', token))
      expect(signatureChecks).to.equal(2)
    })

    it('evicts the least recently used token beyond max', async () => {
      const t = setup({ verifyCache: { max: 2 } })
      const one = await loginToken(t, 'user1')
      const two = await loginToken(t, 'user2')
      t.clock.now += 1
      const three = await loginToken(t, 'user1')
      expect(three).to.not.equal(one)
      expectOk(await t.get('/payload', one))
      expectOk(await t.get('/payload', two))
      expectOk(await t.get('/payload', one))
      expectOk(await t.get('/payload', three))
      expect(signatureChecks).to.equal(3)
      expect(t.jwt.auth.evictVerified({ token: two })).to.equal(0)
      expect(t.jwt.auth.evictVerified({ token: one })).to.equal(1)
      expect(t.jwt.auth.evictVerified({ token: three })).to.equal(1)
    })

    for (const [setting, value] of [
      ['secret', OTHER_SECRET],
      ['algorithm', 'HS512'],
    ] as const) {
      it(`is cleared by config.set('${setting}'): the verified token is rejected (401 ERR_JWT_INVALID_TOKEN)`, async () => {
        const t = setup({ verifyCache: true })
        const token = await loginToken(t)
        expectOk(await t.get('/payload', token))
        t.jwt.config.set(setting, value)
        expect(t.jwt.auth.evictVerified({ token })).to.equal(0)
        expectInvalidToken(await t.get('/payload', token))
        expectOk(await t.get('/payload', await loginToken(t)))
      })
    }

    it("is cleared by config.set('privateKey'): the verified token is rejected (401 ERR_JWT_INVALID_TOKEN)", async () => {
      const t = setup({
        verifyCache: true,
        algorithm: 'RS256',
        secret: null,
        privateKey: KEYS.rsa.privateKey,
      })
      const token = await loginToken(t)
      expectOk(await t.get('/payload', token))
      t.jwt.config.set('privateKey', KEYS.rsaOther.privateKey)
      expect(t.jwt.auth.evictVerified({ token })).to.equal(0)
      expectInvalidToken(await t.get('/payload', token))
      expectOk(await t.get('/payload', await loginToken(t)))
    })

    it('drops the entry of a user whose secret changed', async () => {
      const secrets = new Map<unknown, string>([[1, 'user-one-secret-that-is-long-enough']])
      const t = setup({
        verifyCache: true,
        retrieveUserSecret: (userId) => secrets.get(userId) ?? '',
      })
      const token = await loginToken(t)
      expectOk(await t.get('/payload', token))
      secrets.set(1, 'user-one-new-secret-that-is-long-enough')
      expectInvalidToken(await t.get('/payload', token))
      expect(t.jwt.auth.evictVerified({ token })).to.equal(0)
    })

    describe('revocation', () => {
      let t: CacheApp
      let revoked: Set<unknown>
      let jti = 0
      let first: string
      let second: string
      let other: string
      beforeEach(async () => {
        revoked = new Set()
        t = setup({
          verifyCache: true,
          extendPayload: (payload) => ({ ...payload, jti: `jti-${++jti}` }),
          extraVerifications: [(payload) => !revoked.has(payload.jti)],
        })
        first = await loginToken(t, 'user1')
        second = await loginToken(t, 'user1')
        other = await loginToken(t, 'user2')
        for (const token of [first, second, other]) expectOk(await t.get('/payload', token))
        expect(signatureChecks).to.equal(3)
      })

      it('evictVerified({ jti }) removes that token only and returns 1, then 0', async () => {
        const id = payloadOf(first).jti
        expect(t.jwt.auth.evictVerified({ jti: id })).to.equal(1)
        expect(t.jwt.auth.evictVerified({ jti: id })).to.equal(0)
        expect(t.jwt.auth.evictVerified({ token: second })).to.equal(1)
        expect(t.jwt.auth.evictVerified({ token: other })).to.equal(1)
      })

      it('evictVerified({ userId }) removes every token of the user and returns how many', async () => {
        expect(t.jwt.auth.evictVerified({ userId: 1 })).to.equal(2)
        expect(t.jwt.auth.evictVerified({ userId: 1 })).to.equal(0)
        expect(t.jwt.auth.evictVerified({ token: other })).to.equal(1)
      })

      it('rejects a revoked and evicted token, verifying it again (401 ERR_JWT_VERIFICATION_FAILED)', async () => {
        revoked.add(payloadOf(first).jti)
        expect(t.jwt.auth.evictVerified({ jti: payloadOf(first).jti })).to.equal(1)
        expect401(await t.get('/payload', first), 'ERR_JWT_VERIFICATION_FAILED', NOT_MET)
        expect(signatureChecks).to.equal(4)
        expect(t.jwt.auth.evictVerified({ token: first })).to.equal(0)
        expectOk(await t.get('/payload', second))
        expect(signatureChecks).to.equal(4)
      })

      it('rejects every revoked token of a user after evictVerified({ userId })', async () => {
        revoked.add(payloadOf(first).jti)
        revoked.add(payloadOf(second).jti)
        expect(t.jwt.auth.evictVerified({ userId: 1 })).to.equal(2)
        expect401(await t.get('/payload', first), 'ERR_JWT_VERIFICATION_FAILED', NOT_MET)
        expect401(await t.get('/payload', second), 'ERR_JWT_VERIFICATION_FAILED', NOT_MET)
        expectOk(await t.get('/payload', other))
      })
    })

    it('evictVerified({ userId }) reads the payload key named by the userId setting', async () => {
      const t = setup({
        verifyCache: true,
        userId: 'uid',
        authenticate: () => ({ uid: 7 }) as unknown as TestUser,
      })
      const token = await loginToken(t)
      expect(payloadOf(token).uid).to.equal(7)
      expectOk(await t.get('/payload', token))
      expect(t.jwt.auth.evictVerified({ userId: 1 })).to.equal(0)
      expect(t.jwt.auth.evictVerified({ userId: 7 })).to.equal(1)
    })
  })

  describe('with the cache off', () => {
    it('verifies the signature on every request', async () => {
      const t = setup()
      const token = await loginToken(t)
      for (let i = 0; i < 3; i++) expectOk(await t.get('/payload', token))
      expect(signatureChecks).to.equal(3)
    })

    it('evictVerified() removes nothing and returns 0', async () => {
      const t = setup({ verifyCache: false })
      const token = await loginToken(t)
      expectOk(await t.get('/payload', token))
      expect(t.jwt.auth.evictVerified({ token })).to.equal(0)
      expect(t.jwt.auth.evictVerified({ userId: 1 })).to.equal(0)
    })
  })

  describe('validation', () => {
    const start = (verifyCache: unknown): Initialize<TestUser> =>
      new Initialize<TestUser>(new Koa(), {
        secret: SECRET,
        authenticate: authenticateWith(makeUsers()),
        verifyCache: verifyCache as boolean | VerifyCacheOptions,
      })

    const INVALID: [string, unknown][] = [
      ["'yes'", 'yes'],
      ['1', 1],
      ['a function', () => true],
      ['{ max: 0 }', { max: 0 }],
      ['{ max: -1 }', { max: -1 }],
      ['{ max: 1.5 }', { max: 1.5 }],
      ["{ max: '10' }", { max: '10' }],
      ['{ ttl: 0 }', { ttl: 0 }],
      ['{ ttl: -1 }', { ttl: -1 }],
      ['{ ttl: NaN }', { ttl: Number.NaN }],
      ["{ ttl: '60' }", { ttl: '60' }],
    ]
    for (const [label, value] of INVALID) {
      it(`throws InvalidConfiguration at start-up for verifyCache: ${label}`, () => {
        let thrown: unknown
        try {
          start(value)
        } catch (error) {
          thrown = error
        }
        expect(thrown).to.be.instanceOf(InvalidConfiguration)
        expect((thrown as InvalidConfiguration).code).to.equal('ERR_JWT_INVALID_CONFIGURATION')
        expect((thrown as Error).message).to.include('verifyCache')
      })
    }

    const VALID: [string, unknown][] = [
      ['true', true],
      ['false', false],
      ['undefined', undefined],
      ['{}', {}],
      ['{ max: 1 }', { max: 1 }],
      ['{ ttl: 0.5 }', { ttl: 0.5 }],
      ['{ max: 10, ttl: 30 }', { max: 10, ttl: 30 }],
    ]
    for (const [label, value] of VALID) {
      it(`accepts verifyCache: ${label}`, () => {
        expect(start(value)).to.be.instanceOf(Initialize)
      })
    }
  })
})
