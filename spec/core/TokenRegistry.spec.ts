import { expect } from 'chai'

import type { Configuration } from '../../source/Configuration'
import type { JwtPayload } from '../../source/core/token'
import { TokenRegistry, newJti, refreshTokenId, type AuditEvent } from '../../source/core/TokenRegistry'
import {
  InvalidToken,
  MemoryStore,
  RefreshTokenReused,
  RevokedToken,
  StoreUnavailable,
  type ConfigurationInput,
  type TokenRecord,
  type TokenStore,
} from '../../source'
import { makeClock } from '../helpers/app'
import { hs256, makeConfig } from '../helpers/parts'
import { caught } from '../helpers/token-core'

/** A time with a fraction: records keep it, `iat` claims drop it. */
const START = 1_700_000_000.25
const LEEWAY = 180
const LIFETIME = 1800

/** A registry over a MemoryStore, both on one settable clock, with its audit events. */
function make(settings: ConfigurationInput = {}) {
  const time = makeClock(START)
  const config = makeConfig({ clock: time.clock, revocationEnabled: true, ...settings })
  const store = new MemoryStore({ clock: time.clock })
  const events: AuditEvent[] = []
  const registry = new TokenRegistry(config, store, (event) => {
    events.push(event)
  })
  return { time, config, store, events, registry }
}

type Made = ReturnType<typeof make>

/** The payload of an access token issued now (what TokenIssuer writes while revocation is on). */
function accessPayload(time: { now: number }, userId: unknown = 1, extra: JwtPayload = {}): JwtPayload {
  const iat = Math.floor(time.now)
  return { user_id: userId, exp: iat + LIFETIME, iat, jti: newJti(), ...extra }
}

/** Issues and records an access token now, as a login (or a refresh with `ctx`) does. */
async function issueAccess(t: Made, userId: unknown = 1, ctx: object = {}): Promise<JwtPayload> {
  const payload = accessPayload(t.time, userId)
  await t.registry.recordAccess(payload, ctx)
  return payload
}

/** A login: an access token and a refresh token of one family (one request). */
async function login(t: Made, userId: unknown = 1): Promise<{ access: JwtPayload; refresh: string; refreshId: string }> {
  const ctx = {}
  const access = await issueAccess(t, userId, ctx)
  const refresh = `refresh-${newJti()}`
  const refreshId = await t.registry.recordRefresh(refresh, userId, ctx)
  return { access, refresh, refreshId }
}

async function collect(iterable: AsyncIterable<TokenRecord>): Promise<TokenRecord[]> {
  const records: TokenRecord[] = []
  for await (const record of iterable) records.push(record)
  return records
}

const ids = (records: readonly TokenRecord[]): string[] => records.map((record) => record.jti).sort()

/** Resolves to 'accepted' or the error checkAccess rejected with. */
async function access(registry: TokenRegistry, payload: JwtPayload): Promise<'accepted' | Error> {
  try {
    await registry.checkAccess(payload)
    return 'accepted'
  } catch (error) {
    return error as Error
  }
}

function expectRevoked(outcome: 'accepted' | Error): void {
  expect(outcome).to.be.instanceOf(RevokedToken)
  const error = outcome as RevokedToken
  expect(error.status).to.equal(401)
  expect(error.code).to.equal('ERR_JWT_REVOKED')
  expect(error.message).to.equal('Token has been revoked.')
}

describe('TokenRegistry', () => {
  describe('newJti() and refreshTokenId()', () => {
    it('makes 22 base64url characters, different every time', () => {
      const made = new Set(Array.from({ length: 200 }, () => newJti()))
      expect(made.size).to.equal(200)
      for (const jti of made) expect(jti).to.match(/^[A-Za-z0-9_-]{22}$/)
    })

    it('names an opaque token by a hash of 22 characters, stable, never the token', () => {
      const id = refreshTokenId('an-opaque-refresh-token')
      expect(id).to.match(/^[A-Za-z0-9_-]{22}$/)
      expect(refreshTokenId('an-opaque-refresh-token')).to.equal(id)
      expect(refreshTokenId('another-opaque-token')).to.not.equal(id)
      expect(id).to.not.include('opaque')
    })
  })

  describe('#get()', () => {
    it('answers the record of an access token as recordAccess wrote it', async () => {
      const t = make()
      const payload = await issueAccess(t)
      expect(await t.registry.get(payload.jti as string)).to.deep.equal({
        jti: payload.jti,
        userId: '1',
        type: 'access',
        issuedAt: START,
        expiresAt: (payload.exp as number) + LEEWAY,
        revoked: false,
        family: payload.jti,
        retiredAt: null,
        replacedBy: null,
      })
    })

    it('answers the record of a refresh token under its hashed id, in the family of its login', async () => {
      const t = make()
      const { access, refresh, refreshId } = await login(t, 7)
      expect(refreshId).to.equal(refreshTokenId(refresh))
      expect(await t.registry.get(refreshId)).to.deep.equal({
        jti: refreshId,
        userId: '7',
        type: 'refresh',
        issuedAt: START,
        expiresAt: START + 30 * 24 * 3600,
        revoked: false,
        family: access.jti,
        retiredAt: null,
        replacedBy: null,
      })
      expect(await t.registry.get(refresh)).to.equal(undefined)
    })

    it('answers undefined for an unknown id, and once the record expired', async () => {
      const t = make()
      const payload = await issueAccess(t)
      expect(await t.registry.get('unknown')).to.equal(undefined)
      t.time.now = (payload.exp as number) + LEEWAY - 1
      expect(await t.registry.get(payload.jti as string)).to.not.equal(undefined)
      t.time.now = (payload.exp as number) + LEEWAY
      expect(await t.registry.get(payload.jti as string)).to.equal(undefined)
    })

    it('answers undefined for a stored value that is not a token record', async () => {
      const t = make()
      await t.store.set('token:odd', { note: 'not a record' }, { expiresAt: null })
      await t.store.set('token:typed', { jti: 'typed', userId: '1', type: 'other' }, { expiresAt: null })
      expect(await t.registry.get('odd')).to.equal(undefined)
      expect(await t.registry.get('typed')).to.equal(undefined)
    })

    it('exposes the store it was given', () => {
      const t = make()
      expect(t.registry.store).to.equal(t.store)
      expect(new TokenRegistry(t.config, undefined, () => undefined).store).to.equal(undefined)
    })
  })

  describe('#revoke()', () => {
    it('revokes by jti: the record is kept, marked revoked, and checkAccess refuses the token', async () => {
      const t = make()
      const payload = await issueAccess(t)
      const before = await t.registry.get(payload.jti as string)
      expect(await access(t.registry, payload)).to.equal('accepted')
      expect(await t.registry.revoke(payload.jti as string)).to.equal(true)
      expect(await t.registry.get(payload.jti as string)).to.deep.equal({ ...before, revoked: true })
      expectRevoked(await access(t.registry, payload))
    })

    it('revokes only that token', async () => {
      const t = make()
      const first = await issueAccess(t)
      const second = await issueAccess(t)
      await t.registry.revoke(first.jti as string)
      expect(await access(t.registry, second)).to.equal('accepted')
      expect((await t.registry.get(second.jti as string))?.revoked).to.equal(false)
    })

    it('revokes by the access token itself (a recorded JWT): its record, issuedAt and family kept', async () => {
      const t = make()
      const payload = await issueAccess(t)
      const before = await t.registry.get(payload.jti as string)
      expect(await t.registry.revoke(hs256(payload))).to.equal(true)
      expect(await t.registry.get(payload.jti as string)).to.deep.equal({ ...before, revoked: true })
      expectRevoked(await access(t.registry, payload))
    })

    it('records a JWT unknown to the store (another instance issued it) as revoked until its exp + leeway', async () => {
      const t = make()
      const payload = accessPayload(t.time, 3)
      expect(await t.registry.get(payload.jti as string)).to.equal(undefined)
      expect(await access(t.registry, payload)).to.equal('accepted')
      expect(await t.registry.revoke(hs256(payload))).to.equal(true)
      expect(await t.registry.get(payload.jti as string)).to.deep.equal({
        jti: payload.jti,
        userId: '3',
        type: 'access',
        issuedAt: payload.iat,
        expiresAt: (payload.exp as number) + LEEWAY,
        revoked: true,
        family: null,
        retiredAt: null,
        replacedBy: null,
      })
      expectRevoked(await access(t.registry, payload))
      // Kept while the token can still be accepted, and no longer.
      t.time.now = (payload.exp as number) + LEEWAY - 0.5
      expectRevoked(await access(t.registry, payload))
      t.time.now = (payload.exp as number) + LEEWAY
      expect(await t.registry.get(payload.jti as string)).to.equal(undefined)
    })

    it('follows the leeway setting for an unknown JWT', async () => {
      const t = make({ leeway: 30 })
      const payload = accessPayload(t.time)
      await t.registry.revoke(hs256(payload))
      expect((await t.registry.get(payload.jti as string))?.expiresAt).to.equal((payload.exp as number) + 30)
    })

    it('revokes by an opaque refresh token: the record under its hash', async () => {
      const t = make()
      const { access: accessToken, refresh, refreshId } = await login(t)
      expect(await t.registry.revoke(refresh)).to.equal(true)
      expect((await t.registry.get(refreshId))?.revoked).to.equal(true)
      // The access token of the same login is another token: untouched.
      expect((await t.registry.get(accessToken.jti as string))?.revoked).to.equal(false)
    })

    it('answers false and writes nothing for an unknown id, opaque token, or a JWT without jti', async () => {
      const t = make()
      await issueAccess(t)
      const size = t.store.size
      expect(await t.registry.revoke('no-such-jti')).to.equal(false)
      expect(await t.registry.revoke('no-such-refresh-token')).to.equal(false)
      expect(await t.registry.revoke(hs256({ user_id: 1, exp: Math.floor(START) + 60 }))).to.equal(false)
      expect(await t.registry.revoke('not.a.jwt')).to.equal(false)
      expect(t.store.size).to.equal(size)
      expect(t.events).to.deep.equal([])
    })

    it('answers true again for a token already revoked', async () => {
      const t = make()
      const payload = await issueAccess(t)
      expect(await t.registry.revoke(payload.jti as string)).to.equal(true)
      expect(await t.registry.revoke(payload.jti as string)).to.equal(true)
      expect((await t.registry.get(payload.jti as string))?.revoked).to.equal(true)
    })
  })

  describe('#unrevoke()', () => {
    it('lifts the revocation of a token: checkAccess accepts it again', async () => {
      const t = make()
      const payload = await issueAccess(t)
      await t.registry.revoke(payload.jti as string)
      expect(await t.registry.unrevoke(payload.jti as string)).to.equal(true)
      expect((await t.registry.get(payload.jti as string))?.revoked).to.equal(false)
      expect(await access(t.registry, payload)).to.equal('accepted')
    })

    it('lifts the revocation of an unknown JWT revoked by token', async () => {
      const t = make()
      const payload = accessPayload(t.time)
      await t.registry.revoke(hs256(payload))
      expect(await t.registry.unrevoke(payload.jti as string)).to.equal(true)
      expect(await access(t.registry, payload)).to.equal('accepted')
    })

    it('answers false for an unknown id', async () => {
      const t = make()
      expect(await t.registry.unrevoke('unknown')).to.equal(false)
      expect(t.store.size).to.equal(0)
    })

    it('leaves a token refused by its user cut-off refused', async () => {
      const t = make()
      const payload = await issueAccess(t)
      t.time.now += 1
      await t.registry.revokeUser(1)
      expect(await t.registry.unrevoke(payload.jti as string)).to.equal(true)
      expectRevoked(await access(t.registry, payload))
    })
  })

  describe('#forUser() and #all()', () => {
    it('list the access and refresh records of each of a user’s logins, with their families', async () => {
      const t = make()
      const phone = await login(t, 1)
      const laptop = await login(t, 1)
      const records = await collect(t.registry.forUser(1))
      expect(ids(records)).to.deep.equal(
        [phone.access.jti, phone.refreshId, laptop.access.jti, laptop.refreshId].sort(),
      )
      const byId = new Map(records.map((record) => [record.jti, record]))
      expect(byId.get(phone.access.jti as string)).to.include({ type: 'access', family: phone.access.jti, userId: '1' })
      expect(byId.get(phone.refreshId)).to.include({ type: 'refresh', family: phone.access.jti, userId: '1' })
      expect(byId.get(laptop.access.jti as string)).to.include({ type: 'access', family: laptop.access.jti })
      expect(byId.get(laptop.refreshId)).to.include({ type: 'refresh', family: laptop.access.jti })
    })

    it('forUser takes the id as a number or as text, and lists no other user’s tokens', async () => {
      const t = make()
      const mine = await issueAccess(t, 1)
      await issueAccess(t, 2)
      expect(ids(await collect(t.registry.forUser(1)))).to.deep.equal([mine.jti])
      expect(ids(await collect(t.registry.forUser('1')))).to.deep.equal([mine.jti])
      expect(await collect(t.registry.forUser(99))).to.deep.equal([])
    })

    it('list neither the user cut-off of revokeUser nor expired records', async () => {
      const t = make()
      const early = await issueAccess(t, 1)
      t.time.now += 600
      const late = await issueAccess(t, 1)
      await t.registry.revokeUser(1)
      expect(ids(await collect(t.registry.forUser(1)))).to.deep.equal([early.jti, late.jti].sort())
      expect(ids(await collect(t.registry.all()))).to.deep.equal([early.jti, late.jti].sort())
      t.time.now = (early.exp as number) + LEEWAY
      expect(ids(await collect(t.registry.forUser(1)))).to.deep.equal([late.jti])
      expect(ids(await collect(t.registry.all()))).to.deep.equal([late.jti])
    })

    it('all lists every user’s records, revoked ones included', async () => {
      const t = make()
      const one = await login(t, 1)
      const two = await issueAccess(t, 2)
      await t.registry.revoke(two.jti as string)
      const records = await collect(t.registry.all())
      expect(ids(records)).to.deep.equal([one.access.jti, one.refreshId, two.jti].sort())
      expect(records.find((record) => record.jti === two.jti)).to.include({ revoked: true, userId: '2' })
    })

    it('all lists nothing on an empty store', async () => {
      const t = make()
      expect(await collect(t.registry.all())).to.deep.equal([])
    })
  })

  describe('#revokeUser()', () => {
    it('refuses the tokens of the user issued before it, access and refresh, on every device', async () => {
      const t = make()
      const phone = await login(t, 1)
      const laptop = await login(t, 1)
      t.time.now += 5
      await t.registry.revokeUser(1)
      expectRevoked(await access(t.registry, phone.access))
      expectRevoked(await access(t.registry, laptop.access))
      const refused = (): Error => new Error('refused')
      const use = await caught(() => t.registry.checkRefresh(laptop.refresh, 1, {}, refused))
      expect(use).to.be.instanceOf(RevokedToken)
    })

    it('accepts a token issued in the very instant of the cut-off (revoke everything, then issue this session a new token)', async () => {
      const t = make()
      await t.registry.revokeUser(1)
      const payload = await issueAccess(t)
      expect((await t.registry.get(payload.jti as string))?.issuedAt).to.equal(START)
      await t.registry.checkAccess(payload)
    })

    it('refuses a token issued a moment before the cut-off', async () => {
      const t = make()
      const payload = await issueAccess(t)
      t.time.now += 0.001
      await t.registry.revokeUser(1)
      expectRevoked(await access(t.registry, payload))
    })

    it('accepts a token issued after it, even within the same second (the record’s fractional issuedAt)', async () => {
      const t = make()
      const before = await issueAccess(t)
      t.time.now = START + 0.25
      await t.registry.revokeUser(1)
      t.time.now = START + 0.5
      const after = await issueAccess(t)
      // Both carry the same iat: only the records tell them apart.
      expect(after.iat).to.equal(before.iat)
      expectRevoked(await access(t.registry, before))
      expect(await access(t.registry, after)).to.equal('accepted')
    })

    it('falls back to the iat of a token without a record', async () => {
      const t = make()
      t.time.now = START + 0.5
      await t.registry.revokeUser(1)
      const sameSecond = accessPayload(t.time)
      expect(sameSecond.iat).to.equal(Math.floor(START))
      expectRevoked(await access(t.registry, sameSecond))
      t.time.now = Math.floor(START) + 1
      const nextSecond = accessPayload(t.time)
      expect(await access(t.registry, nextSecond)).to.equal('accepted')
    })

    it('refuses a token without a record and without iat', async () => {
      const t = make()
      await t.registry.revokeUser(1)
      t.time.now += 10
      expectRevoked(await access(t.registry, { user_id: 1, jti: newJti(), exp: Math.floor(t.time.now) + 60 }))
    })

    it('refuses the user’s tokens only', async () => {
      const t = make()
      const mine = await issueAccess(t, 1)
      const theirs = await issueAccess(t, 2)
      t.time.now += 1
      await t.registry.revokeUser('1')
      expectRevoked(await access(t.registry, mine))
      expect(await access(t.registry, theirs)).to.equal('accepted')
    })

    it('keeps its cut-off until deleted: no setting bounds the life of a token issued before it (a per-token expirationDelta)', async () => {
      const t = make({ expirationDelta: 600, refreshExpirationDelta: 3600, leeway: 60 })
      await t.registry.revokeUser(1)
      const stale = { user_id: 1, jti: newJti(), iat: Math.floor(START) - 10 }
      t.time.now = START + 10 * 365 * 24 * 3600
      expectRevoked(await access(t.registry, stale))
      expect(await t.store.get('user:1')).to.deep.equal({ revokedBefore: START })
    })

    it('keeps its cut-off without expiry while allowNoExpiration (tokens may live for ever)', async () => {
      const t = make({ allowNoExpiration: true })
      await t.registry.revokeUser(1)
      t.time.now += 10 * 365 * 24 * 3600
      expectRevoked(await access(t.registry, { user_id: 1, jti: newJti(), iat: Math.floor(START) }))
    })

    it('moves the cut-off forward when called again', async () => {
      const t = make()
      await t.registry.revokeUser(1)
      t.time.now += 10
      const between = await issueAccess(t)
      expect(await access(t.registry, between)).to.equal('accepted')
      t.time.now += 10
      await t.registry.revokeUser(1)
      expectRevoked(await access(t.registry, between))
    })
  })

  describe('#revokeFamily()', () => {
    it('revokes every token of one login and no other', async () => {
      const t = make()
      const phone = await login(t, 1)
      const laptop = await login(t, 1)
      // A refresh joins the login's family: its access token is one more member.
      const refreshCtx = {}
      t.registry.joinFamily(refreshCtx, phone.access.jti as string)
      const refreshed = await issueAccess(t, 1, refreshCtx)
      expect((await t.registry.get(refreshed.jti as string))?.family).to.equal(phone.access.jti)
      await t.registry.revokeFamily('1', phone.access.jti as string)
      for (const jti of [phone.access.jti as string, phone.refreshId, refreshed.jti as string]) {
        expect((await t.registry.get(jti))?.revoked, jti).to.equal(true)
      }
      for (const jti of [laptop.access.jti as string, laptop.refreshId]) {
        expect((await t.registry.get(jti))?.revoked, jti).to.equal(false)
      }
      expectRevoked(await access(t.registry, refreshed))
      expect(await access(t.registry, laptop.access)).to.equal('accepted')
    })

    it('does nothing for an unknown family', async () => {
      const t = make()
      const one = await login(t, 1)
      await t.registry.revokeFamily('1', 'no-such-family')
      expect((await t.registry.get(one.refreshId))?.revoked).to.equal(false)
    })
  })

  describe('#logout()', () => {
    it('revokes the token and every other token of its login, no other login', async () => {
      const t = make()
      const phone = await login(t)
      const laptop = await login(t)
      await t.registry.logout(phone.access, false)
      expectRevoked(await access(t.registry, phone.access))
      expect((await t.registry.get(phone.refreshId))?.revoked).to.equal(true)
      expect(await access(t.registry, laptop.access)).to.equal('accepted')
      expect((await t.registry.get(laptop.refreshId))?.revoked).to.equal(false)
    })

    it('everywhere: sets the user cut-off', async () => {
      const t = make()
      const phone = await login(t)
      const laptop = await login(t)
      t.time.now += 0.001
      await t.registry.logout(phone.access, true)
      expectRevoked(await access(t.registry, laptop.access))
      t.time.now += 0.001
      expect(await access(t.registry, await issueAccess(t))).to.equal('accepted')
    })

    it('revokes a token whose record is gone (expired past exp + leeway, or issued elsewhere), and its login', async () => {
      const t = make()
      const phone = await login(t)
      t.time.now = (phone.access.exp as number) + LEEWAY + 1
      expect(await t.registry.get(phone.access.jti as string)).to.equal(undefined)
      await t.registry.logout(phone.access, false)
      // A login's family is the id of its access token: its refresh token goes with it.
      expect((await t.registry.get(phone.refreshId))?.revoked).to.equal(true)
      const elsewhere = accessPayload(t.time)
      await t.registry.logout(elsewhere, false)
      expectRevoked(await access(t.registry, elsewhere))
    })
  })

  describe('#checkAccess()', () => {
    it('accepts a recorded token, and an unrecorded one while its user has no cut-off', async () => {
      const t = make()
      expect(await access(t.registry, await issueAccess(t))).to.equal('accepted')
      expect(await access(t.registry, accessPayload(t.time))).to.equal('accepted')
    })

    for (const [label, jti] of [
      ['no jti', undefined],
      ['an empty jti', ''],
      ['a numeric jti', 42],
    ] as const) {
      it(`refuses a token with ${label}: InvalidToken ERR_JWT_CLAIM_MISSING`, async () => {
        const t = make()
        const payload: JwtPayload = { user_id: 1, iat: Math.floor(START), exp: Math.floor(START) + 60 }
        if (jti !== undefined) payload.jti = jti
        const error = await caught(() => t.registry.checkAccess(payload))
        expect(error).to.be.instanceOf(InvalidToken)
        expect(error.code).to.equal('ERR_JWT_CLAIM_MISSING')
        expect(error.status).to.equal(401)
      })
    }

    it('refuses a token without jti before it asks the store (even with revocation off)', async () => {
      const t = make()
      const off = new TokenRegistry(t.config, undefined, () => undefined)
      const error = await caught(() => off.checkAccess({ user_id: 1 }))
      expect(error).to.be.instanceOf(InvalidToken)
      expect(error.code).to.equal('ERR_JWT_CLAIM_MISSING')
    })

    it('reads the user id under the userId setting', async () => {
      const t = make({ userId: 'sub' })
      const payload = { sub: 'alice', jti: newJti(), iat: Math.floor(START) }
      expect(await access(t.registry, payload)).to.equal('accepted')
      t.time.now += 1
      await t.registry.revokeUser('alice')
      expectRevoked(await access(t.registry, payload))
    })
  })

  describe('audit events', () => {
    it('revoke reports { type: revoked, userId, jti, time } with the clock’s time', async () => {
      const t = make()
      const payload = await issueAccess(t, 4)
      t.time.now += 2
      await t.registry.revoke(payload.jti as string)
      expect(t.events).to.deep.equal([{ type: 'revoked', userId: '4', jti: payload.jti, time: START + 2 }])
    })

    it('revokeUser reports a revocation of the user, with no token id', async () => {
      const t = make()
      await t.registry.revokeUser(4)
      expect(t.events).to.deep.equal([{ type: 'revoked', userId: '4', jti: null, time: START }])
    })

    it('never carries a token: a refresh token is named by its hash, a JWT by its jti', async () => {
      const t = make()
      const { access: payload, refresh, refreshId } = await login(t)
      const jwt = hs256(payload)
      await t.registry.revoke(refresh)
      await t.registry.revoke(jwt)
      expect(t.events.map((event) => event.jti)).to.deep.equal([refreshId, payload.jti])
      expect(t.events.map((event) => event.type)).to.deep.equal(['revoked', 'revoked'])
      const text = JSON.stringify(t.events)
      expect(text).to.not.include(refresh)
      expect(text).to.not.include(jwt)
      for (const event of t.events) expect(Object.keys(event).sort()).to.deep.equal(['jti', 'time', 'type', 'userId'])
    })

    it('reports reuse of a rotated refresh token as reuse_detected', async () => {
      const t = make({ refreshRotation: true })
      const { refresh, refreshId } = await login(t)
      const refused = (): Error => new Error('refused')
      const first = await t.registry.checkRefresh(refresh, 1, {}, refused)
      expect(first.rotate).to.equal(true)
      await t.registry.rotateRefresh(first.record, `next-${newJti()}`, {})
      t.time.now += 1
      const error = await caught(() => t.registry.checkRefresh(refresh, 1, {}, refused))
      expect(error).to.be.instanceOf(RefreshTokenReused)
      expect(t.events).to.deep.equal([{ type: 'reuse_detected', userId: '1', jti: refreshId, time: START + 1 }])
      expect(JSON.stringify(t.events)).to.not.include(refresh)
    })

    it('reports nothing for reads, checks, records, unrevoke and unknown tokens', async () => {
      const t = make()
      const payload = await issueAccess(t)
      await login(t)
      await t.registry.get(payload.jti as string)
      await t.registry.checkAccess(payload)
      await collect(t.registry.forUser(1))
      await t.registry.unrevoke(payload.jti as string)
      await t.registry.revoke('unknown')
      expect(t.events).to.deep.equal([])
    })

    it('lets an audit hook that throws fail the call', async () => {
      const t = make()
      const boom = new Error('audit down')
      const registry = new TokenRegistry(t.config, t.store, () => {
        throw boom
      })
      const payload = await issueAccess(t)
      expect(await caught(() => registry.revoke(payload.jti as string))).to.equal(boom)
    })

    it('waits for an asynchronous audit hook', async () => {
      const t = make()
      let done = false
      const registry = new TokenRegistry(t.config, t.store, async () => {
        await new Promise((resolve) => setImmediate(resolve))
        done = true
      })
      await registry.revokeUser(1)
      expect(done).to.equal(true)
    })
  })

  describe('an unavailable store', () => {
    /** Every method, called on a registry (the listings consumed). */
    const CALLS: readonly (readonly [string, (registry: TokenRegistry) => Promise<unknown>])[] = [
      ['get', (r) => r.get('some-jti')],
      ['revoke (by jti)', (r) => r.revoke('some-jti')],
      ['revoke (by JWT)', (r) => r.revoke(hs256({ user_id: 1, jti: 'some-jti', exp: 1_800_000_000 }))],
      ['unrevoke', (r) => r.unrevoke('some-jti')],
      ['forUser', (r) => collect(r.forUser(1))],
      ['all', (r) => collect(r.all())],
      ['revokeUser', (r) => r.revokeUser(1)],
      ['revokeFamily', (r) => r.revokeFamily('1', 'family')],
      ['checkAccess', (r) => r.checkAccess({ user_id: 1, jti: 'some-jti', iat: 1_700_000_000 })],
      ['recordAccess', (r) => r.recordAccess({ user_id: 1, jti: 'some-jti', iat: 1_700_000_000, exp: 1_800_000_000 }, {})],
      ['recordRefresh', (r) => r.recordRefresh('opaque', 1, {})],
      ['checkRefresh', (r) => r.checkRefresh('opaque', 1, {}, () => new Error('refused'))],
      ['logout', (r) => r.logout({ user_id: 1, jti: 'some-jti' }, false)],
      ['logout (everywhere)', (r) => r.logout({ user_id: 1, jti: 'some-jti' }, true)],
    ]

    function expectUnavailable(error: unknown, cause?: unknown): void {
      expect(error).to.be.instanceOf(StoreUnavailable)
      const failure = error as StoreUnavailable
      expect(failure.status).to.equal(503)
      expect(failure.code).to.equal('ERR_JWT_STORE_UNAVAILABLE')
      if (cause !== undefined) expect(failure.cause).to.equal(cause)
    }

    /** A store whose every call (and every listing step) answers with `answer()`. */
    function fakeStore(answer: () => Promise<never>): TokenStore {
      const listing = (): AsyncIterable<string> => ({ [Symbol.asyncIterator]: () => ({ next: answer }) })
      return {
        get: answer,
        set: answer,
        setIfAbsent: answer,
        compareAndSet: answer,
        delete: answer,
        keysOfUser: listing,
        keys: listing,
        close: answer,
      }
    }

    /** A registry over `store` (none: revocation off), with its audit events. */
    function over(
      store: TokenStore | undefined,
      settings: ConfigurationInput = {},
    ): { registry: TokenRegistry; config: Configuration; events: AuditEvent[] } {
      const config = makeConfig({ clock: makeClock(START).clock, ...settings })
      const events: AuditEvent[] = []
      return { registry: new TokenRegistry(config, store, (event) => void events.push(event)), config, events }
    }

    describe('revocation off (no store)', () => {
      for (const [name, call] of CALLS) {
        it(`${name} rejects with StoreUnavailable`, async () => {
          const { registry, events } = over(undefined)
          expectUnavailable(await caught(() => call(registry)))
          expect(events).to.deep.equal([])
        })
      }
    })

    describe('a store that rejects', () => {
      for (const [name, call] of CALLS) {
        it(`${name} rejects with StoreUnavailable, the store's error as its cause`, async () => {
          const down = new Error('connection refused')
          const { registry, events } = over(fakeStore(() => Promise.reject(down)))
          const error = await caught(() => call(registry))
          expectUnavailable(error, down)
          expect(error.message).to.not.include('connection refused')
          expect(events).to.deep.equal([])
        })
      }

      for (const [name, call] of CALLS) {
        it(`${name} rejects with StoreUnavailable on a closed MemoryStore`, async () => {
          const store = new MemoryStore()
          await store.close()
          expectUnavailable(await caught(() => call(over(store).registry)))
        })
      }

      it('turns a store method that throws instead of rejecting into StoreUnavailable', async () => {
        const down = new Error('sync failure')
        const store = fakeStore(() => {
          throw down
        })
        expectUnavailable(await caught(() => over(store).registry.get('x')), down)
        expectUnavailable(await caught(() => over(store).registry.checkAccess({ user_id: 1, jti: 'x' })), down)
      })
    })

    describe('a store that never answers', () => {
      const realSetTimeout = globalThis.setTimeout
      const realClearTimeout = globalThis.clearTimeout
      let created: NodeJS.Timeout[]
      let cleared: Set<unknown>

      beforeEach(() => {
        created = []
        cleared = new Set()
        globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
          const timer = realSetTimeout(...args)
          created.push(timer)
          return timer
        }) as typeof setTimeout
        globalThis.clearTimeout = ((timer: NodeJS.Timeout | undefined) => {
          cleared.add(timer)
          realClearTimeout(timer)
        }) as typeof clearTimeout
      })

      afterEach(() => {
        globalThis.setTimeout = realSetTimeout
        globalThis.clearTimeout = realClearTimeout
      })

      /** The timers made during the spec that are neither cleared nor run. */
      const leftBehind = (): NodeJS.Timeout[] =>
        created.filter((timer) => !cleared.has(timer) && !(timer as unknown as { _destroyed: boolean })._destroyed)

      const hanging = (): TokenStore => fakeStore(() => new Promise<never>(() => {}))

      for (const [name, call] of CALLS) {
        it(`${name} rejects with StoreUnavailable after storeTimeout, leaving no timer`, async () => {
          const { registry } = over(hanging(), { storeTimeout: 0.05 })
          const started = performance.now()
          const error = await caught(() => call(registry))
          const elapsed = performance.now() - started
          expectUnavailable(error)
          expect((error.cause as Error).message).to.include('50 ms')
          expect(elapsed).to.be.within(40, 1000)
          expect(created.length).to.be.greaterThan(0)
          expect(leftBehind()).to.deep.equal([])
        })
      }

      it('clears its timer when the store answers in time', async () => {
        const answers: TokenStore = {
          ...hanging(),
          get: async () => undefined,
        }
        const { registry } = over(answers, { storeTimeout: 0.05 })
        expect(await registry.get('x')).to.equal(undefined)
        expect(await access(registry, { user_id: 1, jti: 'x' })).to.equal('accepted')
        expect(created.length).to.equal(2)
        expect(leftBehind()).to.deep.equal([])
      })

      it('clears its timer when the store rejects in time', async () => {
        const { registry } = over(fakeStore(() => Promise.reject(new Error('down'))), { storeTimeout: 0.05 })
        expectUnavailable(await caught(() => registry.get('x')))
        expect(created.length).to.equal(1)
        expect(leftBehind()).to.deep.equal([])
      })

      it('never keeps the process alive with its timer (unref)', async () => {
        const { registry } = over(hanging(), { storeTimeout: 0.05 })
        const pending = caught(() => registry.get('x'))
        expect(created).to.have.length(1)
        expect(created[0]!.hasRef()).to.equal(false)
        expectUnavailable(await pending)
      })

      it('bounds each step of a listing, not the whole listing', async () => {
        let step = 0
        const slowListing: TokenStore = {
          ...hanging(),
          get: async () => undefined,
          keys: () => ({
            [Symbol.asyncIterator]: () => ({
              next: () =>
                new Promise<IteratorResult<string>>((resolve) => {
                  const answer: IteratorResult<string> =
                    step++ < 3 ? { done: false, value: `token:${step}` } : { done: true, value: undefined }
                  realSetTimeout(() => resolve(answer), 30)
                }),
            }),
          }),
        }
        const { registry } = over(slowListing, { storeTimeout: 0.05 })
        // Four steps of 30 ms each: 120 ms in all, each under the 50 ms bound.
        expect(await collect(registry.all())).to.deep.equal([])
        expect(step).to.equal(4)
        expect(leftBehind()).to.deep.equal([])
      })

      it('runs a MemoryStore without a timer (an in-process store cannot hang)', async () => {
        const t = make({ storeTimeout: 0.05 })
        const payload = await issueAccess(t)
        await t.registry.checkAccess(payload)
        expect(created).to.deep.equal([])
      })
    })
  })
})
