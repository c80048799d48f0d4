/**
 * The steps of applying a peer's batch (OpLog.applyRemote) that need none of the log's own
 * state: which keys the batch reads (one getMany), the record states and review decisions as
 * they were, and the projection writes with each record's effect. They run once per batch and
 * once per operation or record in it: this is the hot path of a pull.
 */
import { decodeState, encodeValue, key } from './keys.js'
import { conflictsOf, isLive, settled, type RecordState } from '../model/merge.js'
import type { Operation } from '../model/operation.js'
import { decodeReview, projectionWrites, statusOf, winnerRefs, type ReviewRecord } from './projection.js'
import type { BatchOp } from './store.js'

/** Totals of a batch applied from a peer. */
export interface ApplyResult {
  applied: number
  duplicates: number
  skipped: number
  new: number
  updated: number
  unchanged: number
  conflicts: number
}

/** A record's slot in the maps of a batch. */
export const recordKey = (kind: string, id: string): string => `${kind}\u0000${id}`

/** What a batch reads, and where each answer stands in the one getMany. */
export interface RemoteReads {
  /** The keys, in this order: the operations that may be held, the record states, the review decisions. */
  keys: string[]
  /** The `A` key of every incoming operation, by its index. */
  opKeys: string[]
  /** The indexes of the incoming operations that may be held: keys[j] is opKeys[maybeHeld[j]]. */
  maybeHeld: number[]
  /** Every record the batch touches, once (recordKey). */
  recordKeys: string[]
  /** False when no review decision was ever recorded here: none is read. */
  reviews: boolean
}

/**
 * The keys a batch reads: held copies, states, review decisions. An operation above the
 * highest counter held for its author cannot be held: no read; nor can a review decision when
 * none was ever recorded here.
 */
export function planReads(incoming: readonly Operation[], maxHeld: ReadonlyMap<string, number>, anyReviews: boolean): RemoteReads {
  const opKeys = incoming.map((op) => key.op(op.author, op.counter))
  const recordKeys = [...new Set(incoming.map((op) => recordKey(op.kind, op.id)))]
  const pairs = recordKeys.map((rk) => rk.split('\u0000') as [string, string])
  const maybeHeld = incoming.flatMap((op, i) => (op.counter <= (maxHeld.get(op.author) ?? 0) ? [i] : []))
  const keys = maybeHeld.map((i) => opKeys[i])
  for (const [kind, id] of pairs) keys.push(key.state(kind, id))
  if (anyReviews) for (const [kind, id] of pairs) keys.push(key.review(kind, id))
  return { keys, opKeys, maybeHeld, recordKeys, reviews: anyReviews }
}

/** The stored copies read, by the index of the incoming operation (undefined: not held). */
export function heldCopies(reads: RemoteReads, values: readonly (Uint8Array | undefined)[]): Map<number, Uint8Array | undefined> {
  const existing = new Map<number, Uint8Array | undefined>()
  reads.maybeHeld.forEach((i, j) => existing.set(i, values[j]))
  return existing
}

/** Each touched record as it was before the batch: its state and review decision. */
export interface RecordsBefore {
  before: Map<string, RecordState | undefined>
  reviewOf: Map<string, ReviewRecord | undefined>
}

export function recordsBefore(reads: RemoteReads, values: readonly (Uint8Array | undefined)[]): RecordsBefore {
  const before = new Map<string, RecordState | undefined>()
  const reviewOf = new Map<string, ReviewRecord | undefined>()
  const statesAt = reads.maybeHeld.length
  const reviewsAt = statesAt + reads.recordKeys.length
  reads.recordKeys.forEach((rk, i) => {
    const state = values[statesAt + i]
    const review = reads.reviews ? values[reviewsAt + i] : undefined
    before.set(rk, state ? decodeState(state) : undefined)
    reviewOf.set(rk, review ? decodeReview(review) : undefined)
  })
  return { before, reviewOf }
}

/**
 * What a review policy does with a peer's update to an approved resource: `publish` shows it at
 * once (the seeds' rule: source updates overwrite); `hold` puts the resource back in the review
 * queue, the approved version still named in its decision (docs/design.md §7).
 */
export type ReviewPolicy = 'publish' | 'hold'

/**
 * The decision a record has after the batch: under `hold`, an approved resource whose winning
 * versions the batch moved (what readers see changed) is held, pending again. A batch that
 * only adds a losing version, or deletes the resource, leaves the decision as it was.
 */
function reviewAfterBatch(before: RecordState | undefined, after: RecordState, review: ReviewRecord | undefined, policy: ReviewPolicy): ReviewRecord | undefined {
  if (policy !== 'hold' || !review || review.decision !== 'approved' || review.held || !before || !isLive(after)) return review
  const was = winnerRefs(before)
  const now = winnerRefs(after)
  const same = Object.keys(now).length === Object.keys(was).length && Object.entries(now).every(([l, r]) => was[l] === r)
  return same ? review : { ...review, held: true }
}

/**
 * The projection writes of every record the batch changed (`current`: its working state),
 * counting in `result` how each fared: new, updated or unchanged, and whether it gained a conflict.
 * A decision the review policy holds is written in the same batch.
 */
export function recordWrites(current: ReadonlyMap<string, RecordState>, records: RecordsBefore, instance: string, result: ApplyResult, policy: ReviewPolicy = 'publish'): BatchOp[] {
  const batch: BatchOp[] = []
  for (const [rk, working] of current) {
    const after = settled(working)
    const prev = records.before.get(rk)
    const review = records.reviewOf.get(rk)
    const reviewAfter = reviewAfterBatch(prev, after, review, policy)
    if (reviewAfter !== review) batch.push({ type: 'put', key: key.review(after.kind, after.id), value: encodeValue(reviewAfter) })
    batch.push(...projectionWrites(after, prev, reviewAfter, review, instance))
    const was = statusOf(prev, review, instance)
    const now = statusOf(after, reviewAfter, instance)
    if (!was && now) result.new += 1
    else if (was && !now) result.updated += 1
    else if (!prev || encodeStateChanged(prev, after)) result.updated += 1
    else result.unchanged += 1
    if (conflictsOf(after).length > (prev ? conflictsOf(prev).length : 0)) result.conflicts += 1
  }
  return batch
}

function encodeStateChanged(a: RecordState, b: RecordState): boolean {
  return JSON.stringify(versionKeyed(a)) !== JSON.stringify(versionKeyed(b))
}

// Two states of one record differ in what readers see only if some layer's heads differ.
function versionKeyed(s: RecordState): string[] {
  const out: string[] = []
  for (const l of Object.keys(s.layers).sort()) out.push(l, ...s.layers[l].map((h) => `${h.author}:${h.counter}`).sort())
  out.push('|', ...s.deletes.map((h) => `${h.author}:${h.counter}`).sort())
  return out
}
