import { expect } from 'chai'

import { buildApp, makeClock, refreshStore, SECRET, type TestApp } from '../helpers/app'
import {
  captureStderr,
  enc,
  encText,
  expectFailure,
  expectNoLeak,
  forge,
  logs,
  signSegments,
  UNAUTHORIZED_INVALID,
  VERIFY_INVALID,
} from '../helpers/attacks'
import { KEYS } from '../helpers/keys'
import type { InitializeOptions } from '../../source'

/** The reasons the library itself may give for a structural or signature failure in debug mode. */
const LIBRARY_DECODE_REASONS = [
  'Not enough segments.',
  'Too many segments.',
  'Invalid header string.',
  'Invalid payload string: must be a json object.',
  'The specified alg value is not allowed.',
  'Invalid crypto padding.',
  'Signature verification failed.',
]

const PROTECTED_PATHS = ['/protected', '/auth/me', '/scoped/user'] as const

describe('security: what failures reveal (RFC 8725 §3.2; sanic-jwt #116; reference §3.3, §3.4)', () => {
  captureStderr()

  const clock = makeClock()
  const claims = () => ({ user_id: 1, exp: clock.now + 600, scopes: ['user'] })

  /** Every signature-type failure: structure, encoding, algorithm or signature. */
  const failures = (): [string, string][] => {
    const honest = forge(claims())
    const [head = '', body = '', sig = ''] = honest.split('.')
    return [
      ['a bad signature (another secret)', forge(claims(), { key: 'another-secret-another-secret-123' })],
      ['a flipped signature', `${head}.${body}.${sig.slice(0, -3)}${sig.endsWith('AAA') ? 'BBB' : 'AAA'}`],
      ['garbage', 'this-is-not-a-jwt-at-all'],
      ['three garbage segments', 'abc.def.ghi'],
      ['a wrong alg (HS512)', forge(claims(), { alg: 'HS512' })],
      ['a wrong alg (RS256)', forge(claims(), { alg: 'RS256', key: KEYS.rsa.privateKey })],
      ['alg none', `${enc({ alg: 'none', typ: 'JWT' })}.${body}.`],
      ['alg NONE with a signature', `${enc({ alg: 'NONE', typ: 'JWT' })}.${body}.${sig}`],
      ['two segments', `${head}.${body}`],
      ['four segments', `${head}.${body}.${sig}.${sig}`],
      ['bad base64 in the header', `${head.slice(0, 4)}!${head.slice(4)}.${body}.${sig}`],
      ['bad base64 in the signature', `${head}.${body}.${sig.slice(0, 10)}+/=${sig.slice(10)}`],
      ['a header that is JSON null', signSegments(encText('null'), body, 'HS256', SECRET)],
      ['a payload that is not JSON', signSegments(head, encText('{"user_id":'), 'HS256', SECRET)],
      ['a payload that is a JSON array', signSegments(head, encText('[1,2]'), 'HS256', SECRET)],
    ]
  }

  const build = (options: InitializeOptions = {}) =>
    buildApp({ clock: clock.clock, ...refreshStore(new Map()), ...options })

  describe('with debug off', () => {
    let t: TestApp
    beforeEach(() => {
      t = build()
    })

    it('accepts the honest token (control)', async () => {
      const token = forge(claims())
      for (const path of [...PROTECTED_PATHS, '/auth/verify']) {
        expect((await t.agent.get(path).set('Authorization', `Bearer ${token}`)).status, path).to.equal(200)
      }
    })

    for (const [label, token] of failures()) {
      it(`answers exactly { reasons: ['Auth required.'], exception: 'Unauthorized', code: 'ERR_JWT_INVALID_TOKEN' } for ${label}`, async () => {
        for (const path of PROTECTED_PATHS) {
          const res = await t.agent.get(path).set('Authorization', `Bearer ${token}`)
          expectFailure(res, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_INVALID_TOKEN' }, [token])
          expect(res.body, path).to.deep.equal(UNAUTHORIZED_INVALID)
        }
        const refresh = await t.agent
          .post('/auth/refresh')
          .set('Authorization', `Bearer ${token}`)
          .send({ refresh_token: 'x' })
        expect(refresh.status).to.equal(401)
        expect(refresh.body).to.deep.equal(UNAUTHORIZED_INVALID)
        expectNoLeak(refresh, [token])
      })

      it(`answers exactly { valid: false, reasons: ['Auth required.'], exception: 'InvalidToken', code: 'ERR_JWT_INVALID_TOKEN' } on /auth/verify for ${label}`, async () => {
        const res = await t.agent.get('/auth/verify').set('Authorization', `Bearer ${token}`)
        expect(res.status, JSON.stringify(res.body)).to.equal(401)
        expect(res.body).to.deep.equal(VERIFY_INVALID)
        expectNoLeak(res, [token])
      })
    }

    it('gives every signature-type failure the same status, body and WWW-Authenticate header (no oracle)', async () => {
      const seen = new Set<string>()
      const seenVerify = new Set<string>()
      const shape = (res: { status: number; body: unknown; headers: Record<string, string> }) =>
        JSON.stringify([res.status, res.body, res.headers['www-authenticate'], res.headers['content-length']])
      for (const [, token] of failures()) {
        seen.add(shape(await t.agent.get('/protected').set('Authorization', `Bearer ${token}`)))
        seenVerify.add(shape(await t.agent.get('/auth/verify').set('Authorization', `Bearer ${token}`)))
      }
      expect([...seen]).to.have.length(1)
      expect([...seenVerify]).to.have.length(1)
    })

    it('sends WWW-Authenticate: Bearer error="invalid_token" with every 401 of /auth/verify, as protected routes do (RFC 6750 §3)', async () => {
      for (const [label, token] of failures()) {
        const res = await t.agent.get('/protected').set('Authorization', `Bearer ${token}`)
        const verify = await t.agent.get('/auth/verify').set('Authorization', `Bearer ${token}`)
        expect(verify.status).to.equal(401)
        expect(verify.headers['www-authenticate'], label).to.equal(res.headers['www-authenticate'])
        expect(verify.headers['www-authenticate'], label).to.match(/^Bearer error="invalid_token"/)
      }
    })

    it('never echoes the submitted password or username on a failed login', async () => {
      const password = 'correct-horse-battery-staple-9f3a'
      const res = await t.agent.post('/auth').send({ username: 'user1', password })
      const failed = { status: 401, exception: 'AuthenticationFailed', code: 'ERR_JWT_AUTHENTICATION_FAILED' }
      expectFailure(res, failed, [password])
      const unknown = await t.agent.post('/auth').send({ username: 'mallory-the-unknown-user', password })
      expectFailure(unknown, failed, [password, 'mallory-the-unknown-user'])
    })

    it('answers 401 without the message when an extra verification throws a plain Error', async () => {
      const a = build({
        extraVerifications: [
          () => {
            throw new Error(`jwt malformed while reading ${SECRET}`)
          },
        ],
      })
      const token = forge(claims())
      const res = await a.agent.get('/protected').set('Authorization', `Bearer ${token}`)
      expectFailure(res, { status: 401, exception: 'Unauthorized', code: res.body.code }, [token])
      expect(res.body.reasons).to.deep.equal(['Auth required.'])
    })
  })

  describe('with debug on', () => {
    let t: TestApp
    beforeEach(() => {
      t = build({ debug: true })
    })

    it('accepts the honest token (control)', async () => {
      const token = forge(claims())
      expect((await t.agent.get('/protected').set('Authorization', `Bearer ${token}`)).status).to.equal(200)
    })

    for (const [label, token] of failures()) {
      it(`answers 400 with the library's own wording, never the engine's, for ${label}`, async () => {
        for (const path of PROTECTED_PATHS) {
          const res = await t.agent.get(path).set('Authorization', `Bearer ${token}`)
          expect(res.status, `${path} ${JSON.stringify(res.body)}`).to.equal(400)
          expect(res.body.exception).to.equal('Unauthorized')
          expect(res.body.reasons).to.have.length(1)
          expect(LIBRARY_DECODE_REASONS).to.include(res.body.reasons[0])
          expect(res.body.code).to.match(/^ERR_JWT_(MALFORMED|INVALID_SIGNATURE|INVALID_ALGORITHM)$/)
          expectNoLeak(res, [token])
        }
        const verify = await t.agent.get('/auth/verify').set('Authorization', `Bearer ${token}`)
        expect(verify.status, JSON.stringify(verify.body)).to.equal(400)
        expect(verify.body.valid).to.equal(false)
        expect(verify.body.exception).to.equal('InvalidToken')
        expect(LIBRARY_DECODE_REASONS).to.include(verify.body.reasons[0])
        expectNoLeak(verify, [token])
      })
    }

    it('answers 500 HandlerFailed without the message when an extra verification throws a plain Error', async () => {
      const a = build({
        debug: true,
        extraVerifications: [
          () => {
            throw new TypeError(`Cannot read properties of ${SECRET}`)
          },
        ],
      })
      const token = forge(claims())
      const res = await a.agent.get('/protected').set('Authorization', `Bearer ${token}`)
      expectFailure(res, { status: 500, exception: 'HandlerFailed', code: 'ERR_JWT_HANDLER_FAILED' }, [token])
    })

    it('answers without the message when retrieveUserSecret throws (per-user secrets)', async () => {
      const a = build({
        debug: true,
        retrieveUserSecret: () => {
          throw new Error(`vault unreachable, fallback key ${KEYS.rsa.privateKey}`)
        },
      })
      const token = forge(claims())
      const res = await a.agent.get('/protected').set('Authorization', `Bearer ${token}`)
      expect(res.status).to.be.oneOf([401, 500])
      expectNoLeak(res, [token])
      const verify = await a.agent.get('/auth/verify').set('Authorization', `Bearer ${token}`)
      expect(verify.status).to.be.oneOf([401, 500])
      expectNoLeak(verify, [token])
    })
  })

  describe('stderr', () => {
    it('holds no key material, presented token, engine wording or stack trace', () => {
      logs.expectSuiteClean()
    })
  })
})
