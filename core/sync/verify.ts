/**
 * The claims check (docs/protocol.md §9.5): does a holder really hold what its claims say?
 *
 * A claim `(prefix, layer, author) = n` says every operation of the author with counter ≤ n
 * under the prefix, in the layer, is held. The holder sends its claims (as in a pull); the
 * checking peer counts, for each claim, its own operations in that set — but only up to its
 * own claim for the same row, where it provably holds all of them — per bucket of counters.
 * The holder counts the same sets in its own log. Whatever the holder holds there the peer
 * holds too, so equal counts mean equal sets; the first bucket where the holder has fewer
 * shows where its claim stops being true, and the holder lowers the claim to that bucket's
 * start. The next pull, from any peer, then sends what is missing.
 */
import { ALL_LAYERS, type CounterVectors, type VectorAdvance, type VectorEntry } from '../model/counterVector.js'
import type { Operation } from '../model/operation.js'
import { covers } from '../model/partition.js'
import { layersOf } from './diff.js'
import { MAX_BUCKETS, MIN_BUCKET, type ClaimCount, type Filter } from './wire/frames.js'

/** One claim to count: the author's operations under `prefix` in `layer` with counter ≤ `through`. */
export interface ClaimCheck {
  prefix: string
  layer: string
  author: string
  through: number
  bucket: number
}

/** What counting reads from a log. */
export interface CountSource {
  scanAuthor(author: string, after: number): AsyncIterable<Operation>
}

/** Bucket width for a claim through `through`: at most MAX_BUCKETS buckets. */
export function bucketFor(through: number): number {
  return Math.max(MIN_BUCKET, Math.ceil(through / MAX_BUCKETS))
}

/**
 * The claims of a holder the checker can judge: each holder row under the filter, per author,
 * bounded by the checker's own claim for the same row (for its own author, what it wrote).
 * Rows where the checker claims nothing cannot be judged and are left out.
 */
export function claimsToCheck(holderRows: readonly VectorEntry[], holder: CounterVectors, own: CounterVectors, filter: Filter): ClaimCheck[] {
  const layers = layersOf(filter)
  const prefixes = new Set(filter.prefixes)
  for (const row of holderRows) if (filter.prefixes.some((p) => covers(p, row.prefix))) prefixes.add(row.prefix)
  const out: ClaimCheck[] = []
  for (const prefix of [...prefixes].sort()) {
    for (const layer of layers) {
      for (const [author, claimed] of Object.entries(holder.effectiveVector(prefix, layer))) {
        const through = Math.min(claimed, own.effective(prefix, layer, author))
        if (through > 0) out.push({ prefix, layer, author, through, bucket: bucketFor(through) })
      }
    }
  }
  return out
}

/** Counts, per check, the source's operations in the checked set, bucket by bucket (one scan per author). */
export async function countClaims(source: CountSource, checks: readonly ClaimCheck[]): Promise<ClaimCount[]> {
  const counts = checks.map((c) => ({ ...c, counts: new Array<number>(Math.ceil(c.through / c.bucket)).fill(0) }))
  const byAuthor = new Map<string, typeof counts>()
  for (const c of counts) byAuthor.set(c.author, [...(byAuthor.get(c.author) ?? []), c])
  for (const [author, mine] of byAuthor) {
    const last = Math.max(...mine.map((c) => c.through))
    for await (const op of source.scanAuthor(author, 0)) {
      if (op.counter > last) break
      for (const c of mine) {
        if (op.counter <= c.through && op.layer === c.layer && covers(c.prefix, op.partition)) c.counts[Math.floor((op.counter - 1) / c.bucket)] += 1
      }
    }
  }
  return counts
}

/** A claim the check found untrue: the holder lacks operations the checker holds. */
export interface ClaimMismatch {
  prefix: string
  layer: string
  author: string
  /** The holder's claim before the repair. */
  claimed: number
  /** Counted up to here (the checker's claim, if lower). */
  through: number
  /** Operations the checker holds in the set, and the holder. */
  expected: number
  held: number
  /** The claim is lowered to this: every bucket below it matched. */
  provenThrough: number
}

/**
 * Compares the checker's counts with the holder's own (counted with the same checks) and
 * returns the mismatches and the stored rows to lower. Every stored row that could make the
 * untrue claim effective — the row itself, its ancestors and its descendants, in its layer or
 * in all layers — is lowered to the proven counter.
 */
export function repairsFor(theirs: readonly ClaimCount[], mine: readonly ClaimCount[], holder: CounterVectors, stored: readonly VectorEntry[]): { mismatches: ClaimMismatch[]; lowerings: VectorAdvance[] } {
  const mismatches: ClaimMismatch[] = []
  const lowerings: VectorAdvance[] = []
  theirs.forEach((t, i) => {
    const m = mine[i]
    const bad = t.counts.findIndex((n, b) => m.counts[b] < n)
    if (bad < 0) return
    const provenThrough = bad * t.bucket
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
    mismatches.push({ prefix: t.prefix, layer: t.layer, author: t.author, claimed: holder.effective(t.prefix, t.layer, t.author), through: t.through, expected: sum(t.counts), held: sum(m.counts), provenThrough })
    for (const row of stored) {
      if (row.layer !== t.layer && row.layer !== ALL_LAYERS) continue
      if (!covers(row.prefix, t.prefix) && !covers(t.prefix, row.prefix)) continue
      if ((row.counters[t.author] ?? 0) > provenThrough) lowerings.push({ prefix: row.prefix, layer: row.layer, author: t.author, counter: provenThrough })
    }
  })
  return { mismatches, lowerings }
}
