import type { Authentication } from './Authentication'
import type { Configuration } from './Configuration'
import type { Responses } from './Responses'

/** The parts of an `Initialize` instance the middleware needs. @internal */
export interface InstanceParts {
  readonly config: Configuration
  readonly auth: Authentication
  readonly responses: Responses
}

/** Koa app or router → the `Initialize` made on it. @internal */
export const instances = new WeakMap<object, InstanceParts>()

/** Request → the parts of the endpoint serving it, for module-level middleware on class views. @internal */
export const endpointOfRequest = new WeakMap<object, InstanceParts>()
