'use strict'
/**
 * A redis-server for the Redis scenarios of the benchmark: loopback only, a free port, a temporary
 * directory, no persistence (the way of spec/helpers/redis-server.ts). Started only when a Redis
 * scenario is selected; stopped with SIGKILL by PID at the end, and by the harness's clean-up
 * (the child is handed to its `track`) on errors and signals.
 */
const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const { ROOT, tasksetPath } = require('./common')

/** The path of redis-server, or null when it is not installed. */
function redisServerPath() {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

/**
 * Why the Redis scenarios cannot run here (redis-server or the `redis` client missing), or null
 * when they can.
 */
function redisUnavailable() {
  if (redisServerPath() === null) {
    return 'redis-server is not installed (apt-get install -y redis-server, brew install redis)'
  }
  try {
    require.resolve('redis', { paths: [ROOT] })
  } catch {
    return 'the redis client package is not installed (npm ci installs it: a devDependency)'
  }
  return null
}

/** The version line of redis-server ("7.0.15"), or 'unknown'. */
function redisVersion() {
  try {
    const text = execFileSync(redisServerPath(), ['--version'], { encoding: 'utf8' })
    return /v=(\S+)/.exec(text)?.[1] ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

/** A port the OS has free now (closed again before redis-server takes it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** True once the server replies +PONG to an inline PING. */
function ping(port) {
  return new Promise((resolve) => {
    const socket = new net.Socket()
    let reply = ''
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.on('error', () => done(false))
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Starts redis-server and waits until it answers PING.
 *
 * @param {object} options
 * @param {(child: import('node:child_process').ChildProcess, label: string) => void} options.track -
 *   the harness's registry of children (stopped by PID on errors, signals and exit).
 * @param {string | null} options.cpus - taskset CPU list to pin the server to, or null.
 * @returns {Promise<{ url: string, port: number, pid: number, cpus: string | null, version: string,
 *   dropPrefix(prefix: string): Promise<number>, stop(): Promise<void> }>}
 */
async function startRedis({ track, cpus }) {
  const binary = redisServerPath()
  if (binary === null) throw new Error(redisUnavailable())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koa-jwt-kit-bench-redis-'))
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true })
  process.on('exit', removeDir)
  const taskset = cpus === null ? null : tasksetPath()
  let child
  let port
  let output = ''
  for (let attempt = 1; ; attempt++) {
    port = await freePort()
    const args = ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--loglevel', 'warning']
    output = ''
    child = taskset
      ? spawn(taskset, ['-c', cpus, binary, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    track(child, 'redis-server')
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk) => (output = (output + chunk).slice(-2000)))
    const deadline = Date.now() + 5000
    let up = false
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      if ((up = await ping(port))) break
      await sleep(20)
    }
    if (up) break
    kill(child)
    // A port can be taken between freePort() and the bind: try a few.
    if (attempt >= 3) {
      removeDir()
      throw new Error(`redis-server did not answer PING on port ${port}: ${output.trim() || '(no output)'}`)
    }
  }
  const url = `redis://127.0.0.1:${port}`
  // The harness's own connection, for dropping the keys of the servers it retires.
  const { createClient } = require(require.resolve('redis', { paths: [ROOT] }))
  const client = createClient({ url, disableOfflineQueue: true })
  client.on('error', () => {})
  await client.connect()
  let stopped = false
  return {
    url,
    port,
    pid: child.pid,
    cpus: taskset ? cpus : null,
    version: redisVersion(),
    /** Deletes every key under a prefix (a retired server's). @returns the number deleted. */
    async dropPrefix(prefix) {
      let cursor = '0'
      let deleted = 0
      do {
        const [next, keys] = await client.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])
        cursor = String(next)
        if (keys.length > 0) deleted += Number(await client.sendCommand(['UNLINK', ...keys]))
      } while (cursor !== '0')
      return deleted
    },
    async stop() {
      if (stopped) return
      stopped = true
      if (client.isOpen) client.destroy()
      await kill(child)
      removeDir()
    },
  }
}

/** SIGKILL by PID; resolves when the process is gone. */
function kill(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {
      resolve()
    }
  })
}

module.exports = { redisUnavailable, startRedis }
