/**
 * The merge rules of docs/design.md §6, as pure functions (core/model/merge.ts) and across in-memory instances
 * that exchange operations by hand with `log.applyRemote`.
 */
import t, { type Test } from 'tap'
import { isPollenError } from '../../../core/errors.js'
import { decodeState, encodeState, key } from '../../../core/log/keys.js'
import { pack } from '../../../core/msgpack.js'
import { applyToState, conflictsOf, isLive, originOf, winnerOf, type RecordState } from '../../../core/model/merge.js'
import { makeOperation, opRef, verifyOperation, type OpType, type Operation } from '../../../core/model/operation.js'
import { allOps, memoryInstance, projectionDump, type TestInstance } from '../../helpers/instances.js'

const author = (c: string) => `${c.repeat(32)}.1`
const A = author('a')
const B = author('b')
const C = author('c')
const F = author('f')

function op(by: string, counter: number, f: { hlc: number; type?: OpType; layer?: string; deps?: Record<string, number>; body?: unknown; id?: string }): Operation {
  const type = f.type ?? 'put'
  const layer = f.layer ?? (type === 'put' ? 'en' : '')
  const body = type !== 'put' ? null : f.body ?? (layer === '' ? { tags: [], links: [], files: [], source: { instance: by.slice(0, 32) } } : { title: `${by[0]}${counter}` })
  return makeOperation({ author: by, counter, kind: 'resource', id: f.id ?? 'r1', partition: 'lib', type, layer, hlc: f.hlc, tx: counter, deps: f.deps ?? {}, body })
}

const replay = (ops: readonly Operation[]): RecordState => ops.reduce<RecordState | undefined>((s, o) => applyToState(s, o).state, undefined) as RecordState

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]]
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]))
}

/** Replays every arrival order; checks they agree byte for byte; returns the state. */
function merged(t: Test, ops: readonly Operation[]): RecordState {
  const states = permutations(ops).map(replay)
  const bytes = new Set(states.map((s) => Buffer.from(encodeState(s)).toString('hex')))
  t.equal(bytes.size, 1, `all ${states.length} arrival orders give the same state`)
  return states[0]
}

const winner = (s: RecordState, layer: string) => opRef(winnerOf(s.layers[layer], originOf(s)) as { author: string; counter: number })

/** Sends every op `from` holds to `to`. */
async function send(from: TestInstance, to: TestInstance) {
  return to.log.applyRemote(await allOps(from.log))
}

async function pair(tA = 1000, tB = 2000) {
  const clock = { a: tA, b: tB }
  const a = await memoryInstance({ author: A, now: () => clock.a })
  const b = await memoryInstance({ author: B, now: () => clock.b })
  return { a, b, clock }
}

const doc = (id: string, en: string) => ({ id, title: { en }, description: { en: 'same' }, tags: ['x'] })

t.test('pure: a causally later put replaces the earlier one, whatever its timestamp or author', async (t) => {
  const p1 = op(F, 1, { hlc: 500 })
  const p2 = op(A, 1, { hlc: 100, deps: { [F]: 1 } })
  const s = merged(t, [p1, p2])
  t.same(s.layers.en.map(opRef), [opRef(p2)], 'only the later put is a head')
  t.same(conflictsOf(s), [], 'no conflict')
})

t.test('pure: a concurrent delete beats a put and the put is a loser', async (t) => {
  const create = op(A, 1, { hlc: 100, layer: '' })
  const put = op(B, 1, { hlc: 300, layer: '', deps: { [A]: 1 } })
  const del = op(A, 2, { hlc: 200, type: 'delete', deps: { [A]: 1 } })
  const s = merged(t, [create, put, del])
  t.notOk(isLive(s), 'the record is deleted')
  t.same(conflictsOf(s), [{ layer: '', winner: opRef(del), losers: [opRef(put)] }])
})

t.test('pure: a stored state decodes to the same state and re-encodes to the same bytes', async (t) => {
  const create = op(A, 1, { hlc: 100, layer: '' })
  const en = op(A, 2, { hlc: 110, deps: { [A]: 1 } })
  const edit = op(F, 1, { hlc: 300, deps: { [A]: 2 } })
  const rival = op(B, 1, { hlc: 310, deps: { [A]: 2 } })
  const purge = op(C, 1, { hlc: 320, type: 'purge', deps: { [A]: 2 } })
  const s = merged(t, [create, en, edit, rival, purge])
  t.same(Object.keys(s.version), [A, B, C, F], 'four authors in the version')
  t.ok(s.purges.length === 1 && s.layers.en.length === 3, 'a purge and three concurrent heads in one layer')
  const bytes = encodeState(s)
  const back = decodeState(bytes)
  t.same(back, s, 'decoding gives the same state')
  t.same(Buffer.from(encodeState(back)), Buffer.from(bytes), 're-encoding gives the same bytes')
  for (const a of [A, B, C, F]) t.equal(Buffer.from(bytes).toString('latin1').split(a).length - 1, 1, `author ${a[0]}… is written once`)
  t.throws(() => decodeState(pack({ kind: 'resource', id: 'r1' })), { code: 'POLLEN_STORAGE' }, 'a state in another format is refused')
})

t.test('pure: origin beats a later non-origin put; then later timestamp; then higher author', async (t) => {
  const create = op(A, 1, { hlc: 100 })
  const originPut = op(A, 2, { hlc: 200, deps: { [A]: 1 } })
  const otherPut = op(F, 1, { hlc: 900, deps: { [A]: 1 } })
  let s = merged(t, [create, originPut, otherPut])
  t.equal(originOf(s), A.slice(0, 32))
  t.equal(winner(s, 'en'), opRef(originPut), 'the origin wins over a later non-origin put')
  t.same(conflictsOf(s)[0].losers, [opRef(otherPut)])

  const early = op(F, 1, { hlc: 300, deps: { [A]: 1 } })
  const late = op(B, 1, { hlc: 301, deps: { [A]: 1 } })
  s = merged(t, [create, early, late])
  t.equal(winner(s, 'en'), opRef(late), 'between non-origin puts the later timestamp wins, though its author id is lower')

  const low = op(B, 1, { hlc: 400, deps: { [A]: 1 } })
  const high = op(F, 1, { hlc: 400, deps: { [A]: 1 } })
  s = merged(t, [create, low, high])
  t.equal(winner(s, 'en'), opRef(high), 'equal timestamps: the higher author id wins')
  t.same(conflictsOf(s), [{ layer: 'en', winner: opRef(high), losers: [opRef(low)] }])
})

t.test('instances: a causally later put from a peer replaces the origin\'s', async (t) => {
  const { a, b } = await pair(2000, 1000)
  const { id } = await a.lib.put(doc('r-later', 'v1'))
  await send(a, b)
  await b.lib.put(doc(id, 'v2 by b'))
  await send(b, a)
  t.equal((await a.lib.get(id)).title.en, 'v2 by b', 'a put that saw the origin\'s version replaces it, though its clock is behind')
  t.same(await a.lib.conflicts(), [])
})

t.test('instances: concurrent delete beats put; the put is in the conflict list', async (t) => {
  const { a, b } = await pair()
  const { id } = await a.lib.put(doc('r-del', 'v1'))
  await send(a, b)
  await b.lib.put(doc(id, 'edit by b'))
  await a.lib.delete(id)
  await send(a, b)
  await send(b, a)
  const edit = (await allOps(b.log)).find((o) => o.author === B) as Operation
  for (const [name, x] of [['a', a], ['b', b]] as const) {
    const err = await x.lib.get(id).then(() => undefined, (e: unknown) => e)
    t.ok(isPollenError(err, 'POLLEN_NOT_FOUND'), `${name}: the resource is deleted`)
    const conflicts = await x.lib.conflicts()
    t.equal(conflicts.length, 1, `${name}: one conflict`)
    t.equal(conflicts[0]?.layers[0]?.winner.type, 'delete', `${name}: the delete wins`)
    t.ok(conflicts[0]?.layers.some((l) => l.losers.some((h) => h.op === opRef(edit))), `${name}: b's put is a loser`)
  }
})

t.test('instances: the origin wins over a later edit; resolve keeps the loser everywhere', async (t) => {
  const { a, b } = await pair(1000, 5000)
  const { id } = await a.lib.put(doc('r-origin', 'v1'))
  await send(a, b)
  await b.lib.put(doc(id, 'later edit by b'))
  await a.lib.put(doc(id, 'earlier edit by a'))
  await send(a, b)
  await send(b, a)
  const bEdit = (await allOps(b.log)).filter((o) => o.author === B)
  t.equal(bEdit.length, 1, 'b wrote one op (the English text)')
  t.ok(bEdit[0].hlc > (await a.log.getOp(A, a.log.counter))!.hlc, 'b\'s edit has the later timestamp')
  for (const [name, x] of [['a', a], ['b', b]] as const) {
    t.equal((await x.lib.get(id)).title.en, 'earlier edit by a', `${name}: the origin's edit wins`)
    const c = await x.lib.conflicts()
    t.same(c.map((v) => v.id), [id], `${name}: the record is in the conflict list`)
    t.same(c[0].layers[0].losers.map((h) => h.op), [opRef(bEdit[0])], `${name}: b's edit is the loser`)
    t.same(c[0].layers[0].losers[0].body, { title: 'later edit by b', description: 'same' }, `${name}: the loser's content is shown`)
  }
  const bad = await a.lib.resolve(id, `${B}:99`).then(() => undefined, (e: unknown) => e)
  t.ok(isPollenError(bad, 'POLLEN_CONFLICT_NOT_FOUND'), 'resolving with an unknown op is refused')

  await a.lib.resolve(id, opRef(bEdit[0]))
  t.equal((await a.lib.get(id)).title.en, 'later edit by b', 'a: the chosen loser now wins')
  t.same(await a.lib.conflicts(), [], 'a: the conflict is cleared')
  t.equal((await b.lib.conflicts()).length, 1, 'b still has the conflict until it receives the resolution')
  await send(a, b)
  t.equal((await b.lib.get(id)).title.en, 'later edit by b', 'b: the resolution wins')
  t.same(await b.lib.conflicts(), [], 'b: the conflict is cleared')
  t.equal((await a.lib.get(id)).conflicts, 0)
})

t.test('instances: two non-origin edits — later timestamp wins; equal timestamps — higher author', async (t) => {
  const o = await memoryInstance({ author: A, now: () => 1000 })
  const hi = await memoryInstance({ author: F, now: () => 3000 })
  const lo = await memoryInstance({ author: B, now: () => 4000 })
  const { id } = await o.lib.put(doc('r-three', 'v1'))
  await send(o, hi)
  await send(o, lo)
  await hi.lib.put(doc(id, 'by f at 3000'))
  await lo.lib.put(doc(id, 'by b at 4000'))
  for (const x of [o, hi, lo]) for (const y of [o, hi, lo]) if (x !== y) await send(x, y)
  for (const x of [o, hi, lo]) {
    t.equal((await x.lib.get(id)).title.en, 'by b at 4000', `${x.log.author[0]}: the later timestamp wins over the higher author id`)
    t.same((await x.lib.conflicts())[0]?.layers[0]?.losers.map((h) => h.body), [{ title: 'by f at 3000', description: 'same' }], 'the other edit is the loser')
  }

  // Equal timestamps can only be made by hand: two non-origin puts with the same hlc.
  const create = [op(C, 1, { hlc: 100, layer: '' }), op(C, 2, { hlc: 101, deps: { [C]: 1 } })]
  const low = op(B, 1, { hlc: 5000, deps: { [C]: 2 }, body: { title: 'by b' } })
  const high = op(F, 1, { hlc: 5000, deps: { [C]: 2 }, body: { title: 'by f' } })
  for (const order of [[low, high], [high, low]]) {
    const d = await memoryInstance()
    await d.log.applyRemote([...create, ...order])
    t.equal((await d.lib.get('r1')).title.en, 'by f', 'equal timestamps: the higher author id wins, whatever the arrival order')
    const c = await d.lib.conflicts()
    t.same(c[0]?.layers.map((l) => [l.layer, l.winner.op, l.losers.map((h) => h.op)]), [['en', opRef(high), [opRef(low)]]], 'the lower author\'s put is the loser')
  }
})

t.test('instances: a resource created here is never changed by a put that did not see it', async (t) => {
  // The origin's own later edit beats a concurrent non-origin edit that did not see it.
  const a = await memoryInstance({ author: A, now: () => 1000 })
  const c = await memoryInstance({ author: C, now: () => 9000 })
  await a.lib.put(doc('r-mine', 'made here'))
  await send(a, c)
  await c.lib.put(doc('r-mine', 'edited elsewhere, later clock'))
  await a.lib.put(doc('r-mine', 'edited here'))
  await send(c, a)
  const after = await a.lib.get('r-mine')
  t.equal(after.title.en, 'edited here', 'our edit stays although the concurrent edit has a later timestamp')
  t.equal(after.status, 'published', 'it stays published')
  t.equal(after.origin, a.log.instance, 'the origin is still this instance')
  t.equal((await a.lib.conflicts()).length, 1, 'the concurrent edit is kept in the conflict list')
})

t.test('instances: an independent creation of the same id elsewhere is a conflict with one deterministic winner', async (t) => {
  // Documented choice (docs/architecture.md): GUIDs are meant to be unique; if two instances
  // create the same id independently, the earliest creation is the origin on every instance
  // (convergence needs one answer) and the other version is kept in the conflict list.
  for (const [label, mine, theirs] of [['later', 1000, 9000], ['earlier', 9000, 1000]] as const) {
    const a = await memoryInstance({ author: A, now: () => mine })
    const c = await memoryInstance({ author: C, now: () => theirs })
    await a.lib.put(doc('r-mine', 'made here'))
    await c.lib.put(doc('r-mine', 'made elsewhere with the same id'))
    await send(c, a)
    await send(a, c)
    const onA = await a.lib.get('r-mine')
    const onC = await c.lib.get('r-mine')
    t.same(onA.title, onC.title, `both instances show the same version (${label})`)
    t.equal(onA.title.en, mine < theirs ? 'made here' : 'made elsewhere with the same id', `the earliest creation wins (${label})`)
    t.equal((await a.lib.conflicts()).length, 1, `the other creation is in the conflict list (${label})`)
  }
})

t.test('instances: purge drops earlier bodies from the log; ops still verify', async (t) => {
  const { a, b } = await pair()
  const { id } = await a.lib.put({ id: 'r-purge', title: { en: 'secret', fr: 'secret' } })
  await a.lib.put({ id, title: { en: 'secret 2', fr: 'secret 2' } })
  await send(a, b)
  await b.lib.put({ id, title: { en: 'b did not see the purge' } })
  const beforePurge = a.log.counter
  await a.lib.delete(id, true)
  await send(a, b)
  await send(b, a)
  for (const [name, x] of [['a', a], ['b', b]] as const) {
    const ops = (await allOps(x.log)).filter((o) => o.id === id)
    t.ok(ops.length >= beforePurge + 2, `${name}: every op is still in the log`)
    t.same(ops.filter((o) => o.body !== null).map(opRef), [], `${name}: no op of the purged record keeps a body`)
    for (const o of ops) t.doesNotThrow(() => verifyOperation(o), `${name}: ${o.type} ${opRef(o)} still verifies`)
    t.equal((await x.log.getOp(A, 1))?.body, null, `${name}: getOp gives the first op without body`)
    const state = (await x.log.state('resource', id)) as RecordState
    const heads = Object.values(state.layers).flat()
    t.ok(heads.some((h) => h.type === 'put'), `${name}: the record has put heads (b's concurrent put)`)
    t.same([...(await x.log.bodies(heads)).values()].filter((b) => b !== null), [], `${name}: no head's body can be read`)
    t.notOk(Buffer.from((await x.store.get(key.state('resource', id))) as Uint8Array).includes('secret'), `${name}: the state holds no text`)
  }
  await a.lib.put({ id, title: { en: 'public again' } })
  await send(a, b)
  t.equal((await b.lib.get(id)).title.en, 'public again', 'a put after the purge keeps its body')
  t.not((await b.log.getOp(A, a.log.counter))?.body, null)
})

t.test('instances: delete then re-create shows the resource again without conflict', async (t) => {
  const { a, b } = await pair()
  const { id } = await a.lib.put(doc('r-again', 'first life'))
  await send(a, b)
  await a.lib.delete(id)
  await send(a, b)
  t.equal(await b.lib.status(id), null, 'b sees the delete')
  await b.lib.put(doc(id, 'second life'))
  await send(b, a)
  for (const [name, x] of [['a', a], ['b', b]] as const) {
    t.equal((await x.lib.get(id)).title.en, 'second life', `${name}: the re-created resource is visible`)
    t.same(await x.lib.conflicts(), [], `${name}: no conflict`)
  }
})

t.test('rebuild equals incremental maintenance whatever the arrival order', async (t) => {
  const { a, b } = await pair()
  const { id } = await a.lib.put({ id: 'r-order', title: { en: 'x', fr: 'x' } })
  await send(a, b)
  await b.lib.delete(id)
  const c = await memoryInstance({ languages: ['en', 'fr'] })
  const aOps = await allOps(a.log)
  const bOps = (await allOps(b.log)).filter((o) => o.author === B)
  await c.log.applyRemote(bOps) // the delete arrives before the ops it deleted
  await c.log.applyRemote(aOps)
  const incremental = await projectionDump(c.store)
  await c.log.rebuild()
  t.same(await projectionDump(c.store), incremental, 'rebuilt projections are byte-identical')
  t.equal(await c.lib.status(id), null, 'the record is deleted either way')
})
