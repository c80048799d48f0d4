/**
 * What `pollen sync` draws on a terminal (daemon/cliSync.ts): the fraction, operations,
 * bytes, rate and time left, a clean final frame, and the lines for stopped and running syncs.
 */
import t from 'tap'
import { formatDuration, ProgressLine, runLine, syncLine, syncOutcome } from '../../daemon/cliSync.js'
import type { SyncResult } from '../../core/sync/client.js'

t.test('the progress line shows the fraction, rate and time left, and ends at 100 %', async (t) => {
  let now = 1_000_000
  const line = new ProgressLine(() => now)
  t.equal(line.render({ peer: 'cloud', group: 'pulling', stage: 'started', total: 80 }), undefined)
  now += 4000
  const mid = line.render({ peer: 'cloud', group: 'pulling', stage: 'in_progress', ops: 8, total: 80, fraction: 0.25, bytes: 40 * 1024 })
  t.match(mid, { final: false })
  t.match(mid?.text, /^cloud pulling \[######-+\] {2}25% {2}8 ops {2}40\.0 KB {2}10\.0 KB\/s {2}12 s left$/, mid?.text ?? '')
  t.notMatch(mid?.text, /\/80/, 'no total that the operations kept here never reach')
  now += 12_000
  const end = line.render({ peer: 'cloud', group: 'pulling', stage: 'completed', ops: 8, fraction: 1, bytes: 160 * 1024 })
  t.match(end, { final: true })
  t.match(end?.text, /^cloud pulled {2}\[#{24}\] 100% {2}8 ops {2}160\.0 KB in 16 s \(10\.0 KB\/s\)$/, end?.text ?? '')
  t.equal(line.render({ peer: 'cloud', group: 'session', stage: 'started' }), undefined, 'other events draw nothing')
})

t.test('durations and result lines', async (t) => {
  t.equal(formatDuration(42.4), '42 s')
  t.equal(formatDuration(125), '2 min 5 s')
  t.equal(formatDuration(7380), '2 h 3 min')
  const base = { peer: 'cloud', ok: false, pulled: 3, pushed: 0 } as SyncResult
  t.match(syncLine({ ...base, code: 'POLLEN_SYNC_CANCELLED', error: 'stopped on request' }), /^cloud: STOPPED stopped on request \(POLLEN_SYNC_CANCELLED\)$/)
  t.match(syncLine({ ...base, code: 'POLLEN_CONNECTION_CUT', error: 'cut' }), /^cloud: FAILED cut/)
  t.match(syncOutcome([{ ...base, code: 'POLLEN_SYNC_CANCELLED', error: '' }]), { code: 'POLLEN_SYNC_CANCELLED' })
  t.match(syncOutcome([{ ...base, code: 'POLLEN_SYNC_CANCELLED', error: '' }, { ...base, peer: 'b', code: 'POLLEN_CONNECTION_CUT', error: '' }]), { code: 'POLLEN_SYNC_FAILED' })
  t.equal(syncOutcome([{ ...base, ok: true }]), undefined)
  const run = runLine({ peer: 'cloud\u001b]52;c;x\u0007', mode: 'pull', started: new Date(0).toISOString(), stage: 'pulling', ops: 1234, fraction: 0.5, bytes: 2048, cancelling: true }, 65_000)
  t.match(run, /IN PROGRESS \(pull\) for 1 min 5 s: pulling 50%, 1,234 ops, 2\.0 KB; stopping at the next chunk boundary$/)
  t.notOk(run.includes('\u001b'), 'a peer name cannot send escape sequences to the terminal')
})
