import { createSecretKey } from 'node:crypto'

import { expect } from 'chai'

import { instantiateClaim } from '../../source/core/claims'
import { KeyStore } from '../../source/core/KeyStore'
import type { JwtPayload } from '../../source/core/token'
import { TokenVerifier, type ExtraVerification, type VerifierHost } from '../../source/core/TokenVerifier'
import type { VerifyCacheOptions } from '../../source/core/verify-cache'
import {
  Claim,
  Configuration,
  InvalidConfiguration,
  InvalidCustomClaim,
  InvalidCustomClaimError,
  InvalidToken,
  InvalidVerification,
  InvalidVerificationError,
  type ClaimClass,
  type ConfigurationInput,
} from '../../source'
import { makeClock } from '../helpers/app'
import { OTHER_SECRET, hs256, isThenable, makeConfig, makeConfigOf } from '../helpers/parts'
import { caught, caughtSync } from '../helpers/token-core'

const NOW = 1_700_000_000
const LEEWAY = 180

/** A source of per-user secrets that must not be asked (instance keys). */
const noSecrets: VerifierHost = {
  retrieveUserSecret() {
    throw new Error('retrieveUserSecret is not called without per-user secrets')
  },
  isTokenRevoked() {
    throw new Error('isTokenRevoked is not called while revocation is off')
  },
}

/** A claim class checking that `payload[key]` equals `expected`. */
function claimEquals(key: string, expected: unknown): ClaimClass {
  return class extends Claim {
    key = key
    setup(): unknown {
      return expected
    }
    verify(value: unknown): boolean {
      return value === expected
    }
  }
}

interface Setup {
  claims?: ClaimClass[]
  verifications?: ExtraVerification[]
  cache?: VerifyCacheOptions | boolean
}

/** A verifier over a fresh configuration with the test clock and `settings`. */
function make(settings: ConfigurationInput = {}, setup: Setup = {}) {
  const clock = makeClock(NOW)
  const config = makeConfig({ clock: clock.clock, ...settings })
  const verifier = new TokenVerifier(config, new KeyStore(config))
  verifier.setup(
    (setup.claims ?? []).map((Type) => instantiateClaim(Type)),
    setup.verifications ?? [],
    setup.cache ?? false,
  )
  return { clock, config, verifier }
}

/** A token of user `userId`, valid for an hour from NOW. */
function token(extra: JwtPayload = {}): string {
  return hs256({ user_id: 1, exp: NOW + 3600, ...extra })
}

describe('TokenVerifier#setup()', () => {
  const badCaches: [string, unknown][] = [
    ['a number', 10],
    ['a string', 'yes'],
    ['null', null],
  ]
  for (const [label, cache] of badCaches) {
    it(`refuses a verifyCache option that is ${label} with InvalidConfiguration`, () => {
      const config = makeConfig()
      const verifier = new TokenVerifier(config, new KeyStore(config))
      const error = caughtSync(() => verifier.setup([], [], cache as boolean))
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.contain('"verifyCache" option must be a boolean or { max, ttl }')
    })
  }

  it('refuses verifyCache options the cache refuses, with InvalidConfiguration naming the reason', () => {
    const config = makeConfig()
    const verifier = new TokenVerifier(config, new KeyStore(config))
    const error = caughtSync(() => verifier.setup([], [], { max: 0 }))
    expect(error).to.be.instanceOf(InvalidConfiguration)
    expect(error.message).to.contain('"verifyCache" option is invalid')
    expect(error.message).to.contain('max')
  })

  it('refuses extraVerifications that are not a list with InvalidConfiguration', () => {
    const config = makeConfig()
    const verifier = new TokenVerifier(config, new KeyStore(config))
    const error = caughtSync(() => verifier.setup([], (() => true) as unknown as ExtraVerification[], false))
    expect(error).to.be.instanceOf(InvalidConfiguration)
    expect(error.message).to.contain('"extraVerifications" option must be a list of functions')
  })

  it('refuses an extra verification that is not a function with InvalidVerification', () => {
    const config = makeConfig()
    const verifier = new TokenVerifier(config, new KeyStore(config))
    const error = caughtSync(() => verifier.setup([], [() => true, true as unknown as ExtraVerification], false))
    expect(error).to.be.instanceOf(InvalidVerification)
  })

  it('keeps its own copy of the verifications list', async () => {
    const verifications: ExtraVerification[] = []
    const { verifier } = make({}, { verifications })
    verifications.push(() => false)
    expect(isThenable(verifier.verify(token(), {}, noSecrets))).to.equal(false)
  })
})

describe('TokenVerifier#verify()', () => {
  it('returns the payload itself, not a promise, without extra work', () => {
    const { verifier } = make()
    const result = verifier.verify(token({ name: 'alice' }), {}, noSecrets)
    expect(isThenable(result)).to.equal(false)
    expect(result).to.deep.equal({ user_id: 1, exp: NOW + 3600, name: 'alice' })
  })

  it('throws InvalidToken synchronously for a token signed with another key', () => {
    const { verifier } = make()
    const forged = hs256({ user_id: 1, exp: NOW + 3600 }, createSecretKey(Buffer.from(OTHER_SECRET)))
    const error = caughtSync(() => verifier.verify(forged, {}, noSecrets))
    expect(error).to.be.instanceOf(InvalidToken)
    expect(error.code).to.equal('ERR_JWT_INVALID_SIGNATURE')
  })

  it('checks the registered claims with the clock and leeway: expired past exp + leeway', () => {
    const { clock, verifier } = make()
    const expiring = token({ exp: NOW + 10 })
    clock.now = NOW + 10 + LEEWAY - 1
    expect(verifier.verify(expiring, {}, noSecrets)).to.deep.include({ exp: NOW + 10 })
    clock.now = NOW + 10 + LEEWAY
    expect(caughtSync(() => verifier.verify(expiring, {}, noSecrets)).code).to.equal('ERR_JWT_EXPIRED')
  })

  it('checks the issuer and audience settings', () => {
    const { verifier } = make({ claimIss: 'me', claimAud: 'you' })
    expect(verifier.verify(token({ iss: 'me', aud: 'you' }), {}, noSecrets)).to.deep.include({ iss: 'me' })
    expect(caughtSync(() => verifier.verify(token({ iss: 'other', aud: 'you' }), {}, noSecrets)).code).to.equal(
      'ERR_JWT_INVALID_ISSUER',
    )
    expect(caughtSync(() => verifier.verify(token({ iss: 'me', aud: 'them' }), {}, noSecrets)).code).to.equal(
      'ERR_JWT_INVALID_AUDIENCE',
    )
  })

  it('returns a promise of the payload when extra verifications are registered, and passes them the payload', async () => {
    const seen: JwtPayload[] = []
    const { verifier } = make({}, { verifications: [(payload) => (seen.push(payload), true)] })
    const result = verifier.verify(token(), {}, noSecrets)
    expect(result).to.be.instanceOf(Promise)
    const payload = await result
    expect(payload).to.deep.equal({ user_id: 1, exp: NOW + 3600 })
    expect(seen).to.have.length(1)
    expect(seen[0]).to.equal(payload)
  })

  it('rejects with InvalidVerificationError 401 when an extra verification answers false, and runs none after it', async () => {
    let after = 0
    const { verifier } = make({}, { verifications: [async () => false, () => (after++, true)] })
    const error = await caught(() => verifier.verify(token(), {}, noSecrets))
    expect(error).to.be.instanceOf(InvalidVerificationError)
    expect(error.status).to.equal(401)
    expect(after).to.equal(0)
  })

  it('rejects with InvalidVerification 500 when an extra verification answers a non-boolean', async () => {
    const { verifier } = make({}, { verifications: [() => 'yes' as unknown as boolean] })
    const error = await caught(() => verifier.verify(token(), {}, noSecrets))
    expect(error).to.be.instanceOf(InvalidVerification)
    expect(error.status).to.equal(500)
  })

  it('returns a promise and checks the registered custom claims', async () => {
    const { verifier } = make({}, { claims: [claimEquals('role', 'admin')] })
    const ok = verifier.verify(token({ role: 'admin' }), {}, noSecrets)
    expect(ok).to.be.instanceOf(Promise)
    expect(await ok).to.deep.include({ role: 'admin' })
    const error = await caught(() => verifier.verify(token({ role: 'user' }), {}, noSecrets))
    expect(error).to.be.instanceOf(InvalidCustomClaimError)
    expect(error.message).to.equal('Invalid claim: role.')
  })

  it('checks the inline custom claims of the call after the registered ones', async () => {
    const order: string[] = []
    const tracing = (key: string): ClaimClass =>
      class extends Claim {
        key = key
        setup(): unknown {
          return 1
        }
        verify(): boolean {
          order.push(key)
          return true
        }
      }
    const { verifier } = make({}, { claims: [tracing('registered')] })
    const result = verifier.verify(token(), { customClaims: [tracing('inline')] }, noSecrets)
    expect(result).to.be.instanceOf(Promise)
    await result
    expect(order).to.deep.equal(['registered', 'inline'])
  })

  it('rejects with InvalidCustomClaim 500 when a custom claim answers a non-boolean', async () => {
    class Loose extends Claim {
      key = 'k'
      setup(): unknown {
        return 1
      }
      verify(): boolean {
        return 1 as unknown as boolean
      }
    }
    const { verifier } = make()
    expect(await caught(() => verifier.verify(token(), { customClaims: [Loose] }, noSecrets))).to.be.instanceOf(
      InvalidCustomClaim,
    )
  })

  it('skips extra verifications and custom claims with verify: false and answers synchronously', () => {
    let calls = 0
    const { verifier } = make(
      {},
      { claims: [claimEquals('role', 'admin')], verifications: [() => (calls++, false)] },
    )
    const options = { verify: false, customClaims: [claimEquals('x', 1)] }
    const result = verifier.verify(token({ role: 'user' }), options, noSecrets)
    expect(isThenable(result)).to.equal(false)
    expect(result).to.deep.include({ role: 'user' })
    expect(calls).to.equal(0)
  })

  it('still checks the signature and registered claims with verify: false', () => {
    const { clock, verifier } = make()
    const expiring = token({ exp: NOW + 1 })
    clock.now = NOW + 1 + LEEWAY
    expect(caughtSync(() => verifier.verify(expiring, { verify: false }, noSecrets)).code).to.equal('ERR_JWT_EXPIRED')
  })

  describe('with per-user secrets', () => {
    const secret = 'the-secret-of-user-seven-long-enough'
    const userKey = createSecretKey(Buffer.from(secret))

    it('returns a promise of the payload verified with the key of the user named by the token', async () => {
      const { verifier } = make({ userSecretEnabled: true })
      const asked: unknown[] = []
      const source: VerifierHost = {
        ...noSecrets,
        retrieveUserSecret: (userId, options) => {
          asked.push(userId, options)
          return secret
        },
      }
      const result = verifier.verify(hs256({ user_id: 7, exp: NOW + 60 }, userKey), {}, source)
      expect(result).to.be.instanceOf(Promise)
      expect(await result).to.deep.equal({ user_id: 7, exp: NOW + 60 })
      expect(asked).to.deep.equal([7, { encode: false }])
    })

    it('rejects a token signed with the instance key', async () => {
      const { verifier } = make({ userSecretEnabled: true })
      const error = await caught(() => verifier.verify(token(), {}, { ...noSecrets, retrieveUserSecret: () => secret }))
      expect(error).to.be.instanceOf(InvalidToken)
      expect(error.code).to.equal('ERR_JWT_INVALID_SIGNATURE')
    })

    it('rejects with InvalidToken 401 when the user has no secret', async () => {
      const { verifier } = make({ userSecretEnabled: true })
      const error = await caught(() => verifier.verify(token(), {}, { ...noSecrets, retrieveUserSecret: () => undefined }))
      expect(error).to.be.instanceOf(InvalidToken)
      expect(error.status).to.equal(401)
      expect(error.code).to.equal('ERR_JWT_INVALID_SIGNATURE')
    })
  })

  describe('with the verify cache', () => {
    it('returns the same frozen payload object for the same token', () => {
      const { verifier } = make({}, { cache: true })
      const first = verifier.verify(token(), {}, noSecrets) as JwtPayload
      expect(Object.isFrozen(first)).to.equal(true)
      expect(verifier.verify(token(), {}, noSecrets)).to.equal(first)
    })

    it('returns a new, unfrozen payload object on every call when the cache is off', () => {
      const { verifier } = make()
      const first = verifier.verify(token(), {}, noSecrets) as JwtPayload
      expect(Object.isFrozen(first)).to.equal(false)
      expect(verifier.verify(token(), {}, noSecrets)).not.to.equal(first)
    })

    it('reads the clock on every call, hits included', () => {
      let reads = 0
      const clock = (): number => (reads++, NOW)
      const config = makeConfig({ clock })
      const verifier = new TokenVerifier(config, new KeyStore(config))
      verifier.setup([], [], true)
      const first = verifier.verify(token(), {}, noSecrets)
      const before = reads
      expect(verifier.verify(token(), {}, noSecrets)).to.equal(first)
      expect(reads).to.equal(before + 1)
    })

    it('refuses a cached token once the clock passes exp + leeway', () => {
      const { clock, verifier } = make({}, { cache: true })
      const expiring = token({ exp: NOW + 100 })
      const first = verifier.verify(expiring, {}, noSecrets)
      clock.now = NOW + 100 + LEEWAY - 1
      expect(verifier.verify(expiring, {}, noSecrets)).to.equal(first)
      clock.now = NOW + 100 + LEEWAY
      expect(caughtSync(() => verifier.verify(expiring, {}, noSecrets)).code).to.equal('ERR_JWT_EXPIRED')
    })

    it('checks a hit with the current clock: a clock set back before iat - leeway refuses it', () => {
      const { clock, verifier } = make({}, { cache: true })
      const issued = token({ iat: NOW })
      const first = verifier.verify(issued, {}, noSecrets)
      clock.now = NOW - LEEWAY
      expect(verifier.verify(issued, {}, noSecrets)).to.equal(first)
      clock.now = NOW - LEEWAY - 1
      expect(caughtSync(() => verifier.verify(issued, {}, noSecrets)).code).to.equal('ERR_JWT_NOT_YET_VALID')
    })

    it('checks a hit against the rules in force: a smaller leeway refuses it as expired', () => {
      const { clock, config, verifier } = make({}, { cache: true })
      const expiring = token({ exp: NOW + 100 })
      const first = verifier.verify(expiring, {}, noSecrets)
      clock.now = NOW + 150
      expect(verifier.verify(expiring, {}, noSecrets)).to.equal(first)
      config.set('leeway', 0)
      expect(caughtSync(() => verifier.verify(expiring, {}, noSecrets)).code).to.equal('ERR_JWT_EXPIRED')
    })

    it('checks a hit against the rules in force: a new issuer setting refuses it', () => {
      const { config, verifier } = make({}, { cache: true })
      const first = verifier.verify(token(), {}, noSecrets)
      expect(verifier.verify(token(), {}, noSecrets)).to.equal(first)
      config.set('claimIss', 'me')
      expect(caughtSync(() => verifier.verify(token(), {}, noSecrets)).code).to.equal('ERR_JWT_INVALID_ISSUER')
    })

    it('runs the extra verifications on hits too', async () => {
      let allow = true
      const { verifier } = make({}, { cache: true, verifications: [() => allow] })
      const first = await verifier.verify(token(), {}, noSecrets)
      expect(await verifier.verify(token(), {}, noSecrets)).to.equal(first)
      allow = false
      expect(await caught(() => verifier.verify(token(), {}, noSecrets))).to.be.instanceOf(InvalidVerificationError)
    })

    it('does not remember a token whose extra verifications failed', async () => {
      const { verifier } = make({}, { cache: true, verifications: [() => false] })
      await caught(() => verifier.verify(token(), {}, noSecrets))
      expect(verifier.evict({ token: token() }, 'user_id')).to.equal(0)
    })

    it('remembers a token once its extra verifications passed', async () => {
      const { verifier } = make({}, { cache: true, verifications: [async () => true] })
      await verifier.verify(token(), {}, noSecrets)
      expect(verifier.evict({ token: token() }, 'user_id')).to.equal(1)
    })
  })
})

describe('TokenVerifier#evict()', () => {
  /** A verifier with the cache on and three tokens verified: two of user 1 (one with jti 'a'), one of user 2. */
  function filled() {
    const { verifier } = make({}, { cache: true })
    const tokens = {
      first: token({ user_id: 1, jti: 'a' }),
      second: token({ user_id: 1, jti: 'b' }),
      other: token({ user_id: 2, jti: 'c' }),
    }
    const payloads = {
      first: verifier.verify(tokens.first, {}, noSecrets),
      second: verifier.verify(tokens.second, {}, noSecrets),
      other: verifier.verify(tokens.other, {}, noSecrets),
    }
    const hit = (name: keyof typeof tokens): boolean => verifier.verify(tokens[name], {}, noSecrets) === payloads[name]
    return { verifier, tokens, hit }
  }

  it('removes one token by its text and answers 1', () => {
    const { verifier, tokens, hit } = filled()
    expect(verifier.evict({ token: tokens.second }, 'user_id')).to.equal(1)
    expect(hit('second')).to.equal(false)
    expect(hit('first')).to.equal(true)
    expect(hit('other')).to.equal(true)
  })

  it('removes the tokens with a jti', () => {
    const { verifier, hit } = filled()
    expect(verifier.evict({ jti: 'a' }, 'user_id')).to.equal(1)
    expect(hit('first')).to.equal(false)
    expect(hit('second')).to.equal(true)
  })

  it('removes every token of a user, read under the given userIdKey', () => {
    const { verifier, hit } = filled()
    expect(verifier.evict({ userId: 1 }, 'sub')).to.equal(0)
    expect(verifier.evict({ userId: 1 }, 'user_id')).to.equal(2)
    expect(hit('first')).to.equal(false)
    expect(hit('second')).to.equal(false)
    expect(hit('other')).to.equal(true)
  })

  it('answers 0 when the cache is off', () => {
    const { verifier } = make()
    verifier.verify(token(), {}, noSecrets)
    expect(verifier.evict({ token: token(), userId: 1 }, 'user_id')).to.equal(0)
  })
})

describe('TokenVerifier#clearCache()', () => {
  it('empties the cache: the next verification of a token is a miss', () => {
    const { verifier } = make({}, { cache: true })
    const first = verifier.verify(token(), {}, noSecrets)
    verifier.clearCache()
    const second = verifier.verify(token(), {}, noSecrets)
    expect(second).not.to.equal(first)
    expect(second).to.deep.equal(first)
    expect(verifier.evict({ token: token() }, 'user_id')).to.equal(1)
  })

  it('does nothing when the cache is off', () => {
    const { verifier } = make()
    expect(() => verifier.clearCache()).not.to.throw()
  })
})

describe('TokenVerifier#verify(): the settings in force', () => {
  it('reads a per-request value of a setting for the request it is given', () => {
    class PerRequest extends Configuration {
      getClaimIss(ctx: { issuer?: string }): string | undefined {
        return ctx.issuer
      }
    }
    const config = makeConfigOf(PerRequest, { clock: makeClock(NOW).clock })
    const verifier = new TokenVerifier(config, new KeyStore(config))
    verifier.setup([], [], false)
    expect(verifier.verify(token({ iss: 'me' }), { ctx: { issuer: 'me' } }, noSecrets)).to.deep.include({ iss: 'me' })
    const error = caughtSync(() => verifier.verify(token({ iss: 'me' }), { ctx: { issuer: 'you' } }, noSecrets))
    expect(error.code).to.equal('ERR_JWT_INVALID_ISSUER')
  })

  it('verifies with the new key after the secret changes', () => {
    const { config, verifier } = make()
    config.set('secret', OTHER_SECRET)
    expect(caughtSync(() => verifier.verify(token(), {}, noSecrets)).code).to.equal('ERR_JWT_INVALID_SIGNATURE')
    const other = hs256({ user_id: 1, exp: NOW + 60 }, createSecretKey(Buffer.from(OTHER_SECRET)))
    expect(verifier.verify(other, {}, noSecrets)).to.deep.equal({ user_id: 1, exp: NOW + 60 })
  })
})
