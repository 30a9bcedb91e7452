import Koa from 'koa'
import { expect } from 'chai'

import { AuthenticationFailed, Initialize, InvalidToken, Unauthorized } from '../../source'
import { buildApp, makeClock, SECRET } from '../helpers/app'
import { captureStderr, expectFailure, expectTokenAccepted, expectTokenRejected, forge } from '../helpers/attacks'

const START = 1_700_000_000

// Found by an audit of 2026-12-04: inputs that turned a refusal into a 500, a success, or an
// acceptance. Each spec fails on the code before the fix.
describe('security: hardening against broken hooks, odd messages and odd tokens', () => {
  captureStderr()

  describe('a clock that stops returning a number fails closed', () => {
    it('refuses a correctly signed, long-expired token once the clock returns NaN', async () => {
      const clock = makeClock(START)
      const t = buildApp({ clock: clock.clock })
      const expired = forge({ user_id: 1, exp: 1000 })
      await expectTokenRejected(t.agent, expired, 'ERR_JWT_EXPIRED')
      clock.now = Number.NaN
      const res = await t.agent.get('/protected').set('Authorization', `Bearer ${expired}`)
      expectFailure(res, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_INVALID_CONFIGURATION' }, [expired])
      expect(res.body.reasons[0]).to.include('"clock"')
    })

    it('signs no token with a NaN clock: POST /auth answers a clear 500, not a token without exp', async () => {
      const clock = makeClock(START)
      const t = buildApp({ clock: clock.clock })
      clock.now = Number.NaN
      const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expectFailure(res, { status: 500, exception: 'InvalidConfiguration', code: 'ERR_JWT_INVALID_CONFIGURATION' })
      expect(res.body.access_token).to.equal(undefined)
    })

    for (const [label, clock] of [
      ['NaN', () => Number.NaN],
      ['undefined', () => undefined],
      ['a string', () => '1700000000'],
      ['Infinity', () => Number.POSITIVE_INFINITY],
    ] as const) {
      it(`refuses at start-up a clock that returns ${label}`, () => {
        expect(() => buildApp({ clock: clock as unknown as () => number }))
          .to.throw('the "clock" setting must return the current time as a finite number of seconds')
          .with.property('code', 'ERR_JWT_INVALID_CONFIGURATION')
      })
    }
  })

  describe('error messages that cannot go into a header (RFC 6750 error_description)', () => {
    for (const message of ['Passwort falsch — bitte erneut versuchen.', '用户名或密码错误', 'nul\u0000char', 'tab\there', 'del\u007f', 'emoji 🔒', 'quote " and \\ backslash']) {
      it(`answers 401 for an extra verification failing with ${JSON.stringify(message)}, the message kept in the body`, async () => {
        const clock = makeClock(START)
        const t = buildApp({
          clock: clock.clock,
          extraVerifications: [
            () => {
              throw new InvalidToken(message, { code: 'ERR_JWT_VERIFICATION_FAILED' })
            },
          ],
        })
        const token = forge({ user_id: 1, exp: START + 600 })
        const res = await t.agent.get('/protected').set('Authorization', `Bearer ${token}`)
        expectFailure(res, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_VERIFICATION_FAILED', reasons: [message] }, [token])
        const header = res.headers['www-authenticate'] as string
        expect(header).to.match(/^Bearer error="invalid_token", error_description="[\x20\x21\x23-\x5B\x5D-\x7E]*"$/)
        const verify = await t.agent.get('/auth/verify').set('Authorization', `Bearer ${token}`)
        expect(verify.status, JSON.stringify(verify.body)).to.equal(401)
        expect(verify.body).to.include({ valid: false, exception: 'InvalidToken', code: 'ERR_JWT_VERIFICATION_FAILED' })
      })
    }

    it('answers 401 for a failed login whose message is not ASCII', async () => {
      const t = buildApp({
        authenticate: () => {
          throw new Unauthorized('Konto gesperrt — Support kontaktieren')
        },
      })
      const res = await t.agent.post('/auth').send({ username: 'x', password: 'y' })
      expectFailure(res, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_UNAUTHORIZED', reasons: ['Konto gesperrt — Support kontaktieren'] })
      const login = buildApp({
        authenticate: () => {
          throw new AuthenticationFailed('Benutzer unbekannt — ü')
        },
      })
      const failed = await login.agent.post('/auth').send({ username: 'x', password: 'y' })
      expect(failed.status).to.equal(401)
      expect(failed.body.reasons).to.deep.equal(['Benutzer unbekannt — ü'])
    })
  })

  describe('handler errors carry their status only when it is a client error (400–499)', () => {
    for (const status of [200, 204, 302, 0, -1, 399, 1.5, 600, Number.NaN]) {
      it(`turns an authenticate error with status ${status} into 500 HandlerFailed`, async () => {
        const t = buildApp({
          authenticate: () => {
            throw Object.assign(new Error('store down'), { status, expose: true })
          },
        })
        const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
        expectFailure(res, { status: 500, exception: 'HandlerFailed', code: 'ERR_JWT_HANDLER_FAILED' })
        expect(res.text).not.to.include('store down')
      })
    }

    it('still passes a 4xx HTTP error of a handler through', async () => {
      const t = buildApp({
        authenticate: (ctx) => ctx.throw(423, 'Locked account'),
      })
      const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expect(res.status).to.equal(423)
    })
  })

  describe('critical header parameters (RFC 7515 §4.1.11)', () => {
    for (const crit of [['x-must-understand'], [], 'exp', ['b64']]) {
      it(`refuses a correctly signed token with crit ${JSON.stringify(crit)}`, async () => {
        const t = buildApp({ clock: makeClock(START).clock })
        const token = forge({ user_id: 1, exp: START + 600 }, { header: { crit, 'x-must-understand': true, b64: true } })
        await expectTokenRejected(t.agent, token)
      })
    }

    it('still accepts the same token without crit (and ignores an unlisted b64)', async () => {
      const t = buildApp({ clock: makeClock(START).clock })
      await expectTokenAccepted(t.agent, forge({ user_id: 1, exp: START + 600 }, { header: { b64: false } }), 1)
    })

    it('refuses crit on a cache hit path too (the token never enters the cache)', async () => {
      const t = buildApp({ clock: makeClock(START).clock, verifyCache: true })
      const token = forge({ user_id: 1, exp: START + 600 }, { header: { crit: ['exp'] } })
      await expectTokenRejected(t.agent, token)
      await expectTokenRejected(t.agent, token)
    })
  })

  describe('per-user secrets: a lookup that returns something that is no key', () => {
    const secrets: Record<string, string> = { '1': `${SECRET}-user-1` }
    for (const userId of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      it(`refuses a token for user_id ${JSON.stringify(userId)} with 401, not 500`, async () => {
        const t = buildApp({
          clock: makeClock(START).clock,
          userSecretEnabled: true,
          retrieveUserSecret: (id) => secrets[String(id)] as string,
        })
        const token = forge({ user_id: userId, exp: START + 600 }, { key: `${SECRET}-user-1` })
        await expectTokenRejected(t.agent, token)
      })
    }

    for (const [label, value] of [
      ['a number', 42],
      ['a boolean', true],
      ['an empty object', {}],
      ['a function', () => SECRET],
    ] as const) {
      it(`refuses with 401 when retrieveUserSecret returns ${label}, and login answers a clear 500`, async () => {
        const t = buildApp({
          clock: makeClock(START).clock,
          userSecretEnabled: true,
          retrieveUserSecret: () => value as unknown as string,
        })
        await expectTokenRejected(t.agent, forge({ user_id: 1, exp: START + 600 }))
        const res = await t.agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })
        expectFailure(res, { status: 500, exception: 'UserSecretNotImplemented', code: 'ERR_JWT_USER_SECRET_NOT_IMPLEMENTED' })
      })
    }
  })

  describe('options of the wrong type are start-up errors, never TypeErrors', () => {
    const base = { secret: SECRET, authenticate: () => ({ user_id: 1 }) }
    const cases: readonly (readonly [string, () => unknown, string])[] = [
      ['options null', () => new Initialize(new Koa(), null as never), 'ERR_JWT_INITIALIZATION_FAILURE'],
      ['options an array', () => new Initialize(new Koa(), [] as never), 'ERR_JWT_INITIALIZATION_FAILURE'],
      ['customClaims a string', () => new Initialize(new Koa(), { ...base, customClaims: 'x' as never }), 'ERR_JWT_INVALID_CONFIGURATION'],
      ['customClaims an object', () => new Initialize(new Koa(), { ...base, customClaims: {} as never }), 'ERR_JWT_INVALID_CONFIGURATION'],
      ['extraVerifications a number', () => new Initialize(new Koa(), { ...base, extraVerifications: 5 as never }), 'ERR_JWT_INVALID_CONFIGURATION'],
      ['extraVerifications an object', () => new Initialize(new Koa(), { ...base, extraVerifications: {} as never }), 'ERR_JWT_INVALID_CONFIGURATION'],
      ['secret an http: URL', () => new Initialize(new Koa(), { ...base, secret: new URL('http://example.test/key') }), 'ERR_JWT_INVALID_CONFIGURATION'],
      ['authorizationHeaderPrefix "Bearer " (trailing space)', () => new Initialize(new Koa(), { ...base, authorizationHeaderPrefix: 'Bearer ' }), 'ERR_JWT_INVALID_CONFIGURATION'],
      ['userId ""', () => new Initialize(new Koa(), { ...base, userId: '' }), 'ERR_JWT_INVALID_CONFIGURATION'],
      ['scopesName ""', () => new Initialize(new Koa(), { ...base, scopesName: '' }), 'ERR_JWT_INVALID_CONFIGURATION'],
      ['accessTokenName ""', () => new Initialize(new Koa(), { ...base, accessTokenName: '' }), 'ERR_JWT_INVALID_CONFIGURATION'],
      ['claimAud [""]', () => new Initialize(new Koa(), { ...base, claimAud: [''] }), 'ERR_JWT_INVALID_CONFIGURATION'],
    ]
    for (const [label, make, code] of cases) {
      it(`refuses ${label} with ${code}`, () => {
        let thrown: unknown
        try {
          make()
        } catch (error) {
          thrown = error
        }
        expect(thrown, label).to.be.an.instanceOf(Error)
        expect((thrown as { code?: unknown }).code, String(thrown)).to.equal(code)
        expect(String(thrown)).not.to.include(SECRET)
      })
    }

    it('reads claimIss "" and claimAud "" as off: tokens verify without the claim', async () => {
      const t = buildApp({ clock: makeClock(START).clock, claimIss: '', claimAud: '' })
      const { access_token: token } = await t.login()
      await expectTokenAccepted(t.agent, token!, 1)
    })

    const jwt = buildApp().jwt
    const routeCases: readonly (readonly [string, () => unknown])[] = [
      ['scoped(5)', () => jwt.scoped(5 as never)],
      ['scoped([5])', () => jwt.scoped([5] as never)],
      ['scoped({})', () => jwt.scoped({} as never)],
      ['protected({ redirectOnFail: "yes" })', () => jwt.protected({ redirectOnFail: 'yes' as never })],
      ['protected({ redirectUrl: 5 })', () => jwt.protected({ redirectUrl: 5 as never })],
      ['scoped("user", { requireAll: "no" })', () => jwt.scoped('user', { requireAll: 'no' as never })],
      ['scoped("user", { requireAllActions: 0 })', () => jwt.scoped('user', { requireAllActions: 0 as never })],
      ['protected(null)', () => jwt.protected(null as never)],
    ]
    for (const [label, make] of routeCases) {
      it(`refuses ${label} when the route is declared`, () => {
        expect(make).to.throw().with.property('code', 'ERR_JWT_INVALID_CONFIGURATION')
      })
    }
  })
})
