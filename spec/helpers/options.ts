/**
 * Helpers for the option specs (spec/options/): an app builder with a settable clock and
 * unhandled-error tracking, cookie parsing, token surgery and failure assertions.
 */
import { expect } from 'chai'
import type Koa from 'koa'
import type { Response, Test } from 'supertest'

import type { InitializeOptions } from '../../source'
import { buildApp, makeClock, type TestApp, type TestUser } from './app'

/** What {@link build} returns: a {@link TestApp} plus the clock its tokens use. */
export interface OptionsApp extends TestApp {
  clock: { now: number; clock: () => number }
}

const unhandled: unknown[] = []

/**
 * Records every error that Koa's default handler answers with a 5xx (an unhandled 500). Library
 * errors rendered by `Responses.exceptionResponse` never reach it; deliberate 4xx HTTP errors
 * thrown by route handlers are ignored.
 */
export function trackUnhandled(app: Koa): void {
  app.on('error', (error: unknown) => {
    const status = (error as { status?: unknown } | null)?.status
    if (typeof status !== 'number' || status >= 500) unhandled.push(error)
  })
}

/**
 * `afterEach` hook: asserts that no request of the test ended in an unhandled error. When the test
 * already failed, the errors are only cleared (a failing hook would skip the rest of the suite).
 */
export function expectNoUnhandledErrors(this: Mocha.Context): void {
  const errors = unhandled.splice(0)
  if (this.currentTest?.state === 'failed') return
  expect(errors.map((error) => String((error as Error)?.stack ?? error))).to.deep.equal([])
}

/** {@link buildApp} with a settable clock (`clock` setting) and unhandled-error tracking. */
export function build(options: InitializeOptions<TestUser> = {}): OptionsApp {
  const clock = makeClock()
  const testApp = buildApp({ clock: clock.clock, ...options })
  trackUnhandled(testApp.app)
  return { ...testApp, clock }
}

/** Default lifetime plus default leeway: moving the clock by this much expires a fresh token. */
export const EXPIRED_AFTER = 1800 + 180

/** `Bearer <token>`. */
export function bearer(token: string): string {
  return `Bearer ${token}`
}

/** The Set-Cookie headers of a response, in order (empty when there are none). */
export function setCookies(res: Response): string[] {
  const raw = res.headers['set-cookie'] as string[] | string | undefined
  if (raw === undefined) return []
  return Array.isArray(raw) ? raw : [raw]
}

/** The value of the cookie `name` set by a response, or undefined. */
export function cookieValue(res: Response, name: string): string | undefined {
  for (const header of setCookies(res)) {
    const pair = header.split(';')[0] ?? ''
    const eq = pair.indexOf('=')
    if (pair.slice(0, eq) === name) return pair.slice(eq + 1)
  }
  return undefined
}

/** A `Cookie` request header from name/value pairs. */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ')
}

/** The (unverified) payload of a JWT. */
export function payloadOf(token: string): Record<string, unknown> {
  const segment = token.split('.')[1] ?? ''
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The same token with a changed payload and the original signature (a bad signature). */
export function tamper(token: string, changes: Record<string, unknown> = { user_id: 2 }): string {
  const [header, , signature] = token.split('.')
  const changed = JSON.stringify({ ...payloadOf(token), ...changes })
  const payload = Buffer.from(changed).toString('base64url')
  return `${header}.${payload}.${signature}`
}

/** Splits a token into the `header.payload` and `signature` halves of split cookies. */
export function halves(token: string): { headerPayload: string; signature: string } {
  const cut = token.lastIndexOf('.')
  return { headerPayload: token.slice(0, cut), signature: token.slice(cut + 1) }
}

let nextUserId = 100

/** Adds a user holding `scopes` to the app's store and returns its credentials. */
export function addUser(
  testApp: TestApp,
  scopes: unknown[] = [],
): { username: string; password: string; user_id: number } {
  const user_id = nextUserId++
  const user = { user_id, username: `user${user_id}`, password: 'pw', scopes: scopes as string[] }
  testApp.users.push(user)
  return user
}

/** Adds a user holding `scopes` and logs it in over HTTP; returns its access token. */
export async function tokenWithScopes(testApp: TestApp, scopes: unknown[]): Promise<string> {
  const user = addUser(testApp, scopes)
  const body = await testApp.login(user.username, user.password)
  const token = body.access_token
  if (token === undefined) throw new Error('no access_token in the /auth output')
  return token
}

/** `GET path` with `Authorization: Bearer <token>`. */
export function getAs(testApp: TestApp, path: string, token: string): Test {
  return testApp.agent.get(path).set('Authorization', bearer(token))
}

/** Reasons of the library's failure bodies. */
export const REASONS = {
  missingHeader: ['Authorization header not present.'],
  missingCookie: ['Authorization cookie not present.'],
  missingQuery: ['Authorization query argument not present.'],
  invalidHeader: ['Authorization header is invalid.'],
  authRequired: ['Auth required.'],
  badSignature: ['Signature verification failed.'],
  expired: ['Signature has expired.'],
  authFailed: ['Authentication failed.'],
  invalidScope: ['Invalid scope.'],
} as const

/** Asserts a library error response: status, exception, code and (when given) reasons. */
export function expectError(
  res: Response,
  status: number,
  exception: string,
  code: string,
  reasons?: readonly string[],
): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status)
  expect(res.body.exception).to.equal(exception)
  expect(res.body.code).to.equal(code)
  if (reasons !== undefined) expect(res.body.reasons).to.deep.equal(reasons)
}

/** Asserts a protected/scoped failure: exception 'Unauthorized', `status`, `code`, `reasons`. */
export function expectUnauthorized(
  res: Response,
  status: number,
  code: string,
  reasons?: readonly string[],
): void {
  expectError(res, status, 'Unauthorized', code, reasons)
}

/** Asserts 401 AuthenticationFailed 'Authentication failed.'. */
export function expectAuthFailed(res: Response): void {
  expectError(res, 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED', REASONS.authFailed)
}
