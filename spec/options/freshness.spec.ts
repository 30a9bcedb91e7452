import { expect } from 'chai'
import Koa, { type Context } from 'koa'
import type { Response } from 'supertest'

import * as kit from '../../source'
import { BaseEndpoint, Initialize, InvalidConfiguration, Responses, type InitializeOptions } from '../../source'
import { authenticateWith, makeUsers, refreshStore, SECRET, type TestUser } from '../helpers/app'
import { bearer, expectError, signRaw } from '../helpers/initialize'
import { build, expectNoUnhandledErrors, payloadOf, type OptionsApp } from '../helpers/options'

const NEEDS_FRESH = ['Fresh token required.']
// RFC 9470: the token is valid; the authentication behind it is not recent enough.
const FRESH_CHALLENGE = 'Bearer error="insufficient_user_authentication", error_description="Fresh token required."'

/** Asserts the answer to a valid token that is not fresh on a route requiring a fresh one. */
function expectNeedsFresh(res: Response): void {
  expectError(res, 401, 'NeedsFreshToken', 'ERR_JWT_NEEDS_FRESH', NEEDS_FRESH)
  expect(res.headers['www-authenticate']).to.equal(FRESH_CHALLENGE)
}

function expectReached(res: Response, reached: string): void {
  expect(res.status, `${res.status} ${JSON.stringify(res.body)}`).to.equal(200)
  expect(res.body).to.deep.equal({ reached })
}

/** A test title's rendering of a value (JSON, but NaN and Infinity by name). */
const show = (value: unknown): string => (typeof value === 'number' ? String(value) : JSON.stringify(value))

const answer = (reached: string) => (ctx: Context) => {
  ctx.body = { reached }
}

interface FreshApp extends OptionsApp {
  store: Map<unknown, string>
  /** Logs in (`POST /auth`) and returns the access token. */
  freshToken(username?: string): Promise<string>
  /** Logs in, refreshes, and returns the refreshed access token. */
  refreshedToken(username?: string): Promise<string>
  /** A raw token of user1 (scope 'user') with `extra` claims, valid for 600 s on the clock. */
  raw(extra?: Record<string, unknown>): string
}

/**
 * `build()` with refresh tokens, scopes from the users, and one route per form of `fresh: true`:
 * instance protected() and scoped(), module-level protect() and scoped(), and the decorator form
 * on class views (`@t.jwt.protected({ fresh: true })`, `@kit.protect({ fresh: true })`) mounted
 * under /views by a verify-only instance on the app's router (same secret and clock).
 */
function freshApp(options: InitializeOptions<TestUser> = {}): FreshApp {
  const store = new Map<unknown, string>()
  const t = build({ ...refreshStore(store), addScopesToPayload: (user) => user.scopes ?? [], ...options })
  t.refreshTokens = store
  t.router.get('/fresh/protected', t.jwt.protected({ fresh: true }), answer('protected'))
  t.router.get('/fresh/scoped', t.jwt.scoped('user', { fresh: true }), answer('scoped'))
  t.router.get('/fresh/kit-protect', kit.protect({ fresh: true }), answer('kit-protect'))
  t.router.get('/fresh/kit-scoped', kit.scoped('user', { fresh: true }), answer('kit-scoped'))
  class JwtView extends BaseEndpoint {
    @t.jwt.protected({ fresh: true })
    get(): unknown {
      return { reached: 'jwt-view' }
    }
  }
  class KitView extends BaseEndpoint {
    @kit.protect({ fresh: true })
    get(): unknown {
      return { reached: 'kit-view' }
    }
  }
  new Initialize(t.router, {
    secret: SECRET,
    clock: t.clock.clock,
    authMode: false,
    urlPrefix: '/views',
    classViews: [
      ['/jwt', JwtView],
      ['/kit', KitView],
    ],
  })
  const fresh: FreshApp = {
    ...t,
    store,
    async freshToken(username = 'user1') {
      return (await t.login(username)).access_token as string
    },
    async refreshedToken(username = 'user1') {
      const login = await t.login(username)
      const res = await t.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(login.access_token))
        .send({ refresh_token: login.refresh_token })
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      return res.body.access_token as string
    },
    raw(extra = {}) {
      return signRaw({ user_id: 1, exp: t.clock.now + 600, scopes: ['user'], ...extra })
    },
  }
  return fresh
}

const ROUTE_FORMS: [string, string][] = [
  ['jwt.protected({ fresh: true })', '/fresh/protected'],
  ["jwt.scoped('user', { fresh: true })", '/fresh/scoped'],
  ['module-level protect({ fresh: true })', '/fresh/kit-protect'],
  ["module-level scoped('user', { fresh: true })", '/fresh/kit-scoped'],
  ['@jwt.protected({ fresh: true }) on a class view', '/views/jwt'],
  ['@protect({ fresh: true }) (module-level) on a class view', '/views/kit'],
]

const REACHED: Record<string, string> = {
  '/fresh/protected': 'protected',
  '/fresh/scoped': 'scoped',
  '/fresh/kit-protect': 'kit-protect',
  '/fresh/kit-scoped': 'kit-scoped',
  '/views/jwt': 'jwt-view',
  '/views/kit': 'kit-view',
}

/** Runs `fn` with `process.env[name] = value`, restoring the variable afterwards. */
function withEnv<T>(name: string, value: string, fn: () => T): T {
  const saved = process.env[name]
  process.env[name] = value
  try {
    return fn()
  } finally {
    if (saved === undefined) delete process.env[name]
    else process.env[name] = saved
  }
}

function initializeThrown(options: InitializeOptions<TestUser>): unknown {
  try {
    new Initialize<TestUser>(new Koa(), { secret: SECRET, authenticate: authenticateWith(makeUsers()), ...options })
  } catch (error) {
    return error
  }
  throw new Error('expected new Initialize() to throw')
}

describe('option: loginFreshness', () => {
  afterEach(expectNoUnhandledErrors)

  it('defaults to true: POST /auth issues fresh: true', async () => {
    const t = build()
    expect(t.jwt.config.get('loginFreshness')).to.equal(true)
    const { access_token } = await t.login()
    expect(payloadOf(access_token as string).fresh).to.equal(true)
  })

  it('keeps a fresh: true login token fresh for as long as it is valid', async () => {
    const t = freshApp()
    const token = await t.freshToken()
    t.clock.now += 1800
    expectReached(await t.agent.get('/fresh/protected').set('Authorization', bearer(token)), 'protected')
  })

  it('as seconds makes POST /auth issue fresh: now + n (the epoch until which it is fresh)', async () => {
    const t = build({ loginFreshness: 300 })
    const { access_token } = await t.login()
    const payload = payloadOf(access_token as string)
    expect(payload.fresh).to.equal(t.clock.now + 300)
    expect(payload).to.not.have.property('iat')
  })

  it("as seconds counts from the token's iat when claimIat is on", async () => {
    const t = build({ loginFreshness: 300, claimIat: true })
    t.clock.now += 0.75
    const { access_token } = await t.login()
    const payload = payloadOf(access_token as string)
    expect(payload.iat).to.equal(Math.floor(t.clock.now))
    expect(payload.fresh).to.equal((payload.iat as number) + 300)
  })

  it("as seconds counts from the token's iat, not from the moment the token is signed", async () => {
    // A slow scopes lookup runs between the claims (iat) and the signature.
    let clock = { now: 0 }
    const t = build({
      loginFreshness: 300,
      claimIat: true,
      addScopesToPayload: async (user) => {
        clock.now += 5
        return user.scopes ?? []
      },
    })
    clock = t.clock
    const issuedAt = t.clock.now
    const { access_token } = await t.login()
    const payload = payloadOf(access_token as string)
    expect(t.clock.now).to.equal(issuedAt + 5)
    expect(payload.iat).to.equal(issuedAt)
    expect(payload.fresh).to.equal(issuedAt + 300)
  })

  for (const span of ['5m', '300s', '300']) {
    it(`accepts the span ${JSON.stringify(span)} as 300 seconds`, async () => {
      const t = build({ loginFreshness: span })
      expect(t.jwt.config.get('loginFreshness')).to.equal(300)
      const { access_token } = await t.login()
      expect(payloadOf(access_token as string).fresh).to.equal(t.clock.now + 300)
    })
  }

  it('accepts 0: the login token is fresh during the second it was issued only', async () => {
    const t = freshApp({ loginFreshness: 0 })
    const token = await t.freshToken()
    expect(payloadOf(token).fresh).to.equal(t.clock.now)
    expectReached(await t.agent.get('/fresh/protected').set('Authorization', bearer(token)), 'protected')
    t.clock.now += 1
    expectNeedsFresh(await t.agent.get('/fresh/protected').set('Authorization', bearer(token)))
  })

  for (const value of [false, -1, 'soon', 'true', null, Number.NaN]) {
    it(`refuses ${show(value)} at start-up with InvalidConfiguration`, () => {
      const error = initializeThrown({ loginFreshness: value as never })
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect((error as Error).message).to.include('"loginFreshness"')
    })
  }

  describe('environment preset KOA_JWT_LOGIN_FRESHNESS', () => {
    const presets: [string, true | number][] = [
      ['true', true],
      ['TRUE', true],
      ['300', 300],
      ['5m', 300],
    ]
    for (const [preset, expected] of presets) {
      it(`reads ${JSON.stringify(preset)} as ${String(expected)}`, async () => {
        const t = withEnv('KOA_JWT_LOGIN_FRESHNESS', preset, () => build())
        expect(t.jwt.config.get('loginFreshness')).to.equal(expected)
        const { access_token } = await t.login()
        expect(payloadOf(access_token as string).fresh).to.equal(expected === true ? true : t.clock.now + expected)
      })
    }

    it('is beaten by the option', () => {
      const t = withEnv('KOA_JWT_LOGIN_FRESHNESS', '5m', () => build({ loginFreshness: 60 }))
      expect(t.jwt.config.get('loginFreshness')).to.equal(60)
    })

    for (const preset of ['yes', 'false', '-5', 'soon']) {
      it(`refuses ${JSON.stringify(preset)} at start-up with InvalidConfiguration`, () => {
        const error = withEnv('KOA_JWT_LOGIN_FRESHNESS', preset, () => initializeThrown({}))
        expect(error).to.be.instanceOf(InvalidConfiguration)
        expect((error as Error).message).to.include('"loginFreshness"')
      })
    }
  })

  it('does not make refreshed tokens fresh: POST /auth/refresh issues fresh: false', async () => {
    for (const loginFreshness of [true, 300] as const) {
      const t = freshApp({ loginFreshness })
      const token = await t.refreshedToken()
      expect(payloadOf(token).fresh, String(loginFreshness)).to.equal(false)
    }
  })
})

describe('option: generateAccessToken({ fresh })', () => {
  afterEach(expectNoUnhandledErrors)

  const user = { user_id: 1, username: 'user1', password: 'abcxyz', scopes: ['user'] }

  it('issues fresh: true, false, or now + n seconds', async () => {
    const t = freshApp()
    expect(payloadOf(await t.jwt.auth.generateAccessToken(user, { fresh: true })).fresh).to.equal(true)
    expect(payloadOf(await t.jwt.auth.generateAccessToken(user, { fresh: false })).fresh).to.equal(false)
    expect(payloadOf(await t.jwt.auth.generateAccessToken(user, { fresh: 90 })).fresh).to.equal(t.clock.now + 90)
    expect(payloadOf(await t.jwt.auth.generateAccessToken(user))).to.not.have.property('fresh')
  })

  it('makes a token with fresh: n open a fresh route for n seconds, the last one included', async () => {
    const t = freshApp()
    const token = await t.jwt.auth.generateAccessToken(user, { fresh: 90 })
    t.clock.now += 90
    expectReached(await t.agent.get('/fresh/protected').set('Authorization', bearer(token)), 'protected')
    t.clock.now += 1
    expectNeedsFresh(await t.agent.get('/fresh/protected').set('Authorization', bearer(token)))
  })

  for (const [fresh, seconds] of [['60', 60], ['15m', 900]] as const) {
    it(`takes fresh: ${show(fresh)} as ${seconds} seconds, as loginFreshness takes spans`, async () => {
      const t = freshApp()
      const token = await t.jwt.auth.generateAccessToken(user, { fresh })
      t.clock.now += seconds
      expectReached(await t.agent.get('/fresh/protected').set('Authorization', bearer(token)), 'protected')
      t.clock.now += 1
      expectNeedsFresh(await t.agent.get('/fresh/protected').set('Authorization', bearer(token)))
    })
  }

  for (const fresh of ['yes', -1, Number.NaN, Infinity, null, '-5m']) {
    it(`refuses fresh: ${show(fresh)} with InvalidConfiguration`, async () => {
      const t = freshApp()
      let error: unknown
      try {
        await t.jwt.auth.generateAccessToken(user, { fresh: fresh as never })
      } catch (caught) {
        error = caught
      }
      expect(error).to.be.instanceOf(InvalidConfiguration)
    })
  }
})

describe('middleware: protected({ fresh })', () => {
  afterEach(expectNoUnhandledErrors)

  for (const [form, path] of ROUTE_FORMS) {
    describe(form, () => {
      // Login tokens are fresh for 60 s here, so the time window is exercised too.
      let t: FreshApp
      beforeEach(() => {
        t = freshApp({ loginFreshness: 60 })
      })

      const get = (token: string) => t.agent.get(path).set('Authorization', bearer(token))

      it('lets a fresh login token through', async () => {
        expectReached(await get(await t.freshToken()), REACHED[path] as string)
      })

      it('lets a token with fresh: true through', async () => {
        expectReached(await get(t.raw({ fresh: true })), REACHED[path] as string)
      })

      it('answers 401 NeedsFreshToken with an insufficient_user_authentication challenge (RFC 9470) to a token with fresh: false', async () => {
        expectNeedsFresh(await get(t.raw({ fresh: false })))
      })

      it('answers 401 NeedsFreshToken to a token without the fresh claim', async () => {
        expectNeedsFresh(await get(t.raw()))
      })

      it('answers 401 NeedsFreshToken to a refreshed token', async () => {
        expectNeedsFresh(await get(await t.refreshedToken()))
      })

      it('lets a login token through until its freshness window ends, then answers 401 NeedsFreshToken', async () => {
        const token = await t.freshToken()
        t.clock.now += 60
        expectReached(await get(token), REACHED[path] as string)
        t.clock.now += 1
        expectNeedsFresh(await get(token))
      })

      it('still answers the usual 401 to a request without a token', async () => {
        expectError(await t.agent.get(path), 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      })

      it('still answers 401 "Signature has expired." to an expired fresh token (verification comes first)', async () => {
        const token = await t.freshToken()
        t.clock.now += 1800 + 180 + 1
        expectError(await get(token), 401, 'Unauthorized', 'ERR_JWT_EXPIRED', ['Signature has expired.'])
      })
    })
  }

  it('checks nothing more with fresh: false or without the option', async () => {
    const t = freshApp()
    t.router.get('/not-fresh', t.jwt.protected({ fresh: false }), answer('not-fresh'))
    const token = t.raw({ fresh: false })
    expectReached(await t.agent.get('/not-fresh').set('Authorization', bearer(token)), 'not-fresh')
    const res = await t.agent.get('/protected').set('Authorization', bearer(token))
    expect(res.status).to.equal(200)
  })

  it('refuses a route option fresh that is not a boolean when the route is declared', () => {
    const t = freshApp()
    for (const fresh of ['yes', 1, null]) {
      expect(() => t.jwt.protected({ fresh: fresh as never }), String(fresh)).to.throw(InvalidConfiguration, /"fresh"/)
      expect(() => t.jwt.scoped('user', { fresh: fresh as never }), String(fresh)).to.throw(InvalidConfiguration)
      expect(() => kit.protect({ fresh: fresh as never }), String(fresh)).to.throw(InvalidConfiguration)
      expect(() => kit.scoped('user', { fresh: fresh as never }), String(fresh)).to.throw(InvalidConfiguration)
    }
  })

  describe('scoped() order: verification, freshness, then scopes', () => {
    let t: FreshApp
    beforeEach(() => {
      t = freshApp()
      t.router.get('/fresh/admin', t.jwt.scoped('admin', { fresh: true }), answer('admin'))
      t.router.get('/fresh/kit-admin', kit.scoped('admin', { fresh: true }), answer('kit-admin'))
    })

    for (const path of ['/fresh/admin', '/fresh/kit-admin']) {
      it(`${path}: answers 401 NeedsFreshToken, not 403, to a non-fresh token lacking the scope`, async () => {
        expectNeedsFresh(await t.agent.get(path).set('Authorization', bearer(await t.refreshedToken('user1'))))
      })

      it(`${path}: answers 403 "Invalid scope." to a fresh token lacking the scope`, async () => {
        const res = await t.agent.get(path).set('Authorization', bearer(await t.freshToken('user1')))
        expectError(res, 403, 'Unauthorized', 'ERR_JWT_INVALID_SCOPE', ['Invalid scope.'])
      })

      it(`${path}: answers 401 NeedsFreshToken to a non-fresh token holding the scope, 200 to a fresh one`, async () => {
        expectNeedsFresh(await t.agent.get(path).set('Authorization', bearer(await t.refreshedToken('user2'))))
        const res = await t.agent.get(path).set('Authorization', bearer(await t.freshToken('user2')))
        expect(res.status).to.equal(200)
      })
    }

    it('does not call an asynchronous scope check for a non-fresh token', async () => {
      let calls = 0
      const checked = freshApp()
      checked.router.get(
        '/fresh/async-scopes',
        checked.jwt.scoped(
          async () => {
            calls += 1
            return 'user'
          },
          { fresh: true },
        ),
        answer('async-scopes'),
      )
      const res = await checked.agent.get('/fresh/async-scopes').set('Authorization', bearer(checked.raw()))
      expectNeedsFresh(res)
      expect(calls).to.equal(0)
    })
  })

  it('answers 401 (not 400) NeedsFreshToken in debug mode too', async () => {
    const t = freshApp({ debug: true })
    for (const path of ['/fresh/protected', '/fresh/scoped', '/fresh/kit-protect', '/fresh/kit-scoped']) {
      const res = await t.agent.get(path).set('Authorization', bearer(t.raw({ fresh: false })))
      expectNeedsFresh(res)
    }
  })

  it('answers NeedsFreshToken with a per-route debug override as well', async () => {
    const t = freshApp()
    t.router.get('/fresh/debug', t.jwt.protected({ fresh: true, debug: true }), answer('debug'))
    expectNeedsFresh(await t.agent.get('/fresh/debug').set('Authorization', bearer(t.raw())))
  })

  describe('redirectOnFail', () => {
    let t: FreshApp
    beforeEach(() => {
      t = freshApp({ loginRedirectUrl: '/login' })
      t.router.get('/fresh/page', t.jwt.protected({ fresh: true, redirectOnFail: true }), answer('page'))
      const toStepUp = { fresh: true, redirectOnFail: true, redirectUrl: '/step-up?next=settings' }
      t.router.get('/fresh/settings', t.jwt.protected(toStepUp), answer('settings'))
      t.router.get('/fresh/admin-page', t.jwt.scoped('admin', { fresh: true, redirectOnFail: true }), answer('admin'))
    })

    it('redirects a non-fresh token to loginRedirectUrl instead of answering 401', async () => {
      const res = await t.agent.get('/fresh/page').set('Authorization', bearer(t.raw({ fresh: false })))
      expect(res.status).to.equal(302)
      expect(res.headers.location).to.equal('/login')
    })

    it('redirects a non-fresh token to the redirectUrl of the route', async () => {
      const res = await t.agent.get('/fresh/settings').set('Authorization', bearer(await t.refreshedToken()))
      expect(res.status).to.equal(302)
      expect(res.headers.location).to.equal('/step-up?next=settings')
    })

    it('redirects a non-fresh token on scoped() before the scopes are checked', async () => {
      const res = await t.agent.get('/fresh/admin-page').set('Authorization', bearer(t.raw()))
      expect(res.status).to.equal(302)
      expect(res.headers.location).to.equal('/login')
    })

    it('lets a fresh token through', async () => {
      expectReached(await t.agent.get('/fresh/page').set('Authorization', bearer(await t.freshToken())), 'page')
    })
  })

  describe('doProtection: false', () => {
    it('checks no freshness: every fresh route lets any request through', async () => {
      const t = freshApp({ doProtection: false })
      for (const path of ['/fresh/protected', '/fresh/scoped', '/fresh/kit-protect', '/fresh/kit-scoped', '/views/jwt']) {
        expectReached(await t.agent.get(path), REACHED[path] as string)
        expectReached(await t.agent.get(path).set('Authorization', bearer(t.raw({ fresh: false }))), REACHED[path] as string)
      }
    })

    it('as a per-route override disables the freshness check of that route only', async () => {
      const t = freshApp()
      t.router.get('/fresh/open', t.jwt.protected({ fresh: true, doProtection: false }), answer('open'))
      const token = t.raw({ fresh: false })
      expectReached(await t.agent.get('/fresh/open').set('Authorization', bearer(token)), 'open')
      expectNeedsFresh(await t.agent.get('/fresh/protected').set('Authorization', bearer(token)))
    })
  })

  it('lets OPTIONS requests through without a token', async () => {
    const t = freshApp()
    const preflight = (ctx: Context) => {
      ctx.status = 204
      ctx.set('x-reached', 'yes')
    }
    t.router.options('/fresh/protected', t.jwt.protected({ fresh: true }), preflight)
    t.router.options('/fresh/scoped', t.jwt.scoped('user', { fresh: true }), preflight)
    t.router.options('/fresh/kit-protect', kit.protect({ fresh: true }), preflight)
    for (const path of ['/fresh/protected', '/fresh/scoped', '/fresh/kit-protect']) {
      let res = await t.agent.options(path)
      expect(res.status, path).to.equal(204)
      expect(res.headers['x-reached'], path).to.equal('yes')
      res = await t.agent.options(path).set('Authorization', bearer(t.raw({ fresh: false })))
      expect(res.status, path).to.equal(204)
    }
  })

  it('reads the clock setting of the request: a per-route clock decides the window', async () => {
    const t = freshApp({ loginFreshness: 60 })
    t.router.get(
      '/fresh/later',
      t.jwt.protected({ fresh: true, clock: () => t.clock.now + 61 }),
      answer('later'),
    )
    const token = await t.freshToken()
    expectReached(await t.agent.get('/fresh/protected').set('Authorization', bearer(token)), 'protected')
    expectNeedsFresh(await t.agent.get('/fresh/later').set('Authorization', bearer(token)))
  })

  it('answers through Responses.needsFreshTokenResponse when a subclass overrides it', async () => {
    expect(Responses.prototype).to.have.property('needsFreshTokenResponse').that.is.a('function')
    class StepUp extends Responses {
      override needsFreshTokenResponse(ctx: Context, error: kit.KoaJwtError): void {
        ctx.status = 401
        ctx.set('x-step-up', 'required')
        ctx.body = { msg: 'Fresh token required', code: error.code }
      }
    }
    const t = freshApp({ responsesClass: StepUp })
    let res = await t.agent.get('/fresh/protected').set('Authorization', bearer(t.raw()))
    expect(res.status).to.equal(401)
    expect(res.headers['x-step-up']).to.equal('required')
    expect(res.body).to.deep.equal({ msg: 'Fresh token required', code: 'ERR_JWT_NEEDS_FRESH' })
    // Other failures keep the default answer.
    res = await t.agent.get('/fresh/protected')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    expect(res.headers).to.not.have.property('x-step-up')
  })
})
