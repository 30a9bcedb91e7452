/**
 * The keys of one instance: the instance keys compiled once for the settings in force (again only
 * when a key setting changes), or a key ring (the `keys` option, swapped whole by `rotateKeys`),
 * or the keys of a `jwksUri`; and per-user keys from `retrieveUserSecret` in a bounded cache.
 * No Koa in here.
 */
import type { KeyObject } from 'node:crypto'

import type { Configuration } from '../Configuration'
import { InvalidConfiguration, InvalidToken, UserSecretNotImplemented } from '../errors'
import { isKeyInput } from '../setting-values'
import { isAsymmetric, type Algorithm, type KeyInput } from '../settings'
import { compileRing, singleKeyRing, type KeyRing, type RingKey } from './key-ring'
import { compileKeys, compileUserKey, type CompiledKeys } from './keys'
import { RemoteKeySet } from './RemoteKeySet'
import { readClock } from './token'

const USER_KEY_CACHE_SIZE = 256

/** Holds the `retrieveUserSecret` handler (called as a method, so subclasses keep `this`). */
export interface UserSecretSource {
  retrieveUserSecret(userId: unknown, options: { encode: boolean }): unknown
}

/** Where the key of a token is looked up by its `kid`: a key ring or a remote key set. @internal */
export interface KeySource {
  keyFor(token: string): RingKey | Promise<RingKey>
}

const KEY_SETTINGS = ['secret', 'privateKey', 'algorithm'] as const

/** Compiled instance keys and per-user keys. @internal */
export class KeyStore {
  readonly #config: Configuration
  #keys: CompiledKeys | undefined
  #ring: KeyRing | undefined
  #remote: RemoteKeySet | undefined
  // The published one-key ring of the key settings (jwksEnabled), per compiled keys.
  readonly #single = new WeakMap<CompiledKeys, KeyRing>()
  // Read once while the settings are static (issuing reads it for every token).
  readonly #publishes: (ctx?: object) => boolean
  #source: [unknown, unknown, unknown] = [undefined, undefined, undefined]
  readonly #userKeys = new Map<string, KeyObject>()
  // Weak: an input object handed out by retrieveUserSecret lives as long as the application keeps it.
  readonly #objectKeys = new WeakMap<object, Map<string, KeyObject>>()

  constructor(config: Configuration) {
    this.#config = config
    this.#publishes = config.derived((ctx) => config.get('jwksEnabled', ctx))
  }

  /**
   * Chooses where keys come from, once at start-up: the `keys` option (a ring), the `jwksUri`
   * setting, or the key settings; and checks what cannot be combined.
   *
   * @throws InvalidConfiguration, RequiredKeysNotFound (naming a ring's key by its kid).
   */
  configure(entries: unknown): void {
    const config = this.#config
    const explicit = KEY_SETTINGS.filter((name) => config.isExplicit(name))
    const jwksUri = config.get('jwksUri')
    const jwksEnabled = config.get('jwksEnabled')
    const userSecrets = config.get('userSecretEnabled')
    const replacing = (what: string): void => {
      if (explicit.length > 0) {
        throw new InvalidConfiguration(
          `${what} replaces the key settings: remove "${explicit.join('", "')}" (an option, a Configuration field or a KOA_JWT_* preset).`,
        )
      }
      if (userSecrets) {
        throw new InvalidConfiguration(`${what} cannot be combined with per-user secrets ("userSecretEnabled", retrieveUserSecret).`)
      }
    }
    if (entries !== undefined) {
      replacing('the "keys" option')
      if (jwksUri !== null) throw new InvalidConfiguration('the "keys" option and the "jwksUri" setting cannot be combined.')
      this.#ring = compileRing(entries, this.#ringRules())
      return
    }
    if (jwksUri !== null) {
      if (config.get('authMode')) {
        throw new InvalidConfiguration(
          'the "jwksUri" setting is for verify-only services: set "authMode" to false (a service that issues tokens signs with keys of its own).',
        )
      }
      replacing('the "jwksUri" setting')
      if (jwksEnabled) throw new InvalidConfiguration('a service verifying with "jwksUri" publishes no keys: turn "jwksEnabled" off.')
      this.#remote = new RemoteKeySet(jwksUri, {
        timeout: config.get('jwksTimeout'),
        cooldown: config.get('jwksCooldown'),
        maxAge: config.get('jwksMaxAge'),
        clock: () => readClock(config.get('clock')),
      })
      return
    }
    if (jwksEnabled && (userSecrets || !isAsymmetric(config.get('algorithm')))) {
      throw new InvalidConfiguration(
        'the "jwksEnabled" setting publishes the public key, but there is none: an HMAC key (or a per-user secret) is never published. Use an RS*, PS* or ES* key, or a "keys" ring holding one.',
      )
    }
  }

  /**
   * Swaps the ring for a new one, at once and whole: a list that fails leaves the ring in use.
   *
   * @throws InvalidConfiguration, RequiredKeysNotFound (as at start-up), and InvalidConfiguration
   *   for an instance started without the `keys` option.
   */
  rotate(entries: unknown): KeyRing {
    if (this.#ring === undefined) {
      throw new InvalidConfiguration('rotateKeys() needs an instance started with the "keys" option.')
    }
    const ring = compileRing(entries, this.#ringRules())
    this.#ring = ring
    return ring
  }

  #ringRules(): { requireSigning: boolean; publish: boolean } {
    return { requireSigning: this.#config.get('authMode'), publish: this.#config.get('jwksEnabled') }
  }

  /** The ring, or the remote key set, that picks a token's key by its `kid`; undefined with the key settings. */
  get source(): KeySource | undefined {
    return this.#ring ?? this.#remote
  }

  /** The ring in use (the `keys` option), if any. */
  get ring(): KeyRing | undefined {
    return this.#ring
  }

  /** The keys of `jwksUri`, if any. */
  get remote(): RemoteKeySet | undefined {
    return this.#remote
  }

  /**
   * The ring published by the JWK Set endpoint: the `keys` ring, or with the key settings and
   * `jwksEnabled` their public key under its RFC 7638 thumbprint; undefined otherwise.
   */
  published(ctx?: object): KeyRing | undefined {
    if (this.#ring !== undefined) return this.#ring
    if (this.#remote !== undefined || !this.#publishes(ctx)) return undefined
    const compiled = this.compiled(ctx)
    let ring = this.#single.get(compiled)
    if (ring === undefined) {
      ring = singleKeyRing(compiled.algorithm, compiled.signKey, compiled.verifyKey)
      this.#single.set(compiled, ring)
    }
    return ring
  }

  /**
   * The key that signs, with its `kid`: the ring's first key, or the published key of the key
   * settings; undefined when tokens are signed without `kid` (the key settings, no JWK Set).
   */
  signer(ctx?: object): RingKey | undefined {
    if (this.#ring !== undefined) return this.#ring.signing
    return this.#remote === undefined ? this.published(ctx)?.signing : undefined
  }

  /**
   * The keys for the settings in force (compiled once; again only when they change). A
   * per-request override of a key setting compiles its keys and keeps them as the last ones.
   *
   * @throws the configuration errors of `compileKeys`.
   */
  compiled(ctx?: object): CompiledKeys {
    const config = this.#config
    const algorithm = config.get('algorithm', ctx)
    const secret = config.get('secret', ctx)
    const privateKey = config.get('privateKey', ctx)
    const source = this.#source
    if (this.#keys && source[0] === algorithm && source[1] === secret && source[2] === privateKey) {
      return this.#keys
    }
    const keys = compileKeys(algorithm, secret, privateKey)
    this.#keys = keys
    this.#source = [algorithm, secret, privateKey]
    return keys
  }

  /** Drops the compiled keys and compiles them again from the stored settings. */
  recompile(): CompiledKeys {
    this.#keys = undefined
    return this.compiled()
  }

  /**
   * The key of one user.
   *
   * @param encode - the private key of an asymmetric algorithm is wanted.
   * @param signing - a token is being signed: a missing secret is then the server's fault
   *   (UserSecretNotImplemented, 500), not the token's (InvalidToken, 401).
   */
  async userKey(
    source: UserSecretSource,
    userId: unknown,
    algorithm: Algorithm,
    encode: boolean,
    signing: boolean,
  ): Promise<KeyObject> {
    const input = await source.retrieveUserSecret(userId, { encode })
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
    const direction = `${algorithm}:${encode}`
    // Text is cached by value; any other input (KeyObject, Buffer, URL, { path }) by identity and
    // direction: the same private KeyObject compiles to itself to sign and to its public key to
    // verify. A handler that makes a new object per call gets no hits, but no churn either.
    if (typeof input === 'string') {
      return this.#cached(`${direction}:${input}`, () => compileUserKey(algorithm, input, encode))
    }
    const object = input as Exclude<KeyInput, string>
    let byDirection = this.#objectKeys.get(object)
    if (byDirection === undefined) this.#objectKeys.set(object, (byDirection = new Map()))
    let key = byDirection.get(direction)
    if (key === undefined) byDirection.set(direction, (key = compileUserKey(algorithm, object, encode)))
    return key
  }

  #cached(cacheKey: string, compile: () => KeyObject): KeyObject {
    let key = this.#userKeys.get(cacheKey)
    if (key === undefined) {
      key = compile()
      if (this.#userKeys.size >= USER_KEY_CACHE_SIZE) {
        this.#userKeys.delete(this.#userKeys.keys().next().value!)
      }
      this.#userKeys.set(cacheKey, key)
    }
    return key
  }
}
