import { resetWarnings, WARNING_TYPE } from '../../source/core/warnings'

/** A process warning of the library, as a `process.on('warning')` listener sees it. */
export interface KitWarning {
  name: string
  code: string | undefined
  message: string
}

/**
 * Runs `fn` (sync or async) and returns the warnings of type `KoaJwtKitWarning` it emitted.
 * Forgets the one-time warnings first, so the result does not depend on which specs ran before.
 * Waits one turn of the event loop at the end: `process.emitWarning` delivers on the next tick.
 */
export async function warningsDuring(fn: () => unknown): Promise<KitWarning[]> {
  resetWarnings()
  const seen: KitWarning[] = []
  const listener = (warning: Error & { code?: string }): void => {
    if (warning.name === WARNING_TYPE) {
      seen.push({ name: warning.name, code: warning.code, message: warning.message })
    }
  }
  // Node's own listener prints every warning on stderr; the expected ones would clutter the
  // mocha report, so it is detached while the capture runs (nothing else runs meanwhile).
  const others = process.listeners('warning')
  process.removeAllListeners('warning')
  process.on('warning', listener)
  try {
    await fn()
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', listener)
    for (const other of others) process.on('warning', other)
  }
  return seen
}

/** The warnings of `warnings` with the given code. */
export function withCode(warnings: readonly KitWarning[], code: string): KitWarning[] {
  return warnings.filter((warning) => warning.code === code)
}
