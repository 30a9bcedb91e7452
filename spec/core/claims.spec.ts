import { expect } from 'chai'

import { instantiateClaim, setupClaims, verifyClaims, withInline } from '../../source/core/claims'
import type { JwtPayload } from '../../source/core/token'
import { Claim, InvalidCustomClaim, InvalidCustomClaimError, type ClaimClass } from '../../source'
import { isThenable } from '../helpers/parts'
import { caught, caughtSync } from '../helpers/token-core'

/** What the claims of a spec did, in order. */
let log: string[]

/**
 * A synchronous claim class with the given key and value; its verify() answers the verdict (true
 * when none is given).
 */
function syncClaim(key: string, value: unknown, ...verdicts: unknown[]): ClaimClass {
  const verdict = verdicts.length === 0 ? true : verdicts[0]
  return class extends Claim {
    key = key
    setup(payload: JwtPayload): unknown {
      log.push(`setup ${key} after [${Object.keys(payload).join(',')}]`)
      return value
    }
    verify(seen: unknown): boolean {
      log.push(`verify ${key}=${String(seen)}`)
      return verdict as boolean
    }
  }
}

/** A claim class whose setup() and verify() answer after a macrotask. */
function asyncClaim(key: string, value: unknown, ...verdicts: unknown[]): ClaimClass {
  const verdict = verdicts.length === 0 ? true : verdicts[0]
  return class extends Claim {
    key = key
    async setup(payload: JwtPayload): Promise<unknown> {
      log.push(`setup ${key} after [${Object.keys(payload).join(',')}]`)
      await new Promise((resolve) => setTimeout(resolve, 5))
      log.push(`resolved ${key}`)
      return value
    }
    async verify(seen: unknown): Promise<boolean> {
      log.push(`verify ${key}=${String(seen)}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
      return verdict as boolean
    }
  }
}

const instances = (...types: ClaimClass[]): Claim[] => types.map((Type) => instantiateClaim(Type))

function resetLog(): void {
  log = []
}

describe('claims: instantiateClaim()', () => {
  beforeEach(resetLog)

  it('returns an instance of the claim class', () => {
    const Type = syncClaim('username', 'alice')
    const claim = instantiateClaim(Type)
    expect(claim).to.be.instanceOf(Type)
    expect(claim.getKey()).to.equal('username')
  })

  const notClasses: [string, unknown][] = [
    ['an arrow function', () => ({ key: 'k', setup: () => 1, verify: () => true })],
    ['a claim instance', new (syncClaim('k', 1))()],
    [
      'a class that does not extend Claim',
      class {
        key = 'k'
        setup(): number {
          return 1
        }
        verify(): boolean {
          return true
        }
      },
    ],
    ['Claim itself', Claim],
    ['null', null],
    ['a string', 'Claim'],
  ]
  for (const [label, value] of notClasses) {
    it(`refuses ${label} with InvalidCustomClaim 500`, () => {
      const error = caughtSync(() => instantiateClaim(value as ClaimClass))
      expect(error).to.be.instanceOf(InvalidCustomClaim)
      expect(error.status).to.equal(500)
      expect(error.message).to.contain('classes extending Claim')
    })
  }

  const badKeys: [string, unknown][] = [
    ['without a key', undefined],
    ['with an empty key', ''],
    ['with a key that is not a string', 42],
  ]
  for (const [label, key] of badKeys) {
    it(`refuses a claim class ${label}, naming the class`, () => {
      class NoKeyClaim extends Claim {
        key = key as string
        setup(): number {
          return 1
        }
        verify(): boolean {
          return true
        }
      }
      const error = caughtSync(() => instantiateClaim(NoKeyClaim))
      expect(error).to.be.instanceOf(InvalidCustomClaim)
      expect(error.message).to.contain('NoKeyClaim must declare a non-empty "key"')
    })
  }

  for (const method of ['setup', 'verify'] as const) {
    it(`refuses a claim class without ${method}(), naming the method`, () => {
      class Partial extends Claim {
        key = 'k'
        setup(): number {
          return 1
        }
        verify(): boolean {
          return true
        }
      }
      Object.defineProperty(Partial.prototype, method, { value: undefined })
      const error = caughtSync(() => instantiateClaim(Partial))
      expect(error).to.be.instanceOf(InvalidCustomClaim)
      expect(error.message).to.contain(`Partial must implement ${method}()`)
    })
  }
})

describe('claims: withInline()', () => {
  beforeEach(resetLog)

  it('returns the registered claims themselves when there is no inline claim', () => {
    const registered = instances(syncClaim('a', 1))
    expect(withInline(registered, undefined)).to.equal(registered)
    expect(withInline(registered, [])).to.equal(registered)
  })

  it('appends new instances of the inline classes after the registered claims', () => {
    const registered = instances(syncClaim('a', 1))
    const Inline = syncClaim('b', 2)
    const first = withInline(registered, [Inline])
    const second = withInline(registered, [Inline])
    expect(first.map((claim) => claim.getKey())).to.deep.equal(['a', 'b'])
    expect(first[0]).to.equal(registered[0])
    expect(first[1]).to.be.instanceOf(Inline)
    expect(second[1]).not.to.equal(first[1])
    expect(registered).to.have.length(1)
  })

  it('refuses an inline class that is no claim', () => {
    const error = caughtSync(() => withInline([], [class {} as unknown as ClaimClass]))
    expect(error).to.be.instanceOf(InvalidCustomClaim)
  })
})

describe('claims: setupClaims()', () => {
  beforeEach(resetLog)

  it('returns the payload itself, not a promise, when every setup is synchronous', () => {
    const payload: JwtPayload = { user_id: 1 }
    const result = setupClaims(payload, {}, instances(syncClaim('a', 'A'), syncClaim('b', 'B')))
    expect(isThenable(result)).to.equal(false)
    expect(result).to.equal(payload)
    expect(payload).to.deep.equal({ user_id: 1, a: 'A', b: 'B' })
  })

  it('passes the payload built so far and the user to each setup', () => {
    const seen: unknown[] = []
    class UserClaim extends Claim {
      key = 'name'
      setup(payload: JwtPayload, user: { name: string }): string {
        seen.push({ ...payload }, user)
        return user.name
      }
      verify(): boolean {
        return true
      }
    }
    const user = { name: 'alice' }
    setupClaims({ user_id: 1, first: 'x' }, user, instances(UserClaim))
    expect(seen).to.deep.equal([{ user_id: 1, first: 'x' }, user])
    expect(seen[1]).to.equal(user)
  })

  it('returns the payload untouched for no claims', () => {
    const payload: JwtPayload = { user_id: 1 }
    expect(setupClaims(payload, {}, [])).to.equal(payload)
    expect(payload).to.deep.equal({ user_id: 1 })
  })

  it('runs the setups before an async one synchronously, then returns a promise', async () => {
    const payload: JwtPayload = { user_id: 1 }
    const result = setupClaims(payload, {}, instances(syncClaim('a', 'A'), asyncClaim('b', 'B'), syncClaim('c', 'C')))
    expect(isThenable(result)).to.equal(true)
    // Before any await: a is set, b has started, c has not.
    expect(log).to.deep.equal(['setup a after [user_id]', 'setup b after [user_id,a]'])
    expect(payload).to.deep.equal({ user_id: 1, a: 'A' })
    expect(await result).to.equal(payload)
  })

  it('keeps the order of the claims across an async setup', async () => {
    const payload: JwtPayload = { user_id: 1 }
    await setupClaims(
      payload,
      {},
      instances(syncClaim('a', 'A'), asyncClaim('b', 'B'), syncClaim('c', 'C'), asyncClaim('d', 'D')),
    )
    expect(Object.keys(payload)).to.deep.equal(['user_id', 'a', 'b', 'c', 'd'])
    expect(payload).to.deep.equal({ user_id: 1, a: 'A', b: 'B', c: 'C', d: 'D' })
    expect(log).to.deep.equal([
      'setup a after [user_id]',
      'setup b after [user_id,a]',
      'resolved b',
      'setup c after [user_id,a,b]',
      'setup d after [user_id,a,b,c]',
      'resolved d',
    ])
  })

  it('rejects with the error of an async setup, and sets up none of the claims after it', async () => {
    const failure = new Error('lookup failed')
    class Failing extends Claim {
      key = 'f'
      async setup(): Promise<unknown> {
        throw failure
      }
      verify(): boolean {
        return true
      }
    }
    const payload: JwtPayload = {}
    expect(await caught(() => setupClaims(payload, {}, instances(Failing, syncClaim('c', 'C'))))).to.equal(failure)
    expect(log).to.deep.equal([])
    expect(payload).to.deep.equal({})
  })
})

describe('claims: verifyClaims()', () => {
  beforeEach(resetLog)

  it('resolves when every claim answers true, checking each with its own value in order', async () => {
    await verifyClaims({ a: 'A', b: 'B', c: 'C' }, instances(syncClaim('a', 0), asyncClaim('b', 0), syncClaim('c', 0)))
    expect(log).to.deep.equal(['verify a=A', 'verify b=B', 'verify c=C'])
  })

  it('passes undefined for a claim missing from the payload', async () => {
    await verifyClaims({}, instances(syncClaim('absent', 0)))
    expect(log).to.deep.equal(['verify absent=undefined'])
  })

  for (const [label, make] of [
    ['sync', syncClaim],
    ['async', asyncClaim],
  ] as const) {
    it(`rejects with InvalidCustomClaimError 401 naming the claim when a ${label} verify answers false, and checks no further`, async () => {
      const error = await caught(() =>
        verifyClaims({ a: 'A', b: 'B' }, instances(make('a', 0, false), syncClaim('b', 0))),
      )
      expect(error).to.be.instanceOf(InvalidCustomClaimError)
      expect(error.status).to.equal(401)
      expect(error.code).to.equal('ERR_JWT_CUSTOM_CLAIM_FAILED')
      expect(error.message).to.equal('Invalid claim: a.')
      expect(log).to.deep.equal(['verify a=A'])
    })
  }

  for (const [label, verdict] of [
    ['undefined', undefined],
    ['a truthy string', 'yes'],
    ['1', 1],
    ['null', null],
  ] as const) {
    it(`rejects with InvalidCustomClaim 500 when verify answers ${label}`, async () => {
      const error = await caught(() => verifyClaims({ a: 'A' }, instances(asyncClaim('a', 0, verdict))))
      expect(error).to.be.instanceOf(InvalidCustomClaim)
      expect(error).not.to.be.instanceOf(InvalidCustomClaimError)
      expect(error.status).to.equal(500)
      expect(error.code).to.equal('ERR_JWT_INVALID_CUSTOM_CLAIM')
    })
  }
})
