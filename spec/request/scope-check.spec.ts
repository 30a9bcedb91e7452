import { expect } from 'chai'
import type { Context } from 'koa'

import { normalizeScope, type ScopeTuple } from '../../source/core/scope-matcher'
import type { JwtPayload } from '../../source/core/token'
import {
  scopesMatch,
  type ScopeCheckOptions,
  type ScopeHooks,
  type ScopeRequirement,
} from '../../source/request/scope-check'
import { isThenable, makeConfig } from '../helpers/parts'

const ALL: ScopeCheckOptions = { requireAll: true, requireAllActions: true }
const ANY: ScopeCheckOptions = { requireAll: false, requireAllActions: true }

// The base hooks, as `Authentication` has them.
const base: ScopeHooks = {
  destructureScopes(scopes) {
    return scopes
  },
  overrideScopeValidator(isValid) {
    return isValid
  },
}

/** A stand-in for the Koa context: the scope check only hands it on (and reads settings with it). */
function context(params: Record<string, string> = {}): Context {
  return { params } as unknown as Context
}

const compile = (...scopes: string[]): ScopeTuple[] => scopes.map(normalizeScope)

/** scopesMatch with the base hooks and the default configuration unless told otherwise. */
function check(
  payload: JwtPayload,
  requirement: ScopeRequirement,
  compiled: readonly ScopeTuple[] | undefined,
  {
    hooks = base,
    options = ALL,
    ctx = context(),
    config = makeConfig(),
  }: { hooks?: ScopeHooks; options?: ScopeCheckOptions; ctx?: Context; config?: ReturnType<typeof makeConfig> } = {},
): boolean | Promise<boolean> {
  return scopesMatch(hooks, base, config, ctx, payload, requirement, compiled, options)
}

describe('scope-check: scopesMatch()', () => {
  describe('with a requirement compiled at the route and the base hooks', () => {
    it('answers true synchronously when the scopes match', () => {
      const result = check({ scopes: ['user:read'] }, 'user', compile('user:read'))
      expect(result).to.equal(true)
    })

    it('answers false synchronously when they do not', () => {
      const result = check({ scopes: ['user:read'] }, 'admin', compile('admin'))
      expect(result).to.equal(false)
    })

    it('matches the compiled requirement, not the raw one', () => {
      expect(check({ scopes: ['admin'] }, 'user', compile('admin'))).to.equal(true)
    })

    it('requires every scope, or any of them, as the options say', () => {
      const payload = { scopes: ['user'] }
      expect(check(payload, ['user', 'admin'], compile('user', 'admin'), { options: ALL })).to.equal(false)
      expect(check(payload, ['user', 'admin'], compile('user', 'admin'), { options: ANY })).to.equal(true)
    })

    it('requires every action, or any of them, as the options say', () => {
      const payload = { scopes: ['user:read'] }
      const required = compile('user:read:write')
      expect(check(payload, 'user:read:write', required, { options: ALL })).to.equal(false)
      expect(
        check(payload, 'user:read:write', required, { options: { requireAll: true, requireAllActions: false } }),
      ).to.equal(true)
    })

    it('reads the scopes under the scopesName setting', () => {
      const config = makeConfig({ scopesName: 'perms' })
      expect(check({ perms: ['user'], scopes: [] }, 'user', compile('user'), { config })).to.equal(true)
      expect(check({ scopes: ['user'] }, 'user', compile('user'), { config })).to.equal(false)
    })

    it('answers false for a payload without a scopes list', () => {
      expect(check({}, 'user', compile('user'))).to.equal(false)
      expect(check({ scopes: 'user' }, 'user', compile('user'))).to.equal(false)
    })
  })

  describe('with a function requirement', () => {
    it('returns a promise of the match of what the function answers for the request', async () => {
      const ctx = context({ id: '7' })
      const seen: unknown[] = []
      const requirement = (c: Context & { params: Record<string, string> }) => {
        seen.push(c)
        return `user:${c.params.id!}`
      }
      const result = check({ scopes: ['user:7'] }, requirement, undefined, { ctx })
      expect(result).to.be.instanceOf(Promise)
      expect(await result).to.equal(true)
      expect(seen).to.have.length(1)
      expect(seen[0]).to.equal(ctx)
      expect(await check({ scopes: ['user:8'] }, requirement, undefined, { ctx })).to.equal(false)
    })

    it('awaits an async function and takes a list', async () => {
      const requirement = async () => ['user', 'admin'] as const
      expect(await check({ scopes: ['user', 'admin'] }, requirement, undefined)).to.equal(true)
      expect(await check({ scopes: ['user'] }, requirement, undefined)).to.equal(false)
    })

    it('answers false when the function answers something that is no scope', async () => {
      const requirement = (() => [42]) as unknown as ScopeRequirement
      expect(await check({ scopes: ['42'] }, requirement, undefined)).to.equal(false)
    })
  })

  describe('with an overridden destructureScopes', () => {
    it('returns a promise, even for a compiled requirement, and matches what destructureScopes answers', async () => {
      const seen: unknown[] = []
      const ctx = context()
      const hooks: ScopeHooks = {
        ...base,
        destructureScopes(scopes, c) {
          seen.push(scopes, c)
          return 'admin'
        },
      }
      const result = check({ scopes: ['admin'] }, 'user', compile('user'), { hooks, ctx })
      expect(result).to.be.instanceOf(Promise)
      expect(await result).to.equal(true)
      expect(seen).to.deep.equal(['user', ctx])
      expect(await check({ scopes: ['user'] }, 'user', compile('user'), { hooks })).to.equal(false)
    })

    it('calls a function that destructureScopes answers with the request', async () => {
      const ctx = context({ role: 'editor' })
      const hooks: ScopeHooks = {
        ...base,
        destructureScopes: async () => (c: Context & { params: Record<string, string> }) => c.params.role!,
      }
      expect(await check({ scopes: ['editor'] }, 'user', compile('user'), { hooks, ctx })).to.equal(true)
    })
  })

  describe('with an overridden overrideScopeValidator', () => {
    it('calls it with the hooks as this and the verdict, required scope, user scopes and requireAllActions', () => {
      const calls: unknown[][] = []
      const hooks: ScopeHooks = {
        ...base,
        overrideScopeValidator(this: ScopeHooks, isValid, required, userScopes, requireAllActions) {
          calls.push([this, isValid, required, userScopes, requireAllActions])
          return isValid
        },
      }
      const result = check({ scopes: ['user:read'] }, 'user:read', compile('user:read'), {
        hooks,
        options: { requireAll: true, requireAllActions: false },
      })
      expect(result).to.equal(true)
      expect(calls).to.have.length(1)
      expect(calls[0]![0]).to.equal(hooks)
      expect(calls[0]!.slice(1)).to.deep.equal([true, ['user', ['read']], [['user', ['read']]], false])
    })

    it('takes its verdict over the match', () => {
      const hooks: ScopeHooks = { ...base, overrideScopeValidator: (isValid) => !isValid }
      expect(check({ scopes: ['user'] }, 'admin', compile('admin'), { hooks })).to.equal(true)
      expect(check({ scopes: ['user'] }, 'user', compile('user'), { hooks })).to.equal(false)
    })

    it('still answers synchronously for a compiled requirement', () => {
      const hooks: ScopeHooks = { ...base, overrideScopeValidator: () => true }
      expect(isThenable(check({ scopes: ['x'] }, 'user', compile('user'), { hooks }))).to.equal(false)
    })

    it('is used on the async path too, with the hooks as this', async () => {
      const selves: unknown[] = []
      const hooks: ScopeHooks = {
        ...base,
        overrideScopeValidator(this: ScopeHooks) {
          selves.push(this)
          return true
        },
      }
      expect(await check({ scopes: ['user'] }, () => 'admin', undefined, { hooks })).to.equal(true)
      expect(selves).to.deep.equal([hooks])
      expect(selves[0]).to.equal(hooks)
    })
  })
})
