/**
 * Process warnings of the library. Start-up problems that sanic-jwt accepts (a short HMAC secret,
 * a secret read from a file named by a plain string) are accepted here too, but said once on
 * stderr through Node's warning channel, where `--no-warnings` and `process.on('warning')` reach
 * them. No Koa import: the key core uses it.
 */

/** The `name` of every warning the library emits, for `process.on('warning')` filters. */
export const WARNING_TYPE = 'KoaJwtKitWarning'

// Keys of the warnings already emitted. Messages name settings and sizes, never values, so the set
// stays small: it grows with the distinct configurations of the process, not with requests.
const emitted = new Set<string>()

/**
 * Emits a process warning of type {@link WARNING_TYPE}, every time it is called. For warnings
 * tied to one occurrence, such as a setter of one configuration class.
 *
 * @param code - stable machine-readable code (`KOA_JWT_*`).
 * @param message - what is wrong and what to do; never key material.
 */
export function warn(code: string, message: string): void {
  process.emitWarning(message, { type: WARNING_TYPE, code })
}

/**
 * Emits a process warning of type {@link WARNING_TYPE} once per process for each `code` and
 * `message`: a setting compiled again (a `set()`, a second instance with the same setup) does
 * not repeat it. Node delivers the `'warning'` event on the next tick.
 *
 * @param code - stable machine-readable code (`KOA_JWT_*`).
 * @param message - what is wrong and what to do; never key material.
 */
export function warnOnce(code: string, message: string): void {
  // The NUL cannot occur in a code, so two code/message pairs never share a key.
  const key = `${code}\u0000${message}`
  if (emitted.has(key)) return
  emitted.add(key)
  warn(code, message)
}

/** Forgets which warnings were emitted, so a spec can see a one-time warning again. @internal */
export function resetWarnings(): void {
  emitted.clear()
}
