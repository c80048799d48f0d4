/**
 * How far a stream has come, as a fraction: for every author, the counters the sender has
 * gone through above what the receiver held, over all it may have to go through. The sender
 * says how far each author's stream has been sent with every chunk (`progress`); counters it
 * passed without sending (outside the filter, in languages the receiver does not keep) count
 * as done too, so the fraction reaches 1 at the end whatever the filter left out, and a bar
 * drawn from it never ends at "8/80".
 */
import type { AuthorRange } from './diff.js'
import type { VectorEntry } from '../model/counterVector.js'

/** The highest counter per author a sender's report claims (for a pull, the tops `streamRanges` in core/sync/diff.ts takes). */
export function topsOfReport(report: readonly VectorEntry[]): Map<string, number> {
  const tops = new Map<string, number>()
  for (const row of report) for (const [a, n] of Object.entries(row.counters)) tops.set(a, Math.max(tops.get(a) ?? 0, n))
  return tops
}

/** The fraction of a stream done, from the progress its chunks report. */
export class StreamProgress {
  readonly #ranges: ReadonlyMap<string, AuthorRange>
  readonly #through = new Map<string, number>()
  readonly #total: number
  #done = 0

  constructor(ranges: ReadonlyMap<string, AuthorRange>) {
    this.#ranges = ranges
    let total = 0
    for (const r of ranges.values()) total += r.top - r.floor
    this.#total = total
  }

  /** Counters to go through in all: an upper bound of the operations the stream carries. */
  get total(): number {
    return this.#total
  }

  /** Takes a chunk's `[author, through]` pairs; authors outside the ranges are ignored. */
  advance(progress: readonly (readonly [string, number])[]): void {
    for (const [author, through] of progress) {
      const r = this.#ranges.get(author)
      if (!r) continue
      const before = Math.max(r.floor, this.#through.get(author) ?? r.floor)
      const now = Math.min(r.top, Math.max(before, through))
      this.#through.set(author, now)
      this.#done += now - before
    }
  }

  /** Between 0 and 1; 1 for a stream with nothing to go through. */
  get fraction(): number {
    return this.#total === 0 ? 1 : Math.min(1, this.#done / this.#total)
  }
}
