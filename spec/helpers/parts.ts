import { createSecretKey, type KeyObject } from 'node:crypto'

import { Configuration, type ConfigurationInput } from '../../source/Configuration'
import { signToken, type JwtPayload } from '../../source/core/token'
import { SECRET } from './app'

/** The test secret as the KeyObject the instance compiles from it. */
export const SECRET_KEY: KeyObject = createSecretKey(Buffer.from(SECRET, 'utf8'))

/** Another HS256 secret of a safe length (no weak-secret warning). */
export const OTHER_SECRET = 'another-test-secret-long-enough-too'

/**
 * A resolved Configuration holding the test secret and `settings`, blind to `KOA_JWT_*`
 * environment presets.
 */
export function makeConfig(settings: ConfigurationInput = {}): Configuration {
  const config = new Configuration({ secret: SECRET, ...settings }, {})
  config.resolve()
  return config
}

/** A resolved instance of a Configuration subclass (for `get<Name>(ctx)` getters). */
export function makeConfigOf<C extends Configuration>(
  Type: new (options: ConfigurationInput, env: Record<string, string | undefined>) => C,
  settings: ConfigurationInput = {},
): C {
  const config = new Type({ secret: SECRET, ...settings }, {})
  config.resolve()
  return config
}

/** An HS256 token signed with `key` (the test secret by default). */
export function hs256(payload: JwtPayload, key: KeyObject = SECRET_KEY): string {
  return signToken(payload, key, 'HS256')
}

/** The secret bytes of a secret KeyObject, as text (to tell two secret keys apart). */
export function secretText(key: KeyObject | undefined): string {
  if (key === undefined) throw new Error('no key')
  return key.export().toString('utf8')
}

/** True for promises and other thenables. */
export function isThenable(value: unknown): boolean {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
