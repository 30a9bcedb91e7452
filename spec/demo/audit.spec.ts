import { expect } from 'chai'

import { AUDIT_LIMIT, AuditLog, formatAuditEvent } from '../../demo/audit'
import type { AuditEvent } from '../../source'

const event = (index: number, type: AuditEvent['type'] = 'login'): AuditEvent => ({
  type,
  userId: '1',
  jti: `jti-${index}`,
  time: 1_700_000_000 + index,
})

describe('demo: AuditLog', () => {
  it('keeps events oldest first', () => {
    const log = new AuditLog()
    log.record(event(1))
    log.record(event(2, 'refresh'))
    expect(log.list()).to.deep.equal([event(1), event(2, 'refresh')])
    expect(log.size).to.equal(2)
  })

  it(`keeps the last ${AUDIT_LIMIT} by default, forgetting the oldest`, () => {
    const log = new AuditLog()
    expect(log.limit).to.equal(AUDIT_LIMIT)
    for (let index = 0; index <= AUDIT_LIMIT; index++) log.record(event(index))
    expect(log.size).to.equal(AUDIT_LIMIT)
    expect(log.list()[0]).to.deep.equal(event(1))
    expect(log.list().at(-1)).to.deep.equal(event(AUDIT_LIMIT))
  })

  it('takes another limit', () => {
    const log = new AuditLog(2)
    for (const index of [1, 2, 3]) log.record(event(index))
    expect(log.list()).to.deep.equal([event(2), event(3)])
  })

  it('throws a RangeError for a limit that is not a positive integer', () => {
    for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new AuditLog(limit), String(limit)).to.throw(RangeError)
    }
  })

  it('keeps only type, userId, jti and time: nothing else an event carries', () => {
    const log = new AuditLog()
    const withExtra = { ...event(1), token: 'eyJ.secret.token', refresh_token: 'r' } as AuditEvent
    log.record(withExtra)
    expect(log.list()).to.deep.equal([event(1)])
    expect(JSON.stringify(log.list())).to.not.include('secret')
  })

  it('cannot be changed through what it was given or what it answers', () => {
    const log = new AuditLog()
    const given: { -readonly [K in keyof AuditEvent]: AuditEvent[K] } = { ...event(1) }
    log.record(given)
    given.jti = 'changed'
    const listed = log.list()
    listed.pop()
    expect(log.list()).to.deep.equal([event(1)])
    expect(Object.isFrozen(log.list()[0])).to.equal(true)
  })
})

describe('demo: formatAuditEvent()', () => {
  it('prints the type, the user, the token id and the time', () => {
    expect(formatAuditEvent({ type: 'logout', userId: '1', jti: 'abc', time: 1_700_000_000.5 })).to.equal(
      'audit: logout user=1 jti=abc at 2023-11-14T22:13:20.500Z',
    )
    expect(formatAuditEvent({ type: 'revoked', userId: '2', jti: null, time: 1_700_000_000 })).to.equal(
      'audit: revoked user=2 jti=- at 2023-11-14T22:13:20.000Z',
    )
  })
})
