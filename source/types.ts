/**
 * Public types: options, middleware and request state.
 *
 * @module
 */
import type { Context, Next, ParameterizedContext } from 'koa'

import type { Authentication, ExtraVerification, ScopeRequirement } from './Authentication'
import type { ClaimClass } from './Claim'
import type { Configuration } from './Configuration'
import type { ScopeTuple } from './core/scope-matcher'
import type { JwtPayload } from './core/token'
import type { VerifyCacheOptions } from './core/verify-cache'
import type { AuditEvent } from './core/TokenRegistry'
import type { TokenStore } from './core/stores/TokenStore'
import type { BaseEndpoint } from './endpoints/BaseEndpoint'
import type { Responses } from './Responses'
import type { KeyRingEntry } from './core/key-ring'
import type { KeyInput, SettingsInput } from './settings'

declare global {
  /**
   * Augment these interfaces once to type `ctx.state.jwt` and `ctx.state.user` app-wide.
   *
   * @example
   * ```ts
   * declare global {
   *   namespace KoaJwtKit {
   *     interface Payload { user_id: number; scopes?: string[] }
   *     interface User { user_id: number; username: string }
   *   }
   * }
   * ```
   */
  namespace KoaJwtKit {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Payload {}
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User {}
  }
}

declare module 'koa' {
  interface BaseRequest {
    /**
     * The parsed request body, once a body parser has read it: koa-jwt-kit's endpoints read JSON
     * and form bodies themselves, other routes need one (koa-body, @koa/bodyparser). Declared here
     * as `unknown` so that `ctx.request.body` type-checks without a body parser's types; koa-body's
     * own declaration (`Request.body`, a JSON value) refines it when its types are loaded, since
     * `Request` extends `BaseRequest`.
     */
    body?: unknown
  }
}

/** `ctx.state` after `protected()` (`jwt`) and `injectUser()` (`user`). */
export interface JwtState<User = KoaJwtKit.User, Payload = JwtPayload & KoaJwtKit.Payload> {
  /** The verified payload of the access token. */
  jwt?: Payload
  /** The user returned by `retrieveUser`, or null for anonymous requests. */
  user?: User | null
}

// `any` behind an interface, as Koa's `DefaultState` is: see `Unchecked`.
type AnyValue = any

/**
 * A value whose type the route's state gives. On its own it reads like `any` (as Koa's
 * `DefaultState` does); in an intersection it adds nothing, so `Payload & Unchecked` is `Payload`
 * with its claims typed. `protected()`, `scoped()` and `injectUser()` add their values to the
 * route's state with this type: a router typed `Router<JwtState<User, Payload>>` keeps `Payload`
 * and `User`, a plain `Router` (whose state is `any`) keeps reading them unchecked.
 */
export interface Unchecked extends AnyValue {}

/**
 * What `protected()` and `scoped()` add to the state of the handlers after them on a route:
 * `ctx.state.jwt` is defined (no `!` needed). Not so with `doProtection: false`, nor for `OPTIONS`
 * requests, which both let through unverified.
 */
export interface ProtectedState {
  /** The verified payload of the access token, typed by the router's state (`JwtState`). */
  jwt: Unchecked
}

/** `User`, or {@link Unchecked} when `User` is `any` (an `Initialize` without a user type). */
export type InjectedUser<User> = 0 extends 1 & User ? Unchecked : User

/**
 * What `protected({ user: true })`, `scoped(..., { user: true })` and
 * `injectUser({ required: true })` add to the state of the handlers after them: the user that
 * `retrieveUser` found, never null.
 */
export interface LoadedUserState<User = Unchecked> {
  /** The user returned by `retrieveUser` for the request's token. */
  user: InjectedUser<User>
}

/**
 * What `injectUser()` adds to the state of the handlers after it on a route: `ctx.state.user` is
 * the user or null (anonymous request), never undefined.
 */
export interface UserState<User = Unchecked> {
  /** The user returned by `retrieveUser`, or null for anonymous requests. */
  user: InjectedUser<User> | null
}

/**
 * Koa middleware that is also a TypeScript 5 method decorator for `BaseEndpoint` verb methods.
 * `StateT` is what it adds to `ctx.state` ({@link ProtectedState}, {@link UserState}): `@koa/router`
 * and `app.use` infer it, so the handlers after it on a route see it.
 *
 * @typeParam StateT - the state the middleware guarantees to the middleware after it.
 *
 * @example
 * ```ts
 * const router = new Router<JwtState>()
 * router.get('/x', jwt.protected(), (ctx) => { ctx.body = ctx.state.jwt.user_id }) // middleware
 * class View extends BaseEndpoint {
 *   @jwt.protected() async get(ctx: Context) { ... } // decorator
 * }
 * ```
 */
export interface JwtMiddleware<StateT = {}> {
  /** As a method decorator: wraps the verb method in the middleware. */
  <This, Method extends (this: This, ctx: Context, ...rest: any[]) => any>(
    method: Method,
    context: ClassMethodDecoratorContext<This, Method>,
  ): Method
  /**
   * As Koa middleware; any context is accepted. This signature comes last because TypeScript
   * infers from the last signature of an overloaded type: `router.get(path, middleware, handler)`
   * infers the handler's state from the `ParameterizedContext<StateT>` member.
   */
  (ctx: ParameterizedContext<StateT, {}> | ParameterizedContext<unknown, {}>, next: Next): Promise<void>
}

/** Per-route settings: a value, or a zero-argument function evaluated for each request. */
export type RouteOverrides = {
  [K in keyof SettingsInput]?: SettingsInput[K] | (() => SettingsInput[K]) | undefined
}

/** What `protected()`, `scoped()` and a required `injectUser()` do when they refuse a request. */
export interface FailureRouteOptions {
  /** On failure, redirect (302) instead of answering 401. @default false */
  redirectOnFail?: boolean
  /** Where to redirect on failure. @default the `loginRedirectUrl` setting */
  redirectUrl?: string
}

/** Options of `protected()` (and of `scoped()`). */
export type ProtectOptions = RouteOverrides &
  FailureRouteOptions & {
    /**
     * Refuse a valid token that is not fresh (claim `fresh` not true, or its time passed) with 401
     * `NeedsFreshToken` (flask-jwt-extended's `jwt_required(fresh=True)`). @default false
     */
    fresh?: boolean
    /**
     * Load the user with `retrieveUser` into `ctx.state.user`; no user for a valid token is a 401
     * `UserLookupFailed` (flask-jwt-extended's user lookup). @default false
     */
    user?: boolean
    /** Skip the revocation check on this route (`revocationEnabled`). @default false */
    skipRevocationCheck?: boolean
  }

/** Options of `injectUser()`. */
export type InjectUserOptions = RouteOverrides &
  FailureRouteOptions & {
    /**
     * Make it a guard: no valid token is answered as `protected()` answers it, and no user for a
     * valid token is a 401 `UserLookupFailed`. Without it an anonymous request gets
     * `ctx.state.user = null`. The redirect options apply only when it is required. @default false
     */
    required?: boolean
  }

/** Options of `scoped()`. */
export type ScopedOptions = ProtectOptions & {
  /** Every listed scope is needed (else any one). @default true */
  requireAll?: boolean
  /** Every action of a scope must be granted by one user scope (else any). @default true */
  requireAllActions?: boolean
}

/**
 * A `@koa/router` router as `new Initialize(router, ...)` takes it: the members it uses. Any
 * `Router` fits, whether its type comes from @koa/router's CommonJS or ES module declarations
 * (two distinct classes to TypeScript).
 */
export interface RouterTarget {
  register(path: string | RegExp | string[], methods: string[], middleware: any, options?: any): unknown
  routes(): unknown
  allowedMethods(options?: any): unknown
  readonly stack: readonly unknown[]
}

/** A class of the `Authentication` family. */
export type AuthenticationClass<User = any> = new (config: Configuration) => Authentication<User>
/** A class of the `Configuration` family. */
export type ConfigurationClass = new (options?: Record<string, unknown>) => Configuration
/** A class of the `Responses` family. */
export type ResponsesClass = new (config: Configuration, instance: unknown) => Responses
/** A `BaseEndpoint` subclass. */
export type EndpointClass = new (...args: ConstructorParameters<typeof BaseEndpoint>) => BaseEndpoint

/** Handlers that tie the library to your user store (sync or async). */
export interface Handlers<User = any> {
  /** Checks a login request and returns the user. Required in auth mode. */
  authenticate?: (ctx: Context) => User | Promise<User>
  /** Loads the user of a payload (`/me`, `injectUser`, `/refresh`). */
  retrieveUser?: (ctx: Context, payload: JwtPayload) => User | null | undefined | Promise<User | null | undefined>
  /** Persists a refresh token. Turns `refreshTokenEnabled` on. */
  storeRefreshToken?: (userId: unknown, refreshToken: string, ctx: Context) => unknown
  /** Returns the stored refresh token (null when revoked). Turns `refreshTokenEnabled` on. */
  retrieveRefreshToken?: (userId: unknown, ctx: Context) => string | Buffer | null | undefined | Promise<string | Buffer | null | undefined>
  /** Scopes for a user's tokens. Turns `scopesEnabled` on. */
  addScopesToPayload?: (user: User, ctx?: Context) => string | string[] | Promise<string | string[]>
  /** Adds to the payload after the claims. */
  extendPayload?: (payload: JwtPayload, user?: User) => JwtPayload | Promise<JwtPayload>
  /** Per-user secret. Turns `userSecretEnabled` on. */
  retrieveUserSecret?: (userId: unknown, options: { encode: boolean }) => KeyInput | Promise<KeyInput>
  /** May change each single scope verdict (sync). */
  overrideScopeValidator?: (isValid: boolean, required: ScopeTuple, userScopes: ScopeTuple[], requireAllActions: boolean) => boolean
  /** Rewrites a route's raw scope requirement before matching. */
  destructureScopes?: (scopes: ScopeRequirement, ctx?: Context) => ScopeRequirement | Promise<ScopeRequirement>
  /**
   * Decides whether a verified access token is revoked, instead of the token store's check.
   * Turns `revocationEnabled` on.
   */
  isTokenRevoked?: (payload: JwtPayload, ctx?: Context) => boolean | Promise<boolean>
  /** Receives `login`, `refresh`, `logout`, `revoked` and `reuse_detected` events (never a token). */
  audit?: (event: AuditEvent) => void | Promise<void>
}

/** Settings as options: each may also be `undefined` (not given), e.g. `secret: process.env.JWT_SECRET`. */
export type SettingsOptions = { [K in keyof SettingsInput]?: SettingsInput[K] | undefined }

/** Everything `new Initialize(target, options)` accepts. */
export type InitializeOptions<User = any> = SettingsOptions &
  Handlers<User> & {
    /** Claim classes applied to every token. */
    customClaims?: readonly ClaimClass<User>[]
    /** Functions run on every verified payload; each must return a boolean. */
    extraVerifications?: readonly ExtraVerification[]
    /** Custom endpoints mounted under `urlPrefix`: `[path, BaseEndpoint subclass]` pairs. */
    classViews?: readonly (readonly [string, EndpointClass])[]
    /**
     * Cache verified tokens (off by default): `true` or `{ max, ttl }`. Registered claims, custom
     * claims and extra verifications still run on every hit; see `auth.evictVerified()`.
     * @default false
     */
    verifyCache?: boolean | VerifyCacheOptions
    /**
     * Where issued tokens, revocations and (without refresh handlers) refresh tokens are kept.
     * Turns `revocationEnabled` on; without it, `revocationEnabled: true` uses a `MemoryStore`.
     * @default none (a MemoryStore when revocation is on)
     */
    tokenStore?: TokenStore
    /**
     * A key ring instead of the key settings (`secret`, `publicKey`, `privateKey`, `algorithm`):
     * the first key signs and writes its `kid` into the header; every key verifies the tokens
     * naming its `kid`. Change it at run time with `jwt.rotateKeys()`.
     * @default none (the key settings)
     */
    keys?: readonly KeyRingEntry[]
    /** Replaces the `Authentication` class. */
    authenticationClass?: AuthenticationClass<User>
    /** Replaces the `Configuration` class. */
    configurationClass?: ConfigurationClass
    /** Replaces the `Responses` class. */
    responsesClass?: ResponsesClass
  }
