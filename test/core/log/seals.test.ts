/** Seal islands (core/log/seals.ts): joined when they touch, kept apart otherwise, and how far they vouch after a reopen. */
import t from 'tap'
import { LevelStore } from '../../../adapters/levelStore.js'
import { SealStore, type Island } from '../../../core/log/seals.js'
import { authorOf, instanceIdOf, newIdentity } from '../../../core/model/identity.js'
import type { Operation } from '../../../core/model/operation.js'

const author = '0123456789abcdef0123456789abcdef.1'
const island = (base: number, last: number, omitted: number[] = []): Island => ({
  author, s: 0, base, baseDigest: base === 0 ? null : new Uint8Array(32).fill(base), last, digest: new Uint8Array(32).fill(last), sig: new Uint8Array(64).fill(last), key: new Uint8Array(32), omitted: new Map(omitted.map((c) => [c, new Uint8Array(32).fill(c)])),
})

t.test('islands that touch are joined, others kept apart; the reach survives a reopen', async (t) => {
  const store = await LevelStore.openMemory()
  const seals = new SealStore(store)
  const add = async (i: Island) => {
    const m = await seals.mergeWrites([i])
    await store.write(m.writes)
    m.commit()
  }
  await add(island(0, 5, [2]))
  await add(island(20, 30))
  t.same((await seals.islands(author, 0)).map((i) => [i.base, i.last]), [[0, 5], [20, 30]], 'apart')
  await add(island(5, 12, [9]))
  const joined = await seals.islands(author, 0)
  t.same(joined.map((i) => [i.base, i.last]), [[0, 12], [20, 30]], 'the touching one joined: from the lower base to the further seal')
  t.same([...joined[0].omitted.keys()].sort((a, b) => a - b), [2, 9], 'with both islands\' omitted hashes')
  t.equal(joined[0].sig[0], 12, 'and the seal that reaches further')
  t.equal(seals.vouched(author), 30)
  const again = new SealStore(store)
  await again.load()
  t.equal(again.vouched(author), 30, 'after a reopen')
  t.equal(again.vouched('ffffffffffffffffffffffffffffffff.1'), 0, 'an author without seals')
})

t.test('islands kept in memory follow the store: an uncommitted merge changes nothing, a commit and an own seal replace them', async (t) => {
  const store = await LevelStore.openMemory()
  const seals = new SealStore(store)
  const first = await seals.mergeWrites([island(0, 5)])
  await store.write(first.writes)
  first.commit()
  t.same((await seals.islands(author, 0)).map((i) => [i.base, i.last]), [[0, 5]], 'read once, now in memory')
  // A batch that never reached the store (a crash, a refused chunk): memory must not move either.
  await seals.mergeWrites([island(5, 9)])
  t.same((await seals.islands(author, 0)).map((i) => [i.base, i.last]), [[0, 5]], 'an uncommitted merge is not seen')
  const second = await seals.mergeWrites([island(5, 9)])
  await store.write(second.writes)
  second.commit()
  t.same((await seals.islands(author, 0)).map((i) => [i.base, i.last]), [[0, 9]], 'a committed one is')
  const reopened = new SealStore(store)
  await reopened.load()
  t.same((await reopened.islands(author, 0)).map((i) => [i.base, i.last]), [[0, 9]], 'and memory agrees with what a reopen reads')
  const copy = await seals.islands(author, 0)
  copy.pop()
  t.equal((await seals.islands(author, 0)).length, 1, 'callers get a copy they may change')

  const me = newIdentity()
  const own = authorOf(instanceIdOf(me.publicKey), 1)
  const op = (counter: number) => ({ author: own, counter, hash: new Uint8Array(32).fill(counter) }) as unknown as Operation
  const a = seals.sealOwn(me, [op(1), op(2)], undefined)
  await store.write(a.writes)
  a.commit()
  t.same((await seals.islands(own, 0)).map((i) => i.last), [2])
  const b = seals.sealOwn(me, [op(3)], a.last)
  await store.write(b.writes)
  b.commit()
  t.same((await seals.islands(own, 0)).map((i) => i.last), [3], 'an own seal that extends the chain replaces the island in memory')
})

t.test('islands read ahead with one range read are the stored ones, and a read that races a write is not kept', async (t) => {
  const store = await LevelStore.openMemory()
  const me = newIdentity()
  const own = authorOf(instanceIdOf(me.publicKey), 1)
  const op = (counter: number) => ({ author: own, counter, hash: new Uint8Array(32).fill(counter % 251) }) as unknown as Operation
  const writer = new SealStore(store)
  // 200 segments of our own operations, one transaction each.
  let last: Island | undefined
  for (let s = 0; s < 200; s++) {
    const r = writer.sealOwn(me, Array.from({ length: 128 }, (_, i) => op(s * 128 + i + 1)), last)
    await store.write(r.writes)
    r.commit()
    last = r.last
  }
  const reader = new SealStore(store)
  await reader.load()
  for (const s of [5, 6, 68, 69, 150, 199]) {
    t.same((await reader.islands(own, s)).map((i) => [i.s, i.base, i.last]), [[s, s * 128, s * 128 + 128]], `segment ${s}`)
  }
  // A range read held up while a seal lands in the segment it reads: what it read is dropped.
  const slow = new SealStore({ ...store, range: (r) => delayed(store.range(r)) } as typeof store)
  await slow.load()
  const reading = slow.islands(own, 10)
  const more = slow.sealOwn(me, [op(200 * 128 + 1)], undefined)
  await store.write(more.writes)
  more.commit()
  t.same((await reading).map((i) => i.last), [10 * 128 + 128], 'the raced read still answers from the store')
  t.same((await slow.islands(own, 200)).map((i) => i.last), [200 * 128 + 1], 'and the new seal is seen')
})

async function* delayed<T>(items: AsyncIterable<T>): AsyncIterable<T> {
  await new Promise((r) => setTimeout(r, 20))
  yield* items
}
