import { expect } from 'chai'
import jsonwebtoken from 'jsonwebtoken'
import Koa, { type Context } from 'koa'
import request from 'supertest'

import { Authentication, AuthenticationFailed, Initialize, type JwtPayload } from '../../source'
import { buildApp, makeClock, SECRET, type TestUser } from '../helpers/app'
import { bearer, expectError, payloadOf } from '../helpers/initialize'

/** An app whose authenticate handler is `authenticate`. */
function appWith(authenticate: (ctx: Context) => unknown, options: Record<string, unknown> = {}) {
  const app = new Koa()
  app.silent = true
  const jwt = new Initialize(app, { secret: SECRET, authenticate, ...options })
  return { app, jwt, agent: request(app.callback()) }
}

describe('endpoint: POST /auth', () => {
  it('answers 200 { access_token } for good credentials', async () => {
    const clock = makeClock()
    const t = buildApp({ clock: clock.clock })
    const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expect(res.status).to.equal(200)
    expect(res.body).to.have.all.keys('access_token')
    const payload = jsonwebtoken.verify(res.body.access_token, SECRET, {
      algorithms: ['HS256'],
      ignoreExpiration: true,
    })
    expect(payload).to.deep.equal({ user_id: 1, exp: clock.now + 1800, fresh: true })
  })

  it('names the token after the accessTokenName setting', async () => {
    const t = buildApp({ accessTokenName: 'mytoken' })
    const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expect(res.status).to.equal(200)
    expect(res.body).to.have.all.keys('mytoken')
  })

  it('serves /auth and /auth/ as the same route', async () => {
    const t = buildApp()
    for (const path of ['/auth', '/auth/']) {
      const res = await t.agent.post(path).send({ username: 'user1', password: 'abcxyz' })
      expect(res.status, path).to.equal(200)
      expect(res.body).to.have.property('access_token')
    }
  })

  it('issues a token that GET /auth/verify accepts', async () => {
    const t = buildApp()
    const { access_token } = await t.login()
    const res = await t.agent.get('/auth/verify').set('Authorization', bearer(access_token))
    expect(res.body).to.deep.equal({ valid: true })
  })

  it('passes the message of AuthenticationFailed through with 401', async () => {
    const t = buildApp()
    const res = await t.agent.post('/auth').send({ username: 'user1', password: 'wrong' })
    expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Password is incorrect.'])
    expect(res.headers['www-authenticate']).to.match(/^Bearer/)
  })

  it('uses "Authentication failed." for an AuthenticationFailed without a message', async () => {
    const { agent } = appWith(() => {
      throw new AuthenticationFailed()
    })
    const res = await agent.post('/auth').send({})
    expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', ['Authentication failed.'])
  })

  it('calls authenticate with no body when none is sent (never a 500)', async () => {
    const t = buildApp()
    const res = await t.agent.post('/auth')
    expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', [
      'Missing username or password.',
    ])
  })

  for (const value of [null, undefined]) {
    it(`answers 500 InvalidRetrieveUserObject when authenticate returns ${value}`, async () => {
      const { agent } = appWith(async () => value)
      const res = await agent.post('/auth').send({})
      expectError(res, 500, 'InvalidRetrieveUserObject', 'ERR_JWT_INVALID_USER_OBJECT')
      expect(res.body).to.not.have.property('access_token')
    })
  }

  it('answers 500 InvalidRetrieveUserObject for a class instance without toDict', async () => {
    class Opaque {
      user_id = 1
    }
    const { agent } = appWith(() => new Opaque())
    const res = await agent.post('/auth').send({})
    expectError(res, 500, 'InvalidRetrieveUserObject', 'ERR_JWT_INVALID_USER_OBJECT')
  })

  it('reads the user id through toDict(), sync or async', async () => {
    class SyncUser {
      toDict() {
        return { user_id: 7 }
      }
    }
    class AsyncUser {
      async toDict() {
        return { user_id: 8 }
      }
    }
    for (const [user, id] of [
      [new SyncUser(), 7],
      [new AsyncUser(), 8],
    ] as const) {
      const { agent } = appWith(() => user)
      const res = await agent.post('/auth').send({})
      expect(res.status).to.equal(200)
      expect(payloadOf(res.body.access_token).user_id).to.equal(id)
    }
  })

  it('uses a plain object holding the user id as is, even when it has a toDict()', async () => {
    const { agent } = appWith(() => ({ user_id: 3, toDict: () => ({ user_id: 99 }) }))
    const res = await agent.post('/auth').send({})
    expect(res.status).to.equal(200)
    expect(payloadOf(res.body.access_token).user_id).to.equal(3)
  })

  it('accepts a synchronous authenticate handler', async () => {
    const { agent } = appWith(() => ({ user_id: 5 }))
    const res = await agent.post('/auth')
    expect(res.status).to.equal(200)
    expect(payloadOf(res.body.access_token).user_id).to.equal(5)
  })

  it('answers 500 InvalidPayload when buildPayload returns a non-object', async () => {
    class BadPayload extends Authentication<TestUser> {
      override async buildPayload(): Promise<JwtPayload> {
        return 'payload' as unknown as JwtPayload
      }
    }
    const t = buildApp({ authenticationClass: BadPayload })
    const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expectError(res, 500, 'InvalidPayload', 'ERR_JWT_INVALID_PAYLOAD')
  })

  it('answers 500 InvalidPayload when buildPayload leaves out the user id key', async () => {
    class NoId extends Authentication<TestUser> {
      override async buildPayload(user: TestUser): Promise<JwtPayload> {
        return { username: user.username }
      }
    }
    const t = buildApp({ authenticationClass: NoId })
    const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expectError(res, 500, 'InvalidPayload', 'ERR_JWT_INVALID_PAYLOAD')
  })

  it('answers 500 MissingRegisteredClaim when extendPayload removes a registered claim', async () => {
    const t = buildApp({
      claimIat: true,
      extendPayload: (payload) => {
        const { iat: _iat, ...rest } = payload
        return rest
      },
    })
    const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
    expectError(res, 500, 'MissingRegisteredClaim', 'ERR_JWT_MISSING_REGISTERED_CLAIM')
    expect(res.body.reasons[0]).to.include('iat')
  })

  it('answers 500 HandlerFailed, without the message, when authenticate throws a plain Error', async () => {
    const { agent } = appWith(() => {
      throw new Error('connection refused to users-db:5432')
    })
    const res = await agent.post('/auth').send({})
    expectError(res, 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
    expect(JSON.stringify(res.body)).to.not.include('users-db')
  })

  it('lets an HTTP error thrown by authenticate keep its status', async () => {
    const { agent } = appWith((ctx) => ctx.throw(403, 'Account locked'))
    const res = await agent.post('/auth').send({})
    expect(res.status).to.equal(403)
    expect(res.text).to.equal('Account locked')
  })

  describe('bodies', () => {
    it('parses a JSON body itself', async () => {
      const t = buildApp()
      const res = await t.agent
        .post('/auth')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ username: 'user2', password: 'abcxyz' }))
      expect(res.status).to.equal(200)
      expect(payloadOf(res.body.access_token).user_id).to.equal(2)
    })

    it('parses a urlencoded body itself', async () => {
      const t = buildApp()
      const res = await t.agent.post('/auth').type('form').send('username=user2&password=abcxyz')
      expect(res.status).to.equal(200)
      expect(payloadOf(res.body.access_token).user_id).to.equal(2)
    })

    it('leaves a body parsed by an earlier body parser alone', async () => {
      const app = new Koa()
      const seen: unknown[] = []
      app.use(async (ctx, next) => {
        ;(ctx.request as { body?: unknown }).body = { username: 'user2', password: 'abcxyz' }
        await next()
      })
      new Initialize(app, {
        secret: SECRET,
        authenticate: (ctx) => {
          seen.push(ctx.request.body)
          return { user_id: 2 }
        },
      })
      const res = await request(app.callback())
        .post('/auth')
        .send({ username: 'user1', password: 'wrong' })
      expect(res.status).to.equal(200)
      expect(seen).to.deep.equal([{ username: 'user2', password: 'abcxyz' }])
    })

    it('answers 400 InvalidRequestBody to malformed JSON, never 500', async () => {
      const t = buildApp()
      const res = await t.agent
        .post('/auth')
        .set('Content-Type', 'application/json')
        .send('{"username": "user1",')
      expectError(res, 400, 'InvalidRequestBody', 'ERR_JWT_INVALID_BODY')
    })

    it('answers 415 InvalidRequestBody to a body that is neither JSON nor a form', async () => {
      const t = buildApp()
      const res = await t.agent.post('/auth').set('Content-Type', 'text/plain').send('username=user1')
      expectError(res, 415, 'InvalidRequestBody', 'ERR_JWT_UNSUPPORTED_MEDIA_TYPE')
    })

    it('answers 413 InvalidRequestBody to a JSON body over 100 kB', async () => {
      const t = buildApp()
      const res = await t.agent
        .post('/auth')
        .send({ username: 'user1', password: 'abcxyz', padding: 'x'.repeat(110 * 1024) })
      expectError(res, 413, 'InvalidRequestBody', 'ERR_JWT_BODY_TOO_LARGE')
    })
  })

  describe('routing', () => {
    it('answers 204 with an empty body to OPTIONS', async () => {
      const t = buildApp()
      const res = await t.agent.options('/auth')
      expect(res.status).to.equal(204)
      expect(res.text).to.equal('')
    })

    it('answers 405 to GET, naming POST in Allow', async () => {
      const t = buildApp()
      const res = await t.agent.get('/auth')
      expect(res.status).to.equal(405)
      expect(res.headers.allow).to.include('POST')
    })

    it('answers 404 to an unknown path under /auth', async () => {
      const t = buildApp()
      for (const path of ['/auth/unknown', '/auth/refresh']) {
        const res = await t.agent.post(path).send({})
        expect(res.status, path).to.equal(404)
      }
    })
  })
})
