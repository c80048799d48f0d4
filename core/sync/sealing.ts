/**
 * The seals a chunk carries (docs/protocol.md §11.2): for each segment of each author its
 * operations fall in, the author's seal and what the receiver needs to recompute the chain
 * from the chunk — the digest before the chunk's first operation of the segment, and the
 * hashes of the segment's other operations up to the seal. A chunk that holds whole segments
 * carries one signature and an author key per 128 operations, nothing else.
 */
import { chainSeed, chainStep, segmentOf, segmentStart } from '../model/seal.js'
import type { Island } from '../log/seals.js'
import type { Operation } from '../model/operation.js'
import type { ChunkPayload, WireSeal } from './wire/frames.js'
import type { OutgoingPayload } from './chunker.js'
import { packOps, type OpColumns } from './wire/opColumns.js'

/** What the sender reads to seal a chunk. */
export interface SealSource {
  seals: {
    islands(author: string, s: number): Promise<Island[]>
    /** Reads the islands of many segments at once, ahead of `islands` calls for them. */
    prefetch?(segments: Iterable<{ author: string; s: number }>): Promise<void>
  }
  /** Hashes of the held operations of `author` with counters in [from, to]. */
  opHashes(author: string, from: number, to: number): Promise<Map<number, Uint8Array>>
  /**
   * Signs a seal now, when `author` is one of this instance's own author ids (else
   * undefined): a chunk that ends inside one of our segments then carries a seal at its own
   * end instead of the hashes of the rest of the segment.
   */
  sealNow?(author: string, s: number, last: number, digest: Uint8Array): Uint8Array | undefined
}

/** A chunk's seals and the author keys they refer to by index. */
export interface ChunkSeals {
  seals: WireSeal[]
  keys: Uint8Array[]
}

/**
 * Seals for `ops`. Operations no known island covers (received before authors sealed, from a
 * trusted relay) travel without a seal: only a receiver that trusts this sender keeps them.
 */
export async function sealsFor(source: SealSource, ops: readonly Operation[], seen?: Map<string, Map<number, Uint8Array>>): Promise<ChunkSeals> {
  const groups = new Map<string, { author: string; s: number; hashes: Map<number, Uint8Array> }>()
  for (const op of ops) {
    const s = segmentOf(op.counter)
    const k = `${op.author}\u0000${s}`
    let g = groups.get(k)
    if (!g) groups.set(k, (g = { author: op.author, s, hashes: new Map() }))
    g.hashes.set(op.counter, op.hash)
  }
  await source.seals.prefetch?.(groups.values())
  // Hashes of earlier chunks' operations in a segment this chunk continues: no read for them.
  const earlier = (author: string, s: number) => seen?.get(`${author}\u0000${s}`)
  const out: ChunkSeals = { seals: [], keys: [] }
  const keyIndex = new Map<string, number>()
  for (const { author, s, hashes } of groups.values()) {
    const islands = (await source.seals.islands(author, s)).sort((a, b) => b.last - a.last)
    const assigned = new Map<Island, number[]>()
    for (const c of hashes.keys()) {
      const island = islands.find((i) => i.base < c && c <= i.last)
      if (!island) continue
      const list = assigned.get(island)
      if (list) list.push(c)
      else assigned.set(island, [c])
    }
    for (const [island, counters] of assigned) {
      const seal = (await freshSeal(source, island, counters, hashes, earlier(author, s))) ?? (await sealOne(source, island, Math.min(...counters), hashes, earlier(author, s)))
      if (!seal) continue
      const pub = Buffer.from(island.key).toString('base64')
      let ki = keyIndex.get(pub)
      if (ki === undefined) {
        keyIndex.set(pub, (ki = out.keys.length))
        out.keys.push(island.key)
      }
      out.seals.push([author, ki, island.s, seal.from, seal.prefix, seal.last ?? island.last, seal.sig ?? island.sig, seal.omitted])
    }
  }
  return out
}

/**
 * For our own operations, when the chunk stops inside the island: a seal signed now at the
 * chunk's last counter, the chunk's operations of the segment being every counter from the
 * first to the last (as a diff for an unfiltered receiver sends them).
 */
async function freshSeal(source: SealSource, island: Island, counters: number[], inChunk: ReadonlyMap<number, Uint8Array>, earlier?: ReadonlyMap<number, Uint8Array>): Promise<{ from: number; prefix: Uint8Array | null; omitted: Uint8Array; last: number; sig: Uint8Array } | undefined> {
  if (!source.sealNow) return undefined
  const from = Math.min(...counters)
  const to = Math.max(...counters)
  if (to >= island.last || to - from + 1 !== counters.length) return undefined
  const head = await sealOne(source, { ...island, last: from - 1 }, from, inChunk, earlier)
  if (!head) return undefined
  let digest = head.prefix ?? chainSeed(island.author, island.s)
  for (let c = from; c <= to; c++) digest = chainStep(digest, inChunk.get(c) as Uint8Array)
  const sig = source.sealNow(island.author, island.s, to, digest)
  return sig ? { from, prefix: head.prefix, omitted: new Uint8Array(0), last: to, sig } : undefined
}

/**
 * The chain digest before `from` and the hashes of (from, last] the chunk lacks, for one
 * island; undefined when a hash it should know is missing (then its operations go unsealed).
 */
async function sealOne(source: SealSource, island: Island, from: number, inChunk: ReadonlyMap<number, Uint8Array>, earlier?: ReadonlyMap<number, Uint8Array>): Promise<{ from: number; prefix: Uint8Array | null; omitted: Uint8Array; last?: number; sig?: Uint8Array } | undefined> {
  const { author, s, base, last } = island
  let held: Map<number, Uint8Array> | undefined
  const known = (c: number): Uint8Array | undefined => inChunk.get(c) ?? island.omitted.get(c) ?? earlier?.get(c)
  for (let c = base + 1; c <= last && !held; c++) if (!known(c)) held = await source.opHashes(author, base + 1, last)
  const hashOf = (c: number): Uint8Array | undefined => known(c) ?? held?.get(c)
  let digest = island.baseDigest ?? chainSeed(author, s)
  for (let c = base + 1; c < from; c++) {
    const h = hashOf(c)
    if (!h) return undefined
    digest = chainStep(digest, h)
  }
  const missing: Uint8Array[] = []
  for (let c = from; c <= last; c++) {
    if (inChunk.has(c)) continue
    const h = hashOf(c)
    if (!h) return undefined
    missing.push(h)
  }
  const omitted = new Uint8Array(missing.length * 32)
  missing.forEach((h, n) => omitted.set(h, n * 32))
  return { from, prefix: from === segmentStart(s) ? null : digest, omitted }
}

/** A payload as it is sent: operations in columns, with their seals. */
export interface SealedPayload extends ChunkPayload {
  ops: OpColumns
  seals: WireSeal[]
  keys: Uint8Array[]
}

/** The payloads to send for the chunker's chunks: operations in columns, with their seals. */
export async function* sealedChunks(source: SealSource, chunks: AsyncIterable<OutgoingPayload>): AsyncIterable<SealedPayload> {
  // Per author, the hashes of its last segment seen in this stream.
  const seen = new Map<string, Map<number, Uint8Array>>()
  const last = new Map<string, string>()
  for await (const chunk of chunks) {
    const { seals, keys } = await sealsFor(source, chunk.ops, seen)
    for (const op of chunk.ops) {
      const k = `${op.author}\u0000${segmentOf(op.counter)}`
      const before = last.get(op.author)
      if (before !== k) {
        if (before) seen.delete(before)
        last.set(op.author, k)
        seen.set(k, new Map())
      }
      seen.get(k)?.set(op.counter, op.hash)
    }
    yield { ops: packOps(chunk.ops), progress: chunk.progress, seals, keys }
  }
}
