/**
 * The record filter on a real daemon and LevelDB directory: it loads only after a bulk of
 * writes, and once loaded, records written before it are still found — a re-import updates
 * them rather than creating them again — while new ones are created.
 */
import t from 'tap'
import { join } from 'node:path'
import { controlRequest, getResource, startDaemon, tempDir } from '../helpers/daemon.js'
import { WARM_AFTER_OPS } from '../../core/log/opLog.js'

/** A gauge's value from the metrics text. */
function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  if (!m) throw new Error(`no ${name} in the metrics`)
  return Number(m[1])
}

const resources = (from: number, n: number, word = 'Title') =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: `bulk-${from + i}`, title: { en: `${word} ${from + i}`, fr: `Titre ${from + i}` }, tags: ['t'] })).join('\n')

t.test('loaded after a bulk import; records written before it are found, new ones created', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  const d = await startDaemon({ t, dataDir, name: 'filter', languages: ['en', 'fr'] })
  const loaded = async () => gauge((await controlRequest(d.socket, 'GET', '/metrics')).text, 'pollen_record_filter_loaded')

  const small = await d.cli(['resource', 'import', '-', '--json'], { stdin: resources(0, 5) })
  t.match(small.json, { created: 5, errors: [] })
  t.equal(await loaded(), 0, 'a few writes do not load it')

  // Two resources per 1,000 operations at least: 2,500 resources write more than WARM_AFTER_OPS.
  t.ok(2 * 2500 >= WARM_AFTER_OPS)
  const bulk = await d.cli(['resource', 'import', '-', '--json'], { stdin: resources(5, 2500) })
  t.match(bulk.json, { created: 2500, errors: [] })
  let state = await loaded()
  for (let i = 0; i < 100 && state !== 1; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    state = await loaded()
  }
  t.equal(state, 1, 'loaded after the bulk import')

  const again = await d.cli(['resource', 'import', '-', '--json'], { stdin: [resources(0, 10, 'Changed'), resources(10, 2495), resources(9000, 3)].join('\n') })
  t.match(again.json, { total: 2508, created: 3, updated: 10, unchanged: 2495, errors: [] }, 'records from before the filter are updated or unchanged, never created again')
  t.match(await getResource(d, 'bulk-0'), { title: { en: 'Changed 0', fr: 'Titre 0' } })
  t.match(await getResource(d, 'bulk-9002'), { title: { en: 'Title 9002' } })
  t.equal(await getResource(d, 'bulk-99999'), undefined, 'an id never written is not found')

  t.equal(await d.stop('SIGTERM'), 0)
  const d2 = await startDaemon({ t, dataDir })
  t.equal(gauge((await controlRequest(d2.socket, 'GET', '/metrics')).text, 'pollen_record_filter_loaded'), 0, 'not loaded at start-up')
  t.match(await getResource(d2, 'bulk-0'), { title: { en: 'Changed 0' } }, 'the records survive a restart')
  const status = (await d2.cli(['status', '--json'])).json
  t.match(status, { resources: { published: 2508 } })
  await d2.stop('SIGTERM')
})
