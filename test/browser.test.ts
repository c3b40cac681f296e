import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { frameworks, startExample } from './helpers/examples'
import { startViteExample } from './helpers/vite'

// Debian's Chromium, never a downloaded browser. .ci/run installs it; without it the test cannot run.
const executablePath = '/usr/bin/chromium'
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

// Runs in the page before its own scripts: counts elements removed from the document. Hydration adopts the
// server's markup, so it removes none; a client re-render after a mismatch would replace them.
function countRemovedElements (): void {
  const counter = window as unknown as { removedElements: number, removedFromApp: number }
  counter.removedElements = 0
  counter.removedFromApp = 0
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.removedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) continue
        counter.removedElements++
        if (record.target instanceof Element && record.target.closest('#root') !== null) counter.removedFromApp++
      }
    }
  }).observe(document, { childList: true, subtree: true })
}

/** Console errors and warnings, uncaught exceptions and failed requests of a page: each is a problem. */
function watchProblems (page: Page): string[] {
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`))
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`))
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`)
  })
  return problems
}

async function cartCount (page: Page): Promise<string | null> {
  return await page.textContent('.cart-count')
}

if (!existsSync(executablePath)) {
  const reason = `${executablePath} not found (Debian package "chromium")`
  if (process.env.CI) {
    test('browser hydration test', async (t) => {
      t.fail(`${reason}: the browser test is mandatory in CI`)
    })
  } else {
    console.error(`browser test skipped: ${reason}; install it with "apt-get install chromium" to run it`)
    test('browser hydration test', { skip: `skipped: ${reason}` }, () => {})
  }
} else {
  test('the example pages hydrate in Chromium and the cart counter works', async (t) => {
    const userDataDir = await mkdtemp(join(tmpdir(), 'ssr-chromium-'))
    t.teardown(() => rm(userDataDir, { recursive: true, force: true }))
    const context: BrowserContext = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      args: chromiumArgs,
      headless: true
    })
    t.teardown(() => context.close())
    await context.addInitScript(countRemovedElements)

    for (const framework of frameworks) {
      await t.test(framework, async (t) => {
        const { base } = await startExample(t, framework)
        const page = await context.newPage()
        t.teardown(() => page.close())
        const problems = watchProblems(page)

        await page.goto(`${base}/`)
        // Set by the client entry once hydration is done: waiting for it is waiting for the event, not a delay.
        await page.waitForSelector(`html[data-hydrated="${framework}"]`)
        t.equal(await page.locator('article.card').count(), 50, 'the server-rendered cards are there')
        t.equal(await cartCount(page), '0')
        await page.locator('.add-to-cart').first().click()
        await page.waitForFunction(() => document.querySelector('.cart-count')?.textContent === '1')
        await page.locator('.add-to-cart').nth(7).click()
        await page.waitForFunction(() => document.querySelector('.cart-count')?.textContent === '2')
        t.pass('clicking "Add to cart" updates the count')
        t.equal(await page.evaluate(() => (window as unknown as { removedElements: number }).removedElements), 0,
          'hydration adopted the server markup instead of replacing it')

        await page.goto(`${base}/products/oak-bench`)
        await page.waitForSelector(`html[data-hydrated="${framework}"]`)
        t.equal(await page.textContent('h1'), 'Oak Bench')
        await page.click('.add-to-cart')
        await page.waitForFunction(() => document.querySelector('.cart-count')?.textContent === '1')
        t.pass('the product page hydrates and its button works')

        // React and Vue report a mismatch on the console even in production builds (React also re-renders, which
        // removedElements catches); Preact's production build patches one silently, so for Preact this proves
        // a clean, interactive page rather than the absence of mismatches.
        t.same(problems, [], 'no console errors, hydration warnings, page errors or failed requests')
      })
    }

    await t.test('vite-react: Vite\'s builds, React Router and emotion', async (t) => {
      const { base } = await startViteExample(t, 'vite-react')
      const page = await context.newPage()
      t.teardown(() => page.close())
      const problems = watchProblems(page)

      await page.goto(`${base}/`)
      await page.waitForSelector('html[data-hydrated="vite-react"]')
      t.equal(await page.textContent('.counter'), 'Clicked 0 times')
      t.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.counter') as Element).backgroundColor),
        'rgb(102, 51, 153)', 'the server\'s critical CSS styles the button')
      await page.click('.counter')
      await page.waitForFunction(() => document.querySelector('.counter')?.textContent === 'Clicked 1 times')
      t.pass('the counter responds: the page hydrated')
      // Emotion's client cache moves the server's <style data-emotion> elements within <head> as it adopts them;
      // only the markup React hydrates, under #root, must stay in place.
      t.equal(await page.evaluate(() => (window as unknown as { removedFromApp: number }).removedFromApp), 0,
        'hydration adopted the server markup instead of replacing it')

      // A client-side navigation: React Router renders the route in the browser, no request for a page.
      await page.click('nav a[href="/about"]')
      await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'About')
      t.equal(page.url(), `${base}/about`)
      t.same(problems, [], 'no console errors, hydration warnings, page errors or failed requests')
    })

    await t.test('vite-vue: Vite\'s builds, Vue Router and Pinia', async (t) => {
      const { base } = await startViteExample(t, 'vite-vue')
      const page = await context.newPage()
      t.teardown(() => page.close())
      const problems = watchProblems(page)

      await page.goto(`${base}/`)
      await page.waitForSelector('html[data-hydrated="vite-vue"]')
      t.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.counter') as Element).backgroundColor),
        'rgb(46, 139, 87)', 'the client build\'s CSS, linked by the server, styles the button')
      await page.click('.counter')
      await page.waitForFunction(() => document.querySelector('.counter')?.textContent === 'Clicked 1 times')
      t.pass('the counter, a Pinia action, responds: the page hydrated')
      t.equal(await page.evaluate(() => (window as unknown as { removedElements: number }).removedElements), 0,
        'hydration adopted the server markup instead of replacing it')
      await page.click('nav a[href="/about"]')
      await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'About')
      t.equal(page.url(), `${base}/about`)
      // Vue reports a hydration mismatch on the console, even in production builds.
      t.same(problems, [], 'no console errors, hydration warnings, page errors or failed requests')
    })
  })
}
