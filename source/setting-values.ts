/**
 * Validation and normalisation of setting values: time spans to seconds, key inputs, and the
 * check of each value against the kind the settings table gives it. Used at start-up, by
 * `config.set()` and for per-route settings (compiled when the route is declared).
 *
 * @module
 */
import { InvalidConfiguration } from './errors'
import { ALGORITHMS, KINDS, type SettingName } from './settings'

const SPAN = /^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|weeks?)?\s*$/i
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/** Parses seconds given as a number or a span such as '90', '15m', '2h', '1d'. @internal */
export function parseSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const match = SPAN.exec(value)
  if (!match) return undefined
  const amount = Number(match[1])
  const unit = (match[2] ?? 's').toLowerCase()
  const factor = unit === 'ms' ? UNIT_SECONDS.ms : UNIT_SECONDS[unit[0] as string]
  if (factor === undefined || amount < 0) return undefined
  return amount * factor
}

function fail(name: string, expected: string, value: unknown, secretive: boolean): never {
  const shown = secretive
    ? typeof value
    : typeof value === 'string'
      ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)
      : typeof value === 'function'
        ? 'a function'
        : String(value)
  throw new InvalidConfiguration(`the "${name}" setting must be ${expected} (got ${shown}).`)
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i

/**
 * A key-set URL: `https:`, or `http:` on a loopback host only (a key set read in clear text
 * across a network could be replaced on the way). Credentials in the URL are refused, so that
 * no message or log ever shows them. Kept as the string given; '' and null are off.
 */
function jwksUrl(name: string, value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null
  const expected = 'an https: URL (http: only on localhost, 127.x.x.x or [::1]), without credentials'
  let url: URL | undefined
  try {
    url = typeof value === 'string' || value instanceof URL ? new URL(String(value)) : undefined
  } catch {
    url = undefined
  }
  // The value is not shown: a URL may carry a token in its query.
  if (url === undefined) fail(name, expected, value, true)
  const allowed = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname))
  if (!allowed || url.username !== '' || url.password !== '') fail(name, expected, value, true)
  return url.href
}

/** True for the values a key setting (or `retrieveUserSecret`) may hold. @internal */
export function isKeyInput(value: unknown): boolean {
  if (typeof value === 'string' || Buffer.isBuffer(value) || value instanceof URL) return true
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as { type?: unknown; export?: unknown; path?: unknown }
  if (typeof candidate.export === 'function' && typeof candidate.type === 'string') return true
  return typeof candidate.path === 'string'
}

/**
 * Validates and normalises one setting value. `fromEnv` converts the string of an environment
 * preset first. Throws {@link InvalidConfiguration} naming the setting.
 *
 * @internal
 */
export function normalizeSetting(name: SettingName, value: unknown, fromEnv = false): unknown {
  const kind = KINDS[name]
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') fail(name, 'a string', value, false)
      return value
    case 'name':
      // A JSON key or query parameter name: an empty one cannot be sent or read back.
      if (typeof value !== 'string' || value === '') fail(name, 'a non-empty string', value, false)
      return value
    case 'prefix':
      // The word before the token in the header; the header is split at white space, so a prefix
      // holding any ("Bearer ") would refuse every honest header. '' means the bare token, and so
      // do null and false (sanic-jwt takes any falsy prefix for "no prefix").
      if (value === null || value === false) return ''
      if (typeof value !== 'string' || /\s/.test(value)) fail(name, 'a string without white space, or null', value, false)
      return value
    case 'token':
      // RFC 7230 token: valid as a header name and as a cookie name (RFC 6265).
      if (typeof value !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) {
        fail(name, 'a non-empty name made of letters, digits and !#$%&\'*+-.^_`|~', value, false)
      }
      return value
    case 'cookieDomain':
      // null (sanic-jwt's None) and false: no Domain attribute, like ''.
      if (value === null || value === false) return ''
      if (typeof value !== 'string' || !/^(\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)?$/.test(value)) {
        fail(name, 'a domain name or an empty string', value, false)
      }
      return value
    case 'cookiePath':
      if (typeof value !== 'string' || !/^\/[\u0021-\u003A\u003C-\u007E]*$/.test(value)) {
        fail(name, 'a path starting with "/" without spaces, ";" or control characters', value, false)
      }
      return value
    case 'path':
      if (typeof value !== 'string') fail(name, 'a path string', value, false)
      if (value !== '' && !value.startsWith('/')) return `/${value}`
      return value
    case 'boolean':
      if (fromEnv && typeof value === 'string') {
        const lowered = value.trim().toLowerCase()
        if (['true', '1', 'yes', 'on'].includes(lowered)) return true
        if (['false', '0', 'no', 'off'].includes(lowered)) return false
      }
      if (typeof value !== 'boolean') fail(name, 'a boolean', value, false)
      return value
    case 'seconds': {
      const seconds = parseSeconds(value)
      if (seconds === undefined) {
        fail(name, 'a number of seconds (>= 0) or a time span such as "15m"', value, false)
      }
      return seconds
    }
    case 'positiveSeconds': {
      const seconds = parseSeconds(value)
      if (seconds === undefined || !(seconds > 0)) {
        fail(name, 'a number of seconds (> 0) or a time span such as "5s"', value, false)
      }
      return seconds
    }
    case 'url':
      return jwksUrl(name, value)
    case 'freshness': {
      // true, or the seconds a login token stays fresh; false would be a login that is never
      // fresh, which no route requiring freshness could then accept.
      if (value === true || (fromEnv && typeof value === 'string' && value.trim().toLowerCase() === 'true')) return true
      const seconds = parseSeconds(value)
      if (seconds === undefined) {
        fail(name, 'true, or a number of seconds (>= 0) or a time span such as "15m"', value, false)
      }
      return seconds
    }
    case 'revocationChecks':
      if (value !== 'all' && value !== 'access' && value !== 'refresh') fail(name, '"all", "access" or "refresh"', value, false)
      return value
    case 'methods': {
      // csrfMethods: a list of HTTP method names (a comma-separated preset), upper-cased as Node
      // gives ctx.method. OPTIONS is refused: preflight requests are never authenticated, so
      // listing it would protect nothing.
      const list = fromEnv && typeof value === 'string' ? value.split(',').map((part) => part.trim()) : value
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        !list.every((method) => typeof method === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method))
      ) {
        fail(name, 'a non-empty list of HTTP method names', value, false)
      }
      const methods = [...new Set((list as string[]).map((method) => method.toUpperCase()))]
      if (methods.includes('OPTIONS')) {
        fail(name, 'a list of HTTP method names without OPTIONS (preflight requests are never authenticated)', value, false)
      }
      return Object.freeze(methods)
    }
    case 'nullableString':
      // '' is off, as in an environment preset: sanic-jwt adds no claim for a falsy claim_iss, and
      // requiring a claim that no token carries would refuse every token (reference §7.2.16).
      if (value === null || value === undefined || value === '') return null
      if (typeof value !== 'string') fail(name, 'a string or null', value, false)
      return value
    case 'audience':
      if (value === null || value === undefined || value === '') return null
      if (fromEnv && typeof value === 'string' && value.includes(',')) {
        return value.split(',').map((part) => part.trim())
      }
      if (typeof value === 'string' && value !== '') return value
      if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '')) {
        return [...value]
      }
      return fail(name, 'a non-empty string, a non-empty list of non-empty strings, or null', value, false)
    case 'algorithm':
      if (typeof value !== 'string' || !(ALGORITHMS as readonly string[]).includes(value)) {
        fail(name, `one of ${ALGORITHMS.join(', ')}`, value, false)
      }
      return value
    case 'key':
      if (value === null || value === undefined || (fromEnv && value === '')) return null
      if (!isKeyInput(value)) {
        fail(name, 'key text, a file path, a URL, { path }, a Buffer or a KeyObject', value, true)
      }
      return value
    case 'function':
      if (typeof value !== 'function') fail(name, 'a function', value, false)
      return value
    case 'samesite': {
      if (value === null || value === false || (fromEnv && value === '')) return null
      const known = ['strict', 'lax', 'none']
      if (typeof value !== 'string' || !known.includes(value.toLowerCase())) {
        fail(name, '"Strict", "Lax", "None" or null', value, false)
      }
      const lowered = value.toLowerCase()
      return lowered[0]!.toUpperCase() + lowered.slice(1)
    }
    case 'date': {
      if (value === null || value === undefined || value === false || (fromEnv && value === '')) {
        return null
      }
      const date =
        value instanceof Date
          ? value
          : typeof value === 'number' || typeof value === 'string'
            ? new Date(value)
            : undefined
      if (date === undefined || Number.isNaN(date.getTime())) {
        fail(name, 'a Date, a timestamp in milliseconds, a date string, or null', value, false)
      }
      return date
    }
  }
}
