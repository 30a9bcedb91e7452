/**
 * The demo's audit trail: the `audit` handler of koa-jwt-kit writes into an {@link AuditLog}, which
 * keeps the last events in memory for `GET /admin/audit`. A real app would send them to its logs
 * or its security monitoring instead.
 *
 * @module
 */
import type { AuditEvent } from '../source'

/** How many events the demo keeps. */
export const AUDIT_LIMIT = 100

/**
 * The last `limit` audit events, oldest first. Only the four documented fields of an event are
 * kept (type, user id, token id, time): whatever else an event might carry never reaches the log,
 * so it can hold no token.
 *
 * @example
 * ```ts
 * const log = new AuditLog(50)
 * new Initialize(app, { secret, authenticate, tokenStore, audit: (event) => log.record(event) })
 * log.list() // [{ type: 'login', userId: '1', jti: '...', time: 1700000000 }, ...]
 * ```
 */
export class AuditLog {
  /** The most events kept; recording one more forgets the oldest. */
  readonly limit: number
  readonly #events: AuditEvent[] = []

  /** @throws RangeError when `limit` is not a positive integer. */
  constructor(limit: number = AUDIT_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`The audit log limit must be a positive integer, got ${String(limit)}.`)
    }
    this.limit = limit
  }

  /** Keeps a copy of the event's documented fields, forgetting the oldest event when full. */
  record(event: AuditEvent): void {
    const { type, userId, jti, time } = event
    this.#events.push(Object.freeze({ type, userId, jti, time }))
    if (this.#events.length > this.limit) this.#events.shift()
  }

  /** The kept events, oldest first (a new array: changing it changes nothing here). */
  list(): AuditEvent[] {
    return [...this.#events]
  }

  /** How many events are kept. */
  get size(): number {
    return this.#events.length
  }
}

/** One line of the server's log for an event: `audit: refresh user=1 jti=... at 2024-...`. */
export function formatAuditEvent(event: AuditEvent): string {
  const time = new Date(event.time * 1000).toISOString()
  return `audit: ${event.type} user=${event.userId} jti=${event.jti ?? '-'} at ${time}`
}
