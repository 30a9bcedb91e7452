/**
 * Helpers of the Initialize / endpoint / middleware HTTP specs: raw token minting and error-body
 * assertions.
 */
import { expect } from 'chai'
import jsonwebtoken from 'jsonwebtoken'
import type { Response } from 'supertest'

import { SECRET } from './app'

/**
 * Signs a payload exactly as given (jsonwebtoken stamps no iat of its own, and keeps a given one),
 * HS256 with the test secret by default.
 */
export function signRaw(
  payload: Record<string, unknown>,
  secret: string = SECRET,
  algorithm: jsonwebtoken.Algorithm = 'HS256',
): string {
  return jsonwebtoken.sign(payload, secret, 'iat' in payload ? { algorithm } : { algorithm, noTimestamp: true })
}

/** An unsigned (`alg: none`) token. */
export function unsignedToken(payload: Record<string, unknown>): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`
}

/** `Bearer <token>`. */
export function bearer(token: string | undefined): string {
  if (!token) throw new Error('no token to send')
  return `Bearer ${token}`
}

/**
 * Asserts a library error response: status, `exception`, `code` and, when given, the exact
 * `reasons`. Every library error body has exactly these three keys.
 */
export function expectError(
  res: Response,
  status: number,
  exception: string,
  code: string,
  reasons?: readonly string[],
): void {
  const summary = `${res.status} ${JSON.stringify(res.body)}`
  expect(res.status, summary).to.equal(status)
  expect(res.body.exception, summary).to.equal(exception)
  expect(res.body.code, summary).to.equal(code)
  expect(res.body.reasons, summary).to.be.an('array').that.is.not.empty
  if (reasons !== undefined) expect(res.body.reasons, summary).to.deep.equal(reasons)
}

/** Decodes a JWT payload without verifying it. */
export function payloadOf(token: string): Record<string, unknown> {
  const decoded = jsonwebtoken.decode(token)
  if (decoded === null || typeof decoded === 'string') throw new Error('not a JWT')
  return decoded as Record<string, unknown>
}

/** Resolves after a random delay of up to `max` milliseconds. */
export function randomDelay(max = 5): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * max)))
}
