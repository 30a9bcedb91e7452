import { randomBytes } from 'node:crypto'

import Router from '@koa/router'
import { expect } from 'chai'
import Koa, { type Context, type Middleware } from 'koa'
import request from 'supertest'

import * as kit from '../../source'
import {
  AuthenticateEndpoint,
  AuthenticationFailed,
  BaseEndpoint,
  Initialize,
  InvalidClassViewsFormat,
  VerifyEndpoint,
  type EndpointClass,
} from '../../source'
import { authenticateWith, makeClock, makeUsers, SECRET } from '../helpers/app'
import { bearer, expectError, payloadOf, signRaw } from '../helpers/initialize'

/** An app initialised with the test users and the given class views. */
function appWithViews(
  classViews: readonly (readonly [string, EndpointClass])[],
  options: kit.InitializeOptions = {},
) {
  const app = new Koa()
  app.silent = true
  const users = makeUsers()
  const jwt = new Initialize(app, {
    secret: SECRET,
    authenticate: authenticateWith(users),
    retrieveUser: (_ctx, payload) => users.find((u) => u.user_id === payload.user_id) ?? null,
    classViews,
    ...options,
  })
  return { app, jwt, agent: request(app.callback()) }
}

const token = (): string => signRaw({ user_id: 1, exp: Math.floor(Date.now() / 1000) + 600 })

describe('BaseEndpoint (class views)', () => {
  it('mounts a class view under urlPrefix: ["/magic-login", MagicLogin] → /auth/magic-login', async () => {
    class MagicLogin extends BaseEndpoint {
      async post(): Promise<unknown> {
        return { sent: true }
      }
    }
    const { agent } = appWithViews([['/magic-login', MagicLogin]])
    let res = await agent.post('/auth/magic-login')
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ sent: true })
    res = await agent.post('/auth/magic-login/')
    expect(res.status).to.equal(200)
    res = await agent.post('/magic-login')
    expect(res.status).to.equal(404)
  })

  it('answers 204 to OPTIONS and 405 to verbs the view does not implement', async () => {
    class OnlyPost extends BaseEndpoint {
      post(): unknown {
        return { ok: true }
      }
    }
    const { agent } = appWithViews([['/only-post', OnlyPost]])
    let res = await agent.options('/auth/only-post')
    expect(res.status).to.equal(204)
    expect(res.text).to.equal('')
    res = await agent.get('/auth/only-post')
    expect(res.status).to.equal(405)
  })

  it('serves every verb method the view implements', async () => {
    class AllVerbs extends BaseEndpoint {
      get(ctx: Context): unknown {
        return { verb: ctx.method }
      }
      post(ctx: Context): unknown {
        return { verb: ctx.method }
      }
      put(ctx: Context): unknown {
        return { verb: ctx.method }
      }
      patch(ctx: Context): unknown {
        return { verb: ctx.method }
      }
      delete(ctx: Context): unknown {
        return { verb: ctx.method }
      }
    }
    const { agent } = appWithViews([['/verbs', AllVerbs]])
    for (const verb of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const res = await agent[verb]('/auth/verbs')
      expect(res.status, verb).to.equal(200)
      expect(res.body).to.deep.equal({ verb: verb.toUpperCase() })
    }
  })

  it('runs the "magic login" example of the sanic-jwt docs (5.2.4 Additional Views)', async () => {
    const users = [
      { user_id: 1, email: 'ada@example.com' },
      { user_id: 2, email: 'bob@example.com' },
    ]
    const redis = new Map<string, number>()
    const mailbox: { to: string; token: string }[] = []

    class MagicLoginHandler extends BaseEndpoint {
      async post(ctx: Context): Promise<unknown> {
        const { email } = (ctx.request.body ?? {}) as { email?: string }
        const user = users.find((candidate) => candidate.email === email)
        if (!user) throw new AuthenticationFailed('Unknown email address.')
        const magic = randomBytes(16).toString('hex')
        mailbox.push({ to: user.email, token: magic })
        await Promise.resolve(redis.set(`magic-token-${magic}`, user.user_id))
        return { 'magic-token': magic }
      }
    }

    const checkMagicToken = async (ctx: Context) => {
      const { magic_token: magic = '' } = (ctx.request.body ?? {}) as { magic_token?: string }
      const key = `magic-token-${magic}`
      const retrieval = redis.get(key)
      if (retrieval === undefined) throw new AuthenticationFailed('Token expired or invalid.')
      redis.delete(key)
      return users.find((user) => user.user_id === retrieval)
    }

    const app = new Koa()
    new Initialize(app, {
      secret: SECRET,
      authenticate: checkMagicToken,
      // The path is relative to the url prefix (which defaults to /auth).
      classViews: [['/magic-login', MagicLoginHandler]],
    })
    const agent = request(app.callback())

    let res = await agent.options('/auth/magic-login')
    expect(res.status).to.equal(204)

    res = await agent.post('/auth/magic-login').send({ email: 'bob@example.com' })
    expect(res.status).to.equal(200)
    const magic = res.body['magic-token'] as string
    expect(magic).to.match(/^[0-9a-f]{32}$/)
    expect(mailbox).to.deep.equal([{ to: 'bob@example.com', token: magic }])

    res = await agent.post('/auth').send({ magic_token: magic })
    expect(res.status).to.equal(200)
    expect(payloadOf(res.body.access_token).user_id).to.equal(2)

    res = await agent.post('/auth').send({ magic_token: magic })
    expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', [
      'Token expired or invalid.',
    ])

    res = await agent.post('/auth/magic-login').type('form').send('email=nobody@example.com')
    expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Unknown email address.'])
  })

  describe('hooks', () => {
    it('runs doIncoming, the verb, doOutput and doResponse in order', async () => {
      const calls: string[] = []
      class Hooked extends BaseEndpoint {
        override doIncoming(ctx: Context): void {
          calls.push('doIncoming')
          ctx.state.incoming = 'seen'
        }
        async get(ctx: Context): Promise<unknown> {
          calls.push('get')
          return { incoming: ctx.state.incoming }
        }
        override doOutput(output: unknown): unknown {
          calls.push('doOutput')
          return { data: output, success: true }
        }
        override async doResponse(ctx: Context): Promise<void> {
          calls.push('doResponse')
          ctx.set('x-done', 'yes')
        }
      }
      const { agent } = appWithViews([['/hooked', Hooked]])
      const res = await agent.get('/auth/hooked')
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ data: { incoming: 'seen' }, success: true })
      expect(res.headers['x-done']).to.equal('yes')
      expect(calls).to.deep.equal(['doIncoming', 'get', 'doOutput', 'doResponse'])
    })

    it('waits for hooks and verbs that return promises or other thenables, in order', async () => {
      const calls: string[] = []
      const later = <T>(value: T, label: string): Promise<T> =>
        new Promise((resolve) => setTimeout(() => (calls.push(label), resolve(value)), 5))
      const thenable = <T>(value: T): PromiseLike<T> => ({
        then: (resolve?: ((v: T) => unknown) | null) => later(value, 'get').then(resolve) as never,
      })
      class Slow extends BaseEndpoint {
        override doIncoming(ctx: Context): Promise<void> {
          return later(undefined, 'doIncoming').then(() => {
            ctx.state.incoming = 'seen'
          })
        }
        get(ctx: Context): unknown {
          return thenable({ incoming: ctx.state.incoming })
        }
        override doOutput(output: unknown): unknown {
          return later({ wrapped: output }, 'doOutput')
        }
        override doResponse(ctx: Context): Promise<void> {
          return later(undefined, 'doResponse').then(() => {
            ctx.set('x-done', 'yes')
          })
        }
      }
      const { agent } = appWithViews([['/slow', Slow]])
      const res = await agent.get('/auth/slow')
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ wrapped: { incoming: 'seen' } })
      expect(res.headers['x-done']).to.equal('yes')
      expect(calls).to.deep.equal(['doIncoming', 'get', 'doOutput', 'doResponse'])
    })

    it('keeps a body the verb sets itself and skips doOutput when the verb returns nothing', async () => {
      const calls: string[] = []
      class SetsBody extends BaseEndpoint {
        get(ctx: Context): void {
          ctx.status = 201
          ctx.body = { set: 'directly' }
        }
        override doOutput(output: unknown): unknown {
          calls.push('doOutput')
          return output
        }
      }
      const { agent } = appWithViews([['/sets-body', SetsBody]])
      const res = await agent.get('/auth/sets-body')
      expect(res.status).to.equal(201)
      expect(res.body).to.deep.equal({ set: 'directly' })
      expect(calls).to.deep.equal([])
    })

    it('lets doIncoming reject a request with a library error', async () => {
      class Gate extends BaseEndpoint {
        override doIncoming(ctx: Context): void {
          if (ctx.get('x-api-key') !== 'k') throw new AuthenticationFailed('API key required.')
        }
        get(): unknown {
          return { ok: true }
        }
      }
      const { agent } = appWithViews([['/gate', Gate]])
      let res = await agent.get('/auth/gate')
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['API key required.'])
      res = await agent.get('/auth/gate').set('x-api-key', 'k')
      expect(res.body).to.deep.equal({ ok: true })
    })

    it('gives the view the instance parts: auth, config, responses, instance', async () => {
      const seen: unknown[] = []
      class Logout extends BaseEndpoint {
        async post(ctx: Context): Promise<unknown> {
          seen.push(this.instance, this.config, this.responses, this.auth)
          return { loggedOut: await this.auth.extractUserId(ctx), prefix: this.config.get('urlPrefix') }
        }
      }
      const { app, jwt, agent } = appWithViews([['/logout', Logout]])
      const res = await agent.post('/auth/logout').set('Authorization', bearer(token()))
      expect(res.body).to.deep.equal({ loggedOut: 1, prefix: '/auth' })
      expect(seen).to.have.length(4)
      expect(seen[0]).to.equal(app)
      expect(seen[1]).to.equal(jwt.config)
      expect(seen[2]).to.equal(jwt.responses)
      expect(seen[3]).to.equal(jwt.auth)
    })

    it('parses JSON and form bodies for the view', async () => {
      class Echo extends BaseEndpoint {
        post(ctx: Context): unknown {
          return { body: ctx.request.body }
        }
      }
      const { agent } = appWithViews([['/echo', Echo]])
      let res = await agent.post('/auth/echo').send({ a: 1 })
      expect(res.body).to.deep.equal({ body: { a: 1 } })
      res = await agent.post('/auth/echo').type('form').send('a=1')
      expect(res.body).to.deep.equal({ body: { a: '1' } })
      res = await agent.post('/auth/echo').set('Content-Type', 'application/json').send('{"a":')
      expectError(res, 400, 'InvalidRequestBody', 'ERR_JWT_INVALID_BODY')
    })
  })

  describe('errors of a view', () => {
    class Thrower extends BaseEndpoint {
      get(ctx: Context): never {
        const kind = ctx.query.kind
        if (kind === 'library') throw new AuthenticationFailed('Nope.')
        if (kind === 'http') ctx.throw(400, 'bad input')
        throw new Error('view bug')
      }
    }

    it('renders a library error with the error body', async () => {
      const { agent } = appWithViews([['/thrower', Thrower]])
      const res = await agent.get('/auth/thrower?kind=library')
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Nope.'])
    })

    it("leaves HTTP errors and plain Errors to Koa's handling", async () => {
      const { agent } = appWithViews([['/thrower', Thrower]])
      let res = await agent.get('/auth/thrower?kind=http')
      expect(res.status).to.equal(400)
      expect(res.text).to.equal('bad input')
      res = await agent.get('/auth/thrower?kind=plain')
      expect(res.status).to.equal(500)
      expect(res.text).to.equal('Internal Server Error')
    })
  })

  describe('static decorators', () => {
    it('applies module-level protected() to every verb of the view, but not to OPTIONS', async () => {
      class Secret extends BaseEndpoint {
        static override decorators: readonly Middleware[] = [kit.protected()]
        get(ctx: Context): unknown {
          return { jwt: ctx.state.jwt }
        }
        post(): unknown {
          return { posted: true }
        }
      }
      const { agent } = appWithViews([['/secret', Secret]])
      let res = await agent.get('/auth/secret')
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      res = await agent.post('/auth/secret')
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      res = await agent.options('/auth/secret')
      expect(res.status).to.equal(204)
      const t = token()
      res = await agent.get('/auth/secret').set('Authorization', bearer(t))
      expect(res.status).to.equal(200)
      expect(res.body.jwt).to.deep.equal(payloadOf(t))
      res = await agent.post('/auth/secret').set('Authorization', bearer(t))
      expect(res.body).to.deep.equal({ posted: true })
    })

    it('applies jwt.protected() of an instance to every verb of the view', async () => {
      const clock = makeClock()
      const app = new Koa()
      const jwt = new Initialize(app, {
        secret: SECRET,
        clock: clock.clock,
        authenticate: authenticateWith(makeUsers()),
      })
      class Profile extends BaseEndpoint {
        static override decorators: readonly Middleware[] = [jwt.protected({ authorizationHeader: 'x-token' })]
        get(ctx: Context): unknown {
          return { user: ctx.state.jwt?.user_id }
        }
        delete(): unknown {
          return { deleted: true }
        }
      }
      // The view is mounted by a verify-only instance on a router with the same secret.
      const router = new Router()
      new Initialize(router, {
        secret: SECRET,
        authMode: false,
        urlPrefix: '/views',
        classViews: [['/profile', Profile]],
      })
      app.use(router.routes())
      const agent = request(app.callback())
      const { body } = await agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      let res = await agent.get('/views/profile').set('Authorization', bearer(body.access_token))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      res = await agent.get('/views/profile').set('X-Token', bearer(body.access_token))
      expect(res.body).to.deep.equal({ user: 1 })
      res = await agent.delete('/views/profile')
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      res = await agent.delete('/views/profile').set('X-Token', bearer(body.access_token))
      expect(res.body).to.deep.equal({ deleted: true })
    })

    it('runs several decorators in order, around the hooks and the verb', async () => {
      const calls: string[] = []
      const record =
        (name: string): Middleware =>
        async (_ctx, next) => {
          calls.push(`${name}:before`)
          await next()
          calls.push(`${name}:after`)
        }
      class Layered extends BaseEndpoint {
        static override decorators: readonly Middleware[] = [record('outer'), record('inner')]
        override doIncoming(): void {
          calls.push('doIncoming')
        }
        get(): unknown {
          calls.push('get')
          return { ok: true }
        }
      }
      const { agent } = appWithViews([['/layered', Layered]])
      const res = await agent.get('/auth/layered')
      expect(res.body).to.deep.equal({ ok: true })
      expect(calls).to.deep.equal([
        'outer:before',
        'inner:before',
        'doIncoming',
        'get',
        'inner:after',
        'outer:after',
      ])
    })
  })

  describe('classViews format', () => {
    class Fine extends BaseEndpoint {
      get(): unknown {
        return {}
      }
    }
    class NotAView {
      get(): unknown {
        return {}
      }
    }
    const malformed: [string, unknown][] = [
      ['an entry that is not a pair', [['/x']]],
      ['an entry with three items', [['/x', Fine, 'extra']]],
      ['a path that is not a string', [[5, Fine]]],
      ['a class that does not extend BaseEndpoint', [['/x', NotAView]]],
      ['an instance instead of a class', [['/x', {}]]],
      ['an entry that is a string', ['/x']],
      ['a classViews value that is not a list', { '/x': Fine }],
    ]
    for (const [name, classViews] of malformed) {
      it(`throws InvalidClassViewsFormat at start-up for ${name}`, () => {
        const app = new Koa()
        let caught: unknown
        try {
          new Initialize(app, {
            secret: SECRET,
            authenticate: () => ({ user_id: 1 }),
            classViews: classViews as never,
          })
        } catch (error) {
          caught = error
        }
        expect(caught).to.be.instanceOf(InvalidClassViewsFormat)
        expect((caught as InvalidClassViewsFormat).code).to.equal('ERR_JWT_INVALID_CLASS_VIEWS')
      })
    }
  })

  describe('subclassing a built-in endpoint', () => {
    class MyVerify extends VerifyEndpoint {
      override doOutput(output: unknown): unknown {
        return { ...(output as Record<string, unknown>), checkedBy: 'MyVerify' }
      }
    }

    it('mounts the subclass beside the built-ins', async () => {
      const { agent } = appWithViews([['/my-verify', MyVerify]])
      let res = await agent.get('/auth/my-verify').set('Authorization', bearer(token()))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ valid: true, checkedBy: 'MyVerify' })
      res = await agent.get('/auth/verify').set('Authorization', bearer(token()))
      expect(res.body).to.deep.equal({ valid: true })
      res = await agent.get('/auth/my-verify').set('Authorization', bearer('garbage'))
      expect(res.status).to.equal(401)
      expect(res.body).to.include({ valid: false, checkedBy: 'MyVerify', code: 'ERR_JWT_INVALID_TOKEN' })
    })

    it('replaces POST /auth with an AuthenticateEndpoint subclass when authMode is off', async () => {
      class WrappedLogin extends AuthenticateEndpoint {
        override doOutput(output: unknown): unknown {
          return { success: true, data: output }
        }
        override doResponse(ctx: Context): void {
          ctx.set('x-login', 'wrapped')
        }
      }
      const app = new Koa()
      new Initialize(app, {
        secret: SECRET,
        authMode: false,
        authenticate: authenticateWith(makeUsers()),
        classViews: [['/', WrappedLogin]],
      })
      const agent = request(app.callback())
      for (const path of ['/auth', '/auth/']) {
        const res = await agent.post(path).send({ username: 'user2', password: 'abcxyz' })
        expect(res.status, path).to.equal(200)
        expect(res.headers['x-login']).to.equal('wrapped')
        expect(res.body).to.have.all.keys('success', 'data')
        expect(payloadOf(res.body.data.access_token).user_id).to.equal(2)
      }
      const res = await agent.post('/auth').send({ username: 'user2', password: 'nope' })
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Password is incorrect.'])
    })

    it('replaces a built-in at its own path when authMode is off', async () => {
      const app = new Koa()
      new Initialize(app, { secret: SECRET, authMode: false, classViews: [['/verify', MyVerify]] })
      const agent = request(app.callback())
      const res = await agent.get('/auth/verify').set('Authorization', bearer(token()))
      expect(res.body).to.deep.equal({ valid: true, checkedBy: 'MyVerify' })
      expect((await agent.post('/auth').send({})).status).to.equal(404)
    })
  })

  describe('strictSlashes', () => {
    class View extends BaseEndpoint {
      get(): unknown {
        return { ok: true }
      }
    }

    it('serves /auth/view/ like /auth/view by default', async () => {
      const { agent } = appWithViews([['/view', View]])
      expect((await agent.get('/auth/view/')).status).to.equal(200)
    })

    it('tells /auth/view/ from /auth/view when on', async () => {
      const { agent } = appWithViews([['/view', View]], { strictSlashes: true })
      expect((await agent.get('/auth/view')).status).to.equal(200)
      expect((await agent.get('/auth/view/')).status).to.equal(404)
    })
  })
})
