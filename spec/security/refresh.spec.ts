import type { Server } from 'node:http'

import { expect } from 'chai'
import request from 'supertest'

import { buildApp, makeClock, refreshStore, type TestApp } from '../helpers/app'
import {
  captureStderr,
  expectFailure,
  expectNoLeak,
  forge,
  logs,
  parts,
  withPayload,
  type Agent,
} from '../helpers/attacks'
import type { InitializeOptions } from '../../source'

const START = 1_700_000_000
const EXPIRED_AFTER = 1800 + 180 + 1
const FAILED = { status: 401, exception: 'AuthenticationFailed', code: 'ERR_JWT_AUTHENTICATION_FAILED' }
const INVALID = { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_INVALID_TOKEN' }
const HANDLER_FAILED = { status: 500, exception: 'HandlerFailed', code: 'ERR_JWT_HANDLER_FAILED' }
const DB_SECRET = 'postgres://admin:hunter2-db-password@db.internal/users'

type Options = InitializeOptions<ReturnType<typeof buildApp>['users'][number]>

describe('security: refresh tokens (reference §7.2.1; sanic-jwt None == None; RFC 8725 §3.5)', () => {
  captureStderr()

  const clock = makeClock(START)
  let store: Map<unknown, string>
  let t: TestApp
  let access: string
  let refresh: string

  const build = (options: Options = {}) => buildApp({ clock: clock.clock, ...refreshStore(store), ...options })

  const postRefresh = (agent: Agent, token: string, body?: unknown) => {
    const req = agent.post('/auth/refresh').set('Authorization', `Bearer ${token}`)
    return body === undefined ? req : req.send(body as object)
  }

  beforeEach(async () => {
    clock.now = START
    store = new Map()
    t = build()
    const tokens = await t.login('user1')
    access = tokens.access_token!
    refresh = tokens.refresh_token!
  })

  describe('control', () => {
    it('answers 200 with only a new access token for the honest pair, also once the access token has expired', async () => {
      const res = await postRefresh(t.agent, access, { refresh_token: refresh })
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expect(Object.keys(res.body)).to.deep.equal(['access_token'])
      clock.now += EXPIRED_AFTER
      const late = await postRefresh(t.agent, access, { refresh_token: refresh })
      expect(late.status, JSON.stringify(late.body)).to.equal(200)
      const me = await t.agent.get('/auth/me').set('Authorization', `Bearer ${late.body.access_token}`)
      expect(me.status).to.equal(200)
      expect(me.body.me.user_id).to.equal(1)
    })
  })

  describe('no refresh token stored and none sent (sanic-jwt None == None, reference §7.2.1)', () => {
    it('returns 401 AuthenticationFailed when the stored token was deleted and none is sent', async () => {
      store.delete(1)
      for (const body of [undefined, {}, { refresh_token: null }, { refresh_token: '' }, { refresh_token: '   ' }]) {
        const res = await postRefresh(t.agent, access, body)
        expectFailure(res, FAILED, [access])
        expect(res.body.reasons).to.deep.equal(['Authentication failed.'])
        expect(res.body).not.to.have.property('access_token')
      }
    })

    for (const [label, stored] of [
      ['null', null],
      ['undefined', undefined],
      ['an empty string', ''],
      ['an empty Buffer', Buffer.alloc(0)],
    ] as const) {
      it(`returns 401 when retrieveRefreshToken answers ${label}, whatever is sent`, async () => {
        const a = build({ retrieveRefreshToken: () => stored })
        const token = (await a.login('user1')).access_token!
        for (const body of [
          undefined,
          {},
          { refresh_token: null },
          { refresh_token: '' },
          { refresh_token: 'null' },
          { refresh_token: 'undefined' },
          { refresh_token: refresh },
        ]) {
          const res = await postRefresh(a.agent, token, body)
          expectFailure(res, FAILED, [token, refresh])
        }
      })
    }
  })

  describe('a refresh token that is not the stored one', () => {
    it("returns 401 for another user's refresh token", async () => {
      const tokens2 = await t.login('user2')
      expectFailure(await postRefresh(t.agent, access, { refresh_token: tokens2.refresh_token }), FAILED, [access])
      expectFailure(await postRefresh(t.agent, tokens2.access_token!, { refresh_token: refresh }), FAILED)
    })

    it('returns 401 (not 500) for a token of the same JS length with multi-byte characters', async () => {
      for (const sent of [
        `${refresh.slice(0, -1)}é`,
        `é${refresh.slice(1)}`,
        `${refresh.slice(0, -1)}\u{10FFFF}`.slice(0, refresh.length),
        `${refresh.slice(0, -2)}😀`,
        `${refresh.slice(0, -1)}\u0000`,
        `${refresh.slice(0, -1)}\uD800`,
      ]) {
        expect(sent.length).to.equal(refresh.length)
        expectFailure(await postRefresh(t.agent, access, { refresh_token: sent }), FAILED)
      }
    })

    it('returns 401 (not 500) when the stored token holds multi-byte characters and the sent one does not', async () => {
      const stored = `${'a'.repeat(47)}é`
      const a = build({ retrieveRefreshToken: () => stored })
      const token = (await a.login('user1')).access_token!
      expectFailure(await postRefresh(a.agent, token, { refresh_token: 'a'.repeat(48) }), FAILED)
      expectFailure(await postRefresh(a.agent, token, { refresh_token: `${'a'.repeat(47)}e` }), FAILED)
      const ok = await postRefresh(a.agent, token, { refresh_token: stored })
      expect(ok.status).to.equal(200)
    })

    it('returns 401 for prefixes, extensions, case changes and whitespace around the stored token', async () => {
      for (const sent of [
        refresh.slice(0, -1),
        `${refresh}0`,
        refresh.toUpperCase(),
        ` ${refresh}`,
        `${refresh} `,
        `${refresh}\n`,
        refresh.slice(0, 1),
      ]) {
        expectFailure(await postRefresh(t.agent, access, { refresh_token: sent }), FAILED)
      }
    })

    it('returns 401 (not 500) when refresh_token is not a string', async () => {
      for (const value of [48, true, [refresh], { token: refresh }, { toString: refresh }, [], {}]) {
        expectFailure(await postRefresh(t.agent, access, { refresh_token: value }), FAILED)
      }
    })

    it('returns 401 when the refresh token is sent anywhere but the body', async () => {
      const res = await t.agent
        .post(`/auth/refresh?refresh_token=${refresh}`)
        .set('Authorization', `Bearer ${access}`)
        .set('Cookie', `refresh_token=${refresh}`)
      expectFailure(res, FAILED)
    })

    it('returns 401 in cookie mode for a missing, empty or foreign refresh cookie', async () => {
      const c = build({ cookieSet: true })
      const one = await c.login('user1')
      const two = await c.login('user2')
      const send = (cookie: string) => c.agent.post('/auth/refresh').set('Cookie', cookie)
      const honest = await send(`access_token=${one.access_token}; refresh_token=${one.refresh_token}`)
      expect(honest.status).to.equal(200)
      expectFailure(await send(`access_token=${one.access_token}`), FAILED)
      expectFailure(await send(`access_token=${one.access_token}; refresh_token=`), FAILED)
      expectFailure(await send(`access_token=${one.access_token}; refresh_token=${two.refresh_token}`), FAILED)
      store.delete(1)
      expectFailure(await send(`access_token=${one.access_token}`), FAILED)
    })
  })

  describe('query-string mode', () => {
    it('returns 401 for a missing, blank, repeated or foreign refresh_token parameter', async () => {
      const q = build({ queryStringSet: true })
      const one = await q.login('user1')
      const two = await q.login('user2')
      const send = (query: string) => q.agent.post(`/auth/refresh?access_token=${one.access_token}&${query}`)
      expect((await send(`refresh_token=${one.refresh_token}`)).status).to.equal(200)
      for (const query of [
        'x=1',
        'refresh_token=',
        'refresh_token=%20',
        `refresh_token=${one.refresh_token}&refresh_token=${one.refresh_token}`,
        `refresh_token=${two.refresh_token}&refresh_token=${one.refresh_token}`,
        `refresh_token=${two.refresh_token}`,
        `refresh_token[]=${one.refresh_token}`,
      ]) {
        expectFailure(await send(query), FAILED)
      }
      store.delete(1)
      expectFailure(await send('x=1'), FAILED)
    })
  })

  describe('the user behind the token', () => {
    it('returns 401 when the user was deleted (retrieveUser returns null)', async () => {
      t.users.splice(t.users.findIndex((u) => u.user_id === 1), 1)
      const res = await postRefresh(t.agent, access, { refresh_token: refresh })
      expectFailure(res, FAILED, [access, refresh])
      expect(res.body).not.to.have.property('access_token')
    })

    it('returns 401 when retrieveUser answers another user than the token names', async () => {
      const a = build({
        retrieveUser: (_ctx, payload) => ({ user_id: Number(payload.user_id) + 1, username: 'x', password: 'y' }),
      })
      const tokens = await a.login('user1')
      expectFailure(await postRefresh(a.agent, tokens.access_token!, { refresh_token: tokens.refresh_token }), FAILED)
    })

    it('returns 401 for a forged access token, expired or not, even with the right refresh token', async () => {
      const forged = withPayload(access, { ...parts(access).payload, exp: clock.now + 99_999 })
      expectFailure(await postRefresh(t.agent, forged, { refresh_token: refresh }), INVALID, [forged, refresh])
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${access.split('.')[1]}.`
      expectFailure(await postRefresh(t.agent, none, { refresh_token: refresh }), INVALID)
      const unsigned = await postRefresh(t.agent, '', { refresh_token: refresh })
      expectFailure(unsigned, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_MISSING_HEADER' }, [refresh])
    })
  })

  describe('failing store or handlers', () => {
    const boom = (): never => {
      throw new Error(`connect failed: ${DB_SECRET}`)
    }
    const expectHandlerFailed = (res: request.Response, presented: string[] = []) => {
      expectFailure(res, HANDLER_FAILED, presented)
      expect(JSON.stringify(res.body) + JSON.stringify(res.headers)).not.to.include('hunter2')
      expect(res.body).not.to.have.property('access_token')
      expect(res.body).not.to.have.property('refresh_token')
      const cookies = ([] as string[]).concat((res.headers['set-cookie'] as unknown as string[] | undefined) ?? [])
      expect(cookies.filter((c) => /token=[^;]/.test(c))).to.deep.equal([])
    }

    it('returns 500 HandlerFailed without a token when retrieveRefreshToken throws or rejects', async () => {
      for (const retrieveRefreshToken of [boom, async () => boom(), () => Promise.reject(new TypeError(DB_SECRET))]) {
        const a = build({ retrieveRefreshToken })
        const token = (await a.login('user1')).access_token!
        expectHandlerFailed(await postRefresh(a.agent, token, { refresh_token: refresh }), [token, refresh])
      }
    })

    it('returns 500 HandlerFailed without a token when retrieveRefreshToken throws a non-Error', async () => {
      for (const thrown of ['a string', null, undefined, 42, { message: DB_SECRET }]) {
        const a = build({
          retrieveRefreshToken: () => {
            throw thrown
          },
        })
        const token = (await a.login('user1')).access_token!
        expectHandlerFailed(await postRefresh(a.agent, token, { refresh_token: refresh }), [token])
      }
    })

    it('returns 500 HandlerFailed without a token when retrieveUser throws on /auth/refresh', async () => {
      const a = build()
      const tokens = await a.login('user1')
      const broken = buildApp({ clock: clock.clock, ...refreshStore(store), retrieveUser: boom })
      const body = { refresh_token: tokens.refresh_token }
      expectHandlerFailed(await postRefresh(broken.agent, tokens.access_token!, body))
    })

    it('returns 500 HandlerFailed without any token when storeRefreshToken throws on /auth (also in cookie mode)', async () => {
      for (const cookieSet of [false, true]) {
        const a = build({ storeRefreshToken: boom, cookieSet })
        const res = await a.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
        expectHandlerFailed(res)
      }
    })

    it('returns 500 HandlerFailed without any token when generateRefreshToken throws', async () => {
      const a = build({ generateRefreshToken: boom })
      expectHandlerFailed(await a.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' }))
    })
  })

  describe('an expired access token accepted by /auth/refresh (sanic-jwt #118)', () => {
    const elsewhere = ['/protected', '/auth/me', '/scoped/user', '/me/injected']

    it('is refused with 401 ERR_JWT_EXPIRED everywhere else', async () => {
      clock.now += EXPIRED_AFTER
      const ok = await postRefresh(t.agent, access, { refresh_token: refresh })
      expect(ok.status).to.equal(200)
      for (const path of ['/protected', '/auth/me', '/scoped/user']) {
        const res = await t.agent.get(path).set('Authorization', `Bearer ${access}`)
        expectFailure(res, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_EXPIRED' }, [access])
      }
      const verify = await t.agent.get('/auth/verify').set('Authorization', `Bearer ${access}`)
      expect(verify.status).to.equal(401)
      expect(verify.body).to.include({ valid: false, exception: 'InvalidToken', code: 'ERR_JWT_EXPIRED' })
      expectNoLeak(verify, [access])
      const injected = await t.agent.get('/me/injected').set('Authorization', `Bearer ${access}`)
      expect(injected.status).to.equal(200)
      expect(injected.body).to.deep.equal({ user: null })
    })

    it('answers 200 to every refresh and 401 ERR_JWT_EXPIRED to every protected request, interleaved (200 requests)', async function () {
      this.timeout(30_000)
      const server: Server = t.app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      try {
        const agent = request(server)
        clock.now += EXPIRED_AFTER
        const results = await Promise.all(
          Array.from({ length: 200 }, async (_, i) => {
            if (i % 2 === 0) {
              const res = await agent
                .post('/auth/refresh')
                .set('Authorization', `Bearer ${access}`)
                .send({ refresh_token: refresh })
              return { kind: 'refresh', res }
            }
            const path = elsewhere[(i >> 1) % elsewhere.length]!
            const res = await agent.get(path).set('Authorization', `Bearer ${access}`)
            return { kind: path, res }
          }),
        )
        const summary = (r: { kind: string; res: request.Response }) =>
          `${r.kind} ${r.res.status} ${JSON.stringify(r.res.body)}`
        for (const result of results) {
          if (result.kind === 'refresh') {
            expect(result.res.status, summary(result)).to.equal(200)
            expect(parts(result.res.body.access_token).payload.user_id).to.equal(1)
          } else if (result.kind === '/me/injected') {
            expect(result.res.body, summary(result)).to.deep.equal({ user: null })
          } else {
            expect(result.res.status, summary(result)).to.equal(401)
            expect(result.res.body.code, summary(result)).to.equal('ERR_JWT_EXPIRED')
          }
        }
      } finally {
        await new Promise((resolve) => server.close(resolve))
      }
    })
  })

  it('signs nothing for a hand-forged expired token of another user', async () => {
    clock.now += EXPIRED_AFTER
    const stolen = forge({ user_id: 2, exp: START + 1800 }, { key: 'wrong-secret-wrong-secret-wrong' })
    expectFailure(await postRefresh(t.agent, stolen, { refresh_token: refresh }), INVALID, [stolen])
  })

  describe('stderr', () => {
    it('holds no key material, presented token, engine wording or stack trace', () => {
      logs.expectSuiteClean()
      for (const line of logs.lines) expect(line).not.to.include('hunter2')
    })
  })
})
