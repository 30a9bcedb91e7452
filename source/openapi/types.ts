/**
 * The OpenAPI 3.1 types of `jwt.openapi()`: a small structural subset of the specification, enough
 * to type what the library writes and what an app merges into it. Types only: nothing of an
 * OpenAPI package is loaded at run time.
 *
 * @module
 */

/**
 * A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) or a `$ref` to one: a plain JSON
 * object, or `true`/`false`.
 */
export type OpenApiSchema = { [keyword: string]: unknown } | boolean

/** The `info` object of a document. */
export interface OpenApiInfo {
  /** The title of the API. */
  title: string
  /** The version of the API document. */
  version: string
  /** A longer description (CommonMark). */
  description?: string
  [extension: string]: unknown
}

/** One `servers` entry. */
export interface OpenApiServer {
  /** The base URL, e.g. `https://api.example.com`. */
  url: string
  /** What this server is. */
  description?: string
  [extension: string]: unknown
}

/** A parameter of an operation (path, query, header or cookie). */
export interface OpenApiParameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  description?: string
  required?: boolean
  schema?: OpenApiSchema
  [extension: string]: unknown
}

/** A media type of a request or response body. */
export interface OpenApiMediaType {
  schema?: OpenApiSchema
  [extension: string]: unknown
}

/** A request body. */
export interface OpenApiRequestBody {
  description?: string
  required?: boolean
  content: Record<string, OpenApiMediaType>
  [extension: string]: unknown
}

/** A response header. */
export interface OpenApiHeader {
  description?: string
  schema?: OpenApiSchema
  [extension: string]: unknown
}

/** One response of an operation. */
export interface OpenApiResponse {
  description: string
  headers?: Record<string, OpenApiHeader>
  content?: Record<string, OpenApiMediaType>
  [extension: string]: unknown
}

/** A security requirement: scheme names (keys of `components.securitySchemes`) → scopes. */
export type OpenApiSecurityRequirement = Record<string, string[]>

/** One operation (a verb of a path). */
export interface OpenApiOperation {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  parameters?: OpenApiParameter[]
  requestBody?: OpenApiRequestBody
  /** Status code (or `default`) → response. */
  responses?: Record<string, OpenApiResponse>
  /** Alternatives: one requirement must be met; `[]` for an operation without authentication. */
  security?: OpenApiSecurityRequirement[]
  [extension: string]: unknown
}

/** The operations of one path, by lower-case HTTP verb. */
export interface OpenApiPathItem {
  get?: OpenApiOperation
  put?: OpenApiOperation
  post?: OpenApiOperation
  delete?: OpenApiOperation
  options?: OpenApiOperation
  head?: OpenApiOperation
  patch?: OpenApiOperation
  parameters?: OpenApiParameter[]
  [extension: string]: unknown
}

/** A security scheme: how a request carries its credentials. */
export type OpenApiSecurityScheme =
  | { type: 'http'; scheme: string; bearerFormat?: string; description?: string }
  | { type: 'apiKey'; in: 'header' | 'query' | 'cookie'; name: string; description?: string }

/** The reusable parts of a document. */
export interface OpenApiComponents {
  schemas?: Record<string, OpenApiSchema>
  securitySchemes?: Record<string, OpenApiSecurityScheme>
  [section: string]: unknown
}

/** An OpenAPI 3.1 document, as `jwt.openapi()` returns it. */
export interface OpenApiDocument {
  openapi: '3.1.0'
  info: OpenApiInfo
  servers?: OpenApiServer[]
  /**
   * The default security of every operation: how `protected()` reads the access token. Public
   * operations say `security: []`.
   */
  security?: OpenApiSecurityRequirement[]
  tags?: { name: string; description?: string }[]
  /** Path → operations. */
  paths: Record<string, OpenApiPathItem>
  components: OpenApiComponents
  [extension: string]: unknown
}

/**
 * How a class view describes its operations to `jwt.openapi()`: a `static openapi` field of a
 * `BaseEndpoint` subclass, verb → operation. A class view without one is listed with a minimal
 * operation per verb.
 *
 * @example
 * ```ts
 * class MagicLink extends TokenEndpoint {
 *   static openapi: EndpointOpenApi = {
 *     post: { summary: 'Mails a login link', responses: { '200': { description: 'Sent' } } },
 *   }
 *   async post() { return { sent: true } }
 * }
 * ```
 */
export type EndpointOpenApi = Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete', OpenApiOperation>>

/** Options of `jwt.openapi()`. */
export interface OpenApiOptions {
  /**
   * Merged over the default `info`.
   * @default { title: 'koa-jwt-kit', version: <the version of koa-jwt-kit> }
   */
  info?: Partial<OpenApiInfo>
  /** The `servers` of the document. @default none (the document's own origin) */
  servers?: OpenApiServer[]
  /**
   * The schema of the login body (`POST /auth`, `POST /auth/fresh`): what your `authenticate`
   * handler reads. Given, the body is marked required.
   * @default an object of any shape
   */
  credentials?: OpenApiSchema
  /**
   * Put before every `operationId` of the built-in endpoints, so that the documents of several
   * instances (an app and a router) can be merged without two operations of the same id.
   * @default ''
   */
  operationIdPrefix?: string
}
