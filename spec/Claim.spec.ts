import { expect } from 'chai'

import {
  Claim,
  InvalidCustomClaim,
  InvalidCustomClaimError,
  MissingRegisteredClaim,
  type ClaimClass,
  type Initialize,
  type InitializeOptions,
  type JwtPayload,
} from '../source'
import { makeClock } from './helpers/app'
import { caught, caughtSync, hmacToken, initialize, peek } from './helpers/token-core'

interface Member {
  user_id: number
  username: string
  tenant: string
}

const T = 1_700_000_000
const ALICE: Member = { user_id: 1, username: 'alice', tenant: 'acme' }

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Records what setup and verify receive. */
const seen: { setup: [JwtPayload, Member][]; verify: unknown[] } = { setup: [], verify: [] }

class UsernameClaim extends Claim<Member> {
  override key = 'username'

  override setup(payload: JwtPayload, user: Member): string {
    seen.setup.push([{ ...payload }, user])
    return user.username
  }

  override verify(value: unknown): boolean {
    seen.verify.push(value)
    return typeof value === 'string' && value.length > 0
  }
}

class TenantClaim extends Claim<Member> {
  override key = 'tenant'

  override async setup(_payload: JwtPayload, user: Member): Promise<string> {
    await tick()
    return user.tenant
  }

  override async verify(value: unknown): Promise<boolean> {
    await tick()
    return value === 'acme'
  }
}

class AlwaysFalseClaim extends Claim<Member> {
  override key = 'never'

  override setup(): string {
    return 'x'
  }

  override verify(): boolean {
    return false
  }
}

class AsyncFalseClaim extends Claim<Member> {
  override key = 'later'

  override async setup(): Promise<string> {
    return 'x'
  }

  override async verify(): Promise<boolean> {
    await tick()
    return false
  }
}

function nonBooleanClaim(result: unknown, async = false): ClaimClass<Member> {
  return class extends Claim<Member> {
    override key = 'odd'

    override setup(): string {
      return 'x'
    }

    override verify(): boolean | Promise<boolean> {
      return (async ? Promise.resolve(result) : result) as boolean
    }
  }
}

function build(options: InitializeOptions<Member> = {}): Initialize<Member> {
  return initialize<Member>({ clock: makeClock(T).clock, ...options })
}

async function verifyError(jwt: Initialize<Member>, token: string, inline?: readonly ClaimClass[]) {
  return caught(() => jwt.auth.verifyToken(token, inline ? { customClaims: inline } : {}))
}

describe('Claim', () => {
  beforeEach(() => {
    seen.setup = []
    seen.verify = []
  })

  describe('#getKey()', () => {
    it('returns the key declared as a class field', () => {
      expect(new UsernameClaim().getKey()).to.equal('username')
      expect(new TenantClaim().getKey()).to.equal('tenant')
    })
  })

  describe('registered through customClaims', () => {
    it('adds the value of setup to every generated token', async () => {
      const jwt = build({ customClaims: [UsernameClaim, TenantClaim] })
      const token = await jwt.auth.generateAccessToken(ALICE)
      expect(peek(token)).to.deep.equal({
        user_id: 1,
        exp: T + 1800,
        username: 'alice',
        tenant: 'acme',
      })
    })

    it('sets claims up one after the other, in order, also after one whose setup is async', async () => {
      const order: string[] = []
      const claim = (key: string, async: boolean): ClaimClass<Member> =>
        class extends Claim<Member> {
          override key = key
          override setup(payload: JwtPayload): unknown {
            order.push(`${key} sees ${Object.keys(payload).join(',')}`)
            if (!async) return `${key}!`
            return tick().then(() => {
              order.push(`${key} done`)
              return `${key}!`
            })
          }
          override verify(): boolean {
            return true
          }
        }
      const jwt = build({ customClaims: [claim('a', false), claim('b', true), claim('c', false), claim('d', true)] })
      const token = await jwt.auth.generateAccessToken(ALICE)
      expect(peek(token)).to.include({ a: 'a!', b: 'b!', c: 'c!', d: 'd!' })
      expect(order).to.deep.equal([
        'a sees user_id,exp',
        'b sees user_id,exp,a',
        'b done',
        'c sees user_id,exp,a,b',
        'd sees user_id,exp,a,b,c',
        'd done',
      ])
    })

    it('calls setup with the payload built so far and the user', async () => {
      const jwt = build({ customClaims: [UsernameClaim], claimIss: 'me' })
      await jwt.auth.generateAccessToken(ALICE)
      expect(seen.setup).to.deep.equal([[{ user_id: 1, exp: T + 1800, iss: 'me' }, ALICE]])
    })

    it('verifies every token with verify(payload[key]), sync or async', async () => {
      const jwt = build({ customClaims: [UsernameClaim, TenantClaim] })
      const token = await jwt.auth.generateAccessToken(ALICE)
      expect(await jwt.auth.verifyToken(token)).to.include({ username: 'alice', tenant: 'acme' })
      expect(seen.verify).to.deep.equal(['alice'])
    })

    it('passes undefined to verify when the token lacks the claim', async () => {
      const jwt = build({ customClaims: [UsernameClaim] })
      const token = await build().auth.generateAccessToken(ALICE)
      await verifyError(jwt, token)
      expect(seen.verify).to.deep.equal([undefined])
    })

    it('throws InvalidCustomClaimError "Invalid claim: <key>." (401) when a sync verify returns false', async () => {
      const jwt = build({ customClaims: [UsernameClaim] })
      const token = await build().auth.generateAccessToken(ALICE)
      const error = await verifyError(jwt, token)
      expect(error).to.be.instanceOf(InvalidCustomClaimError)
      expect(error.status).to.equal(401)
      expect(error.code).to.equal('ERR_JWT_CUSTOM_CLAIM_FAILED')
      expect(error.reasons).to.deep.equal(['Invalid claim: username.'])
    })

    it('throws InvalidCustomClaimError when an async verify resolves false', async () => {
      const jwt = build({ customClaims: [TenantClaim] })
      const token = hmacToken({ user_id: 1, exp: T + 60, tenant: 'other' })
      const error = await verifyError(jwt, token)
      expect(error).to.be.instanceOf(InvalidCustomClaimError)
      expect(error.reasons).to.deep.equal(['Invalid claim: tenant.'])
      const asyncFalse = build({ customClaims: [AsyncFalseClaim] })
      const own = await asyncFalse.auth.generateAccessToken(ALICE)
      expect((await verifyError(asyncFalse, own)).reasons).to.deep.equal(['Invalid claim: later.'])
    })

    it('throws InvalidCustomClaimError for a token it generated itself when verify says no', async () => {
      const jwt = build({ customClaims: [AlwaysFalseClaim] })
      const token = await jwt.auth.generateAccessToken(ALICE)
      expect(peek(token).never).to.equal('x')
      expect((await verifyError(jwt, token)).reasons).to.deep.equal(['Invalid claim: never.'])
    })

    for (const [label, result, async] of [
      ['the string "true"', 'true', false],
      ['1', 1, false],
      ['undefined', undefined, false],
      ['null', null, false],
      ['an object', {}, false],
      ['a promise of "yes"', 'yes', true],
      ['a promise of undefined', undefined, true],
    ] as const) {
      it(`throws InvalidCustomClaim (500) when verify returns ${label}`, async () => {
        const jwt = build({ customClaims: [nonBooleanClaim(result, async)] })
        const error = await verifyError(jwt, await jwt.auth.generateAccessToken(ALICE))
        expect(error).to.be.instanceOf(InvalidCustomClaim)
        expect(error.status).to.equal(500)
        expect(error.code).to.equal('ERR_JWT_INVALID_CUSTOM_CLAIM')
      })
    }

    it('is skipped by verifyToken with verify: false', async () => {
      const jwt = build({ customClaims: [AlwaysFalseClaim] })
      const token = await jwt.auth.generateAccessToken(ALICE)
      expect((await jwt.auth.verifyToken(token, { verify: false })).never).to.equal('x')
    })

    it('throws MissingRegisteredClaim listing the key when extendPayload drops it', async () => {
      const jwt = build({
        customClaims: [UsernameClaim],
        extendPayload: (payload) => {
          delete payload.username
          return payload
        },
      })
      const error = await caught(() => jwt.auth.generateAccessToken(ALICE))
      expect(error).to.be.instanceOf(MissingRegisteredClaim)
      expect((error as MissingRegisteredClaim).missing).to.deep.equal(['username'])
    })
  })

  describe('inline through generateAccessToken / verifyToken', () => {
    it('adds an inline claim to that token only', async () => {
      const jwt = build()
      const withClaim = await jwt.auth.generateAccessToken(ALICE, { customClaims: [TenantClaim] })
      expect(peek(withClaim).tenant).to.equal('acme')
      const without = await jwt.auth.generateAccessToken(ALICE)
      expect(peek(without)).not.to.have.property('tenant')
      const again = await jwt.auth.generateAccessToken(ALICE, { customClaims: [TenantClaim] })
      expect(Object.keys(peek(again))).to.deep.equal(['user_id', 'exp', 'tenant'])
    })

    it('does not register an inline claim for later verifications (reference §7.2.5)', async () => {
      const jwt = build()
      await jwt.auth.generateAccessToken(ALICE, { customClaims: [AlwaysFalseClaim] })
      const plain = await jwt.auth.generateAccessToken(ALICE)
      expect((await jwt.auth.verifyToken(plain)).user_id).to.equal(1)
    })

    it('checks an inline claim in that verification only', async () => {
      const jwt = build()
      const token = await jwt.auth.generateAccessToken(ALICE)
      const error = await verifyError(jwt, token, [UsernameClaim])
      expect(error).to.be.instanceOf(InvalidCustomClaimError)
      expect(error.reasons).to.deep.equal(['Invalid claim: username.'])
      expect((await jwt.auth.verifyToken(token)).user_id).to.equal(1)
      const withClaim = await jwt.auth.generateAccessToken(ALICE, { customClaims: [UsernameClaim] })
      const payload = await jwt.auth.verifyToken(withClaim, { customClaims: [UsernameClaim] })
      expect(payload.username).to.equal('alice')
    })

    it('checks inline claims together with the registered ones', async () => {
      const jwt = build({ customClaims: [UsernameClaim] })
      const token = await jwt.auth.generateAccessToken(ALICE, { customClaims: [TenantClaim] })
      expect(await jwt.auth.verifyToken(token, { customClaims: [TenantClaim] })).to.include({
        username: 'alice',
        tenant: 'acme',
      })
      const error = await verifyError(jwt, token, [AsyncFalseClaim])
      expect(error.reasons).to.deep.equal(['Invalid claim: later.'])
    })

    it('throws InvalidCustomClaim for a non-boolean inline verify', async () => {
      const jwt = build()
      const token = await jwt.auth.generateAccessToken(ALICE)
      expect(await verifyError(jwt, token, [nonBooleanClaim('yes')])).to.be.instanceOf(InvalidCustomClaim)
    })

    it('throws MissingRegisteredClaim when extendPayload drops an inline claim', async () => {
      const jwt = build({
        extendPayload: (payload) => {
          delete payload.tenant
          return payload
        },
      })
      const error = await caught(() =>
        jwt.auth.generateAccessToken(ALICE, { customClaims: [TenantClaim] }),
      )
      expect(error).to.be.instanceOf(MissingRegisteredClaim)
      expect((error as MissingRegisteredClaim).missing).to.deep.equal(['tenant'])
    })

    it('throws InvalidCustomClaim for an inline entry that is not a Claim class', async () => {
      const jwt = build()
      class NotAClaim {
        key = 'x'
        setup(): string {
          return 'x'
        }
        verify(): boolean {
          return true
        }
      }
      const bogus = [NotAClaim] as unknown as ClaimClass<Member>[]
      expect(await caught(() => jwt.auth.generateAccessToken(ALICE, { customClaims: bogus }))).to.be.instanceOf(
        InvalidCustomClaim,
      )
      const token = await jwt.auth.generateAccessToken(ALICE)
      expect(await verifyError(jwt, token, bogus as ClaimClass[])).to.be.instanceOf(InvalidCustomClaim)
    })
  })

  describe('start-up', () => {
    class LooksLikeAClaim {
      key = 'username'
      getKey(): string {
        return this.key
      }
      setup(): string {
        return 'x'
      }
      verify(): boolean {
        return true
      }
    }
    class EmptyKey extends Claim<Member> {
      override key = ''
      override setup(): string {
        return 'x'
      }
      override verify(): boolean {
        return true
      }
    }
    // TypeScript's `abstract` does not exist at run time: a JavaScript subclass (or a cast) can
    // leave a method out (sanic-jwt test_custom_claims_bad: MissingVerifyClaim, MissingSetupClaim).
    const MissingVerify = class extends (Claim as unknown as new () => { key: string; setup(): unknown }) {
      override key = 'username'
      override setup(): string {
        return 'x'
      }
    }
    const MissingSetup = class extends (Claim as unknown as new () => { key: string; verify(): boolean }) {
      override key = 'username'
      override verify(): boolean {
        return true
      }
    }

    const bad: [string, unknown][] = [
      ['a Claim subclass without verify()', MissingVerify],
      ['a Claim subclass without setup()', MissingSetup],
      ['a class that does not extend Claim', LooksLikeAClaim],
      ['an instance of a Claim subclass', new UsernameClaim()],
      ['a plain function', () => ({ key: 'x' })],
      ['a string', 'username'],
      ['null', null],
      ['Claim itself', Claim],
      ['a Claim subclass with an empty key', EmptyKey],
    ]
    for (const [label, entry] of bad) {
      it(`throws InvalidCustomClaim at new Initialize for ${label} in customClaims`, () => {
        const customClaims = [entry] as unknown as ClaimClass<Member>[]
        const error = caughtSync(() => build({ customClaims }))
        expect(error).to.be.instanceOf(InvalidCustomClaim)
        expect(error.code).to.equal('ERR_JWT_INVALID_CUSTOM_CLAIM')
      })
    }
  })
})
