/**
 * The settings table: every setting's default, its kind (which drives validation and the
 * conversion of environment presets) and the aliases. This is the only place defaults are written.
 *
 * @module
 */
import { randomBytes, type KeyObject } from 'node:crypto'

import { InvalidConfiguration } from './errors'

/** Algorithms accepted for signing and verification. */
export const ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
] as const

/** A supported JWT algorithm. */
export type Algorithm = (typeof ALGORITHMS)[number]

/** Key material: PEM or secret text, a path to a file, a `URL` or `{ path }` naming a file, a Buffer, or a `KeyObject`. */
export type KeyInput = string | Buffer | KeyObject | URL | { readonly path: string }

/** The `SameSite` cookie attribute; `null` or `false` leaves it out. */
export type SameSite = 'Strict' | 'Lax' | 'None' | 'strict' | 'lax' | 'none' | null | false

/** Default refresh token generator: 24 random bytes as 48 hex characters (sanic-jwt's `generate_token`). */
export function generateToken(bytes = 24): string {
  return randomBytes(bytes).toString('hex')
}

/** Default clock: the current time in seconds. */
export function systemClock(): number {
  return Date.now() / 1000
}

/** Every setting, with its resolved type. */
export interface Settings {
  /** JSON key of the access token in the `/auth` and `/refresh` output. @default 'access_token' */
  accessTokenName: string
  /** Algorithm used to sign, and the only one accepted when verifying. @default 'HS256' */
  algorithm: Algorithm
  /** When false, no endpoints are mounted and no `authenticate` is needed (verify-only service). @default true */
  authMode: boolean
  /** Request header carrying the access token (case-insensitive). @default 'authorization' */
  authorizationHeader: string
  /** Scheme before the token in the header; `''` means the whole value is the token. @default 'Bearer' */
  authorizationHeaderPrefix: string
  /** Reserved (as in sanic-jwt). @default 'Refresh' */
  authorizationHeaderRefreshPrefix: string
  /** When set, tokens get this `aud` and must carry it; when null, a token carrying `aud` is refused. @default null */
  claimAud: string | string[] | null
  /** Adds `iat` (issued at) to tokens. @default false */
  claimIat: boolean
  /** When set, tokens get this `iss` and must carry it. @default null */
  claimIss: string | null
  /** Adds `nbf` = now + leeway + `claimNbfDelta`. @default false */
  claimNbf: boolean
  /** Seconds added to `nbf`. @default 0 */
  claimNbfDelta: number
  /** Name of the access-token cookie (alias `cookieTokenName`). @default 'access_token' */
  cookieAccessTokenName: string
  /** `Domain` attribute of token cookies, when not empty. @default '' */
  cookieDomain: string
  /** `Expires` attribute of token cookies, when set. @default null */
  cookieExpires: Date | null
  /** `HttpOnly` flag of token cookies. @default true */
  cookieHttponly: boolean
  /** `Max-Age` attribute of token cookies in seconds, when not 0. @default 0 */
  cookieMaxAge: number
  /** `Path` attribute of token cookies. @default '/' */
  cookiePath: string
  /** Name of the refresh-token cookie. @default 'refresh_token' */
  cookieRefreshTokenName: string
  /** `SameSite` attribute of token cookies; null leaves it out. @default 'Lax' */
  cookieSamesite: SameSite
  /** `Secure` flag of token cookies. @default false */
  cookieSecure: boolean
  /** `/auth` and `/refresh` set cookies, and tokens are read from cookies first. @default false */
  cookieSet: boolean
  /** Split the access cookie into a readable `header.payload` cookie and an HttpOnly signature cookie (alias `splitCookie`). @default false */
  cookieSplit: boolean
  /** Name of the signature cookie in split mode. @default 'access_token_signature' */
  cookieSplitSignatureName: string
  /** In cookie mode, a missing cookie is an error instead of falling back to query string and header. @default true */
  cookieStrict: boolean
  /** Detailed failure reasons and 400 statuses (reference §3.3). @default false */
  debug: boolean
  /** When false, `protected()` lets every request through. @default true */
  doProtection: boolean
  /** Access-token lifetime in seconds (a number or a span such as '30m'). @default 1800 */
  expirationDelta: number
  /** Zero-argument function (sync or async) returning a new refresh token. @default 48 random hex characters */
  generateRefreshToken: () => string | Promise<string>
  /** Clock-skew tolerance in seconds for `exp`, `nbf` and `iat`; also added into `nbf`. @default 180 */
  leeway: number
  /** Redirect target for `redirectOnFail` when no `redirectUrl` is given. @default '/index.html' */
  loginRedirectUrl: string
  /** Path of the login endpoint under `urlPrefix`. @default '/' */
  pathToAuthenticate: string
  /** Path of the refresh endpoint under `urlPrefix`. @default '/refresh' */
  pathToRefresh: string
  /** Path of the me endpoint under `urlPrefix`. @default '/me' */
  pathToRetrieveUser: string
  /** Path of the verify endpoint under `urlPrefix`. @default '/verify' */
  pathToVerify: string
  /** Signing key for RS/ES/PS algorithms. @default null */
  privateKey: KeyInput | null
  /** Query parameter carrying the access token. @default 'access_token' */
  queryStringAccessTokenName: string
  /** Query parameter carrying the refresh token. @default 'refresh_token' */
  queryStringRefreshTokenName: string
  /** Read tokens from the query string (after cookies, before the header). @default false */
  queryStringSet: boolean
  /** In query-string mode, a missing parameter is an error instead of falling back to the header. @default true */
  queryStringStrict: boolean
  /** Issue refresh tokens on `/auth` and mount `/refresh`. Turned on by refresh handlers. @default false */
  refreshTokenEnabled: boolean
  /** JSON key of the refresh token in `/auth` output and in the `/refresh` body. @default 'refresh_token' */
  refreshTokenName: string
  /** Put scopes into tokens through `addScopesToPayload`. Turned on by that handler. @default false */
  scopesEnabled: boolean
  /** Payload key of the scopes. @default 'scopes' */
  scopesName: string
  /** HMAC secret, or the public key for RS/ES/PS (alias `publicKey`). Required: there is no default. @default null */
  secret: KeyInput | null
  /** Trailing slashes matter on `classViews` routes. @default false */
  strictSlashes: boolean
  /** Prefix of the built-in endpoints. @default '/auth' */
  urlPrefix: string
  /** Key of the user id in user objects and in the payload. @default 'user_id' */
  userId: string
  /** Per-user secrets through `retrieveUserSecret`. Turned on by that handler. @default false */
  userSecretEnabled: boolean
  /** Check `exp` (and require it). The refresh endpoint turns it off for its own request. @default true */
  verifyExp: boolean
  /** Current time in seconds, used for signing and verification. @default () => Date.now() / 1000 */
  clock: () => number
}

/** A setting's name. */
export type SettingName = keyof Settings

/** Alias names and the settings they stand for. */
export const ALIASES = Object.freeze({
  cookieTokenName: 'cookieAccessTokenName',
  publicKey: 'secret',
  splitCookie: 'cookieSplit',
} as const)

/** An alias name. */
export type AliasName = keyof typeof ALIASES

/** What a setting may be given as (before validation and normalisation). */
export type SettingsInput = {
  [K in SettingName]: K extends
    | 'expirationDelta'
    | 'leeway'
    | 'claimNbfDelta'
    | 'cookieMaxAge'
    ? number | string
    : K extends 'cookieExpires'
      ? Date | number | string | null
      : Settings[K]
} & { [A in AliasName]: Settings[(typeof ALIASES)[A]] }

type Kind =
  | 'string'
  | 'boolean'
  | 'seconds'
  | 'name'
  | 'prefix'
  | 'nullableString'
  | 'audience'
  | 'algorithm'
  | 'key'
  | 'function'
  | 'samesite'
  | 'date'
  | 'path'
  | 'token'
  | 'cookieDomain'
  | 'cookiePath'

/** @internal */
export const KINDS: { readonly [K in SettingName]: Kind } = Object.freeze({
  accessTokenName: 'name',
  algorithm: 'algorithm',
  authMode: 'boolean',
  authorizationHeader: 'token',
  authorizationHeaderPrefix: 'prefix',
  authorizationHeaderRefreshPrefix: 'prefix',
  claimAud: 'audience',
  claimIat: 'boolean',
  claimIss: 'nullableString',
  claimNbf: 'boolean',
  claimNbfDelta: 'seconds',
  cookieAccessTokenName: 'token',
  cookieDomain: 'cookieDomain',
  cookieExpires: 'date',
  cookieHttponly: 'boolean',
  cookieMaxAge: 'seconds',
  cookiePath: 'cookiePath',
  cookieRefreshTokenName: 'token',
  cookieSamesite: 'samesite',
  cookieSecure: 'boolean',
  cookieSet: 'boolean',
  cookieSplit: 'boolean',
  cookieSplitSignatureName: 'token',
  cookieStrict: 'boolean',
  debug: 'boolean',
  doProtection: 'boolean',
  expirationDelta: 'seconds',
  generateRefreshToken: 'function',
  leeway: 'seconds',
  loginRedirectUrl: 'string',
  pathToAuthenticate: 'path',
  pathToRefresh: 'path',
  pathToRetrieveUser: 'path',
  pathToVerify: 'path',
  privateKey: 'key',
  queryStringAccessTokenName: 'name',
  queryStringRefreshTokenName: 'name',
  queryStringSet: 'boolean',
  queryStringStrict: 'boolean',
  refreshTokenEnabled: 'boolean',
  refreshTokenName: 'name',
  scopesEnabled: 'boolean',
  scopesName: 'name',
  secret: 'key',
  strictSlashes: 'boolean',
  urlPrefix: 'path',
  userId: 'name',
  userSecretEnabled: 'boolean',
  verifyExp: 'boolean',
  clock: 'function',
})

/** The default value of every setting (frozen). */
export const DEFAULTS: Readonly<Settings> = Object.freeze({
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
  expirationDelta: 60 * 5 * 6,
  generateRefreshToken: () => generateToken(),
  leeway: 60 * 3,
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
  clock: systemClock,
})

/** Every setting name, in table order. */
export const SETTING_NAMES = Object.freeze(Object.keys(KINDS) as SettingName[])

const CANONICAL: Readonly<Record<string, SettingName>> = Object.freeze(
  Object.assign(
    Object.create(null) as Record<string, SettingName>,
    Object.fromEntries(SETTING_NAMES.map((name) => [name, name])),
    ALIASES,
  ),
)

/** The canonical setting name for a setting or alias name, or undefined. @internal */
export function canonicalName(name: string): SettingName | undefined {
  return CANONICAL[name]
}

/** `camelCase` → `CAMEL_CASE`. @internal */
export function snakeUpper(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()
}

const SPAN = /^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|weeks?)?\s*$/i
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/** Parses seconds given as a number or a span such as '90', '15m', '2h', '1d'. @internal */
export function parseSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const match = SPAN.exec(value)
  if (!match) return undefined
  const amount = Number(match[1])
  const unit = (match[2] ?? 's').toLowerCase()
  const factor = unit === 'ms' ? UNIT_SECONDS.ms : UNIT_SECONDS[unit[0] as string]
  if (factor === undefined || amount < 0) return undefined
  return amount * factor
}

function fail(name: string, expected: string, value: unknown, secretive: boolean): never {
  const shown = secretive
    ? typeof value
    : typeof value === 'string'
      ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)
      : typeof value === 'function'
        ? 'a function'
        : String(value)
  throw new InvalidConfiguration(`the "${name}" setting must be ${expected} (got ${shown}).`)
}

/** True for the values a key setting (or `retrieveUserSecret`) may hold. @internal */
export function isKeyInput(value: unknown): boolean {
  if (typeof value === 'string' || Buffer.isBuffer(value) || value instanceof URL) return true
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as { type?: unknown; export?: unknown; path?: unknown }
  if (typeof candidate.export === 'function' && typeof candidate.type === 'string') return true
  return typeof candidate.path === 'string'
}

/**
 * Validates and normalises one setting value. `fromEnv` converts the string of an environment
 * preset first. Throws {@link InvalidConfiguration} naming the setting.
 *
 * @internal
 */
export function normalizeSetting(name: SettingName, value: unknown, fromEnv = false): unknown {
  const kind = KINDS[name]
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') fail(name, 'a string', value, false)
      return value
    case 'name':
      // A JSON key or query parameter name: an empty one cannot be sent or read back.
      if (typeof value !== 'string' || value === '') fail(name, 'a non-empty string', value, false)
      return value
    case 'prefix':
      // The word before the token in the header; the header is split at white space, so a prefix
      // holding any ("Bearer ") would refuse every honest header. '' means the bare token, and so
      // do null and false (sanic-jwt takes any falsy prefix for "no prefix").
      if (value === null || value === false) return ''
      if (typeof value !== 'string' || /\s/.test(value)) fail(name, 'a string without white space, or null', value, false)
      return value
    case 'token':
      // RFC 7230 token: valid as a header name and as a cookie name (RFC 6265).
      if (typeof value !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) {
        fail(name, 'a non-empty name made of letters, digits and !#$%&\'*+-.^_`|~', value, false)
      }
      return value
    case 'cookieDomain':
      // null (sanic-jwt's None) and false: no Domain attribute, like ''.
      if (value === null || value === false) return ''
      if (typeof value !== 'string' || !/^(\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)?$/.test(value)) {
        fail(name, 'a domain name or an empty string', value, false)
      }
      return value
    case 'cookiePath':
      if (typeof value !== 'string' || !/^\/[\u0021-\u003A\u003C-\u007E]*$/.test(value)) {
        fail(name, 'a path starting with "/" without spaces, ";" or control characters', value, false)
      }
      return value
    case 'path':
      if (typeof value !== 'string') fail(name, 'a path string', value, false)
      if (value !== '' && !value.startsWith('/')) return `/${value}`
      return value
    case 'boolean':
      if (fromEnv && typeof value === 'string') {
        const lowered = value.trim().toLowerCase()
        if (['true', '1', 'yes', 'on'].includes(lowered)) return true
        if (['false', '0', 'no', 'off'].includes(lowered)) return false
      }
      if (typeof value !== 'boolean') fail(name, 'a boolean', value, false)
      return value
    case 'seconds': {
      const seconds = parseSeconds(value)
      if (seconds === undefined) {
        fail(name, 'a number of seconds (>= 0) or a time span such as "15m"', value, false)
      }
      return seconds
    }
    case 'nullableString':
      // '' is off, as in an environment preset: sanic-jwt adds no claim for a falsy claim_iss, and
      // requiring a claim that no token carries would refuse every token (reference §7.2.16).
      if (value === null || value === undefined || value === '') return null
      if (typeof value !== 'string') fail(name, 'a string or null', value, false)
      return value
    case 'audience':
      if (value === null || value === undefined || value === '') return null
      if (fromEnv && typeof value === 'string' && value.includes(',')) {
        return value.split(',').map((part) => part.trim())
      }
      if (typeof value === 'string' && value !== '') return value
      if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '')) {
        return [...value]
      }
      return fail(name, 'a non-empty string, a non-empty list of non-empty strings, or null', value, false)
    case 'algorithm':
      if (typeof value !== 'string' || !(ALGORITHMS as readonly string[]).includes(value)) {
        fail(name, `one of ${ALGORITHMS.join(', ')}`, value, false)
      }
      return value
    case 'key':
      if (value === null || value === undefined || (fromEnv && value === '')) return null
      if (!isKeyInput(value)) {
        fail(name, 'key text, a file path, a URL, { path }, a Buffer or a KeyObject', value, true)
      }
      return value
    case 'function':
      if (typeof value !== 'function') fail(name, 'a function', value, false)
      return value
    case 'samesite': {
      if (value === null || value === false || (fromEnv && value === '')) return null
      const known = ['strict', 'lax', 'none']
      if (typeof value !== 'string' || !known.includes(value.toLowerCase())) {
        fail(name, '"Strict", "Lax", "None" or null', value, false)
      }
      const lowered = value.toLowerCase()
      return lowered[0]!.toUpperCase() + lowered.slice(1)
    }
    case 'date': {
      if (value === null || value === undefined || value === false || (fromEnv && value === '')) {
        return null
      }
      const date =
        value instanceof Date
          ? value
          : typeof value === 'number' || typeof value === 'string'
            ? new Date(value)
            : undefined
      if (date === undefined || Number.isNaN(date.getTime())) {
        fail(name, 'a Date, a timestamp in milliseconds, a date string, or null', value, false)
      }
      return date
    }
  }
}

/** Edit distance, for "did you mean" hints. @internal */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!
    previous[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!
      previous[j] = Math.min(
        above + 1,
        previous[j - 1]! + 1,
        diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      )
      diagonal = above
    }
  }
  return previous[b.length]!
}

/** The closest known name to `name`, when close enough to be a typo. @internal */
export function suggestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const distance = editDistance(name, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined
}

/** The handler names that `Initialize` wires from options or `Authentication` subclass methods. */
export const HANDLER_NAMES = [
  'authenticate',
  'retrieveUser',
  'storeRefreshToken',
  'retrieveRefreshToken',
  'addScopesToPayload',
  'extendPayload',
  'retrieveUserSecret',
  'overrideScopeValidator',
  'destructureScopes',
] as const

/** A handler name. */
export type HandlerName = (typeof HANDLER_NAMES)[number]

/** True for RS*, ES* and PS* algorithms. */
export function isAsymmetric(algorithm: string): boolean {
  return /^(RS|ES|PS)/i.test(algorithm)
}
