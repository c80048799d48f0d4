/** The invariant every sync keeps (docs/design.md §3.3): no instance claims an operation it does not hold. */
import { ALL_LAYERS } from '../../core/model/counterVector.js'
import { covers } from '../../core/model/partition.js'
import { allOps } from './instances.js'
import type { Node } from './syncNet.js'

/** Every claim of every node is backed by operations it holds (checked against the union of all logs). */
export async function claimsHold(nodes: Node[]): Promise<string[]> {
  const universe = new Map<string, { partition: string; layer: string; author: string; counter: number }>()
  const held = new Map<Node, Set<string>>()
  for (const n of nodes) {
    const mine = new Set<string>()
    for (const op of await allOps(n.log)) {
      const k = `${op.author}:${op.counter}`
      mine.add(k)
      universe.set(k, { partition: op.partition, layer: op.layer, author: op.author, counter: op.counter })
    }
    held.set(n, mine)
  }
  const problems: string[] = []
  for (const n of nodes) {
    for (const row of n.log.vectors.entries()) {
      for (const [author, claim] of Object.entries(row.counters)) {
        for (const [k, op] of universe) {
          if (op.author !== author || op.counter > claim || !covers(row.prefix, op.partition)) continue
          if (row.layer !== ALL_LAYERS && row.layer !== op.layer) continue
          if (!held.get(n)?.has(k)) problems.push(`${n.name} claims ${row.prefix || '(root)'}/${row.layer || '(neutral)'} ${author}≤${claim} but lacks ${k}`)
        }
      }
    }
  }
  return problems
}

