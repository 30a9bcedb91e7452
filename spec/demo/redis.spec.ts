import { expect } from 'chai'
import { createClient } from 'redis'
import request from 'supertest'

import {
  createDemoApp,
  DEMO_REDIS_PREFIX,
  redisLocation,
  REFRESH_REUSE_INTERVAL,
  storeNote,
  type DemoApp,
} from '../../demo/app'
import { banner, startDemoServer } from '../../demo/server'
import { MemoryStore, RedisStore, refreshTokenId, type AuditEvent } from '../../source'
import { makeClock } from '../helpers/app'
import { startRedisServer, type RedisServer } from '../helpers/redis-server'

const SECRET = 'demo-spec-secret-long-enough-for-hs256'

type Agent = ReturnType<typeof request>
type Tokens = { access_token: string; refresh_token: string }

const bearer = (token: string): string => `Bearer ${token}`

/** The `jti` claim of an access token. */
function jtiOf(accessToken: string): string {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] as string, 'base64url').toString('utf8'))
  return payload.jti as string
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = []
  for await (const key of keys) all.push(key)
  return all.sort()
}

describe('demo: the token store', () => {
  describe('redisLocation() and storeNote()', () => {
    it('show host:port only, never the user, the password or the database', () => {
      expect(redisLocation('redis://127.0.0.1:6380')).to.equal('127.0.0.1:6380')
      expect(redisLocation('redis://default:s3cret-pass@cache.example:6390/2')).to.equal('cache.example:6390')
      expect(redisLocation('rediss://:s3cret-pass@cache.example')).to.equal('cache.example:6379')
      expect(redisLocation('not a url')).to.equal('an unparsable URL')
      const note = storeNote('redis://user:s3cret-pass@cache.example:6390/2')
      expect(note).to.include('Redis at cache.example:6390').and.include(DEMO_REDIS_PREFIX)
      expect(note).to.not.include('s3cret-pass').and.not.include('user')
      expect(storeNote()).to.include('MemoryStore')
      expect(storeNote('')).to.include('MemoryStore')
    })

    it('the banner names the store when given', () => {
      expect(banner('http://x', 1800, 900, 5, storeNote())).to.include('(MemoryStore)')
      expect(banner('http://x', 1800)).to.not.include('Tokens live in')
    })
  })

  describe('without a Redis URL', () => {
    it('uses a MemoryStore, and GET / says so', async () => {
      for (const redisUrl of [undefined, '']) {
        const demo = await createDemoApp({ secret: SECRET, redisUrl })
        try {
          expect(demo.tokenStore).to.be.instanceOf(MemoryStore)
          expect(demo.storeKind).to.equal('memory')
          const res = await request(demo.app.callback()).get('/').expect(200)
          expect(res.body.store).to.include('MemoryStore')
        } finally {
          await demo.tokenStore.close()
        }
      }
    })
  })

  describe('with a Redis URL (a real redis-server)', function () {
    this.timeout(20_000)

    let redis: RedisServer
    let demo: DemoApp
    let agent: Agent
    let clock: ReturnType<typeof makeClock>
    let heard: AuditEvent[]
    /** A second store with the demo's prefix, to look at what the demo wrote. */
    let inspector: RedisStore

    before(async () => {
      redis = await startRedisServer()
      inspector = new RedisStore({ url: redis.url, prefix: DEMO_REDIS_PREFIX })
    })

    after(async () => {
      await inspector?.close()
      // Kills the server by its PID.
      await redis?.stop()
    })

    beforeEach(async () => {
      // Redis expires keys by the real time (PXAT): the spec clock starts at it.
      clock = makeClock(Math.floor(Date.now() / 1000))
      heard = []
      demo = await createDemoApp({
        secret: SECRET,
        clock: clock.clock,
        redisUrl: redis.url,
        onAudit: (event) => heard.push(event),
      })
      agent = request(demo.app.callback())
    })

    afterEach(async () => {
      await demo.tokenStore.close()
    })

    async function login(): Promise<Tokens> {
      const res = await agent.post('/auth').send({ username: 'alice', password: 'wonderland' })
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      return { access_token: res.body.access_token as string, refresh_token: res.body.refresh_token as string }
    }

    function refreshWith(accessToken: string, refreshToken: string): ReturnType<Agent['post']> {
      return agent.post('/auth/refresh').set('Authorization', bearer(accessToken)).send({ refresh_token: refreshToken })
    }

    function profile(accessToken: string): ReturnType<Agent['get']> {
      return agent.get('/api/profile').set('Authorization', bearer(accessToken))
    }

    it('uses a RedisStore with the demo prefix, and GET / names it (host:port only)', async () => {
      expect(demo.tokenStore).to.be.instanceOf(RedisStore)
      expect((demo.tokenStore as RedisStore).prefix).to.equal(DEMO_REDIS_PREFIX)
      expect(demo.storeKind).to.equal('redis')
      const res = await agent.get('/').expect(200)
      expect(res.body.store).to.equal(
        `Tokens live in Redis at 127.0.0.1:${redis.port} (RedisStore, key prefix ${DEMO_REDIS_PREFIX}).`,
      )
    })

    it('login → protected → refresh (rotated) → reuse detected → logout, with the tokens in Redis', async () => {
      // Login: both tokens are recorded in Redis under the demo prefix.
      const first = await login()
      const keysAfterLogin = await collect(inspector.keys())
      expect(keysAfterLogin).to.include(`token:${jtiOf(first.access_token)}`)
      expect(keysAfterLogin).to.include(`token:${refreshTokenId(first.refresh_token)}`)

      // Protected route.
      const me = await profile(first.access_token).expect(200)
      expect(me.body.profile.username).to.equal('alice')

      // Refresh, rotated: a new refresh token, stored too.
      const rotated = await refreshWith(first.access_token, first.refresh_token)
      expect(rotated.status, JSON.stringify(rotated.body)).to.equal(200)
      const second = { access_token: rotated.body.access_token as string, refresh_token: rotated.body.refresh_token as string }
      expect(second.refresh_token).to.be.a('string').and.not.equal(first.refresh_token)
      expect(await collect(inspector.keys())).to.include(`token:${refreshTokenId(second.refresh_token)}`)
      await profile(second.access_token).expect(200)

      // The retired refresh token, after the reuse interval: reuse detected, the login revoked.
      clock.now += REFRESH_REUSE_INTERVAL
      const reused = await refreshWith(second.access_token, first.refresh_token)
      expect(reused.status, JSON.stringify(reused.body)).to.equal(401)
      expect(reused.body.code).to.equal('ERR_JWT_REFRESH_REUSED')
      expect(heard.map((event) => event.type)).to.deep.equal(['login', 'refresh', 'reuse_detected'])
      const revoked = await profile(second.access_token)
      expect(revoked.status).to.equal(401)
      expect(revoked.body.code).to.equal('ERR_JWT_REVOKED')
      expect((await collect(inspector.keys('family:'))).length).to.be.greaterThan(0)

      // A new login, then logout: its tokens are refused.
      const again = await login()
      await profile(again.access_token).expect(200)
      const out = await agent.post('/auth/logout').set('Authorization', bearer(again.access_token))
      expect(out.status, JSON.stringify(out.body)).to.equal(200)
      expect(out.body).to.deep.equal({ logout: true })
      const afterLogout = await profile(again.access_token)
      expect(afterLogout.status).to.equal(401)
      expect(afterLogout.body.code).to.equal('ERR_JWT_REVOKED')

      // Every key the demo wrote is under its prefix: nothing else is on the server.
      const client = createClient({ url: redis.url })
      await client.connect()
      try {
        const all = await client.keys('*')
        expect(all.length).to.be.greaterThan(0)
        for (const key of all) expect(key.startsWith(DEMO_REDIS_PREFIX), key).to.equal(true)
      } finally {
        await client.close()
      }
    })

    it('startDemoServer() uses REDIS_URL, the banner line names it, and close() closes the store', async () => {
      const env = { PORT: '0', JWT_SECRET: 'a-secret-from-the-environment-of-32-bytes', REDIS_URL: redis.url }
      const started = await startDemoServer(env, () => {}, () => {})
      try {
        expect(started.tokenStore).to.be.instanceOf(RedisStore)
        expect(started.store).to.include(`Redis at 127.0.0.1:${redis.port}`)
        const res = await fetch(`${started.url}/auth`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: 'wonderland' }),
        })
        expect(res.status).to.equal(200)
      } finally {
        await started.close()
        await started.close()
      }
      expect(started.server.listening).to.equal(false)
      let failure: unknown
      try {
        await started.tokenStore.get('token:x')
      } catch (error) {
        failure = error
      }
      expect(String(failure)).to.include('RedisStore is closed')
    })
  })
})
