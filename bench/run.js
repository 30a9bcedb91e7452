#!/usr/bin/env node
'use strict'
/**
 * koa-jwt-kit benchmark harness: `npm run bench` (HTTP scenarios, then the micro-benchmark).
 *
 *   node bench/run.js            HTTP scenarios + micro-benchmark
 *   node bench/run.js --http     HTTP scenarios only
 *   node bench/run.js --micro    micro-benchmark only (no HTTP)
 *   node bench/run.js --memory   MemoryStore memory while 1M tokens are issued (bench/memory.js)
 *   node bench/run.js --profile kit-auth [HS256]   CPU profile of one scenario's server
 *
 * Environment: BENCH_QUICK=1 (≤ 60 s smoke run), BENCH_DURATION, BENCH_WARMUP (seconds),
 * BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_ONLY (regular expression on scenario ids; raw Koa is
 * always kept), BENCH_NO_PIN=1, BENCH_REBUILD=1, BENCH_REUSE_SERVERS=1, BENCH_PAIRED=1,
 * BENCH_PAIR_BLOCKS, BENCH_PAIR_SLICE, BENCH_NO_PAIRS=1 (the interleaved target pairs run after the
 * rounds), BENCH_CLUSTER_CPUS and BENCH_REDIS_CPUS (taskset CPU lists of a cluster's processes and
 * of the redis-server). See bench/README.md.
 *
 * Every server is a child process on 127.0.0.1, pinned to CPU 1 with taskset when available (a
 * cluster's processes to every CPU but the load generator's); the load generator (autocannon, in
 * this process) is pinned to CPU 0. The Redis scenarios share one redis-server started by this
 * process (pinned like a cluster). Children are stopped by PID at the end, on errors and on
 * SIGINT/SIGTERM; they also exit by themselves when this process dies.
 */
const { spawn } = require('node:child_process')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { isDeepStrictEqual } = require('node:util')

const {
  BENCH,
  SCOPES,
  ensureBuild,
  environmentLines,
  formatInt,
  keyMaterial,
  keyObjects,
  markdownTable,
  mean,
  pinProcess,
  pinnedNode,
  REVOKED_JTI,
  tasksetPath,
  typicalPayload,
} = require('./lib/common')
const { redisUnavailable, startRedis } = require('./lib/redis')
const { KINDS, LOGIN_BODY, REFRESH_CYCLE, allScenarios } = require('./lib/scenarios')

const argv = process.argv.slice(2)
const MODE = argv.includes('--profile')
  ? 'profile'
  : argv.includes('--memory')
    ? 'memory'
    : argv.includes('--micro')
    ? 'micro'
    : argv.includes('--http')
      ? 'http'
      : 'all'
const QUICK = process.env.BENCH_QUICK === '1'

function envNumber(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}

const CONFIG = Object.freeze({
  duration: envNumber('BENCH_DURATION', QUICK ? 0.3 : 5),
  warmup: envNumber('BENCH_WARMUP', QUICK ? 0.2 : 3),
  rounds: Math.max(2, Math.floor(envNumber('BENCH_ROUNDS', QUICK ? 2 : 3))),
  connections: Math.floor(envNumber('BENCH_CONNECTIONS', QUICK ? 16 : 32)),
  sampleInt: QUICK ? 100 : 250,
  pause: QUICK ? 20 : 500,
  serverCpu: 1,
  // The processes of a cluster scenario, and the redis-server: every CPU but the load generator's
  // (CPU 1 alone on a 2-CPU machine, where they share it with the server under load).
  serverCpus:
    process.env.BENCH_CLUSTER_CPUS ||
    (require('node:os').cpus().length > 2 ? `1-${require('node:os').cpus().length - 1}` : '1'),
  redisCpus: process.env.BENCH_REDIS_CPUS || null,
  loadCpu: 0,
  // New server processes every round: identical servers differ by up to ~15% from process to
  // process, so each round samples other processes. Off in quick runs (start-up time).
  freshServers: process.env.BENCH_REUSE_SERVERS === '1' ? false : !QUICK,
  // Raw Koa of the same algorithm measured right before every scenario, the ratio taken pairwise:
  // the speed of this shared VM drifts by up to ±30% within minutes. Off in quick runs (time).
  // Off by default since the interleaved pairs below judge the targets (they took half the run).
  paired: process.env.BENCH_PAIRED === '1' && !QUICK,
  // After the rounds, every target's two servers alternated in short slices, A B B A then B A A B
  // (so a linear drift of the machine's speed cancels within each block): the target verdict.
  pairBlocks: Math.floor(envNumber('BENCH_PAIR_BLOCKS', QUICK ? 1 : 12)),
  pairSlice: envNumber('BENCH_PAIR_SLICE', QUICK ? 0.1 : 1),
  pairs: process.env.BENCH_NO_PAIRS !== '1',
  // Every block on two new server processes (warmed up for pairWarmup s each): two processes of
  // the same server differ by up to ~15% for their whole life, so blocks sample other processes.
  pairFresh: process.env.BENCH_REUSE_SERVERS === '1' ? false : !QUICK,
  pairWarmup: envNumber('BENCH_PAIR_WARMUP', 1),
  // A judged target whose 90% interval still holds its threshold after pairBlocks blocks gets more
  // blocks, up to pairMaxBlocks in all (the interval narrows as 1/sqrt(blocks)).
  pairMaxBlocks: Math.floor(envNumber('BENCH_PAIR_MAX_BLOCKS', QUICK ? 1 : 24)),
})

const RESULTS_DIR = path.join(BENCH, 'results')
const loadAverage = () => require('node:os').loadavg().map((x) => x.toFixed(2)).join(' ')
const loadAverages = { start: loadAverage(), end: '' }
const log = (...parts) => console.error('[bench]', ...parts)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked and stopped by its PID.

/** Live children by PID. */
const children = new Map()

function track(child, label) {
  children.set(child.pid, { child, label })
  child.once('exit', () => children.delete(child.pid))
  return child
}

/** Stops one child by PID: SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(child, graceMs = 2000) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    process.kill(child.pid, 'SIGTERM')
  } catch {
    return
  }
  const timer = new Promise((resolve) => setTimeout(resolve, graceMs, 'timeout'))
  if ((await Promise.race([exited, timer])) === 'timeout') {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
    await exited
  }
}

let stopping = false

async function stopAll() {
  stopping = true
  await Promise.all([...children.values()].map(({ child }) => stopChild(child)))
}

/** Last resort, synchronous: used on process exit. */
function killAllNow() {
  for (const pid of children.keys()) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  children.clear()
}

let interrupted = false
process.on('exit', killAllNow)
for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(signal, () => {
    if (interrupted) return
    interrupted = true
    log(`${signal}: stopping ${children.size} child process(es)`)
    stopAll().finally(() => process.exit(128 + number))
  })
}

/** Stops the main flow once a signal arrived (the signal handler stops the children). */
function checkInterrupted() {
  if (interrupted) throw new Error('interrupted')
}

// ---------------------------------------------------------------------------------------------
// Servers.

/**
 * Starts the server of a scenario, pinned to the server CPU, and waits for its READY line.
 *
 * @returns `{ child, port, notes, stderr() }`
 */
function startServer(scenario, token, nodeArgs = []) {
  // Started on every CPU (start-up of ~20 processes is the slow part of a quick run), then every
  // thread is pinned to the server CPU once the server is ready, before any load.
  const script = path.join(BENCH, 'servers', 'server.js')
  const env = { ...process.env, NODE_ENV: 'production', BENCH_TOKEN: token }
  let redisPrefix = null
  if (scenario.redis) {
    if (!redis) return Promise.reject(new Error('no redis-server for a Redis scenario'))
    // A prefix per server (the workers of a cluster share it): its keys are dropped when it retires.
    redisPrefix = `bench-${process.pid}-${++redisServers}:`
    Object.assign(env, { BENCH_REDIS_URL: redis.url, BENCH_REDIS_PREFIX: redisPrefix })
  }
  const child = track(
    spawn(process.execPath, [...nodeArgs, script, scenario.kind, scenario.alg], { stdio: ['pipe', 'pipe', 'pipe'], env }),
    scenario.id,
  )
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  // Never write to the server's stdin: it exits when the pipe closes.
  child.stdin.on('error', () => {})
  return new Promise((resolve, reject) => {
    let buffer = ''
    const timeout = setTimeout(() => {
      stopChild(child)
      reject(new Error(`server did not report readiness within 30 s. stderr: ${stderr.trim()}`))
    }, 30_000)
    child.once('exit', (code, signal) => {
      clearTimeout(timeout)
      reject(new Error(`server exited (${signal ?? code}) before it was ready. stderr: ${stderr.trim()}`))
    })
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      buffer += chunk
      const line = buffer.split('\n').find((l) => l.startsWith('READY '))
      if (line === undefined) return
      clearTimeout(timeout)
      const info = JSON.parse(line.slice(6))
      // A cluster: the primary and its workers, on every server CPU.
      const pids = info.pids ?? [child.pid]
      const cpus = pids.length > 1 ? CONFIG.serverCpus : String(CONFIG.serverCpu)
      if (tasksetPath() && !pids.every((pid) => pinProcess(pid, cpus))) {
        reject(new Error(`could not pin the server to CPU ${cpus}`))
        return
      }
      const server = {
        child,
        port: info.port,
        notes: info.notes,
        stderr: () => stderr,
        exit: null,
        redisPrefix,
        // Whose CPU time is the server's: its processes, and the redis-server of a Redis scenario.
        cpuPids: scenario.redis ? [...pids, redis.pid] : pids,
      }
      // A server that dies before the harness stops it is reported (its rows FAIL anyway).
      child.once('exit', (code, signal) => {
        if (stopping || server.retired) return
        const cause = signal ?? `code ${code}`
        const output = stderr.trim().slice(-1500) || '(empty)'
        server.exit = `exited unexpectedly (${cause}) at ${new Date().toISOString()}; stderr: ${output}`
      })
      resolve(server)
    })
  })
}

/** One HTTP request without keep-alive: `{ status, body }`. */
function request(port, { method = 'GET', path: target, headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, method, path: target, headers, agent: false, timeout: 10_000 }
    const req = http.request(options, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode, body: text }))
    })
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end(body)
  })
}

/** The redis-server of the Redis scenarios (bench/lib/redis.js), when one is selected. */
let redis = null
let redisServers = 0

/** Starts the redis-server unless it runs; pinned to CONFIG.redisCpus, else the server CPUs. */
async function ensureRedis() {
  if (redis) return redis
  const cpus = tasksetPath() ? CONFIG.redisCpus ?? CONFIG.serverCpus : null
  redis = await startRedis({ track, cpus })
  log(`redis-server ${redis.version} on 127.0.0.1:${redis.port} (pid ${redis.pid}${redis.cpus ? `, CPU ${redis.cpus}` : ''})`)
  return redis
}

/** Changes one character in the middle of the signature (the last one may only hold padding bits). */
function tamper(token) {
  const cut = token.lastIndexOf('.')
  const at = cut + Math.floor((token.length - cut) / 2)
  const replacement = token[at] === 'A' ? 'B' : 'A'
  return token.slice(0, at) + replacement + token.slice(at + 1)
}

function loadRequest(scenario, token) {
  return scenario.method === 'POST'
    ? {
        method: 'POST',
        path: scenario.path,
        headers: { 'content-type': 'application/json' },
        body: LOGIN_BODY,
      }
    : { method: 'GET', path: scenario.path, headers: { authorization: `Bearer ${token}` } }
}

/** POST /auth/refresh with an access token and a refresh token (JSON body). */
function refreshRequest(accessToken, refreshToken) {
  return {
    method: 'POST',
    path: '/auth/refresh',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ refresh_token: refreshToken }),
  }
}

/** `{ access_token, refresh_token }` of a JSON answer, or undefined. */
function issuedTokens(body) {
  try {
    const { access_token: access, refresh_token: refresh } = JSON.parse(body)
    return typeof access === 'string' && typeof refresh === 'string' ? { access, refresh } : undefined
  } catch {
    return undefined
  }
}

/**
 * The requests of a refresh scenario, for autocannon's `requests`: per connection, a cycle of one
 * login then REFRESH_CYCLE - 1 refreshes, each sent with the tokens of the previous answer (kept in
 * the connection's context, which autocannon clears at the end of every cycle). A refresh answered
 * anything but 200 drops the tokens: the next request is a login again (counted in `tally`).
 */
function refreshCycle(tally) {
  const keep = (status, body, context) => {
    const tokens = status === 200 ? issuedTokens(body) : undefined
    context.tokens = tokens
    return tokens !== undefined
  }
  const login = {
    ...loadRequest({ method: 'POST', path: '/auth' }),
    onResponse: (status, body, context) => keep(status, body, context),
  }
  const refresh = {
    method: 'POST',
    path: '/auth/refresh',
    // No tokens (a login or a refresh that failed): back to the login, at the head of the cycle.
    setupRequest: (request, context) =>
      context.tokens ? { ...request, ...refreshRequest(context.tokens.access, context.tokens.refresh) } : null,
    onResponse: (status, body, context) => {
      if (keep(status, body, context)) tally.refreshes++
      else tally.relogins++
    },
  }
  return [login, ...Array.from({ length: REFRESH_CYCLE - 1 }, () => refresh)]
}

/**
 * Checks that a server answers what the scenario promises: 200 `{ ok: true }` with the token
 * (a valid signed token for POST /auth), 401 with a tampered token or without a header.
 *
 * @returns the list of problems (empty when fine).
 */
async function selfCheck(scenario, port, token) {
  const problems = []
  const main = await request(port, loadRequest(scenario, token))
  const jsonwebtoken = require('jsonwebtoken')
  const { signKey, verifyKey } = keyObjects(scenario.alg)
  /** The payload of an issued access token, checked (a problem noted when unexpected). */
  const checkIssued = (accessToken, where) => {
    const issued = jsonwebtoken.verify(accessToken, verifyKey, { algorithms: [scenario.alg] })
    if (issued.user_id !== 1 || !isDeepStrictEqual(issued.scopes, [...SCOPES])) {
      problems.push(`${where} issued an unexpected payload ${JSON.stringify(issued)}`)
    }
  }
  if (main.status !== 200) problems.push(`expected 200, got ${main.status} ${main.body.slice(0, 200)}`)
  else if (scenario.signs) {
    checkIssued(JSON.parse(main.body).access_token, 'POST /auth')
    if (scenario.rotates) {
      // A login answers a refresh token, and one refresh with it answers a new pair.
      const login = issuedTokens(main.body)
      const refreshed = login && (await request(port, refreshRequest(login.access, login.refresh)))
      const next = refreshed?.status === 200 ? issuedTokens(refreshed.body) : undefined
      if (!login) problems.push(`POST /auth answered no refresh token: ${main.body.slice(0, 200)}`)
      else if (!next) problems.push(`POST /auth/refresh got ${refreshed.status} ${refreshed.body.slice(0, 200)}`)
      else if (next.refresh === login.refresh) problems.push('POST /auth/refresh answered the same refresh token (no rotation)')
      else checkIssued(next.access, 'POST /auth/refresh')
    }
  } else if (!isDeepStrictEqual(JSON.parse(main.body), { ok: true })) {
    problems.push(`unexpected body ${main.body.slice(0, 200)}`)
  }
  if (scenario.revokes) {
    // The server revoked this token id before READY: the revocation check must refuse it.
    const revoked = jsonwebtoken.sign({ ...jsonwebtoken.decode(token), jti: REVOKED_JTI }, signKey, { algorithm: scenario.alg })
    const refused = await request(port, { path: scenario.path, headers: { authorization: `Bearer ${revoked}` } })
    if (refused.status !== 401) problems.push(`a revoked token got ${refused.status}, expected 401`)
  }
  if (scenario.verifies) {
    const headers = { authorization: `Bearer ${tamper(token)}` }
    const forged = await request(port, { path: scenario.path, headers })
    if (forged.status !== 401) problems.push(`a tampered token got ${forged.status}, expected 401`)
  }
  if (scenario.verifies || scenario.kind === 'passthrough') {
    const missing = await request(port, { path: scenario.path })
    if (missing.status !== 401) problems.push(`a request without token got ${missing.status}, expected 401`)
  }
  return problems
}

// ---------------------------------------------------------------------------------------------
// Load.

let clockTicks = 100
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
} catch {
  // keep 100
}

/** CPU seconds used so far by a process (Linux), or NaN. */
function processCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / clockTicks
  } catch {
    return NaN
  }
}

/** CPU seconds used so far by the processes of a server (and its redis-server), or NaN. */
function serverCpuSeconds(server) {
  return (server.cpuPids ?? [server.child.pid]).reduce((n, pid) => n + processCpuSeconds(pid), 0)
}

/**
 * Runs autocannon against a server for `seconds`. A refresh scenario sends autocannon's dynamic
 * requests (refreshCycle); its measurement also counts the refreshes and the re-logins.
 */
function runLoad(scenario, server, token, seconds) {
  const autocannon = require('autocannon')
  const spec = loadRequest(scenario, token)
  const tally = { refreshes: 0, relogins: 0 }
  const requests = scenario.refreshes ? { requests: refreshCycle(tally) } : {}
  const serverCpu0 = serverCpuSeconds(server)
  const genCpu0 = process.cpuUsage()
  const started = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${server.port}${spec.path}`,
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
        ...requests,
        connections: CONFIG.connections,
        pipelining: 1,
        duration: seconds,
        sampleInt: CONFIG.sampleInt,
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error)
        const wall = Number(process.hrtime.bigint() - started) / 1e9
        const gen = process.cpuUsage(genCpu0)
        const statusCodes = Object.fromEntries(
          Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count]),
        )
        resolve({
          rps: result.requests.total / result.duration,
          requests: result.requests.total,
          duration: result.duration,
          p50: result.latency.p50,
          p99: result.latency.p99,
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          statusCodes,
          serverCpu: (serverCpuSeconds(server) - serverCpu0) / wall,
          serverCpuSeconds: serverCpuSeconds(server) - serverCpu0,
          genCpu: (gen.user + gen.system) / 1e6 / wall,
          ...(scenario.refreshes ? tally : {}),
        })
      },
    )
  })
}

// ---------------------------------------------------------------------------------------------
// HTTP benchmark.

function signTokens(algs) {
  const jsonwebtoken = require('jsonwebtoken')
  const payload = typicalPayload()
  const tokens = {}
  for (const alg of algs) {
    tokens[alg] = jsonwebtoken.sign(payload, keyObjects(alg).signKey, { algorithm: alg })
  }
  return { payload, tokens }
}

/** Scenarios left out of this run, with the reason (shown in the report's notes). */
const skipped = []

function selectScenarios() {
  const only = process.env.BENCH_ONLY
  const pattern = only ? new RegExp(only) : null
  const selected = allScenarios().filter((s) => !pattern || s.kind === 'koa-raw' || pattern.test(s.id))
  // Without redis-server (or the client package), the Redis scenarios are skipped, not failed.
  const unavailable = selected.some((s) => s.redis) ? redisUnavailable() : null
  if (unavailable === null) return selected
  const left = selected.filter((s) => s.redis).map((s) => s.id)
  skipped.push(`skipped ${left.join(', ')}: ${unavailable}`)
  log(`SKIPPED the Redis scenarios (${left.length}): ${unavailable}`)
  return selected.filter((s) => !s.redis)
}

/**
 * The warm-up of a scenario: `seconds` per process. Each worker of a cluster compiles its code on
 * its own and gets a share of the requests, so a cluster is warmed up as long as all of its
 * workers would be one by one (with 1 s, three cold workers on one CPU served a third of a warm one).
 */
const warmupSeconds = (scenario, seconds) => seconds * scenario.workers

/** Requests per CPU-second of the server: what one request costs, whatever else ran on its CPU. */
const efficiency = (m) => (m.serverCpuSeconds > 0 ? m.requests / m.serverCpuSeconds : NaN)
const throughput = (m) => m.rps

/**
 * Mean over the rounds of a / b, NaN unless both sides have all `rounds`. Against the raw Koa
 * reference (`b.reference`), a scenario with paired references (`refs`: raw Koa with the same token
 * measured right before it) is divided by its own reference. Two scenarios are compared directly,
 * round by round: both do real work per request and drift together, while raw Koa, whose requests
 * are mostly kernel and HTTP work, swings far more on this VM (so dividing each by its raw
 * reference would add that noise, not remove drift).
 */
function meanRatio(a, b, metric, rounds) {
  if (!a || !b) return NaN
  const ratios = []
  for (let r = 0; r < rounds; r++) {
    const x = a.rounds[r]
    const y = b.rounds[r]
    if (!x || !y) continue
    const xRef = a.refs?.[r]
    const value = b.reference && xRef ? metric(x) / metric(xRef) : metric(x) / metric(y)
    if (Number.isFinite(value) && value > 0) ratios.push(value)
  }
  return ratios.length === rounds ? mean(ratios) : NaN
}

/**
 * The raw Koa reference: per round, the pooled raw Koa servers (one per algorithm's token).
 * Identical raw Koa processes differ by up to ~10% from one another, more than the token length
 * changes anything, so one pooled reference is steadier than any single one.
 */
function pooledRaw(state, rounds) {
  const raws = [...state.values()].filter((e) => e.scenario.kind === 'koa-raw')
  if (raws.length === 0) return undefined
  const pooled = { rounds: [], reference: true }
  for (let r = 0; r < rounds; r++) {
    const measured = raws.map((e) => e.rounds[r])
    if (measured.some((m) => !m)) continue
    pooled.rounds[r] = {
      rps: mean(measured.map((m) => m.rps)),
      requests: measured.reduce((n, m) => n + m.requests, 0),
      serverCpuSeconds: measured.reduce((n, m) => n + m.serverCpuSeconds, 0),
    }
  }
  return pooled
}

/** The issue's targets: `a / b >= min` ('koa-raw' = the pooled raw Koa reference). */
const TARGETS = [
  {
    a: 'kit-protected HS256',
    b: 'jsonwebtoken-keyobject HS256',
    min: 0.95,
    label: 'protected() cache off vs hand-written jsonwebtoken + KeyObject',
  },
  { a: 'kit-protected HS256', b: 'koa-jwt HS256', min: 6, label: 'protected() cache off vs koa-jwt' },
  {
    a: 'kit-protected-cache HS256',
    b: 'fast-jwt-cache HS256',
    min: 1.0,
    label: 'protected() cache on vs fast-jwt with cache',
  },
  { a: 'kit-protected-cache HS256', b: 'koa-raw', min: 0.85, label: 'protected() cache on vs raw Koa' },
  { a: 'kit-protected-cache RS256', b: 'koa-raw', min: 0.85, label: 'RS256 protected() cache on vs raw Koa' },
  { a: 'kit-protected-cache ES256', b: 'koa-raw', min: 0.85, label: 'ES256 protected() cache on vs raw Koa' },
  { a: 'kit-scoped HS256', b: 'kit-protected HS256', min: 0.95, label: 'scoped() vs protected()' },
  {
    a: 'kit-protected-fresh HS256',
    b: 'kit-protected HS256',
    min: 0.95,
    label: 'protected({ fresh: true }) vs protected()',
  },
  {
    a: 'kit-protected-revocation HS256',
    b: 'kit-protected HS256',
    min: 0.9,
    label: 'protected() with revocation on the MemoryStore vs protected() without',
  },
  { a: 'kit-auth HS256', b: 'koa-raw', min: 0.5, label: 'POST /auth vs raw Koa' },
  {
    a: 'kit-protected-redis HS256',
    b: 'kit-protected HS256',
    min: 0.85,
    label: 'protected() with revocation on Redis (revocation mirror live) vs protected() without revocation',
    latency: true,
  },
  {
    a: 'kit-protected-redis-lookup HS256',
    b: 'kit-protected HS256',
    min: null,
    label: '(info) protected() with revocation on Redis, per-request lookup (revocationMirror: false), vs without revocation',
    info: true,
    pair: true,
    latency: true,
  },
  {
    a: 'kit-auth-rotation-redis HS256',
    b: 'kit-auth-rotation-memory HS256',
    min: null,
    label: '(info) POST /auth with refresh tokens and rotation: RedisStore vs MemoryStore',
    info: true,
    pair: true,
    latency: true,
  },
  {
    a: 'kit-refresh-redis HS256',
    b: 'kit-refresh-memory HS256',
    min: null,
    label: `(info) POST /auth/refresh with rotation (1 login per ${REFRESH_CYCLE} requests): RedisStore vs MemoryStore`,
    info: true,
    pair: true,
    latency: true,
  },
  {
    a: 'kit-protected-redis-cluster3 HS256',
    b: 'kit-protected-redis HS256',
    min: null,
    label: '(info) three processes (node:cluster, one port) vs one: protected() with revocation on Redis',
    info: true,
    pair: true,
    latency: true,
  },
  {
    a: 'kit-auth HS256',
    b: 'login-handwritten HS256',
    min: 0.95,
    label: '(info) POST /auth vs hand-written login (koa-body + jsonwebtoken KeyObject)',
    info: true,
    pair: true,
  },
  {
    a: 'login-handwritten HS256',
    b: 'koa-raw',
    min: null,
    label: '(info) floor: hand-written login vs raw Koa',
    info: true,
  },
  {
    a: 'login-floor HS256',
    b: 'koa-raw',
    min: null,
    label: '(info) no-library login (body by hand, createHmac) vs raw Koa',
    info: true,
  },
  {
    a: 'koa-raw-post HS256',
    b: 'koa-raw',
    min: null,
    label: '(info) POST with the login body, not read, vs raw Koa GET',
    info: true,
  },
  {
    a: 'kit-protected RS256',
    b: 'jsonwebtoken-keyobject RS256',
    min: 0.95,
    label: '(info) RS256 protected() cache off vs hand-written',
    info: true,
  },
  {
    a: 'kit-protected ES256',
    b: 'jsonwebtoken-keyobject ES256',
    min: 0.95,
    label: '(info) ES256 protected() cache off vs hand-written',
    info: true,
  },
  {
    // A/A: two new processes of the same server in every block. Its mean shows any bias of the
    // harness (a side or an order that wins), its interval and block range the noise of this machine
    // that every other pair carries. (With BENCH_REUSE_SERVERS=1 both sides are one process: 1.000.)
    a: 'kit-protected HS256',
    b: 'kit-protected HS256',
    min: null,
    label: '(info) A/A control: protected() vs an identical process (the harness\'s own bias and noise)',
    info: true,
    pair: true,
  },
  {
    a: 'kit-unguarded HS256',
    b: 'koa-raw',
    min: null,
    label: '(info) cost of mounting Initialize on the app (no guard)',
    info: true,
    pair: true,
  },
]

async function runHttp() {
  let scenarios = selectScenarios()
  if (scenarios.some((s) => s.redis)) {
    try {
      await ensureRedis()
    } catch (error) {
      // A redis-server that does not start skips the Redis scenarios, as a missing one does.
      skipped.push(`skipped the Redis scenarios: ${error.message}`)
      log(`SKIPPED the Redis scenarios: ${error.message}`)
      scenarios = scenarios.filter((s) => !s.redis)
    }
  }
  const algs = [...new Set(scenarios.map((s) => s.alg))]
  const { payload, tokens } = signTokens(algs)
  const fresh = CONFIG.freshServers
  const gaps = (CONFIG.rounds + 1) * (CONFIG.pause / 1000 + 0.15)
  const warmups = fresh ? CONFIG.rounds : 1
  const pairedSlots = CONFIG.paired ? scenarios.filter((sc) => sc.kind !== 'koa-raw').length : 0
  const perRun = CONFIG.rounds * CONFIG.duration + gaps
  const perBlock =
    4 * (CONFIG.pairSlice + CONFIG.pause / 5000 + 0.05) + (CONFIG.pairFresh ? 2 * CONFIG.pairWarmup + 1 : 0)
  const budget =
    scenarios.reduce((n, s) => n + perRun + warmups * warmupSeconds(s, CONFIG.warmup), 0) + pairedSlots * CONFIG.rounds * (CONFIG.duration + CONFIG.pause / 1000) + warmups * 15
    + (CONFIG.pairs ? pairTargets().length * CONFIG.pairBlocks * perBlock : 0)
  // The watchdog also allows every judged target its extra blocks.
  const extraBlocks = Math.max(0, CONFIG.pairMaxBlocks - CONFIG.pairBlocks)
  const limit = budget * 2 + 120 + (CONFIG.pairs ? pairTargets().length * extraBlocks * perBlock : 0)
  log(
    `${scenarios.length} scenarios × (${warmups} × ${CONFIG.warmup} s warm-up + ${CONFIG.rounds} × ${CONFIG.duration} s), ` +
      `${CONFIG.connections} connections, ${fresh ? 'new server processes every round' : 'one server process per scenario'}, ` +
      `${CONFIG.paired ? 'raw Koa measured right before every scenario, ' : ''}` +
      `HTTP part ≈ ${Math.ceil(budget)} s at most${QUICK ? ' (BENCH_QUICK)' : ''}`,
  )
  const watchdog = setTimeout(() => {
    log(`watchdog: the run exceeded ${Math.ceil(limit)} s, stopping everything`)
    stopAll().finally(() => process.exit(2))
  }, limit * 1000)
  watchdog.unref()

  const state = new Map(
    scenarios.map((s) => [s.id, { scenario: s, server: null, problems: [], notes: [], warmup: null, rounds: [] }]),
  )
  /** Starts (again) every scenario still without problems, checks it, warms it up. */
  const startAndWarm = async (round) => {
    log(round === null ? 'starting servers ...' : `round ${round + 1}: starting new servers ...`)
    const startedServers = Date.now()
    await Promise.all(
      scenarios.map(async (s) => {
        const entry = state.get(s.id)
        if (entry.problems.length > 0) return
        try {
          if (entry.server) await retire(entry.server)
          entry.server = await startServer(s, tokens[s.alg])
          // Notes are the same for every process of a scenario: keep one set.
          if (entry.notes.length === 0) entry.notes.push(...entry.server.notes)
          entry.problems.push(...(await selfCheck(s, entry.server.port, tokens[s.alg])))
        } catch (error) {
          entry.problems.push(error.message)
        }
      }),
    )
    log(`servers ready and checked in ${Date.now() - startedServers} ms`)
    for (const s of scenarios) {
      const entry = state.get(s.id)
      if (entry.problems.length > 0 && !entry.reported) {
        entry.reported = true
        log(`FAIL ${s.id}: ${entry.problems.join('; ')}`)
      }
    }
    log('warm-up (discarded) ...')
    for (const s of scenarios) {
      checkInterrupted()
      const entry = state.get(s.id)
      if (entry.problems.length > 0 || !entry.server) continue
      entry.warmup = await runLoad(s, entry.server, tokens[s.alg], warmupSeconds(s, CONFIG.warmup))
      await sleep(CONFIG.pause)
    }
  }
  const pinned = pinProcess(process.pid, CONFIG.loadCpu)
  log(
    pinned
      ? `load generator pinned to CPU ${CONFIG.loadCpu}, servers to CPU ${CONFIG.serverCpu}`
      : 'no CPU pinning (taskset unavailable or fewer than 2 CPUs)',
  )
  if (!fresh) await startAndWarm(null)
  for (let round = 0; round < CONFIG.rounds; round++) {
    if (fresh) await startAndWarm(round)
    checkInterrupted()
    const runnable = scenarios.filter((s) => state.get(s.id).server && state.get(s.id).problems.length === 0)
    // Interleaved: every scenario once per round, the order reversed every other round.
    const order = round % 2 === 0 ? runnable : [...runnable].reverse()
    log(`round ${round + 1}/${CONFIG.rounds} ...`)
    for (const s of order) {
      checkInterrupted()
      const entry = state.get(s.id)
      const raw = state.get(`koa-raw ${s.alg}`)
      if (CONFIG.paired && s.kind !== 'koa-raw' && raw?.server && raw.problems.length === 0) {
        // The scenario's own reference: raw Koa with the same token, just before it.
        entry.refs ??= []
        entry.refs[round] = await runLoad(raw.scenario, raw.server, tokens[s.alg], CONFIG.duration)
        await sleep(CONFIG.pause)
      }
      const measured = await runLoad(s, entry.server, tokens[s.alg], CONFIG.duration)
      entry.rounds[round] = measured
      const cpu = `${(measured.serverCpu * 100).toFixed(0)}%`
      log(`  ${s.id.padEnd(30)} ${formatInt(measured.rps).padStart(8)} req/s  p99 ${measured.p99} ms  server CPU ${cpu}`)
      await sleep(CONFIG.pause)
    }
  }
  const pairs = CONFIG.pairs ? await runPairs(state, tokens) : []
  loadAverages.end = loadAverage()
  log('stopping servers ...')
  stopping = true
  const servers = [...children.values()].filter(({ label }) => label !== 'redis-server')
  await Promise.all(servers.map(({ child }) => stopChild(child)))
  // The redis-server last (SIGKILL by PID, its directory removed), once no server uses it.
  await redis?.stop()
  await stopAll()
  clearTimeout(watchdog)
  return { scenarios, state, payload, pairs, skipped, redis: redisInfo() }
}

/** The id of the scenario a target compares with (`koa-raw` = raw Koa with the same token). */
const targetB = (t) => (t.b === 'koa-raw' ? `koa-raw ${t.a.split(' ')[1]}` : t.b)

/** Targets measured again as interleaved pairs: every judged target, and those marked `pair`. */
const pairTargets = () => TARGETS.filter((t) => (t.min !== null && !t.info) || t.pair)

/**
 * Interleaved pairs: for every target, its two (warm, last-round) servers are loaded in turn in
 * slices of `pairSlice` seconds, in blocks A B B A / B A A B. A block's ratio is (A1 + A2) /
 * (B1 + B2): both sides are measured within a few seconds of each other, and a drift of the
 * machine's speed that is linear over the block cancels. With `pairFresh`, every block runs on two
 * new processes. The verdict is the geometric mean of the block ratios (with a 90% interval).
 */
async function runPairs(state, tokens) {
  const usable = (e) => e?.server && e.problems.length === 0 && !e.server.exit
  const targets = pairTargets().filter((t) => usable(state.get(t.a)) && usable(state.get(targetB(t))))
  log(
    `interleaved pairs: ${targets.length} targets × ${CONFIG.pairBlocks} blocks × 4 slices of ${CONFIG.pairSlice} s` +
      (CONFIG.pairFresh ? `, new processes for every block (${CONFIG.pairWarmup} s warm-up each)` : '') +
      ' ...',
  )
  /** The two servers of one block: new processes (checked, warmed up), or the last round's. */
  const serversFor = async (entries) => {
    if (!CONFIG.pairFresh) return { servers: entries.map((e) => e.server), done: async () => {} }
    const servers = await Promise.all(entries.map((e) => startServer(e.scenario, tokens[e.scenario.alg])))
    const done = () => Promise.all(servers.map(retire))
    try {
      for (const [i, e] of entries.entries()) {
        const problems = await selfCheck(e.scenario, servers[i].port, tokens[e.scenario.alg])
        if (problems.length > 0) throw new Error(`${e.scenario.id}: ${problems.join('; ')}`)
        await runLoad(e.scenario, servers[i], tokens[e.scenario.alg], warmupSeconds(e.scenario, CONFIG.pairWarmup))
      }
    } catch (error) {
      await done()
      throw error
    }
    return { servers, done }
  }
  const pairs = []
  for (const t of targets) {
    checkInterrupted()
    const a = state.get(t.a)
    const b = state.get(targetB(t))
    const blocks = []
    const undecided = () => {
      if (typeof t.min !== 'number' || t.info || blocks.length < 2) return false
      const r = pairStats({ blocks })
      return r.low < t.min && r.high >= t.min
    }
    const maxBlocks = Math.max(CONFIG.pairBlocks, CONFIG.pairMaxBlocks)
    for (let k = 0; k < CONFIG.pairBlocks || (k < maxBlocks && undecided()); k++) {
      if (k === CONFIG.pairBlocks) log(`  ${t.a} / ${targetB(t)}: interval holds ${t.min}, more blocks (up to ${maxBlocks})`)
      const { servers, done } = await serversFor([a, b])
      try {
        const order = k % 2 === 0 ? [0, 1, 1, 0] : [1, 0, 0, 1]
        const slices = []
        for (const i of order) {
          const e = i === 0 ? a : b
          const m = await runLoad(e.scenario, servers[i], tokens[e.scenario.alg], CONFIG.pairSlice)
          slices.push({ side: i === 0 ? 'a' : 'b', ...pick(m) })
          await sleep(CONFIG.pause / 5)
        }
        blocks.push(slices)
      } finally {
        await done()
      }
    }
    const pair = { a: t.a, b: targetB(t), fresh: CONFIG.pairFresh, blocks }
    pairs.push(pair)
    const r = pairStats(pair)
    log(`  ${t.a} / ${targetB(t)}: ${r.value.toFixed(3)} (blocks ${r.blockRatios.map((x) => x.toFixed(2)).join(' ')})`)
  }
  return pairs
}

/** The parts of a measurement kept for the interleaved pairs. */
const pick = (m) => ({
  rps: m.rps,
  requests: m.requests,
  serverCpuSeconds: m.serverCpuSeconds,
  errors: m.errors,
  non2xx: m.non2xx,
  p99: m.p99,
  ...(m.relogins !== undefined ? { relogins: m.relogins } : {}),
})

/** What the report says of the redis-server, or null when none ran. */
function redisInfo() {
  return redis ? { version: redis.version, cpus: redis.cpus } : null
}

/** Two-sided 90% Student t quantiles by degrees of freedom (1..30; beyond: the normal 1.645). */
const T90 = [
  6.314, 2.92, 2.353, 2.132, 2.015, 1.943, 1.895, 1.86, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753, 1.746,
  1.74, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697,
]

/** Geometric mean of ratios with a 90% confidence interval (t-interval on the logarithms). */
function geometric(ratios) {
  const logs = ratios.filter((x) => Number.isFinite(x) && x > 0).map(Math.log)
  const n = logs.length
  if (n === 0) return { value: NaN, low: NaN, high: NaN }
  const m = mean(logs)
  if (n === 1) return { value: Math.exp(m), low: NaN, high: NaN }
  const sd = Math.sqrt(logs.reduce((acc, x) => acc + (x - m) ** 2, 0) / (n - 1))
  const half = (T90[n - 2] ?? 1.645) * (sd / Math.sqrt(n))
  return { value: Math.exp(m), low: Math.exp(m - half), high: Math.exp(m + half) }
}

/** Block ratios of an interleaved pair (req/s and per CPU-second), their geometric mean and range. */
function pairStats(pair) {
  const sum = (slices, side, f) => slices.filter((x) => x.side === side).reduce((n, x) => n + f(x), 0)
  const blockRatios = pair.blocks.map((s) => sum(s, 'a', (x) => x.rps) / sum(s, 'b', (x) => x.rps))
  const cpuRatios = pair.blocks.map(
    (s) =>
      (sum(s, 'a', (x) => x.requests) / sum(s, 'a', (x) => x.serverCpuSeconds)) /
      (sum(s, 'b', (x) => x.requests) / sum(s, 'b', (x) => x.serverCpuSeconds)),
  )
  const bad = pair.blocks.flat().reduce((n, x) => n + x.errors + x.non2xx, 0)
  const relogins = pair.blocks.flat().reduce((n, x) => n + (x.relogins ?? 0), 0)
  const p99 = (side) => mean(pair.blocks.flat().filter((x) => x.side === side && Number.isFinite(x.p99)).map((x) => x.p99))
  const rps = geometric(blockRatios)
  return {
    relogins,
    p99a: p99('a'),
    p99b: p99('b'),
    blockRatios,
    value: rps.value,
    low: rps.low,
    high: rps.high,
    min: Math.min(...blockRatios),
    max: Math.max(...blockRatios),
    cpu: geometric(cpuRatios).value,
    bad,
  }
}

/** Stops a server the harness is done with (not reported as an unexpected exit), drops its Redis keys. */
async function retire(server) {
  server.retired = true
  await stopChild(server.child)
  if (server.redisPrefix && redis) {
    await redis.dropPrefix(server.redisPrefix).catch((error) => log(`could not drop ${server.redisPrefix}*: ${error.message}`))
  }
}

/**
 * Renders the HTTP results. `run` describes the run (config, load averages, quick, pinned), so that
 * saved results (bench/results/latest.json) can be rendered again with `--report`.
 */
function renderHttp({ scenarios, state, payload, pairs, skipped: left = [], redis: redisRun = null }, run) {
  const { config, loads } = run
  const rawRef = pooledRaw(state, config.rounds)
  const ratio = (a, b, metric = throughput) => meanRatio(a, b, metric, config.rounds)
  const refOf = (id) => (id === 'koa-raw' ? rawRef : state.get(id))
  const header = [
    'Scenario',
    ...Array.from({ length: config.rounds }, (_, r) => `R${r + 1} req/s`),
    'Mean req/s',
    '× raw Koa',
    'p50 ms',
    'p99 ms',
    'Errors',
    'Non-2xx',
    'CPU srv/gen',
    'req/CPU-s',
    '× raw (CPU)',
    'Status',
  ]
  const rows = []
  const notes = [...left]
  for (const s of scenarios) {
    const entry = state.get(s.id)
    const measured = entry.rounds.filter(Boolean)
    const errors = measured.reduce((n, m) => n + m.errors, 0)
    const non2xx = measured.reduce((n, m) => n + m.non2xx, 0)
    const complete = measured.length === config.rounds
    const ok = complete && entry.problems.length === 0 && errors === 0 && non2xx === 0 && !entry.server?.exit
    if (entry.warmup && (entry.warmup.errors > 0 || entry.warmup.non2xx > 0)) {
      notes.push(`${s.id}: warm-up saw ${entry.warmup.errors} errors and ${entry.warmup.non2xx} non-2xx responses`)
    }
    for (const m of measured) {
      if (m.non2xx > 0) notes.push(`${s.id}: status codes ${JSON.stringify(m.statusCodes)}`)
    }
    if (s.refreshes && complete) {
      const refreshes = measured.reduce((n, m) => n + m.refreshes, 0)
      const relogins = measured.reduce((n, m) => n + m.relogins, 0)
      const total = measured.reduce((n, m) => n + m.requests, 0)
      notes.push(
        `${s.id}: ${formatInt(refreshes)} refreshes answered 200 of ${formatInt(total)} requests in the rounds ` +
          `(the rest logins, one per connection every ${REFRESH_CYCLE} requests); ${relogins} refreshes refused (each followed by a new login)`,
      )
    }
    for (const problem of entry.problems) notes.push(`${s.id}: FAIL: ${problem}`)
    if (entry.server?.exit) notes.push(`${s.id}: server ${entry.server.exit}`)
    for (const note of entry.notes) notes.push(`${s.id}: ${note}`)
    rows.push([
      s.id,
      ...Array.from({ length: config.rounds }, (_, r) => (entry.rounds[r] ? formatInt(entry.rounds[r].rps) : '—')),
      complete ? formatInt(mean(measured.map((m) => m.rps))) : '—',
      complete && rawRef ? ratio(entry, rawRef).toFixed(2) : '—',
      complete ? mean(measured.map((m) => m.p50)).toFixed(2) : '—',
      complete ? mean(measured.map((m) => m.p99)).toFixed(2) : '—',
      complete ? errors : '—',
      complete ? non2xx : '—',
      complete
        ? `${(mean(measured.map((m) => m.serverCpu)) * 100).toFixed(0)}/${(mean(measured.map((m) => m.genCpu)) * 100).toFixed(0)}%`
        : '—',
      complete ? formatInt(mean(measured.map(efficiency))) : '—',
      complete && rawRef ? ratio(entry, rawRef, efficiency).toFixed(2) : '—',
      ok ? 'OK' : 'FAIL',
    ])
  }
  const starved = scenarios.filter((s) => {
    const m = state.get(s.id).rounds.filter(Boolean)
    return m.length > 0 && mean(m.map((x) => x.serverCpu)) < 0.85
  })
  if (starved.length > 0) {
    notes.push(
      `${starved.length}/${scenarios.length} servers used less than 85% of their CPU while loaded: other processes ` +
        `were competing for CPU ${config.serverCpu} (load average ${loads.start} at start, ${loads.end} at end); ` +
        'treat the absolute numbers and the ratios as noisy',
    )
  }
  const genBound = scenarios.filter((s) => {
    const m = state.get(s.id).rounds.filter(Boolean)
    return m.length > 0 && mean(m.map((x) => x.genCpu)) > 0.9 && mean(m.map((x) => x.serverCpu)) < 0.9
  })
  if (genBound.length > 0) {
    notes.push(
      'load generator near saturation while the server was not (results capped by autocannon): ' +
        genBound.map((s) => s.id).join(', '),
    )
  }

  const pairsById = new Map((pairs ?? []).map((p) => [`${p.a} / ${p.b}`, pairStats(p)]))
  const targetRows = []
  const latencyRows = []
  for (const t of TARGETS) {
    const a = state.get(t.a)
    const b = refOf(t.b)
    if (!a || !b) continue
    const perRps = ratio(a, b)
    const perCpu = ratio(a, b, efficiency)
    const pair = pairsById.get(`${t.a} / ${targetB(t)}`)
    if (pair?.bad > 0) notes.push(`${t.a} / ${targetB(t)}: ${pair.bad} errors or non-2xx in the interleaved pair`)
    if (pair?.relogins > 0) notes.push(`${t.a} / ${targetB(t)}: ${pair.relogins} refreshes refused in the interleaved pair`)
    if (t.latency && pair) {
      latencyRows.push([
        t.label.replace(/^\(info\) /, ''),
        Number.isFinite(pair.p99a) ? pair.p99a.toFixed(2) : '—',
        Number.isFinite(pair.p99b) ? pair.p99b.toFixed(2) : '—',
        Number.isFinite(pair.p99a / pair.p99b) ? (pair.p99a / pair.p99b).toFixed(2) : '—',
      ])
    }
    // The verdict: the interleaved pairs when measured, else the rounds' ratio.
    const judgedBy = pair && pair.bad === 0 ? pair.value : perRps
    const judged = t.min !== null && !t.info
    let verdict = !Number.isFinite(judgedBy) ? 'n/a' : !judged ? 'info' : judgedBy >= t.min ? 'MET' : 'MISSED'
    if (judged && pair && pair.low < t.min && pair.high >= t.min) verdict += ' (interval spans it)'
    targetRows.push([
      t.label,
      `${t.a} / ${t.b === 'koa-raw' ? 'raw Koa' : t.b}`,
      pair ? pair.value.toFixed(3) : '—',
      pair && Number.isFinite(pair.low) ? `${pair.low.toFixed(3)}–${pair.high.toFixed(3)}` : '—',
      pair ? `${pair.blockRatios.length}: ${pair.min.toFixed(2)}–${pair.max.toFixed(2)}` : '—',
      pair && Number.isFinite(pair.cpu) ? pair.cpu.toFixed(3) : '—',
      Number.isFinite(perRps) ? perRps.toFixed(3) : '—',
      Number.isFinite(perCpu) ? perCpu.toFixed(3) : '—',
      t.min === null ? '—' : `≥ ${t.min}`,
      verdict,
    ])
  }

  const pairConfig = pairs?.length
    ? `${config.pairBlocks} blocks of 4 slices × ${config.pairSlice} s` +
      (config.pairMaxBlocks > config.pairBlocks
        ? ` (more, up to ${config.pairMaxBlocks}, for a judged target whose interval still held its threshold)`
        : '') +
      (pairs[0].fresh ? ` (every block on two new processes, each warmed up ${config.pairWarmup} s)` : '')
    : 'not run'
  const lines = [
    markdownTable(header, rows, ['l', ...Array(header.length - 2).fill('r'), 'l']),
    '',
    `Targets. "Interleaved": the target's two servers loaded in turn, ${pairConfig}, in the order`,
    'A B B A, then B A A B, so that a drift of the machine\'s speed over a block cancels; a block\'s ratio is',
    '(A1 + A2) / (B1 + B2) in req/s, raw Koa being the one sent the same token. Shown: the geometric mean of the',
    'block ratios, its 90% confidence interval (t-interval on the logarithms), the number of blocks with the lowest and highest one, and',
    'the same mean per CPU-second of the servers. "Rounds": the mean of the per-round ratios of the table above,',
    'each side measured once per round, tens of seconds apart. The verdict uses the interleaved mean when there',
    'is one (both sides measured within seconds of each other, on several pairs of processes), else the rounds\'',
    'req/s ratio; "interval spans it" marks a verdict this run cannot tell from noise.',
    '',
    markdownTable(
      [
        'Target',
        'Ratio',
        'Interleaved req/s',
        '90% interval',
        'Blocks',
        'Interleaved per CPU-s',
        'Rounds req/s',
        'Rounds per CPU-s',
        'Required',
        'Result',
      ],
      targetRows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  ]
  if (latencyRows.length > 0) {
    lines.push(
      '',
      'Latency of the Redis and cluster pairs: p99 in ms, the mean over the interleaved slices of each side (the',
      'p99 of the rounds is in the table above).',
      '',
      markdownTable(['Target', 'A p99 ms', 'B p99 ms', 'A / B'], latencyRows, ['l', 'r', 'r', 'r']),
    )
  }
  if (notes.length > 0) lines.push('', 'Notes:', '', ...notes.map((n) => `- ${n}`))
  const settings = [
    `- Settings: ${config.rounds} rounds × ${config.duration} s per scenario (interleaved, order reversed every other round), ` +
      `warm-up ${config.warmup} s per scenario${config.freshServers ? ' and round' : ''} (discarded), ` +
      (config.freshServers ? 'new server processes every round, ' : 'one server process per scenario for all rounds, ') +
      (config.paired ? 'raw Koa (same token) measured right before every scenario and ratios taken pairwise, ' : '') +
      `${config.connections} connections, pipelining 1, 127.0.0.1` +
      (run.pinned ? `, server on CPU ${config.serverCpu}, autocannon on CPU ${config.loadCpu} (taskset)` : ', no CPU pinning') +
      (run.quick ? ' — QUICK smoke run, numbers are indicative only' : ''),
    `- Load average (1/5/15 min): ${loads.start} before the HTTP runs, ${loads.end} after them`,
    ...(redisRun
      ? [
          `- Redis scenarios: one redis-server ${redisRun.version} on 127.0.0.1 (no persistence), ` +
            (redisRun.cpus ? `pinned to CPU ${redisRun.cpus}` : 'not pinned') +
            `; a cluster's primary and workers pinned to CPU ${config.serverCpus ?? config.serverCpu}; ` +
            'the server CPU of a Redis scenario includes the redis-server\'s; every server its own key prefix, dropped when it stops',
        ]
      : []),
    `- Token: ${JSON.stringify(Object.keys(payload))} payload, scopes ${JSON.stringify(SCOPES)}, exp in 10 years; ` +
      '"CPU srv/gen" = CPU use of the server process / of the load generator during the measured rounds; ' +
      '"req/CPU-s" = requests served per CPU-second of the server process; ' +
      (config.paired
        ? '"× raw Koa" (and every target against raw Koa) is the mean over rounds of scenario ÷ the raw Koa measurement ' +
          'taken right before it with the same token; two scenarios are compared directly, round by round; raw Koa rows ' +
          'are shown against the pooled raw Koa servers of the round'
        : '"× raw Koa" compares with the raw Koa servers of the same round, pooled (one per algorithm, each sent its own token)'),
  ]
  return { table: lines.join('\n'), settings }
}

// ---------------------------------------------------------------------------------------------
// Micro-benchmark (a pinned child process running bench/micro.js).

function runMicro() {
  const cpu = tasksetPath() ? CONFIG.serverCpu : null
  const { command, args } = pinnedNode(cpu, [path.join(BENCH, 'micro.js'), '--markdown'])
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] }), 'micro')
    child.stdin.on('error', () => {})
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => (out += chunk))
    const timer = setTimeout(() => {
      log('micro-benchmark exceeded 10 minutes, stopping it')
      stopChild(child)
    }, 600_000)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(out.trim())
      else reject(new Error(`micro-benchmark failed (${signal ?? code})`))
    })
  })
}

// ---------------------------------------------------------------------------------------------

/** `--report <file>`: renders saved HTTP results (bench/results/latest.json) again, without running. */
function report(file) {
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'))
  const config = saved.config
  const run = {
    config,
    loads: saved.loads ?? saved.loadAverages,
    quick: saved.quick ?? config.duration < 2,
    pinned: saved.pinned ?? true,
  }
  const state = new Map(
    saved.scenarios.map((s) => {
      const { problems, notes, warmup, rounds, refs } = s
      return [s.id, { scenario: s, problems, notes, warmup, rounds, refs, server: { exit: s.exit ?? null } }]
    }),
  )
  const payload = saved.payload ?? typicalPayload()
  const { table, settings } = renderHttp(
    { scenarios: saved.scenarios, state, payload, pairs: saved.pairs, skipped: saved.skipped, redis: saved.redis },
    run,
  )
  process.stdout.write(`${[...settings, '', table].join('\n')}\n`)
}

// ---------------------------------------------------------------------------------------------
// CPU profile of one scenario.

/**
 * `--profile <kind> [alg]`: runs one scenario's server under `node --cpu-prof`, loads it (warm-up,
 * then BENCH_DURATION seconds), stops it, and prints where its CPU time went
 * (bench/results/profile-<kind>-<alg>.md; the .cpuprofile next to it opens in Chrome DevTools).
 */
async function runProfile() {
  const at = argv.indexOf('--profile')
  const kind = argv[at + 1]
  const alg = argv[at + 2] && !argv[at + 2].startsWith('-') ? argv[at + 2] : 'HS256'
  const scenario = allScenarios().find((s) => s.kind === kind && s.alg === alg)
  if (!scenario) {
    const ids = [...new Set(allScenarios().map((s) => s.kind))].join(', ')
    throw new Error(`--profile needs a scenario kind and algorithm it runs with; kinds: ${ids}`)
  }
  const dir = path.join(RESULTS_DIR, 'profiles')
  fs.mkdirSync(dir, { recursive: true })
  const before = new Set(fs.readdirSync(dir))
  if (scenario.workers > 1) throw new Error('--profile takes a single-process kind (profile the base kind of a cluster)')
  if (scenario.redis) {
    const unavailable = redisUnavailable()
    if (unavailable) throw new Error(`${scenario.id} needs Redis: ${unavailable}`)
    await ensureRedis()
  }
  const { tokens } = signTokens([alg])
  const token = tokens[alg]
  const server = await startServer(scenario, token, ['--cpu-prof', '--cpu-prof-dir', dir])
  const problems = await selfCheck(scenario, server.port, token)
  if (problems.length > 0) throw new Error(`${scenario.id}: ${problems.join('; ')}`)
  pinProcess(process.pid, CONFIG.loadCpu)
  log(`profiling ${scenario.id}: ${CONFIG.warmup} s warm-up + ${CONFIG.duration} s ...`)
  const warm = await runLoad(scenario, server, token, CONFIG.warmup)
  const measured = await runLoad(scenario, server, token, CONFIG.duration)
  const bad = warm.errors + warm.non2xx + measured.errors + measured.non2xx
  // SIGTERM: the server exits through process.exit, which writes the profile.
  await stopChild(server.child, 10_000)
  await redis?.stop()
  const written = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
  if (written.length !== 1) throw new Error(`expected one new profile in ${dir}, found ${written.length}`)
  const profileFile = path.join(dir, `${kind}-${alg}.cpuprofile`)
  fs.renameSync(path.join(dir, written[0]), profileFile)
  const { renderSummary, summarize } = require('./lib/profile')
  const requests = warm.requests + measured.requests + 3
  const text = [
    `# CPU profile: ${scenario.id} (${KINDS[kind]})`,
    '',
    `Run on ${new Date().toISOString()}: ${CONFIG.warmup} s warm-up + ${CONFIG.duration} s of load, ` +
      `${CONFIG.connections} connections, ${formatInt(measured.rps)} req/s while measured, ${bad} errors or non-2xx. ` +
      'The profile covers the whole life of the server (start-up, warm-up and the measured load).',
    '',
    ...environmentLines(),
    '',
    renderSummary(summarize(JSON.parse(fs.readFileSync(profileFile, 'utf8'))), { requests }),
    '',
    `Profile: ${path.relative(process.cwd(), profileFile)}`,
  ].join('\n')
  const file = path.join(RESULTS_DIR, `profile-${kind}-${alg}.md`)
  fs.writeFileSync(file, `${text}\n`)
  process.stdout.write(`${text}\n`)
  log(`written to ${path.relative(process.cwd(), file)}`)
}

/** The MemoryStore memory table (bench/memory.js) in its own process with the collector exposed. */
function runMemory() {
  const { spawnSync } = require('node:child_process')
  const child = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'memory.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  })
  if (child.status !== 0) throw new Error('bench/memory.js failed')
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  const file = path.join(RESULTS_DIR, 'memory.md')
  fs.writeFileSync(file, child.stdout)
  process.stdout.write(child.stdout)
  log(`written to ${path.relative(process.cwd(), file)}`)
}

async function main() {
  const reportAt = argv.indexOf('--report')
  if (reportAt !== -1) return report(argv[reportAt + 1] ?? path.join(RESULTS_DIR, 'latest.json'))
  const started = Date.now()
  log(await ensureBuild(log, (child) => track(child, 'tsc')))
  checkInterrupted()
  if (MODE === 'profile') return runProfile()
  if (MODE === 'memory') return runMemory()
  // Fail early with a clear message when key material is unreadable.
  for (const alg of ['HS256', 'RS256', 'ES256']) keyMaterial(alg)

  const sections = [
    `# koa-jwt-kit benchmark${QUICK ? ' (QUICK smoke run)' : ''}`,
    '',
    `Run on ${new Date().toISOString()} with \`${['node bench/run.js', ...argv].join(' ')}\`` +
      `${QUICK ? ' and BENCH_QUICK=1' : ''}.`,
    '',
    ...environmentLines(),
  ]
  let failed = false
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  const file = path.join(RESULTS_DIR, MODE === 'micro' ? 'micro.md' : 'latest.md')
  const save = (extra = []) => {
    const text = `${[...sections, ...extra].join('\n')}\n`
    fs.writeFileSync(file, text)
    return text
  }
  if (MODE !== 'micro') {
    const result = await runHttp()
    const run = { config: CONFIG, loads: loadAverages, quick: QUICK, pinned: tasksetPath() !== null }
    const saved = {
      ...run,
      payload: result.payload,
      pairs: result.pairs,
      skipped: result.skipped,
      redis: result.redis,
      scenarios: result.scenarios.map((s) => {
        const { problems, notes, warmup, rounds, refs, server } = result.state.get(s.id)
        return { ...s, problems, notes, warmup, rounds, refs, exit: server?.exit ?? null }
      }),
    }
    fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(saved, null, 1)}\n`)
    const { table, settings } = renderHttp(result, run)
    failed = table.includes('| FAIL |')
    sections.push(...settings, '', '## HTTP (req/s, higher is better)', '', table)
    // Saved now, so a failing micro-benchmark never loses the HTTP results.
    save(['', '(micro-benchmark pending)'])
  }
  if (MODE !== 'http' && !interrupted) {
    log('micro-benchmark ...')
    let micro
    try {
      micro = await runMicro()
    } catch (error) {
      if (interrupted) throw error
      log(error.message)
      micro = `FAILED: ${error.message} (see the output above)`
      failed = true
    }
    sections.push('', '## Micro-benchmark (no HTTP)', '', micro)
  }
  sections.push('', `Total time: ${Math.round((Date.now() - started) / 1000)} s.`)
  const text = save()
  process.stdout.write(`\n${text}`)
  log(`written to ${path.relative(process.cwd(), file)}`)
  if (failed) {
    log('some scenarios FAILED (see the Status column and the notes)')
    process.exitCode = 1
  }
}

main().catch(async (error) => {
  if (interrupted) return // the signal handler stops the children and exits
  console.error(error)
  await stopAll()
  process.exit(1)
})
