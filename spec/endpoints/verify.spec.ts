import { expect } from 'chai'

import { Claim, type JwtPayload } from '../../source'
import { buildApp, makeClock, SECRET, type TestApp, type TestUser } from '../helpers/app'
import { bearer, expectError, signRaw, unsignedToken } from '../helpers/initialize'

class UsernameClaim extends Claim<TestUser> {
  key = 'username'
  setup(_payload: JwtPayload, user: TestUser): string {
    return user.username
  }
  verify(value: unknown): boolean {
    return value === 'user1'
  }
}

class BrokenClaim extends Claim<TestUser> {
  key = 'broken'
  setup(): string {
    return 'x'
  }
  verify(): boolean {
    return 'yes' as unknown as boolean
  }
}

describe('endpoint: GET /auth/verify', () => {
  let clock: ReturnType<typeof makeClock>
  let t: TestApp

  beforeEach(() => {
    clock = makeClock()
    t = buildApp({ clock: clock.clock })
  })

  /** A token of user 1 signed with the test secret, valid for 10 minutes unless `extra` says otherwise. */
  const raw = (extra: Record<string, unknown> = {}): string =>
    signRaw({ user_id: 1, exp: clock.now + 600, ...extra })

  const verify = (authorization?: string) => {
    const req = t.agent.get('/auth/verify')
    return authorization === undefined ? req : req.set('Authorization', authorization)
  }

  it('answers 200 { valid: true } for a token issued by POST /auth', async () => {
    const { access_token } = await t.login()
    const res = await verify(bearer(access_token))
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal({ valid: true })
  })

  it('matches the scheme case-insensitively and accepts several spaces or a tab after it', async () => {
    const { access_token } = await t.login()
    for (const header of [`bearer ${access_token}`, `BEARER    ${access_token}`, `Bearer\t${access_token}`]) {
      const res = await verify(header)
      expect(res.status, header).to.equal(200)
      expect(res.body).to.deep.equal({ valid: true })
    }
  })

  it('answers 204 with an empty body to OPTIONS without a token', async () => {
    const res = await t.agent.options('/auth/verify')
    expect(res.status).to.equal(204)
    expect(res.text).to.equal('')
  })

  it('answers 405 to POST', async () => {
    const res = await t.agent.post('/auth/verify')
    expect(res.status).to.equal(405)
  })

  for (const debug of [false, true]) {
    describe(`with debug ${debug ? 'on' : 'off'} (reference §3.4)`, () => {
      beforeEach(() => {
        t.jwt.config.set('debug', debug)
      })

      const missingStatus = debug ? 400 : 401
      const decodeStatus = debug ? 400 : 401

      it(`answers ${missingStatus} MissingAuthorizationHeader without a valid key when no header is sent`, async () => {
        const res = await verify()
        expectError(res, missingStatus, 'MissingAuthorizationHeader', 'ERR_JWT_MISSING_HEADER', [
          'Authorization header not present.',
        ])
        expect(res.body).to.not.have.property('valid')
        if (!debug) expect(res.headers['www-authenticate']).to.equal('Bearer')
      })

      for (const header of ['Bearer', 'Bearer    ', 'bearer\t']) {
        it(`treats ${JSON.stringify(header)} as a missing token and never says valid (sanic-jwt #143)`, async () => {
          const res = await verify(header)
          expectError(res, missingStatus, 'MissingAuthorizationHeader', 'ERR_JWT_MISSING_HEADER', [
            'Authorization header not present.',
          ])
          expect(res.body.valid).to.not.equal(true)
        })
      }

      it('treats an empty Authorization header as a missing token (sanic-jwt #143)', async () => {
        const res = await verify('')
        expectError(res, missingStatus, 'MissingAuthorizationHeader', 'ERR_JWT_MISSING_HEADER', [
          'Authorization header not present.',
        ])
        expect(res.body.valid).to.not.equal(true)
      })

      for (const header of ['Basic abc', 'Bearer a b', 'Bearertoken', 'Token abc.def.ghi']) {
        it(`answers 400 InvalidAuthorizationHeader to ${JSON.stringify(header)}`, async () => {
          const res = await verify(header)
          expectError(res, 400, 'InvalidAuthorizationHeader', 'ERR_JWT_INVALID_HEADER', [
            'Authorization header is invalid.',
          ])
        })
      }

      const decodeCases: [string, () => string, string, string][] = [
        ['garbage', () => 'not-a-token', 'Not enough segments.', 'ERR_JWT_MALFORMED'],
        ['a token with too many segments', () => `${raw()}.extra`, 'Too many segments.', 'ERR_JWT_MALFORMED'],
        [
          'a token signed with another secret',
          () => signRaw({ user_id: 1, exp: clock.now + 600 }, 'another-secret-that-is-long-enough'),
          'Signature verification failed.',
          'ERR_JWT_INVALID_SIGNATURE',
        ],
        [
          'a token signed with another algorithm',
          () => signRaw({ user_id: 1, exp: clock.now + 600 }, SECRET, 'HS512'),
          'The specified alg value is not allowed.',
          'ERR_JWT_INVALID_ALGORITHM',
        ],
      ]
      for (const [name, make, debugReason, debugCode] of decodeCases) {
        it(`answers ${decodeStatus} { valid: false } for ${name}`, async () => {
          const res = await verify(bearer(make()))
          if (debug) {
            expectError(res, 400, 'InvalidToken', debugCode, [debugReason])
          } else {
            expectError(res, 401, 'InvalidToken', 'ERR_JWT_INVALID_TOKEN', ['Auth required.'])
          }
          expect(res.body.valid).to.equal(false)
        })
      }

      it(`answers ${decodeStatus} { valid: false } for an unsigned (alg none) token, without engine wording`, async () => {
        const res = await verify(bearer(unsignedToken({ user_id: 1, exp: clock.now + 600 })))
        expect(res.status).to.equal(decodeStatus)
        expect(res.body.valid).to.equal(false)
        expect(res.body.exception).to.equal('InvalidToken')
        if (!debug) {
          expect(res.body.reasons).to.deep.equal(['Auth required.'])
          expect(res.body.code).to.equal('ERR_JWT_INVALID_TOKEN')
        }
        expect(JSON.stringify(res.body)).to.not.match(/jwt |invalid signature|malformed/)
      })

      it('answers 401 { valid: false } "Signature has expired." for an expired token', async () => {
        const { access_token } = await t.login()
        clock.now += 1800 + 180 + 1
        const res = await verify(bearer(access_token))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_EXPIRED', ['Signature has expired.'])
        expect(res.body.valid).to.equal(false)
      })

      it('sends a WWW-Authenticate invalid_token challenge with every 401 { valid: false }', async () => {
        const { access_token } = await t.login()
        const tokens = [raw({ aud: 'somewhere', exp: clock.now + 100_000 })]
        if (!debug) {
          const forged = signRaw({ user_id: 1, exp: clock.now + 100_000 }, 'another-secret-that-is-long-enough')
          tokens.push('not-a-token', forged)
        }
        clock.now += 1800 + 180 + 1
        tokens.push(access_token!)
        for (const token of tokens) {
          const res = await verify(bearer(token))
          expect(res.status).to.equal(401)
          expect(res.body.valid).to.equal(false)
          const challenge = res.headers['www-authenticate']
          expect(challenge, JSON.stringify(res.body)).to.match(/^Bearer error="invalid_token"/)
        }
      })

      it('answers 401 for a token without exp', async () => {
        const res = await verify(bearer(signRaw({ user_id: 1 })))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_CLAIM_MISSING')
        expect(res.body.valid).to.equal(false)
      })

      it('answers 401 "The token is not yet valid (nbf)." for a future nbf', async () => {
        const res = await verify(bearer(raw({ nbf: clock.now + 1000 })))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_NOT_YET_VALID', ['The token is not yet valid (nbf).'])
        expect(res.body.valid).to.equal(false)
      })

      it('answers 401 "The token is not yet valid (iat)." for a future iat', async () => {
        const res = await verify(bearer(raw({ iat: clock.now + 1000 })))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_NOT_YET_VALID', ['The token is not yet valid (iat).'])
      })

      it('answers 401 "Invalid audience." for a token carrying aud when none is configured', async () => {
        const res = await verify(bearer(raw({ aud: 'somewhere' })))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_INVALID_AUDIENCE', ['Invalid audience.'])
      })

      it('answers 401 "Invalid audience." / "Invalid issuer." for wrong configured aud / iss', async () => {
        t.jwt.config.set('claimAud', 'here')
        let res = await verify(bearer(raw({ aud: 'elsewhere' })))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_INVALID_AUDIENCE', ['Invalid audience.'])
        t.jwt.config.set('claimAud', null)
        t.jwt.config.set('claimIss', 'issuer-a')
        res = await verify(bearer(raw({ iss: 'issuer-b' })))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_INVALID_ISSUER', ['Invalid issuer.'])
      })

      it('answers 401, not 500, when a configured aud or iss is missing from the token (reference §7.2.16)', async () => {
        t.jwt.config.set('claimAud', 'here')
        let res = await verify(bearer(raw()))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_INVALID_AUDIENCE')
        t.jwt.config.set('claimAud', null)
        t.jwt.config.set('claimIss', 'issuer-a')
        res = await verify(bearer(raw()))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_INVALID_ISSUER')
      })

      it('answers 401 "Invalid claim: username." when a custom claim is not met', async () => {
        const app = buildApp({ clock: clock.clock, debug, customClaims: [UsernameClaim] })
        const good = await app.login('user1')
        let res = await app.agent.get('/auth/verify').set('Authorization', bearer(good.access_token))
        expect(res.body).to.deep.equal({ valid: true })
        const bad = await app.login('user2')
        res = await app.agent.get('/auth/verify').set('Authorization', bearer(bad.access_token))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_CUSTOM_CLAIM_FAILED', ['Invalid claim: username.'])
        expect(res.body.valid).to.equal(false)
      })

      it('answers 401 "Verifications were not met." when an extra verification returns false', async () => {
        const app = buildApp({
          clock: clock.clock,
          debug,
          extraVerifications: [(payload) => payload.user_id === 1],
        })
        const bad = await app.login('user2')
        const res = await app.agent.get('/auth/verify').set('Authorization', bearer(bad.access_token))
        expectError(res, 401, 'InvalidToken', 'ERR_JWT_VERIFICATION_FAILED', ['Verifications were not met.'])
      })

      it('answers 500 InvalidVerification when an extra verification returns a non-boolean', async () => {
        const app = buildApp({
          clock: clock.clock,
          debug,
          extraVerifications: [() => 'yes' as unknown as boolean],
        })
        const { access_token } = await app.login()
        const res = await app.agent.get('/auth/verify').set('Authorization', bearer(access_token))
        expectError(res, 500, 'InvalidVerification', 'ERR_JWT_INVALID_VERIFICATION', [
          'Verifications must be a callable object returning a boolean value.',
        ])
      })

      it('answers 500 InvalidCustomClaim when a custom claim verify returns a non-boolean', async () => {
        const app = buildApp({ clock: clock.clock, debug, customClaims: [BrokenClaim] })
        const { access_token } = await app.login()
        const res = await app.agent.get('/auth/verify').set('Authorization', bearer(access_token))
        expectError(res, 500, 'InvalidCustomClaim', 'ERR_JWT_INVALID_CUSTOM_CLAIM', [
          'Custom claim is invalid.',
        ])
      })

      it('answers 500 HandlerFailed when an extra verification throws a plain Error', async () => {
        const app = buildApp({
          clock: clock.clock,
          debug,
          extraVerifications: [
            () => {
              throw new Error('database down')
            },
          ],
        })
        const { access_token } = await app.login()
        const res = await app.agent.get('/auth/verify').set('Authorization', bearer(access_token))
        expectError(res, 500, 'HandlerFailed', 'ERR_JWT_HANDLER_FAILED')
        expect(JSON.stringify(res.body)).to.not.include('database down')
      })
    })
  }
})
