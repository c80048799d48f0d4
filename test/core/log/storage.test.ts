/**
 * Stored formats of the log (core/log/keys.ts, core/log/storedOp.ts): operations round-trip byte for
 * byte; a store written in a former layout is refused at open rather than read as empty.
 */
import t from 'tap'
import { LevelStore } from '../../../adapters/levelStore.js'
import { OpLog } from '../../../core/log/opLog.js'
import { key } from '../../../core/log/keys.js'
import { computeHash, makeOperation, purgedCopy, sha256, verifyOperation, type Operation } from '../../../core/model/operation.js'
import { decodeOperation, encodeOperation, storedBody, withOwnSalt, withoutBody } from '../../../core/log/storedOp.js'
import { newSeed, saltFor } from '../../../core/model/salt.js'
import { codeOf } from '../../helpers/errorCodes.js'
import { newAuthor } from '../../helpers/instances.js'

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

const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : null)
const plain = (o: Operation) => ({ ...o, body: hex(o.body), bodyHash: hex(o.bodyHash), hash: hex(o.hash), seed: hex(o.seed ?? null), salt: hex(o.salt ?? null) })

t.test('stored operations round-trip, with and without their body; a body reads without the header', async (t) => {
  const [a, b] = [newAuthor(), newAuthor()]
  const put = makeOperation({ author: a, counter: 7, kind: 'resource', id: 'r"\\1', partition: 'lib:wé/ü', type: 'put', layer: 'fr', hlc: 2 ** 52 + 1, tx: 5, deps: { [b]: 3, [a]: 6 }, body: { title: 'Lavage des mains', n: [1, 2] } })
  const del = makeOperation({ author: b, counter: 1, kind: 'note', id: 'n1', partition: 'lib', type: 'delete', layer: '', hlc: 0, tx: 1, deps: {}, body: null })
  const purged: Operation = { ...put, body: null }
  for (const op of [put, del, purged]) {
    const stored = encodeOperation(op)
    t.same(plain(decodeOperation(stored)), plain(op), `${op.type}${op === purged ? ' (purged)' : ''} round-trips`)
    t.equal(hex(storedBody(stored)), hex(op.body), 'its body alone')
    t.same(encodeOperation(decodeOperation(stored)), stored, 'and encodes back to the same bytes')
  }
  t.same(withoutBody(encodeOperation(put)), encodeOperation(purged), 'dropping the body gives the purged form')
  t.same(computeHash(decodeOperation(encodeOperation(put))), put.hash, 'the stored header hashes to the stored hash')
})

t.test('a salted operation stores its seed or its own salt, and a purge keeps neither', async (t) => {
  const seed = newSeed()
  const put = makeOperation({ author: newAuthor(), counter: 9, kind: 'resource', id: 'r1', partition: 'lib', type: 'put', layer: 'en', hlc: 5, tx: 9, deps: {}, body: { title: 'Short' }, seed })
  t.not(hex(put.bodyHash), hex(sha256(put.body as Uint8Array)), 'the body hash is not the bare sha256 of the body')
  const own: Operation = { ...put, seed: null, salt: saltFor(seed, put.counter) }
  for (const op of [put, own]) {
    const stored = encodeOperation(op)
    const back = decodeOperation(stored)
    t.same(plain(back), plain(op), op.seed ? 'with its seed' : 'with its own salt')
    t.equal(hex(storedBody(stored)), hex(op.body), 'its body alone, after the seed or salt')
    t.doesNotThrow(() => verifyOperation(back), 'and verifies from what is stored')
  }
  t.same(withOwnSalt(encodeOperation(put), saltFor(seed, put.counter)), encodeOperation(own), 'trading the seed for the own salt gives the own-salt form')
  const purged = withoutBody(encodeOperation(put))
  t.same(purged, encodeOperation(purgedCopy(put)), 'dropping the body gives the purged form')
  t.notOk(Buffer.from(purged).includes(Buffer.from(seed)), 'which holds no seed')
  t.same(plain(decodeOperation(purged)), plain(purgedCopy(put)), 'and reads back without seed or salt')
})

t.test('unreadable stored operations are POLLEN_STORAGE', async (t) => {
  const good = encodeOperation(makeOperation({ author: newAuthor(), counter: 1, kind: 'resource', id: 'r1', partition: 'lib', type: 'put', layer: '', hlc: 1, tx: 1, deps: {}, body: { a: 1 } }))
  const cases: [string, Uint8Array][] = [
    ['a former msgpack value', Uint8Array.from([0x9d, 0xa0])],
    ['too short', good.subarray(0, 20)],
    ['a header past the end', good.subarray(0, 60)],
    ['an unknown flag', Uint8Array.from(good, (x, i) => (i === 0 ? 7 : x))],
  ]
  for (const [what, bytes] of cases) t.equal(await codeOf(() => decodeOperation(bytes)), 'POLLEN_STORAGE', what)
})
