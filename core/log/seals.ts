/**
 * Seal islands (docs/protocol.md §11.3): what this log knows of each author's signed hash
 * chains, kept so it can prove its operations' authorship to the next peer. An island of
 * segment `s` is a stretch of counters (base, last] whose chain it can recompute: the digest
 * before it, the author's seal at `last`, and the hashes of the operations in it that this
 * log does not hold (outside its filter or languages). An instance's own islands start at
 * the segment's start. A relay may know several islands of one segment, apart, when a
 * filter left it the middle of a segment only by digest.
 */
import { decodeValue, encodeValue, key, parts } from './keys.js'
import { prefixRange, type BatchOp, type KVStore } from './store.js'
import { chainSeed, chainStep, segmentOf, segmentStart, signSeal, type Seal } from '../model/seal.js'
import type { Identity } from '../model/identity.js'
import type { Operation } from '../model/operation.js'

/** A stretch (base, last] of one author's segment whose chain this log can recompute. */
export interface Island {
  author: string
  s: number
  /** The counter before the first one known (segmentStart(s) − 1 when known from the start). */
  base: number
  /** The chain digest after `base` (null at the segment's start: the seed). */
  baseDigest: Uint8Array | null
  last: number
  /** The chain digest after `last`, which `sig` signs. */
  digest: Uint8Array
  sig: Uint8Array
  /** The author's Ed25519 public key. */
  key: Uint8Array
  /** Hashes of operations in (base, last] this log does not hold, by counter. */
  omitted: Map<number, Uint8Array>
}

type Stored = [Uint8Array | null, number, Uint8Array, Uint8Array, Uint8Array, number[], Uint8Array]

const view = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length)

function encodeIsland(i: Island): Uint8Array {
  const counters = [...i.omitted.keys()].sort((a, b) => a - b)
  const hashes = new Uint8Array(counters.length * 32)
  counters.forEach((c, n) => hashes.set(i.omitted.get(c) as Uint8Array, n * 32))
  return encodeValue([i.baseDigest, i.last, i.digest, i.sig, i.key, counters, hashes] satisfies Stored)
}

function decodeIsland(k: string, v: Uint8Array): Island {
  const [author, s, base] = parts(k)
  const [baseDigest, last, digest, sig, pub, counters, hashes] = decodeValue<Stored>(v)
  const omitted = new Map<number, Uint8Array>()
  counters.forEach((c, n) => omitted.set(c, view(hashes.subarray(n * 32, n * 32 + 32))))
  return { author, s: Number(s), base: Number(base), baseDigest: baseDigest && view(baseDigest), last, digest: view(digest), sig: view(sig), key: view(pub), omitted }
}

/** The seal an island ends in. */
export function sealOf(i: Island): Seal {
  return { author: i.author, s: i.s, last: i.last, digest: i.digest, sig: i.sig }
}

/** True when two islands of one segment touch or overlap (their chains can be joined). */
function touching(a: Island, b: Island): boolean {
  return a.base <= b.last && b.base <= a.last
}

/** One island from two that touch (both verified, so both are stretches of one chain). */
function join(a: Island, b: Island): Island {
  const low = a.base <= b.base ? a : b
  const high = a.last >= b.last ? a : b
  const omitted = new Map([...a.omitted, ...b.omitted])
  return { ...high, base: low.base, baseDigest: low.baseDigest, omitted }
}

/** Segments read past the one asked for (core/log/seals.ts `prefetch`): 64 segments, 8,192 counters. */
const READ_AHEAD = 64

/** Segments whose decoded islands {@link SealStore} keeps in memory. */
const CACHED_SEGMENTS = 1024

export class SealStore {
  readonly #store: KVStore
  /** The highest counter each author's verified seals reach. */
  readonly #vouched = new Map<string, number>()
  /**
   * The bases of the islands stored for each author and segment: most segments a batch
   * touches have none (a first pull), and those that do are read with one `getMany` rather
   * than an iterator each — one range read per segment made a 200,000-operation pull 20 %
   * slower.
   */
  readonly #bases = new Map<string, number[]>()
  /**
   * Decoded islands of recently used segments, written through: every island write goes
   * through {@link mergeWrites} or {@link sealOwn}, whose commits update or drop the entry.
   * A pull reads the segment a chunk continues twice and a chunk's segments one by one; a
   * LevelDB read each cost the sender a fifth of its main thread on a 100,000-operation pull.
   */
  readonly #cache = new Map<string, Island[]>()
  /** Counts changes to {@link SealStore.#cache} made by writes, so a read that raced one is dropped. */
  #generation = 0

  constructor(store: KVStore) {
    this.#store = store
  }

  /** Reads how far each author's seals reach (one pass over the islands, about 1 per 128 operations). */
  async load(): Promise<void> {
    for await (const [k, v] of this.#store.range(prefixRange(key.allIslands()))) {
      const i = decodeIsland(k, v)
      this.#raise(i.author, i.last)
      this.#index(i.author, i.s, i.base, true)
    }
  }

  #index(author: string, s: number, base: number, present: boolean): void {
    const k = key.islandsOf(author, s)
    const bases = (this.#bases.get(k) ?? []).filter((b) => b !== base)
    if (present) bases.push(base)
    if (bases.length > 0) this.#bases.set(k, bases)
    else this.#bases.delete(k)
  }

  #raise(author: string, last: number): void {
    if (last > (this.#vouched.get(author) ?? 0)) this.#vouched.set(author, last)
  }

  /** The highest counter of `author` a verified seal backs (0 when none). */
  vouched(author: string): number {
    return this.#vouched.get(author) ?? 0
  }

  /** The islands known of one segment of `author`, by base. */
  async islands(author: string, s: number): Promise<Island[]> {
    const k = key.islandsOf(author, s)
    if (!this.#bases.has(k)) return []
    if (!this.#cache.has(k)) await this.prefetch([{ author, s }])
    const cached = this.#cache.get(k)
    if (cached) return [...cached]
    // The read raced a write, or the segment was evicted at once: read it alone, uncached.
    const out: Island[] = []
    for await (const [ik, v] of this.#store.range(prefixRange(k))) out.push(decodeIsland(ik, v))
    return out.sort((a, b) => a.base - b.base)
  }

  /**
   * Reads the islands of the given segments not in memory yet, with the next
   * {@link READ_AHEAD} segments of each author: one range read per author, as a sender goes
   * through an author's segments in order. Several small random reads a chunk cost more than
   * the rest of sealing it.
   */
  async prefetch(segments: Iterable<{ author: string; s: number }>): Promise<void> {
    const byAuthor = new Map<string, number[]>()
    for (const { author, s } of segments) {
      const k = key.islandsOf(author, s)
      if (!this.#bases.has(k) || this.#cache.has(k)) continue
      const list = byAuthor.get(author)
      if (list) list.push(s)
      else byAuthor.set(author, [s])
    }
    for (const [author, ss] of byAuthor) {
      const from = Math.min(...ss)
      const to = Math.max(...ss) + READ_AHEAD
      // A write that lands while this reads makes what it read stale: then it is not kept.
      const generation = this.#generation
      const found = new Map<string, Island[]>()
      for await (const [ik, v] of this.#store.range({ gte: key.islandsOf(author, from), lt: key.islandsOf(author, to) })) {
        const i = decodeIsland(ik, v)
        const k = key.islandsOf(author, i.s)
        const list = found.get(k)
        if (list) list.push(i)
        else found.set(k, [i])
      }
      if (generation !== this.#generation) continue
      for (const [k, islands] of found) if (!this.#cache.has(k)) this.#remember(k, islands, true)
    }
  }

  /** Keeps a segment's islands in memory; `read` for what a read found, else a write's result. */
  #remember(k: string, islands: Island[] | undefined, read = false): void {
    if (!read) this.#generation += 1
    this.#cache.delete(k)
    if (!islands || islands.length === 0) return
    if (this.#cache.size >= CACHED_SEGMENTS) this.#cache.delete(this.#cache.keys().next().value as string)
    this.#cache.set(k, [...islands].sort((a, b) => a.base - b.base))
  }

  /**
   * The writes that add `incoming` (verified islands) to what is stored: each joined with the
   * stored islands of its segment it touches. `commit` updates memory once they are written.
   */
  async mergeWrites(incoming: readonly Island[]): Promise<{ writes: BatchOp[]; commit: () => void }> {
    const bySegment = new Map<string, Island[]>()
    for (const i of incoming) {
      const k = key.islandsOf(i.author, i.s)
      const list = bySegment.get(k)
      if (list) list.push(i)
      else bySegment.set(k, [i])
    }
    const writes: BatchOp[] = []
    const raised: [string, number][] = []
    const indexed: [string, number, number, boolean][] = []
    const after = new Map<string, Island[]>()
    await this.prefetch([...bySegment.values()].map((list) => list[0]))
    for (const [k, list] of bySegment) {
      const { author, s } = list[0]
      const stored = await this.islands(author, s)
      let islands = [...stored]
      for (const i of list) {
        let merged = i
        const rest: Island[] = []
        for (const other of islands) {
          if (touching(merged, other)) merged = join(merged, other)
          else rest.push(other)
        }
        islands = [...rest, merged]
      }
      const kept = new Set(islands)
      for (const old of stored) {
        if (kept.has(old)) continue
        writes.push({ type: 'del', key: key.island(author, s, old.base) })
        indexed.push([author, s, old.base, false])
      }
      for (const i of islands) {
        if (stored.includes(i)) continue
        writes.push({ type: 'put', key: key.island(author, s, i.base), value: encodeIsland(i) })
        indexed.push([author, s, i.base, true])
      }
      raised.push([author, Math.max(...islands.map((i) => i.last))])
      after.set(k, islands)
    }
    return {
      writes,
      commit: () => {
        raised.forEach(([a, last]) => this.#raise(a, last))
        indexed.forEach(([a, s, base, present]) => this.#index(a, s, base, present))
        after.forEach((islands, k) => this.#remember(k, islands))
      },
    }
  }

  /**
   * Seals our own new operations (one local transaction, in counter order): extends the chain
   * of each segment they touch and signs it once. `previous` is the island our last operation
   * ended, if it is in the first segment touched. Returns the writes and our new last island.
   */
  sealOwn(identity: Identity, ops: readonly Operation[], previous: Island | undefined): { writes: BatchOp[]; islands: Island[]; last: Island; commit: () => void } {
    const continued = previous && previous.s === segmentOf(ops[0].counter) && previous.last === ops[0].counter - 1
    let digest = continued ? previous.digest : chainSeed(ops[0].author, segmentOf(ops[0].counter))
    const done: Island[] = []
    const close = (s: number, last: number) => {
      const seal = signSeal(identity, ops[0].author, s, last, digest)
      done.push({ author: seal.author, s, base: segmentStart(s) - 1, baseDigest: null, last, digest, sig: seal.sig, key: identity.publicKey, omitted: new Map() })
    }
    let s = segmentOf(ops[0].counter)
    let last = ops[0].counter - 1
    for (const op of ops) {
      const os = segmentOf(op.counter)
      if (os !== s) {
        close(s, last)
        s = os
        digest = chainSeed(op.author, s)
      }
      digest = chainStep(digest, op.hash)
      last = op.counter
    }
    close(s, last)
    const writes: BatchOp[] = done.map((i) => ({ type: 'put', key: key.island(i.author, i.s, i.base), value: encodeIsland(i) }))
    const end = done[done.length - 1]
    return {
      writes,
      islands: done,
      last: end,
      commit: () => {
        this.#raise(end.author, end.last)
        for (const i of done) {
          this.#index(i.author, i.s, i.base, true)
          this.#remember(key.islandsOf(i.author, i.s), undefined)
        }
      },
    }
  }
}
