import { createPrivateKey, createPublicKey } from 'node:crypto'

import { buildApp, makeClock, SECRET, type TestApp } from '../helpers/app'
import {
  captureStderr,
  enc,
  expectTokenAccepted,
  expectTokenRejected,
  forge,
  jwkText,
  logs,
  signature,
  signSegments,
} from '../helpers/attacks'
import { KEYS } from '../helpers/keys'

const NONE_CASINGS = ['none', 'None', 'NONE', 'nOnE'] as const

describe('security: algorithms (RFC 8725 §2.1, §3.1; CVE-2022-23540, CVE-2022-23541; fast-jwt algorithm confusion)', () => {
  captureStderr()

  const clock = makeClock()
  const claims = (userId = 1, extra: Record<string, unknown> = {}) => ({
    user_id: userId,
    exp: clock.now + 600,
    ...extra,
  })

  let hs: TestApp
  let rs: TestApp
  let es: TestApp

  beforeEach(() => {
    clock.now = 1_700_000_000
    hs = buildApp({ clock: clock.clock })
    rs = buildApp({
      clock: clock.clock,
      algorithm: 'RS256',
      privateKey: KEYS.rsa.privateKey,
      publicKey: KEYS.rsa.publicKey,
    })
    es = buildApp({
      clock: clock.clock,
      algorithm: 'ES256',
      privateKey: KEYS.p256.privateKey,
      publicKey: KEYS.p256.publicKey,
    })
  })

  describe('control', () => {
    it('accepts the honest token of each app (HS256, RS256, ES256)', async () => {
      for (const t of [hs, rs, es]) {
        const { access_token: token } = await t.login()
        await expectTokenAccepted(t.agent, token!, 1)
      }
    })

    it('accepts tokens forged by hand with the real keys (the builders are sound)', async () => {
      await expectTokenAccepted(hs.agent, forge(claims(2)), 2)
      await expectTokenAccepted(rs.agent, forge(claims(2), { alg: 'RS256', key: KEYS.rsa.privateKey }), 2)
      await expectTokenAccepted(es.agent, forge(claims(2), { alg: 'ES256', key: KEYS.p256.privateKey }), 2)
    })
  })

  describe('alg: none (CVE-2022-23540, RFC 8725 §3.1)', () => {
    for (const alg of NONE_CASINGS) {
      it(`returns 401 ERR_JWT_INVALID_TOKEN for alg "${alg}" with an empty signature (HS256 and RS256 apps)`, async () => {
        const head = enc({ alg, typ: 'JWT' })
        for (const t of [hs, rs]) {
          await expectTokenRejected(t.agent, `${head}.${enc(claims())}.`)
        }
      })

      it(`returns 401 ERR_JWT_INVALID_TOKEN for alg "${alg}" without a signature segment`, async () => {
        const head = enc({ alg, typ: 'JWT' })
        for (const t of [hs, rs]) {
          await expectTokenRejected(t.agent, `${head}.${enc(claims())}`)
        }
      })

      it(`returns 401 ERR_JWT_INVALID_TOKEN for alg "${alg}" carrying a signature`, async () => {
        const head = enc({ alg, typ: 'JWT' })
        const body = enc(claims())
        const hmac = signature(`${head}.${body}`, 'HS256', SECRET)
        const rsa = signature(`${head}.${body}`, 'RS256', KEYS.rsa.privateKey)
        await expectTokenRejected(hs.agent, `${head}.${body}.${hmac}`)
        await expectTokenRejected(rs.agent, `${head}.${body}.${rsa}`)
        await expectTokenRejected(hs.agent, `${head}.${body}.c2lnbmF0dXJl`)
      })
    }

    it('returns 401 for alg "none" with a typ other than JWT and for a missing alg', async () => {
      for (const header of [{ alg: 'none' }, { alg: 'none', typ: 'jwt' }, { typ: 'JWT' }, {}]) {
        await expectTokenRejected(hs.agent, `${enc(header)}.${enc(claims())}.`)
        await expectTokenRejected(rs.agent, `${enc(header)}.${enc(claims())}.`)
      }
    })
  })

  describe('algorithm confusion: public key as HMAC secret (CVE-2022-23541, fast-jwt GHSA)', () => {
    const rsaPublicKey = createPublicKey(KEYS.rsa.publicKey)
    const ecPublicKey = createPublicKey(KEYS.p256.publicKey)
    const rsaSecrets: [string, string | Buffer][] = [
      ['the PEM text', KEYS.rsa.publicKey],
      ['the trimmed PEM text', KEYS.rsa.publicKey.trim()],
      ['the PKCS#1 PEM text', rsaPublicKey.export({ type: 'pkcs1', format: 'pem' }) as string],
      ['the DER bytes', rsaPublicKey.export({ type: 'spki', format: 'der' })],
      ['the JWK JSON', jwkText(KEYS.rsa.publicKey)],
    ]
    const ecSecrets: [string, string | Buffer][] = [
      ['the PEM text', KEYS.p256.publicKey],
      ['the trimmed PEM text', KEYS.p256.publicKey.trim()],
      ['the DER bytes', ecPublicKey.export({ type: 'spki', format: 'der' })],
      ['the JWK JSON', jwkText(KEYS.p256.publicKey)],
    ]

    for (const alg of ['HS256', 'HS384', 'HS512']) {
      for (const [label, secret] of rsaSecrets) {
        it(`returns 401 on an RS256 app for ${alg} signed with ${label} of the RSA public key`, async () => {
          await expectTokenRejected(rs.agent, forge(claims(), { alg, key: secret }))
        })
      }
      for (const [label, secret] of ecSecrets) {
        it(`returns 401 on an ES256 app for ${alg} signed with ${label} of the EC public key`, async () => {
          await expectTokenRejected(es.agent, forge(claims(), { alg, key: secret }))
        })
      }
    }

    it('returns 401 on an HS256 app for RS256/ES256 tokens signed with attacker keys', async () => {
      await expectTokenRejected(hs.agent, forge(claims(), { alg: 'RS256', key: KEYS.rsaOther.privateKey }))
      await expectTokenRejected(hs.agent, forge(claims(), { alg: 'RS256', key: KEYS.rsa.privateKey }))
      await expectTokenRejected(hs.agent, forge(claims(), { alg: 'ES256', key: KEYS.p256.privateKey }))
    })
  })

  describe('an algorithm other than the configured one (RFC 8725 §2.1, §3.1)', () => {
    it('returns 401 on an HS256 app for HS384 and HS512 tokens signed with the real secret', async () => {
      for (const alg of ['HS384', 'HS512']) {
        await expectTokenRejected(hs.agent, forge(claims(), { alg }))
      }
    })

    it('returns 401 on an RS256 app for RS384, RS512 and PS256 tokens signed with the real private key', async () => {
      for (const alg of ['RS384', 'RS512', 'PS256', 'PS512']) {
        await expectTokenRejected(rs.agent, forge(claims(), { alg, key: KEYS.rsa.privateKey }))
      }
    })

    it('returns 401 on an ES256 app for ES384 (P-384 key) and for an ES256 token signed on another curve', async () => {
      await expectTokenRejected(es.agent, forge(claims(), { alg: 'ES384', key: KEYS.p384.privateKey }))
      await expectTokenRejected(es.agent, forge(claims(), { alg: 'ES256', key: KEYS.p384.privateKey }))
    })

    it('returns 401 when the alg header is not a plain algorithm name', async () => {
      const body = enc(claims())
      for (const alg of ['hs256', 'HS256 ', ' HS256', 'HS256\u0000', ['HS256'], { 0: 'HS256' }, 256, null, true]) {
        const head = enc({ alg, typ: 'JWT' })
        await expectTokenRejected(hs.agent, `${head}.${body}.${signature(`${head}.${body}`, 'HS256', SECRET)}`)
      }
    })
  })

  describe('key-selecting headers never change the key (RFC 8725 §3.10; jwk/jku/x5u/kid injection)', () => {
    const attackerPrivate = createPrivateKey(KEYS.rsaOther.privateKey)
    const attackerJwk = createPublicKey(attackerPrivate).export({ format: 'jwk' })
    const injected: [string, Record<string, unknown>][] = [
      ['an embedded jwk', { jwk: attackerJwk }],
      ['a jku URL', { jku: 'https://attacker.example/jwks.json', kid: 'attacker' }],
      ['an x5u URL', { x5u: 'https://attacker.example/cert.pem' }],
      ['an x5c chain', { x5c: [Buffer.from('not a certificate').toString('base64')] }],
      ['a kid path traversal', { kid: '../../../../../../dev/null' }],
      ['a kid SQL injection', { kid: "x' UNION SELECT 'attacker-key' --" }],
    ]

    for (const [label, header] of injected) {
      it(`returns 401 for a token signed with an attacker key and ${label}`, async () => {
        await expectTokenRejected(rs.agent, forge(claims(2), { alg: 'RS256', key: attackerPrivate, header }))
      })

      it(`accepts a token signed with the real key despite ${label} (only the configured key is used)`, async () => {
        await expectTokenAccepted(rs.agent, forge(claims(2), { alg: 'RS256', key: KEYS.rsa.privateKey, header }), 2)
      })
    }

    it('returns 401 on an HS256 app for kid-style attacks signed with an empty or guessable secret', async () => {
      for (const [kid, key] of [
        ['../../../../../../dev/null', ''],
        ["x' UNION SELECT 'k' --", 'k'],
        ['0', '0'],
      ] as const) {
        const head = enc({ alg: 'HS256', typ: 'JWT', kid })
        const body = enc(claims())
        await expectTokenRejected(hs.agent, signSegments(head, body, 'HS256', Buffer.from(key)))
      }
    })

    it('returns 401 on an HS256 app for an HS256 token whose embedded jwk is an attacker octet key', async () => {
      const attackerSecret = Buffer.from('attacker-chosen-secret-value-0123')
      const jwk = { kty: 'oct', k: attackerSecret.toString('base64url') }
      await expectTokenRejected(hs.agent, forge(claims(), { key: attackerSecret, header: { jwk } }))
    })
  })

  describe('per-user secrets: the unverified user_id selects the key (reference §7.2.3)', () => {
    const secrets = new Map<unknown, string>([
      [1, 'secret-of-user-one-0123456789abcdef'],
      [2, 'secret-of-user-two-0123456789abcdef'],
    ])
    let us: TestApp

    beforeEach(() => {
      us = buildApp({ clock: clock.clock, retrieveUserSecret: (userId) => secrets.get(userId) as string })
    })

    it('accepts a token signed with the secret of its own user (control)', async () => {
      const { access_token: token } = await us.login('user2')
      await expectTokenAccepted(us.agent, token!, 2)
      await expectTokenAccepted(us.agent, forge(claims(1), { key: secrets.get(1)! }), 1)
    })

    it("returns 401 for a token of one user signed with another user's secret or the app secret", async () => {
      await expectTokenRejected(us.agent, forge(claims(2), { key: secrets.get(1)! }))
      await expectTokenRejected(us.agent, forge(claims(1), { key: SECRET }))
    })

    it('returns 401 (not 500) when the user_id names no user or is not a scalar', async () => {
      for (const userId of [999, '1', null, {}, [], ['1'], '__proto__', 'constructor', true, 1e300]) {
        await expectTokenRejected(us.agent, forge(claims(1, { user_id: userId }), { key: secrets.get(1)! }))
      }
      await expectTokenRejected(us.agent, forge({ exp: clock.now + 600 }, { key: secrets.get(1)! }))
    })

    it('returns 401 for alg none and for a payload that cannot be read', async () => {
      const head = enc({ alg: 'none', typ: 'JWT' })
      await expectTokenRejected(us.agent, `${head}.${enc(claims(1))}.`)
      await expectTokenRejected(us.agent, `${enc({ alg: 'HS256', typ: 'JWT' })}.!!!.abc`)
      await expectTokenRejected(us.agent, `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc([1])}.abc`)
    })
  })

  describe('stderr', () => {
    it('holds no key material, presented token, engine wording or stack trace', () => {
      logs.expectSuiteClean()
    })
  })
})
