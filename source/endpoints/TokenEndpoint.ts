import { BaseEndpoint } from './BaseEndpoint'

/**
 * Base of the built-in endpoints: bodies must be JSON or forms, and non-HTTP errors of user
 * handlers become a rendered 500 `HandlerFailed`. @internal
 */
export abstract class TokenEndpoint extends BaseEndpoint {
  protected override get strictBody(): boolean {
    return true
  }

  protected override get wrapsHandlerErrors(): boolean {
    return true
  }
}
