import type { Context } from 'koa'

import type { TokenRecord } from '../core/stores/TokenStore'
import type { JwtPayload } from '../core/token'
import { refreshTokenId } from '../core/TokenRegistry'
import { AuthenticationFailed, KoaJwtError, RefreshTokenNotImplemented } from '../errors'
import { toUnauthorized } from '../middleware/guard'
import { TokenEndpoint } from './TokenEndpoint'

/**
 * `POST /auth/refresh` (protected with `verifyExp: false`): a new access token for a correctly
 * signed, possibly expired, access token plus the user's stored refresh token. With
 * `cookieCsrfProtect`, a refresh token read from its cookie must come with its own CSRF value
 * (the access token's is not checked here).
 */
export class RefreshEndpoint extends TokenEndpoint {
  /** Checks the refresh token against the stored one and answers a new `{ access_token }`. */
  async post(ctx: Context): Promise<void> {
    const { auth, config, responses } = this
    if (!auth.implements('retrieveUser')) {
      throw new RefreshTokenNotImplemented('Refresh tokens have not been enabled properly.')
    }
    let payload = ctx.state.jwt as JwtPayload | undefined
    if (payload === undefined) {
      // doProtection false: the guard let the request through unverified; verify here, as it would
      // (the CSRF check is the refresh token's, below).
      try {
        payload = await auth.verifyRequestNow(ctx, { csrf: false })
      } catch (error) {
        throw toUnauthorized(error, config.get('debug', ctx))
      }
    }
    const user = await auth.retrieveUser(ctx, payload)
    // A deleted user gets no new token.
    if (user === null || user === undefined) throw new AuthenticationFailed()
    const userId = await auth.getUserId(user, ctx)
    if (userId !== payload[config.get('userId', ctx)]) throw new AuthenticationFailed()
    let sent: string | undefined
    try {
      sent = auth.extractToken(ctx, { refresh: true })
    } catch (error) {
      if (error instanceof KoaJwtError && error.status < 500) throw new AuthenticationFailed(null, { cause: error })
      throw error
    }
    // cookieCsrfProtect: a refresh token read from its cookie must come with its own CSRF value
    // (the cookieCsrfRefreshName cookie's), before anything is checked, rotated or issued.
    auth.checkRefreshCsrf(ctx, sent)
    let refreshToken: string | undefined
    let successor: string | undefined
    let rotated: TokenRecord | undefined
    if (auth.storesRefreshTokens) {
      // In the token store: the token's own record decides (user, expiry, revocation, rotation),
      // and the new tokens join its login's family. Its rotation is the last write, below.
      const checked = await auth.tokens.checkRefresh(sent, userId, ctx, () => new AuthenticationFailed())
      if (checked.rotate) {
        rotated = checked.record
        successor = await auth.newRefreshToken(ctx)
        await auth.tokens.recordRefresh(successor, userId, ctx)
      }
      refreshToken = successor ?? sent
    } else {
      const stored = await auth.retrieveRefreshToken(userId, ctx)
      auth.compareRefreshTokens(stored, sent)
      refreshToken = Buffer.isBuffer(stored) ? stored.toString('utf8') : (stored ?? undefined)
    }
    // A refreshed token is never fresh: freshness comes from entering the credentials.
    const accessToken = await auth.generateAccessToken(user, { ctx, fresh: false })
    // Lost to a concurrent refresh within the reuse interval: answered without a successor.
    if (rotated !== undefined && successor !== undefined && !(await auth.tokens.rotateRefresh(rotated, successor, ctx))) {
      successor = undefined
      refreshToken = sent
    }
    const output: Record<string, unknown> = { [config.get('accessTokenName', ctx)]: accessToken }
    // A rotated refresh token is answered like the login's: in the body and, in cookie mode, as the cookie.
    if (successor !== undefined) output[config.get('refreshTokenName', ctx)] = successor
    Object.assign(
      output,
      await responses.extendRefresh(ctx, { user, accessToken, refreshToken, purportedToken: sent, payload }),
    )
    if (auth.implements('audit')) {
      // The id of the token used (never the token).
      const used = auth.storesRefreshTokens ? refreshTokenId(sent) : null
      await auth.audit({ type: 'refresh', userId: String(userId), jti: used, time: config.get('clock', ctx)() })
    }
    const shaped = (await this.doOutput(output)) as Record<string, unknown>
    await responses.getTokenResponse(ctx, accessToken, shaped, successor === undefined ? {} : { refreshToken: successor })
  }
}
