#!/usr/bin/env node
// Screenshots of the web page's main pages for the README: `npm run build`, then
// `node scripts/screenshots.mjs` (needs Debian's chromium at /usr/bin/chromium, or
// CHROMIUM=PATH). Two real daemons are started on loopback in a temporary directory with the
// test harness (dist/test/helpers), a few resources are synced and reviewed, a conflict made,
// and each page is written to docs/img/NAME.png at a desktop width (and the queue at a phone's).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const helpers = join(root, 'dist', 'test', 'helpers')
if (!existsSync(join(helpers, 'adminWeb.js'))) {
  console.error('screenshots: dist/ is missing; run `npm run build` first')
  process.exit(1)
}
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium'
if (!existsSync(chromiumPath)) {
  console.error(`screenshots: no chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM=PATH)`)
  process.exit(1)
}
const { syncedPair } = await import(pathToFileURL(join(helpers, 'adminWeb.js')).href)
const { chromium } = await import('playwright-core')

const out = join(root, 'docs', 'img')
mkdirSync(out, { recursive: true })
const dir = mkdtempSync(join(tmpdir(), 'pollen-shots-'))
const teardowns = []
const t = { teardown: (fn) => teardowns.push(fn) }
const TOPICS = ['Hand washing', 'Safe water storage', 'Malaria prevention', 'Nutrition for toddlers', 'Oral rehydration', 'First aid for burns', 'Vaccination schedule', 'Mental health at school', 'Dental care', 'Road safety']
const extra = TOPICS.map((title, i) => ({
  id: `topic-${i}`,
  partition: 'lib',
  title: { en: title, ...(i % 2 ? { fr: `${title} (fr)` } : {}) },
  description: { en: `<p>A short lesson on <strong>${title.toLowerCase()}</strong> for community health workers.</p>` },
  tags: [i % 3 ? 'hygiene' : 'clinical', 'grade-5'],
  links: [{ url: `https://example.org/lessons/${i}`, title: 'Lesson plan' }],
}))

let browser
try {
  const { source, school, url } = await syncedPair(t, dir, 0, extra)
  const run = async (d, args, stdin) => {
    const r = await d.cli(args, stdin === undefined ? {} : { stdin })
    if (r.code !== 0) throw new Error(`pollen ${args.join(' ')}: ${r.stderr}`)
    return r
  }
  await run(school, ['admin', 'add', 'ada', '--role', 'admin'], 'screenshot password\n')
  await run(school, ['review', 'approve', 'topic-0', 'topic-1', 'topic-2'])
  await run(school, ['user', 'add', 'district', '--role', 'read'])
  // A conflict: both sides retitle topic-3 before the next sync.
  const base = { id: 'topic-3', partition: 'lib', tags: ['clinical', 'grade-5'] }
  await run(source, ['resource', 'put', '-'], JSON.stringify({ ...base, title: { en: 'Oral rehydration salts: how to mix' } }))
  await run(school, ['resource', 'put', '-'], JSON.stringify({ ...base, title: { en: 'Oral rehydration: mixing ORS at home' } }))
  // An update held for review: topic-5 approved, then changed at the source.
  await run(school, ['review', 'policy', 'hold'])
  await run(school, ['review', 'approve', 'topic-5', '--reason', 'checked against the 2024 guideline'])
  await run(source, ['resource', 'put', '-'], JSON.stringify({ ...extra[5], title: { en: 'First aid for burns and scalds' }, description: { en: '<p>A short lesson on <strong>first aid for burns and scalds</strong> for community health workers and teachers.</p>' } }))
  await run(school, ['sync', 'source'])

  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'], headless: true })
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, locale: 'en-GB' })
  const page = await context.newPage()
  const shot = async (name, path) => {
    if (path) await page.goto(`${url}${path}`)
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: false })
    console.log(`docs/img/${name}.png`)
  }
  await page.goto(`${url}/login`)
  await page.getByLabel('Account name').fill('ada')
  await shot('login')
  await page.getByLabel('Password').fill('screenshot password')
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL(`${url}/review`)
  await shot('review')
  await shot('resource', '/resources/topic-4')
  await page.goto(`${url}/resources/topic-5`)
  await page.locator('[data-diff]').scrollIntoViewIfNeeded()
  await page.screenshot({ path: join(out, 'diff.png'), fullPage: true })
  console.log('docs/img/diff.png')
  await shot('library', '/library')
  await shot('conflicts', '/conflicts')
  await shot('peers', '/peers')
  await shot('peer', '/peers/source')
  await shot('users', '/users')
  await page.setViewportSize({ width: 390, height: 760 })
  await page.goto(`${url}/lang/fr?back=/review`)
  await shot('review-phone-fr')
} finally {
  await browser?.close()
  for (const fn of teardowns.reverse()) await fn()
  rmSync(dir, { recursive: true, force: true })
}
