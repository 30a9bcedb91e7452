/**
 * The published package as a consumer gets it. `npm pack` (which builds through `prepack`) makes
 * the tarball; a fresh project in the OS temp directory (never under the repository, so that no
 * import can fall back on the repository's node_modules) installs it with koa, @koa/router,
 * @types/koa and @types/node at the versions of package-lock.json; then, with the repository's
 * TypeScript and `skipLibCheck` off (the package's .d.ts are checked as the consumer's compiler
 * sees them):
 *
 * - every ts block of README.md and docs/*.md compiles (strict, NodeNext), with the users prelude
 *   unless the block opts out (the rule of `blockSource`, as in the documentation spec);
 * - a consumer that subclasses every exported endpoint, Authentication, Configuration, Responses
 *   and Claim, mounts the endpoints as class views, reads `ctx.request.body` and routes with
 *   `JwtState` compiles, as CommonJS and as an ES module;
 * - a CommonJS consumer without esModuleInterop (`module: commonjs`, `moduleResolution: node10`)
 *   compiles `import kit = require('koa-jwt-kit')`;
 *
 * and the tarball holds what its maps and package.json point at, and loads with require and import.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'

import { expect } from 'chai'
import ts from 'typescript'

import { blockSource, documentationBlocks, ROOT, type Block } from '../helpers/markdown'

/** Set to keep the consumer project (its path is printed) for a look after a failure. */
const KEEP = process.env['KOA_JWT_KIT_KEEP_CONSUMER'] === '1'

/** The longest a single npm command may take (pack builds; install may fetch from the registry). */
const NPM_TIMEOUT = 100_000

/** What the consumer installs next to the package, at the versions of package-lock.json. */
const CONSUMER_DEPENDENCIES = ['koa', '@koa/router']
const CONSUMER_DEV_DEPENDENCIES = ['@types/koa', '@types/node']

/** The consumer tsconfig of docs/tsconfig.md, with the package's declarations checked too. */
const NODENEXT_OPTIONS = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  skipLibCheck: false,
  noEmit: true,
}

/** A CommonJS project of the older kind: no esModuleInterop, node10 resolution. */
const COMMONJS_OPTIONS = {
  target: 'ES2022',
  module: 'commonjs',
  moduleResolution: 'node10',
  strict: true,
  skipLibCheck: false,
  noEmit: true,
}

/**
 * Subclasses of every exported endpoint and component class, used the way the docs show, and
 * `JwtState` routing without `!`. The `@ts-expect-error` lines pin the types of the package:
 * should they loosen, the directive becomes the error.
 */
const CONSUMER_TS = `import Router from '@koa/router'
import Koa, { type Context } from 'koa'
import * as kit from 'koa-jwt-kit'
import {
  AuthenticateEndpoint,
  Authentication,
  AuthenticationFailed,
  BaseEndpoint,
  Claim,
  Configuration,
  Initialize,
  RefreshEndpoint,
  Responses,
  RetrieveUserEndpoint,
  TokenEndpoint,
  VerifyEndpoint,
  injectUser,
  protect,
  scoped,
  type AuthenticateResult,
  type EndpointClass,
  type JwtMiddleware,
  type JwtPayload,
  type JwtState,
  type KoaJwtError,
  type ProtectedState,
} from 'koa-jwt-kit'

interface User { user_id: number; username: string; scopes: string[] }
interface Payload { user_id: number; scopes?: string[] }

const accounts: User[] = [{ user_id: 1, username: 'ada', scopes: ['admin'] }]

class Login extends AuthenticateEndpoint {
  override async post(ctx: Context): Promise<void> {
    if (this.config.get('debug', ctx)) ctx.set('x-debug', '1')
    await super.post(ctx)
  }
}

class WrappedRefresh extends RefreshEndpoint {
  override doOutput(output: unknown): unknown {
    return { data: output }
  }
}

class Me extends RetrieveUserEndpoint {
  override doResponse(ctx: Context): void {
    ctx.set('x-on-app', String(this.instance instanceof Koa))
  }
}

class AuditedVerify extends VerifyEndpoint {
  override async doIncoming(ctx: Context): Promise<void> {
    ctx.set('x-authenticated', String(await this.auth.isAuthenticated(ctx)))
  }
}

class Hello extends BaseEndpoint {
  static override decorators = [protect()]

  @kit.protected()
  async get(ctx: Context): Promise<unknown> {
    return { payload: ctx.state.jwt }
  }

  post(ctx: Context): unknown {
    return { body: ctx.request.body, custom: this.responses instanceof MyResponses }
  }
}

class MagicLink extends TokenEndpoint {
  async post(ctx: Context): Promise<unknown> {
    const body: unknown = ctx.request.body
    return { body, prefix: this.config.get('urlPrefix') }
  }
}

class MyAuthentication extends Authentication<User> {
  override async authenticate(ctx: Context): Promise<User> {
    const { username } = (ctx.request.body ?? {}) as Record<string, unknown>
    const user = accounts.find((account) => account.username === username)
    if (user === undefined) throw new AuthenticationFailed('Wrong username or password.')
    return user
  }

  override retrieveUser(_ctx: Context, payload: JwtPayload): User | null {
    return accounts.find((account) => account.user_id === payload['user_id']) ?? null
  }

  override addScopesToPayload(user: User): string[] {
    return user.scopes
  }
}

class MyConfiguration extends Configuration {
  urlPrefix = '/api/auth'
}

class MyResponses extends Responses {
  override extendAuthenticate(_ctx: Context, { user }: AuthenticateResult<User>) {
    return { username: user.username }
  }

  override exceptionResponse(ctx: Context, error: KoaJwtError): void {
    ctx.status = error.status
    ctx.body = { code: error.code, reasons: error.reasons }
  }
}

class TenantClaim extends Claim<User> {
  key = 'tenant'
  setup(_payload: JwtPayload, user: User): string {
    return user.username.endsWith('@acme.test') ? 'acme' : 'public'
  }
  verify(value: unknown): boolean {
    return value === 'acme' || value === 'public'
  }
}

const views: [string, EndpointClass][] = [
  ['/login', Login],
  ['/refresh-wrapped', WrappedRefresh],
  ['/me-too', Me],
  ['/verify-too', AuditedVerify],
  ['/hello', Hello],
  ['/magic-link', MagicLink],
]

const app = new Koa()
const jwt = new Initialize<User>(app, {
  secret: 'a-long-random-secret-from-your-vault',
  authenticationClass: MyAuthentication,
  configurationClass: MyConfiguration,
  responsesClass: MyResponses,
  customClaims: [TenantClaim],
  classViews: [
    ['/login', Login],
    ['/refresh-wrapped', WrappedRefresh],
    ['/me-too', Me],
    ['/verify-too', AuditedVerify],
    ['/hello', Hello],
    ['/magic-link', MagicLink],
  ],
})
new Initialize(new Router(), { secret: 'a-long-random-secret-from-your-vault', authMode: false, classViews: views })

const router = new Router<JwtState<User, Payload>>()
router.get('/protected', jwt.protected(), (ctx) => {
  const id: number = ctx.state.jwt.user_id
  // @ts-expect-error a declared claim keeps its type
  const text: string = ctx.state.jwt.user_id
  ctx.body = { id, text }
})
router.get('/admin', jwt.scoped('admin'), (ctx) => {
  const scopes: string[] | undefined = ctx.state.jwt.scopes
  ctx.body = { scopes }
})
router.get('/profile', jwt.injectUser(), (ctx) => {
  const user: User | null = ctx.state.user
  // @ts-expect-error the user is null for anonymous requests
  const name: string = ctx.state.user.username
  ctx.body = { user, name }
})
router.get('/open', jwt.scoped(null), (ctx) => {
  // @ts-expect-error scoped(null) leaves the route unprotected
  const id: number = ctx.state.jwt.user_id
  ctx.body = { id }
})

const byDefault = new Router<JwtState>()
byDefault.get('/x', jwt.protected(), (ctx) => {
  const id = ctx.state.jwt.user_id
  ctx.body = { id }
})

const plain = new Router()
plain.get('/x', protect(), scoped('admin'), injectUser(), kit.protected(), (ctx) => {
  const id = ctx.state.jwt.user_id
  ctx.body = { id }
})
plain.post('/echo', (ctx) => {
  const body: unknown = ctx.request.body
  ctx.body = { body }
})

const guard: JwtMiddleware<ProtectedState> = jwt.protected({ verifyExp: false })
app.use(router.routes())
app.use(byDefault.routes())
app.use(plain.routes())
app.use(guard).use((ctx) => {
  ctx.body = { payload: ctx.state.jwt }
})
`

/** The same package seen from an ES module (`.mts` under NodeNext). */
const CONSUMER_MTS = `import Router from '@koa/router'
import Koa from 'koa'
import { BaseEndpoint, Initialize, protect, type JwtState } from 'koa-jwt-kit'

interface User { user_id: number; username: string }

class Hello extends BaseEndpoint {
  get(): unknown {
    return { hello: this.config.get('urlPrefix') }
  }
}

const app = new Koa()
const jwt = new Initialize<User>(app, {
  secret: 'a-long-random-secret-from-your-vault',
  authenticate: (ctx) => {
    const body = ctx.request.body as { username?: unknown } | undefined
    return { user_id: 1, username: String(body?.username) }
  },
  classViews: [['/hello', Hello]],
})
const router = new Router<JwtState<User>>()
router.get('/x', jwt.protected(), protect(), (ctx) => {
  ctx.body = { payload: ctx.state.jwt }
})
app.use(router.routes())

// @koa/router's ES module declarations make a Router class of their own: Initialize takes it too.
const api = new Router<JwtState<User>>({ prefix: '/v1' })
const apiJwt = new Initialize<User>(api, {
  secret: 'a-long-random-secret-from-your-vault',
  authenticate: () => ({ user_id: 2, username: 'bob' }),
})
api.get('/me', apiJwt.protected(), (ctx) => {
  ctx.body = { id: ctx.state.jwt.user_id }
})
app.use(api.routes()).use(api.allowedMethods())
`

/** Only the package, imported the CommonJS way, without esModuleInterop. */
const COMMONJS_TS = `import kit = require('koa-jwt-kit')

interface User { user_id: number }

const options: kit.InitializeOptions<User> = {
  secret: 'a-long-random-secret-from-your-vault',
  authenticate: (ctx) => ({ user_id: Number((ctx.request.body as { id?: unknown } | undefined)?.id) }),
}
const state: kit.JwtState<User> = { user: null }
const overrides: kit.ProtectOptions = { verifyExp: false }
const error: kit.KoaJwtError = new kit.AuthenticationFailed('Wrong username or password.')

class Hello extends kit.BaseEndpoint {
  get(): unknown {
    return { prefix: this.config.get('urlPrefix') }
  }
}
class Login extends kit.AuthenticateEndpoint {}

export function setup(app: ConstructorParameters<typeof kit.Initialize>[0]): kit.JwtMiddleware<kit.ProtectedState> {
  const jwt = new kit.Initialize<User>(app, { ...options, classViews: [['/hello', Hello], ['/login', Login]] })
  return jwt.protected(overrides)
}
export { error, state }
`

/** The version package-lock.json installs for a package. */
function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { version?: string }>
  }
  const version = lock.packages?.[`node_modules/${name}`]?.version
  if (version === undefined) throw new Error(`package-lock.json has no version of ${name}`)
  return version
}

/**
 * The environment for a nested npm: `npm test` hands its own context down (npm_config_local_prefix
 * is the repository, npm_package_* describe it), which must not reach the consumer's install. Only
 * the settings that say how to reach the registry are kept.
 */
function npmEnvironment(): NodeJS.ProcessEnv {
  const settings = [
    'cache',
    'registry',
    '.*:registry',
    'userconfig',
    'globalconfig',
    'cafile',
    'ca',
    'proxy',
    'https_proxy',
    'http_proxy',
    'noproxy',
    'strict_ssl',
    'fetch_.*',
    'prefer_offline',
    'offline',
  ]
  const keep = new RegExp(`^npm_config_(${settings.join('|')})$`, 'i')
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keep.test(key)) continue
    if (key === 'INIT_CWD') continue
    env[key] = value
  }
  env['npm_config_update_notifier'] = 'false'
  return env
}

/** Runs npm; its output when it fails. */
function npm(args: readonly string[], cwd: string): string {
  const result = spawnSync('npm', args, {
    cwd,
    env: npmEnvironment(),
    encoding: 'utf8',
    timeout: NPM_TIMEOUT,
    maxBuffer: 64 * 1024 * 1024,
    shell: process.platform === 'win32',
  })
  if (result.error) throw new Error(`npm ${args.join(' ')} (in ${cwd}) failed: ${result.error.message}`)
  if (result.status !== 0) {
    throw new Error(
      `npm ${args.join(' ')} (in ${cwd}) exited with ${result.status ?? result.signal}:\n` +
        `${result.stdout}\n${result.stderr}`,
    )
  }
  return result.stdout
}

/** Runs node in the consumer project; its output when it fails. */
function node(args: readonly string[], cwd: string): string {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 30_000 })
  if (result.error) throw result.error
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${result.status}:\n${result.stderr}`)
  return result.stdout
}

/** Every file under a directory, as paths relative to it with `/`. */
function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return filesUnder(path, base)
    return [relative(base, path).split(sep).join('/')]
  })
}

/** Where a file of the consumer project comes from, for the diagnostics. */
interface Origin {
  /** A documentation block: its Markdown location. */
  block?: Block
  /** Its number among its file's ts blocks. */
  index?: number
  /** Lines put in front of the block (the prelude). */
  preludeLines?: number
}

/** A diagnostic as one readable line: the Markdown location for a doc block, else the file's. */
function formatDiagnostic(diagnostic: ts.Diagnostic, dir: string, origins: ReadonlyMap<string, Origin>): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ')
  const file = diagnostic.file
  if (file === undefined || diagnostic.start === undefined) return `(program): TS${diagnostic.code} ${message}`
  const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start)
  const origin = origins.get(resolve(file.fileName))
  if (origin?.block !== undefined) {
    const blockLine = line + 1 - (origin.preludeLines ?? 0)
    const name = `${origin.block.file} ts block #${origin.index ?? 0}`
    if (blockLine < 1) return `${name}, prelude line ${line + 1}: TS${diagnostic.code} ${message}`
    const where = `${origin.block.file}:${origin.block.line + blockLine - 1}:${character + 1}`
    return `${where} (${name}): TS${diagnostic.code} ${message}`
  }
  const where = `${relative(dir, file.fileName).split(sep).join('/')}:${line + 1}:${character + 1}`
  return `${where}: TS${diagnostic.code} ${message}`
}

/**
 * Writes a tsconfig of the consumer (`files` only) and type-checks it with the repository's
 * TypeScript, reporting every diagnostic (declaration files included: skipLibCheck is off).
 */
function typeCheck(
  dir: string,
  configName: string,
  compilerOptions: Record<string, unknown>,
  files: readonly string[],
  origins: ReadonlyMap<string, Origin> = new Map(),
): string[] {
  const configPath = join(dir, configName)
  writeFileSync(configPath, `${JSON.stringify({ compilerOptions, files }, null, 2)}\n`)
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
  if (read.error) return [formatDiagnostic(read.error, dir, origins)]
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dir, undefined, configPath)
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options })
  return [...parsed.errors, ...ts.getPreEmitDiagnostics(program)].map((diagnostic) =>
    formatDiagnostic(diagnostic, dir, origins),
  )
}

describe('the packed package, installed in a fresh consumer project', function () {
  this.timeout(120_000)

  let work = ''
  let consumer = ''
  let installed = ''

  before(function () {
    this.timeout(240_000)
    work = mkdtempSync(join(tmpdir(), 'koa-jwt-kit-packed-'))
    const packDir = join(work, 'pack')
    consumer = join(work, 'consumer')
    mkdirSync(packDir)
    mkdirSync(consumer)
    // prepack builds (a clean dist/): `npm pack` alone makes a complete tarball.
    npm(['pack', '--pack-destination', packDir, '--ignore-scripts=false', '--loglevel=error'], ROOT)
    const tarballs = readdirSync(packDir).filter((name) => name.endsWith('.tgz'))
    if (tarballs.length !== 1) throw new Error(`npm pack made ${tarballs.length} tarballs: ${tarballs.join(', ')}`)
    const tarball = join(packDir, tarballs[0] as string)
    const pinned = (names: readonly string[]): Record<string, string> =>
      Object.fromEntries(names.map((name) => [name, lockedVersion(name)]))
    const manifest = {
      name: 'koa-jwt-kit-consumer',
      version: '1.0.0',
      private: true,
      license: 'MIT',
      dependencies: { 'koa-jwt-kit': `file:${tarball}`, ...pinned(CONSUMER_DEPENDENCIES) },
      devDependencies: pinned(CONSUMER_DEV_DEPENDENCIES),
    }
    writeFileSync(join(consumer, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], consumer)
    installed = join(consumer, 'node_modules', 'koa-jwt-kit')
    if (!existsSync(join(installed, 'package.json'))) throw new Error(`koa-jwt-kit is not in ${installed}`)
  })

  after(function () {
    if (work === '') return
    if (KEEP) {
      console.log(`    kept the consumer project: ${consumer}`)
      return
    }
    rmSync(work, { recursive: true, force: true })
  })

  it('ships LICENSE (MIT), README.md, and what main, types and exports name', function () {
    const license = readFileSync(join(installed, 'LICENSE'), 'utf8')
    expect(license).to.match(/^MIT License/)
    expect(license).to.include('Copyright (c) 2026 koa-jwt-kit contributors')
    expect(existsSync(join(installed, 'README.md')), 'README.md').to.equal(true)
    // The README links the guides and the architecture note: they ship with it.
    expect(existsSync(join(installed, 'docs', 'README.md')), 'docs/README.md').to.equal(true)
    expect(existsSync(join(installed, 'ARCHITECTURE.md')), 'ARCHITECTURE.md').to.equal(true)
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      main: string
      types: string
      exports: Record<string, string | Record<string, string>>
    }
    const targets = [
      manifest.main,
      manifest.types,
      ...Object.values(manifest.exports).flatMap((target) =>
        typeof target === 'string' ? [target] : Object.values(target),
      ),
    ]
    const missing = targets.filter((target) => !existsSync(join(installed, target)))
    expect(missing, 'package.json targets missing from the tarball').to.deep.equal([])
  })

  it('ships a built file for every source file and nothing stale, and the files every map points at', function () {
    const files = filesUnder(installed)
    const sources = new Set(files.filter((file) => file.startsWith('source/') && file.endsWith('.ts')))
    const built = files.filter((file) => file.startsWith('dist/') && file.endsWith('.js'))
    const stale = built.filter((file) => !sources.has(file.replace(/^dist\//, 'source/').replace(/\.js$/, '.ts')))
    expect(stale, 'dist/ files without a source').to.deep.equal([])
    const unbuilt = [...sources].filter(
      (file) => !files.includes(file.replace(/^source\//, 'dist/').replace(/\.ts$/, '.d.ts')),
    )
    expect(unbuilt, 'source files without declarations').to.deep.equal([])
    const broken = files
      .filter((file) => file.endsWith('.map'))
      .flatMap((file) => {
        const map = JSON.parse(readFileSync(join(installed, file), 'utf8')) as {
          sources?: string[]
          sourceRoot?: string
        }
        return (map.sources ?? [])
          .filter((source) => !existsSync(join(installed, dirname(file), map.sourceRoot ?? '', source)))
          .map((source) => `${file} -> ${source}`)
      })
    expect(broken, 'source map entries pointing outside the tarball').to.deep.equal([])
  })

  it('loads with require() and gives its named exports to import', function () {
    const required = node(['-p', "typeof require('koa-jwt-kit').Initialize"], consumer).trim()
    expect(required).to.equal('function')
    const names = ['Initialize', 'BaseEndpoint', 'TokenEndpoint', 'KoaJwtError', 'protect']
    const script =
      `import { ${names.join(', ')} } from 'koa-jwt-kit'\n` +
      `console.log([${names.join(', ')}].map((value) => typeof value).join(' '))`
    const imported = node(['--input-type=module', '-e', script], consumer).trim()
    expect(imported).to.equal('function function function function function')
  })

  it('compiles every ts block of README.md and docs/*.md (strict, NodeNext, skipLibCheck off)', function () {
    const blocks = documentationBlocks().filter((block) => block.lang === 'ts')
    expect(blocks.length, 'ts blocks found').to.be.at.least(1)
    const dir = join(consumer, 'doc-blocks')
    mkdirSync(dir, { recursive: true })
    const origins = new Map<string, Origin>()
    const counters = new Map<string, number>()
    const files = blocks.map((block) => {
      const index = (counters.get(block.file) ?? 0) + 1
      counters.set(block.file, index)
      const name = `${block.file.replace(/[/.]/g, '_')}-${String(index).padStart(2, '0')}.ts`
      const { text, preludeLines } = blockSource(block)
      writeFileSync(join(dir, name), text)
      origins.set(resolve(dir, name), { block, index, preludeLines })
      return `doc-blocks/${name}`
    })
    const problems = typeCheck(consumer, 'tsconfig.docs.json', NODENEXT_OPTIONS, files, origins)
    expect(problems, `\n${problems.join('\n')}\n`).to.deep.equal([])
  })

  it('compiles a consumer that subclasses the exported classes and routes with JwtState (CommonJS and ESM)', function () {
    writeFileSync(join(consumer, 'consumer.ts'), CONSUMER_TS)
    writeFileSync(join(consumer, 'consumer-esm.mts'), CONSUMER_MTS)
    const problems = typeCheck(consumer, 'tsconfig.consumer.json', NODENEXT_OPTIONS, ['consumer.ts', 'consumer-esm.mts'])
    expect(problems, `\n${problems.join('\n')}\n`).to.deep.equal([])
  })

  it('compiles import kit = require() in CommonJS without esModuleInterop (module commonjs, node10)', function () {
    writeFileSync(join(consumer, 'commonjs.ts'), COMMONJS_TS)
    const problems = typeCheck(consumer, 'tsconfig.commonjs.json', COMMONJS_OPTIONS, ['commonjs.ts'])
    expect(problems, `\n${problems.join('\n')}\n`).to.deep.equal([])
  })
})
