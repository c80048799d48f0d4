// Tests of the benchmarks page renderer.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readResults, renderFile, renderMarkdown, targetMet } from '../../bench/render.js'
import type { ScenarioResult } from '../../bench/resultTypes.js'

const sample = (over: Partial<ScenarioResult> = {}): ScenarioResult => ({
  scenario: 1,
  name: 'initial sync, 1,000 resources',
  params: { resources: 1000, rateBps: 1_000_000, rttMs: 200 },
  pollen: { ms: 4000, bytesUp: 2000, bytesDown: 400_000, requests: 3 },
  pouch: { ms: 13_000, bytesUp: 100_000, bytesDown: 580_000, requests: 54, peakRssBytes: 120 * 2 ** 20 },
  limit: { ms: 3200, bytes: 370_000 },
  target: { description: '≤ 1.5× limit', checks: [{ metric: 'ratioToLimit', max: 1.5 }] },
  ...over,
})

t.test('target checks decide "met"', async (t) => {
  t.equal(targetMet(sample()), true, '4000/3200 = 1.25 ≤ 1.5')
  t.equal(targetMet(sample({ target: { description: 'x', checks: [{ metric: 'ratioToPouch', max: 0.2 }] } })), false)
  t.equal(targetMet(sample({ pollen: null })), null, 'no pollen numbers: n/a')
  t.equal(targetMet(sample({ target: { description: 'manual', met: false } })), false)
  t.equal(targetMet(sample({ target: { description: 'none' } })), null)
})

t.test('markdown has a table per scenario with ratios and verdict', async (t) => {
  const md = renderMarkdown([sample(), sample({ scenario: 2, name: 'nothing new', limit: null })])
  t.match(md, /## 1\. initial sync, 1,000 resources/)
  t.match(md, /## 2\. nothing new/)
  t.match(md, /\| pollen \| 4\.00 s \| 2\.0 KiB \| 390\.6 KiB \| 3 \|/)
  t.match(md, /1\.25×/, 'ratio to limit')
  t.match(md, /0\.31×/, 'ratio to PouchDB')
  t.match(md, /met: \*\*yes\*\*/)
  t.match(md, /120\.00 MiB/, 'peak RSS shown')
  t.match(renderMarkdown([]), /No results yet/)
})

t.test('reads a results folder, rejects malformed files', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pollen-render-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(sample({ scenario: 3, name: 'b' })))
  fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify(sample({ scenario: 2, name: 'a' })))
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored')
  t.same(readResults(dir).map((r) => r.scenario), [2, 3], 'sorted by scenario')
  const out = path.join(dir, 'docs', 'benchmarks.md')
  t.equal(renderFile(dir, out), 2)
  t.match(fs.readFileSync(out, 'utf8'), /## 3\. b/)
  fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ scenario: 4, name: 'bad', params: {}, pollen: { ms: 'x' }, target: { description: '' } }))
  t.throws(() => readResults(dir), /pollen\.ms must be a number/)
})
