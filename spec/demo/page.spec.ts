import { expect } from 'chai'
import request from 'supertest'

import { createDemoApp, type DemoApp } from '../../demo/app'
import { escapeHtml, PAGE_CSP, PAGE_PATH, renderPage, type PageSettings } from '../../demo/page'
import { DEMO_USERS } from '../../demo/users'
import { makeClock } from '../helpers/app'

const SECRET = 'demo-page-spec-secret-long-enough-for-hs256'
/** What Chromium sends when it opens a page. */
const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8'

type Agent = ReturnType<typeof request>

const bearer = (token: string | undefined): string => `Bearer ${token ?? ''}`

async function login(agent: Agent, username: string, password: string): Promise<Record<string, string>> {
  const res = await agent.post('/auth').send({ username, password }).expect(200)
  return res.body as Record<string, string>
}

describe('demo: the login page, served', () => {
  let demo: DemoApp
  let agent: Agent

  beforeEach(async () => {
    demo = await createDemoApp({ secret: SECRET, clock: makeClock().clock })
    agent = request(demo.app.callback())
  })

  describe('GET /app', () => {
    it('answers the HTML under a Content-Security-Policy that forbids inline script and style', async () => {
      const res = await agent.get(PAGE_PATH)
      expect(res.status).to.equal(200)
      expect(res.headers['content-type']).to.equal('text/html; charset=utf-8')
      const csp = res.headers['content-security-policy'] as string
      expect(csp).to.equal(PAGE_CSP)
      expect(csp).to.include("script-src 'self'")
      expect(csp).to.include("style-src 'self'")
      expect(csp).to.include("default-src 'none'")
      expect(csp).to.not.include('unsafe-inline')
      expect(csp).to.not.include('unsafe-eval')
      expect(res.headers['x-content-type-options']).to.equal('nosniff')
      expect(res.headers['referrer-policy']).to.equal('no-referrer')
      expect(res.headers['cache-control']).to.equal('no-store')
    })

    it('holds no inline script, handler or style: every script and style is a file of the page', async () => {
      const html = (await agent.get(PAGE_PATH)).text
      const scripts = html.match(/<script\b[^>]*>/g) ?? []
      expect(scripts).to.deep.equal(['<script src="/app/page.js" defer>'])
      expect(html).to.match(/<script src="\/app\/page\.js" defer><\/script>/)
      expect(html).to.not.match(/<style\b/)
      expect(html).to.not.match(/\sstyle=/)
      expect(html).to.not.match(/\son[a-z]+=/)
      expect(html).to.not.include('javascript:')
      expect(html).to.include('<link rel="stylesheet" href="/app/page.css">')
    })

    it("fills in the app's CSRF settings and lists the demo users", async () => {
      const html = (await agent.get(PAGE_PATH)).text
      const { config } = demo.jwt
      expect(html).to.not.include('{{')
      expect(html).to.include(`<meta name="csrf-header" content="${config.get('csrfHeaderName')}">`)
      expect(html).to.include(`<meta name="csrf-access-cookie" content="${config.get('cookieCsrfAccessName')}">`)
      expect(html).to.include(`<meta name="csrf-refresh-cookie" content="${config.get('cookieCsrfRefreshName')}">`)
      for (const user of DEMO_USERS) {
        expect(html).to.include(`<li><code>${user.username}</code> / <code>${user.password}</code>`)
      }
    })

    it('labels every field and the checkbox', async () => {
      const html = (await agent.get(PAGE_PATH)).text
      expect(html).to.include('<html lang="en">')
      expect(html).to.include('<label for="username">Username</label>')
      expect(html).to.include('<input id="username" name="username" autocomplete="username" required>')
      expect(html).to.include('<label for="password">Password</label>')
      expect(html).to.match(/<label><input type="checkbox" id="send-csrf" checked> Send the CSRF header<\/label>/)
      expect(html).to.include('<p id="status" role="status">')
    })

    it('serves the script and the stylesheet with their types and the same policy', async () => {
      const script = await agent.get(`${PAGE_PATH}/page.js`)
      expect(script.status).to.equal(200)
      expect(script.headers['content-type']).to.equal('text/javascript; charset=utf-8')
      expect(script.headers['content-security-policy']).to.equal(PAGE_CSP)
      expect(script.headers['x-content-type-options']).to.equal('nosniff')
      expect(script.text).to.include("meta('csrf-header')")
      const styles = await agent.get(`${PAGE_PATH}/page.css`)
      expect(styles.status).to.equal(200)
      expect(styles.headers['content-type']).to.equal('text/css; charset=utf-8')
      expect(styles.headers['content-security-policy']).to.equal(PAGE_CSP)
      expect((await agent.get(`${PAGE_PATH}/index.html`)).status).to.equal(404)
      expect((await agent.get(`${PAGE_PATH}/../app.ts`)).status).to.equal(404)
    })
  })

  describe('GET /', () => {
    it('sends a browser to the page', async () => {
      const res = await agent.get('/').set('Accept', BROWSER_ACCEPT)
      expect(res.status).to.equal(302)
      expect(res.headers['location']).to.equal(PAGE_PATH)
      expect(res.headers['vary']).to.equal('Accept')
    })

    it('answers the JSON list to curl and API clients', async () => {
      for (const accept of [undefined, '*/*', 'application/json']) {
        const res = accept === undefined ? await agent.get('/') : await agent.get('/').set('Accept', accept)
        expect(res.status, String(accept)).to.equal(200)
        expect(res.headers['content-type'], String(accept)).to.equal('application/json; charset=utf-8')
        expect(res.headers['vary'], String(accept)).to.equal('Accept')
        expect(res.body.endpoints, String(accept)).to.include(`GET ${PAGE_PATH}`)
      }
    })
  })

  describe('renderPage()', () => {
    const settings: PageSettings = {
      csrfHeaderName: 'x-csrf-token',
      cookieCsrfAccessName: 'csrf_access_token',
      cookieCsrfRefreshName: 'csrf_refresh_token',
      users: [{ username: '<b>"eve"</b>', password: "it's&me", scopes: ['a<b'] }],
    }

    it('escapes what it fills in', () => {
      const html = renderPage('<ul>{{DEMO_USERS}}</ul><meta content="{{CSRF_HEADER}}">', settings)
      expect(html).to.equal(
        '<ul><li><code>&lt;b&gt;&quot;eve&quot;&lt;/b&gt;</code> / <code>it&#39;s&amp;me</code> ' +
          '(scopes: a&lt;b)</li></ul><meta content="x-csrf-token">',
      )
      expect(escapeHtml(`<>&"'`)).to.equal('&lt;&gt;&amp;&quot;&#39;')
    })

    it('refuses a marker it does not know', () => {
      expect(() => renderPage('{{NOPE}}', settings)).to.throw('demo/page/index.html: unknown marker {{NOPE}}')
    })
  })

  describe('the counter of the page', () => {
    it('counts per user, for a token in the Authorization header without any CSRF header', async () => {
      const alice = await login(agent, 'alice', 'wonderland')
      const admin = await login(agent, 'admin', 'admin-password')
      for (const expected of [1, 2]) {
        const res = await agent.post('/api/counter').set('Authorization', bearer(alice.access_token))
        expect(res.status).to.equal(200)
        expect(res.body).to.deep.equal({ count: expected })
      }
      const other = await agent.post('/api/counter').set('Authorization', bearer(admin.access_token))
      expect(other.body).to.deep.equal({ count: 1 })
      const reset = await agent.delete('/api/counter').set('Authorization', bearer(alice.access_token))
      expect(reset.status).to.equal(200)
      expect(reset.body).to.deep.equal({ count: 0 })
      const next = await agent.post('/api/counter').set('Authorization', bearer(alice.access_token))
      expect(next.body).to.deep.equal({ count: 1 })
      const admins = await agent.post('/api/counter').set('Authorization', bearer(admin.access_token))
      expect(admins.body).to.deep.equal({ count: 2 })
    })

    it('refuses a request without a token', async () => {
      for (const res of [await agent.post('/api/counter'), await agent.delete('/api/counter')]) {
        expect(res.status).to.equal(401)
        expect(res.body.exception).to.equal('Unauthorized')
      }
    })

    it('resets only with a fresh token: a refreshed one is 401 NeedsFreshToken', async () => {
      const alice = await login(agent, 'alice', 'wonderland')
      const refreshed = await agent
        .post('/auth/refresh')
        .set('Authorization', bearer(alice.access_token))
        .send({ refresh_token: alice.refresh_token })
      expect(refreshed.status).to.equal(200)
      const add = await agent.post('/api/counter').set('Authorization', bearer(refreshed.body.access_token))
      expect(add.body).to.deep.equal({ count: 1 })
      const res = await agent.delete('/api/counter').set('Authorization', bearer(refreshed.body.access_token))
      expect(res.status).to.equal(401)
      expect(res.body.exception).to.equal('NeedsFreshToken')
      expect(res.body.code).to.equal('ERR_JWT_NEEDS_FRESH')
    })
  })
})
