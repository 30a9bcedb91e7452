/**
 * Every error the library raises. All extend {@link KoaJwtError}, which is compatible with Koa's
 * `ctx.onerror` (`status`, `statusCode`, `expose`, `headers`), so even without the library's own
 * rendering Koa answers with the right status and hides 5xx messages.
 *
 * Class names, statuses and default messages are those of sanic-jwt 1.8 (docs/errors.md lists them); the
 * `code` values are this library's stable, documented identifiers.
 *
 * @module
 */

/**
 * Stable error code → HTTP status table. `code` is what clients and `switch` statements should
 * test; messages may be customised.
 */
export const ERROR_CODES = {
  ERR_JWT: 500,
  ERR_JWT_INSTANCE_NOT_FOUND: 500,
  ERR_JWT_AUTHENTICATION_FAILED: 401,
  ERR_JWT_MISSING_HEADER: 400,
  ERR_JWT_MISSING_COOKIE: 400,
  ERR_JWT_MISSING_QUERY_ARG: 400,
  ERR_JWT_INVALID_HEADER: 400,
  ERR_JWT_INVALID_TOKEN: 401,
  ERR_JWT_MALFORMED: 401,
  ERR_JWT_INVALID_SIGNATURE: 401,
  ERR_JWT_INVALID_ALGORITHM: 401,
  ERR_JWT_EXPIRED: 401,
  ERR_JWT_NOT_YET_VALID: 401,
  ERR_JWT_INVALID_AUDIENCE: 401,
  ERR_JWT_INVALID_ISSUER: 401,
  ERR_JWT_CLAIM_MISSING: 401,
  ERR_JWT_INVALID_CLAIM_TYPE: 401,
  ERR_JWT_UNKNOWN_KID: 401,
  ERR_JWT_INVALID_CUSTOM_CLAIM: 500,
  ERR_JWT_CUSTOM_CLAIM_FAILED: 401,
  ERR_JWT_INVALID_VERIFICATION: 500,
  ERR_JWT_VERIFICATION_FAILED: 401,
  ERR_JWT_UNAUTHORIZED: 401,
  ERR_JWT_INVALID_SCOPE: 403,
  ERR_JWT_NEEDS_FRESH: 401,
  ERR_JWT_USER_LOOKUP: 401,
  ERR_JWT_REVOKED: 401,
  ERR_JWT_REFRESH_REUSED: 401,
  ERR_JWT_CSRF: 401,
  ERR_JWT_STORE_UNAVAILABLE: 503,
  ERR_JWT_KEYS_UNAVAILABLE: 503,
  ERR_JWT_AUTHENTICATE_NOT_IMPLEMENTED: 500,
  ERR_JWT_REFRESH_NOT_IMPLEMENTED: 500,
  ERR_JWT_SCOPES_NOT_IMPLEMENTED: 500,
  ERR_JWT_USER_SECRET_NOT_IMPLEMENTED: 500,
  ERR_JWT_MISSING_REGISTERED_CLAIM: 500,
  ERR_JWT_ME_NOT_SETUP: 500,
  ERR_JWT_INVALID_USER_OBJECT: 500,
  ERR_JWT_INITIALIZATION_FAILURE: 500,
  ERR_JWT_INVALID_CLASS_VIEWS: 500,
  ERR_JWT_INVALID_CONFIGURATION: 500,
  ERR_JWT_INVALID_PAYLOAD: 500,
  ERR_JWT_REQUIRED_KEYS_NOT_FOUND: 500,
  ERR_JWT_PATH_NOT_FOUND: 500,
  ERR_JWT_INVALID_BODY: 400,
  ERR_JWT_BODY_TOO_LARGE: 413,
  ERR_JWT_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_JWT_HANDLER_FAILED: 500,
} as const

/** Union of every stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES

/** Options accepted by every error constructor. */
export interface KoaJwtErrorOptions {
  /** Overrides the class's default HTTP status (sanic-jwt's `status_code`). */
  status?: number
  /** Overrides the class's default code (e.g. `ERR_JWT_EXPIRED` on an `Unauthorized`). */
  code?: ErrorCode
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  headers?: Record<string, string>
  /** The underlying error (ES2022 `cause`); never shown to clients. */
  cause?: unknown
}

/** A message given as a single string or, like sanic-jwt's reasons, as a list of strings. */
export type ErrorMessage = string | readonly string[]

function bearerChallenge(code: string, status: number, description: string): string | undefined {
  if (status !== 401) return undefined
  // RFC 6750 §3: no error attribute when the request carried no bearer credentials (a missing
  // token, or a failed login); invalid_request for a malformed header; invalid_token otherwise.
  if (
    (code.startsWith('ERR_JWT_MISSING_') && code !== 'ERR_JWT_MISSING_REGISTERED_CLAIM') ||
    code === 'ERR_JWT_AUTHENTICATION_FAILED'
  ) {
    return 'Bearer'
  }
  if (code === 'ERR_JWT_INVALID_HEADER') return 'Bearer error="invalid_request"'
  // RFC 6750 §3: error_description is printable ASCII without '"' and '\\'; anything else (a
  // translated message, a control character) would make Node refuse the header and the 401 a 500.
  const safe = description.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')
  // A failed CSRF check: the token is fine, the request lacks its double-submit value
  // (invalid_token would tell the client to drop a good token).
  if (code === 'ERR_JWT_CSRF') return `Bearer error="invalid_request", error_description="${safe}"`
  // RFC 9470 §3: the token is valid, the authentication behind it is not recent enough. A client
  // keeps the token (invalid_token would tell it to drop it) and asks the user to log in again.
  const error = code === 'ERR_JWT_NEEDS_FRESH' ? 'insufficient_user_authentication' : 'invalid_token'
  return `Bearer error="${error}", error_description="${safe}"`
}

/**
 * Base class of every koa-jwt-kit error.
 *
 * @example
 * ```ts
 * try { await jwt.auth.verifyToken(token) } catch (err) {
 *   if (err instanceof KoaJwtError && err.code === 'ERR_JWT_EXPIRED') { ... }
 * }
 * ```
 */
export class KoaJwtError extends Error {
  /** Default status of the class. */
  static readonly status: number = 500
  /** Default code of the class. */
  static readonly code: ErrorCode = 'ERR_JWT'
  /** Default message of the class. */
  static readonly defaultMessage: string = 'An error occurred in koa-jwt-kit.'

  override name = 'KoaJwtError'
  /** HTTP status sent to the client. */
  status: number
  /** Stable machine-readable code. */
  code: ErrorCode
  /** True below 500: Koa may show the message to clients. */
  expose: boolean
  /** Response headers to send with the error. */
  headers: Record<string, string>
  /** The reasons rendered in the `reasons` list of the error body. */
  reasons: string[]

  /**
   * @param message - a message or a list of reasons; defaults to the class's sanic-jwt message.
   * @param options - status/code overrides, headers and `cause`.
   */
  constructor(message?: ErrorMessage | null, options: KoaJwtErrorOptions = {}) {
    const ctor = new.target as unknown as typeof KoaJwtError
    const reasons =
      message === undefined || message === null
        ? [ctor.defaultMessage]
        : typeof message === 'string'
          ? [message]
          : [...message]
    super(reasons.join(' '), options.cause === undefined ? undefined : { cause: options.cause })
    this.reasons = reasons
    this.status = options.status ?? ctor.status
    this.code = options.code ?? ctor.code
    this.expose = this.status < 500
    const challenge = bearerChallenge(this.code, this.status, reasons[0] ?? '')
    this.headers = { ...(challenge ? { 'WWW-Authenticate': challenge } : {}), ...options.headers }
  }

  /** Alias of {@link KoaJwtError.status} for http-errors compatibility. */
  get statusCode(): number {
    return this.status
  }
}

/** Thrown by `authenticate` handlers to reject a login. 401. */
export class AuthenticationFailed extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_AUTHENTICATION_FAILED'
  static override readonly defaultMessage = 'Authentication failed.'
  override name = 'AuthenticationFailed'
}

/** No token in the configured header. 400 (401 on protected routes outside debug mode). */
export class MissingAuthorizationHeader extends KoaJwtError {
  static override readonly status = 400
  static override readonly code: ErrorCode = 'ERR_JWT_MISSING_HEADER'
  static override readonly defaultMessage = 'Authorization header not present.'
  override name = 'MissingAuthorizationHeader'
}

/** No token in the access-token cookie (cookie mode). 400 (401 outside debug mode). */
export class MissingAuthorizationCookie extends KoaJwtError {
  static override readonly status = 400
  static override readonly code: ErrorCode = 'ERR_JWT_MISSING_COOKIE'
  static override readonly defaultMessage = 'Authorization cookie not present.'
  override name = 'MissingAuthorizationCookie'
}

/** No token in the query string (query-string mode). 400 (401 outside debug mode). */
export class MissingAuthorizationQueryArg extends KoaJwtError {
  static override readonly status = 400
  static override readonly code: ErrorCode = 'ERR_JWT_MISSING_QUERY_ARG'
  static override readonly defaultMessage = 'Authorization query argument not present.'
  override name = 'MissingAuthorizationQueryArg'
}

/** The authorization header does not have the form `<prefix> <token>`. 400. */
export class InvalidAuthorizationHeader extends KoaJwtError {
  static override readonly status = 400
  static override readonly code: ErrorCode = 'ERR_JWT_INVALID_HEADER'
  static override readonly defaultMessage = 'Authorization header is invalid.'
  override name = 'InvalidAuthorizationHeader'
}

/**
 * A token that failed verification (signature, structure or a claim rule). The `code` names the
 * failure (`ERR_JWT_EXPIRED`, `ERR_JWT_INVALID_SIGNATURE`, ...). 401.
 */
export class InvalidToken extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_INVALID_TOKEN'
  static override readonly defaultMessage = 'Auth required.'
  override name = 'InvalidToken'
}

/** A custom claim's `verify` did not return a boolean (developer error). 500. */
export class InvalidCustomClaim extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_INVALID_CUSTOM_CLAIM'
  static override readonly defaultMessage = 'Custom claim is invalid.'
  override name = 'InvalidCustomClaim'
}

/** A custom claim's `verify` returned false: "Invalid claim: <key>." 401. */
export class InvalidCustomClaimError extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_CUSTOM_CLAIM_FAILED'
  static override readonly defaultMessage = 'Custom claim value was not met.'
  override name = 'InvalidCustomClaimError'
}

/** An extra verification is not a function or did not return a boolean (developer error). 500. */
export class InvalidVerification extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_INVALID_VERIFICATION'
  static override readonly defaultMessage =
    'Verifications must be a callable object returning a boolean value.'
  override name = 'InvalidVerification'
}

/** An extra verification returned false. 401. */
export class InvalidVerificationError extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_VERIFICATION_FAILED'
  static override readonly defaultMessage = 'Verifications were not met.'
  override name = 'InvalidVerificationError'
}

/**
 * A valid token that is not fresh (or whose freshness window has passed) on a route that requires a
 * fresh one (`protected({ fresh: true })`): log in again, e.g. through the fresh-login endpoint. 401.
 */
export class NeedsFreshToken extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_NEEDS_FRESH'
  static override readonly defaultMessage = 'Fresh token required.'
  override name = 'NeedsFreshToken'
}

/**
 * `retrieveUser` found no user for a valid token on a route that requires one
 * (`protected({ user: true })`, `injectUser({ required: true })`). 401.
 */
export class UserLookupFailed extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_USER_LOOKUP'
  static override readonly defaultMessage = 'User not found.'
  override name = 'UserLookupFailed'
}

/** A token that was revoked (`jwt.tokens.revoke()`, a logout, `revokeUser()`, `isTokenRevoked`). 401. */
export class RevokedToken extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_REVOKED'
  static override readonly defaultMessage = 'Token has been revoked.'
  override name = 'RevokedToken'
}

/**
 * A rotated refresh token was presented again (`refreshRotation`): stolen, or replayed. The whole
 * family of tokens of that login is revoked. 401.
 */
export class RefreshTokenReused extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_REFRESH_REUSED'
  static override readonly defaultMessage = 'Refresh token reused.'
  override name = 'RefreshTokenReused'
}

/**
 * A failed CSRF double-submit check (`cookieCsrfProtect`): a request whose token came from a
 * cookie, on one of `csrfMethods`, without the token's CSRF value in the `csrfHeaderName` header
 * (or the `csrfFieldName` form field), "Missing CSRF token.", or with another value, "CSRF
 * double submit tokens do not match.". Rendered by `Responses#csrfErrorResponse`. 401.
 */
export class CSRFError extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_CSRF'
  static override readonly defaultMessage = 'CSRF double submit tokens do not match.'
  override name = 'CSRFError'
}

/**
 * The token store failed or did not answer within `storeTimeout`: nothing is issued and no
 * token is accepted without its revocation check ("fail closed"). 503.
 */
export class StoreUnavailable extends KoaJwtError {
  static override readonly status = 503
  static override readonly code: ErrorCode = 'ERR_JWT_STORE_UNAVAILABLE'
  static override readonly defaultMessage = 'Token store unavailable.'
  override name = 'StoreUnavailable'
}

/**
 * The keys that would verify the token cannot be had: the `jwksUri` key set could not be fetched
 * (down, too slow, or no usable key) and no known key names the token's `kid`. The keys known
 * before stay in use; the next fetch comes after `jwksCooldown`. 503.
 */
export class KeysUnavailable extends KoaJwtError {
  static override readonly status = 503
  static override readonly code: ErrorCode = 'ERR_JWT_KEYS_UNAVAILABLE'
  static override readonly defaultMessage = 'Verification keys unavailable.'
  override name = 'KeysUnavailable'
}

/** Auth mode is on but no `authenticate` handler was given. Start-up error. */
export class AuthenticateNotImplemented extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_AUTHENTICATE_NOT_IMPLEMENTED'
  static override readonly defaultMessage =
    'koa-jwt-kit initialized without providing an authenticate method.'
  override name = 'AuthenticateNotImplemented'
}

/** Refresh tokens are enabled without both store and retrieve handlers (or without `retrieveUser`). */
export class RefreshTokenNotImplemented extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_REFRESH_NOT_IMPLEMENTED'
  static override readonly defaultMessage = 'Refresh tokens have not been enabled.'
  override name = 'RefreshTokenNotImplemented'
}

/** Scopes are enabled without an `addScopesToPayload` handler. Start-up error. */
export class ScopesNotImplemented extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_SCOPES_NOT_IMPLEMENTED'
  static override readonly defaultMessage =
    'Scopes have not been enabled. Initialize with addScopesToPayload to provide scoping.'
  override name = 'ScopesNotImplemented'
}

/** User secrets are enabled without a `retrieveUserSecret` handler. Start-up error. */
export class UserSecretNotImplemented extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_USER_SECRET_NOT_IMPLEMENTED'
  static override readonly defaultMessage = 'User secrets have not been enabled.'
  override name = 'UserSecretNotImplemented'
}

/** A registered claim is missing from the payload after `extendPayload`. 500. */
export class MissingRegisteredClaim extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_MISSING_REGISTERED_CLAIM'
  static override readonly defaultMessage =
    'One or more claims have been registered, but your extendPayload() method does not supply them.'
  override name = 'MissingRegisteredClaim'
  /** The names of the missing claims. */
  readonly missing: string[]

  constructor(missing: readonly string[] = [], options: KoaJwtErrorOptions = {}) {
    // sanic-jwt's wording: the names as a Python-style list, e.g. "... supply them. ['nbf']".
    super(`${MissingRegisteredClaim.defaultMessage} [${missing.map((name) => `'${name}'`).join(', ')}]`, options)
    this.missing = [...missing]
  }
}

/** `/me` was called but no `retrieveUser` handler exists. 500. */
export class MeEndpointNotSetup extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_ME_NOT_SETUP'
  static override readonly defaultMessage =
    '/me endpoint has not been setup. Pass retrieveUser if you wish to proceed.'
  override name = 'MeEndpointNotSetup'
}

/** A user object is neither a plain object with the user id key nor has `toDict()`. 500. */
export class InvalidRetrieveUserObject extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_INVALID_USER_OBJECT'
  static override readonly defaultMessage =
    'The retrieveUser method should return either an object or an object with a toDict or toJSON method.'
  override name = 'InvalidRetrieveUserObject'
}

/** `Initialize` got something other than a Koa app or router, or a component class of the wrong kind. */
export class InitializationFailure extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_INITIALIZATION_FAILURE'
  static override readonly defaultMessage =
    'koa-jwt-kit was not initialized properly. It must be instantiated on a Koa application or a @koa/router Router.'
  override name = 'InitializationFailure'
}

/**
 * Generic authorization failure raised by `protected()` / `scoped()`. 401 by default; 403 with
 * `ERR_JWT_INVALID_SCOPE` for scope failures; its `code` names the underlying failure.
 */
export class Unauthorized extends KoaJwtError {
  static override readonly status = 401
  static override readonly code: ErrorCode = 'ERR_JWT_UNAUTHORIZED'
  static override readonly defaultMessage = 'Auth required.'
  override name = 'Unauthorized'
}

/** `classViews` is not a list of `[path, BaseEndpoint subclass]` pairs. Start-up error. */
export class InvalidClassViewsFormat extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_INVALID_CLASS_VIEWS'
  static override readonly defaultMessage =
    "classViews should follow this format: ['<SOME ROUTE>', ClassInheritedFromBaseEndpoint]"
  override name = 'InvalidClassViewsFormat'
}

/** A setting has a wrong type or value. Start-up error; the message names the setting. */
export class InvalidConfiguration extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_INVALID_CONFIGURATION'
  static override readonly defaultMessage = 'An invalid setting was passed to the koa-jwt-kit configuration.'
  override name = 'InvalidConfiguration'

  constructor(message?: ErrorMessage | null, options: KoaJwtErrorOptions = {}) {
    super(
      typeof message === 'string'
        ? `An invalid setting was passed to the koa-jwt-kit configuration: ${message}`
        : message,
      options,
    )
  }
}

/** `buildPayload` did not return an object holding the user id key. 500. */
export class InvalidPayload extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_INVALID_PAYLOAD'
  static override readonly defaultMessage =
    'Payload must be an object with a key mapped to the "userId" setting.'
  override name = 'InvalidPayload'
}

/** An asymmetric algorithm is configured without usable keys. Start-up error. */
export class RequiredKeysNotFound extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_REQUIRED_KEYS_NOT_FOUND'
  static override readonly defaultMessage =
    'You must provide both (valid) "publicKey" (or "secret") and "privateKey" when using asymmetric cryptographic algorithms like RS*, ES* or PS*.'
  override name = 'RequiredKeysNotFound'
}

/** A key given as a path (`URL` or `{ path }`) names no file. Start-up error. */
export class ProvidedPathNotFound extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_PATH_NOT_FOUND'
  static override readonly defaultMessage = 'The path given is not a valid file.'
  override name = 'ProvidedPathNotFound'
}

/** The request body of a built-in endpoint could not be read (400, 413 or 415). */
export class InvalidRequestBody extends KoaJwtError {
  static override readonly status = 400
  static override readonly code: ErrorCode = 'ERR_JWT_INVALID_BODY'
  static override readonly defaultMessage = 'The request body is invalid.'
  override name = 'InvalidRequestBody'
}

/** A user handler (store, retrieve, authenticate, ...) failed with a non-HTTP error. 500. */
export class HandlerFailed extends KoaJwtError {
  static override readonly code: ErrorCode = 'ERR_JWT_HANDLER_FAILED'
  static override readonly defaultMessage = 'An authentication handler failed.'
  override name = 'HandlerFailed'
}

/**
 * What a failure of a user hook (handler, scope function, store...) becomes: library errors and
 * HTTP errors with a 4xx status pass through unchanged, anything else is a 500 `HandlerFailed` with the
 * original as `cause`. @internal
 */
export function asLibraryError(error: unknown): unknown {
  if (error instanceof KoaJwtError) return error
  const status = (error as { status?: unknown } | null)?.status
  // Only a real client-error status passes: a 200, 0, 1.5 or 399 on a failed login would answer
  // as if it had worked, or make Koa answer its own 500 text.
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500) return error
  return new HandlerFailed(null, { cause: error })
}

/** True when `value` is a koa-jwt-kit error. */
export function isKoaJwtError(value: unknown): value is KoaJwtError {
  return value instanceof KoaJwtError
}
