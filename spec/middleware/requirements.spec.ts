import { expect } from 'chai'
import type { Context } from 'koa'

import { NeedsFreshToken, UserLookupFailed, type JwtPayload } from '../../source'
import {
  loadUser,
  requireFresh,
  requirementsOf,
  withRequirements,
  type Check,
} from '../../source/middleware/requirements'
import type { InstanceParts } from '../../source/registry'

const NOW = 1_700_000_000

interface FakeParts {
  parts: InstanceParts
  /** The payloads retrieveUser was called with. */
  lookups: JwtPayload[]
  /** The clock the parts' configuration answers. */
  clock: { now: number }
}

/** Instance parts with a settable clock and a retrieveUser answering `found(payload)`. */
function fakeParts(found: (payload: JwtPayload) => unknown = () => ({ user_id: 1 })): FakeParts {
  const clock = { now: NOW }
  const lookups: JwtPayload[] = []
  const config = {
    get(name: string): unknown {
      if (name === 'clock') return () => clock.now
      throw new Error(`unexpected setting read: ${name}`)
    },
  }
  const auth = {
    retrieveUser(_ctx: Context, payload: JwtPayload): unknown {
      lookups.push(payload)
      return found(payload)
    },
  }
  return { parts: { config, auth, responses: {} } as unknown as InstanceParts, lookups, clock }
}

function fakeCtx(jwt?: JwtPayload): Context {
  return { state: jwt === undefined ? {} : { jwt } } as unknown as Context
}

/** A check that stores `payload` as a verified one, synchronously or after a turn. */
function verifying(payload: JwtPayload | undefined, async = false): Check {
  return (_parts, ctx) => {
    const store = (): void => {
      if (payload !== undefined) ctx.state.jwt = payload
    }
    if (async) return Promise.resolve().then(store)
    store()
    return undefined
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

async function rejected(promise: unknown): Promise<unknown> {
  expect(promise).to.be.instanceOf(Promise)
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

describe('middleware: requirements', () => {
  describe('requirementsOf()', () => {
    it('requires nothing by default', () => {
      expect(requirementsOf({})).to.deep.equal({ fresh: false, user: false })
    })

    it('requires freshness and the user only for the value true', () => {
      expect(requirementsOf({ fresh: true, user: true })).to.deep.equal({ fresh: true, user: true })
      expect(requirementsOf({ fresh: false, user: false })).to.deep.equal({ fresh: false, user: false })
      const loose = { fresh: 'yes', user: 1 } as unknown as { fresh: boolean; user: boolean }
      expect(requirementsOf(loose)).to.deep.equal({ fresh: false, user: false })
    })
  })

  describe('withRequirements()', () => {
    it('returns the check itself when nothing is required', () => {
      const check = verifying({ user_id: 1 })
      expect(withRequirements(check, { fresh: false, user: false })).to.equal(check)
    })

    it('wraps the check when freshness or the user is required', () => {
      const check = verifying({ user_id: 1 })
      expect(withRequirements(check, { fresh: true, user: false })).to.not.equal(check)
      expect(withRequirements(check, { fresh: false, user: true })).to.not.equal(check)
    })

    it('stays synchronous after a synchronous check (fresh token, sync retrieveUser)', () => {
      const { parts, lookups } = fakeParts()
      const ctx = fakeCtx()
      const check = withRequirements(verifying({ user_id: 1, fresh: true }), { fresh: true, user: true })
      expect(check(parts, ctx)).to.equal(undefined)
      expect(ctx.state.user).to.deep.equal({ user_id: 1 })
      expect(lookups).to.have.length(1)
    })

    it('throws NeedsFreshToken synchronously for a non-fresh token after a synchronous check', () => {
      const { parts } = fakeParts()
      const check = withRequirements(verifying({ user_id: 1, fresh: false }), { fresh: true, user: false })
      expect(thrown(() => check(parts, fakeCtx()))).to.be.instanceOf(NeedsFreshToken)
    })

    it('waits for an asynchronous check, then applies the requirements', async () => {
      const { parts, lookups } = fakeParts()
      const ctx = fakeCtx()
      const check = withRequirements(verifying({ user_id: 1, fresh: true }, true), { fresh: true, user: true })
      const pending = check(parts, ctx)
      expect(pending).to.be.instanceOf(Promise)
      expect(lookups).to.have.length(0)
      await pending
      expect(lookups).to.have.length(1)
      expect(ctx.state.user).to.deep.equal({ user_id: 1 })
    })

    it('rejects with NeedsFreshToken after an asynchronous check of a non-fresh token', async () => {
      const { parts } = fakeParts()
      const check = withRequirements(verifying({ user_id: 1 }, true), { fresh: true, user: false })
      expect(await rejected(check(parts, fakeCtx()))).to.be.instanceOf(NeedsFreshToken)
    })

    it('does not apply the requirements when the check fails', () => {
      const { parts, lookups } = fakeParts()
      const failing: Check = () => {
        throw new Error('no token')
      }
      const check = withRequirements(failing, { fresh: true, user: true })
      expect(thrown(() => check(parts, fakeCtx()))).to.have.property('message', 'no token')
      expect(lookups).to.have.length(0)
    })

    it('checks nothing when the check stored no payload (doProtection off)', () => {
      const { parts, lookups } = fakeParts(() => null)
      const ctx = fakeCtx()
      const check = withRequirements(verifying(undefined), { fresh: true, user: true })
      expect(check(parts, ctx)).to.equal(undefined)
      expect(lookups).to.have.length(0)
      expect(ctx.state).to.not.have.property('user')
    })

    it('checks freshness before looking the user up', () => {
      const { parts, lookups } = fakeParts()
      const check = withRequirements(verifying({ user_id: 1, fresh: false }), { fresh: true, user: true })
      expect(thrown(() => check(parts, fakeCtx()))).to.be.instanceOf(NeedsFreshToken)
      expect(lookups).to.have.length(0)
    })
  })

  describe('requireFresh()', () => {
    it('passes a fresh: true token and a window that has not passed on the configured clock', () => {
      const { parts, clock } = fakeParts()
      requireFresh(parts, fakeCtx(), { fresh: true })
      requireFresh(parts, fakeCtx(), { fresh: NOW + 10 })
      clock.now = NOW + 10
      requireFresh(parts, fakeCtx(), { fresh: NOW + 10 })
    })

    it('refuses a window that has passed on the configured clock, by one second', () => {
      const { parts, clock } = fakeParts()
      clock.now = NOW + 11
      const error = thrown(() => requireFresh(parts, fakeCtx(), { fresh: NOW + 10 }))
      expect(error).to.be.instanceOf(NeedsFreshToken)
      expect(error).to.include({ status: 401, code: 'ERR_JWT_NEEDS_FRESH' })
      expect((error as NeedsFreshToken).reasons).to.deep.equal(['Fresh token required.'])
    })

    for (const fresh of [false, undefined, 'true']) {
      it(`refuses fresh: ${JSON.stringify(fresh)}`, () => {
        const { parts } = fakeParts()
        expect(thrown(() => requireFresh(parts, fakeCtx(), { fresh }))).to.be.instanceOf(NeedsFreshToken)
      })
    }
  })

  describe('loadUser()', () => {
    it('sets ctx.state.user from a synchronous retrieveUser, synchronously', () => {
      const { parts, lookups } = fakeParts((payload) => ({ user_id: payload.user_id, name: 'one' }))
      const ctx = fakeCtx()
      const payload = { user_id: 1 }
      expect(loadUser(parts, ctx, payload, false)).to.equal(undefined)
      expect(ctx.state.user).to.deep.equal({ user_id: 1, name: 'one' })
      expect(lookups).to.deep.equal([payload])
      expect(lookups[0]).to.equal(payload)
    })

    it('sets ctx.state.user from an asynchronous retrieveUser once it resolves', async () => {
      const { parts } = fakeParts(async (payload) => ({ user_id: payload.user_id }))
      const ctx = fakeCtx()
      const pending = loadUser(parts, ctx, { user_id: 2 }, true)
      expect(pending).to.be.instanceOf(Promise)
      expect(ctx.state).to.not.have.property('user')
      await pending
      expect(ctx.state.user).to.deep.equal({ user_id: 2 })
    })

    it('sets ctx.state.user to null without calling retrieveUser for no payload, even when required', () => {
      const { parts, lookups } = fakeParts()
      for (const required of [false, true]) {
        const ctx = fakeCtx()
        expect(loadUser(parts, ctx, null, required)).to.equal(undefined)
        expect(ctx.state.user).to.equal(null)
      }
      expect(lookups).to.have.length(0)
    })

    for (const missing of [null, undefined]) {
      it(`sets ctx.state.user to null when retrieveUser returns ${String(missing)} and the user is optional`, async () => {
        const sync = fakeParts(() => missing)
        let ctx = fakeCtx()
        loadUser(sync.parts, ctx, { user_id: 1 }, false)
        expect(ctx.state.user).to.equal(null)
        const async = fakeParts(async () => missing)
        ctx = fakeCtx()
        await loadUser(async.parts, ctx, { user_id: 1 }, false)
        expect(ctx.state.user).to.equal(null)
      })

      it(`throws UserLookupFailed when retrieveUser returns ${String(missing)} and the user is required`, async () => {
        const sync = fakeParts(() => missing)
        let ctx = fakeCtx()
        const error = thrown(() => loadUser(sync.parts, ctx, { user_id: 1 }, true))
        expect(error).to.be.instanceOf(UserLookupFailed)
        expect(error).to.include({ status: 401, code: 'ERR_JWT_USER_LOOKUP' })
        expect((error as UserLookupFailed).reasons).to.deep.equal(['User not found.'])
        expect(ctx.state).to.not.have.property('user')
        const async = fakeParts(async () => missing)
        ctx = fakeCtx()
        expect(await rejected(loadUser(async.parts, ctx, { user_id: 1 }, true))).to.be.instanceOf(UserLookupFailed)
        expect(ctx.state).to.not.have.property('user')
      })
    }

    it('keeps falsy users that are not null or undefined', () => {
      for (const user of [0, '', false]) {
        const { parts } = fakeParts(() => user)
        const ctx = fakeCtx()
        loadUser(parts, ctx, { user_id: 1 }, true)
        expect(ctx.state.user).to.equal(user)
      }
    })

    it('lets an error of retrieveUser through as it is', async () => {
      const boom = new Error('store down')
      const sync = fakeParts(() => {
        throw boom
      })
      expect(thrown(() => loadUser(sync.parts, fakeCtx(), { user_id: 1 }, true))).to.equal(boom)
      const async = fakeParts(() => Promise.reject(boom))
      expect(await rejected(loadUser(async.parts, fakeCtx(), { user_id: 1 }, false))).to.equal(boom)
    })
  })
})
