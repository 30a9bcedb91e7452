/**
 * CSRF double submit on the built-in endpoints (issue #22): `/auth/refresh` checks the refresh
 * token's own value, `/auth/logout` the access token's (a form field too, its body being read by
 * then) and clears every token and CSRF cookie; the login endpoints set the CSRF cookies.
 */
import { expect } from 'chai'
import type { Response } from 'supertest'

import type { InitializeOptions } from '../../source'
import { refreshCsrfValue } from '../../source/core/csrf'
import { refreshStore, type TestUser } from '../helpers/app'
import {
  CSRF_MISMATCH,
  MISSING_CSRF,
  cookiesOf,
  csrfApp,
  expectCsrfError,
  expectNotEchoed,
  expectOk,
  keepCookies,
  login,
  type Session,
} from '../helpers/csrf'
import {
  EXPIRED_AFTER,
  bearer,
  cookieValue,
  expectError,
  expectNoUnhandledErrors,
  payloadOf,
  setCookies,
  type OptionsApp,
} from '../helpers/options'

/** Cookie mode, CSRF protection, refresh tokens in the token store (revocation on: /logout mounted). */
function storeApp(options: InitializeOptions<TestUser> = {}): OptionsApp {
  return csrfApp({ refreshTokenEnabled: true, revocationEnabled: true, ...options })
}

function refresh(t: OptionsApp, session: Session, csrf?: string): Promise<Response> {
  const req = t.agent.post('/auth/refresh').set('Cookie', cookiesOf(session.jar))
  return csrf === undefined ? req : req.set('X-CSRF-Token', csrf)
}

function logout(t: OptionsApp, session: Session, csrf?: string): Promise<Response> {
  const req = t.agent.post('/auth/logout').set('Cookie', cookiesOf(session.jar))
  return csrf === undefined ? req : req.set('X-CSRF-Token', csrf)
}

const DELETED = 'path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=0; samesite=lax'

describe('CSRF double submit: POST /auth/refresh', () => {
  afterEach(expectNoUnhandledErrors)

  it("refreshes with the refresh token's value (csrf_refresh_token) and sets the new access token's value", async () => {
    const t = storeApp()
    const session = await login(t)
    const res = await refresh(t, session, session.jar.csrf_refresh_token)
    expectOk(res)
    const access = res.body.access_token as string
    const csrf = payloadOf(access).csrf as string
    expect(csrf).to.match(/^[A-Za-z0-9_-]{22}$/)
    expect(csrf).not.to.equal(session.jar.csrf_access_token)
    expect(setCookies(res)).to.deep.equal([
      `access_token=${access}; path=/; samesite=lax; httponly`,
      `csrf_access_token=${csrf}; path=/; samesite=lax`,
    ])
    // The new pair works together.
    const jar = keepCookies(res, session.jar)
    expectOk(await t.agent.post('/auth/logout').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', jar.csrf_access_token!))
  })

  it('refuses a refresh without the value, and rotates, records or issues nothing', async () => {
    const t = storeApp({ refreshRotation: true })
    const session = await login(t)
    const res = await refresh(t, session)
    expectCsrfError(res, MISSING_CSRF)
    expect(setCookies(res)).to.deep.equal([])
    // The refresh token is still the live one: a retired one would be reuse.
    expectOk(await refresh(t, session, session.jar.csrf_refresh_token))
  })

  it("refuses the access token's value: the refresh token has its own", async () => {
    const t = storeApp()
    const session = await login(t)
    const res = await refresh(t, session, session.jar.csrf_access_token)
    expectCsrfError(res, CSRF_MISMATCH)
    expectNotEchoed(res, [session.jar.csrf_access_token!, session.jar.csrf_refresh_token!, session.body.refresh_token!])
  })

  it('refuses a value of another length without a 500', async () => {
    const t = storeApp()
    const session = await login(t)
    expectCsrfError(await refresh(t, session, 'short'), CSRF_MISMATCH)
  })

  it('works with the refresh handlers (storeRefreshToken / retrieveRefreshToken)', async () => {
    const t = csrfApp(refreshStore(new Map()))
    const session = await login(t)
    expect(session.jar.csrf_refresh_token).to.equal(refreshCsrfValue(session.body.refresh_token!))
    expectCsrfError(await refresh(t, session), MISSING_CSRF)
    expectOk(await refresh(t, session, session.jar.csrf_refresh_token))
  })

  it("sets the rotated refresh token's value with refreshRotation", async () => {
    const t = storeApp({ refreshRotation: true, refreshReuseInterval: 0 })
    const session = await login(t)
    const res = await refresh(t, session, session.jar.csrf_refresh_token)
    expectOk(res)
    const successor = res.body.refresh_token as string
    expect(cookieValue(res, 'refresh_token')).to.equal(successor)
    expect(cookieValue(res, 'csrf_refresh_token')).to.equal(refreshCsrfValue(successor))
    const jar = keepCookies(res, session.jar)
    // The old value does not fit the new token.
    expectCsrfError(await refresh(t, { ...session, jar }, session.jar.csrf_refresh_token), CSRF_MISMATCH)
    expectOk(await refresh(t, { ...session, jar }, jar.csrf_refresh_token))
  })

  it('works with split cookies', async () => {
    const t = storeApp({ cookieSplit: true })
    const session = await login(t)
    expect(Object.keys(session.jar)).to.have.members([
      'access_token',
      'access_token_signature',
      'refresh_token',
      'csrf_access_token',
      'csrf_refresh_token',
    ])
    expectCsrfError(await refresh(t, session, session.jar.csrf_access_token), CSRF_MISMATCH)
    expectOk(await refresh(t, session, session.jar.csrf_refresh_token))
  })

  it('accepts the value in a form field with csrfCheckForm (the endpoint reads its body)', async () => {
    const t = storeApp({ csrfCheckForm: true })
    const session = await login(t)
    const post = () => t.agent.post('/auth/refresh').set('Cookie', cookiesOf(session.jar)).type('form')
    expectCsrfError(await post().send({ csrf_token: session.jar.csrf_access_token! }), CSRF_MISMATCH)
    expectOk(await post().send({ csrf_token: session.jar.csrf_refresh_token! }))
  })

  it('does not check a refresh token that came from the body (cookieStrict off)', async () => {
    const t = storeApp({ cookieStrict: false })
    const session = await login(t)
    const res = await t.agent
      .post('/auth/refresh')
      .set('Cookie', cookiesOf({ access_token: session.jar.access_token! }))
      .send({ refresh_token: session.body.refresh_token })
    expectOk(res)
  })

  it('does not check in header mode (cookieCsrfProtect without cookieSet)', async () => {
    const t = storeApp({ cookieSet: false })
    const { body } = await login(t)
    const res = await t.agent
      .post('/auth/refresh')
      .set('Authorization', bearer(body.access_token!))
      .send({ refresh_token: body.refresh_token })
    expectOk(res)
  })

  it('does not check when POST is not in csrfMethods', async () => {
    const t = storeApp({ csrfMethods: ['PUT'] })
    const session = await login(t)
    expectOk(await refresh(t, session))
  })

  it('checks the refresh token, not the access token, with doProtection off too', async () => {
    const t = storeApp({ doProtection: false })
    const session = await login(t)
    expectCsrfError(await refresh(t, session, session.jar.csrf_access_token), CSRF_MISMATCH)
    expectOk(await refresh(t, session, session.jar.csrf_refresh_token))
  })

  it('refreshes with an expired access token cookie and the refresh value', async () => {
    const t = storeApp()
    const session = await login(t)
    t.clock.now += EXPIRED_AFTER
    expectOk(await refresh(t, session, session.jar.csrf_refresh_token))
  })
})

describe('CSRF double submit: POST /auth/logout', () => {
  afterEach(expectNoUnhandledErrors)

  it('refuses a logout without the value, and revokes nothing', async () => {
    const t = storeApp()
    const session = await login(t)
    const res = await logout(t, session)
    expectCsrfError(res, MISSING_CSRF)
    expect(setCookies(res)).to.deep.equal([])
    expectOk(await t.agent.get('/protected').set('Cookie', cookiesOf(session.jar)))
    expectOk(await refresh(t, session, session.jar.csrf_refresh_token))
  })

  it("refuses the refresh token's value", async () => {
    const t = storeApp()
    const session = await login(t)
    expectCsrfError(await logout(t, session, session.jar.csrf_refresh_token), CSRF_MISMATCH)
  })

  it('logs out with the value and clears every token and CSRF cookie', async () => {
    const t = storeApp()
    const session = await login(t)
    const res = await logout(t, session, session.jar.csrf_access_token)
    expectOk(res)
    expect(setCookies(res)).to.deep.equal([
      `access_token=; ${DELETED}; httponly`,
      `refresh_token=; ${DELETED}; httponly`,
      `csrf_access_token=; ${DELETED}`,
      `csrf_refresh_token=; ${DELETED}`,
    ])
    expect(keepCookies(res, session.jar)).to.deep.equal({})
    expectError(await t.agent.get('/protected').set('Cookie', cookiesOf(session.jar)), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
  })

  it('clears the signature cookie too with split cookies, and the configured names', async () => {
    const t = storeApp({ cookieSplit: true, cookieCsrfAccessName: 'xsrf', cookieCsrfRefreshName: 'xsrf_r' })
    const session = await login(t)
    const res = await logout(t, session, session.jar.xsrf)
    expectOk(res)
    expect(setCookies(res).map((line) => line.split('=')[0])).to.deep.equal([
      'access_token',
      'access_token_signature',
      'refresh_token',
      'xsrf',
      'xsrf_r',
    ])
    expect(keepCookies(res, session.jar)).to.deep.equal({})
  })

  it('accepts the value in a form field with csrfCheckForm (the endpoint reads its body)', async () => {
    const t = storeApp({ csrfCheckForm: true })
    const session = await login(t)
    const post = () => t.agent.post('/auth/logout').set('Cookie', cookiesOf(session.jar)).type('form')
    expectCsrfError(await post().send({ everywhere: 'false' }), MISSING_CSRF)
    expectOk(await post().send({ csrf_token: session.jar.csrf_access_token!, everywhere: 'true' }))
  })

  it('logs out with an expired access token cookie and its value', async () => {
    const t = storeApp()
    const session = await login(t)
    t.clock.now += EXPIRED_AFTER
    expectOk(await logout(t, session, session.jar.csrf_access_token))
  })

  it('does not check a header token (cookieStrict off), and clears the cookies all the same', async () => {
    const t = storeApp({ cookieStrict: false })
    const { body } = await login(t)
    const res = await t.agent.post('/auth/logout').set('Authorization', bearer(body.access_token!))
    expectOk(res)
    expect(setCookies(res)).to.have.length(4)
  })

  it('checks with doProtection off too', async () => {
    const t = storeApp({ doProtection: false })
    const session = await login(t)
    expectCsrfError(await logout(t, session), MISSING_CSRF)
    expectOk(await logout(t, session, session.jar.csrf_access_token))
  })

  it('clears no CSRF cookie without cookieCsrfProtect', async () => {
    const t = storeApp({ cookieCsrfProtect: false })
    const session = await login(t)
    const res = await logout(t, session)
    expectOk(res)
    expect(setCookies(res).map((line) => line.split('=')[0])).to.deep.equal(['access_token', 'refresh_token'])
  })
})

describe('CSRF double submit: the other endpoints', () => {
  afterEach(expectNoUnhandledErrors)

  it('POST /auth/fresh sets the fresh token\'s value', async () => {
    const t = storeApp({ freshLoginEnabled: true })
    const res = await t.agent.post('/auth/fresh').send({ username: 'user1', password: 'abcxyz' })
    expectOk(res)
    const csrf = payloadOf(res.body.access_token as string).csrf
    expect(csrf).to.be.a('string')
    expect(cookieValue(res, 'csrf_access_token')).to.equal(csrf)
    expect(cookieValue(res, 'csrf_refresh_token')).to.equal(undefined)
  })

  it('GET /auth/me and GET /auth/verify need no value (safe methods)', async () => {
    const t = storeApp()
    const session = await login(t)
    expectOk(await t.agent.get('/auth/me').set('Cookie', cookiesOf(session.jar)))
    const verify = await t.agent.get('/auth/verify').set('Cookie', cookiesOf(session.jar))
    expectOk(verify)
    expect(verify.body).to.deep.equal({ valid: true })
  })
})
