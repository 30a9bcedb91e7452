/**
 * `jwt.openapi()`: an OpenAPI 3.1 description of the endpoints an instance mounted, built from
 * its settings (docs/openapi.md). No Koa in here.
 *
 * @module
 */
import type { Configuration } from './Configuration'
import { AuthenticateEndpoint } from './endpoints/AuthenticateEndpoint'
import type { BaseEndpoint } from './endpoints/BaseEndpoint'
import { FreshLoginEndpoint } from './endpoints/FreshLoginEndpoint'
import { JwksEndpoint } from './endpoints/JwksEndpoint'
import { LogoutEndpoint } from './endpoints/LogoutEndpoint'
import { RefreshEndpoint } from './endpoints/RefreshEndpoint'
import { RetrieveUserEndpoint } from './endpoints/RetrieveUserEndpoint'
import { VerifyEndpoint } from './endpoints/VerifyEndpoint'
import { Components } from './openapi/schemas'
import type {
  EndpointOpenApi,
  OpenApiDocument,
  OpenApiOperation,
  OpenApiOptions,
  OpenApiParameter,
  OpenApiPathItem,
  OpenApiRequestBody,
  OpenApiResponse,
  OpenApiSchema,
} from './openapi/types'

export type * from './openapi/types'

/** What the document is built from: an `Initialize` (its settings and mounted endpoints). */
export interface OpenApiSource {
  readonly config: Configuration
  readonly endpoints: ReadonlyMap<string, BaseEndpoint>
  /** The app the instance was initialised on, if any. */
  readonly app: unknown
  /** The router holding the endpoints: on a router target, its own `prefix` comes before every path. */
  readonly router: unknown
}

/** The `prefix` option of a router target (the router adds it to every route, ours included). */
function routerPrefix(source: OpenApiSource): string {
  if (source.app !== undefined) return ''
  const prefix = (source.router as { opts?: { prefix?: unknown } } | null)?.opts?.prefix
  return typeof prefix === 'string' ? prefix.replace(/\/+$/, '') : ''
}

const BODY_TYPES = ['application/json', 'application/x-www-form-urlencoded'] as const
const TAG = 'auth'

/** How one built-in endpoint is described. */
interface BuiltIn {
  readonly Endpoint: abstract new (...args: never[]) => BaseEndpoint
  readonly verb: 'get' | 'post'
  /** The `operationId`, after `operationIdPrefix`. */
  readonly id: string
  readonly describe: (c: Components) => OpenApiOperation
}

/** A body read as JSON or as a form (`endpoints/body.ts`). */
function body(schema: OpenApiSchema, required: boolean, form = schema): OpenApiRequestBody {
  return { required, content: { [BODY_TYPES[0]]: { schema }, [BODY_TYPES[1]]: { schema: form } } }
}

/** The failures of reading a body: 400, 413, 415. */
function bodyFailures(c: Components, more400 = ''): Record<string, OpenApiResponse> {
  return {
    '400': c.failure(400, `The body is not valid JSON or form data (ERR_JWT_INVALID_BODY)${more400}.`),
    '413': c.failure(413, 'The body is over 100 kB (ERR_JWT_BODY_TOO_LARGE).'),
    '415': c.failure(415, 'The body is neither JSON nor a form (ERR_JWT_UNSUPPORTED_MEDIA_TYPE).'),
  }
}

/** 500 always; 503 when the token store is in use. */
function serverFailures(c: Components): Record<string, OpenApiResponse> {
  const failures: Record<string, OpenApiResponse> = {
    '500': c.failure(500, 'A handler failed (ERR_JWT_HANDLER_FAILED) or the instance is misconfigured.'),
  }
  if (c.setting('revocationEnabled')) {
    failures['503'] = c.failure(503, 'The token store failed or was too slow (ERR_JWT_STORE_UNAVAILABLE).')
  }
  return failures
}

const TOKEN_401 =
  'No valid access token: missing, expired, not valid, revoked... (the code names the failure).'

/** The failures of a route behind `protected()`: 401; in debug mode 400 for a missing or undecodable token. */
function guardFailures(c: Components, extra401 = ''): Record<string, OpenApiResponse> {
  const failures: Record<string, OpenApiResponse> = { '401': c.failure(401, TOKEN_401 + extra401) }
  if (c.setting('debug')) {
    failures['400'] = c.failure(400, 'Debug mode: no token (ERR_JWT_MISSING_*), or a token that does not decode.')
  }
  return failures
}

/** Responses of several kinds: two of the same status are one response whose description says both. */
function merged(...groups: Record<string, OpenApiResponse>[]): Record<string, OpenApiResponse> {
  const all: Record<string, OpenApiResponse> = {}
  for (const group of groups) {
    for (const [status, response] of Object.entries(group)) {
      const before = all[status]
      all[status] = before === undefined ? response : { ...before, description: `${before.description} Or: ${response.description}` }
    }
  }
  return all
}

function login(c: Components, fresh: boolean): OpenApiOperation {
  const refresh = !fresh && c.setting('refreshTokenEnabled')
  const tokens = fresh
    ? c.tokens('AccessToken', 'An access token.', 'none')
    : c.tokens('LoginTokens', 'The tokens of a login (plus the keys of Responses#extendAuthenticate).', refresh ? 'required' : 'none')
  return {
    summary: fresh ? 'Log in again for a fresh access token' : 'Log in',
    description: fresh
      ? 'Checks the credentials again (authenticate) and answers a fresh access token only: no refresh token.'
      : 'Checks the credentials (the authenticate handler) and answers an access token' +
        (refresh ? ' and a refresh token.' : '.'),
    // Public, unlike the document's default.
    security: [],
    requestBody: body(c.credentials(), c.credentialsGiven),
    responses: {
      '200': { ...c.json('Logged in.', tokens), ...c.cookies('The token cookies (cookie mode).') },
      ...bodyFailures(c),
      '401': c.failure(401, 'The credentials were refused (ERR_JWT_AUTHENTICATION_FAILED).'),
      ...serverFailures(c),
    },
  }
}

/** The built-in endpoints, by class: `Initialize` mounts these exact classes. */
const BUILT_INS: readonly BuiltIn[] = [
  { Endpoint: AuthenticateEndpoint, id: 'authenticate', verb: 'post', describe: (c) => login(c, false) },
  { Endpoint: FreshLoginEndpoint, id: 'freshLogin', verb: 'post', describe: (c) => login(c, true) },
  {
    Endpoint: VerifyEndpoint,
    id: 'verifyToken',
    verb: 'get',
    describe: (c) => {
      const failure = { anyOf: [c.verifyFailure(), c.error()] }
      return {
        summary: 'Verify the access token',
        description: 'Answers whether the access token of the request is valid, and if not why.',
        security: c.accessSecurity('GET'),
        responses: {
          '200': c.json('The token is valid.', c.object('Verified', 'A valid token.', 'valid', { const: true })),
          '400': c.failure(
            400,
            'A malformed authorization header (ERR_JWT_INVALID_HEADER); in debug mode also no token, or a token that does not decode (valid: false).',
            failure,
          ),
          '401': c.failure(401, 'The token is not valid (valid: false), or there is none (the error body).', failure),
          ...serverFailures(c),
        },
      }
    },
  },
  {
    Endpoint: RetrieveUserEndpoint,
    id: 'retrieveUser',
    verb: 'get',
    describe: (c) => ({
      summary: 'The logged-in user',
      description: 'The user of the access token, from the retrieveUser handler (plus the keys of Responses#extendRetrieveUser).',
      security: c.accessSecurity('GET'),
      responses: {
        '200': c.json(
          'The user.',
          c.object('Me', 'The user, or null when retrieveUser found none.', 'me', { type: ['object', 'null'] }),
        ),
        ...guardFailures(c),
        ...serverFailures(c),
      },
    }),
  },
  {
    Endpoint: RefreshEndpoint,
    id: 'refreshToken',
    verb: 'post',
    describe: (c) => {
      const sources = c.refreshSources()
      const name = c.setting('refreshTokenName')
      const refreshBody = c.object('RefreshRequest', 'The refresh token.', name, { type: 'string', minLength: 1 }, sources.body === 'required')
      const operation: OpenApiOperation = {
        summary: 'Refresh the access token',
        description:
          'A new access token for the access token of the request (an expired one is accepted) and its refresh token.' +
          (c.setting('refreshRotation') ? ' With refreshRotation, also a new refresh token; the one sent is retired.' : ''),
        security: c.accessSecurity('POST'),
        responses: {
          '200': {
            ...c.json(
              'A new access token (plus the keys of Responses#extendRefresh).',
              c.tokens('RefreshedTokens', 'The new access token, and the new refresh token with refreshRotation.', c.setting('refreshRotation') ? 'optional' : 'none'),
            ),
            ...c.cookies('The new access cookie, and the new refresh cookie with refreshRotation (cookie mode).'),
          },
          ...merged(
            bodyFailures(c),
            guardFailures(c, ' A refresh token that does not match is ERR_JWT_AUTHENTICATION_FAILED; a retired one sent again ERR_JWT_REFRESH_REUSED.'),
          ),
          ...serverFailures(c),
        },
      }
      if (sources.parameters.length > 0) operation.parameters = sources.parameters
      if (sources.body !== 'none') operation.requestBody = body(refreshBody, sources.body === 'required')
      return operation
    },
  },
  {
    Endpoint: LogoutEndpoint,
    id: 'logout',
    verb: 'post',
    describe: (c) => ({
      summary: 'Log out',
      description:
        'Revokes the access token of the request (an expired one is accepted) and the other tokens of its login; with everywhere: true, every token of the user.',
      security: c.accessSecurity('POST'),
      requestBody: body(
        c.object('LogoutRequest', 'Where to log out.', 'everywhere', { type: 'boolean', default: false }, false),
        false,
        { type: 'object', properties: { everywhere: { type: 'string', enum: ['true', 'false'] } } },
      ),
      responses: {
        '200': {
          ...c.json('Logged out (plus the keys of Responses#extendLogout).', c.object('Logout', 'A logout.', 'logout', { const: true })),
          ...c.cookies('Deletes the token cookies (cookie mode).'),
        },
        ...merged(bodyFailures(c, ', or everywhere is not a boolean'), guardFailures(c)),
        ...serverFailures(c),
      },
    }),
  },
  {
    Endpoint: JwksEndpoint,
    id: 'jwks',
    verb: 'get',
    describe: (c) => {
      const etag = { description: 'The version of the set, for If-None-Match.', schema: { type: 'string' } }
      return {
        summary: 'The public keys (JWK Set)',
        description: 'The public keys of the key ring, to verify the tokens this service signs (jwksEnabled).',
        security: [],
        parameters: [
          { name: 'If-None-Match', in: 'header', description: 'The ETag of the set the client holds.', schema: { type: 'string' } },
        ],
        responses: {
          '200': {
            description: 'The key set.',
            headers: {
              'Cache-Control': { description: 'public, max-age=<jwksMaxAge>', schema: { type: 'string' } },
              ETag: etag,
            },
            content: { 'application/jwk-set+json': { schema: c.jwkSet() } },
          },
          '304': { description: 'The client holds the current set.', headers: { ETag: etag } },
        },
      }
    },
  },
]

/** `:name` segments (the router's syntax) as OpenAPI templates, with their parameters. */
function templated(path: string): { path: string; parameters: OpenApiParameter[] } {
  const parameters: OpenApiParameter[] = []
  const converted = path.replace(/:([A-Za-z_$][\w$]*)/g, (_match, name: string) => {
    parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } })
    return `{${name}}`
  })
  return { path: converted, parameters }
}

/** A class view: its `static openapi` operations, else one minimal operation per verb. */
function classView(endpoint: BaseEndpoint): OpenApiPathItem {
  const described = (endpoint.constructor as { openapi?: EndpointOpenApi }).openapi ?? {}
  const item: OpenApiPathItem = {}
  for (const verb of endpoint.verbs()) {
    if (verb === 'options') continue
    const given = described[verb]
    item[verb] = given
      ? structuredClone(given)
      : {
          summary: `${endpoint.constructor.name}.${verb}`,
          responses: { default: { description: `Answered by the class view ${endpoint.constructor.name}.` } },
        }
  }
  return item
}

const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A misuse of `jwt.openapi()` is a TypeError naming the option, never a document with a hole. */
function checkOptions(options: OpenApiOptions): void {
  if (!isObject(options)) throw new TypeError('jwt.openapi() takes an options object.')
  const { info, servers, credentials, operationIdPrefix } = options
  if (info !== undefined && !isObject(info)) throw new TypeError('The "info" option of jwt.openapi() must be an object.')
  if (servers !== undefined && !(Array.isArray(servers) && servers.every(isObject))) {
    throw new TypeError('The "servers" option of jwt.openapi() must be an array of objects.')
  }
  if (credentials !== undefined && !isObject(credentials) && typeof credentials !== 'boolean') {
    throw new TypeError('The "credentials" option of jwt.openapi() must be a JSON Schema (an object).')
  }
  if (operationIdPrefix !== undefined && typeof operationIdPrefix !== 'string') {
    throw new TypeError('The "operationIdPrefix" option of jwt.openapi() must be a string.')
  }
}

let libraryVersion: string | undefined

/** The version of koa-jwt-kit, from its package.json (one level above source/ and dist/). */
function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  libraryVersion ??= (require('../package.json') as { version: string }).version
  return libraryVersion
}

/**
 * Builds the OpenAPI 3.1 document of an instance's mounted endpoints. `Initialize#openapi()`
 * calls it. @internal
 */
export function openApiDocument(source: OpenApiSource, options: OpenApiOptions = {}): OpenApiDocument {
  checkOptions(options)
  const components = new Components(source.config, options)
  const prefix = options.operationIdPrefix ?? ''
  const ids = new Set<string>()
  const paths: Record<string, OpenApiPathItem> = {}
  const base = routerPrefix(source)
  for (const [mounted, endpoint] of source.endpoints) {
    const { path, parameters } = templated(base !== '' && mounted === '/' ? base : base + mounted)
    const builtIn = BUILT_INS.find((entry) => endpoint.constructor === entry.Endpoint)
    let item: OpenApiPathItem
    if (builtIn === undefined) {
      item = classView(endpoint)
    } else {
      // The same class mounted twice (a class view of a built-in class) keeps ids unique.
      let id = `${prefix}${builtIn.id}`
      for (let n = 2; ids.has(id); n += 1) id = `${prefix}${builtIn.id}${n}`
      ids.add(id)
      item = { [builtIn.verb]: { operationId: id, tags: [TAG], ...builtIn.describe(components) } }
    }
    if (parameters.length > 0) item.parameters = parameters
    paths[path] = { ...paths[path], ...item }
  }
  const info = { title: 'koa-jwt-kit', version: version(), ...structuredClone(options.info) }
  // The default of every operation, the app's own merged in: the access token, as protected() reads it.
  const security = components.accessSecurity()
  return {
    openapi: '3.1.0',
    info,
    ...(options.servers === undefined ? {} : { servers: structuredClone(options.servers) }),
    security,
    tags: [{ name: TAG, description: 'Authentication (koa-jwt-kit).' }],
    paths,
    components: { schemas: components.schemas, securitySchemes: components.securitySchemes },
  }
}
