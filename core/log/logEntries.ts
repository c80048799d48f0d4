/**
 * The log's own entries: operations (`A`), the record index (`I`) that finds a record's
 * operations when a purge drops their bodies, and body reads for views. Kept apart from
 * OpLog so the write path's batch shape is decided in one place.
 */
import { decodeValue, encodeValue, key, parts } from './keys.js'
import { dominates, isAscending, purgedCopy, type OpRef, type Operation } from '../model/operation.js'
import { decodeOperation, encodeOperation, storedBody, withoutBody } from './storedOp.js'
import { dropSeeds, type DroppedSeed, type SeedMarks } from './seedDrops.js'
import { prefixRange, type BatchOp, type KVStore } from './store.js'

/**
 * The batch writes for operations about to be stored (keyed by their `A` key): one `A` entry
 * each, and one `I` entry per run of consecutive operations of one record and author, listing
 * their counters. A local transaction writes a resource as four consecutive operations, and
 * a chunk carries them together, so a run writes one index entry where there were four: every
 * entry costs the native batch call more than its bytes do. (Any split into runs is a valid
 * index: a record's entries are read together, whatever their number.)
 */
export function logWrites(pending: ReadonlyMap<string, Operation>): BatchOp[] {
  const out: BatchOp[] = []
  const index: BatchOp[] = []
  let run: Operation | undefined
  let counters: number[] = []
  const closeRun = (): void => {
    if (!run) return
    if (!isAscending(counters)) counters.sort((a, b) => a - b)
    // Keyed by the run's first counter: unique, since an (author, counter) is stored once.
    index.push({ type: 'put', key: key.recordOp(run.kind, run.id, run.author, counters[0]), value: encodeValue(counters) })
  }
  for (const [k, op] of pending) {
    out.push({ type: 'put', key: k, value: encodeOperation(op) })
    if (run && run.author === op.author && run.id === op.id && run.kind === op.kind) counters.push(op.counter)
    else {
      closeRun()
      run = op
      counters = [op.counter]
    }
  }
  closeRun()
  for (const w of index) out.push(w)
  return out
}

/** The `A` keys of every operation of a record, from its index entries. */
export async function recordOpKeys(store: KVStore, kind: string, id: string): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of store.range(prefixRange(key.recordOps(kind, id)))) {
    const [, , author] = parts(k)
    for (const counter of decodeValue<number[]>(v)) out.push(key.op(author, counter))
  }
  return out
}

/**
 * Drops the payload of every operation of a purged record written before the purge: in the
 * operations about to be stored (`pending`, changed in place) and, as batch writes, in those
 * already stored; and the seeds that went with them (core/log/seedDrops.ts). `ops` are the
 * operations as they came (their copies in `pending` may already be emptied by a purge held).
 * Returns the `A` keys of the stored ones it rewrote — once the batch is written,
 * {@link forgetDropped} makes storage forget their old bytes — and the new seed marks.
 */
export async function purgeBodies(store: KVStore, ops: readonly Operation[], pending: Map<string, Operation>, batch: BatchOp[], marks: SeedMarks): Promise<{ dropped: string[]; marks: string[] }> {
  const rewritten: string[] = []
  const seeds: DroppedSeed[] = []
  for (const purge of ops) {
    if (purge.type !== 'purge') continue
    for (const [k, op] of pending) {
      if (op.kind === purge.kind && op.id === purge.id && op.body && !dominates(op, purge)) pending.set(k, purgedCopy(op))
    }
    const stored = (await recordOpKeys(store, purge.kind, purge.id)).filter((k) => !pending.has(k))
    const raws = await store.getMany(stored)
    stored.forEach((k, i) => {
      const raw = raws[i]
      if (!raw) return
      const op = decodeOperation(raw)
      if (op.body && !dominates(op, purge)) {
        batch.push({ type: 'put', key: k, value: withoutBody(raw) })
        rewritten.push(k)
        if (op.seed) seeds.push({ author: op.author, counter: op.counter, seed: op.seed })
      }
    })
  }
  const salted = await dropSeeds(store, ops, pending, seeds, new Set(rewritten), marks, batch)
  return { dropped: [...rewritten, ...salted.rewritten], marks: salted.marks }
}

/**
 * Makes storage forget the bodies a purge dropped (keys from {@link purgeBodies}, after the
 * batch that rewrote them is written): LevelDB would keep the old bytes in its files until a
 * compaction happened to reach them, readable with `strings`. One compaction per run of
 * consecutive counters of one author, so no other record's entries are rewritten.
 */
export async function forgetDropped(store: KVStore, keys: readonly string[]): Promise<void> {
  const runs: { author: string; first: number; last: number }[] = []
  const sorted = keys.map((k) => parts(k)).map(([author, counter]) => ({ author, counter: Number(counter) }))
  sorted.sort((a, b) => (a.author === b.author ? a.counter - b.counter : a.author < b.author ? -1 : 1))
  for (const { author, counter } of sorted) {
    const run = runs[runs.length - 1]
    if (run && run.author === author && run.last + 1 >= counter) run.last = counter
    else runs.push({ author, first: counter, last: counter })
  }
  for (const r of runs) await store.compact({ gte: key.op(r.author, r.first), lte: key.op(r.author, r.last) })
}

/** Body bytes of operations by reference, read from their log entries (null when purged or absent). */
export async function readBodies(store: KVStore, refs: readonly OpRef[]): Promise<Map<OpRef, Uint8Array | null>> {
  const unique = [...new Set(refs)]
  const raws = await store.getMany(
    unique.map((ref) => {
      const i = ref.lastIndexOf(':')
      return key.op(ref.slice(0, i), Number(ref.slice(i + 1)))
    }),
  )
  const out = new Map<OpRef, Uint8Array | null>()
  unique.forEach((ref, i) => {
    const raw = raws[i]
    out.set(ref, raw ? storedBody(raw) : null)
  })
  return out
}

/** Every operation of a record held here, from its index entries (in index order, not time order). */
export async function recordOperations(store: KVStore, kind: string, id: string): Promise<Operation[]> {
  const keys = await recordOpKeys(store, kind, id)
  const raws = await store.getMany(keys)
  return raws.flatMap((raw) => (raw ? [decodeOperation(raw)] : []))
}
