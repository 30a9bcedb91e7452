'use strict'
/**
 * Shared pieces of the benchmark harness: paths, the token payload, key material, the build of
 * bench/results/dist/, CPU pinning, machine/version information and Markdown helpers.
 */
const { execFileSync, spawn } = require('node:child_process')
const { createPrivateKey, createPublicKey } = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..')
const BENCH = path.join(ROOT, 'bench')
// Its own build, not the package's dist/: `npm pack` (and so `npm test`) cleans and rebuilds dist/,
// which would pull the library from under running bench servers.
const DIST = path.join(ROOT, 'bench', 'results', 'dist')
const SOURCE = path.join(ROOT, 'source')
const KEYS_DIR = path.join(ROOT, 'spec', 'fixtures', 'keys')

/** The scopes of the typical payload (user_id + 5 scopes). */
const SCOPES = Object.freeze(['user:read', 'user:write', 'posts:read', 'posts:write', 'admin:read'])

/** The HMAC secret used by every HS256 scenario (32 bytes of text, as a real deployment would). */
const HS_SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz'

/** Algorithms and the PEM files they use (the spec fixtures: RSA 2048, EC P-256). */
const ALGORITHMS = Object.freeze({
  HS256: { secret: HS_SECRET },
  RS256: { privateFile: 'rsa-private.pem', publicFile: 'rsa-public.pem' },
  ES256: { privateFile: 'ec-p256-private.pem', publicFile: 'ec-p256-public.pem' },
})

/** Key material of an algorithm as strings: `{ secret }` for HS*, `{ privatePem, publicPem }` else. */
function keyMaterial(alg) {
  const entry = ALGORITHMS[alg]
  if (!entry) throw new Error(`unknown algorithm ${alg}`)
  if (entry.secret) return { secret: entry.secret }
  return {
    privatePem: fs.readFileSync(path.join(KEYS_DIR, entry.privateFile), 'utf8'),
    publicPem: fs.readFileSync(path.join(KEYS_DIR, entry.publicFile), 'utf8'),
  }
}

/** KeyObjects for an algorithm: `{ signKey, verifyKey }`. */
function keyObjects(alg) {
  const { createSecretKey } = require('node:crypto')
  const material = keyMaterial(alg)
  if (material.secret) {
    const key = createSecretKey(Buffer.from(material.secret, 'utf8'))
    return { signKey: key, verifyKey: key }
  }
  return { signKey: createPrivateKey(material.privatePem), verifyKey: createPublicKey(material.publicPem) }
}

/** The typical payload: user_id, 5 scopes, iat now and exp far in the future (10 years). */
function typicalPayload(now = Math.floor(Date.now() / 1000)) {
  // fresh: the token a login gives (POST /auth issues fresh: true), so a fresh-only route takes it.
  // jti: what a token of an instance with revocation on carries (the same one in every request).
  return { user_id: 1, scopes: [...SCOPES], iat: now, exp: now + 10 * 365 * 24 * 3600, fresh: true, jti: 'benchmark-token-id-0001' }
}

/**
 * The token id every revocation scenario's server revokes before it serves: the check before load
 * sends a token with this id (otherwise the bench token), which must be refused.
 */
const REVOKED_JTI = 'benchmark-revoked-token-0001'

/** Newest modification time (ms) of the files under a directory, recursively. */
function newestMtime(dir) {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    const time = entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs
    if (time > newest) newest = time
  }
  return newest
}

/**
 * Compiles source/ into bench/results/dist/ with `tsc -p tsconfig.build.json`, unless it is newer than every
 * file of source/ and the tsconfigs. Type errors are reported but do not stop the benchmark when
 * tsc emitted JavaScript anyway. Asynchronous, so that signals are handled meanwhile.
 *
 * @param onChild - receives the tsc child process (to stop it on SIGINT).
 * @returns a short description of what happened.
 */
async function ensureBuild(log = console.error, onChild = () => {}) {
  const entry = path.join(DIST, 'index.js')
  // Written after a complete, clean build only: an interrupted or failed build leaves no stamp.
  const stamp = path.join(DIST, '.bench-build-stamp')
  const inputs = Math.max(
    newestMtime(SOURCE),
    fs.statSync(path.join(ROOT, 'tsconfig.json')).mtimeMs,
    fs.statSync(path.join(ROOT, 'tsconfig.build.json')).mtimeMs,
  )
  const fresh = fs.existsSync(entry) && fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= inputs
  if (fresh && process.env.BENCH_REBUILD !== '1') return 'bench/results/dist/ up to date'
  fs.rmSync(stamp, { force: true })
  log('building bench/results/dist/ (tsc -p tsconfig.build.json --outDir bench/results/dist) ...')
  const started = Date.now()
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] })
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', DIST], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onChild(child)
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000)
  const [code, signal] = await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (c, s) => resolve([c, s]))
  })
  clearTimeout(timer)
  if (signal) throw new Error(`tsc was stopped (${signal})`)
  if (code !== 0) {
    if (!fs.existsSync(entry)) throw new Error(`tsc failed and produced no bench/results/dist/index.js:\n${output}`)
    log(`WARNING: tsc reported errors (benchmarking the emitted JavaScript anyway):\n${output}`)
    return `bench/results/dist/ built with type errors in ${Date.now() - started} ms`
  }
  fs.writeFileSync(stamp, `${new Date().toISOString()}\n`)
  return `bench/results/dist/ built in ${Date.now() - started} ms`
}

/** Path of taskset when pinning is possible (Linux, taskset present, at least 2 CPUs). */
function tasksetPath() {
  if (process.env.BENCH_NO_PIN === '1' || process.platform !== 'linux') return null
  if (os.cpus().length < 2) return null
  for (const candidate of ['/usr/bin/taskset', '/bin/taskset', '/usr/local/bin/taskset']) {
    if (fs.existsSync(candidate)) return candidate
  }
  return null
}

/** Pins every thread of a running process to one CPU. @returns true on success. */
function pinProcess(pid, cpu) {
  const taskset = tasksetPath()
  if (!taskset) return false
  try {
    execFileSync(taskset, ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The command and arguments that run `node args...`, pinned to `cpu` when possible. */
function pinnedNode(cpu, args) {
  const taskset = tasksetPath()
  return taskset && cpu !== null
    ? { command: taskset, args: ['-c', String(cpu), process.execPath, ...args], pinned: true }
    : { command: process.execPath, args, pinned: false }
}

function packageVersion(name) {
  try {
    // Not require.resolve: packages with an "exports" map may not expose package.json.
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return 'n/a'
  }
}

function gitRevision() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim()
    const rev = git('rev-parse', '--short', 'HEAD')
    const dirty = git('status', '--porcelain', '--', 'source')
    return dirty ? `${rev} (source/ modified)` : rev
  } catch {
    return 'n/a'
  }
}

/** Machine, Node and package versions, as Markdown lines. */
function environmentLines() {
  let model = os.cpus()[0]?.model ?? 'unknown'
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'))
    if (line) model = line.split(':')[1].trim()
  } catch {
    // not Linux
  }
  const kit = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version
  const names = ['koa', '@koa/router', 'koa-body', 'jsonwebtoken', 'koa-jwt', 'fast-jwt', 'autocannon']
  const memory = `${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`
  const versions = names.map((n) => `${n} ${packageVersion(n)}`).join(', ')
  return [
    `- Machine: ${os.cpus().length} CPUs (nproc), ${model}, ${memory}, ${os.type()} ${os.release()}`,
    `- Node ${process.version}; koa-jwt-kit ${kit} (git ${gitRevision()}); ${versions}`,
  ]
}

/** Renders a Markdown table. `align` holds 'l' or 'r' per column. */
function markdownTable(header, rows, align = []) {
  const sep = header.map((_, i) => (align[i] === 'r' ? '---:' : '---'))
  const line = (cells) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`
  return [line(header), line(sep), ...rows.map(line)].join('\n')
}

/** 12345.6 → '12,346'. */
function formatInt(value) {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'
}

function mean(values) {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length
}

module.exports = {
  ALGORITHMS,
  BENCH,
  DIST,
  HS_SECRET,
  KEYS_DIR,
  REVOKED_JTI,
  ROOT,
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
  tasksetPath,
  typicalPayload,
}
