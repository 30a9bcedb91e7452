import { expect } from 'chai'
import type { Context } from 'koa'

import type { JwtMiddleware } from '../../source'
import {
  EXPIRED_AFTER,
  build,
  expectNoUnhandledErrors,
  expectUnauthorized,
  getAs,
  tamper,
  type OptionsApp,
} from '../helpers/options'

function route(t: OptionsApp, path: string, middleware: JwtMiddleware): void {
  t.router.get(path, middleware, (ctx: Context) => {
    ctx.body = { reached: path, jwt: ctx.state.jwt ?? null }
  })
}

const scopesOf = (user: { scopes?: string[] }): string[] => user.scopes ?? []

describe('option: doProtection', () => {
  afterEach(expectNoUnhandledErrors)

  it('false lets every request through protected() (reference §7.2.19)', async () => {
    const t = build({ doProtection: false })
    expect((await t.agent.get('/protected')).status).to.equal(200)
    expect((await getAs(t, '/protected', 'garbage')).status).to.equal(200)
    expect((await getAs(t, '/protected', 'a b')).status).to.equal(200)
  })

  it('false lets every request through scoped(), with or without matching scopes (reference §7.2.19)', async () => {
    const t = build({ doProtection: false, addScopesToPayload: scopesOf })
    const anonymous = await t.agent.get('/scoped/admin')
    expect(anonymous.status).to.equal(200)
    expect(anonymous.body).to.deep.equal({ scoped: 'admin' })
    const token = (await t.login('user1')).access_token!
    const wrongScope = await getAs(t, '/scoped/admin', token)
    expect(wrongScope.status).to.equal(200)
    const expired = await getAs(t, '/scoped/admin', tamper(token))
    expect(expired.status).to.equal(200)
  })

  it('false as a per-route override affects that route only', async () => {
    const t = build({ addScopesToPayload: scopesOf })
    route(t, '/open', t.jwt.protected({ doProtection: false }))
    route(t, '/open-scoped', t.jwt.scoped('admin', { doProtection: false }))
    expect((await t.agent.get('/open')).status).to.equal(200)
    expect((await t.agent.get('/open-scoped')).status).to.equal(200)
    expectUnauthorized(await t.agent.get('/protected'), 401, 'ERR_JWT_MISSING_HEADER')
    expectUnauthorized(await t.agent.get('/scoped/admin'), 401, 'ERR_JWT_MISSING_HEADER')
  })

  it('can be switched at run time with config.set()', async () => {
    const t = build()
    expectUnauthorized(await t.agent.get('/protected'), 401, 'ERR_JWT_MISSING_HEADER')
    t.jwt.config.set('doProtection', false)
    expect((await t.agent.get('/protected')).status).to.equal(200)
    t.jwt.config.set('doProtection', true)
    expectUnauthorized(await t.agent.get('/protected'), 401, 'ERR_JWT_MISSING_HEADER')
  })
})

describe('option: redirectOnFail', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  let token: string
  beforeEach(async () => {
    t = build({ addScopesToPayload: scopesOf })
    route(t, '/page', t.jwt.protected({ redirectOnFail: true }))
    const toLogin = { redirectOnFail: true, redirectUrl: '/login?next=page' }
    route(t, '/page-custom', t.jwt.protected(toLogin))
    route(t, '/admin-page', t.jwt.scoped('admin', { redirectOnFail: true }))
    const toDenied = { redirectOnFail: true, redirectUrl: '/denied' }
    route(t, '/admin-page-custom', t.jwt.scoped('admin', toDenied))
    token = (await t.login('user1')).access_token!
  })

  function expectRedirect(
    res: { status: number; headers: Record<string, string> },
    location: string,
  ): void {
    expect(res.status).to.equal(302)
    expect(res.headers.location).to.equal(location)
  }

  describe('on protected()', () => {
    it('redirects (302) to loginRedirectUrl (default /index.html) without a token', async () => {
      expectRedirect(await t.agent.get('/page'), '/index.html')
    })

    it('redirects for a bad, garbage or expired token and a malformed header', async () => {
      expectRedirect(await getAs(t, '/page', tamper(token)), '/index.html')
      expectRedirect(await getAs(t, '/page', 'garbage'), '/index.html')
      expectRedirect(await getAs(t, '/page', 'a b'), '/index.html')
      t.clock.now += EXPIRED_AFTER
      expectRedirect(await getAs(t, '/page', token), '/index.html')
    })

    it('redirects to redirectUrl when given', async () => {
      expectRedirect(await t.agent.get('/page-custom'), '/login?next=page')
    })

    it('redirects to the loginRedirectUrl setting', async () => {
      const custom = build({ loginRedirectUrl: '/signin' })
      route(custom, '/page', custom.jwt.protected({ redirectOnFail: true }))
      expectRedirect(await custom.agent.get('/page'), '/signin')
    })

    it('lets a valid token through', async () => {
      const res = await getAs(t, '/page', token)
      expect(res.status).to.equal(200)
      expect(res.body.reached).to.equal('/page')
    })

    it('does not redirect on routes without it', async () => {
      expectUnauthorized(await t.agent.get('/protected'), 401, 'ERR_JWT_MISSING_HEADER')
    })

    it('does not redirect errors thrown by the route handler after a successful check', async () => {
      t.router.get('/page-throws', t.jwt.protected({ redirectOnFail: true }), () => {
        const error = new Error('teapot') as Error & { status: number; expose: boolean }
        error.status = 418
        error.expose = true
        throw error
      })
      const res = await getAs(t, '/page-throws', token)
      expect(res.status).to.equal(418)
    })
  })

  describe('on scoped() (reference §7.2.11)', () => {
    it('redirects (302) to loginRedirectUrl without a token', async () => {
      expectRedirect(await t.agent.get('/admin-page'), '/index.html')
    })

    it('redirects for a bad token', async () => {
      expectRedirect(await getAs(t, '/admin-page', tamper(token)), '/index.html')
    })

    it('redirects when the scopes do not match', async () => {
      expectRedirect(await getAs(t, '/admin-page', token), '/index.html')
    })

    it('redirects to redirectUrl when given', async () => {
      expectRedirect(await getAs(t, '/admin-page-custom', token), '/denied')
      expectRedirect(await t.agent.get('/admin-page-custom'), '/denied')
    })

    it('lets a token with the scope through', async () => {
      const admin = (await t.login('user2')).access_token!
      const res = await getAs(t, '/admin-page', admin)
      expect(res.status).to.equal(200)
      expect(res.body.reached).to.equal('/admin-page')
    })
  })

  it('with doProtection false, nothing is redirected', async () => {
    t.jwt.config.set('doProtection', false)
    expect((await t.agent.get('/page')).status).to.equal(200)
    expect((await t.agent.get('/admin-page')).status).to.equal(200)
  })
})
