import { expect } from 'chai'

import { refreshStore } from '../helpers/app'
import {
  REASONS,
  bearer,
  build,
  cookieHeader,
  expectError,
  expectNoUnhandledErrors,
  expectUnauthorized,
  getAs,
  payloadOf,
  tamper,
  type OptionsApp,
} from '../helpers/options'

/**
 * Extraction order (reference §4.7): cookie → query string → header (or, for the refresh token
 * in header mode, the JSON body). A token found earlier wins even when a later one is valid.
 */
describe('token extraction order (cookie → query → header)', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  let good: string
  let bad: string
  beforeEach(async () => {
    t = build({
      cookieSet: true,
      cookieStrict: false,
      queryStringSet: true,
      queryStringStrict: false,
    })
    good = (await t.login()).access_token!
    bad = tamper(good)
  })

  const invalid = ['Auth required.']

  describe('for the access token', () => {
    it('uses the cookie first: a good cookie wins over a bad query token and a bad header', async () => {
      const res = await t.agent
        .get('/protected')
        .query({ access_token: bad })
        .set('Cookie', cookieHeader({ access_token: good }))
        .set('Authorization', bearer(bad))
      expect(res.status).to.equal(200)
    })

    it('uses the cookie first: a bad cookie loses even with a good query token and header', async () => {
      const res = await t.agent
        .get('/protected')
        .query({ access_token: good })
        .set('Cookie', cookieHeader({ access_token: bad }))
        .set('Authorization', bearer(good))
      expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN', invalid)
    })

    it('uses the query string before the header', async () => {
      const wins = await t.agent
        .get('/protected')
        .query({ access_token: good })
        .set('Authorization', bearer(bad))
      expect(wins.status).to.equal(200)
      const loses = await t.agent
        .get('/protected')
        .query({ access_token: bad })
        .set('Authorization', bearer(good))
      expectUnauthorized(loses, 401, 'ERR_JWT_INVALID_TOKEN', invalid)
    })

    it('uses the header last', async () => {
      const res = await getAs(t, '/protected', good)
      expect(res.status).to.equal(200)
    })

    it('reports the header as missing when nothing is sent anywhere', async () => {
      const res = await t.agent.get('/protected')
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_HEADER', REASONS.missingHeader)
    })

    it('reports the cookie as missing when the cookie is strict', async () => {
      const strict = build({ cookieSet: true, queryStringSet: true, queryStringStrict: false })
      const res = await strict.agent
        .get('/protected')
        .query({ access_token: good })
        .set('Authorization', bearer(good))
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_COOKIE', REASONS.missingCookie)
    })

    it('reports the query argument as missing when the cookie is lenient and the query strict', async () => {
      const strict = build({ cookieSet: true, cookieStrict: false, queryStringSet: true })
      const res = await getAs(strict, '/protected', good)
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_QUERY_ARG', REASONS.missingQuery)
    })
  })

  describe('for the refresh token (POST /auth/refresh)', () => {
    let r: OptionsApp
    let access: string
    let refresh: string
    beforeEach(async () => {
      r = build({
        cookieSet: true,
        cookieStrict: false,
        queryStringSet: true,
        queryStringStrict: false,
        ...refreshStore(new Map()),
      })
      const login = await r.login()
      access = login.access_token!
      refresh = login.refresh_token!
    })

    const wrong = 'c'.repeat(48)
    const failed = ['Authentication failed.']

    it('uses the refresh cookie first', async () => {
      const wins = await r.agent
        .post('/auth/refresh')
        .query({ refresh_token: wrong })
        .set('Cookie', cookieHeader({ refresh_token: refresh }))
        .set('Authorization', bearer(access))
        .send({ refresh_token: wrong })
      expect(wins.status, JSON.stringify(wins.body)).to.equal(200)
      const loses = await r.agent
        .post('/auth/refresh')
        .query({ refresh_token: refresh })
        .set('Cookie', cookieHeader({ refresh_token: wrong }))
        .set('Authorization', bearer(access))
        .send({ refresh_token: refresh })
      expectError(loses, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', failed)
    })

    it('uses the query string before the JSON body', async () => {
      const wins = await r.agent
        .post('/auth/refresh')
        .query({ refresh_token: refresh })
        .set('Authorization', bearer(access))
        .send({ refresh_token: wrong })
      expect(wins.status, JSON.stringify(wins.body)).to.equal(200)
      const loses = await r.agent
        .post('/auth/refresh')
        .query({ refresh_token: wrong })
        .set('Authorization', bearer(access))
        .send({ refresh_token: refresh })
      expectError(loses, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', failed)
    })

    it('uses the JSON body last', async () => {
      const res = await r.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(access))
        .send({ refresh_token: refresh })
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
    })

    it('takes the access token from the cookie and the refresh token from the query string', async () => {
      const res = await r.agent
        .post('/auth/refresh')
        .query({ refresh_token: refresh })
        .set('Cookie', cookieHeader({ access_token: access }))
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expect(payloadOf(res.body.access_token).user_id).to.equal(1)
    })
  })
})

describe('per-route transport overrides (sanic-jwt docs 8.2.5, #45, #162)', () => {
  afterEach(expectNoUnhandledErrors)

  it('protected({ cookieSet: false }) reads the header on a cookie app', async () => {
    const t = build({ cookieSet: true })
    t.router.get('/by-header', t.jwt.protected({ cookieSet: false }), (ctx) => {
      ctx.body = { byHeader: true }
    })
    const token = (await t.login()).access_token!
    const ok = await getAs(t, '/by-header', token)
    expect(ok.status).to.equal(200)
    const other = await getAs(t, '/protected', token)
    expectUnauthorized(other, 401, 'ERR_JWT_MISSING_COOKIE')
  })

  it('scoped(..., { queryStringSet: true }) reads the query string for the token and its scopes', async () => {
    const t = build({ addScopesToPayload: (user) => user.scopes ?? [] })
    t.router.get('/qs-scoped', t.jwt.scoped('user', { queryStringSet: true }), (ctx) => {
      ctx.body = { ok: true }
    })
    t.router.get('/qs-admin', t.jwt.scoped('admin', { queryStringSet: true }), (ctx) => {
      ctx.body = { ok: true }
    })
    const token = (await t.login()).access_token!
    expect((await t.agent.get('/qs-scoped').query({ access_token: token })).status).to.equal(200)
    const denied = await t.agent.get('/qs-admin').query({ access_token: token })
    expectUnauthorized(denied, 403, 'ERR_JWT_INVALID_SCOPE', ['Invalid scope.'])
    const header = await getAs(t, '/qs-scoped', token)
    expectUnauthorized(header, 401, 'ERR_JWT_MISSING_QUERY_ARG')
  })
})
