/** The bench's /proc readings of resident memory by kind. */
import t from 'tap'
import { existsSync } from 'node:fs'
import { rssParts, sampleRss } from '../../bench/proc.js'
import { unitEnvironment } from '../../bench/pollenPeer.js'

t.test('RSS splits into anonymous, file-backed and shared pages, and the sampler keeps the peaks', { skip: existsSync('/proc/self/status') ? false : 'needs /proc (Linux)' }, async (t) => {
  const now = rssParts(process.pid)
  t.ok(now, 'readable for this process')
  if (!now) return
  t.equal(now.anon + now.file + now.shmem, now.rss, 'VmRSS = RssAnon + RssFile + RssShmem')
  t.ok(now.file > 0 && now.anon > 0, 'a node process has both kinds')
  const sampler = sampleRss(process.pid, 10)
  const held = Buffer.alloc(64 * 1024 * 1024, 1)
  await new Promise((r) => setTimeout(r, 50))
  const peaks = sampler.stop()
  t.ok(peaks && peaks.samples >= 2, 'sampled more than once')
  t.ok(peaks && peaks.maxAnon >= now.anon + 60 * 1024 * 1024, 'a 64 MiB buffer shows up as anonymous memory')
  t.ok(peaks && peaks.atPeak.rss >= peaks.atPeak.anon, 'the peak sample is whole')
  t.equal(held[held.length - 1], 1)
  t.equal(rssParts(2 ** 22 + 12345), null, 'null for a process that does not exist')
})

t.test('bench daemons run with the systemd unit runtime environment', async (t) => {
  const env = unitEnvironment()
  t.match(env.NODE_OPTIONS, /--max-old-space-size=\d+/, 'the heap limit of the unit')
  t.notMatch(env.NODE_OPTIONS, /"/, 'no quotes carried over')
  t.match(env.MALLOC_ARENA_MAX, /^\d+$/, 'the malloc arena limit of the unit')
})
