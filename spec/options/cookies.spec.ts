import { expect } from 'chai'
import type { Context } from 'koa'
import type request from 'supertest'

import { InvalidConfiguration, Responses } from '../../source'
import { refreshStore } from '../helpers/app'
import {
  EXPIRED_AFTER,
  REASONS,
  bearer,
  build,
  cookieHeader,
  cookieValue,
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

const CREDENTIALS = { username: 'user1', password: 'abcxyz' }

async function login(
  t: OptionsApp,
  headers: Record<string, string> = {},
): Promise<request.Response> {
  const res = await t.agent.post('/auth').set(headers).send(CREDENTIALS)
  expect(res.status, JSON.stringify(res.body)).to.equal(200)
  return res
}

describe('option: cookieSet', () => {
  afterEach(expectNoUnhandledErrors)

  describe('POST /auth', () => {
    it('sets the access cookie with the default attributes and keeps the token in the body', async () => {
      const t = build({ cookieSet: true })
      const res = await login(t)
      const token = res.body.access_token as string
      expect(token.split('.')).to.have.length(3)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${token}; path=/; samesite=lax; httponly`,
      ])
    })

    it('sets the refresh cookie too when refresh tokens are enabled, and keeps both tokens in the body', async () => {
      const t = build({ cookieSet: true, ...refreshStore(new Map()) })
      const res = await login(t)
      const { access_token: access, refresh_token: refresh } = res.body as Record<string, string>
      expect(refresh).to.match(/^[0-9a-f]{48}$/)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${access}; path=/; samesite=lax; httponly`,
        `refresh_token=${refresh}; path=/; samesite=lax; httponly`,
      ])
    })

    it('sets no cookie when cookieSet is off (the default)', async () => {
      const t = build()
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([])
    })

    it('sets no cookie when the login fails', async () => {
      const t = build({ cookieSet: true })
      const res = await t.agent.post('/auth').send({ username: 'user1', password: 'wrong' })
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', [
        'Password is incorrect.',
      ])
      expect(setCookies(res)).to.deep.equal([])
    })
  })

  describe('cookie attributes', () => {
    it('cookieDomain adds a domain attribute', async () => {
      const t = build({ cookieSet: true, cookieDomain: 'example.com' })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; domain=example.com; samesite=lax; httponly`,
      ])
    })

    it('cookieExpires (a Date) adds an expires attribute in GMT', async () => {
      const t = build({ cookieSet: true, cookieExpires: new Date(Date.UTC(2100, 0, 1)) })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; expires=Fri, 01 Jan 2100 00:00:00 GMT; samesite=lax; httponly`,
      ])
    })

    it('cookieExpires applies to the refresh cookie too', async () => {
      const t = build({
        cookieSet: true,
        cookieExpires: new Date(Date.UTC(2100, 0, 1)),
        ...refreshStore(new Map()),
      })
      const res = await login(t)
      expect(setCookies(res)[1]).to.equal(
        `refresh_token=${res.body.refresh_token}; path=/; expires=Fri, 01 Jan 2100 00:00:00 GMT; samesite=lax; httponly`,
      )
    })

    it('cookieHttponly false leaves the httponly flag out', async () => {
      const t = build({ cookieSet: true, cookieHttponly: false })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; samesite=lax`,
      ])
    })

    it('cookieMaxAge (seconds) writes a Max-Age attribute and no Expires (reference §4.8)', async () => {
      const t = build({ cookieSet: true, cookieMaxAge: 600, ...refreshStore(new Map()) })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; max-age=600; samesite=lax; httponly`,
        `refresh_token=${res.body.refresh_token}; path=/; max-age=600; samesite=lax; httponly`,
      ])
    })

    it("cookieMaxAge accepts a time span ('10m') and writes it in seconds", async () => {
      const t = build({ cookieSet: true, cookieMaxAge: '10m' })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; max-age=600; samesite=lax; httponly`,
      ])
    })

    it('cookieMaxAge and cookieExpires together write both attributes', async () => {
      const t = build({ cookieSet: true, cookieMaxAge: 60, cookieExpires: new Date(Date.UTC(2100, 0, 1)) })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; expires=Fri, 01 Jan 2100 00:00:00 GMT; max-age=60; samesite=lax; httponly`,
      ])
    })

    it('cookiePath sets the path attribute', async () => {
      const t = build({ cookieSet: true, cookiePath: '/api' })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/api; samesite=lax; httponly`,
      ])
    })

    for (const [value, written] of [
      ['Strict', 'strict'],
      ['None', 'none'],
      ['lax', 'lax'],
    ] as const) {
      it(`cookieSamesite '${value}' writes samesite=${written}`, async () => {
        const t = build({ cookieSet: true, cookieSamesite: value })
        const res = await login(t)
        expect(setCookies(res)).to.deep.equal([
          `access_token=${res.body.access_token}; path=/; samesite=${written}; httponly`,
        ])
      })
    }

    it('cookieSamesite null leaves the samesite attribute out', async () => {
      const t = build({ cookieSet: true, cookieSamesite: null })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; httponly`,
      ])
    })

    it('cookieSecure true adds the secure flag on plain HTTP', async () => {
      const t = build({ cookieSet: true, cookieSecure: true })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; samesite=lax; secure; httponly`,
      ])
    })

    it('cookieSecure true adds the secure flag behind a TLS proxy (app.proxy, X-Forwarded-Proto: https)', async () => {
      const t = build({ cookieSet: true, cookieSecure: true, ...refreshStore(new Map()) })
      t.app.proxy = true
      const res = await login(t, { 'X-Forwarded-Proto': 'https' })
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; samesite=lax; secure; httponly`,
        `refresh_token=${res.body.refresh_token}; path=/; samesite=lax; secure; httponly`,
      ])
    })

    it('cookieSecure false never writes secure, even over a TLS proxy', async () => {
      const t = build({ cookieSet: true })
      t.app.proxy = true
      const res = await login(t, { 'X-Forwarded-Proto': 'https' })
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; samesite=lax; httponly`,
      ])
    })

    it('answers 500 InvalidConfiguration, without the value, for a refresh token a cookie cannot carry', async () => {
      const bad = 'refresh token; with spaces'
      const t = build({ cookieSet: true, ...refreshStore(new Map()), generateRefreshToken: () => bad })
      const res = await t.agent.post('/auth').send(CREDENTIALS)
      expectError(res, 500, 'InvalidConfiguration', 'ERR_JWT_INVALID_CONFIGURATION')
      expect(JSON.stringify(res.body)).not.to.include('with spaces')
      expect(setCookies(res)).to.deep.equal([])
    })

    it('writes one cookie per name when a Responses subclass sets the same cookie again', async () => {
      class Twice extends Responses {
        override getTokenResponse(ctx: Context, accessToken: string, output: Record<string, unknown>): void {
          super.getTokenResponse(ctx, accessToken, output)
          ctx.append('Set-Cookie', 'other=1; path=/')
          this.setCookie(ctx, 'access_token', 'replaced')
        }
      }
      const t = build({ cookieSet: true, responsesClass: Twice })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal(['other=1; path=/', 'access_token=replaced; path=/; samesite=lax; httponly'])
    })

    it('combines every attribute in one cookie', async () => {
      const t = build({
        cookieSet: true,
        cookieDomain: 'example.org',
        cookieExpires: new Date(Date.UTC(2099, 11, 31, 23, 59, 59)),
        cookiePath: '/app',
        cookieSamesite: 'Strict',
        cookieSecure: true,
        cookieHttponly: false,
      })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/app; expires=Thu, 31 Dec 2099 23:59:59 GMT; ` +
          'domain=example.org; samesite=strict; secure',
      ])
    })
  })

  describe('validation at start-up (CONVENTIONS §5)', () => {
    // Values the cookies module cannot write (or writes as invalid Set-Cookie headers) must be
    // refused by `new Initialize`, not discovered on the first login.
    for (const [name, value] of [
      ['cookieDomain', 'bad domain;'],
      ['cookiePath', '/a;b'],
      ['cookieAccessTokenName', 'my token'],
      ['cookieRefreshTokenName', 'a=b'],
      ['cookieSplitSignatureName', 'sig;x'],
    ] as const) {
      it(`refuses ${name} ${JSON.stringify(value)} with InvalidConfiguration`, () => {
        const options = { cookieSet: true, ...refreshStore(new Map()), [name]: value }
        expect(() => build(options)).to.throw(InvalidConfiguration, new RegExp(name))
      })
    }
  })

  describe('cookie names', () => {
    it('cookieAccessTokenName names the access cookie, read back by protected routes', async () => {
      const t = build({ cookieSet: true, cookieAccessTokenName: 'my-token' })
      const res = await login(t)
      expect(setCookies(res)).to.deep.equal([
        `my-token=${res.body.access_token}; path=/; samesite=lax; httponly`,
      ])
      const ok = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ 'my-token': res.body.access_token }))
      expect(ok.status).to.equal(200)
      const other = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ access_token: res.body.access_token }))
      expectUnauthorized(other, 401, 'ERR_JWT_MISSING_COOKIE', REASONS.missingCookie)
    })

    it('cookieTokenName is an alias of cookieAccessTokenName', async () => {
      const t = build({ cookieSet: true, cookieTokenName: 'alias-token' })
      expect(t.jwt.config.get('cookieAccessTokenName')).to.equal('alias-token')
      const res = await login(t)
      expect(cookieValue(res, 'alias-token')).to.equal(res.body.access_token)
      const ok = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ 'alias-token': res.body.access_token }))
      expect(ok.status).to.equal(200)
    })

    it('cookieRefreshTokenName names the refresh cookie, read back by /auth/refresh', async () => {
      const t = build({
        cookieSet: true,
        cookieRefreshTokenName: 'my-refresh',
        ...refreshStore(new Map()),
      })
      const res = await login(t)
      expect(cookieValue(res, 'my-refresh')).to.equal(res.body.refresh_token)
      expect(cookieValue(res, 'refresh_token')).to.equal(undefined)
      const refreshed = await t.agent
        .post('/auth/refresh')
        .set(
          'Cookie',
          cookieHeader({
            access_token: res.body.access_token,
            'my-refresh': res.body.refresh_token,
          }),
        )
      expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200)
    })
  })

  describe('protected routes', () => {
    let t: OptionsApp
    let token: string
    beforeEach(async () => {
      t = build({ cookieSet: true })
      token = (await login(t)).body.access_token
    })

    it('read the access token from the cookie', async () => {
      const res = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ access_token: token }))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ protected: true })
    })

    it('/auth/verify and /auth/me read the cookie too', async () => {
      const verify = await t.agent
        .get('/auth/verify')
        .set('Cookie', cookieHeader({ access_token: token }))
      expect(verify.status).to.equal(200)
      expect(verify.body).to.deep.equal({ valid: true })
      const me = await t.agent.get('/auth/me').set('Cookie', cookieHeader({ access_token: token }))
      expect(me.status).to.equal(200)
      expect(me.body.me.user_id).to.equal(1)
    })

    it('return 401 with ERR_JWT_INVALID_TOKEN for a tampered cookie', async () => {
      const res = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ access_token: tamper(token) }))
      expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
    })

    it('return 401 with ERR_JWT_EXPIRED for an expired cookie token', async () => {
      t.clock.now += EXPIRED_AFTER
      const res = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ access_token: token }))
      expectUnauthorized(res, 401, 'ERR_JWT_EXPIRED', REASONS.expired)
    })

    it('treat an empty cookie as missing (sanic-jwt #143)', async () => {
      const res = await t.agent.get('/protected').set('Cookie', 'access_token=')
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_COOKIE', REASONS.missingCookie)
    })
  })

  describe('option: cookieStrict', () => {
    it('true (default): a header token alone gives 401 "Authorization cookie not present."', async () => {
      const t = build({ cookieSet: true })
      const token = (await login(t)).body.access_token
      const res = await getAs(t, '/protected', token)
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_COOKIE', REASONS.missingCookie)
      expect(res.headers['www-authenticate']).to.equal('Bearer')
    })

    it('true in debug mode: a header token alone gives 400 "Authorization cookie not present."', async () => {
      const t = build({ cookieSet: true, debug: true })
      const token = (await login(t)).body.access_token
      const res = await getAs(t, '/protected', token)
      expectUnauthorized(res, 400, 'ERR_JWT_MISSING_COOKIE', REASONS.missingCookie)
    })

    it('true: /auth/verify without the cookie answers 401 MissingAuthorizationCookie', async () => {
      const t = build({ cookieSet: true })
      const token = (await login(t)).body.access_token
      const res = await getAs(t, '/auth/verify', token)
      const missing = REASONS.missingCookie
      expectError(res, 401, 'MissingAuthorizationCookie', 'ERR_JWT_MISSING_COOKIE', missing)
    })

    it('false: falls back to the Authorization header', async () => {
      const t = build({ cookieSet: true, cookieStrict: false })
      const token = (await login(t)).body.access_token
      const res = await getAs(t, '/protected', token)
      expect(res.status).to.equal(200)
      const none = await t.agent.get('/protected')
      expectUnauthorized(none, 401, 'ERR_JWT_MISSING_HEADER', REASONS.missingHeader)
    })

    it('false: falls back to the query string when queryStringSet', async () => {
      const t = build({ cookieSet: true, cookieStrict: false, queryStringSet: true })
      const token = (await login(t)).body.access_token
      const res = await t.agent.get('/protected').query({ access_token: token })
      expect(res.status).to.equal(200)
      const none = await getAs(t, '/protected', token)
      expectUnauthorized(none, 401, 'ERR_JWT_MISSING_QUERY_ARG', REASONS.missingQuery)
    })
  })

  describe('POST /auth/refresh in cookie mode', () => {
    let t: OptionsApp
    let access: string
    let refresh: string
    beforeEach(async () => {
      t = build({ cookieSet: true, ...refreshStore(new Map()) })
      const res = await login(t)
      access = res.body.access_token
      refresh = res.body.refresh_token
    })

    it('reads the access and refresh cookies and re-sets only the access cookie', async () => {
      t.clock.now += EXPIRED_AFTER
      const res = await t.agent
        .post('/auth/refresh')
        .set('Cookie', cookieHeader({ access_token: access, refresh_token: refresh }))
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expect(Object.keys(res.body)).to.deep.equal(['access_token'])
      const fresh = res.body.access_token as string
      expect(payloadOf(fresh).exp).to.equal(t.clock.now + 1800)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${fresh}; path=/; samesite=lax; httponly`,
      ])
      const ok = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ access_token: fresh }))
      expect(ok.status).to.equal(200)
    })

    it('returns 401 AuthenticationFailed when the refresh cookie is missing, even with a body token', async () => {
      const res = await t.agent
        .post('/auth/refresh')
        .set('Cookie', cookieHeader({ access_token: access }))
        .send({ refresh_token: refresh })
      expectAuthFailed(res)
      expect(setCookies(res)).to.deep.equal([])
    })

    it('returns 401 AuthenticationFailed for a wrong refresh cookie', async () => {
      const res = await t.agent
        .post('/auth/refresh')
        .set('Cookie', cookieHeader({ access_token: access, refresh_token: 'a'.repeat(48) }))
      expectAuthFailed(res)
      expect(setCookies(res)).to.deep.equal([])
    })

    it('returns 401 MISSING_COOKIE when the access cookie is missing', async () => {
      const res = await t.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(access))
        .set('Cookie', cookieHeader({ refresh_token: refresh }))
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_COOKIE', REASONS.missingCookie)
    })

    it('with cookieStrict false, falls back to the header and the JSON body', async () => {
      const lenient = build({ cookieSet: true, cookieStrict: false, ...refreshStore(new Map()) })
      const body = (await login(lenient)).body
      const res = await lenient.agent
        .post('/auth/refresh')
        .set('Authorization', bearer(body.access_token))
        .send({ refresh_token: body.refresh_token })
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expect(setCookies(res)).to.deep.equal([
        `access_token=${res.body.access_token}; path=/; samesite=lax; httponly`,
      ])
    })
  })

  describe('GET /auth/me with doProtection false', () => {
    let t: OptionsApp
    beforeEach(() => {
      t = build({ cookieSet: true, doProtection: false })
    })

    it('answers { me: null } and clears the access cookie when there is no payload (reference §7.2.21)', async () => {
      const res = await t.agent.get('/auth/me')
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ me: null })
      expect(setCookies(res)).to.deep.equal([
        'access_token=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=0; samesite=lax; httponly',
      ])
    })

    it('clears the access cookie when the cookie token is invalid', async () => {
      const token = (await login(t)).body.access_token
      const res = await t.agent
        .get('/auth/me')
        .set('Cookie', cookieHeader({ access_token: tamper(token) }))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ me: null })
      expect(setCookies(res)).to.deep.equal([
        'access_token=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=0; samesite=lax; httponly',
      ])
    })

    it('answers the user and keeps the cookie when the cookie token is valid', async () => {
      const token = (await login(t)).body.access_token
      const res = await t.agent.get('/auth/me').set('Cookie', cookieHeader({ access_token: token }))
      expect(res.status).to.equal(200)
      expect(res.body.me).to.include({ user_id: 1, username: 'user1' })
      expect(setCookies(res)).to.deep.equal([])
    })
  })
})
