import { expect } from 'chai'

import {
  InvalidAuthorizationHeader,
  InvalidToken,
  MissingAuthorizationCookie,
  MissingAuthorizationHeader,
  MissingAuthorizationQueryArg,
} from '../../source'
import {
  extractToken,
  hasWhitespace,
  headerToken,
  headerTokenUnchecked,
  parseAuthorizationHeader,
  type ExtractionSettings,
  type TokenSource,
} from '../../source/core/token-extractors'
import { caughtSync } from '../helpers/token-core'

interface FakeRequest {
  headers?: Record<string, string | string[]>
  cookies?: Record<string, string>
  query?: Record<string, string | string[]>
  body?: unknown
}

/** A TokenSource over plain objects that records what was looked at. */
function fakeSource(request: FakeRequest = {}): TokenSource & { reads: string[] } {
  const reads: string[] = []
  return {
    reads,
    header(name) {
      reads.push(`header:${name}`)
      return request.headers?.[name.toLowerCase()]
    },
    cookie(name) {
      reads.push(`cookie:${name}`)
      return request.cookies?.[name]
    },
    query(name) {
      reads.push(`query:${name}`)
      return request.query?.[name]
    },
    body() {
      reads.push('body')
      return request.body
    },
  }
}

/** The settings the Authentication builds from the defaults (access token). */
function settings(overrides: Partial<ExtractionSettings> = {}): ExtractionSettings {
  return {
    cookieSet: false,
    cookieStrict: true,
    cookieSplit: false,
    cookieName: 'access_token',
    cookieSignatureName: 'access_token_signature',
    queryStringSet: false,
    queryStringStrict: true,
    queryName: 'access_token',
    headerName: 'authorization',
    headerPrefix: 'Bearer',
    refresh: false,
    refreshBodyName: 'refresh_token',
    ...overrides,
  }
}

/** The refresh-token settings (what Authentication passes with `{ refresh: true }`). */
function refreshSettings(overrides: Partial<ExtractionSettings> = {}): ExtractionSettings {
  return settings({ refresh: true, cookieName: 'refresh_token', queryName: 'refresh_token', ...overrides })
}

function extract(request: FakeRequest, overrides: Partial<ExtractionSettings> = {}): string {
  return extractToken(fakeSource(request), settings(overrides))
}

function extractError(request: FakeRequest, overrides: Partial<ExtractionSettings> = {}): Error {
  return caughtSync(() => extract(request, overrides))
}

const ALL = {
  headers: { authorization: 'Bearer from-header' },
  cookies: { access_token: 'from-cookie' },
  query: { access_token: 'from-query' },
}

const BLANKS = ['', ' ', '   ', '\t']

describe('core/token-extractors: extractToken()', () => {
  describe('order (reference §4.7)', () => {
    it('reads only the header by default', () => {
      const source = fakeSource(ALL)
      expect(extractToken(source, settings())).to.equal('from-header')
      expect(source.reads).to.deep.equal(['header:authorization'])
    })

    it('reads the cookie first in cookie mode', () => {
      expect(extract(ALL, { cookieSet: true, queryStringSet: true })).to.equal('from-cookie')
    })

    it('reads the query string before the header in query mode', () => {
      expect(extract(ALL, { queryStringSet: true })).to.equal('from-query')
    })

    it('falls back from cookie to query to header when neither is strict', () => {
      const lax = { cookieSet: true, cookieStrict: false, queryStringSet: true, queryStringStrict: false }
      expect(extract({ headers: ALL.headers, query: ALL.query }, lax)).to.equal('from-query')
      expect(extract({ headers: ALL.headers }, lax)).to.equal('from-header')
      const source = fakeSource({})
      const error = caughtSync(() => extractToken(source, settings(lax)))
      expect(error).to.be.instanceOf(MissingAuthorizationHeader)
      expect(source.reads).to.deep.equal([
        'cookie:access_token',
        'query:access_token',
        'header:authorization',
      ])
    })

    it('throws MissingAuthorizationCookie without looking further when the cookie is strict', () => {
      const source = fakeSource({ headers: ALL.headers, query: ALL.query })
      const mode = settings({ cookieSet: true, queryStringSet: true })
      const error = caughtSync(() => extractToken(source, mode))
      expect(error).to.be.instanceOf(MissingAuthorizationCookie)
      expect(source.reads).to.deep.equal(['cookie:access_token'])
    })

    it('throws MissingAuthorizationQueryArg without reading the header when the query is strict', () => {
      const source = fakeSource({ headers: ALL.headers })
      const error = caughtSync(() => extractToken(source, settings({ queryStringSet: true })))
      expect(error).to.be.instanceOf(MissingAuthorizationQueryArg)
      expect(source.reads).to.deep.equal(['query:access_token'])
    })

    it('throws MissingAuthorizationQueryArg after a lax cookie when the query is strict', () => {
      const error = extractError(
        { headers: ALL.headers },
        { cookieSet: true, cookieStrict: false, queryStringSet: true },
      )
      expect(error).to.be.instanceOf(MissingAuthorizationQueryArg)
    })

    it('throws MissingAuthorizationHeader when there is no header', () => {
      expect(extractError({})).to.be.instanceOf(MissingAuthorizationHeader)
    })

    it('reads the configured names', () => {
      const source = fakeSource({
        headers: { 'x-token': 'JWT from-header' },
        cookies: { jwt: 'from-cookie' },
        query: { t: 'from-query' },
      })
      const names = {
        headerName: 'X-Token',
        headerPrefix: 'JWT',
        cookieName: 'jwt',
        queryName: 't',
      }
      expect(extractToken(source, settings(names))).to.equal('from-header')
      expect(extractToken(source, settings({ ...names, queryStringSet: true }))).to.equal('from-query')
      expect(extractToken(source, settings({ ...names, cookieSet: true }))).to.equal('from-cookie')
    })
  })

  describe('blank tokens count as missing (sanic-jwt #143)', () => {
    for (const blank of BLANKS) {
      const shown = JSON.stringify(blank)

      it(`treats the cookie ${shown} as missing`, () => {
        expect(extractError({ cookies: { access_token: blank } }, { cookieSet: true })).to.be.instanceOf(
          MissingAuthorizationCookie,
        )
        const request = { cookies: { access_token: blank }, headers: ALL.headers }
        expect(extract(request, { cookieSet: true, cookieStrict: false })).to.equal('from-header')
      })

      it(`treats the query value ${shown} as missing`, () => {
        expect(extractError({ query: { access_token: blank } }, { queryStringSet: true })).to.be.instanceOf(
          MissingAuthorizationQueryArg,
        )
        const request = { query: { access_token: blank }, headers: ALL.headers }
        expect(extract(request, { queryStringSet: true, queryStringStrict: false })).to.equal(
          'from-header',
        )
      })

      it(`treats "Bearer${blank}" as a missing header token`, () => {
        expect(extractError({ headers: { authorization: `Bearer${blank}` } })).to.be.instanceOf(
          MissingAuthorizationHeader,
        )
      })

      it(`treats the header value ${shown} as missing`, () => {
        const error = extractError({ headers: { authorization: blank } })
        expect(error).to.be.instanceOf(MissingAuthorizationHeader)
      })

      it(`treats the header value ${shown} as missing with an empty prefix`, () => {
        expect(extractError({ headers: { authorization: blank } }, { headerPrefix: '' })).to.be.instanceOf(
          MissingAuthorizationHeader,
        )
      })
    }

    it('never returns an empty token from any source', () => {
      const modes: Partial<ExtractionSettings>[] = [
        {},
        { cookieSet: true, cookieStrict: false, queryStringSet: true, queryStringStrict: false },
        { headerPrefix: '' },
      ]
      for (const mode of modes) {
        for (const blank of BLANKS) {
          const request = {
            headers: { authorization: mode.headerPrefix === '' ? blank : `Bearer ${blank}` },
            cookies: { access_token: blank, access_token_signature: blank },
            query: { access_token: blank },
          }
          let token: string | undefined
          try {
            token = extract(request, mode)
          } catch {
            token = undefined
          }
          expect(token, JSON.stringify(mode)).to.equal(undefined)
        }
      }
    })
  })

  describe('split cookies', () => {
    const split = { cookieSet: true, cookieSplit: true }

    it('reassembles header.payload and the signature cookie', () => {
      const cookies = { access_token: 'aaa.bbb', access_token_signature: 'ccc' }
      expect(extract({ cookies }, split)).to.equal('aaa.bbb.ccc')
    })

    it('uses the configured signature cookie name', () => {
      const cookies = { access_token: 'aaa.bbb', sig: 'ccc', access_token_signature: 'zzz' }
      expect(extract({ cookies }, { ...split, cookieSignatureName: 'sig' })).to.equal('aaa.bbb.ccc')
    })

    for (const [label, cookies] of [
      ['the signature cookie is absent', { access_token: 'aaa.bbb' }],
      ['the signature cookie is empty', { access_token: 'aaa.bbb', access_token_signature: '' }],
      ['the signature cookie is blank', { access_token: 'aaa.bbb', access_token_signature: '  ' }],
      ['the header.payload cookie is absent', { access_token_signature: 'ccc' }],
      ['the header.payload cookie is empty', { access_token: '', access_token_signature: 'ccc' }],
    ] as const) {
      it(`treats the token as missing when ${label}`, () => {
        expect(extractError({ cookies }, split)).to.be.instanceOf(MissingAuthorizationCookie)
        expect(extract({ cookies, headers: ALL.headers }, { ...split, cookieStrict: false })).to.equal(
          'from-header',
        )
      })
    }

    it('does not split the refresh cookie', () => {
      const cookies = { refresh_token: 'opaque-refresh', access_token_signature: 'ccc' }
      expect(extractToken(fakeSource({ cookies }), refreshSettings(split))).to.equal('opaque-refresh')
    })
  })

  describe('query string', () => {
    it('throws InvalidToken (a decode failure) for a repeated parameter, even when not strict', () => {
      for (const mode of [{ queryStringSet: true }, { queryStringSet: true, queryStringStrict: false }]) {
        const error = extractError(
          { query: { access_token: ['a', 'b'] }, headers: ALL.headers },
          mode,
        )
        expect(error).to.be.instanceOf(InvalidToken)
        expect((error as InvalidToken).status).to.equal(401)
        expect((error as InvalidToken).code).to.equal('ERR_JWT_MALFORMED')
      }
    })

    it('throws InvalidToken for a parameter repeated with the same value or a blank value', () => {
      for (const values of [['a', 'a'], ['', 'a'], ['', '']]) {
        expect(extractError({ query: { access_token: values } }, { queryStringSet: true })).to.be.instanceOf(
          InvalidToken,
        )
      }
    })

    it('throws InvalidToken for a repeated refresh parameter', () => {
      const source = fakeSource({ query: { refresh_token: ['a', 'b'] } })
      expect(caughtSync(() => extractToken(source, refreshSettings({ queryStringSet: true })))).to.be.instanceOf(
        InvalidToken,
      )
    })
  })

  describe('header', () => {
    it('throws InvalidAuthorizationHeader for a repeated header', () => {
      expect(extractError({ headers: { authorization: ['Bearer a', 'Bearer b'] } })).to.be.instanceOf(
        InvalidAuthorizationHeader,
      )
    })

    it('throws InvalidAuthorizationHeader for another scheme', () => {
      expect(extractError({ headers: { authorization: 'Basic dXNlcjpwYXNz' } })).to.be.instanceOf(
        InvalidAuthorizationHeader,
      )
    })
  })

  describe('refresh tokens', () => {
    it('reads the refresh cookie in cookie mode', () => {
      const cookies = { refresh_token: 'r-cookie', access_token: 'a-cookie' }
      expect(extractToken(fakeSource({ cookies }), refreshSettings({ cookieSet: true }))).to.equal('r-cookie')
    })

    it('throws MissingAuthorizationCookie in strict cookie mode without the refresh cookie', () => {
      const source = fakeSource({ cookies: { access_token: 'a' }, body: { refresh_token: 'r-body' } })
      expect(caughtSync(() => extractToken(source, refreshSettings({ cookieSet: true })))).to.be.instanceOf(
        MissingAuthorizationCookie,
      )
    })

    it('reads the refresh query parameter in query mode', () => {
      const source = fakeSource({ query: { refresh_token: 'r-query', access_token: 'a' } })
      expect(extractToken(source, refreshSettings({ queryStringSet: true }))).to.equal('r-query')
    })

    it('reads the JSON body in header mode, never the Authorization header', () => {
      const source = fakeSource({
        headers: { authorization: 'Bearer access' },
        body: { refresh_token: 'r-body' },
      })
      expect(extractToken(source, refreshSettings())).to.equal('r-body')
      expect(source.reads).to.deep.equal(['body'])
    })

    it('reads the configured body key', () => {
      const source = fakeSource({ body: { refresh_token: 'wrong', rt: 'r-body' } })
      expect(extractToken(source, refreshSettings({ refreshBodyName: 'rt' }))).to.equal('r-body')
    })

    it('falls back from lax cookie and query to the body', () => {
      const lax = { cookieSet: true, cookieStrict: false, queryStringSet: true, queryStringStrict: false }
      const source = fakeSource({ body: { refresh_token: 'r-body' } })
      expect(extractToken(source, refreshSettings(lax))).to.equal('r-body')
    })

    for (const [label, body] of [
      ['there is no body', undefined],
      ['the body is null', null],
      ['the body is a string', 'refresh_token=abc'],
      ['the body is a list', ['abc']],
      ['the key is absent', { other: 'abc' }],
      ['the value is empty', { refresh_token: '' }],
      ['the value is blank', { refresh_token: '   ' }],
      ['the value is a number', { refresh_token: 12345 }],
      ['the value is a list', { refresh_token: ['abc'] }],
      ['the value is an object', { refresh_token: { token: 'abc' } }],
    ] as const) {
      it(`throws MissingAuthorizationHeader in header mode when ${label}`, () => {
        const source = fakeSource({ headers: { authorization: 'Bearer access' }, body })
        expect(caughtSync(() => extractToken(source, refreshSettings()))).to.be.instanceOf(
          MissingAuthorizationHeader,
        )
      })
    }
  })
})

describe('core/token-extractors: parseAuthorizationHeader()', () => {
  const valid: [string, string, string][] = [
    ['Bearer abc.def.ghi', 'Bearer', 'abc.def.ghi'],
    ['bearer abc', 'Bearer', 'abc'],
    ['BEARER abc', 'Bearer', 'abc'],
    ['BeArEr abc', 'Bearer', 'abc'],
    ['Bearer abc', 'bearer', 'abc'],
    ['Bearer   abc', 'Bearer', 'abc'],
    ['Bearer\tabc', 'Bearer', 'abc'],
    ['Bearer \t abc', 'Bearer', 'abc'],
    ['  Bearer abc  ', 'Bearer', 'abc'],
    ['Bearer abc\t', 'Bearer', 'abc'],
    ['JWT abc', 'JWT', 'abc'],
    ['Token abc', 'Token', 'abc'],
    ['abc', '', 'abc'],
    ['  abc  ', '', 'abc'],
  ]
  for (const [header, prefix, token] of valid) {
    it(`reads ${JSON.stringify(token)} from ${JSON.stringify(header)} with prefix ${JSON.stringify(prefix)}`, () => {
      expect(parseAuthorizationHeader(header, prefix)).to.equal(token)
    })
  }

  it('returns the whole value with an empty prefix', () => {
    expect(parseAuthorizationHeader('Bearer abc', '')).to.equal('Bearer abc')
  })

  const missing: [string, string][] = [
    ['Bearer', 'Bearer'],
    ['bearer', 'Bearer'],
    ['Bearer ', 'Bearer'],
    ['Bearer    ', 'Bearer'],
    ['Bearer\t', 'Bearer'],
    ['', ''],
    ['   ', ''],
  ]
  for (const [header, prefix] of missing) {
    it(`returns undefined (missing) for ${JSON.stringify(header)} with prefix ${JSON.stringify(prefix)} (sanic-jwt #143)`, () => {
      expect(parseAuthorizationHeader(header, prefix)).to.equal(undefined)
    })
  }

  for (const header of ['', '   ']) {
    it(`returns undefined (missing) for the header value ${JSON.stringify(header)} with a prefix (sanic-jwt #143)`, () => {
      expect(parseAuthorizationHeader(header, 'Bearer')).to.equal(undefined)
    })
  }

  const invalid: [string, string][] = [
    ['Bearerabc', 'Bearer'],
    ['Bearer-abc', 'Bearer'],
    ['Bearer.abc', 'Bearer'],
    ['Basic abc', 'Bearer'],
    ['Bear abc', 'Bearer'],
    ['abc', 'Bearer'],
    ['Bearer a b', 'Bearer'],
    ['Bearer a\tb', 'Bearer'],
    ['Bearer abc def', 'Bearer'],
    ['Bearer Bearer abc', 'Bearer'],
    ['Bearer\u00a0abc', 'Bearer'],
    ['Bearer a\u00a0b', 'Bearer'],
    ['Token abc', 'Bearer'],
    ['Bearer abc', 'Token'],
  ]
  for (const [header, prefix] of invalid) {
    it(`throws InvalidAuthorizationHeader for ${JSON.stringify(header)} with prefix ${JSON.stringify(prefix)}`, () => {
      const error = caughtSync(() => parseAuthorizationHeader(header, prefix))
      expect(error).to.be.instanceOf(InvalidAuthorizationHeader)
      expect(error.status).to.equal(400)
      expect(error.code).to.equal('ERR_JWT_INVALID_HEADER')
    })
  }
})

describe('core/token-extractors: headerTokenUnchecked(), headerToken() (the request path)', () => {
  const values: [string, string][] = [
    ['Bearer abc.def.ghi', 'Bearer'],
    ['bearer abc', 'Bearer'],
    ['Bearer \t abc', 'Bearer'],
    ['  Bearer abc  ', 'Bearer'],
    ['Bearer', 'Bearer'],
    ['Bearer    ', 'Bearer'],
    ['', 'Bearer'],
    ['Bearer abc', ''],
    ['abc', ''],
    ['Bearerabc', 'Bearer'],
    ['Basic abc', 'Bearer'],
    ['Bearer a b', 'Bearer'],
    ['Bearer a\tb', 'Bearer'],
    ['Bearer a\u00a0b', 'Bearer'],
    ['Bearer a\u2028b', 'Bearer'],
    ['Bearer a\ufeffb', 'Bearer'],
  ]
  for (const [value, prefix] of values) {
    it(`agrees with parseAuthorizationHeader() on ${JSON.stringify(value)} once the whitespace check is added back`, () => {
      const full = caughtOrValue(() => parseAuthorizationHeader(value, prefix))
      const partial = caughtOrValue(() => headerTokenUnchecked(value, prefix))
      if (full instanceof InvalidAuthorizationHeader && typeof partial === 'string') {
        // The only difference allowed: a token the full parse refuses for its whitespace alone.
        expect(prefix).to.not.equal('')
        expect(hasWhitespace(partial)).to.equal(true)
      } else {
        expect(partial).to.deep.equal(full)
      }
    })
  }

  it('headerToken() throws MissingAuthorizationHeader for no value or an empty token', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer  ']) {
      expect(caughtSync(() => headerToken(header, 'Bearer', false))).to.be.instanceOf(MissingAuthorizationHeader)
      expect(caughtSync(() => headerToken(header, 'Bearer'))).to.be.instanceOf(MissingAuthorizationHeader)
    }
  })

  it('headerToken() throws InvalidAuthorizationHeader for a repeated header, and checks whitespace only when asked', () => {
    expect(caughtSync(() => headerToken(['Bearer a', 'Bearer b'], 'Bearer', false))).to.be.instanceOf(
      InvalidAuthorizationHeader,
    )
    expect(caughtSync(() => headerToken('Bearer a b', 'Bearer'))).to.be.instanceOf(InvalidAuthorizationHeader)
    expect(headerToken('Bearer a b', 'Bearer', false)).to.equal('a b')
  })
})

function caughtOrValue(fn: () => string | undefined): unknown {
  try {
    return fn()
  } catch (error) {
    return error
  }
}
