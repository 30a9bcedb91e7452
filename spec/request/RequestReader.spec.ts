import { createSecretKey } from 'node:crypto'

import { expect } from 'chai'
import Koa, { type Context } from 'koa'
import request, { type Test } from 'supertest'
import type TestAgent from 'supertest/lib/agent'

import { KeyStore } from '../../source/core/KeyStore'
import type { JwtPayload } from '../../source/core/token'
import { TokenVerifier, type VerifyOptions, type VerifyRules } from '../../source/core/TokenVerifier'
import { RequestReader, type ReaderHost } from '../../source/request/RequestReader'
import {
  Configuration,
  InvalidAuthorizationHeader,
  InvalidToken,
  MissingAuthorizationCookie,
  MissingAuthorizationHeader,
  MissingAuthorizationQueryArg,
  type ConfigurationInput,
  type SettingName,
} from '../../source'
import { makeClock } from '../helpers/app'
import { hs256, isThenable, makeConfig, makeConfigOf } from '../helpers/parts'

const NOW = 1_700_000_000

/** A token of user `userId` valid for an hour from NOW. */
function token(userId: unknown = 1, extra: JwtPayload = {}): string {
  return hs256({ user_id: userId, exp: NOW + 3600, ...extra })
}

/** What happened to one call made inside a request. */
interface Outcome<T> {
  value?: T
  error?: unknown
}

/**
 * Sends one request (GET / unless `send` says otherwise) to a Koa app whose only middleware calls
 * `handler`, and returns what the handler returned or threw. `before` may prepare the context
 * (e.g. a parsed body).
 */
async function onRequest<T>(
  handler: (ctx: Context) => T | Promise<T>,
  send: (agent: TestAgent) => Test = (agent) => agent.get('/'),
  before?: (ctx: Context) => void,
): Promise<Outcome<T>> {
  const app = new Koa()
  let outcome: Outcome<T> = {}
  app.use(async (ctx) => {
    before?.(ctx)
    try {
      outcome = { value: await handler(ctx) }
    } catch (error) {
      outcome = { error }
    }
    ctx.status = 204
  })
  const res = await send(request(app.callback()))
  expect(res.status).to.equal(204)
  return outcome
}

/** `send` for a request carrying these headers. */
const withHeaders =
  (headers: Record<string, string>) =>
  (agent: TestAgent): Test =>
    agent.get('/').set(headers)

/** `send` for a request carrying `Authorization: Bearer <token>`. */
const bearer = (value: string): ((agent: TestAgent) => Test) => withHeaders({ Authorization: `Bearer ${value}` })

/** A reader over a fresh configuration, a verifier whose calls are recorded, and a host. */
function make(settings: ConfigurationInput = {}, config?: Configuration) {
  const resolved = config ?? makeConfig({ clock: makeClock(NOW).clock, ...settings })
  const real = new TokenVerifier(resolved, new KeyStore(resolved))
  real.setup([], [], false)
  const calls: { token: string; options: VerifyOptions; secrets: unknown }[] = []
  // Replaceable answer of the verifier; by default the real verification.
  const state = {
    answer: (value: string, options: VerifyOptions, secrets: ReaderHost) => real.verify(value, options, secrets),
    extractCalls: 0,
  }
  // The reader reads the rules once and verifies under them: both go to the real verifier, the
  // verification through the recorded, replaceable answer.
  const verifier = {
    rulesFor: (ctx?: object) => real.rulesFor(ctx),
    verifyUnder(_rules: VerifyRules, value: string, options: VerifyOptions, secrets: ReaderHost) {
      calls.push({ token: value, options, secrets })
      return state.answer(value, options, secrets)
    },
  } as unknown as TokenVerifier

  class Host implements ReaderHost {
    extractToken(ctx: Context, options: { refresh?: boolean } = {}): string {
      state.extractCalls++
      return reader.extract(ctx, options.refresh === true)
    }
    retrieveUserSecret(): unknown {
      throw new Error('retrieveUserSecret is not called without per-user secrets')
    }
    isTokenRevoked(): unknown {
      throw new Error('isTokenRevoked is not called while revocation is off')
    }
  }
  const reader: RequestReader = new RequestReader(resolved, Host.prototype.extractToken)
  return { config: resolved, reader, verifier, calls, state, host: new Host() }
}

/** The result of `reader.verify()` inside a request: whether it came without a promise, and the payload. */
async function verified(
  parts: ReturnType<typeof make>,
  ctx: Context,
  verify = true,
  host: ReaderHost = parts.host,
): Promise<{ sync: boolean; payload: JwtPayload }> {
  const result = parts.reader.verify(ctx, host, parts.verifier, verify)
  return { sync: !isThenable(result), payload: await result }
}

describe('RequestReader#extract()', () => {
  it('reads the token after the scheme of the authorization header', async () => {
    const { reader } = make()
    const outcome = await onRequest((ctx) => reader.extract(ctx, false), bearer('abc.def.ghi'))
    expect(outcome.value).to.equal('abc.def.ghi')
  })

  it('throws MissingAuthorizationHeader for a request without the header', async () => {
    const { reader } = make()
    const outcome = await onRequest((ctx) => reader.extract(ctx, false))
    expect(outcome.error).to.be.instanceOf(MissingAuthorizationHeader)
  })

  it('throws InvalidAuthorizationHeader for another scheme or a token holding whitespace', async () => {
    const { reader } = make()
    for (const value of ['Basic abc', 'Bearer abc def']) {
      const outcome = await onRequest((ctx) => reader.extract(ctx, false), withHeaders({ Authorization: value }))
      expect(outcome.error, value).to.be.instanceOf(InvalidAuthorizationHeader)
    }
  })

  it('reads the header named by the authorizationHeader setting, whatever its case', async () => {
    const { reader } = make({ authorizationHeader: 'X-Token' })
    const outcome = await onRequest(
      (ctx) => reader.extract(ctx, false),
      withHeaders({ Authorization: 'Bearer ignored', 'x-token': 'Bearer mine' }),
    )
    expect(outcome.value).to.equal('mine')
  })

  it('takes the whole header value without a scheme', async () => {
    const { reader } = make({ authorizationHeaderPrefix: null as unknown as string })
    const outcome = await onRequest(
      (ctx) => reader.extract(ctx, false),
      withHeaders({ Authorization: ' abc.def.ghi ' }),
    )
    expect(outcome.value).to.equal('abc.def.ghi')
  })

  it('reads the access-token cookie before the header in cookie mode', async () => {
    const { reader } = make({ cookieSet: true })
    const outcome = await onRequest(
      (ctx) => reader.extract(ctx, false),
      withHeaders({ Cookie: 'access_token=from-cookie', Authorization: 'Bearer from-header' }),
    )
    expect(outcome.value).to.equal('from-cookie')
  })

  it('throws MissingAuthorizationCookie without the cookie in strict cookie mode, and falls back to the header otherwise', async () => {
    const strict = make({ cookieSet: true })
    const header = withHeaders({ Authorization: 'Bearer from-header' })
    expect((await onRequest((ctx) => strict.reader.extract(ctx, false), header)).error).to.be.instanceOf(
      MissingAuthorizationCookie,
    )
    const lenient = make({ cookieSet: true, cookieStrict: false })
    expect((await onRequest((ctx) => lenient.reader.extract(ctx, false), header)).value).to.equal('from-header')
  })

  it('joins the two cookies of split mode', async () => {
    const { reader } = make({ cookieSet: true, cookieSplit: true })
    const outcome = await onRequest(
      (ctx) => reader.extract(ctx, false),
      withHeaders({ Cookie: 'access_token=head.body; access_token_signature=sig' }),
    )
    expect(outcome.value).to.equal('head.body.sig')
  })

  it('reads the query string in query mode, and refuses two values', async () => {
    const { reader } = make({ queryStringSet: true })
    const one = await onRequest((ctx) => reader.extract(ctx, false), (agent) => agent.get('/?access_token=from-query'))
    expect(one.value).to.equal('from-query')
    const two = await onRequest(
      (ctx) => reader.extract(ctx, false),
      (agent) => agent.get('/?access_token=a&access_token=b'),
    )
    expect(two.error).to.be.instanceOf(InvalidToken)
    expect((two.error as InvalidToken).code).to.equal('ERR_JWT_MALFORMED')
    const none = await onRequest((ctx) => reader.extract(ctx, false), bearer('from-header'))
    expect(none.error).to.be.instanceOf(MissingAuthorizationQueryArg)
  })

  it('reads the refresh token under the refresh names with refresh: true', async () => {
    const cookies = make({ cookieSet: true })
    const withCookies = withHeaders({ Cookie: 'access_token=access; refresh_token=refresh' })
    expect((await onRequest((ctx) => cookies.reader.extract(ctx, true), withCookies)).value).to.equal('refresh')
    expect((await onRequest((ctx) => cookies.reader.extract(ctx, false), withCookies)).value).to.equal('access')
    const query = make({ queryStringSet: true })
    const outcome = await onRequest(
      (ctx) => query.reader.extract(ctx, true),
      (agent) => agent.get('/?access_token=access&refresh_token=refresh'),
    )
    expect(outcome.value).to.equal('refresh')
  })

  it('reads the refresh token from the parsed body in header mode', async () => {
    const { reader } = make()
    const outcome = await onRequest(
      (ctx) => reader.extract(ctx, true),
      bearer('access'),
      (ctx) => {
        ;(ctx.request as { body?: unknown }).body = { refresh_token: 'from-body' }
      },
    )
    expect(outcome.value).to.equal('from-body')
  })

  it('reads the settings of the request when a getter depends on it', async () => {
    class PerRequest extends Configuration {
      getAuthorizationHeader(ctx: Context): string {
        return ctx.get('x-which') || 'authorization'
      }
    }
    const { reader } = make({}, makeConfigOf(PerRequest))
    const send = withHeaders({ 'x-which': 'x-other', 'x-other': 'Bearer other', Authorization: 'Bearer usual' })
    expect((await onRequest((ctx) => reader.extract(ctx, false), send)).value).to.equal('other')
    expect((await onRequest((ctx) => reader.extract(ctx, false), bearer('usual'))).value).to.equal('usual')
  })
})

describe('RequestReader#verify()', () => {
  it('verifies the header token and returns the payload itself, not a promise, on the plain path', async () => {
    const parts = make()
    const outcome = await onRequest((ctx) => verified(parts, ctx), bearer(token(1, { name: 'alice' })))
    expect(outcome.value).to.deep.equal({ sync: true, payload: { user_id: 1, exp: NOW + 3600, name: 'alice' } })
  })

  it('hands the verifier the token, the request, the verify and revocation flags and the host', async () => {
    const parts = make()
    let seen: Context | undefined
    await onRequest((ctx) => {
      seen = ctx
      return verified(parts, ctx, false)
    }, bearer(token()))
    expect(parts.calls).to.have.length(1)
    expect(parts.calls[0]!.token).to.equal(token())
    expect(parts.calls[0]!.options).to.deep.equal({ ctx: seen, verify: false, revocation: true })
    expect(parts.calls[0]!.options.ctx).to.equal(seen)
    expect(parts.calls[0]!.secrets).to.equal(parts.host)
  })

  it('reads the header itself, without calling extractToken, when only the header is read and extractToken is the base one', async () => {
    const parts = make()
    await onRequest((ctx) => verified(parts, ctx), bearer(token()))
    expect(parts.state.extractCalls).to.equal(0)
    expect(parts.calls).to.have.length(1)
  })

  it('calls extractToken when other places are read', async () => {
    const parts = make({ cookieSet: true })
    const outcome = await onRequest((ctx) => verified(parts, ctx), withHeaders({ Cookie: `access_token=${token(5)}` }))
    expect(outcome.value?.payload).to.deep.include({ user_id: 5 })
    expect(parts.state.extractCalls).to.equal(1)
  })

  it('verifies what an overridden extractToken returns', async () => {
    const parts = make()
    const host: ReaderHost = {
      extractToken: () => token(9),
      retrieveUserSecret: parts.host.retrieveUserSecret,
      isTokenRevoked: parts.host.isTokenRevoked,
    }
    const outcome = await onRequest((ctx) => verified(parts, ctx, true, host), bearer(token(1)))
    expect(outcome.value?.payload).to.deep.include({ user_id: 9 })
  })

  it('throws synchronously when there is no token', async () => {
    const parts = make()
    const outcome = await onRequest((ctx) => {
      try {
        parts.reader.verify(ctx, parts.host, parts.verifier, true)
      } catch (error) {
        return error
      }
      return 'no synchronous throw'
    })
    expect(outcome.value).to.be.instanceOf(MissingAuthorizationHeader)
    expect(parts.calls).to.have.length(0)
  })

  describe('per-request memo', () => {
    it('returns the same payload object for a second verification of the request without calling the verifier again', async () => {
      const parts = make()
      const twice = async (ctx: Context) => [await verified(parts, ctx), await verified(parts, ctx)]
      const outcome = await onRequest(twice, bearer(token()))
      const [first, second] = outcome.value!
      expect(second!.payload).to.equal(first!.payload)
      expect(second!.sync).to.equal(true)
      expect(parts.calls).to.have.length(1)
    })

    it('remembers a payload that came as a promise, and returns it without one afterwards', async () => {
      const parts = make()
      parts.state.answer = async () => ({ user_id: 'async' })
      const twice = async (ctx: Context) => [await verified(parts, ctx), await verified(parts, ctx)]
      const outcome = await onRequest(twice, bearer(token()))
      const [first, second] = outcome.value!
      expect(first!.sync).to.equal(false)
      expect(second).to.deep.equal({ sync: true, payload: { user_id: 'async' } })
      expect(second!.payload).to.equal(first!.payload)
      expect(parts.calls).to.have.length(1)
    })

    it('verifies again on another request', async () => {
      const parts = make()
      const first = await onRequest((ctx) => verified(parts, ctx), bearer(token()))
      const second = await onRequest((ctx) => verified(parts, ctx), bearer(token()))
      expect(second.value!.payload).not.to.equal(first.value!.payload)
      expect(parts.calls).to.have.length(2)
    })

    it('verifies again when the request yields another token', async () => {
      const parts = make()
      const tokens = [token(1), token(2)]
      const host: ReaderHost = {
        extractToken: () => tokens.shift()!,
        retrieveUserSecret: parts.host.retrieveUserSecret,
        isTokenRevoked: parts.host.isTokenRevoked,
      }
      const outcome = await onRequest(
        async (ctx) => [await verified(parts, ctx, true, host), await verified(parts, ctx, true, host)],
        bearer(token()),
      )
      expect(outcome.value!.map((result) => result.payload.user_id)).to.deep.equal([1, 2])
      expect(parts.calls).to.have.length(2)
    })

    it('does not remember results verified with verify: false', async () => {
      const parts = make()
      const outcome = await onRequest(async (ctx) => {
        const unchecked = [await verified(parts, ctx, false), await verified(parts, ctx, false)]
        expect(parts.calls).to.have.length(2)
        const checked = [await verified(parts, ctx, true), await verified(parts, ctx, true)]
        return [...unchecked, ...checked]
      }, bearer(token()))
      expect(outcome.error).to.equal(undefined)
      const [a, b, c, d] = outcome.value!
      expect(b!.payload).not.to.equal(a!.payload)
      expect(c!.payload).not.to.equal(b!.payload)
      expect(d!.payload).to.equal(c!.payload)
      expect(parts.calls.map((call) => call.options.verify)).to.deep.equal([false, false, true])
    })

    it('does not remember a failed verification', async () => {
      const parts = make()
      let fail = true
      parts.state.answer = () => {
        if (fail) throw new InvalidToken('no', { code: 'ERR_JWT_INVALID_SIGNATURE' })
        return { user_id: 'second try' }
      }
      const outcome = await onRequest(async (ctx) => {
        const error = await verified(parts, ctx).catch((failure: unknown) => failure)
        fail = false
        return [error, await verified(parts, ctx)]
      }, bearer(token()))
      const [error, second] = outcome.value!
      expect(error).to.be.instanceOf(InvalidToken)
      expect((second as { payload: JwtPayload }).payload).to.deep.equal({ user_id: 'second try' })
      expect(parts.calls).to.have.length(2)
    })

    it('verifies again under settings changed for the rest of the request (an inner route with its own settings)', async () => {
      const parts = make({ claimAud: 'a' })
      const outcome = await onRequest(async (ctx) => {
        await verified(parts, ctx)
        // What an inner protected({ claimAud: 'b' }) puts in place for the rest of the request.
        parts.config.pushRequestValues(ctx, new Map<SettingName, unknown>([['claimAud', 'b']]))
        return verified(parts, ctx)
      }, bearer(token(1, { aud: 'a' })))
      expect(outcome.error).to.be.instanceOf(InvalidToken)
      expect((outcome.error as InvalidToken).code).to.equal('ERR_JWT_INVALID_AUDIENCE')
      expect(parts.calls).to.have.length(2)
    })

    it('keeps the memo of one reader apart from another reader on the same request', async () => {
      const one = make()
      const two = make()
      await onRequest(async (ctx) => [await verified(one, ctx), await verified(two, ctx)], bearer(token()))
      expect(one.calls).to.have.length(1)
      expect(two.calls).to.have.length(1)
    })
  })

  describe('a header token holding whitespace', () => {
    const spaced = withHeaders({ Authorization: 'Bearer abc def' })

    it('answers InvalidAuthorizationHeader when its verification fails', async () => {
      const parts = make()
      const outcome = await onRequest((ctx) => verified(parts, ctx), spaced)
      expect(outcome.error).to.be.instanceOf(InvalidAuthorizationHeader)
      expect((outcome.error as InvalidAuthorizationHeader).status).to.equal(400)
      expect(parts.calls.map((call) => call.token)).to.deep.equal(['abc def'])
    })

    it('answers InvalidAuthorizationHeader when its verification rejects', async () => {
      const parts = make()
      parts.state.answer = () => Promise.reject(new InvalidToken('no', { code: 'ERR_JWT_INVALID_SIGNATURE' }))
      const outcome = await onRequest((ctx) => verified(parts, ctx), spaced)
      expect(outcome.error).to.be.instanceOf(InvalidAuthorizationHeader)
    })

    it('is not refused when the verifier accepts it', async () => {
      const parts = make()
      parts.state.answer = () => ({ user_id: 'accepted' })
      const outcome = await onRequest((ctx) => verified(parts, ctx), spaced)
      expect(outcome.value?.payload).to.deep.equal({ user_id: 'accepted' })
    })

    it('answers the verification failure itself for a token without whitespace', async () => {
      const parts = make()
      const outcome = await onRequest((ctx) => verified(parts, ctx), bearer('abc.def'))
      expect(outcome.error).to.be.instanceOf(InvalidToken)
      expect((outcome.error as InvalidToken).code).to.equal('ERR_JWT_MALFORMED')
    })

    it('answers the verification failure itself without a scheme', async () => {
      const parts = make({ authorizationHeaderPrefix: null as unknown as string })
      const outcome = await onRequest((ctx) => verified(parts, ctx), withHeaders({ Authorization: 'abc def' }))
      expect(outcome.error).to.be.instanceOf(InvalidToken)
      expect(outcome.error).not.to.be.instanceOf(InvalidAuthorizationHeader)
      expect(parts.calls.map((call) => call.token)).to.deep.equal(['abc def'])
    })

    it('answers the verification failure itself when extractToken is overridden', async () => {
      const parts = make()
      const host: ReaderHost = {
        extractToken: () => 'abc def',
        retrieveUserSecret: parts.host.retrieveUserSecret,
        isTokenRevoked: parts.host.isTokenRevoked,
      }
      const outcome = await onRequest((ctx) => verified(parts, ctx, true, host), spaced)
      expect(outcome.error).to.be.instanceOf(InvalidToken)
    })

    it('is refused before verification when extractToken reads it (cookie mode falling back to the header)', async () => {
      const parts = make({ cookieSet: true, cookieStrict: false })
      const outcome = await onRequest((ctx) => verified(parts, ctx), spaced)
      expect(outcome.error).to.be.instanceOf(InvalidAuthorizationHeader)
      expect(parts.calls).to.have.length(0)
    })
  })

  it('verifies with the key of the instance (a token signed with another key is refused)', async () => {
    const parts = make()
    const otherKey = createSecretKey(Buffer.from('a-key-that-is-not-the-instance-key'))
    const forged = hs256({ user_id: 1, exp: NOW + 60 }, otherKey)
    const outcome = await onRequest((ctx) => verified(parts, ctx), bearer(forged))
    expect((outcome.error as InvalidToken).code).to.equal('ERR_JWT_INVALID_SIGNATURE')
  })
})
