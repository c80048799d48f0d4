/**
 * The column wire form of a chunk's operations (core/sync/wire/opColumns.ts): any list of operations
 * round-trips with identical hashes; the receiver recomputes every hash; every malformed
 * column is refused with a stable code.
 */
import t from 'tap'
import fc from 'fast-check'
import { codeOf } from '../../../helpers/errorCodes.js'
import { makeOperation, MAX_BODY_BYTES, purgedCopy, sha256, verifyOperation, type Operation } from '../../../../core/model/operation.js'
import { newSeed, saltFor } from '../../../../core/model/salt.js'
import { CHECK_BYTES, opCount, packOps, unpackOps, type OpColumns } from '../../../../core/sync/wire/opColumns.js'
import { generateResources } from '../../../../bench/dataset.js'
import { allOps, memoryInstance, newAuthor } from '../../../helpers/instances.js'

const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : null)
/** Everything an operation is, as comparable plain data. */
const plain = (o: Operation) => ({ ...o, body: hex(o.body), bodyHash: hex(o.bodyHash), hash: hex(o.hash), seed: hex(o.seed ?? null), salt: hex(o.salt ?? null) })


const AUTHORS = [newAuthor(), newAuthor(), newAuthor()]
const SEEDS = [newSeed(), newSeed()]
const opArb = fc
  .record({
    author: fc.constantFrom(...AUTHORS),
    counter: fc.integer({ min: 1, max: 2 ** 40 }),
    txBack: fc.integer({ min: 0, max: 5 }),
    kind: fc.constantFrom('resource', 'note'),
    id: fc.constantFrom('r1', 'r2', 'a-much-longer-record-id'),
    partition: fc.constantFrom('lib', 'lib:who', 'lib:who/user:u7'),
    type: fc.constantFrom('put', 'delete', 'purge'),
    layer: fc.constantFrom('', 'en', 'fr'),
    hlc: fc.integer({ min: 0, max: 2 ** 52 }),
    deps: fc.dictionary(fc.constantFrom(...AUTHORS), fc.integer({ min: 1, max: 2 ** 40 }), { maxKeys: 3 }),
    body: fc.oneof(fc.constant(null), fc.record({ title: fc.string() })),
    purged: fc.boolean(),
    // Unsalted (written before salts), a seed shared with others, or the operation's own salt.
    salting: fc.constantFrom('none', 'seed0', 'seed1', 'own'),
  })
  .map((f): Operation => {
    const type = f.type
    const op = makeOperation({
      author: f.author,
      counter: f.counter,
      kind: f.kind,
      id: f.id,
      partition: f.partition,
      type,
      layer: type === 'put' ? f.layer : '',
      hlc: f.hlc,
      tx: Math.max(1, f.counter - f.txBack),
      deps: f.deps,
      body: type === 'put' ? (f.body ?? { title: '' }) : null,
      seed: f.salting === 'none' ? null : f.salting === 'seed1' ? SEEDS[1] : SEEDS[0],
    })
    // A purged put keeps its body hash but not its body, seed or salt.
    if (type === 'put' && f.purged) return purgedCopy(op)
    return f.salting === 'own' && op.seed ? { ...op, seed: null, salt: saltFor(op.seed, op.counter) } : op
  })

t.test('any operations round-trip through the columns with the same hashes (property)', async (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
      const back = unpackOps(packOps(ops), 1000)
      t.same(back.map(plain), ops.map(plain))
      return back.length === ops.length && back.every((o, i) => hex(o.hash) === hex(ops[i].hash))
    }),
    { numRuns: 200 },
  )
})

t.test('realistic operations: hashes recomputed, bodies byte for byte, fields shared', async (t) => {
  const inst = await memoryInstance({ languages: ['en', 'fr', 'es'] })
  for (const r of generateResources(50, 7)) await inst.lib.put(r)
  const ops = await allOps(inst.log)
  const cols = packOps(ops)
  t.equal(opCount(cols), ops.length)
  t.equal(cols[0].length, 1, 'one author in the table')
  t.ok(cols[1].length <= 2 + 4 + 10, `a few distinct kinds, layers and partitions (${cols[1].length})`)
  t.equal(cols[5].filter((id) => id !== null).length, 50, 'each id travels once for its four layer operations')
  t.ok(cols[3].every((d) => d === 1) || cols[3].slice(1).every((d) => d === 1), 'counters travel as +1 steps')
  t.ok(cols[13].every((h) => h === null), 'no body hash travels for operations that carry their body')
  t.equal(cols[15].filter((s) => s !== null).length, new Set(ops.map((o) => hex(o.seed ?? null))).size, 'each salt seed travels once')
  t.ok(cols[16].every((s) => s === null), 'no own salt travels while the seeds are kept')
  t.same(unpackOps(cols, 1000).map(plain), ops.map(plain))
  await inst.store.close()
})

t.test('malformed columns are refused with POLLEN_BAD_MESSAGE', async (t) => {
  const a = AUTHORS[0]
  const ops = [1, 2, 3].map((n) => makeOperation({ author: a, counter: n, kind: 'resource', id: 'r1', partition: 'lib', type: 'put', layer: '', hlc: n, tx: 1, deps: {}, body: { n } }))
  const good = packOps(ops)
  const variant = (i: number, v: unknown): unknown[] => {
    const c: unknown[] = [...good]
    c[i] = v
    return c
  }
  const cases: [string, unknown][] = [
    ['not an array', { ops: [] }],
    ['16 columns', good.slice(0, 16)],
    ['a seed of 8 bytes', variant(15, [new Uint8Array(8), null, null])],
    ['a salt of 17 bytes', variant(16, [new Uint8Array(17), null, null])],
    ['a column of the wrong length', variant(3, [1, 1])],
    ['a counter that is not an integer', variant(3, [1, 1.5, 1])],
    ['an author index outside the table', variant(2, [0, 0, 5])],
    ['a string index outside the table', variant(6, [0, 0, 9])],
    ['an unknown type', variant(7, [0, 0, 7])],
    ['a first operation without an id', variant(5, [null, null, null])],
    ['a body that is not bytes', variant(12, ['{}', '{}', '{}'])],
    ['deps with an odd length', variant(11, [[0], [], []])],
    ['a check of the wrong length', variant(14, new Uint8Array(8))],
  ]
  for (const [what, raw] of cases) t.equal(await codeOf(() => unpackOps(raw, 1000)), 'POLLEN_BAD_MESSAGE', what)
  t.same(unpackOps(good, 1000).map(plain), ops.map(plain), 'the genuine columns still unpack')
})

t.test('content that does not match the check is POLLEN_HASH_MISMATCH; too many operations is POLLEN_CHUNK_TOO_LARGE', async (t) => {
  const a = AUTHORS[1]
  const ops = [1, 2].map((n) => makeOperation({ author: a, counter: n, kind: 'resource', id: `r${n}`, partition: 'lib', type: 'put', layer: 'en', hlc: 100 + n, tx: n, deps: {}, body: { title: `t${n}` } }))
  const cols = packOps(ops)
  t.equal(cols[14].length, CHECK_BYTES)
  const flipped: OpColumns = [...cols]
  flipped[14] = Uint8Array.from(cols[14], (b, i) => (i === 0 ? b ^ 1 : b))
  t.equal(await codeOf(() => unpackOps(flipped, 1000)), 'POLLEN_HASH_MISMATCH', 'a flipped check byte')
  const otherBody: OpColumns = [...cols]
  otherBody[12] = [Buffer.from('{"title":"forged"}'), cols[12][1]]
  t.equal(await codeOf(() => unpackOps(otherBody, 1000)), 'POLLEN_HASH_MISMATCH', 'a body changed after the check was made')
  const otherHlc: OpColumns = [...cols]
  otherHlc[9] = [cols[9][0] + 1, cols[9][1]]
  t.equal(await codeOf(() => unpackOps(otherHlc, 1000)), 'POLLEN_HASH_MISMATCH', 'a header field changed after the check was made')
  t.equal(await codeOf(() => unpackOps(cols, 1)), 'POLLEN_CHUNK_TOO_LARGE', 'two operations over a limit of one')
  const seed = newSeed()
  const salted = [1, 2].map((n) => makeOperation({ author: a, counter: 10 + n, kind: 'resource', id: `s${n}`, partition: 'lib', type: 'put', layer: 'en', hlc: 200 + n, tx: 11, deps: {}, body: { title: `s${n}` }, seed }))
  const saltedCols = packOps(salted)
  const otherSeed: OpColumns = [...saltedCols]
  otherSeed[15] = [newSeed(), null]
  t.equal(await codeOf(() => unpackOps(otherSeed, 1000)), 'POLLEN_HASH_MISMATCH', 'another seed than the author drew')
  const noSeed: OpColumns = [...saltedCols]
  noSeed[15] = [null, null]
  t.equal(await codeOf(() => unpackOps(noSeed, 1000)), 'POLLEN_HASH_MISMATCH', 'a seed left out (the bare body hash is not the one signed)')
  const wrongSalt: OpColumns = [...saltedCols]
  wrongSalt[15] = [new Uint8Array(0), null]
  wrongSalt[16] = [saltFor(seed, 12), saltFor(seed, 12)]
  t.equal(await codeOf(() => unpackOps(wrongSalt, 1000)), 'POLLEN_HASH_MISMATCH', "one operation's salt given to its sibling")
  const both: OpColumns = [...saltedCols]
  both[16] = [saltFor(seed, 11), null]
  t.equal(await codeOf(() => unpackOps(both, 1000).forEach(verifyOperation)), 'POLLEN_BAD_MESSAGE', 'a seed and an own salt on one operation')
  const purged = { ...ops[0], body: null }
  const back = unpackOps(packOps([purged]), 10)[0]
  t.equal(hex(back.bodyHash), hex(sha256(ops[0].body as Uint8Array)), 'a purged operation keeps the body hash it was sent')
  t.equal(hex(back.hash), hex(ops[0].hash), 'and still verifies')
})

t.test('fields are checked as they unpack; an operation that fails is refused by verifyOperation as before', async (t) => {
  const a = AUTHORS[2]
  const base = { author: a, counter: 1, kind: 'resource', id: 'r1', partition: 'lib', type: 'put' as const, layer: '', hlc: 5, tx: 1, deps: {}, body: { n: 1 } as unknown }
  const good = unpackOps(packOps([makeOperation(base)]), 10)[0]
  t.doesNotThrow(() => verifyOperation(good), 'a well-formed operation verifies')
  const cases: [string, Partial<typeof base> & { deps?: Record<string, number> }][] = [
    ['a malformed author id', { author: 'not-an-author.1' }],
    ['a malformed kind', { kind: 'Resource' }],
    ['a malformed record id', { id: 'has space' }],
    ['a malformed partition', { partition: 'lib/' }],
    ['a malformed layer', { layer: 'english' }],
    ['a delete outside the neutral layer', { type: 'delete' as 'put', layer: 'en', body: undefined }],
    ['malformed dependencies', { deps: { 'x.1': 1 } }],
    ['a body over the size limit', { body: { big: 'x'.repeat(MAX_BODY_BYTES) } }],
  ]
  for (const [what, change] of cases) {
    const [op] = unpackOps(packOps([makeOperation({ ...base, ...change })]), 10)
    t.equal(await codeOf(() => verifyOperation(op)), 'POLLEN_BAD_MESSAGE', what)
  }
})
