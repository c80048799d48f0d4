/**
 * What core/log keeps beside the log for the edges (core/log/syncHistory.ts,
 * core/log/resumeMarker.ts, OpLog.init): the daemon's sync history keeps the newest runs per
 * peer, the resume marker rides in batches, and a new store names its first author.
 */
import t from 'tap'
import { LevelStore } from '../../../adapters/levelStore.js'
import { OpLog } from '../../../core/log/opLog.js'
import { resumeMarker } from '../../../core/log/resumeMarker.js'
import { SyncHistory } from '../../../core/log/syncHistory.js'

const run = (peer: string, minute: number) => ({ peer, started: new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString(), minute })

t.test('sync history: newest first, the newest `keep` per peer, one peer never trims another', async (t) => {
  const store = await LevelStore.openMemory()
  t.teardown(() => store.close())
  const history = new SyncHistory<ReturnType<typeof run>>(store, 3)
  for (const m of [1, 2, 3, 4, 5]) await history.append(run('school', m))
  await history.append(run('school-2', 9))
  t.same((await history.list('school')).map((r) => r.minute), [5, 4, 3], 'the three newest of school, newest first')
  t.same((await history.list()).map((r) => `${r.peer}@${r.minute}`), ['school-2@9', 'school@5', 'school@4', 'school@3'], 'every peer when none is named')
  t.same((await history.list(undefined, 2)).length, 2, 'at most `limit`')
  t.equal((await history.last('school'))?.minute, 5, 'the last run of a peer')
  t.equal(await history.last('nobody'), undefined, 'none for a peer that never ran')
})

t.test('resume marker: held after a progress write, gone after clear; per peer', async (t) => {
  const store = await LevelStore.openMemory()
  t.teardown(() => store.close())
  const a = resumeMarker(store, 'a')
  const b = resumeMarker(store, 'b')
  t.notOk(await a.held())
  await store.write([a.progress('s1', 3)])
  t.ok(await a.held(), 'held once a chunk wrote it')
  t.notOk(await b.held(), 'another peer has its own')
  await store.write([a.clear()])
  t.notOk(await a.held(), 'cleared by the batch that completes the pull')
})

t.test('OpLog.init names the first author; the log opens on it at counter 0', async (t) => {
  const store = await LevelStore.openMemory()
  t.teardown(() => store.close())
  t.equal(await OpLog.storedAuthor(store), undefined, 'nothing before init')
  await OpLog.init(store, 'ab.1')
  t.equal(await OpLog.storedAuthor(store), 'ab.1')
  const log = await OpLog.open(store, { author: 'ab.1', languages: ['en'] })
  t.equal(log.author, 'ab.1')
  t.equal(log.counter, 0)
  t.notOk(await log.resumeMarker('peer').held(), 'and holds no resume marker')
})
