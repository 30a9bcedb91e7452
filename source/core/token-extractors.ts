/**
 * Where tokens are read from, in sanic-jwt's order (reference §4.7): cookies, then the query
 * string, then the header (or, for a refresh token in header mode, the JSON body). Request-derived
 * values arrive through {@link TokenSource}, so this file knows nothing of Koa.
 */
import {
  InvalidAuthorizationHeader,
  InvalidToken,
  MissingAuthorizationCookie,
  MissingAuthorizationHeader,
  MissingAuthorizationQueryArg,
} from '../errors'

/** Read access to the parts of a request that may carry a token. */
export interface TokenSource {
  header(name: string): string | string[] | undefined
  cookie(name: string): string | undefined
  query(name: string): string | string[] | undefined
  body(): unknown
}

/** The settings that decide where a token is looked for. */
export interface ExtractionSettings {
  readonly cookieSet: boolean
  readonly cookieStrict: boolean
  readonly cookieSplit: boolean
  readonly cookieName: string
  readonly cookieSignatureName: string
  readonly queryStringSet: boolean
  readonly queryStringStrict: boolean
  readonly queryName: string
  readonly headerName: string
  readonly headerPrefix: string
  /** Reading a refresh token: cookies and query use the refresh names, header mode reads the body. */
  readonly refresh: boolean
  readonly refreshBodyName: string
}

const blank = (value: string | undefined): value is undefined | '' =>
  value === undefined || value.trim() === ''

function fromQuery(value: string | string[] | undefined): string | undefined {
  // ?access_token=a&access_token=b: two candidates is an attack or a bug, never "pick one".
  if (Array.isArray(value)) {
    throw new InvalidToken('Multiple tokens in the query string.', { code: 'ERR_JWT_MALFORMED' })
  }
  return value
}

/**
 * Parses an authorization header value. The scheme is matched case-insensitively with one or more
 * spaces after it (RFC 7235); a scheme with nothing after it is a missing token (sanic-jwt #143).
 *
 * @returns the token, or undefined when the token is empty.
 * @throws InvalidAuthorizationHeader
 */
export function parseAuthorizationHeader(value: string, prefix: string): string | undefined {
  const token = headerTokenUnchecked(value, prefix)
  // Without a scheme the value is taken whole, as sanic-jwt does.
  if (prefix !== '' && token !== undefined && hasWhitespace(token)) throw new InvalidAuthorizationHeader()
  return token
}

/**
 * {@link parseAuthorizationHeader} without its last check, whitespace inside the token (made only
 * when there is a scheme). Scanning a token for whitespace costs more than anything else in
 * reading a header (a regular expression over ~200 characters), and no token with whitespace in it
 * verifies, so the request path skips the scan and makes it only when verification fails
 * ({@link hasWhitespace}), which gives every request the error it had before. @internal
 */
export function headerTokenUnchecked(value: string, prefix: string): string | undefined {
  const trimmed = value.trim()
  if (trimmed === '') return undefined
  if (prefix === '') return trimmed
  // The scheme is case-insensitive (RFC 7235); the exact spelling is the common case.
  const hasPrefix =
    trimmed.startsWith(prefix) ||
    (trimmed.length >= prefix.length && trimmed.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase())
  if (!hasPrefix) throw new InvalidAuthorizationHeader()
  const rest = trimmed.slice(prefix.length)
  if (rest === '') return undefined
  if (rest[0] !== ' ' && rest[0] !== '\t') throw new InvalidAuthorizationHeader()
  const token = rest.trim()
  return token === '' ? undefined : token
}

/** True when the text holds whitespace (as `\s` means it): such a header token is refused. @internal */
export function hasWhitespace(text: string): boolean {
  return /\s/.test(text)
}

/**
 * The token of the authorization header's value(s), with or without the whitespace check (see
 * {@link headerTokenUnchecked}). @internal
 *
 * @throws MissingAuthorizationHeader, InvalidAuthorizationHeader
 */
export function headerToken(header: string | string[] | undefined, prefix: string, check = true): string {
  if (header !== undefined) {
    if (Array.isArray(header)) throw new InvalidAuthorizationHeader()
    const token = check ? parseAuthorizationHeader(header, prefix) : headerTokenUnchecked(header, prefix)
    if (token !== undefined) return token
  }
  throw new MissingAuthorizationHeader()
}

/**
 * Finds the token of a request.
 *
 * @throws MissingAuthorizationCookie, MissingAuthorizationQueryArg, MissingAuthorizationHeader,
 *   InvalidAuthorizationHeader, InvalidToken (several query values)
 */
export function extractToken(source: TokenSource, settings: ExtractionSettings): string {
  if (settings.cookieSet) {
    const token = cookieToken(source, settings)
    if (token !== undefined) return token
    if (settings.cookieStrict) throw new MissingAuthorizationCookie()
  }
  if (settings.queryStringSet) {
    const token = fromQuery(source.query(settings.queryName))
    if (!blank(token)) return token
    if (settings.queryStringStrict) throw new MissingAuthorizationQueryArg()
  }
  if (settings.refresh) {
    const body = source.body()
    const token =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as Record<string, unknown>)[settings.refreshBodyName]
        : undefined
    if (typeof token === 'string' && !blank(token)) return token
    throw new MissingAuthorizationHeader()
  }
  return headerToken(source.header(settings.headerName), settings.headerPrefix)
}

/**
 * The token the cookies hold (joined with the signature cookie in split mode), or undefined when
 * blank or absent. Also tells whether a request's token came from a cookie (CSRF check). @internal
 */
export function cookieToken(source: TokenSource, settings: ExtractionSettings): string | undefined {
  let token = source.cookie(settings.cookieName)
  if (!blank(token) && settings.cookieSplit && !settings.refresh) {
    const signature = source.cookie(settings.cookieSignatureName)
    token = blank(signature) ? undefined : `${token}.${signature}`
  }
  return blank(token) ? undefined : token
}

/** True when {@link extractToken} reads nothing but the header under these settings. @internal */
export function readsHeaderOnly(settings: ExtractionSettings): boolean {
  return !settings.cookieSet && !settings.queryStringSet && !settings.refresh
}
