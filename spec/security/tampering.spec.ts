import { createServer, type Server } from 'node:http'

import { expect } from 'chai'
import request from 'supertest'

import { buildApp, makeClock, SECRET, type TestApp } from '../helpers/app'
import {
  captureStderr,
  enc,
  encText,
  expectFailure,
  expectRefused,
  expectTokenAccepted,
  expectTokenRejected,
  forge,
  logs,
  parts,
  signSegments,
  withPayload,
} from '../helpers/attacks'

const START = 1_700_000_000
const LEEWAY = 180

/** Flips one base64url character in the middle of `text` (never only padding bits). */
function flipMiddle(text: string): string {
  const i = Math.floor(text.length / 2)
  const c = text[i] === 'A' ? 'B' : 'A'
  return text.slice(0, i) + c + text.slice(i + 1)
}

describe('security: tampered and malformed tokens (RFC 8725 §2.2, §3.2; CVE-2022-23539; sanic-jwt #116)', () => {
  captureStderr()

  const clock = makeClock(START)
  const claims = (extra: Record<string, unknown> = {}) => ({ user_id: 1, exp: clock.now + 600, ...extra })

  let t: TestApp
  let honest: string
  let other: string

  beforeEach(async () => {
    clock.now = START
    t = buildApp({ clock: clock.clock, addScopesToPayload: (user) => user.scopes ?? [] })
    honest = (await t.login('user1')).access_token!
    other = (await t.login('user2')).access_token!
  })

  describe('control', () => {
    it('accepts the honest tokens of both users', async () => {
      await expectTokenAccepted(t.agent, honest, 1)
      await expectTokenAccepted(t.agent, other, 2)
      const res = await t.agent.get('/scoped/admin').set('Authorization', `Bearer ${other}`)
      expect(res.status).to.equal(200)
    })
  })

  describe('payload edited under the old signature', () => {
    it('returns 401 ERR_JWT_INVALID_TOKEN when user_id is changed', async () => {
      const { payload } = parts(honest)
      await expectTokenRejected(t.agent, withPayload(honest, { ...payload, user_id: 2 }))
      await expectTokenRejected(t.agent, withPayload(honest, { ...payload, user_id: '2' }))
    })

    it('returns 401 (not 403, not 200) on a scoped route when scopes are added', async () => {
      const { payload } = parts(honest)
      const forged = withPayload(honest, { ...payload, scopes: ['user', 'admin'] })
      const res = await t.agent.get('/scoped/admin').set('Authorization', `Bearer ${forged}`)
      expectFailure(res, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_INVALID_TOKEN' }, [forged])
      await expectTokenRejected(t.agent, forged)
    })

    it('returns 401 ERR_JWT_INVALID_TOKEN when exp is extended on an expired token', async () => {
      const { payload } = parts(honest)
      clock.now = START + 1800 + LEEWAY + 1
      await expectTokenRejected(t.agent, honest, 'ERR_JWT_EXPIRED')
      const forged = withPayload(honest, { ...payload, exp: clock.now + 3600 })
      await expectTokenRejected(t.agent, forged)
    })

    it('returns 401 when the payload is re-encoded with extra whitespace or key order (same JSON, other bytes)', async () => {
      const { payload } = parts(honest)
      const [head, , sig] = honest.split('.')
      await expectTokenRejected(t.agent, `${head}.${encText(JSON.stringify(payload, null, 1))}.${sig}`)
      const reordered = Object.fromEntries(Object.entries(payload).reverse())
      await expectTokenRejected(t.agent, `${head}.${enc(reordered)}.${sig}`)
    })
  })

  describe('signature removed, swapped, truncated or flipped', () => {
    it('returns 401 when the signature is removed', async () => {
      const [head, body] = honest.split('.')
      await expectTokenRejected(t.agent, `${head}.${body}.`)
      await expectTokenRejected(t.agent, `${head}.${body}`)
    })

    it('returns 401 when the signature comes from another token', async () => {
      const [head, body] = honest.split('.')
      await expectTokenRejected(t.agent, `${head}.${body}.${other.split('.')[2]}`)
      const [head2, body2] = other.split('.')
      await expectTokenRejected(t.agent, `${head2}.${body2}.${honest.split('.')[2]}`)
    })

    it('returns 401 when the signature is truncated', async () => {
      const [head, body, sig = ''] = honest.split('.')
      for (const cut of [1, 4, 20, sig.length - 1]) {
        await expectTokenRejected(t.agent, `${head}.${body}.${sig.slice(0, sig.length - cut)}`)
      }
    })

    it('returns 401 when one character of the signature, header or payload is flipped', async () => {
      const [head = '', body = '', sig = ''] = honest.split('.')
      await expectTokenRejected(t.agent, `${head}.${body}.${flipMiddle(sig)}`)
      await expectTokenRejected(t.agent, `${flipMiddle(head)}.${body}.${sig}`)
      await expectTokenRejected(t.agent, `${head}.${flipMiddle(body)}.${sig}`)
    })

    it('returns 401 when the last signature character is changed (non-canonical base64url)', async () => {
      const [head, body, sig = ''] = honest.split('.')
      const last = sig[sig.length - 1]
      for (const c of ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'].filter((x) => x !== last)) {
        await expectTokenRejected(t.agent, `${head}.${body}.${sig.slice(0, -1)}${c}`)
      }
    })
  })

  describe('wrong number of segments and non-base64url characters', () => {
    it('returns 401 ERR_JWT_INVALID_TOKEN for 1, 2, 4 and 5 segments', async () => {
      const [head, body, sig] = honest.split('.')
      for (const token of [
        'garbage-without-dots-at-all',
        `${head}.${body}`,
        `${head}.${body}.${sig}.${sig}`,
        `${head}.${body}.${sig}.`,
        `${head}.${body}.${sig}.${body}.${sig}`,
        `${head}.${body}.${sig}..`,
        '...',
        '....',
      ]) {
        await expectTokenRejected(t.agent, token)
      }
    })

    it('returns 401 for standard-base64, padded or foreign characters in any segment', async () => {
      const [head = '', body = '', sig = ''] = honest.split('.')
      const dirty = (s: string, c: string) => s.slice(0, 5) + c + s.slice(5)
      for (const c of ['+', '/', '=', '*', '%2E', '~', '"', 'é', '\\']) {
        await expectTokenRejected(t.agent, `${dirty(head, c)}.${body}.${sig}`)
        await expectTokenRejected(t.agent, `${head}.${dirty(body, c)}.${sig}`)
        await expectTokenRejected(t.agent, `${head}.${body}.${dirty(sig, c)}`)
      }
      await expectTokenRejected(t.agent, `${head}==.${body}.${sig}`)
      await expectTokenRejected(t.agent, `${head}.${body}.${sig}=`)
      await expectTokenRejected(t.agent, `${head}.${body}.${Buffer.from(sig, 'base64url').toString('base64')}==`)
    })

    it('returns 401 for segments that decode to bytes that are not UTF-8 JSON', async () => {
      const junk = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]).toString('base64url')
      await expectTokenRejected(t.agent, signSegments(junk, enc(claims()), 'HS256', SECRET))
      await expectTokenRejected(t.agent, signSegments(enc({ alg: 'HS256', typ: 'JWT' }), junk, 'HS256', SECRET))
      const head = enc({ alg: 'HS256', typ: 'JWT' })
      await expectTokenRejected(t.agent, signSegments(head, encText('{"user_id":1,'), 'HS256', SECRET))
    })
  })

  describe('header or payload that is not a JSON object (correctly signed)', () => {
    const odd = ['null', '[]', '[{"alg":"HS256"}]', '"HS256"', '"{\\"alg\\":\\"HS256\\"}"']
    odd.push('0', '1', '256', 'true', 'false', '{}')

    for (const text of odd) {
      it(`returns 401 (not 500) for a header of ${text}`, async () => {
        await expectTokenRejected(t.agent, signSegments(encText(text), enc(claims()), 'HS256', SECRET))
      })
    }

    for (const text of odd.filter((x) => x !== '{}')) {
      it(`returns 401 (not 500) for a payload of ${text}`, async () => {
        const head = enc({ alg: 'HS256', typ: 'JWT' })
        await expectTokenRejected(t.agent, signSegments(head, encText(text), 'HS256', SECRET))
      })
    }

    it('returns 401 for a payload that is a JSON string wrapping a valid claims set (RFC 7519 §7.2, RFC 8725 §2.8)', async () => {
      // The claims set must be a JSON object; a signed JSON *string* is another kind of JWS
      // payload and must not be decoded a second time into claims (cross-JWT confusion).
      const head = enc({ alg: 'HS256', typ: 'JWT' })
      const wrapped = encText(JSON.stringify(JSON.stringify(claims({ user_id: 2 }))))
      await expectTokenRejected(t.agent, signSegments(head, wrapped, 'HS256', SECRET))
    })

    it('returns 401 (not 500) for an empty payload object (no exp)', async () => {
      const head = enc({ alg: 'HS256', typ: 'JWT' })
      await expectTokenRejected(t.agent, signSegments(head, encText('{}'), 'HS256', SECRET), 'ERR_JWT_CLAIM_MISSING')
    })

    it('ignores a typ of an odd type in a correctly signed token instead of crashing (no 500)', async () => {
      for (const typ of [1, null, ['JWT'], { toLowerCase: 'x' }, '', 'at+jwt']) {
        const token = signSegments(enc({ alg: 'HS256', typ }), enc(claims()), 'HS256', SECRET)
        const res = await t.agent.get('/protected').set('Authorization', `Bearer ${token}`)
        expect(res.status, `typ ${JSON.stringify(typ)} → ${res.status} ${JSON.stringify(res.body)}`).to.equal(200)
        const forged = withPayload(token, claims({ user_id: 2 }))
        await expectTokenRejected(t.agent, forged)
      }
    })
  })

  describe('registered claims of the wrong type or value (correctly signed)', () => {
    const wrongTypes: [string, unknown][] = [
      ['a numeric string', String(START + 600)],
      ['an empty string', ''],
      ['a boolean', true],
      ['null', null],
      ['an object', { $date: START + 600 }],
      ['an array', [START + 600]],
    ]

    for (const claim of ['exp', 'nbf', 'iat']) {
      for (const [label, value] of wrongTypes) {
        it(`returns 401 when ${claim} is ${label}`, async () => {
          await expectTokenRejected(t.agent, forge(claims({ [claim]: value })))
        })
      }
    }

    it('returns 401 when exp, nbf or iat is Infinity (1e400 in the JSON text)', async () => {
      const head = enc({ alg: 'HS256', typ: 'JWT' })
      for (const text of [
        '{"user_id":1,"exp":1e400}',
        '{"user_id":1,"exp":-1e400}',
        `{"user_id":1,"exp":${clock.now + 600},"nbf":-1e400}`,
        `{"user_id":1,"exp":${clock.now + 600},"iat":-1e400}`,
      ]) {
        await expectTokenRejected(t.agent, signSegments(head, encText(text), 'HS256', SECRET))
      }
    })

    it('returns 401 ERR_JWT_EXPIRED for a negative, -1e300 or zero exp', async () => {
      for (const exp of [-1, -1e300, 0, -0.5]) {
        await expectTokenRejected(t.agent, forge(claims({ exp })), 'ERR_JWT_EXPIRED')
      }
    })

    it('returns 401 ERR_JWT_EXPIRED for a fractional exp just past the leeway, and accepts one just inside', async () => {
      await expectTokenRejected(t.agent, forge(claims({ exp: clock.now - LEEWAY - 0.5 })), 'ERR_JWT_EXPIRED')
      await expectTokenRejected(t.agent, forge(claims({ exp: clock.now - LEEWAY })), 'ERR_JWT_EXPIRED')
      await expectTokenAccepted(t.agent, forge(claims({ exp: clock.now - LEEWAY + 0.5 })), 1)
    })

    it('returns 401 ERR_JWT_NOT_YET_VALID for a fractional or huge nbf/iat in the future', async () => {
      for (const claim of ['nbf', 'iat']) {
        for (const value of [clock.now + LEEWAY + 0.5, clock.now + LEEWAY + 1, 1e300, Number.MAX_VALUE]) {
          await expectTokenRejected(t.agent, forge(claims({ [claim]: value })), 'ERR_JWT_NOT_YET_VALID')
        }
      }
    })

    it('accepts a correctly signed negative nbf or iat (in the past) without crashing', async () => {
      await expectTokenAccepted(t.agent, forge(claims({ nbf: -1, iat: -1e300 })), 1)
      await expectTokenAccepted(t.agent, forge(claims({ nbf: clock.now - 0.5, iat: clock.now - 0.5 })), 1)
    })

    it('accepts a correctly signed exp of 1e300 without crashing (the server signed it)', async () => {
      await expectTokenAccepted(t.agent, forge(claims({ exp: 1e300 })), 1)
    })

    it('returns 401 ERR_JWT_NOT_YET_VALID for an iat in the future beyond the leeway', async () => {
      await expectTokenRejected(t.agent, forge(claims({ iat: clock.now + LEEWAY + 60 })), 'ERR_JWT_NOT_YET_VALID')
      await expectTokenAccepted(t.agent, forge(claims({ iat: clock.now + LEEWAY })), 1)
    })

    it('returns 401 ERR_JWT_CLAIM_MISSING for a token without exp (reference §7.2.20)', async () => {
      await expectTokenRejected(t.agent, forge({ user_id: 1 }), 'ERR_JWT_CLAIM_MISSING')
      const noExp = forge({ user_id: 1, iat: clock.now, nbf: clock.now })
      await expectTokenRejected(t.agent, noExp, 'ERR_JWT_CLAIM_MISSING')
    })
  })

  describe('aud and iss', () => {
    it('returns 401 ERR_JWT_INVALID_AUDIENCE for an aud claim when no audience is configured', async () => {
      for (const aud of ['api', ['api'], '', [], null]) {
        await expectTokenRejected(t.agent, forge(claims({ aud })), 'ERR_JWT_INVALID_AUDIENCE')
      }
    })

    it('returns 401 ERR_JWT_INVALID_AUDIENCE when a configured aud is missing, wrong or of the wrong type', async () => {
      const a = buildApp({ clock: clock.clock, claimAud: 'api' })
      await expectTokenAccepted(a.agent, forge(claims({ aud: 'api' })), 1)
      await expectTokenAccepted(a.agent, forge(claims({ aud: ['other', 'api'] })), 1)
      for (const aud of [undefined, 'other', 'API', 'api ', ['other'], [], [['api']], { api: true }, 1, null, true]) {
        const payload = aud === undefined ? claims() : claims({ aud })
        await expectTokenRejected(a.agent, forge(payload), 'ERR_JWT_INVALID_AUDIENCE')
      }
    })

    it('returns 401 ERR_JWT_INVALID_ISSUER when a configured iss is missing, wrong or of the wrong type', async () => {
      const a = buildApp({ clock: clock.clock, claimIss: 'https://issuer.example' })
      await expectTokenAccepted(a.agent, forge(claims({ iss: 'https://issuer.example' })), 1)
      const wrong = ['https://attacker.example', 'https://issuer.example/', ['https://issuer.example']]
      for (const iss of [undefined, ...wrong, { iss: 1 }, 1, null]) {
        const payload = iss === undefined ? claims() : claims({ iss })
        await expectTokenRejected(a.agent, forge(payload), 'ERR_JWT_INVALID_ISSUER')
      }
    })

    it('ignores an iss claim when no issuer is configured (PyJWT semantics)', async () => {
      await expectTokenAccepted(t.agent, forge(claims({ iss: 'https://anyone.example' })), 1)
    })
  })

  describe('large tokens (16 KB and 64 KB)', () => {
    let server: Server
    let big: ReturnType<typeof request>
    let q: TestApp

    before((done) => {
      q = buildApp({ clock: clock.clock, queryStringSet: true, queryStringStrict: false })
      server = createServer({ maxHeaderSize: 512 * 1024 }, q.app.callback()).listen(0, '127.0.0.1', done)
      big = request(server)
    })

    after((done) => {
      server.close(() => done())
    })

    const padded = (size: number) => forge(claims({ pad: 'x'.repeat(size) }))
    const forged = (size: number) => withPayload(padded(size), claims({ pad: 'y'.repeat(size), user_id: 2 }))

    it('answers a too-large Authorization header with neither 2xx nor 5xx (Node 431) on the default server', async () => {
      for (const size of [16 * 1024, 64 * 1024]) {
        for (const token of [padded(size), forged(size)]) {
          const res = await t.agent.get('/protected').set('Authorization', `Bearer ${token}`)
          expectRefused(res, [token])
        }
      }
    })

    it('answers too-large query strings and cookies with neither 2xx nor 5xx on the default server', async () => {
      const token = padded(64 * 1024)
      const a = buildApp({ clock: clock.clock, queryStringSet: true })
      const viaQuery = await a.agent.get(`/protected?access_token=${token}`)
      expectRefused(viaQuery, [token])
      const c = buildApp({ clock: clock.clock, cookieSet: true })
      const viaCookie = await c.agent.get('/protected').set('Cookie', `access_token=${token}`)
      expectRefused(viaCookie, [token])
    })

    for (const size of [16 * 1024, 64 * 1024]) {
      it(`returns 401 for a forged ${size / 1024} KB token in the query string and header (server allowing large headers)`, async () => {
        const token = forged(size)
        const viaQuery = await big.get(`/protected?access_token=${token}`)
        expectFailure(viaQuery, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_INVALID_TOKEN' }, [token])
        const viaHeader = await big.get('/protected').set('Authorization', `Bearer ${token}`)
        expectFailure(viaHeader, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_INVALID_TOKEN' }, [token])
        const garbage = await big.get(`/protected?access_token=${'a'.repeat(size)}.${'b'.repeat(size)}.c`)
        expectFailure(garbage, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_INVALID_TOKEN' })
      })

      it(`accepts a correctly signed ${size / 1024} KB token (control)`, async () => {
        const res = await big.get(`/protected?access_token=${padded(size)}`)
        expect(res.status).to.equal(200)
      })
    }
  })

  describe('stderr', () => {
    it('holds no key material, presented token, engine wording or stack trace', () => {
      logs.expectSuiteClean()
    })
  })
})
