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

const slot = (prefix: string, layer: string): string => `${layer}\u0000${prefix}`

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
      const n = this.#rows.get(slot(p, layer))?.get(author) ?? 0
      if (n > best) best = n
    }
    return best
  }

  /** The effective vector for `prefix` over every author known to any ancestor. */
  effectiveVector(prefix: string, layer: string): Counters {
    const out: Counters = {}
    for (const p of ancestors(prefix)) {
      const row = this.#rows.get(slot(p, layer))
      if (!row) continue
      for (const [a, n] of row) if (n > (out[a] ?? 0)) out[a] = n
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
    return this.entries().filter(
      (e) => layers.includes(e.layer) && prefixes.some((p) => covers(e.prefix, p) || covers(p, e.prefix)),
    )
  }

  /** Every author named anywhere in the set. */
  authors(): Set<string> {
    const out = new Set<string>()
    for (const row of this.#rows.values()) for (const a of row.keys()) out.add(a)
    return out
  }
}

/**
 * The threshold a holder's vectors imply for one operation: the highest claim among the
 * holder's rows whose prefix covers the operation's partition. The holder lacks the
 * operation exactly when its counter is above this.
 */
export function holderThreshold(holder: CounterVectors, partition: string, layer: string, author: string): number {
  return holder.effective(partition, layer, author)
}
