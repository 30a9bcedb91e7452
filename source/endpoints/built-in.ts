/**
 * The four built-in endpoints (reference §1.12, §3.4, §4). Each is a `BaseEndpoint` subclass that
 * users may extend and mount in place of the original through `classViews`.
 */
import type { Context } from 'koa'

import {
  AuthenticationFailed,
  InvalidRetrieveUserObject,
  InvalidToken,
  KoaJwtError,
  MeEndpointNotSetup,
  RefreshTokenNotImplemented,
} from '../errors'
import type { JwtPayload } from '../core/token'
import { DECODE_FAILURE_CODES } from '../core/token'
import { toUnauthorized } from '../middleware/guard'
import { BaseEndpoint } from './BaseEndpoint'

abstract class TokenEndpoint extends BaseEndpoint {
  protected override get strictBody(): boolean {
    return true
  }

  protected override get wrapsHandlerErrors(): boolean {
    return true
  }
}

/** `POST /auth`: checks credentials through `authenticate` and answers the tokens. */
export class AuthenticateEndpoint extends TokenEndpoint {
  async post(ctx: Context): Promise<void> {
    const { auth, config, responses } = this
    const user = await auth.authenticate(ctx)
    if (user === null || user === undefined) throw new InvalidRetrieveUserObject()
    const accessToken = await auth.generateAccessToken(user, { ctx })
    const output: Record<string, unknown> = { [config.get('accessTokenName', ctx)]: accessToken }
    let refreshToken: string | undefined
    if (config.get('refreshTokenEnabled', ctx)) {
      refreshToken = await auth.generateRefreshToken(ctx, user)
      output[config.get('refreshTokenName', ctx)] = refreshToken
    }
    Object.assign(output, await responses.extendAuthenticate(ctx, { user, accessToken, refreshToken }))
    const shaped = (await this.doOutput(output)) as Record<string, unknown>
    await responses.getTokenResponse(ctx, accessToken, shaped, { refreshToken })
  }
}

/** Statuses and reasons of `/verify` failures (reference §3.4). */
function verifyFailure(error: KoaJwtError, debug: boolean): { status: number; reasons: string[] } {
  if (error instanceof InvalidToken && DECODE_FAILURE_CODES.has(error.code)) {
    return debug ? { status: 400, reasons: error.reasons } : { status: 401, reasons: ['Auth required.'] }
  }
  return { status: 401, reasons: error.reasons }
}

/** `GET /auth/verify`: `{ valid: true }`, or why the token is not valid. */
export class VerifyEndpoint extends TokenEndpoint {
  async get(ctx: Context): Promise<void> {
    const { auth, config, responses } = this
    const debug = config.get('debug', ctx)
    let token: string
    try {
      token = auth.extractToken(ctx)
    } catch (error) {
      if (!(error instanceof KoaJwtError) || error instanceof InvalidToken) throw error
      if (error.code.startsWith('ERR_JWT_MISSING_')) {
        const Missing = error.constructor as new (m: string[], o: object) => KoaJwtError
        throw new Missing(error.reasons, { status: debug ? 400 : 401, cause: error })
      }
      throw error
    }
    let output: Record<string, unknown>
    let payload: JwtPayload | null = null
    try {
      payload = await auth.verifyToken(token, { ctx })
      output = { valid: true }
      ctx.status = 200
    } catch (error) {
      if (!(error instanceof KoaJwtError) || error.status >= 500) throw error
      const failure = verifyFailure(error, debug)
      const code = failure.reasons[0] === 'Auth required.' ? 'ERR_JWT_INVALID_TOKEN' : error.code
      output = { valid: false, reasons: failure.reasons, exception: 'InvalidToken', code }
      ctx.status = failure.status
      for (const [name, value] of Object.entries(new InvalidToken(failure.reasons, { code, status: failure.status }).headers)) {
        ctx.set(name, value)
      }
    }
    Object.assign(output, await responses.extendVerify(ctx, { payload }))
    ctx.body = await this.doOutput(output)
  }
}

/** The `me` value of a user: null, a plain object, `toDict()` or `toJSON()`. */
async function toMe(user: unknown): Promise<unknown> {
  if (!user) return null
  const proto = Object.getPrototypeOf(user)
  if (proto === Object.prototype || proto === null) return user
  const candidate = user as { toDict?: unknown; toJSON?: unknown }
  if (typeof candidate.toDict === 'function') return await (candidate.toDict as () => unknown).call(user)
  if (typeof candidate.toJSON === 'function') return (candidate.toJSON as () => unknown).call(user)
  throw new InvalidRetrieveUserObject()
}

/** `GET /auth/me` (protected): `{ me: user }` from `retrieveUser`. */
export class RetrieveUserEndpoint extends TokenEndpoint {
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

/**
 * `POST /auth/refresh` (protected with `verifyExp: false`): a new access token for a correctly
 * signed, possibly expired, access token plus the user's stored refresh token.
 */
export class RefreshEndpoint extends TokenEndpoint {
  async post(ctx: Context): Promise<void> {
    const { auth, config, responses } = this
    if (!auth.implements('retrieveUser')) {
      throw new RefreshTokenNotImplemented('Refresh tokens have not been enabled properly.')
    }
    let payload = ctx.state.jwt as JwtPayload | undefined
    if (payload === undefined) {
      // doProtection false: the guard let the request through unverified; verify here, as it would.
      try {
        payload = await auth.verifyRequest(ctx)
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
    const stored = await auth.retrieveRefreshToken(userId, ctx)
    auth.compareRefreshTokens(stored, sent)
    const accessToken = await auth.generateAccessToken(user, { ctx })
    const output: Record<string, unknown> = { [config.get('accessTokenName', ctx)]: accessToken }
    const storedText = Buffer.isBuffer(stored) ? stored.toString('utf8') : (stored ?? undefined)
    Object.assign(
      output,
      await responses.extendRefresh(ctx, { user, accessToken, refreshToken: storedText, purportedToken: sent, payload }),
    )
    const shaped = (await this.doOutput(output)) as Record<string, unknown>
    await responses.getTokenResponse(ctx, accessToken, shaped)
  }
}
