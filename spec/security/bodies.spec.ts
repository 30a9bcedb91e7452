import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'

import { expect } from 'chai'

import { buildApp, makeClock, refreshStore, type TestApp } from '../helpers/app'
import { captureStderr, expectFailure, expectRefused, logs } from '../helpers/attacks'

const INVALID_BODY = { status: 400, exception: 'InvalidRequestBody', code: 'ERR_JWT_INVALID_BODY' }
const TOO_LARGE = { status: 413, exception: 'InvalidRequestBody', code: 'ERR_JWT_BODY_TOO_LARGE' }
const UNSUPPORTED = { status: 415, exception: 'InvalidRequestBody', code: 'ERR_JWT_UNSUPPORTED_MEDIA_TYPE' }
const AUTH_FAILED = { status: 401, exception: 'AuthenticationFailed', code: 'ERR_JWT_AUTHENTICATION_FAILED' }

const MB = 1024 * 1024

type Req = ReturnType<TestApp['agent']['post']>

/** Sends `body` as raw bytes (superagent would otherwise JSON-encode a Buffer sent as JSON). */
function sendRaw(req: Req, encoding: string, body: Buffer | string, type = 'application/json'): Req {
  return req
    .set('Content-Type', type)
    .set('Content-Encoding', encoding)
    .serialize((value: unknown) => value as string)
    .send(body as string)
}

describe('security: request bodies of POST /auth and POST /auth/refresh (sanic-jwt #116)', () => {
  captureStderr()

  const clock = makeClock()
  let t: TestApp
  let access: string
  let refresh: string

  beforeEach(async () => {
    t = buildApp({ clock: clock.clock, ...refreshStore(new Map()) })
    const tokens = await t.login('user1')
    access = tokens.access_token!
    refresh = tokens.refresh_token!
  })

  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted, 'Object.prototype was polluted').to.equal(undefined)
    expect(({} as Record<string, unknown>).username, 'Object.prototype was polluted').to.equal(undefined)
  })

  /** A POST to one of the two endpoints, with the access token on /auth/refresh. */
  const post = (path: '/auth' | '/auth/refresh') => {
    const req = t.agent.post(path)
    return path === '/auth/refresh' ? req.set('Authorization', `Bearer ${access}`) : req
  }
  const paths = ['/auth', '/auth/refresh'] as const

  describe('control', () => {
    it('accepts honest JSON, form and compressed bodies', async () => {
      const again = await post('/auth/refresh').send({ refresh_token: refresh })
      expect(again.status).to.equal(200)
      const json = await post('/auth').send({ username: 'user1', password: 'abcxyz' })
      expect(json.status).to.equal(200)
      const form = await post('/auth').type('form').send('username=user1&password=abcxyz')
      expect(form.status).to.equal(200)
      for (const [encoding, bytes] of [
        ['gzip', gzipSync(JSON.stringify({ username: 'user1', password: 'abcxyz' }))],
        ['deflate', deflateSync(JSON.stringify({ username: 'user1', password: 'abcxyz' }))],
        ['br', brotliCompressSync(JSON.stringify({ username: 'user1', password: 'abcxyz' }))],
      ] as const) {
        const res = await sendRaw(post('/auth'), encoding, bytes)
        expect(res.status, `${encoding} ${JSON.stringify(res.body)}`).to.equal(200)
      }
    })
  })

  for (const path of paths) {
    describe(`${path}`, () => {
      it('returns 400 ERR_JWT_INVALID_BODY for invalid JSON', async () => {
        const texts = ['{', '{"username":', "{'username':'user1'}", '{"a":1,}', '[1,]', '{"a":"\\x"}']
        for (const text of [...texts, '\u0000', 'nul', '{"a":NaN}']) {
          const res = await post(path).set('Content-Type', 'application/json').send(text)
          expectFailure(res, INVALID_BODY)
        }
      })

      it('answers a JSON scalar body with a 4xx (strict JSON: objects and arrays only)', async () => {
        for (const text of ['null', '"user1"', '42', 'true']) {
          const res = await post(path).set('Content-Type', 'application/json').send(text)
          expectRefused(res)
          expect(res.body.exception).to.be.oneOf(['InvalidRequestBody', 'AuthenticationFailed'])
        }
      })

      it('returns 401 AuthenticationFailed for arrays and objects without the expected keys', async () => {
        for (const body of [
          '[]',
          '[{"username":"user1","password":"abcxyz"}]',
          '{}',
          '{"username":["user1"],"password":{"$ne":1}}',
        ]) {
          const res = await post(path).set('Content-Type', 'application/json').send(body)
          expectFailure(res, AUTH_FAILED)
        }
      })

      it('answers 10 000-deep nested arrays and objects without a 5xx', async () => {
        for (const depth of [10_000, 50_000]) {
          const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`
          const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
          for (const text of [arrays, objects]) {
            const res = await post(path).set('Content-Type', 'application/json').send(text)
            expectRefused(res)
            expect(res.body.exception).to.be.oneOf(['InvalidRequestBody', 'AuthenticationFailed'])
          }
        }
      })

      it('answers deeply nested form keys without a 5xx', async () => {
        const key = `a${'[b]'.repeat(5_000)}`
        const res = await post(path).type('form').send(`${key}=1&username[x][y]=1`)
        expectFailure(res, AUTH_FAILED)
      })

      it('returns 413 ERR_JWT_BODY_TOO_LARGE for a 10 MB JSON or form body', async function () {
        this.timeout(20_000)
        const json = await post(path)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify({ username: 'x'.repeat(10 * MB) }))
        expectFailure(json, TOO_LARGE)
        const form = await post(path).type('form').send(`username=${'x'.repeat(10 * MB)}`)
        expectFailure(form, TOO_LARGE)
      })

      it('returns 413 for a small gzip body that inflates beyond the limit (zip bomb)', async () => {
        const bomb = gzipSync(JSON.stringify({ username: ' '.repeat(10 * MB) }))
        expect(bomb.length).to.be.below(64 * 1024)
        expectFailure(await sendRaw(post(path), 'gzip', bomb), TOO_LARGE)
        const brBomb = brotliCompressSync(JSON.stringify({ username: ' '.repeat(10 * MB) }))
        expectFailure(await sendRaw(post(path), 'br', brBomb), TOO_LARGE)
      })

      it('returns 413 for a body over 100 kB', async () => {
        const res = await post(path)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify({ username: 'x'.repeat(101 * 1024) }))
        expectFailure(res, TOO_LARGE)
      })

      it('returns 415 ERR_JWT_UNSUPPORTED_MEDIA_TYPE for an unknown Content-Encoding', async () => {
        for (const encoding of ['foo', 'zstd', 'compress', 'gzip, br', 'x-gzip']) {
          const res = await sendRaw(post(path), encoding, '{"username":"user1","password":"abcxyz"}')
          expectFailure(res, UNSUPPORTED)
        }
      })

      it('answers a Content-Encoding: br body that is not brotli with a 4xx (never 2xx/5xx)', async () => {
        const res = await sendRaw(post(path), 'br', '{"username":"user1"}')
        expectRefused(res)
        expect(res.body.exception).to.equal('InvalidRequestBody')
        expect(res.body.code).to.be.oneOf(['ERR_JWT_INVALID_BODY', 'ERR_JWT_UNSUPPORTED_MEDIA_TYPE'])
      })

      it('returns 400 (not 500) for gzip and deflate bodies that do not inflate', async () => {
        const valid = gzipSync('{"username":"user1","password":"abcxyz"}')
        for (const [encoding, body] of [
          ['gzip', Buffer.from('definitely not gzip')],
          ['gzip', valid.subarray(0, valid.length - 8)],
          ['gzip', Buffer.concat([valid.subarray(0, 20), Buffer.alloc(20, 0xff), valid.subarray(40)])],
          ['deflate', Buffer.from('not deflate either')],
          ['deflate', deflateSync('{"a":1}').subarray(0, 4)],
          ['gzip', brotliCompressSync('{"a":1}')],
        ] as const) {
          expectFailure(await sendRaw(post(path), encoding, body), INVALID_BODY)
          expectFailure(await sendRaw(post(path), encoding, body, 'application/x-www-form-urlencoded'), INVALID_BODY)
        }
      })

      it('leaves Object.prototype clean for __proto__ and constructor.prototype keys in JSON', async () => {
        for (const text of [
          '{"__proto__":{"polluted":true,"username":"user1","password":"abcxyz"}}',
          '{"constructor":{"prototype":{"polluted":true}}}',
          '{"a":{"__proto__":{"polluted":true}}}',
          '[{"__proto__":{"polluted":true}}]',
          '{"\\u005f_proto__":{"polluted":true}}',
        ]) {
          const res = await post(path).set('Content-Type', 'application/json').send(text)
          expectRefused(res)
          expect(res.body.exception).to.be.oneOf(['InvalidRequestBody', 'AuthenticationFailed'])
          expect(({} as Record<string, unknown>).polluted).to.equal(undefined)
        }
      })

      it('leaves Object.prototype clean for __proto__ and constructor[prototype] keys in forms, and logs nobody in', async () => {
        for (const text of [
          '__proto__[polluted]=1&__proto__[username]=user1&__proto__[password]=abcxyz',
          'constructor[prototype][polluted]=1',
          '__proto__.polluted=1',
          'a[__proto__][polluted]=1',
          'username[__proto__][polluted]=1&password=abcxyz',
        ]) {
          const res = await post(path).type('form').send(text)
          expectFailure(res, AUTH_FAILED)
          expect(({} as Record<string, unknown>).polluted).to.equal(undefined)
        }
      })

      it('reads JSON under every spelling of its content type, and nothing that only looks like it', async () => {
        const login = JSON.stringify(
          path === '/auth' ? { username: 'user1', password: 'abcxyz' } : { refresh_token: refresh },
        )
        for (const type of [
          'application/json',
          'application/json; charset=utf-8',
          'application/json;charset=UTF-8',
          'Application/JSON',
          'application/json ; charset=utf-8',
        ]) {
          const res = await post(path).set('Content-Type', type).send(login)
          expect(res.status, `${type}: ${JSON.stringify(res.body)}`).to.equal(200)
        }
        for (const type of ['application/jsonx', 'application/json-seq', 'text/json; x=application/json', 'json']) {
          const res = await post(path).set('Content-Type', type).send(login)
          expectFailure(res, UNSUPPORTED)
        }
      })

      it('returns 415 for bodies of other content types', async () => {
        for (const [type, body] of [
          ['text/plain', 'username=user1&password=abcxyz'],
          ['application/xml', '<auth><username>user1</username><password>abcxyz</password></auth>'],
          ['text/xml', '<x/>'],
          [
            'multipart/form-data; boundary=x',
            '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\nuser1\r\n--x--\r\n',
          ],
          ['application/octet-stream', '\u0000\u0001'],
          ['text/html', '<script>alert(1)</script>'],
          ['application/javascript', '({username:"user1"})'],
        ] as const) {
          const res = await post(path).set('Content-Type', type).send(body)
          expectFailure(res, UNSUPPORTED)
        }
      })
    })
  }

  describe('empty bodies', () => {
    it('returns 401 AuthenticationFailed on /auth from the authenticate handler, not 500', async () => {
      expectFailure(await t.agent.post('/auth'), AUTH_FAILED)
      expectFailure(await t.agent.post('/auth').set('Content-Type', 'application/json'), AUTH_FAILED)
      expectFailure(await t.agent.post('/auth').set('Content-Type', 'application/json').send(''), AUTH_FAILED)
      expectFailure(await t.agent.post('/auth').type('form').send(''), AUTH_FAILED)
      expectFailure(await t.agent.post('/auth').set('Content-Type', 'text/plain').send(''), AUTH_FAILED)
      // Whitespace only is not a JSON text (RFC 8259): a 400 or the handler's 401, never a 5xx.
      const blank = await t.agent.post('/auth').set('Content-Type', 'application/json').send('   ')
      expectRefused(blank)
      expect(blank.status).to.be.oneOf([400, 401])
    })

    it('returns 401 AuthenticationFailed on /auth/refresh, not 500', async () => {
      expectFailure(await post('/auth/refresh'), AUTH_FAILED)
      expectFailure(await post('/auth/refresh').set('Content-Type', 'application/json').send(''), AUTH_FAILED)
      expectFailure(await post('/auth/refresh').type('form').send(''), AUTH_FAILED)
    })
  })

  describe('stderr', () => {
    it('holds no key material, presented token, engine wording or stack trace', () => {
      logs.expectSuiteClean()
    })
  })
})
