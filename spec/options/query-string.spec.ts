import { expect } from 'chai'

import { refreshStore } from '../helpers/app'
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
  setCookies,
  tamper,
  type OptionsApp,
} from '../helpers/options'

const MISSING_QUERY = ['Authorization query argument not present.']

describe('option: queryStringSet', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  let token: string
  beforeEach(async () => {
    t = build({ queryStringSet: true })
    token = (await t.login()).access_token!
  })

  it('makes protected routes read the token from ?access_token=', async () => {
    const res = await t.agent.get('/protected').query({ access_token: token })
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ protected: true })
  })

  it('makes /auth/verify and /auth/me read the query string', async () => {
    const verify = await t.agent.get('/auth/verify').query({ access_token: token })
    expect(verify.status).to.equal(200)
    expect(verify.body).to.deep.equal({ valid: true })
    const me = await t.agent.get('/auth/me').query({ access_token: token })
    expect(me.status).to.equal(200)
    expect(me.body.me.user_id).to.equal(1)
  })

  it('does not change /auth: tokens in the body, no cookie', async () => {
    const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expect(res.status).to.equal(200)
    expect(Object.keys(res.body)).to.deep.equal(['access_token'])
    expect(setCookies(res)).to.deep.equal([])
  })

  it('returns 401 ERR_JWT_INVALID_TOKEN for a tampered query token', async () => {
    const res = await t.agent.get('/protected').query({ access_token: tamper(token) })
    expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
  })

  it('returns 401 ERR_JWT_EXPIRED for an expired query token', async () => {
    t.clock.now += EXPIRED_AFTER
    const res = await t.agent.get('/protected').query({ access_token: token })
    expectUnauthorized(res, 401, 'ERR_JWT_EXPIRED', REASONS.expired)
  })

  it('treats an empty ?access_token= as missing (sanic-jwt #143)', async () => {
    const res = await t.agent.get('/protected?access_token=')
    expectUnauthorized(res, 401, 'ERR_JWT_MISSING_QUERY_ARG', MISSING_QUERY)
  })

  it('returns 401 when the parameter is repeated', async () => {
    const res = await t.agent.get(`/protected?access_token=${token}&access_token=${token}`)
    expect(res.status).to.equal(401)
    expect(res.body.exception).to.equal('Unauthorized')
    expect(res.body.code).to.equal('ERR_JWT_INVALID_TOKEN')
  })

  it('makes /auth/verify answer a repeated parameter as a structural failure (debug mode: ERR_JWT_MALFORMED)', async () => {
    const res = await t.agent.get(`/auth/verify?access_token=${token}&access_token=${token}`)
    expect(res.status).to.equal(401)
    expect(res.body).to.deep.equal({
      valid: false,
      reasons: ['Auth required.'],
      exception: 'InvalidToken',
      code: 'ERR_JWT_INVALID_TOKEN',
    })
    const debug = build({ queryStringSet: true, debug: true })
    const debugToken = (await debug.login()).access_token!
    const detailed = await debug.agent.get(`/auth/verify?access_token=${debugToken}&access_token=${debugToken}`)
    expect(detailed.status).to.equal(400)
    expect(detailed.body).to.include({ valid: false, exception: 'InvalidToken', code: 'ERR_JWT_MALFORMED' })
  })

  describe('option: queryStringStrict', () => {
    it('true (default): a header token alone gives 401 "Authorization query argument not present."', async () => {
      const res = await getAs(t, '/protected', token)
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_QUERY_ARG', MISSING_QUERY)
      expect(res.headers['www-authenticate']).to.equal('Bearer')
    })

    it('true in debug mode: 400', async () => {
      const debug = build({ queryStringSet: true, debug: true })
      const res = await getAs(debug, '/protected', token)
      expectUnauthorized(res, 400, 'ERR_JWT_MISSING_QUERY_ARG', MISSING_QUERY)
    })

    it('true: /auth/verify without the parameter answers 401 MissingAuthorizationQueryArg', async () => {
      const res = await getAs(t, '/auth/verify', token)
      const exception = 'MissingAuthorizationQueryArg'
      expectError(res, 401, exception, 'ERR_JWT_MISSING_QUERY_ARG', MISSING_QUERY)
    })

    it('false: falls back to the Authorization header', async () => {
      const lenient = build({ queryStringSet: true, queryStringStrict: false })
      const ok = await getAs(lenient, '/protected', token)
      expect(ok.status).to.equal(200)
      const none = await lenient.agent.get('/protected')
      expectUnauthorized(none, 401, 'ERR_JWT_MISSING_HEADER', REASONS.missingHeader)
    })
  })

  it('reads the parameter named by queryStringAccessTokenName', async () => {
    const named = build({ queryStringSet: true, queryStringAccessTokenName: 'jwt' })
    const ok = await named.agent.get('/protected').query({ jwt: token })
    expect(ok.status).to.equal(200)
    const wrong = await named.agent.get('/protected').query({ access_token: token })
    expectUnauthorized(wrong, 401, 'ERR_JWT_MISSING_QUERY_ARG', MISSING_QUERY)
  })

  it('is off by default: a query token is ignored', async () => {
    const plain = build()
    const res = await plain.agent.get('/protected').query({ access_token: token })
    expectUnauthorized(res, 401, 'ERR_JWT_MISSING_HEADER', REASONS.missingHeader)
  })
})

describe('option: queryStringSet — POST /auth/refresh', () => {
  afterEach(expectNoUnhandledErrors)

  it('reads the access and refresh tokens from the query string', async () => {
    const t = build({ queryStringSet: true, ...refreshStore(new Map()) })
    const login = await t.login()
    t.clock.now += EXPIRED_AFTER
    const res = await t.agent
      .post('/auth/refresh')
      .query({ access_token: login.access_token!, refresh_token: login.refresh_token! })
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    expect(Object.keys(res.body)).to.deep.equal(['access_token'])
    expect(payloadOf(res.body.access_token).exp).to.equal(t.clock.now + 1800)
  })

  it('uses queryStringRefreshTokenName', async () => {
    const t = build({
      queryStringSet: true,
      queryStringRefreshTokenName: 'rt',
      ...refreshStore(new Map()),
    })
    const login = await t.login()
    const ok = await t.agent
      .post('/auth/refresh')
      .query({ access_token: login.access_token!, rt: login.refresh_token! })
    expect(ok.status).to.equal(200)
    const wrongName = await t.agent
      .post('/auth/refresh')
      .query({ access_token: login.access_token!, refresh_token: login.refresh_token! })
    expectAuthFailed(wrongName)
  })

  it('returns 401 AuthenticationFailed without the refresh parameter (strict: the body is not read)', async () => {
    const t = build({ queryStringSet: true, ...refreshStore(new Map()) })
    const login = await t.login()
    const res = await t.agent
      .post('/auth/refresh')
      .query({ access_token: login.access_token! })
      .send({ refresh_token: login.refresh_token })
    expectAuthFailed(res)
  })

  it('returns 401 AuthenticationFailed for a wrong refresh parameter', async () => {
    const t = build({ queryStringSet: true, ...refreshStore(new Map()) })
    const login = await t.login()
    const res = await t.agent
      .post('/auth/refresh')
      .query({ access_token: login.access_token!, refresh_token: 'b'.repeat(48) })
    expectAuthFailed(res)
  })

  it('with queryStringStrict false, falls back to the header and the JSON body', async () => {
    const t = build({ queryStringSet: true, queryStringStrict: false, ...refreshStore(new Map()) })
    const login = await t.login()
    const res = await t.agent
      .post('/auth/refresh')
      .set('Authorization', bearer(login.access_token!))
      .send({ refresh_token: login.refresh_token })
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
  })
})
