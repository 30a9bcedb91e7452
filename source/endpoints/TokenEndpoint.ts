import { BaseEndpoint } from './BaseEndpoint'

/**
 * Base of the built-in endpoints (`AuthenticateEndpoint`, `VerifyEndpoint`,
 * `RetrieveUserEndpoint`, `RefreshEndpoint`): request bodies must be JSON or forms (else 415), and
 * errors of user handlers that are not library errors are answered as a rendered 500
 * `HandlerFailed` instead of reaching Koa's error handling. Extend it for an endpoint of your own
 * that should behave the same way, or extend a built-in endpoint to change it.
 *
 * @example
 * ```ts
 * class MagicLink extends TokenEndpoint {
 *   async post(ctx: Context) {
 *     return { sent: await mail.sendLink(ctx.request.body) }
 *   }
 * }
 * new Initialize(app, { secret, authenticate, classViews: [['/magic-link', MagicLink]] })
 * ```
 */
export abstract class TokenEndpoint extends BaseEndpoint {
  /** True: bodies other than JSON or forms are refused with 415. */
  protected override get strictBody(): boolean {
    return true
  }

  /** True: non-library errors of user handlers become a rendered 500 `HandlerFailed`. */
  protected override get wrapsHandlerErrors(): boolean {
    return true
  }
}
