/**
 * What happened to a resource: every operation of it held in the log, oldest first, with who
 * wrote it from which instance; and the diff between the version this instance last approved
 * and the one it holds now, field by field.
 */
import { diffLines, diffWords } from 'diff'
import { pollenError } from '../errors.js'
import { hlcIso } from '../model/hlc.js'
import { isLive, visibleLayers } from '../model/merge.js'
import { bodyOf, instanceOf, opRef, type OpRef, type OpType } from '../model/operation.js'
import { recordOperations } from '../log/logEntries.js'
import { compareFields, fieldId, layerFields, type FieldKey } from './fields.js'
import type { LibraryContext } from './context.js'

/** One operation of a resource as its history shows it. */
export interface HistoryEntry {
  op: OpRef
  author: string
  instance: string
  /** The name this instance knows the writer by (a peer, a user, or "this instance"). */
  instanceName?: string
  type: OpType
  /** "" for the language-neutral fields, else the language of the text. */
  layer: string
  time: string
  /** The body as written; absent for deletes and bodies a purge dropped. */
  body?: unknown
}

/** One field that differs between two versions, with its word or line changes. */
export interface FieldDiff extends FieldKey {
  before: string | null
  after: string | null
  parts: { value: string; added?: boolean; removed?: boolean }[]
}

/** The difference between the last approved version and the current one; `since: 'none'` when nothing was approved. */
export interface ResourceDiff {
  since: 'approved' | 'none'
  /** The approved version's winning operation per layer, when there is one. */
  approved?: Record<string, OpRef>
  current: Record<string, OpRef>
  fields: FieldDiff[]
}

/** Every operation of a resource held here, oldest first (by timestamp, then author and counter). */
export async function history(lib: LibraryContext, id: string): Promise<HistoryEntry[]> {
  const ops = await recordOperations(lib.log.store, 'resource', id)
  if (ops.length === 0) throw pollenError('POLLEN_NOT_FOUND', `no resource with id ${id}`)
  ops.sort((a, b) => a.hlc - b.hlc || (a.author < b.author ? -1 : a.author > b.author ? 1 : a.counter - b.counter))
  const names = await lib.instanceNames()
  return ops.map((op) => {
    const instance = instanceOf(op.author)
    const name = names.get(instance)
    const body = op.type === 'put' ? bodyOf(op) : null
    return { op: opRef(op), author: op.author, instance, ...(name ? { instanceName: name } : {}), type: op.type, layer: op.layer, time: hlcIso(op.hlc), ...(body !== null ? { body } : {}) }
  })
}

function fieldsOf(layers: Record<string, OpRef>, bodies: ReadonlyMap<OpRef, Uint8Array | null>): Map<string, [FieldKey, string]> {
  const out = new Map<string, [FieldKey, string]>()
  for (const [layer, ref] of Object.entries(layers)) {
    for (const [k, text] of layerFields(layer, bodyOf({ body: bodies.get(ref) ?? null }))) out.set(fieldId(k), [k, text])
  }
  return out
}

function partsOf(k: FieldKey, before: string | null, after: string | null): FieldDiff['parts'] {
  const changes = k.field === 'title' || k.field === 'description' ? diffWords(before ?? '', after ?? '') : diffLines(before ?? '', after ?? '')
  return changes.map((c) => ({ value: c.value, ...(c.added ? { added: true } : {}), ...(c.removed ? { removed: true } : {}) }))
}

/**
 * The fields that differ between the version this instance approved last (the one its
 * approval recorded) and the current one. Without an approval, every field is new.
 */
export async function diff(lib: LibraryContext, id: string): Promise<ResourceDiff> {
  const state = await lib.log.state('resource', id)
  if (!state || !isLive(state)) throw pollenError('POLLEN_NOT_FOUND', `no resource with id ${id}`)
  const review = await lib.log.review('resource', id)
  const approved = review?.decision === 'approved' ? review.version : undefined
  const current: Record<string, OpRef> = {}
  for (const [layer, head] of Object.entries(visibleLayers(state))) current[layer] = opRef(head)
  const bodies = await lib.log.bodies([...Object.values(current), ...Object.values(approved ?? {})].map(refParts))
  const before = approved ? fieldsOf(approved, bodies) : new Map<string, [FieldKey, string]>()
  const after = fieldsOf(current, bodies)
  const fields: FieldDiff[] = []
  for (const fid of new Set([...before.keys(), ...after.keys()])) {
    const k = (after.get(fid) ?? before.get(fid))?.[0] as FieldKey
    const b = before.get(fid)?.[1] ?? null
    const a = after.get(fid)?.[1] ?? null
    if (b === a) continue
    fields.push({ ...k, before: b, after: a, parts: partsOf(k, b, a) })
  }
  fields.sort(compareFields)
  return { since: approved ? 'approved' : 'none', ...(approved ? { approved } : {}), current, fields }
}

function refParts(ref: OpRef): { author: string; counter: number } {
  const i = ref.lastIndexOf(':')
  return { author: ref.slice(0, i), counter: Number(ref.slice(i + 1)) }
}
