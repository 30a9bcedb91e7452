import Router from '@koa/router'
import { expect } from 'chai'
import Koa, { type Context } from 'koa'
import request from 'supertest'

import {
  AuthenticateNotImplemented,
  Authentication,
  AuthenticationFailed,
  BaseEndpoint,
  Configuration,
  Initialize,
  InitializationFailure,
  initialize,
  InvalidConfiguration,
  KoaJwtError,
  RefreshTokenNotImplemented,
  Responses,
  ScopesNotImplemented,
  type AuthenticateResult,
  type AuthenticationClass,
  type ConfigurationClass,
  type InitializeOptions,
  type JwtPayload,
} from '../source'
import {
  authenticateWith,
  buildApp,
  makeUsers,
  refreshStore,
  SECRET,
  type TestApp,
  type TestUser,
} from './helpers/app'
import { bearer, expectError, payloadOf, signRaw } from './helpers/initialize'
import { warningsDuring } from './helpers/warnings'

const OTHER_SECRET = 'another-secret-that-is-long-enough'

/** Runs `fn` and returns what it throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

/** Logs in on `agent` at `path` and returns the body. */
async function loginAt(
  agent: ReturnType<typeof request>,
  path: string,
  username = 'user1',
): Promise<Record<string, string>> {
  const res = await agent.post(path).send({ username, password: 'abcxyz' })
  expect(res.status, `${path} ${JSON.stringify(res.body)}`).to.equal(200)
  return res.body as Record<string, string>
}

/** Options every instance of these specs needs. */
function baseOptions(users = makeUsers()): InitializeOptions<TestUser> {
  return {
    secret: SECRET,
    authenticate: authenticateWith(users),
    retrieveUser: (_ctx, payload) => users.find((u) => u.user_id === payload.user_id) ?? null,
  }
}

describe('Initialize', () => {
  describe('on an app', () => {
    it('mounts POST /auth, GET /auth/verify and GET /auth/me and exposes its parts', async () => {
      const app = new Koa()
      const jwt = new Initialize<TestUser>(app, baseOptions())
      expect(jwt.app).to.equal(app)
      expect(jwt.instance).to.equal(app)
      expect(jwt.router).to.be.instanceOf(Router)
      expect(jwt.config).to.be.instanceOf(Configuration)
      expect(jwt.auth).to.be.instanceOf(Authentication)
      expect(jwt.responses).to.be.instanceOf(Responses)
      expect([...jwt.endpoints.keys()]).to.have.members(['/auth', '/auth/verify', '/auth/me'])
      const agent = request(app.callback())
      const { access_token } = await loginAt(agent, '/auth')
      expect((await agent.get('/auth/verify').set('Authorization', bearer(access_token))).body).to.deep.equal({
        valid: true,
      })
      expect((await agent.get('/auth/me').set('Authorization', bearer(access_token))).body.me).to.include({
        user_id: 1,
      })
    })

    it('throws InvalidConfiguration without a secret (there is no default secret)', () => {
      const error = thrown(() => new Initialize(new Koa(), { authenticate: () => ({ user_id: 1 }) }))
      expect(error).to.be.instanceOf(InvalidConfiguration)
    })
  })

  describe('on a router', () => {
    it('puts the endpoints under the router prefix: new Router({ prefix: "/api" }) → /api/auth', async () => {
      const app = new Koa()
      const router = new Router({ prefix: '/api' })
      const jwt = new Initialize<TestUser>(router, baseOptions())
      expect(jwt.app).to.equal(undefined)
      expect(jwt.instance).to.equal(router)
      expect(jwt.router).to.equal(router)
      router.get('/protected', jwt.protected(), (ctx) => {
        ctx.body = { protected: true }
      })
      app.use(router.routes())
      const agent = request(app.callback())
      const { access_token } = await loginAt(agent, '/api/auth')
      let res = await agent.get('/api/auth/verify').set('Authorization', bearer(access_token))
      expect(res.body).to.deep.equal({ valid: true })
      res = await agent.get('/api/auth/me').set('Authorization', bearer(access_token))
      expect(res.body.me).to.include({ user_id: 1 })
      res = await agent.get('/api/protected').set('Authorization', bearer(access_token))
      expect(res.body).to.deep.equal({ protected: true })
      res = await agent.options('/api/auth/me')
      expect(res.status).to.equal(204)
      expect((await agent.post('/auth').send({})).status).to.equal(404)
    })

    it('puts class views under urlPrefix too (reference §7.2.14)', async () => {
      class MagicLogin extends BaseEndpoint {
        post(): unknown {
          return { sent: true }
        }
      }
      const app = new Koa()
      const router = new Router({ prefix: '/api' })
      new Initialize<TestUser>(router, { ...baseOptions(), classViews: [['/magic-login', MagicLogin]] })
      app.use(router.routes())
      const agent = request(app.callback())
      let res = await agent.post('/api/auth/magic-login')
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ sent: true })
      res = await agent.post('/api/magic-login')
      expect(res.status).to.equal(404)
    })

    it('keeps the paths intact when the router prefix is a prefix of urlPrefix (reference §7.2.6)', async () => {
      const app = new Koa()
      const router = new Router({ prefix: '/a' })
      new Initialize<TestUser>(router, baseOptions())
      app.use(router.routes())
      const agent = request(app.callback())
      const { access_token } = await loginAt(agent, '/a/auth')
      const res = await agent.get('/a/auth/verify').set('Authorization', bearer(access_token))
      expect(res.body).to.deep.equal({ valid: true })
      expect((await agent.get('/a/uth/verify').set('Authorization', bearer(access_token))).status).to.equal(404)
    })

    it('joins the router prefix and a custom urlPrefix: /test + /a → /test/a/verify', async () => {
      const app = new Koa()
      const router = new Router({ prefix: '/test' })
      new Initialize<TestUser>(router, { ...baseOptions(), urlPrefix: '/a' })
      app.use(router.routes())
      const agent = request(app.callback())
      const { access_token } = await loginAt(agent, '/test/a')
      const res = await agent.get('/test/a/verify').set('Authorization', bearer(access_token))
      expect(res.body).to.deep.equal({ valid: true })
    })

    for (const order of ['app.use(router.routes()) first', 'new Initialize(router) first']) {
      it(`works when ${order}`, async () => {
        const app = new Koa()
        const router = new Router({ prefix: '/api' })
        let jwt: Initialize<TestUser>
        if (order.startsWith('app.use')) {
          app.use(router.routes())
          app.use(router.allowedMethods())
          jwt = new Initialize<TestUser>(router, baseOptions())
        } else {
          jwt = new Initialize<TestUser>(router, baseOptions())
          app.use(router.routes())
          app.use(router.allowedMethods())
        }
        router.get('/protected', jwt.protected(), (ctx) => {
          ctx.body = { protected: true }
        })
        const agent = request(app.callback())
        const { access_token } = await loginAt(agent, '/api/auth')
        let res = await agent.get('/api/protected').set('Authorization', bearer(access_token))
        expect(res.body).to.deep.equal({ protected: true })
        res = await agent.get('/api/protected')
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
        res = await agent.get('/api/auth/verify')
        expectError(res, 401, 'MissingAuthorizationHeader', 'ERR_JWT_MISSING_HEADER')
        res = await agent.get('/api/auth')
        expect(res.status).to.equal(405)
      })
    }
  })

  describe('several instances side by side', () => {
    function threeInstances() {
      const app = new Koa()
      const users = makeUsers()
      const main = new Initialize<TestUser>(app, baseOptions(users))
      const one = new Router({ prefix: '/one' })
      const first = new Initialize<TestUser>(one, { ...baseOptions(users), accessTokenName: 'mytoken' })
      const two = new Router({ prefix: '/two' })
      const second = new Initialize<TestUser>(two, {
        ...baseOptions(users),
        secret: OTHER_SECRET,
        accessTokenName: 'yourtoken',
      })
      const root = new Router()
      for (const [router, jwt] of [
        [root, main],
        [one, first],
        [two, second],
      ] as const) {
        router.get('/protected', jwt.protected(), (ctx) => {
          ctx.body = { by: router === root ? 'main' : router === one ? 'one' : 'two' }
        })
        app.use(router.routes())
      }
      return { app, main, first, second, agent: request(app.callback()) }
    }

    it('gives each instance its own endpoints, settings and token name', async () => {
      const { main, first, second, agent } = threeInstances()
      expect(Object.keys(await loginAt(agent, '/auth'))).to.deep.equal(['access_token'])
      expect(Object.keys(await loginAt(agent, '/one/auth'))).to.deep.equal(['mytoken'])
      expect(Object.keys(await loginAt(agent, '/two/auth'))).to.deep.equal(['yourtoken'])
      expect(main.config.get('accessTokenName')).to.equal('access_token')
      expect(first.config.get('accessTokenName')).to.equal('mytoken')
      expect(second.config.get('accessTokenName')).to.equal('yourtoken')
      first.config.set('debug', true)
      expect(main.config.get('debug')).to.equal(false)
      expect(second.config.get('debug')).to.equal(false)
      const res = await agent.get('/two/protected').set('Authorization', bearer('garbage'))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
    })

    it('accepts a token of one instance at another only when their secrets match', async () => {
      const { agent } = threeInstances()
      const { mytoken } = await loginAt(agent, '/one/auth')
      const { yourtoken } = await loginAt(agent, '/two/auth')
      // /one and the app share the secret.
      for (const path of ['/one/protected', '/protected']) {
        const res = await agent.get(path).set('Authorization', bearer(mytoken))
        expect(res.status, path).to.equal(200)
      }
      expect((await agent.get('/one/auth/verify').set('Authorization', bearer(mytoken))).body).to.deep.equal({
        valid: true,
      })
      let res = await agent.get('/two/protected').set('Authorization', bearer(mytoken))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN')
      res = await agent.get('/two/auth/verify').set('Authorization', bearer(mytoken))
      expectError(res, 401, 'InvalidToken', 'ERR_JWT_INVALID_TOKEN')
      // /two's token works only at /two.
      res = await agent.get('/two/protected').set('Authorization', bearer(yourtoken))
      expect(res.body).to.deep.equal({ by: 'two' })
      for (const path of ['/one/protected', '/protected']) {
        res = await agent.get(path).set('Authorization', bearer(yourtoken))
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN')
      }
    })
  })

  describe('targets', () => {
    const targets: [string, unknown][] = [
      ['a plain object', {}],
      ['null', null],
      ['a string', 'app'],
      ['a function', () => undefined],
      ['an object with use() only', { use: () => undefined }],
    ]
    for (const [name, target] of targets) {
      it(`throws InitializationFailure for ${name}`, () => {
        const error = thrown(() => new Initialize(target as Koa, baseOptions()))
        expect(error).to.be.instanceOf(InitializationFailure)
        expect((error as InitializationFailure).code).to.equal('ERR_JWT_INITIALIZATION_FAILURE')
      })
    }
  })

  describe('handlers', () => {
    it('takes handlers given as options', async () => {
      const t = buildApp()
      const { access_token } = await t.login('user2')
      const res = await t.agent.get('/auth/me').set('Authorization', bearer(access_token))
      expect(res.body.me).to.include({ username: 'user2' })
    })

    it('takes handlers written as methods of an Authentication subclass', async () => {
      const users = makeUsers()
      class MyAuthentication extends Authentication<TestUser> {
        override async authenticate(ctx: Context): Promise<TestUser> {
          return authenticateWith(users)(ctx)
        }
        override retrieveUser(_ctx: Context, payload: JwtPayload): TestUser | null {
          return users.find((u) => u.user_id === payload.user_id) ?? null
        }
      }
      const app = new Koa()
      new Initialize<TestUser>(app, { secret: SECRET, authenticationClass: MyAuthentication })
      const agent = request(app.callback())
      const { access_token } = await loginAt(agent, '/auth', 'user2')
      const res = await agent.get('/auth/me').set('Authorization', bearer(access_token))
      expect(res.body.me).to.include({ username: 'user2' })
    })

    it('takes handlers written as arrow-function fields of an Authentication subclass', async () => {
      const users = makeUsers()
      class FieldAuthentication extends Authentication<TestUser> {
        override authenticate = (ctx: Context): Promise<TestUser> => authenticateWith(users)(ctx)
        override retrieveUser = (_ctx: Context, payload: JwtPayload): TestUser | null =>
          users.find((u) => u.user_id === payload.user_id) ?? null
      }
      const app = new Koa()
      new Initialize<TestUser>(app, { secret: SECRET, authenticationClass: FieldAuthentication })
      const agent = request(app.callback())
      const { access_token } = await loginAt(agent, '/auth', 'user2')
      const res = await agent.get('/auth/me').set('Authorization', bearer(access_token))
      expect(res.body.me).to.include({ username: 'user2' })
    })

    it('lets options win over methods of the subclass', async () => {
      class MyAuthentication extends Authentication<TestUser> {
        override authenticate(): TestUser {
          return { user_id: 1, username: 'from-class', password: '' }
        }
      }
      const app = new Koa()
      new Initialize(app, {
        secret: SECRET,
        authenticationClass: MyAuthentication,
        authenticate: () => ({ user_id: 42 }),
      })
      const { access_token } = await loginAt(request(app.callback()), '/auth')
      expect(payloadOf(access_token!).user_id).to.equal(42)
    })

    it('throws AuthenticateNotImplemented at start-up without authenticate', () => {
      const error = thrown(() => new Initialize(new Koa(), { secret: SECRET }))
      expect(error).to.be.instanceOf(AuthenticateNotImplemented)
      expect((error as KoaJwtError).code).to.equal('ERR_JWT_AUTHENTICATE_NOT_IMPLEMENTED')
    })

    it('throws InitializationFailure for a handler that is not a function', () => {
      const error = thrown(
        () =>
          new Initialize(new Koa(), {
            secret: SECRET,
            authenticate: () => ({ user_id: 1 }),
            retrieveUser: 'users' as never,
          }),
      )
      expect(error).to.be.instanceOf(InitializationFailure)
    })

    it('throws RefreshTokenNotImplemented for refreshTokenEnabled without both refresh handlers, naming the missing one', () => {
      const store = refreshStore(new Map())
      const partial = [
        [{}, 'Refresh tokens have not been enabled.'],
        [
          { storeRefreshToken: store.storeRefreshToken },
          'Refresh tokens are enabled but the "retrieveRefreshToken" handler is missing.',
        ],
        [
          { retrieveRefreshToken: store.retrieveRefreshToken },
          'Refresh tokens are enabled but the "storeRefreshToken" handler is missing.',
        ],
      ] as const
      for (const [extra, message] of partial) {
        const error = thrown(
          () =>
            new Initialize(new Koa(), {
              secret: SECRET,
              authenticate: () => ({ user_id: 1 }),
              refreshTokenEnabled: true,
              ...extra,
            }),
        )
        expect(error, Object.keys(extra).join()).to.be.instanceOf(RefreshTokenNotImplemented)
        expect((error as KoaJwtError).code).to.equal('ERR_JWT_REFRESH_NOT_IMPLEMENTED')
        expect((error as KoaJwtError).message).to.equal(message)
        expect((error as KoaJwtError).reasons).to.deep.equal([message])
      }
    })

    it('names the missing refresh handler when the other is given only as an Authentication method', () => {
      class StoringAuthentication extends Authentication {
        override storeRefreshToken(): void {}
      }
      const error = thrown(
        () =>
          new Initialize(new Koa(), {
            secret: SECRET,
            authenticationClass: StoringAuthentication,
            authenticate: () => ({ user_id: 1 }),
          }),
      )
      expect(error).to.be.instanceOf(RefreshTokenNotImplemented)
      expect((error as KoaJwtError).message).to.equal(
        'Refresh tokens are enabled but the "retrieveRefreshToken" handler is missing.',
      )
    })

    it('throws ScopesNotImplemented for scopesEnabled without addScopesToPayload', () => {
      const error = thrown(
        () =>
          new Initialize(new Koa(), {
            secret: SECRET,
            authenticate: () => ({ user_id: 1 }),
            scopesEnabled: true,
          }),
      )
      expect(error).to.be.instanceOf(ScopesNotImplemented)
      expect((error as KoaJwtError).code).to.equal('ERR_JWT_SCOPES_NOT_IMPLEMENTED')
    })

    it('turns scopes on for addScopesToPayload defined only in an Authentication subclass (sanic-jwt #160)', async () => {
      const users = makeUsers()
      class ScopedAuthentication extends Authentication<TestUser> {
        override authenticate(ctx: Context): Promise<TestUser> {
          return authenticateWith(users)(ctx)
        }
        override addScopesToPayload(user: TestUser): string[] {
          return user.scopes ?? []
        }
      }
      const app = new Koa()
      const jwt = new Initialize<TestUser>(app, { secret: SECRET, authenticationClass: ScopedAuthentication })
      expect(jwt.config.get('scopesEnabled')).to.equal(true)
      const router = new Router()
      router.get('/admin', jwt.scoped('admin'), (ctx) => {
        ctx.body = { admin: true }
      })
      app.use(router.routes())
      const agent = request(app.callback())
      const admin = await loginAt(agent, '/auth', 'user2')
      expect(payloadOf(admin.access_token!).scopes).to.deep.equal(['user', 'admin'])
      expect((await agent.get('/admin').set('Authorization', bearer(admin.access_token))).status).to.equal(200)
      const user = await loginAt(agent, '/auth', 'user1')
      const res = await agent.get('/admin').set('Authorization', bearer(user.access_token))
      expectError(res, 403, 'Unauthorized', 'ERR_JWT_INVALID_SCOPE')
    })

    it('keeps scopes off when scopesEnabled: false is explicit, even with addScopesToPayload', async () => {
      const t = buildApp({ scopesEnabled: false, addScopesToPayload: () => ['admin'] })
      const { access_token } = await t.login()
      expect(payloadOf(access_token!)).to.not.have.property('scopes')
    })

    it('turns refresh tokens on for refresh handlers defined in an Authentication subclass', async () => {
      const users = makeUsers()
      const store = new Map<unknown, string>()
      class RefreshingAuthentication extends Authentication<TestUser> {
        override authenticate(ctx: Context): Promise<TestUser> {
          return authenticateWith(users)(ctx)
        }
        override storeRefreshToken(userId: unknown, token: string): void {
          store.set(userId, token)
        }
        override retrieveRefreshToken(userId: unknown): string | null {
          return store.get(userId) ?? null
        }
      }
      const app = new Koa()
      const jwt = new Initialize<TestUser>(app, {
        secret: SECRET,
        authenticationClass: RefreshingAuthentication,
      })
      expect(jwt.config.get('refreshTokenEnabled')).to.equal(true)
      const agent = request(app.callback())
      const body = await loginAt(agent, '/auth')
      expect(body).to.have.all.keys('access_token', 'refresh_token')
      expect(store.get(1)).to.equal(body.refresh_token)
      expect((await agent.options('/auth/refresh')).status).to.equal(204)
    })

    it('supports the legacy initialize(app, authenticate, options)', async () => {
      const app = new Koa()
      const jwt = initialize<TestUser>(app, authenticateWith(makeUsers()), { secret: SECRET })
      expect(jwt).to.be.instanceOf(Initialize)
      const { access_token } = await loginAt(request(app.callback()), '/auth')
      expect(payloadOf(access_token!).user_id).to.equal(1)
    })

    it('supports initialize(app, undefined, { authMode: false })', async () => {
      const app = new Koa()
      const jwt = initialize(app, undefined, { secret: SECRET, authMode: false })
      expect(jwt).to.be.instanceOf(Initialize)
      expect((await request(app.callback()).post('/auth').send({})).status).to.equal(404)
      expect(thrown(() => initialize(new Koa(), undefined, { secret: SECRET }))).to.be.instanceOf(
        AuthenticateNotImplemented,
      )
    })
  })

  describe('component classes', () => {
    class MyConfiguration extends Configuration {
      urlPrefix = '/custom'
    }
    class MyResponses extends Responses {
      override extendAuthenticate(
        _ctx: Context,
        { user }: AuthenticateResult<TestUser>,
      ): Record<string, unknown> {
        return { username: user.username }
      }
    }
    class MyAuthentication extends Authentication<TestUser> {
      override async authenticate(ctx: Context): Promise<TestUser> {
        return authenticateWith(makeUsers())(ctx)
      }
    }

    it('takes authenticationClass, configurationClass and responsesClass as options', async () => {
      const app = new Koa()
      const jwt = new Initialize<TestUser>(app, {
        secret: SECRET,
        authenticationClass: MyAuthentication,
        configurationClass: MyConfiguration,
        responsesClass: MyResponses,
      })
      expect(jwt.auth).to.be.instanceOf(MyAuthentication)
      expect(jwt.config).to.be.instanceOf(MyConfiguration)
      expect(jwt.responses).to.be.instanceOf(MyResponses)
      const agent = request(app.callback())
      const body = await loginAt(agent, '/custom', 'user2')
      expect(body).to.have.all.keys('access_token', 'username')
      expect(body.username).to.equal('user2')
      expect((await agent.post('/auth').send({})).status).to.equal(404)
    })

    it('takes them from static fields of an Initialize subclass', async () => {
      class MyInitialize extends Initialize<TestUser> {
        static override authenticationClass: AuthenticationClass = MyAuthentication
        static override configurationClass: ConfigurationClass = MyConfiguration
        static override responsesClass = MyResponses
      }
      const app = new Koa()
      const jwt = new MyInitialize(app, { secret: SECRET })
      expect(jwt.auth).to.be.instanceOf(MyAuthentication)
      expect(jwt.config).to.be.instanceOf(MyConfiguration)
      expect(jwt.responses).to.be.instanceOf(MyResponses)
      const body = await loginAt(request(app.callback()), '/custom', 'user1')
      expect(body.username).to.equal('user1')
      // The base class keeps its defaults.
      const plain = new Initialize(new Koa(), baseOptions())
      expect(plain.responses).to.not.be.instanceOf(MyResponses)
      expect(plain.config.get('urlPrefix')).to.equal('/auth')
    })

    it('lets options win over static fields', () => {
      class OtherResponses extends Responses {}
      class MyInitialize extends Initialize<TestUser> {
        static override responsesClass = MyResponses
      }
      const jwt = new MyInitialize(new Koa(), { ...baseOptions(), responsesClass: OtherResponses })
      expect(jwt.responses).to.be.instanceOf(OtherResponses)
    })

    const impostors: [string, keyof InitializeOptions][] = [
      ['Authentication', 'authenticationClass'],
      ['Configuration', 'configurationClass'],
      ['Responses', 'responsesClass'],
    ]
    for (const [base, option] of impostors) {
      it(`throws InitializationFailure for a ${option} that does not extend ${base}`, () => {
        class Impostor {}
        let error = thrown(() => new Initialize(new Koa(), { ...baseOptions(), [option]: Impostor }))
        expect(error).to.be.instanceOf(InitializationFailure)
        expect((error as KoaJwtError).reasons[0]).to.include(base)
        class BadInitialize extends Initialize {}
        Object.defineProperty(BadInitialize, option, { value: Impostor })
        error = thrown(() => new BadInitialize(new Koa(), baseOptions()))
        expect(error).to.be.instanceOf(InitializationFailure)
      })
    }
  })

  describe('built-in routes', () => {
    it('answers 204 to OPTIONS on /auth, /auth/verify, /auth/me and /auth/refresh', async () => {
      const t = buildApp(refreshStore(new Map()))
      for (const path of ['/auth', '/auth/', '/auth/verify', '/auth/me', '/auth/refresh']) {
        const res = await t.agent.options(path)
        expect(res.status, path).to.equal(204)
        expect(res.text, path).to.equal('')
      }
    })

    it('does not mount /auth/refresh while refresh tokens are off', async () => {
      const t = buildApp()
      expect((await t.agent.post('/auth/refresh').send({})).status).to.equal(404)
      expect((await t.agent.options('/auth/refresh')).status).to.equal(404)
    })

    it('answers a clean 4xx to malformed Authorization headers on every endpoint', async () => {
      const t = buildApp()
      for (const header of ['Basic abc', 'Bearer a b']) {
        let res = await t.agent.get('/auth/verify').set('Authorization', header)
        expectError(res, 400, 'InvalidAuthorizationHeader', 'ERR_JWT_INVALID_HEADER')
        res = await t.agent.get('/auth/me').set('Authorization', header)
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_HEADER')
        res = await t.agent.get('/protected').set('Authorization', header)
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_HEADER')
        res = await t.agent
          .post('/auth')
          .set('Authorization', header)
          .send({ username: 'user1', password: 'abcxyz' })
        expect(res.status).to.equal(200)
      }
    })
  })

  describe('start-up warnings', () => {
    const SHORT = 'a-short-secret'

    it('warns KOA_JWT_WEAK_SECRET at start-up for a short secret, and not again on requests', async () => {
      let t: TestApp | undefined
      const atStartUp = await warningsDuring(() => {
        t = buildApp({ secret: SHORT })
      })
      expect(atStartUp.map((w) => w.code)).to.deep.equal(['KOA_JWT_WEAK_SECRET'])
      expect(atStartUp[0]?.message).to.include(
        `the "secret" setting is ${SHORT.length} bytes; HS256 needs at least 32`,
      )
      expect(atStartUp[0]?.message).to.not.include(SHORT)
      // The one-time memory is reset on entry: a compilation per request would warn again here.
      const onRequests = await warningsDuring(async () => {
        const { access_token } = await t!.login()
        for (const path of ['/protected', '/auth/verify', '/auth/me']) {
          const res = await t!.agent.get(path).set('Authorization', bearer(access_token))
          expect(res.status, path).to.equal(200)
        }
      })
      expect(onRequests).to.deep.equal([])
    })

    it('warns again when the secret setting changes to a short secret of another size', async () => {
      const t = buildApp()
      const warnings = await warningsDuring(() => {
        t.jwt.config.set('secret', 'tiny')
      })
      expect(warnings.map((w) => w.message.split(' (')[0])).to.deep.equal([
        'the "secret" setting is 4 bytes; HS256 needs at least 32',
      ])
    })

    it('does not warn for a long enough secret', async () => {
      const warnings = await warningsDuring(() => buildApp({ secret: 's'.repeat(32) }))
      expect(warnings).to.deep.equal([])
    })

    it('does not warn for short per-user secrets from retrieveUserSecret', async () => {
      const warnings = await warningsDuring(async () => {
        const t = buildApp({ retrieveUserSecret: (userId) => `u${String(userId)}` })
        const { access_token } = await t.login()
        const res = await t.agent.get('/protected').set('Authorization', bearer(access_token))
        expect(res.status).to.equal(200)
      })
      expect(warnings).to.deep.equal([])
    })
  })

  describe('option: authMode false', () => {
    function service() {
      const app = new Koa()
      const jwt = new Initialize(app, { secret: SECRET, authMode: false })
      const router = new Router()
      router.get('/data', jwt.protected(), (ctx) => {
        ctx.body = { user_id: ctx.state.jwt?.user_id }
      })
      app.use(router.routes())
      return { jwt, agent: request(app.callback()) }
    }

    it('mounts no endpoints and needs no authenticate', async () => {
      const { jwt, agent } = service()
      expect(jwt.endpoints.size).to.equal(0)
      for (const [method, path] of [
        ['post', '/auth'],
        ['get', '/auth/verify'],
        ['get', '/auth/me'],
        ['post', '/auth/refresh'],
      ] as const) {
        expect((await agent[method](path)).status, path).to.equal(404)
      }
    })

    it('protects routes with tokens minted by another instance with the same secret', async () => {
      const { access_token } = await buildApp().login('user2')
      const { agent } = service()
      let res = await agent.get('/data').set('Authorization', bearer(access_token))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ user_id: 2 })
      res = await agent.get('/data')
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      const forged = signRaw({ user_id: 2, exp: Math.floor(Date.now() / 1000) + 600 }, OTHER_SECRET)
      res = await agent.get('/data').set('Authorization', bearer(forged))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN')
    })
  })
})

describe('Initialize: which requests reach the endpoint router (urlPrefix)', () => {
  function appWith(urlPrefix?: string) {
    const t = buildApp(urlPrefix === undefined ? {} : { urlPrefix })
    // App routes that share the prefix's letters without being under it.
    for (const path of ['/authority', '/aut', '/a', '/api/auth/verify']) {
      t.router.get(path, (ctx) => {
        ctx.body = { app: path }
      })
    }
    return t
  }

  it('serves the endpoints under the prefix, matched case-insensitively as the router does', async () => {
    const t = appWith()
    const { access_token } = await t.login()
    for (const path of ['/auth/verify', '/AUTH/verify', '/Auth/Verify']) {
      const res = await t.agent.get(path).set('Authorization', bearer(access_token!))
      expect(res.status, path).to.equal(200)
      expect(res.body, path).to.deep.equal({ valid: true })
    }
  })

  it('passes every other path to the app, including paths that start with the same letters', async () => {
    const t = appWith()
    for (const path of ['/authority', '/aut', '/a', '/api/auth/verify']) {
      const res = await t.agent.get(path)
      expect(res.status, path).to.equal(200)
      expect(res.body, path).to.deep.equal({ app: path })
    }
    expect((await t.agent.get('/authx/verify')).status).to.equal(404)
  })

  it('does the same for a longer urlPrefix', async () => {
    const t = appWith('/api/auth')
    const { access_token } = await loginAt(t.agent, '/API/Auth')
    const res = await t.agent.get('/api/AUTH/verify').set('Authorization', bearer(access_token!))
    expect(res.body).to.deep.equal({ valid: true })
    expect((await t.agent.get('/authority')).body).to.deep.equal({ app: '/authority' })
    expect((await t.agent.get('/api/authx')).status).to.equal(404)
  })
})

describe('option: responsesClass', () => {
  class ExtendingResponses extends Responses {
    override extendAuthenticate(_ctx: Context, result: AuthenticateResult<TestUser>): Record<string, unknown> {
      return { username: result.user.username, tokenEcho: result.accessToken === undefined ? 'none' : 'given' }
    }
    override extendVerify(_ctx: Context, result: { payload?: JwtPayload | null }): Record<string, unknown> {
      return { verifiedUser: result.payload?.user_id ?? null }
    }
    override async extendRetrieveUser(
      _ctx: Context,
      result: { user: unknown; payload: JwtPayload | null },
    ): Promise<Record<string, unknown>> {
      return { tokenUser: result.payload?.user_id ?? null }
    }
  }

  class WrappingResponses extends Responses {
    override exceptionResponse(ctx: Context, error: KoaJwtError): void {
      ctx.status = error.status
      ctx.body = { success: false, error: { code: error.code, message: error.reasons.join(' ') } }
    }
  }

  it('merges the keys of extendAuthenticate, extendVerify and extendRetrieveUser', async () => {
    const t = buildApp({ responsesClass: ExtendingResponses })
    const body = await t.login('user2')
    expect(body).to.have.all.keys('access_token', 'username', 'tokenEcho')
    expect(body).to.include({ username: 'user2', tokenEcho: 'given' })
    let res = await t.agent.get('/auth/verify').set('Authorization', bearer(body.access_token))
    expect(res.body).to.deep.equal({ valid: true, verifiedUser: 2 })
    res = await t.agent.get('/auth/me').set('Authorization', bearer(body.access_token))
    expect(res.body.tokenUser).to.equal(2)
    expect(res.body.me).to.include({ user_id: 2 })
  })

  it('renders every library error through exceptionResponse', async () => {
    const users = makeUsers()
    const app = new Koa()
    // A user router mounted before new Initialize(app): the order must not matter.
    const early = new Router()
    early.get('/own', () => {
      throw new AuthenticationFailed()
    })
    app.use(early.routes())
    const jwt = new Initialize<TestUser>(app, {
      ...baseOptions(users),
      addScopesToPayload: (user) => user.scopes ?? [],
      responsesClass: WrappingResponses,
    })
    const router = new Router()
    router.get('/protected', jwt.protected(), (ctx) => {
      ctx.body = { ok: true }
    })
    router.get('/scoped', jwt.scoped('admin'), (ctx) => {
      ctx.body = { ok: true }
    })
    router.get('/own-later', () => {
      throw new AuthenticationFailed('Later.')
    })
    class View extends BaseEndpoint {
      get(): never {
        throw new AuthenticationFailed('From a view.')
      }
    }
    new Initialize(router, {
      secret: SECRET,
      authMode: false,
      urlPrefix: '/views',
      classViews: [['/view', View]],
      responsesClass: WrappingResponses,
    })
    app.use(router.routes())
    const agent = request(app.callback())
    const user1 = (await loginAt(agent, '/auth', 'user1')).access_token

    const failed = 'ERR_JWT_AUTHENTICATION_FAILED'
    const missing = 'ERR_JWT_MISSING_HEADER'
    const cases: [string, () => request.Test, number, string, string][] = [
      [
        'POST /auth',
        () => agent.post('/auth').send({ username: 'user1', password: 'x' }),
        401,
        failed,
        'Password is incorrect.',
      ],
      [
        'POST /auth (bad JSON)',
        () => agent.post('/auth').set('Content-Type', 'application/json').send('{'),
        400,
        'ERR_JWT_INVALID_BODY',
        'The request body is invalid.',
      ],
      ['GET /auth/verify', () => agent.get('/auth/verify'), 401, missing, 'Authorization header not present.'],
      ['GET /auth/me', () => agent.get('/auth/me'), 401, missing, 'Authorization header not present.'],
      [
        'GET /protected',
        () => agent.get('/protected').set('Authorization', bearer('garbage')),
        401,
        'ERR_JWT_INVALID_TOKEN',
        'Auth required.',
      ],
      [
        'GET /scoped',
        () => agent.get('/scoped').set('Authorization', bearer(user1)),
        403,
        'ERR_JWT_INVALID_SCOPE',
        'Invalid scope.',
      ],
      ['GET /own (mounted first)', () => agent.get('/own'), 401, failed, 'Authentication failed.'],
      ['GET /own-later', () => agent.get('/own-later'), 401, failed, 'Later.'],
      ['GET /views/view', () => agent.get('/views/view'), 401, failed, 'From a view.'],
    ]
    for (const [name, send, status, code, message] of cases) {
      const res = await send()
      expect(res.status, name).to.equal(status)
      expect(res.body, name).to.deep.equal({ success: false, error: { code, message } })
    }
  })

  it('renders a library error thrown by an unprotected route of the app with the default body', async () => {
    const t = buildApp()
    t.router.get('/own', () => {
      throw new AuthenticationFailed()
    })
    const res = await t.agent.get('/own')
    expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Authentication failed.'])
  })
})
