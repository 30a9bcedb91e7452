import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto'

import Koa from 'koa'

import { Initialize, type InitializeOptions, type KoaJwtError } from '../../source'
import { SECRET } from './app'

/** base64url of a string or bytes. */
export function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

/** base64url of the JSON of a value (a JWT header or payload segment). */
export function segment(value: unknown): string {
  return b64url(JSON.stringify(value))
}

/**
 * Builds an HMAC-signed token by hand (jsonwebtoken refuses to sign wrong claim types, and the
 * algorithm-confusion token must be signed with PEM text as the HMAC secret).
 */
export function hmacToken(
  payload: unknown,
  secret: string | Buffer = SECRET,
  alg: 'HS256' | 'HS384' | 'HS512' = 'HS256',
  header: Record<string, unknown> = {},
): string {
  const head = `${segment({ alg, typ: 'JWT', ...header })}.${segment(payload)}`
  const digest = `sha${alg.slice(2)}`
  return `${head}.${createHmac(digest, secret).update(head).digest('base64url')}`
}

/** An unsigned token with the given `alg` header value and signature segment. */
export function unsignedToken(payload: unknown, alg: unknown, signature = ''): string {
  return `${segment({ alg, typ: 'JWT' })}.${segment(payload)}.${signature}`
}

/** The payload segment of a token, decoded without any check. */
export function peek(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? ''
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The header segment of a token, decoded without any check. */
export function peekHeader(token: string): Record<string, unknown> {
  const part = token.split('.')[0] ?? ''
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** A fresh EC key pair on a named curve, as PEM text. */
export function ecPair(namedCurve: 'P-256' | 'P-384' | 'P-521'): {
  privateKey: string
  publicKey: string
} {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve })
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

/** The PEM text of a KeyObject (for assertions that a message never shows it). */
export function pemOf(key: KeyObject): string {
  return key.type === 'private'
    ? key.export({ type: 'pkcs8', format: 'pem' }).toString()
    : key.export({ type: 'spki', format: 'pem' }).toString()
}

/**
 * An `Initialize` on a fresh Koa app with a trivial `authenticate` and, for HS* algorithms, the
 * test secret (asymmetric setups get only the keys they are given).
 */
export function initialize<User = any>(options: InitializeOptions<User> = {}): Initialize<User> {
  const symmetric = options.algorithm === undefined || options.algorithm.startsWith('HS')
  return new Initialize<User>(new Koa(), {
    ...(symmetric ? { secret: SECRET } : {}),
    authenticate: () => ({ user_id: 1 }) as User,
    ...options,
  })
}

/**
 * Runs `fn` and returns what it threw (sync or async), failing when it does not throw.
 */
export async function caught(fn: () => unknown): Promise<KoaJwtError> {
  try {
    await fn()
  } catch (error) {
    return error as KoaJwtError
  }
  throw new Error('expected the call to throw')
}

/** Like {@link caught}, for synchronous code. */
export function caughtSync(fn: () => unknown): KoaJwtError {
  try {
    fn()
  } catch (error) {
    return error as KoaJwtError
  }
  throw new Error('expected the call to throw')
}

/** Pieces of PEM text that must never appear in an error message: armour and body lines. */
export function pemFragments(pemText: string): string[] {
  return pemText
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length >= 16)
}
