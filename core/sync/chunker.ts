/**
 * Cuts a diff into chunk payloads: at most `maxOps` operations or about `maxBytes` encoded
 * bytes each, never splitting one local transaction (operations written together travel
 * together). Each payload says, per author, how far that author's stream has been sent.
 */
import type { DiffItem } from './diff.js'
import type { Operation } from '../model/operation.js'
import { SEGMENT_OPS } from '../model/seal.js'

/** A chunk as the chunker cuts it, before it is sealed and put in columns (core/sync/sealing.ts). */
export interface OutgoingPayload {
  ops: Operation[]
  progress: [string, number][]
}

export interface ChunkLimits {
  maxOps: number
  maxBytes: number
}

/**
 * Chunks of about 128 KiB before compression (30–40 KiB on the wire for text): big enough
 * that brotli's per-flush cost and the per-chunk signature stay near 1% of the bytes, small
 * enough that a cut link loses a few seconds of a 256 kbit/s transfer.
 */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxOps: 1000, maxBytes: 128 * 1024 }

function opSize(op: Operation): number {
  return 120 + op.id.length + op.partition.length + (op.body?.length ?? 0) + Object.keys(op.deps).length * 48
}

/** A group boundary in the chunk being filled: where, its bytes so far, and whether a segment ends there. */
interface Cut {
  at: number
  bytes: number
  aligned: boolean
}

/**
 * Groups diff items into payloads; every payload holds at least one operation. A full chunk
 * is cut at its last transaction boundary that ends one of its author's seal segments
 * (core/model/seal.ts), when that keeps at least half of it: a chunk that ends inside a
 * segment carries the hashes of the rest of the segment, up to 4 KiB that do not compress
 * (docs/protocol.md §11.2). Without such a boundary it is cut where it is full.
 */
export async function* chunkDiff(items: AsyncIterable<DiffItem>, limits: ChunkLimits): AsyncIterable<OutgoingPayload> {
  let ops: Operation[] = []
  let bytes = 0
  let cuts: Cut[] = []
  let group: Operation[] = []
  let groupBytes = 0

  const payloadOf = (list: Operation[]): OutgoingPayload => {
    const progress = new Map<string, number>()
    for (const op of list) progress.set(op.author, op.counter)
    return { ops: list, progress: [...progress.entries()] }
  }
  /** The whole chunk (the end of the stream). */
  const take = (): OutgoingPayload => {
    const payload = payloadOf(ops)
    ops = []
    bytes = 0
    cuts = []
    return payload
  }
  /** A full chunk: up to its best cut; what follows the cut starts the next chunk. */
  const takeFull = (): OutgoingPayload => {
    let cut: Cut | undefined
    for (let i = cuts.length - 1; i >= 0 && cuts[i].at * 2 >= ops.length && cuts[i].bytes * 2 >= bytes; i--) {
      if (cuts[i].aligned) {
        cut = cuts[i]
        break
      }
    }
    if (!cut || cut.at === ops.length) return take()
    const { at, bytes: before } = cut
    const payload = payloadOf(ops.slice(0, at))
    ops = ops.slice(at)
    bytes -= before
    cuts = cuts.filter((c) => c.at > at).map((c) => ({ at: c.at - at, bytes: c.bytes - before, aligned: c.aligned }))
    return payload
  }
  const full = () => ops.length >= limits.maxOps || bytes >= limits.maxBytes
  const closeGroup = function* (): Generator<OutgoingPayload> {
    if (group.length === 0) return
    while (ops.length > 0 && (ops.length + group.length > limits.maxOps || bytes + groupBytes > limits.maxBytes)) yield takeFull()
    ops.push(...group)
    bytes += groupBytes
    const last = group[group.length - 1]
    cuts.push({ at: ops.length, bytes, aligned: last.counter % SEGMENT_OPS === 0 })
    group = []
    groupBytes = 0
  }

  for await (const item of items) {
    if (item.type === 'done') {
      yield* closeGroup()
      continue
    }
    const op = item.op
    const g = group[0]
    if (g && (g.author !== op.author || g.tx !== op.tx)) yield* closeGroup()
    group.push(op)
    groupBytes += opSize(op)
    if (full()) yield takeFull()
  }
  yield* closeGroup()
  while (ops.length > 0) yield full() ? takeFull() : take()
}
