/**
 * Builders and assertions for the adversarial specs in spec/security/: tokens forged by hand
 * (base64url JSON + node:crypto signatures, never through jsonwebtoken), the "clean failure"
 * assertion every attack case ends with, and a capture of what the library writes to stderr.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto'

import { expect } from 'chai'
import type { Response } from 'supertest'

import { SECRET, type TestApp } from './app'
import { KEYS } from './keys'

/** base64url of the JSON text of `value`. */
export function enc(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

/** base64url of a raw text (for JSON that JSON.stringify cannot produce, e.g. `1e400`). */
export function encText(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url')
}

/** Key material usable to sign a JWS: HMAC secret bytes/text, or an asymmetric private key. */
export type SigningKey = string | Buffer | KeyObject

/** Signs `head.body` with `alg` by hand and returns the three-segment token. */
export function signSegments(head: string, body: string, alg: string, key: SigningKey): string {
  const input = `${head}.${body}`
  return `${input}.${signature(input, alg, key)}`
}

/** The base64url JWS signature of `input` with `alg`. */
export function signature(input: string, alg: string, key: SigningKey): string {
  const bits = alg.slice(2)
  if (alg.startsWith('HS')) {
    const secret = typeof key === 'string' || Buffer.isBuffer(key) ? key : key.export()
    return createHmac(`sha${bits}`, secret).update(input).digest('base64url')
  }
  const privateKey = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key
  if (alg.startsWith('ES')) {
    const options = { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
    return cryptoSign(`sha${bits}`, Buffer.from(input), options).toString('base64url')
  }
  if (alg.startsWith('PS')) {
    const options = { key: privateKey, padding: 6, saltLength: Number(bits) / 8 }
    return cryptoSign(`sha${bits}`, Buffer.from(input), options).toString('base64url')
  }
  return cryptoSign(`sha${bits}`, Buffer.from(input), privateKey).toString('base64url')
}

/** Options of {@link forge}. */
export interface ForgeOptions {
  /** The `alg` used to sign, and written into the header unless `header.alg` says otherwise. */
  alg?: string
  /** Signing key. @default the test SECRET */
  key?: SigningKey
  /** Header fields added to (or replacing) `{ alg, typ: 'JWT' }`. */
  header?: Record<string, unknown>
}

/** A correctly signed token (by `key`) with any payload value, built without jsonwebtoken. */
export function forge(payload: unknown, options: ForgeOptions = {}): string {
  const alg = options.alg ?? 'HS256'
  const header = { alg, typ: 'JWT', ...options.header }
  return signSegments(enc(header), enc(payload), alg, options.key ?? SECRET)
}

/** The three segments of a token, decoded. */
export function parts(token: string): {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signature: string
} {
  const [head = '', body = '', sig = ''] = token.split('.')
  return {
    header: JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>,
    signature: sig,
  }
}

/** Replaces the payload of `token` and keeps its header and (now wrong) signature. */
export function withPayload(token: string, payload: unknown): string {
  const [head = '', , sig = ''] = token.split('.')
  return `${head}.${enc(payload)}.${sig}`
}

/** The public key of a PEM pair as a JWK JSON text. */
export function jwkText(publicPem: string): string {
  return JSON.stringify(createPublicKey(publicPem).export({ format: 'jwk' }))
}

/** Every piece of key material the fixtures hold, which must never reach a client or a log. */
export const SENSITIVE: readonly string[] = [
  SECRET,
  ...Object.values(KEYS).flatMap((pair) => Object.values(pair) as string[]),
  // A single base64 line of each PEM catches partial dumps too.
  ...Object.values(KEYS).flatMap((pair) =>
    (Object.values(pair) as string[]).map((text) => text.split('\n')[1] ?? ''),
  ),
].filter((value) => value.length > 0)

/** Wording of the token engine that must never reach a client. */
export const ENGINE_WORDS: readonly string[] = [
  'jwt malformed',
  'invalid signature',
  'jsonwebtoken',
  'JsonWebTokenError',
  'invalid algorithm',
  'jwt signature is required',
  'invalid token',
  'jwt must be',
  'secretOrPublicKey',
  'Unexpected token',
  'is not valid JSON',
  'Cannot read properties',
]

/**
 * A stack frame (`    at fn (/path/file.js:1:2)`, `at /path...`, `at node:internal...`) or a
 * `file.ts:12:3` location. A bare "at " would match words such as "format ".
 */
export const STACK_FRAME = /\bat (?:async )?(?:[\w$.<>[\] ]+ \()?(?:\/|node:|file:)|\.(?:ts|js):\d+:\d+/

/** Asserts that `text` holds no key material, engine wording, stack frame or presented token. */
export function expectNothingSensitive(text: string, presented: readonly string[] = [], where = 'response'): void {
  for (const secret of SENSITIVE) {
    expect(text.includes(secret), `${where} holds key material`).to.equal(false)
  }
  for (const word of ENGINE_WORDS) {
    expect(text.includes(word), `${where} holds engine wording "${word}"`).to.equal(false)
  }
  expect(STACK_FRAME.test(text), `${where} holds a stack frame: ${text.slice(0, 300)}`).to.equal(false)
  for (const token of presented) {
    // Short values ('x', '') would match anything; real tokens are long.
    if (token.length < 16) continue
    expect(text.includes(token), `${where} echoes the presented token`).to.equal(false)
  }
}

/** Asserts that neither the body nor the headers of `res` leak anything (see {@link expectNothingSensitive}). */
export function expectNoLeak(res: Response, presented: readonly string[] = []): void {
  const text = JSON.stringify(res.body) + JSON.stringify(res.headers) + (res.text ?? '')
  expectNothingSensitive(text, presented)
  logs.remember(presented)
  logs.expectClean(presented)
}

/** What a clean library failure must look like. */
export interface Failure {
  status: number
  exception: string
  code: string
  /** Exact reasons, when they are part of the contract. */
  reasons?: readonly string[]
}

/** Asserts a library error response: status, `{ reasons, exception, code }` JSON, nothing leaked. */
export function expectFailure(res: Response, failure: Failure, presented: readonly string[] = []): void {
  const summary = `${res.status} ${JSON.stringify(res.body)}`
  expect(res.status, summary).to.equal(failure.status)
  expect(res.type, summary).to.equal('application/json')
  const body = res.body as Record<string, unknown>
  expect(body.reasons, summary).to.be.an('array').that.is.not.empty
  for (const reason of body.reasons as unknown[]) expect(reason, summary).to.be.a('string')
  expect(body.exception, summary).to.equal(failure.exception)
  expect(body.code, summary).to.equal(failure.code)
  if (failure.reasons) expect(body.reasons, summary).to.deep.equal(failure.reasons)
  if (failure.status === 401) expect(res.headers['www-authenticate'], summary).to.match(/^Bearer\b/)
  expectNoLeak(res, presented)
}

/** Asserts a response is neither a success nor a server error, and leaks nothing. */
export function expectRefused(res: Response, presented: readonly string[] = []): void {
  const summary = `${res.status} ${JSON.stringify(res.body)}`
  expect(res.status, summary).to.be.within(400, 499)
  expectNoLeak(res, presented)
}

/** The body every signature-type failure gets on a protected route outside debug mode. */
export const UNAUTHORIZED_INVALID = Object.freeze({
  reasons: ['Auth required.'],
  exception: 'Unauthorized',
  code: 'ERR_JWT_INVALID_TOKEN',
})

/** The body every signature-type failure gets on `/auth/verify` outside debug mode. */
export const VERIFY_INVALID = Object.freeze({
  valid: false,
  reasons: ['Auth required.'],
  exception: 'InvalidToken',
  code: 'ERR_JWT_INVALID_TOKEN',
})

/** Captures console.error/console.warn/process.emitWarning output of the library during a suite. */
class LogCapture {
  readonly lines: string[] = []
  readonly presented = new Set<string>()
  #checked = 0
  #restore: (() => void) | undefined

  install(): void {
    this.lines.length = 0
    this.presented.clear()
    this.#checked = 0
    const { error, warn } = console
    const emitWarning = process.emitWarning
    const record = (...args: unknown[]): void => {
      this.lines.push(
        args
          .map((arg) => (arg instanceof Error ? `${arg.name}: ${arg.message}\n${arg.stack ?? ''}` : String(arg)))
          .join(' '),
      )
    }
    console.error = record
    console.warn = record
    process.emitWarning = ((warning: string | Error, ...rest: unknown[]) =>
      record(warning, ...rest)) as typeof process.emitWarning
    this.#restore = () => {
      console.error = error
      console.warn = warn
      process.emitWarning = emitWarning
    }
  }

  restore(): void {
    this.#restore?.()
    this.#restore = undefined
  }

  /** Adds tokens sent during the suite to those checked by {@link LogCapture.expectSuiteClean}. */
  remember(tokens: readonly string[]): void {
    for (const token of tokens) this.presented.add(token)
  }

  /** Asserts the lines logged since the last check hold nothing sensitive. */
  expectClean(presented: readonly string[] = []): void {
    const fresh = this.lines.slice(this.#checked)
    this.#checked = this.lines.length
    for (const line of fresh) expectNothingSensitive(line, presented, 'stderr')
  }

  /** Asserts nothing logged during the suite holds key material, engine wording or stack frames. */
  expectSuiteClean(): void {
    for (const line of this.lines) expectNothingSensitive(line, [...this.presented], 'stderr')
  }
}

/** The capture shared by the security specs. */
export const logs = new LogCapture()

/**
 * Installs the stderr capture for the enclosing `describe` (before/after hooks) and adds a last
 * test checking everything logged during the suite.
 */
export function captureStderr(): void {
  before(() => logs.install())
  after(() => logs.restore())
}

/** What supertest's `request(...)` returns. */
export type Agent = TestApp['agent']

/**
 * Asserts that `token`, sent as a Bearer header, is refused by `/protected` and `/auth/me` (401
 * Unauthorized with `code`) and by `/auth/verify` (401 `valid: false`, InvalidToken, `code`);
 * signature-type failures (`ERR_JWT_INVALID_TOKEN`) must have the exact uniform bodies.
 */
export async function expectTokenRejected(
  agent: Agent,
  token: string,
  code = 'ERR_JWT_INVALID_TOKEN',
  paths: readonly string[] = ['/protected', '/auth/me'],
): Promise<void> {
  for (const path of paths) {
    const res = await agent.get(path).set('Authorization', `Bearer ${token}`)
    expectFailure(res, { status: 401, exception: 'Unauthorized', code }, [token])
    if (code === 'ERR_JWT_INVALID_TOKEN') expect(res.body, path).to.deep.equal(UNAUTHORIZED_INVALID)
  }
  const verify = await agent.get('/auth/verify').set('Authorization', `Bearer ${token}`)
  const summary = `/auth/verify ${verify.status} ${JSON.stringify(verify.body)}`
  expect(verify.status, summary).to.equal(401)
  expect(verify.body.valid, summary).to.equal(false)
  expect(verify.body.exception, summary).to.equal('InvalidToken')
  expect(verify.body.code, summary).to.equal(code)
  if (code === 'ERR_JWT_INVALID_TOKEN') expect(verify.body, summary).to.deep.equal(VERIFY_INVALID)
  expectNoLeak(verify, [token])
}

/** Asserts that `token` is accepted on `/protected` and `/auth/verify`, for user `userId`. */
export async function expectTokenAccepted(agent: Agent, token: string, userId?: unknown): Promise<void> {
  const res = await agent.get('/protected').set('Authorization', `Bearer ${token}`)
  expect(res.status, JSON.stringify(res.body)).to.equal(200)
  expect(res.body).to.deep.equal({ protected: true })
  const verify = await agent.get('/auth/verify').set('Authorization', `Bearer ${token}`)
  expect(verify.status, JSON.stringify(verify.body)).to.equal(200)
  expect(verify.body).to.deep.equal({ valid: true })
  if (userId !== undefined) {
    const me = await agent.get('/auth/me').set('Authorization', `Bearer ${token}`)
    expect(me.status, JSON.stringify(me.body)).to.equal(200)
    expect(me.body.me.user_id).to.equal(userId)
  }
}
