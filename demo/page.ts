/**
 * The demo's login page for a person with a browser, served at `GET /app`: plain HTML, one script
 * and one stylesheet from `demo/page/`, no build step. The page logs in with cookies (HttpOnly
 * token cookies, script-readable CSRF cookies), shows `GET /auth/me`, and sends the counter
 * actions, the refresh and the logout with or without the CSRF header, showing each answer as text.
 *
 * The files are read once, when the app is built; the HTML gets the CSRF setting values and the
 * demo users filled in (escaped), so the page follows the app's settings.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

import Router from '@koa/router'
import type { Context } from 'koa'

import type { SeedUser } from './users'

/** Where the page is served. `GET /` redirects browsers there. */
export const PAGE_PATH = '/app'

/**
 * The Content-Security-Policy of the page and its files: scripts, styles and `fetch` from this
 * origin only, no inline script or style, no plugins, no framing, forms posting nowhere else.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** What the page needs to know of the app. */
export interface PageSettings {
  /** The `csrfHeaderName` setting: the header the script fills. */
  csrfHeaderName: string
  /** The `cookieCsrfAccessName` setting: the cookie the script copies for an access token. */
  cookieCsrfAccessName: string
  /** The `cookieCsrfRefreshName` setting: the cookie the script copies for `POST /auth/refresh`. */
  cookieCsrfRefreshName: string
  /** The users the page lists under the login form. */
  users: readonly SeedUser[]
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char)
}

/** The page's HTML with the settings and the users filled in. */
export function renderPage(template: string, settings: PageSettings): string {
  const users = settings.users
    .map(
      (user) =>
        `<li><code>${escapeHtml(user.username)}</code> / <code>${escapeHtml(user.password)}</code> ` +
        `(scopes: ${escapeHtml(user.scopes.join(', '))})</li>`,
    )
    .join('\n')
  const values: Readonly<Record<string, string>> = {
    CSRF_HEADER: escapeHtml(settings.csrfHeaderName),
    CSRF_ACCESS_COOKIE: escapeHtml(settings.cookieCsrfAccessName),
    CSRF_REFRESH_COOKIE: escapeHtml(settings.cookieCsrfRefreshName),
    DEMO_USERS: users,
  }
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (marker, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`demo/page/index.html: unknown marker ${marker}`)
    return value
  })
}

/** Sends one of the page's files with the headers every one of them gets. */
function send(ctx: Context, type: string, body: string): void {
  ctx.set('Content-Security-Policy', PAGE_CSP)
  ctx.set('X-Content-Type-Options', 'nosniff')
  ctx.set('Referrer-Policy', 'no-referrer')
  // The demo changes with a restart (a new secret, new settings): never serve a stale page.
  ctx.set('Cache-Control', 'no-store')
  ctx.type = type
  ctx.body = body
}

/**
 * The routes of the page: `GET /app` (the HTML), `GET /app/page.js`, `GET /app/page.css` (and
 * their `HEAD`). Reads `demo/page/` once.
 */
export async function pageRouter(settings: PageSettings): Promise<Router> {
  const dir = join(__dirname, 'page')
  const [template, script, styles] = await Promise.all(
    ['index.html', 'page.js', 'page.css'].map((file) => readFile(join(dir, file), 'utf8')),
  )
  const html = renderPage(template ?? '', settings)
  const router = new Router({ prefix: PAGE_PATH })
  router.get('/', (ctx) => send(ctx, 'text/html; charset=utf-8', html))
  router.get('/page.js', (ctx) => send(ctx, 'text/javascript; charset=utf-8', script ?? ''))
  router.get('/page.css', (ctx) => send(ctx, 'text/css; charset=utf-8', styles ?? ''))
  return router
}
