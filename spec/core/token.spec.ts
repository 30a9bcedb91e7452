import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto'

import { expect } from 'chai'

import { ALGORITHMS, InvalidToken, type Algorithm } from '../../source'
import {
  DECODE_FAILURE_CODES,
  checkClaims,
  decodeUnverified,
  signToken,
  verifySignature,
  type ClaimRules,
  type JwtPayload,
} from '../../source/core/token'
import { SECRET } from '../helpers/app'
import { KEYS, keysFor } from '../helpers/keys'
import {
  caughtSync,
  ecPair,
  hmacToken,
  peek,
  peekHeader,
  segment,
  unsignedToken,
} from '../helpers/token-core'

const NOW = 1_700_000_000
const SECRET_KEY = createSecretKey(Buffer.from(SECRET))

function keyPair(algorithm: Algorithm): { sign: KeyObject; verify: KeyObject } {
  if (algorithm.startsWith('HS')) return { sign: SECRET_KEY, verify: SECRET_KEY }
  const pair = keysFor(algorithm)
  return { sign: createPrivateKey(pair.privateKey), verify: createPublicKey(pair.publicKey) }
}

function otherKey(algorithm: Algorithm): KeyObject {
  if (algorithm.startsWith('HS')) return createSecretKey(Buffer.from('another-secret-of-a-length'))
  if (algorithm.startsWith('RS') || algorithm.startsWith('PS')) {
    return createPrivateKey(KEYS.rsaOther.privateKey)
  }
  const curve = algorithm === 'ES256' ? 'P-256' : algorithm === 'ES384' ? 'P-384' : 'P-521'
  return createPrivateKey(ecPair(curve).privateKey)
}

function rules(overrides: Partial<ClaimRules> = {}): ClaimRules {
  return { now: NOW, leeway: 180, verifyExp: true, audience: null, issuer: null, ...overrides }
}

function claimError(payload: JwtPayload, overrides: Partial<ClaimRules> = {}): InvalidToken {
  const error = caughtSync(() => checkClaims(payload, rules(overrides)))
  expect(error).to.be.instanceOf(InvalidToken)
  return error as InvalidToken
}

function verifyError(
  token: string,
  key: KeyObject = SECRET_KEY,
  algorithm: Algorithm = 'HS256',
): InvalidToken {
  const error = caughtSync(() => verifySignature(token, key, algorithm))
  expect(error).to.be.instanceOf(InvalidToken)
  expect(error.status).to.equal(401)
  return error as InvalidToken
}

const ENGINE_WORDING = /jwt|invalid signature|invalid token|invalid algorithm|malformed|required/i

describe('core/token: signToken()', () => {
  it('writes the algorithm and typ JWT in the header', () => {
    const token = signToken({ user_id: 1, exp: NOW + 60 }, SECRET_KEY, 'HS384')
    expect(peekHeader(token)).to.deep.equal({ alg: 'HS384', typ: 'JWT' })
  })

  it('adds no iat of its own when the payload has none', () => {
    const token = signToken({ user_id: 1, exp: NOW + 60 }, SECRET_KEY, 'HS256')
    expect(peek(token)).to.deep.equal({ user_id: 1, exp: NOW + 60 })
  })

  it('keeps the iat of the payload instead of stamping the system time', () => {
    const token = signToken({ user_id: 1, exp: NOW + 60, iat: 12345 }, SECRET_KEY, 'HS256')
    expect(peek(token).iat).to.equal(12345)
  })

  it('never mutates the payload it is given', () => {
    const payload = Object.freeze({ user_id: 1, exp: NOW + 60, iat: NOW })
    const token = signToken(payload, SECRET_KEY, 'HS256')
    expect(payload).to.deep.equal({ user_id: 1, exp: NOW + 60, iat: NOW })
    expect(peek(token)).to.deep.equal(payload)
  })
})

describe('core/token: verifySignature()', () => {
  it("never reads the system clock (jsonwebtoken's own exp/nbf checks are off; claims use the clock setting)", () => {
    const { sign, verify } = keyPair('HS256')
    const token = signToken({ user_id: 7, exp: NOW + 60, nbf: NOW - 60 }, sign, 'HS256')
    const now = Date.now
    let reads = 0
    Date.now = () => {
      reads++
      return now()
    }
    try {
      expect(verifySignature(token, verify, 'HS256')).to.deep.equal({ user_id: 7, exp: NOW + 60, nbf: NOW - 60 })
    } finally {
      Date.now = now
    }
    expect(reads).to.equal(0)
  })

  for (const algorithm of ALGORITHMS) {
    describe(algorithm, () => {
      it('returns the payload of a token it signed (round trip)', () => {
        const { sign, verify } = keyPair(algorithm)
        const token = signToken({ user_id: 7, exp: NOW + 60 }, sign, algorithm)
        expect(verifySignature(token, verify, algorithm)).to.deep.equal({ user_id: 7, exp: NOW + 60 })
      })

      it('rejects a token signed by another key with ERR_JWT_INVALID_SIGNATURE', () => {
        const token = signToken({ user_id: 7, exp: NOW + 60 }, otherKey(algorithm), algorithm)
        const error = verifyError(token, keyPair(algorithm).verify, algorithm)
        expect(error.code).to.equal('ERR_JWT_INVALID_SIGNATURE')
        expect(error.reasons).to.deep.equal(['Signature verification failed.'])
      })
    })
  }

  it('rejects a token of another algorithm with ERR_JWT_INVALID_ALGORITHM', () => {
    const error = verifyError(hmacToken({ user_id: 1 }, SECRET, 'HS384'))
    expect(error.code).to.equal('ERR_JWT_INVALID_ALGORITHM')
    expect(error.reasons).to.deep.equal(['The specified alg value is not allowed.'])
  })

  it('rejects an RS256 token on an RS384 key with ERR_JWT_INVALID_ALGORITHM', () => {
    const { sign, verify } = keyPair('RS256')
    const token = signToken({ user_id: 1 }, sign, 'RS256')
    expect(verifyError(token, verify, 'RS384').code).to.equal('ERR_JWT_INVALID_ALGORITHM')
  })

  it('rejects an HS256 token signed with the RSA public key PEM on an RS256 key (algorithm confusion)', () => {
    const forged = hmacToken({ user_id: 1, exp: NOW + 60 }, KEYS.rsa.publicKey)
    const error = verifyError(forged, createPublicKey(KEYS.rsa.publicKey), 'RS256')
    expect(error.code).to.equal('ERR_JWT_INVALID_ALGORITHM')
  })

  describe('alg none', () => {
    const payload = { user_id: 1, exp: NOW + 60 }
    const realSignature = hmacToken(payload).split('.')[2] ?? ''
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      for (const [label, signature] of [
        ['no signature', ''],
        ['a junk signature', 'abc'],
        ['a real HMAC signature', realSignature],
      ] as const) {
        it(`rejects alg "${alg}" with ${label}`, () => {
          const error = verifyError(unsignedToken(payload, alg, signature))
          expect(DECODE_FAILURE_CODES.has(error.code)).to.equal(true)
        })
      }
    }

    it('rejects alg none without the trailing dot as malformed', () => {
      const token = `${segment({ alg: 'none' })}.${segment(payload)}`
      expect(verifyError(token).code).to.equal('ERR_JWT_MALFORMED')
    })

    it('classifies alg none tokens as ERR_JWT_INVALID_ALGORITHM whether or not a signature follows', () => {
      for (const signature of ['', 'abc']) {
        const error = verifyError(unsignedToken(payload, 'none', signature))
        expect(error.code, `signature "${signature}"`).to.equal('ERR_JWT_INVALID_ALGORITHM')
        expect(error.reasons).to.deep.equal(['The specified alg value is not allowed.'])
      }
    })
  })

  it('rejects a header whose alg is missing or not a string with ERR_JWT_INVALID_ALGORITHM', () => {
    for (const alg of [null, 5, ['HS256'], { name: 'HS256' }]) {
      const error = verifyError(unsignedToken({ user_id: 1 }, alg, 'abc'))
      expect(error.code).to.equal('ERR_JWT_INVALID_ALGORITHM')
    }
    const noAlg = `${segment({ typ: 'JWT' })}.${segment({ user_id: 1 })}.abc`
    expect(verifyError(noAlg).code).to.equal('ERR_JWT_INVALID_ALGORITHM')
  })

  it('explains structural failures in PyJWT words with ERR_JWT_MALFORMED', () => {
    const good = hmacToken({ user_id: 1 })
    const cases: [string, string][] = [
      ['', 'Not enough segments.'],
      ['garbage', 'Not enough segments.'],
      ['a.b', 'Not enough segments.'],
      ['a.b.c.d', 'Too many segments.'],
      [`x!.${segment({ user_id: 1 })}.abc`, 'Invalid header string.'],
      [`${segment('text')}.${segment({ user_id: 1 })}.abc`, 'Invalid header string.'],
      [`${good}=`, 'Invalid crypto padding.'],
      [`${good.slice(0, -2)}+/`, 'Invalid crypto padding.'],
    ]
    for (const [token, reason] of cases) {
      const error = verifyError(token)
      expect(error.code, token).to.equal('ERR_JWT_MALFORMED')
      expect(error.reasons, token).to.deep.equal([reason])
    }
  })

  it('rejects a correctly signed payload that is not a JSON object', () => {
    for (const payload of [[1, 2], 'text', 5, null, true]) {
      const error = verifyError(hmacToken(payload))
      expect(error.code, JSON.stringify(payload)).to.equal('ERR_JWT_MALFORMED')
      expect(error.reasons).to.deep.equal(['Invalid payload string: must be a json object.'])
    }
  })

  it('never shows the engine wording, and keeps the engine error as cause', () => {
    const tokens = [
      'garbage',
      '',
      hmacToken({ user_id: 1 }, 'wrong-secret'),
      hmacToken({ user_id: 1 }, SECRET, 'HS512'),
      unsignedToken({ user_id: 1 }, 'none'),
      `${hmacToken({ user_id: 1 })}=`,
    ]
    for (const token of tokens) {
      const error = verifyError(token)
      expect(error.message, token).not.to.match(ENGINE_WORDING)
      expect(error.reasons.join(' '), token).not.to.match(ENGINE_WORDING)
    }
    const error = verifyError(hmacToken({ user_id: 1 }, 'wrong-secret'))
    expect(error.cause).to.be.instanceOf(Error)
  })

  it('does not check exp or nbf (claims are checked with the configured clock)', () => {
    const token = hmacToken({ user_id: 1, exp: 1, nbf: 9_999_999_999 })
    expect(verifySignature(token, SECRET_KEY, 'HS256')).to.deep.equal({
      user_id: 1,
      exp: 1,
      nbf: 9_999_999_999,
    })
  })
})

describe('core/token: decodeUnverified()', () => {
  it('returns the payload without checking the signature', () => {
    const token = hmacToken({ id: 3, exp: 1 }, 'some-other-secret')
    expect(decodeUnverified(token)).to.deep.equal({ id: 3, exp: 1 })
  })

  it('throws InvalidToken ERR_JWT_MALFORMED for tokens without an object payload', () => {
    for (const [token, reason] of [
      ['garbage', 'Not enough segments.'],
      ['a.b.c.d', 'Too many segments.'],
      [hmacToken([1]), 'Invalid payload string: must be a json object.'],
      [`${segment({ alg: 'HS256' })}.%%%.abc`, 'Invalid payload string: must be a json object.'],
    ] as const) {
      const error = caughtSync(() => decodeUnverified(token))
      expect(error, token).to.be.instanceOf(InvalidToken)
      expect(error.code).to.equal('ERR_JWT_MALFORMED')
      expect(error.reasons).to.deep.equal([reason])
    }
  })
})

describe('core/token: checkClaims()', () => {
  describe('exp', () => {
    it('is expired when exp is exactly now - leeway', () => {
      const error = claimError({ exp: NOW - 180 })
      expect(error.code).to.equal('ERR_JWT_EXPIRED')
      expect(error.reasons).to.deep.equal(['Signature has expired.'])
    })

    it('is valid one second later (exp = now - leeway + 1)', () => {
      expect(() => checkClaims({ exp: NOW - 179 }, rules())).not.to.throw()
    })

    it('uses the whole seconds of the clock', () => {
      expect(() => checkClaims({ exp: NOW - 179 }, rules({ now: NOW + 0.999 }))).not.to.throw()
      expect(claimError({ exp: NOW - 179 }, { now: NOW + 1 }).code).to.equal('ERR_JWT_EXPIRED')
    })

    it('honours a leeway of 0', () => {
      expect(claimError({ exp: NOW }, { leeway: 0 }).code).to.equal('ERR_JWT_EXPIRED')
      expect(() => checkClaims({ exp: NOW + 1 }, rules({ leeway: 0 }))).not.to.throw()
    })

    it('is required while verifyExp is on (ERR_JWT_CLAIM_MISSING, reference §7.2.20)', () => {
      const error = claimError({ user_id: 1 })
      expect(error.code).to.equal('ERR_JWT_CLAIM_MISSING')
      expect(error.status).to.equal(401)
    })

    it('lets expired and missing exp pass when verifyExp is off', () => {
      expect(() => checkClaims({ exp: NOW - 10_000 }, rules({ verifyExp: false }))).not.to.throw()
      expect(() => checkClaims({}, rules({ verifyExp: false }))).not.to.throw()
    })

    for (const verifyExp of [true, false]) {
      it(`rejects a string, boolean or null exp with ERR_JWT_INVALID_CLAIM_TYPE (verifyExp ${verifyExp})`, () => {
        for (const exp of [String(NOW + 60), true, false, null, [NOW + 60], { at: NOW }]) {
          const error = claimError({ exp }, { verifyExp })
          expect(error.code, JSON.stringify(exp)).to.equal('ERR_JWT_INVALID_CLAIM_TYPE')
        }
      })
    }
  })

  describe('nbf', () => {
    it('is not yet valid when nbf > now + leeway', () => {
      const error = claimError({ exp: NOW + 60, nbf: NOW + 181 })
      expect(error.code).to.equal('ERR_JWT_NOT_YET_VALID')
      expect(error.reasons).to.deep.equal(['The token is not yet valid (nbf).'])
    })

    it('is valid when nbf = now + leeway', () => {
      expect(() => checkClaims({ exp: NOW + 60, nbf: NOW + 180 }, rules())).not.to.throw()
    })

    it('rejects a string, boolean or null nbf with ERR_JWT_INVALID_CLAIM_TYPE', () => {
      for (const nbf of [String(NOW), true, null]) {
        expect(claimError({ exp: NOW + 60, nbf }).code, JSON.stringify(nbf)).to.equal(
          'ERR_JWT_INVALID_CLAIM_TYPE',
        )
      }
    })
  })

  describe('iat', () => {
    it('is not yet valid when iat > now + leeway', () => {
      const error = claimError({ exp: NOW + 600, iat: NOW + 181 })
      expect(error.code).to.equal('ERR_JWT_NOT_YET_VALID')
      expect(error.reasons).to.deep.equal(['The token is not yet valid (iat).'])
    })

    it('is valid when iat = now + leeway', () => {
      expect(() => checkClaims({ exp: NOW + 600, iat: NOW + 180 }, rules())).not.to.throw()
    })

    it('rejects a string, boolean or null iat with ERR_JWT_INVALID_CLAIM_TYPE', () => {
      for (const iat of [String(NOW), false, null]) {
        expect(claimError({ exp: NOW + 60, iat }).code, JSON.stringify(iat)).to.equal(
          'ERR_JWT_INVALID_CLAIM_TYPE',
        )
      }
    })
  })

  describe('aud', () => {
    const exp = NOW + 60

    it('accepts the configured audience, as a string or inside a list', () => {
      expect(() => checkClaims({ exp, aud: 'api' }, rules({ audience: 'api' }))).not.to.throw()
      expect(() => checkClaims({ exp, aud: ['x', 'api'] }, rules({ audience: 'api' }))).not.to.throw()
      expect(() => checkClaims({ exp, aud: 'b' }, rules({ audience: ['a', 'b'] }))).not.to.throw()
    })

    it('rejects another audience with "Invalid audience."', () => {
      for (const aud of ['other', ['x', 'y'], []]) {
        const error = claimError({ exp, aud }, { audience: 'api' })
        expect(error.code, JSON.stringify(aud)).to.equal('ERR_JWT_INVALID_AUDIENCE')
        expect(error.reasons).to.deep.equal(['Invalid audience.'])
      }
    })

    it('rejects a non-string audience with ERR_JWT_INVALID_AUDIENCE', () => {
      for (const aud of [5, true, null, [5], { api: true }]) {
        expect(claimError({ exp, aud }, { audience: 'api' }).code, JSON.stringify(aud)).to.equal(
          'ERR_JWT_INVALID_AUDIENCE',
        )
      }
    })

    it('rejects a token without aud when an audience is configured with "Invalid audience." (reference §7.2.16)', () => {
      const error = claimError({ exp }, { audience: 'api' })
      expect(error.code).to.equal('ERR_JWT_INVALID_AUDIENCE')
      expect(error.status).to.equal(401)
      expect(error.reasons).to.deep.equal(['Invalid audience.'])
    })

    it('rejects a token carrying aud when no audience is configured', () => {
      const error = claimError({ exp, aud: 'api' })
      expect(error.code).to.equal('ERR_JWT_INVALID_AUDIENCE')
      expect(error.reasons).to.deep.equal(['Invalid audience.'])
    })
  })

  describe('iss', () => {
    const exp = NOW + 60

    it('accepts the configured issuer', () => {
      expect(() => checkClaims({ exp, iss: 'me' }, rules({ issuer: 'me' }))).not.to.throw()
    })

    it('ignores iss when no issuer is configured', () => {
      expect(() => checkClaims({ exp, iss: 'anyone' }, rules())).not.to.throw()
    })

    it('rejects another or a non-string issuer with "Invalid issuer."', () => {
      for (const iss of ['you', 'ME', ['me'], 5, null]) {
        const error = claimError({ exp, iss }, { issuer: 'me' })
        expect(error.code, JSON.stringify(iss)).to.equal('ERR_JWT_INVALID_ISSUER')
        expect(error.reasons).to.deep.equal(['Invalid issuer.'])
      }
    })

    it('rejects a token without iss when an issuer is configured with "Invalid issuer." (reference §7.2.16)', () => {
      const error = claimError({ exp }, { issuer: 'me' })
      expect(error.code).to.equal('ERR_JWT_INVALID_ISSUER')
      expect(error.status).to.equal(401)
      expect(error.reasons).to.deep.equal(['Invalid issuer.'])
    })
  })

  it('never mutates the payload', () => {
    const payload = Object.freeze({ exp: NOW + 60, iat: NOW, nbf: NOW, aud: 'api', iss: 'me' })
    expect(() => checkClaims(payload, rules({ audience: 'api', issuer: 'me' }))).not.to.throw()
  })
})
