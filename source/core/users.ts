/**
 * What the token core reads of a user object (API contract: a plain object holding the `userId`
 * key is used as is; any other object goes through `toDict()`, sync or async). No Koa in here.
 */
import { InvalidRetrieveUserObject } from '../errors'
import { isThenable } from './thenable'

/** True for `{...}` literals and `Object.create(null)` objects: not arrays, not class instances. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * The fields of a user: the object itself when it is plain and holds `userIdKey`, else what its
 * `toDict()` returns. Synchronous unless `toDict()` returns a promise (no promise per login).
 *
 * @throws InvalidRetrieveUserObject when neither applies or `toDict()` gives no object.
 */
export function userDict(
  user: unknown,
  userIdKey: string,
): Record<string, unknown> | Promise<Record<string, unknown>> {
  if (isPlainObject(user) && userIdKey in user) return user
  const toDict = (user as { toDict?: unknown } | null | undefined)?.toDict
  if (typeof toDict !== 'function') throw new InvalidRetrieveUserObject()
  const dict: unknown = (toDict as () => unknown).call(user)
  return isThenable(dict) ? Promise.resolve(dict).then(checked) : checked(dict)
}

function checked(dict: unknown): Record<string, unknown> {
  if (typeof dict === 'object' && dict !== null) return dict as Record<string, unknown>
  throw new InvalidRetrieveUserObject()
}
