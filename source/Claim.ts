import type { JwtPayload } from './core/token'

/**
 * Base class of custom claims. A registered claim (`customClaims` option) is added to every token
 * by `setup` and checked on every verification by `verify`; an inline claim (passed to
 * `generateAccessToken` / `verifyToken`) applies to that call only.
 *
 * `verify` must return a boolean: `false` is a 401 `InvalidCustomClaimError` ("Invalid claim:
 * <key>."), anything else a 500 `InvalidCustomClaim`.
 *
 * @example
 * ```ts
 * class NameClaim extends Claim {
 *   key = 'username'
 *   setup(payload: JwtPayload, user: { username: string }) { return user.username }
 *   verify(value: unknown) { return typeof value === 'string' && value.length > 0 }
 * }
 * new Initialize(app, { secret, authenticate, customClaims: [NameClaim] })
 * ```
 */
export abstract class Claim<User = any> {
  /** The payload key of the claim. May be declared as a class field. */
  abstract key: string

  /**
   * Computes the claim's value when a token is generated (sync or async).
   *
   * @param payload - the payload built so far.
   * @param user - the authenticated user.
   */
  abstract setup(payload: JwtPayload, user: User): unknown

  /**
   * Checks the claim's value when a token is verified (sync or async).
   *
   * @param value - `payload[key]`, possibly undefined.
   * @returns true to accept, false to reject.
   */
  abstract verify(value: unknown): boolean | Promise<boolean>

  /** The payload key (sanic-jwt's `get_key()`). */
  getKey(): string {
    return this.key
  }
}

/** A `Claim` subclass that can be instantiated without arguments. */
export type ClaimClass<User = any> = new () => Claim<User>
