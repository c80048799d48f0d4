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
import { encode, decode } from '@msgpack/msgpack'
import type { Head, RecordState } from './merge.js'
import type { Counters } from './counterVector.js'

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
  return encode(v)
}

export function decodeValue<T>(bytes: Uint8Array): T {
  return decode(bytes) as T
}

function sortedCounters(c: Counters): Counters {
  const out: Counters = {}
  for (const k of Object.keys(c).sort()) out[k] = c[k]
  return out
}

function canonicalHeads(heads: readonly Head[]): Head[] {
  return [...heads]
    .sort((a, b) => (a.author === b.author ? a.counter - b.counter : a.author < b.author ? -1 : 1))
    .map((h) => ({ author: h.author, counter: h.counter, type: h.type, hlc: h.hlc, deps: sortedCounters(h.deps), body: h.body }))
}

/**
 * Encodes a record state canonically (sorted keys and heads), so states reached through
 * different arrival orders, or by a rebuild, are byte-identical.
 */
export function encodeState(s: RecordState): Uint8Array {
  const layers: Record<string, Head[]> = {}
  for (const l of Object.keys(s.layers).sort()) layers[l] = canonicalHeads(s.layers[l])
  return encode({
    kind: s.kind,
    id: s.id,
    partition: s.partition,
    version: sortedCounters(s.version),
    first: { hlc: s.first.hlc, author: s.first.author },
    deletes: canonicalHeads(s.deletes),
    purges: canonicalHeads(s.purges),
    layers,
  })
}

export function decodeState(bytes: Uint8Array): RecordState {
  return decode(bytes) as RecordState
}
