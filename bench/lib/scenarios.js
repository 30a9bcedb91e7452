'use strict'
/**
 * The HTTP scenarios. Each runs in its own server process (bench/servers/server.js <kind> <alg>)
 * and answers `GET /hello` (or `POST /auth`) with the same JSON body.
 */

/** What each kind of server does (also used for the README and the results file). */
const KINDS = Object.freeze({
  'koa-raw': 'Koa + @koa/router, GET /hello answers { ok: true } (no auth at all): the baseline',
  passthrough: 'control middleware that reads the Bearer header and stores the raw token, verifies nothing',
  'kit-unguarded': 'koa-jwt-kit Initialize mounted on the app (its endpoint router), GET /hello without guard',
  'koa-jwt': 'koa-jwt 4 middleware, `secret` as string/PEM text, `algorithms: [alg]`',
  'jsonwebtoken-keyobject': 'hand-written middleware: jsonwebtoken.verify with a KeyObject and frozen options',
  'fast-jwt': 'fast-jwt createVerifier({ key, algorithms }) (sync), cache off',
  'fast-jwt-cache': 'fast-jwt createVerifier({ key, algorithms, cache: true }) (sync), 1000-entry LRU',
  'kit-protected': 'koa-jwt-kit jwt.protected(), no verify cache',
  'kit-protected-cache': 'koa-jwt-kit jwt.protected() with the Initialize option verifyCache: { max: 1000 }',
  'kit-scoped': "koa-jwt-kit jwt.scoped(['user:read'])",
  'kit-protected-fresh': 'koa-jwt-kit jwt.protected({ fresh: true }) (the bench token is fresh), no verify cache',
  'kit-protected-revocation':
    'koa-jwt-kit jwt.protected() with revocationEnabled on the default MemoryStore (the bench token recorded in it), no verify cache',
  'kit-auth': 'koa-jwt-kit POST /auth (login and sign), trivial authenticate, JSON body',
  'koa-raw-post': '(control) Koa + @koa/router, POST /auth with the login body, body not read, answers { ok: true }',
  'login-handwritten':
    '(control) hand-written login: koa-body, then jsonwebtoken.sign({ user_id, exp, scopes }, KeyObject) — the floor of a login on this stack',
  'login-floor':
    '(control) login with no library past Koa and the router: the body read and JSON.parse by hand, the token signed with createHmac — what replacing koa-body and jsonwebtoken would reach at best',
  'kit-protected-redis':
    'koa-jwt-kit jwt.protected() with revocation on a RedisStore, revocation mirror live (no Redis call per request), the bench token recorded in it',
  'kit-protected-redis-lookup':
    'koa-jwt-kit jwt.protected() with revocation on a RedisStore and revocationMirror: false (every request reads its record and its user\'s cut-off: two GETs in one round trip)',
  'kit-protected-redis-cluster3':
    'kit-protected-redis in three node:cluster workers sharing one port (each its own Initialize and mirror, on one RedisStore prefix)',
  'kit-auth-rotation-memory':
    'koa-jwt-kit POST /auth with refreshTokenEnabled + refreshRotation on the default MemoryStore (each login records an access and a refresh token)',
  'kit-auth-rotation-redis': 'kit-auth-rotation-memory on a RedisStore (mirror live)',
  'kit-refresh-memory':
    'koa-jwt-kit POST /auth/refresh with refreshRotation on the MemoryStore: per connection, one login then 49 refreshes, each with the tokens of the previous answer',
  'kit-refresh-redis': 'kit-refresh-memory on a RedisStore (mirror live)',
})

/** Kinds answering `POST /auth` with the login body (the others answer `GET /hello`). */
const POST_KINDS = new Set([
  'kit-auth',
  'koa-raw-post',
  'login-handwritten',
  'login-floor',
  'kit-auth-rotation-memory',
  'kit-auth-rotation-redis',
  'kit-refresh-memory',
  'kit-refresh-redis',
])

/** POST kinds that answer a signed `{ access_token }` (checked before load). */
const SIGNING = new Set([
  'kit-auth',
  'login-handwritten',
  'login-floor',
  'kit-auth-rotation-memory',
  'kit-auth-rotation-redis',
  'kit-refresh-memory',
  'kit-refresh-redis',
])

/**
 * Kinds whose login also answers a refresh token that rotates: the check before load logs in and
 * refreshes once (the new refresh token must differ from the one presented).
 */
const ROTATING = new Set(['kit-auth-rotation-memory', 'kit-auth-rotation-redis', 'kit-refresh-memory', 'kit-refresh-redis'])

/**
 * Kinds loaded with refreshes (`POST /auth/refresh`), each with the tokens of the previous answer:
 * autocannon's dynamic requests, REFRESH_CYCLE requests per cycle (one login, then refreshes).
 */
const REFRESHING = new Set(['kit-refresh-memory', 'kit-refresh-redis'])
const REFRESH_CYCLE = 50

/** Kinds on a RedisStore: they need the bench's redis-server (skipped without one). */
const REDIS_KINDS = new Set([
  'kit-protected-redis',
  'kit-protected-redis-lookup',
  'kit-protected-redis-cluster3',
  'kit-auth-rotation-redis',
  'kit-refresh-redis',
])

/**
 * Kinds with revocation on: each server records the bench token and revokes the id REVOKED_JTI,
 * and the check before load sends a token with that id, which must be refused.
 */
const REVOKING = new Set([
  'kit-protected-revocation',
  'kit-protected-redis',
  'kit-protected-redis-lookup',
  'kit-protected-redis-cluster3',
])

/** Kinds that run another kind in several node:cluster workers on one port. */
const CLUSTERS = Object.freeze({
  'kit-protected-redis-cluster3': { base: 'kit-protected-redis', workers: 3 },
})

/** Kinds that verify a token: a tampered token must be refused before load starts. */
const VERIFYING = new Set([
  'koa-jwt',
  'jsonwebtoken-keyobject',
  'fast-jwt',
  'fast-jwt-cache',
  'kit-protected',
  'kit-protected-cache',
  'kit-scoped',
  'kit-protected-fresh',
  'kit-protected-revocation',
  'kit-protected-redis',
  'kit-protected-redis-lookup',
  'kit-protected-redis-cluster3',
])

/**
 * The kinds that also run with RS256 and ES256. Raw Koa runs with every algorithm's token so that
 * each verifier is compared with a server that received exactly the same request (an RS256 token
 * is ~300 bytes longer than an HS256 one).
 */
const ASYMMETRIC_KINDS = [
  'koa-raw',
  'koa-jwt',
  'jsonwebtoken-keyobject',
  'fast-jwt',
  'fast-jwt-cache',
  'kit-protected',
  'kit-protected-cache',
]

/** Every kind runs with HS256, in the order of KINDS (the table order). */
const HS_KINDS = Object.keys(KINDS)

/** Every scenario, in table order: `{ id, kind, alg, method, path }`. */
function allScenarios() {
  const list = []
  const add = (kind, alg) =>
    list.push({
      id: `${kind} ${alg}`,
      kind,
      alg,
      method: POST_KINDS.has(kind) ? 'POST' : 'GET',
      path: POST_KINDS.has(kind) ? '/auth' : '/hello',
      verifies: VERIFYING.has(kind),
      signs: SIGNING.has(kind),
      rotates: ROTATING.has(kind),
      refreshes: REFRESHING.has(kind),
      revokes: REVOKING.has(kind),
      redis: REDIS_KINDS.has(kind),
      workers: CLUSTERS[kind]?.workers ?? 1,
    })
  for (const kind of HS_KINDS) add(kind, 'HS256')
  for (const alg of ['RS256', 'ES256']) for (const kind of ASYMMETRIC_KINDS) add(kind, alg)
  return list
}

/** The JSON body autocannon sends to POST /auth. */
const LOGIN_BODY = JSON.stringify({ username: 'user1', password: 'abcxyz' })

module.exports = { CLUSTERS, KINDS, LOGIN_BODY, POST_KINDS, REDIS_KINDS, REFRESH_CYCLE, allScenarios }
