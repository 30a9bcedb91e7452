import type { Context } from 'koa'

import type { JwtPayload } from '../core/token'
import { InvalidRetrieveUserObject, MeEndpointNotSetup } from '../errors'
import { TokenEndpoint } from './TokenEndpoint'

/**
 * The `me` value of a user: null; a plain object holding the `userId` key as is (as the login
 * reads it, even when it also has `toDict`: JSON drops the function); any other object through
 * `toDict()`, else `toJSON()`; a plain object with neither as is.
 */
async function toMe(user: unknown, userIdKey: string): Promise<unknown> {
  if (!user) return null
  const candidate = user as { toDict?: unknown; toJSON?: unknown }
  const proto = Object.getPrototypeOf(user)
  const plain = proto === Object.prototype || proto === null
  // Same rule as Authentication#getUserId, so /auth/me shows the object the login took the id from.
  if (plain && (userIdKey in candidate || typeof candidate.toDict !== 'function')) return user
  if (typeof candidate.toDict === 'function') return await (candidate.toDict as () => unknown).call(user)
  if (typeof candidate.toJSON === 'function') return (candidate.toJSON as () => unknown).call(user)
  throw new InvalidRetrieveUserObject()
}

/** `GET /auth/me` (protected): `{ me: user }` from `retrieveUser`. */
export class RetrieveUserEndpoint extends TokenEndpoint {
  /** Answers `{ me }` from `retrieveUser` (+ extendRetrieveUser keys). */
  async get(ctx: Context): Promise<void> {
    const { auth, config, responses } = this
    if (!auth.implements('retrieveUser')) throw new MeEndpointNotSetup()
    const payload = (ctx.state.jwt as JwtPayload | undefined) ?? (await auth.extractPayload(ctx))
    const user = payload ? await auth.retrieveUser(ctx, payload) : null
    const output: Record<string, unknown> = { me: await toMe(user, config.get('userId', ctx)) }
    Object.assign(output, await responses.extendRetrieveUser(ctx, { user, payload }))
    ctx.body = await this.doOutput(output)
    if (payload === null && config.get('cookieSet', ctx)) {
      responses.setCookie(ctx, config.get('cookieAccessTokenName', ctx), null)
    }
  }
}
