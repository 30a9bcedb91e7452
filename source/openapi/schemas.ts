/**
 * The parts of `jwt.openapi()` that come from the settings: component schemas (bodies, the error
 * body), security schemes and where the access and refresh tokens are read. No Koa in here.
 */
import type { Configuration } from '../Configuration'
import { ERROR_CODES } from '../errors'
import type { SettingName, Settings } from '../settings'
import type {
  OpenApiOptions,
  OpenApiParameter,
  OpenApiResponse,
  OpenApiSchema,
  OpenApiSecurityRequirement,
  OpenApiSecurityScheme,
} from './types'

const JSON_TYPE = 'application/json'

/** Collects the components of one document while its operations are described. @internal */
export class Components {
  readonly schemas: Record<string, OpenApiSchema> = {}
  readonly securitySchemes: Record<string, OpenApiSecurityScheme> = {}
  readonly #config: Configuration
  readonly #options: OpenApiOptions

  constructor(config: Configuration, options: OpenApiOptions) {
    this.#config = config
    this.#options = options
  }

  /** The current value of a setting (stored values: per-request getters cannot be known here). */
  setting<K extends SettingName>(name: K): Settings[K] {
    return this.#config.get(name)
  }

  #ref(name: string, build: () => OpenApiSchema): OpenApiSchema {
    if (!(name in this.schemas)) this.schemas[name] = build()
    return { $ref: `#/components/schemas/${name}` }
  }

  /** The error body `{ reasons, exception, code }` (docs/errors.md#error-body). */
  error(): OpenApiSchema {
    return this.#ref('Error', () => ({
      type: 'object',
      description: 'The body of every library error (Responses#exceptionResponse).',
      required: ['reasons', 'exception', 'code'],
      properties: {
        reasons: { type: 'array', items: { type: 'string' }, description: 'Why the request failed.' },
        exception: { type: 'string', description: 'The name of the error class, e.g. "InvalidToken".' },
        code: this.#errorCode(),
      },
    }))
  }

  #errorCode(): OpenApiSchema {
    return this.#ref('ErrorCode', () => ({
      type: 'string',
      description: 'The stable code of the failure (docs/errors.md#error-codes).',
      enum: Object.keys(ERROR_CODES),
    }))
  }

  /** `GET /auth/verify`'s answer for a token that is not valid. */
  verifyFailure(): OpenApiSchema {
    return this.#ref('VerifyFailure', () => ({
      type: 'object',
      description: 'A token that is not valid, as GET /auth/verify answers it.',
      required: ['valid', 'reasons', 'exception', 'code'],
      properties: {
        valid: { const: false },
        reasons: { type: 'array', items: { type: 'string' } },
        exception: { const: 'InvalidToken' },
        code: this.#errorCode(),
      },
    }))
  }

  /** True when the `credentials` option gives the login body's schema (the body is then required). */
  get credentialsGiven(): boolean {
    return this.#options.credentials !== undefined
  }

  /** An RFC 7517 JWK Set of public keys (`GET /auth/.well-known/jwks.json`). */
  jwkSet(): OpenApiSchema {
    const text = { type: 'string' }
    return this.#ref('JwkSet', () => ({
      type: 'object',
      description: 'An RFC 7517 JWK Set: the public keys that verify the tokens (never a private or HMAC key).',
      required: ['keys'],
      properties: {
        keys: {
          type: 'array',
          items: {
            type: 'object',
            required: ['kty', 'kid'],
            properties: { kty: text, kid: text, alg: text, use: { const: 'sig' }, crv: text, x: text, y: text, n: text, e: text },
          },
        },
      },
    }))
  }

  /** The login body: the `credentials` option, else any object. */
  credentials(): OpenApiSchema {
    return this.#ref('Credentials', () => {
      const given = this.#options.credentials
      if (given !== undefined) return structuredClone(given)
      return { type: 'object', description: 'What the authenticate handler reads (JSON or form).' }
    })
  }

  #token(description: string): OpenApiSchema {
    return { type: 'string', minLength: 1, description }
  }

  /**
   * A token answer: the access token always, the refresh token required or optional.
   *
   * @param name - the component name.
   * @param refresh - `'required'`, `'optional'` or `'none'`.
   */
  tokens(name: string, description: string, refresh: 'required' | 'optional' | 'none'): OpenApiSchema {
    return this.#ref(name, () => {
      const access = this.setting('accessTokenName')
      const properties: Record<string, OpenApiSchema> = { [access]: this.#token('The access token (a JWT).') }
      const required = [access]
      if (refresh !== 'none') {
        const name = this.setting('refreshTokenName')
        properties[name] = this.#token('The refresh token.')
        if (refresh === 'required') required.push(name)
      }
      return { type: 'object', description, required, properties }
    })
  }

  /** A body `{ [name]: value }` with one required property. */
  object(name: string, description: string, key: string, value: OpenApiSchema, required = true): OpenApiSchema {
    return this.#ref(name, () => ({
      type: 'object',
      description,
      ...(required ? { required: [key] } : {}),
      properties: { [key]: value },
    }))
  }

  /** A JSON response with a body of `schema`. */
  json(description: string, schema: OpenApiSchema): OpenApiResponse {
    return { description, content: { [JSON_TYPE]: { schema } } }
  }

  /** An error response: the error body, and on a 401 the `WWW-Authenticate` challenge. */
  failure(status: number, description: string, schema: OpenApiSchema = this.error()): OpenApiResponse {
    const response = this.json(description, schema)
    if (status === 401) {
      response.headers = {
        'WWW-Authenticate': { description: 'An RFC 6750 Bearer challenge.', schema: { type: 'string' } },
      }
    }
    return response
  }

  /** The `Set-Cookie` header of a response in cookie mode, else nothing. */
  cookies(description: string): Pick<OpenApiResponse, 'headers'> {
    if (!this.setting('cookieSet')) return {}
    return { headers: { 'Set-Cookie': { description, schema: { type: 'string' } } } }
  }

  /**
   * How the access token may come, in the order the library looks (docs/cookies.md): the cookie(s)
   * in cookie mode, the query string, the header; a strict source ends the list. With
   * `cookieCsrfProtect`, the cookie alternative of an operation whose `method` is one of
   * `csrfMethods` also needs the CSRF header.
   */
  accessSecurity(method?: string): OpenApiSecurityRequirement[] {
    const alternatives: OpenApiSecurityRequirement[] = []
    if (this.setting('cookieSet')) {
      const split = this.setting('cookieSplit')
      const name = this.setting('cookieAccessTokenName')
      this.securitySchemes['cookie'] = {
        type: 'apiKey',
        in: 'cookie',
        name,
        description: split
          ? 'The header and payload of the access token; its signature is in the cookieSignature cookie.'
          : 'The access token.',
      }
      if (split) {
        this.securitySchemes['cookieSignature'] = {
          type: 'apiKey',
          in: 'cookie',
          name: this.setting('cookieSplitSignatureName'),
          description: 'The signature of the access token (cookieSplit).',
        }
      }
      const cookie: OpenApiSecurityRequirement = split ? { cookie: [], cookieSignature: [] } : { cookie: [] }
      const csrf =
        this.setting('cookieCsrfProtect') &&
        method !== undefined &&
        this.setting('csrfMethods').includes(method.toUpperCase())
      if (csrf) {
        this.securitySchemes['csrf'] = {
          type: 'apiKey',
          in: 'header',
          name: this.setting('csrfHeaderName'),
          description:
            `CSRF double submit, with a token from the cookies on ${this.setting('csrfMethods').join(', ')}: ` +
            `the value of the ${this.setting('cookieCsrfAccessName')} cookie ` +
            `(of the ${this.setting('cookieCsrfRefreshName')} cookie on the refresh endpoint).`,
        }
      }
      alternatives.push(csrf ? { ...cookie, csrf: [] } : cookie)
      if (this.setting('cookieStrict')) return alternatives
    }
    if (this.setting('queryStringSet')) {
      this.securitySchemes['query'] = {
        type: 'apiKey',
        in: 'query',
        name: this.setting('queryStringAccessTokenName'),
        description: 'The access token.',
      }
      alternatives.push({ query: [] })
      if (this.setting('queryStringStrict')) return alternatives
    }
    this.securitySchemes['bearer'] = this.#headerScheme()
    alternatives.push({ bearer: [] })
    return alternatives
  }

  /** HTTP bearer for `Authorization: Bearer`, else an API key in the configured header. */
  #headerScheme(): OpenApiSecurityScheme {
    const header = this.setting('authorizationHeader')
    const prefix = this.setting('authorizationHeaderPrefix')
    if (header.toLowerCase() === 'authorization' && prefix.toLowerCase() === 'bearer') {
      return { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token.' }
    }
    const form = prefix === '' ? '`<token>`' : `\`${prefix} <token>\``
    return { type: 'apiKey', in: 'header', name: header, description: `The access token, as ${form}.` }
  }

  /**
   * Where `POST /auth/refresh` reads the refresh token: the refresh cookie, the query string, or
   * the body, in that order (a strict source ends the list).
   *
   * @returns the cookie and query parameters, and whether (and how) the body may carry it.
   */
  refreshSources(): { parameters: OpenApiParameter[]; body: 'required' | 'optional' | 'none' } {
    const parameters: OpenApiParameter[] = []
    const only = (strict: boolean): boolean => strict && parameters.length === 0
    if (this.setting('cookieSet')) {
      const strict = this.setting('cookieStrict')
      parameters.push({
        name: this.setting('cookieRefreshTokenName'),
        in: 'cookie',
        description: 'The refresh token (cookie mode).',
        required: only(strict),
        schema: { type: 'string' },
      })
      if (strict) return { parameters, body: 'none' }
    }
    if (this.setting('queryStringSet')) {
      const strict = this.setting('queryStringStrict')
      parameters.push({
        name: this.setting('queryStringRefreshTokenName'),
        in: 'query',
        description: 'The refresh token (query-string mode).',
        required: only(strict),
        schema: { type: 'string' },
      })
      if (strict) return { parameters, body: 'none' }
    }
    return { parameters, body: parameters.length === 0 ? 'required' : 'optional' }
  }
}
