import { Router } from '@koa/router'
// `import = require`, not a default import: the emitted .d.ts must not need esModuleInterop.
import type Koa = require('koa')
import type { Context, Middleware, Next } from 'koa'

import { Authentication, HANDLER_NAMES, type HandlerName, type ScopeRequirement } from './Authentication'
import { Configuration } from './Configuration'
import { BaseEndpoint, type Verb } from './endpoints/BaseEndpoint'
import { AuthenticateEndpoint } from './endpoints/AuthenticateEndpoint'
import { FreshLoginEndpoint } from './endpoints/FreshLoginEndpoint'
import { JwksEndpoint } from './endpoints/JwksEndpoint'
import type { KeyRingEntry } from './core/key-ring'
import { LogoutEndpoint } from './endpoints/LogoutEndpoint'
import { checkCsrfCookieNames } from './core/csrf'
import { tokenStoreOf } from './core/stores/token-store-of'
import type { TokenRegistry } from './core/TokenRegistry'
import { RefreshEndpoint } from './endpoints/RefreshEndpoint'
import { RetrieveUserEndpoint } from './endpoints/RetrieveUserEndpoint'
import { VerifyEndpoint } from './endpoints/VerifyEndpoint'
import {
  AuthenticateNotImplemented,
  InitializationFailure,
  InvalidClassViewsFormat,
  InvalidConfiguration,
  KoaJwtError,
  RefreshTokenNotImplemented,
  ScopesNotImplemented,
  UserSecretNotImplemented,
} from './errors'
import { createInjectUser } from './middleware/inject-user'
import { createProtect } from './middleware/protect'
import { createScoped } from './middleware/scoped'
import { openApiDocument, type OpenApiDocument, type OpenApiOptions } from './openapi'
import { instances, type InstanceParts } from './registry'
import { Responses } from './Responses'
import type { SettingName } from './settings'
import type {
  AuthenticationClass,
  ConfigurationClass,
  EndpointClass,
  InitializeOptions,
  JwtMiddleware,
  ProtectedState,
  InjectUserOptions,
  LoadedUserState,
  ProtectOptions,
  RouterTarget,
  ScopedOptions,
  UserState,
} from './types'

/** Handlers whose presence turns a setting on (unless the setting is given explicitly). */
const AUTO_ENABLE: readonly (readonly [HandlerName, SettingName])[] = [
  ['storeRefreshToken', 'refreshTokenEnabled'],
  ['retrieveRefreshToken', 'refreshTokenEnabled'],
  ['addScopesToPayload', 'scopesEnabled'],
  ['retrieveUserSecret', 'userSecretEnabled'],
  ['isTokenRevoked', 'revocationEnabled'],
]

function isKoaApp(target: unknown): target is Koa {
  const candidate = target as Partial<Koa> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.use === 'function' &&
    typeof candidate.callback === 'function' &&
    Array.isArray(candidate.middleware)
  )
}

function isRouter(target: unknown): target is Router {
  const candidate = target as Partial<Router> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.routes === 'function' &&
    typeof candidate.register === 'function' &&
    Array.isArray(candidate.stack)
  )
}

function extendsBase(candidate: unknown, base: abstract new (...args: never[]) => unknown): boolean {
  return candidate === base || (typeof candidate === 'function' && candidate.prototype instanceof base)
}

/** Joins a prefix and a path without doubling or losing slashes; `'/'` under a prefix is the prefix. */
export function joinPath(prefix: string, path: string): string {
  const head = prefix.replace(/\/+$/, '')
  if (path === '' || path === '/') return head === '' ? '/' : head
  return `${head}/${path.replace(/^\/+/, '')}`
}

/**
 * Sets up JWT authentication on a Koa app or a `@koa/router` router: configuration, keys,
 * endpoints (`POST /auth`, `GET /auth/verify`, `GET /auth/me`, `POST /auth/refresh`) and the
 * `protected()` / `scoped()` / `injectUser()` middleware of this instance.
 *
 * Every configuration problem throws from the constructor.
 *
 * @typeParam User - your user type.
 *
 * @example
 * ```ts
 * const app = new Koa()
 * const jwt = new Initialize(app, {
 *   secret: process.env.JWT_SECRET,
 *   authenticate: async (ctx) => {
 *     const user = await users.check(ctx.request.body)
 *     if (!user) throw new AuthenticationFailed('Password is incorrect.')
 *     return user
 *   },
 * })
 * router.get('/protected', jwt.protected(), (ctx) => { ctx.body = { protected: true } })
 * ```
 *
 * @throws InitializationFailure, InvalidConfiguration, RequiredKeysNotFound, ProvidedPathNotFound,
 *   AuthenticateNotImplemented, RefreshTokenNotImplemented, ScopesNotImplemented,
 *   UserSecretNotImplemented, InvalidClassViewsFormat, InvalidCustomClaim, InvalidVerification
 */
export class Initialize<User = any> {
  /** The `Authentication` class used when the options do not name one. */
  static authenticationClass: AuthenticationClass = Authentication
  /** The `Configuration` class used when the options do not name one. */
  static configurationClass: ConfigurationClass = Configuration
  /** The `Responses` class used when the options do not name one. */
  static responsesClass: new (config: Configuration, instance: unknown) => Responses = Responses

  /** The resolved configuration. */
  readonly config: Configuration
  /** The `Authentication` (handlers and token lifecycle). */
  readonly auth: Authentication<User>
  /** The `Responses` that shape outputs and errors. */
  readonly responses: Responses
  /** The router holding the endpoints: the given router, or one made for the app. */
  readonly router: Router
  /** The Koa app, when initialised on one. */
  readonly app: Koa | undefined
  /** What the instance was initialised on (sanic-jwt's `instance`). */
  readonly instance: Koa | Router
  /**
   * The tokens this instance issued, in its token store (`revocationEnabled`): revoke, unrevoke,
   * list, log a user out everywhere.
   */
  readonly tokens: TokenRegistry
  /** The endpoint objects by path (built-ins and class views). */
  readonly endpoints: ReadonlyMap<string, BaseEndpoint>

  #parts: InstanceParts

  /**
   * @param target - a Koa application or a `@koa/router` Router.
   * @param options - settings, handlers and component classes.
   */
  constructor(target: Koa | Router | RouterTarget, options: InitializeOptions<User> = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new InitializationFailure(
        `koa-jwt-kit was not initialized properly. Its options must be an object (got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}).`,
      )
    }
    const statics = new.target as typeof Initialize
    const AuthenticationType = options.authenticationClass ?? statics.authenticationClass
    const ConfigurationType = options.configurationClass ?? statics.configurationClass
    const ResponsesType = options.responsesClass ?? statics.responsesClass
    for (const [candidate, base] of [
      [AuthenticationType, Authentication],
      [ConfigurationType, Configuration],
      [ResponsesType, Responses],
    ] as const) {
      if (!extendsBase(candidate, base)) {
        throw new InitializationFailure(
          `koa-jwt-kit was not initialized properly. It did not receive a subclass of ${base.name}.`,
        )
      }
    }
    if (isKoaApp(target)) this.app = target
    else if (isRouter(target)) this.app = undefined
    else throw new InitializationFailure()
    this.instance = target as Koa | Router

    const config = new ConfigurationType(options as Record<string, unknown>)
    config.resolve()
    checkCsrfCookieNames(config)
    const auth = new AuthenticationType(config) as Authentication<User>
    for (const name of HANDLER_NAMES) {
      const handler = options[name]
      if (handler === undefined) continue
      if (typeof handler !== 'function') {
        throw new InitializationFailure(`The "${name}" handler must be a function.`)
      }
      Object.defineProperty(auth, name, { value: handler, writable: true, configurable: true })
    }
    // Handlers given as options or overridden in a subclass both turn their feature on (sanic-jwt #160).
    for (const [handler, setting] of AUTO_ENABLE) {
      if (auth.implements(handler) && !config.isExplicit(setting)) config.set(setting, true)
    }
    auth.useStore(tokenStoreOf(config, options.tokenStore))
    const authMode = config.get('authMode')
    if (authMode) {
      if (!auth.implements('authenticate')) throw new AuthenticateNotImplemented()
      // Rotation first: its message says what it needs; the handler check below would ask for
      // handlers that rotation cannot use.
      if (config.get('refreshRotation') && !(config.get('refreshTokenEnabled') && auth.storesRefreshTokens)) {
        throw new InvalidConfiguration(
          'the "refreshRotation" setting needs refresh tokens kept in the token store: "refreshTokenEnabled" on, revocation on (or a tokenStore), and no storeRefreshToken/retrieveRefreshToken handlers.',
        )
      }
      if (config.get('refreshTokenEnabled') && !auth.storesRefreshTokens) {
        // Name the one missing handler: with one given, the default message hides which it is.
        const missing = (['storeRefreshToken', 'retrieveRefreshToken'] as const).filter(
          (name) => !auth.implements(name),
        )
        if (missing.length === 2) throw new RefreshTokenNotImplemented()
        if (missing.length === 1) {
          throw new RefreshTokenNotImplemented(
            `Refresh tokens are enabled but the "${missing[0]}" handler is missing.`,
          )
        }
      }
      if (config.get('scopesEnabled') && !auth.implements('addScopesToPayload')) {
        throw new ScopesNotImplemented()
      }
    }
    if (config.get('userSecretEnabled') && !auth.implements('retrieveUserSecret')) {
      throw new UserSecretNotImplemented()
    }
    auth.setup(options.customClaims, options.extraVerifications, options.verifyCache ?? false, options.keys)
    const responses = new ResponsesType(config, target)
    this.config = config
    this.auth = auth
    this.tokens = auth.tokens
    this.responses = responses
    this.#parts = { config, auth, responses }

    this.router = this.app ? new Router() : (target as Router)
    this.endpoints = this.#mountEndpoints(options.classViews ?? [], authMode)
    instances.set(target, this.#parts)
    if (this.app) this.#mountOnApp(this.app)
  }

  /**
   * Middleware that answers 401 (400 in debug mode) unless the request carries a valid access
   * token, and stores the payload in `ctx.state.jwt`. Also a method decorator for `BaseEndpoint`.
   * The handlers after it on a route see `ctx.state.jwt` as defined ({@link ProtectedState}).
   * With `fresh: true` a valid token that is not fresh is refused (401 `NeedsFreshToken`); with
   * `user: true` the user from `retrieveUser` is put in `ctx.state.user`, and none is a 401
   * `UserLookupFailed`.
   *
   * @param options - per-route settings (values or zero-argument functions), `fresh`, `user`
   *   and `redirectOnFail`/`redirectUrl`.
   *
   * @example
   * ```ts
   * router.post('/password', jwt.protected({ fresh: true, user: true }), (ctx) => {
   *   ctx.body = { changed: ctx.state.user.username }
   * })
   * ```
   */
  protected(options: ProtectOptions & { user: true }): JwtMiddleware<ProtectedState & LoadedUserState<User>>
  protected(options?: ProtectOptions): JwtMiddleware<ProtectedState>
  protected(options: ProtectOptions = {}): JwtMiddleware<ProtectedState> {
    this.#canLoadUser(options?.user === true, 'protected({ user: true })')
    return createProtect(() => this.#parts, options)
  }

  /**
   * Like `protected()`, and answers 403 "Invalid scope." unless the token's scopes satisfy
   * `scopes`. `scoped(null)` leaves the route unprotected.
   *
   * @param scopes - a scope, a list of scopes, or a function of `ctx` returning them.
   * @param options - `requireAll`, `requireAllActions`, per-route settings, `redirectOnFail`.
   * @returns middleware after which the handlers see `ctx.state.jwt` as defined ({@link ProtectedState}).
   */
  scoped(scopes: ScopeRequirement, options: ScopedOptions & { user: true }): JwtMiddleware<ProtectedState & LoadedUserState<User>>
  scoped(scopes: ScopeRequirement, options?: ScopedOptions): JwtMiddleware<ProtectedState>
  /** `scoped(null)` and `scoped(false)` leave the route unprotected. */
  scoped(scopes: ScopeRequirement | null | false, options?: ScopedOptions): JwtMiddleware
  scoped(scopes: ScopeRequirement | null | false, options: ScopedOptions = {}): JwtMiddleware<ProtectedState> {
    this.#canLoadUser(options?.user === true, 'scoped(..., { user: true })')
    return createScoped(() => this.#parts, scopes, options)
  }

  /**
   * Middleware that sets `ctx.state.user` from `retrieveUser` (null for anonymous requests). The
   * handlers after it on a route see `ctx.state.user` as `User | null` ({@link UserState}). With
   * `required: true` it is a guard: no valid token is answered as `protected()` answers it, no
   * user as a 401 `UserLookupFailed`, and the user is never null.
   */
  injectUser(options: InjectUserOptions & { required: true }): JwtMiddleware<ProtectedState & LoadedUserState<User>>
  injectUser(options?: InjectUserOptions): JwtMiddleware<UserState<User>>
  injectUser(options: InjectUserOptions = {}): JwtMiddleware<UserState<User>> {
    this.#canLoadUser(options?.required === true, 'injectUser({ required: true })')
    return createInjectUser<User>(() => this.#parts, options)
  }

  /**
   * An OpenAPI 3.1 document of the endpoints this instance mounted (the built-ins under
   * `urlPrefix` and the class views), built from the settings in force: paths, request bodies,
   * token answers with the configured key names, the error body with every code, and the security
   * schemes of the token's transports (bearer header, cookies, query string). A fresh plain
   * object on every call: serve it, or merge it into your app's own document (docs/openapi.md).
   *
   * @param options - `info` and `servers` of the document, the `credentials` schema of the login
   *   body, an `operationIdPrefix`.
   * @returns the document, ready for `JSON.stringify`.
   * @throws TypeError for an option of the wrong type.
   *
   * @example
   * ```ts
   * router.get('/openapi.json', (ctx) => { ctx.body = jwt.openapi({ info: { title: 'My API', version: '1.0.0' } }) })
   * ```
   */
  openapi(options: OpenApiOptions = {}): OpenApiDocument {
    return openApiDocument(this, options)
  }

  /**
   * Replaces the key ring at run time, without a restart: the new list is compiled and checked
   * first (as the `keys` option is at start-up), then swapped in whole, so a list that fails
   * leaves the ring in use. Its first key signs from now on; tokens naming a kid that is no
   * longer in the ring are refused (401); the verify cache is emptied; the JWK Set endpoint
   * publishes the new public keys. To rotate, put the new key first and keep the old one until
   * the tokens it signed have expired (docs/keys-and-rotation.md).
   *
   * @param keys - the new ring, the signing key first.
   * @throws InvalidConfiguration, RequiredKeysNotFound (naming the key by its kid); also
   *   InvalidConfiguration for an instance started without the `keys` option.
   *
   * @example
   * ```ts
   * jwt.rotateKeys([
   *   { kid: '2025-06', algorithm: 'ES256', privateKey: { path: '/run/secrets/es256-2025-06.pem' } },
   *   { kid: '2025-01', algorithm: 'ES256', publicKey: { path: '/etc/auth/es256-2025-01.pub.pem' } },
   * ])
   * ```
   */
  rotateKeys(keys: readonly KeyRingEntry[]): void {
    this.auth.rotateKeys(keys)
  }

  /** A route that must load the user is refused where it is declared when there is no retrieveUser. */
  #canLoadUser(loads: boolean, route: string): void {
    if (loads && !this.auth.implements('retrieveUser')) {
      throw new InvalidConfiguration(`${route} needs the "retrieveUser" handler.`)
    }
  }

  #mountEndpoints(classViews: InitializeOptions['classViews'], authMode: boolean): Map<string, BaseEndpoint> {
    const config = this.config
    const prefix = config.get('urlPrefix')
    const mounted = new Map<string, BaseEndpoint>()
    const init = { config, instance: this.instance, auth: this.auth }
    const mount = (path: string, Endpoint: EndpointClass, guard?: Middleware, strict = false): void => {
      const endpoint = new Endpoint(this.responses, init)
      const full = joinPath(prefix, path)
      for (const verb of endpoint.verbs()) {
        const stack: Middleware[] = guard && verb !== 'options' ? [guard, endpoint.handler(verb)] : [endpoint.handler(verb)]
        this.router.register(full, [verbMethod(verb)], stack as never, { strict })
      }
      mounted.set(full, endpoint)
    }
    if (authMode) {
      mount(config.get('pathToAuthenticate'), AuthenticateEndpoint)
      mount(config.get('pathToVerify'), VerifyEndpoint)
      mount(config.get('pathToRetrieveUser'), RetrieveUserEndpoint, this.protected())
      // Their guards leave the CSRF check to the endpoint: /refresh checks the refresh token's
      // value, /logout checks once its body (which may hold the form field) is read.
      const leavingCsrf = createProtect(() => this.#parts, { verifyExp: false }, true)
      if (config.get('refreshTokenEnabled')) mount(config.get('pathToRefresh'), RefreshEndpoint, leavingCsrf)
      if (config.get('freshLoginEnabled')) mount(config.get('pathToFreshLogin'), FreshLoginEndpoint)
      // An expired access token may still log out: its signature is checked, and it is revoked.
      if (config.get('revocationEnabled')) mount(config.get('pathToLogout'), LogoutEndpoint, leavingCsrf)
    }
    // Verify-only services may publish keys too (a ring of public keys): not tied to authMode.
    if (config.get('jwksEnabled')) mount(config.get('pathToJwks'), JwksEndpoint)
    if (!Array.isArray(classViews)) throw new InvalidClassViewsFormat()
    const strict = config.get('strictSlashes')
    for (const entry of classViews) {
      if (
        !Array.isArray(entry) ||
        entry.length !== 2 ||
        typeof entry[0] !== 'string' ||
        !extendsBase(entry[1], BaseEndpoint)
      ) {
        throw new InvalidClassViewsFormat()
      }
      mount(entry[0], entry[1], undefined, strict)
    }
    return mounted
  }

  #mountOnApp(app: Koa): void {
    const parts = this.#parts
    // Library errors thrown anywhere in the app reach Koa's ctx.onerror, whatever the order in
    // which middleware was added: render them there with this instance's Responses. (A catch-all
    // middleware would cost every request of the app a layer.)
    const fallback = app.context.onerror
    app.context.onerror = function koaJwtKitOnError(this: Context, error: unknown): void {
      if (!(error instanceof KoaJwtError) || this.headerSent || !this.writable) {
        return fallback.call(this, error as Error)
      }
      const res = this.res
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      Promise.resolve()
        .then(() => parts.responses.failureResponse(this, error))
        .then(() => {
          const body: unknown = this.body
          const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body ?? null)
          this.length = Buffer.byteLength(text)
          res.end(text)
        })
        .catch((failure: unknown) => fallback.call(this, failure as Error))
    }
    const routes = this.router.routes()
    const allowedMethods = this.router.allowedMethods()
    // Every endpoint of this router lives under urlPrefix: other requests skip route matching
    // (the router matches paths case-insensitively, so this check does too).
    const prefix = joinPath(this.config.get('urlPrefix'), '/').toLowerCase()
    const everyPath = prefix === '/'
    const length = prefix.length
    app.use(function koaJwtKitEndpoints(ctx: Context, next: Next) {
      if (!everyPath) {
        // The prefix itself or the prefix and a '/': only the first `length` characters are
        // lower-cased (a path is Latin-1 text, whose lower case keeps its length).
        const path = ctx.path
        if (path.length !== length && path.charCodeAt(length) !== 47) return next()
        if (path.slice(0, length).toLowerCase() !== prefix) return next()
      }
      return routes(ctx as never, () => allowedMethods(ctx as never, next))
    } as Middleware)
  }
}

function verbMethod(verb: Verb): string {
  return verb.toUpperCase()
}

/**
 * The legacy function form: `initialize(app, authenticate, options)`.
 *
 * @returns the `Initialize` instance.
 */
export function initialize<User = any>(
  target: Koa | Router | RouterTarget,
  authenticate?: InitializeOptions<User>['authenticate'],
  options: InitializeOptions<User> = {},
): Initialize<User> {
  return new Initialize<User>(target, authenticate === undefined ? options : { ...options, authenticate })
}
