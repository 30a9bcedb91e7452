'use strict'
/**
 * The app of every benchmark scenario, built by kind and algorithm. The HTTP servers
 * (bench/servers/server.js) listen with these apps and the micro-benchmark drives the very same
 * apps without sockets, so both measure the same code.
 * koa-jwt-kit is loaded from bench/results/dist/ (bench/run.js builds it first).
 */
const { createPrivateKey, createPublicKey, createSecretKey } = require('node:crypto')

const Router = require('@koa/router')
const Koa = require('koa')

const { DIST, REVOKED_JTI, SCOPES, keyMaterial } = require('./common')

/** The handler every route ends with: the same work everywhere. */
function hello(ctx) {
  ctx.body = { ok: true }
}

function unauthorized(ctx) {
  ctx.status = 401
  ctx.body = { error: 'Unauthorized' }
}

/** Reads `Authorization: Bearer <token>`; undefined when absent or of another scheme. */
function bearer(ctx) {
  const header = ctx.headers.authorization
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined
}

/** Middleware around a synchronous `verify(token) → payload` that throws on failure. */
function verifying(verify) {
  return function verifyMiddleware(ctx, next) {
    const token = bearer(ctx)
    if (token === undefined) return unauthorized(ctx)
    try {
      ctx.state.jwt = verify(token)
    } catch {
      return unauthorized(ctx)
    }
    return next()
  }
}

/**
 * The RedisStore of a Redis scenario: the bench's redis-server (BENCH_REDIS_URL) under a prefix of
 * this server's own (BENCH_REDIS_PREFIX; the workers of one cluster share it). bench/run.js sets both.
 */
function redisStore() {
  const url = process.env.BENCH_REDIS_URL
  const prefix = process.env.BENCH_REDIS_PREFIX
  if (!url || !prefix) {
    throw new Error('the Redis scenarios need BENCH_REDIS_URL and BENCH_REDIS_PREFIX (bench/run.js sets them)')
  }
  const { RedisStore } = require(DIST)
  return new RedisStore({ url, prefix })
}

/** Waits until the instance's revocation mirror is live (subscribed and loaded): 10 s at most. */
async function mirrorLive(jwt, notes) {
  const deadline = Date.now() + 10_000
  while (jwt.tokens.mirror !== 'live') {
    if (Date.now() > deadline) throw new Error(`the revocation mirror is not live after 10 s (${jwt.tokens.mirror})`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  notes.push('revocation mirror live before the server listened')
}

/**
 * Records the bench token (signed by the harness) as the instance records the tokens it issues, so
 * that a lookup reads a real record and its user's cut-off key; records and revokes REVOKED_JTI,
 * which the harness's check sends and expects refused.
 */
async function recordBenchToken(jwt, token, notes) {
  const { decodeUnverified } = require(DIST)
  const payload = decodeUnverified(token)
  await jwt.tokens.recordAccess(payload, undefined)
  await jwt.tokens.recordAccess({ ...payload, jti: REVOKED_JTI }, undefined)
  const revoked = await jwt.tokens.revoke(REVOKED_JTI)
  const record = await jwt.tokens.get(payload.jti)
  notes.push(
    `revocation: bench token ${record && !record.revoked ? 'recorded, not revoked' : 'NOT recorded'}; ` +
      `token id ${REVOKED_JTI} ${revoked ? 'revoked' : 'NOT revoked'}`,
  )
}

/**
 * Builds the app of one scenario.
 *
 * @param {string} kind - the scenario kind (see bench/lib/scenarios.js).
 * @param {string} alg - HS256, RS256 or ES256.
 * @param {{ notes: string[] }} [report] - receives notes on what the app found (warnings, probes).
 * @returns {{ app: import('koa'), probes: ((token: string) => Promise<void>)[] }} the app and the
 *   checks to run (with the scenario's token) before it serves requests.
 */
function buildApp(kind, alg = 'HS256', report = { notes: [] }) {
  const { notes } = report
  const probes = []
  const material = keyMaterial(alg)
  const symmetric = material.secret !== undefined

  function kitInstance(app, extra = {}) {
    const { Initialize } = require(DIST)
    const keys = symmetric
      ? { secret: material.secret }
      : { secret: material.publicPem, privateKey: material.privatePem }
    return new Initialize(app, {
      ...keys,
      algorithm: alg,
      authenticate: () => ({ user_id: 1, scopes: [...SCOPES] }),
      addScopesToPayload: (user) => user.scopes,
      ...extra,
    })
  }

  const app = new Koa()
  const router = new Router()
  switch (kind) {
    case 'koa-raw':
      router.get('/hello', hello)
      break
    case 'passthrough':
      router.get(
        '/hello',
        function passthrough(ctx, next) {
          const token = bearer(ctx)
          if (token === undefined) return unauthorized(ctx)
          ctx.state.token = token
          return next()
        },
        hello,
      )
      break
    case 'kit-unguarded':
      kitInstance(app)
      router.get('/hello', hello)
      break
    case 'koa-jwt': {
      const koaJwt = require('koa-jwt')
      const secret = symmetric ? material.secret : material.publicPem
      router.get('/hello', koaJwt({ secret, algorithms: [alg] }), hello)
      break
    }
    case 'jsonwebtoken-keyobject': {
      const jsonwebtoken = require('jsonwebtoken')
      const key = symmetric
        ? createSecretKey(Buffer.from(material.secret, 'utf8'))
        : createPublicKey(material.publicPem)
      const options = Object.freeze({ algorithms: Object.freeze([alg]) })
      router.get('/hello', verifying((token) => jsonwebtoken.verify(token, key, options)), hello)
      break
    }
    case 'fast-jwt':
    case 'fast-jwt-cache': {
      const { createVerifier } = require('fast-jwt')
      const verify = createVerifier({
        key: symmetric ? material.secret : material.publicPem,
        algorithms: [alg],
        cache: kind === 'fast-jwt-cache',
      })
      router.get('/hello', verifying(verify), hello)
      break
    }
    case 'kit-protected':
      router.get('/hello', kitInstance(app).protected(), hello)
      break
    case 'kit-protected-cache': {
      const warnings = notes.length
      const jwt = kitInstance(app, { verifyCache: { max: 1000 } })
      probes.push(async (token) => {
        // Accepted = no unknown-option warning. Active = verifying the bench token twice gives
        // back the very same payload object (a cache hit), which an uncached verify never does.
        const accepted = notes.length === warnings
        const first = await jwt.auth.verifyToken(token)
        const second = await jwt.auth.verifyToken(token)
        notes.push(
          `verifyCache ${accepted ? 'accepted' : 'NOT accepted'} by Initialize; ` +
            (first === second
              ? 'cache hit observed (same payload object on the second verification)'
              : 'no cache hit observed: the row may measure the uncached path'),
        )
      })
      router.get('/hello', jwt.protected(), hello)
      break
    }
    case 'kit-scoped':
      router.get('/hello', kitInstance(app).scoped(['user:read']), hello)
      break
    case 'kit-protected-fresh':
      router.get('/hello', kitInstance(app).protected({ fresh: true }), hello)
      break
    case 'kit-protected-revocation': {
      const jwt = kitInstance(app, { revocationEnabled: true })
      probes.push((token) => recordBenchToken(jwt, token, notes))
      router.get('/hello', jwt.protected(), hello)
      break
    }
    case 'kit-protected-redis': {
      // The mirror must be live before READY: the row measures the mirror, not the start-up lookups.
      const jwt = kitInstance(app, { tokenStore: redisStore() })
      probes.push(() => mirrorLive(jwt, notes))
      probes.push((token) => recordBenchToken(jwt, token, notes))
      router.get('/hello', jwt.protected(), hello)
      break
    }
    case 'kit-protected-redis-lookup': {
      const jwt = kitInstance(app, { tokenStore: redisStore(), revocationMirror: false })
      probes.push(async (token) => {
        if (jwt.tokens.mirror !== 'off') throw new Error(`revocationMirror: false, yet the mirror is ${jwt.tokens.mirror}`)
        notes.push('revocation mirror off: every request reads Redis')
        await recordBenchToken(jwt, token, notes)
      })
      router.get('/hello', jwt.protected(), hello)
      break
    }
    case 'kit-auth-rotation-memory':
    case 'kit-auth-rotation-redis':
    case 'kit-refresh-memory':
    case 'kit-refresh-redis': {
      // POST /auth and /auth/refresh are mounted by Initialize itself; refresh tokens in the store.
      const onRedis = kind.endsWith('-redis')
      const jwt = kitInstance(app, {
        ...(onRedis ? { tokenStore: redisStore() } : { revocationEnabled: true }),
        refreshTokenEnabled: true,
        refreshRotation: true,
        retrieveUser: (_ctx, payload) => ({ user_id: payload.user_id, scopes: [...SCOPES] }),
      })
      if (onRedis) probes.push(() => mirrorLive(jwt, notes))
      break
    }
    case 'koa-raw-post':
      router.post('/auth', hello)
      break
    case 'login-handwritten': {
      // What a developer writes by hand on the same stack: koa-body, a trivial credential check,
      // jsonwebtoken.sign with a prepared KeyObject and frozen options, the claims POST /auth issues
      // with the default settings ({ user_id, exp, scopes }: claimIat is off by default).
      const { koaBody } = require('koa-body')
      const jsonwebtoken = require('jsonwebtoken')
      const key = symmetric ? createSecretKey(Buffer.from(material.secret, 'utf8')) : createPrivateKey(material.privatePem)
      const options = Object.freeze({ algorithm: alg, noTimestamp: true })
      router.post('/auth', koaBody(), function login(ctx) {
        const { username, password } = ctx.request.body ?? {}
        if (typeof username !== 'string' || typeof password !== 'string') return unauthorized(ctx)
        const user = { user_id: 1, scopes: [...SCOPES] }
        const now = Math.floor(Date.now() / 1000)
        ctx.body = {
          access_token: jsonwebtoken.sign({ user_id: user.user_id, exp: now + 1800, scopes: user.scopes }, key, options),
        }
      })
      break
    }
    case 'login-floor': {
      // No body parser and no JWT library: a lower bound, not something to ship (no charset,
      // encoding or content-type handling). HS256 only.
      if (!symmetric) throw new Error('login-floor runs with HS256 only')
      const { createHmac } = require('node:crypto')
      const key = createSecretKey(Buffer.from(material.secret, 'utf8'))
      const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
      const readJson = (req) =>
        new Promise((resolve, reject) => {
          const chunks = []
          let size = 0
          req.on('data', (chunk) => {
            size += chunk.length
            if (size > 100 * 1024) req.destroy(new Error('too large'))
            else chunks.push(chunk)
          })
          req.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')))
            } catch (error) {
              reject(error)
            }
          })
          req.on('error', reject)
        })
      router.post('/auth', async function login(ctx) {
        const { username, password } = (await readJson(ctx.req)) ?? {}
        if (typeof username !== 'string' || typeof password !== 'string') return unauthorized(ctx)
        const user = { user_id: 1, scopes: [...SCOPES] }
        const claims = { user_id: user.user_id, exp: Math.floor(Date.now() / 1000) + 1800, scopes: user.scopes }
        const input = `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
        ctx.body = { access_token: `${input}.${createHmac('sha256', key).update(input).digest('base64url')}` }
      })
      break
    }
    case 'kit-auth':
      // POST /auth is mounted by Initialize itself.
      kitInstance(app)
      break
    default:
      throw new Error(`unknown scenario kind "${kind}"`)
  }
  app.use(router.routes())
  return { app, probes }
}


module.exports = { buildApp }
