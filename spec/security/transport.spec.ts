import { expect } from 'chai'

import { buildApp, makeClock, type TestApp } from '../helpers/app'
import {
  captureStderr,
  expectFailure,
  expectNoLeak,
  forge,
  logs,
  parts,
  withPayload,
  type Agent,
} from '../helpers/attacks'

const START = 1_700_000_000

/** Several values for one header (superagent's types only admit an array for Cookie). */
const many = (values: string[]): string => values as unknown as string

const MISSING_HEADER = {
  status: 401,
  exception: 'MissingAuthorizationHeader',
  code: 'ERR_JWT_MISSING_HEADER',
}

/** Asserts a protected-route failure (`/protected`) and that `/auth/verify` does not say valid. */
async function refusedEverywhere(
  send: (path: string) => ReturnType<Agent['get']>,
  code: string | readonly string[],
  presented: readonly string[] = [],
): Promise<void> {
  const res = await send('/protected')
  const codes = typeof code === 'string' ? [code] : code
  expectFailure(res, { status: 401, exception: 'Unauthorized', code: res.body.code }, presented)
  expect(res.body.code, JSON.stringify(res.body)).to.be.oneOf([...codes])
  const verify = await send('/auth/verify')
  expect(verify.status, JSON.stringify(verify.body)).to.be.within(400, 401)
  expect(verify.body.valid, JSON.stringify(verify.body)).not.to.equal(true)
  expect(verify.body.code, JSON.stringify(verify.body)).to.be.a('string')
  expectNoLeak(verify, presented)
}

/** The user id `/auth/me` answers for a request. */
async function whoAmI(send: (path: string) => ReturnType<Agent['get']>): Promise<unknown> {
  const res = await send('/auth/me')
  expect(res.status, JSON.stringify(res.body)).to.equal(200)
  return res.body.me.user_id
}

describe('security: token transport (sanic-jwt #143; RFC 6750 §2; RFC 7235 §2.1)', () => {
  captureStderr()

  const clock = makeClock(START)
  const claims = (userId = 1) => ({ user_id: userId, exp: clock.now + 600 })
  let honest1: string
  let honest2: string
  let forged: string

  beforeEach(() => {
    clock.now = START
    honest1 = forge(claims(1))
    honest2 = forge(claims(2))
    forged = withPayload(honest1, { ...parts(honest1).payload, user_id: 2 })
  })

  describe('Authorization header', () => {
    let t: TestApp
    beforeEach(() => {
      t = buildApp({ clock: clock.clock })
    })

    it('accepts the honest token (control)', async () => {
      expect(await whoAmI((p) => t.agent.get(p).set('Authorization', `Bearer ${honest2}`))).to.equal(2)
    })

    for (const value of ['Bearer', 'Bearer ', 'Bearer   ', 'Bearer\t', 'bearer', '  Bearer  ']) {
      it(`returns 401 ERR_JWT_MISSING_HEADER for ${JSON.stringify(value)} (sanic-jwt #143)`, async () => {
        await refusedEverywhere((p) => t.agent.get(p).set('Authorization', value), 'ERR_JWT_MISSING_HEADER')
        const verify = await t.agent.get('/auth/verify').set('Authorization', value)
        expectFailure(verify, MISSING_HEADER)
      })
    }

    it('returns 401 ERR_JWT_MISSING_HEADER for an empty or blank Authorization header (sanic-jwt #143)', async () => {
      for (const value of ['', '   ', '\t']) {
        await refusedEverywhere((p) => t.agent.get(p).set('Authorization', value), 'ERR_JWT_MISSING_HEADER')
        const verify = await t.agent.get('/auth/verify').set('Authorization', value)
        expectFailure(verify, MISSING_HEADER)
      }
    })

    for (const [label, build] of [
      ['lower-case scheme', (x: string) => `bearer ${x}`],
      ['upper-case scheme', (x: string) => `BEARER ${x}`],
      ['a tab after the scheme', (x: string) => `Bearer\t${x}`],
      ['leading spaces', (x: string) => `  Bearer ${x}`],
      ['several spaces after the scheme', (x: string) => `Bearer    ${x}`],
      ['trailing spaces', (x: string) => `Bearer ${x}   `],
    ] as const) {
      it(`accepts the honest token and refuses a forged one with ${label}`, async () => {
        expect(await whoAmI((p) => t.agent.get(p).set('Authorization', build(honest2)))).to.equal(2)
        const send = (p: string) => t.agent.get(p).set('Authorization', build(forged))
        await refusedEverywhere(send, 'ERR_JWT_INVALID_TOKEN', [forged])
      })
    }

    it('returns 401 (400 on /auth/verify) ERR_JWT_INVALID_HEADER for malformed headers, even with an honest token', async () => {
      for (const value of [
        `Bearer${honest1}`,
        `Bearer ${honest1} ${honest1}`,
        `Bearer ${honest1} x`,
        `Basic ${honest1}`,
        `Token ${honest1}`,
        `Bearer Bearer ${honest1}`,
        honest1,
        `Bearer,${honest1}`,
        `Bearer:${honest1}`,
      ]) {
        const res = await t.agent.get('/protected').set('Authorization', value)
        expectFailure(res, { status: 401, exception: 'Unauthorized', code: 'ERR_JWT_INVALID_HEADER' }, [honest1])
        const verify = await t.agent.get('/auth/verify').set('Authorization', value)
        const invalid = { status: 400, exception: 'InvalidAuthorizationHeader', code: 'ERR_JWT_INVALID_HEADER' }
        expectFailure(verify, invalid, [honest1])
      }
    })

    it('uses only the first of repeated Authorization headers (Node drops the others)', async () => {
      const both = (a: string, b: string) => (p: string) =>
        t.agent.get(p).set('Authorization', many([`Bearer ${a}`, `Bearer ${b}`]))
      expect(await whoAmI(both(honest1, honest2))).to.equal(1)
      await refusedEverywhere(both(forged, honest1), 'ERR_JWT_INVALID_TOKEN', [forged])
      await refusedEverywhere(
        (p) => t.agent.get(p).set('Authorization', many(['Bearer', `Bearer ${honest1}`])),
        'ERR_JWT_MISSING_HEADER',
      )
    })

    it('returns 401 for repeated custom token headers, which Node joins with ", "', async () => {
      for (const prefix of ['Bearer', '']) {
        const c = buildApp({ clock: clock.clock, authorizationHeader: 'x-token', authorizationHeaderPrefix: prefix })
        const value = (x: string) => (prefix ? `${prefix} ${x}` : x)
        expect(await whoAmI((p) => c.agent.get(p).set('X-Token', value(honest1)))).to.equal(1)
        for (const [a, b] of [
          [honest1, honest2],
          [honest1, honest1],
          [forged, honest1],
          [honest1, ''],
        ] as const) {
          await refusedEverywhere(
            (p) => c.agent.get(p).set('X-Token', many([value(a), value(b)])),
            ['ERR_JWT_INVALID_HEADER', 'ERR_JWT_INVALID_TOKEN'],
          )
        }
        // The standard header is not read when another one is configured.
        const standard = (p: string) => c.agent.get(p).set('Authorization', `Bearer ${honest1}`)
        await refusedEverywhere(standard, 'ERR_JWT_MISSING_HEADER')
      }
    })
  })

  describe('query string', () => {
    let t: TestApp
    beforeEach(() => {
      t = buildApp({ clock: clock.clock, queryStringSet: true })
    })

    it('accepts the honest token (control)', async () => {
      expect(await whoAmI((p) => t.agent.get(`${p}?access_token=${honest2}`))).to.equal(2)
    })

    it('returns 401 ERR_JWT_MISSING_QUERY_ARG for an empty or blank parameter (sanic-jwt #143)', async () => {
      const blanks = ['access_token=', 'access_token', 'access_token=%20%20', 'access_token=%09']
      for (const query of [...blanks, `access_token[]=${honest1}`]) {
        await refusedEverywhere((p) => t.agent.get(`${p}?${query}`), 'ERR_JWT_MISSING_QUERY_ARG')
      }
    })

    it('returns 401 for a repeated access_token parameter, whatever the values', async () => {
      for (const [a, b] of [
        [honest1, honest1],
        [honest1, honest2],
        [forged, honest1],
        [honest1, forged],
        [honest1, ''],
        ['', honest1],
      ]) {
        await refusedEverywhere(
          (p) => t.agent.get(`${p}?access_token=${a}&access_token=${b}`),
          'ERR_JWT_INVALID_TOKEN',
          [honest1, honest2, forged],
        )
      }
    })

    it('does not fall back to the header in strict query mode', async () => {
      await refusedEverywhere(
        (p) => t.agent.get(p).set('Authorization', `Bearer ${honest1}`),
        'ERR_JWT_MISSING_QUERY_ARG',
      )
    })
  })

  describe('cookies', () => {
    let t: TestApp
    beforeEach(() => {
      t = buildApp({ clock: clock.clock, cookieSet: true })
    })

    it('accepts the honest token (control)', async () => {
      expect(await whoAmI((p) => t.agent.get(p).set('Cookie', `access_token=${honest2}`))).to.equal(2)
    })

    it('returns 401 ERR_JWT_MISSING_COOKIE for an empty or blank cookie (sanic-jwt #143)', async () => {
      const blanks = ['access_token=', 'access_token=; other=1', 'other=1; access_token=', 'access_token=   ']
      for (const cookie of blanks) {
        await refusedEverywhere((p) => t.agent.get(p).set('Cookie', cookie), 'ERR_JWT_MISSING_COOKIE')
      }
    })

    it('returns 401 for a quoted empty or percent-encoded blank cookie value', async () => {
      for (const cookie of ['access_token=""', 'access_token=%20', 'access_token=%00']) {
        await refusedEverywhere((p) => t.agent.get(p).set('Cookie', cookie), [
          'ERR_JWT_MISSING_COOKIE',
          'ERR_JWT_INVALID_TOKEN',
        ])
      }
    })

    it('reads only the cookie in strict cookie mode: the header is ignored', async () => {
      const send = (cookie: string | undefined, header: string) => (p: string) => {
        const req = t.agent.get(p).set('Authorization', `Bearer ${header}`)
        return cookie === undefined ? req : req.set('Cookie', `access_token=${cookie}`)
      }
      expect(await whoAmI(send(honest1, honest2))).to.equal(1)
      await refusedEverywhere(send(undefined, honest1), 'ERR_JWT_MISSING_COOKIE')
      await refusedEverywhere(send(forged, honest1), 'ERR_JWT_INVALID_TOKEN', [forged])
      await refusedEverywhere(send('', honest1), 'ERR_JWT_MISSING_COOKIE')
    })

    it('never falls back to the header when the cookie is present but invalid (cookieStrict false)', async () => {
      const lax = buildApp({ clock: clock.clock, cookieSet: true, cookieStrict: false })
      const send = (cookie: string) => (p: string) =>
        lax.agent.get(p).set('Cookie', `access_token=${cookie}`).set('Authorization', `Bearer ${honest1}`)
      await refusedEverywhere(send(forged), 'ERR_JWT_INVALID_TOKEN', [forged])
      await refusedEverywhere(send('garbage'), 'ERR_JWT_INVALID_TOKEN')
      expect(await whoAmI(send(''))).to.equal(1)
    })

    it('returns 401 when a forged cookie comes before an honest one of the same name', async () => {
      await refusedEverywhere(
        (p) => t.agent.get(p).set('Cookie', `access_token=${forged}; access_token=${honest1}`),
        'ERR_JWT_INVALID_TOKEN',
        [forged],
      )
    })
  })

  describe('split cookies', () => {
    let t: TestApp
    const split = (token: string): [string, string] => {
      const cut = token.lastIndexOf('.')
      return [token.slice(0, cut), token.slice(cut + 1)]
    }
    const cookies = (head: string | undefined, sig: string | undefined) => (p: string) => {
      const jar = [
        ...(head === undefined ? [] : [`access_token=${head}`]),
        ...(sig === undefined ? [] : [`access_token_signature=${sig}`]),
      ]
      return t.agent.get(p).set('Cookie', jar.join('; '))
    }

    beforeEach(() => {
      t = buildApp({ clock: clock.clock, cookieSet: true, cookieSplit: true })
    })

    it('accepts the halves of one honest token, from /auth itself (control)', async () => {
      const res = await t.agent.post('/auth').send({ username: 'user2', password: 'abcxyz' })
      const jar = (res.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ')
      const me = await t.agent.get('/auth/me').set('Cookie', jar)
      expect(me.status).to.equal(200)
      expect(me.body.me.user_id).to.equal(2)
      const [head, sig] = split(honest1)
      expect(await whoAmI(cookies(head, sig))).to.equal(1)
    })

    it('returns 401 ERR_JWT_INVALID_TOKEN when the two halves come from different tokens', async () => {
      const [head1, sig1] = split(honest1)
      const [head2, sig2] = split(honest2)
      await refusedEverywhere(cookies(head1, sig2), 'ERR_JWT_INVALID_TOKEN')
      await refusedEverywhere(cookies(head2, sig1), 'ERR_JWT_INVALID_TOKEN')
      await refusedEverywhere(cookies(split(forged)[0], sig1), 'ERR_JWT_INVALID_TOKEN')
    })

    it('returns 401 ERR_JWT_MISSING_COOKIE when one half is missing or empty', async () => {
      const [head, sig] = split(honest1)
      await refusedEverywhere(cookies(head, undefined), 'ERR_JWT_MISSING_COOKIE')
      await refusedEverywhere(cookies(head, ''), 'ERR_JWT_MISSING_COOKIE')
      await refusedEverywhere(cookies(undefined, sig), 'ERR_JWT_MISSING_COOKIE')
      await refusedEverywhere(cookies('', sig), 'ERR_JWT_MISSING_COOKIE')
    })

    it('returns 401 ERR_JWT_INVALID_TOKEN when a half holds extra segments or a whole token', async () => {
      const [head, sig] = split(honest1)
      await refusedEverywhere(cookies(honest1, sig), 'ERR_JWT_INVALID_TOKEN', [honest1])
      await refusedEverywhere(cookies(head, `${sig}.${sig}`), 'ERR_JWT_INVALID_TOKEN')
      await refusedEverywhere(cookies(head.split('.')[0], sig), 'ERR_JWT_INVALID_TOKEN')
      await refusedEverywhere(cookies(head, honest1), 'ERR_JWT_INVALID_TOKEN', [honest1])
    })
  })

  describe('stderr', () => {
    it('holds no key material, presented token, engine wording or stack trace', () => {
      logs.expectSuiteClean()
    })
  })
})
