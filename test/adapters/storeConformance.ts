/**
 * The KVStore conformance suite (in the style of abstract-level's and automerge-repo's shared
 * adapter tests): every adapter runs it. It checks the storage contract core relies on, then
 * the log semantics built on top of it (reopen, duplicates, counter reuse, tampered ops).
 *
 * `open()` gives a fresh, empty store per subtest. `reopen()`, when given, closes the current
 * handle and returns a new one on the same data (the disk case). `cleanup()` closes whatever
 * handle is current and removes the data.
 */
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { isPollenError } from '../../core/errors.js'
import { key, pad } from '../../core/log/keys.js'
import { Library } from '../../core/library/library.js'
import { OpLog } from '../../core/log/opLog.js'
import { makeOperation, type Operation } from '../../core/model/operation.js'
import { prefixRange, type KeyRange, type KVStore } from '../../core/log/store.js'
import { allOps, memoryInstance, newAuthor } from '../helpers/instances.js'

export interface StoreFixture {
  store: KVStore
  reopen?: () => Promise<KVStore>
  cleanup: () => Promise<void>
  /** The bytes of every file the store keeps, for a store on disk: where an old value could linger. */
  files?: () => Buffer[]
}

const hex = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'))
/** LevelDB order: bytes of the UTF-8 encoding. */
const byteCmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))

async function collect(store: KVStore, r: KeyRange): Promise<string[]> {
  const out: string[] = []
  for await (const [k] of store.range(r)) out.push(k)
  return out
}

async function collectKeys(store: KVStore, r: KeyRange): Promise<string[]> {
  const out: string[] = []
  for await (const k of store.keys(r)) out.push(k)
  return out
}

/** Every key and value of a store, values as hex: for byte-for-byte comparisons. */
export async function dumpStore(store: KVStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for await (const [k, v] of store.range({})) out[k] = Buffer.from(v).toString('hex')
  return out
}

/** Everything observable of an open log, for comparing a log with the same log reopened. */
async function logSnapshot(log: OpLog, lib: Library) {
  const projections: Record<string, string> = {}
  for (const family of [key.states(), key.statuses(), key.conflicts()]) {
    for await (const [k, v] of log.store.range(prefixRange(family))) projections[k] = Buffer.from(v).toString('hex')
  }
  const vectors = log.vectors
    .entries()
    .map((e) => ({ prefix: e.prefix, layer: e.layer, counters: { ...e.counters } }))
    .sort((a, b) => byteCmp(`${a.layer}\u0000${a.prefix}`, `${b.layer}\u0000${b.prefix}`))
  return {
    author: log.author,
    counter: log.counter,
    authors: log.authors(),
    maxHeld: Object.fromEntries(log.authors().map((a) => [a, log.maxHeld(a)])),
    vectors,
    projections,
    published: (await lib.list()).map((v) => v.id).sort(),
    pending: (await lib.list({ status: 'pending' })).map((v) => v.id).sort(),
  }
}

function openLibrary(store: KVStore, author: string): Promise<{ log: OpLog; lib: Library }> {
  return OpLog.open(store, { author, languages: ['en', 'fr'] }).then((log) => ({ log, lib: new Library(log, { source: { name: 'conformance' }, defaultPartition: 'lib' }) }))
}

export async function runStoreConformance(t: Test, name: string, open: () => Promise<StoreFixture>): Promise<void> {
  await t.test(`${name}: KVStore conformance`, async (t) => {
    const withStore = (title: string, fn: (t: Test, fx: StoreFixture) => Promise<void>) =>
      t.test(`${name}: ${title}`, async (t) => {
        const fx = await open()
        t.teardown(() => fx.cleanup())
        await fn(t, fx)
      })

    await withStore('get of a missing key is undefined', async (t, { store }) => {
      t.equal(await store.get('nope'), undefined)
      t.same(await store.getMany([]), [])
      t.same(await store.getMany(['a', 'b']), [undefined, undefined])
      t.same(await collect(store, {}), [], 'a fresh store is empty')
    })

    await withStore('put/get round trip of bytes', async (t, { store }) => {
      const values: Record<string, Uint8Array> = {
        empty: new Uint8Array(0),
        zeros: new Uint8Array([0, 0, 0]),
        mixed: new Uint8Array([0, 1, 0xff, 0, 0x80, 0]),
        large: new Uint8Array(randomBytes(200_000)),
      }
      await store.write(Object.entries(values).map(([k, value]) => ({ type: 'put' as const, key: k, value })))
      for (const [k, v] of Object.entries(values)) {
        const got = await store.get(k)
        t.ok(got instanceof Uint8Array, `${k} comes back as a Uint8Array`)
        t.equal(got?.length, v.length, `${k} keeps its length`)
        t.equal(hex(got), hex(v), `${k} keeps its bytes`)
      }
      await store.write([{ type: 'put', key: 'mixed', value: new Uint8Array([7]) }])
      t.equal(hex(await store.get('mixed')), '07', 'a put overwrites')
    })

    await withStore('getMany keeps order and reports missing keys', async (t, { store }) => {
      await store.write([
        { type: 'put', key: 'a', value: new Uint8Array([1]) },
        { type: 'put', key: 'c', value: new Uint8Array([3]) },
        { type: 'put', key: 'e', value: new Uint8Array(0) },
      ])
      const got = await store.getMany(['c', 'missing', 'a', 'c', 'e', 'b'])
      t.same(got.map(hex), ['03', undefined, '01', '03', '', undefined])
    })

    await withStore('range and keys in byte order, with bounds, limit and reverse', async (t, { store }) => {
      const author = 'aa.1'
      const keys = [
        'a', 'a\u0000', 'a\u0000b', 'a\u0000\u0000', 'a\u0001', 'ab', 'b', 'B', 'k\u00e9', 'k\uffee', 'k\u{1F600}', 'z',
        key.op(author, 9), key.op(author, 10), key.op(author, 100), key.op(author, 1), key.op('aa.10', 2),
        key.recordOp('resource', 'x', author, 9), key.recordOp('resource', 'x', author, 10), key.recordOp('resource', 'x0', author, 1),
      ]
      const all = [...keys].sort(byteCmp)
      await store.write(keys.map((k, i) => ({ type: 'put' as const, key: k, value: new Uint8Array([i]) })))
      t.same(await collect(store, {}), all, 'whole range in UTF-8 byte order')
      t.same(await collectKeys(store, {}), all, 'keys() in the same order')
      t.same(await collect(store, { reverse: true }), [...all].reverse(), 'reverse')
      const within = (r: KeyRange) =>
        all.filter((k) => (r.gt === undefined || byteCmp(k, r.gt) > 0) && (r.gte === undefined || byteCmp(k, r.gte) >= 0) && (r.lt === undefined || byteCmp(k, r.lt) < 0) && (r.lte === undefined || byteCmp(k, r.lte) <= 0))
      const bounds: KeyRange[] = [
        { gt: 'a' }, { gte: 'a' }, { gt: 'a\u0000' }, { gte: 'a\u0000', lt: 'a\u0001' }, { gt: 'a', lte: 'ab' },
        { gte: 'aa', lt: 'b' }, { lt: 'a\u0000b' }, { lte: 'a\u0000b' }, { gt: 'k', lt: 'k\uffff' }, { gte: 'zz' }, { gt: 'b', lt: 'a' },
      ]
      for (const b of bounds) {
        const label = JSON.stringify(b)
        t.same(await collect(store, b), within(b), `range ${label}`)
        t.same(await collectKeys(store, b), within(b), `keys ${label}`)
        t.same(await collect(store, { ...b, reverse: true }), within(b).reverse(), `reverse ${label}`)
        t.same(await collect(store, { ...b, limit: 2 }), within(b).slice(0, 2), `limit 2 ${label}`)
        t.same(await collect(store, { ...b, limit: 2, reverse: true }), within(b).reverse().slice(0, 2), `reverse limit 2 ${label}`)
      }
      const ops = prefixRange(key.opsOf(author))
      t.same(await collect(store, ops), [key.op(author, 1), key.op(author, 9), key.op(author, 10), key.op(author, 100)], 'counters iterate numerically; another author with a longer id is not included')
      t.same(await collectKeys(store, { ...ops, reverse: true, limit: 1 }), [key.op(author, 100)], 'the last counter is one reverse seek away')
      t.same(await collect(store, { gt: key.op(author, 9), lt: key.opsOf(author) + '\uffff' }), [key.op(author, 10), key.op(author, 100)], 'scan after counter 9')
      t.same(await collect(store, prefixRange(key.recordOps('resource', 'x'))), [key.recordOp('resource', 'x', author, 9), key.recordOp('resource', 'x', author, 10)], 'record x does not include record x0')
      t.ok(byteCmp(pad(9), pad(10)) < 0 && pad(10).length === pad(9).length, 'pad keeps width and numeric order')
      const [first] = await collect(store, { gte: 'a\u0000', limit: 1 })
      t.equal(first, 'a\u0000', 'a key ending in NUL is found by gte')
      t.equal(hex(await store.get('a\u0000\u0000')), hex(new Uint8Array([keys.indexOf('a\u0000\u0000')])), 'NUL-bearing keys are distinct keys')
    })

    await withStore('ranges past a thousand entries, and ranges left early', async (t, { store }) => {
      const many = Array.from({ length: 2500 }, (_, i) => `n${pad(i)}`)
      await store.write(many.map((k) => ({ type: 'put' as const, key: k, value: new Uint8Array([1]) })))
      t.same(await collect(store, prefixRange('n')), many, 'every entry across batches, in order')
      t.same(await collectKeys(store, { ...prefixRange('n'), reverse: true }), [...many].reverse(), 'keys across batches, reversed')
      let seen = 0
      for await (const _ of store.range(prefixRange('n'))) if (++seen === 3) break
      for await (const _ of store.keys(prefixRange('n'))) break
      t.equal(seen, 3, 'a consumer may stop early')
      const it = store.range(prefixRange('n'))[Symbol.asyncIterator]()
      await it.next()
      t.same(await it.return?.(), { value: undefined, done: true }, 'return ends the iteration')
      t.same(await it.next(), { value: undefined, done: true }, 'and nothing comes after it')
      await store.write([{ type: 'put', key: 'n', value: new Uint8Array([2]) }])
      t.equal((await collect(store, prefixRange('n'))).length, 2501, 'the store reads and writes on after early exits')
    })

    await withStore('ranges of large values: every byte, in order, past what one read holds', async (t, { store }) => {
      // 3 MiB in all, values of 3 KiB and one of 2 MiB: more than one native read holds
      // (256 KiB), and one value larger than a read on its own.
      const values = Array.from({ length: 300 }, (_, i) => new Uint8Array(randomBytes(3 * 1024)).fill(i % 251, 0, 1))
      values[150] = new Uint8Array(randomBytes(2 * 1024 * 1024))
      const keys = values.map((_, i) => `v${pad(i)}`)
      await store.write(keys.map((k, i) => ({ type: 'put' as const, key: k, value: values[i] })))
      const got: [string, string][] = []
      for await (const [k, v] of store.range(prefixRange('v'))) got.push([k, Buffer.from(v).toString('hex')])
      t.same(got.map(([k]) => k), keys, 'every key, in order')
      t.ok(got.every(([, v], i) => v === Buffer.from(values[i]).toString('hex')), 'every value byte for byte')
      t.same(await collect(store, { ...prefixRange('v'), reverse: true, limit: 160 }), [...keys].reverse().slice(0, 160), 'reversed, with a limit, across the large value')
    })

    await withStore('atomic batches of puts and dels', async (t, { store }) => {
      await store.write([
        { type: 'put', key: 'keep', value: new Uint8Array([1]) },
        { type: 'put', key: 'gone', value: new Uint8Array([2]) },
      ])
      await store.write([
        { type: 'put', key: 'n1', value: new Uint8Array([3]) },
        { type: 'del', key: 'gone' },
        { type: 'put', key: 'n2', value: new Uint8Array(0) },
        { type: 'del', key: 'never-existed' },
        { type: 'put', key: 'twice', value: new Uint8Array([4]) },
        { type: 'put', key: 'twice', value: new Uint8Array([5]) },
        { type: 'put', key: 'put-then-del', value: new Uint8Array([6]) },
        { type: 'del', key: 'put-then-del' },
      ])
      t.same(await dumpStore(store), { keep: '01', n1: '03', n2: '', twice: '05' }, 'every write visible after, later writes in a batch win')
      const before = await dumpStore(store)
      await store.write([])
      t.same(await dumpStore(store), before, 'an empty batch is fine and changes nothing')
      const bad = [
        { type: 'put' as const, key: 'x1', value: new Uint8Array([1]) },
        { type: 'del' as const, key: 'keep' },
        { type: 'put' as const, key: 'x2', value: undefined as unknown as Uint8Array },
      ]
      const err = await store.write(bad).then(() => undefined, (e: unknown) => e)
      t.ok(isPollenError(err, 'POLLEN_STORAGE'), 'an invalid batch fails with POLLEN_STORAGE')
      t.same(await dumpStore(store), before, 'a failed batch writes nothing')
      await store.write([{ type: 'put', key: 'after', value: new Uint8Array([9]) }])
      t.same(await dumpStore(store), { ...before, after: '09' }, 'the store takes batches again after a failed one')
    })

    for (const [where, reopenBetween] of [['old and new values in one write buffer', false], ['old values in a table, new ones in the write-ahead log', true]] as const) {
      await withStore(`compact (${where}): values overwritten or deleted in the range leave storage, current ones stay`, async (t, fx) => {
        const marker = `overwritten-${randomBytes(8).toString('hex')}`
        const inFiles = () => (fx.files ? fx.files().filter((b) => b.includes(marker)).length : 0)
        const keep = { [key.op('aa.1', 1)]: 'before', [key.op('aa.1', 3)]: 'after', outside: 'kept' }
        const scrubbed = [key.op('aa.1', 2), key.op('aa.1', 2) + '\u0000x']
        const bytesOf = (v: string) => new Uint8Array(Buffer.from(v))
        await fx.store.write([...Object.entries(keep), ...scrubbed.map((k) => [k, marker] as const)].map(([k, v]) => ({ type: 'put' as const, key: k, value: bytesOf(v) })))
        if (reopenBetween && fx.reopen) fx.store = await fx.reopen()
        await fx.store.write([{ type: 'put', key: scrubbed[0], value: bytesOf('clean') }, { type: 'del', key: scrubbed[1] }])
        if (fx.files) t.ok(inFiles() > 0, 'before compaction the old values are still in the files')
        await fx.store.compact({ gte: scrubbed[0], lte: scrubbed[1] })
        const expected = Object.fromEntries(Object.entries({ ...keep, [scrubbed[0]]: 'clean' }).map(([k, v]) => [k, Buffer.from(v).toString('hex')]))
        t.same(await dumpStore(fx.store), expected, 'every current value is kept, the deleted key stays deleted')
        if (fx.files) {
          t.equal(inFiles(), 0, 'no file of the store holds an overwritten or deleted value any more')
          if (fx.reopen) fx.store = await fx.reopen()
          t.equal(inFiles(), 0, 'nor after a reopen')
          t.same(await dumpStore(fx.store), expected, 'and the values are as they were')
        }
        await fx.store.compact({ gte: 'zz', lte: 'zz\uffff' })
        t.same(await dumpStore(fx.store), expected, 'compacting an empty range changes nothing')
      })
    }

    await withStore('data persists after reopen', async (t, fx) => {
      if (!fx.reopen) {
        t.plan(0, 'no reopen for this adapter')
        return
      }
      const entries = { 'a\u0000b': '00ff00', empty: '', [key.op('aa.1', 10)]: 'abcdef' }
      await fx.store.write(Object.entries(entries).map(([k, v]) => ({ type: 'put' as const, key: k, value: new Uint8Array(Buffer.from(v, 'hex')) })))
      await fx.store.write([{ type: 'put', key: 'tmp', value: new Uint8Array([1]) }, { type: 'del', key: 'tmp' }])
      const store = await fx.reopen()
      t.same(await dumpStore(store), entries)
      t.equal(hex(await store.get('empty')), '', 'an empty value survives as an empty value')
    })

    await withStore('log: reopen gives the same counter, vectors, maxHeld and projections', async (t, fx) => {
      const author = newAuthor()
      const { log, lib } = await openLibrary(fx.store, author)
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push((await lib.put({ title: { en: `T${i}`, fr: `F${i}` }, description: { en: 'd' }, tags: [`t${i}`] })).id)
      await lib.put({ id: ids[0], title: { en: 'T0 v2', fr: 'F0 v2' } })
      await lib.delete(ids[1])
      await lib.delete(ids[2], true)
      await lib.import(Array.from({ length: 30 }, (_, i) => ({ title: { en: `imp ${i}` } })))
      const peer = await memoryInstance({ languages: ['en', 'fr'] })
      await peer.lib.put({ title: { en: 'from peer', fr: 'du pair' } })
      const peerOps = await allOps(peer.log)
      const r = await log.applyRemote(peerOps, [{ prefix: '', layer: '', author: peer.log.author, counter: peer.log.counter }])
      t.equal(r.new, 1, 'the peer resource is new here')
      const before = await logSnapshot(log, lib)
      t.ok(before.counter > 40 && before.pending.length === 1, 'the log holds local and remote work')
      t.same(before.maxHeld, { [author]: log.counter, [peer.log.author]: peer.log.counter })

      const again = await openLibrary(fx.store, author)
      t.same(await logSnapshot(again.log, again.lib), before, 'a second open of the same store sees the same log')
      if (fx.reopen) {
        const store = await fx.reopen()
        const reopened = await openLibrary(store, author)
        t.same(await logSnapshot(reopened.log, reopened.lib), before, 'the reopened store gives the same log')
        const { id } = await reopened.lib.put({ title: { en: 'after reopen' } })
        t.equal(reopened.log.counter, before.counter + 2, 'the counter continues after reopen')
        t.ok(await store.get(key.op(author, before.counter + 1)), 'the next op sits right after the last one')
        t.equal((await reopened.lib.get(id)).status, 'published')
      }
    })

    await withStore('log: duplicates, counter reuse and tampered ops leave storage unchanged', async (t, fx) => {
      const author = newAuthor()
      const { log, lib } = await openLibrary(fx.store, author)
      const { id } = await lib.put({ title: { en: 'mine', fr: 'le mien' } })
      const peer = await memoryInstance({ languages: ['en', 'fr'] })
      await peer.lib.put({ title: { en: 'theirs' } })
      await peer.lib.put({ title: { en: 'theirs 2' } })
      const peerOps = await allOps(peer.log)
      await log.applyRemote(peerOps)
      const dump = await dumpStore(fx.store)
      const counter = log.counter

      const dup = await log.applyRemote([...peerOps].reverse())
      t.equal(dup.duplicates, peerOps.length, 'every op counted as duplicate')
      t.equal(dup.applied, 0)
      t.equal(dup.new + dup.updated, 0)
      t.same(await dumpStore(fx.store), dump, 'a duplicate changes nothing')

      const mine = (await log.getOp(author, 1)) as Operation
      const variants: [string, Operation][] = [
        ['a peer op', peerOps[0]],
        ['one of our own ops', mine],
      ]
      for (const [what, op] of variants) {
        const reuse = makeOperation({ ...op, body: { tags: ['forged'], links: [], files: [], source: { instance: 'x' } } })
        const fresh = makeOperation({ ...peerOps[0], author: newAuthor(), counter: 1, tx: 1, deps: {}, body: { tags: [], links: [], files: [], source: { instance: 'y' } } })
        const err = await log.applyRemote([fresh, reuse]).then(() => undefined, (e: unknown) => e)
        t.ok(isPollenError(err, 'POLLEN_COUNTER_REUSE'), `reusing the counter of ${what} is refused with POLLEN_COUNTER_REUSE`)
        t.same(await dumpStore(fx.store), dump, `storage is byte-for-byte unchanged (${what}), including the valid op in the same batch`)
      }

      const target = peerOps[1]
      const tampered: [string, Operation][] = [
        ['a flipped body byte', { ...target, body: Uint8Array.from(target.body as Uint8Array, (b, i) => (i === 3 ? b ^ 1 : b)) }],
        ['a changed timestamp', { ...target, counter: target.counter + 10, hlc: target.hlc + 1 }],
        ['a new op with a swapped body', { ...makeOperation({ ...target, counter: peer.log.counter + 1, tx: peer.log.counter + 1, body: { tags: ['a'], links: [], files: [], source: { instance: 'z' } } }), body: target.body }],
      ]
      for (const [what, op] of tampered) {
        const err = await log.applyRemote([op]).then(() => undefined, (e: unknown) => e)
        t.ok(isPollenError(err, 'POLLEN_HASH_MISMATCH'), `${what} is refused with POLLEN_HASH_MISMATCH`)
        t.same(await dumpStore(fx.store), dump, `storage unchanged after ${what}`)
      }
      t.equal(log.counter, counter, 'the counter did not move')
      t.equal(log.maxHeld(peer.log.author), peer.log.counter, 'maxHeld did not move')
      t.equal((await lib.get(id)).title.en, 'mine')
    })
  })
}
