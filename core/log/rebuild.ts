/**
 * Rebuilds projections from the log: clear them, replay every operation, then derive the
 * status and conflict indexes. The merge is order-independent, so the result equals what
 * incremental maintenance wrote. A marker key makes an interrupted rebuild resume at open.
 */
import { decodeOperation } from './storedOp.js'
import { decodeState, encodeState, encodeValue, key, parts } from './keys.js'
import { applyInPlace, settled, workingState, type RecordState } from '../model/merge.js'
import { decodeReview, indexWrites, type ReviewRecord } from './projection.js'
import { prefixRange, type BatchOp, type KVStore } from './store.js'

/** What rebuild needs of the log (kept narrow to avoid a cycle with OpLog). */
export interface RebuildTarget {
  readonly store: KVStore
  readonly instance: string
}

const FLUSH_RECORDS = 20_000
const BATCH_WRITES = 10_000

async function clearFamily(store: KVStore, prefix: string): Promise<void> {
  let batch: BatchOp[] = []
  for await (const k of store.keys(prefixRange(prefix))) {
    batch.push({ type: 'del', key: k })
    if (batch.length >= BATCH_WRITES) {
      await store.write(batch)
      batch = []
    }
  }
  if (batch.length) await store.write(batch)
}

/** Replays the whole log into fresh projections. Call under the log's write lock. */
export async function rebuildProjections(log: RebuildTarget, onProgress?: (done: number) => void): Promise<{ ops: number; records: number }> {
  const { store } = log
  await store.write([{ type: 'put', key: key.meta('rebuilding'), value: encodeValue(1) }])
  for (const family of [key.states(), key.statuses(), key.conflicts()]) await clearFamily(store, family)

  const cache = new Map<string, RecordState>()
  // Projections were cleared, so a stored state exists only for records flushed earlier:
  // remembering those saves a storage read for every other first touch.
  const flushed = new Set<string>()
  const flush = async (): Promise<void> => {
    let batch: BatchOp[] = []
    for (const [rk, s] of cache) {
      flushed.add(rk)
      batch.push({ type: 'put', key: key.state(s.kind, s.id), value: encodeState(settled(s)) })
      if (batch.length >= BATCH_WRITES) {
        await store.write(batch)
        batch = []
      }
    }
    if (batch.length) await store.write(batch)
    cache.clear()
  }
  let ops = 0
  for await (const [, v] of store.range(prefixRange(key.allOps()))) {
    const op = decodeOperation(v)
    const rk = `${op.kind}\u0000${op.id}`
    let state = cache.get(rk)
    if (!state) {
      const raw = flushed.has(rk) ? await store.get(key.state(op.kind, op.id)) : undefined
      // A working copy per cached record: its operations apply in place, not copy by copy.
      cache.set(rk, (state = workingState(raw ? decodeState(raw) : undefined, op)))
    }
    applyInPlace(state, op)
    ops += 1
    if (cache.size >= FLUSH_RECORDS) await flush()
    if (onProgress && ops % 10_000 === 0) onProgress(ops)
  }
  await flush()

  // Review decisions are few (one per reviewed resource): read them all at once.
  const reviews = new Map<string, ReviewRecord>()
  for await (const [k, v] of store.range(prefixRange(key.reviews()))) {
    const [kind, id] = parts(k)
    reviews.set(`${kind}\u0000${id}`, decodeReview(v))
  }
  let records = 0
  let batch: BatchOp[] = []
  for await (const [, v] of store.range(prefixRange(key.states()))) {
    const state = decodeState(v)
    const review = reviews.get(`${state.kind}\u0000${state.id}`)
    batch.push(...indexWrites(state, undefined, review, review, log.instance))
    records += 1
    if (batch.length >= BATCH_WRITES) {
      await store.write(batch)
      batch = []
    }
  }
  batch.push({ type: 'del', key: key.meta('rebuilding') })
  await store.write(batch)
  return { ops, records }
}
