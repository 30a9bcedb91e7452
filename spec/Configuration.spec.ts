import { inspect } from 'node:util'

import { expect } from 'chai'

import { Configuration, type ConfigurationInput } from '../source/Configuration'
import { InvalidConfiguration, RequiredKeysNotFound } from '../source/errors'
import { ALIASES, DEFAULTS, SETTING_NAMES, type SettingName } from '../source/settings'
import { KEYS } from './helpers/keys'
import { warningsDuring } from './helpers/warnings'

const SECRET = 'S3cr3t-value-that-must-never-be-shown'

/** No environment presets at all, so the specs do not depend on the real process.env. */
const NO_ENV: Record<string, string | undefined> = Object.freeze({})

/** A Configuration over loosely typed options (for wrong-type cases) and an isolated env. */
function make(
  options: Record<string, unknown> = { secret: SECRET },
  env: Record<string, string | undefined> = NO_ENV,
): Configuration {
  return new Configuration(options as ConfigurationInput, env)
}

/** Runs `fn` and returns what it threw (failing when it does not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected an error to be thrown')
}

interface Warning {
  message: string
  code: unknown
}

/** Runs `fn` with process.emitWarning stubbed and returns the warnings it emitted. */
function captureWarnings(fn: () => void): Warning[] {
  const warnings: Warning[] = []
  const original = process.emitWarning
  process.emitWarning = ((warning: string | Error, options?: unknown) => {
    const code =
      typeof options === 'object' && options !== null
        ? (options as { code?: unknown }).code
        : undefined
    warnings.push({ message: warning instanceof Error ? warning.message : String(warning), code })
  }) as typeof process.emitWarning
  try {
    fn()
  } finally {
    process.emitWarning = original
  }
  return warnings
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

/**
 * Defaults written by hand from reference §2.1, in camelCase. Differences from sanic-jwt, by
 * decision: there is no default secret (null), `blueprintName` does not exist in the port, and
 * `clock` is new (checked separately, as is the `generateRefreshToken` function).
 */
const REFERENCE_DEFAULTS: Readonly<Record<string, unknown>> = {
  accessTokenName: 'access_token',
  algorithm: 'HS256',
  authMode: true,
  authorizationHeader: 'authorization',
  authorizationHeaderPrefix: 'Bearer',
  authorizationHeaderRefreshPrefix: 'Refresh',
  claimAud: null,
  claimIat: false,
  claimIss: null,
  claimNbf: false,
  claimNbfDelta: 0,
  cookieAccessTokenName: 'access_token',
  cookieDomain: '',
  cookieExpires: null,
  cookieHttponly: true,
  cookieMaxAge: 0,
  cookiePath: '/',
  cookieRefreshTokenName: 'refresh_token',
  cookieSamesite: 'Lax',
  cookieSecure: false,
  cookieSet: false,
  cookieSplit: false,
  cookieSplitSignatureName: 'access_token_signature',
  cookieStrict: true,
  debug: false,
  doProtection: true,
  expirationDelta: 1800,
  leeway: 180,
  loginRedirectUrl: '/index.html',
  pathToAuthenticate: '/',
  pathToRefresh: '/refresh',
  pathToRetrieveUser: '/me',
  pathToVerify: '/verify',
  privateKey: null,
  queryStringAccessTokenName: 'access_token',
  queryStringRefreshTokenName: 'refresh_token',
  queryStringSet: false,
  queryStringStrict: true,
  refreshTokenEnabled: false,
  refreshTokenName: 'refresh_token',
  scopesEnabled: false,
  scopesName: 'scopes',
  secret: null,
  strictSlashes: false,
  urlPrefix: '/auth',
  userId: 'user_id',
  userSecretEnabled: false,
  verifyExp: true,
}
const FUNCTION_SETTINGS = ['generateRefreshToken', 'clock']
/** Settings of flask-jwt-extended's features (fresh tokens, tokens without exp, revocation, CSRF), with their defaults. */
const FLASK_DEFAULTS: Readonly<Record<string, unknown>> = {
  allowNoExpiration: false,
  cookieCsrfAccessName: 'csrf_access_token',
  cookieCsrfProtect: false,
  cookieCsrfRefreshName: 'csrf_refresh_token',
  csrfCheckForm: false,
  csrfFieldName: 'csrf_token',
  csrfHeaderName: 'x-csrf-token',
  csrfMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
  freshLoginEnabled: false,
  loginFreshness: true,
  pathToFreshLogin: '/fresh',
  pathToLogout: '/logout',
  refreshExpirationDelta: 30 * 24 * 3600,
  refreshReuseInterval: 0,
  refreshRotation: false,
  revocationChecks: 'all',
  revocationMirror: true,
  revocationEnabled: false,
  storeTimeout: 2,
  // Issue #23: key rings and JWK Sets.
  jwksEnabled: false,
  pathToJwks: '/.well-known/jwks.json',
  jwksUri: null,
  jwksCooldown: 30,
  jwksTimeout: 5,
  jwksMaxAge: 300,
}

describe('Configuration: defaults (reference §2.1)', () => {
  it('has exactly the settings of the reference table, without blueprintName, plus clock and the flask-jwt-extended features', () => {
    expect([...SETTING_NAMES]).to.have.members([
      ...Object.keys(REFERENCE_DEFAULTS),
      ...FUNCTION_SETTINGS,
      ...Object.keys(FLASK_DEFAULTS),
    ])
    expect(Object.keys(DEFAULTS)).to.have.members([...SETTING_NAMES])
  })

  for (const [name, value] of Object.entries({ ...REFERENCE_DEFAULTS, ...FLASK_DEFAULTS })) {
    it(`defaults ${name} to ${inspect(value)}`, () => {
      expect((DEFAULTS as unknown as Record<string, unknown>)[name]).to.deep.equal(value)
      if (name !== 'secret') expect(make({ secret: 'x' }).get(name)).to.deep.equal(value)
    })
  }

  it('has no default secret: the secret reads back as configured', () => {
    expect(DEFAULTS.secret).to.equal(null)
    expect(make({ secret: 'x' }).get('secret')).to.equal('x')
    expect(() => make({}).resolve()).to.throw(InvalidConfiguration)
  })

  it('defaults clock to a function returning Date.now() / 1000', () => {
    const clock = make().get('clock')
    expect(clock).to.equal(DEFAULTS.clock)
    const before = Date.now() / 1000
    const now = clock()
    const after = Date.now() / 1000
    expect(now).to.be.a('number')
    expect(now).to.be.at.least(before).and.at.most(after)
  })

  it('defaults generateRefreshToken to a function returning 48 random hex characters', async () => {
    const generate = make().get('generateRefreshToken')
    expect(generate).to.equal(DEFAULTS.generateRefreshToken)
    const first = await generate()
    const second = await generate()
    expect(first).to.match(/^[0-9a-f]{48}$/)
    expect(second).to.match(/^[0-9a-f]{48}$/)
    expect(first).to.not.equal(second)
  })

  it('reads the defaults of aliased settings under the alias names', () => {
    const config = make({ secret: 'x' })
    expect(config.get('cookieTokenName')).to.equal('access_token')
    expect(config.get('splitCookie')).to.equal(false)
    expect(config.get('publicKey')).to.equal('x')
  })

  it('exposes DEFAULTS and ALIASES as static members', () => {
    expect(Configuration.defaults).to.equal(DEFAULTS)
    expect(Configuration.aliases).to.equal(ALIASES)
  })
})

describe('Configuration: precedence (reference §2.3)', () => {
  it('lets KOA_JWT_* environment presets beat the defaults', () => {
    const config = make(
      {},
      {
        KOA_JWT_SECRET: 'x',
        KOA_JWT_EXPIRATION_DELTA: '60',
        KOA_JWT_DEBUG: 'true',
        KOA_JWT_COOKIE_SET: '1',
        KOA_JWT_VERIFY_EXP: 'false',
        KOA_JWT_CLAIM_AUD: 'a,b',
        KOA_JWT_CLAIM_ISS: 'issuer',
        KOA_JWT_URL_PREFIX: 'api/auth',
        KOA_JWT_COOKIE_SAMESITE: 'strict',
        KOA_JWT_LEEWAY: '2m',
      },
    )
    expect(config.get('secret')).to.equal('x')
    expect(config.get('expirationDelta')).to.equal(60)
    expect(config.get('debug')).to.equal(true)
    expect(config.get('cookieSet')).to.equal(true)
    expect(config.get('verifyExp')).to.equal(false)
    expect(config.get('claimAud')).to.deep.equal(['a', 'b'])
    expect(config.get('claimIss')).to.equal('issuer')
    expect(config.get('urlPrefix')).to.equal('/api/auth')
    expect(config.get('cookieSamesite')).to.equal('Strict')
    expect(config.get('leeway')).to.equal(120)
  })

  it('reads KOA_JWT_PUBLIC_KEY and KOA_JWT_PRIVATE_KEY presets for asymmetric algorithms', () => {
    const config = make(
      {},
      {
        KOA_JWT_ALGORITHM: 'RS256',
        KOA_JWT_PUBLIC_KEY: KEYS.rsa.publicKey,
        KOA_JWT_PRIVATE_KEY: KEYS.rsa.privateKey,
      },
    )
    expect(config.get('algorithm')).to.equal('RS256')
    expect(config.get('secret')).to.equal(KEYS.rsa.publicKey)
    expect(config.get('privateKey')).to.equal(KEYS.rsa.privateKey)
  })

  it('reads empty presets as not set, keeping the defaults (API.md §7)', () => {
    const config = make(
      {},
      { KOA_JWT_SECRET: 'x', KOA_JWT_CLAIM_ISS: '', KOA_JWT_COOKIE_SAMESITE: '', KOA_JWT_DEBUG: '', KOA_JWT_LEEWAY: '' },
    )
    expect(config.get('claimIss')).to.equal(null)
    expect(config.get('cookieSamesite')).to.equal('Lax')
    expect(config.get('debug')).to.equal(false)
    expect(config.get('leeway')).to.equal(180)
    expect(config.isExplicit('cookieSamesite')).to.equal(false)
  })

  it('reads presets from process.env when no env is given', () => {
    const name = 'KOA_JWT_LEEWAY'
    const saved = process.env[name]
    process.env[name] = '7'
    try {
      expect(new Configuration({ secret: 'x' }).get('leeway')).to.equal(7)
    } finally {
      if (saved === undefined) delete process.env[name]
      else process.env[name] = saved
    }
  })

  it('ignores environment variables that are not KOA_JWT_ presets of a setting', () => {
    const config = make(
      {},
      {
        KOA_JWT_SECRET: 'x',
        SECRET: 'other',
        DEBUG: 'true',
        SANIC_JWT_DEBUG: 'true',
        KOA_JWT_NOT_A_SETTING: 'true',
        koa_jwt_debug: 'true',
      },
    )
    expect(config.get('secret')).to.equal('x')
    expect(config.get('debug')).to.equal(false)
  })

  it('throws InvalidConfiguration naming the setting for a preset of the wrong type', () => {
    const error = thrown(() => make({}, { KOA_JWT_SECRET: 'x', KOA_JWT_EXPIRATION_DELTA: 'soon' }).resolve())
    expect(error).to.be.instanceOf(InvalidConfiguration)
    expect(error.message).to.include('"expirationDelta"')
  })

  it('lets instance fields of a subclass beat presets', () => {
    class Fields extends Configuration {
      leeway = 20
      debug = false
      urlPrefix = 'api'
    }
    const config = new Fields({ secret: 'x' }, { KOA_JWT_LEEWAY: '10', KOA_JWT_DEBUG: 'true' })
    expect(config.get('leeway')).to.equal(20)
    expect(config.get('debug')).to.equal(false)
    expect(config.get('urlPrefix')).to.equal('/api')
  })

  it('lets static fields beat presets, instance fields beating static ones', () => {
    class Statics extends Configuration {
      static leeway = 15
      static debug = true
      leeway = 20
    }
    const config = new Statics({ secret: 'x' }, { KOA_JWT_LEEWAY: '10', KOA_JWT_DEBUG: 'false' })
    expect(config.get('leeway')).to.equal(20)
    expect(config.get('debug')).to.equal(true)
  })

  it('takes static fields from base classes, the most derived class winning', () => {
    class Base extends Configuration {
      static leeway = 15
      static scopesName = 'roles'
    }
    class Derived extends Base {
      static override leeway = 16
    }
    const config = new Derived({ secret: 'x' }, NO_ENV)
    expect(config.get('leeway')).to.equal(16)
    expect(config.get('scopesName')).to.equal('roles')
  })

  it('lets set<Name>() methods beat fields', () => {
    class Setters extends Configuration {
      static expirationDelta = 10
      leeway = 20
      setLeeway(): number {
        return 30
      }
      setExpirationDelta(): string {
        return '15m'
      }
    }
    const config = new Setters({ secret: 'x' }, { KOA_JWT_LEEWAY: '10' })
    expect(config.get('leeway')).to.equal(30)
    expect(config.get('expirationDelta')).to.equal(900)
  })

  it('runs each set<Name>() method once', () => {
    let calls = 0
    class Counting extends Configuration {
      setDebug(): boolean {
        calls++
        return true
      }
    }
    const config = new Counting({ secret: 'x' }, NO_ENV)
    expect(calls).to.equal(0)
    for (let i = 0; i < 3; i++) expect(config.get('debug')).to.equal(true)
    config.get('debug', {})
    config.set('leeway', 5)
    config.resolve()
    config.toJSON()
    expect([...config.entries()]).to.have.length(SETTING_NAMES.length)
    config.override({ leeway: 1 }, () => config.get('leeway'))
    expect(calls).to.equal(1)
  })

  it('runs set<Name>() with the configuration as this, after the fields are set', () => {
    class UsingThis extends Configuration {
      base = '/api'
      setUrlPrefix(): string {
        return `${this.base}/auth`
      }
    }
    expect(new UsingThis({ secret: 'x' }, NO_ENV).get('urlPrefix')).to.equal('/api/auth')
  })

  describe('a set<Name> that is not a function (reference §2.4, §7.2.8)', () => {
    const NOT_CALLABLE =
      'variable "setAccessTokenName" set in Configuration is not callable; it is ignored.'

    it('is ignored with a KOA_JWT_SETTER_NOT_CALLABLE warning: the setting keeps its default', async () => {
      class NotCallable extends Configuration {
        setAccessTokenName = 'foobar'
      }
      let config!: Configuration
      const warnings = await warningsDuring(() => {
        config = new NotCallable({ secret: 'x' }, NO_ENV)
        config.resolve()
      })
      expect(config.get('accessTokenName')).to.equal('access_token')
      expect(config.isExplicit('accessTokenName')).to.equal(false)
      // Unlike sanic-jwt, the setting is not dropped from the known names.
      expect(config.has('accessTokenName')).to.equal(true)
      expect(warnings).to.deep.equal([
        { name: 'KoaJwtKitWarning', code: 'KOA_JWT_SETTER_NOT_CALLABLE', message: NOT_CALLABLE },
      ])
    })

    it('is ignored with a warning when static', async () => {
      class StaticNotCallable extends Configuration {
        static setAccessTokenName = 'foobar'
      }
      let config!: Configuration
      const warnings = await warningsDuring(() => {
        config = new StaticNotCallable({ secret: 'x' }, NO_ENV)
        config.resolve()
      })
      expect(config.get('accessTokenName')).to.equal('access_token')
      expect(warnings.map((w) => [w.code, w.message])).to.deep.equal([
        ['KOA_JWT_SETTER_NOT_CALLABLE', NOT_CALLABLE],
      ])
    })

    it('leaves the values of the other sources in place: env, fields and options', async () => {
      class Fields extends Configuration {
        static leeway = 15
        setLeeway = 42
        accessTokenName = 'from_field'
        setAccessTokenName = 'foobar'
        static setExpirationDelta = 60
      }
      let config!: Configuration
      const warnings = await warningsDuring(() => {
        config = new Fields({ secret: 'x', expirationDelta: 120 }, { KOA_JWT_DEBUG: 'true' })
        config.resolve()
      })
      expect(config.get('leeway')).to.equal(15)
      expect(config.get('accessTokenName')).to.equal('from_field')
      expect(config.get('expirationDelta')).to.equal(120)
      expect(config.get('debug')).to.equal(true)
      expect(warnings.map((w) => w.message.split(' set in')[0]).sort()).to.deep.equal([
        'variable "setAccessTokenName"',
        'variable "setExpirationDelta"',
        'variable "setLeeway"',
      ])
    })

    it('warns for every configuration that resolves, once each, never with the value', async () => {
      class NotCallable extends Configuration {
        setLeeway = 'S3cr3t-looking-value'
      }
      const warnings = await warningsDuring(() => {
        const first = new NotCallable({ secret: 'x' }, NO_ENV)
        first.resolve()
        first.get('leeway')
        first.resolve()
        new NotCallable({ secret: 'x' }, NO_ENV).resolve()
      })
      expect(warnings).to.have.length(2)
      for (const warning of warnings) expect(warning.message).to.not.include('S3cr3t')
    })

    it('still calls set<Name>() methods and warns for nothing else', async () => {
      class Methods extends Configuration {
        setLeeway(): number {
          return 30
        }
      }
      let config!: Configuration
      const warnings = await warningsDuring(() => {
        config = new Methods({ secret: 'x' }, NO_ENV)
        config.resolve()
      })
      expect(config.get('leeway')).to.equal(30)
      expect(warnings).to.deep.equal([])
    })
  })

  it('keeps the lower value when set<Name>() returns undefined', () => {
    class Undefined extends Configuration {
      leeway = 20
      setLeeway(): undefined {
        return undefined
      }
    }
    expect(new Undefined({ secret: 'x' }, NO_ENV).get('leeway')).to.equal(20)
  })

  it('lets the options object beat set<Name>() methods', () => {
    class Setters extends Configuration {
      setLeeway(): number {
        return 30
      }
    }
    expect(new Setters({ secret: 'x', leeway: 40 }, NO_ENV).get('leeway')).to.equal(40)
  })

  describe('one setting given at every level', () => {
    const env = { KOA_JWT_LEEWAY: '10' }
    class StaticField extends Configuration {
      static leeway = 15
    }
    class InstanceField extends StaticField {
      leeway = 20
    }
    class SetMethod extends InstanceField {
      setLeeway(): number {
        return 30
      }
    }
    const levels: [string, () => Configuration, number][] = [
      ['the default', () => new Configuration({ secret: 'x' }, NO_ENV), 180],
      ['an environment preset', () => new Configuration({ secret: 'x' }, env), 10],
      ['a static field', () => new StaticField({ secret: 'x' }, env), 15],
      ['an instance field', () => new InstanceField({ secret: 'x' }, env), 20],
      ['a set<Name>() method', () => new SetMethod({ secret: 'x' }, env), 30],
      ['the options object', () => new SetMethod({ secret: 'x', leeway: 40 }, env), 40],
    ]
    for (const [level, build, expected] of levels) {
      it(`reads ${expected} from ${level}`, () => {
        expect(build().get('leeway')).to.equal(expected)
      })
    }

    it('reads an override() over all of them', () => {
      const config = new SetMethod({ secret: 'x', leeway: 40 }, env)
      expect(config.override({ leeway: 50 }, () => config.get('leeway'))).to.equal(50)
    })
  })

  it('ignores options whose value is undefined', () => {
    const config = make({ secret: undefined, leeway: undefined }, { KOA_JWT_SECRET: 'x', KOA_JWT_LEEWAY: '9' })
    expect(config.get('secret')).to.equal('x')
    expect(config.get('leeway')).to.equal(9)
  })

  it('validates fields and set<Name>() results like options', () => {
    class BadField extends Configuration {
      expirationDelta = 'abc'
    }
    class BadSetter extends Configuration {
      setDebug(): string {
        return 'yes'
      }
    }
    const fieldError = thrown(() => new BadField({ secret: 'x' }, NO_ENV).resolve())
    expect(fieldError).to.be.instanceOf(InvalidConfiguration)
    expect(fieldError.message).to.include('"expirationDelta"')
    const setterError = thrown(() => new BadSetter({ secret: 'x' }, NO_ENV).resolve())
    expect(setterError).to.be.instanceOf(InvalidConfiguration)
    expect(setterError.message).to.include('"debug"')
  })
})

describe('Configuration#get()', () => {
  class HeaderFromRequest extends Configuration {
    calls: object[] = []
    getAuthorizationHeader(ctx: object): string {
      this.calls.push(ctx)
      return (ctx as { custom?: string }).custom ?? 'authorization'
    }
  }

  it('returns the stored value without a ctx', () => {
    expect(make({ secret: 'x', debug: true }).get('debug')).to.equal(true)
  })

  it('throws InvalidConfiguration for an unknown name', () => {
    const config = make()
    expect(() => config.get('notASetting')).to.throw(InvalidConfiguration, /"notASetting"/)
    expect(() => config.get('toString')).to.throw(InvalidConfiguration)
  })

  it('never runs get<Name>(ctx) getters without a ctx', () => {
    const config = new HeaderFromRequest({ secret: 'x' }, NO_ENV)
    expect(config.get('authorizationHeader')).to.equal('authorization')
    expect(config.get('authorizationHeader')).to.equal('authorization')
    expect(config.calls).to.have.length(0)
  })

  it('runs a get<Name>(ctx) getter at most once per request ctx', () => {
    const config = new HeaderFromRequest({ secret: 'x' }, NO_ENV)
    const first = { custom: 'x-first' }
    const second = { custom: 'x-second' }
    for (let i = 0; i < 3; i++) expect(config.get('authorizationHeader', first)).to.equal('x-first')
    expect(config.calls).to.have.length(1)
    for (let i = 0; i < 3; i++) expect(config.get('authorizationHeader', second)).to.equal('x-second')
    expect(config.calls).to.have.length(2)
    expect(config.get('authorizationHeader', first)).to.equal('x-first')
    expect(config.calls).to.deep.equal([first, second])
    expect(config.calls[0]).to.equal(first)
    expect(config.calls[1]).to.equal(second)
  })

  it('calls the getter with the configuration as this', () => {
    let self: unknown
    class Getter extends Configuration {
      getDebug(): boolean {
        self = this
        return true
      }
    }
    const config = new Getter({ secret: 'x' }, NO_ENV)
    expect(config.get('debug', {})).to.equal(true)
    expect(self).to.equal(config)
  })

  it('leaves other settings and the stored value alone', () => {
    const config = new HeaderFromRequest({ secret: 'x' }, NO_ENV)
    expect(config.get('authorizationHeader', { custom: 'x-token' })).to.equal('x-token')
    expect(config.get('authorizationHeader')).to.equal('authorization')
    expect(config.get('debug', {})).to.equal(false)
    expect(config.calls).to.have.length(1)
  })

  it('normalizes getter results', () => {
    class Getter extends Configuration {
      getUrlPrefix(): string {
        return 'api'
      }
      getExpirationDelta(): string {
        return '15m'
      }
    }
    const config = new Getter({ secret: 'x' }, NO_ENV)
    const ctx = {}
    expect(config.get('urlPrefix', ctx)).to.equal('/api')
    expect(config.get('expirationDelta', ctx)).to.equal(900)
  })

  it('throws InvalidConfiguration naming the setting when a getter returns the wrong type', () => {
    class Getter extends Configuration {
      getDebug(): string {
        return 'yes'
      }
    }
    const error = thrown(() => new Getter({ secret: 'x' }, NO_ENV).get('debug', {}))
    expect(error).to.be.instanceOf(InvalidConfiguration)
    expect(error.message).to.include('"debug"')
  })

  it('throws InvalidConfiguration when a getter returns a promise', () => {
    class Getter extends Configuration {
      async getDebug(): Promise<boolean> {
        return true
      }
    }
    const error = thrown(() => new Getter({ secret: 'x' }, NO_ENV).get('debug', {}))
    expect(error).to.be.instanceOf(InvalidConfiguration)
    expect(error.message).to.include('getDebug()')
  })

  it('falls back to the stored value when the getter returns undefined, still once per ctx', () => {
    let calls = 0
    class Getter extends Configuration {
      getLeeway(): number | undefined {
        calls++
        return undefined
      }
    }
    const config = new Getter({ secret: 'x', leeway: 12 }, NO_ENV)
    const ctx = {}
    expect(config.get('leeway', ctx)).to.equal(12)
    expect(config.get('leeway', ctx)).to.equal(12)
    expect(calls).to.equal(1)
  })

  it('runs a getter declared under an alias name', () => {
    class Getter extends Configuration {
      getSplitCookie(): boolean {
        return true
      }
    }
    const config = new Getter({ secret: 'x' }, NO_ENV)
    expect(config.get('cookieSplit', {})).to.equal(true)
    expect(config.get('splitCookie', {})).to.equal(true)
    expect(config.get('cookieSplit')).to.equal(false)
  })

  it('prefers the getter of the setting name over the one of its alias', () => {
    class Getter extends Configuration {
      getCookieAccessTokenName(): string {
        return 'canonical'
      }
      getCookieTokenName(): string {
        return 'alias'
      }
    }
    expect(new Getter({ secret: 'x' }, NO_ENV).get('cookieTokenName', {})).to.equal('canonical')
  })

  it('prefers values cached for the request over the getter', () => {
    const config = new HeaderFromRequest({ secret: 'x' }, NO_ENV)
    const ctx = { custom: 'x-getter' }
    const restore = config.pushRequestValues(ctx, new Map([['authorizationHeader', 'x-route']]))
    expect(config.get('authorizationHeader', ctx)).to.equal('x-route')
    expect(config.calls).to.have.length(0)
    restore()
    expect(config.get('authorizationHeader', ctx)).to.equal('x-getter')
    expect(config.calls).to.have.length(1)
  })
})

describe('Configuration#override()', () => {
  it('beats the stored value inside fn only, and returns what fn returns', () => {
    const config = make()
    const result = config.override({ debug: true, leeway: 5 }, () => [
      config.get('debug'),
      config.get('leeway'),
    ])
    expect(result).to.deep.equal([true, 5])
    expect(config.get('debug')).to.equal(false)
    expect(config.get('leeway')).to.equal(180)
  })

  it('beats request-cached values and get<Name>(ctx) getters', () => {
    let calls = 0
    class Getter extends Configuration {
      getDebug(): boolean {
        calls++
        return false
      }
    }
    const config = new Getter({ secret: 'x' }, NO_ENV)
    const ctx = {}
    config.pushRequestValues(ctx, new Map<SettingName, unknown>([['leeway', 1]]))
    config.override({ debug: true, leeway: 2 }, () => {
      expect(config.get('debug', ctx)).to.equal(true)
      expect(config.get('leeway', ctx)).to.equal(2)
    })
    expect(calls).to.equal(0)
    expect(config.get('leeway', ctx)).to.equal(1)
    expect(config.get('debug', ctx)).to.equal(false)
    expect(calls).to.equal(1)
  })

  it('restores the values when fn throws', () => {
    const config = make()
    expect(() =>
      config.override({ debug: true }, () => {
        throw new Error('boom')
      }),
    ).to.throw('boom')
    expect(config.get('debug')).to.equal(false)
  })

  it('applies to async work started by fn and not to concurrent work', async () => {
    const config = make()
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const inside = config.override({ debug: true }, async () => {
      await gate
      return config.get('debug')
    })
    const outside = (async () => {
      await gate
      return config.get('debug')
    })()
    expect(config.get('debug')).to.equal(false)
    release()
    expect(await inside).to.equal(true)
    expect(await outside).to.equal(false)
  })

  it('nests, inner values winning and outer ones coming back afterwards', () => {
    const config = make()
    config.override({ debug: true, leeway: 1 }, () => {
      config.override({ leeway: 2 }, () => {
        expect(config.get('debug')).to.equal(true)
        expect(config.get('leeway')).to.equal(2)
      })
      expect(config.get('leeway')).to.equal(1)
    })
    expect(config.get('leeway')).to.equal(180)
  })

  it('normalizes the values', () => {
    const config = make()
    config.override({ expirationDelta: '15m', urlPrefix: 'api', cookieSamesite: 'none' }, () => {
      expect(config.get('expirationDelta')).to.equal(900)
      expect(config.get('urlPrefix')).to.equal('/api')
      expect(config.get('cookieSamesite')).to.equal('None')
    })
  })

  it('throws InvalidConfiguration for a wrong type or an unknown name without running fn', () => {
    const config = make()
    let ran = false
    const run = (): void => {
      ran = true
    }
    const badType = thrown(() => config.override({ expirationDelta: 'abc' }, run))
    expect(badType).to.be.instanceOf(InvalidConfiguration)
    expect(badType.message).to.include('"expirationDelta"')
    const unknown = thrown(() => config.override({ notASetting: 1 }, run))
    expect(unknown).to.be.instanceOf(InvalidConfiguration)
    expect(unknown.message).to.include('"notASetting"')
    expect(ran).to.equal(false)
  })

  it('changes only its own configuration', () => {
    const config = make()
    const other = make()
    config.override({ debug: true }, () => {
      expect(config.get('debug')).to.equal(true)
      expect(other.get('debug')).to.equal(false)
    })
  })
})

describe('Configuration#pushRequestValues()', () => {
  it('puts values in place for one ctx, and the returned function removes them', () => {
    const config = make()
    const ctx = {}
    const other = {}
    const restore = config.pushRequestValues(ctx, new Map<SettingName, unknown>([['debug', true]]))
    expect(config.get('debug', ctx)).to.equal(true)
    expect(config.get('debug', other)).to.equal(false)
    expect(config.get('debug')).to.equal(false)
    restore()
    expect(config.get('debug', ctx)).to.equal(false)
  })

  it('restores the value pushed before it (nested routes)', () => {
    const config = make()
    const ctx = {}
    const outer = config.pushRequestValues(ctx, new Map<SettingName, unknown>([['leeway', 1]]))
    const inner = config.pushRequestValues(
      ctx,
      new Map<SettingName, unknown>([
        ['leeway', 2],
        ['debug', true],
      ]),
    )
    expect(config.get('leeway', ctx)).to.equal(2)
    inner()
    expect(config.get('leeway', ctx)).to.equal(1)
    expect(config.get('debug', ctx)).to.equal(false)
    outer()
    expect(config.get('leeway', ctx)).to.equal(180)
  })

  it('restores a getter result cached before the push without running the getter again', () => {
    let calls = 0
    class Getter extends Configuration {
      getLeeway(): number {
        calls++
        return 7
      }
    }
    const config = new Getter({ secret: 'x' }, NO_ENV)
    const ctx = {}
    expect(config.get('leeway', ctx)).to.equal(7)
    const restore = config.pushRequestValues(ctx, new Map<SettingName, unknown>([['leeway', 3]]))
    expect(config.get('leeway', ctx)).to.equal(3)
    restore()
    expect(config.get('leeway', ctx)).to.equal(7)
    expect(calls).to.equal(1)
  })
})

describe('Configuration: aliases (reference §2.2)', () => {
  const aliases: [string, SettingName, string, unknown, unknown][] = [
    ['publicKey', 'secret', 'PUBLIC_KEY', 'key-one', 'key-two'],
    ['cookieTokenName', 'cookieAccessTokenName', 'COOKIE_TOKEN_NAME', 'jwt', 'tok'],
    ['splitCookie', 'cookieSplit', 'SPLIT_COOKIE', true, false],
  ]
  for (const [alias, name, envName, one, two] of aliases) {
    describe(`${alias} ≡ ${name}`, () => {
      it('reads the same value under both names', () => {
        const config = make({ secret: 'x', [name]: one })
        expect(config.get(alias)).to.deep.equal(one)
        expect(config.get(name)).to.deep.equal(one)
      })

      it('takes an option given under the alias', () => {
        const config = make({ secret: 'x', [alias]: one })
        expect(config.get(name)).to.deep.equal(one)
        expect(config.get(alias)).to.deep.equal(one)
      })

      it(`takes the KOA_JWT_${envName} preset`, () => {
        const config = make({}, { KOA_JWT_SECRET: 'x', [`KOA_JWT_${envName}`]: String(one) })
        expect(config.get(name)).to.deep.equal(one)
        expect(config.get(alias)).to.deep.equal(one)
      })

      it('takes a field declared under the alias', () => {
        class Field extends Configuration {
          constructor() {
            super({}, { KOA_JWT_SECRET: 'x' })
            Object.defineProperty(this, alias, { value: one, enumerable: true })
          }
        }
        expect(new Field().get(name)).to.deep.equal(one)
      })

      it('changes both names through set() under either name', () => {
        const config = make()
        config.set(alias, one)
        expect(config.get(name)).to.deep.equal(one)
        config.set(name, two)
        expect(config.get(alias)).to.deep.equal(two)
      })

      it('changes both names through override() under either name', () => {
        const config = make()
        config.override({ [alias]: one }, () => {
          expect(config.get(name)).to.deep.equal(one)
          expect(config.get(alias)).to.deep.equal(one)
        })
        config.override({ [name]: two }, () => {
          expect(config.get(alias)).to.deep.equal(two)
        })
      })
    })
  }
})

describe('Configuration#has()', () => {
  const config = make()

  it('is true for every setting name', () => {
    for (const name of SETTING_NAMES) expect(config.has(name), name).to.equal(true)
  })

  it('is true for alias names', () => {
    for (const alias of ['publicKey', 'cookieTokenName', 'splitCookie']) {
      expect(config.has(alias), alias).to.equal(true)
    }
  })

  it('is false for unknown names', () => {
    for (const name of ['nope', 'Secret', 'blueprintName', 'toString', '__proto__', 'authenticate', '']) {
      expect(config.has(name), name).to.equal(false)
    }
  })
})

describe('Configuration#entries(), #keys(), [Symbol.iterator]()', () => {
  it('yields every setting once with its stored value, and no alias', () => {
    const config = make({ secret: 'x', debug: true, publicKey: 'y' })
    const entries = [...config.entries()]
    expect(entries.map(([name]) => name)).to.deep.equal([...SETTING_NAMES])
    const map = new Map(entries)
    expect(map.get('debug')).to.equal(true)
    expect(map.get('secret')).to.equal('y')
    expect(map.get('leeway')).to.equal(180)
    expect(map.has('publicKey' as SettingName)).to.equal(false)
  })

  it('yields every setting name from keys()', () => {
    expect([...make().keys()]).to.deep.equal([...SETTING_NAMES])
  })

  it('iterates like entries()', () => {
    const config = make({ secret: 'x', leeway: 3 })
    expect([...config]).to.deep.equal([...config.entries()])
    expect(new Map(config).get('leeway')).to.equal(3)
  })

  it('yields the value changed by set()', () => {
    const config = make()
    config.set('debug', true)
    expect(new Map(config.entries()).get('debug')).to.equal(true)
  })
})

describe('Configuration#toJSON()', () => {
  it('redacts the secret', () => {
    const config = make({ secret: SECRET })
    expect(config.toJSON().secret).to.equal('[redacted]')
    expect(JSON.stringify(config)).to.not.include(SECRET)
  })

  it('redacts the public and private keys', () => {
    const config = make({
      algorithm: 'RS256',
      publicKey: KEYS.rsa.publicKey,
      privateKey: KEYS.rsa.privateKey,
    })
    const json = config.toJSON()
    expect(json.secret).to.equal('[redacted]')
    expect(json.privateKey).to.equal('[redacted]')
    const text = JSON.stringify(config)
    expect(text).to.not.include('BEGIN')
    expect(text).to.not.include(KEYS.rsa.privateKey.split('\n')[1])
  })

  it('shows an absent private key as null', () => {
    expect(make().toJSON().privateKey).to.equal(null)
  })

  it('holds the other settings and leaves out functions', () => {
    const json = make({ secret: 'x', debug: true, claimAud: ['a', 'b'] }).toJSON()
    expect(json.debug).to.equal(true)
    expect(json.claimAud).to.deep.equal(['a', 'b'])
    expect(json.urlPrefix).to.equal('/auth')
    expect(json).to.not.have.property('clock')
    expect(json).to.not.have.property('generateRefreshToken')
    expect(Object.keys(json)).to.have.length(SETTING_NAMES.length - FUNCTION_SETTINGS.length)
  })
})

describe('Configuration: the options object', () => {
  it('is not mutated, even when deep-frozen', () => {
    const options = deepFreeze({
      secret: 'x',
      claimAud: ['a', 'b'],
      cookieExpires: '2030-01-01T00:00:00Z',
      expirationDelta: '15m',
      urlPrefix: 'api',
      cookieSamesite: 'strict',
      splitCookie: true,
      authenticate: () => null,
    })
    const config = make(options)
    config.resolve()
    config.set('claimAud', ['c'])
    config.set('urlPrefix', '/other')
    config.override({ leeway: 1 }, () => config.get('leeway'))
    expect(config.get('expirationDelta')).to.equal(900)
    expect(options.expirationDelta).to.equal('15m')
  })

  it('keeps its values as given (compared with a clone)', () => {
    const options = {
      secret: 'x',
      claimAud: ['a', 'b'],
      expirationDelta: '15m',
      urlPrefix: 'api',
      cookieSamesite: 'strict',
      publicKey: 'y',
      splitCookie: true,
    }
    const clone = structuredClone(options)
    const config = make(options)
    config.resolve()
    config.set('claimAud', 'c')
    expect(options).to.deep.equal(clone)
  })

  it('copies a claimAud list of the caller', () => {
    const list = ['a', 'b']
    const config = make({ secret: 'x', claimAud: list })
    config.resolve()
    list.push('c')
    expect(config.get('claimAud')).to.deep.equal(['a', 'b'])
    expect(config.get('claimAud')).to.not.equal(list)
  })

  it('is not read again after construction', () => {
    const options: Record<string, unknown> = { secret: 'x' }
    const config = make(options)
    options.debug = true
    options.secret = 'changed'
    expect(config.get('debug')).to.equal(false)
    expect(config.get('secret')).to.equal('x')
  })
})

describe('Configuration: unknown options', () => {
  it("warns KOA_JWT_UNKNOWN_OPTION with a 'Did you mean' hint for a near miss", () => {
    const warnings = captureWarnings(() => {
      make({ secret: 'x', expirationDelat: 60 }).resolve()
    })
    expect(warnings).to.have.length(1)
    expect(warnings[0]?.code).to.equal('KOA_JWT_UNKNOWN_OPTION')
    expect(warnings[0]?.message).to.include('"expirationDelat"')
    expect(warnings[0]?.message).to.include('Did you mean "expirationDelta"?')
  })

  it('hints at handler and alias names too', () => {
    const warnings = captureWarnings(() => {
      make({ secret: 'x', retreiveUser: () => null, splitCookies: true }).resolve()
    })
    expect(warnings.map((w) => w.message)).to.have.length(2)
    expect(warnings.some((w) => w.message.includes('Did you mean "retrieveUser"?'))).to.equal(true)
    expect(warnings.some((w) => w.message.includes('Did you mean "splitCookie"?'))).to.equal(true)
  })

  it('warns without a hint for a name far from every option', () => {
    const warnings = captureWarnings(() => {
      make({ secret: 'x', completelyUnrelatedThing: 1 }).resolve()
    })
    expect(warnings).to.have.length(1)
    expect(warnings[0]?.code).to.equal('KOA_JWT_UNKNOWN_OPTION')
    expect(warnings[0]?.message).to.include('"completelyUnrelatedThing"')
    expect(warnings[0]?.message).to.not.include('Did you mean')
  })

  it('never shows the value of an unknown option', () => {
    const warnings = captureWarnings(() => {
      make({ secret: 'x', secert: SECRET }).resolve()
    })
    expect(warnings).to.have.length(1)
    expect(warnings[0]?.message).to.include('"secert"')
    expect(warnings[0]?.message).to.not.include(SECRET)
  })

  it('ignores the value of an unknown option', () => {
    captureWarnings(() => {
      const config = make({ secret: 'x', Debug: true })
      expect(config.get('debug')).to.equal(false)
    })
  })

  it('warns once, when the configuration resolves, not on later reads', () => {
    let config!: Configuration
    const atConstruction = captureWarnings(() => {
      config = make({ secret: 'x', secet: 'y' })
    })
    expect(atConstruction).to.have.length(0)
    const warnings = captureWarnings(() => {
      config.get('debug')
      config.get('leeway')
      config.resolve()
      config.set('debug', true)
    })
    expect(warnings).to.have.length(1)
    expect(warnings[0]?.message).to.include('Did you mean "secret"?')
  })

  it('does not warn for handler names and other Initialize options', () => {
    const warnings = captureWarnings(() => {
      make({
        secret: 'x',
        authenticate: () => null,
        retrieveUser: () => null,
        storeRefreshToken: () => undefined,
        retrieveRefreshToken: () => null,
        addScopesToPayload: () => [],
        extendPayload: (payload: object) => payload,
        retrieveUserSecret: () => 'x',
        overrideScopeValidator: () => true,
        destructureScopes: (scopes: unknown) => scopes,
        customClaims: [],
        extraVerifications: [],
        classViews: [],
        authenticationClass: class {},
        configurationClass: Configuration,
        responsesClass: class {},
      }).resolve()
    })
    expect(warnings).to.deep.equal([])
  })

  it('does not warn for setting and alias names', () => {
    const warnings = captureWarnings(() => {
      make({ secret: 'x', debug: true, publicKey: 'y', cookieTokenName: 'c', splitCookie: false }).resolve()
    })
    expect(warnings).to.deep.equal([])
  })

  it('does not warn for an unknown key whose value is undefined', () => {
    const warnings = captureWarnings(() => {
      make({ secret: 'x', secet: undefined }).resolve()
    })
    expect(warnings).to.deep.equal([])
  })

  it('warns about a misspelt secret even though the missing secret makes resolve() throw', () => {
    const warnings = captureWarnings(() => {
      expect(() => make({ secert: 'x' }).resolve()).to.throw(InvalidConfiguration)
    })
    expect(warnings).to.have.length(1)
    expect(warnings[0]?.code).to.equal('KOA_JWT_UNKNOWN_OPTION')
    expect(warnings[0]?.message).to.include('Did you mean "secret"?')
  })
})

describe('Configuration#resolve()', () => {
  it('runs on the first read: the constructor does not validate, the first get() does', () => {
    const config = make({})
    const error = thrown(() => config.get('debug'))
    expect(error).to.be.instanceOf(InvalidConfiguration)
  })

  it('returns the same stored values on every call', () => {
    const config = make()
    expect(config.resolve()).to.equal(config.resolve())
  })

  describe('secret (no default secret)', () => {
    const blanks: [string, Record<string, unknown>, Record<string, string>][] = [
      ['absent', {}, {}],
      ['null', { secret: null }, {}],
      ['an empty string', { secret: '' }, {}],
      ['blank', { secret: '   \t' }, {}],
      ['an empty KOA_JWT_SECRET preset', {}, { KOA_JWT_SECRET: '' }],
      ['absent under HS512', { algorithm: 'HS512' }, {}],
    ]
    for (const [label, options, env] of blanks) {
      it(`throws InvalidConfiguration naming "secret" when the secret is ${label}`, () => {
        const error = thrown(() => make(options, env).resolve())
        expect(error).to.be.instanceOf(InvalidConfiguration)
        expect((error as InvalidConfiguration).code).to.equal('ERR_JWT_INVALID_CONFIGURATION')
        expect(error.message).to.include('"secret"')
      })
    }

    it('never shows a secret of the wrong type', () => {
      const error = thrown(() => make({ secret: 1234567890 }).resolve())
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.include('"secret"')
      expect(error.message).to.not.include('1234567890')
    })
  })

  describe('asymmetric keys', () => {
    for (const algorithm of ['RS256', 'ES256', 'PS256']) {
      it(`throws RequiredKeysNotFound for ${algorithm} with a public key but no private key`, () => {
        const error = thrown(() => make({ algorithm, secret: KEYS.rsa.publicKey }).resolve())
        expect(error).to.be.instanceOf(RequiredKeysNotFound)
        expect((error as RequiredKeysNotFound).code).to.equal('ERR_JWT_REQUIRED_KEYS_NOT_FOUND')
      })
    }

    it('throws RequiredKeysNotFound for RS256 with no key at all', () => {
      expect(() => make({ algorithm: 'RS256' }).resolve()).to.throw(RequiredKeysNotFound)
    })

    it('throws RequiredKeysNotFound for RS256 with a blank private key', () => {
      const config = make({ algorithm: 'RS256', secret: KEYS.rsa.publicKey, privateKey: '  ' })
      expect(() => config.resolve()).to.throw(RequiredKeysNotFound)
    })

    it('accepts RS256 with both keys', () => {
      const config = make({ algorithm: 'RS256', publicKey: KEYS.rsa.publicKey, privateKey: KEYS.rsa.privateKey })
      expect(config.get('algorithm')).to.equal('RS256')
    })

    it('accepts RS256 with a private key alone (the public key is derived from it)', () => {
      const config = make({ algorithm: 'RS256', privateKey: KEYS.rsa.privateKey })
      expect(config.get('privateKey')).to.equal(KEYS.rsa.privateKey)
      expect(config.get('secret')).to.equal(null)
    })

    it('accepts RS256 with a public key alone when authMode is false (verify-only service)', () => {
      const config = make({ algorithm: 'RS256', authMode: false, publicKey: KEYS.rsa.publicKey })
      expect(config.get('secret')).to.equal(KEYS.rsa.publicKey)
    })

    it('throws RequiredKeysNotFound when authMode is false and there is no key at all', () => {
      expect(() => make({ algorithm: 'RS256', authMode: false }).resolve()).to.throw(RequiredKeysNotFound)
    })
  })

  describe('wrong types', () => {
    const wrong: [string, unknown][] = [
      ['expirationDelta', 'abc'],
      ['expirationDelta', -5],
      ['debug', 'yes'],
      ['debug', 1],
      ['algorithm', 'none'],
      ['claimAud', 5],
      ['claimAud', []],
      ['cookieSamesite', 'sometimes'],
      ['cookieExpires', 'not a date'],
      ['urlPrefix', 42],
      ['clock', 1_700_000_000],
      ['claimIss', 5],
    ]
    for (const [name, value] of wrong) {
      it(`throws InvalidConfiguration naming "${name}" for ${inspect(value)}, without the secret`, () => {
        for (const read of [
          (config: Configuration) => config.resolve(),
          (config: Configuration) => config.get('leeway'),
        ]) {
          const error = thrown(() => read(make({ secret: SECRET, [name]: value })))
          expect(error).to.be.instanceOf(InvalidConfiguration)
          expect((error as InvalidConfiguration).code).to.equal('ERR_JWT_INVALID_CONFIGURATION')
          expect(error.message).to.include(`"${name}"`)
          expect(error.message).to.not.include(SECRET)
          expect((error as InvalidConfiguration).reasons.join(' ')).to.not.include(SECRET)
        }
      })
    }
  })

  describe('time spans', () => {
    const spans: [SettingName, string, number][] = [
      ['expirationDelta', '15m', 900],
      ['expirationDelta', '2h', 7200],
      ['leeway', '3m', 180],
      ['claimNbfDelta', '30s', 30],
      ['cookieMaxAge', '1d', 86400],
      ['expirationDelta', '90', 90],
    ]
    for (const [name, span, seconds] of spans) {
      it(`reads ${name} '${span}' as ${seconds}`, () => {
        expect(make({ secret: 'x', [name]: span }).get(name)).to.equal(seconds)
      })
    }
  })
})

describe('Configuration#set()', () => {
  it('changes a setting, visible to the next read, and returns the configuration', () => {
    const config = make()
    expect(config.set('debug', true)).to.equal(config)
    expect(config.get('debug')).to.equal(true)
    expect(config.get('debug', {})).to.equal(true)
  })

  it('works before any read', () => {
    expect(make().set('leeway', 5).get('leeway')).to.equal(5)
  })

  it('normalizes the value', () => {
    const config = make()
    config.set('expirationDelta', '2h').set('urlPrefix', 'api').set('cookieSamesite', 'strict')
    expect(config.get('expirationDelta')).to.equal(7200)
    expect(config.get('urlPrefix')).to.equal('/api')
    expect(config.get('cookieSamesite')).to.equal('Strict')
  })

  const wrong: [SettingName, unknown, unknown][] = [
    ['debug', 'yes', false],
    ['expirationDelta', 'abc', 1800],
    ['algorithm', 'none', 'HS256'],
    ['claimAud', 5, null],
    ['cookieSamesite', 'sometimes', 'Lax'],
    ['urlPrefix', null, '/auth'],
  ]
  for (const [name, value, previous] of wrong) {
    it(`throws InvalidConfiguration for ${name} ${inspect(value)} and keeps the previous value`, () => {
      const config = make()
      const error = thrown(() => config.set(name, value))
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.include(`"${name}"`)
      expect(config.get(name)).to.deep.equal(previous)
    })
  }

  it('throws InvalidConfiguration for a blank secret and keeps the previous secret', () => {
    const config = make()
    for (const value of ['', '  ', null]) {
      const error = thrown(() => config.set('secret', value))
      expect(error).to.be.instanceOf(InvalidConfiguration)
      expect(error.message).to.include('"secret"')
      expect(config.get('secret')).to.equal(SECRET)
    }
  })

  it('throws RequiredKeysNotFound when switching to RS256 without keys, keeping HS256', () => {
    const config = make()
    expect(() => config.set('algorithm', 'RS256')).to.throw(RequiredKeysNotFound)
    expect(config.get('algorithm')).to.equal('HS256')
  })

  it('never shows the secret in its errors', () => {
    const config = make()
    const error = thrown(() => config.set('publicKey', 4242424242))
    expect(error.message).to.not.include('4242424242')
    expect(config.get('secret')).to.equal(SECRET)
  })

  it('clears an optional setting with null', () => {
    const config = make({ secret: 'x', claimIss: 'issuer', claimAud: 'aud', cookieExpires: 0 })
    expect(config.get('claimIss')).to.equal('issuer')
    config.set('claimIss', null)
    expect(config.get('claimIss')).to.equal(null)
    config.set('claimAud', null)
    expect(config.get('claimAud')).to.equal(null)
    config.set('cookieExpires', null)
    expect(config.get('cookieExpires')).to.equal(null)
    config.set('cookieSamesite', null)
    expect(config.get('cookieSamesite')).to.equal(null)
  })

  it('throws InvalidConfiguration for an unknown name', () => {
    expect(() => make().set('notASetting', 1)).to.throw(InvalidConfiguration, /"notASetting"/)
  })

  it('tells change listeners, and a listener that throws rejects the change', () => {
    const config = make()
    const seen: [SettingName, unknown][] = []
    config.onChange((name, value) => {
      seen.push([name, value])
      if (name === 'leeway' && value === 13) throw new Error('no thirteen')
    })
    config.set('splitCookie', true)
    expect(seen).to.deep.equal([['cookieSplit', true]])
    expect(() => config.set('leeway', 13)).to.throw('no thirteen')
    expect(config.get('leeway')).to.equal(180)
  })
})

describe('Configuration#isExplicit() and #hasGetter()', () => {
  class Mixed extends Configuration {
    static cookieSet = true
    leeway = 20
    setDebug(): boolean {
      return false
    }
    getAuthorizationHeader(): string {
      return 'x'
    }
  }

  it('tells which settings were given explicitly, at any level', () => {
    const config = new Mixed({ secret: 'x', publicKey: 'y' }, { KOA_JWT_CLAIM_IAT: 'true' })
    for (const name of ['secret', 'claimIat', 'cookieSet', 'leeway', 'debug'] as SettingName[]) {
      expect(config.isExplicit(name), name).to.equal(true)
    }
    for (const name of ['claimIss', 'expirationDelta', 'authorizationHeader'] as SettingName[]) {
      expect(config.isExplicit(name), name).to.equal(false)
    }
  })

  it('tells which settings have a get<Name>(ctx) getter', () => {
    const config = new Mixed({ secret: 'x' }, NO_ENV)
    expect(config.hasGetter('authorizationHeader')).to.equal(true)
    expect(config.hasGetter('debug')).to.equal(false)
  })
})
