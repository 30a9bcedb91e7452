/**
 * Refresh tokens kept in the token store (`revocationEnabled` + `refreshTokenEnabled`, no refresh
 * handlers): one per login, recorded under a hash, with their own expiry and revocation. The
 * sanic-jwt handler model (storeRefreshToken/retrieveRefreshToken) keeps working beside a store.
 */
import { createHash } from 'node:crypto'

import { expect } from 'chai'
import type { Response } from 'supertest'

import { RefreshTokenNotImplemented, type InitializeOptions, type TokenRecord } from '../../source'
import type { TestUser } from '../helpers/app'
import {
  bearer,
  build,
  cookieHeader,
  cookieValue,
  expectAuthFailed,
  expectError,
  expectNoUnhandledErrors,
  getAs,
  setCookies,
  type OptionsApp,
} from '../helpers/options'

const STORE_MODE = { revocationEnabled: true, refreshTokenEnabled: true } as const

/** The id the store records an opaque refresh token under: sha256, base64url, 22 characters. */
function hashed(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url').slice(0, 22)
}

async function records(t: OptionsApp, userId?: number): Promise<TokenRecord[]> {
  const found: TokenRecord[] = []
  for await (const record of userId === undefined ? t.jwt.tokens.all() : t.jwt.tokens.forUser(userId)) found.push(record)
  return found
}

function refreshWith(t: OptionsApp, access: string, refreshToken: string): Promise<Response> {
  return t.agent.post('/auth/refresh').set('Authorization', bearer(access)).send({ refresh_token: refreshToken })
}

function expectRevoked(res: Response): void {
  expectError(res, 401, 'RevokedToken', 'ERR_JWT_REVOKED', ['Token has been revoked.'])
}

function expectAccessToken(res: Response): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(200)
  expect(res.body.access_token).to.be.a('string').with.length.above(20)
}

describe('option: refresh tokens in the token store (revocationEnabled + refreshTokenEnabled, no handlers)', () => {
  afterEach(expectNoUnhandledErrors)

  let t: OptionsApp
  const make = (options: InitializeOptions<TestUser> = {}): OptionsApp => {
    t = build({ ...STORE_MODE, ...options })
    return t
  }

  describe('one refresh token per login', () => {
    beforeEach(() => make())

    it('starts without refresh handlers: the store holds the refresh tokens', () => {
      expect(t.jwt.auth.storesRefreshTokens).to.equal(true)
      expect(t.jwt.tokens.store).to.not.equal(undefined)
    })

    it('answers a refresh token on login and records it for the user, as a refresh record of the login family', async () => {
      const body = await t.login()
      expect(body.refresh_token).to.be.a('string').that.is.not.empty
      const mine = await records(t, 1)
      const refreshRecords = mine.filter((record) => record.type === 'refresh')
      expect(refreshRecords).to.have.length(1)
      const [record] = refreshRecords
      const access = mine.find((candidate) => candidate.type === 'access')
      expect(record).to.include({ jti: hashed(body.refresh_token!), userId: '1', revoked: false, retiredAt: null, replacedBy: null })
      expect(record!.family).to.be.a('string').and.equal(access!.family)
    })

    it('keeps one refresh token per login: two logins are two devices, each refreshing with its own', async () => {
      const laptop = await t.login()
      const phone = await t.login()
      expect(laptop.refresh_token).to.not.equal(phone.refresh_token)
      expect((await records(t, 1)).filter((record) => record.type === 'refresh')).to.have.length(2)
      // The second login did not replace the first device's token (the README's old Map recipe did).
      expectAccessToken(await refreshWith(t, laptop.access_token!, laptop.refresh_token!))
      expectAccessToken(await refreshWith(t, phone.access_token!, phone.refresh_token!))
      // And again: without rotation a refresh token stays usable.
      expectAccessToken(await refreshWith(t, laptop.access_token!, laptop.refresh_token!))
    })

    it('answers only a new access token on refresh (no rotation by default), not fresh, that passes a protected route', async () => {
      const body = await t.login()
      const res = await refreshWith(t, body.access_token!, body.refresh_token!)
      expect(Object.keys(res.body)).to.deep.equal(['access_token'])
      expect(res.body.access_token).to.not.equal(body.access_token)
      expect((await getAs(t, '/protected', res.body.access_token)).status).to.equal(200)
    })

    it('never stores a refresh token in clear: no key and no value of the store holds its text', async () => {
      const tokens = [await t.login(), await t.login('user2'), await t.login()].map((body) => body.refresh_token!)
      const store = t.jwt.tokens.store!
      let keys = 0
      for await (const key of store.keys()) {
        keys += 1
        const text = JSON.stringify(await store.get(key))
        for (const token of tokens) {
          expect(key).to.not.include(token)
          expect(text).to.not.include(token)
        }
      }
      expect(keys).to.be.at.least(6)
      const all = await records(t)
      const refreshIds = all.filter((record) => record.type === 'refresh').map((record) => record.jti)
      expect(refreshIds.sort()).to.deep.equal(tokens.map(hashed).sort())
      for (const record of all) {
        for (const token of tokens) expect(JSON.stringify(record)).to.not.include(token)
      }
    })
  })

  describe('refreshExpirationDelta', () => {
    it('defaults to 30 days', () => {
      make()
      expect(t.jwt.config.get('refreshExpirationDelta')).to.equal(30 * 24 * 3600)
    })

    it("records the refresh token until login + refreshExpirationDelta ('1h')", async () => {
      make({ refreshExpirationDelta: '1h' })
      await t.login()
      const record = (await records(t, 1)).find((candidate) => candidate.type === 'refresh')
      expect(record!.expiresAt).to.equal(t.clock.now + 3600)
    })

    it('accepts the refresh token just before it expires (the access token long expired)', async () => {
      make({ refreshExpirationDelta: '1h' })
      const body = await t.login()
      t.clock.now += 3599
      expectAccessToken(await refreshWith(t, body.access_token!, body.refresh_token!))
    })

    it('refuses it once the clock has moved past: 401 AuthenticationFailed', async () => {
      make({ refreshExpirationDelta: '1h' })
      const body = await t.login()
      t.clock.now += 3601
      expectAuthFailed(await refreshWith(t, body.access_token!, body.refresh_token!))
    })

    it('refuses it at exactly login + refreshExpirationDelta (expiry is exclusive, no leeway)', async () => {
      make({ refreshExpirationDelta: '1h' })
      const body = await t.login()
      t.clock.now += 3600
      expectAuthFailed(await refreshWith(t, body.access_token!, body.refresh_token!))
    })
  })

  describe('refusals', () => {
    beforeEach(() => make())

    it("refuses another user's refresh token with my access token: 401 AuthenticationFailed", async () => {
      const mine = await t.login('user1')
      const theirs = await t.login('user2')
      expectAuthFailed(await refreshWith(t, mine.access_token!, theirs.refresh_token!))
      // Theirs still works for them.
      expectAccessToken(await refreshWith(t, theirs.access_token!, theirs.refresh_token!))
    })

    it('refuses an unknown refresh token: 401 AuthenticationFailed', async () => {
      const body = await t.login()
      expectAuthFailed(await refreshWith(t, body.access_token!, 'f'.repeat(48)))
    })

    it("refuses the refresh token's hash presented as the token: 401 AuthenticationFailed", async () => {
      const body = await t.login()
      expectAuthFailed(await refreshWith(t, body.access_token!, hashed(body.refresh_token!)))
    })

    it('refuses a request without a refresh token: 401 AuthenticationFailed', async () => {
      const body = await t.login()
      expectAuthFailed(await t.agent.post('/auth/refresh').set('Authorization', bearer(body.access_token!)).send({}))
    })

    it('refuses a refresh token revoked with jwt.tokens.revoke(refreshToken): 401 RevokedToken', async () => {
      const body = await t.login()
      expect(await t.jwt.tokens.revoke(body.refresh_token!)).to.equal(true)
      const record = await t.jwt.tokens.get(hashed(body.refresh_token!))
      expect(record).to.include({ type: 'refresh', revoked: true })
      expectRevoked(await refreshWith(t, body.access_token!, body.refresh_token!))
      // The access token of that login is not revoked by it.
      expect((await getAs(t, '/protected', body.access_token!)).status).to.equal(200)
    })

    it('refuses a refresh token revoked by its id (the hash)', async () => {
      const body = await t.login()
      expect(await t.jwt.tokens.revoke(hashed(body.refresh_token!))).to.equal(true)
      expectRevoked(await refreshWith(t, body.access_token!, body.refresh_token!))
    })

    it('accepts it again after jwt.tokens.unrevoke(id)', async () => {
      const body = await t.login()
      await t.jwt.tokens.revoke(body.refresh_token!)
      expect(await t.jwt.tokens.unrevoke(hashed(body.refresh_token!))).to.equal(true)
      expectAccessToken(await refreshWith(t, body.access_token!, body.refresh_token!))
    })

    it('refuses the refresh tokens issued before revokeUser, even with an access token issued after it', async () => {
      const before = await t.login()
      t.clock.now += 1
      await t.jwt.tokens.revokeUser(1)
      // The old access token is refused by the guard first.
      expectRevoked(await refreshWith(t, before.access_token!, before.refresh_token!))
      t.clock.now += 1
      const after = await t.login()
      // The old refresh token with a new access token: the refresh token's own cut-off check.
      expectRevoked(await refreshWith(t, after.access_token!, before.refresh_token!))
      expectAccessToken(await refreshWith(t, after.access_token!, after.refresh_token!))
    })

    it('leaves the other users alone on revokeUser', async () => {
      const theirs = await t.login('user2')
      await t.jwt.tokens.revokeUser(1)
      expectAccessToken(await refreshWith(t, theirs.access_token!, theirs.refresh_token!))
    })

    it('refuses the refresh token of a login that logged out (the whole login family)', async () => {
      const body = await t.login()
      const other = await t.login()
      const res = await t.agent.post('/auth/logout').set('Authorization', bearer(body.access_token!))
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expectRevoked(await refreshWith(t, other.access_token!, body.refresh_token!))
      expectAccessToken(await refreshWith(t, other.access_token!, other.refresh_token!))
    })

    it("puts a refreshed access token in its login's family: logging out with it revokes that login's refresh token", async () => {
      const body = await t.login()
      const other = await t.login()
      const refreshed = await refreshWith(t, body.access_token!, body.refresh_token!)
      expectAccessToken(refreshed)
      const res = await t.agent.post('/auth/logout').set('Authorization', bearer(refreshed.body.access_token))
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expectRevoked(await getAs(t, '/protected', body.access_token!))
      expectRevoked(await refreshWith(t, other.access_token!, body.refresh_token!))
      expect((await getAs(t, '/protected', other.access_token!)).status).to.equal(200)
    })
  })

  describe("revocationChecks: 'access'", () => {
    beforeEach(() => make({ revocationChecks: 'access' }))

    it('leaves refresh tokens unchecked: a revoked refresh token still refreshes', async () => {
      const body = await t.login()
      await t.jwt.tokens.revoke(body.refresh_token!)
      expectAccessToken(await refreshWith(t, body.access_token!, body.refresh_token!))
    })

    it("ignores the user's cut-off for refresh tokens, while access tokens issued before it are refused", async () => {
      const before = await t.login()
      t.clock.now += 1
      await t.jwt.tokens.revokeUser(1)
      expectRevoked(await getAs(t, '/protected', before.access_token!))
      t.clock.now += 1
      const after = await t.login()
      expectAccessToken(await refreshWith(t, after.access_token!, before.refresh_token!))
    })

    it('still refuses unknown and expired refresh tokens (those are not revocation checks)', async () => {
      make({ revocationChecks: 'access', refreshExpirationDelta: 60 })
      const body = await t.login()
      expectAuthFailed(await refreshWith(t, body.access_token!, 'a'.repeat(48)))
      t.clock.now += 61
      expectAuthFailed(await refreshWith(t, body.access_token!, body.refresh_token!))
    })
  })

  describe('without a store', () => {
    it('still needs both refresh handlers for refreshTokenEnabled: RefreshTokenNotImplemented at start-up', () => {
      expect(() => build({ refreshTokenEnabled: true })).to.throw(RefreshTokenNotImplemented)
    })
  })

  describe('with refresh handlers too (the sanic-jwt model): the handlers win', () => {
    let map: Map<unknown, string>
    let calls: unknown[][]
    beforeEach(() => {
      map = new Map()
      calls = []
      make({
        storeRefreshToken: (userId, token) => {
          calls.push([userId, token])
          map.set(userId, token)
        },
        retrieveRefreshToken: (userId) => map.get(userId) ?? null,
      })
    })

    it('does not keep refresh tokens in the store', () => {
      expect(t.jwt.auth.storesRefreshTokens).to.equal(false)
    })

    it('calls storeRefreshToken on login and records no refresh token in the store (access tokens only)', async () => {
      const body = await t.login()
      expect(calls).to.deep.equal([[1, body.refresh_token]])
      const all = await records(t)
      expect(all.map((record) => record.type)).to.deep.equal(['access'])
      expect(await t.jwt.tokens.get(hashed(body.refresh_token!))).to.equal(undefined)
    })

    it('refreshes through retrieveRefreshToken, and the second login replaces the first as before', async () => {
      const first = await t.login()
      expectAccessToken(await refreshWith(t, first.access_token!, first.refresh_token!))
      const second = await t.login()
      expectAccessToken(await refreshWith(t, second.access_token!, second.refresh_token!))
      expectAuthFailed(await refreshWith(t, first.access_token!, first.refresh_token!))
    })

    it('still checks the access token for revocation on /auth/refresh', async () => {
      const body = await t.login()
      await t.jwt.tokens.revoke(body.access_token!)
      expectRevoked(await refreshWith(t, body.access_token!, body.refresh_token!))
    })
  })

  describe('cookie mode', () => {
    function cookiesOf(res: Response): Record<string, string> {
      const access = cookieValue(res, 'access_token')
      const refresh = cookieValue(res, 'refresh_token')
      if (access === undefined || refresh === undefined) throw new Error(`missing cookies: ${setCookies(res).join(' | ')}`)
      return { access_token: access, refresh_token: refresh }
    }

    it('reads the refresh cookie and answers a new access cookie, leaving the refresh cookie alone without rotation', async () => {
      make({ cookieSet: true })
      const login = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      const cookies = cookiesOf(login)
      expect(cookies.refresh_token).to.equal(login.body.refresh_token)
      const res = await t.agent.post('/auth/refresh').set('Cookie', cookieHeader(cookies))
      expectAccessToken(res)
      expect(cookieValue(res, 'access_token')).to.equal(res.body.access_token)
      expect(cookieValue(res, 'refresh_token')).to.equal(undefined)
    })

    it('refuses a refresh cookie the store does not know: 401 AuthenticationFailed', async () => {
      make({ cookieSet: true })
      const login = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      const cookies = { ...cookiesOf(login), refresh_token: 'b'.repeat(48) }
      expectAuthFailed(await t.agent.post('/auth/refresh').set('Cookie', cookieHeader(cookies)))
    })

    it('with rotation, replaces the refresh cookie by the new refresh token and retires the old one', async () => {
      make({ cookieSet: true, refreshRotation: true })
      const login = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      const cookies = cookiesOf(login)
      const res = await t.agent.post('/auth/refresh').set('Cookie', cookieHeader(cookies))
      expectAccessToken(res)
      const next = cookieValue(res, 'refresh_token')
      expect(next).to.be.a('string').and.not.equal(cookies.refresh_token)
      expect(res.body.refresh_token).to.equal(next)
      // The new pair refreshes; the old refresh cookie is reuse.
      const again = await t.agent.post('/auth/refresh').set('Cookie', cookieHeader(cookiesOf(res)))
      expectAccessToken(again)
      const reused = await t.agent.post('/auth/refresh').set('Cookie', cookieHeader({ ...cookiesOf(again), refresh_token: cookies.refresh_token! }))
      expectError(reused, 401, 'RefreshTokenReused', 'ERR_JWT_REFRESH_REUSED', ['Refresh token reused.'])
    })
  })
})
