import { expect } from 'chai'
import type { Context } from 'koa'
import type { Response } from 'supertest'

import {
  Authentication,
  InvalidConfiguration,
  MemoryStore,
  Responses,
  protect,
  type InitializeOptions,
  type JwtPayload,
  type KoaJwtError,
  type TokenStore,
} from '../../source'
import type { TestUser } from '../helpers/app'
import { expectError, signRaw } from '../helpers/initialize'
import {
  EXPIRED_AFTER,
  bearer,
  build,
  expectNoUnhandledErrors,
  getAs,
  payloadOf,
  type OptionsApp,
} from '../helpers/options'

/*
 * Signature checks are counted on jsonwebtoken's `verify` (the library reads it from the module's
 * exports at call time): a request that runs none was answered from the verify cache.
 */
const engine = require('jsonwebtoken') as { verify: (...args: unknown[]) => unknown }
const engineVerify = engine.verify

const JTI = /^[A-Za-z0-9_-]{22}$/
const REVOKED = ['Token has been revoked.']

/** Asserts the 401 RevokedToken every guard answers for a revoked token. */
function expectRevoked(res: Response): void {
  expectError(res, 401, 'RevokedToken', 'ERR_JWT_REVOKED', REVOKED)
  expect(res.headers['www-authenticate'], JSON.stringify(res.headers)).to.match(/^Bearer\b/)
}

/**
 * {@link build} with revocation settings, plus routes: module-level `protect()`, a required
 * `injectUser()`, routes that skip the revocation check, and chains of two guards.
 */
function revocable(options: InitializeOptions<TestUser> = {}): OptionsApp {
  const t = build({ revocationEnabled: true, addScopesToPayload: (user) => user.scopes ?? [], ...options })
  const ok = (ctx: Context): void => {
    ctx.body = { ok: true, user_id: (ctx.state.jwt as JwtPayload | undefined)?.user_id }
  }
  t.router.get('/module', protect(), ok)
  t.router.get('/required-user', t.jwt.injectUser({ required: true }), (ctx) => {
    ctx.body = { user: ctx.state.user.username }
  })
  t.router.get('/skip', t.jwt.protected({ skipRevocationCheck: true }), ok)
  t.router.get('/skip-scoped', t.jwt.scoped('user', { skipRevocationCheck: true }), ok)
  t.router.get('/skip-then-strict', t.jwt.protected({ skipRevocationCheck: true }), t.jwt.protected(), ok)
  t.router.get('/strict-then-skip', t.jwt.protected(), t.jwt.protected({ skipRevocationCheck: true }), ok)
  t.router.get('/strict-twice', t.jwt.protected(), t.jwt.protected(), ok)
  return t
}

async function loginBody(t: OptionsApp, username = 'user1'): Promise<Record<string, string>> {
  return t.login(username)
}

async function accessToken(t: OptionsApp, username = 'user1'): Promise<string> {
  return (await loginBody(t, username)).access_token!
}

function jtiOf(token: string): string {
  return payloadOf(token).jti as string
}

function refresh(t: OptionsApp, access: string, refreshToken: string): Promise<Response> {
  return t.agent.post('/auth/refresh').set('Authorization', bearer(access)).send({ refresh_token: refreshToken })
}

/** The places a revoked access token must be refused, as `protected()` refuses it. */
const GUARDED = ['/protected', '/scoped/user', '/module', '/required-user', '/auth/me'] as const

describe('option: revocationEnabled', () => {
  afterEach(expectNoUnhandledErrors)

  describe('token ids', () => {
    it('gives every access token a jti of 22 base64url characters and an iat', async () => {
      const t = revocable()
      const payload = payloadOf(await accessToken(t))
      expect(payload.jti).to.match(JTI)
      expect(payload.iat).to.equal(Math.floor(t.clock.now))
    })

    it('gives every login a different jti', async () => {
      const t = revocable()
      const jtis = new Set<string>()
      for (let i = 0; i < 20; i++) jtis.add(jtiOf(await accessToken(t, i % 2 === 0 ? 'user1' : 'user2')))
      expect(jtis.size).to.equal(20)
    })

    it('gives refreshed, fresh-login and hand-made access tokens a jti and an iat too', async () => {
      const t = revocable({ refreshTokenEnabled: true, freshLoginEnabled: true })
      const login = await loginBody(t)
      const refreshed = await refresh(t, login.access_token!, login.refresh_token!)
      expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200)
      const fresh = await t.agent.post('/auth/fresh').send({ username: 'user1', password: 'abcxyz' })
      expect(fresh.status, JSON.stringify(fresh.body)).to.equal(200)
      const made = await t.jwt.auth.generateAccessToken(t.users[0]!)
      const tokens = [login.access_token!, refreshed.body.access_token as string, fresh.body.access_token as string, made]
      for (const token of tokens) {
        expect(payloadOf(token).jti).to.match(JTI)
        expect(payloadOf(token).iat).to.be.a('number')
      }
      expect(new Set(tokens.map(jtiOf)).size).to.equal(4)
    })

    it('records every access token issued in the store', async () => {
      const t = revocable()
      const token = await accessToken(t, 'user2')
      const record = await t.jwt.tokens.get(jtiOf(token))
      expect(record).to.include({ jti: jtiOf(token), userId: '2', type: 'access', revoked: false })
    })

    it('keeps a jti of its own over one given by extendPayload', async () => {
      const t = revocable({ extendPayload: (payload) => ({ ...payload, jti: 'chosen-by-the-app' }) })
      expect(jtiOf(await accessToken(t))).to.match(JTI)
    })
  })

  describe('turning it on and off', () => {
    it('is off by default: no jti, no iat, no store, no /auth/logout, and the registry refuses to work', async () => {
      const t = build()
      const token = await accessToken(t)
      expect(payloadOf(token)).to.not.have.any.keys('jti', 'iat')
      expect(t.jwt.config.get('revocationEnabled')).to.equal(false)
      expect(t.jwt.tokens.store).to.equal(undefined)
      expect((await getAs(t, '/protected', token)).status).to.equal(200)
      expect((await t.agent.post('/auth/logout').set('Authorization', bearer(token))).status).to.equal(404)
      let failure: KoaJwtError | undefined
      await t.jwt.tokens.revoke(jtiOf(token) ?? 'x').catch((error: KoaJwtError) => (failure = error))
      expect(failure?.code).to.equal('ERR_JWT_STORE_UNAVAILABLE')
    })

    it('uses a MemoryStore on the instance clock when on without a tokenStore', async () => {
      const t = revocable()
      expect(t.jwt.tokens.store).to.be.instanceOf(MemoryStore)
      const token = await accessToken(t)
      const { expiresAt } = (await t.jwt.tokens.get(jtiOf(token)))!
      // The store follows the instance clock: the record is gone when the clock says so.
      t.clock.now = expiresAt! - 1
      expect(await t.jwt.tokens.get(jtiOf(token))).to.not.equal(undefined)
      t.clock.now = expiresAt!
      expect(await t.jwt.tokens.get(jtiOf(token))).to.equal(undefined)
    })

    it('is turned on by the tokenStore option, which then holds the records', async () => {
      const clock = { now: 1_700_000_000 }
      const store = new MemoryStore({ clock: () => clock.now })
      const t = build({ clock: () => clock.now, tokenStore: store })
      expect(t.jwt.config.get('revocationEnabled')).to.equal(true)
      expect(t.jwt.tokens.store).to.equal(store)
      const token = await accessToken(t)
      expect(await store.get(`token:${jtiOf(token)}`)).to.include({ type: 'access', userId: '1' })
      await t.jwt.tokens.revoke(jtiOf(token))
      expectRevoked(await getAs(t, '/protected', token))
    })

    it('stays off with tokenStore and an explicit revocationEnabled: false', async () => {
      const store = new MemoryStore()
      const t = build({ tokenStore: store, revocationEnabled: false })
      expect(t.jwt.config.get('revocationEnabled')).to.equal(false)
      expect(t.jwt.tokens.store).to.equal(undefined)
      const token = await accessToken(t)
      expect(payloadOf(token)).to.not.have.any.keys('jti', 'iat')
      expect(store.size).to.equal(0)
      expect((await t.agent.post('/auth/logout').set('Authorization', bearer(token))).status).to.equal(404)
    })

    it('refuses a tokenStore that is not a store, naming what it lacks', () => {
      const notAStore = { get: async () => undefined } as unknown as TokenStore
      expect(() => build({ tokenStore: notAStore }))
        .to.throw(InvalidConfiguration)
        .with.property('message')
        .that.includes('set, setIfAbsent')
    })

    it('leaves the tokens of an instance with revocation off alone while another has it on', async () => {
      const on = revocable()
      const off = build()
      const offToken = await accessToken(off)
      expect(payloadOf(offToken)).to.not.have.any.keys('jti')
      // The same secret: the instance with revocation on sees a token without jti.
      expectError(await getAs(on, '/protected', offToken), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING')
      expect((await getAs(off, '/protected', offToken)).status).to.equal(200)
    })
  })

  describe('a revoked access token', () => {
    it('is accepted everywhere before it is revoked', async () => {
      const t = revocable()
      const token = await accessToken(t)
      for (const path of [...GUARDED, '/me/injected']) {
        const res = await getAs(t, path, token)
        expect(res.status, `${path} ${JSON.stringify(res.body)}`).to.equal(200)
      }
      expect((await getAs(t, '/auth/verify', token)).body).to.deep.equal({ valid: true })
    })

    for (const [how, revoke] of [
      ['by jti', (t: OptionsApp, token: string) => t.jwt.tokens.revoke(jtiOf(token))],
      ['by token', (t: OptionsApp, token: string) => t.jwt.tokens.revoke(token)],
      [
        'by revokeUser',
        (t: OptionsApp) => {
          // A moment after the token: a token of the very instant of the cut-off passes.
          t.clock.now += 0.001
          return t.jwt.tokens.revokeUser(1)
        },
      ],
    ] as const) {
      it(`is refused by protected(), scoped(), protect(), injectUser({ required }) and /auth/me (revoked ${how})`, async () => {
        const t = revocable()
        const token = await accessToken(t)
        await revoke(t, token)
        for (const path of GUARDED) expectRevoked(await getAs(t, path, token))
      })

      it(`is answered { valid: false, code: ERR_JWT_REVOKED } by /auth/verify (revoked ${how})`, async () => {
        const t = revocable()
        const token = await accessToken(t)
        await revoke(t, token)
        const res = await getAs(t, '/auth/verify', token)
        expect(res.status).to.equal(401)
        expect(res.body).to.deep.equal({ valid: false, reasons: REVOKED, exception: 'InvalidToken', code: 'ERR_JWT_REVOKED' })
      })

      it(`makes plain injectUser() treat the request as anonymous (revoked ${how})`, async () => {
        const t = revocable()
        const token = await accessToken(t)
        expect((await getAs(t, '/me/injected', token)).body.user).to.include({ user_id: 1 })
        await revoke(t, token)
        const res = await getAs(t, '/me/injected', token)
        expect(res.status).to.equal(200)
        expect(res.body).to.deep.equal({ user: null })
      })
    }

    it('is refused by /auth/refresh: the access token is checked there too', async () => {
      const t = revocable({ refreshTokenEnabled: true })
      const login = await loginBody(t)
      await t.jwt.tokens.revoke(login.access_token!)
      expectRevoked(await refresh(t, login.access_token!, login.refresh_token!))
    })

    it('stays refused by /auth/refresh once it has expired (verifyExp is off there)', async () => {
      const t = revocable({ refreshTokenEnabled: true })
      const login = await loginBody(t)
      await t.jwt.tokens.revoke(jtiOf(login.access_token!))
      expectRevoked(await refresh(t, login.access_token!, login.refresh_token!))
      t.clock.now += EXPIRED_AFTER + 1
      expectRevoked(await refresh(t, login.access_token!, login.refresh_token!))
    })

    it('refuses only that token: another login of the same user goes on', async () => {
      const t = revocable()
      const revoked = await accessToken(t)
      const other = await accessToken(t)
      await t.jwt.tokens.revoke(jtiOf(revoked))
      expectRevoked(await getAs(t, '/protected', revoked))
      expect((await getAs(t, '/protected', other)).status).to.equal(200)
    })

    it('is accepted again once unrevoked', async () => {
      const t = revocable()
      const token = await accessToken(t)
      await t.jwt.tokens.revoke(jtiOf(token))
      expectRevoked(await getAs(t, '/protected', token))
      expect(await t.jwt.tokens.unrevoke(jtiOf(token))).to.equal(true)
      for (const path of GUARDED) expect((await getAs(t, path, token)).status, path).to.equal(200)
      expect((await getAs(t, '/auth/verify', token)).body).to.deep.equal({ valid: true })
    })

    it('revokeUser refuses every token of the user issued up to then, and accepts later logins', async () => {
      const t = revocable()
      const phone = await accessToken(t)
      const laptop = await accessToken(t)
      const otherUser = await accessToken(t, 'user2')
      t.clock.now += 1
      await t.jwt.tokens.revokeUser(1)
      expectRevoked(await getAs(t, '/protected', phone))
      expectRevoked(await getAs(t, '/protected', laptop))
      expect((await getAs(t, '/protected', otherUser)).status).to.equal(200)
      t.clock.now += 0.001
      const later = await accessToken(t)
      expect((await getAs(t, '/protected', later)).status).to.equal(200)
    })

    it('revokeUser refuses a token issued with a longer per-token expirationDelta for its whole life', async () => {
      const t = revocable({ refreshExpirationDelta: 3600 })
      const day = 24 * 3600
      const token = await t.jwt.auth.generateAccessToken(t.users[0]!, { expirationDelta: day })
      t.clock.now += 1
      await t.jwt.tokens.revokeUser(1)
      expectRevoked(await getAs(t, '/protected', token))
      // Past both configured lifetimes (expirationDelta 1800, refreshExpirationDelta 3600), within its own.
      t.clock.now += 2 * 3600
      expectRevoked(await getAs(t, '/protected', token))
      t.clock.now += day - 3 * 3600
      expectRevoked(await getAs(t, '/protected', token))
    })

    it('a token revoked by token although another instance issued it (same key) is refused', async () => {
      const t = revocable()
      const elsewhere = revocable()
      const token = await accessToken(elsewhere)
      expect(await t.jwt.tokens.get(jtiOf(token))).to.equal(undefined)
      expect((await getAs(t, '/protected', token)).status).to.equal(200)
      expect(await t.jwt.tokens.revoke(token)).to.equal(true)
      expectRevoked(await getAs(t, '/protected', token))
    })
  })

  describe('revocationChecks', () => {
    it("'refresh' skips access tokens and checks refresh tokens", async () => {
      const t = revocable({ refreshTokenEnabled: true, revocationChecks: 'refresh' })
      const login = await loginBody(t)
      await t.jwt.tokens.revoke(login.access_token!)
      expect((await getAs(t, '/protected', login.access_token!)).status).to.equal(200)
      expect((await getAs(t, '/auth/verify', login.access_token!)).body).to.deep.equal({ valid: true })
      const ok = await refresh(t, login.access_token!, login.refresh_token!)
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200)
      await t.jwt.tokens.revoke(login.refresh_token!)
      expectRevoked(await refresh(t, login.access_token!, login.refresh_token!))
    })

    it("'access' skips refresh tokens and checks access tokens", async () => {
      const t = revocable({ refreshTokenEnabled: true, revocationChecks: 'access' })
      const login = await loginBody(t)
      const other = await loginBody(t)
      await t.jwt.tokens.revoke(login.refresh_token!)
      const ok = await refresh(t, other.access_token!, login.refresh_token!)
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200)
      await t.jwt.tokens.revoke(login.access_token!)
      expectRevoked(await getAs(t, '/protected', login.access_token!))
      expectRevoked(await refresh(t, login.access_token!, other.refresh_token!))
    })

    it("'all' (the default) checks both", async () => {
      const t = revocable({ refreshTokenEnabled: true })
      expect(t.jwt.config.get('revocationChecks')).to.equal('all')
      const login = await loginBody(t)
      const other = await loginBody(t)
      await t.jwt.tokens.revoke(login.refresh_token!)
      expectRevoked(await refresh(t, other.access_token!, login.refresh_token!))
      await t.jwt.tokens.revoke(login.access_token!)
      expectRevoked(await getAs(t, '/protected', login.access_token!))
    })

    it('refuses another value at start-up', () => {
      expect(() => build({ revocationEnabled: true, revocationChecks: 'none' as 'all' })).to.throw(InvalidConfiguration)
    })
  })

  describe('route option skipRevocationCheck', () => {
    it('lets a revoked token through protected() and scoped() on that route only', async () => {
      const t = revocable({ addScopesToPayload: () => ['user'] })
      const token = await accessToken(t)
      await t.jwt.tokens.revoke(jtiOf(token))
      const skip = await getAs(t, '/skip', token)
      expect(skip.status, JSON.stringify(skip.body)).to.equal(200)
      expect(skip.body).to.deep.equal({ ok: true, user_id: 1 })
      expect((await getAs(t, '/skip-scoped', token)).status).to.equal(200)
      expectRevoked(await getAs(t, '/protected', token))
      expectRevoked(await getAs(t, '/scoped/user', token))
    })

    it('still verifies the token on that route', async () => {
      const t = revocable()
      const token = await accessToken(t)
      t.clock.now += EXPIRED_AFTER + 1
      expectError(await getAs(t, '/skip', token), 401, 'Unauthorized', 'ERR_JWT_EXPIRED')
      expectError(await t.agent.get('/skip'), 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    })

    it('does not vouch for a stricter guard after it on the same request (the per-request memo)', async () => {
      const t = revocable()
      const token = await accessToken(t)
      for (const path of ['/skip-then-strict', '/strict-then-skip', '/strict-twice']) {
        expect((await getAs(t, path, token)).status, path).to.equal(200)
      }
      await t.jwt.tokens.revoke(jtiOf(token))
      expectRevoked(await getAs(t, '/skip-then-strict', token))
      expectRevoked(await getAs(t, '/strict-then-skip', token))
      expectRevoked(await getAs(t, '/strict-twice', token))
    })

    it('asks isTokenRevoked once per request however many guards check it', async () => {
      const calls: string[] = []
      class Counting extends Authentication<TestUser> {
        override async isTokenRevoked(payload: JwtPayload, ctx?: Context): Promise<boolean> {
          calls.push(ctx?.path ?? '?')
          return super.isTokenRevoked(payload, ctx)
        }
      }
      const t = revocable({ authenticationClass: Counting })
      const token = await accessToken(t)
      for (const path of ['/skip', '/skip-then-strict', '/strict-then-skip', '/strict-twice']) {
        expect((await getAs(t, path, token)).status, path).to.equal(200)
      }
      expect(calls).to.deep.equal(['/skip-then-strict', '/strict-then-skip', '/strict-twice'])
    })

    it('must be a boolean', () => {
      const t = revocable()
      expect(() => t.jwt.protected({ skipRevocationCheck: 'yes' as unknown as boolean })).to.throw(InvalidConfiguration)
    })
  })

  describe('the isTokenRevoked handler', () => {
    it('turns revocation on', async () => {
      const t = build({ isTokenRevoked: () => false })
      expect(t.jwt.config.get('revocationEnabled')).to.equal(true)
      expect(jtiOf(await accessToken(t))).to.match(JTI)
    })

    it('receives the verified payload and the request, and refuses with 401 RevokedToken on true', async () => {
      const seen: unknown[] = []
      const t = build({
        isTokenRevoked: (payload, ctx) => {
          seen.push([payload.user_id, payload.jti, ctx?.path])
          return payload.user_id === 2
        },
      })
      const one = await accessToken(t, 'user1')
      const two = await accessToken(t, 'user2')
      expect((await getAs(t, '/protected', one)).status).to.equal(200)
      expectRevoked(await getAs(t, '/protected', two))
      expect(seen).to.deep.equal([
        [1, jtiOf(one), '/protected'],
        [2, jtiOf(two), '/protected'],
      ])
    })

    it('replaces the store check: a token revoked in the store is accepted when it answers false', async () => {
      const t = build({ isTokenRevoked: async () => false })
      const token = await accessToken(t)
      await t.jwt.tokens.revoke(jtiOf(token))
      expect((await getAs(t, '/protected', token)).status).to.equal(200)
    })

    it('decides for a token without jti too (no store check)', async () => {
      const t = build({ isTokenRevoked: () => false })
      const token = signRaw({ user_id: 1, exp: Math.floor(t.clock.now) + 60 })
      expect((await getAs(t, '/protected', token)).status).to.equal(200)
    })

    for (const answer of ['no', undefined]) {
      it(`answers 500 HandlerFailed when it returns ${JSON.stringify(answer) ?? 'undefined'}`, async () => {
        const t = build({ isTokenRevoked: (() => answer) as unknown as () => boolean })
        const token = await accessToken(t)
        const reasons = ['isTokenRevoked must return a boolean.']
        expectError(await getAs(t, '/auth/verify', token), 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED', reasons)
        expectError(await getAs(t, '/protected', token), 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED', reasons)
      })
    }

    it('answers 500 HandlerFailed for a non-boolean in debug mode too', async () => {
      const t = build({ debug: true, isTokenRevoked: (() => 1) as unknown as () => boolean })
      const token = await accessToken(t)
      expectError(await getAs(t, '/protected', token), 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
    })

    it('keeps the store check when an Authentication subclass calls super.isTokenRevoked', async () => {
      class Banned extends Authentication<TestUser> {
        override async isTokenRevoked(payload: JwtPayload, ctx?: Context): Promise<boolean> {
          if (payload.user_id === 2) return true
          return super.isTokenRevoked(payload, ctx)
        }
      }
      const t = build({ authenticationClass: Banned })
      expect(t.jwt.config.get('revocationEnabled')).to.equal(true)
      const one = await accessToken(t, 'user1')
      const two = await accessToken(t, 'user2')
      expect((await getAs(t, '/protected', one)).status).to.equal(200)
      expectRevoked(await getAs(t, '/protected', two))
      await t.jwt.tokens.revoke(jtiOf(one))
      expectRevoked(await getAs(t, '/protected', one))
      const noJti = signRaw({ user_id: 1, exp: Math.floor(t.clock.now) + 60 })
      expectError(await getAs(t, '/protected', noJti), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING')
    })
  })

  describe('with the verify cache', () => {
    let signatureChecks = 0
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

    it('refuses a cached token revoked afterwards, on the next request, without a new signature check', async () => {
      const t = revocable({ verifyCache: true })
      const token = await accessToken(t)
      expect((await getAs(t, '/protected', token)).status).to.equal(200)
      expect((await getAs(t, '/protected', token)).status).to.equal(200)
      expect(signatureChecks).to.equal(1)
      await t.jwt.tokens.revoke(jtiOf(token))
      expectRevoked(await getAs(t, '/protected', token))
      expect(signatureChecks).to.equal(1)
      await t.jwt.tokens.unrevoke(jtiOf(token))
      expect((await getAs(t, '/protected', token)).status).to.equal(200)
    })

    it('refuses a cached token of a user revoked afterwards', async () => {
      const t = revocable({ verifyCache: true })
      const token = await accessToken(t)
      expect((await getAs(t, '/protected', token)).status).to.equal(200)
      t.clock.now += 1
      await t.jwt.tokens.revokeUser(1)
      expectRevoked(await getAs(t, '/protected', token))
    })
  })

  describe('a token without jti', () => {
    it('is refused with 401 ERR_JWT_CLAIM_MISSING while revocation is on', async () => {
      const t = revocable()
      const token = signRaw({ user_id: 1, exp: Math.floor(t.clock.now) + 60, iat: Math.floor(t.clock.now) })
      for (const path of GUARDED) {
        expectError(await getAs(t, path, token), 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING', ['Token is missing the "jti" claim.'])
      }
      const verify = await getAs(t, '/auth/verify', token)
      expect(verify.status).to.equal(401)
      expect(verify.body).to.include({ valid: false, code: 'ERR_JWT_CLAIM_MISSING' })
    })

    it('is accepted with revocation off', async () => {
      const t = build()
      const token = signRaw({ user_id: 1, exp: Math.floor(t.clock.now) + 60 })
      expect((await getAs(t, '/protected', token)).status).to.equal(200)
    })
  })

  describe('the revokedTokenResponse hook', () => {
    class Custom extends Responses {
      override revokedTokenResponse(ctx: Context, error: KoaJwtError): void {
        ctx.status = 401
        ctx.body = { revoked: true, code: error.code, path: ctx.path }
      }
    }

    it('answers revoked tokens on guarded routes and on /auth/verify', async () => {
      const t = revocable({ responsesClass: Custom })
      const token = await accessToken(t)
      await t.jwt.tokens.revoke(jtiOf(token))
      for (const path of ['/protected', '/scoped/user', '/module', '/required-user', '/auth/me', '/auth/verify']) {
        const res = await getAs(t, path, token)
        expect(res.status, path).to.equal(401)
        expect(res.body, path).to.deep.equal({ revoked: true, code: 'ERR_JWT_REVOKED', path })
      }
    })

    it('answers no other failure', async () => {
      const t = revocable({ responsesClass: Custom })
      const token = await accessToken(t)
      t.clock.now += EXPIRED_AFTER + 1
      expectError(await getAs(t, '/protected', token), 401, 'Unauthorized', 'ERR_JWT_EXPIRED')
    })
  })

  describe('a failing token store', () => {
    /** A MemoryStore whose reads fail once `down` is set. */
    function flaky(): { store: MemoryStore; state: { down: boolean } } {
      const state = { down: false }
      class Flaky extends MemoryStore {
        override async get(key: string) {
          if (state.down) throw new Error('store down')
          return super.get(key)
        }
        override async set(...args: Parameters<MemoryStore['set']>) {
          if (state.down) throw new Error('store down')
          return super.set(...args)
        }
      }
      return { store: new Flaky(), state }
    }

    it('answers 503 StoreUnavailable on a guarded route, never a 401 nor the route', async () => {
      const { store, state } = flaky()
      const t = revocable({ tokenStore: store })
      const token = await accessToken(t)
      state.down = true
      for (const path of ['/protected', '/scoped/user', '/module', '/required-user', '/auth/me']) {
        expectError(await getAs(t, path, token), 503, 'StoreUnavailable', 'ERR_JWT_STORE_UNAVAILABLE')
      }
    })

    it('answers 503 StoreUnavailable on /auth/verify and on plain injectUser(), never valid nor anonymous', async () => {
      const { store, state } = flaky()
      const t = revocable({ tokenStore: store })
      const token = await accessToken(t)
      state.down = true
      for (const path of ['/auth/verify', '/me/injected']) {
        expectError(await getAs(t, path, token), 503, 'StoreUnavailable', 'ERR_JWT_STORE_UNAVAILABLE')
      }
    })

    it('lets a route that skips the revocation check answer', async () => {
      const { store, state } = flaky()
      const t = revocable({ tokenStore: store })
      const token = await accessToken(t)
      state.down = true
      expect((await getAs(t, '/skip', token)).status).to.equal(200)
    })

    it('issues no token when the record cannot be written', async () => {
      const { store, state } = flaky()
      const t = revocable({ tokenStore: store })
      state.down = true
      const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expectError(res, 503, 'StoreUnavailable', 'ERR_JWT_STORE_UNAVAILABLE')
      expect(res.body).to.not.have.property('access_token')
    })
  })
})
