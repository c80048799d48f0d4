/**
 * Conflicts as a person judges them: each competing version with the name of the instance
 * that wrote it and its text; and their resolution, by one operation for one layer or by one
 * instance's side for the whole resource, every layer in one transaction.
 */
import { pollenError } from '../errors.js'
import { conflictsOf, visibleLayers, type Head, type RecordState } from '../model/merge.js'
import { parseInstanceId } from '../model/identity.js'
import { bodyOf, instanceOf, opRef, type OpRef } from '../model/operation.js'
import { conflictEntries } from '../log/projection.js'
import type { Transaction } from '../log/opLog.js'
import { layerText } from './fields.js'
import type { LibraryContext } from './context.js'

/** A conflict as shown to a user. */
export interface ConflictView {
  id: string
  kind: string
  partition: string
  title?: string
  layers: { layer: string; winner: HeadView; losers: HeadView[] }[]
}

/** One competing version of one layer. */
export interface HeadView {
  op: OpRef
  type: string
  time: string
  author: string
  body: unknown
  /** The writer's instance id. */
  instance: string
  /** The name this instance knows the writer by: a peer's or a user's name, or "this instance". */
  instanceName?: string
  /** The version's fields as text (title and description, or tags, links and files). */
  text: string
}

function headView(layer: string, h: Head, bodies: ReadonlyMap<OpRef, Uint8Array | null>, names: ReadonlyMap<string, string>): HeadView {
  const body = bodyOf({ body: bodies.get(opRef(h)) ?? null })
  const instance = instanceOf(h.author)
  const name = names.get(instance)
  return { op: opRef(h), type: h.type, time: new Date(Math.floor(h.hlc / 4096)).toISOString(), author: h.author, body, instance, ...(name ? { instanceName: name } : {}), text: h.type === 'put' ? layerText(layer, body) : `(${h.type})` }
}

/** A record's conflicts as shown to a user; `bodies` holds the body bytes of its heads. */
export function conflictView(state: RecordState, bodies: ReadonlyMap<OpRef, Uint8Array | null>, names: ReadonlyMap<string, string>): ConflictView {
  const titleLayer = Object.entries(visibleLayers(state)).find(([l]) => l !== '')
  const title = titleLayer ? bodyOf<{ title?: string }>({ body: bodies.get(opRef(titleLayer[1])) ?? null })?.title : undefined
  return {
    id: state.id,
    kind: state.kind,
    partition: state.partition,
    ...(title ? { title } : {}),
    layers: conflictsOf(state).map((c) => {
      const heads = state.layers[c.layer]
      const byRef = (r: OpRef) => headView(c.layer, heads.find((h) => opRef(h) === r) as Head, bodies, names)
      return { layer: c.layer, winner: byRef(c.winner), losers: c.losers.map(byRef) }
    }),
  }
}

/** Every record with concurrent heads, with the competing versions. */
export async function conflicts(lib: LibraryContext): Promise<ConflictView[]> {
  const names = await lib.instanceNames()
  const out: ConflictView[] = []
  for await (const entry of conflictEntries(lib.log.store)) {
    const state = await lib.log.state(entry.kind, entry.id)
    if (state) out.push(conflictView(state, await lib.log.bodies(Object.values(state.layers).flat()), names))
  }
  return out
}

/** Writes `head` again, seen after every head: a put of its body in its layer, or its delete or purge. */
async function keepHead(tx: Transaction, state: RecordState, layer: string, head: Head): Promise<void> {
  if (head.type !== 'put') {
    await tx.add({ kind: 'resource', id: state.id, partition: state.partition, type: head.type, layer: '' })
    return
  }
  const body = (await tx.bodies([head])).get(opRef(head)) ?? null
  await tx.add({ kind: 'resource', id: state.id, partition: state.partition, type: 'put', layer, body: bodyOf({ body }) ?? {} })
}

/** Resolves one layer's conflict by writing a new version equal to the chosen head, seen after all heads. */
export async function resolve(lib: LibraryContext, id: string, keep: OpRef): Promise<void> {
  await lib.log.transact(async (tx) => {
    const state = await tx.state('resource', id)
    if (!state) throw pollenError('POLLEN_NOT_FOUND', `no resource with id ${id}`)
    const conflict = conflictsOf(state).find((c) => c.winner === keep || c.losers.includes(keep))
    if (!conflict) {
      const refs = conflictsOf(state).flatMap((c) => [c.winner, ...c.losers])
      throw pollenError('POLLEN_CONFLICT_NOT_FOUND', refs.length ? `resource ${id} has no conflicting version ${keep}; choose one of ${refs.join(', ')}` : `resource ${id} has no conflicts`)
    }
    await keepHead(tx, state, conflict.layer, state.layers[conflict.layer].find((h) => opRef(h) === keep) as Head)
  })
}

/** The instance `keep` names among the writers of the conflicting heads: an op ref, an instance id, or a name. */
function chosenInstance(keep: string, heads: readonly Head[], names: ReadonlyMap<string, string>): string | undefined {
  const byRef = heads.find((h) => opRef(h) === keep)
  if (byRef) return instanceOf(byRef.author)
  const writers = new Set(heads.map((h) => instanceOf(h.author)))
  const asId = parseInstanceId(keep)
  if (asId && writers.has(asId)) return asId
  return [...writers].find((w) => names.get(w) === keep)
}

/**
 * Keeps one side of a resource's conflicts in every layer, in one transaction: in each
 * conflicting layer the chosen instance's latest head is written again, seen after all heads;
 * a layer where that instance has no head keeps the version that wins now. A chosen delete
 * or purge deletes the resource. `keep` is an operation of the side, its instance id or the
 * instance's name as `conflicts list` shows it.
 */
export async function resolveKeep(lib: LibraryContext, id: string, keep: string): Promise<{ instance: string; kept: OpRef[] }> {
  const names = await lib.instanceNames()
  const { result } = await lib.log.transact(async (tx) => {
    const state = await tx.state('resource', id)
    if (!state) throw pollenError('POLLEN_NOT_FOUND', `no resource with id ${id}`)
    const layers = conflictsOf(state)
    if (layers.length === 0) throw pollenError('POLLEN_CONFLICT_NOT_FOUND', `resource ${id} has no conflicts`)
    const heads = layers.flatMap((c) => state.layers[c.layer])
    const instance = chosenInstance(keep, heads, names)
    if (!instance) {
      const sides = [...new Set(heads.map((h) => instanceOf(h.author)))].map((w) => (names.has(w) ? `${names.get(w)} (${w})` : w))
      throw pollenError('POLLEN_CONFLICT_NOT_FOUND', `resource ${id} has no side written by ${JSON.stringify(keep)}; keep one of ${sides.join(', ')}, or an operation of \`pollen conflicts list\``)
    }
    const chosen = layers.map((c) => {
      const mine = state.layers[c.layer].filter((h) => instanceOf(h.author) === instance).sort((a, b) => b.hlc - a.hlc)
      const head = mine[0] ?? (state.layers[c.layer].find((h) => opRef(h) === c.winner) as Head)
      return { layer: c.layer, head }
    })
    const removal = chosen.find((c) => c.head.type !== 'put')
    if (removal) {
      await keepHead(tx, state, '', removal.head)
      return { instance, kept: [opRef(removal.head)] }
    }
    for (const c of chosen) await keepHead(tx, state, c.layer, c.head)
    return { instance, kept: chosen.map((c) => opRef(c.head)) }
  })
  return result
}
