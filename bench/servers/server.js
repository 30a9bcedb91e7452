'use strict'
/**
 * One benchmark server: `node bench/servers/server.js <kind> <alg>`.
 *
 * Listens on 127.0.0.1 on a free port and prints `READY {"port":...,"pids":[...],"notes":[...]}` on
 * stdout. Exits when its stdin closes (the harness died) or on SIGTERM/SIGINT.
 * koa-jwt-kit is loaded from bench/results/dist/ (bench/run.js builds it first).
 *
 * A cluster kind (bench/lib/scenarios.js CLUSTERS) runs as a node:cluster primary that forks its
 * workers, each serving the base kind on one shared port (the primary distributes the
 * connections, round-robin); READY comes once every worker listens, with every PID (the harness
 * pins and measures them all). A worker exits when the primary goes away.
 */
const cluster = require('node:cluster')

const { buildApp } = require('../lib/apps')
const { CLUSTERS } = require('../lib/scenarios')

const [kind, alg = 'HS256'] = process.argv.slice(2)
const clustered = CLUSTERS[kind]
const notes = []

process.on('warning', (warning) => {
  if (warning.code === 'KOA_JWT_KIT_UNKNOWN_OPTION') notes.push(`library warning: ${warning.message}`)
  if (warning.code === 'KOA_JWT_STORE_EVICTING') notes.push(`library warning: ${warning.message}`)
})

let server
let workers = []

/** Builds the app, runs its probes, listens; a worker reports to the primary instead of stdout. */
async function serve(appKind) {
  const { app, probes } = buildApp(appKind, alg, { notes })
  // Warnings are emitted on a later tick than emitWarning: let them arrive first.
  await new Promise((resolve) => setImmediate(resolve))
  for (const probe of probes) await probe(process.env.BENCH_TOKEN)
  server = app.listen(0, '127.0.0.1', () => {
    const info = { port: server.address().port, pid: process.pid, pids: [process.pid], notes }
    if (cluster.isWorker) process.send({ ready: info })
    else process.stdout.write(`READY ${JSON.stringify(info)}\n`)
  })
  server.keepAliveTimeout = 60_000
}

/** The primary of a cluster kind: forks the workers, READY once all of them listen on one port. */
function primary({ base, workers: count }) {
  const ready = []
  for (let i = 0; i < count; i++) {
    const worker = cluster.fork()
    workers.push(worker)
    worker.on('message', (message) => {
      if (!message?.ready) return
      ready.push(message.ready)
      if (ready.length < count) return
      const ports = new Set(ready.map((r) => r.port))
      if (ports.size !== 1) {
        process.stderr.write(`cluster workers listen on different ports: ${[...ports].join(', ')}\n`)
        shutdown(1)
        return
      }
      const info = {
        port: ready[0].port,
        pid: process.pid,
        pids: [process.pid, ...ready.map((r) => r.pid)],
        notes: [
          `${count} node:cluster workers of ${base} on one port (pids ${ready.map((r) => r.pid).join(', ')})`,
          ...ready[0].notes,
        ],
      }
      process.stdout.write(`READY ${JSON.stringify(info)}\n`)
    })
    worker.on('exit', (code, signal) => {
      if (stoppingCluster) return
      process.stderr.write(`cluster worker ${worker.process.pid} of ${kind} exited (${signal ?? code})\n`)
      shutdown(1)
    })
  }
}

let stoppingCluster = false

function shutdown(code = 0) {
  stoppingCluster = true
  for (const worker of workers) {
    try {
      process.kill(worker.process.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  workers = []
  server?.close()
  server?.closeAllConnections?.()
  process.exit(code)
}

if (clustered && cluster.isPrimary) {
  primary(clustered)
} else {
  serve(clustered ? clustered.base : kind).catch((error) => {
    const reason = error && error.stack ? error.stack : error
    process.stderr.write(`server ${kind} ${alg} failed to start: ${reason}\n`)
    process.exit(1)
  })
}

// The cause goes to stderr: the harness shows it when a server stops before it was told to.
const stopOn = (cause) => () => {
  process.stderr.write(`server ${kind} ${alg} (pid ${process.pid}) stopping: ${cause}\n`)
  shutdown()
}
if (cluster.isWorker) {
  // The primary is the harness's child: a worker goes when the primary goes (even killed).
  process.on('disconnect', () => process.exit(0))
  process.on('SIGTERM', () => process.exit(0))
  process.on('SIGINT', () => {}) // a Ctrl-C reaches the whole group: the primary stops the workers
} else {
  process.on('SIGTERM', stopOn('SIGTERM'))
  process.on('SIGINT', stopOn('SIGINT'))
  process.on('SIGHUP', stopOn('SIGHUP'))
  // The harness holds our stdin open; when it goes away (even killed), so do we.
  process.stdin.on('end', stopOn('stdin closed (harness gone)'))
  process.stdin.on('error', stopOn('stdin error'))
  process.stdin.resume()
}
