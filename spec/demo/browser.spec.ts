import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

import { expect } from 'chai'
import type { Page } from 'playwright-core'

import { createDemoApp, type DemoApp } from '../../demo/app'
import { PAGE_PATH } from '../../demo/page'
import { launchChromium, screenshot, type RunningChromium } from '../helpers/chromium'

/**
 * The demo page (demo/page/) in a real Chromium: what a person sees when they log in, act with
 * and without the CSRF header, refresh and log out. The demo app runs in this process on a free
 * loopback port, on its MemoryStore.
 */
describe('demo: the login page in Chromium', function () {
  // Generous for a loaded machine, but bounded: a launch, a few page loads and clicks.
  this.timeout(120_000)

  let demo: DemoApp
  let server: Server
  let url: string
  let browser: RunningChromium | undefined
  let page: Page
  /** Script errors and Content-Security-Policy violations the page reported. */
  let problems: string[]
  /** Seconds the app's clock runs ahead of the real time (the browser keeps the real time). */
  let skew = 0

  before(async () => {
    demo = await createDemoApp({ secret: 'demo-browser-spec-secret-long-enough', clock: () => Date.now() / 1000 + skew })
    server = demo.app.listen(0, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve)
      server.once('error', reject)
    })
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await launchChromium()
    page = browser.page
    page.setDefaultTimeout(20_000)
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      if (/content security policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`)
    })
  })

  beforeEach(async () => {
    problems = []
    skew = 0
    await browser?.context.clearCookies()
  })

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser !== undefined) {
      console.log(`    screenshot of the failed page: ${await screenshot(page, 'demo-page')}`)
    }
  })

  after(async () => {
    // Each step runs even when an earlier one failed: no browser, profile or port is left behind.
    await browser?.close()
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
    await demo?.tokenStore.close()
  })

  const status = (): Promise<string> => page.locator('#status').innerText()

  /** Clicks a button by its accessible name and answers the result line it leads to. */
  async function press(name: string): Promise<string> {
    await page.locator('#result').evaluate((element) => {
      element.textContent = ''
    })
    await page.getByRole('button', { name, exact: true }).click()
    await page.locator('#result:not(:empty)').waitFor()
    return page.locator('#result').innerText()
  }

  async function setCsrfHeader(on: boolean): Promise<void> {
    await page.getByRole('checkbox', { name: 'Send the CSRF header' }).setChecked(on)
  }

  async function logIn(username: string, password: string): Promise<void> {
    await page.getByLabel('Username').fill(username)
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Log in' }).click()
  }

  /** The names of the cookies the page's script can read. */
  async function scriptCookies(): Promise<string[]> {
    // Run in the page: a string, as the specs are compiled without the DOM's types.
    const cookies = String(await page.evaluate('document.cookie'))
    return cookies
      .split(';')
      .map((part) => part.split('=')[0]?.trim() ?? '')
      .filter((name) => name !== '')
  }

  it('logs in, refuses actions without the CSRF header, takes them with it, refreshes and logs out', async () => {
    // A browser opening the demo's root is sent to the page.
    await page.goto(`${url}/`)
    expect(new URL(page.url()).pathname).to.equal(PAGE_PATH)
    await page.getByText('You are not logged in.', { exact: true }).waitFor()
    await page.getByRole('heading', { name: 'Log in' }).waitFor()
    expect(await page.getByRole('heading', { name: 'Your session' }).isVisible()).to.equal(false)
    expect(await page.locator('#demo-users').innerText()).to.include('alice / wonderland')

    await logIn('alice', 'wonderland')
    await page.getByText('Logged in as alice.', { exact: true }).waitFor()
    expect(await page.locator('#who').innerText()).to.equal('alice')
    expect(await page.locator('#expires').innerText()).to.not.equal('')
    expect(await page.getByLabel('Password').isVisible()).to.equal(false)
    // The tokens are HttpOnly: the script sees only the CSRF values.
    const readable = await scriptCookies()
    expect(readable).to.include.members(['csrf_access_token', 'csrf_refresh_token'])
    expect(readable).to.not.include.members(['access_token'])
    expect(readable).to.not.include.members(['refresh_token'])
    const cookies = await browser!.context.cookies(url)
    expect(cookies.find((cookie) => cookie.name === 'access_token')?.httpOnly).to.equal(true)
    expect(cookies.find((cookie) => cookie.name === 'refresh_token')?.httpOnly).to.equal(true)

    // The protected action: refused without the header, done with it.
    await setCsrfHeader(false)
    expect(await press('Add one to the counter')).to.equal(
      'POST /api/counter without the CSRF header: refused, 401 CSRFError (ERR_JWT_CSRF): Missing CSRF token.',
    )
    await setCsrfHeader(true)
    expect(await press('Add one to the counter')).to.equal(
      'POST /api/counter with the CSRF header: 200, the counter is 1.',
    )
    expect(await press('Add one to the counter')).to.equal(
      'POST /api/counter with the CSRF header: 200, the counter is 2.',
    )

    // The fresh-only action, with the login's fresh token.
    await setCsrfHeader(false)
    expect(await press('Reset the counter')).to.equal(
      'DELETE /api/counter without the CSRF header: refused, 401 CSRFError (ERR_JWT_CSRF): Missing CSRF token.',
    )
    await setCsrfHeader(true)
    expect(await press('Reset the counter')).to.equal(
      'DELETE /api/counter with the CSRF header: 200, the counter is reset to 0.',
    )

    // Refresh: the refresh CSRF value is required too; the refreshed token is not fresh.
    await setCsrfHeader(false)
    expect(await press('Refresh the access token')).to.equal(
      'POST /auth/refresh without the CSRF header: refused, 401 CSRFError (ERR_JWT_CSRF): Missing CSRF token.',
    )
    await setCsrfHeader(true)
    expect(await press('Refresh the access token')).to.equal(
      'POST /auth/refresh with the CSRF header: 200, a new access token (a refreshed token is not fresh).',
    )
    expect(await status()).to.equal('Logged in as alice.')
    expect(await press('Add one to the counter')).to.equal(
      'POST /api/counter with the CSRF header: 200, the counter is 1.',
    )
    expect(await press('Reset the counter')).to.match(
      /^DELETE \/api\/counter with the CSRF header: refused, 401 NeedsFreshToken \(ERR_JWT_NEEDS_FRESH\): /,
    )

    // Log out: refused without the header (still logged in), done with it.
    await setCsrfHeader(false)
    expect(await press('Log out')).to.equal(
      'POST /auth/logout without the CSRF header: refused, 401 CSRFError (ERR_JWT_CSRF): Missing CSRF token.',
    )
    expect(await status()).to.equal('Logged in as alice.')
    await setCsrfHeader(true)
    expect(await press('Log out')).to.equal('POST /auth/logout with the CSRF header: 200, logged out.')
    expect(await status()).to.equal('You are logged out.')
    expect(await page.getByLabel('Username').isVisible()).to.equal(true)
    expect(await page.getByRole('heading', { name: 'Your session' }).isVisible()).to.equal(false)
    expect(await browser!.context.cookies(url)).to.deep.equal([])

    // Logged out for good: a reload finds no login.
    await page.reload()
    await page.getByText('You are not logged in.', { exact: true }).waitFor()
    expect(problems).to.deep.equal([])
  })

  it('shows a refused login, then the logged-in name across a reload', async () => {
    await page.goto(`${url}${PAGE_PATH}`)
    await page.getByText('You are not logged in.', { exact: true }).waitFor()
    await logIn('alice', 'not-her-password')
    await page.getByText('POST /auth: login refused').waitFor()
    expect(await page.locator('#result').innerText()).to.equal(
      'POST /auth: login refused, 401 AuthenticationFailed (ERR_JWT_AUTHENTICATION_FAILED): Invalid username or password.',
    )
    expect(await status()).to.equal('You are not logged in.')

    await logIn('admin', 'admin-password')
    await page.getByText('Logged in as admin.', { exact: true }).waitFor()
    await page.reload()
    await page.getByText('Logged in as admin.', { exact: true }).waitFor()
    expect(await page.locator('#who').innerText()).to.equal('admin')
    expect(problems).to.deep.equal([])
  })

  it('refreshes an expired access token by itself when the page opens', async () => {
    await page.goto(`${url}${PAGE_PATH}`)
    await logIn('alice', 'wonderland')
    await page.getByText('Logged in as alice.', { exact: true }).waitFor()
    const before = await page.locator('#expires').innerText()
    // Past the 30-minute lifetime and the leeway: GET /auth/me answers 401 ERR_JWT_EXPIRED, the
    // page sends its refresh token (a cookie) with the refresh CSRF value, and asks again.
    skew = 1800 + 180 + 60
    await page.reload()
    await page.getByText('Logged in as alice.', { exact: true }).waitFor()
    expect(await page.locator('#expires').innerText()).to.not.equal(before)
    // The new access token is a refreshed one: any token adds, only a fresh one resets. (The
    // counter is the app's: the first test left alice's where it was.)
    expect(await press('Add one to the counter')).to.match(
      /^POST \/api\/counter with the CSRF header: 200, the counter is \d+\.$/,
    )
    expect(await press('Reset the counter')).to.match(/: refused, 401 NeedsFreshToken \(ERR_JWT_NEEDS_FRESH\): /)
    expect(problems).to.deep.equal([])
  })

  it('refuses a CSRF header that does not match the token', async () => {
    await page.goto(`${url}${PAGE_PATH}`)
    await logIn('alice', 'wonderland')
    await page.getByText('Logged in as alice.', { exact: true }).waitFor()
    // What a page of another site could try: a value of its own in the CSRF header. Here the
    // readable CSRF cookie is replaced, so the page's script sends a value that is not the token's.
    await browser!.context.addCookies([{ name: 'csrf_access_token', value: 'forged', url }])
    expect(await press('Add one to the counter')).to.equal(
      'POST /api/counter with the CSRF header: refused, 401 CSRFError (ERR_JWT_CSRF): CSRF double submit tokens do not match.',
    )
    expect(await status()).to.equal('Logged in as alice.')
    expect(problems).to.deep.equal([])
  })

  it('runs no inline script: the Content-Security-Policy forbids it', async () => {
    await page.goto(`${url}${PAGE_PATH}`)
    await page.getByText('You are not logged in.', { exact: true }).waitFor()
    // Run in the page: a string, as the specs are compiled without the DOM's types.
    const ran = await page.evaluate(`(() => {
      const script = document.createElement('script')
      script.textContent = 'document.body.dataset.inline = "ran"'
      document.head.append(script)
      return document.body.dataset.inline ?? 'blocked'
    })()`)
    expect(ran).to.equal('blocked')
    expect(problems.some((problem) => problem.startsWith('CSP:'))).to.equal(true)
  })
})
