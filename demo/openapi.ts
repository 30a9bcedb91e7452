/**
 * The demo's OpenAPI document, served at `GET /openapi.json`: koa-jwt-kit's endpoints from
 * `jwt.openapi()`, with the demo's login body, and the demo's own routes merged in. They share the
 * library's security schemes, its default `security` (the access token) and its `Error` schema.
 *
 * @module
 */
import type { Initialize, OpenApiDocument, OpenApiResponse, OpenApiSchema } from '../source'
import type { DemoUser } from './users'

const JSON_TYPE = 'application/json'
const ERROR: OpenApiSchema = { $ref: '#/components/schemas/Error' }

function json(description: string, schema: OpenApiSchema): OpenApiResponse {
  return { description, content: { [JSON_TYPE]: { schema } } }
}

const PUBLIC_USER: OpenApiSchema = {
  type: 'object',
  required: ['id', 'username'],
  properties: { id: { type: 'integer' }, username: { type: 'string' } },
}

/** 401 for no valid token, with the challenge every 401 of the library carries. */
function unauthorized(description: string): OpenApiResponse {
  return {
    ...json(description, ERROR),
    headers: { 'WWW-Authenticate': { description: 'An RFC 6750 Bearer challenge.', schema: { type: 'string' } } },
  }
}

const UNAUTHORIZED = 'No valid access token (missing, expired, revoked...).'
const FORBIDDEN = json('The token lacks the admin scope (ERR_JWT_INVALID_SCOPE).', ERROR)
const UNAVAILABLE = json('The token store failed (ERR_JWT_STORE_UNAVAILABLE).', ERROR)

/**
 * The demo's document: `jwt.openapi()` plus `GET /api/profile`, `GET /api/admin`,
 * `POST /account/password` and `GET /admin/audit`.
 *
 * @param jwt - the demo's koa-jwt-kit instance.
 */
export function demoOpenApi(jwt: Initialize<DemoUser>): OpenApiDocument {
  const document = jwt.openapi({
    info: {
      title: 'koa-jwt-kit demo',
      description: 'Log in with POST /auth (alice / wonderland, admin / admin-password), then send the access token as a Bearer token.',
    },
    credentials: {
      type: 'object',
      required: ['username', 'password'],
      properties: { username: { type: 'string', minLength: 1 }, password: { type: 'string', minLength: 1, format: 'password' } },
    },
  })
  const schemas = document.components.schemas ?? {}
  schemas['PublicUser'] = PUBLIC_USER
  document.paths['/api/profile'] = {
    get: {
      operationId: 'profile',
      summary: 'The profile of the logged-in user',
      responses: {
        '200': json('The profile.', {
          type: 'object',
          required: ['profile'],
          properties: {
            profile: {
              type: ['object', 'null'],
              required: ['id', 'username', 'scopes'],
              properties: {
                id: { type: 'integer' },
                username: { type: 'string' },
                scopes: { type: 'array', items: { type: 'string' } },
              },
            },
          },
        }),
        '401': unauthorized(UNAUTHORIZED),
        '503': UNAVAILABLE,
      },
    },
  }
  document.paths['/api/admin'] = {
    get: {
      operationId: 'admin',
      summary: 'The users (scope admin)',
      responses: {
        '200': json('Every user.', {
          type: 'object',
          required: ['admin', 'users'],
          properties: { admin: { const: true }, users: { type: 'array', items: { $ref: '#/components/schemas/PublicUser' } } },
        }),
        '401': unauthorized(UNAUTHORIZED),
        '403': FORBIDDEN,
        '503': UNAVAILABLE,
      },
    },
  }
  document.paths['/account/password'] = {
    post: {
      operationId: 'changePassword',
      summary: 'Change the password (a fresh token); logs the user out everywhere',
      requestBody: {
        required: true,
        content: {
          [JSON_TYPE]: {
            schema: {
              type: 'object',
              required: ['newPassword'],
              properties: { currentPassword: { type: 'string' }, newPassword: { type: 'string' } },
            },
          },
        },
      },
      responses: {
        '200': json('Changed; every token of the user is revoked.', {
          type: 'object',
          required: ['changed', 'logout'],
          properties: { changed: { const: true }, logout: { const: 'everywhere' } },
        }),
        '400': json('The body is not valid JSON or not the expected shape (ERR_JWT_INVALID_BODY).', ERROR),
        '401': unauthorized(
          `${UNAUTHORIZED} A token that is not fresh is ERR_JWT_NEEDS_FRESH (log in again with POST /auth/fresh); a wrong current password ERR_JWT_AUTHENTICATION_FAILED.`,
        ),
        '413': json('The body is over 16 kB (ERR_JWT_BODY_TOO_LARGE).', ERROR),
        '415': json('The body is not JSON (ERR_JWT_UNSUPPORTED_MEDIA_TYPE).', ERROR),
        '503': UNAVAILABLE,
      },
    },
  }
  document.paths['/admin/audit'] = {
    get: {
      operationId: 'audit',
      summary: 'The last audit events (scope admin)',
      responses: {
        '200': json('The events, oldest first.', {
          type: 'object',
          required: ['events'],
          properties: {
            events: {
              type: 'array',
              items: {
                type: 'object',
                required: ['type', 'userId', 'jti', 'time'],
                properties: {
                  type: { enum: ['login', 'refresh', 'logout', 'revoked', 'reuse_detected'] },
                  userId: { type: 'string' },
                  jti: { type: ['string', 'null'] },
                  time: { type: 'number' },
                },
              },
            },
          },
        }),
        '401': unauthorized(UNAUTHORIZED),
        '403': FORBIDDEN,
        '503': UNAVAILABLE,
      },
    },
  }
  return document
}
