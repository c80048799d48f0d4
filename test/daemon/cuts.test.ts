/**
 * Links that cut (issue 18; docs/operations.md "Links that cut"), on real daemons through the
 * bench's link emulator: a connection is cut after every N bytes it carries, both directions
 * counted. One `pollen sync` finishes anyway, by itself, resuming after each cut with chunks
 * sized to what a connection carries; every operation arrives once; the bytes it moves stay
 * within 1.5× a clean pull for cuts every 48 KB and 2.5× for 16 KB (byte counts, not times).
 */
import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EmulatedLink } from '../../bench/link.js'
import { generateResources } from '../../bench/dataset.js'
import { snapshot, startNode, tempDir, type Daemon, type Snapshot } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-cuts-')
const LANGS = ['en', 'fr', 'es']
const COUNT = 600

interface Pulled {
  ok: boolean
  pulled: number
  cuts: number
  attempts: number
  error: string | null
  code: string | null
  chunkBytes: number
}

/** What a school holds of the library (its peers and users differ by name and URL). */
const library = (s: Snapshot) => ({ published: s.published, pending: s.pending, rejected: s.rejected, conflicts: s.conflicts })

async function issueKey(server: Daemon, user: string): Promise<string> {
  const r = await server.cli(['user', 'add', user, '--role', 'read'])
  if (r.code !== 0) throw new Error(`user add: ${r.stderr}`)
  return r.stdout.split('\n')[0].trim()
}

/** A school that pulls from `cloud` through a link cut every `cutEvery` bytes (never when undefined). */
async function pullThrough(t: Test, cloud: Daemon, name: string, cutEvery: number | undefined, extra: string[] = []) {
  const link = new EmulatedLink({ targetPort: Number(new URL(cloud.url).port), cutEveryBytes: cutEvery, handshake: false })
  const port = await link.start()
  t.teardown(() => link.stop())
  const school = await startNode(t, root, name, { languages: LANGS })
  const key = await issueKey(cloud, name)
  const add = await school.cli(['peer', 'add', '--name', 'cloud', '--url', `https://127.0.0.1:${port}`, '--user', name, `--key=${key}`])
  t.equal(add.code, 0, `${name} adds the cloud: ${add.stderr}`)
  const r = await school.cli(['sync', 'cloud', '--pull-only', '--json', ...extra], { timeoutMs: 240_000 })
  const stats = link.stats()
  return { school, r, result: (r.json?.[0] ?? {}) as Pulled, bytes: stats.bytesUp + stats.bytesDown, cuts: stats.cuts }
}

t.test('a pull over a link cut every 16 KB or 48 KB finishes in one `pollen sync`, each operation once, within its byte bound', async (t) => {
  const cloud = await startNode(t, root, 'cloud', { languages: LANGS })
  const file = join(root, 'resources.json')
  writeFileSync(file, JSON.stringify(generateResources(COUNT, 18)))
  const imported = await cloud.cli(['resource', 'import', file])
  t.equal(imported.code, 0, `the cloud imports ${COUNT} resources: ${imported.stderr}`)

  const clean = await pullThrough(t, cloud, 'clean', undefined)
  t.equal(clean.r.code, 0, `a clean pull: ${clean.r.stderr}`)
  t.match(clean.result, { ok: true, cuts: 0, attempts: 1 })
  t.equal(clean.result.pulled, (await snapshot(cloud)).counter, 'the clean pull takes every operation the cloud wrote')
  const want = await snapshot(clean.school)
  t.equal((want.pending as unknown[]).length, COUNT, 'all of them wait for review')

  for (const [cutEvery, bound] of [[48 * 1024, 1.5], [16 * 1024, 2.5]] as const) {
    const cut = await pullThrough(t, cloud, `cut${cutEvery / 1024}`, cutEvery)
    t.equal(cut.r.code, 0, `cut every ${cutEvery / 1024} KB: pollen sync exits 0 (${cut.r.stderr.trim()})`)
    t.equal(cut.result.ok, true, 'the run ends ok')
    t.ok(cut.cuts >= 2 && cut.result.cuts >= 2, `the link cut it ${cut.cuts} times; the result counts ${cut.result.cuts}`)
    t.equal(cut.result.attempts, cut.result.cuts + 1, 'one attempt more than cuts: the last one finished')
    t.equal(cut.result.pulled, clean.result.pulled, 'every operation applied exactly once (as many as the clean pull)')
    t.same(library(await snapshot(cut.school)), library(want), 'the same library as after the clean pull')
    t.ok(cut.result.chunkBytes > 0 && cut.result.chunkBytes < 128 * 1024, `the school learned a smaller chunk size for the cloud (${cut.result.chunkBytes} bytes)`)
    const ratio = cut.bytes / clean.bytes
    t.ok(ratio <= bound, `bytes on the link ${cut.bytes} ÷ clean ${clean.bytes} = ${ratio.toFixed(2)} ≤ ${bound}`)
    const human = await cut.school.cli(['log', 'cloud'])
    t.match(human.stdout, /ok, pulled \d+ .*resumed after \d+ cuts in \d+ attempts/, 'pollen log says the run was resumed after cuts')
  }
})

t.test('a run that is cut more often than it may retry says what happened, keeps what arrived, and the next run goes on', async (t) => {
  const cloud = await startNode(t, root, 'cloud2', { languages: LANGS })
  const file = join(root, 'resources2.json')
  writeFileSync(file, JSON.stringify(generateResources(300, 19)))
  t.equal((await cloud.cli(['resource', 'import', file])).code, 0)
  const first = await pullThrough(t, cloud, 'impatient', 16 * 1024, ['--max-attempts', '2'])
  t.not(first.r.code, 0, 'the run fails')
  t.match(first.result, { ok: false, code: 'POLLEN_CONNECTION_CUT', attempts: 2, cuts: 2 })
  t.match(first.result.error, /^connection to cloud cut after [\d.]+ KB .*; gave up after 2 attempts \(the most one run makes\): the next sync resumes from there$/, 'the error names the cut, not an unreachable peer')
  t.notMatch(first.r.stdout + first.r.stderr, /cannot reach/, 'not reported as unreachable')
  const kept = first.result.pulled
  t.ok(kept > 0, `what arrived before the cuts is kept (${kept} operations)`)
  const again = await first.school.cli(['sync', 'cloud', '--pull-only', '--json'], { timeoutMs: 240_000 })
  t.equal(again.code, 0, `the next run, allowed its usual attempts, finishes: ${again.stderr.trim()}`)
  t.equal(kept + (again.json?.[0]?.pulled ?? 0), (await snapshot(cloud)).counter, 'it pulls only the rest: each of the cloud\'s operations arrived once')
  t.equal(((await snapshot(first.school)).pending as unknown[]).length, 300, 'all 300 resources are there')
  const line = await first.school.cli(['sync', 'cloud', '--pull-only', '--max-attempts', 'two'])
  t.not(line.code, 0, 'a bad --max-attempts is refused')
  t.equal(line.error?.code, 'POLLEN_INVALID_FLAG', 'with its code')
  t.equal(line.stderr.trim().split('\n').length, 1, 'in one line')
})
