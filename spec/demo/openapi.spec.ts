import { expect } from 'chai'
import request from 'supertest'

import { createDemoApp } from '../../demo/app'
import { banner } from '../../demo/server'
import type { OpenApiDocument } from '../../source'
import { makeClock } from '../helpers/app'
import { conforms, validate } from '../helpers/openapi'

const SECRET = 'demo-spec-secret-long-enough-for-hs256'

type Agent = ReturnType<typeof request>

const bearer = (token: unknown): string => `Bearer ${String(token)}`

describe('demo: GET /openapi.json', () => {
  let agent: Agent
  let clock: ReturnType<typeof makeClock>
  let document: OpenApiDocument
  let resolved: Record<string, unknown>

  beforeEach(async () => {
    clock = makeClock()
    const demo = await createDemoApp({ secret: SECRET, clock: clock.clock })
    agent = request(demo.app.callback())
    const res = await agent.get('/openapi.json').expect(200)
    expect(res.headers['content-type']).to.match(/^application\/json/)
    document = res.body as OpenApiDocument
    resolved = await validate(document)
  })

  it('serves a valid OpenAPI 3.1 document of the library endpoints and the demo routes', () => {
    expect(document.info.title).to.equal('koa-jwt-kit demo')
    expect(Object.keys(document.paths)).to.deep.equal([
      '/auth',
      '/auth/verify',
      '/auth/me',
      '/auth/refresh',
      '/auth/fresh',
      '/auth/logout',
      '/api/profile',
      '/api/admin',
      '/account/password',
      '/admin/audit',
    ])
    // Cookie mode, not strict: the access cookie (the login page), then the header (API clients).
    expect(document.security).to.deep.equal([{ cookie: [] }, { bearer: [] }])
    expect(document.paths['/auth/logout']?.post?.security).to.deep.equal([{ cookie: [], csrf: [] }, { bearer: [] }])
    expect(document.components.schemas?.['Credentials']).to.deep.include({ required: ['username', 'password'] })
  })

  it('describes what the demo answers: login, profile, admin, fresh, password, refresh, audit, logout', async () => {
    const login = await agent.post('/auth').send({ username: 'alice', password: 'wonderland' }).expect(200)
    conforms(resolved, 'post', '/auth', login)
    conforms(resolved, 'post', '/auth', await agent.post('/auth').send({ username: 'alice' }).expect(401))
    const alice = bearer(login.body.access_token)
    conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').set('Authorization', alice).expect(200))
    conforms(resolved, 'get', '/api/profile', await agent.get('/api/profile').set('Authorization', alice).expect(200))
    conforms(resolved, 'get', '/api/profile', await agent.get('/api/profile').expect(401))
    conforms(resolved, 'get', '/api/admin', await agent.get('/api/admin').set('Authorization', alice).expect(403))
    conforms(resolved, 'get', '/admin/audit', await agent.get('/admin/audit').set('Authorization', alice).expect(403))

    const admin = await agent.post('/auth').send({ username: 'admin', password: 'admin-password' }).expect(200)
    const root = bearer(admin.body.access_token)
    conforms(resolved, 'get', '/api/admin', await agent.get('/api/admin').set('Authorization', root).expect(200))
    conforms(resolved, 'get', '/admin/audit', await agent.get('/admin/audit').set('Authorization', root).expect(200))

    const refreshed = await agent
      .post('/auth/refresh')
      .set('Authorization', alice)
      .send({ refresh_token: login.body.refresh_token })
      .expect(200)
    conforms(resolved, 'post', '/auth/refresh', refreshed)
    const stale = bearer(refreshed.body.access_token)
    const notFresh = await agent
      .post('/account/password')
      .set('Authorization', stale)
      .send({ newPassword: 'through-the-looking-glass' })
    expect(notFresh.status).to.equal(401)
    expect(notFresh.body.code).to.equal('ERR_JWT_NEEDS_FRESH')
    conforms(resolved, 'post', '/account/password', notFresh)

    const fresh = await agent.post('/auth/fresh').send({ username: 'alice', password: 'wonderland' }).expect(200)
    conforms(resolved, 'post', '/auth/fresh', fresh)
    const freshToken = bearer(fresh.body.access_token)
    const password = () => agent.post('/account/password').set('Authorization', freshToken)
    conforms(resolved, 'post', '/account/password', await password().type('json').send('{').expect(400))
    conforms(resolved, 'post', '/account/password', await password().type('text').send('x').expect(415))

    const second = await agent.post('/auth').send({ username: 'alice', password: 'wonderland' }).expect(200)
    const logout = await agent.post('/auth/logout').set('Authorization', bearer(second.body.access_token)).expect(200)
    conforms(resolved, 'post', '/auth/logout', logout)
    // A token issued in the very second of the cut-off still passes (docs/revocation.md).
    clock.now += 1
    conforms(resolved, 'post', '/account/password', await password().send({ newPassword: 'through-the-looking-glass' }).expect(200))
    const revoked = await agent.get('/auth/verify').set('Authorization', freshToken).expect(401)
    expect(revoked.body).to.include({ valid: false, code: 'ERR_JWT_REVOKED' })
    conforms(resolved, 'get', '/auth/verify', revoked)
  })

  it('is named in the start-up banner', () => {
    expect(banner('http://127.0.0.1:4567', 1800)).to.include('http://127.0.0.1:4567/openapi.json')
  })
})
