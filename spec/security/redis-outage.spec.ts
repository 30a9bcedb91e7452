/**
 * security: RedisStore outage and recovery (issue #21). The checks of store-failures.spec.ts, on a
 * real redis-server instead of a fake store: a real Koa app with a RedisStore (commandTimeout 200
 * ms), the server killed in the middle of a burst of requests, then restarted (empty) on the same
 * port. While it is down every request that needs the store answers 503 StoreUnavailable quickly
 * (never 500, never 401 for a valid token, never a hang); once the client has reconnected the same
 * app instance works again, without a restart.
 */
import Router from '@koa/router'
import { expect } from 'chai'
import Koa from 'koa'
import { connect } from 'node:net'
import request from 'supertest'
import type { Response } from 'supertest'

import { Initialize, RedisStore } from '../../source'
import { authenticateWith, makeUsers, SECRET, type TestUser } from '../helpers/app'
import { bearer, expectError } from '../helpers/initialize'
import { expectNoUnhandledErrors, setCookies, trackUnhandled } from '../helpers/options'
import { type RedisServer, startRedisServer } from '../helpers/redis-server'
import { timed as timedWithin } from '../helpers/timed'

/** Each request answers within this (commandTimeout is 200 ms; a request makes a few calls). */
const ANSWERS_WITHIN_MS = 1000
/** How long the client may take to reconnect to the restarted server. */
const RECONNECT_WITHIN_MS = 5000

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Sends a request and fails when it takes longer than {@link ANSWERS_WITHIN_MS}. */
function timed<T>(send: () => PromiseLike<T>): Promise<T> {
  return timedWithin(send, ANSWERS_WITHIN_MS)
}

/** 503 StoreUnavailable, without any token or the Redis client's own error. */
function expectUnavailable(res: Response, secrets: readonly string[] = []): void {
  expectError(res, 503, 'StoreUnavailable', 'ERR_JWT_STORE_UNAVAILABLE', ['Token store unavailable.'])
  expect(Object.keys(res.body).sort()).to.deep.equal(['code', 'exception', 'reasons'])
  expect(res.body).to.not.have.property('access_token')
  expect(res.body).to.not.have.property('refresh_token')
  const everything = res.text + JSON.stringify(res.headers)
  expect(everything).to.not.include('RedisStore')
  expect(everything).to.not.include('ECONNREFUSED')
  expect(everything).to.not.include('127.0.0.1')
  for (const secret of secrets) expect(everything).to.not.include(secret)
  expect(setCookies(res).filter((cookie) => /^(access_token|refresh_token)=./.test(cookie))).to.deep.equal([])
}

/** Whether something accepts connections on the loopback port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const done = (open: boolean): void => {
      socket.destroy()
      resolve(open)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.setTimeout(200, () => done(false))
  })
}

interface Session {
  access: string
  refresh: string
}

describe('security: RedisStore outage and recovery (#21)', function () {
  this.timeout(20_000)
  afterEach(expectNoUnhandledErrors)

  let server: RedisServer | undefined
  let store: RedisStore | undefined
  let agent: ReturnType<typeof request>
  /** A session logged out (revoked) before the outage. */
  let revoked: Session
  /** A session left alone, used across the outage. */
  let kept: Session

  const login = async (): Promise<Session> => {
    const res = await timed(() => agent.post('/auth').send({ username: 'user1', password: 'abcxyz' }))
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    expect(res.body.access_token).to.be.a('string')
    expect(res.body.refresh_token).to.be.a('string')
    return { access: res.body.access_token, refresh: res.body.refresh_token }
  }
  const protectedWith = (access: string): Promise<Response> =>
    timed(() => agent.get('/protected').set('Authorization', bearer(access)))
  const refreshWith = (session: Session): Promise<Response> =>
    timed(() => agent.post('/auth/refresh').set('Authorization', bearer(session.access)).send({ refresh_token: session.refresh }))

  /**
   * Kills the server by PID (SIGKILL) and waits until its port refuses connections. Not
   * `server.stop()`: the helper refuses `restart()` after `stop()`.
   */
  const killServer = async (): Promise<void> => {
    process.kill(server!.pid, 'SIGKILL')
    const deadline = Date.now() + 2000
    while (Date.now() < deadline && (await portOpen(server!.port))) await sleep(10)
  }

  before(async () => {
    server = await startRedisServer()
    store = new RedisStore({ url: server.url, prefix: `spec:redis-outage:${process.pid}:${Date.now()}:`, commandTimeout: 200 })
    const app = new Koa()
    const users = makeUsers()
    const jwt = new Initialize<TestUser>(app, {
      secret: SECRET,
      authenticate: authenticateWith(users),
      retrieveUser: (_ctx, payload) => users.find((u) => u.user_id === payload.user_id) ?? null,
      refreshTokenEnabled: true,
      refreshRotation: true,
      tokenStore: store,
    })
    const router = new Router()
    router.get('/protected', jwt.protected(), (ctx) => {
      ctx.body = { protected: true }
    })
    app.use(router.routes())
    trackUnhandled(app)
    agent = request(app.callback())
  })

  after(async () => {
    // Killed by PID (SIGKILL) whatever happened; the store closes its own client.
    await store?.close()
    await server?.stop()
  })

  describe('with the server up', () => {
    it('logs in, answers the protected route, refreshes (rotating) and logs out', async () => {
      const session = await login()
      expect((await protectedWith(session.access)).status).to.equal(200)
      const refreshed = await refreshWith(session)
      expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200)
      expect(refreshed.body.refresh_token).to.be.a('string').and.not.equal(session.refresh)
      const next = { access: refreshed.body.access_token as string, refresh: refreshed.body.refresh_token as string }
      expect((await protectedWith(next.access)).status).to.equal(200)
      // Rotation: the presented refresh token is retired.
      const reused = await refreshWith(session)
      expect(reused.status, JSON.stringify(reused.body)).to.equal(401)
      // Reuse detection: the replay of a retired refresh token revokes its whole login family.
      expectError(await protectedWith(next.access), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
      const other = await login()
      const logout = await timed(() => agent.post('/auth/logout').set('Authorization', bearer(other.access)))
      expect(logout.status, JSON.stringify(logout.body)).to.equal(200)
      expectError(await protectedWith(other.access), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
      revoked = other
      kept = await login()
    })
  })

  describe('with the server killed in the middle of a burst of requests', () => {
    it('answers every request 200 (finished before) or 503 StoreUnavailable, each within 1 s', async () => {
      // Each refresh uses a session of its own (two refreshes of one token would race the rotation).
      const sessions = await Promise.all(Array.from({ length: 8 }, () => login()))
      const sends: Array<() => Promise<Response>> = []
      for (let i = 0; i < 40; i++) {
        const kind = i % 4
        if (kind === 0) sends.push(() => agent.post('/auth').send({ username: 'user1', password: 'abcxyz' }).then((r) => r))
        else if (kind === 1 && sessions.length > 0) {
          const session = sessions.pop() as Session
          sends.push(() => agent.post('/auth/refresh').set('Authorization', bearer(session.access)).send({ refresh_token: session.refresh }).then((r) => r))
        } else sends.push(() => agent.get('/protected').set('Authorization', bearer(kept.access)).then((r) => r))
      }
      let answered!: () => void
      const firstAnswer = new Promise<void>((resolve) => (answered = resolve))
      const burst = Promise.all(
        sends.map(async (send, n) => {
          await sleep(n * 5) // spread over ~200 ms: some finish before the kill, some start after it
          const res = await timed(send)
          answered()
          return res
        }),
      )
      // Killed once a first request has been answered (whatever the machine's speed), mid-burst.
      await firstAnswer
      await killServer()
      const answers = await burst
      const counts: Record<number, number> = {}
      for (const res of answers) {
        counts[res.status] = (counts[res.status] ?? 0) + 1
        if (res.status === 200) continue
        expectUnavailable(res, [kept.access])
      }
      // The kill landed mid-burst: the first requests were answered, the later ones refused.
      expect(counts[200] ?? 0, JSON.stringify(counts)).to.be.above(0)
      expect(counts[503] ?? 0, JSON.stringify(counts)).to.be.above(0)
      expect(Object.keys(counts).sort(), JSON.stringify(counts)).to.satisfy((statuses: string[]) =>
        statuses.every((status) => status === '200' || status === '503'),
      )
    })

    it('answers a login 503 with no token in the body (nor in a cookie)', async () => {
      expectUnavailable(await timed(() => agent.post('/auth').send({ username: 'user1', password: 'abcxyz' })))
    })

    it('answers the protected route with a valid token 503 (never 200 unchecked, never 401)', async () => {
      expectUnavailable(await protectedWith(kept.access), [kept.access])
    })

    it('answers a refresh and a logout 503', async () => {
      expectUnavailable(await refreshWith(kept), [kept.access, kept.refresh])
      expectUnavailable(await timed(() => agent.post('/auth/logout').set('Authorization', bearer(kept.access))), [kept.access])
    })

    it('answers many simultaneous requests 503, none hanging', async () => {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          timed(() =>
            i % 2 === 0
              ? agent.get('/protected').set('Authorization', bearer(kept.access))
              : agent.post('/auth').send({ username: 'user1', password: 'abcxyz' }),
          ),
        ),
      )
      for (const res of answers) expectUnavailable(res, [kept.access])
    })

    it('still answers 401 for a request without a token (no store call needed)', async () => {
      expectError(await timed(() => agent.get('/protected')), 401, 'Unauthorized', 'ERR_JWT_MISSING_HEADER')
    })
  })

  describe('after restart() (a new, empty server on the same port)', () => {
    before(async () => {
      await server!.restart()
    })

    it('works again once the client has reconnected, without restarting the app', async () => {
      const deadline = Date.now() + RECONNECT_WITHIN_MS
      let last: Response | undefined
      while (Date.now() < deadline) {
        last = await protectedWith(kept.access)
        if (last.status !== 503) break
        expectUnavailable(last, [kept.access])
        await sleep(50)
      }
      // The empty server knows nothing of the token: it is accepted as unknown (not revoked).
      expect(last?.status, JSON.stringify(last?.body)).to.equal(200)
      const session = await login()
      expect((await protectedWith(session.access)).status).to.equal(200)
      const refreshed = await refreshWith(session)
      expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200)
      expect(refreshed.body.refresh_token).to.be.a('string').and.not.equal(session.refresh)
      expect((await protectedWith(refreshed.body.access_token)).status).to.equal(200)
      const logout = await timed(() => agent.post('/auth/logout').set('Authorization', bearer(refreshed.body.access_token)))
      expect(logout.status, JSON.stringify(logout.body)).to.equal(200)
      expectError(await protectedWith(refreshed.body.access_token), 401, 'RevokedToken', 'ERR_JWT_REVOKED')
      // Rotation works again: the retired refresh token is refused.
      expect((await refreshWith(session)).status).to.equal(401)
    })

    // Observed: an access token issued before the outage is accepted (unknown to the empty server,
    // so not revoked: see above), but its refresh token is not: a refresh token must be on record
    // in the store, and the empty server has none, so the user logs in again (fail closed).
    it('refuses the refresh token of a session issued before the outage (401: log in again)', async () => {
      expectError(await refreshWith(kept), 401, 'AuthenticationFailed', 'ERR_JWT_AUTHENTICATION_FAILED')
    })

    // Why Redis persistence (RDB/AOF, or a replica) matters: the revocation was only in the
    // killed server's memory, and the restarted server is empty, so a token logged out before the
    // outage is accepted again until it expires.
    it('accepts again a token revoked before the restart: the revocation was lost with the empty server', async () => {
      const res = await protectedWith(revoked.access)
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
    })
  })
})
