'use strict'
/**
 * One benchmark server: `node bench/servers/server.js <kind> <alg>`.
 *
 * Listens on 127.0.0.1 on a free port and prints `READY {"port":...,"notes":[...]}` on stdout.
 * Exits when its stdin closes (the harness died) or on SIGTERM/SIGINT.
 * koa-jwt-kit is loaded from bench/results/dist/ (bench/run.js builds it first).
 */
const { buildApp } = require('../lib/apps')

const [kind, alg = 'HS256'] = process.argv.slice(2)
const notes = []

process.on('warning', (warning) => {
  if (warning.code === 'KOA_JWT_KIT_UNKNOWN_OPTION') notes.push(`library warning: ${warning.message}`)
})

let server

async function start() {
  const { app, probes } = buildApp(kind, alg, { notes })
  // Warnings are emitted on a later tick than emitWarning: let them arrive first.
  await new Promise((resolve) => setImmediate(resolve))
  for (const probe of probes) await probe(process.env.BENCH_TOKEN)
  server = app.listen(0, '127.0.0.1', () => {
    const info = { port: server.address().port, pid: process.pid, notes }
    process.stdout.write(`READY ${JSON.stringify(info)}\n`)
  })
  server.keepAliveTimeout = 60_000
}

start().catch((error) => {
  const reason = error && error.stack ? error.stack : error
  process.stderr.write(`server ${kind} ${alg} failed to start: ${reason}\n`)
  process.exit(1)
})

function shutdown() {
  server?.close()
  server?.closeAllConnections?.()
  process.exit(0)
}
// The cause goes to stderr: the harness shows it when a server stops before it was told to.
const stopOn = (cause) => () => {
  process.stderr.write(`server ${kind} ${alg} (pid ${process.pid}) stopping: ${cause}\n`)
  shutdown()
}
process.on('SIGTERM', stopOn('SIGTERM'))
process.on('SIGINT', stopOn('SIGINT'))
process.on('SIGHUP', stopOn('SIGHUP'))
// The harness holds our stdin open; when it goes away (even killed), so do we.
process.stdin.on('end', stopOn('stdin closed (harness gone)'))
process.stdin.on('error', stopOn('stdin error'))
process.stdin.resume()
