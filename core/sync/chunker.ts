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
 * Chunks of up to about 512 KiB before compression (70–140 KiB on the wire for text). Each
 * chunk costs a brotli flush, a signature and its seals, about 0.8 KiB on the wire at the
 * slow-link qualities: at 128 KiB that was 7% of a short transfer of compressible text
 * (issue 18, scenario 9), at 512 KiB it is under 2%. A stream's chunks start at
 * {@link FIRST_CHUNK_BYTES} and double, so the first byte leaves soon, whatever the quality.
 * A link that cuts shrinks them (core/sync/cutPolicy.ts).
 */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxOps: 1000, maxBytes: 512 * 1024 }

/** The first chunk of a stream is at most this big (before compression); each next one doubles, up to the limit. */
export const FIRST_CHUNK_BYTES = 64 * 1024

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
  let maxBytes = Math.min(limits.maxBytes, FIRST_CHUNK_BYTES)

  const take = (): OutgoingPayload => {
    const payload: OutgoingPayload = { ops, progress: [...progress.entries()] }
    ops = []
    bytes = 0
    progress.clear()
    maxBytes = Math.min(limits.maxBytes, maxBytes * 2)
    return payload
  }
  const closeGroup = function* (): Generator<OutgoingPayload> {
    if (group.length === 0) return
    if (ops.length > 0 && (ops.length + group.length > limits.maxOps || bytes + groupBytes > maxBytes)) yield take()
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
    if (ops.length >= limits.maxOps || bytes >= maxBytes) yield take()
  }
  yield* closeGroup()
  if (ops.length > 0) yield take()
}
