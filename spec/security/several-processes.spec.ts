/**
 * Three app processes on one real redis-server (issue #21): a revocation made in one is refused by
 * the others within 100 ms (their local mirrors learn it through Redis pub/sub), a revocation made
 * while a process's subscription is down is refused too (it asks Redis meanwhile, then loads
 * again), and one refresh token sent to the three at once has exactly one winner.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'

import { expect } from 'chai'
import request from 'supertest'

import { startRedisServer, type RedisServer } from '../helpers/redis-server'

const FIXTURE = join(__dirname, '..', 'fixtures', 'shared-redis-app.ts')
const REUSE_INTERVAL = 5

interface AppProcess {
  readonly child: ChildProcess
  readonly url: string
}

function startApp(redisUrl: string, prefix: string): Promise<AppProcess> {
  const child = fork(FIXTURE, [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, REDIS_URL: redisUrl, STORE_PREFIX: prefix, REUSE_INTERVAL: String(REUSE_INTERVAL) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  return new Promise((resolve, reject) => {
    child.once('message', (message) => {
      const port = (message as { port?: unknown }).port
      if (typeof port === 'number') resolve({ child, url: `http://127.0.0.1:${port}` })
      else reject(new Error(`unexpected message ${JSON.stringify(message)}`))
    })
    child.once('exit', (code) => reject(new Error(`app process exited (${code}): ${stderr}`)))
  })
}

function stopApp(app: AppProcess): Promise<void> {
  const { child } = app
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.send('close')
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function mirrorOf(app: AppProcess): Promise<string> {
  const response = await request(app.url).get('/mirror')
  return (response.body as { mirror: string }).mirror
}

async function untilMirrorsLive(apps: readonly AppProcess[], within = 10_000): Promise<void> {
  const deadline = Date.now() + within
  for (;;) {
    const states = await Promise.all(apps.map(mirrorOf))
    if (states.every((state) => state === 'live')) return
    if (Date.now() > deadline) throw new Error(`mirrors not live: ${states.join(', ')}`)
    await sleep(20)
  }
}

async function login(app: AppProcess, username: string): Promise<{ access: string; refresh: string }> {
  const response = await request(app.url).post('/auth').send({ username }).expect(200)
  return { access: response.body.access_token as string, refresh: response.body.refresh_token as string }
}

const get = (app: AppProcess, token: string): request.Test =>
  request(app.url).get('/private').set('Authorization', `Bearer ${token}`)

/** Asks `app` until the token is refused; the milliseconds it took, or a failure after `limit`. */
async function refusedWithin(app: AppProcess, token: string, started: number, limit: number): Promise<number> {
  for (;;) {
    const response = await get(app, token)
    const elapsed = performance.now() - started
    if (response.status === 401) {
      expect(response.body).to.include({ exception: 'RevokedToken', code: 'ERR_JWT_REVOKED' })
      return elapsed
    }
    expect(response.status, JSON.stringify(response.body)).to.equal(200)
    if (elapsed > limit) throw new Error(`${app.url} still accepted the revoked token after ${Math.round(elapsed)} ms`)
  }
}

describe('several app processes on one Redis (RedisStore, revocation mirrors)', function () {
  // Three ts-node processes start in a few seconds on a loaded machine.
  this.timeout(60_000)

  let redis: RedisServer
  let apps: AppProcess[] = []

  before(async function () {
    redis = await startRedisServer()
    apps = await Promise.all([0, 1, 2].map(() => startApp(redis.url, 'several-processes:')))
    await untilMirrorsLive(apps)
  })

  after(async function () {
    await Promise.all(apps.map(stopApp))
    await redis?.stop()
  })

  it('three processes, each with a live mirror', async function () {
    const pids = await Promise.all(apps.map(async (app) => (await request(app.url).get('/mirror')).body.pid))
    expect(new Set(pids).size).to.equal(3)
  })

  it('a token issued by one process is accepted by the others', async function () {
    const [a, b, c] = apps as [AppProcess, AppProcess, AppProcess]
    const { access } = await login(a, 'ada')
    for (const app of [a, b, c]) await get(app, access).expect(200)
  })

  it('a logout in one process is refused by the two others within 100 ms', async function () {
    const [a, b, c] = apps as [AppProcess, AppProcess, AppProcess]
    const { access } = await login(b, 'grace')
    await Promise.all([get(a, access).expect(200), get(c, access).expect(200)])
    await request(a.url).post('/auth/logout').set('Authorization', `Bearer ${access}`).expect(200)
    const started = performance.now()
    const took = await Promise.all([refusedWithin(b, access, started, 100), refusedWithin(c, access, started, 100)])
    expect(Math.max(...took)).to.be.at.most(100)
  })

  it('"log out everywhere" in one process refuses every session of the user in the others within 100 ms', async function () {
    const [a, b, c] = apps as [AppProcess, AppProcess, AppProcess]
    const first = await login(a, 'linus')
    const second = await login(b, 'linus')
    const other = await login(b, 'someone-else')
    await request(c.url).post('/auth/logout').set('Authorization', `Bearer ${second.access}`).send({ everywhere: true }).expect(200)
    const started = performance.now()
    const took = await Promise.all([
      refusedWithin(a, first.access, started, 100),
      refusedWithin(b, first.access, started, 100),
      refusedWithin(a, second.access, started, 100),
    ])
    expect(Math.max(...took)).to.be.at.most(100)
    // Another user is not touched; a new login of the same user is accepted everywhere.
    await get(a, other.access).expect(200)
    const again = await login(c, 'linus')
    await Promise.all(apps.map((app) => get(app, again.access).expect(200)))
  })

  it('a revocation made while a process has lost its subscription is refused by it too', async function () {
    const [a, b] = apps as [AppProcess, AppProcess]
    const { access } = await login(a, 'margaret')
    await get(b, access).expect(200)
    // Drop every subscribed connection: the mirrors stop answering until they have loaded again.
    await killPubSubClients(redis.port)
    await request(a.url).post('/auth/logout').set('Authorization', `Bearer ${access}`).expect(200)
    const started = performance.now()
    await refusedWithin(b, access, started, 100)
    await untilMirrorsLive(apps)
    await get(b, access).expect(401)
  })

  it('one refresh token sent to the three processes at once: exactly one new refresh token', async function () {
    const [a] = apps as [AppProcess, AppProcess, AppProcess]
    for (let round = 0; round < 5; round++) {
      const { access, refresh } = await login(a, `race-${round}`)
      const answers = await Promise.all(
        apps.map((app) =>
          request(app.url)
            .post('/auth/refresh')
            .set('Authorization', `Bearer ${access}`)
            .send({ refresh_token: refresh }),
        ),
      )
      // Within refreshReuseInterval the losers get an access token without a new refresh token.
      for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).to.equal(200)
      const winners = answers.filter((answer) => typeof answer.body.refresh_token === 'string')
      expect(winners, `round ${round}`).to.have.length(1)
      // The winner's refresh token works once, on any process.
      const winner = winners[0]!.body as { access_token: string; refresh_token: string }
      await request(apps[2]!.url)
        .post('/auth/refresh')
        .set('Authorization', `Bearer ${winner.access_token}`)
        .send({ refresh_token: winner.refresh_token })
        .expect(200)
    }
  })
})

/** CLIENT KILL TYPE pubsub over a raw connection: every subscribed client loses its connection. */
async function killPubSubClients(port: number): Promise<void> {
  const { createConnection } = await import('node:net')
  await new Promise<void>((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1', () => socket.write('CLIENT KILL TYPE pubsub\r\n'))
    socket.once('data', (chunk) => {
      socket.destroy()
      if (chunk.toString('utf8').startsWith(':')) resolve()
      else reject(new Error(`CLIENT KILL answered ${chunk.toString('utf8').trim()}`))
    })
    socket.once('error', reject)
  })
}
