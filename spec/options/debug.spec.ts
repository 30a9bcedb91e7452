import { expect } from 'chai'
import type request from 'supertest'

import type { InitializeOptions } from '../../source'
import type { TestUser } from '../helpers/app'
import {
  EXPIRED_AFTER,
  REASONS,
  bearer,
  build,
  expectError,
  expectNoUnhandledErrors,
  expectUnauthorized,
  getAs,
  tamper,
  type OptionsApp,
} from '../helpers/options'

const NOT_YET_VALID = ['The token is not yet valid (nbf).']
const NOT_MET = ['Verifications were not met.']
const MISSING = ['Authorization header not present.']
const INVALID_HEADER = ['Authorization header is invalid.']

interface Situation {
  name: string
  options?: InitializeOptions<TestUser>
  /** Builds the request headers from a fresh, valid token (the clock may be moved). */
  prepare(t: OptionsApp, token: string): Record<string, string>
  off: { status: number; code: string; reasons: readonly string[] }
  on: { status: number; code: string; reasons: readonly string[] }
}

/** Reference §3.3: what protected() answers, with debug off and on. */
const PROTECTED_ROWS: Situation[] = [
  {
    name: 'the token is missing',
    prepare: () => ({}),
    off: { status: 401, code: 'ERR_JWT_MISSING_HEADER', reasons: MISSING },
    on: { status: 400, code: 'ERR_JWT_MISSING_HEADER', reasons: MISSING },
  },
  {
    name: 'the Authorization header is malformed',
    prepare: (_t, token) => ({ Authorization: `Bearer ${token} trailing` }),
    off: { status: 401, code: 'ERR_JWT_INVALID_HEADER', reasons: INVALID_HEADER },
    on: { status: 400, code: 'ERR_JWT_INVALID_HEADER', reasons: INVALID_HEADER },
  },
  {
    name: 'the signature is bad',
    prepare: (_t, token) => ({ Authorization: bearer(tamper(token)) }),
    off: { status: 401, code: 'ERR_JWT_INVALID_TOKEN', reasons: ['Auth required.'] },
    on: { status: 400, code: 'ERR_JWT_INVALID_SIGNATURE', reasons: REASONS.badSignature },
  },
  {
    name: 'the token is garbage',
    prepare: () => ({ Authorization: 'Bearer garbage' }),
    off: { status: 401, code: 'ERR_JWT_INVALID_TOKEN', reasons: ['Auth required.'] },
    on: { status: 400, code: 'ERR_JWT_MALFORMED', reasons: ['Not enough segments.'] },
  },
  {
    name: 'the token has expired',
    prepare: (t, token) => {
      t.clock.now += EXPIRED_AFTER
      return { Authorization: bearer(token) }
    },
    off: { status: 401, code: 'ERR_JWT_EXPIRED', reasons: ['Signature has expired.'] },
    on: { status: 401, code: 'ERR_JWT_EXPIRED', reasons: ['Signature has expired.'] },
  },
  {
    name: 'the token is not yet valid (nbf)',
    options: { claimNbf: true, claimNbfDelta: 60 },
    prepare: (_t, token) => ({ Authorization: bearer(token) }),
    off: { status: 401, code: 'ERR_JWT_NOT_YET_VALID', reasons: NOT_YET_VALID },
    on: { status: 401, code: 'ERR_JWT_NOT_YET_VALID', reasons: NOT_YET_VALID },
  },
  {
    name: 'an extra verification is not met',
    options: { extraVerifications: [() => false] },
    prepare: (_t, token) => ({ Authorization: bearer(token) }),
    off: { status: 401, code: 'ERR_JWT_VERIFICATION_FAILED', reasons: NOT_MET },
    on: { status: 401, code: 'ERR_JWT_VERIFICATION_FAILED', reasons: NOT_MET },
  },
]

async function send(
  t: OptionsApp,
  path: string,
  headers: Record<string, string>,
): Promise<request.Response> {
  return t.agent.get(path).set(headers)
}

describe('option: debug', () => {
  afterEach(expectNoUnhandledErrors)

  describe('on protected routes (reference §3.3)', () => {
    for (const row of PROTECTED_ROWS) {
      for (const debug of [false, true]) {
        const expected = debug ? row.on : row.off
        it(`answers ${expected.status} ${expected.code} when ${row.name}, with debug ${debug ? 'on' : 'off'}`, async () => {
          const t = build({ ...row.options, debug })
          const token = (await t.login()).access_token!
          const res = await send(t, '/protected', row.prepare(t, token))
          expectError(res, expected.status, 'Unauthorized', expected.code, expected.reasons)
          if (expected.status === 401) expect(res.headers['www-authenticate']).to.match(/^Bearer/)
        })
      }
    }

    it('answers the same on scoped routes', async () => {
      for (const debug of [false, true]) {
        const t = build({ debug, addScopesToPayload: () => ['user'] })
        const token = (await t.login()).access_token!
        const bad = await send(t, '/scoped/user', { Authorization: bearer(tamper(token)) })
        if (debug) expectUnauthorized(bad, 400, 'ERR_JWT_INVALID_SIGNATURE', REASONS.badSignature)
        else expectUnauthorized(bad, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
        const scope = await send(t, '/scoped/admin', { Authorization: bearer(token) })
        expectUnauthorized(scope, 403, 'ERR_JWT_INVALID_SCOPE', ['Invalid scope.'])
      }
    })

    it('an extra verification that returns a non-boolean gives 401 off and a rendered 500 InvalidVerification on', async () => {
      const message = ['Verifications must be a callable object returning a boolean value.']
      const notBoolean = (() => 'yes') as unknown as () => boolean
      const off = build({ extraVerifications: [notBoolean] })
      const offToken = (await off.login()).access_token!
      const offRes = await send(off, '/protected', { Authorization: bearer(offToken) })
      expectUnauthorized(offRes, 401, 'ERR_JWT_INVALID_VERIFICATION', message)

      const on = build({ debug: true, extraVerifications: [notBoolean] })
      const onToken = (await on.login()).access_token!
      const onRes = await send(on, '/protected', { Authorization: bearer(onToken) })
      expectError(onRes, 500, 'InvalidVerification', 'ERR_JWT_INVALID_VERIFICATION', message)
    })
  })

  describe('on GET /auth/verify (reference §3.4)', () => {
    for (const debug of [false, true]) {
      const mode = debug ? 'on' : 'off'

      it(`answers ${debug ? 400 : 401} MissingAuthorizationHeader without "valid" when the token is missing, debug ${mode}`, async () => {
        const t = build({ debug })
        const res = await t.agent.get('/auth/verify')
        expect(res.status).to.equal(debug ? 400 : 401)
        expect(res.body).to.deep.equal({
          reasons: MISSING,
          exception: 'MissingAuthorizationHeader',
          code: 'ERR_JWT_MISSING_HEADER',
        })
      })

      it(`answers 400 InvalidAuthorizationHeader for a malformed header, debug ${mode}`, async () => {
        const t = build({ debug })
        const res = await t.agent.get('/auth/verify').set('Authorization', 'Bearer a b')
        expect(res.status).to.equal(400)
        expect(res.body).to.deep.equal({
          reasons: INVALID_HEADER,
          exception: 'InvalidAuthorizationHeader',
          code: 'ERR_JWT_INVALID_HEADER',
        })
      })

      it(`answers ${debug ? 400 : 401} { valid: false } for a bad signature, debug ${mode}`, async () => {
        const t = build({ debug })
        const token = (await t.login()).access_token!
        const res = await getAs(t, '/auth/verify', tamper(token))
        expect(res.status).to.equal(debug ? 400 : 401)
        expect(res.body).to.deep.equal(
          debug
            ? {
                valid: false,
                reasons: ['Signature verification failed.'],
                exception: 'InvalidToken',
                code: 'ERR_JWT_INVALID_SIGNATURE',
              }
            : {
                valid: false,
                reasons: ['Auth required.'],
                exception: 'InvalidToken',
                code: 'ERR_JWT_INVALID_TOKEN',
              },
        )
      })

      it(`answers 401 { valid: false } "Signature has expired." for an expired token, debug ${mode}`, async () => {
        const t = build({ debug })
        const token = (await t.login()).access_token!
        t.clock.now += EXPIRED_AFTER
        const res = await getAs(t, '/auth/verify', token)
        expect(res.status).to.equal(401)
        expect(res.body).to.deep.equal({
          valid: false,
          reasons: ['Signature has expired.'],
          exception: 'InvalidToken',
          code: 'ERR_JWT_EXPIRED',
        })
      })

      it(`answers 200 { valid: true } for a valid token, debug ${mode}`, async () => {
        const t = build({ debug })
        const token = (await t.login()).access_token!
        const res = await getAs(t, '/auth/verify', token)
        expect(res.status).to.equal(200)
        expect(res.body).to.deep.equal({ valid: true })
      })
    }
  })

  describe('as a per-route override', () => {
    it('debug: () => true turns debug on for that route only', async () => {
      const t = build()
      t.router.get('/debug-route', t.jwt.protected({ debug: () => true }), (ctx) => {
        ctx.body = { ok: true }
      })
      const token = (await t.login()).access_token!
      const onRoute = await send(t, '/debug-route', { Authorization: bearer(tamper(token)) })
      expectUnauthorized(onRoute, 400, 'ERR_JWT_INVALID_SIGNATURE', REASONS.badSignature)
      const missing = await send(t, '/debug-route', {})
      expectUnauthorized(missing, 400, 'ERR_JWT_MISSING_HEADER', MISSING)
      const elsewhere = await send(t, '/protected', { Authorization: bearer(tamper(token)) })
      expectUnauthorized(elsewhere, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
      expect(t.jwt.config.get('debug')).to.equal(false)
    })

    it('debug: () => false turns debug off for that route on a debug app', async () => {
      const t = build({ debug: true })
      t.router.get('/quiet-route', t.jwt.protected({ debug: () => false }), (ctx) => {
        ctx.body = { ok: true }
      })
      const quiet = await send(t, '/quiet-route', { Authorization: 'Bearer garbage' })
      expectUnauthorized(quiet, 401, 'ERR_JWT_INVALID_TOKEN', REASONS.authRequired)
      const loud = await send(t, '/protected', { Authorization: 'Bearer garbage' })
      expectUnauthorized(loud, 400, 'ERR_JWT_MALFORMED', ['Not enough segments.'])
    })

    it('evaluates the function on every request', async () => {
      const t = build()
      let flag = false
      t.router.get('/flagged', t.jwt.scoped('user', { debug: () => flag }), (ctx) => {
        ctx.body = { ok: true }
      })
      const off = await send(t, '/flagged', {})
      expectUnauthorized(off, 401, 'ERR_JWT_MISSING_HEADER', MISSING)
      flag = true
      const on = await send(t, '/flagged', {})
      expectUnauthorized(on, 400, 'ERR_JWT_MISSING_HEADER', MISSING)
    })
  })

  describe('reasons are never stale (reference §7.2.4)', () => {
    it('reports "Signature has expired." after an earlier bad-signature request in debug mode', async () => {
      const t = build({ debug: true })
      const token = (await t.login()).access_token!
      const bad = await send(t, '/protected', { Authorization: bearer(tamper(token)) })
      expectUnauthorized(bad, 400, 'ERR_JWT_INVALID_SIGNATURE', REASONS.badSignature)
      t.clock.now += EXPIRED_AFTER
      const expired = await send(t, '/protected', { Authorization: bearer(token) })
      expectUnauthorized(expired, 401, 'ERR_JWT_EXPIRED', REASONS.expired)
      const verify = await getAs(t, '/auth/verify', token)
      expect(verify.body.reasons).to.deep.equal(['Signature has expired.'])
    })

    it('keeps each concurrent request to its own reason', async () => {
      const t = build({ debug: true })
      const token = (await t.login()).access_token!
      const [bad, garbage, missing, ok] = await Promise.all([
        send(t, '/protected', { Authorization: bearer(tamper(token)) }),
        send(t, '/protected', { Authorization: 'Bearer garbage' }),
        send(t, '/protected', {}),
        send(t, '/protected', { Authorization: bearer(token) }),
      ])
      expect(bad!.body.reasons).to.deep.equal(['Signature verification failed.'])
      expect(garbage!.body.reasons).to.deep.equal(['Not enough segments.'])
      expect(missing!.body.reasons).to.deep.equal(MISSING)
      expect(ok!.status).to.equal(200)
    })
  })
})
