import { AsyncLocalStorage } from 'node:async_hooks'

import { suggestName } from './core/suggest'
import { warn } from './core/warnings'
import { InvalidConfiguration, RequiredKeysNotFound } from './errors'
import {
  ALIASES,
  DEFAULTS,
  HANDLER_NAMES,
  SETTING_NAMES,
  canonicalName,
  isAsymmetric,
  snakeUpper,
  type Settings,
  type SettingName,
  type SettingsInput,
} from './settings'
import { normalizeSetting } from './setting-values'

/** Option keys that are not settings but are accepted by `Initialize` (handlers, classes, lists). */
export const NON_SETTING_OPTIONS: readonly string[] = Object.freeze([
  ...HANDLER_NAMES,
  'customClaims',
  'extraVerifications',
  'classViews',
  'authenticationClass',
  'configurationClass',
  'responsesClass',
  'verifyCache',
  'tokenStore',
  'keys',
])

/** Prefix of environment presets: `KOA_JWT_SECRET`, `KOA_JWT_EXPIRATION_DELTA`, ... */
export const ENV_PREFIX = 'KOA_JWT_'

type OverrideScope = Map<Configuration, Map<SettingName, unknown>>
const overrideStorage = new AsyncLocalStorage<OverrideScope>()

/** What `Configuration` accepts: settings by name (`undefined` = not given), plus other keys. */
export type ConfigurationInput = { [K in keyof SettingsInput]?: SettingsInput[K] | undefined } & Record<string, unknown>

type ChangeListener = (name: SettingName, value: unknown) => void

function pascal(name: string): string {
  return name[0]!.toUpperCase() + name.slice(1)
}

const HIDDEN: ReadonlySet<SettingName> = new Set<SettingName>(['secret', 'privateKey'])

/**
 * The settings of one `Initialize` instance.
 *
 * Values come from, low to high: {@link DEFAULTS} → `KOA_JWT_*` environment presets → fields
 * (instance or static) of a subclass → its `set<Name>()` methods (run once; a `set<Name>` that is
 * not a function is ignored with a `KOA_JWT_SETTER_NOT_CALLABLE` process warning) → the options
 * object.
 * At request time, `get(name, ctx)` looks at: an active `override()` → the value cached for this
 * request (per-route overrides, earlier getter results) → a `get<Name>(ctx)` method of the subclass
 * (run at most once per request) → the stored value.
 *
 * Aliases (`publicKey` → `secret`, `cookieTokenName` → `cookieAccessTokenName`, `splitCookie` →
 * `cookieSplit`) are the same setting under another name everywhere.
 *
 * @example
 * ```ts
 * class MyConfiguration extends Configuration {
 *   urlPrefix = '/api/auth'
 *   setExpirationDelta() { return 15 * 60 }
 *   getAuthorizationHeader(ctx: Context) {
 *     return ctx.get('x-authorization-header') ? 'x-authorization-header' : 'authorization'
 *   }
 * }
 * new Initialize(app, { configurationClass: MyConfiguration, secret, authenticate })
 * ```
 */
export class Configuration {
  /** The defaults of every setting. */
  static readonly defaults: Readonly<Settings> = DEFAULTS
  /** Alias → setting name. */
  static readonly aliases: Readonly<Record<string, SettingName>> = ALIASES

  #options: Readonly<Record<string, unknown>>
  #env: Readonly<Record<string, string | undefined>>
  #values: Record<SettingName, unknown> | undefined
  #getters = new Map<SettingName, (ctx: object) => unknown>()
  #requestValues = new WeakMap<object, Map<SettingName, unknown>>()
  #listeners = new Set<ChangeListener>()
  #explicit = new Set<SettingName>()
  #version = 0
  #warned = false

  /**
   * @param options - settings by name (aliases accepted); keys of handlers and other `Initialize`
   *   options are ignored, unknown keys raise a process warning.
   * @param env - where presets are read from. @default process.env
   */
  constructor(options: ConfigurationInput = {}, env: Record<string, string | undefined> = process.env) {
    // A copy (lists too): the caller's object is never mutated, and later changes to it are not seen.
    this.#options = Object.freeze(
      Object.fromEntries(
        Object.entries(options).map(([name, value]) => [name, Array.isArray(value) ? [...value] : value]),
      ),
    )
    this.#env = env
  }

  /**
   * Reads a setting.
   *
   * @param name - a setting or alias name.
   * @param ctx - the request; without it no `get<Name>` getter runs and no per-request value is seen.
   * @returns the value; `secret`/`privateKey` read back as configured (never a compiled key).
   * @throws InvalidConfiguration for an unknown name.
   */
  get<K extends SettingName>(name: K, ctx?: object): Settings[K]
  get<A extends keyof typeof ALIASES>(name: A, ctx?: object): Settings[(typeof ALIASES)[A]]
  get(name: string, ctx?: object): unknown
  get(name: string, ctx?: object): unknown {
    const values = this.#values ?? this.resolve()
    const key = canonicalName(name)
    if (key === undefined) throw new InvalidConfiguration(`unknown setting "${name}".`)
    const scope = overrideStorage.getStore()
    if (scope !== undefined) {
      const overrides = scope.get(this)
      if (overrides?.has(key)) return overrides.get(key)
    }
    if (ctx !== undefined) {
      const cached = this.#requestValues.get(ctx)
      if (cached?.has(key)) return cached.get(key)
      const getter = this.#getters.get(key)
      if (getter !== undefined) {
        const raw = getter.call(this, ctx)
        if (raw instanceof Promise) {
          throw new InvalidConfiguration(`get${pascal(key)}() must return a value, not a promise.`)
        }
        const value = raw === undefined ? values[key] : normalizeSetting(key, raw)
        this.#cacheFor(ctx).set(key, value)
        return value
      }
    }
    return values[key]
  }

  /**
   * Changes a setting at run time (visible to the next read). `null` clears an optional setting.
   *
   * @throws InvalidConfiguration when the value has the wrong type.
   */
  set<K extends SettingName>(name: K, value: SettingsInput[K]): this
  set(name: string, value: unknown): this
  set(name: string, value: unknown): this {
    const values = this.#values ?? this.resolve()
    const key = canonicalName(name)
    if (key === undefined) throw new InvalidConfiguration(`unknown setting "${name}".`)
    const previous = values[key]
    values[key] = normalizeSetting(key, value)
    try {
      this.#validate(values)
      for (const listener of this.#listeners) listener(key, values[key])
    } catch (error) {
      values[key] = previous
      throw error
    }
    this.#version++
    return this
  }

  /** True for setting names and aliases (sanic-jwt's `name in config`). */
  has(name: string): boolean {
    return canonicalName(name) !== undefined
  }

  /** Every setting name with its stored value. */
  *entries(): IterableIterator<[SettingName, unknown]> {
    const values = this.#values ?? this.resolve()
    for (const name of SETTING_NAMES) yield [name, values[name]]
  }

  /** Every setting name. */
  keys(): IterableIterator<SettingName> {
    return SETTING_NAMES[Symbol.iterator]()
  }

  /** Same as {@link Configuration.entries}. */
  [Symbol.iterator](): IterableIterator<[SettingName, unknown]> {
    return this.entries()
  }

  /** The stored values, with key material redacted. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const [name, value] of this.entries()) {
      if (typeof value === 'function') continue
      out[name] = HIDDEN.has(name) && value !== null ? '[redacted]' : value
    }
    return out
  }

  /**
   * Runs `fn` with some settings forced to other values. Scoped to `fn` and to the async work
   * it starts (AsyncLocalStorage), exception safe, and invisible to concurrent requests.
   * On Node 20 the first call turns on async hooks for the whole process (every later `await`
   * costs about 2–3× more): meant for tests, scripts and rare paths, not for every request.
   *
   * @returns what `fn` returns.
   */
  override<T>(values: Partial<SettingsInput> & Record<string, unknown>, fn: () => T): T {
    this.#values ?? this.resolve()
    const mine = new Map(overrideStorage.getStore()?.get(this))
    for (const [name, value] of Object.entries(values)) {
      const key = canonicalName(name)
      if (key === undefined) throw new InvalidConfiguration(`unknown setting "${name}".`)
      mine.set(key, normalizeSetting(key, value))
    }
    const scope: OverrideScope = new Map(overrideStorage.getStore())
    scope.set(this, mine)
    return overrideStorage.run(scope, fn)
  }

  /** True when the setting was given explicitly (field, set method, env or option). @internal */
  isExplicit(name: SettingName): boolean {
    this.#values ?? this.resolve()
    return this.#explicit.has(name)
  }

  /**
   * Changes on every `set()`: values derived from the stored settings may be cached under it.
   * @internal
   */
  get version(): number {
    return this.#version
  }

  /**
   * True when every `get(name, ctx)` for this request would return the stored value: no getters,
   * no per-request values, no active `override()`. Lets hot paths reuse values derived once.
   * @internal
   */
  isStatic(ctx?: object): boolean {
    this.#values ?? this.resolve()
    if (this.#getters.size > 0) return false
    if (ctx !== undefined && (this.#requestValues.get(ctx)?.size ?? 0) > 0) return false
    return overrideStorage.getStore()?.get(this) === undefined
  }

  /**
   * A value derived from the settings of a request, for hot paths: while {@link isStatic} holds it
   * is derived once from the stored settings (again after each `set()`), otherwise from `ctx` on
   * every call. @internal
   */
  derived<T>(derive: (ctx: object | undefined) => T): (ctx?: object) => T {
    let version = -1
    let value: T | undefined
    return (ctx) => {
      if (!this.isStatic(ctx)) return derive(ctx)
      if (value === undefined || version !== this.#version) {
        value = derive(undefined)
        version = this.#version
      }
      return value
    }
  }

  /** True when a `get<Name>(ctx)` getter exists for the setting. @internal */
  hasGetter(name: SettingName): boolean {
    this.#values ?? this.resolve()
    return this.#getters.has(name)
  }

  /**
   * Puts per-request values in place for `ctx` and returns the function that restores what was
   * there before. Used by the middleware for per-route overrides. @internal
   */
  pushRequestValues(ctx: object, values: ReadonlyMap<SettingName, unknown>): () => void {
    const cache = this.#cacheFor(ctx)
    const saved: [SettingName, boolean, unknown][] = []
    for (const [key, value] of values) {
      saved.push([key, cache.has(key), cache.get(key)])
      cache.set(key, value)
    }
    return () => {
      for (const [key, had, value] of saved) {
        if (had) cache.set(key, value)
        else cache.delete(key)
      }
    }
  }

  /** Registers a listener for `set()`; a listener that throws rejects the change. @internal */
  onChange(listener: ChangeListener): void {
    this.#listeners.add(listener)
  }

  /**
   * Resolves every source into the stored values (once) and validates them. Runs on the first
   * read; `Initialize` calls it right away so configuration errors surface at start-up.
   *
   * @throws InvalidConfiguration, RequiredKeysNotFound
   */
  resolve(): Record<SettingName, unknown> {
    if (this.#values !== undefined) return this.#values
    this.#warnUnknownOptions()
    const values = { ...DEFAULTS } as Record<SettingName, unknown>
    const explicit = this.#explicit
    const put = (name: string, value: unknown, fromEnv = false): void => {
      const key = canonicalName(name)
      if (key === undefined || value === undefined) return
      values[key] = normalizeSetting(key, value, fromEnv)
      explicit.add(key)
    }

    for (const name of [...SETTING_NAMES, ...Object.keys(ALIASES)]) {
      const preset = this.#env[ENV_PREFIX + snakeUpper(name)]
      // An empty preset means "not set" (API.md §7).
      if (preset !== undefined && preset !== '') put(name, preset, true)
    }
    // Fields: static ones from base-most to most-derived class, then instance fields.
    const chain: object[] = []
    for (let c: object | null = this.constructor; c && c !== Configuration; c = Object.getPrototypeOf(c)) {
      chain.unshift(c)
    }
    for (const holder of [...chain, this]) {
      for (const name of Object.keys(holder)) {
        if (canonicalName(name) !== undefined) put(name, (holder as Record<string, unknown>)[name])
      }
    }
    const self = this as unknown as Record<string, unknown>
    for (const name of [...SETTING_NAMES, ...Object.keys(ALIASES)]) {
      const method = `set${pascal(name)}`
      // A static set<Name> is no setter, but a value there is the same mistake as on an instance.
      const misplaced = (chain as Record<string, unknown>[]).some(
        (c) => Object.hasOwn(c, method) && typeof c[method] !== 'function',
      )
      const setter = self[method]
      if (setter === undefined && !misplaced) continue
      if (typeof setter === 'function') {
        put(name, (setter as () => unknown).call(this))
        continue
      }
      // As sanic-jwt (reference §2.4): a value is not a setter, so it is ignored with a warning
      // and the setting keeps the value of the other sources.
      warn(
        'KOA_JWT_SETTER_NOT_CALLABLE',
        `variable "${method}" set in Configuration is not callable; it is ignored.`,
      )
    }
    for (const [name, value] of Object.entries(this.#options)) {
      if (canonicalName(name) !== undefined) put(name, value)
    }
    for (const name of SETTING_NAMES) {
      const getter = self[`get${pascal(name)}`]
      if (typeof getter === 'function') this.#getters.set(name, getter as (ctx: object) => unknown)
    }
    for (const [alias, name] of Object.entries(ALIASES)) {
      const getter = self[`get${pascal(alias)}`]
      if (typeof getter === 'function' && !this.#getters.has(name)) {
        this.#getters.set(name, getter as (ctx: object) => unknown)
      }
    }
    this.#validate(values)
    this.#values = values
    return values
  }

  // Before any validation, so a typo's hint is shown even when the typo causes a start-up error.
  #warnUnknownOptions(): void {
    if (this.#warned) return
    this.#warned = true
    const known = [...SETTING_NAMES, ...Object.keys(ALIASES), ...NON_SETTING_OPTIONS]
    for (const [name, value] of Object.entries(this.#options)) {
      if (value === undefined || canonicalName(name) !== undefined || NON_SETTING_OPTIONS.includes(name)) continue
      const hint = suggestName(name, known)
      warn('KOA_JWT_UNKNOWN_OPTION', `Unknown koa-jwt-kit option "${name}" is ignored.${hint ? ` Did you mean "${hint}"?` : ''}`)
    }
  }

  #validate(values: Record<SettingName, unknown>): void {
    // A key ring (the `keys` option) or a remote key set replaces the key settings: Initialize
    // checks them instead (core/key-ring.ts).
    if (this.#options.keys !== undefined || values.jwksUri !== null) return
    const asymmetric = isAsymmetric(values.algorithm as string)
    const blank = (v: unknown): boolean => v === null || (typeof v === 'string' && v.trim() === '')
    if (asymmetric) {
      if (blank(values.privateKey) && values.authMode !== false) throw new RequiredKeysNotFound()
      if (blank(values.secret) && blank(values.privateKey)) throw new RequiredKeysNotFound()
    } else if (blank(values.secret)) {
      throw new InvalidConfiguration(
        'the "secret" setting cannot be null nor an empty string (there is no default secret: pass `secret` or set KOA_JWT_SECRET).',
      )
    }
  }

  #cacheFor(ctx: object): Map<SettingName, unknown> {
    let cache = this.#requestValues.get(ctx)
    if (cache === undefined) {
      cache = new Map()
      this.#requestValues.set(ctx, cache)
    }
    return cache
  }
}
