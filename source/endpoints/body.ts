/** Body reading for the built-in endpoints: JSON and form bodies, with every failure a clean 4xx. */
import type { Context, Middleware } from 'koa'
import { koaBody } from 'koa-body'

import { InvalidRequestBody } from '../errors'

function bodyError(error: Error): InvalidRequestBody {
  const status = (error as { status?: unknown }).status
  if (status === 413) {
    return new InvalidRequestBody('Request body is too large.', { status: 413, code: 'ERR_JWT_BODY_TOO_LARGE', cause: error })
  }
  if (status === 415) {
    return new InvalidRequestBody('Unsupported content encoding.', { status: 415, code: 'ERR_JWT_UNSUPPORTED_MEDIA_TYPE', cause: error })
  }
  // Invalid JSON, a gzip stream that does not inflate, an aborted upload...: the client's fault.
  return new InvalidRequestBody(null, { cause: error })
}

const parser: Middleware = koaBody({
  json: true,
  urlencoded: true,
  text: false,
  multipart: false,
  jsonLimit: 100 * 1024,
  formLimit: 100 * 1024,
  onError(error) {
    throw bodyError(error)
  },
})

const noop = async (): Promise<void> => {}

function hasBody(ctx: Context): boolean {
  const length = ctx.get('content-length')
  return (length !== '' && length !== '0') || ctx.get('transfer-encoding') !== ''
}

// The content types every JSON client sends, as written: known to be JSON without parsing them.
const PLAIN_JSON: ReadonlySet<string> = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=utf-8',
  'application/json; charset=UTF-8',
  'application/json;charset=UTF-8',
])

/**
 * Parses a JSON or form body unless an earlier body parser already did.
 *
 * @param strict - refuse other content types with 415 (the token endpoints read only JSON and forms).
 * @returns undefined when there is nothing to read, else a promise settled once the body is parsed.
 * @throws InvalidRequestBody (400, 413 or 415), synchronously for a refused type, else by rejection.
 */
export function readBody(ctx: Context, strict = false): Promise<void> | undefined {
  if ((ctx.request as { body?: unknown }).body !== undefined || !hasBody(ctx)) return undefined
  const type = ctx.req.headers['content-type']
  if (strict && !(type !== undefined && PLAIN_JSON.has(type)) && !ctx.is('json', 'urlencoded')) {
    throw new InvalidRequestBody('Expected a JSON or form body.', { status: 415, code: 'ERR_JWT_UNSUPPORTED_MEDIA_TYPE' })
  }
  return parser(ctx, noop) as Promise<void>
}
