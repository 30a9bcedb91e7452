import Router from '@koa/router'
import { expect } from 'chai'
import Koa from 'koa'
import request from 'supertest'

import * as kit from '../../source'
import { AuthenticationFailed, Claim, Initialize, InvalidConfiguration, type JwtPayload } from '../../source'
import { authenticateWith, buildApp, makeClock, makeUsers, SECRET, type TestUser } from '../helpers/app'
import { bearer, expectError, randomDelay, signRaw, unsignedToken } from '../helpers/initialize'

const OTHER_SECRET = 'another-secret-that-is-long-enough'

class UsernameClaim extends Claim<TestUser> {
  key = 'username'
  setup(_payload: JwtPayload, user: TestUser): string {
    return user.username
  }
  verify(value: unknown): boolean {
    return value === 'user1'
  }
}

describe('middleware: protected', () => {
  let clock: ReturnType<typeof makeClock>

  beforeEach(() => {
    clock = makeClock()
  })

  const raw = (extra: Record<string, unknown> = {}, secret = SECRET): string =>
    signRaw({ user_id: 1, exp: clock.now + 600, ...extra }, secret)

  it('lets a request with a valid token through and stores the payload in ctx.state.jwt', async () => {
    const t = buildApp({ clock: clock.clock })
    t.router.get('/payload', t.jwt.protected(), (ctx) => {
      ctx.body = { jwt: ctx.state.jwt }
    })
    const { access_token } = await t.login('user2')
    let res = await t.agent.get('/protected').set('Authorization', bearer(access_token))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ protected: true })
    res = await t.agent.get('/payload').set('Authorization', bearer(access_token))
    expect(res.body).to.deep.equal({ jwt: { user_id: 2, exp: clock.now + 1800, fresh: true } })
  })

  it('lets OPTIONS requests through protected() and scoped() without a token (sanic-jwt #110)', async () => {
    const t = buildApp()
    const preflight = (ctx: Koa.Context) => {
      ctx.status = 204
      ctx.set('x-reached', 'yes')
    }
    t.router.options('/protected', t.jwt.protected(), preflight)
    t.router.options('/scoped/admin', t.jwt.scoped('admin'), preflight)
    for (const path of ['/protected', '/scoped/admin']) {
      const res = await t.agent.options(path)
      expect(res.status, path).to.equal(204)
      expect(res.headers['x-reached'], path).to.equal('yes')
    }
  })

  for (const debug of [false, true]) {
    describe(`failures with debug ${debug ? 'on' : 'off'} (reference §3.3)`, () => {
      const structural = debug ? 400 : 401

      const get = async (authorization: string | undefined, options: kit.InitializeOptions = {}) => {
        const t = buildApp({ clock: clock.clock, debug, ...options })
        const req = t.agent.get('/protected')
        return authorization === undefined ? req : req.set('Authorization', authorization)
      }

      it(`answers ${structural} Unauthorized ERR_JWT_MISSING_HEADER without a token`, async () => {
        const res = await get(undefined)
        expectError(res, structural, 'Unauthorized', 'ERR_JWT_MISSING_HEADER', [
          'Authorization header not present.',
        ])
        if (!debug) expect(res.headers['www-authenticate']).to.equal('Bearer')
      })

      for (const header of ['Bearer', 'Bearer    ', '']) {
        it(`treats ${JSON.stringify(header)} as a missing token (sanic-jwt #143)`, async () => {
          const res = await get(header)
          expectError(res, structural, 'Unauthorized', 'ERR_JWT_MISSING_HEADER', [
            'Authorization header not present.',
          ])
        })
      }

      for (const header of ['Basic abc', 'Bearer a b', 'Bearertoken']) {
        it(`answers ${structural} Unauthorized ERR_JWT_INVALID_HEADER to ${JSON.stringify(header)}`, async () => {
          const res = await get(header)
          expectError(res, structural, 'Unauthorized', 'ERR_JWT_INVALID_HEADER', [
            'Authorization header is invalid.',
          ])
        })
      }

      const decodeCases: [string, () => string, string, string][] = [
        ['garbage', () => 'garbage', 'Not enough segments.', 'ERR_JWT_MALFORMED'],
        [
          'a bad signature',
          () => raw({}, OTHER_SECRET),
          'Signature verification failed.',
          'ERR_JWT_INVALID_SIGNATURE',
        ],
        [
          'another algorithm',
          () => signRaw({ user_id: 1, exp: clock.now + 600 }, SECRET, 'HS384'),
          'The specified alg value is not allowed.',
          'ERR_JWT_INVALID_ALGORITHM',
        ],
      ]
      for (const [name, make, reason, code] of decodeCases) {
        it(`answers ${structural} for ${name}${debug ? ` with "${reason}"` : ' with "Auth required."'}`, async () => {
          const res = await get(bearer(make()))
          if (debug) expectError(res, 400, 'Unauthorized', code, [reason])
          else {
            expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
            expect(res.headers['www-authenticate']).to.match(/^Bearer error="invalid_token"/)
          }
        })
      }

      it(`answers ${structural} for an unsigned (alg none) token`, async () => {
        const res = await get(bearer(unsignedToken({ user_id: 1, exp: clock.now + 600 })))
        expect(res.status).to.equal(structural)
        expect(res.body.exception).to.equal('Unauthorized')
        if (!debug) expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
      })

      it('answers 401 "Signature has expired." for an expired token', async () => {
        const t = buildApp({ clock: clock.clock, debug })
        const { access_token } = await t.login()
        clock.now += 1800 + 180 + 1
        const res = await t.agent.get('/protected').set('Authorization', bearer(access_token))
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_EXPIRED', ['Signature has expired.'])
        expect(res.headers['www-authenticate']).to.match(/^Bearer error="invalid_token"/)
      })

      it('answers 401 ERR_JWT_CLAIM_MISSING for a token without exp', async () => {
        const res = await get(bearer(signRaw({ user_id: 1 })))
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_CLAIM_MISSING')
      })

      it('answers 401 "The token is not yet valid (nbf)." / "(iat)." for tokens from the future', async () => {
        let res = await get(bearer(raw({ nbf: clock.now + 1000 })))
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_NOT_YET_VALID', ['The token is not yet valid (nbf).'])
        res = await get(bearer(raw({ iat: clock.now + 1000 })))
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_NOT_YET_VALID', ['The token is not yet valid (iat).'])
      })

      it('answers 401 "Invalid audience." / "Invalid issuer." for a wrong aud / iss', async () => {
        let res = await get(bearer(raw({ aud: 'b' })), { claimAud: 'a' })
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_AUDIENCE', ['Invalid audience.'])
        res = await get(bearer(raw({ aud: 'b' })))
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_AUDIENCE', ['Invalid audience.'])
        res = await get(bearer(raw({ iss: 'b' })), { claimIss: 'a' })
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_ISSUER', ['Invalid issuer.'])
      })

      it('answers 401 when a configured aud / iss is missing from the token (reference §7.2.16)', async () => {
        let res = await get(bearer(raw()), { claimAud: 'a' })
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_AUDIENCE')
        res = await get(bearer(raw()), { claimIss: 'a' })
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_ISSUER')
      })

      it('answers 401 "Invalid claim: username." when a custom claim is not met', async () => {
        const t = buildApp({ clock: clock.clock, debug, customClaims: [UsernameClaim] })
        const { access_token } = await t.login('user2')
        const res = await t.agent.get('/protected').set('Authorization', bearer(access_token))
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_CUSTOM_CLAIM_FAILED', ['Invalid claim: username.'])
      })

      it('answers 401 "Verifications were not met." when an extra verification returns false', async () => {
        const res = await get(bearer(raw()), { extraVerifications: [() => false] })
        expectError(res, 401, 'Unauthorized', 'ERR_JWT_VERIFICATION_FAILED', ['Verifications were not met.'])
      })

      it(`answers ${debug ? '500 InvalidVerification' : '401 Unauthorized'} when an extra verification returns a non-boolean`, async () => {
        const res = await get(bearer(raw()), { extraVerifications: [() => 1 as unknown as boolean] })
        const reasons = ['Verifications must be a callable object returning a boolean value.']
        if (debug) expectError(res, 500, 'InvalidVerification', 'ERR_JWT_INVALID_VERIFICATION', reasons)
        else expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_VERIFICATION', reasons)
      })

      it(`answers ${debug ? '500 HandlerFailed' : '401 "Auth required."'} when verification throws a plain Error`, async () => {
        const boom = (): boolean => {
          throw new Error('verification backend down')
        }
        const res = await get(bearer(raw()), { extraVerifications: [boom] })
        if (debug) expectError(res, 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
        else expectError(res, 401, 'Unauthorized', 'ERR_JWT_UNAUTHORIZED', ['Auth required.'])
        expect(JSON.stringify(res.body)).to.not.include('backend down')
      })

      it('answers 403 "Invalid scope." with an insufficient_scope challenge when scopes do not match', async () => {
        const t = buildApp({ clock: clock.clock, debug, addScopesToPayload: (user) => user.scopes ?? [] })
        const { access_token } = await t.login('user1')
        let res = await t.agent.get('/scoped/admin').set('Authorization', bearer(access_token))
        expectError(res, 403, 'Unauthorized', 'ERR_JWT_INVALID_SCOPE', ['Invalid scope.'])
        expect(res.headers['www-authenticate']).to.equal('Bearer error="insufficient_scope"')
        res = await t.agent.get('/scoped/user').set('Authorization', bearer(access_token))
        expect(res.status).to.equal(200)
        expect(res.body).to.deep.equal({ scoped: 'user' })
      })

      it('answers 403 "Invalid scope." for a valid token without scopes', async () => {
        const res = await buildApp({ clock: clock.clock, debug })
          .agent.get('/scoped/user')
          .set('Authorization', bearer(raw()))
        expectError(res, 403, 'Unauthorized', 'ERR_JWT_INVALID_SCOPE', ['Invalid scope.'])
      })
    })
  }

  describe('errors of the protected handler', () => {
    const appWithRoutes = () => {
      const t = buildApp({ clock: clock.clock })
      t.app.silent = true
      t.router.get('/throws-400', t.jwt.protected(), (ctx) => ctx.throw(400, 'bad input'))
      t.router.get('/throws-error', t.jwt.protected(), () => {
        throw new Error('handler bug')
      })
      t.router.get('/throws-library-error', t.jwt.protected(), () => {
        throw new AuthenticationFailed('Step-up needed.')
      })
      return t
    }

    it('leaves an HTTP error thrown by the handler untouched', async () => {
      const t = appWithRoutes()
      const res = await t.agent.get('/throws-400').set('Authorization', bearer(raw()))
      expect(res.status).to.equal(400)
      expect(res.text).to.equal('bad input')
    })

    it("leaves a plain Error thrown by the handler to Koa's 500", async () => {
      const t = appWithRoutes()
      const res = await t.agent.get('/throws-error').set('Authorization', bearer(raw()))
      expect(res.status).to.equal(500)
      expect(res.text).to.equal('Internal Server Error')
    })

    it('renders a library error thrown by the handler as a library error body', async () => {
      const t = appWithRoutes()
      const res = await t.agent.get('/throws-library-error').set('Authorization', bearer(raw()))
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Step-up needed.'])
    })
  })

  describe('doProtection: false', () => {
    it('lets every request through protected() and scoped() (reference §7.2.19)', async () => {
      const t = buildApp({ doProtection: false })
      let res = await t.agent.get('/protected')
      expect(res.status).to.equal(200)
      res = await t.agent.get('/scoped/admin')
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ scoped: 'admin' })
    })
  })

  describe('per-route overrides', () => {
    it('reads the token from the header named by authorizationHeader on that route only', async () => {
      const t = buildApp({ clock: clock.clock })
      t.router.get('/x-token', t.jwt.protected({ authorizationHeader: 'x-token' }), (ctx) => {
        ctx.body = { ok: true }
      })
      const token = raw()
      let res = await t.agent.get('/x-token').set('X-Token', bearer(token))
      expect(res.status).to.equal(200)
      res = await t.agent.get('/x-token').set('Authorization', bearer(token))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      res = await t.agent.get('/protected').set('X-Token', bearer(token))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      res = await t.agent.get('/protected').set('Authorization', bearer(token))
      expect(res.status).to.equal(200)
    })

    it('applies a stricter inner route after an outer protected() on the same request (the verified token is not reused under other settings)', async () => {
      const t = buildApp({ clock: clock.clock })
      t.router.get('/nested', t.jwt.protected(), t.jwt.protected({ leeway: 0 }), (ctx) => {
        ctx.body = { ok: true }
      })
      // Expired 10 s ago: inside the default 180 s leeway of the outer route, not the inner one's 0.
      let res = await t.agent.get('/nested').set('Authorization', bearer(raw({ exp: clock.now - 10 })))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_EXPIRED')
      res = await t.agent.get('/nested').set('Authorization', bearer(raw()))
      expect(res.status).to.equal(200)
    })

    it('accepts an expired token on a verifyExp: false route only', async () => {
      const t = buildApp({ clock: clock.clock })
      t.router.get('/lenient', t.jwt.protected({ verifyExp: false }), (ctx) => {
        ctx.body = { ok: true }
      })
      const token = raw({ exp: clock.now - 10_000 })
      let res = await t.agent.get('/lenient').set('Authorization', bearer(token))
      expect(res.status).to.equal(200)
      res = await t.agent.get('/protected').set('Authorization', bearer(token))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_EXPIRED')
    })

    it('evaluates a function override for each request', async () => {
      const t = buildApp({ clock: clock.clock })
      let debug = false
      let calls = 0
      t.router.get(
        '/maybe-debug',
        t.jwt.protected({
          debug: () => {
            calls += 1
            return debug
          },
        }),
        (ctx) => {
          ctx.body = { ok: true }
        },
      )
      let res = await t.agent.get('/maybe-debug').set('Authorization', bearer('garbage'))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
      debug = true
      res = await t.agent.get('/maybe-debug').set('Authorization', bearer('garbage'))
      expectError(res, 400, 'Unauthorized', 'ERR_JWT_MALFORMED', ['Not enough segments.'])
      expect(calls).to.equal(2)
      res = await t.agent.get('/protected').set('Authorization', bearer('garbage'))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN')
    })

    it('validates override values when the route is declared', () => {
      const t = buildApp()
      expect(() => t.jwt.protected({ authorizationHeader: 5 as unknown as string })).to.throw(
        InvalidConfiguration,
      )
      expect(() => t.jwt.protected({ verifyExpp: false } as kit.ProtectOptions)).to.throw(InvalidConfiguration)
      expect(() => t.jwt.scoped('user', { leeway: 'soon' })).to.throw(InvalidConfiguration)
    })

    it('keeps concurrent requests on routes with different overrides apart', async () => {
      const t = buildApp({ clock: clock.clock })
      const seen: { route: string; before: string; after: string }[] = []
      for (const route of ['a', 'b']) {
        const guard = t.jwt.protected({ authorizationHeader: `x-token-${route}` })
        t.router.get(`/concurrent/${route}`, guard, async (ctx) => {
          const before = t.jwt.config.get('authorizationHeader', ctx)
          await randomDelay()
          const after = t.jwt.config.get('authorizationHeader', ctx)
          seen.push({ route, before, after })
          ctx.body = { header: after }
        })
      }
      const token = raw()
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const route = i % 2 === 0 ? 'a' : 'b'
          return t.agent.get(`/concurrent/${route}`).set(`x-token-${route}`, bearer(token))
        }),
      )
      responses.forEach((res, i) => {
        expect(res.status, `request ${i}`).to.equal(200)
        expect(res.body).to.deep.equal({ header: `x-token-${i % 2 === 0 ? 'a' : 'b'}` })
      })
      expect(seen).to.have.length(20)
      for (const entry of seen) {
        expect(entry.before).to.equal(`x-token-${entry.route}`)
        expect(entry.after).to.equal(`x-token-${entry.route}`)
      }
      expect(t.jwt.config.get('authorizationHeader')).to.equal('authorization')
    })

    it('makes the override visible to later middleware of the same request', async () => {
      const t = buildApp({ clock: clock.clock })
      const seen: string[] = []
      t.router.get(
        '/chain',
        t.jwt.protected({ authorizationHeader: 'x-token' }),
        async (ctx, next) => {
          seen.push(t.jwt.config.get('authorizationHeader', ctx))
          await next()
        },
        (ctx) => {
          seen.push(t.jwt.config.get('authorizationHeader', ctx))
          ctx.body = { ok: true }
        },
      )
      const res = await t.agent.get('/chain').set('X-Token', bearer(raw()))
      expect(res.status).to.equal(200)
      expect(seen).to.deep.equal(['x-token', 'x-token'])
    })

    it('removes the override when the handler throws', async () => {
      const app = new Koa()
      app.silent = true
      const jwt = new Initialize(app, {
        secret: SECRET,
        clock: clock.clock,
        authenticate: authenticateWith(makeUsers()),
      })
      const after: string[] = []
      const inside: string[] = []
      app.use(async (ctx, next) => {
        try {
          await next()
        } finally {
          after.push(jwt.config.get('authorizationHeader', ctx))
        }
      })
      const router = new Router()
      router.get('/fails', jwt.protected({ authorizationHeader: 'x-token' }), (ctx) => {
        inside.push(jwt.config.get('authorizationHeader', ctx))
        throw new Error('handler bug')
      })
      app.use(router.routes())
      const res = await request(app.callback()).get('/fails').set('X-Token', bearer(raw()))
      expect(res.status).to.equal(500)
      expect(inside).to.deep.equal(['x-token'])
      expect(after).to.deep.equal(['authorization'])
    })
  })

  describe('module-level protected(), scoped(), injectUser()', () => {
    /** An app initialised on itself, with routes guarded by the module-level middleware. */
    const appWithModuleRoutes = (secret: string, router: Router) => {
      const app = new Koa()
      const users = makeUsers()
      new Initialize<TestUser>(app, {
        secret,
        clock: clock.clock,
        authenticate: authenticateWith(users),
        retrieveUser: (_ctx, payload) => users.find((u) => u.user_id === payload.user_id) ?? null,
        addScopesToPayload: (user) => user.scopes ?? [],
      })
      app.use(router.routes())
      return request(app.callback())
    }

    const moduleRouter = () => {
      const router = new Router()
      router.get('/kit/protected', kit.protected(), (ctx) => {
        ctx.body = { jwt: ctx.state.jwt }
      })
      router.get('/kit/protect', kit.protect(), (ctx) => {
        ctx.body = { ok: true }
      })
      router.get('/kit/scoped', kit.scoped('admin'), (ctx) => {
        ctx.body = { ok: true }
      })
      router.get('/kit/inject', kit.injectUser(), (ctx) => {
        ctx.body = { user: ctx.state.user }
      })
      return router
    }

    it('finds the Initialize of ctx.app', async () => {
      const agent = appWithModuleRoutes(SECRET, moduleRouter())
      const login = await agent.post('/auth').send({ username: 'user2', password: 'abcxyz' })
      const token = login.body.access_token as string
      let res = await agent.get('/kit/protected').set('Authorization', bearer(token))
      expect(res.status).to.equal(200)
      expect(res.body.jwt).to.include({ user_id: 2 })
      res = await agent.get('/kit/protect').set('Authorization', bearer(token))
      expect(res.status).to.equal(200)
      res = await agent.get('/kit/scoped').set('Authorization', bearer(token))
      expect(res.status).to.equal(200)
      res = await agent.get('/kit/inject').set('Authorization', bearer(token))
      expect(res.body.user).to.include({ user_id: 2, username: 'user2' })
      res = await agent.get('/kit/protected')
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    })

    it('uses the instance of the app serving the request when one router serves two apps', async () => {
      const router = moduleRouter()
      const first = appWithModuleRoutes(SECRET, router)
      const second = appWithModuleRoutes(OTHER_SECRET, router)
      const token = raw()
      let res = await first.get('/kit/protected').set('Authorization', bearer(token))
      expect(res.status).to.equal(200)
      res = await second.get('/kit/protected').set('Authorization', bearer(token))
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN')
      res = await second.get('/kit/protected').set('Authorization', bearer(raw({}, OTHER_SECRET)))
      expect(res.status).to.equal(200)
    })

    it('answers 500 ERR_JWT_INSTANCE_NOT_FOUND on an app whose only Initialize is on a router', async () => {
      const app = new Koa()
      const router = moduleRouter()
      new Initialize(router, {
        secret: SECRET,
        clock: clock.clock,
        authenticate: authenticateWith(makeUsers()),
      })
      app.use(router.routes())
      const agent = request(app.callback())
      const token = raw()
      for (const path of ['/kit/protected', '/kit/protect', '/kit/scoped', '/kit/inject']) {
        const res = await agent.get(path).set('Authorization', bearer(token))
        expect(res.status, path).to.equal(500)
        expect(res.body.code, path).to.equal('ERR_JWT_INSTANCE_NOT_FOUND')
        expect(res.body.reasons[0], path).to.match(/^Authentication instance not found/)
      }
      // The router's own instance works.
      const login = await agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expect(login.status).to.equal(200)
    })
  })
})
