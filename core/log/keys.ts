/**
 * The storage layout: one string key space, components joined by NUL so that prefixes of
 * one family never collide with another, counters zero-padded so byte order is numeric.
 *
 * | prefix | key                                   | value                      |
 * |--------|---------------------------------------|----------------------------|
 * | A      | author, counter                       | operation (core/storedOp)  |
 * | B      | author, segment, base counter         | seal island (core/log/seals) |
 * | I      | kind, id, author, first counter       | counters of one batch      |
 * | R      | kind, id                              | record state (projection)  |
 * | S      | status, kind, id                      | empty: review-status index |
 * | C      | kind, id                              | conflicts (projection)     |
 * | W      | kind, id                              | review decision (local)    |
 * | V      | layer, prefix, author                 | claimed counter            |
 * | M      | name                                  | instance metadata          |
 * | U / P  | name                                  | users / peers              |
 * | K      | name                                  | web page accounts (admins) |
 * | H      | peer, time                            | sync history               |
 *
 * The operations' family sorts before every other family that batches write to (I, R, S, C,
 * V, M): an author's operations arrive in counter order, so each new LevelDB table holds
 * operation keys above every older table's, and its key range — from its lowest operation
 * key up to its highest record key — does not reach back over the older operations. Their
 * tables are then left out of compactions instead of being rewritten by each one (measured
 * on an 80,000-operation pull: the compaction thread's CPU halved). The family was `L`,
 * between `I` and `R`, where every table's range covered the whole log.
 */
import { pack, unpack } from '../msgpack.js'
import type { Counters } from '../model/counterVector.js'
import { pollenError } from '../errors.js'
import type { Head, RecordState } from '../model/merge.js'
import { isAscending, type OpType } from '../model/operation.js'

const SEP = '\u0000'

/** Fixed-width decimal so that LevelDB's byte order equals numeric order. */
export function pad(n: number): string {
  return n.toString().padStart(16, '0')
}

export const key = {
  op: (author: string, counter: number) => `A${SEP}${author}${SEP}${pad(counter)}`,
  opsOf: (author: string) => `A${SEP}${author}${SEP}`,
  allOps: () => `A${SEP}`,
  island: (author: string, s: number, base: number) => `B${SEP}${author}${SEP}${pad(s)}${SEP}${pad(base)}`,
  islandsOf: (author: string, s?: number) => (s === undefined ? `B${SEP}${author}${SEP}` : `B${SEP}${author}${SEP}${pad(s)}${SEP}`),
  allIslands: () => `B${SEP}`,
  /** Where operations were kept before the `A` family: a store with any is refused. */
  formerOps: () => `L${SEP}`,
  droppedSeed: (mark: string) => `D${SEP}${mark}`,
  droppedSeeds: () => `D${SEP}`,
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
  admin: (name: string) => `K${SEP}${name}`,
  admins: () => `K${SEP}`,
  history: (peer: string, time: number) => `H${SEP}${peer}${SEP}${pad(time)}`,
  histories: (peer?: string) => (peer === undefined ? `H${SEP}` : `H${SEP}${peer}${SEP}`),
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

const TYPES: readonly OpType[] = ['put', 'delete', 'purge']
/** Format tag of a stored state: a state in another format is refused, not misread. */
const STATE_FORMAT = 2

/** One head as stored: [author index, counter, type index, hlc, [author index, counter, …]]. */
type PackedHead = [number, number, number, number, number[]]

/**
 * Encodes a record state as a positional array. Every author a state names (heads, their
 * deps, the first operation) is also a key of its version — the version is the pointwise
 * maximum of every applied operation and its deps — so authors are written once, in the
 * version, and referred to by index. applyToState keeps every part in canonical order (sorted version keys, heads sorted
 * by author and counter, sorted deps) and layers are written sorted here, so states reached
 * through different arrival orders, or by a rebuild, are byte-identical.
 */
export function encodeState(s: RecordState): Uint8Array {
  const authors = Object.keys(s.version)
  const index = new Map<string, number>()
  const version: number[] = []
  authors.forEach((a, i) => {
    index.set(a, i)
    version.push(s.version[a])
  })
  const ix = (a: string): number => {
    const i = index.get(a)
    // A programmer error (applyToState always merges heads and deps into the version).
    if (i === undefined) throw new TypeError(`record state ${s.kind}/${s.id} names author ${a} outside its version`)
    return i
  }
  const head = (h: Head): PackedHead => {
    const deps: number[] = []
    for (const a in h.deps) deps.push(ix(a), h.deps[a])
    return [ix(h.author), h.counter, TYPES.indexOf(h.type), h.hlc, deps]
  }
  const layers: (string | PackedHead[])[] = []
  const names = Object.keys(s.layers)
  for (const l of isAscending(names) ? names : names.sort()) layers.push(l, s.layers[l].map(head))
  return pack([STATE_FORMAT, s.kind, s.id, s.partition, authors, version, s.first.hlc, ix(s.first.author), s.deletes.map(head), s.purges.map(head), layers])
}

export function decodeState(bytes: Uint8Array): RecordState {
  const raw = unpack(bytes) as [number, string, string, string, string[], number[], number, number, PackedHead[], PackedHead[], (string | PackedHead[])[]]
  if (!Array.isArray(raw) || raw[0] !== STATE_FORMAT) throw pollenError('POLLEN_STORAGE', 'a stored record state has an unknown format: run `pollen rebuild`')
  const [, kind, id, partition, authors, counts, firstHlc, firstAuthor, deletes, purges, flatLayers] = raw
  const version: Counters = {}
  authors.forEach((a, i) => (version[a] = counts[i]))
  const head = ([a, counter, type, hlc, flat]: PackedHead): Head => {
    const deps: Counters = {}
    for (let i = 0; i < flat.length; i += 2) deps[authors[flat[i]]] = flat[i + 1]
    return { author: authors[a], counter, type: TYPES[type], hlc, deps }
  }
  const layers: Record<string, Head[]> = {}
  for (let i = 0; i < flatLayers.length; i += 2) layers[flatLayers[i] as string] = (flatLayers[i + 1] as PackedHead[]).map(head)
  return { kind, id, partition, version, first: { hlc: firstHlc, author: authors[firstAuthor] }, deletes: deletes.map(head), purges: purges.map(head), layers }
}
