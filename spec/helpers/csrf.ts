/**
 * Helpers for the CSRF specs: a login whose cookies are kept as a browser would keep them, and
 * the assertions of a failed double submit.
 */
import { expect } from 'chai'
import type { Response } from 'supertest'

import type { InitializeOptions } from '../../source'
import type { TestUser } from './app'
import { build, cookieHeader, expectError, setCookies, type OptionsApp } from './options'

/** Reasons of the two CSRF failures. */
export const MISSING_CSRF = ['Missing CSRF token.']
export const CSRF_MISMATCH = ['CSRF double submit tokens do not match.']

/** Cookie mode with CSRF protection, plus whatever `options` add. */
export function csrfApp(options: InitializeOptions<TestUser> = {}): OptionsApp {
  return build({ cookieSet: true, cookieCsrfProtect: true, ...options })
}

/** The cookies a browser holds after a response: set ones kept, deleted ones dropped. */
export function keepCookies(res: Response, jar: Record<string, string> = {}): Record<string, string> {
  const kept = { ...jar }
  for (const header of setCookies(res)) {
    const pair = header.split(';')[0] ?? ''
    const eq = pair.indexOf('=')
    const name = pair.slice(0, eq)
    const value = pair.slice(eq + 1)
    if (value === '') delete kept[name]
    else kept[name] = value
  }
  return kept
}

/** A login over HTTP: its response, its body, and the cookies it left. */
export interface Session {
  res: Response
  body: Record<string, string>
  jar: Record<string, string>
}

/** Logs `user1` in and keeps the cookies. */
export async function login(t: OptionsApp, username = 'user1', password = 'abcxyz'): Promise<Session> {
  const res = await t.agent.post('/auth').send({ username, password })
  expect(res.status, JSON.stringify(res.body)).to.equal(200)
  return { res, body: res.body as Record<string, string>, jar: keepCookies(res) }
}

/** The `Cookie` header of a jar. */
export function cookiesOf(jar: Record<string, string>): string {
  return cookieHeader(jar)
}

/** Asserts a 401 `CSRFError` with the given reasons. */
export function expectCsrfError(res: Response, reasons: readonly string[]): void {
  expectError(res, 401, 'CSRFError', 'ERR_JWT_CSRF', reasons)
  expect(res.headers['www-authenticate']).to.equal(
    `Bearer error="invalid_request", error_description="${reasons[0] ?? ''}"`,
  )
}

/** Asserts a 200 answer, showing the body otherwise. */
export function expectOk(res: Response, what = ''): void {
  expect(res.status, `${what} ${JSON.stringify(res.body)}`).to.equal(200)
}

/** Asserts that nothing of `secrets` appears in the body or the headers of `res`. */
export function expectNotEchoed(res: Response, secrets: readonly string[]): void {
  const seen = JSON.stringify(res.body) + JSON.stringify(res.headers) + (res.text ?? '')
  for (const secret of secrets) expect(seen, 'a cookie or CSRF value in the answer').not.to.include(secret)
}
