/**
 * A per-peer bandwidth cap (`pollen peer set NAME --max-kbps N`, issue 18) on real daemons,
 * both directions, checked in the link emulator's byte counts: at no moment of the sync has
 * more crossed the link than the cap allows since it started (plus one chunk and a burst).
 * Only an upper bound on bytes is asserted, so a slow machine cannot fail it.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EmulatedLink } from '../../bench/link.js'
import { generateResources } from '../../bench/dataset.js'
import { startNode, tempDir } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-cap-')
const KBPS = 400
/** One chunk (about 35 KB on the wire), the cap's 16 KiB burst, and HTTP and TLS overhead. */
const ALLOWANCE = 64 * 1024

t.test('a capped peer is synced at no more than its cap, pulling and pushing', async (t) => {
  const langs = { languages: ['en', 'fr', 'es'] }
  const cloud = await startNode(t, root, 'cloud', langs)
  const school = await startNode(t, root, 'school', langs)
  const file = (name: string, n: number, seed: number) => {
    const f = join(root, name)
    writeFileSync(f, JSON.stringify(generateResources(n, seed)))
    return f
  }
  t.equal((await cloud.cli(['resource', 'import', file('cloud.json', 600, 31)])).code, 0)
  t.equal((await school.cli(['resource', 'import', file('school.json', 400, 32)])).code, 0)
  const key = (await cloud.cli(['user', 'add', 'school', '--role', 'write'])).stdout.split('\n')[0].trim()
  const link = new EmulatedLink({ targetPort: Number(new URL(cloud.url).port), handshake: false })
  const port = await link.start()
  t.teardown(() => link.stop())
  const add = await school.cli(['peer', 'add', '--name', 'cloud', '--url', `https://127.0.0.1:${port}`, '--user', 'school', `--key=${key}`, '--max-kbps', String(KBPS)])
  t.equal(add.code, 0, add.stderr)
  t.match((await school.cli(['peer', 'list', '--json'])).json?.[0], { maxKbps: KBPS })

  const perMs = (KBPS * 125) / 1000
  const samples: { ms: number; up: number; down: number }[] = []
  const t0 = performance.now()
  const timer = setInterval(() => {
    const s = link.stats()
    samples.push({ ms: performance.now() - t0, up: s.bytesUp, down: s.bytesDown })
  }, 100)
  const r = await school.cli(['sync', 'cloud', '--json'], { timeoutMs: 120_000 })
  clearInterval(timer)
  const end = link.stats()
  t.equal(r.code, 0, `the capped sync succeeds: ${r.stderr}`)
  t.match(r.json?.[0], { ok: true, pulled: 2400, pushed: 1600 })
  t.ok(end.bytesDown > 3 * ALLOWANCE && end.bytesUp > 2 * ALLOWANCE, `enough moved to measure: ${end.bytesDown} down, ${end.bytesUp} up`)
  const over = samples.filter((s) => s.down > perMs * s.ms + ALLOWANCE || s.up > perMs * s.ms + ALLOWANCE)
  const busy = samples.filter((s) => s.down < end.bytesDown).at(-1)
  t.same(over, [], `no moment above ${KBPS} kbit/s (${samples.length} samples; pull measured at ${busy ? Math.round((busy.down * 8) / busy.ms) : '?'} kbit/s)`)

  const uncapped = await school.cli(['peer', 'set', 'cloud', '--max-kbps', '0', '--json'])
  t.match(uncapped.json, { maxKbps: 0 }, '--max-kbps 0 removes the cap')
  for (const bad of ['15', '1000001', 'fast', '-1']) {
    const refused = await school.cli(['peer', 'set', 'cloud', '--max-kbps', bad])
    t.not(refused.code, 0, `--max-kbps ${bad} is refused`)
    t.match(refused.error?.code, /^POLLEN_INVALID_(FLAG|INPUT)$/)
  }
  t.match((await school.cli(['peer', 'list', '--json'])).json?.[0], { maxKbps: 0 }, 'refused values change nothing')
})
