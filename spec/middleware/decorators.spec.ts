import Router from '@koa/router'
import { expect } from 'chai'
import Koa, { type Context } from 'koa'
import request from 'supertest'

import * as kit from '../../source'
import { BaseEndpoint, Initialize, type EndpointClass } from '../../source'
import { authenticateWith, makeUsers, SECRET, type TestUser } from '../helpers/app'
import { bearer, expectError } from '../helpers/initialize'

/** The main instance: login with scopes, on the app. */
function mainInstance() {
  const app = new Koa()
  app.silent = true
  const users = makeUsers()
  const jwt = new Initialize<TestUser>(app, {
    secret: SECRET,
    authenticate: authenticateWith(users),
    retrieveUser: (_ctx, payload) => users.find((u) => u.user_id === payload.user_id) ?? null,
    addScopesToPayload: (user) => user.scopes ?? [],
  })
  // Created on first use: Koa composes its middleware when callback() runs, after mountViews().
  let client: ReturnType<typeof request> | undefined
  const agent = () => (client ??= request(app.callback()))
  const login = async (username: string): Promise<string> => {
    const res = await agent().post('/auth').send({ username, password: 'abcxyz' })
    return res.body.access_token as string
  }
  return { app, jwt, agent, login }
}

/**
 * Mounts views whose decorators come from an instance that already exists: through a verify-only
 * instance on a router (same secret) under /views.
 */
function mountViews(app: Koa, classViews: readonly (readonly [string, EndpointClass])[]): void {
  const router = new Router()
  new Initialize(router, { secret: SECRET, authMode: false, urlPrefix: '/views', classViews })
  app.use(router.routes())
}

describe('middleware: method decorators on BaseEndpoint verbs', () => {
  it('@jwt.protected() answers 401 without a token and serves the returned value with one', async () => {
    const { app, jwt, agent: client, login } = mainInstance()
    class Profile extends BaseEndpoint {
      @jwt.protected()
      async get(ctx: Context): Promise<unknown> {
        return { user_id: ctx.state.jwt?.user_id }
      }
    }
    mountViews(app, [['/profile', Profile]])
    const agent = client()
    let res = await agent.get('/views/profile')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER', ['Authorization header not present.'])
    res = await agent.get('/views/profile').set('Authorization', bearer('garbage'))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
    res = await agent.get('/views/profile').set('Authorization', bearer(await login('user2')))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ user_id: 2 })
  })

  it('@jwt.scoped("admin") answers 403 for a user without the scope and 200 for an admin', async () => {
    const { app, jwt, agent: client, login } = mainInstance()
    class Admin extends BaseEndpoint {
      @jwt.scoped('admin')
      async get(): Promise<unknown> {
        return { admin: true }
      }
    }
    mountViews(app, [['/admin', Admin]])
    const agent = client()
    let res = await agent.get('/views/admin')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    res = await agent.get('/views/admin').set('Authorization', bearer(await login('user1')))
    expectError(res, 403, 'Unauthorized', 'ERR_JWT_INVALID_SCOPE', ['Invalid scope.'])
    res = await agent.get('/views/admin').set('Authorization', bearer(await login('user2')))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ admin: true })
  })

  it('module-level @kit.protected() and @kit.scoped() work on views mounted by the app instance', async () => {
    class Mixed extends BaseEndpoint {
      @kit.protected()
      get(ctx: Context): unknown {
        return { user_id: ctx.state.jwt?.user_id }
      }
      @kit.scoped('admin')
      post(): unknown {
        return { posted: true }
      }
    }
    const app = new Koa()
    const users = makeUsers()
    new Initialize<TestUser>(app, {
      secret: SECRET,
      authenticate: authenticateWith(users),
      addScopesToPayload: (user) => user.scopes ?? [],
      classViews: [['/mixed', Mixed]],
    })
    const agent = request(app.callback())
    const user1 = (await agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })).body.access_token
    let res = await agent.get('/auth/mixed')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    res = await agent.get('/auth/mixed').set('Authorization', bearer(user1))
    expect(res.body).to.deep.equal({ user_id: 1 })
    res = await agent.post('/auth/mixed').set('Authorization', bearer(user1))
    expectError(res, 403, 'Unauthorized', 'ERR_JWT_INVALID_SCOPE')
  })

  it('module-level decorators use the instance that mounted the view, also on a router', async () => {
    class RouterView extends BaseEndpoint {
      @kit.protected()
      get(ctx: Context): unknown {
        return { user_id: ctx.state.jwt?.user_id }
      }
    }
    const app = new Koa()
    const router = new Router({ prefix: '/api' })
    new Initialize(router, {
      secret: SECRET,
      authenticate: authenticateWith(makeUsers()),
      classViews: [['/view', RouterView]],
    })
    app.use(router.routes())
    const agent = request(app.callback())
    const login = await agent.post('/api/auth').send({ username: 'user2', password: 'abcxyz' })
    let res = await agent.get('/api/auth/view')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    res = await agent.get('/api/auth/view').set('Authorization', bearer(login.body.access_token))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ user_id: 2 })
  })

  it('keeps `this` bound to the endpoint and still runs doOutput (reference §7.2.22)', async () => {
    const { app, jwt, agent: client, login } = mainInstance()
    class Wrapped extends BaseEndpoint {
      @jwt.protected()
      get(): unknown {
        return { prefix: this.config.get('urlPrefix'), isEndpoint: this instanceof Wrapped }
      }
      override doOutput(output: unknown): unknown {
        return { data: output }
      }
    }
    mountViews(app, [['/wrapped', Wrapped]])
    const agent = client()
    const res = await agent.get('/views/wrapped').set('Authorization', bearer(await login('user1')))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ data: { prefix: '/views', isEndpoint: true } })
  })

  it('protects only the decorated verb', async () => {
    const { app, jwt, agent: client } = mainInstance()
    class Half extends BaseEndpoint {
      get(): unknown {
        return { open: true }
      }
      @jwt.protected()
      delete(): unknown {
        return { deleted: true }
      }
    }
    mountViews(app, [['/half', Half]])
    const agent = client()
    let res = await agent.get('/views/half')
    expect(res.body).to.deep.equal({ open: true })
    res = await agent.delete('/views/half')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    res = await agent.options('/views/half')
    expect(res.status).to.equal(204)
  })

  it('applies per-route overrides given to the decorator', async () => {
    const { app, jwt, agent: client, login } = mainInstance()
    class XToken extends BaseEndpoint {
      @jwt.protected({ authorizationHeader: 'x-token' })
      get(ctx: Context): unknown {
        return { header: jwt.config.get('authorizationHeader', ctx) }
      }
    }
    mountViews(app, [['/x-token', XToken]])
    const agent = client()
    const token = await login('user1')
    let res = await agent.get('/views/x-token').set('Authorization', bearer(token))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    res = await agent.get('/views/x-token').set('X-Token', bearer(token))
    expect(res.body).to.deep.equal({ header: 'x-token' })
  })

  it('@jwt.injectUser() sets ctx.state.user for the method', async () => {
    const { app, jwt, agent: client, login } = mainInstance()
    class Me extends BaseEndpoint {
      @jwt.injectUser()
      get(ctx: Context): unknown {
        return { username: (ctx.state.user as TestUser | null)?.username ?? null }
      }
    }
    mountViews(app, [['/me', Me]])
    const agent = client()
    let res = await agent.get('/views/me').set('Authorization', bearer(await login('user2')))
    expect(res.body).to.deep.equal({ username: 'user2' })
    res = await agent.get('/views/me')
    expect(res.body).to.deep.equal({ username: null })
  })

  it('leaves errors thrown by the decorated method untouched', async () => {
    const { app, jwt, agent: client, login } = mainInstance()
    class Throws extends BaseEndpoint {
      @jwt.protected()
      get(ctx: Context): never {
        ctx.throw(409, 'conflict')
      }
    }
    mountViews(app, [['/throws', Throws]])
    const agent = client()
    const res = await agent.get('/views/throws').set('Authorization', bearer(await login('user1')))
    expect(res.status).to.equal(409)
    expect(res.text).to.equal('conflict')
  })

  it('@kit.scoped(null) leaves the method unprotected', async () => {
    class Open extends BaseEndpoint {
      @kit.scoped(null)
      get(): unknown {
        return { open: true }
      }
    }
    const app = new Koa()
    new Initialize(app, { secret: SECRET, authenticate: () => ({ user_id: 1 }), classViews: [['/open', Open]] })
    const res = await request(app.callback()).get('/auth/open')
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ open: true })
  })
})
