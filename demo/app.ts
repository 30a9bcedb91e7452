/**
 * The koa-jwt-kit demo app: login, verify, me, refresh and logout endpoints, a protected route,
 * a scoped route, a custom claim and a `Responses` subclass, over an in-memory user store.
 *
 * It only builds the app; `demo/server.ts` makes it listen. Everything is imported from the
 * package's public entry point (`'../source'` here stands for `'koa-jwt-kit'`).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'

import Router from '@koa/router'
import Koa, { type Context } from 'koa'

import {
  AuthenticationFailed,
  BaseEndpoint,
  Claim,
  Initialize,
  Responses,
  protect,
  type AuthenticateResult,
  type JwtPayload,
  type JwtState,
} from '../source'
import { UserStore, type DemoUser } from './users'

/** Stored refresh tokens by user id (one live refresh token per user). */
export type RefreshTokenStore = Map<number, string>

/** Options of {@link createDemoApp}. */
export interface DemoAppOptions {
  /** The signing secret. @default a random secret: tokens die with the process */
  secret?: string
  /** The clock in seconds (tests move it to expire tokens). @default Date.now() / 1000 */
  clock?: () => number
}

/** What {@link createDemoApp} returns. */
export interface DemoApp {
  /** The Koa app, not listening. */
  app: Koa
  /** The koa-jwt-kit instance. */
  jwt: Initialize<DemoUser>
  /** The user store. */
  users: UserStore
  /** The stored refresh tokens. */
  refreshTokens: RefreshTokenStore
}

/** `ctx.state` on routes behind `protected()` + `injectUser()`. */
type DemoState = JwtState<DemoUser, JwtPayload>

/** A user id read from outside (a payload claim, a handler argument), or null. */
function asUserId(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null
}

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

/**
 * A class-based view, `POST /auth/logout`: forgets the caller's refresh token, so it can no longer
 * be exchanged for access tokens. (The access token itself stays valid until it expires: JWTs are
 * stateless.)
 *
 * The view is handed to `new Initialize(...)` through `classViews`, before the instance exists, so
 * it is protected with the module-level `protect()`, which finds the instance of `ctx.app` when a
 * request comes in.
 */
export function logoutEndpoint(refreshTokens: RefreshTokenStore): typeof BaseEndpoint {
  return class LogoutEndpoint extends BaseEndpoint {
    @protect()
    async post(ctx: Context): Promise<{ logged_out: boolean }> {
      const userId = asUserId((ctx.state as DemoState).jwt?.['user_id'])
      return { logged_out: userId !== null && refreshTokens.delete(userId) }
    }
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

/**
 * Builds the demo app: the koa-jwt-kit endpoints under `/auth` (login, verify, me, refresh and the
 * `logout` class view), `GET /api/profile` (any logged-in user) and `GET /api/admin` (scope
 * `admin`). Hashing the demo passwords makes it async.
 *
 * @example
 * ```ts
 * const { app } = await createDemoApp({ secret: process.env.JWT_SECRET })
 * app.listen(3000)
 * ```
 */
export async function createDemoApp(options: DemoAppOptions = {}): Promise<DemoApp> {
  const users = await UserStore.create()
  const refreshTokens: RefreshTokenStore = new Map()
  const app = new Koa()

  const jwt = new Initialize<DemoUser>(app, {
    secret: options.secret ?? randomBytes(32).toString('base64url'),
    ...(options.clock ? { clock: options.clock } : {}),

    async authenticate(ctx) {
      const { username, password } = readCredentials(ctx.request.body)
      const user = await users.check(username, password)
      if (!user) throw new AuthenticationFailed('Invalid username or password.')
      return user
    },
    retrieveUser: (_ctx, payload) => users.byId(payload['user_id']),

    // Having these two handlers turns refresh tokens on.
    storeRefreshToken(userId, refreshToken) {
      const id = asUserId(userId)
      if (id !== null) refreshTokens.set(id, refreshToken)
    },
    retrieveRefreshToken(userId) {
      const id = asUserId(userId)
      return id === null ? null : (refreshTokens.get(id) ?? null)
    },

    // Having this handler turns scopes on.
    addScopesToPayload: (user) => [...user.scopes],

    customClaims: [UsernameClaim],
    responsesClass: DemoResponses,
    classViews: [['/logout', logoutEndpoint(refreshTokens)]],
  })

  const api = new Router<DemoState>({ prefix: '/api' })
  api.get('/profile', jwt.protected(), jwt.injectUser(), (ctx) => {
    const user = ctx.state.user
    ctx.body = { profile: user ? { ...publicUser(user), scopes: user.scopes } : null }
  })
  api.get('/admin', jwt.scoped('admin'), (ctx) => {
    ctx.body = { admin: true, users: users.list().map(publicUser) }
  })

  const root = new Router()
  root.get('/', (ctx) => {
    ctx.body = {
      name: 'koa-jwt-kit demo',
      endpoints: [
        'POST /auth',
        'GET /auth/verify',
        'GET /auth/me',
        'POST /auth/refresh',
        'POST /auth/logout',
        'GET /api/profile',
        'GET /api/admin',
      ],
    }
  })

  app.use(root.routes())
  app.use(api.routes())
  app.use(api.allowedMethods())
  return { app, jwt, users, refreshTokens }
}
