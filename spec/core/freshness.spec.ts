import { expect } from 'chai'

import * as kit from '../../source'
import { isFresh } from '../../source/core/freshness'

const NOW = 1_700_000_000

describe('core/freshness: isFresh()', () => {
  it('counts true as fresh at any time', () => {
    expect(isFresh(true, NOW)).to.equal(true)
    expect(isFresh(true, Number.MAX_SAFE_INTEGER)).to.equal(true)
  })

  it('counts false as not fresh', () => {
    expect(isFresh(false, NOW)).to.equal(false)
    expect(isFresh(false, 0)).to.equal(false)
  })

  it('counts an epoch after now as fresh', () => {
    expect(isFresh(NOW + 1, NOW)).to.equal(true)
    expect(isFresh(NOW + 300, NOW)).to.equal(true)
  })

  it('counts an epoch equal to now as still fresh', () => {
    expect(isFresh(NOW, NOW)).to.equal(true)
  })

  it('counts an epoch before now as not fresh, without leeway', () => {
    expect(isFresh(NOW - 1, NOW)).to.equal(false)
    expect(isFresh(NOW - 300, NOW)).to.equal(false)
  })

  it('compares fractions of a second as they are (now is not rounded down)', () => {
    expect(isFresh(NOW, NOW + 0.5)).to.equal(false)
    expect(isFresh(NOW + 0.5, NOW + 0.5)).to.equal(true)
  })

  it('counts 0 as fresh only at the epoch itself', () => {
    expect(isFresh(0, 0)).to.equal(true)
    expect(isFresh(0, NOW)).to.equal(false)
  })

  for (const claim of [Number.NaN, Infinity, -Infinity]) {
    it(`counts ${String(claim)} as not fresh`, () => {
      expect(isFresh(claim, NOW)).to.equal(false)
      expect(isFresh(claim, 0)).to.equal(false)
    })
  }

  const others: [string, unknown][] = [
    ['undefined (no claim)', undefined],
    ['null', null],
    ["the string 'true'", 'true'],
    ['a numeric string in the future', String(NOW + 300)],
    ["the string 'fresh'", 'fresh'],
    ['1 (truthy, but an epoch long past)', 1],
    ['an object', { fresh: true }],
    ['a list', [true]],
    ['a bigint in the future', BigInt(NOW + 300)],
  ]
  for (const [name, claim] of others) {
    it(`counts ${name} as not fresh`, () => {
      expect(isFresh(claim, NOW)).to.equal(false)
    })
  }

  it('is exported from the package entry point', () => {
    expect(kit.isFresh).to.equal(isFresh)
  })
})
