// The demo page's script (served as a file: the page's Content-Security-Policy forbids inline
// script). Plain browser JavaScript, no build step. The tokens travel in HttpOnly cookies that this
// script never sees; it reads only the CSRF cookies and copies one into the CSRF header of each
// request that changes something (the double submit).
'use strict'

;(() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content
  const CSRF_HEADER = meta('csrf-header')
  const CSRF_ACCESS_COOKIE = meta('csrf-access-cookie')
  const CSRF_REFRESH_COOKIE = meta('csrf-refresh-cookie')
  const $ = (id) => document.getElementById(id)

  /** The value of a cookie this script may read, or undefined. */
  function readCookie(name) {
    for (const part of document.cookie.split(';')) {
      const eq = part.indexOf('=')
      if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim())
    }
    return undefined
  }

  /**
   * Calls the API. `csrfCookie` names the CSRF cookie whose value goes in the CSRF header, when
   * the "Send the CSRF header" box is ticked. Answers { status, body, sentCsrf }; status 0 when
   * the server could not be reached.
   */
  async function call(method, path, { body, csrfCookie } = {}) {
    const headers = { Accept: 'application/json' }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let sentCsrf = false
    if (csrfCookie !== undefined && $('send-csrf').checked) {
      const value = readCookie(csrfCookie)
      if (value !== undefined) {
        headers[CSRF_HEADER] = value
        sentCsrf = true
      }
    }
    const init = { method, headers, credentials: 'same-origin' }
    if (body !== undefined) init.body = JSON.stringify(body)
    let response
    try {
      response = await fetch(path, init)
    } catch (error) {
      return { status: 0, body: { reasons: [`The server could not be reached (${error.message}).`] }, sentCsrf }
    }
    let data = null
    try {
      data = await response.json()
    } catch {
      // Not JSON: the status says enough.
    }
    return { status: response.status, body: data, sentCsrf }
  }

  /** "401 CSRFError (ERR_JWT_CSRF): Missing CSRF token." */
  function failure({ status, body }) {
    const name = body && body.exception ? ` ${body.exception}` : ''
    const code = body && body.code ? ` (${body.code})` : ''
    const reasons = body && Array.isArray(body.reasons) ? `: ${body.reasons.join(' ')}` : ''
    return `${status === 0 ? 'no answer' : status}${name}${code}${reasons}`
  }

  function show(text) {
    $('result').textContent = text
  }

  /** What a call sent, for the result line. */
  function sent(method, path, result, csrfCookie) {
    if (csrfCookie === undefined) return `${method} ${path}`
    return `${method} ${path} ${result.sentCsrf ? 'with' : 'without'} the CSRF header`
  }

  function showLoggedOut(status) {
    $('session').hidden = true
    $('login').hidden = false
    $('who').textContent = ''
    $('expires').textContent = ''
    $('status').textContent = status
  }

  function showLoggedIn(me, expiresAt) {
    $('who').textContent = me.username
    $('expires').textContent = expiresAt ? new Date(expiresAt).toLocaleString() : 'no expiry'
    $('login').hidden = true
    $('session').hidden = false
    $('status').textContent = `Logged in as ${me.username}.`
  }

  /** Asks GET /auth/me who is logged in; an expired access token is refreshed once. */
  async function whoAmI(mayRefresh = true) {
    const me = await call('GET', '/auth/me')
    if (me.status === 200 && me.body && me.body.me) {
      showLoggedIn(me.body.me, me.body.expires_at)
      return
    }
    if (mayRefresh && me.body && me.body.code === 'ERR_JWT_EXPIRED') {
      // What an app does for its user: the refresh token (a cookie too) gets a new access token.
      const refreshed = await fetch('/auth/refresh', {
        method: 'POST',
        headers: { Accept: 'application/json', [CSRF_HEADER]: readCookie(CSRF_REFRESH_COOKIE) || '' },
        credentials: 'same-origin',
      }).catch(() => null)
      if (refreshed && refreshed.ok) return whoAmI(false)
    }
    const why = me.status === 401 ? '' : ` (GET /auth/me: ${failure(me)})`
    showLoggedOut(`You are not logged in.${why}`)
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault()
    const username = $('username').value
    const password = $('password').value
    // The answer also holds the tokens (for API clients); the page leaves them alone and relies
    // on the HttpOnly cookies set with it.
    const result = await call('POST', '/auth', { body: { username, password } })
    $('password').value = ''
    if (result.status === 200) {
      show(`POST /auth: 200, logged in as ${username}.`)
      await whoAmI()
    } else {
      show(`POST /auth: login refused, ${failure(result)}`)
    }
  })

  /** A button that calls an unsafe route with the access token's CSRF value. */
  function action(id, method, path, describe) {
    $(id).addEventListener('click', async () => {
      const result = await call(method, path, { csrfCookie: CSRF_ACCESS_COOKIE })
      const what = sent(method, path, result, CSRF_ACCESS_COOKIE)
      show(result.status === 200 ? `${what}: 200, ${describe(result.body)}` : `${what}: refused, ${failure(result)}`)
    })
  }
  action('count', 'POST', '/api/counter', (body) => `the counter is ${body.count}.`)
  action('reset', 'DELETE', '/api/counter', (body) => `the counter is reset to ${body.count}.`)

  $('refresh').addEventListener('click', async () => {
    const result = await call('POST', '/auth/refresh', { csrfCookie: CSRF_REFRESH_COOKIE })
    const what = sent('POST', '/auth/refresh', result, CSRF_REFRESH_COOKIE)
    if (result.status === 200) {
      show(`${what}: 200, a new access token (a refreshed token is not fresh).`)
      await whoAmI(false)
    } else {
      show(`${what}: refused, ${failure(result)}`)
    }
  })

  $('logout').addEventListener('click', async () => {
    const result = await call('POST', '/auth/logout', { csrfCookie: CSRF_ACCESS_COOKIE })
    const what = sent('POST', '/auth/logout', result, CSRF_ACCESS_COOKIE)
    if (result.status === 200) {
      show(`${what}: 200, logged out.`)
      showLoggedOut('You are logged out.')
    } else {
      show(`${what}: refused, ${failure(result)}`)
    }
  })

  whoAmI().catch((error) => showLoggedOut(`You are not logged in (${error.message}).`))
})()
