import { expect } from 'chai'
import type { Context } from 'koa'

import { Authentication, InvalidConfiguration } from '../../source'
import { refreshStore, type TestUser } from '../helpers/app'
import {
  bearer,
  build,
  expectError,
  expectNoUnhandledErrors,
  expectUnauthorized,
  getAs,
  type OptionsApp,
} from '../helpers/options'

const MISSING = ['Authorization header not present.']
const INVALID = ['Authorization header is invalid.']

describe('option: authorizationHeader', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  let token: string
  let refreshToken: string
  beforeEach(async () => {
    t = build({ authorizationHeader: 'somecustomheader', ...refreshStore(new Map()) })
    const login = await t.login()
    token = login.access_token!
    refreshToken = login.refresh_token!
  })

  it('reads the token from the named header', async () => {
    const res = await t.agent.get('/protected').set('somecustomheader', bearer(token))
    expect(res.status).to.equal(200)
  })

  it('matches the header name case-insensitively', async () => {
    const res = await t.agent.get('/protected').set('SomeCustomHeader', bearer(token))
    expect(res.status).to.equal(200)
  })

  it('ignores the Authorization header', async () => {
    const res = await getAs(t, '/protected', token)
    expectUnauthorized(res, 401, 'ERR_JWT_MISSING_HEADER', MISSING)
  })

  it('is refused at start-up when it is not a valid header name (CONVENTIONS §5)', () => {
    for (const authorizationHeader of ['x token', '']) {
      expect(() => build({ authorizationHeader })).to.throw(
        InvalidConfiguration,
        /authorizationHeader/,
      )
    }
  })

  it('applies to /auth/verify, /auth/me and /auth/refresh', async () => {
    const verify = await t.agent.get('/auth/verify').set('somecustomheader', bearer(token))
    expect(verify.body).to.deep.equal({ valid: true })
    const me = await t.agent.get('/auth/me').set('somecustomheader', bearer(token))
    expect(me.status).to.equal(200)
    expect(me.body.me.user_id).to.equal(1)
    const refreshed = await t.agent
      .post('/auth/refresh')
      .set('somecustomheader', bearer(token))
      .send({ refresh_token: refreshToken })
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200)
    const refused = await t.agent
      .post('/auth/refresh')
      .set('Authorization', bearer(token))
      .send({ refresh_token: refreshToken })
    expectUnauthorized(refused, 401, 'ERR_JWT_MISSING_HEADER', MISSING)
  })
})

describe('option: authorizationHeaderPrefix', () => {
  afterEach(expectNoUnhandledErrors)

  describe("'' (the whole header value is the token)", () => {
    let t: OptionsApp
    let token: string
    beforeEach(async () => {
      t = build({ authorizationHeaderPrefix: '' })
      token = (await t.login()).access_token!
    })

    it('accepts the bare token', async () => {
      const res = await t.agent.get('/protected').set('Authorization', token)
      expect(res.status).to.equal(200)
    })

    it('refuses "Bearer <token>" (the whole value is not a token) with 401', async () => {
      const res = await getAs(t, '/protected', token)
      expect(res.status).to.equal(401)
      expect(res.body.exception).to.equal('Unauthorized')
      expect(res.body.code).to.be.oneOf(['ERR_JWT_INVALID_HEADER', 'ERR_JWT_INVALID_TOKEN'])
    })

    it('works on /auth/verify', async () => {
      const res = await t.agent.get('/auth/verify').set('Authorization', token)
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ valid: true })
    })
  })

  describe("another scheme ('JWT')", () => {
    let t: OptionsApp
    let token: string
    beforeEach(async () => {
      t = build({ authorizationHeaderPrefix: 'JWT' })
      token = (await t.login()).access_token!
    })

    it('accepts "JWT <token>"', async () => {
      const res = await t.agent.get('/protected').set('Authorization', `JWT ${token}`)
      expect(res.status).to.equal(200)
    })

    it('matches the scheme case-insensitively and allows several spaces or a tab', async () => {
      for (const value of [`jwt ${token}`, `JWT   ${token}`, `JWT\t${token}`]) {
        const res = await t.agent.get('/protected').set('Authorization', value)
        expect(res.status, JSON.stringify(value)).to.equal(200)
      }
    })

    it('refuses "Bearer <token>" with 401 ERR_JWT_INVALID_HEADER', async () => {
      const res = await getAs(t, '/protected', token)
      expectUnauthorized(res, 401, 'ERR_JWT_INVALID_HEADER', INVALID)
    })

    it('refuses "JWTx <token>" (no separator) with 401 ERR_JWT_INVALID_HEADER', async () => {
      const res = await t.agent.get('/protected').set('Authorization', `JWTx ${token}`)
      expectUnauthorized(res, 401, 'ERR_JWT_INVALID_HEADER', INVALID)
    })

    it('treats "JWT" with nothing after it as a missing token (sanic-jwt #143)', async () => {
      const res = await t.agent.get('/protected').set('Authorization', 'JWT')
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_HEADER', MISSING)
    })

    it('makes /auth/verify answer 400 InvalidAuthorizationHeader for "Bearer <token>"', async () => {
      const res = await getAs(t, '/auth/verify', token)
      expectError(res, 400, 'InvalidAuthorizationHeader', 'ERR_JWT_INVALID_HEADER', INVALID)
    })
  })

  it('combines with authorizationHeader (sanic-jwt docs 8.2.1)', async () => {
    const t = build({
      authorizationHeader: 'somecustomheader',
      authorizationHeaderPrefix: 'MeFirst',
    })
    const token = (await t.login()).access_token!
    const res = await t.agent.get('/auth/me').set('somecustomheader', `MeFirst ${token}`)
    expect(res.status).to.equal(200)
    expect(res.body.me.user_id).to.equal(1)
  })
})

describe('Authorization header parsing (default Bearer)', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  let token: string
  beforeEach(async () => {
    t = build()
    token = (await t.login()).access_token!
  })

  it('returns 401 ERR_JWT_INVALID_HEADER for a token with inner whitespace', async () => {
    const res = await t.agent.get('/protected').set('Authorization', `Bearer ${token} extra`)
    expectUnauthorized(res, 401, 'ERR_JWT_INVALID_HEADER', INVALID)
  })

  it('returns 401 ERR_JWT_MISSING_HEADER for "Bearer" alone (sanic-jwt #143)', async () => {
    const res = await t.agent.get('/protected').set('Authorization', 'Bearer')
    expectUnauthorized(res, 401, 'ERR_JWT_MISSING_HEADER', MISSING)
  })

  it('accepts a lower-case scheme', async () => {
    const res = await t.agent.get('/protected').set('Authorization', `bearer ${token}`)
    expect(res.status).to.equal(200)
  })
})

// The request path reads a header token without scanning it for whitespace and makes the scan only
// when verification fails (no token with whitespace verifies). These pin that every request still
// gets the answer of the full check, on each path a verification can take.
describe('Authorization header: whitespace inside the token, checked when verification fails', () => {
  afterEach(expectNoUnhandledErrors)

  const spaced = (token: string): string => `${token.slice(0, 20)} ${token.slice(20)}`

  it('answers 401 ERR_JWT_INVALID_HEADER on the asynchronous path (extraVerifications)', async () => {
    const t = build({ extraVerifications: [async () => true] })
    const token = (await t.login()).access_token!
    expect((await getAs(t, '/protected', token)).status).to.equal(200)
    const res = await t.agent.get('/protected').set('Authorization', bearer(spaced(token)))
    expectUnauthorized(res, 401, 'ERR_JWT_INVALID_HEADER', INVALID)
  })

  it('answers 401 ERR_JWT_INVALID_HEADER with per-user secrets (retrieveUserSecret)', async () => {
    const t = build({ retrieveUserSecret: () => 'a-per-user-secret-that-is-long-enough' })
    const token = (await t.login()).access_token!
    expect((await getAs(t, '/protected', token)).status).to.equal(200)
    const res = await t.agent.get('/protected').set('Authorization', bearer(spaced(token)))
    expectUnauthorized(res, 401, 'ERR_JWT_INVALID_HEADER', INVALID)
  })

  it('answers 400 InvalidAuthorizationHeader in debug mode', async () => {
    const t = build({ debug: true })
    const token = (await t.login()).access_token!
    const res = await t.agent.get('/protected').set('Authorization', bearer(spaced(token)))
    expectError(res, 400, 'Unauthorized', 'ERR_JWT_INVALID_HEADER', INVALID)
  })

  it('answers ERR_JWT_INVALID_HEADER for whitespace other than a space (a tab)', async () => {
    const t = build()
    const token = (await t.login()).access_token!
    const res = await t.agent.get('/protected').set('Authorization', `Bearer ${token.slice(0, 20)}\t${token.slice(20)}`)
    expectUnauthorized(res, 401, 'ERR_JWT_INVALID_HEADER', INVALID)
  })

  it('keeps the token error, not the header error, without a scheme (authorizationHeaderPrefix: "")', async () => {
    const t = build({ authorizationHeaderPrefix: '' })
    const token = (await t.login()).access_token!
    expect((await t.agent.get('/protected').set('Authorization', token)).status).to.equal(200)
    const res = await t.agent.get('/protected').set('Authorization', spaced(token))
    expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN')
  })

  it('keeps the token error for a cookie token with whitespace (only header tokens are checked)', async () => {
    const t = build({ cookieSet: true })
    const token = (await t.login()).access_token!
    const res = await t.agent.get('/protected').set('Cookie', `access_token=${encodeURIComponent(spaced(token))}`)
    expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN')
  })

  it('goes through an overridden Authentication#extractToken, whose check is its own', async () => {
    const seen: string[] = []
    const t = build({
      authenticationClass: class extends Authentication<TestUser> {
        override extractToken(ctx: Context, options?: { refresh?: boolean }): string {
          const token = super.extractToken(ctx, options)
          seen.push(token)
          return token
        }
      },
    })
    const token = (await t.login()).access_token!
    expect((await getAs(t, '/protected', token)).status).to.equal(200)
    expect(seen).to.deep.equal([token])
    const res = await t.agent.get('/protected').set('Authorization', bearer(spaced(token)))
    expectUnauthorized(res, 401, 'ERR_JWT_INVALID_HEADER', INVALID)
    expect(seen).to.have.length(1)
  })
})
