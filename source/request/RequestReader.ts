/**
 * The Koa side of reading a token: a `TokenSource` over the context, the extraction settings
 * (derived once while settings are static), and the verified token of a request, remembered on
 * the context for the rest of the request.
 */
import type { Context } from 'koa'

import type { Configuration } from '../Configuration'
import { checkDoubleSubmit, refreshCsrfValue } from '../core/csrf'
import type { JwtPayload } from '../core/token'
import type { TokenVerifier, VerifierHost, VerifyRules } from '../core/TokenVerifier'
import {
  cookieToken,
  extractToken,
  hasWhitespace,
  headerToken,
  readsHeaderOnly,
  type ExtractionSettings,
  type TokenSource,
} from '../core/token-extractors'
import { InvalidAuthorizationHeader } from '../errors'

/** What the reader calls back on `Authentication`: its (overridable) `extractToken` and key handler. @internal */
export interface ReaderHost extends VerifierHost {
  extractToken(ctx: Context, options?: { refresh?: boolean }): string
}

/** The parts of a Koa context that may carry a token. */
class KoaTokenSource implements TokenSource {
  readonly #ctx: Context
  constructor(ctx: Context) {
    this.#ctx = ctx
  }
  header(name: string): string | string[] | undefined {
    // Node lower-cases incoming header names; the settings hold the lower-cased name.
    return this.#ctx.req.headers[name]
  }
  cookie(name: string): string | undefined {
    return this.#ctx.cookies.get(name)
  }
  query(name: string): string | string[] | undefined {
    return this.#ctx.query[name]
  }
  body(): unknown {
    return (this.#ctx.request as { body?: unknown }).body
  }
}

interface Verified {
  readonly token: string
  /** The settings it was verified under: an inner route with other settings verifies again. */
  readonly rules: VerifyRules
  /** Whether the revocation check ran: a route that skips it must not vouch for one that wants it. */
  readonly revocation: boolean
  readonly payload: JwtPayload
}

/** The CSRF settings of a request (derived once while settings are static). */
interface CsrfRules {
  /** `cookieSet` and `cookieCsrfProtect`: without cookie mode no token comes from a cookie. */
  readonly protect: boolean
  readonly methods: ReadonlySet<string>
  /** Lower-cased, as Node gives incoming header names. */
  readonly header: string
  readonly checkForm: boolean
  readonly field: string
}

/**
 * The CSRF value a request sent: the header, else (with `csrfCheckForm`) the field of a form
 * body already parsed. A JSON body is no form: its field is not read (flask-jwt-extended reads
 * `request.form`). The body is never parsed here: a body parser after the guard would find the
 * stream consumed.
 */
function submittedCsrf(ctx: Context, rules: CsrfRules): unknown {
  const header = ctx.req.headers[rules.header]
  if ((header !== undefined && header !== '') || !rules.checkForm) return header
  const body = (ctx.request as { body?: unknown }).body
  if (typeof body !== 'object' || body === null || !ctx.is('urlencoded', 'multipart')) return undefined
  return Object.hasOwn(body, rules.field) ? (body as Record<string, unknown>)[rules.field] : undefined
}

/**
 * What a header token that failed to verify answers: the header error when the token holds
 * whitespace (the check that `headerTokenUnchecked` leaves to this point), else the failure.
 */
function headerFailure(token: string, error: unknown): unknown {
  return hasWhitespace(token) ? new InvalidAuthorizationHeader() : error
}

/** Reads tokens from requests for one instance. @internal */
export class RequestReader {
  readonly #settings: (ctx?: object) => readonly [ExtractionSettings, ExtractionSettings]
  // The request's verified token, on the context under a key of this instance (cheaper than a
  // WeakMap entry per request).
  readonly #verifiedKey = Symbol('koa-jwt-kit verified token')
  // The token whose CSRF check passed in this request: the check runs once per request.
  readonly #csrfKey = Symbol('koa-jwt-kit csrf checked')
  readonly #csrf: (ctx?: object) => CsrfRules
  readonly #baseExtractToken: ReaderHost['extractToken']

  /** @param baseExtractToken - the base `extractToken`, to tell when a host has replaced it. */
  constructor(config: Configuration, baseExtractToken: ReaderHost['extractToken']) {
    this.#baseExtractToken = baseExtractToken
    this.#settings = config.derived((ctx) => [extraction(config, ctx, false), extraction(config, ctx, true)])
    this.#csrf = config.derived((ctx) => csrfRules(config, ctx))
  }

  /**
   * Finds the access token (or, with `refresh`, the refresh token) of a request.
   *
   * @throws MissingAuthorizationCookie, MissingAuthorizationQueryArg, MissingAuthorizationHeader,
   *   InvalidAuthorizationHeader, InvalidToken (several query values)
   */
  extract(ctx: Context, refresh: boolean): string {
    return extractToken(new KoaTokenSource(ctx), this.#settings(ctx)[refresh ? 1 : 0])
  }

  /**
   * Extracts and verifies the access token of a request; a verified result (with `verify` on) is
   * remembered for the rest of the request. Then, with `csrf`, the CSRF check of a token read
   * from a cookie ({@link RequestReader.checkCsrf}). Throws synchronously or rejects.
   */
  verify(
    ctx: Context,
    host: ReaderHost,
    verifier: TokenVerifier,
    verify: boolean,
    revocation = true,
    csrf = true,
  ): JwtPayload | Promise<JwtPayload> {
    const result = this.#verify(ctx, host, verifier, verify, revocation)
    // One property read on the common path (protection off); the check follows verification, so a
    // forged request learns nothing about a token that is not valid.
    if (!csrf || !this.#csrf(ctx).protect) return result
    if (result instanceof Promise) return result.then((payload) => this.#checkAccess(ctx, host, payload))
    return this.#checkAccess(ctx, host, result)
  }

  /**
   * The CSRF check of the request's access token (`cookieCsrfProtect`), once per request: on
   * `csrfMethods`, a token read from a cookie must come with its `csrf` claim in the
   * `csrfHeaderName` header (or, with `csrfCheckForm`, the form field). Tokens from the header
   * or the query string are never checked.
   *
   * @throws CSRFError
   */
  checkCsrf(ctx: Context, host: ReaderHost, payload: JwtPayload): void {
    if (this.#csrf(ctx).protect) this.#checkAccess(ctx, host, payload)
  }

  /**
   * The CSRF check of a refresh token on `/auth/refresh`: read from its cookie, on `csrfMethods`,
   * it must come with its own value (the `cookieCsrfRefreshName` cookie's), not the access token's.
   *
   * @throws CSRFError
   */
  checkRefreshCsrf(ctx: Context, refreshToken: string): void {
    const rules = this.#csrf(ctx)
    if (!rules.protect || !rules.methods.has(ctx.method) || !this.#fromCookie(ctx, refreshToken, true)) return
    checkDoubleSubmit(refreshCsrfValue(refreshToken), submittedCsrf(ctx, rules))
  }

  #checkAccess(ctx: Context, host: ReaderHost, payload: JwtPayload): JwtPayload {
    const rules = this.#csrf(ctx)
    if (!rules.methods.has(ctx.method)) return payload
    const memo = ctx as unknown as Record<symbol, string | undefined>
    // The token used, as extractToken finds it (its precedence decides which one that is).
    const token = host.extractToken(ctx)
    if (memo[this.#csrfKey] === token || !this.#fromCookie(ctx, token, false)) return payload
    checkDoubleSubmit(payload.csrf, submittedCsrf(ctx, rules))
    memo[this.#csrfKey] = token
    return payload
  }

  /**
   * Whether the token used came from the cookies: they hold that very token. With an
   * `extractToken` that prefers another source holding the same token, the check runs anyway:
   * it can refuse, never let through.
   */
  #fromCookie(ctx: Context, token: string, refresh: boolean): boolean {
    const settings = this.#settings(ctx)[refresh ? 1 : 0]
    return settings.cookieSet && cookieToken(new KoaTokenSource(ctx), settings) === token
  }

  #verify(
    ctx: Context,
    host: ReaderHost,
    verifier: TokenVerifier,
    verify: boolean,
    revocation: boolean,
  ): JwtPayload | Promise<JwtPayload> {
    // With the header as the only place to look and extractToken not overridden, the token is read
    // here and scanned for whitespace only if it fails to verify (headerTokenUnchecked): same
    // errors, one scan of the token fewer on every request that passes.
    const settings = this.#settings(ctx)[0]
    const direct = host.extractToken === this.#baseExtractToken && readsHeaderOnly(settings)
    const token = direct
      ? headerToken(ctx.req.headers[settings.headerName], settings.headerPrefix, false)
      : host.extractToken(ctx)
    const unchecked = direct && settings.headerPrefix !== ''
    const memo = ctx as unknown as Record<symbol, Verified | undefined>
    const seen = memo[this.#verifiedKey]
    const rules = verifier.rulesFor(ctx)
    if (seen !== undefined && seen.token === token && seen.rules === rules && (seen.revocation || !revocation)) {
      return seen.payload
    }
    let result: JwtPayload | Promise<JwtPayload>
    try {
      result = verifier.verifyUnder(rules, token, { ctx, verify, revocation }, host)
    } catch (error) {
      throw unchecked ? headerFailure(token, error) : error
    }
    if (result instanceof Promise) {
      return result.then(
        (payload) => {
          if (verify) memo[this.#verifiedKey] = { token, rules, revocation, payload }
          return payload
        },
        (error: unknown) => {
          throw unchecked ? headerFailure(token, error) : error
        },
      )
    }
    if (verify) memo[this.#verifiedKey] = { token, rules, revocation, payload: result }
    return result
  }
}

function csrfRules(c: Configuration, ctx: object | undefined): CsrfRules {
  return {
    protect: c.get('cookieSet', ctx) && c.get('cookieCsrfProtect', ctx),
    methods: new Set(c.get('csrfMethods', ctx)),
    header: c.get('csrfHeaderName', ctx).toLowerCase(),
    checkForm: c.get('csrfCheckForm', ctx),
    field: c.get('csrfFieldName', ctx),
  }
}

function extraction(c: Configuration, ctx: object | undefined, refresh: boolean): ExtractionSettings {
  return {
    cookieSet: c.get('cookieSet', ctx),
    cookieStrict: c.get('cookieStrict', ctx),
    cookieSplit: c.get('cookieSplit', ctx),
    cookieName: refresh ? c.get('cookieRefreshTokenName', ctx) : c.get('cookieAccessTokenName', ctx),
    cookieSignatureName: c.get('cookieSplitSignatureName', ctx),
    queryStringSet: c.get('queryStringSet', ctx),
    queryStringStrict: c.get('queryStringStrict', ctx),
    queryName: refresh ? c.get('queryStringRefreshTokenName', ctx) : c.get('queryStringAccessTokenName', ctx),
    headerName: c.get('authorizationHeader', ctx).toLowerCase(),
    headerPrefix: c.get('authorizationHeaderPrefix', ctx),
    refresh,
    refreshBodyName: c.get('refreshTokenName', ctx),
  }
}
