/**
 * Hot paths await a handler's result only when it is a promise (or another thenable), so a
 * synchronous handler costs no microtask turn.
 */

/** True for promises and other objects with a `then` method. @internal */
export function isThenable<T = unknown>(value: unknown): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
