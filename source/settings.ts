/**
 * The settings table: every setting's default, its kind (which drives validation and the
 * conversion of environment presets) and the aliases. This is the only place defaults are written.
 *
 * @module
 */
import { randomBytes, type KeyObject } from 'node:crypto'

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
  /**
   * Accept tokens without `exp` (issued with `generateAccessToken(user, { expirationDelta: false })`).
   * A token that has `exp` is still checked. @default false
   */
  allowNoExpiration: boolean
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
  /**
   * Name of the cookie, readable by the page's scripts, that holds the access token's `csrf`
   * value (with `cookieCsrfProtect`). @default 'csrf_access_token'
   */
  cookieCsrfAccessName: string
  /**
   * Cookie mode: every token issued carries a `csrf` claim, the login and refresh responses set it
   * in a cookie scripts can read, and requests whose token came from a cookie must send it back
   * in the `csrfHeaderName` header on `csrfMethods` (double submit, docs/cookies.md). Recommended
   * whenever `cookieSet` is on. @default false
   */
  cookieCsrfProtect: boolean
  /**
   * Name of the cookie, readable by the page's scripts, that holds the refresh token's CSRF value
   * (with `cookieCsrfProtect`), to send on `/auth/refresh`. @default 'csrf_refresh_token'
   */
  cookieCsrfRefreshName: string
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
  /** With `cookieCsrfProtect`: also accept the CSRF value from the form field `csrfFieldName` (the header is read first). @default false */
  csrfCheckForm: boolean
  /** Form field read with `csrfCheckForm`. @default 'csrf_token' */
  csrfFieldName: string
  /** Request header that must carry the CSRF value (case-insensitive). @default 'x-csrf-token' */
  csrfHeaderName: string
  /**
   * HTTP methods on which a token read from a cookie must come with its CSRF value (names are
   * upper-cased; OPTIONS cannot be listed). @default ['POST', 'PUT', 'PATCH', 'DELETE']
   */
  csrfMethods: readonly string[]
  /** Detailed failure reasons and 400 statuses (docs/errors.md). @default false */
  debug: boolean
  /** When false, `protected()` lets every request through. @default true */
  doProtection: boolean
  /** Access-token lifetime in seconds (a number or a span such as '30m'). @default 1800 */
  expirationDelta: number
  /** Mount `POST {urlPrefix}{pathToFreshLogin}`: `authenticate` again, answer a fresh access token only. @default false */
  freshLoginEnabled: boolean
  /**
   * Longest a fetch of the `jwksUri` key set waits for an answer when a token names an unknown
   * `kid` (or the set is older than `jwksMaxAge`): seconds, more than 0. @default 5
   */
  jwksTimeout: number
  /**
   * Mount `GET {urlPrefix}{pathToJwks}`: the public keys as an RFC 7517 JWK Set (never a private or
   * HMAC key), and sign tokens with the `kid` that names their key there. @default false
   */
  jwksEnabled: boolean
  /**
   * Seconds: the `Cache-Control: max-age` of the published key set, and how long a key set
   * fetched from `jwksUri` is used before it is fetched again in the background. @default 300
   */
  jwksMaxAge: number
  /**
   * Verify with the keys published at this URL (a JWK Set: `https:`, or `http:` on a loopback
   * host), fetched on the first verification and again on an unknown `kid`. Verify-only
   * services (`authMode: false`), instead of `secret` or `keys`. @default null
   */
  jwksUri: string | null
  /**
   * Seconds after one fetch of the `jwksUri` key set before an unknown `kid` may cause another
   * (tokens naming a kid nobody published cannot make the service hammer the issuer). @default 30
   */
  jwksCooldown: number
  /** Zero-argument function (sync or async) returning a new refresh token. @default 48 random hex characters */
  generateRefreshToken: () => string | Promise<string>
  /** Clock-skew tolerance in seconds for `exp`, `nbf` and `iat`; also added into `nbf`. @default 180 */
  leeway: number
  /**
   * The `fresh` claim of tokens from `POST /auth` (and the fresh-login endpoint): `true`, or a
   * number of seconds (a span such as '15m' too) for which the token counts as fresh (stored as
   * the epoch `iat + n`). Refreshed tokens are never fresh. @default true
   */
  loginFreshness: true | number
  /** Redirect target for `redirectOnFail` when no `redirectUrl` is given. @default '/index.html' */
  loginRedirectUrl: string
  /** Path of the login endpoint under `urlPrefix`. @default '/' */
  pathToAuthenticate: string
  /** Path of the fresh-login endpoint under `urlPrefix` (with `freshLoginEnabled`). @default '/fresh' */
  pathToFreshLogin: string
  /** Path of the refresh endpoint under `urlPrefix`. @default '/refresh' */
  pathToRefresh: string
  /** Path of the JWK Set endpoint under `urlPrefix` (with `jwksEnabled`). @default '/.well-known/jwks.json' */
  pathToJwks: string
  /** Path of the logout endpoint under `urlPrefix` (mounted when revocation is on). @default '/logout' */
  pathToLogout: string
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
  /**
   * Lifetime of refresh tokens kept in the token store, in seconds (a span such as '30d' too);
   * an expired refresh token is refused. Refresh tokens of the store/retrieve handlers are yours
   * to expire. @default 2592000 (30 days)
   */
  refreshExpirationDelta: number
  /**
   * Every `/auth/refresh` answers a new refresh token and retires the presented one; presenting
   * a retired one again revokes every token of that login (401 `RefreshTokenReused`). Needs the
   * token store. @default false
   */
  refreshRotation: boolean
  /**
   * Seconds during which a just-rotated refresh token is still answered (a new access token, no
   * new refresh token) instead of counting as reuse: two tabs refreshing at once. @default 0
   */
  refreshReuseInterval: number
  /** Issue refresh tokens on `/auth` and mount `/refresh`. Turned on by refresh handlers. @default false */
  refreshTokenEnabled: boolean
  /** JSON key of the refresh token in `/auth` output and in the `/refresh` body. @default 'refresh_token' */
  refreshTokenName: string
  /**
   * Record issued tokens in the token store (every token gets `jti`, `iat` and `sid`), refuse revoked
   * ones (401 `RevokedToken`) and mount `/logout`. Turned on by the `tokenStore` option and by an
   * `isTokenRevoked` handler. @default false
   */
  revocationEnabled: boolean
  /** Which tokens the revocation check applies to: `'all'`, `'access'` or `'refresh'`. @default 'all' */
  revocationChecks: 'all' | 'access' | 'refresh'
  /**
   * On a token store that broadcasts (RedisStore, shared by several processes): keep a local copy
   * of the revocations, kept current by the store's pub/sub, so that the revocation check of a
   * request makes no store call; while the subscription is down, requests ask the store. Off: every
   * request asks the store. No effect on other stores. @default true
   */
  revocationMirror: boolean
  /** Put scopes into tokens through `addScopesToPayload`. Turned on by that handler. @default false */
  scopesEnabled: boolean
  /** Payload key of the scopes. @default 'scopes' */
  scopesName: string
  /** HMAC secret, or the public key for RS/ES/PS (alias `publicKey`). Required: there is no default. @default null */
  secret: KeyInput | null
  /**
   * The longest a call to the token store may take, in seconds; a slower or failing store is a
   * 503 `StoreUnavailable`, never a hang. @default 2
   */
  storeTimeout: number
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
    | 'refreshExpirationDelta'
    | 'refreshReuseInterval'
    | 'storeTimeout'
    | 'jwksTimeout'
    | 'jwksMaxAge'
    | 'jwksCooldown'
    ? number | string
    : K extends 'cookieExpires'
      ? Date | number | string | null
      : K extends 'loginFreshness'
        ? true | number | string
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
  | 'freshness'
  | 'revocationChecks'
  | 'methods'
  | 'url'
  | 'positiveSeconds'

/** @internal */
export const KINDS: { readonly [K in SettingName]: Kind } = Object.freeze({
  accessTokenName: 'name',
  algorithm: 'algorithm',
  authMode: 'boolean',
  authorizationHeader: 'token',
  authorizationHeaderPrefix: 'prefix',
  authorizationHeaderRefreshPrefix: 'prefix',
  allowNoExpiration: 'boolean',
  claimAud: 'audience',
  claimIat: 'boolean',
  claimIss: 'nullableString',
  claimNbf: 'boolean',
  claimNbfDelta: 'seconds',
  cookieAccessTokenName: 'token',
  cookieCsrfAccessName: 'token',
  cookieCsrfProtect: 'boolean',
  cookieCsrfRefreshName: 'token',
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
  csrfCheckForm: 'boolean',
  csrfFieldName: 'name',
  csrfHeaderName: 'token',
  csrfMethods: 'methods',
  debug: 'boolean',
  doProtection: 'boolean',
  expirationDelta: 'seconds',
  freshLoginEnabled: 'boolean',
  generateRefreshToken: 'function',
  jwksTimeout: 'positiveSeconds',
  jwksEnabled: 'boolean',
  jwksMaxAge: 'seconds',
  jwksUri: 'url',
  jwksCooldown: 'seconds',
  leeway: 'seconds',
  loginFreshness: 'freshness',
  loginRedirectUrl: 'string',
  pathToAuthenticate: 'path',
  pathToFreshLogin: 'path',
  pathToRefresh: 'path',
  pathToJwks: 'path',
  pathToLogout: 'path',
  pathToRetrieveUser: 'path',
  pathToVerify: 'path',
  privateKey: 'key',
  queryStringAccessTokenName: 'name',
  queryStringRefreshTokenName: 'name',
  queryStringSet: 'boolean',
  queryStringStrict: 'boolean',
  refreshExpirationDelta: 'seconds',
  refreshRotation: 'boolean',
  refreshReuseInterval: 'seconds',
  refreshTokenEnabled: 'boolean',
  refreshTokenName: 'name',
  revocationEnabled: 'boolean',
  revocationChecks: 'revocationChecks',
  revocationMirror: 'boolean',
  scopesEnabled: 'boolean',
  scopesName: 'name',
  secret: 'key',
  storeTimeout: 'seconds',
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
  allowNoExpiration: false,
  claimAud: null,
  claimIat: false,
  claimIss: null,
  claimNbf: false,
  claimNbfDelta: 0,
  cookieAccessTokenName: 'access_token',
  cookieCsrfAccessName: 'csrf_access_token',
  cookieCsrfProtect: false,
  cookieCsrfRefreshName: 'csrf_refresh_token',
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
  csrfCheckForm: false,
  csrfFieldName: 'csrf_token',
  csrfHeaderName: 'x-csrf-token',
  csrfMethods: Object.freeze(['POST', 'PUT', 'PATCH', 'DELETE']),
  debug: false,
  doProtection: true,
  expirationDelta: 60 * 5 * 6,
  freshLoginEnabled: false,
  generateRefreshToken: () => generateToken(),
  jwksTimeout: 5,
  jwksEnabled: false,
  jwksMaxAge: 300,
  jwksUri: null,
  jwksCooldown: 30,
  leeway: 60 * 3,
  loginFreshness: true,
  loginRedirectUrl: '/index.html',
  pathToAuthenticate: '/',
  pathToFreshLogin: '/fresh',
  pathToRefresh: '/refresh',
  pathToJwks: '/.well-known/jwks.json',
  pathToLogout: '/logout',
  pathToRetrieveUser: '/me',
  pathToVerify: '/verify',
  privateKey: null,
  queryStringAccessTokenName: 'access_token',
  queryStringRefreshTokenName: 'refresh_token',
  queryStringSet: false,
  queryStringStrict: true,
  refreshExpirationDelta: 30 * 24 * 3600,
  refreshRotation: false,
  refreshReuseInterval: 0,
  refreshTokenEnabled: false,
  refreshTokenName: 'refresh_token',
  revocationEnabled: false,
  revocationChecks: 'all',
  revocationMirror: true,
  scopesEnabled: false,
  scopesName: 'scopes',
  secret: null,
  storeTimeout: 2,
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
  'isTokenRevoked',
  'audit',
] as const

/** A handler name. */
export type HandlerName = (typeof HANDLER_NAMES)[number]

/** True for RS*, ES* and PS* algorithms. */
export function isAsymmetric(algorithm: string): boolean {
  return /^(RS|ES|PS)/i.test(algorithm)
}
