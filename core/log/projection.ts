/**
 * Projections of a record's state: the review-status index and the conflict list (the
 * resource view is in core/library/library.ts), their writes and their reads. Computed from
 * state alone (plus the local review decision), so incremental maintenance and a rebuild
 * from the log write the same bytes.
 */
import { conflictsOf, isLive, originOf, visibleLayers, type LayerConflict, type RecordState } from '../model/merge.js'
import { opRef, type OpRef } from '../model/operation.js'
import { decodeState, decodeValue, encodeState, encodeValue, key, parts } from './keys.js'
import { prefixRange, type BatchOp, type KVStore } from './store.js'

/** Review status of a resource on this instance (local, never synced). */
export type ReviewStatus = 'published' | 'pending' | 'rejected'

/** A content administrator's decision about a resource from a peer (local, never synced). */
export type ReviewDecision = 'approved' | 'rejected'

/** The record of a decision (`W` keys): who decided what, when and why, about which version. */
export interface ReviewRecord {
  decision: ReviewDecision
  reason?: string
  /** Who decided: an administrator's account name, or the system user who ran the CLI. */
  by?: string
  /** When, as an ISO time; empty for a decision stored before decisions had records. */
  at: string
  /** The version decided on: the winning operation of each layer held, by layer ("" = neutral). */
  version?: Record<string, OpRef>
  /**
   * Set when, under the review policy `hold`, a peer changed an approved resource: it is
   * pending again until decided anew, and `version` still names what was approved.
   */
  held?: boolean
}

/** The winning operation of each visible layer: what a decision records as the version seen. */
export function winnerRefs(state: RecordState): Record<string, OpRef> {
  const out: Record<string, OpRef> = {}
  for (const [layer, head] of Object.entries(visibleLayers(state))) out[layer] = opRef(head)
  return out
}

/** Decodes a stored decision; one stored as a bare string (before records) reads as a record without time. */
export function decodeReview(raw: Uint8Array): ReviewRecord {
  const v = decodeValue<ReviewRecord | ReviewDecision>(raw)
  return typeof v === 'string' ? { decision: v, at: '' } : v
}

/** The status a record shows, or null when it is deleted (or not yet created here). */
export function statusOf(state: RecordState | undefined, review: ReviewRecord | undefined, self: string): ReviewStatus | null {
  if (!state || !isLive(state)) return null
  if (state.kind !== 'resource' || originOf(state) === self) return 'published'
  if (review?.held) return 'pending'
  if (review?.decision === 'approved') return 'published'
  if (review?.decision === 'rejected') return 'rejected'
  return 'pending'
}

/** What the conflict list stores for a record. */
export interface ConflictEntry {
  kind: string
  id: string
  partition: string
  layers: LayerConflict[]
}

/** A record's move: its state after and before, its review decision after and before, and this instance's id. */
export type RecordMove = [after: RecordState, before: RecordState | undefined, reviewAfter: ReviewRecord | undefined, reviewBefore: ReviewRecord | undefined, self: string]

/**
 * The writes that move a record's projections from `before` to `after`: its state, its
 * review-status index entry and its conflict entry.
 */
export function projectionWrites(...move: RecordMove): BatchOp[] {
  const [after] = move
  return [{ type: 'put', key: key.state(after.kind, after.id), value: encodeState(after) }, ...indexWrites(...move)]
}

/**
 * The writes that move a record's review-status index entry and conflict entry from
 * `before` to `after` (the state itself is written by the caller, or not at all when only
 * the review decision changed).
 */
export function indexWrites(...[after, before, reviewAfter, reviewBefore, self]: RecordMove): BatchOp[] {
  const { kind, id } = after
  const out: BatchOp[] = []
  const was = statusOf(before, reviewBefore, self)
  const now = statusOf(after, reviewAfter, self)
  if (was !== now) {
    if (was) out.push({ type: 'del', key: key.status(was, kind, id) })
    if (now) out.push({ type: 'put', key: key.status(now, kind, id), value: new Uint8Array(0) })
  }
  const conflicts = conflictsOf(after)
  if (conflicts.length > 0) {
    const entry: ConflictEntry = { kind, id, partition: after.partition, layers: conflicts }
    out.push({ type: 'put', key: key.conflict(kind, id), value: encodeValue(entry) })
  } else if (before && conflictsOf(before).length > 0) {
    out.push({ type: 'del', key: key.conflict(kind, id) })
  }
  return out
}

/** Ids of the records of `kind` that show `status`, in id order (read from the status index). */
export async function* idsWithStatus(store: KVStore, status: ReviewStatus, kind: string): AsyncIterable<string> {
  for await (const k of store.keys(prefixRange(key.statuses(status, kind)))) yield parts(k)[2]
}

/** Every record with concurrent heads, as the conflict list stores it. */
export async function* conflictEntries(store: KVStore): AsyncIterable<ConflictEntry> {
  for await (const [, v] of store.range(prefixRange(key.conflicts()))) yield decodeValue<ConflictEntry>(v)
}

/** Many records' states and review decisions in one storage read, in the order of `ids`. */
export async function readRecords(store: KVStore, kind: string, ids: readonly string[]): Promise<{ state: RecordState | undefined; review: ReviewRecord | undefined }[]> {
  const raws = await store.getMany([...ids.map((id) => key.state(kind, id)), ...ids.map((id) => key.review(kind, id))])
  return ids.map((_, i) => {
    const s = raws[i]
    const r = raws[ids.length + i]
    return { state: s ? decodeState(s) : undefined, review: r ? decodeReview(r) : undefined }
  })
}
