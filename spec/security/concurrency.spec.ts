import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

import { expect } from 'chai'

import { buildApp, makeClock, type TestApp } from '../helpers/app'
import { captureStderr, expectNothingSensitive, forge, logs, parts, withPayload } from '../helpers/attacks'

const TOTAL = 2_000
const POOL = 50
const USERS = 20

/** A small deterministic PRNG (mulberry32), so a failing mix can be replayed. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Runs `fn` over `items` with at most `size` calls in flight. */
async function pool<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) {
        const item = items[next++]!
        await fn(item)
      }
    }),
  )
}

interface Case {
  label: string
  path: string
  headers: Record<string, string>
  status: number
  userId?: number
  code?: string
}

describe('security: concurrent requests and per-route overrides (no state shared between requests)', function () {
  this.timeout(30_000)
  captureStderr()

  const clock = makeClock()
  let t: TestApp
  let server: Server
  let base: string
  const valid = new Map<number, string>()
  const expired = new Map<number, string>()

  before(async () => {
    t = buildApp({ clock: clock.clock })
    const echo = (ctx: { body: unknown; state: { jwt?: Record<string, unknown> } }) => {
      ctx.body = { user_id: ctx.state.jwt?.user_id }
    }
    t.router.get('/who', t.jwt.protected(), echo)
    t.router.get('/who-x', t.jwt.protected({ authorizationHeader: 'x-token', authorizationHeaderPrefix: '' }), echo)
    t.router.get('/who-debug', t.jwt.protected({ debug: () => true }), echo)
    t.router.get('/who-noexp', t.jwt.protected({ verifyExp: false }), echo)
    for (let id = 1; id <= USERS; id++) {
      valid.set(id, await t.jwt.auth.generateAccessToken({ user_id: id, username: `u${id}`, password: '' }))
      expired.set(id, forge({ user_id: id, exp: clock.now - 3_600 }))
    }
    server = t.app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  after(async () => {
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  })

  /** One request of the mix: what is sent and what must come back. */
  function makeCase(rand: () => number): Case {
    const id = 1 + Math.floor(rand() * USERS)
    const token = valid.get(id)!
    const forged = withPayload(token, { ...parts(token).payload, user_id: (id % USERS) + 1 })
    const old = expired.get(id)!
    const bearer = (x: string) => ({ Authorization: `Bearer ${x}` })
    const xToken = (x: string) => ({ 'X-Token': x })
    const ok = (label: string, path: string, headers: Record<string, string>): Case =>
      ({ label, path, headers, status: 200, userId: id })
    const ko = (label: string, path: string, headers: Record<string, string>, status: number, code: string): Case =>
      ({ label, path, headers, status, code })
    const choices: (() => Case)[] = [
      () => ok('valid /who', '/who', bearer(token)),
      () => ok('valid /who-x', '/who-x', xToken(token)),
      () => ok('valid /who-debug', '/who-debug', bearer(token)),
      () => ok('expired /who-noexp', '/who-noexp', bearer(old)),
      () => ko('forged /who', '/who', bearer(forged), 401, 'ERR_JWT_INVALID_TOKEN'),
      () => ko('forged /who-x', '/who-x', xToken(forged), 401, 'ERR_JWT_INVALID_TOKEN'),
      () => ko('forged /who-debug', '/who-debug', bearer(forged), 400, 'ERR_JWT_INVALID_SIGNATURE'),
      () => ko('garbage /who', '/who', bearer('not.a.jwt'), 401, 'ERR_JWT_INVALID_TOKEN'),
      () => ko('expired /who', '/who', bearer(old), 401, 'ERR_JWT_EXPIRED'),
      () => ko('expired /who-x', '/who-x', xToken(old), 401, 'ERR_JWT_EXPIRED'),
      () => ko('header of /who on /who-x', '/who-x', bearer(token), 401, 'ERR_JWT_MISSING_HEADER'),
      () => ko('header of /who-x on /who', '/who', xToken(token), 401, 'ERR_JWT_MISSING_HEADER'),
      () => ko('no token /who-noexp', '/who-noexp', {}, 401, 'ERR_JWT_MISSING_HEADER'),
    ]
    return choices[Math.floor(rand() * choices.length)]!()
  }

  it('accepts each valid token on both routes (control)', async () => {
    for (const [id, token] of valid) {
      const a = await fetch(`${base}/who`, { headers: { Authorization: `Bearer ${token}` } })
      expect(await a.json()).to.deep.equal({ user_id: id })
      const b = await fetch(`${base}/who-x`, { headers: { 'X-Token': token } })
      expect(await b.json()).to.deep.equal({ user_id: id })
    }
  })

  it(`answers ${TOTAL} mixed requests, ${POOL} at a time, each with its own user or its own failure and no 5xx`, async () => {
    const rand = random(20_240_601)
    const cases = Array.from({ length: TOTAL }, () => makeCase(rand))
    const problems: string[] = []
    const statuses = new Map<number, number>()
    const started = Date.now()
    await pool(cases, POOL, async (c) => {
      const res = await fetch(base + c.path, { headers: c.headers })
      const text = await res.text()
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      let body: Record<string, unknown> = {}
      try {
        body = JSON.parse(text) as Record<string, unknown>
      } catch {
        problems.push(`${c.label}: non-JSON body ${text.slice(0, 80)}`)
      }
      if (res.status !== c.status) {
        problems.push(`${c.label}: ${res.status} ${text.slice(0, 200)} (expected ${c.status})`)
      } else if (c.userId !== undefined && body.user_id !== c.userId) {
        problems.push(`${c.label}: user ${String(body.user_id)} answered for user ${c.userId}`)
      } else if (c.code !== undefined && body.code !== c.code) {
        problems.push(`${c.label}: code ${String(body.code)} (expected ${c.code})`)
      }
      try {
        const presented = Object.values(c.headers).map((h) => h.replace(/^Bearer /, ''))
        expectNothingSensitive(text + JSON.stringify([...res.headers]), presented)
      } catch (error) {
        problems.push(`${c.label}: ${(error as Error).message}`)
      }
    })
    expect(problems.slice(0, 10), `${problems.length} problems`).to.deep.equal([])
    expect([...statuses.keys()].filter((s) => s >= 500)).to.deep.equal([])
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).to.equal(TOTAL)
    expect(Date.now() - started).to.be.below(25_000)
  })

  describe('stderr', () => {
    it('holds no key material, presented token, engine wording or stack trace', () => {
      logs.expectSuiteClean()
    })
  })
})
