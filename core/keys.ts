/**
 * The storage layout: one string key space, components joined by NUL so that prefixes of
 * one family never collide with another, counters zero-padded so byte order is numeric.
 *
 * | prefix | key                                   | value                      |
 * |--------|---------------------------------------|----------------------------|
 * | L      | author, counter                       | operation (msgpack array)  |
 * | I      | kind, id, author, counter             | empty: the record's ops    |
 * | R      | kind, id                              | record state (projection)  |
 * | S      | status, kind, id                      | empty: review-status index |
 * | C      | kind, id                              | conflicts (projection)     |
 * | W      | kind, id                              | review decision (local)    |
 * | V      | layer, prefix, author                 | claimed counter            |
 * | M      | name                                  | instance metadata          |
 * | U / P  | name                                  | users / peers              |
 * | H      | peer, time                            | sync history               |
 */
import { pack, unpack } from './msgpack.js'
import type { RecordState } from './merge.js'

const SEP = '\u0000'

/** Fixed-width decimal so that LevelDB's byte order equals numeric order. */
export function pad(n: number): string {
  return n.toString().padStart(16, '0')
}

export const key = {
  op: (author: string, counter: number) => `L${SEP}${author}${SEP}${pad(counter)}`,
  opsOf: (author: string) => `L${SEP}${author}${SEP}`,
  allOps: () => `L${SEP}`,
  recordOp: (kind: string, id: string, author: string, counter: number) => `I${SEP}${kind}${SEP}${id}${SEP}${author}${SEP}${pad(counter)}`,
  recordOps: (kind: string, id: string) => `I${SEP}${kind}${SEP}${id}${SEP}`,
  state: (kind: string, id: string) => `R${SEP}${kind}${SEP}${id}`,
  states: (kind?: string) => (kind === undefined ? `R${SEP}` : `R${SEP}${kind}${SEP}`),
  status: (status: string, kind: string, id: string) => `S${SEP}${status}${SEP}${kind}${SEP}${id}`,
  statuses: (status?: string, kind?: string) => `S${SEP}${status === undefined ? '' : status + SEP + (kind === undefined ? '' : kind + SEP)}`,
  conflict: (kind: string, id: string) => `C${SEP}${kind}${SEP}${id}`,
  conflicts: () => `C${SEP}`,
  review: (kind: string, id: string) => `W${SEP}${kind}${SEP}${id}`,
  reviews: () => `W${SEP}`,
  vector: (layer: string, prefix: string, author: string) => `V${SEP}${layer}${SEP}${prefix}${SEP}${author}`,
  vectors: () => `V${SEP}`,
  meta: (name: string) => `M${SEP}${name}`,
  user: (name: string) => `U${SEP}${name}`,
  users: () => `U${SEP}`,
  peer: (name: string) => `P${SEP}${name}`,
  peers: () => `P${SEP}`,
  history: (peer: string, time: number) => `H${SEP}${peer}${SEP}${pad(time)}`,
  histories: (peer?: string) => (peer === undefined ? `H${SEP}` : `H${SEP}${peer}${SEP}`),
  session: (id: string) => `X${SEP}${id}`,
  sessions: () => `X${SEP}`,
}

/** Splits a key into its components (after the family letter). */
export function parts(k: string): string[] {
  return k.split(SEP).slice(1)
}

export function encodeValue(v: unknown): Uint8Array {
  return pack(v)
}

export function decodeValue<T>(bytes: Uint8Array): T {
  return unpack(bytes) as T
}

/**
 * Encodes a record state. applyToState keeps every part in canonical order (sorted version
 * keys, heads sorted by author and counter, sorted deps), and the fields are written in a
 * fixed order here, so states reached through different arrival orders, or by a rebuild,
 * are byte-identical.
 */
export function encodeState(s: RecordState): Uint8Array {
  const layers: Record<string, RecordState['layers'][string]> = {}
  for (const l of Object.keys(s.layers).sort()) layers[l] = s.layers[l]
  return pack({ kind: s.kind, id: s.id, partition: s.partition, version: s.version, first: { hlc: s.first.hlc, author: s.first.author }, deletes: s.deletes, purges: s.purges, layers })
}

export function decodeState(bytes: Uint8Array): RecordState {
  return unpack(bytes) as RecordState
}
