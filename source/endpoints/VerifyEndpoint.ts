import type { Context } from 'koa'

import { DECODE_FAILURE_CODES, type JwtPayload } from '../core/token'
import { InvalidToken, KoaJwtError } from '../errors'
import { overridesFailureHook } from '../Responses'
import { failedRendering } from './BaseEndpoint'
import { TokenEndpoint } from './TokenEndpoint'

/** Statuses and reasons of `/verify` failures (reference §3.4). */
function verifyFailure(error: KoaJwtError, debug: boolean): { status: number; reasons: string[] } {
  if (error instanceof InvalidToken && DECODE_FAILURE_CODES.has(error.code)) {
    return debug ? { status: 400, reasons: error.reasons } : { status: 401, reasons: ['Auth required.'] }
  }
  return { status: 401, reasons: error.reasons }
}

/**
 * `GET /auth/verify`: `{ valid: true }`, or why the token is not valid. A token that is not valid
 * is answered with `{ valid: false, reasons, exception, code }`, unless the `Responses` subclass
 * overrides the hook of that failure's kind (`expiredTokenResponse`, ...): that hook answers
 * instead (docs/customising-failures.md). A missing token is an error answered like everywhere
 * else (`unauthorizedResponse`).
 */
export class VerifyEndpoint extends TokenEndpoint {
  /**
   * Answers `{ valid: true }` (200), or `{ valid: false, reasons, exception, code }` (401/400), or
   * lets the overridden failure hook answer.
   *
   * @param ctx - the request's context.
   * @returns a promise that settles once the response is written.
   */
  async get(ctx: Context): Promise<void> {
    const { auth, config, responses } = this
    const debug = config.get('debug', ctx)
    let token: string | undefined
    let extractionFailure: InvalidToken | undefined
    try {
      token = auth.extractToken(ctx)
    } catch (error) {
      if (error instanceof InvalidToken) {
        // Several query tokens: answered like any other invalid token.
        extractionFailure = error
      } else if (error instanceof KoaJwtError && error.code.startsWith('ERR_JWT_MISSING_')) {
        const Missing = error.constructor as new (m: string[], o: object) => KoaJwtError
        throw new Missing(error.reasons, { status: debug ? 400 : 401, cause: error })
      } else {
        throw error
      }
    }
    let output: Record<string, unknown>
    let payload: JwtPayload | null = null
    try {
      if (token === undefined) throw extractionFailure
      payload = await auth.verifyToken(token, { ctx })
      output = { valid: true }
      ctx.status = 200
    } catch (error) {
      if (!(error instanceof KoaJwtError) || error.status >= 500) throw error
      const failure = verifyFailure(error, debug)
      const code = failure.reasons[0] === 'Auth required.' ? 'ERR_JWT_INVALID_TOKEN' : error.code
      const rendered = new InvalidToken(failure.reasons, { code, status: failure.status, cause: error })
      if (overridesFailureHook(responses, code)) {
        try {
          await responses.failureResponse(ctx, rendered)
        } catch (hookError) {
          // The renderer failed: Koa's error handling answers, as for the other renderers.
          failedRendering.add(ctx)
          throw hookError
        }
        return
      }
      output = { valid: false, reasons: failure.reasons, exception: 'InvalidToken', code }
      ctx.status = failure.status
      for (const [name, value] of Object.entries(rendered.headers)) ctx.set(name, value)
    }
    Object.assign(output, await responses.extendVerify(ctx, { payload }))
    ctx.body = await this.doOutput(output)
  }
}
