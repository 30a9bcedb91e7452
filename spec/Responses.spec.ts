/**
 * The per-failure hooks of `Responses` (issue #19, flask-jwt-extended's loaders): which failure
 * reaches which hook, the default answers (unchanged: each hook calls exceptionResponse), and the
 * dispatch through every place that renders an error (guards, endpoints, /auth/verify, the
 * app-wide renderer, router instances), with async and throwing hooks.
 */
import Router from '@koa/router'
import { expect } from 'chai'
import Koa, { type Context } from 'koa'
import request, { type Response, type Test } from 'supertest'

import * as kit from '../source'
import {
  BaseEndpoint,
  Claim,
  ERROR_CODES,
  HandlerFailed,
  Initialize,
  KoaJwtError,
  NeedsFreshToken,
  Responses,
  UserLookupFailed,
  type ErrorCode,
  type InitializeOptions,
  type JwtPayload,
} from '../source'
import { failureHookOf, type FailureHook } from '../source/Responses'
import {
  authenticateWith,
  buildApp,
  makeClock,
  makeUsers,
  refreshStore,
  SECRET,
  type TestApp,
  type TestUser,
} from './helpers/app'
import { bearer, expectError, signRaw } from './helpers/initialize'

const OTHER_SECRET = 'another-secret-that-is-long-enough'
/** The time of every app of this file (the `clock` setting). */
const NOW = 1_700_000_000

/** Every per-failure hook, in the order of the docs. */
const HOOKS: readonly FailureHook[] = [
  'expiredTokenResponse',
  'invalidTokenResponse',
  'unauthorizedResponse',
  'needsFreshTokenResponse',
  'revokedTokenResponse',
  'userLookupFailedResponse',
  'verificationFailedResponse',
  'csrfErrorResponse',
]

/** The codes each hook answers; every other code goes to exceptionResponse. */
const CODES_OF: Readonly<Record<FailureHook, readonly string[]>> = {
  expiredTokenResponse: ['ERR_JWT_EXPIRED'],
  invalidTokenResponse: [
    'ERR_JWT_INVALID_TOKEN',
    'ERR_JWT_MALFORMED',
    'ERR_JWT_INVALID_SIGNATURE',
    'ERR_JWT_INVALID_ALGORITHM',
    'ERR_JWT_NOT_YET_VALID',
    'ERR_JWT_INVALID_AUDIENCE',
    'ERR_JWT_INVALID_ISSUER',
    'ERR_JWT_CLAIM_MISSING',
    'ERR_JWT_INVALID_CLAIM_TYPE',
    'ERR_JWT_UNKNOWN_KID',
  ],
  unauthorizedResponse: [
    'ERR_JWT_MISSING_HEADER',
    'ERR_JWT_MISSING_COOKIE',
    'ERR_JWT_MISSING_QUERY_ARG',
    'ERR_JWT_INVALID_HEADER',
  ],
  needsFreshTokenResponse: ['ERR_JWT_NEEDS_FRESH'],
  revokedTokenResponse: ['ERR_JWT_REVOKED'],
  userLookupFailedResponse: ['ERR_JWT_USER_LOOKUP'],
  verificationFailedResponse: ['ERR_JWT_VERIFICATION_FAILED', 'ERR_JWT_CUSTOM_CLAIM_FAILED'],
  csrfErrorResponse: ['ERR_JWT_CSRF'],
}

/** A library error with a code the library does not raise yet (revocation, CSRF issues). */
function futureError(code: string, message: string): KoaJwtError {
  return new KoaJwtError(message, { status: 401, code: code as ErrorCode })
}

/** What the routes under /throws/ throw after `jwt.protected()`. */
const THROWN: Readonly<Record<string, () => Error>> = {
  fresh: () => new NeedsFreshToken(),
  lookup: () => new UserLookupFailed(),
  revoked: () => futureError('ERR_JWT_REVOKED', 'Token has been revoked.'),
  csrf: () => new kit.CSRFError(),
  handler: () => new HandlerFailed(),
}

class UsernameClaim extends Claim<TestUser> {
  key = 'username'
  setup(_payload: JwtPayload, user: TestUser): string {
    return user.username
  }
  verify(value: unknown): boolean {
    return value === 'user1'
  }
}

/** An HS256 token of user 1 that the apps of this file accept, with `extra` claims. */
function token(extra: Record<string, unknown> = {}, secret = SECRET): string {
  return signRaw({ user_id: 1, exp: NOW + 600, scopes: ['user'], ...extra }, secret)
}

const VALID = token()
const EXPIRED = token({ exp: NOW - 600 })
const BAD_SIGNATURE = token({}, OTHER_SECRET)

/** `Bearer error="invalid_token", error_description="<reason>"` (without the reason's `"`). */
const invalidToken = (reason: string): string =>
  `Bearer error="invalid_token", error_description="${reason.replaceAll('"', '')}"`

/** One kind of failure: how to provoke it, and what it answers by default (today). */
interface Kind {
  readonly name: string
  /** The hook that answers it, or exceptionResponse when none does. */
  readonly hook: FailureHook | 'exceptionResponse'
  readonly options?: InitializeOptions<TestUser>
  readonly path: string
  send(t: TestApp): Test
  readonly status: number
  readonly exception: string
  readonly code: string
  readonly reasons: readonly string[]
  readonly challenge: string | undefined
}

const get = (path: string, authorization?: string) => (t: TestApp): Test => {
  const req = t.agent.get(path)
  return authorization === undefined ? req : req.set('Authorization', authorization)
}

const KINDS: readonly Kind[] = [
  {
    name: 'an expired token',
    hook: 'expiredTokenResponse',
    path: '/protected',
    send: get('/protected', bearer(EXPIRED)),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_EXPIRED',
    reasons: ['Signature has expired.'],
    challenge: invalidToken('Signature has expired.'),
  },
  {
    name: 'a bad signature',
    hook: 'invalidTokenResponse',
    path: '/protected',
    send: get('/protected', bearer(BAD_SIGNATURE)),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_INVALID_TOKEN',
    reasons: ['Auth required.'],
    challenge: invalidToken('Auth required.'),
  },
  {
    name: 'a token not valid yet (nbf)',
    hook: 'invalidTokenResponse',
    path: '/protected',
    send: get('/protected', bearer(token({ nbf: NOW + 600 }))),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_NOT_YET_VALID',
    reasons: ['The token is not yet valid (nbf).'],
    challenge: invalidToken('The token is not yet valid (nbf).'),
  },
  {
    name: 'a wrong audience',
    hook: 'invalidTokenResponse',
    path: '/protected',
    send: get('/protected', bearer(token({ aud: 'elsewhere' }))),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_INVALID_AUDIENCE',
    reasons: ['Invalid audience.'],
    challenge: invalidToken('Invalid audience.'),
  },
  {
    name: 'a missing issuer',
    hook: 'invalidTokenResponse',
    options: { claimIss: 'https://issuer.example' },
    path: '/protected',
    send: get('/protected', bearer(VALID)),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_INVALID_ISSUER',
    reasons: ['Invalid issuer.'],
    challenge: invalidToken('Invalid issuer.'),
  },
  {
    name: 'a token without exp',
    hook: 'invalidTokenResponse',
    path: '/protected',
    send: get('/protected', bearer(signRaw({ user_id: 1 }))),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_CLAIM_MISSING',
    reasons: ['Token is missing the "exp" claim.'],
    challenge: invalidToken('Token is missing the "exp" claim.'),
  },
  {
    name: 'no authorization header',
    hook: 'unauthorizedResponse',
    path: '/protected',
    send: get('/protected'),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_MISSING_HEADER',
    reasons: ['Authorization header not present.'],
    challenge: 'Bearer',
  },
  {
    name: 'a malformed authorization header',
    hook: 'unauthorizedResponse',
    path: '/protected',
    send: get('/protected', 'Basic abc'),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_INVALID_HEADER',
    reasons: ['Authorization header is invalid.'],
    challenge: 'Bearer error="invalid_request"',
  },
  {
    name: 'no access cookie (cookie mode)',
    hook: 'unauthorizedResponse',
    options: { cookieSet: true },
    path: '/protected',
    send: get('/protected'),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_MISSING_COOKIE',
    reasons: ['Authorization cookie not present.'],
    challenge: 'Bearer',
  },
  {
    name: 'no query argument (query-string mode)',
    hook: 'unauthorizedResponse',
    options: { queryStringSet: true },
    path: '/protected',
    send: get('/protected'),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_MISSING_QUERY_ARG',
    reasons: ['Authorization query argument not present.'],
    challenge: 'Bearer',
  },
  {
    name: 'a NeedsFreshToken thrown after protected()',
    hook: 'needsFreshTokenResponse',
    path: '/throws/fresh',
    send: get('/throws/fresh', bearer(VALID)),
    status: 401,
    exception: 'NeedsFreshToken',
    code: 'ERR_JWT_NEEDS_FRESH',
    reasons: ['Fresh token required.'],
    challenge: 'Bearer error="insufficient_user_authentication", error_description="Fresh token required."',
  },
  {
    name: 'an ERR_JWT_REVOKED error thrown after protected()',
    hook: 'revokedTokenResponse',
    path: '/throws/revoked',
    send: get('/throws/revoked', bearer(VALID)),
    status: 401,
    exception: 'KoaJwtError',
    code: 'ERR_JWT_REVOKED',
    reasons: ['Token has been revoked.'],
    challenge: invalidToken('Token has been revoked.'),
  },
  {
    name: 'a UserLookupFailed thrown after protected()',
    hook: 'userLookupFailedResponse',
    path: '/throws/lookup',
    send: get('/throws/lookup', bearer(VALID)),
    status: 401,
    exception: 'UserLookupFailed',
    code: 'ERR_JWT_USER_LOOKUP',
    reasons: ['User not found.'],
    challenge: invalidToken('User not found.'),
  },
  {
    name: 'an extra verification that fails',
    hook: 'verificationFailedResponse',
    options: { extraVerifications: [() => false] },
    path: '/protected',
    send: get('/protected', bearer(VALID)),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_VERIFICATION_FAILED',
    reasons: ['Verifications were not met.'],
    challenge: invalidToken('Verifications were not met.'),
  },
  {
    name: 'a custom claim that fails',
    hook: 'verificationFailedResponse',
    options: { customClaims: [UsernameClaim] },
    path: '/protected',
    send: get('/protected', bearer(token({ username: 'user2' }))),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_CUSTOM_CLAIM_FAILED',
    reasons: ['Invalid claim: username.'],
    challenge: invalidToken('Invalid claim: username.'),
  },
  {
    name: 'a CSRFError thrown after protected()',
    hook: 'csrfErrorResponse',
    path: '/throws/csrf',
    send: get('/throws/csrf', bearer(VALID)),
    status: 401,
    exception: 'CSRFError',
    code: 'ERR_JWT_CSRF',
    reasons: ['CSRF double submit tokens do not match.'],
    // The token is fine: the request lacks its double-submit value.
    challenge: 'Bearer error="invalid_request", error_description="CSRF double submit tokens do not match."',
  },
  {
    name: 'missing scopes',
    hook: 'exceptionResponse',
    path: '/scoped/admin',
    send: get('/scoped/admin', bearer(VALID)),
    status: 403,
    exception: 'Unauthorized',
    code: 'ERR_JWT_INVALID_SCOPE',
    reasons: ['Invalid scope.'],
    challenge: 'Bearer error="insufficient_scope"',
  },
  {
    name: 'a failed login',
    hook: 'exceptionResponse',
    path: '/auth',
    send: (t) => t.agent.post('/auth').send({ username: 'user1', password: 'wrong' }),
    status: 401,
    exception: 'AuthenticationFailed',
    code: 'ERR_JWT_AUTHENTICATION_FAILED',
    reasons: ['Password is incorrect.'],
    challenge: 'Bearer',
  },
  {
    name: 'a login body that is not JSON',
    hook: 'exceptionResponse',
    path: '/auth',
    send: (t) => t.agent.post('/auth').set('Content-Type', 'application/json').send('{"username":'),
    status: 400,
    exception: 'InvalidRequestBody',
    code: 'ERR_JWT_INVALID_BODY',
    reasons: ['The request body is invalid.'],
    challenge: undefined,
  },
  {
    name: 'an extra verification that throws (ERR_JWT_UNAUTHORIZED)',
    hook: 'exceptionResponse',
    options: {
      extraVerifications: [
        () => {
          throw new Error('database down')
        },
      ],
    },
    path: '/protected',
    send: get('/protected', bearer(VALID)),
    status: 401,
    exception: 'Unauthorized',
    code: 'ERR_JWT_UNAUTHORIZED',
    reasons: ['Auth required.'],
    challenge: invalidToken('Auth required.'),
  },
  {
    name: 'a 500 thrown after protected()',
    hook: 'exceptionResponse',
    path: '/throws/handler',
    send: get('/throws/handler', bearer(VALID)),
    status: 500,
    exception: 'HandlerFailed',
    code: 'ERR_JWT_HANDLER_FAILED',
    reasons: ['An authentication handler failed.'],
    challenge: undefined,
  },
]

/** {@link buildApp} at {@link NOW}, with the /throws/ routes and the `/manual` unguarded route. */
function build(options: InitializeOptions<TestUser> = {}): TestApp {
  const t = buildApp({ clock: makeClock(NOW).clock, ...options })
  t.app.silent = true
  t.router.get('/throws/:what', t.jwt.protected(), (ctx) => {
    const make = THROWN[ctx.params['what'] ?? '']
    if (make === undefined) throw new Error(`no error named ${ctx.params['what']}`)
    throw make()
  })
  // No guard: the library's errors reach the app-wide renderer.
  t.router.get('/manual', async (ctx) => {
    ctx.body = await t.jwt.auth.verifyRequest(ctx)
  })
  return t
}

/** Asserts the default answer of a kind: today's status, body and challenge. */
function expectDefault(res: Response, kind: Kind): void {
  expectError(res, kind.status, kind.exception, kind.code, kind.reasons)
  expect(Object.keys(res.body as object).sort(), kind.name).to.deep.equal(['code', 'exception', 'reasons'])
  expect(res.headers['www-authenticate'], kind.name).to.equal(kind.challenge)
}

/** A call of a recording hook. */
interface Call {
  readonly hook: string
  readonly ctx: Context
  readonly error: KoaJwtError
}

/** A teapot answer that names the hook: what the recording hooks write. */
const answerOf = (hook: string, error: KoaJwtError) => ({ hook, code: error.code, status: error.status })

/**
 * A `Responses` subclass whose `hooks` record their calls in `calls` and answer 418 with
 * {@link answerOf}; with `delay`, they answer after that many milliseconds (async hooks).
 */
function recording(
  hooks: readonly (FailureHook | 'exceptionResponse')[],
  calls: Call[],
  delay?: number,
): typeof Responses {
  class Recording extends Responses {}
  for (const hook of hooks) {
    const answer = (ctx: Context, error: KoaJwtError): void => {
      calls.push({ hook, ctx, error })
      ctx.status = 418
      ctx.body = answerOf(hook, error)
    }
    Recording.prototype[hook] =
      delay === undefined
        ? answer
        : (ctx, error) => new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() => answer(ctx, error))
  }
  return Recording
}

/** The seed example of issue #19 (flask-jwt-extended's expired_token_loader). */
class SeedResponses extends Responses {
  override expiredTokenResponse(ctx: Context, _error: KoaJwtError): void {
    ctx.status = 401
    ctx.body = { status: 401, sub_status: 42, msg: 'The access token has expired' }
  }
}

const SEED_BODY = { status: 401, sub_status: 42, msg: 'The access token has expired' }

/** Asserts the seed's answer. */
function expectSeed(res: Response): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(401)
  expect(res.body).to.deep.equal(SEED_BODY)
}

/** Every code of ERROR_CODES (ERR_JWT_REVOKED listed again from before it joined the table). */
const ALL_CODES: readonly string[] = [...Object.keys(ERROR_CODES), 'ERR_JWT_REVOKED']

describe('Responses#failureResponse()', () => {
  it('maps every code to its hook, and every other code to exceptionResponse', () => {
    const mapped = new Map<string, string>()
    for (const hook of HOOKS) for (const code of CODES_OF[hook]) mapped.set(code, hook)
    for (const code of ALL_CODES) {
      expect(failureHookOf(code), code).to.equal(mapped.get(code) ?? 'exceptionResponse')
    }
    expect(failureHookOf('ERR_SOMETHING_ELSE')).to.equal('exceptionResponse')
  })

  it('covers every failure kind of this spec with the hook its table names', async () => {
    for (const kind of KINDS) expect(failureHookOf(kind.code), kind.name).to.equal(kind.hook)
  })

  it('calls the hook of the error code on the instance, whatever the error class', () => {
    const calls: Call[] = []
    const responses = new (recording(HOOKS, calls))(new Initialize(new Koa(), { secret: SECRET, authMode: false }).config, null)
    const ctx = { set() {} } as unknown as Context
    responses.failureResponse(ctx, new kit.Unauthorized(null, { code: 'ERR_JWT_EXPIRED' }))
    responses.failureResponse(ctx, new kit.InvalidToken(null, { code: 'ERR_JWT_EXPIRED' }))
    responses.failureResponse(ctx, new kit.MissingAuthorizationHeader())
    expect(calls.map((call) => call.hook)).to.deep.equal([
      'expiredTokenResponse',
      'expiredTokenResponse',
      'unauthorizedResponse',
    ])
  })

  it('can be called from middleware of your own, on a router-initialised instance', async () => {
    const app = new Koa()
    const router = new Router()
    const jwt = new Initialize(router, {
      secret: SECRET,
      authMode: false,
      clock: makeClock(NOW).clock,
      responsesClass: SeedResponses,
    })
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (error) {
        if (!(error instanceof KoaJwtError)) throw error
        await jwt.responses.failureResponse(ctx, error)
      }
    })
    router.get('/manual', async (ctx) => {
      ctx.body = await jwt.auth.verifyRequest(ctx)
    })
    app.use(router.routes())
    const agent = request(app.callback())
    expectSeed(await agent.get('/manual').set('Authorization', bearer(EXPIRED)))
    const res = await agent.get('/manual')
    expectError(res, 400, 'MissingAuthorizationHeader', 'ERR_JWT_MISSING_HEADER', ['Authorization header not present.'])
  })
})

for (const hook of HOOKS) {
  describe(`Responses#${hook}()`, () => {
    const own = KINDS.filter((kind) => kind.hook === hook)
    const others = KINDS.filter((kind) => kind.hook !== hook)

    it(`receives ${CODES_OF[hook].join(', ')}`, () => {
      for (const code of CODES_OF[hook]) expect(failureHookOf(code), code).to.equal(hook)
    })

    for (const kind of own) {
      it(`answers ${kind.name} by default as today: ${kind.status} ${kind.exception} ${kind.code}`, async () => {
        const t = build(kind.options)
        expectDefault(await kind.send(t), kind)
      })

      it(`is called with (ctx, error) for ${kind.name} when overridden, and answers it`, async () => {
        const calls: Call[] = []
        const t = build({ ...kind.options, responsesClass: recording([hook], calls) })
        const res = await kind.send(t)
        expect(res.status).to.equal(418)
        expect(res.body).to.deep.equal({ hook, code: kind.code, status: kind.status })
        expect(calls).to.have.length(1)
        const [call] = calls
        expect(call?.ctx.path).to.equal(kind.path)
        expect(call?.error).to.be.an.instanceOf(KoaJwtError)
        expect(call?.error.name).to.equal(kind.exception)
        expect(call?.error.code).to.equal(kind.code)
        expect(call?.error.status).to.equal(kind.status)
        expect(call?.error.reasons).to.deep.equal(kind.reasons)
        expect(call?.error.headers['WWW-Authenticate']).to.equal(kind.challenge)
      })
    }

    it('is not called for the other kinds of failure, which keep their default answers', async () => {
      for (const kind of others) {
        const calls: Call[] = []
        const t = build({ ...kind.options, responsesClass: recording([hook], calls) })
        expectDefault(await kind.send(t), kind)
        expect(calls, kind.name).to.deep.equal([])
      }
    })
  })
}

describe('Responses#exceptionResponse()', () => {
  const rest = KINDS.filter((kind) => kind.hook === 'exceptionResponse')

  it('answers the failures no hook covers (scope 403, failed login, bodies, 5xx, ERR_JWT_UNAUTHORIZED)', async () => {
    for (const kind of rest) {
      const calls: Call[] = []
      const t = build({ ...kind.options, responsesClass: recording(HOOKS, calls) })
      expectDefault(await kind.send(t), kind)
      expect(calls, kind.name).to.deep.equal([])
    }
  })

  it('is what every hook calls by default: overriding it changes every error body at once', async () => {
    for (const kind of KINDS) {
      const calls: Call[] = []
      const t = build({ ...kind.options, responsesClass: recording(['exceptionResponse'], calls) })
      const res = await kind.send(t)
      expect(res.status, kind.name).to.equal(418)
      expect(res.body, kind.name).to.deep.equal({ hook: 'exceptionResponse', code: kind.code, status: kind.status })
      expect(calls.map((call) => call.error.code), kind.name).to.deep.equal([kind.code])
    }
  })
})

describe('Responses: the seed example (an expiredTokenResponse of your own)', () => {
  it('answers an expired token with { status: 401, sub_status: 42, msg }', async () => {
    const t = build({ responsesClass: SeedResponses })
    expectSeed(await t.agent.get('/protected').set('Authorization', bearer(EXPIRED)))
  })

  it('keeps the default body for a missing token and a bad signature', async () => {
    const t = build({ responsesClass: SeedResponses })
    let res = await t.agent.get('/protected')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER', ['Authorization header not present.'])
    res = await t.agent.get('/protected').set('Authorization', bearer(BAD_SIGNATURE))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
  })
})

describe('Responses hooks: every entry point renders through them', () => {
  /** Expired → the seed's body; no token and a bad signature → the default bodies. */
  async function expectEntryPoint(agent: ReturnType<typeof request>, path: string, missingStatus = 401, missingException = 'Unauthorized'): Promise<void> {
    expectSeed(await agent.get(path).set('Authorization', bearer(EXPIRED)))
    let res = await agent.get(path)
    expectError(res, missingStatus, missingException, 'ERR_JWT_MISSING_HEADER', ['Authorization header not present.'])
    res = await agent.get(path).set('Authorization', bearer(BAD_SIGNATURE))
    if (missingException === 'Unauthorized') expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
    else expectError(res, 401, 'InvalidToken', 'ERR_JWT_INVALID_SIGNATURE', ['Signature verification failed.'])
    res = await agent.get(path).set('Authorization', bearer(VALID))
    expect(res.status, `${path} with a valid token`).to.equal(200)
  }

  it('jwt.protected() and jwt.scoped()', async () => {
    const t = build({ responsesClass: SeedResponses })
    await expectEntryPoint(t.agent, '/protected')
    await expectEntryPoint(t.agent, '/scoped/user')
  })

  it('module-level protect() and scoped()', async () => {
    const t = build({ responsesClass: SeedResponses })
    t.router.get('/module/protect', kit.protect(), (ctx) => {
      ctx.body = { ok: true }
    })
    t.router.get('/module/scoped', kit.scoped('user'), (ctx) => {
      ctx.body = { ok: true }
    })
    await expectEntryPoint(t.agent, '/module/protect')
    await expectEntryPoint(t.agent, '/module/scoped')
  })

  it('the method-decorator form on a BaseEndpoint class view', async () => {
    class Profile extends BaseEndpoint {
      @kit.protect()
      async get(ctx: Context): Promise<unknown> {
        return { user_id: ctx.state.jwt?.user_id }
      }
    }
    const t = build({ responsesClass: SeedResponses, classViews: [['/profile', Profile]] })
    await expectEntryPoint(t.agent, '/auth/profile')
  })

  it('GET /auth/me', async () => {
    const t = build({ responsesClass: SeedResponses })
    await expectEntryPoint(t.agent, '/auth/me')
  })

  it('POST /auth/refresh: an expired access token is accepted, a bad signature reaches invalidTokenResponse', async () => {
    const calls: Call[] = []
    class RefreshResponses extends recording(['invalidTokenResponse'], calls) {
      override expiredTokenResponse(ctx: Context, error: KoaJwtError): void {
        calls.push({ hook: 'expiredTokenResponse', ctx, error })
        ctx.status = 401
        ctx.body = SEED_BODY
      }
    }
    const store = new Map<unknown, string>()
    const t = build({ ...refreshStore(store), refreshTokenEnabled: true, responsesClass: RefreshResponses })
    const { refresh_token } = await t.login()
    let res = await t.agent.post('/auth/refresh').set('Authorization', bearer(EXPIRED)).send({ refresh_token })
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    expect(res.body.access_token).to.be.a('string')
    expect(calls).to.deep.equal([])
    res = await t.agent.post('/auth/refresh').set('Authorization', bearer(BAD_SIGNATURE)).send({ refresh_token })
    expect(res.status).to.equal(418)
    expect(res.body).to.deep.equal({ hook: 'invalidTokenResponse', code: 'ERR_JWT_INVALID_TOKEN', status: 401 })
    expect(calls.map((call) => [call.hook, call.ctx.path])).to.deep.equal([['invalidTokenResponse', '/auth/refresh']])
  })

  describe('GET /auth/verify', () => {
    const verify = (t: TestApp, authorization?: string): Test => get('/auth/verify', authorization)(t)

    it('keeps its { valid: false, reasons, exception, code } body by default', async () => {
      for (const responsesClass of [Responses, recording(['exceptionResponse'], [])]) {
        const t = build({ responsesClass })
        let res = await verify(t, bearer(EXPIRED))
        expect(res.status).to.equal(401)
        expect(res.body).to.deep.equal({
          valid: false,
          reasons: ['Signature has expired.'],
          exception: 'InvalidToken',
          code: 'ERR_JWT_EXPIRED',
        })
        expect(res.headers['www-authenticate']).to.equal(invalidToken('Signature has expired.'))
        res = await verify(t, bearer(BAD_SIGNATURE))
        expect(res.status).to.equal(401)
        expect(res.body).to.deep.equal({
          valid: false,
          reasons: ['Auth required.'],
          exception: 'InvalidToken',
          code: 'ERR_JWT_INVALID_TOKEN',
        })
        res = await verify(t, bearer(VALID))
        expect(res.status).to.equal(200)
        expect(res.body).to.deep.equal({ valid: true })
      }
    })

    it('lets an overridden hook answer its kind of failure instead, with the error as /verify renders it', async () => {
      const calls: Call[] = []
      class VerifyResponses extends recording(['invalidTokenResponse'], calls) {
        override extendVerify() {
          return { extended: true }
        }
      }
      const t = build({ responsesClass: VerifyResponses })
      let res = await verify(t, bearer(BAD_SIGNATURE))
      expect(res.status).to.equal(418)
      expect(res.body).to.deep.equal({ hook: 'invalidTokenResponse', code: 'ERR_JWT_INVALID_TOKEN', status: 401 })
      const [call] = calls
      expect(call?.error).to.be.an.instanceOf(kit.InvalidToken)
      expect(call?.error.reasons).to.deep.equal(['Auth required.'])
      expect(call?.error.headers['WWW-Authenticate']).to.equal(invalidToken('Auth required.'))
      // Other kinds keep the /verify body.
      res = await verify(t, bearer(EXPIRED))
      expect(res.status).to.equal(401)
      expect(res.body).to.deep.equal({
        valid: false,
        reasons: ['Signature has expired.'],
        exception: 'InvalidToken',
        code: 'ERR_JWT_EXPIRED',
        extended: true,
      })
      expect(calls).to.have.length(1)
    })

    it('answers the seed body for an expired token with the seed subclass, in debug mode too', async () => {
      for (const debug of [false, true]) {
        const t = build({ responsesClass: SeedResponses, debug })
        expectSeed(await verify(t, bearer(EXPIRED)))
      }
    })

    it('renders a missing token through unauthorizedResponse (an error, as before)', async () => {
      let t = build()
      expectError(await verify(t), 401, 'MissingAuthorizationHeader', 'ERR_JWT_MISSING_HEADER', [
        'Authorization header not present.',
      ])
      const calls: Call[] = []
      t = build({ responsesClass: recording(['unauthorizedResponse'], calls) })
      const res = await verify(t)
      expect(res.status).to.equal(418)
      expect(calls.map((call) => [call.error.name, call.error.status])).to.deep.equal([['MissingAuthorizationHeader', 401]])
    })
  })

  it('the app-wide renderer (a library error thrown by a route without a guard)', async () => {
    const t = build({ responsesClass: SeedResponses })
    await expectEntryPoint(t.agent, '/manual', 400, 'MissingAuthorizationHeader')
  })

  it('an instance initialised on a router', async () => {
    const app = new Koa()
    app.silent = true
    const router = new Router()
    const users = makeUsers()
    const jwt = new Initialize<TestUser>(router, {
      secret: SECRET,
      clock: makeClock(NOW).clock,
      authenticate: authenticateWith(users),
      retrieveUser: (_ctx, payload) => users.find((u) => u.user_id === payload.user_id) ?? null,
      responsesClass: SeedResponses,
    })
    router.get('/protected', jwt.protected(), (ctx) => {
      ctx.body = { ok: true }
    })
    router.get('/scoped', jwt.scoped('user'), (ctx) => {
      ctx.body = { ok: true }
    })
    app.use(router.routes())
    const agent = request(app.callback())
    await expectEntryPoint(agent, '/protected')
    await expectEntryPoint(agent, '/scoped')
    await expectEntryPoint(agent, '/auth/me')
  })

  it('debug mode: the hook gets the error with its debug status (400 for a missing header)', async () => {
    const calls: Call[] = []
    const t = build({ debug: true, responsesClass: recording(['unauthorizedResponse', 'invalidTokenResponse'], calls) })
    await t.agent.get('/protected')
    await t.agent.get('/protected').set('Authorization', bearer(BAD_SIGNATURE))
    expect(calls.map((call) => [call.hook, call.error.name, call.error.status, call.error.code])).to.deep.equal([
      ['unauthorizedResponse', 'Unauthorized', 400, 'ERR_JWT_MISSING_HEADER'],
      ['invalidTokenResponse', 'Unauthorized', 400, 'ERR_JWT_INVALID_SIGNATURE'],
    ])
    const plain = build({ debug: true })
    const res = await plain.agent.get('/protected')
    expectError(res, 400, 'Unauthorized', 'ERR_JWT_MISSING_HEADER', ['Authorization header not present.'])
  })
})

describe('Responses hooks: async hooks are awaited everywhere', () => {
  it('answers with what the hook wrote after a delay, at every entry point', async () => {
    const calls: Call[] = []
    class Profile extends BaseEndpoint {
      @kit.protect()
      get(): unknown {
        return { ok: true }
      }
    }
    const t = build({
      responsesClass: recording([...HOOKS, 'exceptionResponse'], calls, 5),
      classViews: [['/profile', Profile]],
    })
    t.router.get('/module', kit.scoped('user'), (ctx) => {
      ctx.body = { ok: true }
    })
    const cases: [string, () => Test, string, string][] = [
      ['jwt.protected()', () => t.agent.get('/protected').set('Authorization', bearer(EXPIRED)), 'expiredTokenResponse', 'ERR_JWT_EXPIRED'],
      ['module-level scoped()', () => t.agent.get('/module'), 'unauthorizedResponse', 'ERR_JWT_MISSING_HEADER'],
      ['a route after protected()', () => t.agent.get('/throws/fresh').set('Authorization', bearer(VALID)), 'needsFreshTokenResponse', 'ERR_JWT_NEEDS_FRESH'],
      ['a decorated class view', () => t.agent.get('/auth/profile').set('Authorization', bearer(BAD_SIGNATURE)), 'invalidTokenResponse', 'ERR_JWT_INVALID_TOKEN'],
      ['GET /auth/me', () => t.agent.get('/auth/me').set('Authorization', bearer(EXPIRED)), 'expiredTokenResponse', 'ERR_JWT_EXPIRED'],
      ['GET /auth/verify (its own failure)', () => t.agent.get('/auth/verify').set('Authorization', bearer(EXPIRED)), 'expiredTokenResponse', 'ERR_JWT_EXPIRED'],
      ['GET /auth/verify (an error)', () => t.agent.get('/auth/verify'), 'unauthorizedResponse', 'ERR_JWT_MISSING_HEADER'],
      ['POST /auth', () => t.agent.post('/auth').send({ username: 'user1', password: 'wrong' }), 'exceptionResponse', 'ERR_JWT_AUTHENTICATION_FAILED'],
      ['the app-wide renderer', () => t.agent.get('/manual').set('Authorization', bearer(EXPIRED)), 'expiredTokenResponse', 'ERR_JWT_EXPIRED'],
    ]
    for (const [name, send, hook, code] of cases) {
      const res = await send()
      expect(res.status, name).to.equal(418)
      expect(res.body.hook, name).to.equal(hook)
      expect(res.body.code, name).to.equal(code)
    }
    expect(calls).to.have.length(cases.length)
  })

  it('on an instance initialised on a router too', async () => {
    const app = new Koa()
    const router = new Router()
    const jwt = new Initialize(router, {
      secret: SECRET,
      authMode: false,
      clock: makeClock(NOW).clock,
      responsesClass: recording(HOOKS, [], 5),
    })
    router.get('/protected', jwt.protected(), (ctx) => {
      ctx.body = { ok: true }
    })
    app.use(router.routes())
    const res = await request(app.callback()).get('/protected').set('Authorization', bearer(EXPIRED))
    expect(res.status).to.equal(418)
    expect(res.body).to.deep.equal({ hook: 'expiredTokenResponse', code: 'ERR_JWT_EXPIRED', status: 401 })
  })
})

describe('Responses hooks: a hook that throws a non-library error', () => {
  // As when exceptionResponse throws: the error reaches Koa's error handling (a 500 "Internal
  // Server Error" and the app's 'error' event), and the app keeps answering.
  for (const async of [false, true]) {
    const failing = (): Error => new Error(`hook failed (${async ? 'async' : 'sync'})`)
    class Throwing extends Responses {
      override expiredTokenResponse(): void | Promise<void> {
        if (async) return Promise.reject(failing())
        throw failing()
      }
      override unauthorizedResponse(): void | Promise<void> {
        if (async) return Promise.reject(failing())
        throw failing()
      }
    }

    it(`answers a 500 through Koa at every entry point (${async ? 'rejected promise' : 'thrown'})`, async () => {
      class Profile extends BaseEndpoint {
        @kit.protect()
        get(): unknown {
          return { ok: true }
        }
      }
      const t = build({ responsesClass: Throwing, classViews: [['/profile', Profile]] })
      const emitted: unknown[] = []
      t.app.on('error', (error: unknown) => emitted.push(error))
      const requests: [string, () => Test][] = [
        ['jwt.protected()', () => t.agent.get('/protected').set('Authorization', bearer(EXPIRED))],
        ['a decorated class view', () => t.agent.get('/auth/profile')],
        ['GET /auth/me', () => t.agent.get('/auth/me').set('Authorization', bearer(EXPIRED))],
        ['GET /auth/verify (its own failure)', () => t.agent.get('/auth/verify').set('Authorization', bearer(EXPIRED))],
        ['GET /auth/verify (an error)', () => t.agent.get('/auth/verify')],
        ['the app-wide renderer', () => t.agent.get('/manual').set('Authorization', bearer(EXPIRED))],
      ]
      for (const [name, send] of requests) {
        const res = await send()
        expect(res.status, name).to.equal(500)
        expect(res.text, name).to.equal('Internal Server Error')
        expect(res.headers['www-authenticate'], name).to.equal(undefined)
      }
      expect(emitted.map((error) => (error as Error).message)).to.deep.equal(
        requests.map(() => `hook failed (${async ? 'async' : 'sync'})`),
      )
      // Nothing is left behind: the next requests answer as usual.
      let res = await t.agent.get('/protected').set('Authorization', bearer(VALID))
      expect(res.status).to.equal(200)
      res = await t.agent.get('/auth/verify').set('Authorization', bearer(BAD_SIGNATURE))
      expect(res.status).to.equal(401)
      expect(res.body.valid).to.equal(false)
      res = await t.agent.get('/auth/verify').set('Authorization', bearer(VALID))
      expect(res.body).to.deep.equal({ valid: true })
    })

    it(`answers a 500 through Koa on a router-initialised instance (${async ? 'rejected promise' : 'thrown'})`, async () => {
      const app = new Koa()
      app.silent = true
      const router = new Router()
      const jwt = new Initialize(router, {
        secret: SECRET,
        authMode: false,
        clock: makeClock(NOW).clock,
        responsesClass: Throwing,
      })
      router.get('/protected', jwt.protected(), (ctx) => {
        ctx.body = { ok: true }
      })
      app.use(router.routes())
      const agent = request(app.callback())
      const res = await agent.get('/protected').set('Authorization', bearer(EXPIRED))
      expect(res.status).to.equal(500)
      expect(res.text).to.equal('Internal Server Error')
      expect((await agent.get('/protected').set('Authorization', bearer(VALID))).status).to.equal(200)
    })
  }
})
