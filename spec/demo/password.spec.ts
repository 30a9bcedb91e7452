import { expect } from 'chai'
import jsonwebtoken from 'jsonwebtoken'
import request from 'supertest'

import { createDemoApp, readPasswordChange, type DemoApp } from '../../demo/app'
import { InvalidRequestBody } from '../../source'
import { makeClock } from '../helpers/app'

const SECRET = 'demo-spec-secret-long-enough-for-hs256'
/** The demo's loginFreshness, '15m'. */
const FRESH_FOR = 15 * 60
/** Ids for hand-signed tokens: revocation refuses a token without a jti. */
let handMade = 0

type Agent = ReturnType<typeof request>
type Answer = Awaited<ReturnType<Agent['get']>>

function payloadOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1]
  if (part === undefined) throw new Error('not a JWT')
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
}

const bearer = (token: string | undefined): string => `Bearer ${token ?? ''}`

/** The JSON error body every failure of the demo answers. */
function expectError(res: Answer, status: number, exception: string, code: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status)
  expect(res.type).to.equal('application/json')
  expect(Object.keys(res.body).sort()).to.deep.equal(['code', 'exception', 'reasons'])
  expect(res.body.exception).to.equal(exception)
  expect(res.body.code).to.equal(code)
  expect(res.body.reasons).to.be.an('array').that.is.not.empty
}

describe('demo: fresh tokens (POST /auth/fresh, POST /account/password)', () => {
  let demo: DemoApp
  let agent: Agent
  let clock: ReturnType<typeof makeClock>

  beforeEach(async () => {
    clock = makeClock()
    demo = await createDemoApp({ secret: SECRET, clock: clock.clock })
    agent = request(demo.app.callback())
  })

  async function login(username: string, password: string, path = '/auth'): Promise<Record<string, string>> {
    const res = await agent.post(path).send({ username, password })
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    return res.body as Record<string, string>
  }

  /** Whether a login works (through POST /auth/fresh with `fresh`, which makes no refresh token). */
  async function canLogIn(username: string, password: string, { fresh = false } = {}): Promise<boolean> {
    const res = await agent.post(fresh ? '/auth/fresh' : '/auth').send({ username, password })
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 401])
    return res.status === 200
  }

  function changePassword(token: string | undefined, body: unknown): ReturnType<Agent['post']> {
    const req = agent.post('/account/password').set('Authorization', bearer(token))
    return body === undefined ? req : req.send(body as object)
  }

  /** Refreshes, keeping the rotated refresh token in `tokens`; answers the new access token. */
  async function refresh(tokens: Record<string, string>): Promise<string> {
    const res = await agent
      .post('/auth/refresh')
      .set('Authorization', bearer(tokens.access_token))
      .send({ refresh_token: tokens.refresh_token })
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    tokens.access_token = res.body.access_token as string
    tokens.refresh_token = res.body.refresh_token as string
    return res.body.access_token as string
  }

  /** Signs a token by hand, with the id and time of issue revocation asks for. */
  function sign(claims: object): string {
    const payload = { iat: clock.now, jti: `hand-made-${++handMade}`, ...claims }
    return jsonwebtoken.sign(payload, SECRET, { noTimestamp: true })
  }

  /**
   * Moves the spec clock on by a second, around a password change. The change logs the user out
   * everywhere with a cut-off time: tokens issued before it are refused, tokens issued after it are
   * accepted. The spec clock stands still, and a token issued in the very instant of the cut-off
   * is neither before nor after it: the specs issue none then.
   */
  function tick(): void {
    clock.now += 1
  }

  it('walks the story: login, change password (logged out everywhere), log in, refresh, 401 NeedsFreshToken, fresh login, change again', async () => {
    const alice = await login('alice', 'wonderland')

    tick()
    const changed = await changePassword(alice.access_token, { newPassword: 'looking-glass' })
    expect(changed.status, JSON.stringify(changed.body)).to.equal(200)
    expect(changed.body).to.deep.equal({ changed: true, logout: 'everywhere' })
    expect(await canLogIn('alice', 'wonderland', { fresh: true })).to.equal(false)
    expect(await canLogIn('alice', 'looking-glass', { fresh: true })).to.equal(true)

    // Logged out: the access token and the refresh token of the login are refused.
    const gone = await agent.get('/api/profile').set('Authorization', bearer(alice.access_token))
    expectError(gone, 401, 'RevokedToken', 'ERR_JWT_REVOKED')
    tick()
    const again = await login('alice', 'looking-glass')
    const oldRefresh = await agent
      .post('/auth/refresh')
      .set('Authorization', bearer(again.access_token))
      .send({ refresh_token: alice.refresh_token })
    expectError(oldRefresh, 401, 'RevokedToken', 'ERR_JWT_REVOKED')

    // The new login refreshes, and gives a token that is not fresh.
    const refreshed = await refresh(again)
    expect(payloadOf(refreshed)['fresh']).to.equal(false)
    await agent.get('/api/profile').set('Authorization', bearer(refreshed)).expect(200)
    const refused = await changePassword(refreshed, { newPassword: 'through-the-mirror' })
    expectError(refused, 401, 'NeedsFreshToken', 'ERR_JWT_NEEDS_FRESH')
    expect(await canLogIn('alice', 'looking-glass', { fresh: true })).to.equal(true)

    const wrong = await agent.post('/auth/fresh').send({ username: 'alice', password: 'wonderland' })
    expectError(wrong, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED')
    expect(wrong.body).to.not.have.property('access_token')

    const fresh = await login('alice', 'looking-glass', '/auth/fresh')
    expect(Object.keys(fresh)).to.deep.equal(['access_token'])
    expect(payloadOf(fresh.access_token ?? '')).to.include({
      user_id: 1,
      username: 'alice',
      fresh: clock.now + FRESH_FOR,
    })

    tick()
    const changedAgain = await changePassword(fresh.access_token, {
      currentPassword: 'looking-glass',
      newPassword: 'through-the-mirror',
    })
    expect(changedAgain.status, JSON.stringify(changedAgain.body)).to.equal(200)
    expect(changedAgain.body).to.deep.equal({ changed: true, logout: 'everywhere' })

    // Everything issued before the second change is refused: the refreshed login and the fresh token.
    for (const token of [again.access_token, fresh.access_token]) {
      const res = await agent.get('/api/profile').set('Authorization', bearer(token))
      expectError(res, 401, 'RevokedToken', 'ERR_JWT_REVOKED')
    }

    // And POST /auth takes the last password only.
    tick()
    for (const old of ['wonderland', 'looking-glass']) expect(await canLogIn('alice', old), old).to.equal(false)
    const last = await login('alice', 'through-the-mirror')
    await agent.get('/api/profile').set('Authorization', bearer(last.access_token)).expect(200)
    await refresh(last)
  })

  it('changes only the caller\'s password, and logs out only the caller', async () => {
    const alice = await login('alice', 'wonderland')
    const admin = await login('admin', 'admin-password')
    tick()
    await changePassword(admin.access_token, { newPassword: 'new-admin-password' }).expect(200)
    expect(await canLogIn('alice', 'wonderland')).to.equal(true)
    expect(await canLogIn('admin', 'admin-password')).to.equal(false)
    expect(await canLogIn('admin', 'new-admin-password')).to.equal(true)
    await agent.get('/api/profile').set('Authorization', bearer(alice.access_token)).expect(200)
    await refresh(alice)
    await agent.get('/api/profile').set('Authorization', bearer(admin.access_token)).expect(401)
  })

  describe('freshness window (loginFreshness: 15m)', () => {
    it('takes a login token up to 15 minutes after the login', async () => {
      const alice = await login('alice', 'wonderland')
      expect(payloadOf(alice.access_token ?? '')['fresh']).to.equal(clock.now + FRESH_FOR)
      clock.now += FRESH_FOR
      await changePassword(alice.access_token, { newPassword: 'looking-glass' }).expect(200)
    })

    it('refuses it after 15 minutes, while every other route still takes it', async () => {
      const alice = await login('alice', 'wonderland')
      clock.now += FRESH_FOR + 1
      const late = await changePassword(alice.access_token, { newPassword: 'looking-glass' })
      expectError(late, 401, 'NeedsFreshToken', 'ERR_JWT_NEEDS_FRESH')
      await agent.get('/api/profile').set('Authorization', bearer(alice.access_token)).expect(200)
      const fresh = await login('alice', 'wonderland', '/auth/fresh')
      await changePassword(fresh.access_token, { newPassword: 'looking-glass' }).expect(200)
    })

    it('refuses a token without the fresh claim and accepts one with fresh: true', async () => {
      const claims = { user_id: 1, username: 'alice', scopes: ['user:read'], exp: clock.now + 60 }
      const missing = await changePassword(sign(claims), { newPassword: 'through-the-mirror' })
      expectError(missing, 401, 'NeedsFreshToken', 'ERR_JWT_NEEDS_FRESH')
      await changePassword(sign({ ...claims, fresh: true }), { newPassword: 'looking-glass' }).expect(200)
    })
  })

  describe('route: POST /account/password', () => {
    it('returns 401 ERR_JWT_MISSING_HEADER without a token, before reading the body', async () => {
      const res = await agent.post('/account/password').type('text').send('not json at all')
      expectError(res, 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    })

    it('returns 401 UserLookupFailed for a fresh token of a user that does not exist', async () => {
      const token = sign({ user_id: 99, username: 'ghost', scopes: [], exp: clock.now + 60, fresh: true })
      const res = await changePassword(token, { newPassword: 'looking-glass' })
      expectError(res, 401, 'UserLookupFailed', 'ERR_JWT_USER_LOOKUP')
    })

    it('returns 401 AuthenticationFailed for a wrong currentPassword and keeps the password', async () => {
      const alice = await login('alice', 'wonderland')
      const res = await changePassword(alice.access_token, { currentPassword: 'nope', newPassword: 'looking-glass' })
      expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED')
      expect(res.body.reasons).to.deep.equal(['The current password is wrong.'])
      expect(await canLogIn('alice', 'wonderland')).to.equal(true)
      expect(await canLogIn('alice', 'looking-glass')).to.equal(false)
      // Nothing changed, nobody logged out.
      await agent.get('/api/profile').set('Authorization', bearer(alice.access_token)).expect(200)
    })

    const badBodies: [string, unknown, string[]][] = [
      ['no body', undefined, ['Send a JSON object: { "currentPassword"?: string, "newPassword": string }.']],
      ['null', null, ['Send a JSON object: { "currentPassword"?: string, "newPassword": string }.']],
      ['an array', ['looking-glass'], ['Send a JSON object: { "currentPassword"?: string, "newPassword": string }.']],
      ['a string', 'looking-glass', ['Send a JSON object: { "currentPassword"?: string, "newPassword": string }.']],
      ['a number', 42, ['Send a JSON object: { "currentPassword"?: string, "newPassword": string }.']],
      ['an empty object', {}, ['newPassword is missing.']],
      ['an empty newPassword', { newPassword: '' }, ['newPassword must be at least 8 characters long.']],
      ['a short newPassword', { newPassword: 'short' }, ['newPassword must be at least 8 characters long.']],
      ['a long newPassword', { newPassword: 'x'.repeat(129) }, ['newPassword must be at most 128 characters long.']],
      ['a numeric newPassword', { newPassword: 12345678 }, ['newPassword must be a string.']],
      ['a null newPassword', { newPassword: null }, ['newPassword must be a string.']],
      [
        'a non-string currentPassword',
        { currentPassword: 1, newPassword: 'short' },
        ['newPassword must be at least 8 characters long.', 'currentPassword, when given, must be a string.'],
      ],
    ]
    for (const [name, body, reasons] of badBodies) {
      it(`returns 400 InvalidRequestBody for ${name}`, async () => {
        const alice = await login('alice', 'wonderland')
        const req = agent.post('/account/password').set('Authorization', bearer(alice.access_token))
        const res =
          body === undefined
            ? await req
            : await req.set('Content-Type', 'application/json').send(JSON.stringify(body))
        expectError(res, 400, 'InvalidRequestBody', 'ERR_JWT_INVALID_BODY')
        expect(res.body.reasons).to.deep.equal(reasons)
        expect(await canLogIn('alice', 'wonderland')).to.equal(true)
        await agent.get('/api/profile').set('Authorization', bearer(alice.access_token)).expect(200)
      })
    }

    it('returns 400 InvalidRequestBody for JSON that does not parse', async () => {
      const alice = await login('alice', 'wonderland')
      const res = await agent
        .post('/account/password')
        .set('Authorization', bearer(alice.access_token))
        .set('Content-Type', 'application/json')
        .send('{"newPassword": "looking-glass"')
      expectError(res, 400, 'InvalidRequestBody', 'ERR_JWT_INVALID_BODY')
      expect(res.body.reasons[0]).to.equal('The body is not valid JSON.')
    })

    it('returns 415 for a body that is not JSON', async () => {
      const alice = await login('alice', 'wonderland')
      for (const send of [
        () => changePassword(alice.access_token, undefined).type('form').send('newPassword=looking-glass'),
        () => changePassword(alice.access_token, undefined).type('text').send('looking-glass'),
      ]) {
        const res = await send()
        expectError(res, 415, 'InvalidRequestBody', 'ERR_JWT_UNSUPPORTED_MEDIA_TYPE')
      }
      expect(await canLogIn('alice', 'wonderland')).to.equal(true)
    })

    it('returns 413 for a body over 16 KiB', async () => {
      const alice = await login('alice', 'wonderland')
      const res = await changePassword(alice.access_token, { newPassword: 'looking-glass', pad: 'x'.repeat(17 * 1024) })
      expectError(res, 413, 'InvalidRequestBody', 'ERR_JWT_BODY_TOO_LARGE')
    })

    it('counts characters, not bytes or UTF-16 units', async () => {
      const alice = await login('alice', 'wonderland')
      await changePassword(alice.access_token, { newPassword: '🐇🐇🐇🐇' }).expect(400)
      await changePassword(alice.access_token, { newPassword: '🐇🐇🐇🐇🐇🐇🐇🐇' }).expect(200)
      expect(await canLogIn('alice', '🐇🐇🐇🐇🐇🐇🐇🐇')).to.equal(true)
    })

    it('answers OPTIONS without a token and 405 for GET', async () => {
      const options = await agent.options('/account/password')
      expect(options.status).to.equal(200)
      expect(options.headers['allow']).to.equal('POST')
      const get = await agent.get('/account/password')
      expect(get.status).to.equal(405)
      expect(get.headers['allow']).to.equal('POST')
    })
  })

  describe('endpoint: POST /auth/fresh', () => {
    it('answers only a fresh access token and stores no refresh token', async () => {
      const res = await agent.post('/auth/fresh').send({ username: 'admin', password: 'admin-password' })
      expect(res.status).to.equal(200)
      expect(Object.keys(res.body)).to.deep.equal(['access_token'])
      const payload = payloadOf(res.body.access_token as string)
      expect(payload).to.deep.equal({
        user_id: 2,
        username: 'admin',
        scopes: ['user:read', 'user:write', 'admin'],
        exp: clock.now + 1800,
        iat: clock.now,
        jti: payload['jti'],
        sid: payload['jti'],
        fresh: clock.now + FRESH_FOR,
        csrf: payload['csrf'],
      })
      expect(payload['csrf']).to.be.a('string').that.matches(/^[\w-]{22}$/)
      const records = []
      for await (const record of demo.jwt.tokens.forUser(2)) records.push(record)
      expect(records.map(({ jti, type }) => ({ jti, type }))).to.deep.equal([{ jti: payload['jti'], type: 'access' }])
    })

    it('returns 401 AuthenticationFailed for a wrong password, an unknown user or a bad body', async () => {
      const wrong = await agent.post('/auth/fresh').send({ username: 'alice', password: 'nope' })
      expectError(wrong, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED')
      for (const body of [{ username: 'mallory', password: 'nope' }, {}, ['alice'], { username: 'alice', password: 1 }]) {
        const res = await agent.post('/auth/fresh').send(body)
        expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED')
      }
    })
  })

  describe('readPasswordChange()', () => {
    it('returns the checked fields and drops the others', () => {
      expect(readPasswordChange({ newPassword: 'looking-glass', extra: 1 })).to.deep.equal({ newPassword: 'looking-glass' })
      expect(readPasswordChange({ currentPassword: 'a', newPassword: 'looking-glass' })).to.deep.equal({
        currentPassword: 'a',
        newPassword: 'looking-glass',
      })
    })

    it('throws InvalidRequestBody (400) for anything else', () => {
      for (const body of [undefined, null, 'x', [], {}, { newPassword: 'short' }]) {
        expect(() => readPasswordChange(body), JSON.stringify(body)).to.throw(InvalidRequestBody)
      }
    })
  })
})
