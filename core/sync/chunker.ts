/**
 * Cuts a diff into chunk payloads: at most `maxOps` operations or about `maxBytes` encoded
 * bytes each, never splitting one local transaction (operations written together travel
 * together). Each payload says, per author, how far that author's stream has been sent.
 */
import type { DiffItem } from './diff.js'
import type { Operation } from '../model/operation.js'

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

/**
 * The smallest chunk a receiver may ask for (bytes before compression, about 2 KiB on the
 * wire): each chunk costs a signature and a flush, so a hostile client asking for 1-byte
 * chunks must not make the server sign every operation on its own.
 */
export const MIN_CHUNK_BYTES = 8 * 1024

/**
 * The limits for a stream whose receiver asked for chunks of at most `requested` bytes
 * (0: no wish): the sender's own limits, made smaller on request but never below
 * {@link MIN_CHUNK_BYTES}.
 */
export function limitsFor(own: ChunkLimits, requested: number): ChunkLimits {
  if (!(requested > 0)) return own
  return { maxOps: own.maxOps, maxBytes: Math.min(own.maxBytes, Math.max(MIN_CHUNK_BYTES, requested)) }
}

function opSize(op: Operation): number {
  return 120 + op.id.length + op.partition.length + (op.body?.length ?? 0) + Object.keys(op.deps).length * 48
}

/** Groups diff items into payloads; every payload holds at least one operation. */
export async function* chunkDiff(items: AsyncIterable<DiffItem>, limits: ChunkLimits): AsyncIterable<OutgoingPayload> {
  let ops: Operation[] = []
  let bytes = 0
  const progress = new Map<string, number>()
  let group: Operation[] = []
  let groupBytes = 0

  const take = (): OutgoingPayload => {
    const payload: OutgoingPayload = { ops, progress: [...progress.entries()] }
    ops = []
    bytes = 0
    progress.clear()
    return payload
  }
  const closeGroup = function* (): Generator<OutgoingPayload> {
    if (group.length === 0) return
    if (ops.length > 0 && (ops.length + group.length > limits.maxOps || bytes + groupBytes > limits.maxBytes)) yield take()
    ops.push(...group)
    bytes += groupBytes
    const last = group[group.length - 1]
    progress.set(last.author, last.counter)
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
    if (ops.length >= limits.maxOps || bytes >= limits.maxBytes) yield take()
  }
  yield* closeGroup()
  if (ops.length > 0) yield take()
}
