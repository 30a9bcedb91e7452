import { expect } from 'chai'
import Koa from 'koa'
import request from 'supertest'

import { Initialize, type InitializeOptions, type JwtPayload } from '../../source'
import { buildApp, makeClock, SECRET } from '../helpers/app'
import { bearer, expectError, signRaw } from '../helpers/initialize'

/** An app whose tokens carry user_id 1 and whose retrieveUser is given. */
function appWith(options: InitializeOptions = {}) {
  const clock = makeClock()
  const app = new Koa()
  const jwt = new Initialize(app, {
    secret: SECRET,
    clock: clock.clock,
    authenticate: () => ({ user_id: 1 }),
    ...options,
  })
  const agent = request(app.callback())
  const token = signRaw({ user_id: 1, exp: clock.now + 600 })
  return { app, jwt, agent, clock, token, me: () => agent.get('/auth/me').set('Authorization', bearer(token)) }
}

describe('endpoint: GET /auth/me', () => {
  it('answers { me } with the plain object retrieveUser returns', async () => {
    const t = buildApp()
    const { access_token } = await t.login('user2')
    const res = await t.agent.get('/auth/me').set('Authorization', bearer(access_token))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({
      me: { user_id: 2, username: 'user2', password: 'abcxyz', scopes: ['user', 'admin'] },
    })
  })

  it('passes the verified payload to retrieveUser', async () => {
    const payloads: JwtPayload[] = []
    const t = appWith({
      retrieveUser: (_ctx, payload) => {
        payloads.push(payload)
        return { user_id: payload.user_id }
      },
    })
    const res = await t.me()
    expect(res.status).to.equal(200)
    expect(payloads).to.have.length(1)
    expect(payloads[0]).to.deep.equal({ user_id: 1, exp: t.clock.now + 600 })
  })

  it('answers the result of toDict() (sync or async) for a user object', async () => {
    class User {
      constructor(readonly id: number) {}
      toDict() {
        return { user_id: this.id, kind: 'sync' }
      }
    }
    class AsyncUser {
      async toDict() {
        return { user_id: 1, kind: 'async' }
      }
    }
    let res = await appWith({ retrieveUser: () => new User(1) }).me()
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ me: { user_id: 1, kind: 'sync' } })
    res = await appWith({ retrieveUser: () => new AsyncUser() }).me()
    expect(res.body).to.deep.equal({ me: { user_id: 1, kind: 'async' } })
  })

  it('answers a plain object holding the userId key as is, even when it has toDict() (as the login reads it)', async () => {
    let calls = 0
    const user = {
      user_id: 1,
      kind: 'plain',
      toDict() {
        calls++
        return { user_id: 99, kind: 'toDict' }
      },
    }
    const res = await appWith({ retrieveUser: () => user }).me()
    expect(res.status).to.equal(200)
    // JSON drops the function.
    expect(res.body).to.deep.equal({ me: { user_id: 1, kind: 'plain' } })
    expect(calls).to.equal(0)
  })

  it('answers the result of toDict() for a plain object without the userId key, as the login reads it', async () => {
    const res = await appWith({ retrieveUser: () => ({ toDict: () => ({ user_id: 9, kind: 'plain' }) }) }).me()
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ me: { user_id: 9, kind: 'plain' } })
  })

  it('reads the userId key from the userId setting', async () => {
    const toDict = () => ({ id: 1, kind: 'toDict' })
    const holdingId = { id: 1, kind: 'plain', toDict }
    let res = await appWith({ userId: 'id', retrieveUser: () => holdingId }).me()
    expect(res.body).to.deep.equal({ me: { id: 1, kind: 'plain' } })
    // user_id is no longer the key: the object goes through toDict().
    const holdingUserId = { user_id: 1, kind: 'plain', toDict }
    res = await appWith({ userId: 'id', retrieveUser: () => holdingUserId }).me()
    expect(res.body).to.deep.equal({ me: { id: 1, kind: 'toDict' } })
  })

  it('answers a plain object without the userId key and without toDict() as is', async () => {
    const res = await appWith({ retrieveUser: () => ({ name: 'no id' }) }).me()
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ me: { name: 'no id' } })
  })

  it('answers a null-prototype object holding the userId key as is', async () => {
    const user = Object.assign(Object.create(null) as Record<string, unknown>, {
      user_id: 1,
      toDict: () => ({ user_id: 99 }),
    })
    const res = await appWith({ retrieveUser: () => user }).me()
    expect(res.body).to.deep.equal({ me: { user_id: 1 } })
  })

  it('calls toDict() of a class instance even when it holds the userId key', async () => {
    class User {
      user_id = 1
      toDict() {
        return { user_id: 1, kind: 'toDict' }
      }
    }
    const res = await appWith({ retrieveUser: () => new User() }).me()
    expect(res.body).to.deep.equal({ me: { user_id: 1, kind: 'toDict' } })
  })

  it('answers the result of toJSON() for a user object without toDict()', async () => {
    class User {
      secret = 'hidden'
      toJSON() {
        return { user_id: 1, kind: 'json' }
      }
    }
    const res = await appWith({ retrieveUser: () => new User() }).me()
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ me: { user_id: 1, kind: 'json' } })
  })

  for (const value of [null, undefined]) {
    it(`answers { me: null } when retrieveUser returns ${value}`, async () => {
      const res = await appWith({ retrieveUser: () => value }).me()
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({ me: null })
    })
  }

  it('answers 500 InvalidRetrieveUserObject for a class instance without toDict() or toJSON()', async () => {
    class Opaque {
      user_id = 1
    }
    const res = await appWith({ retrieveUser: () => new Opaque() }).me()
    expectError(res, 500, 'InvalidRetrieveUserObject', 'ERR_JWT_INVALID_USER_OBJECT')
  })

  it('answers 500 MeEndpointNotSetup without a retrieveUser handler', async () => {
    const res = await appWith().me()
    expectError(res, 500, 'MeEndpointNotSetup', 'ERR_JWT_ME_NOT_SETUP', [
      '/me endpoint has not been setup. Pass retrieveUser if you wish to proceed.',
    ])
  })

  it('answers 500 HandlerFailed when retrieveUser throws a plain Error', async () => {
    const res = await appWith({
      retrieveUser: () => {
        throw new Error('users table is gone')
      },
    }).me()
    expectError(res, 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
    expect(JSON.stringify(res.body)).to.not.include('users table')
  })

  it('answers 401 Unauthorized "Signature has expired." for an expired token (sanic-jwt #118)', async () => {
    const clock = makeClock()
    const t = buildApp({ clock: clock.clock })
    const { access_token } = await t.login()
    clock.now += 1800 + 180 + 1
    const res = await t.agent.get('/auth/me').set('Authorization', bearer(access_token))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_EXPIRED', ['Signature has expired.'])
    expect(res.body).to.not.have.property('me')
  })

  it('answers 401 Unauthorized without a token (400 in debug mode)', async () => {
    const t = buildApp()
    let res = await t.agent.get('/auth/me')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER', ['Authorization header not present.'])
    expect(res.headers['www-authenticate']).to.equal('Bearer')
    t.jwt.config.set('debug', true)
    res = await t.agent.get('/auth/me')
    expectError(res, 400, 'Unauthorized', 'ERR_JWT_MISSING_HEADER', ['Authorization header not present.'])
  })

  it('answers 401 Unauthorized "Auth required." for a forged token', async () => {
    const t = buildApp()
    const res = await t.agent
      .get('/auth/me')
      .set('Authorization', bearer(signRaw({ user_id: 1, exp: 9_999_999_999 }, 'not-the-secret-at-all-no')))
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
  })

  it('checks the token before looking for retrieveUser', async () => {
    const res = await appWith().agent.get('/auth/me')
    expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
  })

  it('answers 204 with an empty body to OPTIONS without a token', async () => {
    const t = buildApp()
    const res = await t.agent.options('/auth/me')
    expect(res.status).to.equal(204)
    expect(res.text).to.equal('')
  })

  it('answers 405 to POST', async () => {
    const t = buildApp()
    const { access_token } = await t.login()
    const res = await t.agent.post('/auth/me').set('Authorization', bearer(access_token))
    expect(res.status).to.equal(405)
  })
})
