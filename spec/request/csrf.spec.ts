import { expect } from 'chai'
import Koa, { type Context, type Next } from 'koa'
import { koaBody } from 'koa-body'

import { Configuration, CSRFError, Initialize, InvalidConfiguration, KoaJwtError, Responses } from '../../source'
import { refreshCsrfValue } from '../../source/core/csrf'
import { SECRET, authenticateWith, makeUsers } from '../helpers/app'
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
} from '../helpers/csrf'
import {
  EXPIRED_AFTER,
  bearer,
  build,
  cookieValue,
  expectNoUnhandledErrors,
  expectUnauthorized,
  halves,
  payloadOf,
  setCookies,
  type OptionsApp,
} from '../helpers/options'

const UNSAFE = ['post', 'put', 'patch', 'delete'] as const
const SCOPES = { addScopesToPayload: (user: { scopes?: string[] }) => user.scopes ?? [] }

/** Routes that change state, behind each guard. */
function withRoutes(t: OptionsApp): OptionsApp {
  const { router, jwt } = t
  const ok = (ctx: Context): void => {
    ctx.body = { ok: true }
  }
  for (const verb of ['get', 'head', ...UNSAFE] as const) router[verb]('/action', jwt.protected(), ok)
  router.post('/scoped/action', jwt.scoped('user'), ok)
  router.post('/injected', jwt.injectUser(), (ctx) => {
    ctx.body = { user: ctx.state.user === null ? null : (ctx.state.user as { username: string }).username }
  })
  router.post('/injected/required', jwt.injectUser({ required: true }), ok)
  // A body parser before the guard, as csrfCheckForm asks.
  router.post('/form', koaBody({ multipart: true }), jwt.protected(), ok)
  // Two guards on one request; the header is gone by the second one.
  router.post(
    '/twice',
    jwt.protected(),
    (ctx: Context, next: Next) => {
      delete ctx.req.headers['x-csrf-token']
      return next()
    },
    jwt.scoped('user'),
    ok,
  )
  router.get('/per-route', jwt.protected({ csrfMethods: ['GET'] }), ok)
  router.post('/per-route', jwt.protected({ cookieCsrfProtect: false }), ok)
  return t
}

describe('CSRF double submit: issuing (cookieCsrfProtect)', () => {
  afterEach(expectNoUnhandledErrors)

  it('gives the access token a csrf claim of 128 random bits and sets it in a cookie scripts can read', async () => {
    const t = csrfApp()
    const { res, body } = await login(t)
    const csrf = payloadOf(body.access_token!).csrf as string
    expect(csrf).to.match(/^[A-Za-z0-9_-]{22}$/)
    expect(Buffer.from(csrf, 'base64url')).to.have.length(16)
    expect(setCookies(res)).to.deep.equal([
      `access_token=${body.access_token}; path=/; samesite=lax; httponly`,
      `csrf_access_token=${csrf}; path=/; samesite=lax`,
    ])
    const again = await login(t)
    expect(payloadOf(again.body.access_token!).csrf).not.to.equal(csrf)
  })

  it("sets the refresh token's own value in csrf_refresh_token when refresh tokens are on", async () => {
    const t = csrfApp({ refreshTokenEnabled: true, revocationEnabled: true })
    const { jar, body } = await login(t)
    expect(jar.csrf_access_token).to.equal(payloadOf(body.access_token!).csrf)
    expect(jar.csrf_refresh_token).to.equal(refreshCsrfValue(body.refresh_token!))
    expect(jar.csrf_refresh_token).to.match(/^[A-Za-z0-9_-]{22}$/)
    expect(jar.csrf_refresh_token).not.to.equal(jar.csrf_access_token)
  })

  it('gives the CSRF cookies the path, domain, secure, samesite and lifetime of the token cookies, never HttpOnly', async () => {
    const t = csrfApp({
      cookiePath: '/app',
      cookieDomain: 'example.com',
      cookieSecure: true,
      cookieSamesite: 'Strict',
      cookieMaxAge: '30m',
      cookieHttponly: true,
    })
    const { res, body } = await login(t)
    const csrf = payloadOf(body.access_token!).csrf as string
    expect(setCookies(res)).to.deep.equal([
      `access_token=${body.access_token}; path=/app; max-age=1800; domain=example.com; samesite=strict; secure; httponly`,
      `csrf_access_token=${csrf}; path=/app; max-age=1800; domain=example.com; samesite=strict; secure`,
    ])
  })

  it('uses the configured cookie names', async () => {
    const t = csrfApp({ cookieCsrfAccessName: 'xsrf', cookieCsrfRefreshName: 'xsrf_r', refreshTokenEnabled: true, revocationEnabled: true })
    const { jar } = await login(t)
    expect(Object.keys(jar)).to.have.members(['access_token', 'refresh_token', 'xsrf', 'xsrf_r'])
  })

  it('puts the claim in the readable half of split cookies too', async () => {
    const t = csrfApp({ cookieSplit: true })
    const { res, body } = await login(t)
    const { headerPayload, signature } = halves(body.access_token!)
    expect(setCookies(res)).to.deep.equal([
      `access_token=${headerPayload}; path=/; samesite=lax`,
      `access_token_signature=${signature}; path=/; samesite=lax; httponly`,
      `csrf_access_token=${payloadOf(body.access_token!).csrf}; path=/; samesite=lax`,
    ])
  })

  it('adds no claim and no cookie in header mode, even with cookieCsrfProtect on (it has nothing to protect)', async () => {
    const t = build({ cookieCsrfProtect: true })
    const { res, body } = await login(t)
    expect(payloadOf(body.access_token!)).not.to.have.property('csrf')
    expect(setCookies(res)).to.deep.equal([])
  })

  it('adds no claim and no CSRF cookie in cookie mode without cookieCsrfProtect (the default)', async () => {
    const t = build({ cookieSet: true })
    const { res, body } = await login(t)
    expect(payloadOf(body.access_token!)).not.to.have.property('csrf')
    expect(setCookies(res)).to.have.length(1)
  })

  it('sets the claim last: an extendPayload csrf key does not replace it', async () => {
    const t = csrfApp({ extendPayload: (payload) => ({ ...payload, csrf: 'chosen-by-the-app' }) })
    const { jar, body } = await login(t)
    const csrf = payloadOf(body.access_token!).csrf
    expect(csrf).not.to.equal('chosen-by-the-app')
    expect(jar.csrf_access_token).to.equal(csrf)
  })
})

describe('CSRF double submit: protected(), scoped(), injectUser()', () => {
  afterEach(expectNoUnhandledErrors)

  for (const verb of UNSAFE) {
    it(`refuses ${verb.toUpperCase()} with the token cookie and no CSRF header (401 CSRFError), and lets it through with the value`, async () => {
      const t = withRoutes(csrfApp())
      const { jar } = await login(t)
      expectCsrfError(await t.agent[verb]('/action').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
      expectOk(await t.agent[verb]('/action').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', jar.csrf_access_token!))
    })
  }

  it('lets GET and HEAD through without the header (safe methods are never checked)', async () => {
    const t = withRoutes(csrfApp())
    const { jar } = await login(t)
    expectOk(await t.agent.get('/action').set('Cookie', cookiesOf(jar)))
    expect((await t.agent.head('/action').set('Cookie', cookiesOf(jar))).status).to.equal(200)
    expect((await t.agent.options('/action').set('Cookie', cookiesOf(jar))).status).not.to.equal(401)
  })

  it('refuses another value as a mismatch, of the same length or not, without a 500', async () => {
    const t = withRoutes(csrfApp())
    const { jar } = await login(t)
    const value = jar.csrf_access_token!
    const sameLength = (value[0] === 'A' ? 'B' : 'A') + value.slice(1)
    for (const sent of [sameLength, value.slice(1), `${value}x`, 'x', value.toLowerCase() === value ? value.toUpperCase() : value.toLowerCase()]) {
      const res = await t.agent.post('/action').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', sent)
      expectCsrfError(res, CSRF_MISMATCH)
    }
  })

  it("refuses another login's value", async () => {
    const t = withRoutes(csrfApp())
    const first = await login(t)
    const second = await login(t)
    const res = await t.agent.post('/action').set('Cookie', cookiesOf(first.jar)).set('X-CSRF-Token', second.jar.csrf_access_token!)
    expectCsrfError(res, CSRF_MISMATCH)
  })

  it('counts an empty header as missing', async () => {
    const t = withRoutes(csrfApp())
    const { jar } = await login(t)
    expectCsrfError(await t.agent.post('/action').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', ''), MISSING_CSRF)
  })

  it('never echoes the token, the CSRF value or the value sent in an error', async () => {
    const t = withRoutes(csrfApp())
    const { jar, body } = await login(t)
    const sent = `${jar.csrf_access_token!.slice(0, 10)}-sent-by-the-client`
    const missing = await t.agent.post('/action').set('Cookie', cookiesOf(jar))
    const mismatch = await t.agent.post('/action').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', sent)
    for (const res of [missing, mismatch]) {
      expect(res.status).to.equal(401)
      expectNotEchoed(res, [body.access_token!, jar.csrf_access_token!, sent])
    }
  })

  it('refuses a token read from a cookie that has no csrf claim (issued without protection): flask-jwt-extended refuses it too', async () => {
    const t = withRoutes(csrfApp())
    // Issued while protection was off for that call.
    const token = await t.jwt.auth.override({ cookieCsrfProtect: false }, () => t.jwt.auth.generateAccessToken(t.users[0]!))
    expect(payloadOf(token)).not.to.have.property('csrf')
    const cookie = `access_token=${token}`
    expectCsrfError(await t.agent.post('/action').set('Cookie', cookie), MISSING_CSRF)
    expectCsrfError(await t.agent.post('/action').set('Cookie', cookie).set('X-CSRF-Token', 'anything'), CSRF_MISMATCH)
    expectOk(await t.agent.get('/action').set('Cookie', cookie))
  })

  it('checks the token first: an invalid token is answered as such, with or without the header', async () => {
    const t = withRoutes(csrfApp())
    const { jar } = await login(t)
    t.clock.now += EXPIRED_AFTER
    expectUnauthorized(await t.agent.post('/action').set('Cookie', cookiesOf(jar)), 401, 'ERR_JWT_EXPIRED')
    expectUnauthorized(await t.agent.post('/action').set('Cookie', 'access_token=garbage'), 401, 'ERR_JWT_INVALID_TOKEN')
  })

  it('works with split cookies', async () => {
    const t = withRoutes(csrfApp({ cookieSplit: true }))
    const { jar } = await login(t)
    expect(Object.keys(jar)).to.have.members(['access_token', 'access_token_signature', 'csrf_access_token'])
    expectCsrfError(await t.agent.post('/action').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
    expectOk(await t.agent.post('/action').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', jar.csrf_access_token!))
  })

  it('applies to scoped()', async () => {
    const t = withRoutes(csrfApp(SCOPES))
    const { jar } = await login(t)
    expectCsrfError(await t.agent.post('/scoped/action').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
    expectOk(await t.agent.post('/scoped/action').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', jar.csrf_access_token!))
  })

  it('applies to injectUser(): a cookie token without its value is refused, not taken as anonymous', async () => {
    const t = withRoutes(csrfApp())
    const { jar } = await login(t)
    expectCsrfError(await t.agent.post('/injected').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
    const res = await t.agent.post('/injected').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', jar.csrf_access_token!)
    expectOk(res)
    expect(res.body).to.deep.equal({ user: 'user1' })
    // No token at all: anonymous, as before.
    const anonymous = await t.agent.post('/injected')
    expectOk(anonymous)
    expect(anonymous.body).to.deep.equal({ user: null })
  })

  it('applies to injectUser({ required: true })', async () => {
    const t = withRoutes(csrfApp())
    const { jar } = await login(t)
    expectCsrfError(await t.agent.post('/injected/required').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
    expectOk(await t.agent.post('/injected/required').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', jar.csrf_access_token!))
  })

  it('runs once per request: a second guard does not check again', async () => {
    const t = withRoutes(csrfApp(SCOPES))
    const { jar } = await login(t)
    expectOk(await t.agent.post('/twice').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', jar.csrf_access_token!))
    expectCsrfError(await t.agent.post('/twice').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
  })

  it('never redirects a failed check, even with redirectOnFail', async () => {
    const t = csrfApp()
    t.router.post('/redirecting', t.jwt.protected({ redirectOnFail: true }), (ctx) => {
      ctx.body = { ok: true }
    })
    const { jar } = await login(t)
    expectCsrfError(await t.agent.post('/redirecting').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
    expect((await t.agent.post('/redirecting')).status).to.equal(302)
  })

  describe('tokens that did not come from a cookie', () => {
    it('never checks a header token, in header mode', async () => {
      const t = withRoutes(build({ cookieCsrfProtect: true }))
      const { body } = await login(t)
      expectOk(await t.agent.post('/action').set('Authorization', bearer(body.access_token!)))
    })

    it('never checks a header token in cookie mode with cookieStrict off, even when it carries a csrf claim', async () => {
      const t = withRoutes(csrfApp({ cookieStrict: false }))
      const { body } = await login(t)
      expect(payloadOf(body.access_token!)).to.have.property('csrf')
      expectOk(await t.agent.post('/action').set('Authorization', bearer(body.access_token!)))
    })

    it('checks when a header token and the cookie are both sent: the cookie is the token used', async () => {
      const t = withRoutes(csrfApp({ cookieStrict: false }))
      const cookieLogin = await login(t)
      const headerLogin = await login(t, 'user2')
      const res = await t.agent
        .post('/action')
        .set('Cookie', cookiesOf(cookieLogin.jar))
        .set('Authorization', bearer(headerLogin.body.access_token!))
      expectCsrfError(res, MISSING_CSRF)
      // The header token's value is not the cookie token's.
      const withHeaderValue = await t.agent
        .post('/action')
        .set('Cookie', cookiesOf(cookieLogin.jar))
        .set('Authorization', bearer(headerLogin.body.access_token!))
        .set('X-CSRF-Token', headerLogin.jar.csrf_access_token!)
      expectCsrfError(withHeaderValue, CSRF_MISMATCH)
    })

    it('never checks a query-string token', async () => {
      const t = withRoutes(csrfApp({ cookieStrict: false, queryStringSet: true }))
      const { body } = await login(t)
      expectOk(await t.agent.post(`/action?access_token=${body.access_token}`))
    })
  })

  describe('settings', () => {
    it('checks the methods of csrfMethods only (given in any case)', async () => {
      const t = withRoutes(csrfApp({ csrfMethods: ['get', 'Delete'] }))
      const { jar } = await login(t)
      expectCsrfError(await t.agent.get('/action').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
      expectOk(await t.agent.get('/action').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', jar.csrf_access_token!))
      expectOk(await t.agent.post('/action').set('Cookie', cookiesOf(jar)))
      expectCsrfError(await t.agent.delete('/action').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
    })

    it('reads the header named by csrfHeaderName', async () => {
      const t = withRoutes(csrfApp({ csrfHeaderName: 'X-XSRF-TOKEN' }))
      const { jar } = await login(t)
      expectCsrfError(await t.agent.post('/action').set('Cookie', cookiesOf(jar)).set('X-CSRF-Token', jar.csrf_access_token!), MISSING_CSRF)
      expectOk(await t.agent.post('/action').set('Cookie', cookiesOf(jar)).set('x-xsrf-token', jar.csrf_access_token!))
    })

    it('takes per-route settings', async () => {
      const t = withRoutes(csrfApp())
      const { jar } = await login(t)
      expectCsrfError(await t.agent.get('/per-route').set('Cookie', cookiesOf(jar)), MISSING_CSRF)
      expectOk(await t.agent.post('/per-route').set('Cookie', cookiesOf(jar)))
    })

    it('checks nothing without cookieCsrfProtect', async () => {
      const t = withRoutes(build({ cookieSet: true }))
      const { jar } = await login(t)
      expectOk(await t.agent.post('/action').set('Cookie', cookiesOf(jar)))
    })
  })

  describe('csrfCheckForm', () => {
    it('accepts the value in the csrf_token field of a urlencoded form', async () => {
      const t = withRoutes(csrfApp({ csrfCheckForm: true }))
      const { jar } = await login(t)
      const post = () => t.agent.post('/form').set('Cookie', cookiesOf(jar)).type('form')
      expectOk(await post().send({ csrf_token: jar.csrf_access_token!, other: 'x' }))
      expectCsrfError(await post().send({ csrf_token: 'wrong' }), CSRF_MISMATCH)
      expectCsrfError(await post().send({ other: 'x' }), MISSING_CSRF)
      // A repeated field cannot be the one value.
      expectCsrfError(await post().send(`csrf_token=${jar.csrf_access_token}&csrf_token=${jar.csrf_access_token}`), CSRF_MISMATCH)
    })

    it('accepts the value in a multipart form parsed before the guard', async () => {
      const t = withRoutes(csrfApp({ csrfCheckForm: true }))
      const { jar } = await login(t)
      expectOk(await t.agent.post('/form').set('Cookie', cookiesOf(jar)).field('csrf_token', jar.csrf_access_token!))
      expectCsrfError(await t.agent.post('/form').set('Cookie', cookiesOf(jar)).field('csrf_token', 'wrong'), CSRF_MISMATCH)
    })

    it('reads the field named by csrfFieldName', async () => {
      const t = withRoutes(csrfApp({ csrfCheckForm: true, csrfFieldName: '_csrf' }))
      const { jar } = await login(t)
      const post = () => t.agent.post('/form').set('Cookie', cookiesOf(jar)).type('form')
      expectCsrfError(await post().send({ csrf_token: jar.csrf_access_token! }), MISSING_CSRF)
      expectOk(await post().send({ _csrf: jar.csrf_access_token! }))
    })

    it('reads the header first', async () => {
      const t = withRoutes(csrfApp({ csrfCheckForm: true }))
      const { jar } = await login(t)
      const res = await t.agent
        .post('/form')
        .set('Cookie', cookiesOf(jar))
        .set('X-CSRF-Token', 'wrong')
        .type('form')
        .send({ csrf_token: jar.csrf_access_token! })
      expectCsrfError(res, CSRF_MISMATCH)
    })

    it('ignores the field of a JSON body: a JSON body is no form', async () => {
      const t = withRoutes(csrfApp({ csrfCheckForm: true }))
      const { jar } = await login(t)
      expectCsrfError(await t.agent.post('/form').set('Cookie', cookiesOf(jar)).send({ csrf_token: jar.csrf_access_token! }), MISSING_CSRF)
    })

    it('ignores the form field while csrfCheckForm is off (the default)', async () => {
      const t = withRoutes(csrfApp())
      const { jar } = await login(t)
      const res = await t.agent.post('/form').set('Cookie', cookiesOf(jar)).type('form').send({ csrf_token: jar.csrf_access_token! })
      expectCsrfError(res, MISSING_CSRF)
    })
  })

  describe('Responses#csrfErrorResponse()', () => {
    it('answers the failures when overridden', async () => {
      const seen: KoaJwtError[] = []
      class MyResponses extends Responses {
        override csrfErrorResponse(ctx: Context, error: KoaJwtError): void {
          seen.push(error)
          ctx.status = 403
          ctx.body = { msg: 'bad csrf' }
        }
      }
      const t = withRoutes(csrfApp({ responsesClass: MyResponses }))
      const { jar } = await login(t)
      const res = await t.agent.post('/action').set('Cookie', cookiesOf(jar))
      expect(res.status).to.equal(403)
      expect(res.body).to.deep.equal({ msg: 'bad csrf' })
      expect(seen).to.have.length(1)
      expect(seen[0]).to.be.instanceOf(CSRFError)
      expect(seen[0]!.reasons).to.deep.equal(MISSING_CSRF)
    })
  })
})

describe('CSRF double submit: settings at start-up', () => {
  const base = { secret: SECRET, authenticate: authenticateWith(makeUsers()) }
  const start = (options: Record<string, unknown>, env: Record<string, string> = {}) => {
    class EnvConfiguration extends Configuration {
      constructor(input: Record<string, unknown> = {}) {
        super(input, env)
      }
    }
    return new Initialize(new Koa(), { ...base, configurationClass: EnvConfiguration, ...options })
  }
  const refused = (options: Record<string, unknown>, pattern: RegExp): void => {
    expect(() => start(options)).to.throw(InvalidConfiguration, pattern)
  }

  it('has the documented defaults', () => {
    const jwt = start({})
    expect(jwt.config.get('cookieCsrfProtect')).to.equal(false)
    expect(jwt.config.get('csrfMethods')).to.deep.equal(['POST', 'PUT', 'PATCH', 'DELETE'])
    expect(jwt.config.get('csrfHeaderName')).to.equal('x-csrf-token')
    expect(jwt.config.get('csrfCheckForm')).to.equal(false)
    expect(jwt.config.get('csrfFieldName')).to.equal('csrf_token')
    expect(jwt.config.get('cookieCsrfAccessName')).to.equal('csrf_access_token')
    expect(jwt.config.get('cookieCsrfRefreshName')).to.equal('csrf_refresh_token')
  })

  it('upper-cases csrfMethods and drops repeats; reads a comma-separated preset', () => {
    expect(start({ csrfMethods: ['post', 'Put', 'POST'] }).config.get('csrfMethods')).to.deep.equal(['POST', 'PUT'])
    expect(start({}, { KOA_JWT_CSRF_METHODS: 'post, delete' }).config.get('csrfMethods')).to.deep.equal(['POST', 'DELETE'])
    expect(start({}, { KOA_JWT_COOKIE_CSRF_PROTECT: 'true' }).config.get('cookieCsrfProtect')).to.equal(true)
  })

  it('refuses a csrfMethods that is not a non-empty list of method names', () => {
    refused({ csrfMethods: [] }, /"csrfMethods" setting must be a non-empty list of HTTP method names/)
    refused({ csrfMethods: 'POST' }, /"csrfMethods" setting must be a non-empty list/)
    refused({ csrfMethods: ['POST', 'NOT A METHOD'] }, /"csrfMethods"/)
    refused({ csrfMethods: ['POST', 1] }, /"csrfMethods"/)
  })

  it('refuses OPTIONS in csrfMethods: preflight requests are never authenticated', () => {
    refused({ csrfMethods: ['POST', 'options'] }, /without OPTIONS/)
  })

  it('refuses names that cannot be a header, a cookie or a form field', () => {
    refused({ csrfHeaderName: 'x csrf' }, /"csrfHeaderName"/)
    refused({ csrfHeaderName: '' }, /"csrfHeaderName"/)
    refused({ cookieCsrfAccessName: 'csrf;token' }, /"cookieCsrfAccessName"/)
    refused({ cookieCsrfRefreshName: '' }, /"cookieCsrfRefreshName"/)
    refused({ csrfFieldName: '' }, /"csrfFieldName"/)
    refused({ cookieCsrfProtect: 'yes' }, /"cookieCsrfProtect"/)
    refused({ csrfCheckForm: 1 }, /"csrfCheckForm"/)
  })

  it('refuses CSRF cookie names that collide with a token cookie or with each other, while protection is on', () => {
    refused({ cookieCsrfProtect: true, cookieCsrfAccessName: 'access_token' }, /"cookieCsrfAccessName".*"cookieAccessTokenName"/)
    refused({ cookieCsrfProtect: true, cookieCsrfRefreshName: 'refresh_token' }, /"cookieCsrfRefreshName".*"cookieRefreshTokenName"/)
    refused({ cookieCsrfProtect: true, cookieSplit: true, cookieCsrfAccessName: 'access_token_signature' }, /"cookieSplitSignatureName"/)
    refused({ cookieCsrfProtect: true, cookieCsrfRefreshName: 'csrf_access_token' }, /"cookieCsrfRefreshName".*"cookieCsrfAccessName"/)
    expect(() => start({ cookieCsrfAccessName: 'access_token' })).not.to.throw()
  })

  it('accepts cookieCsrfProtect without cookieSet, and changes nothing then', async () => {
    const jwt = start({ cookieCsrfProtect: true })
    const token = await jwt.auth.generateAccessToken(makeUsers()[0]!)
    expect(payloadOf(token)).not.to.have.property('csrf')
  })
})

describe('CSRF double submit: the cookies a browser keeps', () => {
  it('replaces the CSRF cookie on each login', async () => {
    const t = csrfApp()
    const first = await login(t)
    const second = await t.agent.post('/auth').set('Cookie', cookiesOf(first.jar)).send({ username: 'user1', password: 'abcxyz' })
    const jar = keepCookies(second, first.jar)
    expect(jar.csrf_access_token).to.equal(cookieValue(second, 'csrf_access_token'))
    expect(jar.csrf_access_token).not.to.equal(first.jar.csrf_access_token)
  })
})
