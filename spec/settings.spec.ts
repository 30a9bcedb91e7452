import { createSecretKey } from 'node:crypto'
import { inspect } from 'node:util'

import { expect } from 'chai'

import { InvalidConfiguration } from '../source/errors'
import {
  ALGORITHMS,
  ALIASES,
  DEFAULTS,
  KINDS,
  SETTING_NAMES,
  canonicalName,
  generateToken,
  isAsymmetric,
  snakeUpper,
  systemClock,
  type SettingName,
} from '../source/settings'
import { normalizeSetting, parseSeconds } from '../source/setting-values'
import { editDistance, suggestName } from '../source/core/suggest'

/** Runs `fn`, expects an InvalidConfiguration, and returns its message. */
function configurationError(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidConfiguration)
    expect((error as InvalidConfiguration).code).to.equal('ERR_JWT_INVALID_CONFIGURATION')
    return (error as Error).message
  }
  throw new Error('expected an InvalidConfiguration to be thrown')
}

describe('settings: tables', () => {
  it('lists every algorithm of the reference (§2.1 algorithm row)', () => {
    expect([...ALGORITHMS]).to.have.members([
      'HS256', 'HS384', 'HS512',
      'RS256', 'RS384', 'RS512',
      'ES256', 'ES384', 'ES512',
      'PS256', 'PS384', 'PS512',
    ])
    expect(ALGORITHMS).to.have.length(12)
  })

  it('maps the three aliases of reference §2.2 to their settings', () => {
    expect({ ...ALIASES }).to.deep.equal({
      cookieTokenName: 'cookieAccessTokenName',
      publicKey: 'secret',
      splitCookie: 'cookieSplit',
    })
    expect(Object.isFrozen(ALIASES)).to.equal(true)
  })

  it('gives every setting a kind and a default, and nothing else', () => {
    expect(Object.keys(KINDS)).to.have.members([...SETTING_NAMES])
    expect(Object.keys(DEFAULTS)).to.have.members([...SETTING_NAMES])
    expect(SETTING_NAMES).to.have.length(new Set(SETTING_NAMES).size)
  })

  it('keeps the defaults frozen', () => {
    expect(Object.isFrozen(DEFAULTS)).to.equal(true)
    expect(() => {
      ;(DEFAULTS as unknown as Record<string, unknown>).debug = true
    }).to.throw(TypeError)
    expect(DEFAULTS.debug).to.equal(false)
  })
})

describe('settings: generateToken()', () => {
  it('returns 48 hex characters by default (sanic-jwt generate_token)', () => {
    expect(generateToken()).to.match(/^[0-9a-f]{48}$/)
  })

  it('returns twice as many hex characters as bytes asked for', () => {
    expect(generateToken(8)).to.match(/^[0-9a-f]{16}$/)
  })

  it('returns a different token on every call', () => {
    const tokens = new Set(Array.from({ length: 20 }, () => generateToken()))
    expect(tokens.size).to.equal(20)
  })
})

describe('settings: systemClock()', () => {
  it('returns the current time in seconds', () => {
    const before = Date.now() / 1000
    const now = systemClock()
    const after = Date.now() / 1000
    expect(now).to.be.at.least(before).and.at.most(after)
  })
})

describe('settings: parseSeconds()', () => {
  const valid: [unknown, number][] = [
    [0, 0],
    [90, 90],
    [1.5, 1.5],
    ['90', 90],
    [' 90 ', 90],
    ['30s', 30],
    ['30 sec', 30],
    ['30 seconds', 30],
    ['15m', 900],
    ['15 min', 900],
    ['15 minutes', 900],
    ['2h', 7200],
    ['2 hrs', 7200],
    ['2 hours', 7200],
    ['1.5h', 5400],
    ['1d', 86400],
    ['2 days', 172800],
    ['1w', 604800],
    ['500ms', 0.5],
    ['2H', 7200],
    ['15M', 900],
  ]
  for (const [input, expected] of valid) {
    it(`reads ${inspect(input)} as ${expected} seconds`, () => {
      expect(parseSeconds(input)).to.equal(expected)
    })
  }

  const invalid: unknown[] = [
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '-5',
    '-5m',
    'abc',
    '',
    '15 parsecs',
    '1e3',
    'm',
    null,
    undefined,
    true,
    {},
    [],
  ]
  for (const input of invalid) {
    it(`refuses ${inspect(input)}`, () => {
      expect(parseSeconds(input)).to.equal(undefined)
    })
  }
})

describe('settings: normalizeSetting()', () => {
  describe('kind string', () => {
    it('keeps strings as given', () => {
      expect(normalizeSetting('accessTokenName', 'token')).to.equal('token')
      expect(normalizeSetting('cookieDomain', '')).to.equal('')
    })

    it('refuses other types, naming the setting in quotes', () => {
      const message = configurationError(() => normalizeSetting('accessTokenName', 5))
      expect(message).to.include('"accessTokenName"')
      expect(message).to.include('got 5')
    })

    it('keeps an empty environment string as an empty string', () => {
      expect(normalizeSetting('cookieDomain', '', true)).to.equal('')
    })
  })

  describe('kind name', () => {
    for (const name of ['accessTokenName', 'refreshTokenName', 'queryStringAccessTokenName', 'queryStringRefreshTokenName', 'scopesName', 'userId'] as const) {
      it(`refuses an empty ${name}: it could be neither sent nor read back`, () => {
        expect(normalizeSetting(name, 'x')).to.equal('x')
        expect(configurationError(() => normalizeSetting(name, ''))).to.include(`"${name}" setting must be a non-empty string`)
      })
    }
  })

  describe('kind prefix', () => {
    it('keeps a scheme word and the empty prefix', () => {
      expect(normalizeSetting('authorizationHeaderPrefix', 'JWT')).to.equal('JWT')
      expect(normalizeSetting('authorizationHeaderPrefix', '')).to.equal('')
    })

    it('reads null and false as the empty prefix, as sanic-jwt takes any falsy prefix', () => {
      expect(normalizeSetting('authorizationHeaderPrefix', null)).to.equal('')
      expect(normalizeSetting('authorizationHeaderRefreshPrefix', false)).to.equal('')
    })

    it('refuses a prefix holding white space: the header is split at it, so no header would match', () => {
      for (const value of ['Bearer ', ' Bearer', 'Be arer', 'Bearer\t']) {
        expect(configurationError(() => normalizeSetting('authorizationHeaderPrefix', value))).to.include('without white space')
      }
      expect(configurationError(() => normalizeSetting('authorizationHeaderPrefix', 5))).to.include('got 5')
    })
  })

  describe('kind cookieDomain', () => {
    it('reads null and false as no domain', () => {
      expect(normalizeSetting('cookieDomain', null)).to.equal('')
      expect(normalizeSetting('cookieDomain', false)).to.equal('')
    })
  })

  describe('kind path', () => {
    it('adds a missing leading slash', () => {
      expect(normalizeSetting('pathToRefresh', 'renew')).to.equal('/renew')
      expect(normalizeSetting('urlPrefix', 'api/auth', true)).to.equal('/api/auth')
    })

    it('keeps paths that start with a slash, and the empty path', () => {
      expect(normalizeSetting('pathToVerify', '/check')).to.equal('/check')
      expect(normalizeSetting('urlPrefix', '')).to.equal('')
    })

    it('refuses non-strings', () => {
      expect(configurationError(() => normalizeSetting('urlPrefix', 42))).to.include('"urlPrefix"')
    })
  })

  describe('kind boolean', () => {
    it('keeps booleans', () => {
      expect(normalizeSetting('debug', true)).to.equal(true)
      expect(normalizeSetting('debug', false)).to.equal(false)
    })

    it('refuses strings and numbers given as options', () => {
      for (const value of ['yes', 'true', '1', 1, 0, null]) {
        const message = configurationError(() => normalizeSetting('debug', value))
        expect(message).to.include('"debug"')
      }
    })

    const envValues: [string, boolean][] = [
      ['true', true],
      ['false', false],
      ['1', true],
      ['0', false],
      ['TRUE', true],
      [' False ', false],
      ['yes', true],
      ['no', false],
      ['on', true],
      ['off', false],
    ]
    for (const [text, expected] of envValues) {
      it(`reads the environment string ${JSON.stringify(text)} as ${expected}`, () => {
        expect(normalizeSetting('cookieSet', text, true)).to.equal(expected)
      })
    }

    it('refuses other environment strings', () => {
      expect(configurationError(() => normalizeSetting('debug', 'maybe', true))).to.include('"debug"')
      expect(configurationError(() => normalizeSetting('debug', '2', true))).to.include('"debug"')
    })
  })

  describe('kind seconds', () => {
    it('keeps numbers and converts spans', () => {
      expect(normalizeSetting('leeway', 30)).to.equal(30)
      expect(normalizeSetting('expirationDelta', '15m')).to.equal(900)
      expect(normalizeSetting('cookieMaxAge', '2h')).to.equal(7200)
    })

    it('converts environment strings to numbers', () => {
      expect(normalizeSetting('expirationDelta', '60', true)).to.equal(60)
      expect(normalizeSetting('claimNbfDelta', '1m', true)).to.equal(60)
    })

    it('refuses negative numbers and garbage, naming the setting', () => {
      for (const value of [-1, 'abc', '', true, null]) {
        const message = configurationError(() => normalizeSetting('expirationDelta', value))
        expect(message).to.include('"expirationDelta"')
      }
    })
  })

  describe('kind nullableString', () => {
    it('keeps strings and null, and reads undefined as null', () => {
      expect(normalizeSetting('claimIss', 'issuer')).to.equal('issuer')
      expect(normalizeSetting('claimIss', null)).to.equal(null)
      expect(normalizeSetting('claimIss', undefined)).to.equal(null)
    })

    it('reads an empty environment string as null', () => {
      expect(normalizeSetting('claimIss', '', true)).to.equal(null)
    })

    it('reads an empty string given as an option as null: no token would carry the claim it requires', () => {
      expect(normalizeSetting('claimIss', '')).to.equal(null)
    })

    it('refuses other types', () => {
      expect(configurationError(() => normalizeSetting('claimIss', 5))).to.include('"claimIss"')
    })
  })

  describe('kind audience', () => {
    it('keeps a string', () => {
      expect(normalizeSetting('claimAud', 'api')).to.equal('api')
      expect(normalizeSetting('claimAud', 'a,b')).to.equal('a,b')
    })

    it('copies a non-empty list of strings', () => {
      const list = ['a', 'b']
      const normalized = normalizeSetting('claimAud', list)
      expect(normalized).to.deep.equal(['a', 'b'])
      expect(normalized).to.not.equal(list)
    })

    it('keeps null and reads undefined as null', () => {
      expect(normalizeSetting('claimAud', null)).to.equal(null)
      expect(normalizeSetting('claimAud', undefined)).to.equal(null)
    })

    it('splits a comma-separated environment string and trims the parts', () => {
      expect(normalizeSetting('claimAud', 'a, b ,c', true)).to.deep.equal(['a', 'b', 'c'])
      expect(normalizeSetting('claimAud', 'api', true)).to.equal('api')
      expect(normalizeSetting('claimAud', '', true)).to.equal(null)
    })

    it('refuses numbers, empty lists and lists with non-strings', () => {
      for (const value of [5, [], ['a', 5], { aud: 'a' }, true]) {
        expect(configurationError(() => normalizeSetting('claimAud', value))).to.include('"claimAud"')
      }
    })
  })

  describe('kind algorithm', () => {
    for (const algorithm of ALGORITHMS) {
      it(`accepts ${algorithm}`, () => {
        expect(normalizeSetting('algorithm', algorithm)).to.equal(algorithm)
      })
    }

    it('refuses "none" and unknown names, naming the setting', () => {
      for (const value of ['none', 'HS1024', '', 256]) {
        const message = configurationError(() => normalizeSetting('algorithm', value))
        expect(message).to.include('"algorithm"')
      }
    })
  })

  describe('kind key', () => {
    it('keeps key text, Buffers, URLs, { path } objects and KeyObjects as given', () => {
      const buffer = Buffer.from('secret bytes')
      const url = new URL('file:///tmp/key.pem')
      const pathObject = { path: '/tmp/key.pem' }
      const keyObject = createSecretKey(Buffer.from('a secret key'))
      for (const value of ['text secret', buffer, url, pathObject, keyObject]) {
        expect(normalizeSetting('secret', value)).to.equal(value)
        expect(normalizeSetting('privateKey', value)).to.equal(value)
      }
    })

    it('reads null, undefined and an empty environment string as null', () => {
      expect(normalizeSetting('secret', null)).to.equal(null)
      expect(normalizeSetting('privateKey', undefined)).to.equal(null)
      expect(normalizeSetting('secret', '', true)).to.equal(null)
      expect(normalizeSetting('privateKey', '', true)).to.equal(null)
    })

    it('refuses other types without showing the value', () => {
      const numberMessage = configurationError(() => normalizeSetting('secret', 987654321))
      expect(numberMessage).to.include('"secret"')
      expect(numberMessage).to.include('number')
      expect(numberMessage).to.not.include('987654321')

      const objectMessage = configurationError(() =>
        normalizeSetting('privateKey', { pem: 'TOP-SECRET-PEM' }),
      )
      expect(objectMessage).to.include('"privateKey"')
      expect(objectMessage).to.not.include('TOP-SECRET-PEM')
    })
  })

  describe('kind function', () => {
    it('keeps functions', () => {
      const clock = (): number => 5
      expect(normalizeSetting('clock', clock)).to.equal(clock)
    })

    it('refuses other types', () => {
      expect(configurationError(() => normalizeSetting('clock', 5))).to.include('"clock"')
      expect(configurationError(() => normalizeSetting('generateRefreshToken', 'abc'))).to.include(
        '"generateRefreshToken"',
      )
    })
  })

  describe('kind samesite', () => {
    const values: [unknown, unknown][] = [
      ['Strict', 'Strict'],
      ['strict', 'Strict'],
      ['LAX', 'Lax'],
      ['none', 'None'],
      [null, null],
      [false, null],
    ]
    for (const [input, expected] of values) {
      it(`reads ${JSON.stringify(input)} as ${JSON.stringify(expected)}`, () => {
        expect(normalizeSetting('cookieSamesite', input)).to.equal(expected)
      })
    }

    it('reads an empty environment string as null', () => {
      expect(normalizeSetting('cookieSamesite', '', true)).to.equal(null)
    })

    it('refuses other values, naming the setting', () => {
      for (const value of ['sometimes', true, 1, '']) {
        const message = configurationError(() => normalizeSetting('cookieSamesite', value))
        expect(message).to.include('"cookieSamesite"')
      }
    })
  })

  describe('kind date', () => {
    it('keeps a Date', () => {
      const date = new Date('2030-01-01T00:00:00Z')
      expect(normalizeSetting('cookieExpires', date)).to.equal(date)
    })

    it('converts a timestamp in milliseconds and a date string', () => {
      const fromNumber = normalizeSetting('cookieExpires', 1_900_000_000_000) as Date
      expect(fromNumber).to.be.instanceOf(Date)
      expect(fromNumber.getTime()).to.equal(1_900_000_000_000)
      const fromString = normalizeSetting('cookieExpires', '2030-01-01T00:00:00Z', true) as Date
      expect(fromString).to.be.instanceOf(Date)
      expect(fromString.toISOString()).to.equal('2030-01-01T00:00:00.000Z')
    })

    it('reads null, undefined, false and an empty environment string as null', () => {
      expect(normalizeSetting('cookieExpires', null)).to.equal(null)
      expect(normalizeSetting('cookieExpires', undefined)).to.equal(null)
      expect(normalizeSetting('cookieExpires', false)).to.equal(null)
      expect(normalizeSetting('cookieExpires', '', true)).to.equal(null)
    })

    it('refuses invalid dates and other types', () => {
      for (const value of ['not a date', new Date('nope'), {}, true]) {
        const message = configurationError(() => normalizeSetting('cookieExpires', value))
        expect(message).to.include('"cookieExpires"')
      }
    })
  })

  describe('error messages', () => {
    it('cut long values to 40 characters', () => {
      const long = 'x'.repeat(100)
      const message = configurationError(() => normalizeSetting('algorithm', long))
      expect(message).to.include(`"${'x'.repeat(40)}..."`)
      expect(message).to.not.include('x'.repeat(41))
    })

    it('describe a function value without printing its source', () => {
      const message = configurationError(() =>
        normalizeSetting('debug', () => 'SOURCE-TEXT-OF-FUNCTION'),
      )
      expect(message).to.include('a function')
      expect(message).to.not.include('SOURCE-TEXT-OF-FUNCTION')
    })
  })
})

describe('settings: snakeUpper()', () => {
  const names: [string, string][] = [
    ['secret', 'SECRET'],
    ['expirationDelta', 'EXPIRATION_DELTA'],
    ['publicKey', 'PUBLIC_KEY'],
    ['splitCookie', 'SPLIT_COOKIE'],
    ['cookieHttponly', 'COOKIE_HTTPONLY'],
    ['claimNbfDelta', 'CLAIM_NBF_DELTA'],
    ['queryStringAccessTokenName', 'QUERY_STRING_ACCESS_TOKEN_NAME'],
  ]
  for (const [name, expected] of names) {
    it(`turns ${name} into ${expected}`, () => {
      expect(snakeUpper(name)).to.equal(expected)
    })
  }
})

describe('settings: editDistance()', () => {
  const pairs: [string, string, number][] = [
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['secret', 'secret', 0],
    ['secet', 'secret', 1],
    ['kitten', 'sitting', 3],
    ['flaw', 'lawn', 2],
    ['expirationDelat', 'expirationDelta', 2],
  ]
  for (const [a, b, distance] of pairs) {
    it(`is ${distance} between ${JSON.stringify(a)} and ${JSON.stringify(b)}`, () => {
      expect(editDistance(a, b)).to.equal(distance)
      expect(editDistance(b, a)).to.equal(distance)
    })
  }

  it('ignores case', () => {
    expect(editDistance('SECRET', 'secret')).to.equal(0)
    expect(editDistance('UrlPrefix', 'urlprefix')).to.equal(0)
  })
})

describe('settings: suggestName()', () => {
  const known = [...SETTING_NAMES, ...Object.keys(ALIASES)]

  it('suggests the closest name for a typo', () => {
    expect(suggestName('secet', known)).to.equal('secret')
    expect(suggestName('expirationDelat', known)).to.equal('expirationDelta')
    expect(suggestName('Secret', known)).to.equal('secret')
    expect(suggestName('splitCookies', known)).to.equal('splitCookie')
  })

  it('suggests nothing for a name far from every known name', () => {
    expect(suggestName('completelyUnrelatedThing', known)).to.equal(undefined)
    expect(suggestName('zzz', known)).to.equal(undefined)
  })

  it('suggests nothing when no names are known', () => {
    expect(suggestName('secret', [])).to.equal(undefined)
  })

  it('allows two edits for short names and a quarter of the length for long ones', () => {
    expect(suggestName('abcdefXY', ['abcdefgh'])).to.equal('abcdefgh')
    expect(suggestName('abcdeXYZ', ['abcdefgh'])).to.equal(undefined)
    expect(suggestName('abcdefghiXYZ', ['abcdefghijkl'])).to.equal('abcdefghijkl')
    expect(suggestName('abcdefghWXYZ', ['abcdefghijkl'])).to.equal(undefined)
  })
})

describe('settings: isAsymmetric()', () => {
  for (const algorithm of ALGORITHMS) {
    const expected = !algorithm.startsWith('HS')
    it(`is ${expected} for ${algorithm}`, () => {
      expect(isAsymmetric(algorithm)).to.equal(expected)
    })
  }

  it('ignores case', () => {
    expect(isAsymmetric('rs256')).to.equal(true)
    expect(isAsymmetric('es384')).to.equal(true)
    expect(isAsymmetric('ps512')).to.equal(true)
    expect(isAsymmetric('hs256')).to.equal(false)
  })
})

describe('settings: canonicalName()', () => {
  it('returns every setting name unchanged', () => {
    for (const name of SETTING_NAMES) expect(canonicalName(name)).to.equal(name)
  })

  it('maps alias names to their settings', () => {
    const expected: [string, SettingName][] = [
      ['publicKey', 'secret'],
      ['cookieTokenName', 'cookieAccessTokenName'],
      ['splitCookie', 'cookieSplit'],
    ]
    for (const [alias, name] of expected) expect(canonicalName(alias)).to.equal(name)
  })

  it('returns undefined for unknown names, other cases and Object.prototype members', () => {
    const names = ['nope', 'Secret', 'SECRET', 'blueprintName', 'toString', 'constructor', '__proto__', '']
    for (const name of names) {
      expect(canonicalName(name), name).to.equal(undefined)
    }
  })
})
