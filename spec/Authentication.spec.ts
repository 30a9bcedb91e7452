import { AsyncLocalStorage } from 'node:async_hooks'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

import { expect } from 'chai'
import Koa from 'koa'

import {
  ALGORITHMS,
  Authentication,
  AuthenticateNotImplemented,
  AuthenticationFailed,
  InvalidConfiguration,
  InvalidPayload,
  InvalidRetrieveUserObject,
  InvalidToken,
  InvalidVerification,
  InvalidVerificationError,
  MissingRegisteredClaim,
  ProvidedPathNotFound,
  RequiredKeysNotFound,
  type Algorithm,
  Initialize,
  type ExtraVerification,
  type InitializeOptions,
  type JwtPayload,
  type KeyInput,
} from '../source'
import { DECODE_FAILURE_CODES } from '../source/core/token'
import { SECRET, makeClock } from './helpers/app'
import { KEYS, KEYS_DIR, keysFor } from './helpers/keys'
import {
  caught,
  caughtSync,
  ecPair,
  hmacToken,
  initialize,
  peek,
  peekHeader,
  pemFragments,
  pemOf,
  unsignedToken,
} from './helpers/token-core'

const T = 1_700_000_000
const USER = { user_id: 1, username: 'user1' }

type Options = InitializeOptions<any>

/** Key options of an algorithm: the secret for HS*, the public + private PEM for the others. */
function keyOptions(algorithm: Algorithm): Options {
  if (algorithm.startsWith('HS')) return { algorithm, secret: SECRET }
  const pair = keysFor(algorithm)
  return { algorithm, secret: pair.publicKey, privateKey: pair.privateKey }
}

/** Key options signing with keys that the instance of {@link keyOptions} does not trust. */
function otherKeyOptions(algorithm: Algorithm): Options {
  if (algorithm.startsWith('HS')) return { algorithm, secret: 'another-secret-of-some-length' }
  if (algorithm.startsWith('RS') || algorithm.startsWith('PS')) {
    return { algorithm, privateKey: KEYS.rsaOther.privateKey }
  }
  const curve = algorithm === 'ES256' ? 'P-256' : algorithm === 'ES384' ? 'P-384' : 'P-521'
  return { algorithm, privateKey: ecPair(curve).privateKey }
}

/** Another algorithm of the same family (so the same kind of key) or the next EC curve. */
const SIBLING: Record<Algorithm, Algorithm> = {
  HS256: 'HS384',
  HS384: 'HS512',
  HS512: 'HS256',
  RS256: 'RS384',
  RS384: 'RS512',
  RS512: 'RS256',
  ES256: 'ES384',
  ES384: 'ES512',
  ES512: 'ES256',
  PS256: 'PS384',
  PS384: 'PS512',
  PS512: 'PS256',
}

async function tokenError(jwt: Initialize, token: string): Promise<InvalidToken> {
  const error = await caught(() => jwt.auth.verifyToken(token))
  expect(error).to.be.instanceOf(InvalidToken)
  expect(error.status).to.equal(401)
  return error as InvalidToken
}

/** Asserts that neither the message, the reasons nor the stack show any of `secrets`. */
function expectNoKeyMaterial(error: Error & { reasons?: string[] }, secrets: string[]): void {
  const shown = `${error.message} ${(error.reasons ?? []).join(' ')} ${error.stack ?? ''}`
  expect(shown).not.to.include('-----BEGIN')
  for (const secret of secrets) expect(shown).not.to.include(secret)
}

describe('Authentication: algorithms', () => {
  for (const algorithm of ALGORITHMS) {
    describe(algorithm, () => {
      const clock = makeClock(T)
      let jwt: Initialize

      before(() => {
        jwt = initialize({ ...keyOptions(algorithm), clock: clock.clock })
      })

      it('verifies a token it generated (round trip)', async () => {
        const token = await jwt.auth.generateAccessToken(USER)
        expect(peekHeader(token).alg).to.equal(algorithm)
        expect(await jwt.auth.verifyToken(token)).to.deep.equal({ user_id: 1, exp: T + 1800 })
      })

      if (!algorithm.startsWith('HS')) {
        it('derives the public key from privateKey when secret is omitted', async () => {
          const { privateKey } = keysFor(algorithm)
          const derived = initialize({ algorithm, privateKey, clock: clock.clock })
          const token = await derived.auth.generateAccessToken(USER)
          expect(await derived.auth.verifyToken(token)).to.deep.equal({ user_id: 1, exp: T + 1800 })
          expect(await jwt.auth.verifyToken(token)).to.deep.equal({ user_id: 1, exp: T + 1800 })
        })
      }

      it('rejects a token signed by another key with ERR_JWT_INVALID_SIGNATURE', async () => {
        const other = initialize({ ...otherKeyOptions(algorithm), clock: clock.clock })
        const token = await other.auth.generateAccessToken(USER)
        const error = await tokenError(jwt, token)
        expect(error.code).to.equal('ERR_JWT_INVALID_SIGNATURE')
      })

      it(`rejects a ${SIBLING[algorithm]} token with ERR_JWT_INVALID_ALGORITHM`, async () => {
        const other = initialize({ ...keyOptions(SIBLING[algorithm]), clock: clock.clock })
        const token = await other.auth.generateAccessToken(USER)
        const error = await tokenError(jwt, token)
        expect(error.code).to.equal('ERR_JWT_INVALID_ALGORITHM')
      })

      it('rejects alg none tokens, with and without a trailing signature, in any casing', async () => {
        const payload = { user_id: 1, exp: T + 600 }
        for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
          for (const signature of ['', 'c2lnbmF0dXJl']) {
            const error = await tokenError(jwt, unsignedToken(payload, alg, signature))
            expect(DECODE_FAILURE_CODES.has(error.code), `${alg} "${signature}"`).to.equal(true)
          }
        }
      })
    })
  }

  it('rejects an RS256 token on a PS256 instance with the same RSA key (ERR_JWT_INVALID_ALGORITHM)', async () => {
    const rs = initialize(keyOptions('RS256'))
    const ps = initialize(keyOptions('PS256'))
    const error = await tokenError(ps, await rs.auth.generateAccessToken(USER))
    expect(error.code).to.equal('ERR_JWT_INVALID_ALGORITHM')
  })

  it('rejects an HS256 token signed with the RSA public key PEM as HMAC secret (algorithm confusion)', async () => {
    const clock = makeClock(T)
    const jwt = initialize({ ...keyOptions('RS256'), clock: clock.clock })
    const payload = { user_id: 1, exp: T + 600 }
    const pemVariants = [
      KEYS.rsa.publicKey,
      KEYS.rsa.publicKey.trim(),
      pemOf(createPublicKey(KEYS.rsa.publicKey)),
    ]
    for (const pem of pemVariants) {
      for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
        const error = await tokenError(jwt, hmacToken(payload, pem, alg))
        expect(error.code).to.equal('ERR_JWT_INVALID_ALGORITHM')
      }
    }
  })
})

describe('Authentication: keys at start-up', () => {
  const RSA_PRIVATE_PATH = join(KEYS_DIR, 'rsa-private.pem')
  const RSA_PUBLIC_PATH = join(KEYS_DIR, 'rsa-public.pem')
  const P256_PRIVATE_PATH = join(KEYS_DIR, 'ec-p256-private.pem')
  const P256_PUBLIC_PATH = join(KEYS_DIR, 'ec-p256-public.pem')
  const MISSING = join(KEYS_DIR, 'does-not-exist.pem')

  const forms: [string, (path: string, pem: string) => KeyInput][] = [
    ['PEM text', (_path, pem) => pem],
    ['a file path string', (path) => path],
    ['a URL', (path) => pathToFileURL(path)],
    ['a { path }', (path) => ({ path })],
    [
      'a KeyObject',
      (_path, pem) => (pem.includes('PRIVATE') ? createPrivateKey(pem) : createPublicKey(pem)),
    ],
  ]

  for (const [label, form] of forms) {
    it(`accepts keys as ${label} (RS256 and ES256)`, async () => {
      for (const [algorithm, privatePath, publicPath, pair] of [
        ['RS256', RSA_PRIVATE_PATH, RSA_PUBLIC_PATH, KEYS.rsa],
        ['ES256', P256_PRIVATE_PATH, P256_PUBLIC_PATH, KEYS.p256],
      ] as const) {
        const jwt = initialize({
          algorithm,
          secret: form(publicPath, pair.publicKey),
          privateKey: form(privatePath, pair.privateKey),
        })
        const token = await jwt.auth.generateAccessToken(USER)
        expect((await jwt.auth.verifyToken(token)).user_id).to.equal(1)
        const reference = initialize(keyOptions(algorithm))
        expect((await reference.auth.verifyToken(token)).user_id).to.equal(1)
      }
    })
  }

  it('verifies without a private key in a verify-only setup (authMode false)', async () => {
    const signer = initialize(keyOptions('ES384'))
    const verifier = new Initialize(new Koa(), {
      authMode: false,
      algorithm: 'ES384',
      publicKey: KEYS.p384.publicKey,
    })
    const token = await signer.auth.generateAccessToken(USER)
    expect((await verifier.auth.verifyToken(token)).user_id).to.equal(1)
    expect(await caught(() => verifier.auth.generateAccessToken(USER))).to.be.instanceOf(RequiredKeysNotFound)
  })

  it('throws ProvidedPathNotFound for an HS secret URL or { path } naming no file', () => {
    for (const secret of [pathToFileURL(MISSING), { path: MISSING }]) {
      expect(caughtSync(() => initialize({ secret }))).to.be.instanceOf(ProvidedPathNotFound)
    }
  })

  it('throws RequiredKeysNotFound for RS key paths naming no file', () => {
    for (const [secret, privateKey] of [
      [KEYS.rsa.publicKey, { path: MISSING }],
      [KEYS.rsa.publicKey, pathToFileURL(MISSING)],
      [KEYS.rsa.publicKey, MISSING],
      [{ path: MISSING }, KEYS.rsa.privateKey],
      [pathToFileURL(MISSING), KEYS.rsa.privateKey],
      [MISSING, KEYS.rsa.privateKey],
    ] as const) {
      const error = caughtSync(() => initialize({ algorithm: 'RS256', secret, privateKey }))
      expect(error).to.be.instanceOf(RequiredKeysNotFound)
    }
  })

  it('throws RequiredKeysNotFound for an asymmetric algorithm without a private key in auth mode', () => {
    const error = caughtSync(() => initialize({ algorithm: 'RS256', secret: KEYS.rsa.publicKey }))
    expect(error).to.be.instanceOf(RequiredKeysNotFound)
  })

  const badKeys: [string, Options, string[]][] = [
    [
      'garbage private key material',
      { algorithm: 'RS256', privateKey: 'garbage-key-material-0123456789' },
      ['garbage-key-material-0123456789'],
    ],
    [
      'garbage public key material',
      { algorithm: 'ES256', secret: 'garbage-public-key-0123456789', privateKey: KEYS.p256.privateKey },
      ['garbage-public-key-0123456789', ...pemFragments(KEYS.p256.privateKey)],
    ],
    [
      'an RSA key for ES256',
      { algorithm: 'ES256', secret: KEYS.rsa.publicKey, privateKey: KEYS.rsa.privateKey },
      [...pemFragments(KEYS.rsa.privateKey), ...pemFragments(KEYS.rsa.publicKey)],
    ],
    [
      'an RSA private key alone for ES512',
      { algorithm: 'ES512', privateKey: KEYS.rsa.privateKey },
      pemFragments(KEYS.rsa.privateKey),
    ],
    [
      'a P-256 key for ES384',
      { algorithm: 'ES384', secret: KEYS.p256.publicKey, privateKey: KEYS.p256.privateKey },
      [...pemFragments(KEYS.p256.privateKey), ...pemFragments(KEYS.p256.publicKey)],
    ],
    [
      'an EC key for RS256',
      { algorithm: 'RS256', privateKey: KEYS.p256.privateKey },
      pemFragments(KEYS.p256.privateKey),
    ],
    [
      'a mismatched RSA pair (RS256)',
      { algorithm: 'RS256', secret: KEYS.rsa.publicKey, privateKey: KEYS.rsaOther.privateKey },
      [...pemFragments(KEYS.rsaOther.privateKey), ...pemFragments(KEYS.rsa.publicKey)],
    ],
    [
      'a mismatched RSA pair (PS512)',
      { algorithm: 'PS512', secret: KEYS.rsa.publicKey, privateKey: KEYS.rsaOther.privateKey },
      [...pemFragments(KEYS.rsaOther.privateKey), ...pemFragments(KEYS.rsa.publicKey)],
    ],
    [
      'a mismatched P-256 pair (ES256)',
      { algorithm: 'ES256', secret: ecPair('P-256').publicKey, privateKey: KEYS.p256.privateKey },
      pemFragments(KEYS.p256.privateKey),
    ],
    [
      'a public key given as the private key',
      { algorithm: 'RS256', privateKey: KEYS.rsa.publicKey },
      pemFragments(KEYS.rsa.publicKey),
    ],
  ]
  for (const [label, options, material] of badKeys) {
    it(`throws RequiredKeysNotFound at new Initialize for ${label}, without showing the keys`, () => {
      const error = caughtSync(() => initialize(options))
      expect(error).to.be.instanceOf(RequiredKeysNotFound)
      expect(error.code).to.equal('ERR_JWT_REQUIRED_KEYS_NOT_FOUND')
      expectNoKeyMaterial(error, material)
    })
  }

  it('throws InvalidConfiguration for PEM text used as an HS secret, without showing it', () => {
    for (const pem of [KEYS.rsa.publicKey, KEYS.rsa.privateKey, KEYS.p521.publicKey]) {
      for (const algorithm of ['HS256', 'HS384', 'HS512'] as const) {
        const error = caughtSync(() => initialize({ algorithm, secret: pem }))
        expect(error).to.be.instanceOf(InvalidConfiguration)
        expectNoKeyMaterial(error, pemFragments(pem))
      }
    }
  })

  it('throws InvalidConfiguration for a PEM file used as an HS secret', () => {
    for (const secret of [RSA_PUBLIC_PATH, pathToFileURL(RSA_PUBLIC_PATH), { path: RSA_PUBLIC_PATH }]) {
      expect(caughtSync(() => initialize({ secret }))).to.be.instanceOf(InvalidConfiguration)
    }
  })

  it('throws InvalidConfiguration for a missing, blank or wrongly typed secret, without showing it', () => {
    const hidden = 'do-not-show-this-secret-value'
    const secrets: unknown[] = [undefined, null, '', '   ', 12345, { value: hidden }, [hidden], true]
    for (const secret of secrets) {
      const options = { secret } as unknown as Options
      const error = caughtSync(() => initialize(options))
      expect(error, JSON.stringify(secret)).to.be.instanceOf(InvalidConfiguration)
      expectNoKeyMaterial(error, [hidden, '12345'])
    }
  })

  it('never shows the secret in verification failures', async () => {
    const jwt = initialize()
    const tokens = ['garbage', hmacToken({ user_id: 1 }, 'other'), hmacToken({ user_id: 1, exp: 1 })]
    for (const token of tokens) {
      expectNoKeyMaterial(await caught(() => jwt.auth.verifyToken(token)), [SECRET])
    }
  })
})

describe('Authentication: registered claims', () => {
  function build(options: Options = {}): { jwt: Initialize; clock: ReturnType<typeof makeClock> } {
    const clock = makeClock(T)
    return { jwt: initialize({ clock: clock.clock, ...options }), clock }
  }

  describe('exp', () => {
    it('is expired when exp is exactly now - leeway, and valid one second earlier', async () => {
      const { jwt, clock } = build()
      const token = await jwt.auth.generateAccessToken(USER)
      expect(peek(token).exp).to.equal(T + 1800)
      clock.now = T + 1800 + 180
      const error = await tokenError(jwt, token)
      expect(error.code).to.equal('ERR_JWT_EXPIRED')
      expect(error.reasons).to.deep.equal(['Signature has expired.'])
      clock.now = T + 1800 + 179
      expect((await jwt.auth.verifyToken(token)).user_id).to.equal(1)
    })

    it('follows the leeway and expirationDelta settings', async () => {
      const { jwt, clock } = build({ leeway: 10, expirationDelta: 60 })
      const token = await jwt.auth.generateAccessToken(USER)
      clock.now = T + 69
      expect((await jwt.auth.verifyToken(token)).user_id).to.equal(1)
      clock.now = T + 70
      expect((await tokenError(jwt, token)).code).to.equal('ERR_JWT_EXPIRED')
    })

    it('uses the whole seconds of the clock for signing and verifying', async () => {
      const { jwt, clock } = build({ leeway: 0, expirationDelta: 10 })
      clock.now = T + 0.9
      const token = await jwt.auth.generateAccessToken(USER)
      expect(peek(token).exp).to.equal(T + 10)
      clock.now = T + 9.999
      expect((await jwt.auth.verifyToken(token)).user_id).to.equal(1)
      clock.now = T + 10
      expect((await tokenError(jwt, token)).code).to.equal('ERR_JWT_EXPIRED')
    })

    it('lets expired tokens pass when verifyExp is false', async () => {
      const { jwt, clock } = build({ verifyExp: false })
      const token = await jwt.auth.generateAccessToken(USER)
      clock.now = T + 1_000_000
      expect((await jwt.auth.verifyToken(token)).user_id).to.equal(1)
      expect((await jwt.auth.verifyToken(hmacToken({ user_id: 1 }))).user_id).to.equal(1)
    })

    it('rejects a token without exp with ERR_JWT_CLAIM_MISSING (reference §7.2.20)', async () => {
      const { jwt } = build()
      const error = await tokenError(jwt, hmacToken({ user_id: 1 }))
      expect(error.code).to.equal('ERR_JWT_CLAIM_MISSING')
    })

    it('gives each token the expirationDelta of the call, as seconds or a span', async () => {
      const { jwt } = build()
      expect(peek(await jwt.auth.generateAccessToken(USER, { expirationDelta: 60 })).exp).to.equal(T + 60)
      expect(peek(await jwt.auth.generateAccessToken(USER, { expirationDelta: '5m' })).exp).to.equal(T + 300)
      expect(peek(await jwt.auth.generateAccessToken(USER)).exp).to.equal(T + 1800)
    })

    it('validates the expirationDelta of the call without entering an AsyncLocalStorage scope', async () => {
      // A first AsyncLocalStorage#run turns on async hooks for the whole process (every await slower).
      const { jwt } = build()
      const original = AsyncLocalStorage.prototype.run
      let runs = 0
      AsyncLocalStorage.prototype.run = function (this: AsyncLocalStorage<unknown>, ...args: never[]) {
        runs++
        return (original as (...a: never[]) => unknown).apply(this, args)
      } as typeof original
      try {
        expect(peek(await jwt.auth.generateAccessToken(USER, { expirationDelta: '2m' })).exp).to.equal(T + 120)
        const error = await caught(() => jwt.auth.generateAccessToken(USER, { expirationDelta: 'soon' as never }))
        expect(error).to.be.instanceOf(InvalidConfiguration)
      } finally {
        AsyncLocalStorage.prototype.run = original
      }
      expect(runs).to.equal(0)
    })
  })

  describe('nbf', () => {
    it('is not valid before issue + claimNbfDelta, and valid at it', async () => {
      const { jwt, clock } = build({ claimNbf: true, claimNbfDelta: 60 })
      const token = await jwt.auth.generateAccessToken(USER)
      expect(peek(token).nbf).to.equal(T + 180 + 60)
      clock.now = T + 59
      const error = await tokenError(jwt, token)
      expect(error.code).to.equal('ERR_JWT_NOT_YET_VALID')
      expect(error.reasons).to.deep.equal(['The token is not yet valid (nbf).'])
      clock.now = T + 60
      expect((await jwt.auth.verifyToken(token)).user_id).to.equal(1)
    })

    it('is valid right away with the default claimNbfDelta of 0', async () => {
      const { jwt } = build({ claimNbf: true })
      const token = await jwt.auth.generateAccessToken(USER)
      expect((await jwt.auth.verifyToken(token)).nbf).to.equal(T + 180)
    })
  })

  describe('iat', () => {
    it('rejects an iat in the future beyond the leeway', async () => {
      const { jwt, clock } = build({ claimIat: true })
      clock.now = T + 181
      const early = await jwt.auth.generateAccessToken(USER)
      clock.now = T + 180
      const edge = await jwt.auth.generateAccessToken(USER)
      clock.now = T
      const error = await tokenError(jwt, early)
      expect(error.code).to.equal('ERR_JWT_NOT_YET_VALID')
      expect(error.reasons).to.deep.equal(['The token is not yet valid (iat).'])
      expect((await jwt.auth.verifyToken(edge)).iat).to.equal(T + 180)
    })
  })

  describe('wrong claim types', () => {
    const cases: [string, unknown][] = [
      ['a string', String(T + 600)],
      ['a boolean', true],
      ['null', null],
    ]
    for (const claim of ['exp', 'nbf', 'iat']) {
      for (const [label, value] of cases) {
        it(`rejects ${claim} as ${label} with ERR_JWT_INVALID_CLAIM_TYPE`, async () => {
          const { jwt } = build()
          const token = hmacToken({ user_id: 1, exp: T + 600, [claim]: value })
          expect((await tokenError(jwt, token)).code).to.equal('ERR_JWT_INVALID_CLAIM_TYPE')
        })
      }
    }
  })

  describe('iss and aud', () => {
    it('sets claimIss and verifies it', async () => {
      const { jwt } = build({ claimIss: 'issuer-a' })
      const token = await jwt.auth.generateAccessToken(USER)
      expect(peek(token).iss).to.equal('issuer-a')
      expect((await jwt.auth.verifyToken(token)).iss).to.equal('issuer-a')
    })

    it('rejects another issuer with "Invalid issuer."', async () => {
      const { jwt } = build({ claimIss: 'issuer-a' })
      const other = build({ claimIss: 'issuer-b' }).jwt
      const error = await tokenError(jwt, await other.auth.generateAccessToken(USER))
      expect(error.code).to.equal('ERR_JWT_INVALID_ISSUER')
      expect(error.reasons).to.deep.equal(['Invalid issuer.'])
    })

    it('rejects a token without iss with "Invalid issuer." when claimIss is set', async () => {
      const { jwt } = build({ claimIss: 'issuer-a' })
      const error = await tokenError(jwt, await build().jwt.auth.generateAccessToken(USER))
      expect(error.code).to.equal('ERR_JWT_INVALID_ISSUER')
      expect(error.reasons).to.deep.equal(['Invalid issuer.'])
    })

    it('sets claimAud and verifies it, also against a list', async () => {
      const { jwt } = build({ claimAud: 'aud-a' })
      const token = await jwt.auth.generateAccessToken(USER)
      expect(peek(token).aud).to.equal('aud-a')
      expect((await jwt.auth.verifyToken(token)).aud).to.equal('aud-a')
      const list = build({ claimAud: ['aud-x', 'aud-a'] }).jwt
      expect((await list.auth.verifyToken(token)).aud).to.equal('aud-a')
      expect((await jwt.auth.verifyToken(await list.auth.generateAccessToken(USER))).user_id).to.equal(1)
    })

    it('rejects another audience with "Invalid audience."', async () => {
      const { jwt } = build({ claimAud: 'aud-a' })
      const other = build({ claimAud: 'aud-b' }).jwt
      const error = await tokenError(jwt, await other.auth.generateAccessToken(USER))
      expect(error.code).to.equal('ERR_JWT_INVALID_AUDIENCE')
      expect(error.reasons).to.deep.equal(['Invalid audience.'])
    })

    it('rejects a token without aud with "Invalid audience." when claimAud is set', async () => {
      const { jwt } = build({ claimAud: 'aud-a' })
      const error = await tokenError(jwt, await build().jwt.auth.generateAccessToken(USER))
      expect(error.code).to.equal('ERR_JWT_INVALID_AUDIENCE')
      expect(error.reasons).to.deep.equal(['Invalid audience.'])
    })

    it('rejects a token carrying aud when claimAud is not set', async () => {
      const { jwt } = build()
      const token = await build({ claimAud: 'aud-a' }).jwt.auth.generateAccessToken(USER)
      const error = await tokenError(jwt, token)
      expect(error.code).to.equal('ERR_JWT_INVALID_AUDIENCE')
      expect(error.reasons).to.deep.equal(['Invalid audience.'])
    })
  })
})

describe('Authentication#addClaims()', () => {
  it('adds exp and every configured claim to the payload it returns', async () => {
    const clock = makeClock(T)
    const jwt = initialize({
      clock: clock.clock,
      claimIss: 'me',
      claimIat: true,
      claimNbf: true,
      claimNbfDelta: 5,
      claimAud: ['a', 'b'],
      leeway: 30,
    })
    const payload: JwtPayload = { user_id: 1 }
    const result = await jwt.auth.addClaims(payload, USER)
    expect(result).to.equal(payload)
    expect(result).to.deep.equal({
      user_id: 1,
      exp: T + 1800,
      iss: 'me',
      iat: T,
      nbf: T + 35,
      aud: ['a', 'b'],
    })
  })

  it('adds only exp by default', async () => {
    const clock = makeClock(T)
    const jwt = initialize({ clock: clock.clock })
    expect(await jwt.auth.addClaims({ user_id: 1 }, USER)).to.deep.equal({ user_id: 1, exp: T + 1800 })
  })
})

describe('Authentication#generateAccessToken()', () => {
  it('uses buildPayload and addClaims of a subclass, sync or async, in that order', async () => {
    const calls: string[] = []
    class Custom extends Authentication {
      override async buildPayload(user: typeof USER): Promise<JwtPayload> {
        calls.push('buildPayload')
        return { user_id: user.user_id, built: true }
      }
      override addClaims(payload: JwtPayload, user: typeof USER): Promise<JwtPayload> {
        calls.push('addClaims')
        return super.addClaims(payload, user).then((claimed) => ({ ...claimed, claimed: true }))
      }
    }
    const jwt = initialize({ clock: makeClock(T).clock, authenticationClass: Custom })
    const token = await jwt.auth.generateAccessToken(USER)
    expect(calls).to.deep.equal(['buildPayload', 'addClaims'])
    expect(peek(token)).to.deep.equal({ user_id: 1, built: true, exp: T + 1800, claimed: true })
  })

  it('throws InvalidPayload when buildPayload returns {}', async () => {
    class EmptyPayload extends Authentication {
      override async buildPayload(): Promise<JwtPayload> {
        return {}
      }
    }
    const jwt = initialize({ authenticationClass: EmptyPayload })
    const error = await caught(() => jwt.auth.generateAccessToken(USER))
    expect(error).to.be.instanceOf(InvalidPayload)
    expect(error.code).to.equal('ERR_JWT_INVALID_PAYLOAD')
    expect(error.status).to.equal(500)
  })

  it('throws InvalidPayload when buildPayload returns a non-object or an undefined user id', async () => {
    for (const built of [null, 'user', [1], { user_id: undefined }]) {
      class BadPayload extends Authentication {
        override async buildPayload(): Promise<JwtPayload> {
          return built as JwtPayload
        }
      }
      const jwt = initialize({ authenticationClass: BadPayload })
      expect(await caught(() => jwt.auth.generateAccessToken(USER)), JSON.stringify(built)).to.be.instanceOf(
        InvalidPayload,
      )
    }
  })

  it("throws MissingRegisteredClaim listing ['exp'] (sanic-jwt's wording) when extendPayload removes exp", async () => {
    const jwt = initialize({
      extendPayload: (payload) => {
        delete payload.exp
        return payload
      },
    })
    const error = await caught(() => jwt.auth.generateAccessToken(USER))
    expect(error).to.be.instanceOf(MissingRegisteredClaim)
    expect((error as MissingRegisteredClaim).missing).to.deep.equal(['exp'])
    expect(error.code).to.equal('ERR_JWT_MISSING_REGISTERED_CLAIM')
    expect(error.status).to.equal(500)
    expect(error.message).to.include("them. ['exp']")
  })

  it('lists every configured registered claim that extendPayload drops', async () => {
    const jwt = initialize({
      claimIss: 'me',
      claimIat: true,
      claimNbf: true,
      claimAud: 'api',
      extendPayload: (payload) => ({ user_id: payload.user_id }),
    })
    const error = await caught(() => jwt.auth.generateAccessToken(USER))
    expect(error).to.be.instanceOf(MissingRegisteredClaim)
    expect((error as MissingRegisteredClaim).missing).to.deep.equal(['exp', 'iss', 'iat', 'nbf', 'aud'])
  })

  it('signs what extendPayload adds', async () => {
    const jwt = initialize({
      extendPayload: (payload, user) => ({ ...payload, name: (user as typeof USER).username }),
    })
    expect(peek(await jwt.auth.generateAccessToken(USER)).name).to.equal('user1')
  })

  it('puts the scopes of addScopesToPayload in a list under scopesName', async () => {
    const single = initialize({ addScopesToPayload: () => 'user' })
    expect(peek(await single.auth.generateAccessToken(USER)).scopes).to.deep.equal(['user'])
    const named = initialize({ addScopesToPayload: async () => ['user', 'admin'], scopesName: 'perms' })
    expect(peek(await named.auth.generateAccessToken(USER)).perms).to.deep.equal(['user', 'admin'])
  })

  it('adds a fresh claim when asked', async () => {
    const jwt = initialize()
    expect(peek(await jwt.auth.generateAccessToken(USER, { fresh: true })).fresh).to.equal(true)
    expect(peek(await jwt.auth.generateAccessToken(USER))).not.to.have.property('fresh')
  })
})

describe('Authentication#generateAccessToken(): signing settings derived once', () => {
  // The settings signing reads are derived once while no getter, per-request value or override
  // applies; every way of changing them must still reach the next token.
  it('follows config.set() of every setting it reads, token after token', async () => {
    const clock = makeClock(T)
    const jwt = initialize({ clock: clock.clock, addScopesToPayload: () => ['a'] })
    expect(peek(await jwt.auth.generateAccessToken(USER))).to.deep.equal({ user_id: 1, exp: T + 1800, scopes: ['a'] })
    jwt.config.set('expirationDelta', 60)
    jwt.config.set('claimIss', 'me')
    jwt.config.set('claimIat', true)
    jwt.config.set('claimNbf', true)
    jwt.config.set('claimNbfDelta', 5)
    jwt.config.set('leeway', 2)
    jwt.config.set('claimAud', 'api')
    jwt.config.set('scopesName', 'perms')
    expect(peek(await jwt.auth.generateAccessToken(USER))).to.deep.equal({
      user_id: 1,
      exp: T + 60,
      iss: 'me',
      iat: T,
      nbf: T + 7,
      aud: 'api',
      perms: ['a'],
    })
    jwt.config.set('scopesEnabled', false)
    jwt.config.set('claimAud', null)
    expect(peek(await jwt.auth.generateAccessToken(USER))).not.to.have.any.keys('perms', 'scopes', 'aud')
  })

  it('signs with a new secret and algorithm right after config.set()', async () => {
    const jwt = initialize()
    const before = await jwt.auth.generateAccessToken(USER)
    jwt.config.set('secret', 'a-new-secret-of-enough-length-1234')
    jwt.config.set('algorithm', 'HS512')
    const after = await jwt.auth.generateAccessToken(USER)
    expect(peekHeader(after).alg).to.equal('HS512')
    expect((await jwt.auth.verifyToken(after)).user_id).to.equal(1)
    expect((await tokenError(jwt, before)).code).to.equal('ERR_JWT_INVALID_ALGORITHM')
  })

  it('reads the user id under a userId changed with config.set()', async () => {
    const jwt = initialize()
    jwt.config.set('userId', 'id')
    expect(peek(await jwt.auth.generateAccessToken({ id: 7 }))).to.include({ id: 7 })
    expect(await caught(() => jwt.auth.generateAccessToken(USER))).to.be.instanceOf(InvalidRetrieveUserObject)
  })

  it('sees an override() around the call, and only there', async () => {
    const clock = makeClock(T)
    const jwt = initialize({ clock: clock.clock })
    const inside = await jwt.auth.override({ expirationDelta: 30, claimIss: 'inner' }, () =>
      jwt.auth.generateAccessToken(USER),
    )
    expect(peek(inside)).to.deep.equal({ user_id: 1, exp: T + 30, iss: 'inner' })
    expect(peek(await jwt.auth.generateAccessToken(USER))).to.deep.equal({ user_id: 1, exp: T + 1800 })
  })

  it('runs sync and async extendPayload and addScopesToPayload handlers, and thenables', async () => {
    const thenable = <T>(value: T): PromiseLike<T> => ({
      then: (resolve?: ((v: T) => unknown) | null) => Promise.resolve(resolve?.(value)) as never,
    })
    class Mixed extends Authentication {
      override extendPayload(payload: JwtPayload): JwtPayload {
        return thenable({ ...payload, extended: true }) as unknown as JwtPayload
      }
      override addScopesToPayload(): string[] {
        return thenable(['from-thenable']) as unknown as string[]
      }
    }
    const jwt = initialize({ authenticationClass: Mixed })
    expect(peek(await jwt.auth.generateAccessToken(USER))).to.include({ extended: true })
    expect(peek(await jwt.auth.generateAccessToken(USER)).scopes).to.deep.equal(['from-thenable'])
    const sync = initialize({ extendPayload: (payload) => ({ ...payload, sync: 1 }), addScopesToPayload: () => ['s'] })
    expect(peek(await sync.auth.generateAccessToken(USER))).to.include({ sync: 1 })
  })
})

describe('Authentication: extraVerifications', () => {
  it('passes the payload to every verification and accepts when all return true (sync or async)', async () => {
    const seen: JwtPayload[] = []
    const jwt = initialize({
      extraVerifications: [
        (payload) => {
          seen.push(payload)
          return true
        },
        async (payload) => payload.user_id === 1,
      ],
    })
    const token = await jwt.auth.generateAccessToken(USER)
    expect((await jwt.auth.verifyToken(token)).user_id).to.equal(1)
    expect(seen).to.have.length(1)
    expect(seen[0]?.user_id).to.equal(1)
  })

  for (const [label, verification] of [
    ['sync', () => false],
    ['async', async () => false],
  ] as const) {
    it(`throws InvalidVerificationError (401) when a ${label} verification returns false`, async () => {
      const jwt = initialize({ extraVerifications: [() => true, verification] })
      const error = await caught(async () => jwt.auth.verifyToken(await jwt.auth.generateAccessToken(USER)))
      expect(error).to.be.instanceOf(InvalidVerificationError)
      expect(error.status).to.equal(401)
      expect(error.code).to.equal('ERR_JWT_VERIFICATION_FAILED')
      expect(error.reasons).to.deep.equal(['Verifications were not met.'])
    })
  }

  for (const value of [1, 0, 'true', null, undefined, {}]) {
    it(`throws InvalidVerification (500) when a verification returns ${JSON.stringify(value) ?? 'undefined'}`, async () => {
      const jwt = initialize({ extraVerifications: [(() => value) as unknown as ExtraVerification] })
      const error = await caught(async () => jwt.auth.verifyToken(await jwt.auth.generateAccessToken(USER)))
      expect(error).to.be.instanceOf(InvalidVerification)
      expect(error.status).to.equal(500)
      expect(error.code).to.equal('ERR_JWT_INVALID_VERIFICATION')
    })
  }

  it('throws InvalidVerification when an async verification resolves to a non-boolean', async () => {
    const jwt = initialize({ extraVerifications: [(async () => 'yes') as unknown as ExtraVerification] })
    const error = await caught(async () => jwt.auth.verifyToken(await jwt.auth.generateAccessToken(USER)))
    expect(error).to.be.instanceOf(InvalidVerification)
  })

  it('throws InvalidVerification at start-up for a verification that is not a function', () => {
    for (const entry of ['check', true, null, {}, [() => true]]) {
      const extraVerifications = [entry] as unknown as ExtraVerification[]
      expect(caughtSync(() => initialize({ extraVerifications })), JSON.stringify(entry)).to.be.instanceOf(
        InvalidVerification,
      )
    }
  })

  it('is skipped with verify: false, while the signature and exp still are checked', async () => {
    const clock = makeClock(T)
    const jwt = initialize({ clock: clock.clock, extraVerifications: [() => false] })
    const token = await jwt.auth.generateAccessToken(USER)
    expect((await jwt.auth.verifyToken(token, { verify: false })).user_id).to.equal(1)
    const forged = hmacToken({ user_id: 1, exp: T + 60 }, 'x')
    const error = await caught(() => jwt.auth.verifyToken(forged, { verify: false }))
    expect(error).to.be.instanceOf(InvalidToken)
    clock.now = T + 10_000
    const expired = await caught(() => jwt.auth.verifyToken(token, { verify: false }))
    expect(expired.code).to.equal('ERR_JWT_EXPIRED')
  })
})

describe('Authentication: per-user secrets', () => {
  interface Account {
    id: number
    name: string
  }
  const alice: Account = { id: 7, name: 'alice' }
  const bob: Account = { id: 8, name: 'bob' }

  function build(extra: Options = {}) {
    const secrets = new Map<unknown, string>([
      [7, 'alice-secret-version-1'],
      [8, 'bob-secret-version-1'],
    ])
    const calls: [unknown, { encode: boolean }][] = []
    const jwt = initialize<Account>({
      userId: 'id',
      retrieveUserSecret: async (userId, options) => {
        calls.push([userId, { ...options }])
        const secret = secrets.get(userId)
        if (secret === undefined) throw new Error(`no secret for ${String(userId)}`)
        return secret
      },
      ...extra,
    })
    return { jwt, secrets, calls }
  }

  it('is turned on by the retrieveUserSecret handler', () => {
    expect(build().jwt.config.get('userSecretEnabled')).to.equal(true)
  })

  it('signs and verifies with the secret of the user named by the userId setting (reference §7.2.3)', async () => {
    const { jwt, calls } = build()
    const token = await jwt.auth.generateAccessToken(alice)
    expect(peek(token)).to.include({ id: 7 })
    expect(calls).to.deep.equal([[7, { encode: false }]])
    expect((await jwt.auth.verifyToken(token)).id).to.equal(7)
    expect(calls).to.deep.equal([
      [7, { encode: false }],
      [7, { encode: false }],
    ])
    const byHand = hmacToken({ id: 7, exp: peek(token).exp }, 'alice-secret-version-1')
    expect((await jwt.auth.verifyToken(byHand)).id).to.equal(7)
  })

  it('reads the id under the userId key, not user_id', async () => {
    const { jwt, calls } = build()
    const token = hmacToken({ id: 7, user_id: 8, exp: 9_999_999_999 }, 'alice-secret-version-1')
    expect((await jwt.auth.verifyToken(token)).id).to.equal(7)
    expect(calls).to.deep.equal([[7, { encode: false }]])
  })

  it('does not verify a token of a user after that user\'s secret changes', async () => {
    const { jwt, secrets } = build()
    const token = await jwt.auth.generateAccessToken(alice)
    expect((await jwt.auth.verifyToken(token)).id).to.equal(7)
    secrets.set(7, 'alice-secret-version-2')
    expect((await tokenError(jwt, token)).code).to.equal('ERR_JWT_INVALID_SIGNATURE')
    expect((await jwt.auth.verifyToken(await jwt.auth.generateAccessToken(alice))).id).to.equal(7)
  })

  it('does not verify a token of one user that claims the id of another', async () => {
    const { jwt } = build()
    const forged = hmacToken({ id: 8, exp: 9_999_999_999 }, 'alice-secret-version-1')
    expect((await tokenError(jwt, forged)).code).to.equal('ERR_JWT_INVALID_SIGNATURE')
    const shared = hmacToken({ id: 8, exp: 9_999_999_999 }, SECRET)
    expect((await tokenError(jwt, shared)).code).to.equal('ERR_JWT_INVALID_SIGNATURE')
    expect((await jwt.auth.verifyToken(await jwt.auth.generateAccessToken(bob))).id).to.equal(8)
  })

  it('rejects with InvalidToken (401), not a TypeError, a token whose user has no secret (null or undefined)', async () => {
    for (const missing of [null, undefined]) {
      const jwt = initialize<Account>({
        userId: 'id',
        retrieveUserSecret: (userId) => (userId === 7 ? 'alice-secret-version-1' : missing) as string,
      })
      for (const payload of [{ id: 99, exp: 9_999_999_999 }, { exp: 9_999_999_999 }]) {
        const error = await caught(() => jwt.auth.verifyToken(hmacToken(payload, 'guessed')))
        expect(error, `${String(missing)} ${JSON.stringify(payload)}`).to.be.instanceOf(InvalidToken)
        expect(error.status).to.equal(401)
      }
    }
  })

  it('asks for the private key (encode: true) only when signing with an asymmetric algorithm', async () => {
    const userPrivate = KEYS.rsaOther.privateKey
    const userPublic = pemOf(createPublicKey(userPrivate))
    const calls: [unknown, boolean][] = []
    const jwt = initialize<Account>({
      ...keyOptions('RS256'),
      userId: 'id',
      retrieveUserSecret: (userId, { encode }) => {
        calls.push([userId, encode])
        return encode ? userPrivate : userPublic
      },
    })
    const token = await jwt.auth.generateAccessToken(alice)
    expect((await jwt.auth.verifyToken(token)).id).to.equal(7)
    expect(calls).to.deep.equal([
      [7, true],
      [7, false],
    ])
    const global = initialize(keyOptions('RS256'))
    expect((await tokenError(global, token)).code).to.equal('ERR_JWT_INVALID_SIGNATURE')
  })
})

describe('Authentication#getUserId()', () => {
  class Model {
    constructor(readonly data: Record<string, unknown>) {}
    toDict(): Record<string, unknown> {
      return this.data
    }
  }
  class AsyncModel {
    user_id = 999
    constructor(readonly data: Record<string, unknown>) {}
    async toDict(): Promise<Record<string, unknown>> {
      await new Promise((resolve) => setImmediate(resolve))
      return this.data
    }
  }
  class NoDict {
    user_id = 5
  }

  it('uses a plain object holding the userId key as is, even when it has toDict', async () => {
    const jwt = initialize()
    let called = false
    const user = {
      user_id: 5,
      toDict() {
        called = true
        return { user_id: 6 }
      },
    }
    expect(await jwt.auth.getUserId(user)).to.equal(5)
    expect(peek(await jwt.auth.generateAccessToken(user)).user_id).to.equal(5)
    expect(called).to.equal(false)
  })

  it('reads class instances through a sync or async toDict', async () => {
    const jwt = initialize()
    expect(await jwt.auth.getUserId(new Model({ user_id: 11 }))).to.equal(11)
    expect(await jwt.auth.getUserId(new AsyncModel({ user_id: 12 }))).to.equal(12)
    expect(peek(await jwt.auth.generateAccessToken(new AsyncModel({ user_id: 12 }))).user_id).to.equal(12)
    // A toDict returning a thenable that is not a Promise (e.g. a query builder) is awaited too.
    const lazy = { toDict: () => ({ then: (resolve: (v: unknown) => void) => resolve({ user_id: 13 }) }) }
    expect(await jwt.auth.getUserId(lazy)).to.equal(13)
    expect(peek(await jwt.auth.generateAccessToken(lazy)).user_id).to.equal(13)
  })

  it('follows the userId setting', async () => {
    const jwt = initialize({ userId: 'uid' })
    expect(await jwt.auth.getUserId({ uid: 'u-1', user_id: 2 })).to.equal('u-1')
    expect(await jwt.auth.getUserId(new Model({ uid: 'u-2' }))).to.equal('u-2')
    expect(peek(await jwt.auth.generateAccessToken({ uid: 'u-3' }))).to.deep.include({ uid: 'u-3' })
  })

  it('builds a payload holding only the user id', async () => {
    const jwt = initialize()
    expect(await jwt.auth.buildPayload({ user_id: 1, password: 'secret', username: 'x' })).to.deep.equal({
      user_id: 1,
    })
  })

  it('throws InvalidRetrieveUserObject for a class instance without toDict, a primitive or a list', async () => {
    const jwt = initialize()
    const users: unknown[] = [new NoDict(), null, undefined, 42, 'user', [1], new Model(null as never)]
    for (const user of users) {
      const error = await caught(() => jwt.auth.getUserId(user))
      expect(error, String(user)).to.be.instanceOf(InvalidRetrieveUserObject)
      expect(error.code).to.equal('ERR_JWT_INVALID_USER_OBJECT')
      expect(error.status).to.equal(500)
    }
    expect(await caught(() => jwt.auth.generateAccessToken(new NoDict()))).to.be.instanceOf(
      InvalidRetrieveUserObject,
    )
  })

  it('throws InvalidRetrieveUserObject for a plain object without the userId key and without toDict', async () => {
    const jwt = initialize()
    const user = { username: 'x' }
    expect(await caught(() => jwt.auth.getUserId(user))).to.be.instanceOf(InvalidRetrieveUserObject)
    expect(await caught(() => jwt.auth.generateAccessToken(user))).to.be.instanceOf(InvalidRetrieveUserObject)
  })
})

describe('Authentication#compareRefreshTokens()', () => {
  const auth = initialize().auth

  it('accepts equal non-empty strings', () => {
    expect(() => auth.compareRefreshTokens('abc123', 'abc123')).not.to.throw()
    expect(() => auth.compareRefreshTokens('žluťoučký', 'žluťoučký')).not.to.throw()
  })

  it('accepts a stored Buffer (UTF-8) equal to the sent string', () => {
    expect(() => auth.compareRefreshTokens(Buffer.from('abc123'), 'abc123')).not.to.throw()
    expect(() => auth.compareRefreshTokens(Buffer.from('žluť'), 'žluť')).not.to.throw()
  })

  it('throws AuthenticationFailed for different tokens', () => {
    for (const [stored, sent] of [
      ['abc123', 'abc124'],
      ['abc123', 'abc1234'],
      ['abc123', 'ABC123'],
      [Buffer.from('abc123'), 'abc124'],
    ] as const) {
      const error = caughtSync(() => auth.compareRefreshTokens(stored, sent))
      expect(error).to.be.instanceOf(AuthenticationFailed)
      expect(error.status).to.equal(401)
      expect(error.reasons).to.deep.equal(['Authentication failed.'])
    }
  })

  it('throws AuthenticationFailed when either side is null, empty or undefined (reference §7.2.1)', () => {
    const empties = [null, '', undefined, Buffer.alloc(0)]
    for (const empty of empties) {
      expect(caughtSync(() => auth.compareRefreshTokens(empty, 'abc'))).to.be.instanceOf(AuthenticationFailed)
      expect(caughtSync(() => auth.compareRefreshTokens('abc', empty))).to.be.instanceOf(AuthenticationFailed)
      for (const other of empties) {
        expect(caughtSync(() => auth.compareRefreshTokens(empty, other))).to.be.instanceOf(AuthenticationFailed)
      }
    }
  })

  it('throws AuthenticationFailed for a sent value that is not a string', () => {
    for (const sent of [123, ['abc'], { token: 'abc' }, Buffer.from('abc')]) {
      expect(caughtSync(() => auth.compareRefreshTokens('abc', sent))).to.be.instanceOf(AuthenticationFailed)
    }
    expect(caughtSync(() => auth.compareRefreshTokens(123, '123'))).to.be.instanceOf(AuthenticationFailed)
  })

  it('throws AuthenticationFailed, not a RangeError, for same-length strings of different byte length', () => {
    for (const [stored, sent] of [
      ['éé', 'ab'],
      ['ab', 'éé'],
      ['€', 'e'],
      ['😀', 'ab'],
      [Buffer.from('éé'), 'ab'],
    ] as const) {
      const error = caughtSync(() => auth.compareRefreshTokens(stored, sent))
      expect(error).not.to.be.instanceOf(RangeError)
      expect(error).to.be.instanceOf(AuthenticationFailed)
    }
  })
})

describe('Authentication#override()', () => {
  it('applies the values inside fn only and returns what fn returns', () => {
    const jwt = initialize()
    const inside = jwt.auth.override({ leeway: 5, expirationDelta: '1m' }, () => [
      jwt.config.get('leeway'),
      jwt.config.get('expirationDelta'),
    ])
    expect(inside).to.deep.equal([5, 60])
    expect(jwt.config.get('leeway')).to.equal(180)
    expect(jwt.config.get('expirationDelta')).to.equal(1800)
  })

  it('keeps the values across awaits inside an async fn, and restores them after', async () => {
    const jwt = initialize()
    const seen = await jwt.auth.override({ leeway: 5 }, async () => {
      await new Promise((resolve) => setImmediate(resolve))
      return jwt.config.get('leeway')
    })
    expect(seen).to.equal(5)
    expect(jwt.config.get('leeway')).to.equal(180)
  })

  it('changes how tokens are verified inside fn only', async () => {
    const clock = makeClock(T)
    const jwt = initialize({ clock: clock.clock })
    const token = await jwt.auth.generateAccessToken(USER)
    clock.now = T + 10_000
    const payload = await jwt.auth.override({ verifyExp: false }, () => jwt.auth.verifyToken(token))
    expect(payload.user_id).to.equal(1)
    expect((await tokenError(jwt, token)).code).to.equal('ERR_JWT_EXPIRED')
  })

  it('restores the values after fn throws', () => {
    const jwt = initialize()
    const error = caughtSync(() =>
      jwt.auth.override({ leeway: 5 }, () => {
        throw new Error('boom')
      }),
    )
    expect(error.message).to.equal('boom')
    expect(jwt.config.get('leeway')).to.equal(180)
  })

  it('restores the values after an async fn rejects', async () => {
    const jwt = initialize()
    const error = await caught(() =>
      jwt.auth.override({ leeway: 5 }, async () => {
        await Promise.resolve()
        throw new Error('boom')
      }),
    )
    expect(error.message).to.equal('boom')
    expect(jwt.config.get('leeway')).to.equal(180)
  })

  it('nests: the inner values win inside, the outer ones come back after', () => {
    const jwt = initialize()
    jwt.auth.override({ leeway: 5, claimIss: 'outer' }, () => {
      jwt.auth.override({ leeway: 6 }, () => {
        expect(jwt.config.get('leeway')).to.equal(6)
        expect(jwt.config.get('claimIss')).to.equal('outer')
      })
      expect(jwt.config.get('leeway')).to.equal(5)
    })
    expect(jwt.config.get('claimIss')).to.equal(null)
  })

  it('keeps concurrent overrides in two async flows apart', async () => {
    const jwt = initialize()
    let releaseA = (): void => undefined
    let releaseB = (): void => undefined
    const gateA = new Promise<void>((resolve) => (releaseA = resolve))
    const gateB = new Promise<void>((resolve) => (releaseB = resolve))
    const flowA = jwt.auth.override({ leeway: 1 }, async () => {
      const before = jwt.config.get('leeway')
      releaseB()
      await gateA
      return [before, jwt.config.get('leeway')]
    })
    const flowB = jwt.auth.override({ leeway: 2 }, async () => {
      await gateB
      const before = jwt.config.get('leeway')
      releaseA()
      await new Promise((resolve) => setImmediate(resolve))
      return [before, jwt.config.get('leeway')]
    })
    expect(jwt.config.get('leeway')).to.equal(180)
    expect(await Promise.all([flowA, flowB])).to.deep.equal([
      [1, 1],
      [2, 2],
    ])
    expect(jwt.config.get('leeway')).to.equal(180)
  })

  it('does not let a concurrent verifyExp: false override accept expired tokens elsewhere', async () => {
    const clock = makeClock(T)
    const jwt = initialize({ clock: clock.clock })
    const token = await jwt.auth.generateAccessToken(USER)
    clock.now = T + 10_000
    let release = (): void => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const lenient = jwt.auth.override({ verifyExp: false }, async () => {
      await gate
      return jwt.auth.verifyToken(token)
    })
    const strict = caught(async () => {
      const pending = jwt.auth.verifyToken(token)
      release()
      return pending
    })
    const [payload, error] = await Promise.all([lenient, strict])
    expect(payload.user_id).to.equal(1)
    expect(error.code).to.equal('ERR_JWT_EXPIRED')
  })

  it('throws InvalidConfiguration for an unknown setting or a wrong value, without running fn', () => {
    const jwt = initialize()
    let ran = false
    const run = (): void => {
      ran = true
    }
    expect(caughtSync(() => jwt.auth.override({ leewya: 5 }, run))).to.be.instanceOf(InvalidConfiguration)
    expect(caughtSync(() => jwt.auth.override({ leeway: -1 }, run))).to.be.instanceOf(InvalidConfiguration)
    expect(ran).to.equal(false)
  })
})

describe('Authentication#implements()', () => {
  const app = (): Koa => new Koa()

  it('refuses a subclass whose authenticate is a non-function field with AuthenticateNotImplemented (issue #18)', () => {
    class FieldAuthentication extends Authentication {
      // sanic-jwt test_authentication: `authenticate = 'foobar'` is no handler.
      override authenticate = 'foobar' as unknown as Authentication['authenticate']
    }
    const error = caughtSync(() => new Initialize(app(), { secret: SECRET, authenticationClass: FieldAuthentication }))
    expect(error).to.be.instanceOf(AuthenticateNotImplemented)
    expect(error).to.include({ status: 500, code: 'ERR_JWT_AUTHENTICATE_NOT_IMPLEMENTED' })
  })

  it('does not count a non-function refresh handler field as a handler', () => {
    class FieldAuthentication extends Authentication {
      override authenticate = (): object => USER
      override storeRefreshToken = null as unknown as Authentication['storeRefreshToken']
    }
    const jwt = new Initialize(app(), { secret: SECRET, authenticationClass: FieldAuthentication })
    expect(jwt.auth.implements('storeRefreshToken')).to.equal(false)
    expect(jwt.auth.implements('authenticate')).to.equal(true)
    expect(jwt.config.get('refreshTokenEnabled')).to.equal(false)
  })

  it('counts handlers given as options, methods and function fields', () => {
    class MethodAuthentication extends Authentication {
      override retrieveUser(): object {
        return USER
      }
    }
    const jwt = new Initialize(app(), {
      secret: SECRET,
      authenticationClass: MethodAuthentication,
      authenticate: () => USER,
    })
    expect(jwt.auth.implements('authenticate')).to.equal(true)
    expect(jwt.auth.implements('retrieveUser')).to.equal(true)
    expect(jwt.auth.implements('extendPayload')).to.equal(false)
  })
})
