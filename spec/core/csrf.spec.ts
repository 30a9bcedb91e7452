import { expect } from 'chai'

import { CSRFError } from '../../source/errors'
import {
  CSRF_MISMATCH,
  MISSING_CSRF,
  checkDoubleSubmit,
  csrfMatches,
  newCsrfValue,
  refreshCsrfValue,
} from '../../source/core/csrf'

/** Runs `fn`, expects a CSRFError, and returns its reasons. */
function csrfReasons(fn: () => unknown): string[] {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(CSRFError)
    expect((error as CSRFError).status).to.equal(401)
    expect((error as CSRFError).code).to.equal('ERR_JWT_CSRF')
    return (error as CSRFError).reasons
  }
  throw new Error('expected a CSRFError')
}

describe('core/csrf: newCsrfValue()', () => {
  it('returns 128 random bits as base64url, different on every call', () => {
    const values = new Set(Array.from({ length: 50 }, () => newCsrfValue()))
    expect(values.size).to.equal(50)
    for (const value of values) {
      expect(value).to.match(/^[A-Za-z0-9_-]{22}$/)
      expect(Buffer.from(value, 'base64url')).to.have.length(16)
    }
  })
})

describe('core/csrf: refreshCsrfValue()', () => {
  it('derives 128 bits, base64url, the same for the same token and another for another token', () => {
    const value = refreshCsrfValue('a'.repeat(48))
    expect(value).to.match(/^[A-Za-z0-9_-]{22}$/)
    expect(refreshCsrfValue('a'.repeat(48))).to.equal(value)
    expect(refreshCsrfValue(`${'a'.repeat(47)}b`)).not.to.equal(value)
  })

  it('never holds the token', () => {
    const token = 'f'.repeat(48)
    expect(refreshCsrfValue(token)).not.to.include(token.slice(0, 8))
  })
})

describe('core/csrf: csrfMatches()', () => {
  it('is true for the same value only', () => {
    const value = newCsrfValue()
    expect(csrfMatches(value, value)).to.equal(true)
    expect(csrfMatches(value, newCsrfValue())).to.equal(false)
  })

  it('is false, without throwing, for values of another length', () => {
    const value = newCsrfValue()
    expect(csrfMatches(value, value.slice(1))).to.equal(false)
    expect(csrfMatches(value, `${value}=`)).to.equal(false)
    expect(csrfMatches(value, 'é'.repeat(11))).to.equal(false)
  })

  it('is false when the token holds no value', () => {
    for (const expected of [undefined, null, '', 42, ['x'], { value: 'x' }]) {
      expect(csrfMatches(expected, 'x'), String(expected)).to.equal(false)
    }
    expect(csrfMatches('', '')).to.equal(false)
  })
})

describe('core/csrf: checkDoubleSubmit()', () => {
  const value = newCsrfValue()

  it('passes for the matching value', () => {
    expect(() => checkDoubleSubmit(value, value)).not.to.throw()
  })

  it('refuses no value as missing', () => {
    for (const sent of [undefined, null, '']) {
      expect(csrfReasons(() => checkDoubleSubmit(value, sent))).to.deep.equal([MISSING_CSRF])
    }
  })

  it('refuses another value, several values, or a token without a value as a mismatch', () => {
    expect(csrfReasons(() => checkDoubleSubmit(value, 'other'))).to.deep.equal([CSRF_MISMATCH])
    expect(csrfReasons(() => checkDoubleSubmit(value, [value, value]))).to.deep.equal([CSRF_MISMATCH])
    expect(csrfReasons(() => checkDoubleSubmit(value, { value }))).to.deep.equal([CSRF_MISMATCH])
    expect(csrfReasons(() => checkDoubleSubmit(undefined, value))).to.deep.equal([CSRF_MISMATCH])
  })

  it('uses the messages of flask-jwt-extended, with a full stop', () => {
    expect(MISSING_CSRF).to.equal('Missing CSRF token.')
    expect(CSRF_MISMATCH).to.equal('CSRF double submit tokens do not match.')
    expect(CSRFError.defaultMessage).to.equal(CSRF_MISMATCH)
  })
})
