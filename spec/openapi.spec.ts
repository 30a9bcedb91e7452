import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import Router from '@koa/router'
import { expect } from 'chai'
import Koa from 'koa'
import request from 'supertest'

import {
  BaseEndpoint,
  ERROR_CODES,
  Initialize,
  TokenEndpoint,
  type EndpointOpenApi,
  type InitializeOptions,
  type OpenApiDocument,
  type OpenApiOperation,
} from '../source'
import { authenticateWith, buildApp, makeUsers, refreshStore, SECRET, type TestUser } from './helpers/app'
import { compiler, conforms, operationOf, validate } from './helpers/openapi'
import { ecPair } from './helpers/token-core'

function pathsOf(doc: OpenApiDocument): string[] {
  return Object.keys(doc.paths)
}

const bearer = (token: string | undefined): string => `Bearer ${token ?? ''}`

describe('Initialize#openapi()', () => {
  describe('the document', () => {
    it('is a valid OpenAPI 3.1 document of the default endpoints, with info from koa-jwt-kit', async () => {
      const { jwt } = buildApp()
      const doc = jwt.openapi()
      await validate(doc)
      expect(doc.openapi).to.equal('3.1.0')
      const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
      expect(doc.info).to.deep.equal({ title: 'koa-jwt-kit', version: pkg.version })
      expect(pathsOf(doc)).to.deep.equal(['/auth', '/auth/verify', '/auth/me'])
      expect(Object.keys(doc.paths['/auth'] ?? {})).to.deep.equal(['post'])
      expect(Object.keys(doc.paths['/auth/verify'] ?? {})).to.deep.equal(['get'])
      expect(doc.components.securitySchemes).to.deep.equal({
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token.' },
      })
      expect(doc.security).to.deep.equal([{ bearer: [] }])
      expect(doc.paths['/auth']?.post?.security).to.deep.equal([])
      expect(doc.paths['/auth/me']?.get?.security).to.deep.equal([{ bearer: [] }])
      // No token store: no 503.
      expect(doc.paths['/auth/me']?.get?.responses).to.not.have.property('503')
      expect(doc.components.schemas?.['LoginTokens']).to.deep.include({ required: ['access_token'] })
    })

    it('lists every error code of errors.ts in the Error schema', () => {
      const doc = buildApp().jwt.openapi()
      const schemas = doc.components.schemas as Record<string, { enum?: string[] }>
      expect(doc.components.schemas?.['Error']).to.deep.include({ required: ['reasons', 'exception', 'code'] })
      expect(schemas['ErrorCode']?.enum).to.have.members(Object.keys(ERROR_CODES))
    })

    it('holds only valid JSON Schema 2020-12 component schemas', () => {
      const { jwt } = buildApp({ ...refreshStore(new Map()), revocationEnabled: false, freshLoginEnabled: true })
      const schemas = jwt.openapi().components.schemas ?? {}
      const ajv = compiler()
      const defs = JSON.parse(JSON.stringify(schemas).replaceAll('#/components/schemas/', '#/$defs/')) as object
      ajv.addSchema({ $id: 'https://koa-jwt-kit.test/components', $defs: defs })
      for (const name of Object.keys(schemas)) {
        expect(() => ajv.compile({ $ref: `https://koa-jwt-kit.test/components#/$defs/${name}` }), name).to.not.throw()
      }
      // The references between components were rewritten for this check only.
      expect(JSON.stringify(schemas)).to.include('#/components/schemas/ErrorCode')
    })

    it('adds /refresh with refresh tokens on, and the refresh token to the login answer', async () => {
      const { jwt } = buildApp(refreshStore(new Map()))
      const doc = jwt.openapi()
      await validate(doc)
      expect(pathsOf(doc)).to.deep.equal(['/auth', '/auth/verify', '/auth/me', '/auth/refresh'])
      expect(doc.components.schemas?.['LoginTokens']).to.deep.include({ required: ['access_token', 'refresh_token'] })
      const refresh = doc.paths['/auth/refresh']?.post
      expect(refresh?.requestBody?.required).to.equal(true)
      expect(refresh?.parameters).to.equal(undefined)
      expect(doc.components.schemas?.['RefreshRequest']).to.deep.include({ required: ['refresh_token'] })
    })

    it('adds /fresh with freshLoginEnabled, /logout with revocation (and a 503 for the token store), the JWK Set with jwksEnabled', async () => {
      const { jwt } = buildApp({
        freshLoginEnabled: true,
        revocationEnabled: true,
        refreshTokenEnabled: true,
        jwksEnabled: true,
        secret: undefined,
        keys: [{ kid: 'k1', algorithm: 'ES256', privateKey: ecPair('P-256').privateKey }],
      })
      const doc = jwt.openapi()
      await validate(doc)
      expect(pathsOf(doc)).to.deep.equal([
        '/auth',
        '/auth/verify',
        '/auth/me',
        '/auth/refresh',
        '/auth/fresh',
        '/auth/logout',
        '/auth/.well-known/jwks.json',
      ])
      expect(doc.paths['/auth/logout']?.post?.responses).to.have.property('503')
      expect(doc.paths['/auth']?.post?.responses).to.have.property('503')
      expect(doc.paths['/auth/fresh']?.post?.responses?.['200']?.content?.['application/json']?.schema).to.deep.equal({
        $ref: '#/components/schemas/AccessToken',
      })
      const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => (op as OpenApiOperation).operationId))
      expect(ids).to.deep.equal(['authenticate', 'verifyToken', 'retrieveUser', 'refreshToken', 'freshLogin', 'logout', 'jwks'])
    })

    it('follows the prefix, the paths, the token names and a custom header', async () => {
      const { jwt } = buildApp({
        urlPrefix: '/api/session/',
        pathToAuthenticate: '/login',
        pathToVerify: 'check',
        accessTokenName: 'token',
        authorizationHeader: 'X-Auth',
        authorizationHeaderPrefix: '',
      })
      const doc = jwt.openapi()
      await validate(doc)
      expect(pathsOf(doc)).to.deep.equal(['/api/session/login', '/api/session/check', '/api/session/me'])
      expect(doc.components.schemas?.['LoginTokens']).to.deep.include({ required: ['token'] })
      expect(doc.components.securitySchemes).to.deep.equal({
        bearer: { type: 'apiKey', in: 'header', name: 'X-Auth', description: 'The access token, as `<token>`.' },
      })
    })

    it('describes another scheme in the Authorization header as an API key with its prefix', () => {
      const doc = buildApp({ authorizationHeaderPrefix: 'JWT' }).jwt.openapi()
      expect(doc.components.securitySchemes?.['bearer']).to.deep.equal({
        type: 'apiKey',
        in: 'header',
        name: 'authorization',
        description: 'The access token, as `JWT <token>`.',
      })
    })

    it('describes cookie mode: the access cookie only while cookieStrict, the refresh cookie as a parameter', async () => {
      const { jwt } = buildApp({ ...refreshStore(new Map()), cookieSet: true })
      const doc = jwt.openapi()
      await validate(doc)
      expect(doc.components.securitySchemes).to.deep.equal({
        cookie: { type: 'apiKey', in: 'cookie', name: 'access_token', description: 'The access token.' },
      })
      const refresh = doc.paths['/auth/refresh']?.post
      expect(refresh?.security).to.deep.equal([{ cookie: [] }])
      expect(refresh?.requestBody).to.equal(undefined)
      expect(refresh?.parameters).to.deep.equal([
        { name: 'refresh_token', in: 'cookie', description: 'The refresh token (cookie mode).', required: true, schema: { type: 'string' } },
      ])
      expect(doc.paths['/auth']?.post?.responses?.['200']?.headers).to.have.property('Set-Cookie')
    })

    it('with cookieCsrfProtect: the CSRF header beside the cookie on the unsafe methods only', async () => {
      const { jwt } = buildApp({
        ...refreshStore(new Map()),
        cookieSet: true,
        cookieCsrfProtect: true,
        csrfHeaderName: 'x-xsrf',
        revocationEnabled: true,
      })
      const doc = jwt.openapi()
      await validate(doc)
      expect(doc.components.securitySchemes?.['csrf']).to.deep.include({ type: 'apiKey', in: 'header', name: 'x-xsrf' })
      expect(doc.paths['/auth/refresh']?.post?.security).to.deep.equal([{ cookie: [], csrf: [] }])
      expect(doc.paths['/auth/logout']?.post?.security).to.deep.equal([{ cookie: [], csrf: [] }])
      expect(doc.paths['/auth/verify']?.get?.security).to.deep.equal([{ cookie: [] }])
      expect(doc.paths['/auth/me']?.get?.security).to.deep.equal([{ cookie: [] }])
      // Off: no CSRF scheme at all.
      const plain = buildApp({ ...refreshStore(new Map()), cookieSet: true }).jwt.openapi()
      expect(plain.components.securitySchemes).to.not.have.property('csrf')
    })

    it('describes split cookies, then the query string and the header when the sources are not strict', async () => {
      const { jwt } = buildApp({
        ...refreshStore(new Map()),
        cookieSet: true,
        cookieSplit: true,
        cookieStrict: false,
        queryStringSet: true,
        queryStringStrict: false,
      })
      const doc = jwt.openapi()
      await validate(doc)
      expect(doc.paths['/auth/me']?.get?.security).to.deep.equal([
        { cookie: [], cookieSignature: [] },
        { query: [] },
        { bearer: [] },
      ])
      expect(Object.keys(doc.components.securitySchemes ?? {})).to.deep.equal(['cookie', 'cookieSignature', 'query', 'bearer'])
      const refresh = doc.paths['/auth/refresh']?.post
      expect(refresh?.parameters?.map((p) => [p.in, p.name, p.required])).to.deep.equal([
        ['cookie', 'refresh_token', false],
        ['query', 'refresh_token', false],
      ])
      expect(refresh?.requestBody?.required).to.equal(false)
    })

    it('has no built-in endpoint with authMode false; class views appear, described or minimal', async () => {
      class Described extends TokenEndpoint {
        static openapi: EndpointOpenApi = {
          post: { operationId: 'sendLink', summary: 'Mails a login link', responses: { '200': { description: 'Sent.' } } },
        }
        async post(): Promise<{ sent: boolean }> {
          return { sent: true }
        }
      }
      class Bare extends BaseEndpoint {
        get(): { ok: boolean } {
          return { ok: true }
        }
      }
      const jwt = new Initialize(new Koa(), {
        secret: SECRET,
        authMode: false,
        classViews: [
          ['/magic-link', Described],
          ['/sessions/:id', Bare],
        ],
      })
      const doc = jwt.openapi()
      await validate(doc)
      expect(pathsOf(doc)).to.deep.equal(['/auth/magic-link', '/auth/sessions/{id}'])
      expect(doc.paths['/auth/magic-link']).to.deep.equal(Described.openapi)
      expect(doc.paths['/auth/magic-link']?.post).to.not.equal(Described.openapi.post)
      expect(doc.paths['/auth/sessions/{id}']).to.deep.equal({
        get: { summary: 'Bare.get', responses: { default: { description: 'Answered by the class view Bare.' } } },
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      })
      // A verify-only service: its own routes take the token as the document's security says.
      expect(doc.security).to.deep.equal([{ bearer: [] }])
      expect(Object.keys(doc.components.securitySchemes ?? {})).to.deep.equal(['bearer'])
    })

    it('puts the prefix of a router target before every path', async () => {
      const router = new Router({ prefix: '/v1' })
      const jwt = new Initialize(router, { secret: SECRET, authenticate: authenticateWith(makeUsers()) })
      const app = new Koa()
      app.use(router.routes())
      const doc = jwt.openapi()
      await validate(doc)
      expect(pathsOf(doc)).to.deep.equal(['/v1/auth', '/v1/auth/verify', '/v1/auth/me'])
      const res = await request(app.callback()).post('/v1/auth').send({ username: 'user1', password: 'abcxyz' })
      expect(res.status).to.equal(200)
    })

    it('takes info, servers, the credentials schema and an operationId prefix, and returns a fresh object', async () => {
      const { jwt } = buildApp()
      const options = {
        info: { title: 'Shop', version: '2.1.0', description: 'The shop API.' },
        servers: [{ url: 'https://shop.example' }],
        credentials: {
          type: 'object',
          required: ['username', 'password'],
          properties: { username: { type: 'string' }, password: { type: 'string', format: 'password' } },
        },
        operationIdPrefix: 'auth_',
      }
      const doc = jwt.openapi(options)
      await validate(doc)
      expect(doc.info).to.deep.equal(options.info)
      expect(doc.servers).to.deep.equal(options.servers)
      expect(doc.components.schemas?.['Credentials']).to.deep.equal(options.credentials)
      expect(doc.paths['/auth']?.post?.requestBody?.required).to.equal(true)
      expect(doc.paths['/auth']?.post?.operationId).to.equal('auth_authenticate')
      doc.info.title = 'changed'
      ;(doc.components.schemas?.['Credentials'] as { type: string }).type = 'changed'
      expect(options.info.title).to.equal('Shop')
      expect(options.credentials.type).to.equal('object')
      expect(jwt.openapi().info.title).to.equal('koa-jwt-kit')
      expect(jwt.openapi()).to.not.equal(jwt.openapi())
      expect(JSON.parse(JSON.stringify(jwt.openapi()))).to.deep.equal(jwt.openapi())
    })

    it('throws a TypeError naming the option for options of the wrong type', () => {
      const { jwt } = buildApp()
      const cases: [unknown, RegExp][] = [
        ['info', /options object/],
        [{ info: 'Shop' }, /"info"/],
        [{ servers: 'https://shop.example' }, /"servers"/],
        [{ servers: ['https://shop.example'] }, /"servers"/],
        [{ credentials: 'username' }, /"credentials"/],
        [{ operationIdPrefix: 1 }, /"operationIdPrefix"/],
      ]
      for (const [options, message] of cases) {
        expect(() => jwt.openapi(options as never), JSON.stringify(options)).to.throw(TypeError, message)
      }
    })
  })

  describe('live answers conform to the document', () => {
    async function setup(options: InitializeOptions<TestUser> = {}) {
      const built = buildApp(options)
      const resolved = await validate(built.jwt.openapi())
      return { ...built, resolved }
    }

    it('POST /auth: 200, 401 for a wrong password, 400 for bad JSON, 413, 415', async () => {
      const { agent, resolved } = await setup()
      conforms(resolved, 'post', '/auth', await agent.post('/auth').send({ username: 'user1', password: 'abcxyz' }).expect(200))
      conforms(resolved, 'post', '/auth', await agent.post('/auth').type('form').send({ username: 'user1', password: 'abcxyz' }).expect(200))
      conforms(resolved, 'post', '/auth', await agent.post('/auth').send({ username: 'user1', password: 'nope' }).expect(401))
      conforms(resolved, 'post', '/auth', await agent.post('/auth').type('json').send('{"username":').expect(400))
      conforms(resolved, 'post', '/auth', await agent.post('/auth').type('json').send(`"${'x'.repeat(200 * 1024)}"`).expect(413))
      conforms(resolved, 'post', '/auth', await agent.post('/auth').type('text').send('user1:abcxyz').expect(415))
    })

    it('GET /auth/verify and GET /auth/me: 200, 401 for a bad token or none, 400 for a malformed header', async () => {
      const { agent, resolved, login } = await setup()
      const { access_token: token } = await login()
      conforms(resolved, 'get', '/auth/verify', await agent.get('/auth/verify').set('Authorization', bearer(token)).expect(200))
      const garbage = await agent.get('/auth/verify').set('Authorization', bearer('not.a.token')).expect(401)
      expect(garbage.body.valid).to.equal(false)
      conforms(resolved, 'get', '/auth/verify', garbage)
      conforms(resolved, 'get', '/auth/verify', await agent.get('/auth/verify').expect(401))
      conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').set('Authorization', bearer(token)).expect(200))
      conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').set('Authorization', bearer(`${token}x`)).expect(401))
      conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').set('Authorization', 'Basic abc').expect(401))
      conforms(resolved, 'get', '/auth/verify', await agent.get('/auth/verify').set('Authorization', 'Basic abc').expect(400))
      expect(operationOf(resolved, 'get', '/auth/me').responses).to.not.have.property('400')
    })

    it('debug mode: the 400s of a missing or undecodable token', async () => {
      const { agent, resolved, login } = await setup({ debug: true })
      const { access_token: token } = await login()
      conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').expect(400))
      conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').set('Authorization', bearer('not.a.token')).expect(400))
      conforms(resolved, 'get', '/auth/verify', await agent.get('/auth/verify').expect(400))
      const garbage = await agent.get('/auth/verify').set('Authorization', bearer('not.a.token')).expect(400)
      expect(garbage.body.valid).to.equal(false)
      conforms(resolved, 'get', '/auth/verify', garbage)
      conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').set('Authorization', bearer(token)).expect(200))
    })

    it('POST /auth/refresh with the refresh token in the body: 200, 401 for a wrong one', async () => {
      const { agent, resolved, login } = await setup(refreshStore(new Map()))
      const tokens = await login()
      const refresh = (refreshToken: string) =>
        agent.post('/auth/refresh').set('Authorization', bearer(tokens['access_token'])).send({ refresh_token: refreshToken })
      conforms(resolved, 'post', '/auth/refresh', await refresh(tokens['refresh_token'] ?? '').expect(200))
      conforms(resolved, 'post', '/auth/refresh', await refresh('wrong').expect(401))
    })

    it('rotation, fresh login and logout with revocation on', async () => {
      const { agent, resolved, login } = await setup({ revocationEnabled: true, refreshTokenEnabled: true, refreshRotation: true, freshLoginEnabled: true })
      const tokens = await login()
      const rotated = await agent
        .post('/auth/refresh')
        .set('Authorization', bearer(tokens['access_token']))
        .send({ refresh_token: tokens['refresh_token'] })
        .expect(200)
      expect(rotated.body).to.have.property('refresh_token')
      conforms(resolved, 'post', '/auth/refresh', rotated)
      conforms(resolved, 'post', '/auth/fresh', await agent.post('/auth/fresh').send({ username: 'user1', password: 'abcxyz' }).expect(200))
      const logout = await agent.post('/auth/logout').set('Authorization', bearer(tokens['access_token'])).send({ everywhere: 'maybe' })
      conforms(resolved, 'post', '/auth/logout', logout.status === 400 ? logout : expect.fail(`expected 400, got ${logout.status}`))
      conforms(resolved, 'post', '/auth/logout', await agent.post('/auth/logout').set('Authorization', bearer(tokens['access_token'])).expect(200))
      conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').set('Authorization', bearer(tokens['access_token'])).expect(401))
    })

    it('cookie mode: the login sets the cookies it documents, /me reads the access cookie', async () => {
      const { agent, resolved } = await setup({ ...refreshStore(new Map()), cookieSet: true })
      const res = await agent.post('/auth').send({ username: 'user1', password: 'abcxyz' }).expect(200)
      conforms(resolved, 'post', '/auth', res)
      const cookie = (res.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]).join('; ')
      conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').set('Cookie', cookie).expect(200))
      conforms(resolved, 'post', '/auth/refresh', await agent.post('/auth/refresh').set('Cookie', cookie).expect(200))
      conforms(resolved, 'get', '/auth/me', await agent.get('/auth/me').expect(401))
    })

    it('GET /auth/.well-known/jwks.json: the key set, then 304 for its ETag', async () => {
      const EC = ecPair('P-256')
      const keys = [{ kid: 'k1', algorithm: 'ES256' as const, privateKey: EC.privateKey }]
      const { agent, resolved } = await setup({ secret: undefined, keys, jwksEnabled: true })
      const path = '/auth/.well-known/jwks.json'
      expect(operationOf(resolved, 'get', path).security).to.deep.equal([])
      const res = await agent.get(path).expect(200)
      conforms(resolved, 'get', path, res)
      conforms(resolved, 'get', path, await agent.get(path).set('If-None-Match', String(res.headers['etag'])).expect(304))
    })

    it('custom names: the token key and header of the settings', async () => {
      const { agent, resolved } = await setup({ accessTokenName: 'token', authorizationHeader: 'X-Auth', authorizationHeaderPrefix: '' })
      const res = await agent.post('/auth').send({ username: 'user1', password: 'abcxyz' }).expect(200)
      conforms(resolved, 'post', '/auth', res)
      const token = res.body.token as string
      conforms(resolved, 'get', '/auth/verify', await agent.get('/auth/verify').set('X-Auth', token).expect(200))
    })
  })
})
