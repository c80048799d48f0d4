/**
 * The library's review, history and conflict methods on in-memory logs: a queue of 3,000
 * paged and decided in bulk, decisions recorded and written in one batch, the `hold` policy
 * reproduced by a rebuild, diffs since approval, and a conflict kept by instance name in every
 * layer at once.
 */
import t from 'tap'
import { Library } from '../../../core/library/library.js'
import { allOps, memoryInstance, projectionDump, type TestInstance } from '../../helpers/instances.js'

/** A second library on `to`'s log that knows `from`'s instance as `name`. */
function named(to: TestInstance, from: TestInstance, name: string): Library {
  return new Library(to.log, { source: { name: 'school' }, defaultPartition: 'lib', names: async () => new Map([[from.log.instance, name]]) })
}

async function pull(from: TestInstance, to: TestInstance): Promise<void> {
  await to.log.applyRemote(await allOps(from.log))
}

const N = 3000
const item = (i: number, extra: Record<string, unknown> = {}) => ({ id: `r${String(i).padStart(4, '0')}`, title: { en: `Lesson ${i}` }, description: { en: `Topic ${i}` }, tags: [i % 3 === 0 ? 'math' : 'art'], ...extra })

t.test('a queue of 3,000: pages, filters, bulk decisions with their record', async (t) => {
  const district = await memoryInstance()
  const school = await memoryInstance()
  const lib = named(school, district, 'district')
  await district.lib.import(Array.from({ length: N }, (_, i) => item(i)))
  await pull(district, school)

  let started = Date.now()
  const first = await lib.page({ status: 'pending', limit: 50, offset: 0 })
  t.equal(first.total, N, 'all pending')
  t.equal(first.items.length, 50, 'one page')
  t.comment(`a page of 50 of 3,000 pending: ${Date.now() - started} ms`)
  started = Date.now()
  const math = await lib.page({ status: 'pending', tag: 'math', limit: 10, offset: 995 })
  t.comment(`a filtered page over 3,000: ${Date.now() - started} ms`)
  t.equal(math.total, N / 3, 'a third are math')
  t.same(math.items.map((v) => v.id), ['r2985', 'r2988', 'r2991', 'r2994', 'r2997'], 'the last page of the math ones')
  t.equal((await lib.page({ status: 'pending', peer: 'district', limit: 0, offset: 0 })).total, N, 'peer by its name here')
  t.equal((await lib.page({ status: 'pending', peer: district.log.instance, limit: 0, offset: 0 })).total, N, 'peer by instance id')
  t.equal((await lib.page({ status: 'pending', peer: 'test', limit: 0, offset: 0 })).total, N, 'peer by the name the resource carries')
  t.equal((await lib.page({ status: 'pending', search: 'TOPIC 2999', limit: 5, offset: 0 })).total, 1, 'search in descriptions, any case')
  t.equal((await lib.page({ status: 'pending', partition: 'li', limit: 5, offset: 0 })).total, 0, 'partition prefixes are segment-wise')
  t.equal((await lib.page({ status: 'pending', partition: 'lib', limit: 5, offset: 0 })).total, N, 'a whole segment covers')
  await t.rejects(lib.page({ limit: 5001, offset: 0 }), { code: 'POLLEN_INVALID_INPUT' }, 'a page too large')
  await t.rejects(lib.page({ limit: 5, offset: -1 }), { code: 'POLLEN_INVALID_INPUT' }, 'a negative offset')

  started = Date.now()
  t.same(await lib.reviewMatching({ tag: 'math' }, 'approved', { reason: 'curriculum', by: 'ana' }), { count: N / 3 }, 'approve the math ones')
  t.comment(`approving 1,000 by filter: ${Date.now() - started} ms`)
  const d = await lib.decision('r0003')
  t.match(d, { decision: 'approved', reason: 'curriculum', by: 'ana', at: String, version: { '': String, en: String } }, 'the decision is recorded with the version')
  t.ok(Math.abs(Date.parse(d?.at ?? '') - Date.now()) < 60_000, 'at the time it was made')
  t.match(await school.lib.counts(), { published: N / 3, pending: N - N / 3 }, 'the index moved')
  t.same(await lib.reviewMatching({ tag: 'math' }, 'approved'), { count: 0 }, 'nothing pending matches any more')

  await t.rejects(lib.review(['r0001', 'nope'], 'rejected'), { code: 'POLLEN_NOT_FOUND' }, 'a list with an unknown id')
  t.equal(await lib.status('r0001'), 'pending', 'changed nothing')
  await t.rejects(lib.review(['r0001'], 'rejected', { reason: 'x'.repeat(2001) }), { code: 'POLLEN_INVALID_INPUT' }, 'a reason too long')
  await school.lib.put({ id: 'mine', title: { en: 'Made here' } })
  await t.rejects(lib.review(['r0001', 'mine'], 'approved'), { code: 'POLLEN_INVALID_INPUT' }, 'a resource made here')
  t.equal(await lib.status('r0001'), 'pending', 'changed nothing')
  await lib.review(['r0001', 'r0001', 'r0002'], 'rejected', { reason: 'duplicate' })
  t.match(await lib.decision('r0001'), { decision: 'rejected', reason: 'duplicate' }, 'rejected with a reason, a repeated id once')
  t.notOk((await lib.decision('r0001'))?.by, 'no author when none is given')
})

t.test('hold: a peer update to an approved resource waits, and a rebuild keeps it', async (t) => {
  const district = await memoryInstance()
  const school = await memoryInstance()
  const lib = named(school, district, 'district')
  await district.lib.import([item(1), item(2), item(3)])
  await pull(district, school)
  await lib.review(['r0001', 'r0002', 'r0003'], 'approved')
  await district.lib.put(item(1, { title: { en: 'Lesson one, revised' } }))
  await pull(district, school)
  t.equal(await lib.status('r0001'), 'published', 'publish: the update shows at once')
  const d1 = await lib.diff('r0001')
  t.equal(d1.since, 'approved')
  t.same(d1.fields.map((f) => [f.field, f.lang, f.before, f.after]), [['title', 'en', 'Lesson 1', 'Lesson one, revised']], 'the diff since the approval')

  school.log.reviewPolicy = 'hold'
  await district.lib.put(item(2, { tags: ['art', 'music'], links: [{ url: 'https://example.org/a' }] }))
  await district.lib.delete('r0003')
  await pull(district, school)
  t.equal(await lib.status('r0002'), 'pending', 'hold: pending again')
  t.match(await lib.decision('r0002'), { decision: 'approved', held: true }, 'its record says held')
  t.equal(await lib.status('r0003'), null, 'a delete is not held')
  const d2 = await lib.diff('r0002')
  t.same(d2.fields.map((f) => [f.field, f.before, f.after]), [['tags', 'art', 'art\nmusic'], ['links', null, 'https://example.org/a']], 'tags and links by lines')
  t.ok(d2.fields[0].parts.some((p) => p.added && p.value.includes('music')), 'the added tag is a part')

  const before = await projectionDump(school.store)
  await school.log.rebuild()
  t.same(await projectionDump(school.store), before, 'a rebuild gives the same projections, the hold included')
  t.equal(await lib.status('r0002'), 'pending', 'still held')

  await district.lib.put(item(2, { tags: ['art', 'music', 'song'] }))
  await pull(district, school)
  t.equal(await lib.status('r0002'), 'pending', 'a second update stays held')
  await lib.review(['r0002'], 'approved')
  t.equal(await lib.status('r0002'), 'published', 'approved again')
  t.notOk((await lib.decision('r0002'))?.held, 'no longer held')
  t.same((await lib.diff('r0002')).fields, [], 'nothing changed since')
  t.equal((await lib.diff('r0001')).since, 'approved')
  await school.lib.put(item(1, { title: { en: 'Edited at the school' } }))
  t.equal(await lib.status('r0001'), 'published', 'a local edit never holds')
  t.same((await lib.diff('r0001')).fields.map((f) => f.after), ['Edited at the school'], 'and shows in the diff since the approval')

  const h = await lib.history('r0002')
  t.same(h.map((e) => e.layer), ['', 'en', '', ''], 'every operation: the creation (two layers) and two updates of the fields')
  t.ok(h.every((e, i) => i === 0 || e.time >= h[i - 1].time), 'oldest first')
  t.ok(h.every((e) => e.instanceName === 'district'), 'named')
  await t.rejects(lib.history('nope'), { code: 'POLLEN_NOT_FOUND' })
})

t.test('resolveKeep keeps one instance\'s side in every layer, in one transaction', async (t) => {
  const district = await memoryInstance({ languages: ['en', 'fr'] })
  const school = await memoryInstance({ languages: ['en', 'fr'] })
  const lib = named(school, district, 'district')
  await district.lib.put({ id: 'c', title: { en: 'Start', fr: 'Début' }, tags: ['a'] })
  await pull(district, school)
  await school.lib.put({ id: 'c', title: { en: 'School', fr: 'École' }, tags: ['school'] })
  await district.lib.put({ id: 'c', title: { en: 'District', fr: 'District' }, tags: ['district'] })
  await pull(district, school)
  const [c] = await lib.conflicts()
  t.same(c.layers.map((l) => l.layer), ['', 'en', 'fr'], 'three layers in conflict')
  t.same(c.layers.map((l) => l.winner.instanceName), ['district', 'district', 'district'], 'the origin wins, named')
  t.same(c.layers.map((l) => l.losers[0].instanceName), ['this instance', 'this instance', 'this instance'], 'this instance lost')
  t.same(c.layers.map((l) => l.losers[0].text), ['tags: school', 'School', 'École'], 'with the text of each side')

  await t.rejects(lib.resolveKeep('c', 'nobody'), { code: 'POLLEN_CONFLICT_NOT_FOUND' }, 'a name with no side')
  const counter = school.log.counter
  const r = await lib.resolveKeep('c', 'this instance')
  t.equal(r.instance, school.log.instance, 'this instance\'s side')
  t.equal(school.log.counter, counter + 3, 'one operation per layer')
  t.same(await lib.conflicts(), [], 'no conflict left')
  t.match(await lib.get('c'), { title: { en: 'School', fr: 'École' }, tags: ['school'] }, 'its version in every layer')
  await t.rejects(lib.resolveKeep('c', 'district'), { code: 'POLLEN_CONFLICT_NOT_FOUND' }, 'nothing left to resolve')

  // By an operation of the side.
  await district.lib.put({ id: 'c', title: { en: 'District 2', fr: 'District 2' }, tags: ['school'] })
  await school.lib.put({ id: 'c', title: { en: 'School 2', fr: 'École' }, tags: ['school', 'x'] })
  await pull(district, school)
  const again = (await lib.conflicts())[0]
  const op = again.layers.find((l) => l.layer === 'en')?.winner.op as string
  await lib.resolveKeep('c', op)
  t.match(await lib.get('c'), { title: { en: 'District 2', fr: 'District 2' }, tags: ['school'] }, 'the side of the operation given, in every layer')
  t.same(await lib.conflicts(), [], 'resolved')
})
