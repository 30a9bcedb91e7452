import type { Context } from 'koa'

import type { JwtPayload } from '../core/token'
import { InvalidRetrieveUserObject, MeEndpointNotSetup } from '../errors'
import { TokenEndpoint } from './TokenEndpoint'

/**
 * The `me` value of a user: null, `toDict()` when the user has one (a plain object too, as for
 * the login's user id: a function cannot be sent as JSON anyway), a plain object, or `toJSON()`.
 */
async function toMe(user: unknown): Promise<unknown> {
  if (!user) return null
  const candidate = user as { toDict?: unknown; toJSON?: unknown }
  const proto = Object.getPrototypeOf(user)
  const plain = proto === Object.prototype || proto === null
  if (plain && typeof candidate.toDict !== 'function') return user
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
    const output: Record<string, unknown> = { me: await toMe(user) }
    Object.assign(output, await responses.extendRetrieveUser(ctx, { user, payload }))
    ctx.body = await this.doOutput(output)
    if (payload === null && config.get('cookieSet', ctx)) {
      responses.setCookie(ctx, config.get('cookieAccessTokenName', ctx), null)
    }
  }
}
