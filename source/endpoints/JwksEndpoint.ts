import type { Context } from 'koa'

import { BaseEndpoint } from './BaseEndpoint'

/** True when an `If-None-Match` header names the ETag (or is `*`); weak forms compare too (RFC 9110 §13.1.2). */
function matches(header: string, etag: string): boolean {
  if (header === '') return false
  return header.split(',').some((candidate) => {
    const tag = candidate.trim()
    return tag === '*' || tag === etag || tag === `W/${etag}`
  })
}

/**
 * `GET {urlPrefix}{pathToJwks}` (`/auth/.well-known/jwks.json`, with `jwksEnabled`): the public
 * keys of the instance as an RFC 7517 JWK Set, `{ "keys": [{ kty, n, e | crv, x, y, kid, alg,
 * use: "sig" }] }`. Never a private member, never an HMAC key. Answered with
 * `Cache-Control: public, max-age=<jwksMaxAge>` and a strong `ETag`; a request whose
 * `If-None-Match` names it gets a 304 without a body. After `jwt.rotateKeys()` the next request
 * gets the new set (and a new ETag).
 *
 * @example
 * ```ts
 * new Initialize(app, { keys, jwksEnabled: true, authenticate })
 * // GET /auth/.well-known/jwks.json → { "keys": [{ "kty": "EC", "crv": "P-256", ..., "kid": "2025-06" }] }
 * ```
 */
export class JwksEndpoint extends BaseEndpoint {
  /**
   * Answers the JWK Set (200), or 304 when the client holds the current one.
   *
   * @param ctx - the request's context.
   */
  get(ctx: Context): void {
    const ring = this.auth.keyStore.published(ctx)
    // Mounted only when there is something to publish (checked at start-up).
    if (ring === undefined) {
      ctx.status = 404
      return
    }
    const { body, etag } = ring.published()
    ctx.set('Cache-Control', `public, max-age=${Math.floor(this.config.get('jwksMaxAge', ctx))}`)
    ctx.set('ETag', etag)
    if (matches(ctx.get('if-none-match'), etag)) {
      ctx.status = 304
      return
    }
    ctx.type = 'application/jwk-set+json'
    ctx.body = body
  }
}
