import { timingSafeEqual } from 'node:crypto'

import type { Context } from 'koa'

import type { ClaimClass } from './Claim'
import type { Configuration } from './Configuration'
import { instantiateClaim } from './core/claims'
import { KeyStore } from './core/KeyStore'
import type { ScopeTuple } from './core/scope-matcher'
import { readClock, type JwtPayload } from './core/token'
import { TokenIssuer } from './core/TokenIssuer'
import { TokenRegistry, type AuditEvent } from './core/TokenRegistry'
import type { TokenStore } from './core/stores/TokenStore'
import { TokenVerifier, type ExtraVerification } from './core/TokenVerifier'
import { userDict } from './core/users'
import type { VerifyCacheOptions } from './core/verify-cache'
import {
  AuthenticateNotImplemented,
  AuthenticationFailed,
  CSRFError,
  InvalidConfiguration,
  MeEndpointNotSetup,
  RefreshTokenNotImplemented,
  RevokedToken,
  ScopesNotImplemented,
  UserSecretNotImplemented,
  isKoaJwtError,
} from './errors'
import { RequestReader } from './request/RequestReader'
import { scopesMatch, type ScopeRequirement } from './request/scope-check'
import type { HandlerName, KeyInput, SettingsInput } from './settings'

export type { ExtraVerification } from './core/TokenVerifier'
export type { ScopeContext, ScopeRequirement } from './request/scope-check'
export { HANDLER_NAMES, type HandlerName } from './settings'

/** Options of {@link Authentication.generateAccessToken}. */
export interface GenerateAccessTokenOptions<User> {
  /** Inline claim classes for this token only. */
  customClaims?: readonly ClaimClass<User>[]
  /** Called after the registered-claim check, like sanic-jwt's inline `extend_payload`. */
  extendPayload?: (payload: JwtPayload, user: User) => JwtPayload | void | Promise<JwtPayload | void>
  /**
   * Lifetime of this token in seconds (or a span such as '5m'), instead of the `expirationDelta`
   * setting; `false` issues a token without `exp`, which verification accepts only where
   * `allowNoExpiration` is on (a process warning says so the first time).
   */
  expirationDelta?: number | string | false
  /**
   * The `fresh` claim (flask-jwt-extended's fresh tokens): `true`, `false`, or a number of seconds
   * the token stays fresh (stored as the epoch `iat + n`). `POST /auth` passes the
   * `loginFreshness` setting, `POST /auth/refresh` passes false.
   */
  fresh?: boolean | number | string
  /** The request, for per-request settings and `addScopesToPayload(user, ctx)`. */
  ctx?: Context
}

/** Options of {@link Authentication.verifyToken}. */
export interface VerifyTokenOptions {
  /** Inline claim classes for this call only. */
  customClaims?: readonly ClaimClass[]
  /** The request, for per-request settings. */
  ctx?: Context
  /** When false, extra verifications and custom claims are skipped (signature and registered claims never are). @default true */
  verify?: boolean
}

/**
 * The handlers that tie the library to your user store, and the hooks of the token lifecycle.
 * Override the handler methods in a subclass (or pass them as `Initialize` options) and, for
 * deeper changes, the payload and extraction hooks. The machinery lives in parts this class
 * composes (see ARCHITECTURE.md): issuing (`core/TokenIssuer`), verifying (`core/TokenVerifier`),
 * keys (`core/KeyStore`) and reading requests (`request/RequestReader`).
 *
 * @typeParam User - your user type.
 *
 * @example
 * ```ts
 * class MyAuthentication extends Authentication<User> {
 *   override async authenticate(ctx: Context) { ... return user }
 *   override async retrieveUser(ctx: Context, payload: JwtPayload) { return users.get(payload.user_id) }
 * }
 * new Initialize(app, { secret, authenticationClass: MyAuthentication })
 * ```
 */
export class Authentication<User = any> {
  /** The configuration of the `Initialize` instance. */
  readonly config: Configuration
  readonly #keys: KeyStore
  readonly #issuer: TokenIssuer<User>
  readonly #verifier: TokenVerifier
  readonly #reader: RequestReader
  #registry: TokenRegistry

  /** @param config - the resolved configuration. */
  constructor(config: Configuration) {
    this.config = config
    const base = Authentication.prototype
    this.#keys = new KeyStore(config)
    this.#issuer = new TokenIssuer<User>(config, this.#keys, base)
    this.#verifier = new TokenVerifier(config, this.#keys)
    this.#reader = new RequestReader(config, base.extractToken)
    this.#registry = new TokenRegistry(config, undefined, (event) => this.audit(event))
  }

  /**
   * Checks the credentials of a login request (`POST /auth`) and returns the user: a plain object
   * holding the `userId` key, or an object with `toDict()`. Throw `AuthenticationFailed` to reject.
   *
   * @throws AuthenticateNotImplemented unless overridden or passed as an option.
   */
  authenticate(_ctx: Context): User | Promise<User> {
    throw new AuthenticateNotImplemented()
  }

  /**
   * Loads the user of a verified payload (for `/me`, `injectUser` and `/refresh`).
   *
   * @returns the user, or null when there is none.
   */
  retrieveUser(_ctx: Context, _payload: JwtPayload): User | null | Promise<User | null> {
    throw new MeEndpointNotSetup()
  }

  /** Persists a refresh token generated for a user. */
  storeRefreshToken(_userId: unknown, _refreshToken: string, _ctx: Context): unknown {
    throw new RefreshTokenNotImplemented()
  }

  /**
   * Returns the refresh token stored for a user: a string, a UTF-8 `Buffer`, or null/undefined
   * when none is stored (a revoked token).
   */
  retrieveRefreshToken(
    _userId: unknown,
    _ctx: Context,
  ): string | Buffer | null | undefined | Promise<string | Buffer | null | undefined> {
    throw new RefreshTokenNotImplemented()
  }

  /** Returns the scopes to put in a user's tokens (a string is wrapped in a list). */
  addScopesToPayload(_user: User, _ctx?: Context): string | string[] | Promise<string | string[]> {
    throw new ScopesNotImplemented()
  }

  /** Adds to or changes the payload after the claims are set. @returns the payload. */
  extendPayload(payload: JwtPayload, _user?: User): JwtPayload | Promise<JwtPayload> {
    return payload
  }

  /**
   * Returns the secret (or key) of one user, when `userSecretEnabled`.
   *
   * @param userId - the user id read from the payload under the `userId` setting.
   * @param options.encode - true when signing with an asymmetric algorithm (return the private key).
   */
  retrieveUserSecret(_userId: unknown, _options: { encode: boolean }): KeyInput | Promise<KeyInput> {
    throw new UserSecretNotImplemented()
  }

  /** May change the outcome of each single scope check. Sync. @returns the final verdict. */
  overrideScopeValidator(
    isValid: boolean,
    _required: ScopeTuple,
    _userScopes: ScopeTuple[],
    _requireAllActions: boolean,
  ): boolean {
    return isValid
  }

  /** Rewrites the raw scope requirement of a route before it is matched. */
  destructureScopes(scopes: ScopeRequirement, _ctx?: Context): ScopeRequirement | Promise<ScopeRequirement> {
    return scopes
  }

  /**
   * Whether a verified access token is revoked (while `revocationEnabled`), after its signature
   * and claims were checked, cache hits included. The base checks the token store: its record is
   * not revoked and it was issued after its user's `revokeUser` cut-off (a token without `jti` is
   * refused as invalid). Override it (or pass it as an option) to decide yourself, e.g. against a
   * database; `super.isTokenRevoked()` keeps the store check.
   *
   * @returns true to refuse the token (401 `RevokedToken`).
   */
  isTokenRevoked(payload: JwtPayload, _ctx?: Context): boolean | Promise<boolean> {
    // Synchronous on the embedded store: the protected request then makes no promise for it.
    let pending: void | Promise<void>
    try {
      pending = this.#registry.checkAccessNow(payload)
    } catch (error) {
      return revokedBy(error)
    }
    return pending === undefined ? false : pending.then(() => false, revokedBy)
  }

  /**
   * Called with what happens to tokens: `login`, `refresh`, `logout`, `revoked`,
   * `reuse_detected` (type, user id, token id, time; never a token or a secret). The base does
   * nothing: send them to your logs or your security monitoring. An error thrown here fails the
   * request it happens in.
   */
  audit(_event: AuditEvent): void | Promise<void> {}


  /**
   * True when a handler is given: a function overriding the base one, in a subclass or as an
   * option. A non-function field (`authenticate = 'foobar'`) is no handler. @internal
   */
  implements(name: HandlerName): boolean {
    const value = (this as unknown as Record<string, unknown>)[name]
    return typeof value === 'function' && value !== Authentication.prototype[name]
  }

  /**
   * Registers custom claims and extra verifications and compiles the keys. Called once by
   * `Initialize` after construction (class fields of subclasses exist by then). @internal
   */
  setup(
    claims: readonly ClaimClass<User>[] = [],
    verifications: readonly ExtraVerification[] = [],
    cache: VerifyCacheOptions | boolean = false,
    keys?: unknown,
  ): void {
    if (!Array.isArray(claims)) {
      throw new InvalidConfiguration('the "customClaims" option must be a list of Claim subclasses.')
    }
    readClock(this.config.get('clock'))
    const instances = claims.map((ClaimType) => instantiateClaim(ClaimType))
    this.#verifier.setup(instances, verifications, cache)
    this.#issuer.useClaims(instances)
    this.#keys.configure(keys)
    if (this.#keys.source === undefined) this.#keys.compiled()
    this.#issuer.useRegistry(this.#registry)
    this.config.onChange((name) => {
      if (name === 'algorithm' || name === 'secret' || name === 'privateKey') {
        if (this.#keys.source !== undefined) {
          throw new InvalidConfiguration(
            `the "${name}" setting is not used with the "keys" option or "jwksUri": change keys with rotateKeys().`,
          )
        }
        this.#keys.recompile()
        this.#verifier.clearCache()
      }
    })
  }

  /**
   * Replaces the key ring (`jwt.rotateKeys`): compiled and checked first, then swapped whole;
   * the verify cache is emptied. @internal
   *
   * @throws InvalidConfiguration, RequiredKeysNotFound; the ring in use stays on failure.
   */
  rotateKeys(keys: unknown): void {
    this.#keys.rotate(keys)
    this.#verifier.clearCache()
  }

  /** The instance's keys (ring, remote key set, published JWK Set). @internal */
  get keyStore(): KeyStore {
    return this.#keys
  }

  /**
   * Gives the instance its token store (`tokenStore` option, or the default `MemoryStore` while
   * `revocationEnabled`). Called once by `Initialize`. @internal
   */
  useStore(store: TokenStore | undefined): void {
    this.#registry = new TokenRegistry(this.config, store, (event) => this.audit(event))
    this.#issuer.useRegistry(this.#registry)
  }

  /** The tokens this instance issued, in its token store (`jwt.tokens`). */
  get tokens(): TokenRegistry {
    return this.#registry
  }

  /**
   * True when refresh tokens live in the token store: a store is in use and neither refresh
   * handler is given. @internal
   */
  get storesRefreshTokens(): boolean {
    return this.#registry.store !== undefined && !this.implements('storeRefreshToken') && !this.implements('retrieveRefreshToken')
  }

  /**
   * Reads the id of a user: a plain object holding the `userId` key is used as is; any other
   * object goes through `toDict()` (sync or async).
   *
   * @throws InvalidRetrieveUserObject
   */
  async getUserId(user: unknown, ctx?: Context): Promise<unknown> {
    const key = this.config.get('userId', ctx)
    const dict = userDict(user, key)
    return (dict instanceof Promise ? await dict : dict)[key]
  }

  /** Builds the base payload `{ [userId]: id }` of a user. Override to change the payload shape. */
  async buildPayload(user: User, ctx?: Context): Promise<JwtPayload> {
    return this.#issuer.basePayload(user, ctx)
  }

  /**
   * Adds `exp` and, when configured, `iss`, `iat`, `nbf`, `aud`, then the custom claims.
   *
   * @returns the payload.
   */
  async addClaims(
    payload: JwtPayload,
    user: User,
    inlineClaims: readonly ClaimClass<User>[] = [],
    ctx?: Context,
    expirationDelta?: number | false,
  ): Promise<JwtPayload> {
    return this.#issuer.addClaims(payload, user, inlineClaims, ctx, expirationDelta)
  }

  /**
   * Builds and signs an access token for a user: `buildPayload` → `addClaims` → `extendPayload`
   * → scopes → registered-claim check → sign.
   *
   * @throws InvalidPayload, MissingRegisteredClaim, InvalidRetrieveUserObject
   */
  async generateAccessToken(user: User, options: GenerateAccessTokenOptions<User> = {}): Promise<string> {
    return this.#issuer.issue(this, user, options)
  }

  /**
   * Generates a refresh token with the `generateRefreshToken` setting and stores it through
   * `storeRefreshToken(userId, token, ctx)`, or, without refresh handlers, in the token store
   * (one per login, in the login's family, until `refreshExpirationDelta`).
   *
   * @returns the refresh token.
   */
  async generateRefreshToken(ctx: Context, user: User): Promise<string> {
    const token = await this.newRefreshToken(ctx)
    const userId = await this.getUserId(user, ctx)
    if (this.storesRefreshTokens) await this.#registry.recordRefresh(token, userId, ctx)
    else await this.storeRefreshToken(userId, token, ctx)
    return token
  }

  /** A new refresh token from the `generateRefreshToken` setting, checked. @internal */
  async newRefreshToken(ctx?: Context): Promise<string> {
    const token = await this.config.get('generateRefreshToken', ctx)()
    if (typeof token !== 'string' || token === '') {
      throw new RefreshTokenNotImplemented('generateRefreshToken must return a non-empty string.')
    }
    return token
  }

  /**
   * Verifies a token: algorithm and signature, registered claims (with leeway and the clock), then
   * extra verifications and custom claims.
   *
   * @returns the payload.
   * @throws InvalidToken (with a code naming the failure), InvalidCustomClaimError,
   *   InvalidVerificationError, and the developer errors InvalidCustomClaim, InvalidVerification.
   */
  async verifyToken(token: string, options: VerifyTokenOptions = {}): Promise<JwtPayload> {
    return this.#verifier.verify(token, options, this)
  }

  /**
   * Removes verified tokens from the cache (`verifyCache` option): by token, by `jti`, or all the
   * tokens of a user. Call it when you revoke tokens or change a user's secret.
   *
   * @returns how many entries were removed (0 when the cache is off).
   */
  evictVerified(filter: { token?: string; jti?: unknown; userId?: unknown }): number {
    return this.#verifier.evict(filter, this.config.get('userId'))
  }

  /**
   * Finds the access token (or, with `refresh`, the refresh token) of a request: cookies, then the
   * query string, then the header (or, for a refresh token in header mode, the body).
   *
   * @throws MissingAuthorizationCookie, MissingAuthorizationQueryArg, MissingAuthorizationHeader,
   *   InvalidAuthorizationHeader
   */
  extractToken(ctx: Context, options: { refresh?: boolean } = {}): string {
    return this.#reader.extract(ctx, options.refresh === true)
  }

  /**
   * Extracts and verifies the access token of a request; the result is remembered for the rest of
   * the request. With `cookieCsrfProtect`, a token read from a cookie on one of `csrfMethods`
   * must come with its CSRF value (docs/cookies.md).
   *
   * @returns the payload.
   * @throws the errors of {@link Authentication.extractToken} and {@link Authentication.verifyToken};
   *   CSRFError.
   */
  async verifyRequest(ctx: Context, options: { verify?: boolean } = {}): Promise<JwtPayload> {
    return this.verifyRequestNow(ctx, options)
  }

  /**
   * {@link Authentication.verifyRequest} without a promise when none is needed (the middleware's
   * hot path). Throws synchronously or rejects. @internal
   */
  verifyRequestNow(
    ctx: Context,
    options?: { verify?: boolean; revocation?: boolean; csrf?: boolean },
  ): JwtPayload | Promise<JwtPayload> {
    return this.#reader.verify(
      ctx,
      this,
      this.#verifier,
      options?.verify !== false,
      options?.revocation !== false,
      options?.csrf !== false,
    )
  }

  /**
   * The CSRF check of the request's access token, for an endpoint whose guard leaves it to it
   * (`/auth/logout` checks once its body, which may hold the form field, is read). Runs once per
   * request. @internal
   *
   * @throws CSRFError
   */
  checkCsrf(ctx: Context, payload: JwtPayload): void {
    this.#reader.checkCsrf(ctx, this, payload)
  }

  /**
   * The CSRF check of the refresh token sent to `/auth/refresh`. @internal
   *
   * @throws CSRFError
   */
  checkRefreshCsrf(ctx: Context, refreshToken: string): void {
    this.#reader.checkRefreshCsrf(ctx, refreshToken)
  }

  /**
   * The verified payload of a request, or null when there is no valid token.
   *
   * @param options.verify - when false, extra verifications and custom claims are skipped.
   * @throws CSRFError for a valid token read from a cookie without its CSRF value
   *   (`cookieCsrfProtect`): such a request may be forged, and is refused rather than taken as
   *   anonymous (as flask-jwt-extended's optional routes do).
   */
  async extractPayload(ctx: Context, options: { verify?: boolean } = {}): Promise<JwtPayload | null> {
    try {
      return await this.verifyRequest(ctx, options)
    } catch (error) {
      if (isKoaJwtError(error) && error.status < 500 && !(error instanceof CSRFError)) return null
      throw error
    }
  }

  /**
   * The scopes claim of the request's token, or null.
   *
   * @throws CSRFError as {@link extractPayload} does (a cookie token without its CSRF value)
   */
  async extractScopes(ctx: Context): Promise<unknown> {
    const payload = await this.extractPayload(ctx)
    return payload ? (payload[this.config.get('scopesName', ctx)] ?? null) : null
  }

  /**
   * The user id of the request's token, or null when there is no valid token.
   *
   * @throws CSRFError as {@link extractPayload} does (a cookie token without its CSRF value)
   */
  async extractUserId(ctx: Context): Promise<unknown> {
    const payload = await this.extractPayload(ctx)
    return payload ? (payload[this.config.get('userId', ctx)] ?? null) : null
  }

  /**
   * True when the request carries a valid access token.
   *
   * @throws CSRFError as {@link extractPayload} does (a cookie token without its CSRF value)
   */
  async isAuthenticated(ctx: Context): Promise<boolean> {
    return (await this.extractPayload(ctx)) !== null
  }

  /**
   * Checks a payload's scopes against a route's requirement.
   *
   * @internal
   */
  scopesMatch(
    ctx: Context,
    payload: JwtPayload,
    requirement: ScopeRequirement,
    compiled: readonly ScopeTuple[] | undefined,
    options: { requireAll: boolean; requireAllActions: boolean },
  ): boolean | Promise<boolean> {
    return scopesMatch(this, Authentication.prototype, this.config, ctx, payload, requirement, compiled, options)
  }

  /**
   * Compares the refresh token sent by a client with the stored one, in constant time. Both must be
   * non-empty (sanic-jwt compared None == None and refreshed for anyone).
   *
   * @throws AuthenticationFailed
   */
  compareRefreshTokens(stored: unknown, sent: unknown): void {
    const storedText = Buffer.isBuffer(stored) ? stored.toString('utf8') : stored
    if (typeof storedText !== 'string' || storedText === '' || typeof sent !== 'string' || sent === '') {
      throw new AuthenticationFailed()
    }
    const a = Buffer.from(storedText, 'utf8')
    const b = Buffer.from(sent, 'utf8')
    // timingSafeEqual throws on different lengths; compare against itself to keep the timing flat.
    const equal = a.length === b.length ? timingSafeEqual(a, b) : !timingSafeEqual(a, a)
    if (!equal) throw new AuthenticationFailed()
  }

  /**
   * Runs `fn` with some settings forced (sanic-jwt's `with auth.override(...)`), scoped to `fn`
   * and exception safe. Built on AsyncLocalStorage: see {@link Configuration.override} for what
   * its first use costs the process.
   */
  override<T>(values: Partial<SettingsInput> & Record<string, unknown>, fn: () => T): T {
    return this.config.override(values, fn)
  }
}

/** True for a RevokedToken; any other failure is thrown on. */
function revokedBy(error: unknown): boolean {
  if (error instanceof RevokedToken) return true
  throw error
}
