/**
 * What a token store accepts as a value: a flat object of JSON scalars, checked the same way by
 * every store, so that a value one store takes and another refuses never reaches production. No
 * Koa in here.
 */
import type { StoreValue } from './TokenStore'

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
