import {
  KeyObject,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
} from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

import { expect } from 'chai'

import {
  ALGORITHMS,
  InvalidConfiguration,
  ProvidedPathNotFound,
  RequiredKeysNotFound,
  type Algorithm,
  type KeyInput,
} from '../../source'
import { compileKeys, compileUserKey, loadKeyMaterial } from '../../source/core/keys'
import { signToken, verifySignature } from '../../source/core/token'
import { SECRET } from '../helpers/app'
import { KEYS, KEYS_DIR, keysFor } from '../helpers/keys'
import { caughtSync, ecPair, pemFragments, pemOf } from '../helpers/token-core'
import { warningsDuring, withCode } from '../helpers/warnings'

const ASYMMETRIC = ALGORITHMS.filter((alg) => !alg.startsWith('HS'))
const RSA_PRIVATE_PATH = join(KEYS_DIR, 'rsa-private.pem')
const RSA_PUBLIC_PATH = join(KEYS_DIR, 'rsa-public.pem')
const MISSING_PATH = join(KEYS_DIR, 'no-such-key.pem')

function roundTrip(
  keys: { signKey: KeyObject | undefined; verifyKey: KeyObject },
  algorithm: Algorithm,
): void {
  expect(keys.signKey).to.be.instanceOf(KeyObject)
  const token = signToken({ user_id: 1 }, keys.signKey as KeyObject, algorithm)
  expect(verifySignature(token, keys.verifyKey, algorithm)).to.deep.equal({ user_id: 1 })
}

/** Asserts that neither the message nor the reasons show any of `secrets`. */
function expectNoKeyMaterial(error: Error & { reasons?: string[] }, secrets: string[]): void {
  const shown = `${error.message} ${(error.reasons ?? []).join(' ')} ${error.stack ?? ''}`
  expect(shown).not.to.include('-----BEGIN')
  for (const secret of secrets) expect(shown).not.to.include(secret)
}

describe('core/keys: loadKeyMaterial()', () => {
  let dir: string
  let secretFile: string

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'koa-jwt-kit-keys-'))
    secretFile = join(dir, 'secret.txt')
    writeFileSync(secretFile, 'secret-from-a-file')
  })

  after(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('returns a KeyObject or a Buffer as is', () => {
    const key = createSecretKey(Buffer.from(SECRET))
    const bytes = Buffer.from(SECRET)
    expect(loadKeyMaterial(key)).to.equal(key)
    expect(loadKeyMaterial(bytes)).to.equal(bytes)
  })

  it('returns PEM text as is', () => {
    expect(loadKeyMaterial(KEYS.rsa.privateKey)).to.equal(KEYS.rsa.privateKey)
  })

  it('reads a string that names an existing file', () => {
    expect(loadKeyMaterial(RSA_PUBLIC_PATH).toString()).to.equal(KEYS.rsa.publicKey)
    expect(loadKeyMaterial(secretFile).toString()).to.equal('secret-from-a-file')
  })

  it('reads a URL and a { path } naming a file', () => {
    expect(loadKeyMaterial(pathToFileURL(RSA_PUBLIC_PATH)).toString()).to.equal(KEYS.rsa.publicKey)
    expect(loadKeyMaterial({ path: RSA_PUBLIC_PATH }).toString()).to.equal(KEYS.rsa.publicKey)
  })

  it('treats a string that names no file as the key itself', () => {
    expect(loadKeyMaterial(MISSING_PATH)).to.equal(MISSING_PATH)
    expect(loadKeyMaterial(SECRET)).to.equal(SECRET)
  })

  it('treats a string naming a directory as the key itself', () => {
    expect(loadKeyMaterial(dir)).to.equal(dir)
  })

  it('throws ProvidedPathNotFound for a URL or { path } naming no file', () => {
    for (const input of [pathToFileURL(MISSING_PATH), { path: MISSING_PATH }, { path: dir }]) {
      expect(caughtSync(() => loadKeyMaterial(input))).to.be.instanceOf(ProvidedPathNotFound)
    }
  })
})

describe('core/keys: compileKeys()', () => {
  describe('HS*', () => {
    for (const algorithm of ['HS256', 'HS384', 'HS512'] as const) {
      it(`compiles a text secret into one secret KeyObject (${algorithm})`, () => {
        const keys = compileKeys(algorithm, SECRET, null)
        expect(keys.verifyKey.type).to.equal('secret')
        expect(keys.signKey).to.equal(keys.verifyKey)
        expect(keys.algorithm).to.equal(algorithm)
        roundTrip(keys, algorithm)
      })
    }

    it('returns a frozen object', () => {
      expect(Object.isFrozen(compileKeys('HS256', SECRET, null))).to.equal(true)
    })

    it('accepts a Buffer and a secret KeyObject', () => {
      roundTrip(compileKeys('HS256', Buffer.from(SECRET), null), 'HS256')
      const key = createSecretKey(Buffer.from(SECRET))
      expect(compileKeys('HS256', key, null).verifyKey).to.equal(key)
    })

    it('reads the secret from a file path, a URL and a { path }', () => {
      const dir = mkdtempSync(join(tmpdir(), 'koa-jwt-kit-keys-'))
      try {
        const file = join(dir, 'secret.txt')
        writeFileSync(file, 'secret-from-a-file')
        const literal = compileKeys('HS256', 'secret-from-a-file', null)
        for (const input of [file, pathToFileURL(file), { path: file }]) {
          const keys = compileKeys('HS256', input, null)
          const token = signToken({ user_id: 1 }, keys.signKey as KeyObject, 'HS256')
          expect(verifySignature(token, literal.verifyKey, 'HS256')).to.deep.equal({ user_id: 1 })
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('throws ProvidedPathNotFound for a URL or { path } naming no file', () => {
      for (const input of [pathToFileURL(MISSING_PATH), { path: MISSING_PATH }]) {
        expect(caughtSync(() => compileKeys('HS256', input, null))).to.be.instanceOf(ProvidedPathNotFound)
      }
    })

    it('throws InvalidConfiguration for a null or empty secret', () => {
      for (const secret of [null, '', Buffer.alloc(0)]) {
        expect(caughtSync(() => compileKeys('HS256', secret, null))).to.be.instanceOf(InvalidConfiguration)
      }
    })

    it('throws InvalidConfiguration for PEM text used as an HMAC secret, without showing it', () => {
      for (const pem of [KEYS.rsa.publicKey, KEYS.rsa.privateKey, KEYS.p256.publicKey]) {
        const error = caughtSync(() => compileKeys('HS256', pem, null))
        expect(error).to.be.instanceOf(InvalidConfiguration)
        expectNoKeyMaterial(error, pemFragments(pem))
      }
    })

    it('throws InvalidConfiguration for a PEM file used as an HMAC secret', () => {
      for (const input of [RSA_PUBLIC_PATH, pathToFileURL(RSA_PUBLIC_PATH), { path: RSA_PUBLIC_PATH }]) {
        expect(caughtSync(() => compileKeys('HS256', input, null))).to.be.instanceOf(InvalidConfiguration)
      }
    })

    it('throws InvalidConfiguration for PEM text after a leading header (openssl "Bag Attributes"), as text, Buffer or file', () => {
      const bag =
        'Bag Attributes\n    localKeyID: 01 00 00 00\n    friendlyName: service-signing-key\n' +
        `subject=/CN=example\n${KEYS.rsa.publicKey}`
      const dir = mkdtempSync(join(tmpdir(), 'koa-jwt-kit-keys-'))
      try {
        const file = join(dir, 'bag.pem')
        writeFileSync(file, bag)
        const inputs: KeyInput[] = [bag, Buffer.from(bag), file, pathToFileURL(file), { path: file }]
        for (const input of inputs) {
          const label = typeof input === 'string' ? input.slice(0, 20) : input.constructor.name
          expect(caughtSync(() => compileKeys('HS256', input, null)), label).to.be.instanceOf(
            InvalidConfiguration,
          )
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('throws InvalidConfiguration for an asymmetric KeyObject used as an HMAC secret', () => {
      for (const key of [createPublicKey(KEYS.rsa.publicKey), createPrivateKey(KEYS.p256.privateKey)]) {
        expect(caughtSync(() => compileKeys('HS512', key, null))).to.be.instanceOf(InvalidConfiguration)
      }
    })
  })

  describe('RS*, ES*, PS*', () => {
    for (const algorithm of ASYMMETRIC) {
      describe(algorithm, () => {
        const pair = keysFor(algorithm)

        it('compiles a private and a public PEM (round trip)', () => {
          const keys = compileKeys(algorithm, pair.publicKey, pair.privateKey)
          expect(keys.signKey?.type).to.equal('private')
          expect(keys.verifyKey.type).to.equal('public')
          roundTrip(keys, algorithm)
        })

        it('derives the public key from the private key when secret is absent or blank', () => {
          for (const secret of [null, '', '   ']) {
            const keys = compileKeys(algorithm, secret, pair.privateKey)
            expect(keys.verifyKey.type).to.equal('public')
            expect(pemOf(keys.verifyKey)).to.equal(pemOf(createPublicKey(pair.publicKey)))
            roundTrip(keys, algorithm)
          }
        })

        it('compiles a verify-only setup without a private key', () => {
          const keys = compileKeys(algorithm, pair.publicKey, null)
          expect(keys.signKey).to.equal(undefined)
          const token = signToken({ user_id: 1 }, createPrivateKey(pair.privateKey), algorithm)
          expect(verifySignature(token, keys.verifyKey, algorithm)).to.deep.equal({ user_id: 1 })
        })

        it('throws RequiredKeysNotFound for a mismatched public and private pair', () => {
          const other =
            algorithm === 'ES256'
              ? ecPair('P-256').privateKey
              : algorithm === 'ES384'
                ? ecPair('P-384').privateKey
                : algorithm === 'ES512'
                  ? ecPair('P-521').privateKey
                  : KEYS.rsaOther.privateKey
          const error = caughtSync(() => compileKeys(algorithm, pair.publicKey, other))
          expect(error).to.be.instanceOf(RequiredKeysNotFound)
          expectNoKeyMaterial(error, [...pemFragments(other), ...pemFragments(pair.publicKey)])
        })

        it('throws RequiredKeysNotFound for garbage key material, without showing it', () => {
          const garbage = 'this-is-not-a-key-but-a-secret-string'
          for (const [secret, privateKey] of [
            [pair.publicKey, garbage],
            [garbage, pair.privateKey],
            [null, garbage],
          ] as const) {
            const error = caughtSync(() => compileKeys(algorithm, secret, privateKey))
            expect(error).to.be.instanceOf(RequiredKeysNotFound)
            expectNoKeyMaterial(error, [garbage, ...pemFragments(pair.privateKey)])
          }
        })

        it('throws RequiredKeysNotFound when neither key is given', () => {
          expect(caughtSync(() => compileKeys(algorithm, null, null))).to.be.instanceOf(RequiredKeysNotFound)
        })
      })
    }

    it('accepts keys as PEM text, a file path string, a URL, a { path } and a KeyObject', () => {
      const inputs: [KeyInput, KeyInput][] = [
        [KEYS.rsa.publicKey, KEYS.rsa.privateKey],
        [RSA_PUBLIC_PATH, RSA_PRIVATE_PATH],
        [pathToFileURL(RSA_PUBLIC_PATH), pathToFileURL(RSA_PRIVATE_PATH)],
        [{ path: RSA_PUBLIC_PATH }, { path: RSA_PRIVATE_PATH }],
        [createPublicKey(KEYS.rsa.publicKey), createPrivateKey(KEYS.rsa.privateKey)],
        [Buffer.from(KEYS.rsa.publicKey), Buffer.from(KEYS.rsa.privateKey)],
      ]
      for (const [secret, privateKey] of inputs) roundTrip(compileKeys('RS256', secret, privateKey), 'RS256')
    })

    it('derives the public key from a private KeyObject given as secret', () => {
      const keys = compileKeys('ES256', createPrivateKey(KEYS.p256.privateKey), KEYS.p256.privateKey)
      expect(keys.verifyKey.type).to.equal('public')
      roundTrip(keys, 'ES256')
    })

    it('throws RequiredKeysNotFound (caused by ProvidedPathNotFound) for a key path naming no file', () => {
      for (const [secret, privateKey] of [
        [KEYS.rsa.publicKey, { path: MISSING_PATH }],
        [KEYS.rsa.publicKey, pathToFileURL(MISSING_PATH)],
        [{ path: MISSING_PATH }, KEYS.rsa.privateKey],
        [pathToFileURL(MISSING_PATH), KEYS.rsa.privateKey],
      ] as const) {
        const error = caughtSync(() => compileKeys('RS256', secret, privateKey))
        expect(error).to.be.instanceOf(RequiredKeysNotFound)
        expect(error.cause).to.be.instanceOf(ProvidedPathNotFound)
      }
    })

    it('throws RequiredKeysNotFound for a missing path string (read as key text)', () => {
      expect(caughtSync(() => compileKeys('RS256', null, MISSING_PATH))).to.be.instanceOf(RequiredKeysNotFound)
    })

    it('throws RequiredKeysNotFound for an RSA key with ES256', () => {
      const error = caughtSync(() => compileKeys('ES256', KEYS.rsa.publicKey, KEYS.rsa.privateKey))
      expect(error).to.be.instanceOf(RequiredKeysNotFound)
    })

    it('throws RequiredKeysNotFound for an EC key on the wrong curve', () => {
      for (const [algorithm, pair] of [
        ['ES384', KEYS.p256],
        ['ES256', KEYS.p384],
        ['ES512', KEYS.p384],
        ['ES384', KEYS.p521],
      ] as const) {
        const error = caughtSync(() => compileKeys(algorithm, pair.publicKey, pair.privateKey))
        expect(error, `${algorithm}`).to.be.instanceOf(RequiredKeysNotFound)
        expect(caughtSync(() => compileKeys(algorithm, pair.publicKey, null))).to.be.instanceOf(
          RequiredKeysNotFound,
        )
      }
    })

    it('throws RequiredKeysNotFound for an EC key with RS256 and PS256', () => {
      for (const algorithm of ['RS256', 'PS256'] as const) {
        const error = caughtSync(() => compileKeys(algorithm, KEYS.p256.publicKey, KEYS.p256.privateKey))
        expect(error).to.be.instanceOf(RequiredKeysNotFound)
      }
    })

    it('throws RequiredKeysNotFound for an RSA key shorter than 2048 bits', () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
      expect(caughtSync(() => compileKeys('RS256', null, privateKey))).to.be.instanceOf(RequiredKeysNotFound)
    })

    it('throws RequiredKeysNotFound for a public key given as the private key', () => {
      for (const privateKey of [KEYS.rsa.publicKey, createPublicKey(KEYS.rsa.publicKey)]) {
        const error = caughtSync(() => compileKeys('RS256', KEYS.rsa.publicKey, privateKey))
        expect(error).to.be.instanceOf(RequiredKeysNotFound)
      }
    })

    it('throws RequiredKeysNotFound for a secret KeyObject with RS256', () => {
      const secret = createSecretKey(Buffer.from(SECRET))
      expect(caughtSync(() => compileKeys('RS256', secret, KEYS.rsa.privateKey))).to.be.instanceOf(
        RequiredKeysNotFound,
      )
    })

    it('never shows the key material in RequiredKeysNotFound messages', () => {
      const failures = [
        () => compileKeys('ES256', KEYS.rsa.publicKey, KEYS.rsa.privateKey),
        () => compileKeys('ES384', KEYS.p256.publicKey, KEYS.p256.privateKey),
        () => compileKeys('RS256', KEYS.rsa.publicKey, KEYS.rsaOther.privateKey),
        () => compileKeys('RS256', KEYS.rsa.privateKey.slice(0, 200), null),
        () => compileKeys('RS256', KEYS.rsa.publicKey, KEYS.rsa.publicKey),
      ]
      const material = [
        ...pemFragments(KEYS.rsa.privateKey),
        ...pemFragments(KEYS.rsa.publicKey),
        ...pemFragments(KEYS.rsaOther.privateKey),
        ...pemFragments(KEYS.p256.privateKey),
        ...pemFragments(KEYS.p256.publicKey),
      ]
      for (const failure of failures) {
        const error = caughtSync(failure)
        expect(error).to.be.instanceOf(RequiredKeysNotFound)
        expectNoKeyMaterial(error, material)
      }
    })
  })
})

describe('core/keys: compileKeys() start-up warnings', () => {
  const HS = [
    ['HS256', 32],
    ['HS384', 48],
    ['HS512', 64],
  ] as const
  let dir: string
  let secretFile: string

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'koa-jwt-kit-keys-'))
    secretFile = join(dir, 'secret.txt')
    writeFileSync(secretFile, 'x'.repeat(64))
  })

  after(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  describe('KOA_JWT_WEAK_SECRET', () => {
    for (const [algorithm, minimum] of HS) {
      it(`warns once for a ${algorithm} secret shorter than ${minimum} bytes, accepting it (RFC 7518 §3.2)`, async () => {
        const secret = 's'.repeat(minimum - 1)
        const warnings = await warningsDuring(() => {
          roundTrip(compileKeys(algorithm, secret, null), algorithm)
        })
        expect(warnings).to.deep.equal([
          {
            name: 'KoaJwtKitWarning',
            code: 'KOA_JWT_WEAK_SECRET',
            message:
              `the "secret" setting is ${minimum - 1} bytes; ${algorithm} needs at least ${minimum} (RFC 7518 §3.2). ` +
              'It is accepted, but a short secret can be guessed offline from any token it signed: ' +
              `use at least ${minimum} random bytes.`,
          },
        ])
      })

      it(`does not warn for a ${algorithm} secret of ${minimum} bytes`, async () => {
        const secret = 's'.repeat(minimum)
        const warnings = await warningsDuring(() => compileKeys(algorithm, secret, null))
        expect(warnings).to.deep.equal([])
      })
    }

    it('never shows the secret', async () => {
      const secret = 'hunter2-short'
      const warnings = await warningsDuring(() => compileKeys('HS256', secret, null))
      expect(warnings).to.have.length(1)
      expect(warnings[0]?.message).to.not.include(secret)
    })

    it('counts UTF-8 bytes, not characters', async () => {
      // 16 characters, 32 bytes: long enough for HS256, not for HS384.
      const secret = 'é'.repeat(16)
      expect(await warningsDuring(() => compileKeys('HS256', secret, null))).to.deep.equal([])
      const warnings = await warningsDuring(() => compileKeys('HS384', secret, null))
      expect(warnings.map((w) => w.message.split(';')[0])).to.deep.equal([
        'the "secret" setting is 32 bytes',
      ])
    })

    it('checks a Buffer by its length and a secret KeyObject by its symmetricKeySize', async () => {
      const inputs: KeyInput[] = [Buffer.alloc(16, 1), createSecretKey(Buffer.alloc(16, 1))]
      for (const input of inputs) {
        const warnings = await warningsDuring(() => compileKeys('HS256', input, null))
        expect(warnings.map((w) => w.message.split(';')[0]), input.constructor.name).to.deep.equal([
          'the "secret" setting is 16 bytes',
        ])
      }
      const long = createSecretKey(Buffer.alloc(64, 1))
      expect(await warningsDuring(() => compileKeys('HS512', long, null))).to.deep.equal([])
    })

    it('warns once per process for the same size and algorithm, again for another one', async () => {
      const warnings = await warningsDuring(() => {
        for (let i = 0; i < 3; i++) compileKeys('HS256', 'short', null)
        compileKeys('HS256', 'other', null)
        compileKeys('HS256', 'longer-short', null)
        compileKeys('HS512', 'short', null)
      })
      expect(warnings.map((w) => w.message.split(' (')[0])).to.deep.equal([
        'the "secret" setting is 5 bytes; HS256 needs at least 32',
        'the "secret" setting is 12 bytes; HS256 needs at least 32',
        'the "secret" setting is 5 bytes; HS512 needs at least 64',
      ])
    })

    it('does not warn for asymmetric algorithms', async () => {
      const warnings = await warningsDuring(() => {
        compileKeys('RS256', KEYS.rsa.publicKey, KEYS.rsa.privateKey)
        compileKeys('ES256', null, KEYS.p256.privateKey)
      })
      expect(warnings).to.deep.equal([])
    })

    it('does not warn for per-user secrets (compileUserKey runs on requests)', async () => {
      const warnings = await warningsDuring(() => {
        compileUserKey('HS256', 'short', true)
        compileUserKey('HS512', Buffer.from('short'), false)
      })
      expect(warnings).to.deep.equal([])
    })

    it('does not warn when the secret is refused', async () => {
      const warnings = await warningsDuring(() => {
        caughtSync(() => compileKeys('HS256', KEYS.rsa.publicKey.slice(0, 20), null))
        caughtSync(() => compileKeys('HS256', Buffer.alloc(0), null))
      })
      expect(warnings).to.deep.equal([])
    })
  })

  describe('KOA_JWT_SECRET_FROM_FILE', () => {
    it('warns once for a plain string naming a file, still read as the secret, naming only the setting', async () => {
      let keys: ReturnType<typeof compileKeys> | undefined
      const warnings = await warningsDuring(() => {
        keys = compileKeys('HS256', secretFile, null)
        compileKeys('HS256', secretFile, null)
      })
      expect(keys?.verifyKey.export().toString()).to.equal('x'.repeat(64))
      expect(warnings).to.have.length(1)
      const [warning] = warnings
      expect(warning?.name).to.equal('KoaJwtKitWarning')
      expect(warning?.code).to.equal('KOA_JWT_SECRET_FROM_FILE')
      expect(warning?.message).to.include('the "secret" setting is a string naming a file')
      expect(warning?.message).to.include('{ path }')
      expect(warning?.message).to.include('file: URL')
      expect(warning?.message).to.not.include(dir)
      expect(warning?.message).to.not.include('secret.txt')
      expect(warning?.message).to.not.include('x'.repeat(8))
    })

    it('warns for every HS* algorithm, next to a weak-secret warning when the file is short', async () => {
      const short = join(dir, 'short.txt')
      writeFileSync(short, 'tiny')
      for (const [algorithm] of HS) {
        const warnings = await warningsDuring(() => compileKeys(algorithm, short, null))
        expect(warnings.map((w) => w.code), algorithm).to.deep.equal([
          'KOA_JWT_SECRET_FROM_FILE',
          'KOA_JWT_WEAK_SECRET',
        ])
        expect(warnings[1]?.message).to.include('is 4 bytes')
      }
    })

    it('does not warn for a { path } or a file: URL', async () => {
      const warnings = await warningsDuring(() => {
        compileKeys('HS256', { path: secretFile }, null)
        compileKeys('HS256', pathToFileURL(secretFile), null)
      })
      expect(warnings).to.deep.equal([])
    })

    it('does not warn for a string that names no file or a directory', async () => {
      const warnings = await warningsDuring(() => {
        compileKeys('HS256', join(dir, 'no-such-file-but-a-long-enough-secret'), null)
        compileKeys('HS256', dir, null)
      })
      expect(withCode(warnings, 'KOA_JWT_SECRET_FROM_FILE')).to.deep.equal([])
    })

    it('does not warn for key paths of asymmetric algorithms, nor for per-user secrets', async () => {
      const warnings = await warningsDuring(() => {
        compileKeys('RS256', RSA_PUBLIC_PATH, RSA_PRIVATE_PATH)
        compileUserKey('HS256', secretFile, true)
      })
      expect(warnings).to.deep.equal([])
    })
  })
})

describe('core/keys: compileUserKey()', () => {
  it('compiles an HMAC secret for HS* in both directions', () => {
    for (const encode of [true, false]) {
      const key = compileUserKey('HS256', 'user-secret', encode)
      expect(key.type).to.equal('secret')
      expect(key.export().toString()).to.equal('user-secret')
    }
  })

  it('refuses PEM text as an HMAC user secret', () => {
    expect(caughtSync(() => compileUserKey('HS256', KEYS.rsa.publicKey, false))).to.be.instanceOf(
      InvalidConfiguration,
    )
  })

  it('compiles the private key when encoding and the public key when decoding (asymmetric)', () => {
    expect(compileUserKey('RS256', KEYS.rsa.privateKey, true).type).to.equal('private')
    expect(compileUserKey('RS256', KEYS.rsa.publicKey, false).type).to.equal('public')
    const derived = compileUserKey('ES256', KEYS.p256.privateKey, false)
    expect(derived.type).to.equal('public')
    expect(pemOf(derived)).to.equal(pemOf(createPublicKey(KEYS.p256.publicKey)))
  })
})
