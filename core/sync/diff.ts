/**
 * What a holder lacks, and what a receiver may then claim. Pure functions over a narrow
 * read interface of the log.
 *
 * The holder describes itself by its counter vectors (the rows that bear on the filter).
 * The sender walks each author's operations above the lowest threshold the holder could
 * have, and sends those under the filter whose counter exceeds the holder's claim for the
 * operation's own partition — so data that came in through a narrow filter flows on through
 * a broad one (Morango #144) and nothing the holder is known to hold is sent again.
 */
import { CounterVectors, type VectorAdvance, type VectorEntry } from '../model/counterVector.js'
import type { Filter } from './wire/frames.js'
import type { Operation } from '../model/operation.js'
import { covers, coveredByAny } from '../model/partition.js'
import { fitReport } from './wire/limits.js'

/**
 * Rows a receiver stores under one session's filter, beyond which a report's rows for new
 * narrower prefixes are not adopted: 4× what one report carries. Claims only spare work (one
 * left out costs a re-send), while rows without end once made every later report of a
 * store too large to send (issue 17).
 */
export const MAX_SCOPE_ROWS = 16_384

/** What diff reads from a log. */
export interface DiffSource {
  authors(): string[]
  maxHeld(author: string): number
  scanAuthor(author: string, after: number): AsyncIterable<Operation>
}

/** One step of a diff: an operation to send, or the end of one author's stream. */
export type DiffItem = { type: 'op'; op: Operation } | { type: 'done'; author: string; through: number }

/** The layers a filter covers: the neutral one and each language. */
export function layersOf(filter: Filter): string[] {
  return ['', ...filter.languages.filter((l) => l !== '')]
}

/**
 * Streams, per author in ascending counter order, every operation under `filter` that
 * `holder` does not claim; after each author a `done` item. Cost grows with the operations
 * above the holder's lowest claim for that author, not with the size of the log.
 */
export async function* diff(source: DiffSource, filter: Filter, holder: CounterVectors): AsyncIterable<DiffItem> {
  const layers = layersOf(filter)
  for (const author of source.authors()) {
    let floor = Infinity
    for (const p of filter.prefixes) for (const l of layers) floor = Math.min(floor, holder.effective(p, l, author))
    const max = source.maxHeld(author)
    if (floor >= max) {
      yield { type: 'done', author, through: max }
      continue
    }
    // The holder's claims stay as they are during a diff, and an author's operations fall in
    // a few partitions and layers: one lookup each instead of one per operation.
    const claims = new Map<string, Map<string, number>>()
    const claimOf = (partition: string, layer: string): number => {
      let byLayer = claims.get(partition)
      if (!byLayer) {
        // Bounded, for logs with a partition per record.
        if (claims.size >= 4096) claims.clear()
        claims.set(partition, (byLayer = new Map<string, number>()))
      }
      let claim = byLayer.get(layer)
      if (claim === undefined) {
        claim = layers.includes(layer) && coveredByAny(filter.prefixes, partition) ? holder.effective(partition, layer, author) : Infinity
        byLayer.set(layer, claim)
      }
      return claim
    }
    for await (const op of source.scanAuthor(author, floor)) {
      if (op.counter > claimOf(op.partition, op.layer)) yield { type: 'op', op }
    }
    yield { type: 'done', author, through: max }
  }
}

/**
 * The sender's claims a receiver may adopt: its effective vector for each requested prefix
 * and for each narrower prefix it keeps a vector for, per layer of the filter.
 */
export function senderReport(vectors: CounterVectors, filter: Filter): VectorEntry[] {
  return fitReport(vectors.relevant(filter.prefixes, layersOf(filter)).filter((e) => filter.prefixes.some((p) => covers(p, e.prefix))))
}

/**
 * The rows of a sender's report a receiver adopts in a session with `filter` (§4.3): those
 * under the filter, in its layers. A row that would be stored new for a narrower prefix than
 * the filter's own is adopted only while the rows stored under the filter stay within
 * MAX_SCOPE_ROWS; rows for the filter's prefixes and rows already stored always are.
 */
export function adoptableReport(report: readonly VectorEntry[], filter: Filter, stored: CounterVectors): VectorEntry[] {
  const layers = layersOf(filter)
  let rows = stored.rowsUnder(filter.prefixes)
  return report.filter((e) => {
    if (!filter.prefixes.some((p) => covers(p, e.prefix)) || !layers.includes(e.layer)) return false
    if (filter.prefixes.includes(e.prefix) || stored.has(e.prefix, e.layer)) return true
    rows += 1
    return rows <= MAX_SCOPE_ROWS
  })
}

/**
 * The claims a receiver may raise once it holds author `author`'s stream through counter
 * `through` (Infinity once the sender said the stream is complete): for every reported
 * prefix, min(through, sender's claim). Claims for broader prefixes are never raised here.
 */
export function advancesFor(report: readonly VectorEntry[], author: string, through: number): VectorAdvance[] {
  const out: VectorAdvance[] = []
  for (const row of report) {
    const claim = row.counters[author] ?? 0
    const counter = Math.min(through, claim)
    if (counter > 0) out.push({ prefix: row.prefix, layer: row.layer, author, counter })
  }
  return out
}

/** The rows a holder sends to describe what it has for a filter. */
export function holderReport(vectors: CounterVectors, filter: Filter): VectorEntry[] {
  return fitReport(vectors.relevant(filter.prefixes, layersOf(filter)))
}

/** One author's part of a stream: counters above `floor` up to `top` are to go through. */
export interface AuthorRange {
  floor: number
  top: number
}

/**
 * The ranges of a stream from a sender whose highest counter per author is `tops`, to a
 * holder of `holder` for `filter`: per author, what lies above the holder's lowest claim.
 */
export function streamRanges(tops: Iterable<[string, number]>, filter: Filter, holder: CounterVectors): Map<string, AuthorRange> {
  const out = new Map<string, AuthorRange>()
  const layers = layersOf(filter)
  for (const [author, top] of tops) {
    let floor = Infinity
    for (const p of filter.prefixes) for (const l of layers) floor = Math.min(floor, holder.effective(p, l, author))
    if (top > floor) out.set(author, { floor, top })
  }
  return out
}

/** An upper bound of what a pull will send (for progress bars): per author, what lies above the holder's floor. */
export function estimate(log: DiffSource, filter: Filter, holder: CounterVectors): number {
  let total = 0
  for (const r of streamRanges(topsOf(log), filter, holder).values()) total += r.top - r.floor
  return total
}

/** A log's highest held counter per author. */
export function topsOf(log: DiffSource): Iterable<[string, number]> {
  return [...log.authors()].map((a): [string, number] => [a, log.maxHeld(a)])
}
