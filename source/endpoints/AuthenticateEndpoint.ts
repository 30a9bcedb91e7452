import type { Context } from 'koa'

import { InvalidRetrieveUserObject } from '../errors'
import { TokenEndpoint } from './TokenEndpoint'

/** `POST /auth`: checks credentials through `authenticate` and answers the tokens. */
export class AuthenticateEndpoint extends TokenEndpoint {
  /** Authenticates, then answers `{ access_token }` (+ `refresh_token`, + extendAuthenticate keys) and sets cookies in cookie mode. */
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
