import { expect } from 'chai'
import type { Context } from 'koa'
import type { Response } from 'supertest'

import {
  Authentication,
  type JwtMiddleware,
  type ScopeRequirement,
  type ScopeTuple,
} from '../../source'
import type { TestUser } from '../helpers/app'
import {
  REASONS,
  build,
  expectNoUnhandledErrors,
  expectUnauthorized,
  getAs,
  payloadOf,
  tamper,
  tokenWithScopes,
  type OptionsApp,
} from '../helpers/options'

const scopesOf = (user: TestUser): string[] => user.scopes ?? []

function withRoute(t: OptionsApp, path: string, middleware: JwtMiddleware): void {
  t.router.get(path, middleware, (ctx: Context) => {
    ctx.body = { ok: true, path: ctx.path }
  })
}

function expectInvalidScope(res: Response): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(403)
  expect(res.body).to.deep.equal({
    reasons: ['Invalid scope.'],
    exception: 'Unauthorized',
    code: 'ERR_JWT_INVALID_SCOPE',
  })
  expect(res.headers['www-authenticate']).to.equal('Bearer error="insufficient_scope"')
}

describe('option: addScopesToPayload', () => {
  afterEach(expectNoUnhandledErrors)

  it('puts the list returned by the handler in the "scopes" claim of the /auth token', async () => {
    const t = build({ addScopesToPayload: scopesOf })
    const body = await t.login('user2')
    expect(payloadOf(body.access_token!).scopes).to.deep.equal(['user', 'admin'])
  })

  it('wraps a single string in a list', async () => {
    const t = build({ addScopesToPayload: () => 'user' })
    const body = await t.login()
    expect(payloadOf(body.access_token!).scopes).to.deep.equal(['user'])
  })

  it('supports an async handler', async () => {
    const t = build({ addScopesToPayload: async (user) => scopesOf(user) })
    const body = await t.login()
    expect(payloadOf(body.access_token!).scopes).to.deep.equal(['user'])
  })

  it('turns scopesEnabled on', () => {
    const t = build({ addScopesToPayload: scopesOf })
    expect(t.jwt.config.get('scopesEnabled')).to.equal(true)
  })

  it('turns scopes on when defined as a method of an Authentication subclass (sanic-jwt #160)', async () => {
    class ScopedAuthentication extends Authentication<TestUser> {
      override addScopesToPayload(user: TestUser): string[] {
        return scopesOf(user)
      }
    }
    const t = build({ authenticationClass: ScopedAuthentication })
    expect(t.jwt.config.get('scopesEnabled')).to.equal(true)
    const body = await t.login()
    expect(payloadOf(body.access_token!).scopes).to.deep.equal(['user'])
    const res = await getAs(t, '/scoped/user', body.access_token!)
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ scoped: 'user' })
  })

  it('writes the claim under the scopesName setting, and scoped() reads it there', async () => {
    const t = build({ addScopesToPayload: scopesOf, scopesName: 'permissions' })
    const body = await t.login()
    const payload = payloadOf(body.access_token!)
    expect(payload.permissions).to.deep.equal(['user'])
    expect(payload).to.not.have.property('scopes')
    const ok = await getAs(t, '/scoped/user', body.access_token!)
    expect(ok.status).to.equal(200)
    const denied = await getAs(t, '/scoped/admin', body.access_token!)
    expectInvalidScope(denied)
  })
})

describe('middleware: scoped', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  beforeEach(() => {
    t = build({ addScopesToPayload: scopesOf })
  })

  it('lets a token holding the required scope through', async () => {
    const token = await tokenWithScopes(t, ['user'])
    const res = await getAs(t, '/scoped/user', token)
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ scoped: 'user' })
  })

  it('returns 403 with ERR_JWT_INVALID_SCOPE when the scopes do not match', async () => {
    const token = await tokenWithScopes(t, ['user'])
    const res = await getAs(t, '/scoped/admin', token)
    expectInvalidScope(res)
  })

  it('returns 403 with ERR_JWT_INVALID_SCOPE when the token holds an empty scope list', async () => {
    const token = await tokenWithScopes(t, [])
    const res = await getAs(t, '/scoped/user', token)
    expectInvalidScope(res)
  })

  it('returns 403 with ERR_JWT_INVALID_SCOPE when the token has no scopes claim at all', async () => {
    const plain = build()
    const body = await plain.login()
    expect(payloadOf(body.access_token!)).to.not.have.property('scopes')
    const res = await getAs(plain, '/scoped/user', body.access_token!)
    expectInvalidScope(res)
  })

  it('returns 401 with ERR_JWT_MISSING_HEADER without a token (scoped implies protected)', async () => {
    const res = await t.agent.get('/scoped/user')
    expectUnauthorized(res, 401, 'ERR_JWT_MISSING_HEADER', REASONS.missingHeader)
  })

  it('returns 401 with ERR_JWT_INVALID_TOKEN for a token with a bad signature', async () => {
    const token = await tokenWithScopes(t, ['user'])
    const res = await getAs(t, '/scoped/user', tamper(token))
    expectUnauthorized(res, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
  })

  it('returns 401 with ERR_JWT_EXPIRED for an expired token, before looking at scopes', async () => {
    const token = await tokenWithScopes(t, ['admin'])
    t.clock.now += 1800 + 180
    const res = await getAs(t, '/scoped/user', token)
    expectUnauthorized(res, 401, 'ERR_JWT_EXPIRED', REASONS.expired)
  })

  it('stores the verified payload in ctx.state.jwt', async () => {
    t.router.get('/scoped/state', t.jwt.scoped('user'), (ctx: Context) => {
      ctx.body = { jwt: ctx.state.jwt }
    })
    const token = await tokenWithScopes(t, ['user'])
    const res = await getAs(t, '/scoped/state', token)
    expect(res.status).to.equal(200)
    expect(res.body.jwt).to.deep.equal(payloadOf(token))
  })

  describe('with a list', () => {
    beforeEach(() => {
      withRoute(t, '/both', t.jwt.scoped(['user', 'admin']))
      withRoute(t, '/either', t.jwt.scoped(['user', 'admin'], { requireAll: false }))
    })

    it('requires every listed scope by default', async () => {
      const both = await tokenWithScopes(t, ['user', 'admin'])
      const one = await tokenWithScopes(t, ['admin'])
      expect((await getAs(t, '/both', both)).status).to.equal(200)
      expectInvalidScope(await getAs(t, '/both', one))
    })

    it('requires any one listed scope with requireAll false', async () => {
      const one = await tokenWithScopes(t, ['admin'])
      const none = await tokenWithScopes(t, ['guest'])
      expect((await getAs(t, '/either', one)).status).to.equal(200)
      expectInvalidScope(await getAs(t, '/either', none))
    })
  })

  describe('with actions', () => {
    beforeEach(() => {
      withRoute(t, '/all-actions', t.jwt.scoped('user:read:write'))
      withRoute(t, '/any-action', t.jwt.scoped('user:read:write', { requireAllActions: false }))
    })

    it('requires every action in one user scope by default', async () => {
      const readOnly = await tokenWithScopes(t, ['user:read'])
      const split = await tokenWithScopes(t, ['user:read', 'user:write'])
      const both = await tokenWithScopes(t, ['user:write:read'])
      expectInvalidScope(await getAs(t, '/all-actions', readOnly))
      expectInvalidScope(await getAs(t, '/all-actions', split))
      expect((await getAs(t, '/all-actions', both)).status).to.equal(200)
    })

    it('accepts any one action with requireAllActions false', async () => {
      const readOnly = await tokenWithScopes(t, ['user:read'])
      const other = await tokenWithScopes(t, ['user:delete'])
      expect((await getAs(t, '/any-action', readOnly)).status).to.equal(200)
      expectInvalidScope(await getAs(t, '/any-action', other))
    })
  })

  describe('with a function of ctx', () => {
    it('evaluates a sync function per request with the route params', async () => {
      const seen: string[] = []
      withRoute(
        t,
        '/client/:id',
        t.jwt.scoped((ctx) => {
          seen.push(String(ctx.params.id))
          return `client${String(ctx.params.id)}`
        }),
      )
      const token = await tokenWithScopes(t, ['client1'])
      const ok = await getAs(t, '/client/1', token)
      expect(ok.status).to.equal(200)
      expect(ok.body).to.deep.equal({ ok: true, path: '/client/1' })
      expectInvalidScope(await getAs(t, '/client/2', token))
      expect(seen).to.deep.equal(['1', '2'])
    })

    it('awaits an async function returning a list', async () => {
      withRoute(
        t,
        '/async-client/:id',
        t.jwt.scoped(async (ctx) => {
          await new Promise((resolve) => setImmediate(resolve))
          return [`client${String(ctx.params.id)}`, 'user']
        }),
      )
      const token = await tokenWithScopes(t, ['client7', 'user'])
      expect((await getAs(t, '/async-client/7', token)).status).to.equal(200)
      expectInvalidScope(await getAs(t, '/async-client/8', token))
    })

    it('does not call the function for a request without a token', async () => {
      let calls = 0
      withRoute(
        t,
        '/counted/:id',
        t.jwt.scoped(() => {
          calls++
          return 'user'
        }),
      )
      const res = await t.agent.get('/counted/1')
      expectUnauthorized(res, 401, 'ERR_JWT_MISSING_HEADER')
      expect(calls).to.equal(0)
    })
  })

  describe('with a scopes claim that is not a list of strings', () => {
    for (const [claim, allowed] of [
      ['user', false],
      [{ user: true }, false],
      [1, false],
      [[1], false],
      [[{ user: true }], false],
      [[1, 'user'], true],
    ] as const) {
      it(`${allowed ? 'allows' : 'refuses'} scopes: ${JSON.stringify(claim)} on scoped('user')`, async () => {
        const custom = build({ extendPayload: (payload) => ({ ...payload, scopes: claim }) })
        const token = (await custom.login()).access_token!
        expect(payloadOf(token).scopes).to.deep.equal(claim)
        const res = await getAs(custom, '/scoped/user', token)
        if (allowed) expect(res.status).to.equal(200)
        else expectInvalidScope(res)
      })
    }
  })

  it('lets OPTIONS (preflight) requests through without a token', async () => {
    t.router.options('/preflight', t.jwt.scoped('admin'), (ctx: Context) => {
      ctx.status = 204
    })
    const res = await t.agent.options('/preflight')
    expect(res.status).to.equal(204)
  })

  describe('scoped(null) and scoped(false)', () => {
    it('leaves the route unprotected', async () => {
      withRoute(t, '/open-null', t.jwt.scoped(null))
      withRoute(t, '/open-false', t.jwt.scoped(false))
      expect((await t.agent.get('/open-null')).status).to.equal(200)
      expect((await t.agent.get('/open-false')).status).to.equal(200)
      const bad = await t.agent.get('/open-null').set('Authorization', 'Bearer garbage')
      expect(bad.status).to.equal(200)
      expect(bad.body).to.deep.equal({ ok: true, path: '/open-null' })
    })
  })
})

describe('option: destructureScopes', () => {
  afterEach(expectNoUnhandledErrors)

  const pipeToColon = (scopes: ScopeRequirement): ScopeRequirement =>
    typeof scopes === 'string' ? scopes.replace('|', ':') : scopes

  function routes(t: OptionsApp): void {
    withRoute(t, '/nonstandard', t.jwt.scoped('foo|bar'))
  }

  it('rewrites the route requirement before matching when given as an option', async () => {
    const calls: unknown[] = []
    const t = build({
      addScopesToPayload: scopesOf,
      destructureScopes: async (scopes, ctx) => {
        calls.push([scopes, ctx?.path])
        return pipeToColon(scopes)
      },
    })
    routes(t)
    const good = await tokenWithScopes(t, ['foo:bar'])
    const bad = await tokenWithScopes(t, ['foo:baz'])
    expect((await getAs(t, '/nonstandard', good)).status).to.equal(200)
    expectInvalidScope(await getAs(t, '/nonstandard', bad))
    expect(calls[0]).to.deep.equal(['foo|bar', '/nonstandard'])
  })

  it('rewrites the route requirement when defined as a subclass method', async () => {
    class PipeAuthentication extends Authentication<TestUser> {
      override addScopesToPayload(user: TestUser): string[] {
        return scopesOf(user)
      }

      override destructureScopes(scopes: ScopeRequirement): ScopeRequirement {
        return pipeToColon(scopes)
      }
    }
    const t = build({ authenticationClass: PipeAuthentication })
    routes(t)
    const good = await tokenWithScopes(t, ['foo:bar'])
    const top = await tokenWithScopes(t, ['foo'])
    const bad = await tokenWithScopes(t, ['foo|bar'])
    expect((await getAs(t, '/nonstandard', good)).status).to.equal(200)
    expect((await getAs(t, '/nonstandard', top)).status).to.equal(200)
    expectInvalidScope(await getAs(t, '/nonstandard', bad))
  })

  it('without it, the requirement is matched literally', async () => {
    const t = build({ addScopesToPayload: scopesOf })
    routes(t)
    const colon = await tokenWithScopes(t, ['foo:bar'])
    const literal = await tokenWithScopes(t, ['foo|bar'])
    expectInvalidScope(await getAs(t, '/nonstandard', colon))
    expect((await getAs(t, '/nonstandard', literal)).status).to.equal(200)
  })
})

describe('option: overrideScopeValidator', () => {
  afterEach(expectNoUnhandledErrors)

  it('denies everything when it returns false (option)', async () => {
    const calls: [boolean, ScopeTuple, ScopeTuple[], boolean][] = []
    const t = build({
      addScopesToPayload: scopesOf,
      overrideScopeValidator: (isValid, required, userScopes, requireAllActions) => {
        calls.push([isValid, required, userScopes, requireAllActions])
        return false
      },
    })
    const token = await tokenWithScopes(t, ['user'])
    expectInvalidScope(await getAs(t, '/scoped/user', token))
    expect(calls).to.deep.equal([[true, ['user', []], [['user', []]], true]])
  })

  it('denies everything when it returns false (subclass method)', async () => {
    class DenyAll extends Authentication<TestUser> {
      override addScopesToPayload(user: TestUser): string[] {
        return scopesOf(user)
      }

      override overrideScopeValidator(): boolean {
        return false
      }
    }
    const t = build({ authenticationClass: DenyAll })
    const token = await tokenWithScopes(t, ['user', 'admin'])
    expectInvalidScope(await getAs(t, '/scoped/user', token))
    expectInvalidScope(await getAs(t, '/scoped/admin', token))
    // Protection is unaffected: no token is still 401.
    expectUnauthorized(await t.agent.get('/scoped/user'), 401, 'ERR_JWT_MISSING_HEADER')
  })

  it('may grant what the default rules refuse', async () => {
    const t = build({
      addScopesToPayload: scopesOf,
      overrideScopeValidator: (isValid, required, userScopes) =>
        isValid ||
        (required[0] === 'fruit' && userScopes.some(([namespace]) => namespace === 'fruit')),
    })
    withRoute(t, '/apples', t.jwt.scoped('fruit:apples'))
    const token = await tokenWithScopes(t, ['fruit:oranges'])
    expect((await getAs(t, '/apples', token)).status).to.equal(200)
  })
})

describe('middleware: scoped — failing scope handlers', () => {
  afterEach(expectNoUnhandledErrors)

  function expectHandlerFailed(res: { status: number; body: Record<string, unknown> }): void {
    expect(res.status, JSON.stringify(res.body)).to.equal(500)
    expect(res.body).to.deep.equal({
      reasons: ['An authentication handler failed.'],
      exception: 'HandlerFailed',
      code: 'ERR_JWT_HANDLER_FAILED',
    })
  }

  it('answers a rendered 500 HandlerFailed when destructureScopes throws', async () => {
    const t = build({
      addScopesToPayload: scopesOf,
      destructureScopes: () => {
        throw new Error('scope service down')
      },
    })
    const token = await tokenWithScopes(t, ['user'])
    expectHandlerFailed(await getAs(t, '/scoped/user', token))
  })

  it('answers a rendered 500 HandlerFailed when overrideScopeValidator throws', async () => {
    const t = build({
      addScopesToPayload: scopesOf,
      overrideScopeValidator: () => {
        throw new Error('policy engine down')
      },
    })
    const token = await tokenWithScopes(t, ['user'])
    expectHandlerFailed(await getAs(t, '/scoped/user', token))
  })

  it('answers a rendered 500 HandlerFailed when a scope function rejects', async () => {
    const t = build({ addScopesToPayload: scopesOf })
    withRoute(
      t,
      '/client/:id',
      t.jwt.scoped(async () => {
        throw new Error('client lookup down')
      }),
    )
    const token = await tokenWithScopes(t, ['client1'])
    expectHandlerFailed(await getAs(t, '/client/1', token))
  })

  it('lets an HTTP error (status < 500) thrown by a scope function through', async () => {
    const t = build({ addScopesToPayload: scopesOf })
    withRoute(
      t,
      '/client/:id',
      t.jwt.scoped((ctx) => ctx.throw(404, 'No such client.')),
    )
    const token = await tokenWithScopes(t, ['client1'])
    const res = await getAs(t, '/client/1', token)
    expect(res.status).to.equal(404)
  })
})

describe('middleware: scoped — reference §5 table over HTTP', () => {
  afterEach(expectNoUnhandledErrors)

  interface Row {
    required: string
    user: unknown[]
    allowed: boolean
    requireAllActions?: boolean
  }
  const rows: Row[] = [
    { required: 'user', user: ['something'], allowed: false },
    { required: 'user', user: ['user'], allowed: true },
    { required: 'user:read', user: ['user'], allowed: true },
    { required: 'user:read', user: ['user:read'], allowed: true },
    { required: 'user:read', user: ['user:write'], allowed: false },
    { required: 'user:read', user: ['user:read:write'], allowed: true },
    { required: 'user', user: ['user:read'], allowed: false },
    { required: 'user:read:write', user: ['user:read'], allowed: false },
    { required: 'user:read:write', user: ['user:read:write'], allowed: true },
    { required: 'user:read:write', user: ['user:write:read'], allowed: true },
    { required: 'user:read:write', user: ['user:read'], allowed: true, requireAllActions: false },
    { required: 'user', user: ['something', 'else'], allowed: false },
    { required: 'user', user: ['something', 'else', 'user'], allowed: true },
    { required: 'user:read', user: ['something:else', 'user:read'], allowed: true },
    { required: 'user:read', user: ['user:read', 'something:else'], allowed: true },
    { required: ':read', user: [':read'], allowed: true },
    { required: ':read', user: ['admin'], allowed: true },
    { required: 'user', user: [], allowed: false },
    { required: 'user', user: [null], allowed: false },
    { required: 'user', user: [null, 'user'], allowed: true },
    { required: 'user:read:write', user: ['user:read', 'user:write'], allowed: false },
  ]

  let t: OptionsApp
  const tokens: string[] = []
  before(async () => {
    t = build({ addScopesToPayload: scopesOf })
    for (const [index, row] of rows.entries()) {
      const options =
        row.requireAllActions === undefined ? {} : { requireAllActions: row.requireAllActions }
      withRoute(t, `/row/${index}`, t.jwt.scoped(row.required, options))
      tokens.push(await tokenWithScopes(t, row.user))
    }
  })

  for (const [index, row] of rows.entries()) {
    const flag = row.requireAllActions === false ? ' with requireAllActions false' : ''
    it(`${row.allowed ? 'allows' : 'refuses'} ${JSON.stringify(row.user)} on scoped('${row.required}')${flag}`, async () => {
      const res = await getAs(t, `/row/${index}`, tokens[index]!)
      if (row.allowed) {
        expect(res.status, JSON.stringify(res.body)).to.equal(200)
        expect(res.body).to.deep.equal({ ok: true, path: `/row/${index}` })
      } else {
        expectInvalidScope(res)
      }
    })
  }
})
