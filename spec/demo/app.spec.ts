import { expect } from 'chai'
import jsonwebtoken from 'jsonwebtoken'
import request from 'supertest'

import { createDemoApp, type DemoApp } from '../../demo/app'
import { refreshTokenId } from '../../source'
import { makeClock } from '../helpers/app'

const SECRET = 'demo-spec-secret-long-enough-for-hs256'
/** Past the 1800 s lifetime and the 180 s leeway. */
const PAST_EXPIRY = 1800 + 180 + 1

type Agent = ReturnType<typeof request>

function payloadOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1]
  if (part === undefined) throw new Error('not a JWT')
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
}

async function login(agent: Agent, username: string, password: string): Promise<Record<string, string>> {
  const res = await agent.post('/auth').send({ username, password }).expect(200)
  return res.body as Record<string, string>
}

const bearer = (token: string | undefined): string => `Bearer ${token ?? ''}`

describe('demo: createDemoApp()', () => {
  let demo: DemoApp
  let agent: Agent
  let clock: ReturnType<typeof makeClock>

  beforeEach(async () => {
    clock = makeClock()
    demo = await createDemoApp({ secret: SECRET, clock: clock.clock })
    agent = request(demo.app.callback())
  })

  it('walks the whole curl story: login, protected, scoped, refresh after expiry, me, logout', async () => {
    const alice = await login(agent, 'alice', 'wonderland')
    const verify = await agent.get('/auth/verify').set('Authorization', bearer(alice.access_token))
    expect(verify.status).to.equal(200)
    expect(verify.body).to.deep.equal({ valid: true })

    const profile = await agent.get('/api/profile').set('Authorization', bearer(alice.access_token))
    expect(profile.status).to.equal(200)
    expect(profile.body).to.deep.equal({ profile: { id: 1, username: 'alice', scopes: ['user:read'] } })

    const forbidden = await agent.get('/api/admin').set('Authorization', bearer(alice.access_token))
    expect(forbidden.status).to.equal(403)
    expect(forbidden.body.exception).to.equal('Unauthorized')
    expect(forbidden.body.code).to.equal('ERR_JWT_INVALID_SCOPE')

    const admin = await login(agent, 'admin', 'admin-password')
    const allowed = await agent.get('/api/admin').set('Authorization', bearer(admin.access_token))
    expect(allowed.status).to.equal(200)
    expect(allowed.body.admin).to.equal(true)

    clock.now += PAST_EXPIRY
    const expired = await agent.get('/api/profile').set('Authorization', bearer(alice.access_token))
    expect(expired.status).to.equal(401)
    expect(expired.body.code).to.equal('ERR_JWT_EXPIRED')

    const refreshed = await agent
      .post('/auth/refresh')
      .set('Authorization', bearer(alice.access_token))
      .send({ refresh_token: alice.refresh_token })
    expect(refreshed.status).to.equal(200)
    // Rotation: a new refresh token with every refresh.
    expect(Object.keys(refreshed.body)).to.deep.equal(['access_token', 'refresh_token'])
    expect(refreshed.body.refresh_token).to.not.equal(alice.refresh_token)
    const fresh = refreshed.body.access_token as string

    const me = await agent.get('/auth/me').set('Authorization', bearer(fresh))
    expect(me.status).to.equal(200)
    expect(me.body.me).to.deep.equal({ user_id: 1, username: 'alice', scopes: ['user:read'] })

    const logout = await agent.post('/auth/logout').set('Authorization', bearer(fresh))
    expect(logout.status).to.equal(200)
    expect(logout.body).to.deep.equal({ logout: true })

    await agent.get('/api/profile').set('Authorization', bearer(fresh)).expect(401)
    const otherLogin = await login(agent, 'alice', 'wonderland')
    const again = await agent
      .post('/auth/refresh')
      .set('Authorization', bearer(otherLogin.access_token))
      .send({ refresh_token: refreshed.body.refresh_token })
    expect(again.status).to.equal(401)
    expect(again.body.exception).to.equal('RevokedToken')
    expect(again.body.code).to.equal('ERR_JWT_REVOKED')
    expect(again.body).to.not.have.property('access_token')
  })

  describe('endpoint: POST /auth', () => {
    it('answers access_token, refresh_token and the user added by the Responses subclass', async () => {
      const body = await login(agent, 'alice', 'wonderland')
      expect(Object.keys(body).sort()).to.deep.equal(['access_token', 'refresh_token', 'user'])
      expect(body.user).to.deep.equal({ id: 1, username: 'alice' })
      // Kept in the token store under a hash of it, never the token itself.
      const record = await demo.jwt.tokens.get(refreshTokenId(body.refresh_token ?? ''))
      expect(record).to.include({ type: 'refresh', userId: '1', revoked: false, expiresAt: clock.now + 30 * 24 * 3600 })
      expect(JSON.stringify(record)).to.not.include(body.refresh_token)
    })

    it('gives each login a refresh token of its own (one per device)', async () => {
      const first = await login(agent, 'alice', 'wonderland')
      const second = await login(agent, 'alice', 'wonderland')
      expect(second.refresh_token).to.not.equal(first.refresh_token)
      for (const { refresh_token } of [first, second]) {
        expect(await demo.jwt.tokens.get(refreshTokenId(refresh_token ?? ''))).to.include({ revoked: false })
      }
    })

    it('signs user_id, the username custom claim, the scopes, exp, iat, jti, sid and csrf into the access token', async () => {
      const body = await login(agent, 'admin', 'admin-password')
      const payload = payloadOf(body.access_token ?? '')
      expect(payload['jti']).to.be.a('string').with.length(22)
      expect(payload['csrf']).to.be.a('string').that.matches(/^[\w-]{22}$/)
      expect(payload).to.deep.equal({
        user_id: 2,
        username: 'admin',
        scopes: ['user:read', 'user:write', 'admin'],
        exp: clock.now + 1800,
        // Revocation: every token has an id, a time of issue and its login's id (a login's first
        // token: its own id).
        iat: clock.now,
        jti: payload['jti'],
        sid: payload['jti'],
        // loginFreshness '15m': fresh until the epoch now + 900.
        fresh: clock.now + 900,
        // cookieCsrfProtect: the value the page sends back in the CSRF header (random, per token).
        csrf: payload['csrf'],
      })
    })

    it('returns 401 AuthenticationFailed for a wrong password', async () => {
      const res = await agent.post('/auth').send({ username: 'alice', password: 'not-wonderland' })
      expect(res.status).to.equal(401)
      expect(res.body.exception).to.equal('AuthenticationFailed')
      expect(res.body.code).to.equal('ERR_JWT_AUTHENTICATION_FAILED')
      expect(res.body).to.not.have.property('access_token')
    })

    it('gives an unknown user the same 401 reasons as a wrong password', async () => {
      const wrong = await agent.post('/auth').send({ username: 'alice', password: 'nope' })
      const unknown = await agent.post('/auth').send({ username: 'mallory', password: 'nope' })
      expect(unknown.status).to.equal(401)
      expect(unknown.body).to.deep.equal(wrong.body)
    })

    it('returns 401 AuthenticationFailed when username or password is missing or not a string', async () => {
      for (const body of [{}, { username: 'alice' }, { username: 'alice', password: 42 }, ['alice']]) {
        const res = await agent.post('/auth').send(body)
        expect(res.status, JSON.stringify(body)).to.equal(401)
        expect(res.body.code).to.equal('ERR_JWT_AUTHENTICATION_FAILED')
      }
    })

    it('accepts a form-encoded login as well as JSON', async () => {
      const res = await agent.post('/auth').type('form').send('username=alice&password=wonderland')
      expect(res.status).to.equal(200)
      expect(res.body.user).to.deep.equal({ id: 1, username: 'alice' })
    })
  })

  describe('route: GET /api/profile', () => {
    it('returns 401 Unauthorized ERR_JWT_MISSING_HEADER without a token', async () => {
      const res = await agent.get('/api/profile')
      expect(res.status).to.equal(401)
      expect(res.body.exception).to.equal('Unauthorized')
      expect(res.body.code).to.equal('ERR_JWT_MISSING_HEADER')
    })

    it('refuses a signed token without the username claim (401 ERR_JWT_CUSTOM_CLAIM_FAILED)', async () => {
      const sign = (claims: object): string => jsonwebtoken.sign(claims, SECRET, { noTimestamp: true })
      const claims = { user_id: 1, scopes: ['user:read'], exp: clock.now + 60, iat: clock.now, jti: 'hand-made-1' }
      const withName = sign({ ...claims, username: 'alice' })
      await agent.get('/api/profile').set('Authorization', bearer(withName)).expect(200)
      const res = await agent.get('/api/profile').set('Authorization', bearer(sign(claims)))
      expect(res.status).to.equal(401)
      expect(res.body.exception).to.equal('Unauthorized')
      expect(res.body.code).to.equal('ERR_JWT_CUSTOM_CLAIM_FAILED')
    })

    it('refuses a signed token without a jti: it could not be revoked (401 ERR_JWT_CLAIM_MISSING)', async () => {
      const claims = { user_id: 1, username: 'alice', scopes: ['user:read'], exp: clock.now + 60 }
      const token = jsonwebtoken.sign(claims, SECRET, { noTimestamp: true })
      const res = await agent.get('/api/profile').set('Authorization', bearer(token))
      expect(res.status).to.equal(401)
      expect(res.body.code).to.equal('ERR_JWT_CLAIM_MISSING')
    })
  })

  describe('route: GET /api/admin', () => {
    it('returns 403 ERR_JWT_INVALID_SCOPE with an insufficient_scope challenge for alice', async () => {
      const { access_token } = await login(agent, 'alice', 'wonderland')
      const res = await agent.get('/api/admin').set('Authorization', bearer(access_token))
      expect(res.status).to.equal(403)
      expect(res.body.exception).to.equal('Unauthorized')
      expect(res.body.code).to.equal('ERR_JWT_INVALID_SCOPE')
      expect(res.headers['www-authenticate']).to.equal('Bearer error="insufficient_scope"')
    })

    it('lists the users for admin, without password material', async () => {
      const { access_token } = await login(agent, 'admin', 'admin-password')
      const res = await agent.get('/api/admin').set('Authorization', bearer(access_token))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({
        admin: true,
        users: [
          { id: 1, username: 'alice' },
          { id: 2, username: 'admin' },
        ],
      })
    })
  })

  describe('endpoint: GET /auth/me', () => {
    it('answers the user and the expires_at added by Responses#extendRetrieveUser', async () => {
      const { access_token } = await login(agent, 'alice', 'wonderland')
      const res = await agent.get('/auth/me').set('Authorization', bearer(access_token))
      expect(res.status).to.equal(200)
      expect(res.body).to.deep.equal({
        me: { user_id: 1, username: 'alice', scopes: ['user:read'] },
        expires_at: new Date((clock.now + 1800) * 1000).toISOString(),
      })
    })
  })

  describe('endpoint: POST /auth/refresh', () => {
    it('answers a new access token for an expired one, and a new refresh token', async () => {
      const { access_token, refresh_token } = await login(agent, 'alice', 'wonderland')
      clock.now += PAST_EXPIRY
      const res = await agent
        .post('/auth/refresh')
        .set('Authorization', bearer(access_token))
        .send({ refresh_token })
      expect(res.status).to.equal(200)
      expect(Object.keys(res.body)).to.deep.equal(['access_token', 'refresh_token'])
      expect(payloadOf(res.body.access_token as string)['exp']).to.equal(clock.now + 1800)
      const fresh = res.body.access_token as string
      await agent.get('/api/profile').set('Authorization', bearer(fresh)).expect(200)
    })

    it('returns 401 AuthenticationFailed for a refresh token the store does not know', async () => {
      const { access_token } = await login(agent, 'alice', 'wonderland')
      const res = await agent
        .post('/auth/refresh')
        .set('Authorization', bearer(access_token))
        .send({ refresh_token: 'f'.repeat(48) })
      expect(res.status).to.equal(401)
      expect(res.body.exception).to.equal('AuthenticationFailed')
      expect(res.body.code).to.equal('ERR_JWT_AUTHENTICATION_FAILED')
    })

    it("returns 401 AuthenticationFailed for another user's refresh token", async () => {
      const alice = await login(agent, 'alice', 'wonderland')
      const admin = await login(agent, 'admin', 'admin-password')
      const res = await agent
        .post('/auth/refresh')
        .set('Authorization', bearer(alice.access_token))
        .send({ refresh_token: admin.refresh_token })
      expect(res.status).to.equal(401)
      expect(res.body.code).to.equal('ERR_JWT_AUTHENTICATION_FAILED')
      // Admin's refresh token was not touched.
      await agent
        .post('/auth/refresh')
        .set('Authorization', bearer(admin.access_token))
        .send({ refresh_token: admin.refresh_token })
        .expect(200)
    })
  })

  describe('endpoint: POST /auth/logout (more in sessions.spec.ts)', () => {
    it('returns 401 ERR_JWT_MISSING_HEADER without a token and revokes nothing', async () => {
      const { refresh_token } = await login(agent, 'alice', 'wonderland')
      const res = await agent.post('/auth/logout')
      expect(res.status).to.equal(401)
      expect(res.body.exception).to.equal('Unauthorized')
      expect(res.body.code).to.equal('ERR_JWT_MISSING_HEADER')
      expect(await demo.jwt.tokens.get(refreshTokenId(refresh_token ?? ''))).to.include({ revoked: false })
    })

    it('answers OPTIONS with 204 without a token', async () => {
      await agent.options('/auth/logout').expect(204)
    })
  })

  describe('option: secret', () => {
    it('defaults to a random secret, so one app refuses the tokens of another', async () => {
      const first = await createDemoApp()
      const second = await createDemoApp()
      const { access_token } = await login(request(first.app.callback()), 'alice', 'wonderland')
      const profile = (demoApp: DemoApp) =>
        request(demoApp.app.callback()).get('/api/profile').set('Authorization', bearer(access_token))
      expect((await profile(first)).status).to.equal(200)
      const res = await profile(second)
      expect(res.status).to.equal(401)
      expect(res.body.code).to.equal('ERR_JWT_INVALID_TOKEN')
    })
  })

  it('answers GET / with the list of endpoints, the freshness window and how sessions end', async () => {
    const res = await agent.get('/')
    expect(res.status).to.equal(200)
    expect(res.body.endpoints).to.deep.equal([
      'POST /auth',
      'GET /auth/verify',
      'GET /auth/me',
      'POST /auth/refresh',
      'POST /auth/fresh',
      'POST /auth/logout',
      'GET /api/profile',
      'GET /api/admin',
      'POST /api/counter',
      'DELETE /api/counter',
      'POST /account/password',
      'GET /admin/audit',
      'GET /app',
      'GET /openapi.json',
    ])
    expect(res.body.page).to.equal(
      'GET /app is a login page for a browser: tokens in HttpOnly cookies, the CSRF header on every ' +
        'request that changes something, refresh and logout.',
    )
    expect(res.body.freshness).to.equal(
      'Access tokens from POST /auth and POST /auth/fresh are fresh for 15 minutes; refreshed tokens never are. ' +
        'POST /account/password needs a fresh token (else 401 ERR_JWT_NEEDS_FRESH).',
    )
    expect(res.body.rotation).to.equal(
      'Every POST /auth/refresh answers a new refresh_token and retires the one sent; sending a retired one ' +
        'again 5 seconds or more after it was replaced is 401 ERR_JWT_REFRESH_REUSED and revokes that whole login.',
    )
    expect(res.body.logout).to.equal(
      'POST /auth/logout revokes the access token and the refresh token of its login (other devices stay ' +
        'logged in); with {"everywhere":true} it logs the user out on every device.',
    )
    expect(res.body.passwordChange).to.equal(
      'POST /account/password logs the user out everywhere, this device included: log in again with the new password.',
    )
    expect(res.body.audit).to.equal(
      'GET /admin/audit (scope admin) lists the last 100 login, refresh, logout, revoked and reuse_detected events.',
    )
  })

  it('mounts every endpoint GET / lists', async () => {
    const { body } = await agent.get('/')
    for (const entry of body.endpoints as string[]) {
      const [method, path] = entry.split(' ') as [string, string]
      const verb = method.toLowerCase() as 'get' | 'post' | 'delete'
      expect(['get', 'post', 'delete'], entry).to.include(verb)
      const res = await agent[verb](path)
      expect(res.status, entry).to.not.equal(404)
    }
  })
})
