/**
 * Runs the demo app (`npm start`): listens on `PORT` (default 3000) and `HOST` (default
 * 127.0.0.1), then prints ready-to-paste `curl` lines for the whole login → change password →
 * refresh → fresh login → logout story.
 *
 * The secret comes from `JWT_SECRET`; without it a random one is generated, and tokens stop
 * working when the process exits. This is the only demo file that listens, and only when run
 * directly.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

import type { Initialize } from '../source'
import { createDemoApp, duration, freshnessNote } from './app'
import { DEMO_USERS, type DemoUser } from './users'

/** A running demo server. */
export interface DemoServer {
  readonly server: Server
  /** The koa-jwt-kit instance of the app. */
  readonly jwt: Initialize<DemoUser>
  /** The base URL to paste into curl, with the real port. */
  readonly url: string
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
 * me, the protected and the scoped route, changing the password with the fresh login token,
 * refresh, the 401 of the refreshed token on the fresh-only route, the fresh login, and logout.
 * The password is changed back at the end, so the lines can be pasted again.
 */
export function curlLines(url: string): string[] {
  const [alice, admin] = DEMO_USERS
  if (alice === undefined || admin === undefined) throw new Error('The demo needs two users.')
  const bearer = (name: string): string => `-H "Authorization: Bearer $${name}"`
  const refresh =
    `curl -s -w '\\n' -X POST ${url}/auth/refresh ${bearer('TOKEN')} ` +
    `-H 'Content-Type: application/json' -d "{\\"refresh_token\\":\\"$REFRESH\\"}"`
  const changePassword = (token: string, change: { currentPassword?: string; newPassword: string }): string =>
    `curl -s -w '\\n' -X POST ${url}/account/password ${bearer(token)} ` +
    `-H 'Content-Type: application/json' -d '${JSON.stringify(change)}'`
  return [
    `# 1. Log in (POST /auth with JSON): the answer holds access_token, refresh_token and user`,
    loginCommand(url, alice.username, alice.password, true),
    ``,
    `# 2. Keep ${alice.username}'s tokens in TOKEN and REFRESH`,
    `LOGIN=$(${loginCommand(url, alice.username, alice.password, false)})`,
    `TOKEN=$(printf '%s' "$LOGIN" | ${READ_JSON}access_token')`,
    `REFRESH=$(printf '%s' "$LOGIN" | ${READ_JSON}refresh_token')`,
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
    `# 8. Change ${alice.username}'s password with the login token, still fresh (see below): {"changed":true}`,
    changePassword('TOKEN', { currentPassword: alice.password, newPassword: NEW_PASSWORD }),
    ``,
    `# 9. A new access token for the refresh token (the access token may have expired), kept in REFRESHED`,
    refresh,
    `REFRESHED=$(${refresh.replace(` -w '\\n'`, '')} | ${READ_JSON}access_token')`,
    ``,
    `# 10. A refreshed token is never fresh: changing the password with it is 401 ERR_JWT_NEEDS_FRESH`,
    changePassword('REFRESHED', { newPassword: alice.password }),
    ``,
    `# 11. Fresh login (POST /auth/fresh, the new password): a fresh access token, no refresh token`,
    loginCommand(url, alice.username, NEW_PASSWORD, true, '/auth/fresh'),
    `FRESH=$(${loginCommand(url, alice.username, NEW_PASSWORD, false, '/auth/fresh')} | ${READ_JSON}access_token')`,
    ``,
    `# 12. With the fresh token the password can be changed again (back to '${alice.password}')`,
    changePassword('FRESH', { currentPassword: NEW_PASSWORD, newPassword: alice.password }),
    ``,
    `# 13. Log out (a class-based view that forgets the refresh token); refreshing then fails with 401`,
    `curl -s -w '\\n' -X POST ${url}/auth/logout ${bearer('TOKEN')}`,
    refresh,
  ]
}

/**
 * The whole start-up banner.
 *
 * @param lifetime - the access-token lifetime in seconds (the `expirationDelta` setting).
 * @param freshness - the `loginFreshness` setting (`true` or seconds); unstated when omitted.
 */
export function banner(url: string, lifetime: number, freshness?: true | number): string {
  const users = DEMO_USERS.map(
    (user) => `  ${`${user.username} / ${user.password}`.padEnd(26)} scopes: ${user.scopes.join(', ')}`,
  )
  return [
    `koa-jwt-kit demo listening on ${url}`,
    ``,
    `Demo users:`,
    ...users,
    ``,
    `Try it (paste the lines into a POSIX shell; the token lines use node to read the JSON):`,
    ``,
    ...curlLines(url).map((line) => (line === '' ? '' : `  ${line}`)),
    ``,
    `Access tokens live ${duration(lifetime)}.`,
    ...(freshness === undefined ? [] : [freshnessNote(freshness)]),
    `Press Ctrl+C to stop.`,
    ``,
  ].join('\n')
}

/**
 * Builds the demo app and listens.
 *
 * @param env - where `PORT`, `HOST` and `JWT_SECRET` are read.
 * @param warn - receives the warning about a generated secret.
 */
export async function startDemoServer(
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = console.warn,
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
  const { app, jwt } = await createDemoApp({ secret })
  const server = app.listen(port, host)
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const address = server.address() as AddressInfo
  return { server, jwt, url: baseUrl(host, address.port) }
}

async function main(): Promise<void> {
  const { server, jwt, url } = await startDemoServer()
  process.stdout.write(banner(url, jwt.config.get('expirationDelta'), jwt.config.get('loginFreshness')))
  const stop = (): void => {
    server.closeAllConnections()
    server.close()
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
