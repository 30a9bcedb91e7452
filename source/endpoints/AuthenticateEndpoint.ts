import type { Context } from 'koa'

import { isThenable } from '../core/thenable'
import { decodeUnverified } from '../core/token'
import { InvalidRetrieveUserObject } from '../errors'
import { TokenEndpoint } from './TokenEndpoint'

/** `POST /auth`: checks credentials through `authenticate` and answers the tokens. */
export class AuthenticateEndpoint extends TokenEndpoint {
  /**
   * Authenticates, then answers `{ access_token }` (+ `refresh_token`, + extendAuthenticate keys)
   * and sets cookies in cookie mode. The access token's `fresh` claim is the `loginFreshness`
   * setting.
   */
  async post(ctx: Context): Promise<void> {
    const { auth, config, responses } = this
    let user = this.authenticateUser(ctx)
    if (isThenable(user)) user = await user
    const accessToken = await auth.generateAccessToken(user, { ctx, fresh: config.get('loginFreshness', ctx) })
    const output: Record<string, unknown> = { [config.get('accessTokenName', ctx)]: accessToken }
    let refreshToken: string | undefined
    if (config.get('refreshTokenEnabled', ctx)) {
      refreshToken = await auth.generateRefreshToken(ctx, user)
      output[config.get('refreshTokenName', ctx)] = refreshToken
    }
    if (auth.implements('audit')) await this.auditLogin(ctx, user, accessToken)
    let extra = responses.extendAuthenticate(ctx, { user, accessToken, refreshToken })
    if (isThenable(extra)) extra = await extra
    Object.assign(output, extra)
    let shaped = this.doOutput(output)
    if (isThenable(shaped)) shaped = await shaped
    const sent = responses.getTokenResponse(ctx, accessToken, shaped as Record<string, unknown>, { refreshToken })
    if (sent !== undefined) await sent
  }

  /** Reports a login to `Authentication#audit()`: the user and the access token's id, never the token. */
  protected async auditLogin(ctx: Context, user: unknown, accessToken: string): Promise<void> {
    const jti = decodeUnverified(accessToken).jti
    const userId = String(await this.auth.getUserId(user, ctx))
    await this.auth.audit({ type: 'login', userId, jti: typeof jti === 'string' ? jti : null, time: this.config.get('clock', ctx)() })
  }

  /**
   * Runs the `authenticate` handler (awaited only when it returns a promise: a sync handler costs
   * no microtask turn).
   *
   * @returns the user.
   * @throws InvalidRetrieveUserObject when the handler returns null or undefined.
   */
  protected authenticateUser(ctx: Context): unknown {
    const user: unknown = this.auth.authenticate(ctx)
    if (isThenable(user)) return Promise.resolve(user).then(present)
    return present(user)
  }
}

function present(user: unknown): unknown {
  if (user === null || user === undefined) throw new InvalidRetrieveUserObject()
  return user
}
