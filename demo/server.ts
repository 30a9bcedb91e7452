/**
 * Runs the demo app (`npm start`): listens on `PORT` (default 3000) and `HOST` (default
 * 127.0.0.1), then prints ready-to-paste `curl` lines for the whole login → refresh (rotation,
 * reuse) → logout → fresh login → change password (logged out everywhere) story and the address of
 * the login page for a browser, and then a line for each audit event.
 *
 * The secret comes from `JWT_SECRET`; without it a random one is generated, and tokens stop
 * working when the process exits. With `REDIS_URL` set, issued tokens live in Redis (a
 * `RedisStore`); without it, in the process (a `MemoryStore`), and no outside service is needed. This is the only demo file that listens, and only when run
 * directly.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

import type { Initialize, TokenStore } from '../source'
import { formatAuditEvent } from './audit'
import { createDemoApp, duration, freshnessNote, REFRESH_REUSE_INTERVAL, sessionNotes } from './app'
import { PAGE_PATH } from './page'
import { DEMO_USERS, type DemoUser } from './users'

/** A running demo server. */
export interface DemoServer {
  readonly server: Server
  /** The koa-jwt-kit instance of the app. */
  readonly jwt: Initialize<DemoUser>
  /** The base URL to paste into curl, with the real port. */
  readonly url: string
  /** The token store (Redis with `REDIS_URL`, else in memory). */
  readonly tokenStore: TokenStore
  /** Which store is in use, as the banner says it (host:port only for Redis). */
  readonly store: string
  /** Stops listening (dropping open connections) and closes the token store. Idempotent. */
  close(): Promise<void>
}

/** Where the server listens. */
export interface ListenOptions {
  port: number
  host: string
}

/**
 * Reads `PORT` and `HOST`.
 *
 * @throws TypeError when `PORT` is not a port number.
 */
export function listenOptions(env: NodeJS.ProcessEnv = process.env): ListenOptions {
  const rawPort = env['PORT'] === undefined || env['PORT'] === '' ? '3000' : env['PORT']
  const port = Number(rawPort)
  if (!/^\d+$/.test(rawPort) || port > 65535) {
    throw new TypeError(`PORT must be a port number, got "${rawPort}".`)
  }
  return { port, host: env['HOST'] || '127.0.0.1' }
}

/** The URL clients use for a listening address: wildcard hosts become loopback. */
export function baseUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`
}

const READ_JSON = `node -pe 'JSON.parse(require("fs").readFileSync(0)).`

/** The password the curl lines give alice, before they change it back. */
export const NEW_PASSWORD = 'looking-glass'

/** `curl ... POST /auth` (or `/auth/fresh`) with a JSON login body. */
function loginCommand(url: string, username: string, password: string, print: boolean, path = '/auth'): string {
  const body = JSON.stringify({ username, password })
  const newline = print ? ` -w '\\n'` : ''
  return `curl -s${newline} -X POST ${url}${path} -H 'Content-Type: application/json' -d '${body}'`
}

/**
 * The try-it part of the banner: comments and POSIX shell lines that walk through login, verify,
 * me, the protected and the scoped route, refresh with rotation (the old refresh token within the
 * reuse interval, then reused: the login is revoked), two devices and a logout, the 401 of a
 * refreshed token on the fresh-only route, the fresh login, the password change that logs out
 * everywhere, and the audit trail. The password is changed back at the end, so the lines can be
 * pasted again.
 *
 * @param reuseInterval - the `refreshReuseInterval` setting: the lines wait one second longer
 *   before reusing a rotated refresh token.
 */
export function curlLines(url: string, reuseInterval: number = REFRESH_REUSE_INTERVAL): string[] {
  const [alice, admin] = DEMO_USERS
  if (alice === undefined || admin === undefined) throw new Error('The demo needs two users.')
  const bearer = (name: string): string => `-H "Authorization: Bearer $${name}"`
  const read = (variable: string, key: string): string => `$(printf '%s' "$${variable}" | ${READ_JSON}${key}')`
  const refresh = (token: string, refreshToken: string, print = true): string =>
    `curl -s${print ? ` -w '\\n'` : ''} -X POST ${url}/auth/refresh ${bearer(token)} ` +
    `-H 'Content-Type: application/json' -d "{\\"refresh_token\\":\\"$${refreshToken}\\"}"`
  // A rotating refresh answers a new refresh token: one call, printed and kept (calling it twice
  // would present a retired token).
  const refreshAndKeep = [
    `ANSWER=$(${refresh('TOKEN', 'REFRESH', false)})`,
    `printf '%s\\n' "$ANSWER"`,
    `TOKEN=${read('ANSWER', 'access_token')}`,
    `REFRESH=${read('ANSWER', 'refresh_token')}`,
  ]
  const logIn = (password: string): string[] => [
    `LOGIN=$(${loginCommand(url, alice.username, password, false)})`,
    `TOKEN=${read('LOGIN', 'access_token')}`,
    `REFRESH=${read('LOGIN', 'refresh_token')}`,
  ]
  const changePassword = (token: string, change: { currentPassword?: string; newPassword: string }): string =>
    `curl -s -w '\\n' -X POST ${url}/account/password ${bearer(token)} ` +
    `-H 'Content-Type: application/json' -d '${JSON.stringify(change)}'`
  const wait = duration(reuseInterval)
  return [
    `# 1. Log in (POST /auth with JSON): the answer holds access_token, refresh_token and user`,
    loginCommand(url, alice.username, alice.password, true),
    ``,
    `# 2. Log in again and keep ${alice.username}'s tokens in TOKEN and REFRESH (each login has its own refresh token)`,
    ...logIn(alice.password),
    ``,
    `# 3. Verify the access token: {"valid":true}`,
    `curl -s -w '\\n' ${url}/auth/verify ${bearer('TOKEN')}`,
    ``,
    `# 4. Who am I (GET /auth/me)`,
    `curl -s -w '\\n' ${url}/auth/me ${bearer('TOKEN')}`,
    ``,
    `# 5. The protected route (any logged-in user)`,
    `curl -s -w '\\n' ${url}/api/profile ${bearer('TOKEN')}`,
    ``,
    `# 6. The scoped route: 403 ERR_JWT_INVALID_SCOPE for ${alice.username}, who lacks the 'admin' scope...`,
    `curl -s -w '\\n' ${url}/api/admin ${bearer('TOKEN')}`,
    ``,
    `# 7. ...and 200 for ${admin.username}`,
    `ADMIN_TOKEN=$(${loginCommand(url, admin.username, admin.password, false)} | ${READ_JSON}access_token')`,
    `curl -s -w '\\n' ${url}/api/admin ${bearer('ADMIN_TOKEN')}`,
    ``,
    `# 8. Refresh: a new access token and a new refresh token (rotation); the old one is kept in OLD_REFRESH`,
    `OLD_REFRESH=$REFRESH`,
    ...refreshAndKeep,
    ``,
    `# 9. The old refresh token again at once, as a second tab would: within ${wait} it still gives an access token (no refresh token)`,
    refresh('TOKEN', 'OLD_REFRESH'),
    ``,
    `# 10. Later it is reuse (a stolen copy?): 401 ERR_JWT_REFRESH_REUSED, and every token of that login is revoked...`,
    `sleep ${reuseInterval + 1}`,
    refresh('TOKEN', 'OLD_REFRESH'),
    ``,
    `# 11. ...the new tokens too: 401 ERR_JWT_REVOKED; only a new login helps`,
    refresh('TOKEN', 'REFRESH'),
    ``,
    `# 12. Log in on two devices: this one (TOKEN, REFRESH) and a phone (PHONE)`,
    ...logIn(alice.password),
    `PHONE=$(${loginCommand(url, alice.username, alice.password, false)} | ${READ_JSON}access_token')`,
    ``,
    `# 13. Log out on the phone (POST /auth/logout): {"logout":true}; its tokens are refused from now on...`,
    `curl -s -w '\\n' -X POST ${url}/auth/logout ${bearer('PHONE')}`,
    `curl -s -w '\\n' ${url}/api/profile ${bearer('PHONE')}`,
    ``,
    `# 14. ...while this device still refreshes (rotated again)`,
    ...refreshAndKeep,
    ``,
    `# 15. A refreshed token is never fresh: changing the password with it is 401 ERR_JWT_NEEDS_FRESH`,
    changePassword('TOKEN', { newPassword: NEW_PASSWORD }),
    ``,
    `# 16. Fresh login (POST /auth/fresh, the password again): a fresh access token, no refresh token`,
    loginCommand(url, alice.username, alice.password, true, '/auth/fresh'),
    `FRESH=$(${loginCommand(url, alice.username, alice.password, false, '/auth/fresh')} | ${READ_JSON}access_token')`,
    ``,
    `# 17. With the fresh token the password changes, and ${alice.username} is logged out everywhere: {"changed":true,"logout":"everywhere"}`,
    changePassword('FRESH', { currentPassword: alice.password, newPassword: NEW_PASSWORD }),
    ``,
    `# 18. This device too: its refresh token is refused (401 ERR_JWT_REVOKED)`,
    refresh('TOKEN', 'REFRESH'),
    ``,
    `# 19. Log in with the new password: a login token is fresh, so it changes the password back to '${alice.password}'`,
    ...logIn(NEW_PASSWORD),
    changePassword('TOKEN', { currentPassword: NEW_PASSWORD, newPassword: alice.password }),
    ``,
    `# 20. The audit trail (GET /admin/audit, scope admin): what happened, with token ids but never a token`,
    `curl -s -w '\\n' ${url}/admin/audit ${bearer('ADMIN_TOKEN')}`,
  ]
}

/**
 * The whole start-up banner.
 *
 * @param lifetime - the access-token lifetime in seconds (the `expirationDelta` setting).
 * @param freshness - the `loginFreshness` setting (`true` or seconds); unstated when omitted.
 * @param reuseInterval - the `refreshReuseInterval` setting, in seconds.
 * @param store - which token store is in use (`storeNote()`); unstated when omitted.
 */
export function banner(
  url: string,
  lifetime: number,
  freshness?: true | number,
  reuseInterval: number = REFRESH_REUSE_INTERVAL,
  store?: string,
): string {
  const users = DEMO_USERS.map(
    (user) => `  ${`${user.username} / ${user.password}`.padEnd(26)} scopes: ${user.scopes.join(', ')}`,
  )
  return [
    `koa-jwt-kit demo listening on ${url}`,
    ...(store === undefined ? [] : [store]),
    ``,
    `Demo users:`,
    ...users,
    ``,
    `In a browser: ${url}${PAGE_PATH}, a login page (tokens in HttpOnly cookies, the CSRF header on every`,
    `request that changes something, refresh and logout).`,
    ``,
    `Try it (paste the lines into a POSIX shell; the token lines use node to read the JSON):`,
    ``,
    ...curlLines(url, reuseInterval).map((line) => (line === '' ? '' : `  ${line}`)),
    ``,
    `Access tokens live ${duration(lifetime)}.`,
    `The OpenAPI document of every route: ${url}/openapi.json (for Swagger UI, Redoc or a client generator).`,
    ...(freshness === undefined ? [] : [freshnessNote(freshness)]),
    ...Object.values(sessionNotes(reuseInterval)),
    `Audit events are printed below as they happen.`,
    `Press Ctrl+C to stop.`,
    ``,
  ].join('\n')
}

/**
 * Builds the demo app and listens.
 *
 * @param env - where `PORT`, `HOST`, `JWT_SECRET` and `REDIS_URL` are read.
 * @param warn - receives the warning about a generated secret.
 * @param log - receives a line for each audit event (login, refresh, logout, revoked,
 *   reuse_detected); never a token.
 */
export async function startDemoServer(
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = console.warn,
  log: (line: string) => void = console.log,
): Promise<DemoServer> {
  const { port, host } = listenOptions(env)
  let secret = env['JWT_SECRET']
  if (!secret) {
    secret = randomBytes(32).toString('base64url')
    warn(
      'WARNING: JWT_SECRET is not set: using a random secret generated at start-up. ' +
        'Tokens stop working when this process exits; set JWT_SECRET to keep them valid across restarts.',
    )
  }
  const { app, jwt, tokenStore, store } = await createDemoApp({
    secret,
    redisUrl: env['REDIS_URL'],
    onAudit: (event) => log(formatAuditEvent(event)),
  })
  const server = app.listen(port, host)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve)
      server.once('error', reject)
    })
  } catch (error) {
    await tokenStore.close().catch(() => {})
    throw error
  }
  const address = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await tokenStore.close()
    })())
  return { server, jwt, url: baseUrl(host, address.port), tokenStore, store, close }
}

async function main(): Promise<void> {
  const { jwt, url, store, close } = await startDemoServer()
  const { config } = jwt
  process.stdout.write(
    banner(
      url,
      config.get('expirationDelta'),
      config.get('loginFreshness'),
      config.get('refreshReuseInterval'),
      store,
    ),
  )
  // Stops listening and closes the token store (the Redis connection), so the process can exit.
  const stop = (): void => {
    close().catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error)
      process.exitCode = 1
    })
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
