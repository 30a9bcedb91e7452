import { expect } from 'chai'

import {
  matchScopes,
  normalizeScope,
  normalizeUserScopes,
  validateScopes,
  validateSingleScope,
  type ScopeTuple,
  type ScopeValidatorOverride,
} from '../../source/core/scope-matcher'

interface Row {
  required: string
  user: unknown[]
  expected: boolean
  requireAllActions?: boolean
  note?: string
}

const show = (row: Row): string =>
  `${JSON.stringify(row.required)} vs ${JSON.stringify(row.user)}` +
  (row.requireAllActions === false ? ' with requireAllActions false' : '') +
  ` → ${row.expected}` +
  (row.note ? ` (${row.note})` : '')

/** Reference §5, "Docs example table" (pinned by sanic-jwt's test_validators), row for row. */
const REFERENCE_TABLE: Row[] = [
  { required: 'user', user: ['something'], expected: false },
  { required: 'user', user: ['user'], expected: true },
  { required: 'user:read', user: ['user'], expected: true },
  { required: 'user:read', user: ['user:read'], expected: true },
  { required: 'user:read', user: ['user:write'], expected: false },
  { required: 'user:read', user: ['user:read:write'], expected: true },
  { required: 'user', user: ['user:read'], expected: false },
  { required: 'user:read:write', user: ['user:read'], expected: false },
  { required: 'user:read:write', user: ['user:read:write'], expected: true },
  { required: 'user:read:write', user: ['user:write:read'], expected: true },
  { required: 'user:read:write', user: ['user:read'], requireAllActions: false, expected: true },
  { required: 'user', user: ['something', 'else'], expected: false },
  { required: 'user', user: ['something', 'else', 'user'], expected: true },
  { required: 'user:read', user: ['something:else', 'user:read'], expected: true },
  { required: 'user:read', user: ['user:read', 'something:else'], expected: true },
  { required: ':read', user: [':read'], expected: true },
  {
    required: ':read',
    user: ['admin'],
    expected: true,
    note: 'namespace-less requirement, top-level user scope',
  },
  { required: 'user', user: [], expected: false },
  { required: 'user', user: [null], expected: false },
  { required: 'user', user: [null, 'user'], expected: true },
]

/** Reference §5, "Extra verified facts". */
const EXTRA_FACTS: Row[] = [
  {
    required: 'user:read:write',
    user: ['user:read', 'user:write'],
    expected: false,
    note: 'actions must be in one scope',
  },
  { required: '', user: ['admin'], expected: true },
  { required: '', user: ['admin:read'], expected: false },
]

/** requireAllActions false: any one of the required actions in one user scope is enough. */
const ANY_ACTION: Row[] = [
  { required: 'user:read:write', user: ['user:write'], requireAllActions: false, expected: true },
  { required: 'user:read:write', user: ['user:delete'], requireAllActions: false, expected: false },
  { required: 'user:read:write', user: ['other:read'], requireAllActions: false, expected: false },
  { required: 'user:read:write', user: ['user'], requireAllActions: false, expected: true },
  { required: 'user', user: ['user:read'], requireAllActions: false, expected: false },
  { required: ':read:write', user: ['x:write'], requireAllActions: false, expected: true },
]

/** Hardening: no coercion, no normalisation, no prefix tricks. */
const HARDENING: Row[] = [
  { required: 'admin', user: [['admin']], expected: false, note: 'nested list never coerced' },
  { required: 'admin', user: [[['admin']]], expected: false, note: 'deeply nested list' },
  { required: '1', user: [1], expected: false, note: 'number never coerced' },
  { required: 'true', user: [true], expected: false, note: 'boolean never coerced' },
  { required: 'admin', user: [{ toString: () => 'admin' }], expected: false, note: 'object never coerced' },
  { required: 'admin', user: [{ admin: true }], expected: false, note: 'object never coerced' },
  {
    required: 'admin',
    user: [1, { a: 1 }, ['x'], 'admin'],
    expected: true,
    note: 'string entries still count',
  },
  { required: 'admin', user: [undefined, 'admin'], expected: true, note: 'undefined dropped' },
  { required: 'admin', user: ['admin:'], expected: false, note: 'a trailing colon is an (empty) action' },
  { required: 'admin', user: ['admin::'], expected: false, note: 'extra colons are empty actions' },
  { required: 'admin', user: [':admin'], expected: false, note: 'admin as an action is not admin' },
  { required: 'user:read', user: ['user:readwrite'], expected: false, note: 'no prefix matching' },
  { required: 'user:read', user: ['user:re:ad'], expected: false, note: 'colons split actions' },
  { required: 'user', user: ['user:'], expected: false },
  { required: 'admin', user: ['аdmin'], expected: false, note: 'Cyrillic а look-alike in the user scope' },
  { required: 'аdmin', user: ['admin'], expected: false, note: 'Cyrillic а look-alike in the requirement' },
  { required: 'admin:read', user: ['аdmin:read'], expected: false, note: 'Cyrillic а look-alike namespace' },
  { required: 'admin:read', user: ['admin:rеad'], expected: false, note: 'Cyrillic е look-alike action' },
  { required: 'admin', user: ['ａｄｍｉｎ'], expected: false, note: 'fullwidth look-alike' },
  { required: 'admin', user: ['admin\u200b'], expected: false, note: 'zero-width space' },
  { required: 'café', user: ['cafe\u0301'], expected: false, note: 'no Unicode normalisation' },
  { required: 'admin', user: ['ADMIN'], expected: false, note: 'case-sensitive' },
  { required: 'admin', user: [' admin'], expected: false, note: 'no trimming' },
  { required: 'admin', user: ['admin '], expected: false, note: 'no trimming' },
]

function runTable(title: string, rows: Row[]): void {
  describe(title, () => {
    for (const row of rows) {
      it(`${show(row)}`, () => {
        const rAA = row.requireAllActions ?? true
        expect(validateSingleScope(row.required, row.user, rAA)).to.equal(row.expected)
        expect(validateScopes(row.required, row.user, { requireAllActions: rAA })).to.equal(row.expected)
        expect(validateScopes([row.required], row.user, { requireAllActions: rAA })).to.equal(row.expected)
        const tuples = [normalizeScope(row.required)]
        expect(matchScopes(tuples, row.user, { requireAllActions: rAA })).to.equal(row.expected)
      })
    }
  })
}

describe('core/scope-matcher', () => {
  runTable('reference §5 table', REFERENCE_TABLE)
  runTable('reference §5 extra verified facts', EXTRA_FACTS)
  runTable('requireAllActions false', ANY_ACTION)
  runTable('hardening', HARDENING)

  describe('a scopes claim that is not a list', () => {
    const claims = ['admin', 'admin user', { admin: true }, { 0: 'admin', length: 1 }, 1, true, null, undefined]
    for (const claim of claims) {
      it(`never matches ${JSON.stringify(claim) ?? 'undefined'}`, () => {
        expect(validateSingleScope('admin', claim)).to.equal(false)
        expect(validateScopes('admin', claim)).to.equal(false)
        expect(validateScopes(['admin'], claim, { requireAll: false })).to.equal(false)
        expect(validateScopes('', claim)).to.equal(false)
        expect(validateScopes(':admin', claim, { requireAllActions: false })).to.equal(false)
      })
    }

    it('never consults the override', () => {
      let calls = 0
      const override: ScopeValidatorOverride = () => {
        calls++
        return true
      }
      for (const claim of ['admin', { admin: true }, 7, null]) {
        expect(validateScopes('admin', claim, { override })).to.equal(false)
      }
      expect(calls).to.equal(0)
    })
  })

  describe('an empty requirement (scoped([]) or a scope function returning [])', () => {
    it('grants every list of user scopes under requireAll, even [] and [null], as all([]) does', () => {
      for (const claim of [['user'], [], [null]]) expect(validateScopes([], claim)).to.equal(true)
    })

    it('grants nothing under any-of, as any([]) does', () => {
      expect(validateScopes([], ['user'], { requireAll: false })).to.equal(false)
    })

    it('never matches a claim that is not a list, and never consults the override', () => {
      let calls = 0
      const override: ScopeValidatorOverride = () => {
        calls++
        return false
      }
      expect(validateScopes([], 'user')).to.equal(false)
      expect(validateScopes([], undefined)).to.equal(false)
      expect(validateScopes([], ['user'], { override })).to.equal(true)
      expect(calls).to.equal(0)
    })
  })

  describe('requireAll', () => {
    const user = ['user', 'billing:read']

    it('needs every required scope by default', () => {
      expect(validateScopes(['user', 'billing:read'], user)).to.equal(true)
      expect(validateScopes(['user', 'admin'], user)).to.equal(false)
      expect(validateScopes(['admin', 'user'], user)).to.equal(false)
    })

    it('needs any one required scope when false', () => {
      expect(validateScopes(['admin', 'user'], user, { requireAll: false })).to.equal(true)
      expect(validateScopes(['admin', 'billing:write'], user, { requireAll: false })).to.equal(false)
    })

    it('combines with requireAllActions', () => {
      const required = ['admin', 'billing:read:write']
      expect(validateScopes(required, user, { requireAll: false })).to.equal(false)
      expect(validateScopes(required, user, { requireAll: false, requireAllActions: false })).to.equal(true)
      expect(validateScopes(required, user, { requireAll: true, requireAllActions: false })).to.equal(false)
    })

    it('wraps a single string requirement in a list', () => {
      expect(validateScopes('user', user)).to.equal(true)
      expect(validateScopes('user:read:write', ['user:read'])).to.equal(false)
    })
  })

  describe('override hook', () => {
    it('receives the verdict, the required tuple, the user tuples and requireAllActions', () => {
      const calls: Parameters<ScopeValidatorOverride>[] = []
      const override: ScopeValidatorOverride = (...args) => {
        calls.push(args)
        return args[0]
      }
      const options = { override, requireAllActions: false }
      expect(validateScopes(['user:read', 'admin'], ['user:read', null, 'x'], options)).to.equal(false)
      expect(calls).to.deep.equal([
        [true, ['user', ['read']], [['user', ['read']], ['x', []]], false],
        [false, ['admin', []], [['user', ['read']], ['x', []]], false],
      ])
    })

    it('is called once per required scope', () => {
      let calls = 0
      const override: ScopeValidatorOverride = (isValid) => {
        calls++
        return isValid
      }
      validateScopes(['a', 'b', 'c'], ['a', 'b', 'c'], { override })
      expect(calls).to.equal(3)
    })

    it('denies everything it answers false to', () => {
      const override: ScopeValidatorOverride = () => false
      expect(validateScopes('user', ['user'], { override })).to.equal(false)
      expect(validateSingleScope('user', ['user'], true, override)).to.equal(false)
    })

    it('grants what it answers true to', () => {
      const override: ScopeValidatorOverride = (_valid, required) => required[0] === 'admin'
      expect(validateScopes('admin', ['user'], { override })).to.equal(true)
      expect(validateScopes('user', ['user'], { override })).to.equal(false)
    })

    it('decides per scope under requireAll and any-of', () => {
      const override: ScopeValidatorOverride = (isValid, required) => isValid || required[0] === 'beta'
      expect(validateScopes(['user', 'beta'], ['user'], { override })).to.equal(true)
      expect(validateScopes(['admin', 'beta'], ['user'], { override })).to.equal(false)
      expect(validateScopes(['admin', 'beta'], ['user'], { override, requireAll: false })).to.equal(true)
    })

    it('is not consulted when the user has no scopes, or only null ones (reference §5 steps 1-2)', () => {
      let calls = 0
      const override: ScopeValidatorOverride = () => {
        calls++
        return true
      }
      for (const claim of [[], [null], [null, null]]) {
        expect(validateSingleScope('user', claim, true, override)).to.equal(false)
        expect(validateScopes('user', claim, { override })).to.equal(false)
      }
      expect(calls).to.equal(0)
    })
  })

  describe('normalizeScope()', () => {
    const cases: [string, ScopeTuple][] = [
      ['user', ['user', []]],
      ['user:read', ['user', ['read']]],
      ['user:read:write', ['user', ['read', 'write']]],
      [':read', ['', ['read']]],
      ['', ['', []]],
      ['user:', ['user', ['']]],
      ['a::b', ['a', ['', 'b']]],
    ]
    for (const [scope, tuple] of cases) {
      it(`turns ${JSON.stringify(scope)} into ${JSON.stringify(tuple)}`, () => {
        expect(normalizeScope(scope)).to.deep.equal(tuple)
      })
    }

    it('returns frozen tuples', () => {
      const tuple = normalizeScope('user:read')
      expect(Object.isFrozen(tuple)).to.equal(true)
      expect(Object.isFrozen(tuple[1])).to.equal(true)
    })
  })

  describe('normalizeUserScopes()', () => {
    it('keeps only the string entries', () => {
      expect(normalizeUserScopes(['a', null, 1, ['b'], { c: 1 }, 'd:x'])).to.deep.equal([
        ['a', []],
        ['d', ['x']],
      ])
    })

    it('returns undefined for a non-list or a list without strings', () => {
      for (const claim of ['a', { a: 1 }, 1, null, undefined, [], [null], [1, ['a']]]) {
        expect(normalizeUserScopes(claim), JSON.stringify(claim)).to.equal(undefined)
      }
    })
  })
})

describe('core/scope-matcher: the text fast path (no override) agrees with the tuple rules', () => {
  // Without an override, matchScopes reads the claim's strings directly; with an identity
  // override it normalises every user scope into tuples first. Both must give the same verdict.
  const identity: ScopeValidatorOverride = (isValid) => isValid
  // Empty segments ('read:', 'read::write', '::') are actions too: '' is granted by an empty segment only.
  const parts = [
    ...['', 'user', 'users', 'use', 'admin', 'read', 'write', 'read:write', 'write:read', ':', 'user:', ':read'],
    ...['read:', ':read:', 'read::write', '::', 'read:read', 'reader', 'rea', 'write:reads'],
  ]
  const requirements = [
    ...['user', 'user:read', 'user:read:write', ':read', ':write', 'admin', '', 'user:', 'users:read'],
    ...['user:read:', 'user::read', ':', 'user:write:read:write'],
  ]
  const claims: unknown[] = [
    [],
    [null],
    [42, { user: 'read' }, ['user']],
    ...parts.map((p) => [p]),
    ...parts.flatMap((a) => ['user', 'admin:read', ''].map((b) => [a, b])),
    ...parts.map((p) => [`user:${p}`, null]),
    'user',
    { 0: 'user', length: 1 },
  ]
  for (const requireAll of [true, false]) {
    for (const requireAllActions of [true, false]) {
      it(`gives the same verdicts with requireAll ${requireAll} and requireAllActions ${requireAllActions}`, () => {
        let checked = 0
        for (const first of requirements) {
          for (const second of [undefined, ...requirements]) {
            // A pair of the same requirement stands in for the empty requirement list.
            const listed = second === undefined ? [first] : first === second ? [] : [first, second]
            const required = listed.map(normalizeScope)
            for (const claim of claims) {
              const fast = matchScopes(required, claim, { requireAll, requireAllActions })
              const tuples = matchScopes(required, claim, { requireAll, requireAllActions, override: identity })
              expect(fast, `${JSON.stringify([first, second])} vs ${JSON.stringify(claim)}`).to.equal(tuples)
              checked++
            }
          }
        }
        expect(checked).to.be.greaterThan(10000)
      })
    }
  }
})
