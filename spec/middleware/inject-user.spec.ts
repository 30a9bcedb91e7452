import Router from '@koa/router'
import { expect } from 'chai'
import Koa from 'koa'
import request from 'supertest'

import { Initialize, type JwtPayload } from '../../source'
import { authenticateWith, buildApp, makeClock, makeUsers, SECRET, type TestUser } from '../helpers/app'
import { bearer, expectError, signRaw } from '../helpers/initialize'

describe('middleware: injectUser', () => {
  let clock: ReturnType<typeof makeClock>

  beforeEach(() => {
    clock = makeClock()
  })

  const raw = (extra: Record<string, unknown> = {}, secret = SECRET): string =>
    signRaw({ user_id: 2, exp: clock.now + 600, ...extra }, secret)

  it('sets ctx.state.user from retrieveUser for a valid token', async () => {
    const t = buildApp({ clock: clock.clock })
    const { access_token } = await t.login('user2')
    const res = await t.agent.get('/me/injected').set('Authorization', bearer(access_token))
    expect(res.status).to.equal(200)
    expect(res.body.user).to.include({ user_id: 2, username: 'user2' })
  })

  it('sets ctx.state.user to null for an anonymous request, without rejecting it', async () => {
    const t = buildApp({ clock: clock.clock })
    const res = await t.agent.get('/me/injected')
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ user: null })
  })

  const unusable: [string, () => string][] = [
    ['garbage', () => bearer('garbage')],
    ['a forged token', () => bearer(raw({}, 'some-other-secret-long-enough'))],
    ['an expired token', () => bearer(raw({ exp: clock.now - 10_000 }))],
    ['a blank token (sanic-jwt #143)', () => 'Bearer'],
    ['a malformed header', () => 'Basic abc'],
  ]
  for (const [name, header] of unusable) {
    it(`sets ctx.state.user to null for ${name}`, async () => {
      const t = buildApp({ clock: clock.clock })
      const res = await t.agent.get('/me/injected').set('Authorization', header())
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ user: null })
    })
  }

  it('sets ctx.state.user to null when retrieveUser returns undefined', async () => {
    const t = buildApp({ clock: clock.clock, retrieveUser: () => undefined })
    const res = await t.agent.get('/me/injected').set('Authorization', bearer(raw()))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ user: null })
  })

  it('passes the verified payload of ctx.state.jwt to retrieveUser when it follows protected()', async () => {
    const payloads: JwtPayload[] = []
    const users = makeUsers()
    const t = buildApp({
      clock: clock.clock,
      retrieveUser: (_ctx, payload) => {
        payloads.push(payload)
        return users.find((u) => u.user_id === payload.user_id) ?? null
      },
    })
    let stateJwt: unknown
    t.router.get('/both', t.jwt.protected(), t.jwt.injectUser(), (ctx) => {
      stateJwt = ctx.state.jwt
      ctx.body = { user: ctx.state.user }
    })
    let res = await t.agent.get('/both').set('Authorization', bearer(raw()))
    expect(res.status).to.equal(200)
    expect(res.body.user).to.include({ user_id: 2 })
    expect(payloads).to.have.length(1)
    expect(payloads[0]).to.equal(stateJwt)
    res = await t.agent.get('/both')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    expect(payloads).to.have.length(1)
  })

  it('answers 500 MeEndpointNotSetup for a token when there is no retrieveUser', async () => {
    const app = new Koa()
    const jwt = new Initialize(app, {
      secret: SECRET,
      clock: clock.clock,
      authenticate: () => ({ user_id: 1 }),
    })
    const router = new Router()
    router.get('/injected', jwt.injectUser(), (ctx) => {
      ctx.body = { user: ctx.state.user }
    })
    app.use(router.routes())
    const res = await request(app.callback()).get('/injected').set('Authorization', bearer(raw()))
    expectError(res, 500, 'MeEndpointNotSetup', 'ERR_JWT_ME_NOT_SETUP')
  })

  it('lets OPTIONS requests through without calling retrieveUser', async () => {
    let calls = 0
    const t = buildApp({
      clock: clock.clock,
      retrieveUser: () => {
        calls += 1
        return null
      },
    })
    t.router.options('/me/injected', t.jwt.injectUser(), (ctx) => {
      ctx.status = 204
    })
    const res = await t.agent.options('/me/injected').set('Authorization', bearer(raw()))
    expect(res.status).to.equal(204)
    expect(calls).to.equal(0)
  })

  it('honours per-route overrides', async () => {
    const t = buildApp({ clock: clock.clock })
    t.router.get('/x-injected', t.jwt.injectUser({ authorizationHeader: 'x-token' }), (ctx) => {
      ctx.body = { user: ctx.state.user }
    })
    let res = await t.agent.get('/x-injected').set('X-Token', bearer(raw()))
    expect(res.body.user).to.include({ user_id: 2 })
    res = await t.agent.get('/x-injected').set('Authorization', bearer(raw()))
    expect(res.body).to.deep.equal({ user: null })
  })

  it('works with the instance of a router-initialised setup', async () => {
    const app = new Koa()
    const router = new Router({ prefix: '/api' })
    const users = makeUsers()
    const jwt = new Initialize<TestUser>(router, {
      secret: SECRET,
      clock: clock.clock,
      authenticate: authenticateWith(users),
      retrieveUser: (_ctx, payload) => users.find((u) => u.user_id === payload.user_id) ?? null,
    })
    router.get('/injected', jwt.injectUser(), (ctx) => {
      ctx.body = { user: ctx.state.user }
    })
    app.use(router.routes())
    const agent = request(app.callback())
    let res = await agent.get('/api/injected').set('Authorization', bearer(raw()))
    expect(res.status).to.equal(200)
    expect(res.body.user).to.include({ username: 'user2' })
    res = await agent.get('/api/injected')
    expect(res.body).to.deep.equal({ user: null })
  })
})
