import Router from '@koa/router'
import { expect } from 'chai'
import Koa, { type Context } from 'koa'
import request from 'supertest'
import type { Response } from 'supertest'

import * as kit from '../../source'
import {
  AuthenticationFailed,
  BaseEndpoint,
  Initialize,
  InvalidConfiguration,
  Responses,
  type InitializeOptions,
  type JwtMiddleware,
  type JwtPayload,
} from '../../source'
import { makeClock, SECRET, type TestUser } from '../helpers/app'
import { bearer, expectError, signRaw } from '../helpers/initialize'
import { build, expectNoUnhandledErrors, type OptionsApp } from '../helpers/options'

const USER_NOT_FOUND = ['User not found.']

/** Asserts the answer to a valid token whose user retrieveUser does not find. */
function expectLookupFailed(res: Response): void {
  expectError(res, 401, 'UserLookupFailed', 'ERR_JWT_USER_LOOKUP', USER_NOT_FOUND)
  expect(res.headers['www-authenticate']).to.equal('Bearer error="invalid_token", error_description="User not found."')
}

interface LookupApp extends OptionsApp {
  /** The payloads retrieveUser was called with. */
  lookups: JwtPayload[]
  /** A token of `userId` (scope 'user'), valid 600 s on the clock. */
  token(userId?: number, extra?: Record<string, unknown>): string
  /** Adds `GET path` guarded by `middleware`, answering `{ user: ctx.state.user ?? 'absent' }`. */
  route(path: string, middleware: JwtMiddleware): void
}

/** `build()` with a counting retrieveUser over the users (sync, or async with `async: true`). */
function lookupApp(options: InitializeOptions<TestUser> = {}, { async = false } = {}): LookupApp {
  const lookups: JwtPayload[] = []
  let users: TestUser[] = []
  const find = (payload: JwtPayload) => users.find((u) => u.user_id === payload.user_id) ?? null
  const t = build({
    retrieveUser: (_ctx, payload) => {
      lookups.push(payload)
      return async ? Promise.resolve().then(() => find(payload)) : find(payload)
    },
    addScopesToPayload: (user) => user.scopes ?? [],
    ...options,
  })
  users = t.users
  return {
    ...t,
    lookups,
    token(userId = 1, extra = {}) {
      return signRaw({ user_id: userId, exp: t.clock.now + 600, scopes: ['user'], ...extra })
    },
    route(path, middleware) {
      t.router.get(path, middleware, (ctx: Context) => {
        ctx.body = { user: ctx.state.user === undefined ? 'absent' : ctx.state.user }
      })
    },
  }
}

const USER1 = { user_id: 1, username: 'user1', password: 'abcxyz', scopes: ['user'] }

/** The guarding forms that require a user, each mounted at its path by `mount`. */
const REQUIRED_FORMS: [string, string, (t: LookupApp) => JwtMiddleware][] = [
  ['jwt.protected({ user: true })', '/u/protected', (t) => t.jwt.protected({ user: true })],
  ["jwt.scoped('user', { user: true })", '/u/scoped', (t) => t.jwt.scoped('user', { user: true })],
  ['jwt.injectUser({ required: true })', '/u/inject', (t) => t.jwt.injectUser({ required: true })],
  ['module-level protect({ user: true })', '/u/kit-protect', () => kit.protect({ user: true })],
  ["module-level scoped('user', { user: true })", '/u/kit-scoped', () => kit.scoped('user', { user: true })],
  ['module-level injectUser({ required: true })', '/u/kit-inject', () => kit.injectUser({ required: true })],
]

describe('option: user lookup (protected({ user }), scoped(..., { user }), injectUser({ required }))', () => {
  afterEach(expectNoUnhandledErrors)

  for (const [form, path, make] of REQUIRED_FORMS) {
    for (const async of [false, true]) {
      describe(`${form} with ${async ? 'an asynchronous' : 'a synchronous'} retrieveUser`, () => {
        let t: LookupApp
        beforeEach(() => {
          t = lookupApp({}, { async })
          t.route(path, make(t))
        })

        it('puts the user retrieveUser finds in ctx.state.user, calling it once with the payload', async () => {
          const token = t.token(1)
          const res = await t.agent.get(path).set('Authorization', bearer(token))
          expect(res.status, JSON.stringify(res.body)).to.equal(200)
          expect(res.body).to.deep.equal({ user: USER1 })
          expect(t.lookups).to.have.length(1)
          expect(t.lookups[0]).to.include({ user_id: 1 })
        })

        it('answers 401 UserLookupFailed to a valid token whose user does not exist', async () => {
          expectLookupFailed(await t.agent.get(path).set('Authorization', bearer(t.token(99))))
          expect(t.lookups).to.have.length(1)
        })

        it('answers a request without a token as protected() does, without looking a user up', async () => {
          const res = await t.agent.get(path)
          expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER', ['Authorization header not present.'])
          expect(t.lookups).to.have.length(0)
        })

        it('answers an invalid or expired token as protected() does, without looking a user up', async () => {
          let res = await t.agent.get(path).set('Authorization', bearer('garbage'))
          expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
          res = await t.agent.get(path).set('Authorization', bearer(t.token(1, { exp: t.clock.now - 1000 })))
          expectError(res, 401, 'Unauthorized', 'ERR_JWT_EXPIRED', ['Signature has expired.'])
          expect(t.lookups).to.have.length(0)
        })
      })
    }
  }

  for (const missing of [null, undefined]) {
    it(`answers 401 UserLookupFailed when retrieveUser returns ${String(missing)}`, async () => {
      const t = lookupApp({ retrieveUser: () => missing })
      t.route('/u/protected', t.jwt.protected({ user: true }))
      t.route('/u/inject', t.jwt.injectUser({ required: true }))
      expectLookupFailed(await t.agent.get('/u/protected').set('Authorization', bearer(t.token(1))))
      expectLookupFailed(await t.agent.get('/u/inject').set('Authorization', bearer(t.token(1))))
    })
  }

  it('answers 401 UserLookupFailed in debug mode too', async () => {
    const t = lookupApp({ debug: true })
    t.route('/u/protected', t.jwt.protected({ user: true }))
    expectLookupFailed(await t.agent.get('/u/protected').set('Authorization', bearer(t.token(99))))
  })

  it('leaves ctx.state.user alone on routes without the option (protected() looks nothing up)', async () => {
    const t = lookupApp()
    t.route('/u/plain', t.jwt.protected())
    t.route('/u/user-false', t.jwt.protected({ user: false }))
    for (const path of ['/u/plain', '/u/user-false']) {
      const res = await t.agent.get(path).set('Authorization', bearer(t.token(99)))
      expect(res.status, path).to.equal(200)
      expect(res.body, path).to.deep.equal({ user: 'absent' })
    }
    expect(t.lookups).to.have.length(0)
  })

  describe('scoped(..., { user: true })', () => {
    it('checks the scopes before looking the user up: 403 without a lookup', async () => {
      const t = lookupApp()
      t.route('/u/admin', t.jwt.scoped('admin', { user: true }))
      t.route('/u/kit-admin', kit.scoped('admin', { user: true }))
      for (const path of ['/u/admin', '/u/kit-admin']) {
        const res = await t.agent.get(path).set('Authorization', bearer(t.token(99)))
        expectError(res, 403, 'Unauthorized', 'ERR_JWT_INVALID_SCOPE', ['Invalid scope.'])
      }
      expect(t.lookups).to.have.length(0)
    })

    it('looks the user up after an asynchronous scope check', async () => {
      const t = lookupApp()
      t.route('/u/async-scopes', t.jwt.scoped(async () => 'user', { user: true }))
      let res = await t.agent.get('/u/async-scopes').set('Authorization', bearer(t.token(1)))
      expect(res.body).to.deep.equal({ user: USER1 })
      res = await t.agent.get('/u/async-scopes').set('Authorization', bearer(t.token(99)))
      expectLookupFailed(res)
    })
  })

  it('checks freshness before looking the user up: protected({ fresh: true, user: true })', async () => {
    const t = lookupApp()
    t.route('/u/fresh', t.jwt.protected({ fresh: true, user: true }))
    let res = await t.agent.get('/u/fresh').set('Authorization', bearer(t.token(99, { fresh: false })))
    expectError(res, 401, 'NeedsFreshToken', 'ERR_JWT_NEEDS_FRESH')
    expect(t.lookups).to.have.length(0)
    res = await t.agent.get('/u/fresh').set('Authorization', bearer(t.token(99, { fresh: true })))
    expectLookupFailed(res)
    res = await t.agent.get('/u/fresh').set('Authorization', bearer(t.token(1, { fresh: true })))
    expect(res.body).to.deep.equal({ user: USER1 })
  })

  it('loads the user for a method decorated with @jwt.protected({ user: true })', async () => {
    const t = lookupApp()
    class Profile extends BaseEndpoint {
      @t.jwt.protected({ user: true })
      get(ctx: Context): unknown {
        return { username: (ctx.state.user as TestUser).username }
      }
    }
    new Initialize(t.router, { secret: SECRET, clock: t.clock.clock, authMode: false, urlPrefix: '/views', classViews: [['/profile', Profile]] })
    let res = await t.agent.get('/views/profile').set('Authorization', bearer(t.token(1)))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ username: 'user1' })
    res = await t.agent.get('/views/profile').set('Authorization', bearer(t.token(99)))
    expectLookupFailed(res)
  })

  describe('one lookup per request', () => {
    for (const async of [false, true]) {
      it(`protected({ user: true }) then injectUser() and injectUser({ required: true }) call retrieveUser once (${async ? 'async' : 'sync'})`, async () => {
        const t = lookupApp({}, { async })
        t.router.get('/u/chain', t.jwt.protected({ user: true }), t.jwt.injectUser(), t.jwt.injectUser({ required: true }), (ctx: Context) => {
          ctx.body = { user: ctx.state.user }
        })
        for (const userId of [1, 2]) {
          const res = await t.agent.get('/u/chain').set('Authorization', bearer(t.token(userId)))
          expect(res.status).to.equal(200)
          expect(res.body.user.user_id).to.equal(userId)
        }
        // One per request, not one per middleware.
        expect(t.lookups.map((payload) => payload.user_id)).to.deep.equal([1, 2])
      })
    }

    it('a user not found is not looked for again by a later guard (one lookup, 401 UserLookupFailed)', async () => {
      const t = lookupApp()
      t.router.get('/u/chain-missing', t.jwt.protected(), t.jwt.injectUser(), t.jwt.scoped('user', { user: true }), (ctx: Context) => {
        ctx.body = { user: ctx.state.user }
      })
      expectLookupFailed(await t.agent.get('/u/chain-missing').set('Authorization', bearer(t.token(99))))
      expect(t.lookups).to.have.length(1)
    })
  })

  describe('injectUser() without required', () => {
    it('stays as it was: null for an anonymous request or an unknown user, no 401', async () => {
      const t = lookupApp()
      t.route('/u/optional', t.jwt.injectUser())
      t.route('/u/not-required', t.jwt.injectUser({ required: false }))
      for (const path of ['/u/optional', '/u/not-required']) {
        let res = await t.agent.get(path)
        expect(res.status, path).to.equal(200)
        expect(res.body, path).to.deep.equal({ user: null })
        res = await t.agent.get(path).set('Authorization', bearer(t.token(99)))
        expect(res.body, path).to.deep.equal({ user: null })
        res = await t.agent.get(path).set('Authorization', bearer('garbage'))
        expect(res.body, path).to.deep.equal({ user: null })
        res = await t.agent.get(path).set('Authorization', bearer(t.token(1)))
        expect(res.body, path).to.deep.equal({ user: USER1 })
      }
    })

    it('ignores redirectOnFail (it refuses nothing)', async () => {
      const t = lookupApp()
      t.route('/u/optional-redirect', t.jwt.injectUser({ redirectOnFail: true }))
      const res = await t.agent.get('/u/optional-redirect')
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ user: null })
    })
  })

  describe('injectUser({ required: true })', () => {
    it('answers 400 to a request without a token in debug mode, as protected() does', async () => {
      const t = lookupApp({ debug: true })
      t.route('/u/inject', t.jwt.injectUser({ required: true }))
      const res = await t.agent.get('/u/inject')
      expectError(res, 400, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    })

    it('redirects with redirectOnFail, for a missing token and for a missing user', async () => {
      const t = lookupApp({ loginRedirectUrl: '/login' })
      t.route('/u/inject-redirect', t.jwt.injectUser({ required: true, redirectOnFail: true }))
      let res = await t.agent.get('/u/inject-redirect')
      expect(res.status).to.equal(302)
      expect(res.headers.location).to.equal('/login')
      res = await t.agent.get('/u/inject-redirect').set('Authorization', bearer(t.token(99)))
      expect(res.status).to.equal(302)
      expect(res.headers.location).to.equal('/login')
    })

    it('puts the verified payload in ctx.state.jwt', async () => {
      const t = lookupApp()
      t.router.get('/u/inject-jwt', t.jwt.injectUser({ required: true }), (ctx) => {
        ctx.body = { jwt: ctx.state.jwt }
      })
      const res = await t.agent.get('/u/inject-jwt').set('Authorization', bearer(t.token(1)))
      expect(res.body.jwt).to.include({ user_id: 1 })
    })

    it('applies per-route overrides as a guard does', async () => {
      const t = lookupApp()
      t.route('/u/inject-x', t.jwt.injectUser({ required: true, authorizationHeader: 'x-token' }))
      let res = await t.agent.get('/u/inject-x').set('X-Token', bearer(t.token(1)))
      expect(res.body).to.deep.equal({ user: USER1 })
      res = await t.agent.get('/u/inject-x').set('Authorization', bearer(t.token(1)))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    })
  })

  describe('errors of retrieveUser', () => {
    for (const async of [false, true]) {
      it(`answers 500 HandlerFailed, without the message, when ${async ? 'an asynchronous' : 'a synchronous'} retrieveUser throws a plain Error`, async () => {
        const t = lookupApp({
          retrieveUser: () => {
            if (async) return Promise.reject(new Error('user store password is hunter2'))
            throw new Error('user store password is hunter2')
          },
        })
        t.app.silent = true
        t.route('/u/protected', t.jwt.protected({ user: true }))
        t.route('/u/inject', t.jwt.injectUser({ required: true }))
        for (const path of ['/u/protected', '/u/inject']) {
          const res = await t.agent.get(path).set('Authorization', bearer(t.token(1)))
          expectError(res, 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
          expect(JSON.stringify(res.body), path).to.not.include('hunter2')
        }
      })
    }

    it('renders a library error thrown by retrieveUser as it is', async () => {
      const t = lookupApp({
        retrieveUser: () => {
          throw new AuthenticationFailed('Account disabled.')
        },
      })
      t.route('/u/protected', t.jwt.protected({ user: true }))
      const res = await t.agent.get('/u/protected').set('Authorization', bearer(t.token(1)))
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Account disabled.'])
    })

    it('refuses a route that loads the user where it is declared when there is no retrieveUser', () => {
      const jwt = new Initialize(new Koa(), { secret: SECRET, authMode: false })
      expect(() => jwt.protected({ user: true })).to.throw(InvalidConfiguration, 'protected({ user: true }) needs the "retrieveUser" handler.')
      expect(() => jwt.scoped('admin', { user: true })).to.throw(InvalidConfiguration, '"retrieveUser"')
      expect(() => jwt.injectUser({ required: true })).to.throw(InvalidConfiguration, '"retrieveUser"')
      expect(() => jwt.protected({ fresh: true })).not.to.throw()
    })

    it('answers 500 MeEndpointNotSetup on a module-level route when the instance has no retrieveUser', async () => {
      const app = new Koa()
      const clock = makeClock()
      new Initialize(app, { secret: SECRET, clock: clock.clock, authMode: false })
      const router = new Router()
      router.get('/u/protected', kit.protect({ user: true }), (ctx) => {
        ctx.body = { user: ctx.state.user }
      })
      app.use(router.routes())
      const token = signRaw({ user_id: 1, exp: clock.now + 600 })
      const res = await request(app.callback()).get('/u/protected').set('Authorization', bearer(token))
      expectError(res, 500, 'MeEndpointNotSetup', 'ERR_JWT_ME_NOT_SETUP')
    })
  })

  it('lets OPTIONS requests through without looking a user up', async () => {
    const t = lookupApp()
    const preflight = (ctx: Context) => {
      ctx.status = 204
    }
    t.router.options('/u/protected', t.jwt.protected({ user: true }), preflight)
    t.router.options('/u/inject', t.jwt.injectUser({ required: true }), preflight)
    for (const path of ['/u/protected', '/u/inject']) {
      const res = await t.agent.options(path).set('Authorization', bearer(t.token(99)))
      expect(res.status, path).to.equal(204)
    }
    expect(t.lookups).to.have.length(0)
  })

  it('with doProtection false lets every request through without looking a user up', async () => {
    const t = lookupApp({ doProtection: false })
    t.route('/u/protected', t.jwt.protected({ user: true }))
    t.route('/u/scoped', t.jwt.scoped('user', { user: true }))
    t.route('/u/inject', t.jwt.injectUser({ required: true }))
    for (const path of ['/u/protected', '/u/scoped', '/u/inject']) {
      let res = await t.agent.get(path)
      expect(res.status, path).to.equal(200)
      expect(res.body, path).to.deep.equal({ user: 'absent' })
      res = await t.agent.get(path).set('Authorization', bearer(t.token(99)))
      expect(res.status, path).to.equal(200)
    }
    expect(t.lookups).to.have.length(0)
  })

  it('refuses route options user / required that are not booleans when the route is declared', () => {
    const t = lookupApp()
    for (const value of ['yes', 1, null]) {
      const label = String(value)
      expect(() => t.jwt.protected({ user: value as never }), label).to.throw(InvalidConfiguration, /"user"/)
      expect(() => t.jwt.scoped('user', { user: value as never }), label).to.throw(InvalidConfiguration, /"user"/)
      expect(() => kit.protect({ user: value as never }), label).to.throw(InvalidConfiguration, /"user"/)
      expect(() => t.jwt.injectUser({ required: value as never }), label).to.throw(InvalidConfiguration, /"required"/)
      expect(() => kit.injectUser({ required: value as never }), label).to.throw(InvalidConfiguration, /"required"/)
    }
  })

  it('answers through Responses.userLookupFailedResponse when a subclass overrides it', async () => {
    expect(Responses.prototype).to.have.property('userLookupFailedResponse').that.is.a('function')
    class Gone extends Responses {
      override userLookupFailedResponse(ctx: Context, error: kit.KoaJwtError): void {
        ctx.status = 404
        ctx.body = { msg: 'No such account', code: error.code }
      }
    }
    const t = lookupApp({ responsesClass: Gone })
    t.route('/u/protected', t.jwt.protected({ user: true }))
    t.route('/u/inject', t.jwt.injectUser({ required: true }))
    for (const path of ['/u/protected', '/u/inject']) {
      const res = await t.agent.get(path).set('Authorization', bearer(t.token(99)))
      expect(res.status, path).to.equal(404)
      expect(res.body, path).to.deep.equal({ msg: 'No such account', code: 'ERR_JWT_USER_LOOKUP' })
    }
    // Other failures keep the default answer.
    expectError(await t.agent.get('/u/protected'), 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
  })
})
