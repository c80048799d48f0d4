/**
 * Counter vectors per (partition prefix, layer). `V[p][l][a] = n` claims: every operation by
 * author `a` with counter ≤ n under prefix `p` in layer `l` is held here. Layer "" holds the
 * language-neutral fields, a language code holds that language's text. A claim for a broader
 * prefix covers every narrower one, so the effective value is the maximum over the ancestors.
 */
import { ancestors, covers } from './partition.js'

/** author → highest counter claimed. */
export type Counters = Record<string, number>

/** One (prefix, layer) row of a vector set, as stored and as sent on the wire. */
export interface VectorEntry {
  prefix: string
  layer: string
  counters: Counters
}

/** A vector claim a chunk allows the receiver to raise (docs/design.md §3.3 and core/sync/diff.ts). */
export interface VectorAdvance {
  prefix: string
  layer: string
  author: string
  counter: number
}

const slot = (prefix: string, layer: string): string => `${layer}\u0000${prefix}`

/**
 * The layer of an author's claims about itself: it holds all of its own operations in every
 * layer. Kept only in storage; reports always carry concrete layers.
 */
export const ALL_LAYERS = '*'

/** An in-memory set of counter vectors; the storage layer persists its changes. */
export class CounterVectors {
  readonly #rows = new Map<string, Map<string, number>>()

  /** Builds a set from stored or received entries. */
  static from(entries: Iterable<VectorEntry>): CounterVectors {
    const v = new CounterVectors()
    for (const e of entries) for (const [a, n] of Object.entries(e.counters)) v.raise(e.prefix, e.layer, a, n)
    return v
  }

  /** The value stored for exactly this prefix (no ancestor lookup). */
  own(prefix: string, layer: string, author: string): number {
    return this.#rows.get(slot(prefix, layer))?.get(author) ?? 0
  }

  /** The effective claim for `prefix`: the maximum over it and all its ancestors. */
  effective(prefix: string, layer: string, author: string): number {
    let best = 0
    for (const p of ancestors(prefix)) {
      const n = Math.max(this.#rows.get(slot(p, layer))?.get(author) ?? 0, this.#rows.get(slot(p, ALL_LAYERS))?.get(author) ?? 0)
      if (n > best) best = n
    }
    return best
  }

  /** The effective vector for `prefix` over every author known to any ancestor. */
  effectiveVector(prefix: string, layer: string): Counters {
    const out: Counters = {}
    for (const p of ancestors(prefix)) {
      for (const l of [layer, ALL_LAYERS]) {
        const row = this.#rows.get(slot(p, l))
        if (!row) continue
        for (const [a, n] of row) if (n > (out[a] ?? 0)) out[a] = n
      }
    }
    return out
  }

  /** Raises one claim; returns true when it changed (claims never go down). */
  raise(prefix: string, layer: string, author: string, value: number): boolean {
    if (!Number.isSafeInteger(value) || value <= 0) return false
    const key = slot(prefix, layer)
    let row = this.#rows.get(key)
    if (!row) {
      row = new Map()
      this.#rows.set(key, row)
    }
    if ((row.get(author) ?? 0) >= value) return false
    row.set(author, value)
    return true
  }

  /**
   * Lowers one claim to at most `value` (0 removes it). Only a repair does this: a check
   * against a peer (core/sync/verify.ts) showed the claim covers operations not held here.
   */
  lower(prefix: string, layer: string, author: string, value: number): void {
    const row = this.#rows.get(slot(prefix, layer))
    const now = row?.get(author)
    if (row === undefined || now === undefined || now <= value) return
    if (value > 0) row.set(author, value)
    else row.delete(author)
  }

  /** Every row, for persistence and for reporting. */
  entries(): VectorEntry[] {
    const out: VectorEntry[] = []
    for (const [key, row] of this.#rows) {
      const i = key.indexOf('\u0000')
      out.push({ layer: key.slice(0, i), prefix: key.slice(i + 1), counters: Object.fromEntries(row) })
    }
    return out.sort((x, y) => (x.prefix === y.prefix ? (x.layer < y.layer ? -1 : 1) : x.prefix < y.prefix ? -1 : 1))
  }

  /**
   * The rows that bear on a filter: those of its prefixes' ancestors (claims that cover them)
   * and of prefixes below them (narrower claims), limited to the given layers. This is what a
   * holder sends so that the other side can compute exactly what it lacks.
   */
  relevant(prefixes: readonly string[], layers: readonly string[]): VectorEntry[] {
    const wanted = new Set(prefixes)
    for (const e of this.entries()) if (prefixes.some((p) => covers(e.prefix, p) || covers(p, e.prefix))) wanted.add(e.prefix)
    const out: VectorEntry[] = []
    for (const prefix of [...wanted].sort()) {
      for (const layer of layers) {
        const counters = this.effectiveVector(prefix, layer)
        if (Object.keys(counters).length > 0) out.push({ prefix, layer, counters })
      }
    }
    return out
  }

  /** Whether a row is stored for exactly this prefix and layer. */
  has(prefix: string, layer: string): boolean {
    return this.#rows.has(slot(prefix, layer))
  }

  /** How many rows are stored for prefixes some of `prefixes` covers (any layer). */
  rowsUnder(prefixes: readonly string[]): number {
    let n = 0
    for (const key of this.#rows.keys()) {
      const prefix = key.slice(key.indexOf('\u0000') + 1)
      if (prefixes.some((p) => covers(p, prefix))) n += 1
    }
    return n
  }

  /** Every author named anywhere in the set. */
  authors(): Set<string> {
    const out = new Set<string>()
    for (const row of this.#rows.values()) for (const a of row.keys()) out.add(a)
    return out
  }
}

/** Vectors as sent on the wire: each author id once, rows as [prefix, layer, index, counter, ...]. */
export interface WireVectors {
  authors: string[]
  rows: (string | number)[][]
}

export function toWire(entries: readonly VectorEntry[]): WireVectors {
  const authors: string[] = []
  const index = new Map<string, number>()
  const rows = entries.map((e) => {
    const row: (string | number)[] = [e.prefix, e.layer]
    for (const a of Object.keys(e.counters).sort()) {
      let i = index.get(a)
      if (i === undefined) {
        i = authors.push(a) - 1
        index.set(a, i)
      }
      row.push(i, e.counters[a])
    }
    return row
  })
  return { authors, rows }
}

/** Decodes wire vectors; returns undefined when they are malformed. */
export function fromWire(w: unknown, maxRows = 100_000): VectorEntry[] | undefined {
  if (typeof w !== 'object' || w === null) return undefined
  const { authors, rows } = w as { authors?: unknown; rows?: unknown }
  if (!Array.isArray(authors) || !authors.every((a) => typeof a === 'string' && a.length <= 80)) return undefined
  if (!Array.isArray(rows) || rows.length > maxRows) return undefined
  const out: VectorEntry[] = []
  for (const row of rows) {
    if (!Array.isArray(row) || row.length < 2 || row.length % 2 !== 0) return undefined
    const [prefix, layer] = row
    if (typeof prefix !== 'string' || prefix.length > 256 || typeof layer !== 'string' || layer.length > 16) return undefined
    const counters: Counters = {}
    for (let i = 2; i < row.length; i += 2) {
      const a: string | undefined = authors[row[i] as number]
      const n = row[i + 1]
      if (a === undefined || !Number.isSafeInteger(n) || (n as number) < 0) return undefined
      counters[a] = n as number
    }
    out.push({ prefix, layer, counters })
  }
  return out
}
