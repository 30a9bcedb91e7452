import { expect } from 'chai'

import { refreshStore } from '../helpers/app'
import {
  REASONS,
  build,
  cookieHeader,
  expectNoUnhandledErrors,
  expectUnauthorized,
  halves,
  setCookies,
  type OptionsApp,
} from '../helpers/options'

async function login(t: OptionsApp, username = 'user1') {
  const res = await t.agent.post('/auth').send({ username, password: 'abcxyz' })
  expect(res.status, JSON.stringify(res.body)).to.equal(200)
  return res
}

const splitCookies = (headerPayload: string, signature: string): string =>
  cookieHeader({ access_token: headerPayload, access_token_signature: signature })

describe('option: cookieSplit', () => {
  afterEach(expectNoUnhandledErrors)

  it('makes /auth set header.payload without httponly, then the signature with httponly', async () => {
    const t = build({ cookieSet: true, cookieSplit: true })
    const res = await login(t)
    const token = res.body.access_token as string
    const { headerPayload, signature } = halves(token)
    expect(headerPayload.split('.')).to.have.length(2)
    expect(signature).to.not.include('.')
    expect(setCookies(res)).to.deep.equal([
      `access_token=${headerPayload}; path=/; samesite=lax`,
      `access_token_signature=${signature}; path=/; samesite=lax; httponly`,
    ])
  })

  it('keeps the whole token in the body', async () => {
    const t = build({ cookieSet: true, cookieSplit: true })
    const res = await login(t)
    expect(Object.keys(res.body)).to.deep.equal(['access_token'])
    expect((res.body.access_token as string).split('.')).to.have.length(3)
  })

  it('accepts the splitCookie alias', async () => {
    const t = build({ cookieSet: true, splitCookie: true })
    expect(t.jwt.config.get('cookieSplit')).to.equal(true)
    const res = await login(t)
    const { headerPayload, signature } = halves(res.body.access_token)
    expect(setCookies(res)).to.deep.equal([
      `access_token=${headerPayload}; path=/; samesite=lax`,
      `access_token_signature=${signature}; path=/; samesite=lax; httponly`,
    ])
  })

  it('forces httponly off and on whatever cookieHttponly says', async () => {
    const t = build({ cookieSet: true, cookieSplit: true, cookieHttponly: false })
    const res = await login(t)
    const { headerPayload, signature } = halves(res.body.access_token)
    expect(setCookies(res)).to.deep.equal([
      `access_token=${headerPayload}; path=/; samesite=lax`,
      `access_token_signature=${signature}; path=/; samesite=lax; httponly`,
    ])
  })

  it('uses cookieAccessTokenName and cookieSplitSignatureName, with the other attributes on both', async () => {
    const t = build({
      cookieSet: true,
      cookieSplit: true,
      cookieAccessTokenName: 'token-header-payload',
      cookieSplitSignatureName: 'token-signature',
      cookieDomain: 'example.com',
      cookieSecure: true,
    })
    const res = await login(t)
    const { headerPayload, signature } = halves(res.body.access_token)
    expect(setCookies(res)).to.deep.equal([
      `token-header-payload=${headerPayload}; path=/; domain=example.com; samesite=lax; secure`,
      `token-signature=${signature}; path=/; domain=example.com; samesite=lax; secure; httponly`,
    ])
    const ok = await t.agent
      .get('/protected')
      .set(
        'Cookie',
        cookieHeader({ 'token-header-payload': headerPayload, 'token-signature': signature }),
      )
    expect(ok.status).to.equal(200)
  })

  it('sets the refresh cookie (whole, httponly) after the two access cookies', async () => {
    const t = build({ cookieSet: true, cookieSplit: true, ...refreshStore(new Map()) })
    const res = await login(t)
    const { headerPayload, signature } = halves(res.body.access_token)
    expect(setCookies(res)).to.deep.equal([
      `access_token=${headerPayload}; path=/; samesite=lax`,
      `access_token_signature=${signature}; path=/; samesite=lax; httponly`,
      `refresh_token=${res.body.refresh_token}; path=/; samesite=lax; httponly`,
    ])
  })

  describe('protected routes', () => {
    let t: OptionsApp
    beforeEach(() => {
      t = build({ cookieSet: true, cookieSplit: true })
    })

    it('accept the two halves', async () => {
      const { headerPayload, signature } = halves((await login(t)).body.access_token)
      const res = await t.agent
        .get('/protected')
        .set('Cookie', splitCookies(headerPayload, signature))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ protected: true })
    })

    it('refuse halves of two different tokens with 401 ERR_JWT_INVALID_TOKEN', async () => {
      const one = halves((await login(t, 'user1')).body.access_token)
      const two = halves((await login(t, 'user2')).body.access_token)
      expect(one.signature).to.not.equal(two.signature)
      const res = await t.agent
        .get('/protected')
        .set(
          'Cookie',
          cookieHeader({ access_token: one.headerPayload, access_token_signature: two.signature }),
        )
      expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
    })

    it('refuse a missing signature cookie with 401', async () => {
      const { headerPayload } = halves((await login(t)).body.access_token)
      const res = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ access_token: headerPayload }))
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_COOKIE', REASONS.missingCookie)
    })

    it('refuse a missing header.payload cookie with 401', async () => {
      const { signature } = halves((await login(t)).body.access_token)
      const res = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ access_token_signature: signature }))
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_COOKIE', REASONS.missingCookie)
    })

    it('refuse the whole token in the first cookie without the signature cookie', async () => {
      const token = (await login(t)).body.access_token as string
      const res = await t.agent
        .get('/protected')
        .set('Cookie', cookieHeader({ access_token: token }))
      expect(res.status).to.equal(401)
      expect(res.body.exception).to.equal('Unauthorized')
    })

    it('work with /auth/verify', async () => {
      const { headerPayload, signature } = halves((await login(t)).body.access_token)
      const res = await t.agent
        .get('/auth/verify')
        .set('Cookie', splitCookies(headerPayload, signature))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ valid: true })
    })
  })

  it('makes /auth/refresh re-set both access halves, in order', async () => {
    const t = build({ cookieSet: true, cookieSplit: true, ...refreshStore(new Map()) })
    const login1 = await login(t)
    const { headerPayload, signature } = halves(login1.body.access_token)
    t.clock.now += 60
    const res = await t.agent.post('/auth/refresh').set(
      'Cookie',
      cookieHeader({
        access_token: headerPayload,
        access_token_signature: signature,
        refresh_token: login1.body.refresh_token,
      }),
    )
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    const fresh = halves(res.body.access_token)
    expect(setCookies(res)).to.deep.equal([
      `access_token=${fresh.headerPayload}; path=/; samesite=lax`,
      `access_token_signature=${fresh.signature}; path=/; samesite=lax; httponly`,
    ])
  })
})
