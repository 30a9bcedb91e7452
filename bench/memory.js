#!/usr/bin/env node
'use strict'
/**
 * Memory of the MemoryStore while an instance with revocation on issues many tokens:
 *
 *   node --expose-gc bench/memory.js            (1,000,000 tokens; BENCH_MEMORY_TOKENS to change)
 *   node bench/run.js --memory                  (the same, table saved to bench/results/memory.md)
 *
 * Tokens are issued through `jwt.auth.generateAccessToken()` (signing, recording), the store
 * bounded by its default `maxEntries` (100,000) and, in a second pass, by `maxEntries` = the number
 * of tokens (nothing evicted: the bytes per entry of a store that keeps everything). The heap is
 * measured after a full garbage collection at checkpoints.
 */
const { DIST, ensureBuild, formatInt, markdownTable } = require('./lib/common')

const TOKENS = Number(process.env.BENCH_MEMORY_TOKENS) || 1_000_000
const log = (...parts) => console.error('[memory]', ...parts)

function heapAfterGc() {
  global.gc()
  global.gc()
  return process.memoryUsage().heapUsed
}

async function pass(maxEntries) {
  const Koa = require('koa')
  const { Initialize, MemoryStore } = require(DIST)
  const store = new MemoryStore({ maxEntries })
  const jwt = new Initialize(new Koa(), {
    secret: 'a-benchmark-secret-of-at-least-32-bytes!',
    authenticate: () => ({ user_id: 1 }),
    tokenStore: store,
  })
  const before = heapAfterGc()
  const rows = []
  const step = TOKENS / 5
  const started = Date.now()
  for (let i = 1; i <= TOKENS; i++) {
    // A thousand users, so the per-user index is exercised as in an application.
    await jwt.auth.generateAccessToken({ user_id: i % 1000 })
    if (i % step === 0) {
      const used = heapAfterGc() - before
      rows.push([formatInt(i), formatInt(store.size), `${(used / 1048576).toFixed(1)} MiB`, formatInt(Math.round(used / store.size))])
      log(`maxEntries ${formatInt(maxEntries)}: ${formatInt(i)} tokens, ${formatInt(store.size)} entries, ${(used / 1048576).toFixed(1)} MiB`)
    }
  }
  const seconds = (Date.now() - started) / 1000
  await store.close()
  return { rows, seconds }
}

async function main() {
  if (typeof global.gc !== 'function') {
    // Re-run with the collector exposed: heap figures without a full collection mean little.
    const { spawnSync } = require('node:child_process')
    const child = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], { stdio: 'inherit' })
    process.exit(child.status ?? 1)
  }
  await ensureBuild(log)
  const sections = []
  for (const maxEntries of [100_000, TOKENS]) {
    const { rows, seconds } = await pass(maxEntries)
    sections.push(
      `### maxEntries ${formatInt(maxEntries)} (${formatInt(TOKENS)} tokens issued in ${seconds.toFixed(0)} s)\n\n` +
        markdownTable(['tokens issued', 'entries held', 'heap used by the store', 'bytes per entry'], rows),
    )
  }
  const report = `## MemoryStore memory (Node ${process.version})\n\n${sections.join('\n\n')}\n`
  console.log(report)
  return report
}

module.exports = { main }

if (require.main === module) {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
