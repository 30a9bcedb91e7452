/**
 * Starts a real `redis-server` for specs: loopback only, a free port, a temporary directory, no
 * persistence. CI installs the server (`.ci/run`); locally, `apt-get install redis-server`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A running server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** The PID of the current process (changes on `restart()`). */
  readonly pid: number
  /** Kills the server (SIGKILL by PID) and removes its directory. Idempotent. */
  stop(): Promise<void>
  /** Kills the server and starts a new one on the same port (empty: nothing is saved). */
  restart(): Promise<void>
}

/** A port the OS has free now (closed again before redis-server takes it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** The path of redis-server, or a clear error when it is not installed. */
function redisServerPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error(
      'redis-server is not installed: the Redis specs start a real server. Install it ' +
        '(apt-get install -y redis-server, brew install redis), or run the CI script .ci/run.',
    )
  }
}

/** Answers true once the server replies +PONG to an inline PING. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    let reply = ''
    const done = (ok: boolean): void => {
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function launch(binary: string, port: number, dir: string): ChildProcess {
  const child = spawn(
    binary,
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  return child
}

async function waitUntilUp(child: ChildProcess, port: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}): ${stderr()}`)
    }
    if (await ping(port)) return
    await sleep(20)
  }
  child.kill('SIGKILL')
  throw new Error(`redis-server did not answer PING on port ${port} within 5 s: ${stderr()}`)
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    process.kill(child.pid as number, 'SIGKILL')
  })
}

/** Starts a redis-server on a free loopback port and waits until it answers PING. */
export async function startRedisServer(): Promise<RedisServer> {
  const binary = redisServerPath()
  const dir = mkdtempSync(join(tmpdir(), 'koa-jwt-kit-redis-'))
  let child: ChildProcess | undefined
  let port = 0
  let output = ''
  const start = async (): Promise<void> => {
    output = ''
    child = launch(binary, port, dir)
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    await waitUntilUp(child, port, () => output.trim())
  }
  // A port can be taken between freePort() and the server's bind: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort()
    try {
      await start()
      break
    } catch (error) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true })
        throw error
      }
    }
  }
  let stopped = false
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid ?? 0
    },
    async stop() {
      if (stopped) return
      stopped = true
      if (child !== undefined) await kill(child)
      rmSync(dir, { recursive: true, force: true })
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop()')
      if (child !== undefined) await kill(child)
      await start()
    },
  }
}
