import type { Context } from 'koa'

import type { Configuration } from './Configuration'
import { refreshCsrfValue } from './core/csrf'
import { decodeUnverified, type JwtPayload } from './core/token'
import { InvalidConfiguration, KoaJwtError } from './errors'

/** RFC 6265 cookie-octets: what a cookie value may hold unquoted. */
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/
const EPOCH = new Date(0)

function checkCookieValue(name: string, value: string): void {
  // Never shows the value: it is a token.
  if (!COOKIE_VALUE.test(value)) {
    throw new InvalidConfiguration(`the value of the "${name}" cookie holds characters a cookie cannot carry (RFC 6265).`)
  }
}

/** What `extendAuthenticate` receives. */
export interface AuthenticateResult<User = any> {
  user: User
  accessToken: string
  refreshToken: string | undefined
}

/** What `extendRefresh` receives. */
export interface RefreshResult<User = any> {
  user: User
  accessToken: string
  /** The stored refresh token. */
  refreshToken: string | undefined
  /** The refresh token the client sent. */
  purportedToken: string | undefined
  payload: JwtPayload
}

/** What `extendLogout` receives. */
export interface LogoutResult {
  /** The verified payload of the access token that logged out. */
  payload: JwtPayload
  /** True when every token of the user was revoked (`{ "everywhere": true }`). */
  everywhere: boolean
}

/** What `extendRetrieveUser` receives. */
export interface RetrieveUserResult<User = any> {
  user: User | null
  payload: JwtPayload | null
}

/** What `extendVerify` receives. */
export interface VerifyResult {
  user?: unknown
  payload?: JwtPayload | null
}

/** Options of {@link Responses.getTokenResponse}. */
export interface TokenResponseOptions {
  /** A refresh token to set as a cookie too (on `/auth`). */
  refreshToken?: string | undefined
}

/** The JSON body of every library error. */
export interface ErrorBody {
  reasons: string[]
  exception: string
  code: string
}

/**
 * Renders a library error as `{ reasons, exception, code }` with its status and headers. Used by
 * {@link Responses.exceptionResponse} and wherever no instance is known.
 */
export function renderError(ctx: Context, error: KoaJwtError): void {
  ctx.status = error.status
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value)
  const body: ErrorBody = { reasons: [...error.reasons], exception: error.name, code: error.code }
  ctx.body = body
}

/**
 * The name of a per-failure hook of {@link Responses}: the method that answers one kind of failure
 * (docs/customising-failures.md).
 */
export type FailureHook =
  | 'expiredTokenResponse'
  | 'invalidTokenResponse'
  | 'unauthorizedResponse'
  | 'needsFreshTokenResponse'
  | 'revokedTokenResponse'
  | 'userLookupFailedResponse'
  | 'verificationFailedResponse'
  | 'csrfErrorResponse'

/**
 * Error code → the hook that answers it, built once. Codes not listed (scope 403, failed login,
 * bodies, 5xx...) go to `exceptionResponse`.
 */
const FAILURE_HOOKS: ReadonlyMap<string, FailureHook> = Object.freeze(
  new Map<string, FailureHook>([
    ['ERR_JWT_EXPIRED', 'expiredTokenResponse'],
    ['ERR_JWT_INVALID_TOKEN', 'invalidTokenResponse'],
    ['ERR_JWT_MALFORMED', 'invalidTokenResponse'],
    ['ERR_JWT_INVALID_SIGNATURE', 'invalidTokenResponse'],
    ['ERR_JWT_INVALID_ALGORITHM', 'invalidTokenResponse'],
    ['ERR_JWT_NOT_YET_VALID', 'invalidTokenResponse'],
    ['ERR_JWT_INVALID_AUDIENCE', 'invalidTokenResponse'],
    ['ERR_JWT_INVALID_ISSUER', 'invalidTokenResponse'],
    ['ERR_JWT_CLAIM_MISSING', 'invalidTokenResponse'],
    ['ERR_JWT_INVALID_CLAIM_TYPE', 'invalidTokenResponse'],
    ['ERR_JWT_UNKNOWN_KID', 'invalidTokenResponse'],
    ['ERR_JWT_MISSING_HEADER', 'unauthorizedResponse'],
    ['ERR_JWT_MISSING_COOKIE', 'unauthorizedResponse'],
    ['ERR_JWT_MISSING_QUERY_ARG', 'unauthorizedResponse'],
    ['ERR_JWT_INVALID_HEADER', 'unauthorizedResponse'],
    ['ERR_JWT_NEEDS_FRESH', 'needsFreshTokenResponse'],
    ['ERR_JWT_REVOKED', 'revokedTokenResponse'],
    ['ERR_JWT_USER_LOOKUP', 'userLookupFailedResponse'],
    ['ERR_JWT_VERIFICATION_FAILED', 'verificationFailedResponse'],
    ['ERR_JWT_CUSTOM_CLAIM_FAILED', 'verificationFailedResponse'],
    ['ERR_JWT_CSRF', 'csrfErrorResponse'],
  ]),
)

/**
 * The hook that answers an error code, or `exceptionResponse` when no hook covers it. @internal
 *
 * @param code - an error's `code`.
 * @returns the name of the method of {@link Responses} that renders it.
 */
export function failureHookOf(code: string): FailureHook | 'exceptionResponse' {
  return FAILURE_HOOKS.get(code) ?? 'exceptionResponse'
}

/**
 * Whether `responses` overrides the per-failure hook of `code` (the method it has is not the one of
 * `Responses.prototype`). False for codes no hook covers. @internal
 *
 * @param responses - the instance's `Responses`.
 * @param code - an error's `code`.
 * @returns true when a subclass (or the instance itself) replaced that hook.
 */
export function overridesFailureHook(responses: Responses, code: string): boolean {
  const hook = FAILURE_HOOKS.get(code)
  return hook !== undefined && responses[hook] !== Responses.prototype[hook]
}

/**
 * Shapes what the built-in endpoints answer. Subclass it (`responsesClass` option) to add keys to
 * the outputs, change cookies, or render errors differently: one hook per kind of failure
 * (`expiredTokenResponse`, `invalidTokenResponse`, ...; docs/customising-failures.md), or
 * `exceptionResponse` for every error at once.
 *
 * @example
 * ```ts
 * class MyResponses extends Responses {
 *   override extendAuthenticate(ctx: Context, { user }: AuthenticateResult<User>) {
 *     return { username: user.username }
 *   }
 *
 *   override expiredTokenResponse(ctx: Context, error: KoaJwtError) {
 *     ctx.status = 401
 *     ctx.set(error.headers)
 *     ctx.body = { status: 401, sub_status: 42, msg: 'The access token has expired' }
 *   }
 * }
 * ```
 */
export class Responses {
  /** The configuration of the instance. */
  readonly config: Configuration
  /** The Koa app or router the instance was initialised on. */
  readonly instance: unknown

  constructor(config: Configuration, instance: unknown) {
    this.config = config
    this.instance = instance
  }

  /** Extra keys merged into the `POST /auth` output. @returns an object (or nothing). */
  extendAuthenticate(_ctx: Context, _result: AuthenticateResult): Record<string, unknown> | void | Promise<Record<string, unknown> | void> {
    return {}
  }

  /** Extra keys merged into the `GET /auth/me` output. */
  extendRetrieveUser(_ctx: Context, _result: RetrieveUserResult): Record<string, unknown> | void | Promise<Record<string, unknown> | void> {
    return {}
  }

  /** Extra keys merged into the `GET /auth/verify` output. */
  extendVerify(_ctx: Context, _result: VerifyResult): Record<string, unknown> | void | Promise<Record<string, unknown> | void> {
    return {}
  }

  /**
   * Extra keys merged into the `POST /auth/logout` output (`{ logout: true }`).
   *
   * @param result - the verified payload of the access token logged out, and whether the user
   *   asked to be logged out everywhere.
   */
  extendLogout(_ctx: Context, _result: LogoutResult): Record<string, unknown> | void | Promise<Record<string, unknown> | void> {
    return {}
  }

  /** Extra keys merged into the `POST /auth/refresh` output. */
  extendRefresh(_ctx: Context, _result: RefreshResult): Record<string, unknown> | void | Promise<Record<string, unknown> | void> {
    return {}
  }

  /**
   * Sends a token output: the JSON body, plus cookies in cookie mode (docs/cookies.md); with
   * `cookieCsrfProtect`, also the CSRF cookies scripts can read: the access token's `csrf`
   * claim in `cookieCsrfAccessName`, and with a refresh token its value in `cookieCsrfRefreshName`.
   */
  getTokenResponse(ctx: Context, accessToken: string, output: Record<string, unknown>, options: TokenResponseOptions = {}): void {
    ctx.body = output
    if (!this.config.get('cookieSet', ctx)) return
    const name = this.config.get('cookieAccessTokenName', ctx)
    const refreshName = this.config.get('cookieRefreshTokenName', ctx)
    // Every value is checked before any cookie is written: a failure sends no token cookie.
    if (options.refreshToken !== undefined) checkCookieValue(refreshName, options.refreshToken)
    if (this.config.get('cookieSplit', ctx)) {
      const cut = accessToken.lastIndexOf('.')
      this.setCookie(ctx, name, accessToken.slice(0, cut), { httpOnly: false })
      this.setCookie(ctx, this.config.get('cookieSplitSignatureName', ctx), accessToken.slice(cut + 1), { httpOnly: true })
    } else {
      this.setCookie(ctx, name, accessToken)
    }
    if (options.refreshToken !== undefined) {
      this.setCookie(ctx, refreshName, options.refreshToken)
    }
    if (this.config.get('cookieCsrfProtect', ctx)) this.#setCsrfCookies(ctx, accessToken, options.refreshToken)
  }

  /**
   * The CSRF cookies of a token response: the attributes of the token cookies, never HttpOnly
   * (the page's scripts read them to send the value back). An access token without a `csrf`
   * claim (issued otherwise than by the library) deletes the cookie rather than leave a stale
   * value.
   */
  #setCsrfCookies(ctx: Context, accessToken: string, refreshToken: string | undefined): void {
    const c = this.config
    let csrf: unknown
    try {
      csrf = decodeUnverified(accessToken).csrf
    } catch {
      csrf = undefined
    }
    const value = typeof csrf === 'string' && COOKIE_VALUE.test(csrf) ? csrf : null
    this.setCookie(ctx, c.get('cookieCsrfAccessName', ctx), value, { httpOnly: false })
    if (refreshToken !== undefined) {
      this.setCookie(ctx, c.get('cookieCsrfRefreshName', ctx), refreshCsrfValue(refreshToken), { httpOnly: false })
    }
  }

  /**
   * Deletes the token cookies (access, split signature, refresh) in cookie mode, and the CSRF
   * cookies with `cookieCsrfProtect`: a logout.
   */
  clearTokenCookies(ctx: Context): void {
    const c = this.config
    this.setCookie(ctx, c.get('cookieAccessTokenName', ctx), null)
    if (c.get('cookieSplit', ctx)) this.setCookie(ctx, c.get('cookieSplitSignatureName', ctx), null)
    this.setCookie(ctx, c.get('cookieRefreshTokenName', ctx), null)
    if (c.get('cookieCsrfProtect', ctx)) {
      this.setCookie(ctx, c.get('cookieCsrfAccessName', ctx), null, { httpOnly: false })
      this.setCookie(ctx, c.get('cookieCsrfRefreshName', ctx), null, { httpOnly: false })
    }
  }

  /**
   * Sets one token cookie with the configured attributes, replacing a cookie of the same name set
   * earlier in the response: `path`, `expires` (cookieExpires), `max-age` (cookieMaxAge, seconds),
   * `domain`, `samesite`, `secure`, `httponly`, as sanic-jwt writes them (docs/cookies.md).
   *
   * @param value - the cookie value; null deletes the cookie (empty value, `max-age=0` and an
   *   `expires` in 1970 for clients that predate Max-Age).
   * @throws InvalidConfiguration when the value holds characters a cookie cannot carry.
   */
  setCookie(ctx: Context, name: string, value: string | null, force: { httpOnly?: boolean } = {}): void {
    const c = this.config
    if (value !== null) checkCookieValue(name, value)
    const maxAge = c.get('cookieMaxAge', ctx)
    const expires = value === null ? EPOCH : c.get('cookieExpires', ctx)
    const domain = c.get('cookieDomain', ctx)
    const sameSite = c.get('cookieSamesite', ctx)
    let header = `${name}=${value ?? ''}; path=${c.get('cookiePath', ctx)}`
    if (expires) header += `; expires=${expires.toUTCString()}`
    if (value === null) header += '; max-age=0'
    else if (maxAge) header += `; max-age=${Math.floor(maxAge)}`
    if (domain) header += `; domain=${domain}`
    if (sameSite) header += `; samesite=${sameSite.toLowerCase()}`
    if (c.get('cookieSecure', ctx)) header += '; secure'
    if (force.httpOnly ?? c.get('cookieHttponly', ctx)) header += '; httponly'
    const previous = ctx.response.get('Set-Cookie') as string | string[]
    const kept = (Array.isArray(previous) ? previous : previous ? [previous] : []).filter(
      (line) => !line.startsWith(`${name}=`),
    )
    ctx.set('Set-Cookie', [...kept, header])
  }

  /**
   * Renders a library error: status, headers (`WWW-Authenticate` on 401s) and the body
   * `{ "reasons": [...], "exception": "<Name>", "code": "ERR_JWT_..." }`. What every per-failure
   * hook does by default, and the answer to the failures no hook covers (scope 403, failed login,
   * request bodies, 5xx...): override it to change every error body at once.
   *
   * @param ctx - the request's context.
   * @param error - the error as rendered: status, code and headers are final.
   * @returns nothing, or a promise that settles once the response is written.
   */
  exceptionResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    renderError(ctx, error)
  }

  /**
   * Renders a library error through the hook of its kind, chosen by `error.code` (not by class:
   * the guards answer with an `Unauthorized` that keeps the failure's code): `expiredTokenResponse`,
   * `invalidTokenResponse`, ..., else `exceptionResponse`. Every place that renders a library
   * error calls it (the guards, the endpoints, the app-wide renderer); call it from your own
   * middleware to answer a library error the way the library would. Override the hooks rather
   * than this method: `GET /auth/verify` keeps its `{ valid: false, ... }` body unless the hook of
   * the failure's kind is overridden.
   *
   * @param ctx - the request's context.
   * @param error - the library error to render.
   * @returns what the hook returns: nothing, or a promise that settles once the response is written.
   */
  failureResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    const hook = FAILURE_HOOKS.get(error.code)
    return hook === undefined ? this.exceptionResponse(ctx, error) : this[hook](ctx, error)
  }

  /**
   * Answers an expired access token (`ERR_JWT_EXPIRED`): flask-jwt-extended's
   * `expired_token_loader`. Default: {@link Responses.exceptionResponse} (401).
   *
   * @param ctx - the request's context.
   * @param error - the error as rendered (on protected routes an `Unauthorized`, code `ERR_JWT_EXPIRED`).
   * @returns nothing, or a promise that settles once the response is written.
   */
  expiredTokenResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    return this.exceptionResponse(ctx, error)
  }

  /**
   * Answers a token that is not valid: malformed, bad signature, wrong algorithm, or a registered
   * claim that fails (`nbf`/`iat` in the future, audience, issuer, missing `exp`, wrong claim
   * type). Codes `ERR_JWT_INVALID_TOKEN` (what protected routes answer outside debug mode for
   * every structural or signature failure), `ERR_JWT_MALFORMED`, `ERR_JWT_INVALID_SIGNATURE`,
   * `ERR_JWT_INVALID_ALGORITHM`, `ERR_JWT_NOT_YET_VALID`, `ERR_JWT_INVALID_AUDIENCE`,
   * `ERR_JWT_INVALID_ISSUER`, `ERR_JWT_CLAIM_MISSING`, `ERR_JWT_INVALID_CLAIM_TYPE`,
   * `ERR_JWT_UNKNOWN_KID` (a key ring or JWK Set has no key of the token's `kid`):
   * flask-jwt-extended's `invalid_token_loader`. Default: {@link Responses.exceptionResponse}
   * (401, 400 in debug mode for structural failures).
   *
   * @param ctx - the request's context.
   * @param error - the error as rendered.
   * @returns nothing, or a promise that settles once the response is written.
   */
  invalidTokenResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    return this.exceptionResponse(ctx, error)
  }

  /**
   * Answers a request without a token, or with a malformed authorization header
   * (`ERR_JWT_MISSING_HEADER`, `ERR_JWT_MISSING_COOKIE`, `ERR_JWT_MISSING_QUERY_ARG`,
   * `ERR_JWT_INVALID_HEADER`): flask-jwt-extended's `unauthorized_loader`. Default:
   * {@link Responses.exceptionResponse} (401 on protected routes, 400 in debug mode).
   *
   * @param ctx - the request's context.
   * @param error - the error as rendered.
   * @returns nothing, or a promise that settles once the response is written.
   */
  unauthorizedResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    return this.exceptionResponse(ctx, error)
  }

  /**
   * Answers a valid token that is not fresh on a route that requires a fresh one
   * (`ERR_JWT_NEEDS_FRESH`, `NeedsFreshToken`): flask-jwt-extended's `needs_fresh_token_loader`.
   * Default: {@link Responses.exceptionResponse} (401).
   *
   * @param ctx - the request's context.
   * @param error - the error as rendered.
   * @returns nothing, or a promise that settles once the response is written.
   */
  needsFreshTokenResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    return this.exceptionResponse(ctx, error)
  }

  /**
   * Answers a revoked token (`ERR_JWT_REVOKED`: a revocation, a logout, `revokeUser`, a reused
   * refresh token's family): flask-jwt-extended's `revoked_token_loader`. Default: {@link Responses.exceptionResponse}.
   *
   * @param ctx - the request's context.
   * @param error - the error as rendered.
   * @returns nothing, or a promise that settles once the response is written.
   */
  revokedTokenResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    return this.exceptionResponse(ctx, error)
  }

  /**
   * Answers a valid token whose user `retrieveUser` did not find on a route that requires one
   * (`ERR_JWT_USER_LOOKUP`, `UserLookupFailed`): flask-jwt-extended's `user_lookup_error_loader`.
   * Default: {@link Responses.exceptionResponse} (401).
   *
   * @param ctx - the request's context.
   * @param error - the error as rendered.
   * @returns nothing, or a promise that settles once the response is written.
   */
  userLookupFailedResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    return this.exceptionResponse(ctx, error)
  }

  /**
   * Answers a token refused by an extra verification or a custom claim
   * (`ERR_JWT_VERIFICATION_FAILED`, `ERR_JWT_CUSTOM_CLAIM_FAILED`): flask-jwt-extended's
   * `token_verification_failed_loader`. Default: {@link Responses.exceptionResponse} (401).
   *
   * @param ctx - the request's context.
   * @param error - the error as rendered.
   * @returns nothing, or a promise that settles once the response is written.
   */
  verificationFailedResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    return this.exceptionResponse(ctx, error)
  }

  /**
   * Answers a failed CSRF check in cookie mode (`ERR_JWT_CSRF`, `CSRFError`: a token read from a
   * cookie without its CSRF value, or with another, while `cookieCsrfProtect` is on): the CSRF
   * half of flask-jwt-extended's `unauthorized_loader`. Default:
   * {@link Responses.exceptionResponse} (401).
   *
   * @param ctx - the request's context.
   * @param error - the error as rendered.
   * @returns nothing, or a promise that settles once the response is written.
   */
  csrfErrorResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    return this.exceptionResponse(ctx, error)
  }
}
