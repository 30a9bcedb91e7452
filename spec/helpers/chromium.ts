/**
 * Starts Debian's Chromium (`apt-get install chromium`, which `.ci/run` does when it is missing)
 * through playwright-core, which drives an existing browser binary and downloads none. Headless,
 * with a temporary profile, and with every background connection off: this machine has no
 * internet, and Chromium's own connections (updates, sync, field trials) would only be refused.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { chromium, type BrowserContext, type Page } from 'playwright-core'

/** Where the browser is looked for: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium'

/** The flags of every launch (playwright-core adds `--headless` and `--user-data-dir`). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** The most a launch, or a close, may take. */
const LAUNCH_TIMEOUT_MS = 30_000
const CLOSE_TIMEOUT_MS = 10_000

/** A running headless Chromium with one page. */
export interface RunningChromium {
  readonly context: BrowserContext
  readonly page: Page
  /** The temporary profile directory, removed by {@link RunningChromium.close}. */
  readonly userDataDir: string
  /**
   * Closes the browser (within 10 s; playwright-core kills it past its own timeout) and removes
   * the profile directory. Idempotent; never throws.
   */
  close(): Promise<void>
}

async function removeDir(dir: string): Promise<void> {
  // Chromium may still be writing its profile for a moment after it exits.
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => {})
}

/**
 * Launches headless Chromium with a temporary profile.
 *
 * @throws Error naming the missing binary and the command that installs it, when there is none.
 */
export async function launchChromium(): Promise<RunningChromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (.ci/run does), ` +
        'or point CHROMIUM_PATH at a Chromium binary.',
    )
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'koa-jwt-kit-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: LAUNCH_TIMEOUT_MS,
    })
  } catch (error) {
    await removeDir(userDataDir)
    throw error
  }
  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)
      })
      await Promise.race([context.close().catch(() => {}), timeout])
      clearTimeout(timer)
      await removeDir(userDataDir)
    })())
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    return { context, page, userDataDir, close }
  } catch (error) {
    await close()
    throw error
  }
}

/**
 * Saves a screenshot of the page under the system's temporary directory (never in the
 * repository) and answers its path, or a note of why there is none.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(tmpdir(), `koa-jwt-kit-${name}-${Date.now()}.png`)
  try {
    await page.screenshot({ path, fullPage: true, timeout: 5_000 })
    return path
  } catch (error) {
    return `(no screenshot: ${error instanceof Error ? error.message : String(error)})`
  }
}
