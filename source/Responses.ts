import type { Context } from 'koa'

import type { Configuration } from './Configuration'
import type { JwtPayload } from './core/token'
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
 * Shapes what the built-in endpoints answer. Subclass it (`responsesClass` option) to add keys to
 * the outputs, change cookies, or render errors differently.
 *
 * @example
 * ```ts
 * class MyResponses extends Responses {
 *   override extendAuthenticate(ctx: Context, { user }: AuthenticateResult<User>) {
 *     return { username: user.username }
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

  /** Extra keys merged into the `POST /auth/refresh` output. */
  extendRefresh(_ctx: Context, _result: RefreshResult): Record<string, unknown> | void | Promise<Record<string, unknown> | void> {
    return {}
  }

  /**
   * Sends a token output: the JSON body, plus cookies in cookie mode (docs/cookies.md).
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
   * `{ "reasons": [...], "exception": "<Name>", "code": "ERR_JWT_..." }`.
   */
  exceptionResponse(ctx: Context, error: KoaJwtError): void | Promise<void> {
    renderError(ctx, error)
  }
}
