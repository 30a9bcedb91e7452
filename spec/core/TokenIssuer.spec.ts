import { createSecretKey } from 'node:crypto'

import { expect } from 'chai'

import { instantiateClaim } from '../../source/core/claims'
import { KeyStore } from '../../source/core/KeyStore'
import { verifySignature, type JwtPayload } from '../../source/core/token'
import { TokenIssuer, type IssueOptions, type IssuingHooks } from '../../source/core/TokenIssuer'
import {
  Claim,
  Configuration,
  InvalidConfiguration,
  InvalidPayload,
  InvalidRetrieveUserObject,
  MissingRegisteredClaim,
  RequiredKeysNotFound,
  UserSecretNotImplemented,
  type ClaimClass,
  type ConfigurationInput,
} from '../../source'
import { makeClock } from '../helpers/app'
import { KEYS } from '../helpers/keys'
import { SECRET_KEY, isThenable, makeConfig, makeConfigOf } from '../helpers/parts'
import { caught, caughtSync } from '../helpers/token-core'

const NOW = 1_700_000_000

interface User {
  user_id?: unknown
  id?: unknown
  name?: string
  password?: string
}

// The base steps as the issuer is told about them: when the hooks hold these, the issuer runs its
// own steps and never calls them.
const base: Pick<IssuingHooks<User>, 'buildPayload' | 'addClaims'> = {
  buildPayload(): JwtPayload {
    throw new Error('the base buildPayload is never called: the issuer runs basePayload itself')
  },
  addClaims(): JwtPayload {
    throw new Error('the base addClaims is never called: the issuer runs addClaims itself')
  },
}

/** Hooks holding the base steps, a pass-through extendPayload and the given overrides. */
function hooks(overrides: Partial<IssuingHooks<User>> = {}): IssuingHooks<User> {
  return {
    buildPayload: base.buildPayload,
    addClaims: base.addClaims,
    extendPayload: (payload) => payload,
    addScopesToPayload: () => {
      throw new Error('addScopesToPayload is not called while scopes are off')
    },
    retrieveUserSecret: () => {
      throw new Error('retrieveUserSecret is not called without per-user secrets')
    },
    ...overrides,
  }
}

/** A claim class setting `key` to `value`. */
function claim(key: string, value: unknown): ClaimClass<User> {
  return class extends Claim<User> {
    key = key
    setup(): unknown {
      return value
    }
    verify(): boolean {
      return true
    }
  }
}

/** A claim class whose setup answers after a macrotask. */
function asyncClaim(key: string, value: unknown): ClaimClass<User> {
  return class extends Claim<User> {
    key = key
    async setup(): Promise<unknown> {
      await new Promise((resolve) => setTimeout(resolve, 2))
      return value
    }
    verify(): boolean {
      return true
    }
  }
}

/** An issuer over a fresh configuration with the test clock, `settings` and registered `claims`. */
function make(settings: ConfigurationInput = {}, claims: ClaimClass<User>[] = [], config?: Configuration) {
  const clock = makeClock(NOW)
  const resolved = config ?? makeConfig({ clock: clock.clock, ...settings })
  const issuer = new TokenIssuer<User>(resolved, new KeyStore(resolved), base)
  issuer.useClaims(claims.map((Type) => instantiateClaim(Type)))
  return { clock, config: resolved, issuer }
}

/** The payload of a token signed with the test secret (the signature is checked). */
function signedPayload(token: string): JwtPayload {
  return verifySignature(token, SECRET_KEY, 'HS256')
}

/** Issues a token for `user` and returns its payload. */
async function issued(
  issuer: TokenIssuer<User>,
  user: User = { user_id: 1 },
  options: IssueOptions<User> = {},
  using: IssuingHooks<User> = hooks(),
): Promise<JwtPayload> {
  return signedPayload(await issuer.issue(using, user, options))
}

describe('TokenIssuer#basePayload()', () => {
  it('returns { [userId]: id } of a plain user as a plain object, not a promise', () => {
    const { issuer } = make()
    const result = issuer.basePayload({ user_id: 1, name: 'alice', password: 'secret' })
    expect(isThenable(result)).to.equal(false)
    expect(result).to.deep.equal({ user_id: 1 })
  })

  it('reads the key named by the userId setting', () => {
    const { issuer } = make({ userId: 'id' })
    expect(issuer.basePayload({ id: 'u-1', user_id: 2 })).to.deep.equal({ id: 'u-1' })
  })

  it('returns the id from a synchronous toDict() without a promise', () => {
    const { issuer } = make()
    const user = { toDict: () => ({ user_id: 3, password: 'x' }) } as unknown as User
    const result = issuer.basePayload(user)
    expect(isThenable(result)).to.equal(false)
    expect(result).to.deep.equal({ user_id: 3 })
  })

  it('returns a promise of the id from an async toDict()', async () => {
    const { issuer } = make()
    const user = { toDict: async () => ({ user_id: 4, password: 'x' }) } as unknown as User
    const result = issuer.basePayload(user)
    expect(result).to.be.instanceOf(Promise)
    expect(await result).to.deep.equal({ user_id: 4 })
  })

  it('throws InvalidRetrieveUserObject for a user that is neither', () => {
    const { issuer } = make()
    expect(caughtSync(() => issuer.basePayload({ name: 'alice' }))).to.be.instanceOf(InvalidRetrieveUserObject)
  })
})

describe('TokenIssuer#addClaims()', () => {
  it('adds exp = now + expirationDelta from the clock, and no other registered claim by default', () => {
    const { issuer } = make()
    const payload: JwtPayload = { user_id: 1 }
    issuer.addClaims(payload, {}, undefined, undefined, undefined)
    expect(payload).to.deep.equal({ user_id: 1, exp: NOW + 1800 })
  })

  it('rounds a fractional clock down', () => {
    const { clock, issuer } = make({ claimIat: true })
    clock.now = NOW + 0.9
    const payload: JwtPayload = {}
    issuer.addClaims(payload, {}, undefined, undefined, undefined)
    expect(payload).to.deep.equal({ exp: NOW + 1800, iat: NOW })
  })

  it('takes the expirationDelta given to the call over the setting', () => {
    const { issuer } = make({ expirationDelta: 60 })
    const payload: JwtPayload = {}
    issuer.addClaims(payload, {}, undefined, undefined, 300)
    expect(payload.exp).to.equal(NOW + 300)
  })

  it('adds exp, iss, iat, nbf and aud in that order, then the registered and inline custom claims', () => {
    const { issuer } = make(
      { claimIss: 'issuer', claimIat: true, claimNbf: true, claimNbfDelta: 20, leeway: 10, claimAud: ['a', 'b'] },
      [claim('first', 1), claim('second', 2)],
    )
    const payload: JwtPayload = { user_id: 1 }
    issuer.addClaims(payload, {}, [claim('inline', 3)], undefined, undefined)
    expect(Object.keys(payload)).to.deep.equal([
      'user_id',
      'exp',
      'iss',
      'iat',
      'nbf',
      'aud',
      'first',
      'second',
      'inline',
    ])
    expect(payload).to.deep.equal({
      user_id: 1,
      exp: NOW + 1800,
      iss: 'issuer',
      iat: NOW,
      nbf: NOW + 10 + 20,
      aud: ['a', 'b'],
      first: 1,
      second: 2,
      inline: 3,
    })
  })

  it('returns the payload itself, not a promise, when the claims are synchronous', () => {
    const { issuer } = make({}, [claim('c', 1)])
    const payload: JwtPayload = {}
    const result = issuer.addClaims(payload, {}, undefined, undefined, undefined)
    expect(isThenable(result)).to.equal(false)
    expect(result).to.equal(payload)
  })

  it('returns a promise when a claim setup is async', async () => {
    const { issuer } = make({}, [asyncClaim('c', 'late')])
    const payload: JwtPayload = {}
    const result = issuer.addClaims(payload, {}, undefined, undefined, undefined)
    expect(isThenable(result)).to.equal(true)
    expect(await result).to.deep.equal({ exp: NOW + 1800, c: 'late' })
  })
})

describe('TokenIssuer#issue()', () => {
  it('signs { [userId]: id, exp } with the instance key', async () => {
    const { issuer } = make()
    expect(await issued(issuer, { user_id: 1, name: 'alice', password: 'secret' })).to.deep.equal({
      user_id: 1,
      exp: NOW + 1800,
    })
  })

  it('signs the claims in order: user id, exp, iss, iat, nbf, aud, registered, inline custom claims', async () => {
    const { issuer } = make({ claimIss: 'me', claimIat: true, claimNbf: true, claimAud: 'you' }, [claim('reg', 'r')])
    const payload = await issued(issuer, { user_id: 1 }, { customClaims: [claim('inl', 'i')] })
    expect(Object.keys(payload)).to.deep.equal(['user_id', 'exp', 'iss', 'iat', 'nbf', 'aud', 'reg', 'inl'])
    expect(payload).to.deep.include({ iss: 'me', iat: NOW, nbf: NOW + 180, aud: 'you', reg: 'r', inl: 'i' })
  })

  it('runs its own steps when the hooks hold the base ones (the base functions are never called)', async () => {
    const { issuer } = make({}, [claim('c', 1)])
    expect(await issued(issuer, { user_id: 9 }, {}, hooks())).to.deep.equal({ user_id: 9, exp: NOW + 1800, c: 1 })
  })

  it('calls an overridden buildPayload with the user and ctx and signs what it returns', async () => {
    const { issuer } = make()
    const seen: unknown[] = []
    const ctx = {}
    const user = { user_id: 1 }
    const using = hooks({
      buildPayload: async (u, c) => {
        seen.push(u, c)
        return { user_id: 'custom', extra: true }
      },
    })
    expect(await issued(issuer, user, { ctx }, using)).to.deep.equal({
      user_id: 'custom',
      extra: true,
      exp: NOW + 1800,
    })
    expect(seen).to.have.length(2)
    expect(seen[0]).to.equal(user)
    expect(seen[1]).to.equal(ctx)
  })

  it('calls an overridden addClaims with the payload, user, inline claims, ctx and delta, and signs its result', async () => {
    const { issuer } = make()
    const seen: unknown[][] = []
    const inline = [claim('i', 1)]
    const ctx = {}
    const user = { user_id: 1 }
    const using = hooks({
      addClaims: (payload, u, claims, c, delta) => {
        seen.push([{ ...payload }, u, claims, c, delta])
        return { ...payload, exp: 42, i: 'mine' }
      },
    })
    expect(await issued(issuer, user, { ctx, customClaims: inline, expirationDelta: '2m' }, using)).to.deep.equal({
      user_id: 1,
      exp: 42,
      i: 'mine',
    })
    expect(seen).to.deep.equal([[{ user_id: 1 }, user, inline, ctx, 120]])
    expect(seen[0]![2]).to.equal(inline)
  })

  it('calls extendPayload with the payload and user and signs what it returns', async () => {
    const { issuer } = make()
    const user = { user_id: 1 }
    const seen: unknown[] = []
    const using = hooks({
      extendPayload: async (payload, u) => {
        seen.push({ ...payload }, u)
        return { ...payload, role: 'admin' }
      },
    })
    expect(await issued(issuer, user, {}, using)).to.deep.equal({ user_id: 1, exp: NOW + 1800, role: 'admin' })
    expect(seen).to.deep.equal([{ user_id: 1, exp: NOW + 1800 }, user])
  })

  it('keeps the payload when extendPayload returns nothing', async () => {
    const { issuer } = make()
    const using = hooks({
      extendPayload: (payload) => {
        payload.changed = true
      },
    })
    expect(await issued(issuer, { user_id: 1 }, {}, using)).to.deep.equal({
      user_id: 1,
      exp: NOW + 1800,
      changed: true,
    })
  })

  it('puts the scopes of addScopesToPayload(user, ctx) under scopesName, a single scope as a list', async () => {
    const { issuer } = make({ scopesEnabled: true, scopesName: 'perms' })
    const ctx = {}
    const seen: unknown[] = []
    const one = hooks({
      addScopesToPayload: (u, c) => {
        seen.push(u, c)
        return 'user'
      },
    })
    const user = { user_id: 1 }
    expect((await issued(issuer, user, { ctx }, one)).perms).to.deep.equal(['user'])
    expect(seen[0]).to.equal(user)
    expect(seen[1]).to.equal(ctx)
    const many = hooks({ addScopesToPayload: async () => ['user', 'admin:read'] })
    expect((await issued(issuer, user, {}, many)).perms).to.deep.equal(['user', 'admin:read'])
  })

  it('does not ask for scopes while scopes are off', async () => {
    const { issuer } = make()
    // The default hooks throw from addScopesToPayload.
    expect(await issued(issuer)).not.to.have.property('scopes')
  })

  for (const fresh of [true, false]) {
    it(`adds fresh: ${String(fresh)} when asked`, async () => {
      const { issuer } = make()
      expect((await issued(issuer, { user_id: 1 }, { fresh })).fresh).to.equal(fresh)
    })
  }

  it('turns fresh: n seconds into the epoch until which the token is fresh (now + n without iat)', async () => {
    const { issuer } = make()
    expect((await issued(issuer, { user_id: 1 }, { fresh: 500 })).fresh).to.equal(NOW + 500)
  })

  it("counts fresh: n seconds from the token's iat (flask-jwt-extended: fresh until iat + n)", async () => {
    const { clock, issuer } = make({ claimIat: true })
    clock.now = NOW + 0.9
    const payload = await issued(issuer, { user_id: 1 }, { fresh: 300 })
    expect(payload.iat).to.equal(NOW)
    expect(payload.fresh).to.equal(NOW + 300)
  })

  it('takes fresh as a span such as "5m"', async () => {
    const { issuer } = make()
    expect((await issued(issuer, { user_id: 1 }, { fresh: '5m' })).fresh).to.equal(NOW + 300)
  })

  for (const fresh of [-1, Number.NaN, Infinity, 'soon', null]) {
    it(`refuses fresh: ${String(fresh)} with InvalidConfiguration`, async () => {
      const { issuer } = make()
      const error = await caught(() => issuer.issue(hooks(), { user_id: 1 }, { fresh: fresh as never }))
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.contain('"fresh"')
    })
  }

  it('adds no fresh claim unless asked', async () => {
    const { issuer } = make()
    expect(await issued(issuer)).not.to.have.property('fresh')
  })

  for (const [delta, seconds] of [
    ['5m', 300],
    ['1h', 3600],
    [90, 90],
    [0, 0],
  ] as const) {
    it(`signs exp = now + ${seconds} for the per-call expirationDelta ${JSON.stringify(delta)}`, async () => {
      const { issuer } = make({ expirationDelta: 60 })
      expect((await issued(issuer, { user_id: 1 }, { expirationDelta: delta })).exp).to.equal(NOW + seconds)
    })
  }

  it('refuses a per-call expirationDelta that is no span with InvalidConfiguration', async () => {
    const { issuer } = make()
    const error = await caught(() => issuer.issue(hooks(), { user_id: 1 }, { expirationDelta: 'soon' }))
    expect(error).to.be.instanceOf(InvalidConfiguration)
    expect(error.message).to.contain('expirationDelta')
  })

  const badPayloads: [string, unknown][] = [
    ['null', null],
    ['an array', [{ user_id: 1 }]],
    ['a class instance', new (class Payload {
      user_id = 1
    })()],
    ['an object without the user id', { id: 1 }],
    ['an object whose user id is undefined', { user_id: undefined }],
  ]
  for (const [label, value] of badPayloads) {
    it(`rejects with InvalidPayload 500 when buildPayload returns ${label}`, async () => {
      const { issuer } = make()
      const using = hooks({ buildPayload: () => value as JwtPayload })
      const error = await caught(() => issuer.issue(using, { user_id: 1 }, {}))
      expect(error).to.be.instanceOf(InvalidPayload)
      expect(error.status).to.equal(500)
    })
  }

  for (const [label, value] of [['a string', 'payload'], ['an array', [1]], ['a number', 5]] as const) {
    it(`rejects with InvalidPayload 500 when extendPayload returns ${label} (not a TypeError)`, async () => {
      const { issuer } = make()
      const using = hooks({ extendPayload: () => value as unknown as JwtPayload })
      const error = await caught(() => issuer.issue(using, { user_id: 1 }, {}))
      expect(error).to.be.instanceOf(InvalidPayload)
      expect(error.status).to.equal(500)
    })
  }

  it('rejects with InvalidPayload for a plain user whose id is undefined', async () => {
    const { issuer } = make()
    expect(await caught(() => issuer.issue(hooks(), { user_id: undefined }, {}))).to.be.instanceOf(InvalidPayload)
  })

  it('rejects with MissingRegisteredClaim listing every registered and custom claim extendPayload dropped', async () => {
    const { issuer } = make({ claimIss: 'me', claimIat: true, claimNbf: true }, [claim('reg', 1), claim('kept', 2)])
    const using = hooks({
      extendPayload: (payload) => {
        const { exp: _exp, nbf: _nbf, reg: _reg, inl: _inl, ...rest } = payload
        return rest
      },
    })
    const error = await caught(() => issuer.issue(using, { user_id: 1 }, { customClaims: [claim('inl', 3)] }))
    expect(error).to.be.instanceOf(MissingRegisteredClaim)
    expect(error.status).to.equal(500)
    expect((error as MissingRegisteredClaim).missing).to.deep.equal(['exp', 'nbf', 'reg', 'inl'])
    expect(error.message).to.contain("['exp', 'nbf', 'reg', 'inl']")
  })

  it('runs the inline extendPayload after the required-claim check, then adds fresh', async () => {
    const { issuer } = make({ claimIss: 'me' })
    const payload = await issued(issuer, { user_id: 1 }, {
      fresh: true,
      extendPayload: (p) => {
        const { iss: _iss, ...rest } = p
        return { ...rest, fresh: 'overwritten', inline: true }
      },
    })
    expect(payload).to.deep.equal({ user_id: 1, exp: NOW + 1800, fresh: true, inline: true })
  })

  it('signs with the key of the user when per-user secrets are on', async () => {
    const { issuer } = make({ userSecretEnabled: true })
    const secret = 'the-secret-of-user-seven-long-enough'
    const seen: unknown[] = []
    const using = hooks({
      retrieveUserSecret: (userId, options) => {
        seen.push(userId, options)
        return secret
      },
    })
    const token = await issuer.issue(using, { user_id: 7 }, {})
    expect(verifySignature(token, createSecretKey(Buffer.from(secret)), 'HS256')).to.deep.equal({
      user_id: 7,
      exp: NOW + 1800,
    })
    expect(caughtSync(() => signedPayload(token)).code).to.equal('ERR_JWT_INVALID_SIGNATURE')
    expect(seen).to.deep.equal([7, { encode: false }])
  })

  it('asks for the private key of the user (encode: true) with an asymmetric algorithm', async () => {
    const config = makeConfig({
      algorithm: 'RS256',
      secret: KEYS.rsa.publicKey,
      privateKey: KEYS.rsa.privateKey,
      userSecretEnabled: true,
    })
    const { issuer } = make({}, [], config)
    const seen: unknown[] = []
    const using = hooks({
      retrieveUserSecret: (_userId, options) => {
        seen.push(options)
        return KEYS.rsa.privateKey
      },
    })
    await issuer.issue(using, { user_id: 1 }, {})
    expect(seen).to.deep.equal([{ encode: true }])
  })

  it('rejects with UserSecretNotImplemented 500 when the user has no secret', async () => {
    const { issuer } = make({ userSecretEnabled: true })
    const error = await caught(() => issuer.issue(hooks({ retrieveUserSecret: () => '' }), { user_id: 1 }, {}))
    expect(error).to.be.instanceOf(UserSecretNotImplemented)
    expect(error.status).to.equal(500)
  })

  it('rejects with RequiredKeysNotFound in a verify-only setup without a private key', async () => {
    const config = makeConfig({ algorithm: 'RS256', secret: KEYS.rsa.publicKey, authMode: false })
    const { issuer } = make({}, [], config)
    expect(await caught(() => issuer.issue(hooks(), { user_id: 1 }, {}))).to.be.instanceOf(RequiredKeysNotFound)
  })

  it('reads no setting again while the settings are static, and reads them again after a change', async () => {
    const { config, issuer } = make()
    await issued(issuer)
    const get = config.get.bind(config)
    let reads = 0
    Object.defineProperty(config, 'get', {
      configurable: true,
      value: (...args: Parameters<typeof get>) => {
        reads++
        return get(...args)
      },
    })
    expect((await issued(issuer)).exp).to.equal(NOW + 1800)
    expect(reads).to.equal(0)
    config.set('expirationDelta', 60)
    expect((await issued(issuer)).exp).to.equal(NOW + 60)
    expect(reads).to.be.greaterThan(0)
  })

  it('reads a per-request value of a setting for the request it is given', async () => {
    class PerRequest extends Configuration {
      getExpirationDelta(ctx: { delta?: number }): number | undefined {
        return ctx.delta
      }
    }
    const clock = makeClock(NOW)
    const { issuer } = make({}, [], makeConfigOf(PerRequest, { clock: clock.clock }))
    expect((await issued(issuer, { user_id: 1 }, { ctx: { delta: 30 } })).exp).to.equal(NOW + 30)
    expect((await issued(issuer, { user_id: 1 }, { ctx: {} })).exp).to.equal(NOW + 1800)
    expect((await issued(issuer)).exp).to.equal(NOW + 1800)
  })
})
