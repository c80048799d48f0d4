/**
 * Stored formats of the log (core/keys.ts): a store written in a former layout is refused at
 * open rather than read as empty.
 */
import t from 'tap'
import { LevelStore } from '../../adapters/levelStore.js'
import { OpLog } from '../../core/opLog.js'
import { key } from '../../core/keys.js'
import { codeOf } from '../helpers/errorCodes.js'
import { newAuthor } from '../helpers/instances.js'

t.test('a store holding operations under the former L family is refused with POLLEN_STORAGE', async (t) => {
  const store = await LevelStore.openMemory()
  t.teardown(() => store.close())
  const author = newAuthor()
  await store.write([{ type: 'put', key: `${key.formerOps()}${author}\u0000${'1'.padStart(16, '0')}`, value: new Uint8Array([0x9d]) }])
  t.equal(await codeOf(() => OpLog.open(store, { author, languages: ['en'] })), 'POLLEN_STORAGE')
})

t.test('operations sort before every other family a batch writes', async (t) => {
  const a = newAuthor()
  const op = key.op(a, 2 ** 40)
  for (const other of [key.recordOp('resource', '!', a, 1), key.state('resource', '!'), key.status('pending', 'resource', '!'), key.conflict('resource', '!'), key.vector('', '', a), key.meta('self')]) {
    t.ok(op < other, `${JSON.stringify(op.slice(0, 2))} sorts before ${JSON.stringify(other.slice(0, 2))}`)
  }
})
