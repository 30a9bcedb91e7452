import type { Context, Middleware } from 'koa'

import type { Authentication } from '../Authentication'
import type { Configuration } from '../Configuration'
import { KoaJwtError, asLibraryError } from '../errors'
import type { Responses } from '../Responses'
import { isThenable } from '../core/thenable'
import { endpointOfRequest } from '../registry'
import { readBody } from './body'

/**
 * Requests whose failure hook, called by a verb method (`GET /auth/verify` calls the hook the user
 * overrode), threw: that error is the renderer's own, so it reaches Koa's error handling as it
 * would from any other renderer, instead of being rendered again. Set only on that failure path;
 * weak, so nothing outlives the request. @internal
 */
export const failedRendering = new WeakSet<Context>()

/** What an endpoint is constructed with. */
export interface EndpointInit {
  readonly config: Configuration
  readonly instance: unknown
  readonly auth: Authentication
}

/** HTTP verbs an endpoint may implement as methods. */
export const VERBS = ['get', 'post', 'put', 'patch', 'delete', 'options'] as const

/** One HTTP verb method name. */
export type Verb = (typeof VERBS)[number]

/**
 * Base class of every endpoint (sanic-jwt's class-based views). Implement verb methods
 * (`get`, `post`, ...) taking `ctx`; a returned value other than undefined becomes the JSON body
 * through `doOutput`. Mount subclasses with the `classViews` option, under `urlPrefix`.
 *
 * @example
 * ```ts
 * class MagicLogin extends BaseEndpoint {
 *   async post(ctx: Context) {
 *     const user = await users.byEmail(ctx.request.body.email)
 *     return { sent: await mail.sendLink(user) }
 *   }
 * }
 * new Initialize(app, { secret, authenticate, classViews: [['/magic-login', MagicLogin]] })
 * ```
 */
export class BaseEndpoint {
  /** Middleware applied to every verb of the view (sanic-jwt's `decorators`). */
  static decorators: readonly Middleware<any, any>[] = []

  /** The instance's `Responses`. */
  readonly responses: Responses
  /** The instance's configuration. */
  readonly config: Configuration
  /** The Koa app or router the instance was initialised on. */
  readonly instance: unknown
  /** The instance's `Authentication`. */
  readonly auth: Authentication

  constructor(responses: Responses, init: EndpointInit) {
    this.responses = responses
    this.config = init.config
    this.instance = init.instance
    this.auth = init.auth
  }

  /** Runs before the verb method; may inspect or change the request. */
  doIncoming(_ctx: Context): void | Promise<void> {}

  /** Shapes the output object before it becomes the body. @returns the output. */
  doOutput(output: unknown): unknown {
    return output
  }

  /** Runs after the body is set; may change the response. */
  doResponse(_ctx: Context): void | Promise<void> {}

  /** Answers preflight requests: 204 with an empty body. */
  options(ctx: Context): void {
    ctx.status = 204
  }

  /**
   * The verbs this endpoint implements: the methods of {@link VERBS} it has. `Initialize` mounts
   * one route for each; an override changes which ones.
   */
  verbs(): Verb[] {
    return VERBS.filter((verb) => typeof (this as unknown as Record<string, unknown>)[verb] === 'function')
  }

  /**
   * Whether request bodies other than JSON or forms are refused with 415 (`InvalidRequestBody`)
   * before the verb method runs. False here: other bodies are left unread. True for the built-in
   * endpoints (`TokenEndpoint`).
   */
  protected get strictBody(): boolean {
    return false
  }

  /**
   * Whether errors that are not library errors (`KoaJwtError`), thrown by the verb method or
   * the handlers it calls, are answered as a rendered 500 `HandlerFailed`. False here: they reach
   * Koa's error handling. True for the built-in endpoints (`TokenEndpoint`).
   */
  protected get wrapsHandlerErrors(): boolean {
    return false
  }

  /**
   * The Koa middleware that serves one verb: reads the body (not for `get` and `options`), runs
   * `decorators`, `doIncoming`, the verb method, `doOutput` and `doResponse`, and renders library
   * errors through `responses.failureResponse` (the hook of each failure's kind). `Initialize`
   * calls it once per verb when it mounts the endpoint.
   */
  handler(verb: Verb): Middleware {
    const decorators = (this.constructor as typeof BaseEndpoint).decorators
    const method = (this as unknown as Record<Verb, (ctx: Context) => unknown>)[verb]
    const readsBody = verb !== 'get' && verb !== 'options'
    // Hooks and verb methods are awaited only when they return a promise (they are often sync).
    const run = async (ctx: Context): Promise<void> => {
      const reading = readsBody ? readBody(ctx, this.strictBody) : undefined
      if (reading !== undefined) await reading
      const incoming = this.doIncoming(ctx)
      if (incoming !== undefined) await incoming
      let result = method.call(this, ctx)
      if (isThenable(result)) result = await result
      if (result !== undefined) {
        const output = this.doOutput(result)
        ctx.body = isThenable(output) ? await output : output
      }
      const response = this.doResponse(ctx)
      if (response !== undefined) await response
    }
    const fail = (ctx: Context, error: unknown): void | Promise<void> =>
      this.responses.failureResponse(ctx, this.#asLibraryError(ctx, error))
    // Without decorators (the common case) one promise chain, no second coroutine per request.
    const direct = (ctx: Context): Promise<void> => run(ctx).then(undefined, (error: unknown) => fail(ctx, error))
    const decorated = async (ctx: Context): Promise<void> => {
      try {
        // Module-level middleware in `decorators` works for the instance that mounted this view.
        endpointOfRequest.set(ctx, this)
        let index = -1
        const step = async (i: number): Promise<void> => {
          if (i <= index) throw new Error('next() called multiple times')
          index = i
          const decorator = decorators[i]
          if (decorator === undefined) return run(ctx)
          await decorator(ctx as never, () => step(i + 1))
        }
        await step(0)
      } catch (error) {
        await fail(ctx, error)
      }
    }
    const endpoint = (ctx: Context): Promise<void> =>
      decorators.length === 0 || verb === 'options' ? direct(ctx) : decorated(ctx)
    Object.defineProperty(endpoint, 'name', { value: `${this.constructor.name}.${verb}` })
    return endpoint
  }

  #asLibraryError(ctx: Context, error: unknown): KoaJwtError {
    if (failedRendering.delete(ctx)) throw error
    const converted = error instanceof KoaJwtError || this.wrapsHandlerErrors ? asLibraryError(error) : error
    if (!(converted instanceof KoaJwtError)) throw error
    return converted
  }
}
