/**
 * How a run sizes chunks after cuts and when it attempts again (core/sync/cutPolicy.ts), with
 * scripted attempts and a fake clock: the daemon-level behaviour is test/daemon/cuts.test.ts.
 */
import t from 'tap'
import { MIN_CHUNK_BYTES } from '../../../core/sync/chunker.js'
import { freshLink, learn, linkOf, syncWithRetries } from '../../../core/sync/cutPolicy.js'
import type { SyncResult } from '../../../core/sync/client.js'

const MAX = 128 * 1024

function attemptResult(o: Partial<SyncResult>): SyncResult {
  return { peer: 'cloud', ok: false, error: null, code: null, pulled: 0, pushed: 0, new: 0, updated: 0, unchanged: 0, conflicts: 0, bytesIn: 0, bytesOut: 0, chunks: 0, unsealed: 0, requests: 1, resumed: false, ms: 10, started: '2026-12-03T00:00:00.000Z', attempts: 1, cuts: 0, chunkBytes: 0, compression: 0, linkRate: 0, ...o }
}
const cut = (o: Partial<SyncResult> = {}) => attemptResult({ code: 'POLLEN_CONNECTION_CUT', error: 'connection to cloud cut after 47.0 KB (ECONNRESET)', cuts: 1, ...o })
const done = (o: Partial<SyncResult> = {}) => attemptResult({ ok: true, ...o })

t.test('a cut shrinks chunks to a quarter of what the connection carried, at the compression seen; clean attempts grow them back', async (t) => {
  const m = learn(freshLink(MAX), { cut: true, moved: 48_000, compression: 4 }, MAX)
  t.same(m, { chunkBytes: 48_000, compression: 4, linkRate: 0 }, '48 KB carried at 4×: 12 KB on the wire, 48 KB before compression')
  t.equal(learn(m, { cut: true, moved: 100, compression: 0 }, MAX).chunkBytes, MIN_CHUNK_BYTES, 'never below the floor; no chunks seen keeps the ratio')
  t.equal(learn(m, { cut: true, moved: 10_000_000, compression: 4 }, MAX).chunkBytes, 96_000, 'a long connection grows chunks at most 2× per attempt')
  t.equal(learn(m, { cut: false, moved: 0, compression: 0 }, MAX).chunkBytes, 96_000, 'a clean attempt doubles them')
  t.equal(learn({ chunkBytes: 96_000, compression: 4, linkRate: 0 }, { cut: false, moved: 0, compression: 0 }, MAX).chunkBytes, MAX, 'up to the sender\'s own size')
  t.equal(learn(m, { cut: true, moved: 48_000, compression: Infinity }, MAX).compression, 4, 'a ratio that is not finite is ignored')
  t.same(linkOf(undefined, MAX), freshLink(MAX), 'no history: the sender\'s own size')
  t.same(linkOf({ chunkBytes: 20_000, compression: 3 }, MAX), { chunkBytes: 20_000, compression: 3, linkRate: 0 }, 'the last run\'s size after a restart (an entry from before rates were kept: none)')
  t.same(linkOf({ chunkBytes: 0, compression: 6.5, linkRate: 125_000 }, MAX), { chunkBytes: MAX, compression: 6.5, linkRate: 125_000 }, 'the sender\'s own size, with the ratio and the rate it measured')
  t.equal(learn(freshLink(MAX), { cut: false, moved: 0, compression: 0, linkRate: 30_000 }, MAX).linkRate, 30_000, 'a pull that measured its link teaches the rate')
  t.equal(learn({ ...freshLink(MAX), linkRate: 30_000 }, { cut: false, moved: 0, compression: 0, linkRate: 0 }, MAX).linkRate, 30_000, 'one that could not tell keeps the last rate')
  t.equal(linkOf({ chunkBytes: 1, compression: 0 }, MAX).chunkBytes, MIN_CHUNK_BYTES, 'a stored size below the floor is raised')
})

t.test('a run attempts again after each cut, at once when it made progress, and adds the attempts up', async (t) => {
  const script = [cut({ chunks: 3, pulled: 30, bytesIn: 40_000, compression: 4 }), cut({ chunks: 2, pulled: 20, bytesIn: 30_000 }), done({ chunks: 1, pulled: 5, bytesIn: 9000 })]
  const asked: number[] = []
  const pauses: number[] = []
  let clock = 0
  const { result, memory } = await syncWithRetries(async (chunkBytes) => {
    asked.push(chunkBytes)
    clock += 10
    return script.shift() as SyncResult
  }, { memory: freshLink(MAX), maxBytes: MAX, sleep: async (ms) => void pauses.push(ms), now: () => clock })
  t.same(asked, [0, 40_000, 30_000], 'the first attempt asks nothing; the next ask for what the cuts taught')
  t.same(pauses, [200, 200], 'short pauses after attempts that made progress')
  t.match(result, { ok: true, code: null, pulled: 55, chunks: 6, bytesIn: 79_000, attempts: 3, cuts: 2, requests: 3, chunkBytes: 60_000 })
  t.equal(memory.chunkBytes, 60_000, 'the size to start from next time')
})

t.test('a run that makes no progress backs off and gives up; other failures are not retried', async (t) => {
  const pauses: number[] = []
  let n = 0
  const { result } = await syncWithRetries(async () => (n++, cut({ bytesIn: 500 })), { memory: freshLink(MAX), maxBytes: MAX, policy: { maxIdleAttempts: 4 }, sleep: async (ms) => void pauses.push(ms), now: () => 0 })
  t.equal(n, 4, 'four attempts that applied nothing')
  t.same(pauses, [1000, 2000, 4000], 'pauses double')
  t.match(result, { ok: false, code: 'POLLEN_CONNECTION_CUT', attempts: 4, cuts: 4 })
  t.match(result.error, /gave up after 4 attempts \(4 in a row applied nothing\): the next sync resumes from there$/)

  let m = 0
  const refused = await syncWithRetries(async () => (m++, attemptResult({ code: 'POLLEN_UNAUTHORIZED', error: 'bad key' })), { memory: freshLink(MAX), maxBytes: MAX, sleep: async () => undefined, now: () => 0 })
  t.equal(m, 1, 'an error that is not a cut ends the run')
  t.match(refused.result, { attempts: 1, code: 'POLLEN_UNAUTHORIZED', error: 'bad key' })

  let clock = 0
  const late = await syncWithRetries(async () => ((clock += 60_000), cut({ chunks: 1 })), { memory: freshLink(MAX), maxBytes: MAX, policy: { deadlineMs: 100_000 }, sleep: async () => undefined, now: () => clock })
  t.match(late.result, { attempts: 2, error: /out of time/ }, 'no attempt starts after the deadline')
  let stops = 0
  const stopped = await syncWithRetries(async () => cut({ chunks: 1 }), { memory: freshLink(MAX), maxBytes: MAX, sleep: async () => undefined, now: () => 0, stopped: () => ++stops > 0 })
  t.match(stopped.result, { attempts: 1, error: /the daemon is stopping/ }, 'a stopping daemon attempts no more')
})
