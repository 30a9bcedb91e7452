import { expect } from 'chai'

import { buildApp, makeClock, SECRET, type TestApp } from '../helpers/app'
import { captureStderr, enc, encText, expectFailure, forge, logs, signSegments } from '../helpers/attacks'

const INVALID_SCOPE = {
  status: 403,
  exception: 'Unauthorized',
  code: 'ERR_JWT_INVALID_SCOPE',
  reasons: ['Invalid scope.'],
}

describe('security: scopes claim of odd shapes (reference §5; RFC 8725 §3.10)', () => {
  captureStderr()

  const clock = makeClock()
  let t: TestApp

  beforeEach(() => {
    t = buildApp({ clock: clock.clock, addScopesToPayload: (user) => user.scopes ?? [] })
  })

  /** A correctly signed token whose scopes claim is `scopes` (absent when undefined). */
  const withScopes = (scopes: unknown, extra: Record<string, unknown> = {}) =>
    forge({ user_id: 2, exp: clock.now + 600, ...(scopes === undefined ? {} : { scopes }), ...extra })

  const get = (path: string, token: string) => t.agent.get(path).set('Authorization', `Bearer ${token}`)

  const expectForbidden = async (token: string, path = '/scoped/admin') => {
    const res = await get(path, token)
    expectFailure(res, INVALID_SCOPE, [token])
    expect(res.headers['www-authenticate']).to.equal('Bearer error="insufficient_scope"')
  }

  describe('control', () => {
    it("answers 200 on /scoped/admin for an honest login of an admin and for a hand-signed ['admin']", async () => {
      const { access_token: token } = await t.login('user2')
      expect((await get('/scoped/admin', token!)).status).to.equal(200)
      expect((await get('/scoped/admin', withScopes(['admin']))).status).to.equal(200)
      expect((await get('/scoped/admin', withScopes(['user', 'admin']))).status).to.equal(200)
    })

    it('drops null entries and still matches the string ones', async () => {
      expect((await get('/scoped/admin', withScopes([null, 'admin']))).status).to.equal(200)
    })

    it("answers 403 for an honest non-admin login (user1 has ['user'])", async () => {
      const { access_token: token } = await t.login('user1')
      await expectForbidden(token!)
    })
  })

  describe('a scopes claim that is not a list of strings', () => {
    for (const [label, scopes] of [
      ["the string 'admin'", 'admin'],
      ['an object {admin: true}', { admin: true }],
      ["an array-like object {0: 'admin', length: 1}", { 0: 'admin', length: 1 }],
      ['a number', 1],
      ['true', true],
      ['null', null],
      ['[null]', [null]],
      ["[['admin']]", [['admin']]],
      ['[{}]', [{}]],
      ["[{toString: 'admin'}]", [{ toString: 'admin' }]],
      ['[1]', [1]],
      ['[]', []],
      ['absent', undefined],
    ] as const) {
      it(`answers 403 ERR_JWT_INVALID_SCOPE when scopes is ${label}`, async () => {
        await expectForbidden(withScopes(scopes))
      })
    }

    it('answers 403 when the scopes are only reachable through __proto__ or another key', async () => {
      const head = enc({ alg: 'HS256', typ: 'JWT' })
      const body = encText(`{"user_id":2,"exp":${clock.now + 600},"__proto__":{"scopes":["admin"]}}`)
      await expectForbidden(signSegments(head, body, 'HS256', SECRET))
      await expectForbidden(withScopes(undefined, { Scopes: ['admin'], scope: 'admin', roles: ['admin'] }))
      await expectForbidden(withScopes(undefined, { constructor: { prototype: { scopes: ['admin'] } } }))
    })
  })

  describe('scope strings that only look like the required one', () => {
    for (const [label, scope] of [
      ["'admin:' (empty action)", 'admin:'],
      ["'admin::read' (extra colons)", 'admin::read'],
      ["'admin:read'", 'admin:read'],
      ["':admin'", ':admin'],
      ["'ADMIN'", 'ADMIN'],
      ["' admin'", ' admin'],
      ["'admin '", 'admin '],
      ["'аdmin' (Cyrillic а)", '\u0430dmin'],
      ["'ＡＤＭＩＮ' (fullwidth)", 'ＡＤＭＩＮ'],
      ["'ａｄｍｉｎ' (fullwidth lower case)", 'ａｄｍｉｎ'],
      ["'admin\\u200b' (zero-width space)", 'admin\u200b'],
      ["'\\u200badmin'", '\u200badmin'],
      ["'admin\\u0000'", 'admin\u0000'],
      ["'adm\\u0131n' (dotless i)", 'adm\u0131n'],
      ["'admin' decomposed with a combining mark", 'admi\u0307n'],
      ["'*'", '*'],
      ["''", ''],
    ] as const) {
      it(`answers 403 for ${label} against a required 'admin'`, async () => {
        await expectForbidden(withScopes([scope]))
        await expectForbidden(withScopes(['user', scope]))
      })
    }

    it("answers 403 for 'admin:read' against a required 'admin:read:write' (every action needed)", async () => {
      t.router.get('/scoped/admin-rw', t.jwt.scoped('admin:read:write'), (ctx) => {
        ctx.body = { ok: true }
      })
      await expectForbidden(withScopes(['admin:read']), '/scoped/admin-rw')
      await expectForbidden(withScopes(['admin:read', 'user:write']), '/scoped/admin-rw')
      await expectForbidden(withScopes(['admin:read:', 'admin::write']), '/scoped/admin-rw')
      expect((await get('/scoped/admin-rw', withScopes(['admin:read:write']))).status).to.equal(200)
      expect((await get('/scoped/admin-rw', withScopes(['admin']))).status).to.equal(200)
    })
  })

  describe('stderr', () => {
    it('holds no key material, presented token, engine wording or stack trace', () => {
      logs.expectSuiteClean()
    })
  })
})
