/**
 * Issuing access tokens: the signing settings (derived once while settings are static), the base
 * payload, the registered and custom claims, the required-claim check and signing. The
 * overridable steps (buildPayload, addClaims, extendPayload, addScopesToPayload) stay on
 * `Authentication`, which this part calls back. No Koa in here.
 */
import type { KeyObject } from 'node:crypto'

import type { Claim, ClaimClass } from '../Claim'
import type { Configuration } from '../Configuration'
import { InvalidConfiguration, InvalidPayload, MissingRegisteredClaim, RequiredKeysNotFound } from '../errors'
import { normalizeSetting, parseSeconds } from '../setting-values'
import { isAsymmetric, type Algorithm } from '../settings'
import { setupClaims, withInline } from './claims'
import { newCsrfValue } from './csrf'
import type { KeyStore, UserSecretSource } from './KeyStore'
import { isThenable } from './thenable'
import { readClock, signToken, type JwtPayload } from './token'
import { newJti, type TokenRegistry } from './TokenRegistry'
import { warnOnce } from './warnings'
import { isPlainObject, userDict } from './users'

/** The settings that signing an access token reads. */
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
  readonly revocation: boolean
  /** Cookie mode with `cookieCsrfProtect`: tokens carry a `csrf` claim. */
  readonly csrf: boolean
  /** The registered claims `addClaims` adds with these settings (`exp`, then iss/iat/nbf/aud). */
  readonly registered: readonly string[]
  /** The signing key of these settings (undefined in a verify-only setup). */
  readonly key: KeyObject | undefined
}

/** The steps of issuing that `Authentication` lets subclasses and options replace. @internal */
export interface IssuingHooks<User> extends UserSecretSource {
  buildPayload(user: User, ctx?: object): JwtPayload | Promise<JwtPayload>
  addClaims(
    payload: JwtPayload,
    user: User,
    inlineClaims?: readonly ClaimClass<User>[],
    ctx?: object,
    expirationDelta?: number | false,
  ): JwtPayload | Promise<JwtPayload>
  extendPayload(payload: JwtPayload, user?: User): JwtPayload | void | Promise<JwtPayload | void>
  addScopesToPayload(user: User, ctx?: object): unknown
}

/** What one `issue()` call may change (the options of `generateAccessToken`). @internal */
export interface IssueOptions<User> {
  readonly customClaims?: readonly ClaimClass<User>[] | undefined
  readonly extendPayload?:
    | ((payload: JwtPayload, user: User) => JwtPayload | void | Promise<JwtPayload | void>)
    | undefined
  readonly expirationDelta?: number | string | false | undefined
  readonly fresh?: boolean | number | string | undefined
  readonly ctx?: object | undefined
}

/** Builds and signs access tokens for one instance. @internal */
export class TokenIssuer<User> {
  readonly #config: Configuration
  readonly #keys: KeyStore
  readonly #base: Pick<IssuingHooks<User>, 'buildPayload' | 'addClaims'>
  readonly #rules: (ctx?: object) => SignRules
  #claims: readonly Claim<User>[] = []
  #registry: TokenRegistry | undefined

  /**
   * @param base - the base implementations of the replaceable steps: when the hooks hold these,
   *   the steps run here without a promise each.
   */
  constructor(config: Configuration, keys: KeyStore, base: Pick<IssuingHooks<User>, 'buildPayload' | 'addClaims'>) {
    this.#config = config
    this.#keys = keys
    this.#base = base
    this.#rules = config.derived((ctx) => this.#readRules(ctx))
  }

  /** The registered custom claims (set once at start-up). */
  useClaims(claims: readonly Claim<User>[]): void {
    this.#claims = claims
  }

  /** The registry that records issued tokens while `revocationEnabled` (set once at start-up). */
  useRegistry(registry: TokenRegistry | undefined): void {
    this.#registry = registry
  }

  /**
   * The base payload `{ [userId]: id }` of a user, without a promise when the user object needs
   * none.
   */
  basePayload(user: User, ctx?: object): JwtPayload | Promise<JwtPayload> {
    const key = this.#rules(ctx).userIdKey
    const dict = userDict(user, key)
    return dict instanceof Promise ? dict.then((value) => ({ [key]: value[key] })) : { [key]: dict[key] }
  }

  /**
   * Adds `exp` (none when `expirationDelta` is false) and, when configured, `iss`, `iat`, `nbf`,
   * `aud`, then the custom claims in order; synchronous until a claim's setup returns a promise.
   */
  addClaims(
    payload: JwtPayload,
    user: User,
    inlineClaims: readonly ClaimClass<User>[] | undefined,
    ctx: object | undefined,
    expirationDelta: number | false | undefined,
  ): JwtPayload | Promise<JwtPayload> {
    const rules = this.#rules(ctx)
    const now = Math.floor(readClock(rules.clock))
    if (expirationDelta !== false) payload.exp = Math.floor(now + (expirationDelta ?? rules.expirationDelta))
    if (rules.issuer) payload.iss = rules.issuer
    if (rules.claimIat) payload.iat = now
    if (rules.claimNbf) payload.nbf = Math.floor(now + rules.leeway + rules.claimNbfDelta)
    if (rules.audience) payload.aud = rules.audience
    return setupClaims(payload, user, withInline(this.#claims, inlineClaims))
  }

  /**
   * Builds and signs an access token: buildPayload → addClaims → extendPayload → scopes →
   * required-claim check → inline extendPayload → `fresh` → `csrf` (cookie mode with
   * `cookieCsrfProtect`) → sign.
   *
   * @throws InvalidPayload, MissingRegisteredClaim, InvalidRetrieveUserObject, RequiredKeysNotFound;
   *   InvalidConfiguration for an `expirationDelta` or `fresh` option of the wrong type.
   */
  async issue(hooks: IssuingHooks<User>, user: User, options: IssueOptions<User>): Promise<string> {
    const { ctx } = options
    const rules = this.#rules(ctx)
    const { userIdKey } = rules
    const base = this.#base
    const built = hooks.buildPayload === base.buildPayload ? this.basePayload(user, ctx) : hooks.buildPayload(user, ctx)
    let payload = isThenable(built) ? await built : built
    if (!isPlainObject(payload) || !(userIdKey in payload) || payload[userIdKey] === undefined) {
      throw new InvalidPayload()
    }
    // Validated like the setting, without override(): its AsyncLocalStorage would turn on async
    // hooks for the whole process from the first such call (every await ~2-3x slower on Node 20).
    const delta = expirationOption(options.expirationDelta)
    const fresh = freshnessOption(options.fresh)
    const claimed =
      hooks.addClaims === base.addClaims
        ? this.addClaims(payload, user, options.customClaims, ctx, delta)
        : hooks.addClaims(payload, user, options.customClaims, ctx, delta)
    payload = isThenable(claimed) ? await claimed : claimed
    let extended: unknown = hooks.extendPayload(payload, user)
    if (isThenable(extended)) extended = await extended
    payload = (extended as JwtPayload | undefined) ?? payload
    // A hook that answers something else than a payload is the server's fault: a clear 500.
    if (!isPlainObject(payload)) throw new InvalidPayload()
    if (rules.scopesEnabled) {
      let scopes: unknown = hooks.addScopesToPayload(user, ctx)
      if (isThenable(scopes)) scopes = await scopes
      payload[rules.scopesName] = Array.isArray(scopes) ? scopes : [scopes]
    }
    this.#requireClaims(payload, rules, options.customClaims, delta !== false)
    if (options.extendPayload) payload = (await options.extendPayload(payload, user)) ?? payload
    const registry = rules.revocation ? this.#registry : undefined
    if (registry !== undefined) {
      // Revocable tokens carry their id, their time of issue (for the per-user cut-off) and their
      // login's id (OpenID Connect's `sid`: a logout revokes the login even after the record expired).
      if (typeof payload.iat !== 'number') payload.iat = Math.floor(readClock(rules.clock))
      const jti = newJti()
      payload.jti = jti
      payload.sid = registry.sessionOf(ctx, jti)
    }
    if (fresh !== undefined) {
      // A window is fresh until iat + n: the token's own iat when it has one, else now.
      const iat = typeof payload.iat === 'number' ? payload.iat : Math.floor(readClock(rules.clock))
      payload.fresh = fresh === true || fresh === false ? fresh : iat + fresh
    }
    // Set last, by the library: the double-submit value must be random whatever the hooks did.
    if (rules.csrf) payload.csrf = newCsrfValue()
    const token = await this.#sign(hooks, payload, rules, ctx)
    // Recorded before it is handed out: a store that fails issues no token.
    if (registry !== undefined) await registry.recordAccess(payload, ctx)
    if (delta === false) {
      warnOnce(
        'KOA_JWT_NO_EXPIRATION',
        'an access token without "exp" was issued (expirationDelta: false): it stays valid until the key changes, ' +
          'and is accepted only where "allowNoExpiration" is on. Keep such tokens for API clients, and revoke them by key or by a check of your own.',
      )
    }
    return token
  }

  /** @throws MissingRegisteredClaim naming every registered or custom claim the payload lacks. */
  #requireClaims(
    payload: JwtPayload,
    rules: SignRules,
    inline: readonly ClaimClass<User>[] | undefined,
    expires: boolean,
  ): void {
    const missing = rules.registered.filter((name) => !(name in payload) && (expires || name !== 'exp'))
    for (const claim of withInline(this.#claims, inline)) {
      if (!(claim.getKey() in payload)) missing.push(claim.getKey())
    }
    if (missing.length > 0) throw new MissingRegisteredClaim(missing)
  }

  /**
   * Signs with the ring's first key (its `kid` in the header), or the published key of the key
   * settings (`jwksEnabled`: its thumbprint as `kid`), or the key settings / the user's key.
   */
  async #sign(hooks: IssuingHooks<User>, payload: JwtPayload, rules: SignRules, ctx: object | undefined): Promise<string> {
    const signer = this.#keys.signer(ctx)
    if (signer !== undefined && signer.signKey !== undefined) {
      return signToken(payload, signer.signKey, signer.algorithm, signer.signOptions)
    }
    // A ring whose first key cannot sign, or the keys of a jwksUri: nothing here signs.
    if (this.#keys.source !== undefined) throw new RequiredKeysNotFound()
    return signToken(payload, await this.#signingKey(hooks, payload, rules), rules.algorithm)
  }

  async #signingKey(hooks: IssuingHooks<User>, payload: JwtPayload, rules: SignRules): Promise<KeyObject> {
    const { algorithm } = rules
    const key = rules.userSecretEnabled
      ? await this.#keys.userKey(hooks, payload[rules.userIdKey], algorithm, isAsymmetric(algorithm), true)
      : rules.key
    if (key === undefined) throw new RequiredKeysNotFound()
    return key
  }

  #readRules(ctx: object | undefined): SignRules {
    const c = this.#config
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
      revocation: c.get('revocationEnabled', ctx),
      csrf: c.get('cookieSet', ctx) && c.get('cookieCsrfProtect', ctx),
      // With a ring or a jwksUri the key settings are not used (and may be empty).
      key: this.#keys.source === undefined ? this.#keys.compiled(ctx).signKey : undefined,
    }
    const registered = ['exp']
    if (rules.issuer) registered.push('iss')
    if (rules.claimIat) registered.push('iat')
    if (rules.claimNbf) registered.push('nbf')
    if (rules.audience) registered.push('aud')
    return { ...rules, registered }
  }
}

/**
 * The `expirationDelta` option of one token: seconds (a number or a span such as '5m'), or false
 * for a token without `exp`. Validated like the setting, without override(): its
 * AsyncLocalStorage would turn on async hooks for the whole process from the first such call.
 *
 * @throws InvalidConfiguration
 */
function expirationOption(value: unknown): number | false | undefined {
  if (value === undefined || value === false) return value
  return normalizeSetting('expirationDelta', value) as number
}

/**
 * The `fresh` option of one token: true, false, or the seconds it stays fresh (a number or a span
 * such as '15m', as the `loginFreshness` setting takes them).
 *
 * @throws InvalidConfiguration
 */
function freshnessOption(value: unknown): boolean | number | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  const seconds = parseSeconds(value)
  if (seconds === undefined || !Number.isFinite(seconds)) {
    throw new InvalidConfiguration('the "fresh" option must be true, false, or a number of seconds (>= 0) or a time span such as "15m".')
  }
  return seconds
}
