import Router from '@koa/router'
import { expect } from 'chai'
import Koa, { type Context } from 'koa'
import request from 'supertest'

import { FreshLoginEndpoint, Initialize, Responses, type InitializeOptions } from '../../source'
import { authenticateWith, makeClock, makeUsers, refreshStore, SECRET, type TestUser } from '../helpers/app'
import { bearer, expectError } from '../helpers/initialize'
import {
  build,
  cookieHeader,
  expectNoUnhandledErrors,
  halves,
  payloadOf,
  setCookies,
  type OptionsApp,
} from '../helpers/options'

const CREDENTIALS = { username: 'user1', password: 'abcxyz' }

interface FreshLoginApp extends OptionsApp {
  /** Calls of storeRefreshToken: [userId, token]. */
  stored: unknown[][]
}

/** `build()` with refresh tokens on (storeRefreshToken counted) and the fresh login enabled. */
function freshLoginApp(options: InitializeOptions<TestUser> = {}): FreshLoginApp {
  const store = new Map<unknown, string>()
  const stored: unknown[][] = []
  const { storeRefreshToken, retrieveRefreshToken } = refreshStore(store)
  const t = build({
    freshLoginEnabled: true,
    storeRefreshToken: (userId, token) => {
      stored.push([userId, token])
      storeRefreshToken(userId, token)
    },
    retrieveRefreshToken,
    ...options,
  })
  t.refreshTokens = store
  return { ...t, stored }
}

describe('endpoint: POST /auth/fresh', () => {
  afterEach(expectNoUnhandledErrors)

  describe('mounting', () => {
    it('is not mounted by default (freshLoginEnabled false)', async () => {
      const t = build()
      expect(t.jwt.config.get('freshLoginEnabled')).to.equal(false)
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      expect(res.status).to.equal(404)
    })

    it('is mounted at {urlPrefix}/fresh with freshLoginEnabled', async () => {
      const t = freshLoginApp()
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      expect(res.status).to.equal(200)
    })

    it('follows pathToFreshLogin and urlPrefix', async () => {
      const t = freshLoginApp({ urlPrefix: '/api/session', pathToFreshLogin: '/reauthenticate' })
      let res = await t.agent.post('/api/session/reauthenticate').send(CREDENTIALS)
      expect(res.status).to.equal(200)
      res = await t.agent.post('/api/session/fresh').send(CREDENTIALS)
      expect(res.status).to.equal(404)
    })

    it('is mounted on a router too', async () => {
      const app = new Koa()
      const router = new Router({ prefix: '/v1' })
      const clock = makeClock()
      new Initialize(router, {
        secret: SECRET,
        clock: clock.clock,
        authenticate: authenticateWith(makeUsers()),
        freshLoginEnabled: true,
      })
      app.use(router.routes())
      const res = await request(app.callback()).post('/v1/auth/fresh').send(CREDENTIALS)
      expect(res.status).to.equal(200)
      expect(payloadOf(res.body.access_token).fresh).to.equal(true)
    })

    it('is not mounted with authMode false', async () => {
      const app = new Koa()
      const jwt = new Initialize(app, { secret: SECRET, authMode: false, freshLoginEnabled: true })
      const res = await request(app.callback()).post('/auth/fresh').send(CREDENTIALS)
      expect(res.status).to.equal(404)
      expect([...jwt.endpoints.keys()]).to.not.include('/auth/fresh')
    })

    it('is listed among the mounted endpoints as a FreshLoginEndpoint', () => {
      const t = freshLoginApp()
      expect(t.jwt.endpoints.get('/auth/fresh')).to.be.instanceOf(FreshLoginEndpoint)
      expect(build().jwt.endpoints.has('/auth/fresh')).to.equal(false)
    })

    it('answers 405 to GET and 204 to OPTIONS', async () => {
      const t = freshLoginApp()
      let res = await t.agent.get('/auth/fresh')
      expect(res.status).to.equal(405)
      expect(res.headers.allow).to.include('POST')
      res = await t.agent.options('/auth/fresh')
      expect(res.status).to.equal(204)
    })
  })

  describe('the answer', () => {
    it('is { access_token } only: no refresh token, even with refresh tokens on', async () => {
      const t = freshLoginApp()
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      expect(res.status).to.equal(200)
      expect(Object.keys(res.body)).to.deep.equal(['access_token'])
      // /auth itself still answers both.
      expect(Object.keys(await t.login()).sort()).to.deep.equal(['access_token', 'refresh_token'])
    })

    it('names the token after accessTokenName', async () => {
      const t = freshLoginApp({ accessTokenName: 'token' })
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      expect(Object.keys(res.body)).to.deep.equal(['token'])
    })

    it('holds a fresh: true access token of the authenticated user by default', async () => {
      const t = freshLoginApp()
      const res = await t.agent.post('/auth/fresh').send({ username: 'user2', password: 'abcxyz' })
      expect(payloadOf(res.body.access_token)).to.deep.equal({ user_id: 2, exp: t.clock.now + 1800, fresh: true })
    })

    it('holds fresh: now + n with loginFreshness n (seconds or a span)', async () => {
      for (const loginFreshness of [120, '2m']) {
        const t = freshLoginApp({ loginFreshness })
        const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
        expect(payloadOf(res.body.access_token).fresh, String(loginFreshness)).to.equal(t.clock.now + 120)
      }
    })

    it('issues a token that GET /auth/verify accepts', async () => {
      const t = freshLoginApp()
      const login = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      const res = await t.agent.get('/auth/verify').set('Authorization', bearer(login.body.access_token))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ valid: true })
    })

    it('does not call storeRefreshToken, and leaves the stored refresh token as it was', async () => {
      const t = freshLoginApp()
      const { refresh_token } = await t.login()
      expect(t.stored).to.have.length(1)
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      expect(res.status).to.equal(200)
      expect(t.stored).to.have.length(1)
      expect(t.refreshTokens.get(1)).to.equal(refresh_token)
    })

    it('does not call extendAuthenticate (the /auth output hook)', async () => {
      let calls = 0
      class Extended extends Responses {
        override extendAuthenticate(): Record<string, unknown> {
          calls += 1
          return { extra: true }
        }
      }
      const t = freshLoginApp({ responsesClass: Extended })
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      expect(res.body).to.not.have.property('extra')
      expect(calls).to.equal(0)
      expect(await t.login()).to.have.property('extra', true)
    })

    it('accepts a form body as /auth does', async () => {
      const t = freshLoginApp()
      const res = await t.agent.post('/auth/fresh').type('form').send(CREDENTIALS)
      expect(res.status).to.equal(200)
      expect(payloadOf(res.body.access_token).user_id).to.equal(1)
    })
  })

  describe('failures', () => {
    it('answers 401 AuthenticationFailed to a wrong password, with the message of authenticate', async () => {
      const t = freshLoginApp()
      const res = await t.agent.post('/auth/fresh').send({ username: 'user1', password: 'wrong' })
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Password is incorrect.'])
      expect(res.headers['www-authenticate']).to.equal('Bearer')
      expect(res.headers).to.not.have.property('set-cookie')
    })

    it('answers 401 AuthenticationFailed without credentials', async () => {
      const t = freshLoginApp()
      const res = await t.agent.post('/auth/fresh').send({})
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Missing username or password.'])
    })

    it('does not let an access token stand in for the credentials', async () => {
      const t = freshLoginApp()
      const { access_token } = await t.login()
      const res = await t.agent.post('/auth/fresh').set('Authorization', bearer(access_token)).send({})
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED')
    })

    for (const value of [null, undefined]) {
      it(`answers 500 InvalidRetrieveUserObject when authenticate returns ${String(value)}`, async () => {
        const t = freshLoginApp({ authenticate: async () => value as unknown as TestUser })
        const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
        expectError(res, 500, 'InvalidRetrieveUserObject', 'ERR_JWT_INVALID_USER_OBJECT')
      })
    }

    it('answers 500 HandlerFailed, without the message, when authenticate throws a plain Error', async () => {
      const t = freshLoginApp({
        authenticate: () => {
          throw new Error('database password is hunter2')
        },
      })
      t.app.silent = true
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      expectError(res, 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
      expect(JSON.stringify(res.body)).to.not.include('hunter2')
    })

    it('accepts a synchronous authenticate handler', async () => {
      const users = makeUsers()
      const t = freshLoginApp({ authenticate: () => users[1] as TestUser })
      const res = await t.agent.post('/auth/fresh').send({})
      expect(res.status).to.equal(200)
      expect(payloadOf(res.body.access_token).user_id).to.equal(2)
    })
  })

  describe('cookie mode', () => {
    it('sets the access cookie only, never the refresh cookie', async () => {
      const t = freshLoginApp({ cookieSet: true })
      const login = await t.agent.post('/auth').send(CREDENTIALS)
      expect(setCookies(login).map((line) => line.split('=')[0])).to.deep.equal(['access_token', 'refresh_token'])
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      expect(res.status).to.equal(200)
      expect(setCookies(res)).to.deep.equal([`access_token=${res.body.access_token}; path=/; samesite=lax; httponly`])
      expect(Object.keys(res.body)).to.deep.equal(['access_token'])
    })

    it('sets the two access cookies with split cookies, and no refresh cookie', async () => {
      const t = freshLoginApp({ cookieSet: true, cookieSplit: true })
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      const { headerPayload, signature } = halves(res.body.access_token)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${headerPayload}; path=/; samesite=lax`,
        `access_token_signature=${signature}; path=/; samesite=lax; httponly`,
      ])
    })

    it('sets a cookie that a fresh route accepts', async () => {
      const t = freshLoginApp({ cookieSet: true })
      t.router.get('/fresh-cookie', t.jwt.protected({ fresh: true }), (ctx) => {
        ctx.body = { ok: true }
      })
      const res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      const cookie = cookieHeader({ access_token: res.body.access_token })
      const page = await t.agent.get('/fresh-cookie').set('Cookie', cookie)
      expect(page.status).to.equal(200)
    })
  })

  describe('the "change password" flow (flask-jwt-extended fresh login)', () => {
    it('opens a fresh route with the fresh-login token after the refreshed token was refused, and keeps the refresh token', async () => {
      const t = freshLoginApp({ loginFreshness: '15m' })
      const changed: string[] = []
      t.router.post('/password', t.jwt.protected({ fresh: true, user: true }), (ctx: Context) => {
        changed.push((ctx.state.user as TestUser).username)
        ctx.body = { changed: true }
      })
      t.router.get('/profile', t.jwt.protected(), (ctx: Context) => {
        ctx.body = { user_id: ctx.state.jwt.user_id }
      })

      // Log in: the login token is fresh for 15 minutes.
      const login = await t.login()
      let res = await t.agent.post('/password').set('Authorization', bearer(login.access_token))
      expect(res.status).to.equal(200)

      // An hour later the access token has expired: refresh it.
      t.clock.now += 3600
      res = await t.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token))
        .send({ refresh_token: login.refresh_token })
      expect(res.status).to.equal(200)
      const refreshed = res.body.access_token as string

      // The refreshed token opens ordinary routes, not the fresh one.
      res = await t.agent.get('/profile').set('Authorization', bearer(refreshed))
      expect(res.status).to.equal(200)
      res = await t.agent.post('/password').set('Authorization', bearer(refreshed))
      expectError(res, 401, 'NeedsFreshToken', 'ERR_JWT_NEEDS_FRESH', ['Fresh token required.'])

      // Re-enter the password on the fresh login: a fresh token, and no new refresh token.
      res = await t.agent.post('/auth/fresh').send(CREDENTIALS)
      expect(res.status).to.equal(200)
      const fresh = res.body.access_token as string
      res = await t.agent.post('/password').set('Authorization', bearer(fresh))
      expect(res.status).to.equal(200)
      expect(changed).to.deep.equal(['user1', 'user1'])

      // 15 minutes later the fresh-login token is valid but no longer fresh.
      t.clock.now += 15 * 60 + 1
      res = await t.agent.get('/profile').set('Authorization', bearer(fresh))
      expect(res.status).to.equal(200)
      res = await t.agent.post('/password').set('Authorization', bearer(fresh))
      expectError(res, 401, 'NeedsFreshToken', 'ERR_JWT_NEEDS_FRESH')

      // The refresh token of the first login still works.
      expect(t.stored).to.have.length(1)
      res = await t.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(fresh))
        .send({ refresh_token: login.refresh_token })
      expect(res.status).to.equal(200)
      expect(payloadOf(res.body.access_token).fresh).to.equal(false)
    })
  })
})
