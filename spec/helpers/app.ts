import Router from '@koa/router'
import Koa from 'koa'
import request from 'supertest'

import { AuthenticationFailed, Initialize, type InitializeOptions } from '../../source'

/** A user of the in-memory test store. */
export interface TestUser {
  user_id: number
  username: string
  password: string
  scopes?: string[]
}

/** Two users every spec can log in with. */
export function makeUsers(): TestUser[] {
  return [
    { user_id: 1, username: 'user1', password: 'abcxyz', scopes: ['user'] },
    { user_id: 2, username: 'user2', password: 'abcxyz', scopes: ['user', 'admin'] },
  ]
}

/** The test secret. */
export const SECRET = 'a-test-secret-that-is-long-enough'

/** A settable clock (seconds) for the `clock` setting. */
export function makeClock(start = 1_700_000_000): { now: number; clock: () => number } {
  const state = { now: start, clock: () => state.now }
  return state
}

/**
 * A sanic-jwt-style authenticate handler over `users`: reads `username`/`password` from the body.
 */
export function authenticateWith(users: TestUser[]) {
  return async (ctx: Koa.Context): Promise<TestUser> => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>
    const { username, password } = body
    if (!username || !password) throw new AuthenticationFailed('Missing username or password.')
    const user = users.find((candidate) => candidate.username === username)
    if (!user) throw new AuthenticationFailed('User not found.')
    if (user.password !== password) throw new AuthenticationFailed('Password is incorrect.')
    return user
  }
}

/** What {@link buildApp} returns. */
export interface TestApp {
  app: Koa
  router: Router
  jwt: Initialize<TestUser>
  users: TestUser[]
  refreshTokens: Map<unknown, string>
  agent: ReturnType<typeof request>
  /** Logs in and returns the response body. */
  login(username?: string, password?: string): Promise<Record<string, string>>
}

/**
 * A Koa app initialised on the app itself with the in-memory users, plus `/protected`,
 * `/scoped/user`, `/scoped/admin` and `/me/injected` routes.
 */
export function buildApp(options: InitializeOptions<TestUser> = {}): TestApp {
  const app = new Koa()
  const users = makeUsers()
  const refreshTokens = new Map<unknown, string>()
  const jwt = new Initialize<TestUser>(app, {
    secret: SECRET,
    authenticate: authenticateWith(users),
    retrieveUser: (_ctx, payload) => users.find((u) => u.user_id === payload.user_id) ?? null,
    ...options,
  })
  const router = new Router()
  router.get('/protected', jwt.protected(), (ctx) => {
    ctx.body = { protected: true }
  })
  router.get('/scoped/user', jwt.scoped('user'), (ctx) => {
    ctx.body = { scoped: 'user' }
  })
  router.get('/scoped/admin', jwt.scoped('admin'), (ctx) => {
    ctx.body = { scoped: 'admin' }
  })
  router.get('/me/injected', jwt.injectUser(), (ctx) => {
    ctx.body = { user: ctx.state.user }
  })
  app.use(router.routes())
  const agent = request(app.callback())
  return {
    app,
    router,
    jwt,
    users,
    refreshTokens,
    agent,
    async login(username = 'user1', password = 'abcxyz') {
      const res = await agent.post('/auth').send({ username, password })
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`)
      return res.body as Record<string, string>
    },
  }
}

/** Refresh-token handlers over a Map. */
export function refreshStore(store: Map<unknown, string>) {
  return {
    storeRefreshToken: (userId: unknown, token: string) => {
      store.set(userId, token)
    },
    retrieveRefreshToken: (userId: unknown) => store.get(userId) ?? null,
  }
}
