import type { Context } from 'koa'

import { isThenable } from '../core/thenable'
import { AuthenticateEndpoint } from './AuthenticateEndpoint'

/**
 * `POST /auth/fresh` (with `freshLoginEnabled`): checks the credentials again through
 * `authenticate` and answers a fresh access token only, for routes that require one
 * (`protected({ fresh: true })`): no refresh token is made, stored or set as a cookie, so the
 * user's refresh token stays as it was. flask-jwt-extended's "fresh login" pattern.
 */
export class FreshLoginEndpoint extends AuthenticateEndpoint {
  /** Authenticates, then answers `{ access_token }` (fresh per `loginFreshness`) and sets the access cookie in cookie mode. */
  override async post(ctx: Context): Promise<void> {
    const { auth, config, responses } = this
    let user = this.authenticateUser(ctx)
    if (isThenable(user)) user = await user
    const accessToken = await auth.generateAccessToken(user, { ctx, fresh: config.get('loginFreshness', ctx) })
    if (auth.implements('audit')) await this.auditLogin(ctx, user, accessToken)
    let shaped = this.doOutput({ [config.get('accessTokenName', ctx)]: accessToken })
    if (isThenable(shaped)) shaped = await shaped
    const sent = responses.getTokenResponse(ctx, accessToken, shaped as Record<string, unknown>)
    if (sent !== undefined) await sent
  }
}
