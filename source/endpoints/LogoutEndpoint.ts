import type { Context } from 'koa'

import { isThenable } from '../core/thenable'
import type { JwtPayload } from '../core/token'
import { InvalidRequestBody } from '../errors'
import { TokenEndpoint } from './TokenEndpoint'

/**
 * `POST /auth/logout` (mounted while `revocationEnabled`; protected, an expired access token
 * accepted): revokes the presented access token and the other tokens of its login (its refresh
 * tokens); `{ "everywhere": true }` in the body revokes every token of the user issued up to now.
 * Clears the token cookies (and the CSRF cookies) in cookie mode; a token read from a cookie must
 * come with its CSRF value while `cookieCsrfProtect` is on. Answers `{ "logout": true }` plus the keys of
 * `Responses#extendLogout`.
 */
export class LogoutEndpoint extends TokenEndpoint {
  /** Revokes, clears the cookies, answers `{ logout: true }`. */
  async post(ctx: Context): Promise<void> {
    const { auth, config, responses } = this
    const payload = (ctx.state.jwt as JwtPayload | undefined) ?? (await auth.verifyRequest(ctx))
    // The guard left the CSRF check (cookieCsrfProtect) to this point, where the body is read:
    // nothing is revoked for a forged request.
    auth.checkCsrf(ctx, payload)
    const everywhere = everywhereOf((ctx.request as { body?: unknown }).body)
    await auth.tokens.logout(payload, everywhere)
    if (auth.implements('audit')) {
      const jti = typeof payload.jti === 'string' ? payload.jti : null
      const userId = String(payload[config.get('userId', ctx)])
      await auth.audit({ type: 'logout', userId, jti, time: config.get('clock', ctx)() })
    }
    if (config.get('cookieSet', ctx)) responses.clearTokenCookies(ctx)
    let extra = responses.extendLogout(ctx, { payload, everywhere })
    if (isThenable(extra)) extra = await extra
    let shaped = this.doOutput({ logout: true, ...extra })
    if (isThenable(shaped)) shaped = await shaped
    ctx.body = shaped
  }
}

/** `everywhere` of a logout body: absent (or no body) is false; anything but a boolean is a 400. */
function everywhereOf(body: unknown): boolean {
  if (body === undefined || body === null || body === '') return false
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestBody('The logout body must be an object.')
  }
  const value = (body as Record<string, unknown>)['everywhere']
  if (value === undefined) return false
  // A form sends text.
  if (value === true || value === 'true') return true
  if (value === false || value === 'false') return false
  throw new InvalidRequestBody('"everywhere" must be a boolean.')
}
