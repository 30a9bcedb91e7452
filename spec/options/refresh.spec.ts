import { randomUUID } from 'node:crypto'

import Router from '@koa/router'
import { expect } from 'chai'
import Koa, { type Context } from 'koa'
import request from 'supertest'

import { Initialize, Responses, type RefreshResult } from '../../source'
import { SECRET, authenticateWith, makeUsers, refreshStore } from '../helpers/app'
import {
  EXPIRED_AFTER,
  REASONS,
  bearer,
  build,
  expectAuthFailed,
  expectError,
  expectNoUnhandledErrors,
  expectUnauthorized,
  getAs,
  payloadOf,
  tamper,
  trackUnhandled,
  type OptionsApp,
} from '../helpers/options'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('option: refreshTokenEnabled', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  beforeEach(() => {
    const store = new Map<unknown, string>()
    t = build(refreshStore(store))
    t.refreshTokens = store
  })

  async function refresh(access: string, refreshToken?: string): Promise<request.Response> {
    const req = t.agent.post('/auth/refresh').set('Authorization', bearer(access))
    return refreshToken === undefined ? req.send({}) : req.send({ refresh_token: refreshToken })
  }

  it('is turned on by the store/retrieve handlers', () => {
    expect(t.jwt.config.get('refreshTokenEnabled')).to.equal(true)
  })

  it('makes POST /auth answer a refresh token of 48 hex characters and store it', async () => {
    const body = await t.login()
    expect(Object.keys(body).sort()).to.deep.equal(['access_token', 'refresh_token'])
    expect(body.refresh_token).to.match(/^[0-9a-f]{48}$/)
    expect(t.refreshTokens.get(1)).to.equal(body.refresh_token)
  })

  it('issues a different refresh token on every login', async () => {
    const first = await t.login()
    const second = await t.login()
    expect(first.refresh_token).to.not.equal(second.refresh_token)
    expect(t.refreshTokens.get(1)).to.equal(second.refresh_token)
  })

  it('calls storeRefreshToken with (userId, token, ctx)', async () => {
    const calls: unknown[][] = []
    const spy = build({
      storeRefreshToken: (userId, token, ctx) => {
        calls.push([userId, token, ctx.method, ctx.path])
      },
      retrieveRefreshToken: () => null,
    })
    const body = await spy.login('user2')
    expect(calls).to.deep.equal([[2, body.refresh_token, 'POST', '/auth']])
  })

  it('uses a custom generateRefreshToken (e.g. uuid)', async () => {
    const store = new Map<unknown, string>()
    const custom = build({ ...refreshStore(store), generateRefreshToken: () => randomUUID() })
    const body = await custom.login()
    expect(body.refresh_token).to.match(UUID)
    expect(store.get(1)).to.equal(body.refresh_token)
    const res = await custom.agent
      .post('/auth/refresh')
      .set('Authorization', bearer(body.access_token!))
      .send({ refresh_token: body.refresh_token })
    expect(res.status).to.equal(200)
  })

  it('accepts an async generateRefreshToken', async () => {
    const custom = build({
      ...refreshStore(new Map()),
      generateRefreshToken: async () => 'an-async-token',
    })
    const body = await custom.login()
    expect(body.refresh_token).to.equal('an-async-token')
  })

  it('uses accessTokenName and refreshTokenName for the /auth and /refresh keys and the refresh body', async () => {
    const named = build({
      ...refreshStore(new Map()),
      accessTokenName: 'jwt',
      refreshTokenName: 'rt',
    })
    const login = await named.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expect(Object.keys(login.body).sort()).to.deep.equal(['jwt', 'rt'])
    const res = await named.agent
      .post('/auth/refresh')
      .set('Authorization', bearer(login.body.jwt))
      .send({ rt: login.body.rt })
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    expect(Object.keys(res.body)).to.deep.equal(['jwt'])
    const oldName = await named.agent
      .post('/auth/refresh')
      .set('Authorization', bearer(login.body.jwt))
      .send({ refresh_token: login.body.rt })
    expectAuthFailed(oldName)
  })

  it('returns a rendered 500 when generateRefreshToken returns an empty string, and stores nothing', async () => {
    const store = new Map<unknown, string>()
    const empty = build({ ...refreshStore(store), generateRefreshToken: () => '' })
    const res = await empty.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expect(res.status).to.equal(500)
    expect(res.body.exception).to.equal('RefreshTokenNotImplemented')
    expect(res.body.code).to.equal('ERR_JWT_REFRESH_NOT_IMPLEMENTED')
    expect(res.body).to.not.have.property('access_token')
    expect(store.size).to.equal(0)
  })

  describe('POST /auth/refresh', () => {
    it('answers only a new access token for an expired access token and the right refresh token', async () => {
      const login = await t.login()
      t.clock.now += EXPIRED_AFTER
      const expired = await getAs(t, '/protected', login.access_token!)
      expectUnauthorized(expired, 401, 'ERR_JWT_EXPIRED', REASONS.expired)

      const res = await refresh(login.access_token!, login.refresh_token)
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expect(Object.keys(res.body)).to.deep.equal(['access_token'])
      expect(res.body.access_token).to.not.equal(login.access_token)
      expect(payloadOf(res.body.access_token).exp).to.equal(t.clock.now + 1800)

      const again = await getAs(t, '/protected', res.body.access_token)
      expect(again.status).to.equal(200)
      expect(again.body).to.deep.equal({ protected: true })
    })

    it('accepts a still valid access token too', async () => {
      const login = await t.login()
      const res = await refresh(login.access_token!, login.refresh_token)
      expect(res.status).to.equal(200)
      expect(Object.keys(res.body)).to.deep.equal(['access_token'])
      expect(payloadOf(res.body.access_token).user_id).to.equal(1)
    })

    it('does not turn exp checking off for other routes of the same app', async () => {
      const login = await t.login()
      t.clock.now += EXPIRED_AFTER
      expect((await refresh(login.access_token!, login.refresh_token)).status).to.equal(200)
      const res = await getAs(t, '/protected', login.access_token!)
      expectUnauthorized(res, 401, 'ERR_JWT_EXPIRED')
    })

    it('accepts a urlencoded body', async () => {
      const login = await t.login()
      const res = await t.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .type('form')
        .send({ refresh_token: login.refresh_token! })
      expect(res.status).to.equal(200)
    })

    it('returns 401 with ERR_JWT_INVALID_TOKEN for a tampered access token', async () => {
      const login = await t.login()
      const res = await refresh(tamper(login.access_token!), login.refresh_token)
      expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
    })

    it('returns 401 with ERR_JWT_MISSING_HEADER without an access token', async () => {
      const login = await t.login()
      const res = await t.agent.post('/auth/refresh').send({ refresh_token: login.refresh_token })
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_HEADER', REASONS.missingHeader)
    })

    it('returns 401 AuthenticationFailed for a wrong refresh token', async () => {
      const login = await t.login()
      expectAuthFailed(await refresh(login.access_token!, 'f'.repeat(48)))
      expectAuthFailed(await refresh(login.access_token!, login.refresh_token!.slice(1)))
    })

    it("returns 401 AuthenticationFailed for another user's refresh token", async () => {
      const one = await t.login('user1')
      const two = await t.login('user2')
      expectAuthFailed(await refresh(one.access_token!, two.refresh_token))
    })

    it('returns 401 AuthenticationFailed when the body has no refresh token (reference §7.2.1)', async () => {
      const login = await t.login()
      expectAuthFailed(await refresh(login.access_token!))
      const noBody = await t.agent.post('/auth/refresh').set('Authorization', bearer(login.access_token!))
      expectAuthFailed(noBody)
      expectAuthFailed(await refresh(login.access_token!, ''))
    })

    it('returns 401 AuthenticationFailed for a revoked token even when none is sent (the None == None bug)', async () => {
      const revoked = build({
        storeRefreshToken: () => undefined,
        retrieveRefreshToken: () => null,
      })
      const login = await revoked.login()
      const noneSent = await revoked.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
      expectAuthFailed(noneSent)
      const emptyBody = await revoked.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .send({})
      expectAuthFailed(emptyBody)
      const sent = await revoked.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .send({ refresh_token: login.refresh_token })
      expectAuthFailed(sent)
    })

    it('returns 401 AuthenticationFailed when the stored token is empty and an empty one is sent', async () => {
      const empty = build({ storeRefreshToken: () => undefined, retrieveRefreshToken: () => '' })
      const login = await empty.login()
      const res = await empty.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .send({ refresh_token: '' })
      expectAuthFailed(res)
    })

    it('returns 401 AuthenticationFailed when the refresh_token parameter is repeated in query mode', async () => {
      const q = build({ ...refreshStore(new Map()), queryStringSet: true })
      const login = await q.login()
      const res = await q.agent.post(
        `/auth/refresh?access_token=${login.access_token}` +
          `&refresh_token=${login.refresh_token}&refresh_token=${login.refresh_token}`,
      )
      expectAuthFailed(res)
    })

    it('returns 401 AuthenticationFailed when the user no longer exists', async () => {
      const login = await t.login()
      t.users.splice(0, 1)
      expectAuthFailed(await refresh(login.access_token!, login.refresh_token))
    })

    it('accepts a stored token returned as a Buffer', async () => {
      const store = new Map<unknown, string>()
      const buffered = build({
        storeRefreshToken: (userId, token) => {
          store.set(userId, token)
        },
        retrieveRefreshToken: async (userId) => {
          const token = store.get(userId)
          return token === undefined ? null : Buffer.from(token, 'utf8')
        },
      })
      const login = await buffered.login()
      const ok = await buffered.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .send({ refresh_token: login.refresh_token })
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200)
      const wrong = await buffered.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .send({ refresh_token: 'x'.repeat(48) })
      expectAuthFailed(wrong)
    })

    it('calls retrieveRefreshToken with (userId, ctx)', async () => {
      const calls: unknown[][] = []
      const store = new Map<unknown, string>()
      const spy = build({
        storeRefreshToken: (userId, token) => {
          store.set(userId, token)
        },
        retrieveRefreshToken: (userId, ctx) => {
          calls.push([userId, ctx.method, ctx.path])
          return store.get(userId) ?? null
        },
      })
      const login = await spy.login('user2')
      const res = await spy.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .send({ refresh_token: login.refresh_token })
      expect(res.status).to.equal(200)
      expect(calls).to.deep.equal([[2, 'POST', '/auth/refresh']])
    })

    it('passes the stored refreshToken and the sent purportedToken to extendRefresh', async () => {
      const seen: RefreshResult[] = []
      class ExtendedResponses extends Responses {
        override extendRefresh(_ctx: Context, result: RefreshResult): Record<string, unknown> {
          seen.push(result)
          return { refreshed: true }
        }
      }
      const store = new Map<unknown, string>()
      const extended = build({
        storeRefreshToken: (userId, token) => {
          store.set(userId, token)
        },
        retrieveRefreshToken: (userId) => Buffer.from(store.get(userId) ?? '', 'utf8'),
        responsesClass: ExtendedResponses,
      })
      const login = await extended.login()
      const res = await extended.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .send({ refresh_token: login.refresh_token })
      expect(res.status).to.equal(200)
      expect(res.body).to.have.all.keys('access_token', 'refreshed')
      expect(seen).to.have.length(1)
      const result = seen[0]!
      expect(result.refreshToken).to.equal(login.refresh_token)
      expect(result.purportedToken).to.equal(login.refresh_token)
      expect(result.accessToken).to.equal(res.body.access_token)
      expect(result.payload.user_id).to.equal(1)
      expect((result.user as { user_id: number }).user_id).to.equal(1)
    })

    it('answers OPTIONS with 204 without a token', async () => {
      const res = await t.agent.options('/auth/refresh')
      expect(res.status).to.equal(204)
    })
  })

  describe('with doProtection false', () => {
    let open: OptionsApp
    let login: Record<string, string>
    beforeEach(async () => {
      open = build({ doProtection: false, ...refreshStore(new Map()) })
      login = await open.login()
    })

    it('still refreshes with an expired access token and the right refresh token', async () => {
      open.clock.now += EXPIRED_AFTER
      const res = await open.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .send({ refresh_token: login.refresh_token })
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expect(Object.keys(res.body)).to.deep.equal(['access_token'])
    })

    it('still requires an access token: 401 Unauthorized ERR_JWT_MISSING_HEADER without one', async () => {
      const res = await open.agent
        .post('/auth/refresh')
        .send({ refresh_token: login.refresh_token })
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_HEADER', REASONS.missingHeader)
    })

    it('answers a tampered access token with 401 "Auth required." and no engine detail outside debug', async () => {
      const res = await open.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(tamper(login.access_token!)))
        .send({ refresh_token: login.refresh_token })
      expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
      expect(res.body).to.not.have.property('access_token')
    })
  })

  describe('handler failures', () => {
    it('returns 500 HandlerFailed without an access token when storeRefreshToken throws', async () => {
      const broken = build({
        storeRefreshToken: () => {
          throw new Error('database is down')
        },
        retrieveRefreshToken: () => null,
      })
      const res = await broken.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expectError(res, 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
      expect(res.body).to.not.have.property('access_token')
      expect(JSON.stringify(res.body)).to.not.include('database is down')
    })

    it('returns 500 HandlerFailed without an access token or cookie when storeRefreshToken rejects', async () => {
      const broken = build({
        storeRefreshToken: async () => {
          throw new Error('database is down')
        },
        retrieveRefreshToken: () => null,
        cookieSet: true,
      })
      const res = await broken.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expectError(res, 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
      expect(res.body).to.not.have.property('access_token')
      expect(res.headers['set-cookie']).to.equal(undefined)
    })

    it('returns 500 HandlerFailed when retrieveRefreshToken throws', async () => {
      const broken = build({
        storeRefreshToken: () => undefined,
        retrieveRefreshToken: () => {
          throw new Error('database is down')
        },
      })
      const login = await broken.login()
      const res = await broken.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token!))
        .send({ refresh_token: login.refresh_token })
      expectError(res, 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
      expect(res.body).to.not.have.property('access_token')
    })

    it('returns 500 RefreshTokenNotImplemented when retrieveUser is missing', async () => {
      const app = new Koa()
      trackUnhandled(app)
      const users = makeUsers()
      const store = new Map<unknown, string>()
      const jwt = new Initialize(app, {
        secret: SECRET,
        authenticate: authenticateWith(users),
        ...refreshStore(store),
      })
      const router = new Router()
      router.get('/protected', jwt.protected(), (ctx) => {
        ctx.body = { protected: true }
      })
      app.use(router.routes())
      const agent = request(app.callback())
      const login = await agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expect(login.status).to.equal(200)
      const res = await agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.body.access_token))
        .send({ refresh_token: login.body.refresh_token })
      expectError(res, 500, 'RefreshTokenNotImplemented', 'ERR_JWT_REFRESH_NOT_IMPLEMENTED', [
        'Refresh tokens have not been enabled properly.',
      ])
      expect(res.body).to.not.have.property('access_token')
    })
  })

  describe('when not enabled', () => {
    it('does not mount /auth/refresh (404) and /auth answers no refresh token', async () => {
      const plain = build()
      const body = await plain.login()
      expect(Object.keys(body)).to.deep.equal(['access_token'])
      const res = await plain.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(body.access_token!))
        .send({ refresh_token: 'x' })
      expect(res.status).to.equal(404)
    })

    it('stays off when refreshTokenEnabled is false explicitly, even with handlers', async () => {
      const off = build({ ...refreshStore(new Map()), refreshTokenEnabled: false })
      const body = await off.login()
      expect(body).to.not.have.property('refresh_token')
      const res = await off.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(body.access_token!))
        .send({})
      expect(res.status).to.equal(404)
    })
  })
})
