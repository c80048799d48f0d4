/**
 * The web page end to end in a real browser (headless Chromium from Debian's `chromium`,
 * driven by playwright-core) against two real daemons: log in, review hundreds of resources
 * from a real sync, approve all that match a filter and a few by hand, reject one, add a peer
 * with Active unchecked, Sync now and watch the progress, hold an update and see its diff,
 * keep one side of a conflict for the whole resource, and a
 * synced resource full of script that runs nothing. Each step is checked against the CLI's
 * view of the same daemon (`pollen --json`).
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tempDir } from '../../helpers/daemon.js'
import { syncedPair } from '../../helpers/adminWeb.js'

const CHROMIUM = '/usr/bin/chromium'

if (!existsSync(CHROMIUM)) {
  t.test('the web page in a browser', { skip: `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)` }, () => undefined)
} else {
  const { chromium } = await import('playwright-core')
  const root = tempDir(t)
  const XSS = {
    id: 'xss',
    partition: 'lib',
    title: { en: '<script>window.__xss = "title"</script><img src=x onerror="window.__xss = \'title-img\'">Harmless title' },
    description: { en: '<p>Read <a href="javascript:window.__xss = \'link\'">this</a></p><img src=x onerror="window.__xss = \'desc-img\'"><svg onload="window.__xss = \'svg\'"></svg><iframe src="javascript:window.__xss=1"></iframe><a href="https://example.org/" onclick="window.__xss = \'click\'">ok</a>' },
    links: [{ url: 'https://example.org/x', title: '<img src=x onerror="window.__xss = \'link-title\'">' }],
    tags: ['<b onmouseover=alert(1)>tag</b>'],
  }
  const { source, school, url } = await syncedPair(t, root, 300, [XSS])
  const cli = async (args: string[]) => {
    const r = await school.cli([...args, '--json'], { timeoutMs: 60_000 })
    if (r.code !== 0) throw new Error(`pollen ${args.join(' ')}: ${r.stderr}`)
    return r.json
  }
  const ids = async (status: string) => ((await cli(['resource', 'list', '--status', status])) as { id: string }[]).map((r) => r.id)
  const add = await school.cli(['admin', 'add', 'ada', '--role', 'admin'], { stdin: 'admin password 1\n' })
  if (add.code !== 0) throw new Error(add.stderr)

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true })
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-GB' })
  const page = await context.newPage()
  const dialogs: string[] = []
  const cspViolations: string[] = []
  page.on('dialog', (d) => {
    dialogs.push(d.message())
    void d.dismiss()
  })
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text())
  })
  page.setDefaultTimeout(20_000)

  t.test('log in', async (t) => {
    await page.goto(`${url}/review`)
    t.match(page.url(), /\/login\?next=%2Freview$/, 'the queue asks for a login first')
    await page.getByLabel('Account name').fill('ada')
    await page.getByLabel('Password').fill('admin password 1')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${url}/review`)
    t.match(await page.textContent('main'), /301 pending/, 'the queue counts what the sync left pending')
    t.equal((await ids('pending')).length, 301)
  })

  t.test('approve all that match a filter, then two chosen by hand, then reject one', async (t) => {
    await page.getByLabel('Tag').fill('even')
    await page.getByRole('button', { name: 'Filter' }).click()
    await page.waitForURL(/tag=even/)
    t.match(await page.textContent('main'), /Page 1 of 3 \(150 in all\)/, '150 even resources, 50 a page')
    await page.getByRole('button', { name: 'Approve all 150 that match' }).click()
    await page.waitForSelector('.notice')
    t.match(await page.textContent('.notice'), /150 approved/)
    const published = await ids('published')
    t.equal(published.length, 150, 'the CLI sees 150 published')
    t.ok(published.every((id) => Number(id.slice(1)) % 2 === 0), 'exactly the even ones')

    await page.goto(`${url}/review?search=Lesson%201`)
    const boxes = page.locator('input[name=ids]')
    const chosen = [await boxes.nth(0).getAttribute('value'), await boxes.nth(1).getAttribute('value')] as string[]
    await boxes.nth(0).check()
    await boxes.nth(1).check()
    await page.getByRole('button', { name: 'Approve selected' }).click()
    await page.waitForSelector('.notice')
    const pendingNow = await ids('pending')
    t.equal(pendingNow.length, 149)
    t.notOk(chosen.some((id) => pendingNow.includes(id)), 'the two chosen are no longer pending')

    const victim = pendingNow.find((id) => id !== 'xss') as string
    await page.goto(`${url}/resources/${victim}`)
    await page.getByLabel('Reason (optional)').fill('off topic')
    await page.getByRole('button', { name: 'Reject' }).click()
    await page.waitForSelector('.notice')
    t.match(await page.textContent('[data-decision]'), /Reject: ada, .* — reason: off topic/, 'the page shows who rejected it and why')
    t.ok((await ids('rejected')).includes(victim), 'the CLI sees it rejected')
    t.match(((await cli(['resource', 'get', victim])) as { review: unknown }).review, { decision: 'rejected', reason: 'off topic', by: 'ada' }, 'with the reason and the account')
  })

  t.test('add a peer with Active unchecked', async (t) => {
    await page.goto(`${url}/peers`)
    t.ok(await page.getByLabel('Active').isChecked(), 'Active is checked by default')
    await page.getByLabel('Name', { exact: true }).fill('district')
    await page.getByLabel('URL').fill('https://district.example:7420')
    await page.getByLabel('User', { exact: true }).fill('school')
    await page.getByLabel('API key').fill('district-api-key-0123456789')
    await page.getByLabel('Filters').fill('lib')
    await page.getByLabel('Active').uncheck()
    await page.getByRole('button', { name: 'Add peer' }).click()
    await page.waitForURL(`${url}/peers/district`)
    const peers = (await cli(['peer', 'list'])) as { name: string; active: boolean; url: string; filters: string[] }[]
    t.match(peers.find((p) => p.name === 'district'), { active: false, url: 'https://district.example:7420', filters: ['lib'] }, 'the CLI sees it inactive')
    t.notOk((await page.content()).includes('district-api-key-0123456789'), 'the key is not shown back')
  })

  t.test('a costly link set from the page: a window, a cap, a budget and urgent prefixes, and a wrong window refused', async (t) => {
    await page.goto(`${url}/peers/district`)
    await page.getByLabel(/Sync windows/).fill('03:00-07:00')
    await page.getByLabel(/Bandwidth cap/).fill('256')
    await page.getByLabel(/Metered/).fill('20')
    await page.getByLabel(/Urgent on a metered link/).fill('alerts\nlib/health')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.waitForURL(`${url}/peers/district`)
    const peer = () => (cli(['peer', 'list']) as Promise<{ name: string }[]>).then((l) => l.find((p) => p.name === 'district'))
    t.match(await peer(), { windows: ['03:00-07:00'], maxKbps: 256, meteredMb: 20, urgent: ['alerts', 'lib/health'], active: false }, 'the CLI sees every setting')
    t.equal(await page.getByLabel(/Metered/).inputValue(), '20', 'the form shows them back')
    await page.getByLabel(/Sync windows/).fill('late at night')
    await page.getByRole('button', { name: 'Save' }).click()
    const alert = page.getByText(/a sync window is HH:MM-HH:MM in 24-hour local time/)
    await alert.waitFor()
    t.ok(await alert.isVisible(), 'a window that is not HH:MM-HH:MM is refused with a message that says what to type')
    t.match(await peer(), { windows: ['03:00-07:00'], maxKbps: 256 }, 'and nothing is changed')
  })

  t.test('Sync now shows the progress of the run live', async (t) => {
    const more = Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: `n${i}`, title: { en: `New ${i} ${randomBytes(60).toString('hex')}` } })).join('\n') + '\n'
    t.equal((await source.cli(['resource', 'import', '-'], { stdin: more, timeoutMs: 60_000 })).code, 0)
    // A slow link (the floor the server paces to), so the run lasts long enough to watch.
    t.equal((await school.cli(['peer', 'set', 'source', '--max-kbps', '16'])).code, 0)
    await page.goto(`${url}/peers/source`)
    await page.getByRole('button', { name: 'Sync now' }).click()
    await page.waitForURL(`${url}/peers/source`)
    const seen: number[] = []
    const panel = page.locator('[data-sync-events]')
    for (let i = 0; i < 600; i++) {
      const state = await panel.getAttribute('data-state')
      const value = Number(await panel.locator('progress').getAttribute('value'))
      if (state === 'running' && value > 0) seen.push(value)
      if (state === 'done' || state === 'failed') break
      await page.waitForTimeout(100)
    }
    t.equal(await panel.getAttribute('data-state'), 'done', 'the run ended well')
    const events = Number(await panel.getAttribute('data-events'))
    t.ok(seen.length >= 1 && events >= 3, `the page followed the run live: ${events} progress events, the bar at ${seen.slice(0, 8).join(', ')}… while it ran`)
    t.match(await panel.textContent(), /ok: 200 new/)
    const log = (await cli(['log', 'source'])) as { new: number; ok: boolean }[]
    t.match(log[0], { ok: true, new: 200 }, 'the CLI\'s history has the run')
    await page.reload()
    t.match(await page.textContent('main'), /ok: 200 new, 0 updated, 0 conflicts/, 'and the page\'s history too')
    t.equal((await school.cli(['peer', 'set', 'source', '--max-kbps', '0'])).code, 0)
  })

  t.test('hold updates for review and see an update\'s diff', async (t) => {
    await page.goto(`${url}/policy`)
    await page.getByLabel(/Hold the update/).check()
    await page.getByRole('button', { name: 'Save' }).click()
    await page.waitForSelector('.notice')
    t.equal(((await cli(['review', 'policy'])) as { updates: string }).updates, 'hold', 'the CLI sees the policy')
    const id = 'r0002'
    t.equal(((await cli(['resource', 'get', id])) as { status: string }).status, 'published', `${id} was approved in bulk`)
    t.equal((await source.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ id, partition: 'lib', title: { en: 'Lesson 2, revised', fr: 'Leçon 2' }, description: { en: 'About topic 2' }, tags: ['even'] }) })).code, 0)
    t.equal((await school.cli(['sync', 'source'], { timeoutMs: 60_000 })).code, 0)
    t.ok((await ids('pending')).includes(id), 'the update put it back in the queue')
    await page.goto(`${url}/resources/${id}`)
    const diff = page.locator('[data-diff]')
    t.match(await diff.locator('ins').allTextContents(), [/revised/], 'the diff marks what was added')
    const cliDiff = (await cli(['resource', 'diff', id])) as { since: string; fields: { field: string; after: string }[] }
    t.match(cliDiff, { since: 'approved' })
    t.ok(cliDiff.fields.some((f) => f.field === 'title' && f.after === 'Lesson 2, revised'), 'the CLI shows the same change')
    t.ok((await page.locator('[data-history] tbody tr').count()) >= 2, 'the history lists the first version and the update')
    await page.getByRole('button', { name: 'Approve' }).click()
    await page.waitForSelector('.notice')
    t.equal(((await cli(['resource', 'get', id])) as { title: { en: string }; status: string }).status, 'published')
    await page.goto(`${url}/policy`)
    await page.getByLabel(/Publish the update/).check()
    await page.getByRole('button', { name: 'Save' }).click()
    await page.waitForSelector('.notice')
  })

  t.test('keep one side of a conflict', async (t) => {
    // Both sides change the same resource's English text before syncing: a conflict.
    const base = { id: 'r0001', partition: 'lib', description: { en: 'About topic 1' }, tags: ['odd'] }
    t.equal((await source.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ ...base, title: { en: 'Lesson 1, as the source says' } }) })).code, 0)
    t.equal((await school.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ ...base, title: { en: 'Lesson 1, as the school says' } }) })).code, 0)
    t.equal((await school.cli(['sync', 'source'], { timeoutMs: 60_000 })).code, 0)
    const conflicts = (await cli(['conflicts', 'list'])) as { id: string }[]
    t.ok(conflicts.some((c) => c.id === 'r0001'), 'the CLI lists the conflict')
    await page.goto(`${url}/conflicts`)
    const section = page.locator('section#c-r0001')
    t.match(await section.textContent(), /as the source says/)
    t.match(await section.textContent(), /as the school says/)
    t.match(await section.textContent(), /Written by source/, 'the sides are named as this instance knows them')
    await section.locator('.side', { hasText: 'as the school says' }).getByRole('button', { name: /Keep this instance's version of the whole resource/ }).click()
    await page.waitForSelector('.notice')
    t.notOk(((await cli(['conflicts', 'list'])) as { id: string }[]).some((c) => c.id === 'r0001'), 'the CLI lists it no more')
    t.equal(((await cli(['resource', 'get', 'r0001'])) as { title: { en: string } }).title.en, 'Lesson 1, as the school says', 'the kept side is the resource')
  })

  t.test('a synced resource full of script runs nothing', async (t) => {
    for (const path of ['/review?search=Harmless', '/resources/xss']) {
      await page.goto(`${url}${path}`)
      await page.waitForTimeout(300)
      for (const el of await page.locator('main a, main img, main svg').all()) await el.hover({ timeout: 2000 }).catch(() => undefined)
      const link = page.locator('main a', { hasText: 'this' })
      if (await link.count()) await link.click({ timeout: 2000 }).catch(() => undefined)
      t.equal(await page.evaluate('window.__xss'), undefined, `${path}: no script ran`)
    }
    t.match(await page.textContent('main'), /<script>window.__xss = "title"<\/script>/, 'the title shows as the text it is')
    t.equal(await page.locator('main img, main svg, main iframe, main script').count(), 0, 'no element from the record\'s markup but text structure')
    t.equal(await page.locator('main a[href^="javascript:"]').count(), 0, 'no javascript: link')
    t.same(dialogs, [], 'no dialog opened')
    t.same(cspViolations, [], 'nothing even reached the CSP to be blocked')
  })

  t.test('French, on a phone-width screen', async (t) => {
    await page.goto(`${url}/review`)
    await page.getByRole('link', { name: 'Français' }).click()
    await page.waitForSelector('html[lang=fr]')
    t.match(await page.textContent('h1'), /File de validation/)
    const width = await page.evaluate<number>('document.documentElement.scrollWidth')
    t.ok(width <= 390, `no sideways scrolling at 390 px (${width})`)
    await page.getByRole('link', { name: 'English' }).click()
    await page.waitForSelector('html[lang=en]')
  })
}
