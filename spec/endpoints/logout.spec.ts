import { expect } from 'chai'
import type { Context } from 'koa'
import type { Response } from 'supertest'

import { MemoryStore, Responses, type AuditEvent, type InitializeOptions, type LogoutResult } from '../../source'
import type { TestUser } from '../helpers/app'
import { expectError } from '../helpers/initialize'
import {
  EXPIRED_AFTER,
  bearer,
  build,
  cookieHeader,
  cookieValue,
  expectNoUnhandledErrors,
  getAs,
  halves,
  payloadOf,
  setCookies,
  tamper,
  type OptionsApp,
} from '../helpers/options'

const REVOKED = ['Token has been revoked.']

/** An app with revocation and refresh tokens kept in the (default) token store. */
function withLogout(options: InitializeOptions<TestUser> = {}): OptionsApp {
  return build({ revocationEnabled: true, refreshTokenEnabled: true, ...options })
}

/** One login (one device): its access and refresh tokens. */
async function login(t: OptionsApp, username = 'user1'): Promise<{ access: string; refresh: string }> {
  const body = await t.login(username)
  return { access: body.access_token!, refresh: body.refresh_token! }
}

function logout(t: OptionsApp, access: string, body?: object | string): Promise<Response> {
  const req = t.agent.post('/auth/logout').set('Authorization', bearer(access))
  return body === undefined ? req : req.send(body)
}

function refresh(t: OptionsApp, access: string, refreshToken: string): Promise<Response> {
  return t.agent.post('/auth/refresh').set('Authorization', bearer(access)).send({ refresh_token: refreshToken })
}

function expectRevoked(res: Response): void {
  expectError(res, 401, 'RevokedToken', 'ERR_JWT_REVOKED', REVOKED)
}

function expectOk(res: Response, what = ''): void {
  expect(res.status, `${what} ${JSON.stringify(res.body)}`).to.equal(200)
}

describe('LogoutEndpoint: POST /auth/logout', () => {
  afterEach(expectNoUnhandledErrors)

  describe('mounting', () => {
    it('is not mounted with revocation off', async () => {
      const t = build()
      const { access_token } = await t.login()
      expect((await logout(t, access_token!)).status).to.equal(404)
      expect([...t.jwt.endpoints.keys()]).to.not.include('/auth/logout')
    })

    it('is mounted with revocation on, and listed in endpoints', async () => {
      const t = withLogout()
      expect([...t.jwt.endpoints.keys()]).to.include('/auth/logout')
      const { access } = await login(t)
      expectOk(await logout(t, access))
    })

    it('is mounted under pathToLogout', async () => {
      const t = withLogout({ pathToLogout: '/signout' })
      const first = await login(t)
      expect((await logout(t, first.access)).status).to.equal(404)
      expectOk(await t.agent.post('/auth/signout').set('Authorization', bearer(first.access)))
      expectRevoked(await getAs(t, '/protected', first.access))
    })

    it('answers POST only', async () => {
      const t = withLogout()
      const { access } = await login(t)
      const res = await getAs(t, '/auth/logout', access)
      expect(res.status).to.equal(405)
      expectOk(await getAs(t, '/protected', access))
    })
  })

  describe('the answer', () => {
    it('is 200 { logout: true }', async () => {
      const t = withLogout()
      const { access } = await login(t)
      const res = await logout(t, access)
      expectOk(res)
      expect(res.body).to.deep.equal({ logout: true })
    })

    it('adds the keys of extendLogout, which receives the payload and whether it was everywhere', async () => {
      const seen: LogoutResult[] = []
      class Extended extends Responses {
        override extendLogout(_ctx: Context, result: LogoutResult): Record<string, unknown> {
          seen.push(result)
          return { goodbye: result.payload.user_id, everywhere: result.everywhere }
        }
      }
      const t = withLogout({ responsesClass: Extended })
      const one = await login(t)
      const two = await login(t)
      expect((await logout(t, one.access)).body).to.deep.equal({ logout: true, goodbye: 1, everywhere: false })
      expect((await logout(t, two.access, { everywhere: true })).body).to.deep.equal({
        logout: true,
        goodbye: 1,
        everywhere: true,
      })
      expect(seen.map((result) => [result.payload.jti, result.everywhere])).to.deep.equal([
        [payloadOf(one.access).jti, false],
        [payloadOf(two.access).jti, true],
      ])
    })

    it('waits for an asynchronous extendLogout', async () => {
      class Later extends Responses {
        override async extendLogout(): Promise<Record<string, unknown>> {
          await new Promise((resolve) => setImmediate(resolve))
          return { later: true }
        }
      }
      const t = withLogout({ responsesClass: Later })
      const { access } = await login(t)
      expect((await logout(t, access)).body).to.deep.equal({ logout: true, later: true })
    })
  })

  describe('this device', () => {
    it('refuses the access token afterwards, logging out included', async () => {
      const t = withLogout()
      const { access } = await login(t)
      expectOk(await getAs(t, '/protected', access))
      expectOk(await logout(t, access))
      expectRevoked(await getAs(t, '/protected', access))
      expectRevoked(await getAs(t, '/auth/me', access))
      expectRevoked(await logout(t, access))
      expect((await getAs(t, '/auth/verify', access)).body).to.include({ valid: false, code: 'ERR_JWT_REVOKED' })
    })

    it('refuses the refresh token of the same login, while another device’s login still works', async () => {
      const t = withLogout()
      const phone = await login(t)
      const laptop = await login(t)
      // Before: any access token of the user goes with the phone's refresh token.
      expectOk(await refresh(t, laptop.access, phone.refresh), 'before')
      expectOk(await logout(t, phone.access))
      expectRevoked(await refresh(t, laptop.access, phone.refresh))
      expectOk(await getAs(t, '/protected', laptop.access), 'laptop access')
      expectOk(await refresh(t, laptop.access, laptop.refresh), 'laptop refresh')
      expect((await t.jwt.tokens.get(payloadOf(laptop.access).jti as string))?.revoked).to.equal(false)
    })

    it('from a refreshed access token, revokes the login it came from: its refresh token and every access token', async () => {
      const t = withLogout()
      const phone = await login(t)
      const laptop = await login(t)
      t.clock.now += 60
      const refreshed = await refresh(t, phone.access, phone.refresh)
      expectOk(refreshed)
      const newAccess = refreshed.body.access_token as string
      expectOk(await logout(t, newAccess))
      expectRevoked(await getAs(t, '/protected', newAccess))
      expectRevoked(await getAs(t, '/protected', phone.access))
      expectRevoked(await refresh(t, laptop.access, phone.refresh))
      expectOk(await getAs(t, '/protected', laptop.access))
    })

    it('refuses afterwards an access token the store holds no record of (issued by another instance sharing the key)', async () => {
      const t = withLogout()
      const elsewhere = withLogout()
      const { access } = await login(elsewhere)
      expect(await t.jwt.tokens.get(payloadOf(access).jti as string)).to.equal(undefined)
      expectOk(await getAs(t, '/protected', access))
      expectOk(await logout(t, access))
      expectRevoked(await getAs(t, '/protected', access))
    })

    it('leaves the other users alone', async () => {
      const t = withLogout()
      const mine = await login(t, 'user1')
      const theirs = await login(t, 'user2')
      expectOk(await logout(t, mine.access, { everywhere: true }))
      expectOk(await getAs(t, '/protected', theirs.access))
      expectOk(await refresh(t, theirs.access, theirs.refresh))
    })

    it('with { everywhere: false } or an empty body logs out this login only', async () => {
      for (const body of [{ everywhere: false }, {}, undefined]) {
        const t = withLogout()
        const phone = await login(t)
        const laptop = await login(t)
        expectOk(await logout(t, phone.access, body), JSON.stringify(body))
        expectRevoked(await getAs(t, '/protected', phone.access))
        expectOk(await getAs(t, '/protected', laptop.access), JSON.stringify(body))
      }
    })
  })

  describe('everywhere', () => {
    for (const [kind, send] of [
      ['a JSON body', (t: OptionsApp, access: string) => logout(t, access, { everywhere: true })],
      [
        'a form body',
        (t: OptionsApp, access: string) =>
          t.agent.post('/auth/logout').set('Authorization', bearer(access)).type('form').send('everywhere=true'),
      ],
    ] as const) {
      it(`revokes every token of the user, other devices included (${kind})`, async () => {
        const t = withLogout()
        const phone = await login(t)
        const laptop = await login(t)
        t.clock.now += 5
        const res = await send(t, phone.access)
        expectOk(res)
        expect(res.body).to.deep.equal({ logout: true })
        for (const access of [phone.access, laptop.access]) expectRevoked(await getAs(t, '/protected', access))
        // A new login after it: its access token works, and so does its refresh token; the old ones do not.
        t.clock.now += 0.001
        const tablet = await login(t)
        expectOk(await getAs(t, '/protected', tablet.access), 'new login')
        expectRevoked(await refresh(t, tablet.access, laptop.refresh))
        expectRevoked(await refresh(t, tablet.access, phone.refresh))
        expectOk(await refresh(t, tablet.access, tablet.refresh), 'new refresh token')
      })
    }

    it('form everywhere=false logs out this login only', async () => {
      const t = withLogout()
      const phone = await login(t)
      const laptop = await login(t)
      expectOk(await t.agent.post('/auth/logout').set('Authorization', bearer(phone.access)).type('form').send('everywhere=false'))
      expectOk(await getAs(t, '/protected', laptop.access))
    })
  })

  describe('refusals', () => {
    for (const [label, body] of [
      ['everywhere: "yes"', { everywhere: 'yes' }],
      ['everywhere: 1', { everywhere: 1 }],
      ['everywhere: null', { everywhere: null }],
      ['an array', [{ everywhere: true }]],
      ['a JSON string', '"everywhere"'],
    ] as const) {
      it(`answers 400 InvalidRequestBody for ${label}, and revokes nothing`, async () => {
        const t = withLogout()
        const { access } = await login(t)
        const req = t.agent.post('/auth/logout').set('Authorization', bearer(access))
        const res = typeof body === 'string' ? await req.type('json').send(body) : await req.send(body as object)
        expectError(res, 400, 'InvalidRequestBody', 'ERR_JWT_INVALID_BODY')
        expectOk(await getAs(t, '/protected', access))
      })
    }

    it('answers 400 for a form everywhere=yes', async () => {
      const t = withLogout()
      const { access } = await login(t)
      const res = await t.agent.post('/auth/logout').set('Authorization', bearer(access)).type('form').send('everywhere=yes')
      expectError(res, 400, 'InvalidRequestBody', 'ERR_JWT_INVALID_BODY')
    })

    it('answers 503 StoreUnavailable when the store fails, and clears no cookie', async () => {
      const state = { down: false }
      class Flaky extends MemoryStore {
        override async get(key: string) {
          if (state.down) throw new Error('store down')
          return super.get(key)
        }
      }
      const t = withLogout({ tokenStore: new Flaky(), cookieSet: true })
      const { access } = await login(t)
      state.down = true
      const res = await t.agent.post('/auth/logout').set('Cookie', cookieHeader({ access_token: access }))
      expectError(res, 503, 'StoreUnavailable', 'ERR_JWT_STORE_UNAVAILABLE')
      expect(setCookies(res)).to.deep.equal([])
    })

    it('answers 401 without a token', async () => {
      const t = withLogout()
      expectError(await t.agent.post('/auth/logout'), 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      expectError(await t.agent.post('/auth/logout').send({ everywhere: true }), 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    })

    it('answers 401 for a token with a bad signature, and revokes nothing', async () => {
      const t = withLogout()
      const { access } = await login(t)
      const res = await logout(t, tamper(access), { everywhere: true })
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_INVALID_TOKEN')
      expectOk(await getAs(t, '/protected', access))
    })
  })

  describe('an expired access token', () => {
    it('may still log out (its signature is checked)', async () => {
      const t = withLogout()
      const { access } = await login(t)
      t.clock.now += EXPIRED_AFTER + 1
      expectError(await getAs(t, '/protected', access), 401, 'Unauthorized', 'ERR_JWT_EXPIRED')
      const res = await logout(t, access)
      expectOk(res)
      expect(res.body).to.deep.equal({ logout: true })
    })

    it('logs out its login: the refresh token and the expired token itself are refused on /auth/refresh', async () => {
      const t = withLogout()
      const phone = await login(t)
      t.clock.now += EXPIRED_AFTER + 1
      expectOk(await logout(t, phone.access))
      const laptop = await login(t)
      expectRevoked(await refresh(t, laptop.access, phone.refresh))
      expectRevoked(await refresh(t, phone.access, phone.refresh))
    })

    it('may log out everywhere', async () => {
      const t = withLogout()
      const phone = await login(t)
      const laptop = await login(t)
      t.clock.now += EXPIRED_AFTER + 1
      expectOk(await logout(t, phone.access, { everywhere: true }))
      expectRevoked(await refresh(t, laptop.access, laptop.refresh))
      expectRevoked(await refresh(t, phone.access, phone.refresh))
    })
  })

  describe('cookie mode', () => {
    const CLEARED = (name: string): string => `${name}=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=0; samesite=lax; httponly`

    it('logs out with the token read from the cookie and clears the access and refresh cookies', async () => {
      const t = withLogout({ cookieSet: true })
      const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expectOk(res)
      const access = cookieValue(res, 'access_token')!
      const refreshToken = cookieValue(res, 'refresh_token')!
      expect(access).to.equal(res.body.access_token)
      const cookies = cookieHeader({ access_token: access, refresh_token: refreshToken })
      const out = await t.agent.post('/auth/logout').set('Cookie', cookies)
      expectOk(out)
      expect(out.body).to.deep.equal({ logout: true })
      expect(setCookies(out)).to.have.members([CLEARED('access_token'), CLEARED('refresh_token')])
      expect(setCookies(out)).to.have.length(2)
      expectRevoked(await t.agent.get('/protected').set('Cookie', cookies))
    })

    it('clears the access, signature and refresh cookies with split cookies, reading the token from both halves', async () => {
      const t = withLogout({ cookieSet: true, cookieSplit: true })
      const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expectOk(res)
      const { headerPayload, signature } = halves(res.body.access_token as string)
      const cookies = cookieHeader({ access_token: headerPayload, access_token_signature: signature })
      expectOk(await t.agent.get('/protected').set('Cookie', cookies))
      const out = await t.agent.post('/auth/logout').set('Cookie', cookies)
      expectOk(out)
      const cleared = setCookies(out)
      expect(cleared).to.have.length(3)
      for (const name of ['access_token', 'access_token_signature', 'refresh_token']) {
        const line = cleared.find((header) => header.startsWith(`${name}=;`))
        expect(line, name).to.be.a('string')
        expect(line, name).to.include('max-age=0')
      }
      expectRevoked(await t.agent.get('/protected').set('Cookie', cookies))
    })

    it('uses the configured cookie names', async () => {
      const t = withLogout({ cookieSet: true, cookieAccessTokenName: 'at', cookieRefreshTokenName: 'rt' })
      const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      const out = await t.agent.post('/auth/logout').set('Cookie', cookieHeader({ at: cookieValue(res, 'at')! }))
      expectOk(out)
      expect(setCookies(out)).to.have.members([CLEARED('at'), CLEARED('rt')])
    })

    it('clears no cookie outside cookie mode', async () => {
      const t = withLogout()
      const { access } = await login(t)
      expect(setCookies(await logout(t, access))).to.deep.equal([])
    })
  })

  describe('audit', () => {
    it('reports a logout event: the user and the token id, never a token', async () => {
      const events: AuditEvent[] = []
      const t = withLogout({ audit: (event) => void events.push(event) })
      const { access, refresh: refreshToken } = await login(t)
      t.clock.now += 10
      expectOk(await logout(t, access))
      const jti = payloadOf(access).jti
      expect(events.filter((event) => event.type === 'logout')).to.deep.equal([
        { type: 'logout', userId: '1', jti, time: t.clock.now },
      ])
      const text = JSON.stringify(events)
      expect(text).to.not.include(access)
      expect(text).to.not.include(refreshToken)
    })

    it('reports an everywhere logout as a logout too', async () => {
      const events: AuditEvent[] = []
      const t = withLogout({ audit: async (event) => void events.push(event) })
      const { access } = await login(t)
      expectOk(await logout(t, access, { everywhere: true }))
      expect(events.filter((event) => event.type === 'logout')).to.deep.equal([
        { type: 'logout', userId: '1', jti: payloadOf(access).jti, time: t.clock.now },
      ])
    })

    it('reports nothing for a refused logout', async () => {
      const events: AuditEvent[] = []
      const t = withLogout({ audit: (event) => void events.push(event) })
      const { access } = await login(t)
      events.length = 0
      await logout(t, access, { everywhere: 'yes' })
      await t.agent.post('/auth/logout')
      expect(events).to.deep.equal([])
    })
  })
})
