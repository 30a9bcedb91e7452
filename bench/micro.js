#!/usr/bin/env node
'use strict'
/**
 * Micro-benchmark without HTTP: sign and verify operations per second for HS256, RS256 and ES256.
 *
 *   node bench/micro.js            (builds bench/results/dist/ when stale, prints progress and the table)
 *   node bench/run.js --micro      (the same, pinned to one CPU, table saved to bench/results/micro.md)
 *
 * Contenders: koa-jwt-kit's core (signToken, verifySignature + checkClaims, keys from compileKeys),
 * jsonwebtoken with a string secret / PEM text, jsonwebtoken with a KeyObject, fast-jwt (sync),
 * and fast-jwt with its cache (every call a cache hit). Each case: warm-up, then several timed
 * rounds (process.hrtime.bigint), the cases of one operation interleaved round by round.
 *
 * Environment: BENCH_QUICK=1 (short), BENCH_MICRO_MS (ms per round), BENCH_MICRO_ROUNDS.
 */
const {
  DIST,
  ensureBuild,
  formatInt,
  keyMaterial,
  keyObjects,
  markdownTable,
  mean,
  typicalPayload,
} = require('./lib/common')
const { LOGIN_BODY, POST_KINDS } = require('./lib/scenarios')

const QUICK = process.env.BENCH_QUICK === '1'
const ROUND_MS = Number(process.env.BENCH_MICRO_MS) || (QUICK ? 60 : 400)
const ROUNDS = Math.max(2, Number(process.env.BENCH_MICRO_ROUNDS) || (QUICK ? 2 : 5))
const WARMUP_MS = QUICK ? 30 : 300
const ALGS = ['HS256', 'RS256', 'ES256']

const log = (...parts) => console.error('[micro]', ...parts)

let sink = 0

/** Runs `fn` in batches until `ms` have passed. @returns `{ ops, ns }` */
function timed(fn, ms, batch) {
  const start = process.hrtime.bigint()
  const end = start + BigInt(Math.round(ms * 1e6))
  let ops = 0
  let now
  do {
    for (let i = 0; i < batch; i++) sink += fn().length ?? 1
    ops += batch
    now = process.hrtime.bigint()
  } while (now < end)
  return { ops, ns: Number(now - start) }
}

/** A batch size that takes about 1 ms, found during warm-up. */
function calibrate(fn) {
  let batch = 1
  for (;;) {
    const { ns } = timed(fn, 0, batch)
    if (ns >= 1e6 || batch >= 1 << 16) return batch
    batch *= 2
  }
}

function cases(alg) {
  const kit = require(DIST)
  const jsonwebtoken = require('jsonwebtoken')
  const { createSigner, createVerifier } = require('fast-jwt')
  const material = keyMaterial(alg)
  const symmetric = material.secret !== undefined
  const { signKey, verifyKey } = keyObjects(alg)
  const compiled = symmetric
    ? kit.compileKeys(alg, material.secret, null)
    : kit.compileKeys(alg, material.publicPem, material.privatePem)
  const signText = symmetric ? material.secret : material.privatePem
  const verifyText = symmetric ? material.secret : material.publicPem
  const payload = typicalPayload()
  const token = jsonwebtoken.sign(payload, signKey, { algorithm: alg })
  const signOptions = Object.freeze({ algorithm: alg })
  const verifyOptions = Object.freeze({ algorithms: Object.freeze([alg]) })
  const fastSign = createSigner({ key: signText, algorithm: alg })
  const fastVerify = createVerifier({ key: verifyText, algorithms: [alg] })
  const fastVerifyCached = createVerifier({ key: verifyText, algorithms: [alg], cache: true })
  const wrap = (value) => (typeof value === 'string' ? value : 'x')

  const sign = [
    ['koa-jwt-kit signToken (compiled KeyObject)', () => kit.signToken(payload, compiled.signKey, alg)],
    ['jsonwebtoken, string secret / PEM', () => jsonwebtoken.sign(payload, signText, { algorithm: alg })],
    ['jsonwebtoken, KeyObject', () => jsonwebtoken.sign(payload, signKey, signOptions)],
    ['fast-jwt createSigner (sync)', () => fastSign(payload)],
  ]
  const verify = [
    [
      'koa-jwt-kit verifySignature + checkClaims',
      () => {
        const decoded = kit.verifySignature(token, compiled.verifyKey, alg)
        const now = Date.now() / 1000
        kit.checkClaims(decoded, { now, leeway: 180, verifyExp: true, audience: null, issuer: null })
        return decoded
      },
    ],
    ['jsonwebtoken, string secret / PEM', () => jsonwebtoken.verify(token, verifyText, { algorithms: [alg] })],
    ['jsonwebtoken, KeyObject', () => jsonwebtoken.verify(token, verifyKey, verifyOptions)],
    ['fast-jwt createVerifier (sync)', () => fastVerify(token)],
    ['fast-jwt createVerifier (sync, cache hit)', () => fastVerifyCached(token)],
  ]
  // Sanity: every signer produces a token the others accept, every verifier returns the payload.
  for (const [name, fn] of sign) {
    const produced = fn()
    const back = jsonwebtoken.verify(produced, verifyKey, verifyOptions)
    if (back.user_id !== 1 || back.exp !== payload.exp || back.scopes.length !== 5) {
      throw new Error(`${alg} ${name}: bad token`)
    }
  }
  for (const [name, fn] of verify) {
    const decoded = fn()
    if (decoded.user_id !== 1 || decoded.exp !== payload.exp) {
      throw new Error(`${alg} ${name}: bad payload`)
    }
  }
  return {
    sign: sign.map(([name, fn]) => [name, () => wrap(fn())]),
    verify: verify.map(([name, fn]) => [name, () => fn().scopes]),
  }
}

/**
 * What a verify cache pays to find an entry: the token itself as the Map key, a SHA-256 of it
 * (fast-jwt's default cacheKeyBuilder), or its last 16 characters with the whole token compared
 * on a hit (koa-jwt-kit's VerifyCache, through the compiled class itself).
 */
function cacheKeyCases() {
  const { createHash } = require('node:crypto')
  const jsonwebtoken = require('jsonwebtoken')
  const { VerifyCache } = require(DIST)
  const { signKey } = keyObjects('HS256')
  const token = jsonwebtoken.sign(typicalPayload(), signKey, { algorithm: 'HS256' })
  const byToken = new Map([[token, { user_id: 1 }]])
  const hashed = createHash('sha256').update(token).digest('base64')
  const byHash = new Map([[hashed, { user_id: 1 }]])
  const byTail = new Map([[token.slice(-16), { token, payload: { user_id: 1 } }]])
  const cache = new VerifyCache({ max: 1000 })
  const now = Math.floor(Date.now() / 1000)
  cache.set(token, { user_id: 1, exp: now + 3600 }, signKey, 'HS256', now, 0)
  // A fresh string each call, as each request carries its own copy of the header.
  const copy = () => (' ' + token).slice(1)
  return [
    ['Map.get(token) (token is the key)', () => [byToken.get(copy())]],
    [
      'Map.get(sha256(token)) (hashed key)',
      () => [byHash.get(createHash('sha256').update(copy()).digest('base64'))],
    ],
    [
      'Map.get(last 16 chars), whole token compared (tail key)',
      () => {
        const t = copy()
        const entry = byTail.get(t.slice(-16))
        return [entry !== undefined && entry.token === t ? entry.payload : undefined]
      },
    ],
    ['koa-jwt-kit VerifyCache#get (tail key, LRU, checks)', () => [cache.get(copy(), signKey, 'HS256', now)]],
  ]
}

/**
 * A fresh Koa context over an IncomingMessage/ServerResponse pair with no socket I/O, as Koa's
 * request handler makes one; `body` (a Buffer) is pushed into the request stream.
 */
function socketlessContext(app, method, url, headers, body) {
  const http = require('node:http')
  socket ??= new (require('node:net').Socket)()
  const req = new http.IncomingMessage(socket)
  req.method = method
  req.url = url
  req.headers = { host: '127.0.0.1', ...headers }
  if (body !== undefined) {
    req.headers['content-length'] = String(body.length)
    req.push(body)
    req.push(null)
  }
  return app.createContext(req, new http.ServerResponse(req))
}

/** One unconnected socket for every socketless request (made on first use). */
let socket

/**
 * The middleware alone, without sockets: a real Koa context (`app.createContext` over an
 * IncomingMessage/ServerResponse pair) per call, the middleware, then the `{ ok: true }` handler.
 * HS256, same token everywhere. "none" is the cost of the context and the handler.
 */
function middlewareCases() {
  const { createSecretKey } = require('node:crypto')
  const Koa = require('koa')
  const koaJwt = require('koa-jwt')
  const jsonwebtoken = require('jsonwebtoken')
  const { createVerifier } = require('fast-jwt')
  const { Initialize } = require(DIST)
  const { HS_SECRET, SCOPES } = require('./lib/common')
  const token = jsonwebtoken.sign(typicalPayload(), keyObjects('HS256').signKey, { algorithm: 'HS256' })
  const authorization = `Bearer ${token}`
  const kit = (extra) => {
    const app = new Koa()
    const jwt = new Initialize(app, {
      secret: HS_SECRET,
      authenticate: () => ({ user_id: 1, scopes: [...SCOPES] }),
      addScopesToPayload: (user) => user.scopes,
      ...extra,
    })
    return { app, jwt }
  }
  const plain = kit({})
  const cached = kit({ verifyCache: { max: 1000 } })
  const key = createSecretKey(Buffer.from(HS_SECRET, 'utf8'))
  const options = Object.freeze({ algorithms: Object.freeze(['HS256']) })
  const fast = createVerifier({ key: HS_SECRET, algorithms: ['HS256'] })
  const fastCached = createVerifier({ key: HS_SECRET, algorithms: ['HS256'], cache: true })
  const bearer = (ctx) => {
    const header = ctx.headers.authorization
    return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined
  }
  const verifying = (verify) => (ctx, next) => {
    const found = bearer(ctx)
    if (found === undefined) throw new Error('no token')
    ctx.state.jwt = verify(found)
    return next()
  }
  const list = [
    ['none (context + handler only)', plain.app, (_ctx, next) => next()],
    ['passthrough (reads the header)', plain.app, (ctx, next) => ((ctx.state.token = bearer(ctx)), next())],
    ['koa-jwt', plain.app, koaJwt({ secret: HS_SECRET, algorithms: ['HS256'] })],
    ['hand-written jsonwebtoken + KeyObject', plain.app, verifying((t) => jsonwebtoken.verify(t, key, options))],
    ['fast-jwt (cache off)', plain.app, verifying(fast)],
    ['fast-jwt (cache: true)', plain.app, verifying(fastCached)],
    ['koa-jwt-kit protected()', plain.app, plain.jwt.protected()],
    ['koa-jwt-kit protected(), verifyCache', cached.app, cached.jwt.protected()],
    ["koa-jwt-kit scoped(['user:read'])", plain.app, plain.jwt.scoped(['user:read'])],
  ]
  return list.map(([name, app, middleware]) => {
    let ctx
    // Like koa-compose's next(): always a promise.
    const handler = () => {
      ctx.body = { ok: true }
      return Promise.resolve()
    }
    const call = async () => {
      ctx = socketlessContext(app, 'GET', '/hello', { authorization })
      await middleware(ctx, handler)
      if (ctx.status !== 200) throw new Error(`${name}: status ${ctx.status}`)
    }
    return [name, call]
  })
}

/**
 * Whole scenario apps without sockets: the very apps of the HTTP servers (bench/lib/apps.js), every
 * middleware the app holds (`Initialize`'s endpoint router included) run through koa-compose over a
 * fresh context, as Koa's request handler does, minus the response write. HS256, same token and
 * login body as the HTTP run. What is left out (parsing, sockets, `writev`) is the same for all.
 */
function appCases() {
  const compose = require('koa-compose')
  const jsonwebtoken = require('jsonwebtoken')
  const { buildApp } = require('./lib/apps')
  const token = jsonwebtoken.sign(typicalPayload(), keyObjects('HS256').signKey, { algorithm: 'HS256' })
  const authorization = `Bearer ${token}`
  const body = Buffer.from(LOGIN_BODY)
  const kinds = [
    'koa-raw',
    'kit-unguarded',
    'jsonwebtoken-keyobject',
    'fast-jwt-cache',
    'kit-protected',
    'kit-protected-cache',
    'kit-scoped',
    'kit-protected-fresh',
    'koa-raw-post',
    'login-handwritten',
    'kit-auth',
    'login-floor',
  ]
  return kinds.map((kind) => {
    const { app } = buildApp(kind, 'HS256')
    const handle = compose(app.middleware)
    const post = POST_KINDS.has(kind)
    const call = async () => {
      const ctx = post
        ? socketlessContext(app, 'POST', '/auth', { 'content-type': 'application/json' }, body)
        : socketlessContext(app, 'GET', '/hello', { authorization })
      await handle(ctx)
      if (ctx.status !== 200) throw new Error(`${kind}: status ${ctx.status}`)
    }
    return [kind, call]
  })
}

/** Best µs per call of each async case over the rounds, cases interleaved round by round. */
async function bestCosts(group) {
  for (const [, fn] of group) await timedAsync(fn, WARMUP_MS, 20)
  const perRound = group.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, fn]] of group.entries()) {
      const { ops, ns } = await timedAsync(fn, ROUND_MS, 20)
      perRound[i].push(ns / 1e3 / ops)
    }
  }
  // Best round: the least disturbed one (the quantity is a cost, not a throughput).
  return perRound.map((values) => Math.min(...values))
}

/** The app table: µs per request and the cost ratios of the HTTP targets, without HTTP. */
async function measureApps() {
  const group = appCases()
  const costs = await bestCosts(group)
  const cost = Object.fromEntries(group.map(([kind], i) => [kind, costs[i]]))
  const rows = group.map(([kind], i) => {
    // Added cost over the raw request of the same method.
    const base = POST_KINDS.has(kind) ? cost['koa-raw-post'] : cost['koa-raw']
    const added = costs[i] - base
    const shown = kind === 'koa-raw' || kind === 'koa-raw-post' ? '—' : `${added >= 0 ? '+' : ''}${added.toFixed(2)}`
    return [kind, costs[i].toFixed(2), shown]
  })
  // A speed ratio is the inverse of the cost ratio: A / B in req/s = cost(B) / cost(A).
  const speed = (a, b) => (cost[b] / cost[a]).toFixed(3)
  const ratios = [
    ['protected() cache off vs hand-written jsonwebtoken + KeyObject', speed('kit-protected', 'jsonwebtoken-keyobject')],
    ['protected() cache on vs fast-jwt with cache', speed('kit-protected-cache', 'fast-jwt-cache')],
    ['protected() cache on vs raw Koa', speed('kit-protected-cache', 'koa-raw')],
    ['scoped() vs protected()', speed('kit-scoped', 'kit-protected')],
    ['protected({ fresh: true }) vs protected()', speed('kit-protected-fresh', 'kit-protected')],
    ['POST /auth vs raw Koa (GET)', speed('kit-auth', 'koa-raw')],
    ['POST /auth vs hand-written login (koa-body + jsonwebtoken KeyObject)', speed('kit-auth', 'login-handwritten')],
    ['no-library login vs raw Koa (GET)', speed('login-floor', 'koa-raw')],
  ]
  return { rows, ratios }
}

/** Async version of {@link timed}: awaits every call. */
async function timedAsync(fn, ms, batch) {
  const start = process.hrtime.bigint()
  const end = start + BigInt(Math.round(ms * 1e6))
  let ops = 0
  let now
  do {
    for (let i = 0; i < batch; i++) await fn()
    ops += batch
    now = process.hrtime.bigint()
  } while (now < end)
  return { ops, ns: Number(now - start) }
}

async function measureMiddleware() {
  const group = middlewareCases()
  const costs = await bestCosts(group)
  const base = costs[0]
  const reference = costs[group.findIndex(([name]) => name.startsWith('hand-written'))] - base
  return group.map(([name], i) => [
    name,
    costs[i].toFixed(2),
    i === 0 ? '—' : (costs[i] - base).toFixed(2),
    i === 0 ? '—' : ((costs[i] - base) / reference).toFixed(2),
  ])
}

function measureGroup(group) {
  const batches = group.map(([, fn]) => {
    const batch = calibrate(fn)
    timed(fn, WARMUP_MS, batch)
    return batch
  })
  const perRound = group.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    group.forEach(([, fn], i) => {
      const { ops, ns } = timed(fn, ROUND_MS, batches[i])
      perRound[i].push((ops * 1e9) / ns)
    })
  }
  return group.map(([name], i) => {
    const rates = perRound[i]
    const avg = mean(rates)
    const spread = (Math.max(...rates) - Math.min(...rates)) / avg
    return { name, opsPerSecond: avg, spread }
  })
}

function run() {
  const rows = []
  for (const alg of ALGS) {
    const groups = cases(alg)
    for (const op of ['sign', 'verify']) {
      log(`${alg} ${op} ...`)
      const results = measureGroup(groups[op])
      const reference = results.find((r) => r.name === 'jsonwebtoken, KeyObject')
      for (const r of results) {
        rows.push([
          alg,
          op,
          r.name,
          formatInt(r.opsPerSecond),
          (1e6 / r.opsPerSecond).toFixed(r.opsPerSecond > 1e5 ? 2 : 1),
          (r.opsPerSecond / reference.opsPerSecond).toFixed(2),
          `±${((r.spread / 2) * 100).toFixed(0)}%`,
        ])
      }
    }
  }
  log('cache key ...')
  const keyResults = measureGroup(cacheKeyCases())
  for (const r of keyResults) {
    rows.push([
      '—',
      'cache lookup',
      r.name,
      formatInt(r.opsPerSecond),
      (1e6 / r.opsPerSecond).toFixed(3),
      (r.opsPerSecond / keyResults[0].opsPerSecond).toFixed(2),
      `±${((r.spread / 2) * 100).toFixed(0)}%`,
    ])
  }
  if (sink === 0) log('(sink)')
  const table = markdownTable(
    ['Alg', 'Op', 'Implementation', 'ops/s', 'µs/op', '× jsonwebtoken KeyObject (cache lookup: × token key)', 'Spread'],
    rows,
    ['l', 'l', 'l', 'r', 'r', 'r', 'r'],
  )
  return table
}

async function runAll() {
  const tokens = run()
  log('middleware without HTTP ...')
  const middleware = await measureMiddleware()
  log('apps without sockets ...')
  const apps = await measureApps()
  return [
    `${ROUNDS} rounds × ${ROUND_MS} ms per case after ${WARMUP_MS} ms of warm-up, cases of one operation interleaved; ` +
      'ops/s is the mean of the rounds, spread is half the max–min range. Same payload and token everywhere ' +
      '(user_id + 5 scopes, iat, exp). Verification includes exp/iat checks in every contender.' +
      (QUICK ? ' QUICK run: indicative only.' : ''),
    '',
    tokens,
    '',
    '### Middleware without HTTP (HS256)',
    '',
    'One call = a fresh Koa context (`app.createContext` over an IncomingMessage/ServerResponse, no ' +
      'socket I/O), the middleware, then the `{ ok: true }` handler. µs/call is the best of the rounds; ' +
      '"overhead" subtracts the "none" row. The koa-jwt-kit rows call the middleware directly, so the ' +
      'middleware that `Initialize` adds to the app (its endpoint router) is not included (see kit-unguarded ' +
      'in the HTTP table).',
    '',
    markdownTable(
      ['Middleware', 'µs/call', 'overhead µs', 'overhead × hand-written'],
      middleware,
      ['l', 'r', 'r', 'r'],
    ),
    '',
    '### Scenario apps without sockets (HS256)',
    '',
    'One call = the app of an HTTP scenario (the same code as its server, bench/lib/apps.js): a fresh ' +
      'Koa context over an IncomingMessage/ServerResponse pair (the login body pushed into the request), ' +
      "then every middleware of the app through koa-compose, `Initialize`'s endpoint router included, as " +
      "Koa's request handler runs them, without the response write. µs/call is the best of the rounds; " +
      '"added" subtracts raw Koa (GET scenarios) or the raw POST (POST scenarios). HTTP parsing, sockets ' +
      'and `writev`, the same for every scenario and most of a raw Koa request, are left out, so the ' +
      'ratios below lie further from 1 than the same ratios over HTTP: they compare the code alone.',
    '',
    markdownTable(['Scenario app', 'µs/call', 'added µs'], apps.rows, ['l', 'r', 'r']),
    '',
    markdownTable(['Ratio without sockets (A / B in calls/s)', 'Value'], apps.ratios, ['l', 'r']),
  ].join('\n')
}

if (require.main === module) {
  const main = async () => {
    if (!process.argv.includes('--markdown')) log(await ensureBuild(log))
    process.stdout.write(`${await runAll()}\n`)
  }
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}

module.exports = { runAll }
