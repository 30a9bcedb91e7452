import { expect } from 'chai'

import { DEMO_USERS, UserStore } from '../../demo/users'

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
})
