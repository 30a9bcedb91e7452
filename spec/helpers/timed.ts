import { expect } from 'chai'

/**
 * Sends a request and fails the spec when it takes `ms` or longer: "never a hang" as an assertion
 * (the store-failure specs).
 */
export async function timed<T>(send: () => PromiseLike<T>, ms: number): Promise<T> {
  const start = Date.now()
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  try {
    const res = await Promise.race([send(), hung])
    expect(Date.now() - start).to.be.below(ms)
    return res
  } finally {
    clearTimeout(timer)
  }
}
