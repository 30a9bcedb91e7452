import { expect } from 'chai'

import { isPlainObject, userDict } from '../../source/core/users'
import { InvalidRetrieveUserObject } from '../../source'
import { isThenable } from '../helpers/parts'
import { caught, caughtSync } from '../helpers/token-core'

describe('users: isPlainObject()', () => {
  it('is true for object literals and objects without a prototype', () => {
    expect(isPlainObject({})).to.equal(true)
    expect(isPlainObject({ user_id: 1 })).to.equal(true)
    expect(isPlainObject(Object.create(null))).to.equal(true)
  })

  const others: [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['a string', 'user'],
    ['a number', 1],
    ['an array', [1]],
    ['a class instance', new (class User {})()],
    ['a Date', new Date()],
    ['a Map', new Map()],
    ['a function', () => ({})],
    ['an object inheriting from a literal', Object.create({ user_id: 1 })],
  ]
  for (const [label, value] of others) {
    it(`is false for ${label}`, () => {
      expect(isPlainObject(value)).to.equal(false)
    })
  }
})

describe('users: userDict()', () => {
  it('returns a plain object holding the key as is', () => {
    const user = { user_id: 1, name: 'alice' }
    expect(userDict(user, 'user_id')).to.equal(user)
  })

  it('returns a prototype-less object holding the key as is', () => {
    const user = Object.assign(Object.create(null) as Record<string, unknown>, { id: 7 })
    expect(userDict(user, 'id')).to.equal(user)
  })

  it('takes a plain object holding the key as is even when the value is undefined', () => {
    const user = { user_id: undefined }
    expect(userDict(user, 'user_id')).to.equal(user)
  })

  it('uses a plain object holding the key as is and never calls its toDict()', () => {
    let calls = 0
    const user = {
      user_id: 1,
      toDict() {
        calls++
        return { user_id: 2 }
      },
    }
    expect(userDict(user, 'user_id')).to.equal(user)
    expect(calls).to.equal(0)
  })

  it('calls toDict() of a plain object without the key', () => {
    const user = { name: 'alice', toDict: () => ({ user_id: 3 }) }
    expect(userDict(user, 'user_id')).to.deep.equal({ user_id: 3 })
  })

  it('calls toDict() of a class instance, with the instance as this, and returns its result synchronously', () => {
    class User {
      constructor(readonly id: number) {}
      toDict(): Record<string, unknown> {
        return { user_id: this.id }
      }
    }
    const result = userDict(new User(5), 'user_id')
    expect(isThenable(result)).to.equal(false)
    expect(result).to.deep.equal({ user_id: 5 })
  })

  it('goes through toDict() for a class instance even when it holds the key', () => {
    class User {
      user_id = 1
      toDict(): Record<string, unknown> {
        return { user_id: 'from toDict' }
      }
    }
    expect(userDict(new User(), 'user_id')).to.deep.equal({ user_id: 'from toDict' })
  })

  it('returns a promise of what an async toDict() resolves to', async () => {
    class User {
      async toDict(): Promise<Record<string, unknown>> {
        return { user_id: 9 }
      }
    }
    const result = userDict(new User(), 'user_id')
    expect(result).to.be.instanceOf(Promise)
    expect(await result).to.deep.equal({ user_id: 9 })
  })

  it('returns a promise for a toDict() that returns another thenable', async () => {
    const user = { toDict: () => ({ then: (resolve: (value: unknown) => void) => resolve({ user_id: 4 }) }) }
    const result = userDict(user, 'user_id')
    expect(result).to.be.instanceOf(Promise)
    expect(await result).to.deep.equal({ user_id: 4 })
  })

  const notObjects: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a string', 'user'],
    ['a number', 4],
  ]
  for (const [label, value] of notObjects) {
    it(`throws InvalidRetrieveUserObject 500 when toDict() returns ${label}`, () => {
      const error = caughtSync(() => userDict({ toDict: () => value }, 'user_id'))
      expect(error).to.be.instanceOf(InvalidRetrieveUserObject)
      expect(error.status).to.equal(500)
    })

    it(`rejects with InvalidRetrieveUserObject when an async toDict() resolves to ${label}`, async () => {
      const result = userDict({ toDict: async () => value }, 'user_id')
      expect(result).to.be.instanceOf(Promise)
      expect(await caught(() => result)).to.be.instanceOf(InvalidRetrieveUserObject)
    })
  }

  const noDict: [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['a plain object without the key', { id: 1 }],
    ['a class instance without toDict()', new (class User {
      user_id = 1
    })()],
    ['an object whose toDict is not a function', { toDict: { user_id: 1 } }],
    ['a string', 'user_id'],
    ['an array', [{ user_id: 1 }]],
  ]
  for (const [label, value] of noDict) {
    it(`throws InvalidRetrieveUserObject for ${label}`, () => {
      const error = caughtSync(() => userDict(value, 'user_id'))
      expect(error).to.be.instanceOf(InvalidRetrieveUserObject)
      expect(error.code).to.equal('ERR_JWT_INVALID_USER_OBJECT')
    })
  }

  it('reads the key named by userIdKey', () => {
    const user = { id: 1 }
    expect(userDict(user, 'id')).to.equal(user)
    expect(caughtSync(() => userDict(user, 'user_id'))).to.be.instanceOf(InvalidRetrieveUserObject)
  })
})
