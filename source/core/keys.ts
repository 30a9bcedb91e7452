/**
 * Key loading and compilation. Secrets and PEM keys become `KeyObject`s once, at start-up:
 * jsonwebtoken 9 is 10–50× slower when handed strings (reference peers.md §4).
 */
import {
  KeyObject,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { InvalidConfiguration, ProvidedPathNotFound, RequiredKeysNotFound } from '../errors'
import { isAsymmetric, type Algorithm, type KeyInput } from '../settings'
import { warnOnce } from './warnings'

/** Signing and verification keys compiled for one algorithm. */
export interface CompiledKeys {
  readonly algorithm: Algorithm
  /** Undefined in verify-only setups with an asymmetric algorithm and no private key. */
  readonly signKey: KeyObject | undefined
  readonly verifyKey: KeyObject
}

const CURVES: Partial<Record<Algorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
}

function readPath(path: string): Buffer {
  if (!existsSync(path) || !statSync(path).isFile()) throw new ProvidedPathNotFound()
  return readFileSync(path)
}

// The bytes of the file a plain string names, or undefined when the string is the key itself.
function fileNamedBy(input: string): Buffer | undefined {
  if (input.includes('-----BEGIN') || input.length >= 4096 || input.includes('\n')) return undefined
  try {
    if (existsSync(input) && statSync(input).isFile()) return readFileSync(input)
  } catch {
    // Not a readable path: the string is the key itself.
  }
  return undefined
}

// The material of a key input, and whether it came from a file named by a plain string (the one
// input whose meaning depends on the file system, which `secretKey` warns about).
function readKeyInput(
  input: KeyInput,
): [material: string | Buffer | KeyObject, fromPlainPath: boolean] {
  if (input instanceof KeyObject || Buffer.isBuffer(input)) return [input, false]
  if (input instanceof URL) {
    if (input.protocol !== 'file:') {
      throw new InvalidConfiguration(`a key given as a URL must be a file: URL (got a ${input.protocol} URL).`)
    }
    return [readPath(fileURLToPath(input)), false]
  }
  if (typeof input === 'object') return [readPath(input.path), false]
  const file = fileNamedBy(input)
  return file === undefined ? [input, false] : [file, true]
}

/**
 * Turns key input into bytes or a KeyObject: a `URL` or `{ path }` must name a file; a string
 * that names an existing file is read; any other string is the key itself.
 *
 * @throws ProvidedPathNotFound, InvalidConfiguration (a URL that is not a file: URL)
 */
export function loadKeyMaterial(input: KeyInput): string | Buffer | KeyObject {
  return readKeyInput(input)[0]
}

function looksLikePem(material: string | Buffer): boolean {
  return material.includes('-----BEGIN')
}

// Shortest HMAC key for the algorithm: the size of the hash output (RFC 7518 §3.2).
function minimumSecretBytes(algorithm: Algorithm): number {
  return Number(algorithm.slice(2)) / 8
}

// `configured`: the instance's "secret" setting is compiled (start-up, or the setting changed);
// only then are the warnings given. A per-user secret is compiled on requests, for many users.
function secretKey(input: KeyInput, algorithm: Algorithm, configured = false): KeyObject {
  const [material, fromPlainPath] = readKeyInput(input)
  let key: KeyObject
  if (material instanceof KeyObject) {
    if (material.type !== 'secret') {
      throw new InvalidConfiguration(
        `the "secret" setting holds an asymmetric key, but "algorithm" is ${algorithm}.`,
      )
    }
    key = material
  } else {
    if (looksLikePem(material)) {
      // Refuse to use PEM key text as an HMAC secret: it is the classic algorithm-confusion setup.
      throw new InvalidConfiguration(
        `the "secret" setting holds PEM key material, but "algorithm" is ${algorithm}; use an RS*, ES* or PS* algorithm for keys.`,
      )
    }
    const bytes = typeof material === 'string' ? Buffer.from(material, 'utf8') : material
    if (bytes.length === 0) {
      throw new InvalidConfiguration('the "secret" setting cannot be null nor an empty string.')
    }
    key = createSecretKey(bytes)
  }
  if (configured) warnAboutSecret(algorithm, key, fromPlainPath)
  return key
}

// sanic-jwt accepts any secret, and so does the port; these say once what is risky about it. The
// messages name the setting and sizes only: never the secret, nor the path (it may hint at it).
function warnAboutSecret(algorithm: Algorithm, key: KeyObject, fromPlainPath: boolean): void {
  if (fromPlainPath) {
    warnOnce(
      'KOA_JWT_SECRET_FROM_FILE',
      `the "secret" setting is a string naming a file, so the file's content is the ${algorithm} secret; ` +
        'if that file went missing, the string itself would silently become the secret. ' +
        'Pass { path } or a file: URL to read a file (a missing file is then a start-up error).',
    )
  }
  const size = key.symmetricKeySize ?? 0
  const minimum = minimumSecretBytes(algorithm)
  if (size < minimum) {
    warnOnce(
      'KOA_JWT_WEAK_SECRET',
      `the "secret" setting is ${size} bytes; ${algorithm} needs at least ${minimum} (RFC 7518 §3.2). ` +
        'It is accepted, but a short secret can be guessed offline from any token it signed: ' +
        `use at least ${minimum} random bytes.`,
    )
  }
}

/**
 * Checks that an asymmetric key fits its algorithm (RSA of 2048 bits or more, or the EC curve of
 * ES256/384/512). @internal
 *
 * @throws Error naming what is wrong (never the key).
 */
export function checkKeyType(key: KeyObject, algorithm: Algorithm): void {
  const type = key.asymmetricKeyType
  const family = algorithm.slice(0, 2)
  if (family === 'ES') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (type !== 'ec' || curve !== CURVES[algorithm]) {
      throw new Error(`${algorithm} needs an EC key on curve ${CURVES[algorithm]}`)
    }
  } else if (type !== 'rsa' && !(family === 'PS' && type === 'rsa-pss')) {
    throw new Error(`${algorithm} needs an RSA key`)
  } else if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new Error(`${algorithm} needs an RSA key of at least 2048 bits`)
  }
}

function asymmetricKey(input: KeyInput, kind: 'private' | 'public'): KeyObject {
  const material = loadKeyMaterial(input)
  if (material instanceof KeyObject) {
    if (kind === 'private') {
      if (material.type !== 'private') throw new Error('not a private key')
      return material
    }
    return material.type === 'public' ? material : createPublicKey(material)
  }
  return kind === 'private' ? createPrivateKey(material) : createPublicKey(material)
}

const PROBE = Buffer.from('koa-jwt-kit key pair check')

function signingDigest(algorithm: Algorithm): string {
  return `sha${algorithm.slice(2)}`
}

function checkPair(algorithm: Algorithm, signKey: KeyObject, verifyKey: KeyObject): void {
  const digest = signingDigest(algorithm)
  const options = algorithm.startsWith('PS')
    ? { key: signKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */ }
    : signKey
  const signature = cryptoSign(digest, PROBE, options)
  const verifyOptions = algorithm.startsWith('PS') ? { key: verifyKey, padding: 6 } : verifyKey
  if (!cryptoVerify(digest, PROBE, verifyOptions, signature)) {
    throw new Error('the public key does not belong to the private key')
  }
}

/**
 * Compiles the keys for an algorithm. For RS/ES/PS, `secret` is the public key (derived from the
 * private key when absent) and the pair is checked once, so bad material fails at start-up and
 * not at the first login. An HS* secret shorter than the hash (RFC 7518 §3.2) or read from a file
 * named by a plain string is accepted with a one-time process warning (`KOA_JWT_WEAK_SECRET`,
 * `KOA_JWT_SECRET_FROM_FILE`).
 *
 * @throws InvalidConfiguration for HS* secrets; RequiredKeysNotFound for asymmetric key problems.
 */
export function compileKeys(
  algorithm: Algorithm,
  secret: KeyInput | null,
  privateKey: KeyInput | null,
): CompiledKeys {
  if (!isAsymmetric(algorithm)) {
    if (secret === null) {
      throw new InvalidConfiguration('the "secret" setting cannot be null nor an empty string.')
    }
    const key = secretKey(secret, algorithm, true)
    return Object.freeze({ algorithm, signKey: key, verifyKey: key })
  }
  try {
    const signKey = privateKey === null ? undefined : asymmetricKey(privateKey, 'private')
    const verifyKey =
      secret === null || (typeof secret === 'string' && secret.trim() === '')
        ? signKey && createPublicKey(signKey)
        : asymmetricKey(secret, 'public')
    if (verifyKey === undefined) throw new Error('no public key')
    checkKeyType(verifyKey, algorithm)
    if (signKey) {
      checkKeyType(signKey, algorithm)
      checkPair(algorithm, signKey, verifyKey)
    }
    return Object.freeze({ algorithm, signKey, verifyKey })
  } catch (error) {
    if (error instanceof RequiredKeysNotFound) throw error
    const reason = error instanceof ProvidedPathNotFound ? 'a key path names no file' : (error as Error).message
    // The reason names the problem, never the key material.
    throw new RequiredKeysNotFound(
      `${RequiredKeysNotFound.defaultMessage} (${algorithm}: ${reason.replace(/-----BEGIN[\s\S]*/, 'invalid key')}.)`,
      { cause: error },
    )
  }
}

/**
 * Compiles a per-user secret returned by `retrieveUserSecret` for the algorithm's direction.
 * Without the warnings of {@link compileKeys}: it runs on requests, for secrets of many users.
 */
export function compileUserKey(
  algorithm: Algorithm,
  input: KeyInput,
  encode: boolean,
): KeyObject {
  if (!isAsymmetric(algorithm)) return secretKey(input, algorithm)
  return asymmetricKey(input, encode ? 'private' : 'public')
}
