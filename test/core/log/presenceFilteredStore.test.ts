import t from 'tap'
import fc from 'fast-check'
import { LevelStore } from '../../../adapters/levelStore.js'
import { isPollenError } from '../../../core/errors.js'
import { PresenceFilteredStore } from '../../../core/log/presenceFilteredStore.js'
import { WARM_AFTER_OPS } from '../../../core/log/opLog.js'
import { memoryInstance } from '../../helpers/instances.js'
import type { BatchOp, KeyRange, KVStore } from '../../../core/log/store.js'

/** A store that records which keys were read from it. */
class SpyStore implements KVStore {
  readonly read: string[] = []
  closed = false
  constructor(readonly inner: KVStore) {}
  get(k: string) {
    this.read.push(k)
    return this.inner.get(k)
  }
  getMany(keys: readonly string[]) {
    this.read.push(...keys)
    return this.inner.getMany(keys)
  }
  range(r: KeyRange) {
    return this.inner.range(r)
  }
  keys(r: KeyRange) {
    return this.inner.keys(r)
  }
  write(ops: readonly BatchOp[]) {
    return this.inner.write(ops)
  }
  compact(range: { gte: string; lte: string }) {
    return this.inner.compact(range)
  }
  async close() {
    this.closed = true
    await this.inner.close()
  }
}

const bytes = (n: number) => new Uint8Array([n])
const put = (key: string, n: number): BatchOp => ({ type: 'put', key, value: bytes(n) })

async function fixture(before: BatchOp[] = []): Promise<{ spy: SpyStore; store: PresenceFilteredStore }> {
  const spy = new SpyStore(await LevelStore.openMemory())
  if (before.length) await spy.write(before)
  return { spy, store: new PresenceFilteredStore(spy, 'R\u0000') }
}

t.test('until warmed every read goes to storage; after, keys never written under the prefix do not', async (t) => {
  const { spy, store } = await fixture([put('R\u0000a', 1), put('M\u0000x', 2)])
  t.same(await store.getMany(['R\u0000a', 'R\u0000nope']), [bytes(1), undefined])
  t.same(spy.read, ['R\u0000a', 'R\u0000nope'], 'not warmed: both keys read')
  t.equal(store.ready, false)

  const warmed = await store.warm()
  t.same(warmed, { keys: 1, complete: true }, 'warming found the one stored key under the prefix')
  t.equal(store.ready, true)
  t.equal(store.warm(), store.warm(), 'warming again returns the first result')
  spy.read.length = 0
  t.same(await store.getMany(['R\u0000nope', 'R\u0000a', 'M\u0000x', 'M\u0000nope']), [undefined, bytes(1), bytes(2), undefined])
  t.same(spy.read, ['R\u0000a', 'M\u0000x', 'M\u0000nope'], 'the absent record key was answered without storage; other families always read')
  t.equal(await store.get('R\u0000nope'), undefined)
  t.same(await store.getMany(['R\u0000nope', 'R\u0000other']), [undefined, undefined])
  t.same(spy.read, ['R\u0000a', 'M\u0000x', 'M\u0000nope'], 'nothing read for absent keys alone')
  t.ok(store.filterBytes > 0)
})

t.test('keys written before, during and after warming are all found', async (t) => {
  const { store } = await fixture(Array.from({ length: 3000 }, (_, i) => put(`R\u0000old${i}`, i % 256)))
  const warming = store.warm()
  await store.write([put('R\u0000during', 7), { type: 'del', key: 'R\u0000old5' }])
  await warming
  await store.write([put('R\u0000after', 8)])
  const values = await store.getMany(['R\u0000old0', 'R\u0000old2999', 'R\u0000during', 'R\u0000after', 'R\u0000old5'])
  t.same(values, [bytes(0), bytes(2999 % 256), bytes(7), bytes(8), undefined])
})

t.test('a failed batch leaves the store as it was and its keys readable as absent', async (t) => {
  const { store } = await fixture()
  await store.warm()
  const err = await store.write([put('R\u0000x', 1), { type: 'put', key: 'R\u0000y', value: undefined as unknown as Uint8Array }]).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(isPollenError(err, 'POLLEN_STORAGE'), 'refused with POLLEN_STORAGE')
  t.same(await store.getMany(['R\u0000x', 'R\u0000y']), [undefined, undefined], 'nothing was written')
  await store.write([put('R\u0000x', 2)])
  t.same(await store.get('R\u0000x'), bytes(2))
})

t.test('closing while warming stops the scan and closes the store under it', async (t) => {
  const { spy, store } = await fixture(Array.from({ length: 5000 }, (_, i) => put(`R\u0000k${i}`, 1)))
  const warming = store.warm()
  await store.close()
  const r = await warming
  t.equal(r.complete, false, 'warming reports that it did not finish')
  t.equal(store.ready, false)
  t.equal(spy.closed, true)
})

t.test('reads through the filter equal reads of the store, for any writes and any moment of warming', async (t) => {
  const keyArb = fc.constantFrom('R\u0000a', 'R\u0000b', 'R\u0000c', 'R\u0000d', 'Rx', 'M\u0000a')
  const step = fc.oneof(
    fc.record({ k: fc.constant('put' as const), key: keyArb, v: fc.nat(255) }),
    fc.record({ k: fc.constant('del' as const), key: keyArb }),
    fc.record({ k: fc.constant('warm' as const) }),
    fc.record({ k: fc.constant('read' as const), keys: fc.array(keyArb, { maxLength: 5 }) }),
  )
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
      const { store } = await fixture([put('R\u0000a', 9)])
      const model = new Map<string, number>([['R\u0000a', 9]])
      for (const s of steps) {
        if (s.k === 'put') {
          await store.write([put(s.key, s.v)])
          model.set(s.key, s.v)
        } else if (s.k === 'del') {
          await store.write([{ type: 'del', key: s.key }])
          model.delete(s.key)
        } else if (s.k === 'warm') {
          await store.warm()
        } else {
          const got = (await store.getMany(s.keys)).map((v) => (v === undefined ? undefined : v[0]))
          if (JSON.stringify(got) !== JSON.stringify(s.keys.map((k) => model.get(k)))) return false
        }
      }
      return true
    }),
    { numRuns: 200 },
  )
  t.pass('200 random cases agree with a plain map')
})

t.test('the log loads its record filter by itself once this process has written WARM_AFTER_OPS operations', async (t) => {
  const { log, lib } = await memoryInstance()
  const resources = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${from + i}`, title: { en: `title ${from + i}` } }))
  await lib.import(resources(0, 10))
  t.equal(log.store.ready, false, 'a few writes: not loaded, nothing scanned')
  let written = 10
  for (let from = 10; written < WARM_AFTER_OPS; from += 1000) {
    const r = await lib.import(resources(from, 1000))
    written += r.created
  }
  // The log started loading by itself; nothing here calls warm().
  for (let i = 0; i < 500 && !log.store.ready; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(log.store.ready, true, `loaded after ${WARM_AFTER_OPS} operations`)
  t.ok((await lib.get('r0')) !== null, 'a record written before loading is found')
  const err = await lib.get('r-never').then(() => undefined, (e: unknown) => e)
  t.ok(isPollenError(err, 'POLLEN_NOT_FOUND'), 'an absent one is absent')
})
