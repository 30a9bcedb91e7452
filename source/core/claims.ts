/**
 * Custom claims as the token core uses them: validated instances, set up in order when a token is
 * issued, verified in order when one is checked. No Koa in here.
 */
import { Claim, type ClaimClass } from '../Claim'
import { InvalidCustomClaim, InvalidCustomClaimError } from '../errors'
import { isThenable } from './thenable'
import type { JwtPayload } from './token'

/**
 * Instantiates a claim class and checks what `abstract` cannot check at run time.
 *
 * @throws InvalidCustomClaim for anything but a Claim subclass with a key, setup() and verify().
 */
export function instantiateClaim<User>(ClaimType: ClaimClass<User>): Claim<User> {
  if (typeof ClaimType !== 'function' || !(ClaimType.prototype instanceof Claim)) {
    throw new InvalidCustomClaim('Custom claims must be classes extending Claim.')
  }
  const claim = new ClaimType()
  if (typeof claim.key !== 'string' || claim.key === '') {
    throw new InvalidCustomClaim(`Custom claim ${ClaimType.name} must declare a non-empty "key".`)
  }
  // `abstract` is gone at run time: a claim without setup() broke every login, one without
  // verify() every protected request (sanic-jwt test_custom_claims_bad).
  for (const method of ['setup', 'verify'] as const) {
    if (typeof claim[method] !== 'function') {
      throw new InvalidCustomClaim(`Custom claim ${ClaimType.name} must implement ${method}().`)
    }
  }
  return claim
}

/** The registered claims followed by this call's inline ones (instantiated per call, as sanic-jwt). */
export function withInline<User>(
  registered: readonly Claim<User>[],
  inline: readonly ClaimClass<User>[] | undefined,
): readonly Claim<User>[] {
  return inline === undefined || inline.length === 0 ? registered : [...registered, ...inline.map(instantiateClaim)]
}

/**
 * Sets every claim up, one after the other, in order: synchronous until a setup returns a
 * promise, then awaited to the end.
 */
export function setupClaims<User>(
  payload: JwtPayload,
  user: User,
  claims: readonly Claim<User>[],
): JwtPayload | Promise<JwtPayload> {
  for (let i = 0; i < claims.length; i++) {
    const value = claims[i]!.setup(payload, user)
    if (isThenable(value)) return setupRest(payload, user, claims, i, value)
    payload[claims[i]!.getKey()] = value
  }
  return payload
}

async function setupRest<User>(
  payload: JwtPayload,
  user: User,
  claims: readonly Claim<User>[],
  from: number,
  pending: PromiseLike<unknown>,
): Promise<JwtPayload> {
  payload[claims[from]!.getKey()] = await pending
  for (let i = from + 1; i < claims.length; i++) {
    payload[claims[i]!.getKey()] = await claims[i]!.setup(payload, user)
  }
  return payload
}

/**
 * Checks a verified payload with every claim, in order.
 *
 * @throws InvalidCustomClaimError (401) when a claim answers false; InvalidCustomClaim (500) when
 *   it answers anything but a boolean.
 */
export async function verifyClaims(payload: JwtPayload, claims: readonly Claim[]): Promise<void> {
  for (const claim of claims) {
    const key = claim.getKey()
    const result = await claim.verify(payload[key])
    if (typeof result !== 'boolean') throw new InvalidCustomClaim()
    if (!result) throw new InvalidCustomClaimError(`Invalid claim: ${key}.`)
  }
}
