#!/usr/bin/env node
'use strict'
/**
 * Micro-benchmark without HTTP: verification through a key ring of 3 keys (`keys` option, the key
 * picked by the token's `kid`) against a single key (the key settings), issue #23's target "a
 * 3-key ring within noise of a single key".
 *
 *   node bench/keyring.js          (builds bench/results/dist/ when stale; table on stdout and in
 *                                   bench/results/keyring.md)
 *
 * Both sides run the library's own verifier (core/TokenVerifier over core/KeyStore, as
 * `protected()` calls it, synchronously: no promise), with the typical bench payload, verify cache
 * off, revocation off. The ring's token names its third key. Interleaved blocks: each block times
 * A B B A (B A A B every other block) in slices, its ratio is (A1 + A2) / (B1 + B2) in
 * verifications per second; the result is the geometric mean of the block ratios with its 90%
 * interval (Student t on the logarithms), as bench/run.js judges its pairs. An A/A pair (the
 * single key against an identical verifier) gives the noise of the run.
 *
 * Environment: BENCH_QUICK=1 (short), BENCH_KEYRING_BLOCKS (default 30), BENCH_KEYRING_SLICE_MS
 * (default 150).
 */
const fs = require('node:fs')
const path = require('node:path')

const { BENCH, DIST, ensureBuild, keyMaterial, markdownTable, mean, typicalPayload } = require('./lib/common')

const QUICK = process.env.BENCH_QUICK === '1'
const BLOCKS = Math.max(3, Number(process.env.BENCH_KEYRING_BLOCKS) || (QUICK ? 6 : 30))
const SLICE_MS = Number(process.env.BENCH_KEYRING_SLICE_MS) || (QUICK ? 40 : 150)
const ALGS = ['HS256', 'ES256']

const log = (...parts) => console.error('[keyring]', ...parts)

/** Two-sided 90% Student t quantiles by degrees of freedom (1..30; beyond: the normal 1.645). */
const T90 = [
  6.314, 2.92, 2.353, 2.132, 2.015, 1.943, 1.895, 1.86, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753, 1.746,
  1.74, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697,
]

function geometric(ratios) {
  const logs = ratios.map(Math.log)
  const n = logs.length
  const m = mean(logs)
  const sd = Math.sqrt(logs.reduce((acc, x) => acc + (x - m) ** 2, 0) / (n - 1))
  const half = (T90[n - 2] ?? 1.645) * (sd / Math.sqrt(n))
  return { value: Math.exp(m), low: Math.exp(m - half), high: Math.exp(m + half) }
}

let sink = 0

/** Verifications per second of `fn` over `ms`, in batches of `batch`. */
function rate(fn, ms, batch) {
  const start = process.hrtime.bigint()
  const end = start + BigInt(Math.round(ms * 1e6))
  let ops = 0
  let now
  do {
    for (let i = 0; i < batch; i++) sink += fn().user_id
    ops += batch
    now = process.hrtime.bigint()
  } while (now < end)
  return ops / (Number(now - start) / 1e9)
}

/** A verify function of the library's verifier for `options` (settings) and `keys` (a ring, or none). */
function verifierOf(options, keys) {
  const { Configuration } = require(DIST)
  const { KeyStore } = require(path.join(DIST, 'core', 'KeyStore.js'))
  const { TokenVerifier } = require(path.join(DIST, 'core', 'TokenVerifier.js'))
  const config = new Configuration(keys === undefined ? options : { ...options, keys })
  config.resolve()
  const store = new KeyStore(config)
  store.configure(keys)
  if (store.source === undefined) store.compiled()
  const verifier = new TokenVerifier(config, store)
  verifier.setup([], [], false)
  const host = { retrieveUserSecret: () => undefined, isTokenRevoked: () => false }
  const none = Object.freeze({})
  return (token) => {
    const payload = verifier.verify(token, none, host)
    if (typeof payload.then === 'function') throw new Error('the verifier returned a promise')
    return payload
  }
}

function cases(alg) {
  const jsonwebtoken = require('jsonwebtoken')
  const { generateKeyPairSync } = require('node:crypto')
  const material = keyMaterial(alg)
  const payload = typicalPayload()
  const symmetric = material.secret !== undefined
  const other = (n) => {
    if (symmetric) return { secret: `${material.secret}-other-${n}` }
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
  }
  const own = symmetric ? { secret: material.secret } : { privateKey: material.privatePem, publicKey: material.publicPem }
  const ring = [
    { kid: 'key-1', algorithm: alg, ...other(1) },
    { kid: 'key-2', algorithm: alg, ...other(2) },
    { kid: 'key-3', algorithm: alg, ...own },
  ]
  const signWith = symmetric ? material.secret : material.privatePem
  const plain = jsonwebtoken.sign(payload, signWith, { algorithm: alg })
  const named = jsonwebtoken.sign(payload, signWith, { algorithm: alg, keyid: 'key-3' })
  const single = symmetric
    ? { algorithm: alg, secret: material.secret }
    : { algorithm: alg, secret: material.publicPem, privateKey: material.privatePem }
  const singleVerify = verifierOf(single, undefined)
  const twinVerify = verifierOf(single, undefined)
  const ringVerify = verifierOf({}, ring)
  for (const [name, fn, token] of [
    ['single', singleVerify, plain],
    ['ring', ringVerify, named],
  ]) {
    if (fn(token).user_id !== 1) throw new Error(`${alg} ${name}: bad payload`)
  }
  // The ring's own step alone: the key of the token's kid (KeyRing#find, as the verifier calls it).
  const { compileRing } = require(path.join(DIST, 'core', 'key-ring.js'))
  const compiled = compileRing(ring, { requireSigning: false, publish: false })
  const found = { user_id: 1 }
  return {
    lookup: () => (compiled.find(named) === undefined ? undefined : found),
    ring: () => ringVerify(named),
    single: () => singleVerify(plain),
    twin: () => twinVerify(plain),
  }
}

/** Interleaved blocks of A against B. @returns the block ratios (A / B in verifications per second). */
function pair(a, b) {
  const batch = 64
  for (const fn of [a, b]) rate(fn, QUICK ? 50 : 300, batch) // warm-up
  const ratios = []
  for (let block = 0; block < BLOCKS; block++) {
    const order = block % 2 === 0 ? [a, b, b, a] : [b, a, a, b]
    let sumA = 0
    let sumB = 0
    for (const fn of order) {
      const r = rate(fn, SLICE_MS, batch)
      if (fn === a) sumA += r
      else sumB += r
    }
    ratios.push(sumA / sumB)
  }
  return ratios
}

async function main() {
  await ensureBuild(log)
  const rows = []
  for (const alg of ALGS) {
    const c = cases(alg)
    log(`${alg}: ring of 3 vs single key, ${BLOCKS} blocks of 4 × ${SLICE_MS} ms`)
    const ring = geometric(pair(c.ring, c.single))
    log(`${alg}: A/A control`)
    const control = geometric(pair(c.twin, c.single))
    const singleRate = rate(c.single, 200, 64)
    const lookupRate = Math.max(...[1, 2, 3].map(() => rate(c.lookup, 200, 1024)))
    const fmt = (g) => `${g.value.toFixed(3)} [${g.low.toFixed(3)}–${g.high.toFixed(3)}]`
    rows.push([alg, `${(1e6 / singleRate).toFixed(2)} µs`, `${(1e9 / lookupRate).toFixed(0)} ns`, fmt(ring), fmt(control)])
  }
  const table = markdownTable(
    [
      'algorithm',
      'single key, per verification',
      'key lookup by kid (best of 3)',
      'ring of 3 / single key [90% interval]',
      'A/A control [90% interval]',
    ],
    rows,
    ['l', 'r', 'r', 'r', 'r'],
  )
  const text = [
    `Verification through a ring of 3 keys vs a single key, without HTTP (${BLOCKS} interleaved blocks of 4 × ${SLICE_MS} ms; Node ${process.version}).`,
    '',
    table,
    '',
  ].join('\n')
  process.stdout.write(`${text}\n`)
  fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true })
  fs.writeFileSync(path.join(BENCH, 'results', 'keyring.md'), text)
  if (sink === 0) log('(sink)')
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
