import { timingSafeEqual, type KeyObject } from 'node:crypto'

import type { Context } from 'koa'

import { Claim, type ClaimClass } from './Claim'
import type { Configuration } from './Configuration'
import { compileKeys, compileUserKey, type CompiledKeys } from './core/keys'
import {
  matchScopes,
  normalizeScope,
  type ScopeTuple,
} from './core/scope-matcher'
import {
  checkClaims,
  decodeUnverified,
  readClock,
  signToken,
  verifySignature,
  type JwtPayload,
} from './core/token'
import { isThenable } from './core/thenable'
import {
  extractToken,
  hasWhitespace,
  headerToken,
  readsHeaderOnly,
  type ExtractionSettings,
  type TokenSource,
} from './core/token-extractors'
import { VerifyCache, deepFreeze, type VerifyCacheOptions } from './core/verify-cache'
import {
  AuthenticateNotImplemented,
  AuthenticationFailed,
  InvalidCustomClaim,
  InvalidAuthorizationHeader,
  InvalidConfiguration,
  InvalidCustomClaimError,
  InvalidToken,
  InvalidPayload,
  InvalidRetrieveUserObject,
  InvalidVerification,
  InvalidVerificationError,
  MeEndpointNotSetup,
  MissingRegisteredClaim,
  RefreshTokenNotImplemented,
  RequiredKeysNotFound,
  ScopesNotImplemented,
  UserSecretNotImplemented,
  isKoaJwtError,
} from './errors'
import {
  isAsymmetric,
  isKeyInput,
  normalizeSetting,
  type Algorithm,
  type HandlerName,
  type KeyInput,
  type SettingsInput,
} from './settings'

/** A function run on every verified payload; it must return a boolean. */
export type ExtraVerification = (payload: JwtPayload) => boolean | Promise<boolean>

/** The request as a scope function sees it: a Koa context with the route's `params`. */
export type ScopeContext = Context & { params: Record<string, string> }

/** What a scope requirement may be: a scope, a list of scopes, or a function of the request. */
export type ScopeRequirement =
  | string
  | readonly string[]
  | ((ctx: ScopeContext) => string | readonly string[] | Promise<string | readonly string[]>)

/** Options of {@link Authentication.generateAccessToken}. */
export interface GenerateAccessTokenOptions<User> {
  /** Inline claim classes for this token only. */
  customClaims?: readonly ClaimClass<User>[]
  /** Called after the registered-claim check, like sanic-jwt's inline `extend_payload`. */
  extendPayload?: (payload: JwtPayload, user: User) => JwtPayload | void | Promise<JwtPayload | void>
  /** Lifetime of this token in seconds (or a span such as '5m'). */
  expirationDelta?: number | string
  /** Adds a `fresh` claim (flask-jwt-extended's fresh tokens): a boolean or a time in seconds. */
  fresh?: boolean | number
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

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

export { HANDLER_NAMES, type HandlerName } from './settings'

const USER_KEY_CACHE_SIZE = 256

interface Verified {
  readonly token: string
  readonly payload: JwtPayload
}

interface VerifyRules {
  readonly algorithm: Algorithm
  readonly userSecretEnabled: boolean
  readonly clock: () => number
  readonly leeway: number
  readonly verifyExp: boolean
  readonly audience: string | string[] | null
  readonly issuer: string | null
  /** The verification key of these settings. */
  readonly keys: KeyObject
}

/** The settings that signing an access token reads, derived once while settings are static. */
interface SignRules {
  readonly userIdKey: string
  readonly algorithm: Algorithm
  readonly userSecretEnabled: boolean
  readonly clock: () => number
  readonly expirationDelta: number
  readonly leeway: number
  readonly issuer: string | null
  readonly audience: string | string[] | null
  readonly claimIat: boolean
  readonly claimNbf: boolean
  readonly claimNbfDelta: number
  readonly scopesEnabled: boolean
  readonly scopesName: string
  /** The registered claims `addClaims` adds with these settings (`exp`, then iss/iat/nbf/aud). */
  readonly registered: readonly string[]
  /** The signing key of these settings (undefined in a verify-only setup). */
  readonly key: KeyObject | undefined
}

/** Finishes addClaims once the claim at `from` returned a promise: the rest in order, awaited. */
async function setupRest<User>(
  payload: JwtPayload,
  user: User,
  claims: readonly Claim<User>[],
  from: number,
  pending: PromiseLike<unknown>,
): Promise<JwtPayload> {
  payload[claims[from]!.getKey()] = await pending
  for (let i = from + 1; i < claims.length; i++) {
    payload[claims[i]!.getKey()] = await claims[i]!.setup(payload, user)
  }
  return payload
}

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

/**
 * What a header token that failed to verify answers: the header error when the token holds
 * whitespace (the check that `headerTokenUnchecked` leaves to this point), else the failure.
 */
function headerFailure(token: string, error: unknown): unknown {
  return hasWhitespace(token) ? new InvalidAuthorizationHeader() : error
}

/**
 * The token lifecycle and the handlers that tie it to your user store. Override the handler
 * methods in a subclass (or pass them as `Initialize` options) and, for deeper changes, the payload
 * and extraction hooks.
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
  #keys: CompiledKeys | undefined
  #keysSource: [unknown, unknown, unknown] = [undefined, undefined, undefined]
  #userKeys = new Map<unknown, KeyObject>()
  #claims: Claim<User>[] = []
  #verifications: ExtraVerification[] = []
  // The request's verified token, on the context under a key of this instance (cheaper than a
  // WeakMap entry per request).
  readonly #verifiedKey = Symbol('koa-jwt-kit verified token')
  #cache: VerifyCache | undefined
  // Derived from stored settings, reused while no getter, per-request value or override applies.
  // Settings read on every request, derived once while no getter, per-request value or override
  // applies (Configuration#derived).
  readonly #extractionSettings: (ctx?: object) => readonly [ExtractionSettings, ExtractionSettings]
  readonly #verifyRules: (ctx?: object) => VerifyRules
  readonly #signRules: (ctx?: object) => SignRules

  /** @param config - the resolved configuration. */
  constructor(config: Configuration) {
    this.config = config
    const ofRequest = (ctx: object | undefined) => ctx as Context | undefined
    this.#extractionSettings = config.derived((ctx) => [
      this.#extraction(ofRequest(ctx), false),
      this.#extraction(ofRequest(ctx), true),
    ])
    this.#verifyRules = config.derived((ctx) => this.#readRules(ofRequest(ctx)))
    this.#signRules = config.derived((ctx) => this.#readSignRules(ofRequest(ctx)))
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

  /** True when a handler is overridden in a subclass or given as an option. @internal */
  implements(name: HandlerName): boolean {
    return (this as unknown as Record<string, unknown>)[name] !== Authentication.prototype[name]
  }

  /**
   * Registers custom claims and extra verifications and compiles the keys. Called once by
   * `Initialize` after construction (class fields of subclasses exist by then). @internal
   */
  setup(
    claims: readonly ClaimClass<User>[] = [],
    verifications: readonly ExtraVerification[] = [],
    cache: VerifyCacheOptions | boolean = false,
  ): void {
    if (typeof cache !== 'boolean' && (typeof cache !== 'object' || cache === null)) {
      throw new InvalidConfiguration('the "verifyCache" option must be a boolean or { max, ttl }.')
    }
    try {
      this.#cache = cache === false ? undefined : new VerifyCache(cache === true ? {} : cache)
    } catch (error) {
      throw new InvalidConfiguration(`the "verifyCache" option is invalid: ${(error as Error).message}.`)
    }
    if (!Array.isArray(claims)) {
      throw new InvalidConfiguration('the "customClaims" option must be a list of Claim subclasses.')
    }
    if (!Array.isArray(verifications)) {
      throw new InvalidConfiguration('the "extraVerifications" option must be a list of functions.')
    }
    readClock(this.config.get('clock'))
    this.#claims = claims.map((ClaimType) => instantiateClaim(ClaimType))
    for (const verification of verifications) {
      if (typeof verification !== 'function') throw new InvalidVerification()
    }
    this.#verifications = [...verifications]
    this.#compiledKeys()
    this.config.onChange((name) => {
      if (name === 'algorithm' || name === 'secret' || name === 'privateKey') {
        this.#keys = undefined
        this.#compiledKeys()
        this.#cache?.clear()
      }
    })
  }

  /** The keys for the settings in force (compiled once; again only when they change). */
  #compiledKeys(ctx?: Context): CompiledKeys {
    const algorithm = this.config.get('algorithm', ctx)
    const secret = this.config.get('secret', ctx)
    const privateKey = this.config.get('privateKey', ctx)
    const source = this.#keysSource
    if (this.#keys && source[0] === algorithm && source[1] === secret && source[2] === privateKey) {
      return this.#keys
    }
    const keys = compileKeys(algorithm, secret, privateKey)
    // Per-request overrides of key settings are rare; the instance keeps the last compilation.
    this.#keys = keys
    this.#keysSource = [algorithm, secret, privateKey]
    return keys
  }

  // `encode`: the private key of an asymmetric algorithm is wanted; `signing`: a token is being
  // signed (a missing secret is then the server's fault, not the token's).
  async #userKey(userId: unknown, algorithm: Algorithm, encode: boolean, signing: boolean): Promise<KeyObject> {
    const input = await this.retrieveUserSecret(userId, { encode })
    // An unknown user id (attacker-controlled before verification) has no secret: not a 500. A
    // lookup such as `secrets[id]` with the id "__proto__" or "constructor" returns an object or a
    // function that is no key either.
    if (input === '' || !isKeyInput(input)) {
      if (signing) {
        throw new UserSecretNotImplemented(
          'retrieveUserSecret returned no secret for the user (a non-empty string, a Buffer, a KeyObject, a file: URL or { path }).',
        )
      }
      throw new InvalidToken('Signature verification failed.', { code: 'ERR_JWT_INVALID_SIGNATURE' })
    }
    const cacheKey = typeof input === 'string' ? `${algorithm}:${encode}:${input}` : input
    let key = this.#userKeys.get(cacheKey)
    if (key === undefined) {
      key = compileUserKey(algorithm, input, encode)
      if (this.#userKeys.size >= USER_KEY_CACHE_SIZE) {
        this.#userKeys.delete(this.#userKeys.keys().next().value)
      }
      this.#userKeys.set(cacheKey, key)
    }
    return key
  }

  /**
   * Reads the id of a user: a plain object holding the `userId` key is used as is; any other
   * object goes through `toDict()` (sync or async).
   *
   * @throws InvalidRetrieveUserObject
   */
  async getUserId(user: unknown, ctx?: Context): Promise<unknown> {
    const key = this.config.get('userId', ctx)
    const dict = this.#userDict(user)
    return (dict instanceof Promise ? await dict : dict)[key]
  }

  // Synchronous for plain user objects (the common case): no promise per login.
  #userDict(user: unknown): Record<string, unknown> | Promise<Record<string, unknown>> {
    if (isPlainObject(user) && this.config.get('userId') in user) return user
    const toDict = (user as { toDict?: unknown } | null | undefined)?.toDict
    if (typeof toDict !== 'function') throw new InvalidRetrieveUserObject()
    const checked = (dict: unknown): Record<string, unknown> => {
      if (typeof dict === 'object' && dict !== null) return dict as Record<string, unknown>
      throw new InvalidRetrieveUserObject()
    }
    const dict: unknown = (toDict as () => unknown).call(user)
    return isThenable(dict) ? Promise.resolve(dict).then(checked) : checked(dict)
  }

  /** Builds the base payload `{ [userId]: id }` of a user. Override to change the payload shape. */
  async buildPayload(user: User, ctx?: Context): Promise<JwtPayload> {
    return this.#buildPayloadNow(user, ctx)
  }

  // The base buildPayload without a promise when the user object needs none (generateAccessToken
  // calls it directly unless a subclass overrides buildPayload).
  #buildPayloadNow(user: User, ctx: Context | undefined): JwtPayload | Promise<JwtPayload> {
    const key = this.#signRules(ctx).userIdKey
    const dict = this.#userDict(user)
    return dict instanceof Promise ? dict.then((value) => ({ [key]: value[key] })) : { [key]: dict[key] }
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
    expirationDelta?: number,
  ): Promise<JwtPayload> {
    return this.#addClaimsNow(payload, user, inlineClaims, ctx, expirationDelta)
  }

  // The base addClaims, synchronous until a claim's setup returns a promise (generateAccessToken
  // calls it directly unless a subclass overrides addClaims). Claims are set up one after the
  // other, in order, as in the async form.
  #addClaimsNow(
    payload: JwtPayload,
    user: User,
    inlineClaims: readonly ClaimClass<User>[],
    ctx: Context | undefined,
    expirationDelta: number | undefined,
  ): JwtPayload | Promise<JwtPayload> {
    const rules = this.#signRules(ctx)
    const now = Math.floor(readClock(rules.clock))
    payload.exp = Math.floor(now + (expirationDelta ?? rules.expirationDelta))
    if (rules.issuer) payload.iss = rules.issuer
    if (rules.claimIat) payload.iat = now
    if (rules.claimNbf) payload.nbf = Math.floor(now + rules.leeway + rules.claimNbfDelta)
    if (rules.audience) payload.aud = rules.audience
    const claims = inlineClaims.length === 0 ? this.#claims : [...this.#claims, ...inlineClaims.map(instantiateClaim)]
    for (let i = 0; i < claims.length; i++) {
      const value = claims[i]!.setup(payload, user)
      if (isThenable(value)) return setupRest(payload, user, claims, i, value)
      payload[claims[i]!.getKey()] = value
    }
    return payload
  }

  /**
   * Builds and signs an access token for a user: `buildPayload` → `addClaims` → `extendPayload`
   * → scopes → registered-claim check → sign.
   *
   * @throws InvalidPayload, MissingRegisteredClaim, InvalidRetrieveUserObject
   */
  async generateAccessToken(user: User, options: GenerateAccessTokenOptions<User> = {}): Promise<string> {
    const { ctx } = options
    const rules = this.#signRules(ctx)
    const { userIdKey } = rules
    // The base buildPayload and addClaims run without a promise each unless a subclass overrides them.
    const base = Authentication.prototype
    const built = this.buildPayload === base.buildPayload ? this.#buildPayloadNow(user, ctx) : this.buildPayload(user, ctx)
    let payload = isThenable(built) ? await built : built
    if (!isPlainObject(payload) || !(userIdKey in payload) || payload[userIdKey] === undefined) {
      throw new InvalidPayload()
    }
    // Validated like the setting, without override(): its AsyncLocalStorage would turn on async
    // hooks for the whole process from the first such call (every await ~2-3x slower on Node 20).
    const delta =
      options.expirationDelta === undefined
        ? undefined
        : (normalizeSetting('expirationDelta', options.expirationDelta) as number)
    const claimed =
      this.addClaims === base.addClaims
        ? this.#addClaimsNow(payload, user, options.customClaims ?? [], ctx, delta)
        : this.addClaims(payload, user, options.customClaims, ctx, delta)
    payload = isThenable(claimed) ? await claimed : claimed
    let extended: unknown = this.extendPayload(payload, user)
    if (isThenable(extended)) extended = await extended
    payload = (extended as JwtPayload | undefined) ?? payload
    if (rules.scopesEnabled) {
      let scopes: unknown = this.addScopesToPayload(user, ctx)
      if (isThenable(scopes)) scopes = await scopes
      payload[rules.scopesName] = Array.isArray(scopes) ? scopes : [scopes]
    }
    const missing = rules.registered.filter((name) => !(name in payload))
    for (const claim of this.#claims) if (!(claim.getKey() in payload)) missing.push(claim.getKey())
    for (const ClaimType of options.customClaims ?? []) {
      const key = instantiateClaim(ClaimType).getKey()
      if (!(key in payload)) missing.push(key)
    }
    if (missing.length > 0) throw new MissingRegisteredClaim(missing)
    if (options.extendPayload) payload = (await options.extendPayload(payload, user)) ?? payload
    if (options.fresh !== undefined) payload.fresh = options.fresh
    const { algorithm } = rules
    let key: KeyObject | undefined
    if (rules.userSecretEnabled) {
      key = await this.#userKey(payload[userIdKey], algorithm, isAsymmetric(algorithm), true)
    } else {
      key = rules.key
    }
    if (key === undefined) throw new RequiredKeysNotFound()
    return signToken(payload, key, algorithm)
  }

  /** The signing settings of a request (derived through `#signRules`). */
  #readSignRules(ctx: Context | undefined): SignRules {
    const c = this.config
    const rules = {
      userIdKey: c.get('userId', ctx),
      algorithm: c.get('algorithm', ctx),
      userSecretEnabled: c.get('userSecretEnabled', ctx),
      clock: c.get('clock', ctx),
      expirationDelta: c.get('expirationDelta', ctx),
      leeway: c.get('leeway', ctx),
      issuer: c.get('claimIss', ctx),
      audience: c.get('claimAud', ctx),
      claimIat: c.get('claimIat', ctx),
      claimNbf: c.get('claimNbf', ctx),
      claimNbfDelta: c.get('claimNbfDelta', ctx),
      scopesEnabled: c.get('scopesEnabled', ctx),
      scopesName: c.get('scopesName', ctx),
      key: this.#compiledKeys(ctx).signKey,
    }
    const registered = ['exp']
    if (rules.issuer) registered.push('iss')
    if (rules.claimIat) registered.push('iat')
    if (rules.claimNbf) registered.push('nbf')
    if (rules.audience) registered.push('aud')
    return { ...rules, registered }
  }

  /**
   * Generates a refresh token with the `generateRefreshToken` setting and stores it through
   * `storeRefreshToken(userId, token, ctx)`.
   *
   * @returns the refresh token.
   */
  async generateRefreshToken(ctx: Context, user: User): Promise<string> {
    const token = await this.config.get('generateRefreshToken', ctx)()
    if (typeof token !== 'string' || token === '') {
      throw new RefreshTokenNotImplemented('generateRefreshToken must return a non-empty string.')
    }
    const userId = await this.getUserId(user, ctx)
    await this.storeRefreshToken(userId, token, ctx)
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
    return this.#verify(token, options)
  }

  // Synchronous unless a per-user secret or an extra check has to be awaited: the common path
  // allocates no promise.
  #verify(token: string, options: VerifyTokenOptions): JwtPayload | Promise<JwtPayload> {
    const rules = this.#verifyRules(options.ctx)
    if (rules.userSecretEnabled) {
      const unverified = decodeUnverified(token)
      return this.#userKey(unverified[this.config.get('userId', options.ctx)], rules.algorithm, false, false).then(
        (key) => this.#verifyWith(token, key, rules, options),
      )
    }
    return this.#verifyWith(token, rules.keys, rules, options)
  }

  #verifyWith(
    token: string,
    key: KeyObject,
    rules: VerifyRules,
    options: VerifyTokenOptions,
  ): JwtPayload | Promise<JwtPayload> {
    const { algorithm } = rules
    const now = rules.clock()
    const cache = this.#cache
    let payload = cache?.get(token, key, algorithm, now)
    const hit = payload !== undefined
    if (payload === undefined) {
      payload = verifySignature(token, key, algorithm)
      // Cached payloads are shared between requests, so they must be read-only.
      if (cache !== undefined) deepFreeze(payload)
    }
    // Registered claims are checked on every hit too, with this request's clock and rules.
    checkClaims(payload, {
      now,
      leeway: rules.leeway,
      verifyExp: rules.verifyExp,
      audience: rules.audience,
      issuer: rules.issuer,
    })
    const remember = (): JwtPayload => {
      if (cache !== undefined && !hit) cache.set(token, payload, key, algorithm, now, rules.leeway)
      return payload
    }
    if (
      options.verify !== false &&
      (this.#verifications.length > 0 || this.#claims.length > 0 || options.customClaims !== undefined)
    ) {
      return this.#verifyExtras(payload, options.customClaims).then(remember)
    }
    return remember()
  }

  /** The verification settings of a request (derived through `#verifyRules`). */
  #readRules(ctx: Context | undefined): VerifyRules {
    const config = this.config
    return {
      algorithm: config.get('algorithm', ctx),
      userSecretEnabled: config.get('userSecretEnabled', ctx),
      clock: config.get('clock', ctx),
      leeway: config.get('leeway', ctx),
      verifyExp: config.get('verifyExp', ctx),
      audience: config.get('claimAud', ctx),
      issuer: config.get('claimIss', ctx),
      keys: this.#compiledKeys(ctx).verifyKey,
    }
  }

  /**
   * Removes verified tokens from the cache (`verifyCache` option): by token, by `jti`, or all the
   * tokens of a user. Call it when you revoke tokens or change a user's secret.
   *
   * @returns how many entries were removed (0 when the cache is off).
   */
  evictVerified(filter: { token?: string; jti?: unknown; userId?: unknown }): number {
    return this.#cache?.evict(filter, this.config.get('userId')) ?? 0
  }

  async #verifyExtras(payload: JwtPayload, inline: readonly ClaimClass[] = []): Promise<void> {
    for (const verification of this.#verifications) {
      const result = await verification(payload)
      if (typeof result !== 'boolean') throw new InvalidVerification()
      if (!result) throw new InvalidVerificationError()
    }
    const claims = inline.length === 0 ? this.#claims : [...this.#claims, ...inline.map(instantiateClaim)]
    for (const claim of claims) {
      const key = claim.getKey()
      const result = await claim.verify(payload[key])
      if (typeof result !== 'boolean') throw new InvalidCustomClaim()
      if (!result) throw new InvalidCustomClaimError(`Invalid claim: ${key}.`)
    }
  }

  #extraction(ctx: Context | undefined, refresh: boolean): ExtractionSettings {
    const c = this.config
    return {
      cookieSet: c.get('cookieSet', ctx),
      cookieStrict: c.get('cookieStrict', ctx),
      cookieSplit: c.get('cookieSplit', ctx),
      cookieName: refresh ? c.get('cookieRefreshTokenName', ctx) : c.get('cookieAccessTokenName', ctx),
      cookieSignatureName: c.get('cookieSplitSignatureName', ctx),
      queryStringSet: c.get('queryStringSet', ctx),
      queryStringStrict: c.get('queryStringStrict', ctx),
      queryName: refresh
        ? c.get('queryStringRefreshTokenName', ctx)
        : c.get('queryStringAccessTokenName', ctx),
      headerName: c.get('authorizationHeader', ctx).toLowerCase(),
      headerPrefix: c.get('authorizationHeaderPrefix', ctx),
      refresh,
      refreshBodyName: c.get('refreshTokenName', ctx),
    }
  }

  /**
   * Finds the access token (or, with `refresh`, the refresh token) of a request (reference §4.7).
   *
   * @throws MissingAuthorizationCookie, MissingAuthorizationQueryArg, MissingAuthorizationHeader,
   *   InvalidAuthorizationHeader
   */
  extractToken(ctx: Context, options: { refresh?: boolean } = {}): string {
    const refresh = options.refresh === true
    return extractToken(new KoaTokenSource(ctx), this.#extractionSettings(ctx)[refresh ? 1 : 0])
  }

  /**
   * Extracts and verifies the access token of a request; the result is remembered for the rest of
   * the request.
   *
   * @returns the payload.
   * @throws the errors of {@link Authentication.extractToken} and {@link Authentication.verifyToken}.
   */
  async verifyRequest(ctx: Context, options: { verify?: boolean } = {}): Promise<JwtPayload> {
    return this.verifyRequestNow(ctx, options)
  }

  /**
   * {@link Authentication.verifyRequest} without a promise when none is needed (the middleware's
   * hot path). Throws synchronously or rejects. @internal
   */
  verifyRequestNow(ctx: Context, options?: { verify?: boolean }): JwtPayload | Promise<JwtPayload> {
    // With the header as the only place to look and extractToken not overridden, the token is read
    // here and scanned for whitespace only if it fails to verify (headerTokenUnchecked): same
    // errors, one scan of the token fewer on every request that passes.
    const settings = this.#extractionSettings(ctx)[0]
    const direct = this.extractToken === baseExtractToken && readsHeaderOnly(settings)
    const token = direct
      ? headerToken(ctx.req.headers[settings.headerName], settings.headerPrefix, false)
      : this.extractToken(ctx)
    const unchecked = direct && settings.headerPrefix !== ''
    const seen = (ctx as unknown as Record<symbol, Verified | undefined>)[this.#verifiedKey]
    if (seen !== undefined && seen.token === token) return seen.payload
    const verify = options?.verify !== false
    let result: JwtPayload | Promise<JwtPayload>
    try {
      result = this.#verify(token, { ctx, verify })
    } catch (error) {
      throw unchecked ? headerFailure(token, error) : error
    }
    if (result instanceof Promise) {
      return result.then(
        (payload) => {
          if (verify) (ctx as unknown as Record<symbol, Verified>)[this.#verifiedKey] = { token, payload }
          return payload
        },
        (error: unknown) => {
          throw unchecked ? headerFailure(token, error) : error
        },
      )
    }
    if (verify) (ctx as unknown as Record<symbol, Verified>)[this.#verifiedKey] = { token, payload: result }
    return result
  }

  /**
   * The verified payload of a request, or null when there is no valid token.
   *
   * @param options.verify - when false, extra verifications and custom claims are skipped.
   */
  async extractPayload(ctx: Context, options: { verify?: boolean } = {}): Promise<JwtPayload | null> {
    try {
      return await this.verifyRequest(ctx, options)
    } catch (error) {
      if (isKoaJwtError(error) && error.status < 500) return null
      throw error
    }
  }

  /** The scopes claim of the request's token, or null. */
  async extractScopes(ctx: Context): Promise<unknown> {
    const payload = await this.extractPayload(ctx)
    return payload ? (payload[this.config.get('scopesName', ctx)] ?? null) : null
  }

  /** The user id of the request's token, or null when there is no valid token. */
  async extractUserId(ctx: Context): Promise<unknown> {
    const payload = await this.extractPayload(ctx)
    return payload ? (payload[this.config.get('userId', ctx)] ?? null) : null
  }

  /** True when the request carries a valid access token. */
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
    // A requirement declared as values was normalised once, at the route: match synchronously.
    if (compiled !== undefined && this.destructureScopes === Authentication.prototype.destructureScopes) {
      return this.#matchScopes(ctx, payload, compiled, options)
    }
    return this.#resolveScopes(ctx, requirement).then((required) =>
      required === undefined ? false : this.#matchScopes(ctx, payload, required, options),
    )
  }

  async #resolveScopes(ctx: Context, requirement: ScopeRequirement): Promise<ScopeTuple[] | undefined> {
    let scopes = await this.destructureScopes(requirement, ctx)
    if (typeof scopes === 'function') scopes = await scopes(ctx as ScopeContext)
    const list: readonly unknown[] = typeof scopes === 'string' ? [scopes] : scopes
    if (!Array.isArray(list) || !list.every((s): s is string => typeof s === 'string')) return undefined
    return list.map(normalizeScope)
  }

  #matchScopes(
    ctx: Context,
    payload: JwtPayload,
    required: readonly ScopeTuple[],
    options: { requireAll: boolean; requireAllActions: boolean },
  ): boolean {
    const claim = payload[this.config.get('scopesName', ctx)]
    if (this.overrideScopeValidator === Authentication.prototype.overrideScopeValidator) {
      return matchScopes(required, claim, options)
    }
    return matchScopes(required, claim, { ...options, override: this.overrideScopeValidator.bind(this) })
  }

  /**
   * Compares the refresh token sent by a client with the stored one, in constant time. Both must be
   * non-empty (fixes sanic-jwt's None == None refresh, reference §7.2.1).
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

/** The base `extractToken`, to tell when a subclass or an instance has replaced it. */
const baseExtractToken = Authentication.prototype.extractToken

function instantiateClaim<User>(ClaimType: ClaimClass<User>): Claim<User> {
  if (typeof ClaimType !== 'function' || !(ClaimType.prototype instanceof Claim)) {
    throw new InvalidCustomClaim('Custom claims must be classes extending Claim.')
  }
  const claim = new ClaimType()
  if (typeof claim.key !== 'string' || claim.key === '') {
    throw new InvalidCustomClaim(`Custom claim ${ClaimType.name} must declare a non-empty "key".`)
  }
  // `abstract` is gone at run time: a claim without setup() broke every login, one without
  // verify() every protected request (reference §1.2 step 10, sanic-jwt test_custom_claims_bad).
  for (const method of ['setup', 'verify'] as const) {
    if (typeof claim[method] !== 'function') {
      throw new InvalidCustomClaim(`Custom claim ${ClaimType.name} must implement ${method}().`)
    }
  }
  return claim
}

