/**
 * The keys of one instance: the instance keys compiled once for the settings in force (again only
 * when a key setting changes), and per-user keys from `retrieveUserSecret` in a bounded cache.
 * No Koa in here.
 */
import type { KeyObject } from 'node:crypto'

import type { Configuration } from '../Configuration'
import { InvalidToken, UserSecretNotImplemented } from '../errors'
import { isKeyInput } from '../setting-values'
import type { Algorithm, KeyInput } from '../settings'
import { compileKeys, compileUserKey, type CompiledKeys } from './keys'

const USER_KEY_CACHE_SIZE = 256

/** Holds the `retrieveUserSecret` handler (called as a method, so subclasses keep `this`). */
export interface UserSecretSource {
  retrieveUserSecret(userId: unknown, options: { encode: boolean }): unknown
}

/** Compiled instance keys and per-user keys. @internal */
export class KeyStore {
  readonly #config: Configuration
  #keys: CompiledKeys | undefined
  #source: [unknown, unknown, unknown] = [undefined, undefined, undefined]
  readonly #userKeys = new Map<string, KeyObject>()
  // Weak: an input object handed out by retrieveUserSecret lives as long as the application keeps it.
  readonly #objectKeys = new WeakMap<object, Map<string, KeyObject>>()

  constructor(config: Configuration) {
    this.#config = config
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
