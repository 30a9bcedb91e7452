/**
 * Compile-only checks of the public types (never run by mocha; `tsc -p tsconfig.spec.json` checks
 * it). Each `@ts-expect-error` line must stay an error: if the types loosen, the directive itself
 * becomes the error.
 */
import Router from '@koa/router'
import Koa, { type Context, type Middleware, type ParameterizedContext } from 'koa'

import * as kit from '../source'
import {
  AuthenticationFailed,
  BaseEndpoint,
  Initialize,
  initialize,
  type ErrorCode,
  type InitializeOptions,
  type JwtMiddleware,
  type JwtState,
  type ProtectOptions,
} from '../source'

interface User {
  user_id: number
  username: string
}

interface Payload {
  user_id: number
  scopes?: string[]
}

/** Marks values as used (noUnusedLocals). */
function use(..._values: unknown[]): void {}

export function initializeTypes(): void {
  const app = new Koa()
  const jwt = new Initialize<User>(app, {
    secret: 'secret',
    expirationDelta: '15m',
    leeway: 30,
    authenticate: async () => ({ user_id: 1, username: 'ada' }),
    retrieveUser: (_ctx, payload) => ({ user_id: Number(payload.user_id), username: 'ada' }),
    addScopesToPayload: () => ['user'],
  })
  new Initialize(new Router({ prefix: '/api' }), { secret: 'secret', authMode: false })

  // @ts-expect-error expirationDelta is seconds or a time span, never a boolean
  const badDelta: InitializeOptions = { expirationDelta: true }
  // @ts-expect-error unknown settings are rejected (typo of secret)
  const typo: InitializeOptions = { secrett: 'x' }
  // @ts-expect-error the algorithm is one of the supported names
  const badAlgorithm: InitializeOptions = { algorithm: 'none' }
  // @ts-expect-error the target must be a Koa app or a Router
  new Initialize({}, { secret: 'secret' })
  // @ts-expect-error authenticate must return the User type
  new Initialize<User>(app, { secret: 'secret', authenticate: () => 5 })

  // The legacy function form.
  const legacy: Initialize<User> = initialize<User>(app, async () => ({ user_id: 1, username: 'ada' }), {
    secret: 'secret',
  })
  initialize(app, undefined, { secret: 'secret', authMode: false })

  // Settings read back with their resolved types.
  const delta: number = jwt.config.get('expirationDelta')
  // @ts-expect-error expirationDelta reads back as a number
  const deltaText: string = jwt.config.get('expirationDelta')

  use(badDelta, typo, badAlgorithm, legacy, delta, deltaText)
}

export function middlewareTypes(): void {
  const app = new Koa()
  const jwt = new Initialize<User>(app, {
    secret: 'secret',
    authenticate: () => ({ user_id: 1, username: 'ada' }),
  })
  const router = new Router<JwtState<User, Payload>>()

  router.get('/protected', jwt.protected(), (ctx) => {
    const id: number | undefined = ctx.state.jwt?.user_id
    const scopes: string[] | undefined = ctx.state.jwt?.scopes
    // @ts-expect-error the user may be null (anonymous) or absent
    const name: string = ctx.state.user.username
    const maybeName: string | undefined = ctx.state.user?.username
    use(id, scopes, name, maybeName)
  })
  // After protected() the payload is JwtState's Payload intersected with `Unchecked` (see
  // narrowedStateTypes): its claims keep their types, but an undeclared claim reads unchecked.
  router.get('/unprotected', (ctx) => {
    // @ts-expect-error the payload type has no such claim
    const other = ctx.state.jwt?.nope
    use(other)
  })
  const either = jwt.scoped(['user', 'admin'], { requireAll: false, requireAllActions: false })
  router.get('/scoped', either, () => {})
  router.get('/scoped-fn', jwt.scoped((ctx) => `client:${ctx.params.id ?? ''}`), () => {})
  router.get('/open', jwt.scoped(null), jwt.scoped(false), () => {})
  router.get('/injected', jwt.injectUser(), (ctx) => {
    const user: User | null | undefined = ctx.state.user
    use(user)
  })

  // @ts-expect-error scopes are strings, lists of strings or functions returning them
  jwt.scoped(5)
  // @ts-expect-error a number is not a scope list
  jwt.scoped([1, 2])
  // @ts-expect-error per-route overrides keep the setting's type
  jwt.protected({ authorizationHeader: 5 })
  // @ts-expect-error unknown per-route settings are rejected
  jwt.protected({ authorizationHeaderr: 'x-token' })
  const overrides: ProtectOptions = {
    authorizationHeader: 'x-token',
    verifyExp: false,
    debug: () => true,
    redirectOnFail: true,
    redirectUrl: '/login',
  }
  jwt.protected(overrides)
  // @ts-expect-error a function override returns the setting's type
  jwt.protected({ debug: () => 'yes' })

  // Module-level middleware: `protected` is a reserved word, reachable through the namespace.
  const viaNamespace: JwtMiddleware = kit.protected()
  const viaAlias: JwtMiddleware = kit.protect({ verifyExp: false })
  router.get('/kit', kit.protected(), kit.scoped('admin'), kit.injectUser(), (ctx) => {
    use(ctx.state.jwt)
  })
  // @ts-expect-error module-level scoped() checks its scopes too
  kit.scoped(5)

  // Plain Koa use.
  app.use(jwt.protected())
  const asMiddleware: Middleware = jwt.protected()
  const handler = async (ctx: ParameterizedContext<JwtState>): Promise<void> => {
    await jwt.protected()(ctx, async () => {})
  }
  use(viaNamespace, viaAlias, asMiddleware, handler)
}

/** protected(), scoped() and injectUser() narrow the state of the handlers after them. */
export function narrowedStateTypes(): void {
  const app = new Koa()
  const jwt = new Initialize<User>(app, {
    secret: 'secret',
    authenticate: () => ({ user_id: 1, username: 'ada' }),
  })
  const loose = new Initialize(new Koa(), { secret: 'secret', authMode: false })

  // Router<JwtState>: the default payload (any claim, unknown).
  const byDefault = new Router<JwtState>()
  byDefault.get('/x', jwt.protected(), (ctx) => {
    const id = ctx.state.jwt.user_id
    use(id)
  })
  // A plain Router: Koa's state is any, and stays so.
  const plain = new Router()
  plain.get('/x', jwt.protected(), (ctx) => {
    const id = ctx.state.jwt.user_id
    const next: number = ctx.state.jwt.user_id + 1
    use(id, next)
  })
  plain.get('/user', jwt.injectUser(), (ctx) => {
    const user: User | null = ctx.state.user
    use(user)
  })

  // Router<JwtState<User, Payload>>: the declared types, without `!`.
  const router = new Router<JwtState<User, Payload>>()
  router.get('/protected', jwt.protected(), (ctx) => {
    const id: number = ctx.state.jwt.user_id
    const payload: Payload = ctx.state.jwt
    // @ts-expect-error a declared claim keeps its type
    const text: string = ctx.state.jwt.user_id
    // @ts-expect-error protected() says nothing about the user
    const name: string = ctx.state.user.username
    use(id, payload, text, name)
  })
  router.get('/scoped', jwt.scoped('admin'), (ctx) => {
    const id: number = ctx.state.jwt.user_id
    use(id)
  })
  router.get('/scoped-fn', jwt.scoped((ctx) => `client:${ctx.params.id ?? ''}`), (ctx) => {
    const id: number = ctx.state.jwt.user_id
    use(id)
  })
  router.get('/open', jwt.scoped(null), (ctx) => {
    // @ts-expect-error scoped(null) leaves the route unprotected: the payload may be absent
    const id: number = ctx.state.jwt.user_id
    use(id)
  })
  router.get('/injected', jwt.injectUser(), (ctx) => {
    const user: User | null = ctx.state.user
    // @ts-expect-error the user is null for anonymous requests
    const name: string = ctx.state.user.username
    // @ts-expect-error injectUser() is not a guard: the payload may be absent
    const id: number = ctx.state.jwt.user_id
    use(user, name, id)
  })
  router.get('/injected-any', loose.injectUser(), kit.injectUser(), (ctx) => {
    const user: User | null = ctx.state.user
    use(user)
  })
  // Several middleware: the handlers see what the first one adds.
  router.get('/both', jwt.protected(), jwt.injectUser(), (ctx) => {
    const id: number = ctx.state.jwt.user_id
    const user: User | null | undefined = ctx.state.user
    use(id, user)
  })
  router.get('/kit', kit.protected(), kit.scoped('admin'), (ctx) => {
    const id: number = ctx.state.jwt.user_id
    use(id)
  })
  router.use(jwt.protected())

  // The app: everything after app.use(protected()) sees the payload.
  new Koa<JwtState<User, Payload>>().use(jwt.protected()).use((ctx) => {
    const id: number = ctx.state.jwt.user_id
    use(id)
  })

  // The middleware types.
  const narrowed: JwtMiddleware<kit.ProtectedState> = jwt.protected()
  const wide: JwtMiddleware = jwt.scoped('admin')
  const users: JwtMiddleware<kit.UserState<User>> = jwt.injectUser()
  use(narrowed, wide, users)

  // The request body reads as unknown (koa-body's JSON value when its types are loaded).
  plain.post('/body', (ctx) => {
    const body: unknown = ctx.request.body
    use(body)
  })
}

export function endpointTypes(): void {
  const app = new Koa()
  const jwt = new Initialize(app, { secret: 'secret', authenticate: () => ({ user_id: 1 }) })

  class Profile extends BaseEndpoint {
    static override decorators: readonly Middleware[] = [jwt.protected(), kit.protected()]

    @jwt.protected()
    async get(ctx: Context): Promise<unknown> {
      return { user: ctx.state.jwt }
    }

    @jwt.scoped('admin')
    @kit.protected({ verifyExp: false })
    post(): unknown {
      return { ok: true }
    }

    // @ts-expect-error the middleware decorate methods, not fields
    @jwt.protected() field = 1

    override doOutput(output: unknown): unknown {
      return { data: output }
    }
  }

  class NotAView {
    get(): unknown {
      return {}
    }
  }

  new Initialize(new Koa(), {
    secret: 'secret',
    authenticate: () => ({ user_id: 1 }),
    classViews: [['/profile', Profile]],
  })
  new Initialize(new Koa(), {
    secret: 'secret',
    authenticate: () => ({ user_id: 1 }),
    // @ts-expect-error class views extend BaseEndpoint
    classViews: [['/nope', NotAView]],
  })
}

export function errorTypes(): void {
  const error = new AuthenticationFailed('Password is incorrect.')
  const code: ErrorCode = error.code
  const status: number = error.status
  const reasons: string[] = error.reasons
  // @ts-expect-error codes are a closed union
  const unknownCode: ErrorCode = 'ERR_SOMETHING_ELSE'
  use(code, status, reasons, unknownCode)
}

/** Route requirements: `user: true` and `required: true` make the user non-null; `fresh` is a boolean. */
export function requirementTypes(): void {
  const app = new Koa()
  const jwt = new Initialize<User>(app, {
    secret: 'secret',
    authenticate: () => ({ user_id: 1, username: 'ada' }),
    retrieveUser: () => ({ user_id: 1, username: 'ada' }),
  })
  const router = new Router<JwtState<User, Payload>>()

  router.get('/password', jwt.protected({ user: true }), (ctx) => {
    const user: User = ctx.state.user
    const name: string = ctx.state.user.username
    const id: number = ctx.state.jwt.user_id
    // @ts-expect-error the user keeps its type
    const wrong: number = ctx.state.user.username
    use(user, name, id, wrong)
  })
  router.get('/fresh-user', jwt.protected({ fresh: true, user: true }), (ctx) => {
    const name: string = ctx.state.user.username
    use(name)
  })
  router.get('/scoped-user', jwt.scoped('admin', { user: true }), (ctx) => {
    const name: string = ctx.state.user.username
    use(name)
  })
  router.get('/required', jwt.injectUser({ required: true }), (ctx) => {
    const user: User = ctx.state.user
    const name: string = ctx.state.user.username
    const id: number = ctx.state.jwt.user_id
    use(user, name, id)
  })
  router.get('/kit-required', kit.protect({ user: true }), kit.injectUser({ required: true }), (ctx) => {
    const name: string = ctx.state.user.username
    use(name)
  })
  router.get('/optional', jwt.injectUser(), (ctx) => {
    const user: User | null = ctx.state.user
    // @ts-expect-error without required the user may be null
    const name: string = ctx.state.user.username
    use(user, name)
  })
  router.get('/not-required', jwt.injectUser({ required: false }), (ctx) => {
    // @ts-expect-error required: false is the optional form: the user may be null
    const name: string = ctx.state.user.username
    use(name)
  })
  router.get('/fresh-only', jwt.protected({ fresh: true }), (ctx) => {
    // @ts-expect-error fresh says nothing about the user
    const name: string = ctx.state.user.username
    use(name)
  })

  const loaded: JwtMiddleware<kit.ProtectedState & kit.LoadedUserState<User>> = jwt.protected({ user: true })
  const fresh: ProtectOptions = { fresh: true, user: false }
  use(loaded, fresh)

  // @ts-expect-error fresh is a boolean
  jwt.protected({ fresh: 'yes' })
  // @ts-expect-error user is a boolean
  jwt.scoped('admin', { user: 'yes' })
  // @ts-expect-error required is a boolean
  jwt.injectUser({ required: 1 })
  // @ts-expect-error fresh is a boolean on the module-level form too
  kit.protect({ fresh: 'yes' })
  // @ts-expect-error required is an option of injectUser(), not of protected()
  jwt.protected({ required: true })
}
