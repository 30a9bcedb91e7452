import { createPublicKey, generateKeyPairSync } from 'node:crypto'

import { expect } from 'chai'
import jsonwebtoken from 'jsonwebtoken'

import { KeysUnavailable } from '../../source'
import { publicJwk } from '../../source/core/key-ring'
import { RemoteKeySet, ringFromJwks } from '../../source/core/RemoteKeySet'
import { KEYS } from '../helpers/keys'
import { caught, caughtSync } from '../helpers/token-core'

const RSA = publicJwk(createPublicKey(KEYS.rsa.publicKey), 'rsa', 'RS256')
const EC = publicJwk(createPublicKey(KEYS.p256.publicKey), 'ec', 'ES256')

describe('ringFromJwks()', () => {
  it('takes asymmetric signature keys with a kid and an alg', () => {
    const ring = ringFromJwks({ keys: [RSA, EC] })
    expect([...ring.keys.keys()]).to.deep.equal(['rsa', 'ec'])
    expect(ring.keys.get('ec')).to.include({ algorithm: 'ES256', signKey: undefined })
    expect(ring.signing).to.equal(undefined)
  })

  it('skips keys it must not verify with, and keeps the first of two with one kid', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const privateJwk = { ...(privateKey.export({ format: 'jwk' }) as object), kid: 'priv', alg: 'ES256' }
    const ring = ringFromJwks({
      keys: [
        { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256' },
        { ...RSA, kid: 'enc', use: 'enc' },
        { ...RSA, kid: 'ops', key_ops: ['encrypt'] },
        { ...RSA, kid: 'no-alg', alg: undefined },
        { ...RSA, kid: 'none', alg: 'none' },
        { ...RSA, kid: '' },
        { ...EC, kid: 'curve', alg: 'ES384' },
        { ...RSA, kid: 'rsa-as-ec', alg: 'ES256' },
        privateJwk,
        'not a key',
        { ...EC, kid: 'ok', key_ops: ['verify'] },
        { ...RSA, kid: 'ok' },
      ],
    })
    expect([...ring.keys.keys()]).to.deep.equal(['ok'])
    expect(ring.keys.get('ok')!.algorithm).to.equal('ES256')
  })

  it('refuses a document without keys, or with no usable key', () => {
    expect(() => ringFromJwks(null)).to.throw('no "keys" list')
    expect(() => ringFromJwks({ keys: 'x' })).to.throw('no "keys" list')
    expect(() => ringFromJwks({ keys: [{ kty: 'oct', k: 'eA', kid: 'x', alg: 'HS256' }] })).to.throw('no usable key')
  })
})

describe('RemoteKeySet#keyFor()', () => {
  const token = (kid: string) =>
    jsonwebtoken.sign({ user_id: 1 }, KEYS.rsa.privateKey, { algorithm: 'RS256', keyid: kid })

  /** A set over a fake fetch answering `answer()`, with a settable clock. */
  function remote(answer: () => Response | Promise<Response>) {
    const state = { now: 1000, calls: 0 }
    const set = new RemoteKeySet('https://issuer.test/jwks', {
      timeout: 1,
      cooldown: 30,
      maxAge: 300,
      clock: () => state.now,
      fetch: (async () => {
        state.calls++
        return answer()
      }) as typeof fetch,
    })
    return { set, state }
  }

  const json = (body: unknown, init: ResponseInit = {}) => new Response(JSON.stringify(body), init)

  it('answers a known kid without a promise', async () => {
    const { set, state } = remote(() => json({ keys: [RSA] }))
    expect((await set.keyFor(token('rsa'))).kid).to.equal('rsa')
    const again = set.keyFor(token('rsa'))
    expect(again).not.to.be.instanceOf(Promise)
    expect(state.calls).to.equal(1)
  })

  it('treats a non-200 answer, invalid JSON and an oversized set as a failed fetch (503 while nothing is known)', async () => {
    for (const answer of [
      () => new Response('nope', { status: 500 }),
      () => new Response('{not json'),
      () => json({ keys: [RSA] }, { headers: { 'content-length': String(300 * 1024) } }),
      () => new Response('x'.repeat(300 * 1024)),
      () => Promise.reject(new Error('ECONNREFUSED')),
    ]) {
      const { set } = remote(answer)
      expect(await caught(() => set.keyFor(token('rsa')))).to.be.instanceOf(KeysUnavailable)
    }
  })

  it('stops reading a body without content-length once it passes the limit (an endless set is no memory sink)', async () => {
    let sent = 0
    let cancelled = false
    const endless = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            sent += 64 * 1024
            controller.enqueue(new Uint8Array(64 * 1024).fill(0x20))
          },
          cancel() {
            cancelled = true
          },
        }),
      )
    const { set } = remote(endless)
    expect(await caught(() => set.keyFor(token('rsa')))).to.be.instanceOf(KeysUnavailable)
    expect(cancelled).to.equal(true)
    expect(sent).to.be.at.most(512 * 1024)
  })

  it('refuses a token without kid before fetching anything', () => {
    const { set, state } = remote(() => json({ keys: [RSA] }))
    const unsigned = jsonwebtoken.sign({ user_id: 1 }, KEYS.rsa.privateKey, { algorithm: 'RS256' })
    expect(caughtSync(() => set.keyFor(unsigned))).to.include({ code: 'ERR_JWT_UNKNOWN_KID' })
    expect(state.calls).to.equal(0)
  })

  it('refresh() fetches now unless within the cooldown, and reports whether the keys come from a good fetch', async () => {
    let ok = true
    const { set, state } = remote(() => (ok ? json({ keys: [RSA] }) : new Response('', { status: 502 })))
    expect(await set.refresh()).to.equal(true)
    ok = false
    expect(await set.refresh()).to.equal(true) // within the cooldown: no fetch
    expect(state.calls).to.equal(1)
    state.now += 31
    expect(await set.refresh()).to.equal(false)
    expect(set.ring?.keys.has('rsa')).to.equal(true) // the known key is kept
  })
})
