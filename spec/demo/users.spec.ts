import { expect } from 'chai'

import { DEMO_USERS, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordProblem, UserStore } from '../../demo/users'

describe('demo: UserStore', () => {
  let users: UserStore

  before(async () => {
    users = await UserStore.create()
  })

  it('holds alice (user:read) and admin (user:read, user:write, admin)', () => {
    expect(users.list()).to.deep.equal([
      { user_id: 1, username: 'alice', scopes: ['user:read'] },
      { user_id: 2, username: 'admin', scopes: ['user:read', 'user:write', 'admin'] },
    ])
  })

  it('returns the user for the right password', async () => {
    expect(await users.check('alice', 'wonderland')).to.deep.equal({
      user_id: 1,
      username: 'alice',
      scopes: ['user:read'],
    })
    expect((await users.check('admin', 'admin-password'))?.user_id).to.equal(2)
  })

  it('returns null for a wrong password, another user\'s password and an unknown user', async () => {
    expect(await users.check('alice', 'wonderland ')).to.equal(null)
    expect(await users.check('alice', 'admin-password')).to.equal(null)
    expect(await users.check('mallory', 'wonderland')).to.equal(null)
    expect(await users.check('alice', '')).to.equal(null)
  })

  it('exposes no password or hash in the users it returns', async () => {
    const found = await users.check('alice', 'wonderland')
    for (const user of [...users.list(), found]) {
      expect(Object.keys(user ?? {}).sort()).to.deep.equal(['scopes', 'user_id', 'username'])
      expect(JSON.stringify(user)).to.not.include('wonderland')
    }
  })

  it('returns frozen users, so callers cannot change scopes', () => {
    const alice = users.byId(1)
    expect(Object.isFrozen(alice)).to.equal(true)
    expect(Object.isFrozen(alice?.scopes)).to.equal(true)
  })

  it('finds users by numeric id only', () => {
    expect(users.byId(2)?.username).to.equal('admin')
    expect(users.byId('2')).to.equal(null)
    expect(users.byId(3)).to.equal(null)
    expect(users.byId(undefined)).to.equal(null)
  })

  it('builds a store from other seed users', async () => {
    const store = await UserStore.create([{ username: 'bob', password: 'builder', scopes: [] }])
    expect(store.list()).to.deep.equal([{ user_id: 1, username: 'bob', scopes: [] }])
    expect(await store.check('bob', 'builder')).to.not.equal(null)
    expect(DEMO_USERS).to.have.length(2)
  })

  describe('setPassword()', () => {
    let store: UserStore

    beforeEach(async () => {
      store = await UserStore.create()
    })

    it('makes check() take the new password and refuse the old one', async () => {
      expect(await store.setPassword(1, 'looking-glass')).to.equal(true)
      expect(await store.check('alice', 'wonderland')).to.equal(null)
      expect(await store.check('alice', 'looking-glass')).to.deep.equal(store.byId(1))
      expect(await store.check('admin', 'admin-password')).to.not.equal(null)
    })

    it('keeps the same frozen user object', async () => {
      const before = store.byId(1)
      await store.setPassword(1, 'looking-glass')
      expect(store.byId(1)).to.equal(before)
      expect(await store.check('alice', 'looking-glass')).to.equal(before)
    })

    it('can set the old password again', async () => {
      await store.setPassword(1, 'looking-glass')
      await store.setPassword(1, 'wonderland')
      expect(await store.check('alice', 'wonderland')).to.not.equal(null)
      expect(await store.check('alice', 'looking-glass')).to.equal(null)
    })

    it('returns false for an unknown id', async () => {
      expect(await store.setPassword(3, 'looking-glass')).to.equal(false)
    })

    it('throws a RangeError for a password that breaks the rules, and keeps the old one', async () => {
      for (const password of ['', 'short', 'x'.repeat(MAX_PASSWORD_LENGTH + 1)]) {
        let caught: unknown
        await store.setPassword(1, password).catch((error: unknown) => (caught = error))
        expect(caught, password).to.be.instanceOf(RangeError)
      }
      expect(await store.check('alice', 'wonderland')).to.not.equal(null)
    })
  })

  describe('passwordProblem()', () => {
    it('accepts strings of MIN_PASSWORD_LENGTH to MAX_PASSWORD_LENGTH characters', () => {
      expect(MIN_PASSWORD_LENGTH).to.equal(8)
      for (const length of [MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH]) {
        expect(passwordProblem('x'.repeat(length))).to.equal(null)
      }
      for (const seed of DEMO_USERS) expect(passwordProblem(seed.password), seed.username).to.equal(null)
    })

    it('names the value in its reasons', () => {
      expect(passwordProblem(undefined, 'newPassword')).to.equal('newPassword must be a string.')
      expect(passwordProblem('1234567')).to.equal('The password must be at least 8 characters long.')
      expect(passwordProblem('x'.repeat(MAX_PASSWORD_LENGTH + 1), 'p')).to.equal('p must be at most 128 characters long.')
    })
  })
})
