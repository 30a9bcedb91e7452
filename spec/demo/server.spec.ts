import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { dirname, join } from 'node:path'

import { expect } from 'chai'

import { banner, baseUrl, listenOptions, startDemoServer } from '../../demo/server'

const ROOT = join(__dirname, '..', '..')
const TS_NODE = require.resolve('ts-node/dist/bin.js')
/** The whole spawn → paste → kill round is bounded by this. */
const BOUND_MS = 45_000
/** The pasted lines wait past the refresh reuse interval once (sleep 6), and start node for each token. */
const PASTE_MS = 30_000

/** The shell lines of the printed "Try it" block, as a user would paste them. */
function pastedLines(output: string): string[] {
  const start = output.indexOf('Try it')
  const end = output.indexOf('Press Ctrl+C')
  if (start < 0 || end < 0) throw new Error(`no "Try it" block in:\n${output}`)
  return output
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('  ') && !line.trimStart().startsWith('#'))
    .map((line) => line.slice(2))
}

function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body)
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> })
        })
      },
    )
    req.on('error', reject)
    req.end(data)
  })
}

describe('demo: server.ts', () => {
  describe('listenOptions()', () => {
    it('defaults to 127.0.0.1:3000 and reads PORT and HOST', () => {
      expect(listenOptions({})).to.deep.equal({ port: 3000, host: '127.0.0.1' })
      expect(listenOptions({ PORT: '0', HOST: '0.0.0.0' })).to.deep.equal({ port: 0, host: '0.0.0.0' })
    })

    it('throws a TypeError for a PORT that is not a port number', () => {
      for (const PORT of ['abc', '-1', '70000', '3000x']) {
        expect(() => listenOptions({ PORT }), PORT).to.throw(TypeError)
      }
    })
  })

  describe('baseUrl()', () => {
    it('prints loopback for wildcard hosts and brackets IPv6 hosts', () => {
      expect(baseUrl('0.0.0.0', 8080)).to.equal('http://127.0.0.1:8080')
      expect(baseUrl('::', 8080)).to.equal('http://[::1]:8080')
      expect(baseUrl('::1', 1)).to.equal('http://[::1]:1')
      expect(baseUrl('localhost', 3000)).to.equal('http://localhost:3000')
    })
  })

  describe('banner()', () => {
    it('puts the real URL in every curl line', () => {
      const lines = pastedLines(banner('http://127.0.0.1:4567', 1800))
      const curls = lines.filter((line) => line.includes('curl '))
      expect(curls).to.have.length.greaterThan(8)
      for (const line of curls) expect(line).to.include('http://127.0.0.1:4567/')
    })

    it('points a browser at the login page', () => {
      expect(banner('http://127.0.0.1:4567', 1800)).to.include(
        'In a browser: http://127.0.0.1:4567/app, a login page (tokens in HttpOnly cookies, the CSRF header on every\n' +
          'request that changes something, refresh and logout).',
      )
    })

    it('states the access-token lifetime', () => {
      expect(banner('http://x', 1800)).to.include('Access tokens live 30 minutes.')
      expect(banner('http://x', 45)).to.include('Access tokens live 45 seconds.')
    })

    it('states how long login tokens are fresh when given the loginFreshness setting', () => {
      expect(banner('http://x', 1800, 900)).to.include(
        'Access tokens from POST /auth and POST /auth/fresh are fresh for 15 minutes; refreshed tokens never are.',
      )
      expect(banner('http://x', 1800, true)).to.include('are fresh for their whole life;')
      expect(banner('http://x', 1800)).to.not.include('fresh for')
    })

    it('prints the fresh login and the change-password calls, with the 401 of a refreshed token', () => {
      const text = banner('http://127.0.0.1:4567', 1800, 900)
      const lines = pastedLines(text)
      const calls = (path: string): string[] =>
        lines.filter((line) => line.includes('curl ') && line.includes(`http://127.0.0.1:4567${path} `))
      expect(calls('/auth/fresh')).to.have.length(2)
      const changes = calls('/account/password')
      expect(changes).to.have.length(3)
      // The refreshed token, refused; the fresh token; a new login's token, changing it back.
      expect(changes[0]).to.include('$TOKEN').and.include(`'{"newPassword":"looking-glass"}'`)
      expect(changes[1]).to.include('$FRESH')
      expect(changes[2]).to.include('$TOKEN')
      expect(text).to.include('changing the password with it is 401 ERR_JWT_NEEDS_FRESH')
      expect(text).to.include('logged out everywhere: {"changed":true,"logout":"everywhere"}')
      // Changed, then changed back: pasting the lines again works.
      expect(changes[1]).to.include(`'{"currentPassword":"wonderland","newPassword":"looking-glass"}'`)
      expect(changes[2]).to.include(`'{"currentPassword":"looking-glass","newPassword":"wonderland"}'`)
    })

    it('refreshes once per rotation, keeping both new tokens, and waits past the reuse interval before reusing one', () => {
      const lines = pastedLines(banner('http://127.0.0.1:4567', 1800, 900))
      const refreshes = lines.filter((line) => line.includes('/auth/refresh '))
      // Rotated twice (kept), within the interval, reused, revoked twice.
      expect(refreshes).to.have.length(6)
      for (const kept of lines.filter((line) => line.startsWith('ANSWER=$('))) expect(kept).to.include('/auth/refresh ')
      const kept = lines.filter((line) => line.startsWith('REFRESH=$(printf') && line.includes('"$ANSWER"'))
      expect(kept).to.have.length(2)
      const reused = lines.flatMap((line, index) => (line.includes('$OLD_REFRESH') ? [index] : []))
      expect(reused).to.have.length(2)
      const sleep = lines.indexOf('sleep 6')
      expect(sleep).to.be.greaterThan(reused[0] ?? Infinity)
      expect(sleep).to.be.lessThan(reused[1] ?? -1)
      expect(pastedLines(banner('http://x', 1800, 900, 2))).to.include('sleep 3')
    })

    it('prints the logout, the audit trail and the notes on sessions', () => {
      const text = banner('http://127.0.0.1:4567', 1800, 900)
      const lines = pastedLines(text)
      expect(lines).to.include('curl -s -w \'\\n\' -X POST http://127.0.0.1:4567/auth/logout -H "Authorization: Bearer $PHONE"')
      expect(lines).to.include('curl -s -w \'\\n\' http://127.0.0.1:4567/admin/audit -H "Authorization: Bearer $ADMIN_TOKEN"')
      expect(text).to.include('Every POST /auth/refresh answers a new refresh_token')
      expect(text).to.include('POST /auth/logout revokes the access token and the refresh token of its login')
      expect(text).to.include('POST /account/password logs the user out everywhere, this device included')
      expect(text).to.include('GET /admin/audit (scope admin) lists the last 100')
    })
  })

  describe('startDemoServer()', () => {
    it('uses JWT_SECRET without a warning', async () => {
      const warnings: string[] = []
      const env = { PORT: '0', JWT_SECRET: 'a-secret-from-the-environment-of-32-bytes' }
      const { server, url } = await startDemoServer(env, (m) => warnings.push(m))
      try {
        expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(url).to.not.equal('http://127.0.0.1:0')
        expect(warnings).to.deep.equal([])
      } finally {
        server.close()
      }
    })

    it('logs a line for each audit event, without the tokens', async () => {
      const logged: string[] = []
      const env = { PORT: '0', JWT_SECRET: 'a-secret-from-the-environment-of-32-bytes' }
      const { server, url } = await startDemoServer(env, () => {}, (line) => logged.push(line))
      try {
        const res = await postJson(`${url}/auth`, { username: 'alice', password: 'wonderland' })
        expect(res.status).to.equal(200)
        expect(logged).to.have.length(1)
        expect(logged[0]).to.match(/^audit: login user=1 jti=[\w-]{22} at \d{4}-\d\d-\d\dT/)
        expect(logged[0]).to.not.include(String(res.body['access_token']))
        expect(logged[0]).to.not.include(String(res.body['refresh_token']))
      } finally {
        server.close()
      }
    })

    it('warns that tokens die with the process when JWT_SECRET is unset or empty', async () => {
      for (const env of [{ PORT: '0' }, { PORT: '0', JWT_SECRET: '' }]) {
        const warnings: string[] = []
        const { server } = await startDemoServer(env, (m) => warnings.push(m))
        server.close()
        expect(warnings).to.have.length(1)
        expect(warnings[0]).to.match(/JWT_SECRET is not set.*random secret.*process exits/)
      }
    })
  })

  describe('npm start (ts-node --transpile-only demo/server.ts)', function () {
    this.timeout(BOUND_MS)
    let child: ChildProcess | undefined
    let stdout = ''
    let stderr = ''
    let url = ''

    before(async function () {
      const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1' }
      delete env['JWT_SECRET']
      child = spawn(process.execPath, [TS_NODE, '--transpile-only', 'demo/server.ts'], { cwd: ROOT, env })
      const started = child
      started.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
      started.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      await new Promise<void>((resolve, reject) => {
        const fail = (): void => reject(new Error(`no banner after 15 s:\n${stdout}\n${stderr}`))
        const timer = setTimeout(fail, 15_000)
        const check = (): void => {
          if (!stdout.includes('Press Ctrl+C to stop.')) return
          clearTimeout(timer)
          resolve()
        }
        started.stdout?.on('data', check)
        started.once('exit', (code) => {
          clearTimeout(timer)
          reject(new Error(`server exited with ${code}:\n${stdout}\n${stderr}`))
        })
      })
      const match = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(stdout)
      url = match?.[1] ?? ''
    })

    after(async () => {
      const running = child
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
      running.kill('SIGTERM')
      const timer = setTimeout(() => running.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
    })

    it('prints the URL with the real port', () => {
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(url).to.not.match(/:0$/)
    })

    it('warns on stderr that the generated secret dies with the process', () => {
      expect(stderr).to.match(/WARNING: JWT_SECRET is not set/)
    })

    it('prints curl lines for every step of the story with the real port', () => {
      const lines = pastedLines(stdout)
      const paths = [
        '/auth ',
        '/auth/verify',
        '/auth/me',
        '/auth/refresh',
        '/api/profile',
        '/api/admin',
        '/auth/logout',
        '/auth/fresh',
        '/account/password',
        '/admin/audit',
      ]
      for (const path of paths) {
        const printed = lines.some((line) => line.includes('curl ') && line.includes(`${url}${path}`))
        expect(printed, path).to.equal(true)
      }
      for (const variable of ['TOKEN', 'REFRESH', 'ANSWER', 'PHONE', 'FRESH', 'ADMIN_TOKEN']) {
        expect(lines.some((line) => line.startsWith(`${variable}=$(`)), variable).to.equal(true)
      }
      expect(lines).to.include('OLD_REFRESH=$REFRESH')
    })

    it('states the freshness window of login tokens', () => {
      expect(stdout).to.include('POST /auth/fresh are fresh for 15 minutes')
    })

    it('answers the printed lines as their comments say when pasted into /bin/sh', async () => {
      const hasCurl = spawnSync('/bin/sh', ['-c', 'command -v curl']).status === 0
      if (!hasCurl) {
        const res = await postJson(`${url}/auth`, { username: 'alice', password: 'wonderland' })
        expect(res.status).to.equal(200)
        expect(res.body['access_token']).to.be.a('string')
        expect(res.body['refresh_token']).to.be.a('string')
        return
      }
      const script = pastedLines(stdout).join('\n')
      const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` }
      const output = await new Promise<string>((resolve, reject) => {
        execFile('/bin/sh', ['-c', script], { env, timeout: PASTE_MS }, (error, out, err) =>
          error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
        )
      })
      const answers = output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
      expect(answers).to.have.length(19)
      const [
        login,
        verify,
        me,
        profile,
        forbidden,
        admin,
        rotated,
        withinInterval,
        reused,
        revokedAfterReuse,
        logout,
        phoneRefused,
        rotatedAgain,
        notFresh,
        freshLogin,
        changed,
        revokedAfterChange,
        changedBack,
        audit,
      ] = answers
      expect(login?.['access_token']).to.be.a('string')
      expect(login?.['user']).to.deep.equal({ id: 1, username: 'alice' })
      expect(verify).to.deep.equal({ valid: true })
      expect(me?.['me']).to.deep.include({ username: 'alice' })
      expect(profile?.['profile']).to.deep.include({ username: 'alice' })
      expect(forbidden).to.include({ exception: 'Unauthorized', code: 'ERR_JWT_INVALID_SCOPE' })
      expect(admin).to.include({ admin: true })
      expect(Object.keys(rotated ?? {})).to.deep.equal(['access_token', 'refresh_token'])
      expect(Object.keys(withinInterval ?? {})).to.deep.equal(['access_token'])
      expect(reused).to.include({ exception: 'RefreshTokenReused', code: 'ERR_JWT_REFRESH_REUSED' })
      expect(revokedAfterReuse).to.include({ exception: 'RevokedToken', code: 'ERR_JWT_REVOKED' })
      expect(logout).to.deep.equal({ logout: true })
      expect(phoneRefused).to.include({ exception: 'RevokedToken', code: 'ERR_JWT_REVOKED' })
      expect(Object.keys(rotatedAgain ?? {})).to.deep.equal(['access_token', 'refresh_token'])
      expect(notFresh).to.include({ exception: 'NeedsFreshToken', code: 'ERR_JWT_NEEDS_FRESH' })
      expect(Object.keys(freshLogin ?? {})).to.deep.equal(['access_token'])
      expect(changed).to.deep.equal({ changed: true, logout: 'everywhere' })
      expect(revokedAfterChange).to.include({ exception: 'RevokedToken', code: 'ERR_JWT_REVOKED' })
      expect(changedBack).to.deep.equal({ changed: true, logout: 'everywhere' })
      const events = (audit?.['events'] ?? []) as { type: string }[]
      const types = events.map((event) => event.type)
      for (const type of ['login', 'refresh', 'reuse_detected', 'revoked', 'logout']) {
        expect(types, type).to.include(type)
      }
      // Never a token, in the audit trail or in the server's log.
      const tokens = answers.flatMap((answer) =>
        ['access_token', 'refresh_token'].map((key) => answer[key]).filter((token) => typeof token === 'string'),
      ) as string[]
      expect(tokens).to.have.length.greaterThan(5)
      for (const token of tokens) {
        expect(JSON.stringify(audit)).to.not.include(token)
        expect(stdout).to.not.include(token)
      }
      expect(stdout).to.match(/^audit: reuse_detected user=1 /m)
      // The password was changed back: the lines can be pasted again.
      const again = await postJson(`${url}/auth`, { username: 'alice', password: 'wonderland' })
      expect(again.status).to.equal(200)
    })
  })
})
