import { expect } from 'chai'
import type { Context } from 'koa'

import { Configuration, InvalidConfiguration, type ProtectOptions } from '../../source'
import { refreshStore, type TestUser } from '../helpers/app'
import {
  EXPIRED_AFTER,
  REASONS,
  bearer,
  build,
  expectNoUnhandledErrors,
  expectUnauthorized,
  getAs,
  payloadOf,
  type OptionsApp,
} from '../helpers/options'

/** A promise and the function that resolves it. */
function gate(): { open: () => void; wait: Promise<void> } {
  let open = (): void => {}
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, wait }
}

describe('Configuration: get<Name>(ctx) getters', () => {
  afterEach(expectNoUnhandledErrors)

  /** The reference's example (§2.5): the header named by x-authorization-header has the token. */
  class HeaderConfiguration extends Configuration {
    static calls = 0

    getAuthorizationHeader(ctx: Context): string {
      HeaderConfiguration.calls++
      return ctx.get('x-authorization-header') || 'authorization'
    }
  }

  let t: OptionsApp
  let token: string
  let refreshToken: string
  beforeEach(async () => {
    HeaderConfiguration.calls = 0
    t = build({ configurationClass: HeaderConfiguration, ...refreshStore(new Map()) })
    const login = await t.login()
    token = login.access_token!
    refreshToken = login.refresh_token!
  })

  it('receives the request on a protected route (reference §2.5 example)', async () => {
    const res = await t.agent
      .get('/protected')
      .set('x-authorization-header', 'foobarbaz')
      .set('foobarbaz', bearer(token))
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    const fallback = await getAs(t, '/protected', token)
    expect(fallback.status).to.equal(200)
    const ignored = await t.agent
      .get('/protected')
      .set('x-authorization-header', 'foobarbaz')
      .set('Authorization', bearer(token))
    expectUnauthorized(ignored, 401, 'ERR_JWT_MISSING_HEADER', REASONS.missingHeader)
  })

  it('receives the request on /auth/verify (reference §7.2.10)', async () => {
    const res = await t.agent
      .get('/auth/verify')
      .set('x-authorization-header', 'foobarbaz')
      .set('foobarbaz', bearer(token))
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    expect(res.body).to.deep.equal({ valid: true })
  })

  it('receives the request on /auth/me and /auth/refresh', async () => {
    const me = await t.agent
      .get('/auth/me')
      .set('x-authorization-header', 'foobarbaz')
      .set('foobarbaz', bearer(token))
    expect(me.status, JSON.stringify(me.body)).to.equal(200)
    expect(me.body.me.user_id).to.equal(1)
    const refreshed = await t.agent
      .post('/auth/refresh')
      .set('x-authorization-header', 'foobarbaz')
      .set('foobarbaz', bearer(token))
      .send({ refresh_token: refreshToken })
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200)
  })

  it('receives the request in scoped() and injectUser()', async () => {
    const scoped = build({
      configurationClass: HeaderConfiguration,
      addScopesToPayload: () => ['user'],
    })
    const scopedToken = (await scoped.login()).access_token!
    const ok = await scoped.agent
      .get('/scoped/user')
      .set('x-authorization-header', 'foobarbaz')
      .set('foobarbaz', bearer(scopedToken))
    expect(ok.status).to.equal(200)
    const injected = await scoped.agent
      .get('/me/injected')
      .set('x-authorization-header', 'foobarbaz')
      .set('foobarbaz', bearer(scopedToken))
    expect(injected.status).to.equal(200)
    expect(injected.body.user.user_id).to.equal(1)
  })

  for (const [name, path, valid] of [
    ['a protected route', '/protected', true],
    ['/auth/verify', '/auth/verify', true],
    ['/auth/me', '/auth/me', true],
    ['a failing protected route', '/protected', false],
  ] as const) {
    it(`runs at most once per request on ${name}`, async () => {
      HeaderConfiguration.calls = 0
      const send = () => getAs(t, path, valid ? token : 'garbage')
      expect((await send()).status).to.equal(valid ? 200 : 401)
      expect(HeaderConfiguration.calls).to.equal(1)
      await send()
      expect(HeaderConfiguration.calls).to.equal(2)
    })
  }

  it('runs at most once per request on /auth/refresh (protected, then reads the refresh token)', async () => {
    HeaderConfiguration.calls = 0
    const res = await t.agent
      .post('/auth/refresh')
      .set('Authorization', bearer(token))
      .send({ refresh_token: refreshToken })
    expect(res.status).to.equal(200)
    expect(HeaderConfiguration.calls).to.equal(1)
  })

  it('keeps the value of each concurrent request to that request', async () => {
    // Even requests carry the token in the header they name, odd ones in Authorization.
    const requests = Array.from({ length: 6 }, (_, i) =>
      t.agent
        .get('/protected')
        .set('x-authorization-header', `h${i}`)
        .set(i % 2 === 0 ? `h${i}` : 'Authorization', bearer(token)),
    )
    const results = await Promise.all(requests)
    expect(results.map((res) => res.status)).to.deep.equal([200, 401, 200, 401, 200, 401])
  })

  it('receives the request on POST /auth (reference §7.2.10)', async () => {
    class NamedConfiguration extends Configuration {
      getAccessTokenName(ctx: Context): string {
        return ctx.get('x-token-name') || 'access_token'
      }

      getExpirationDelta(ctx: Context): number | undefined {
        const asked = ctx.get('x-lifetime')
        return asked ? Number(asked) : undefined
      }
    }
    const named = build({ configurationClass: NamedConfiguration })
    const res = await named.agent
      .post('/auth')
      .set('x-token-name', 'jwt')
      .set('x-lifetime', '60')
      .send({ username: 'user1', password: 'abcxyz' })
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    expect(Object.keys(res.body)).to.deep.equal(['jwt'])
    expect(payloadOf(res.body.jwt).exp).to.equal(named.clock.now + 60)
    const plain = await named.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expect(Object.keys(plain.body)).to.deep.equal(['access_token'])
    expect(payloadOf(plain.body.access_token).exp).to.equal(named.clock.now + 1800)
  })

  it('can switch cookie mode per request on /auth and on protected routes', async () => {
    class CookieConfiguration extends Configuration {
      getCookieSet(ctx: Context): boolean {
        return ctx.get('x-use-cookies') === 'yes'
      }
    }
    const c = build({ configurationClass: CookieConfiguration })
    const withCookies = await c.agent
      .post('/auth')
      .set('x-use-cookies', 'yes')
      .send({ username: 'user1', password: 'abcxyz' })
    expect(withCookies.status).to.equal(200)
    expect(withCookies.headers['set-cookie']).to.deep.equal([
      `access_token=${withCookies.body.access_token}; path=/; samesite=lax; httponly`,
    ])
    const without = await c.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expect(without.headers['set-cookie']).to.equal(undefined)
    const byCookie = await c.agent
      .get('/protected')
      .set('x-use-cookies', 'yes')
      .set('Cookie', `access_token=${withCookies.body.access_token}`)
    expect(byCookie.status).to.equal(200)
    const byHeader = await getAs(c, '/protected', without.body.access_token)
    expect(byHeader.status).to.equal(200)
  })

  it('is not run without a request: config.get(name) returns the stored value', () => {
    HeaderConfiguration.calls = 0
    expect(t.jwt.config.get('authorizationHeader')).to.equal('authorization')
    expect(HeaderConfiguration.calls).to.equal(0)
  })
})

describe('per-route overrides', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  let token: string
  beforeEach(async () => {
    t = build()
    token = (await t.login()).access_token!
  })

  it('protected({ verifyExp: false }) accepts an expired token on that route only', async () => {
    t.router.get('/lenient', t.jwt.protected({ verifyExp: false }), (ctx) => {
      ctx.body = { verifyExp: t.jwt.config.get('verifyExp', ctx) }
    })
    t.clock.now += EXPIRED_AFTER
    const lenient = await getAs(t, '/lenient', token)
    expect(lenient.status).to.equal(200)
    // Visible to later code in the same request.
    expect(lenient.body).to.deep.equal({ verifyExp: false })
    const strict = await getAs(t, '/protected', token)
    expectUnauthorized(strict, 401, 'ERR_JWT_EXPIRED', REASONS.expired)
    expect(t.jwt.config.get('verifyExp')).to.equal(true)
  })

  it("protected({ authorizationHeader: 'x-token' }) reads that header", async () => {
    t.router.get('/x-token', t.jwt.protected({ authorizationHeader: 'x-token' }), (ctx) => {
      ctx.body = { ok: true }
    })
    expect((await t.agent.get('/x-token').set('x-token', bearer(token))).status).to.equal(200)
    const other = await getAs(t, '/x-token', token)
    expectUnauthorized(other, 401, 'ERR_JWT_MISSING_HEADER')
    const plain = await t.agent.get('/protected').set('x-token', bearer(token))
    expectUnauthorized(plain, 401, 'ERR_JWT_MISSING_HEADER')
  })

  it('never leak to concurrent requests', async () => {
    const hold = gate()
    const entered = gate()
    const slowGuard = t.jwt.protected({ authorizationHeader: 'x-token', verifyExp: false })
    t.router.get('/slow', slowGuard, async (ctx) => {
      entered.open()
      await hold.wait
      ctx.body = { header: t.jwt.config.get('authorizationHeader', ctx) }
    })
    t.router.get('/peek', t.jwt.protected(), (ctx) => {
      ctx.body = {
        header: t.jwt.config.get('authorizationHeader', ctx),
        verifyExp: t.jwt.config.get('verifyExp', ctx),
      }
    })
    const slow = t.agent.get('/slow').set('x-token', bearer(token)).then((res) => res)
    await entered.wait
    const peek = await getAs(t, '/peek', token)
    expect(peek.status).to.equal(200)
    expect(peek.body).to.deep.equal({ header: 'authorization', verifyExp: true })
    hold.open()
    const slowRes = await slow
    expect(slowRes.status).to.equal(200)
    expect(slowRes.body).to.deep.equal({ header: 'x-token' })
  })

  it('stack: an inner route middleware does not clear the outer one (reference §7.2.9)', async () => {
    const scopedApp = build({ addScopesToPayload: () => ['user'] })
    const scopedToken = (await scopedApp.login()).access_token!
    const config = scopedApp.jwt.config
    scopedApp.router.get(
      '/nested',
      scopedApp.jwt.protected({ authorizationHeader: 'x-token' }),
      async (ctx, next) => {
        await next()
        ctx.body = { ...(ctx.body as object), afterInner: config.get('authorizationHeader', ctx) }
      },
      scopedApp.jwt.scoped('user', { authorizationHeader: 'x-token', debug: true }),
      (ctx) => {
        ctx.body = { inner: [config.get('authorizationHeader', ctx), config.get('debug', ctx)] }
      },
    )
    const res = await scopedApp.agent.get('/nested').set('x-token', bearer(scopedToken))
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    expect(res.body).to.deep.equal({ inner: ['x-token', true], afterInner: 'x-token' })
  })

  it('are validated when the route is declared', () => {
    const invalid = (options: Record<string, unknown>): ProtectOptions => options as ProtectOptions
    expect(() => t.jwt.protected(invalid({ leeway: 'soon' }))).to.throw(
      InvalidConfiguration,
      /leeway/,
    )
    expect(() => t.jwt.protected(invalid({ notASetting: true }))).to.throw(
      InvalidConfiguration,
      /notASetting/,
    )
    expect(() => t.jwt.scoped('user', invalid({ cookieSamesite: 'Sometimes' }))).to.throw(
      InvalidConfiguration,
      /cookieSamesite/,
    )
  })

  it('accept aliases (reference §7.2.7)', async () => {
    const cookies = build({ cookieSet: true, cookieStrict: false })
    cookies.router.get('/aliased', cookies.jwt.protected({ cookieTokenName: 'other' }), (ctx) => {
      ctx.body = { name: cookies.jwt.config.get('cookieAccessTokenName', ctx) }
    })
    const res = await cookies.agent.get('/aliased').set('Cookie', `other=${token}`)
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ name: 'other' })
  })
})

describe('Authentication#override()', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  const user = (): TestUser => t.users[0]!
  beforeEach(() => {
    t = build()
    t.router.get('/short-token', async (ctx) => {
      const token = await t.jwt.auth.override({ expirationDelta: 5 }, () =>
        t.jwt.auth.generateAccessToken(user()),
      )
      ctx.body = { token }
    })
  })

  it('changes a setting for the function only (reference §2.6 docs example)', async () => {
    const res = await t.agent.get('/short-token')
    expect(res.status).to.equal(200)
    expect(payloadOf(res.body.token).exp).to.equal(t.clock.now + 5)
    expect(t.jwt.config.get('expirationDelta')).to.equal(1800)
    const login = await t.login()
    expect(payloadOf(login.access_token!).exp).to.equal(t.clock.now + 1800)
  })

  it('returns what the function returns and sees the value inside', () => {
    const config = t.jwt.config
    const seen = t.jwt.auth.override({ expirationDelta: 5 }, () => config.get('expirationDelta'))
    expect(seen).to.equal(5)
    expect(t.jwt.config.get('expirationDelta')).to.equal(1800)
  })

  it('is exception safe (reference §7.2.9)', async () => {
    expect(() =>
      t.jwt.auth.override({ expirationDelta: 5 }, () => {
        throw new Error('boom')
      }),
    ).to.throw('boom')
    expect(t.jwt.config.get('expirationDelta')).to.equal(1800)
    let rejected: unknown
    await t.jwt.auth
      .override({ expirationDelta: 5 }, async () => {
        await Promise.resolve()
        throw new Error('async boom')
      })
      .catch((error: unknown) => {
        rejected = error
      })
    expect((rejected as Error).message).to.equal('async boom')
    expect(t.jwt.config.get('expirationDelta')).to.equal(1800)
    const login = await t.login()
    expect(payloadOf(login.access_token!).exp).to.equal(t.clock.now + 1800)
  })

  it('is invisible to concurrent requests (reference §7.2.9)', async () => {
    const hold = gate()
    const inside = t.jwt.auth.override({ expirationDelta: 5 }, async () => {
      await hold.wait
      return t.jwt.auth.generateAccessToken(user())
    })
    const login = await t.login()
    expect(payloadOf(login.access_token!).exp).to.equal(t.clock.now + 1800)
    hold.open()
    expect(payloadOf(await inside).exp).to.equal(t.clock.now + 5)
  })

  it('nests, the inner value winning until the inner function ends', () => {
    const values = t.jwt.auth.override({ expirationDelta: 5, leeway: 1 }, () => {
      const inner = t.jwt.auth.override({ expirationDelta: 10 }, () => [
        t.jwt.config.get('expirationDelta'),
        t.jwt.config.get('leeway'),
      ])
      return [...inner, t.jwt.config.get('expirationDelta')]
    })
    expect(values).to.deep.equal([10, 1, 5])
  })

  it('beats get<Name>(ctx) getters and per-route overrides', async () => {
    class LifetimeConfiguration extends Configuration {
      getExpirationDelta(): number {
        return 60
      }
    }
    const g = build({ configurationClass: LifetimeConfiguration })
    g.router.get('/overridden', g.jwt.protected({ expirationDelta: 120 }), async (ctx) => {
      const routeValue = g.jwt.config.get('expirationDelta', ctx)
      const token = await g.jwt.auth.override({ expirationDelta: 5 }, () =>
        g.jwt.auth.generateAccessToken(g.users[0]!, { ctx }),
      )
      ctx.body = { routeValue, exp: payloadOf(token).exp }
    })
    const login = await g.login()
    expect(payloadOf(login.access_token!).exp).to.equal(g.clock.now + 60)
    const res = await getAs(g, '/overridden', login.access_token!)
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    expect(res.body).to.deep.equal({ routeValue: 120, exp: g.clock.now + 5 })
  })
})
