/**
 * The koa-jwt-kit demo app: login, verify, me, refresh, fresh-login and logout endpoints, a
 * protected route, a scoped route, a route that needs a fresh token (changing the password, which
 * logs the user out everywhere), a custom claim, a `Responses` subclass, an audit trail, and a login
 * page for a browser (`GET /app`, demo/page.ts) on cookies with CSRF double submit, over an
 * in-memory user store. Issued tokens (revocation, logout, refresh tokens with rotation) live in a
 * `MemoryStore` in the process, so nothing outside it is needed; given a Redis URL (`npm start`
 * passes `REDIS_URL`), they live in a `RedisStore` instead, under the prefix `koa-jwt-kit-demo:`.
 *
 * It only builds the app; `demo/server.ts` makes it listen. Everything is imported from the
 * package's public entry point (`'../source'` here stands for `'koa-jwt-kit'`).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'

import Router from '@koa/router'
import Koa, { type Context, type Middleware } from 'koa'
import { koaBody } from 'koa-body'

import {
  AuthenticationFailed,
  Claim,
  Initialize,
  InvalidRequestBody,
  MemoryStore,
  RedisStore,
  Responses,
  type AuditEvent,
  type AuthenticateResult,
  type JwtPayload,
  type JwtState,
  type TokenStore,
} from '../source'
import { AUDIT_LIMIT, AuditLog } from './audit'
import { demoOpenApi } from './openapi'
import { PAGE_PATH, pageRouter } from './page'
import { DEMO_USERS, passwordProblem, UserStore, type DemoUser } from './users'

/**
 * How long the access token of a login (`POST /auth`, `POST /auth/fresh`) counts as fresh: the
 * `loginFreshness` setting. The default, `true`, keeps a login token fresh for its whole life (30
 * minutes here); a shorter window shows the point of fresh tokens: a password typed 15 minutes ago
 * no longer proves that the person at the keyboard is the user, so changing the password then asks
 * for it again (`POST /auth/fresh`), while every other route still takes the token.
 */
export const LOGIN_FRESHNESS = '15m'

/**
 * Seconds during which a refresh token just replaced by rotation is still answered: the
 * `refreshReuseInterval` setting. Two tabs of one browser share the refresh token; when both
 * refresh at the same moment, the second request carries the token the first one just retired.
 * Within this interval it gets a new access token (and no new refresh token: it picks up the one
 * the first tab stored); later, a retired token is a stolen or replayed one, and the whole login is
 * revoked (401 `ERR_JWT_REFRESH_REUSED`). Short, so that a thief has no useful window.
 */
export const REFRESH_REUSE_INTERVAL = 5

/** Options of {@link createDemoApp}. */
export interface DemoAppOptions {
  /** The signing secret. @default a random secret: tokens die with the process */
  secret?: string
  /**
   * The clock in seconds (tests move it to expire tokens), used by the tokens and the token store.
   * @default Date.now() / 1000
   */
  clock?: () => number
  /** Also receives every audit event (`npm start` prints them). */
  onAudit?: (event: AuditEvent) => void
  /**
   * A Redis URL (`redis://[user:password@]host:port[/db]`): issued tokens then live in a
   * `RedisStore` under {@link DEMO_REDIS_PREFIX} (Redis expires them by the real time, so a spec
   * clock should start at the real time). Unset or empty: a `MemoryStore` in the process.
   */
  redisUrl?: string | undefined
}

/** The key prefix of the demo's tokens in Redis. */
export const DEMO_REDIS_PREFIX = 'koa-jwt-kit-demo:'

/**
 * Where a Redis URL points, as the demo shows it: `host:port` only, never the user, the password
 * or the database.
 */
export function redisLocation(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.hostname === '') return 'an unparsable URL'
    return `${parsed.hostname}:${parsed.port || '6379'}`
  } catch {
    return 'an unparsable URL'
  }
}

/** What the demo says about its token store, for `GET /` and the start-up banner. */
export function storeNote(redisUrl?: string): string {
  return redisUrl
    ? `Tokens live in Redis at ${redisLocation(redisUrl)} (RedisStore, key prefix ${DEMO_REDIS_PREFIX}).`
    : 'Tokens live in this process (MemoryStore): they are gone when it exits. Set REDIS_URL to keep them in Redis.'
}

/** What {@link createDemoApp} returns. */
export interface DemoApp {
  /** The Koa app, not listening. */
  app: Koa
  /** The koa-jwt-kit instance. */
  jwt: Initialize<DemoUser>
  /** The user store. */
  users: UserStore
  /** The last audit events, as `GET /admin/audit` lists them. */
  audit: AuditLog
  /** The token store: a `RedisStore` with a Redis URL, else a `MemoryStore`. Close it on shutdown. */
  tokenStore: TokenStore
  /** Which store is in use: `'redis'` or `'memory'`. */
  storeKind: 'redis' | 'memory'
  /** What {@link storeNote} says about it (host:port only for Redis). */
  store: string
}

/** `ctx.state` on routes behind `protected()` + `injectUser()`. */
type DemoState = JwtState<DemoUser, JwtPayload>

/** "30 minutes", "45 seconds": a number of seconds as the demo prints it. */
export function duration(seconds: number): string {
  if (seconds >= 60 && seconds % 60 === 0) return seconds === 60 ? '1 minute' : `${seconds / 60} minutes`
  return seconds === 1 ? '1 second' : `${seconds} seconds`
}

/**
 * What the demo says about fresh tokens, for `GET /` and the start-up banner.
 *
 * @param freshness - the `loginFreshness` setting, normalised (`true` or seconds).
 */
export function freshnessNote(freshness: true | number): string {
  const window = freshness === true ? 'for their whole life' : `for ${duration(freshness)}`
  return (
    `Access tokens from POST /auth and POST /auth/fresh are fresh ${window}; refreshed tokens never are. ` +
    'POST /account/password needs a fresh token (else 401 ERR_JWT_NEEDS_FRESH).'
  )
}

/** What the demo says about sessions, for `GET /` and the start-up banner. */
export interface SessionNotes {
  rotation: string
  logout: string
  passwordChange: string
  audit: string
}

/**
 * What the demo says about refresh-token rotation, logout, the password change and the audit trail.
 *
 * @param reuseInterval - the `refreshReuseInterval` setting, in seconds.
 */
export function sessionNotes(reuseInterval: number): SessionNotes {
  const later = reuseInterval > 0 ? ` ${duration(reuseInterval)} or more after it was replaced` : ''
  return {
    rotation:
      'Every POST /auth/refresh answers a new refresh_token and retires the one sent; ' +
      `sending a retired one again${later} is 401 ERR_JWT_REFRESH_REUSED and revokes that whole login.`,
    logout:
      'POST /auth/logout revokes the access token and the refresh token of its login (other devices stay ' +
      'logged in); with {"everywhere":true} it logs the user out on every device.',
    passwordChange:
      'POST /account/password logs the user out everywhere, this device included: log in again with the new password.',
    audit: `GET /admin/audit (scope admin) lists the last ${AUDIT_LIMIT} login, refresh, logout, revoked and reuse_detected events.`,
  }
}

/** What the demo says about its page, for `GET /` and the start-up banner. */
export const PAGE_NOTE =
  `GET ${PAGE_PATH} is a login page for a browser: tokens in HttpOnly cookies, the CSRF header on every ` +
  'request that changes something, refresh and logout.'

/** The public part of a user, as the API shows it. */
function publicUser(user: DemoUser): { id: number; username: string } {
  return { id: user.user_id, username: user.username }
}

/**
 * A custom claim: every token carries the username, and a token without a non-empty one is
 * refused (401 `ERR_JWT_CUSTOM_CLAIM_FAILED`).
 */
export class UsernameClaim extends Claim<DemoUser> {
  override key = 'username'

  override setup(_payload: JwtPayload, user: DemoUser): string {
    return user.username
  }

  override verify(value: unknown): boolean {
    return typeof value === 'string' && value.length > 0
  }
}

/** Adds the user to the login answer and the token's expiry to `/auth/me`. */
export class DemoResponses extends Responses {
  override extendAuthenticate(
    _ctx: Context,
    { user }: AuthenticateResult<DemoUser>,
  ): { user: { id: number; username: string } } {
    return { user: publicUser(user) }
  }

  override extendRetrieveUser(
    _ctx: Context,
    { payload }: { user: unknown; payload: JwtPayload | null },
  ): { expires_at: string | null } {
    const exp = payload?.['exp']
    return { expires_at: typeof exp === 'number' ? new Date(exp * 1000).toISOString() : null }
  }
}

/** Reads `{ username, password }` from a login body (JSON or form), refusing anything else. */
function readCredentials(body: unknown): { username: string; password: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AuthenticationFailed('Missing username or password.')
  }
  const { username, password } = body as Record<string, unknown>
  if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) {
    throw new AuthenticationFailed('Missing username or password.')
  }
  return { username, password }
}

/** The body of `POST /account/password`, once checked. */
export interface PasswordChange {
  /** Checked against the stored password when given (the fresh token already proves a recent login). */
  currentPassword?: string
  newPassword: string
}

const PASSWORD_CHANGE_SHAPE =
  'Send a JSON object: { "currentPassword"?: string, "newPassword": string }.'

/**
 * Checks the body of `POST /account/password`.
 *
 * @throws InvalidRequestBody (400) listing every problem: not an object, `newPassword` missing, not
 *   a string, too short or too long, `currentPassword` given but not a string.
 */
export function readPasswordChange(body: unknown): PasswordChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestBody(PASSWORD_CHANGE_SHAPE)
  }
  const { currentPassword, newPassword } = body as Record<string, unknown>
  const reasons: string[] = []
  const problem =
    newPassword === undefined ? 'newPassword is missing.' : passwordProblem(newPassword, 'newPassword')
  if (problem !== null) reasons.push(problem)
  if (currentPassword !== undefined && typeof currentPassword !== 'string') {
    reasons.push('currentPassword, when given, must be a string.')
  }
  if (reasons.length > 0 || typeof newPassword !== 'string') throw new InvalidRequestBody(reasons)
  return typeof currentPassword === 'string' ? { currentPassword, newPassword } : { newPassword }
}

const parseJson = koaBody({
  json: true,
  // Any JSON value: a string or a number is then refused with the shape of the body expected.
  jsonStrict: false,
  urlencoded: false,
  text: false,
  multipart: false,
  jsonLimit: 16 * 1024,
  onError(error) {
    const status = (error as { status?: unknown }).status
    if (status === 413) {
      throw new InvalidRequestBody('Request body is too large.', {
        status: 413,
        code: 'ERR_JWT_BODY_TOO_LARGE',
        cause: error,
      })
    }
    if (status === 415) {
      throw new InvalidRequestBody('Unsupported content encoding.', {
        status: 415,
        code: 'ERR_JWT_UNSUPPORTED_MEDIA_TYPE',
        cause: error,
      })
    }
    throw new InvalidRequestBody(['The body is not valid JSON.', PASSWORD_CHANGE_SHAPE], { cause: error })
  },
})

/**
 * Reads the JSON body of `POST /account/password` (the koa-jwt-kit endpoints read theirs
 * themselves; other routes need a body parser). Failures are koa-jwt-kit errors, so they answer in
 * the JSON shape of every other error: 400 `ERR_JWT_INVALID_BODY`, 413 `ERR_JWT_BODY_TOO_LARGE`, or
 * 415 `ERR_JWT_UNSUPPORTED_MEDIA_TYPE` for a body that is not JSON. A request without a body goes
 * on with `ctx.request.body` undefined.
 */
export const jsonBody: Middleware = (ctx, next) => {
  // As the koa-jwt-kit endpoints count it: `Content-Length: 0` is no body.
  const length = ctx.get('content-length')
  if ((length === '' || length === '0') && ctx.get('transfer-encoding') === '') return next()
  if (!ctx.is('json')) {
    const reasons = ['Expected a JSON body (Content-Type: application/json).', PASSWORD_CHANGE_SHAPE]
    throw new InvalidRequestBody(reasons, { status: 415, code: 'ERR_JWT_UNSUPPORTED_MEDIA_TYPE' })
  }
  return parseJson(ctx, next)
}

/**
 * Builds the demo app: the koa-jwt-kit endpoints under `/auth` (login, verify, me, refresh with
 * rotation, fresh login, logout), `GET /api/profile` (any logged-in user), `GET /api/admin` (scope
 * `admin`), `POST /api/counter` (any logged-in user) and `DELETE /api/counter` (a fresh token),
 * `POST /account/password` (a fresh token; logs the user out everywhere), `GET /admin/audit` (scope
 * `admin`), the login page `GET /app`, to which `GET /` sends browsers, and their OpenAPI document at
 * `GET /openapi.json`. Tokens come from the
 * cookies the login sets (and then need the CSRF header on unsafe methods) or from the
 * Authorization header. Hashing the demo passwords and reading the page's files make it async.
 *
 * @example
 * ```ts
 * const { app } = await createDemoApp({ secret: process.env.JWT_SECRET })
 * app.listen(3000)
 * ```
 */
export async function createDemoApp(options: DemoAppOptions = {}): Promise<DemoApp> {
  const users = await UserStore.create()
  // Without Redis, in the process: tokens, revocations and refresh tokens die with it, like the
  // random secret. With Redis they outlive it (with JWT_SECRET set, tokens stay valid across
  // restarts), and several processes behind a load balancer share them.
  const redisUrl = options.redisUrl || undefined
  const tokenStore: TokenStore = redisUrl
    ? new RedisStore({ url: redisUrl, prefix: DEMO_REDIS_PREFIX })
    : new MemoryStore(options.clock ? { clock: options.clock } : {})
  const storeKind = redisUrl ? 'redis' : 'memory'
  const store = storeNote(redisUrl)
  const audit = new AuditLog()
  const { onAudit } = options
  const app = new Koa()

  const jwt = new Initialize<DemoUser>(app, {
    secret: options.secret ?? randomBytes(32).toString('base64url'),
    ...(options.clock ? { clock: options.clock } : {}),

    // POST /auth/fresh: the password again, for a fresh access token only (no refresh token).
    freshLoginEnabled: true,
    loginFreshness: LOGIN_FRESHNESS,

    async authenticate(ctx) {
      const { username, password } = readCredentials(ctx.request.body)
      const user = await users.check(username, password)
      if (!user) throw new AuthenticationFailed('Invalid username or password.')
      return user
    },
    retrieveUser: (_ctx, payload) => users.byId(payload['user_id']),

    // The token store turns revocation on: every token gets a jti, revoked ones are refused (401
    // ERR_JWT_REVOKED) and POST /auth/logout is mounted. Without storeRefreshToken and
    // retrieveRefreshToken handlers, refresh tokens live in the store too: one per login, so each
    // device has its own, for 30 days (refreshExpirationDelta).
    tokenStore,
    refreshTokenEnabled: true,
    // Each refresh answers a new refresh token and retires the one sent; a retired one sent again
    // is a stolen or replayed token, and revokes the whole login. The interval: see its constant.
    refreshRotation: true,
    refreshReuseInterval: REFRESH_REUSE_INTERVAL,
    // Events carry the type, the user id, the token id and the time: never a token.
    audit(event) {
      audit.record(event)
      onAudit?.(event)
    },

    // Having this handler turns scopes on.
    addScopesToPayload: (user) => [...user.scopes],

    customClaims: [UsernameClaim],
    responsesClass: DemoResponses,

    // Cookie mode, for the page at GET /app (demo/page.ts): login and refresh also put the tokens
    // in HttpOnly cookies, and their CSRF values in cookies the page's script can read. A POST,
    // PUT, PATCH or DELETE whose token came from a cookie must send that value back in the
    // x-csrf-token header, else 401 ERR_JWT_CSRF: another site can make the browser send the
    // cookies, but it cannot read the value (double submit). cookieStrict off: a request without
    // the cookie falls back to the Authorization header, so API clients and the curl lines work
    // as before, with no CSRF header (a site cannot make a browser send that header).
    cookieSet: true,
    cookieStrict: false,
    cookieCsrfProtect: true,
  })

  const api = new Router<DemoState>({ prefix: '/api' })
  api.get('/profile', jwt.protected(), jwt.injectUser(), (ctx) => {
    const user = ctx.state.user
    ctx.body = { profile: user ? { ...publicUser(user), scopes: user.scopes } : null }
  })
  api.get('/admin', jwt.scoped('admin'), (ctx) => {
    ctx.body = { admin: true, users: users.list().map(publicUser) }
  })
  // A counter per user: the harmless actions of the page (demo/page/), which show what the CSRF
  // header changes for a browser. Adding one takes any valid token; a reset needs a fresh one.
  const counters = new Map<number, number>()
  api.post('/counter', jwt.protected({ user: true }), (ctx) => {
    const { user_id: id } = ctx.state.user
    const count = (counters.get(id) ?? 0) + 1
    counters.set(id, count)
    ctx.body = { count }
  })
  api.delete('/counter', jwt.protected({ fresh: true, user: true }), (ctx) => {
    counters.set(ctx.state.user.user_id, 0)
    ctx.body = { count: 0 }
  })

  const account = new Router<DemoState>({ prefix: '/account' })
  // A fresh token: a refreshed one (or a login token past its freshness window) is a 401
  // NeedsFreshToken, and POST /auth/fresh gives a fresh one. `user: true` puts the user in
  // ctx.state.user (never null). The token is checked before the body is read.
  account.post('/password', jwt.protected({ fresh: true, user: true }), jsonBody, async (ctx) => {
    const { currentPassword, newPassword } = readPasswordChange(ctx.request.body)
    const { user } = ctx.state
    if (currentPassword !== undefined && (await users.check(user.username, currentPassword)) === null) {
      throw new AuthenticationFailed('The current password is wrong.')
    }
    await users.setPassword(user.user_id, newPassword)
    // Then the user is logged out everywhere, this device included: every token issued up to now,
    // access and refresh, is refused (401 ERR_JWT_REVOKED), and the client logs in again with the
    // new password. A password is changed when it may have leaked, and any session may be the
    // intruder's: the fresh token of this one only proves that the old password was typed lately.
    // Logging in again also proves at once that the new password works (a typo shows now, not when
    // the refresh token dies), keeps the login endpoints the only ones handing out refresh tokens
    // (each login audited, in a family of its own), and asks nothing new of clients: a 401 already
    // means "log in". Revoked after the change, not before, so that a login with the old password
    // during the (slow) hashing of the new one is cut off too.
    await jwt.tokens.revokeUser(user.user_id)
    ctx.body = { changed: true, logout: 'everywhere' }
  })

  // The audit trail (admin only): the last events, oldest first.
  const admin = new Router<DemoState>({ prefix: '/admin' })
  admin.get('/audit', jwt.scoped('admin'), (ctx) => {
    ctx.body = { events: audit.list() }
  })

  const freshness = freshnessNote(jwt.config.get('loginFreshness'))
  const notes = sessionNotes(jwt.config.get('refreshReuseInterval'))
  const page = await pageRouter({
    csrfHeaderName: jwt.config.get('csrfHeaderName'),
    cookieCsrfAccessName: jwt.config.get('cookieCsrfAccessName'),
    cookieCsrfRefreshName: jwt.config.get('cookieCsrfRefreshName'),
    users: DEMO_USERS,
  })
  const root = new Router()
  root.get('/', (ctx) => {
    ctx.vary('Accept')
    // A browser asks for HTML first, and gets the page; curl and API clients get this list.
    if (ctx.accepts('json', 'html') === 'html') {
      ctx.redirect(PAGE_PATH)
      return
    }
    ctx.body = {
      name: 'koa-jwt-kit demo',
      endpoints: [
        'POST /auth',
        'GET /auth/verify',
        'GET /auth/me',
        'POST /auth/refresh',
        'POST /auth/fresh',
        'POST /auth/logout',
        'GET /api/profile',
        'GET /api/admin',
        'POST /api/counter',
        'DELETE /api/counter',
        'POST /account/password',
        'GET /admin/audit',
        `GET ${PAGE_PATH}`,
        'GET /openapi.json',
      ],
      page: PAGE_NOTE,
      store,
      freshness,
      ...notes,
    }
  })

  // The OpenAPI document of every route above: koa-jwt-kit's, then the demo's own.
  root.get('/openapi.json', (ctx) => {
    ctx.body = demoOpenApi(jwt)
  })

  app.use(root.routes())
  app.use(page.routes())
  app.use(api.routes())
  app.use(api.allowedMethods())
  app.use(account.routes())
  app.use(account.allowedMethods())
  app.use(admin.routes())
  app.use(admin.allowedMethods())
  return { app, jwt, users, audit, tokenStore, storeKind, store }
}
