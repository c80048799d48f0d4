/**
 * The merge rules as pure functions over one record's state. For each layer the state keeps
 * its heads: the operations (of that layer, plus deletes and purges, which apply to every
 * layer) that no other applied operation has seen. Heads are the maximal elements of a set,
 * so they do not depend on the order operations arrive in. The winner among heads is picked
 * by a fixed rule: delete or purge beats put; between puts the record's origin instance wins,
 * then the later timestamp, then the higher author id. The other heads are the conflicts.
 */
import type { Counters } from './counterVector.js'
import { dominates, instanceOf, isAscending, opRef, type OpType, type Operation, type OpRef } from './operation.js'

/**
 * What the state keeps of one head operation: enough to order heads and pick winners. The
 * body stays in the operation's log entry (read when a view is assembled), so a change does
 * not write every head's body again into the state.
 */
export interface Head {
  author: string
  counter: number
  type: OpType
  hlc: number
  deps: Counters
}

/** The merged state of one record, stored as a projection. */
export interface RecordState {
  kind: string
  id: string
  partition: string
  /** Pointwise maximum of every applied operation and everything those had seen. */
  version: Counters
  /** The earliest operation by (hlc, author): its author's instance is the record's origin. */
  first: { hlc: number; author: string }
  /** Maximal delete and purge operations. */
  deletes: Head[]
  /** Maximal purge operations: bodies of operations not written after all of them are dropped. */
  purges: Head[]
  /** Heads per layer present. */
  layers: Record<string, Head[]>
}

/** How an operation changed a record. */
export type ApplyEffect = 'new' | 'updated' | 'unchanged'

export function headOf(op: Operation): Head {
  // Operations are never changed once made, so a head may share their deps when sorted.
  return { author: op.author, counter: op.counter, type: op.type, hlc: op.hlc, deps: sortedCounters(op.deps) }
}

/** The instance a record belongs to: the author of its earliest operation. */
export function originOf(state: RecordState): string {
  return instanceOf(state.first.author)
}

/** Orders two concurrent heads: negative when `a` wins. */
export function compareHeads(a: Head, b: Head, origin: string): number {
  const aDel = a.type !== 'put'
  const bDel = b.type !== 'put'
  if (aDel !== bDel) return aDel ? -1 : 1
  if (aDel && bDel && a.type !== b.type) return a.type === 'purge' ? -1 : 1
  const aOrigin = instanceOf(a.author) === origin
  const bOrigin = instanceOf(b.author) === origin
  if (aOrigin !== bOrigin) return aOrigin ? -1 : 1
  if (a.hlc !== b.hlc) return b.hlc - a.hlc
  if (a.author !== b.author) return a.author > b.author ? -1 : 1
  return b.counter - a.counter
}

/** The winning head of a layer, or undefined when the layer has none. */
export function winnerOf(heads: readonly Head[], origin: string): Head | undefined {
  let best: Head | undefined
  for (const h of heads) if (!best || compareHeads(h, best, origin) < 0) best = h
  return best
}

const byRef = (a: Head, b: Head): number => (a.author === b.author ? a.counter - b.counter : a.author < b.author ? -1 : 1)

/**
 * Adds `op` to a set of maximal elements; returns the new set (kept sorted by author and
 * counter, the canonical order), or null if `op` was already seen.
 */
function addMaximal(heads: readonly Head[], op: Operation): Head[] | null {
  // A layer's first operation, the common case in a pull: no comparison, no sort.
  if (heads.length === 0) return [headOf(op)]
  if (heads.some((h) => (h.author === op.author && h.counter === op.counter) || dominates(h, op))) return null
  const out = heads.filter((h) => !dominates(op, h))
  out.push(headOf(op))
  return out.sort(byRef)
}

/** Raises `version` in place to the pointwise maximum with the operation and its dependencies. */
function raiseVersion(version: Counters, op: Operation): void {
  for (const a in op.deps) if (op.deps[a] > (version[a] ?? 0)) version[a] = op.deps[a]
  if (op.counter > (version[op.author] ?? 0)) version[op.author] = op.counter
}

/** The counters with their keys in sorted (canonical) order; the same object when they already are. */
function sortedCounters(c: Counters): Counters {
  const keys = Object.keys(c)
  if (isAscending(keys)) return c
  const out: Counters = {}
  for (const a of keys.sort()) out[a] = c[a]
  return out
}


/** True when `op` was written after every purge of the record, so it keeps its body. */
export function survivesPurges(state: RecordState | undefined, op: Pick<Operation, 'deps'>): boolean {
  return !state || state.purges.every((p) => dominates(op, p))
}

/** A fresh, empty state for a record about to receive its first operation. */
export function emptyState(op: Operation): RecordState {
  return { kind: op.kind, id: op.id, partition: op.partition, version: {}, first: { hlc: op.hlc, author: op.author }, deletes: [], purges: [], layers: {} }
}

/**
 * Applies one operation to a record's state. Pure: returns the new state (the input is not
 * modified) and whether anything a reader sees changed. Order-independent by construction.
 */
export function applyToState(prev: RecordState | undefined, op: Operation): { state: RecordState; changed: boolean } {
  const state = workingState(prev, op)
  const changed = applyInPlace(state, op) || prev === undefined
  return { state: settled(state), changed }
}

/**
 * A copy of `prev` (or a fresh state for `first`, the record's first operation here) that
 * `applyInPlace` may change: a batch of a record's operations is applied to one copy instead
 * of copying the whole state once per operation. Head arrays are shared with `prev`: they are
 * only ever replaced, never changed in place.
 */
export function workingState(prev: RecordState | undefined, first: Operation): RecordState {
  if (!prev) return emptyState(first)
  return { ...prev, version: { ...prev.version }, layers: { ...prev.layers } }
}

/**
 * Applies one operation to a working state (see `workingState`) in place, exactly as
 * `applyToState` would; returns whether anything a reader sees changed (a record's first
 * operation aside). The version's keys may be out of canonical order until `settled`.
 */
export function applyInPlace(state: RecordState, op: Operation): boolean {
  raiseVersion(state.version, op)
  let changed = false
  if (op.hlc < state.first.hlc || (op.hlc === state.first.hlc && op.author < state.first.author)) {
    // The earliest operation names the record's origin and partition, whatever arrived first.
    state.first = { hlc: op.hlc, author: op.author }
    state.partition = op.partition
    changed = true
  }

  if (op.type === 'put') {
    const current = state.layers[op.layer] ?? state.deletes
    const next = addMaximal(current, op)
    // A layer exists once any of its operations arrived, even one a delete already saw:
    // otherwise whether it exists would depend on arrival order.
    if (next || !state.layers[op.layer]) {
      state.layers[op.layer] = next ?? [...current]
      changed = true
    }
    return changed
  }

  const deletes = addMaximal(state.deletes, op)
  if (deletes) {
    state.deletes = deletes
    changed = true
  }
  for (const layer of Object.keys(state.layers)) {
    const next = addMaximal(state.layers[layer], op)
    if (next) state.layers[layer] = next
  }
  if (op.type === 'purge') {
    // The bodies it drops live in the log entries (OpLog rewrites them in the same batch).
    const purges = addMaximal(state.purges, op)
    if (purges) state.purges = purges
    changed = true
  }
  return changed
}

/** A working state in canonical form again (its version's keys sorted), ready to store. */
export function settled(state: RecordState): RecordState {
  state.version = sortedCounters(state.version)
  return state
}

/** The winner per layer, dropping layers whose winner is a delete. */
export function visibleLayers(state: RecordState): Record<string, Head> {
  const origin = originOf(state)
  const out: Record<string, Head> = {}
  for (const [layer, heads] of Object.entries(state.layers)) {
    const w = winnerOf(heads, origin)
    if (w && w.type === 'put') out[layer] = w
  }
  return out
}

/** True when the record exists: its neutral layer's winner is a put. */
export function isLive(state: RecordState): boolean {
  const neutral = state.layers['']
  if (!neutral) return false
  const w = winnerOf(neutral, originOf(state))
  return w !== undefined && w.type === 'put'
}

/** One unresolved conflict: a layer with more than one head. */
export interface LayerConflict {
  layer: string
  winner: OpRef
  losers: OpRef[]
}

export function conflictsOf(state: RecordState): LayerConflict[] {
  // Called several times per record a batch touches, and most records have no conflict:
  // nothing is allocated or sorted for those.
  const out: LayerConflict[] = []
  for (const layer in state.layers) {
    const heads = state.layers[layer]
    if (heads.length < 2) continue
    const w = winnerOf(heads, originOf(state)) as Head
    out.push({ layer, winner: opRef(w), losers: heads.filter((h) => h !== w).map(opRef).sort() })
  }
  return out.length > 1 ? out.sort((a, b) => (a.layer < b.layer ? -1 : 1)) : out
}
