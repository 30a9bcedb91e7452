/**
 * What a token store accepts as a value: a flat object of JSON scalars, checked the same way by
 * every store, so that a value one store takes and another refuses never reaches production. No
 * Koa in here.
 */
import type { StoreSetOptions, StoreValue } from './TokenStore'

function isScalar(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    value === null ||
    (typeof value === 'number' && Number.isFinite(value))
  )
}

/**
 * Checks that a value is a flat object of JSON scalars (what a serialising store reads back equal).
 *
 * @param what - how the value is named in the error (`'value'`, `'expected'`).
 * @throws TypeError
 * @internal
 */
export function checkValue(value: StoreValue, what: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be a flat object of JSON scalars`)
  }
  for (const name of Object.keys(value)) {
    if (!isScalar(value[name])) {
      throw new TypeError(`${what}.${name} must be a string, a finite number, a boolean or null`)
    }
  }
}

/** Checks that a key is a string. @throws TypeError @internal */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError('A store key must be a string')
}

/** Checks the options of a write: `expiresAt` finite seconds or null, `userId` a string if given. @throws TypeError @internal */
export function checkOptions(options: StoreSetOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('Store options must be an object { expiresAt, userId? }')
  }
  const { expiresAt, userId } = options
  if (expiresAt !== null && !(typeof expiresAt === 'number' && Number.isFinite(expiresAt))) {
    throw new TypeError('expiresAt must be epoch seconds (a finite number) or null')
  }
  if (userId !== undefined && typeof userId !== 'string') throw new TypeError('userId must be a string')
}
