// Integration test of the PouchDB reference peer on a small dataset over an unlimited
// link: it proves the harness measures something real, not PouchDB's speed.
import t from 'tap'
import { generateResources, mutateResources } from '../../bench/dataset.js'
import { PouchBench, runPouchScenarios } from '../../bench/pouch.js'

t.test('PouchDB replicates through the emulated link and is measured', async (t) => {
  const base = generateResources(40, 11)
  const changes = mutateResources(base, 5, 12)
  const res = await runPouchScenarios(base, { link: {}, changes })
  const json = JSON.stringify(base).length

  t.equal(res.initial.docsWritten, 40)
  t.equal(res.initial.attempts, 1)
  t.ok(res.initial.requests >= 4, `${res.initial.requests} requests`)
  t.ok(res.initial.byEndpoint['GET _changes'] >= 1, 'read the changes feed')
  // The docs crossed the link (gzip at most ~4× on this text, plus headers).
  t.ok(res.initial.bytesDown > json / 5, `${res.initial.bytesDown} B down for ${json} B of JSON`)
  t.ok(res.initial.bytesUp > 0)
  t.ok(res.initial.connections >= 1)

  t.equal(res.nothingNew.docsWritten, 0)
  t.ok(res.nothingNew.bytesDown < res.initial.bytesDown / 2, 'nothing new costs less')

  t.equal(res.changed?.docsWritten, 5)
  if (process.platform === 'linux') t.ok((res.initial.serverPeakRssBytes ?? 0) > 10 * 2 ** 20, 'server RSS read')
})

t.test('a replication that moves no byte for the stall limit is abandoned and retried, not waited on forever', async (t) => {
  // Every byte takes 3 s to arrive, so each attempt looks hung to a 300 ms stall limit.
  const bench = await PouchBench.start({ link: { up: { delayMs: 3000 } }, stallMs: 300, maxAttempts: 2 })
  t.teardown(() => bench.stop())
  await bench.load(generateResources(5, 13))
  // Without the limit the replication would finish, 3 s a round trip; with it, it fails.
  await t.rejects(bench.replicate(), /moved no byte for 300 ms/, 'both attempts were abandoned')
})
