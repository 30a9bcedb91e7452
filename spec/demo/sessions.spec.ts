import { expect } from 'chai'
import request from 'supertest'

import { createDemoApp, REFRESH_REUSE_INTERVAL, type DemoApp } from '../../demo/app'
import { refreshTokenId, type AuditEvent } from '../../source'
import { makeClock } from '../helpers/app'

const SECRET = 'demo-spec-secret-long-enough-for-hs256'
/** Past the 1800 s lifetime and the 180 s leeway. */
const PAST_EXPIRY = 1800 + 180 + 1

type Agent = ReturnType<typeof request>
type Answer = Awaited<ReturnType<Agent['get']>>
type Tokens = { access_token: string; refresh_token: string }

const bearer = (token: string): string => `Bearer ${token}`

/** The JSON error body every failure of the demo answers. */
function expectError(res: Answer, status: number, exception: string, code: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status)
  expect(res.body.exception).to.equal(exception)
  expect(res.body.code).to.equal(code)
  expect(res.body).to.not.have.property('access_token')
}

describe('demo: sessions (token store, refresh rotation, logout, audit)', () => {
  let demo: DemoApp
  let agent: Agent
  let clock: ReturnType<typeof makeClock>
  let heard: AuditEvent[]

  beforeEach(async () => {
    clock = makeClock()
    heard = []
    demo = await createDemoApp({ secret: SECRET, clock: clock.clock, onAudit: (event) => heard.push(event) })
    agent = request(demo.app.callback())
  })

  /** POST /auth: a new login, as a new device makes. */
  async function login(username = 'alice', password = 'wonderland'): Promise<Tokens> {
    const res = await agent.post('/auth').send({ username, password })
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    return { access_token: res.body.access_token as string, refresh_token: res.body.refresh_token as string }
  }

  function refreshWith(accessToken: string, refreshToken: string): ReturnType<Agent['post']> {
    return agent.post('/auth/refresh').set('Authorization', bearer(accessToken)).send({ refresh_token: refreshToken })
  }

  /** Refreshes a device, which keeps the rotated pair. */
  async function refresh(device: Tokens): Promise<Tokens> {
    const res = await refreshWith(device.access_token, device.refresh_token)
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    expect(Object.keys(res.body)).to.deep.equal(['access_token', 'refresh_token'])
    return { access_token: res.body.access_token as string, refresh_token: res.body.refresh_token as string }
  }

  function profile(accessToken: string): ReturnType<Agent['get']> {
    return agent.get('/api/profile').set('Authorization', bearer(accessToken))
  }

  function logout(accessToken: string, body?: object): ReturnType<Agent['post']> {
    const req = agent.post('/auth/logout').set('Authorization', bearer(accessToken))
    return body === undefined ? req : req.send(body)
  }

  async function expectWorks(device: Tokens): Promise<Tokens> {
    await profile(device.access_token).expect(200)
    return refresh(device)
  }

  async function expectRevoked(device: Tokens): Promise<void> {
    expectError(await profile(device.access_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
    // The refresh token itself is refused, even next to a valid access token of another login.
    const other = await login()
    await profile(other.access_token).expect(200)
    expectError(await refreshWith(other.access_token, device.refresh_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
  }

  /**
   * Moves the spec clock on by a second, around a "log out everywhere". Its cut-off time refuses
   * the tokens issued before it and accepts those issued after it. The spec clock stands still,
   * and a token issued in the very instant of the cut-off is neither before nor after it: the
   * specs issue none then.
   */
  function tick(): void {
    clock.now += 1
  }

  describe('refresh rotation', () => {
    it('answers a new refresh token with each refresh; the new one refreshes in turn', async () => {
      const first = await login()
      const second = await refresh(first)
      expect(second.refresh_token).to.not.equal(first.refresh_token)
      const third = await refresh(second)
      expect(third.refresh_token).to.not.equal(second.refresh_token)
      await profile(third.access_token).expect(200)
      const retired = await demo.jwt.tokens.get(refreshTokenId(first.refresh_token))
      expect(retired).to.include({
        retiredAt: clock.now,
        replacedBy: refreshTokenId(second.refresh_token),
        revoked: false,
      })
    })

    it('refreshes an expired access token', async () => {
      const device = await login()
      clock.now += PAST_EXPIRY
      const expired = await profile(device.access_token)
      expect(expired.status).to.equal(401)
      expect(expired.body.code).to.equal('ERR_JWT_EXPIRED')
      const next = await refresh(device)
      await profile(next.access_token).expect(200)
    })

    it('reuse of a rotated refresh token: 401 RefreshTokenReused, and the new tokens of that login are refused too', async () => {
      const first = await login()
      const second = await refresh(first)
      clock.now += REFRESH_REUSE_INTERVAL
      const reused = await refreshWith(second.access_token, first.refresh_token)
      expectError(reused, 401, 'RefreshTokenReused', 'ERR_JWT_REFRESH_REUSED')
      // The thief and the user cannot tell each other apart: the whole login is revoked.
      await expectRevoked(second)
      expectError(await profile(first.access_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
      // Presenting the old one yet again: it is revoked by now.
      const third = await login()
      expectError(await refreshWith(third.access_token, first.refresh_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
      // Only that login: a new one works.
      await expectWorks(third)
      expect(heard.filter((event) => event.type === 'reuse_detected')).to.deep.equal([
        { type: 'reuse_detected', userId: '1', jti: refreshTokenId(first.refresh_token), time: clock.now },
      ])
    })

    it(`tolerates the two-tabs race: within ${REFRESH_REUSE_INTERVAL} s the old token gets an access token, no refresh token`, async () => {
      const tab = await login()
      const rotated = await refresh(tab)
      clock.now += REFRESH_REUSE_INTERVAL - 1
      const late = await refreshWith(tab.access_token, tab.refresh_token)
      expect(late.status, JSON.stringify(late.body)).to.equal(200)
      expect(Object.keys(late.body)).to.deep.equal(['access_token'])
      await profile(late.body.access_token as string).expect(200)
      // The second tab goes on with the refresh token the first one stored.
      await expectWorks(rotated)
      expect(heard.some((event) => event.type === 'reuse_detected')).to.equal(false)
    })

    it('revokes the whole login when the retired token comes back after the interval, even if the new one was used', async () => {
      const device = await login()
      const second = await refresh(device)
      const third = await refresh(second)
      clock.now += REFRESH_REUSE_INTERVAL
      const reused = await refreshWith(third.access_token, second.refresh_token)
      expectError(reused, 401, 'RefreshTokenReused', 'ERR_JWT_REFRESH_REUSED')
      await expectRevoked(third)
    })
  })

  describe('two devices', () => {
    it('each login has its own refresh token, rotating on its own', async () => {
      let laptop = await login()
      let phone = await login()
      expect(phone.refresh_token).to.not.equal(laptop.refresh_token)
      for (let round = 0; round < 3; round++) {
        laptop = await refresh(laptop)
        clock.now += 60
        phone = await refresh(phone)
      }
      await profile(laptop.access_token).expect(200)
      await profile(phone.access_token).expect(200)
    })

    it("reuse on one device revokes that device's login only", async () => {
      const laptop = await login()
      const phone = await login()
      await refresh(laptop)
      clock.now += REFRESH_REUSE_INTERVAL
      const reused = await refreshWith(phone.access_token, laptop.refresh_token)
      expectError(reused, 401, 'RefreshTokenReused', 'ERR_JWT_REFRESH_REUSED')
      await expectWorks(phone)
    })
  })

  describe('endpoint: POST /auth/logout', () => {
    it('revokes the access token and the refresh token of its login; the other device keeps working', async () => {
      const laptop = await login()
      const phone = await login()
      const res = await logout(phone.access_token)
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expect(res.body).to.deep.equal({ logout: true })
      await expectRevoked(phone)
      await expectWorks(laptop)
    })

    it('revokes the tokens a login got by refreshing, and the retired ones', async () => {
      const first = await login()
      const second = await refresh(first)
      const third = await refresh(second)
      await logout(third.access_token).expect(200)
      for (const device of [first, second, third]) await expectRevoked(device)
    })

    it('takes an expired access token and revokes its login', async () => {
      const device = await login()
      clock.now += PAST_EXPIRY
      await logout(device.access_token).expect(200)
      // Without the logout, this pair would refresh (POST /auth/refresh takes an expired token).
      expectError(await refreshWith(device.access_token, device.refresh_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
      const other = await login()
      expectError(await refreshWith(other.access_token, device.refresh_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
    })

    // Past its expiry (and the leeway) an access token's record has left the token store; the token
    // still names its login in its sid claim, so the logout revokes the right family.
    it('takes an expired refreshed access token and revokes its login (the sid claim)', async () => {
      const device = await refresh(await login())
      clock.now += PAST_EXPIRY
      await logout(device.access_token).expect(200)
      const other = await login()
      expectError(await refreshWith(other.access_token, device.refresh_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
    })

    it('refuses a second logout with the same token (401 RevokedToken)', async () => {
      const device = await login()
      await logout(device.access_token).expect(200)
      expectError(await logout(device.access_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
    })

    it('logs out everywhere with {"everywhere":true}: every device of the user, no other user', async () => {
      const laptop = await login()
      const phone = await login()
      const fresh = await agent.post('/auth/fresh').send({ username: 'alice', password: 'wonderland' })
      const admin = await login('admin', 'admin-password')
      tick()
      const res = await logout(phone.access_token, { everywhere: true })
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expect(res.body).to.deep.equal({ logout: true })
      tick()
      await expectRevoked(laptop)
      await expectRevoked(phone)
      expectError(await profile(fresh.body.access_token as string), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
      await expectWorks(admin)
    })

    it('lets the user log in again after logging out everywhere', async () => {
      const device = await login()
      tick()
      await logout(device.access_token, { everywhere: true }).expect(200)
      tick()
      await expectWorks(await login())
    })

    it('answers 400 InvalidRequestBody for an everywhere that is not a boolean, and revokes nothing', async () => {
      const device = await login()
      const res = await logout(device.access_token, { everywhere: 'yes' })
      expectError(res, 400, 'InvalidRequestBody', 'ERR_JWT_INVALID_BODY')
      await expectWorks(device)
    })
  })

  describe('route: POST /account/password logs the user out everywhere', () => {
    it('revokes every device of the user, the one that changed it included; a new login works', async () => {
      const laptop = await login()
      const phone = await login()
      const other = await login('admin', 'admin-password')
      tick()
      const res = await agent
        .post('/account/password')
        .set('Authorization', bearer(laptop.access_token))
        .send({ currentPassword: 'wonderland', newPassword: 'looking-glass' })
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      expect(res.body).to.deep.equal({ changed: true, logout: 'everywhere' })
      await expectWorks(other)
      tick()
      for (const device of [laptop, phone]) {
        expectError(await profile(device.access_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
      }
      const again = await login('alice', 'looking-glass')
      await profile(again.access_token).expect(200)
      for (const device of [laptop, phone]) {
        expectError(await refreshWith(again.access_token, device.refresh_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
      }
      await expectWorks(again)
    })

    it('revokes nothing when the change is refused', async () => {
      const device = await login()
      const wrong = await agent
        .post('/account/password')
        .set('Authorization', bearer(device.access_token))
        .send({ currentPassword: 'nope', newPassword: 'looking-glass' })
      expectError(wrong, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED')
      await expectWorks(device)
      expect(heard.some((event) => event.type === 'revoked')).to.equal(false)
    })
  })

  describe('audit trail (GET /admin/audit, the onAudit option)', () => {
    it('lists login, refresh, logout, revoked and reuse_detected events, oldest first, for admin', async () => {
      const alice = await login()
      const rotated = await refresh(alice)
      const phone = await login()
      await logout(phone.access_token).expect(200)
      clock.now += REFRESH_REUSE_INTERVAL
      await refreshWith(rotated.access_token, alice.refresh_token).expect(401)
      const admin = await login('admin', 'admin-password')
      const res = await agent.get('/admin/audit').set('Authorization', bearer(admin.access_token))
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      const events = res.body.events as AuditEvent[]
      expect(events.map((event) => [event.type, event.userId])).to.deep.equal([
        ['login', '1'],
        ['refresh', '1'],
        ['login', '1'],
        ['revoked', '1'],
        ['logout', '1'],
        ['reuse_detected', '1'],
        ['login', '2'],
      ])
      for (const event of events) expect(Object.keys(event)).to.deep.equal(['type', 'userId', 'jti', 'time'])
      expect(events[0]?.time).to.equal(clock.now - REFRESH_REUSE_INTERVAL)
      expect(events.at(-1)?.time).to.equal(clock.now)
      // What onAudit heard, and what the app keeps.
      expect(heard).to.deep.equal(events)
      expect(demo.audit.list()).to.deep.equal(events)
    })

    it('never shows a token', async () => {
      const alice = await login()
      const rotated = await refresh(alice)
      const fresh = await agent.post('/auth/fresh').send({ username: 'alice', password: 'wonderland' })
      await logout(rotated.access_token, { everywhere: true }).expect(200)
      const admin = await login('admin', 'admin-password')
      const res = await agent.get('/admin/audit').set('Authorization', bearer(admin.access_token))
      expect(res.status).to.equal(200)
      const text = JSON.stringify(res.body)
      const tokens = [alice, rotated, admin].flatMap((pair) => [pair.access_token, pair.refresh_token])
      tokens.push(fresh.body.access_token as string)
      for (const token of tokens) {
        expect(text).to.not.include(token)
        // Nor the signature of an access token, nor any 40-character piece of a refresh token.
        expect(text).to.not.include(token.split('.').at(-1) ?? token)
        expect(text).to.not.include(token.slice(0, 40))
      }
    })

    it('answers 401 without a token and 403 ERR_JWT_INVALID_SCOPE for alice', async () => {
      expectError(await agent.get('/admin/audit'), 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
      const alice = await login()
      const res = await agent.get('/admin/audit').set('Authorization', bearer(alice.access_token))
      expectError(res, 403, 'Unauthorized', 'ERR_JWT_INVALID_SCOPE')
    })

    it('keeps the last 100 events', () => {
      expect(demo.audit.limit).to.equal(100)
    })
  })
})
