/**
 * The resource library on top of the log: put, import, get, list, delete and purge, review,
 * and conflicts. Each user action is one local transaction (one atomic batch).
 */
import { pollenError } from '../errors.js'
import { conflictsOf, isLive, originOf, visibleLayers, type Head, type RecordState } from '../model/merge.js'
import type { OpLog, Transaction } from '../log/opLog.js'
import { bodyOf, opRef, type OpRef } from '../model/operation.js'
import { conflictEntries, idsWithStatus, statusOf, type ReviewDecision } from '../log/projection.js'
import { assembleResource, inputLanguages, parseResource, splitResource, type ResourceInput, type ResourceView, type ReviewStatus, type Source } from './resource.js'
import { hlcIso } from '../model/hlc.js'
import { sameBody, salted, unsalted } from './bodySalt.js'

export const RESOURCE = 'resource'

/**
 * The resource view of a state, or null when the record is deleted. `bodies` holds the body
 * bytes of (at least) the visible winners by op reference: the state keeps no bodies, they
 * are read from the winners' log entries.
 */
export function resourceView(state: RecordState, review: ReviewDecision | undefined, self: string, bodies: ReadonlyMap<OpRef, Uint8Array | null>): ResourceView | null {
  const status = statusOf(state, review, self)
  if (!status) return null
  const winners = visibleLayers(state)
  const layers = new Map<string, unknown>()
  let updated = 0
  for (const [layer, head] of Object.entries(winners)) {
    if (head.hlc > updated) updated = head.hlc
    layers.set(layer, bodyOf({ body: bodies.get(opRef(head)) ?? null }) ?? {})
  }
  return assembleResource(
    { id: state.id, partition: state.partition, origin: originOf(state), updated: hlcIso(updated), status, conflicts: conflictsOf(state).length },
    layers,
  )
}

/** What a put did. */
export type PutOutcome = 'created' | 'updated' | 'unchanged'

/** Result of an import: per-item errors are contained, valid items land. */
export interface ImportResult {
  total: number
  created: number
  updated: number
  unchanged: number
  errors: { index: number; id?: string; code: string; message: string }[]
}

/** A conflict as shown to a user. */
export interface ConflictView {
  id: string
  kind: string
  partition: string
  title?: string
  layers: { layer: string; winner: HeadView; losers: HeadView[] }[]
}

export interface HeadView {
  op: OpRef
  type: string
  time: string
  author: string
  body: unknown
}

/** Options of a library: who this instance is, for `source` on new resources. */
export interface LibraryOptions {
  source: Omit<Source, 'instance'>
  defaultPartition: string
}

export class Library {
  readonly log: OpLog
  readonly #opts: LibraryOptions

  constructor(log: OpLog, opts: LibraryOptions) {
    this.log = log
    this.#opts = opts
  }

  /** Creates or updates one resource; returns its id and what happened. */
  async put(raw: unknown): Promise<{ id: string; outcome: PutOutcome }> {
    const input = parseResource(raw)
    this.#checkLanguages(input)
    const { result } = await this.log.transact((tx) => this.#write(tx, input))
    return { id: input.id, outcome: result }
  }

  /**
   * Imports many resources. Invalid items are reported and skipped; valid ones are written
   * in batches of `batchSize` transactions (one resource each) per storage batch.
   */
  async import(items: readonly unknown[], onProgress?: (done: number, total: number) => void, batchSize = 200): Promise<ImportResult> {
    const res: ImportResult = { total: items.length, created: 0, updated: 0, unchanged: 0, errors: [] }
    const valid: { index: number; input: ResourceInput }[] = []
    items.forEach((raw, index) => {
      try {
        const input = parseResource(raw)
        this.#checkLanguages(input)
        valid.push({ index, input })
      } catch (err) {
        const e = err as { code?: string; message?: string }
        const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : undefined
        res.errors.push({ index, ...(id ? { id } : {}), code: e.code ?? 'POLLEN_INVALID_RESOURCE', message: e.message ?? String(err) })
      }
    })
    for (let i = 0; i < valid.length; i += batchSize) {
      const slice = valid.slice(i, i + batchSize)
      await this.log.transact(async (tx) => {
        await tx.prefetch(RESOURCE, slice.map((v) => v.input.id))
        for (const { input } of slice) {
          tx.next()
          res[await this.#write(tx, input)] += 1
        }
      })
      onProgress?.(Math.min(i + batchSize, valid.length), valid.length)
    }
    return res
  }

  #checkLanguages(input: ResourceInput): void {
    const unsupported = inputLanguages(input).filter((l) => !this.log.languages.includes(l))
    if (unsupported.length > 0) {
      throw pollenError(
        'POLLEN_UNSUPPORTED_LANGUAGE',
        `resource ${input.id} has text in ${unsupported.join(', ')}, which this instance does not keep (it keeps ${this.log.languages.join(', ')}); remove that text or add the language to the instance`,
        { details: { languages: unsupported } },
      )
    }
  }

  async #write(tx: Transaction, input: ResourceInput): Promise<PutOutcome> {
    const state = await tx.state(RESOURCE, input.id)
    const live = state !== undefined && isLive(state)
    if (state && input.partition !== undefined && input.partition !== state.partition) {
      throw pollenError('POLLEN_INVALID_RESOURCE', `resource ${input.id} lives in partition ${state.partition}; a resource cannot move to ${input.partition}`, { details: { field: 'partition' } })
    }
    const partition = state?.partition ?? input.partition ?? this.#opts.defaultPartition
    const winners = state ? visibleLayers(state) : {}
    const current = live ? await tx.bodies(Object.values(winners)) : new Map<OpRef, Uint8Array | null>()
    const bodyOfWinner = (layer: string): Uint8Array | null => (live && winners[layer] ? current.get(opRef(winners[layer])) ?? null : null)
    const currentSource = (bodyOf<{ source?: Source }>({ body: bodyOfWinner('') }) ?? undefined)?.source
    const source: Source = currentSource ?? { instance: this.log.instance, ...this.#opts.source }
    const bodies = splitResource(input, source)
    // A put replaces the resource: languages it no longer has get an empty text layer.
    if (live) for (const layer of Object.keys(winners)) if (layer !== '' && !bodies.has(layer)) bodies.set(layer, {})
    let wrote = 0
    for (const [layer, body] of bodies) {
      const winner = live ? winners[layer] : undefined
      const heads = state?.layers[layer] ?? []
      const held = bodyOfWinner(layer)
      if (winner && heads.length === 1 && sameBody(held, body)) continue
      if (!winner && layer !== '' && Object.keys(body).length === 0) continue
      await tx.add({ kind: RESOURCE, id: input.id, partition, type: 'put', layer, body: salted(body) })
      wrote += 1
    }
    if (!live) return 'created'
    return wrote > 0 ? 'updated' : 'unchanged'
  }

  /** Deletes a resource (a tombstone that travels); `purge` also drops its payload everywhere. */
  async delete(id: string, purge = false): Promise<void> {
    await this.log.transact(async (tx) => {
      const state = await tx.state(RESOURCE, id)
      // A deleted resource can still be purged, once: after a purge there is nothing left to drop.
      const purgedLast = state !== undefined && state.deletes.length > 0 && state.deletes.every((d) => d.type === 'purge')
      if (!state || (!isLive(state) && (!purge || purgedLast))) throw pollenError('POLLEN_NOT_FOUND', `no resource with id ${id}`)
      await tx.add({ kind: RESOURCE, id, partition: state.partition, type: purge ? 'purge' : 'delete', layer: '' })
    })
  }

  /** One resource in any review status, or POLLEN_NOT_FOUND. */
  async get(id: string): Promise<ResourceView> {
    const state = await this.log.state(RESOURCE, id)
    const view = state ? resourceView(state, await this.log.review(RESOURCE, id), this.log.instance, await this.log.bodies(Object.values(visibleLayers(state)))) : null
    if (!view) throw pollenError('POLLEN_NOT_FOUND', `no resource with id ${id}`)
    return view
  }

  /** Resources of one review status (published by default), optionally with text in `lang`. */
  async list(opts: { status?: ReviewStatus; lang?: string; limit?: number } = {}): Promise<ResourceView[]> {
    const status = opts.status ?? 'published'
    const out: ResourceView[] = []
    for await (const id of idsWithStatus(this.log.store, status, RESOURCE)) {
      const view = await this.get(id)
      if (opts.lang && !view.languages.includes(opts.lang)) continue
      out.push(view)
      if (opts.limit && out.length >= opts.limit) break
    }
    return out
  }

  /** Counts of resources per review status. */
  async counts(): Promise<Record<ReviewStatus, number>> {
    const out: Record<ReviewStatus, number> = { published: 0, pending: 0, rejected: 0 }
    for (const status of Object.keys(out) as ReviewStatus[]) {
      for await (const _ of idsWithStatus(this.log.store, status, RESOURCE)) out[status] += 1
    }
    return out
  }

  /** Approves or rejects resources received from peers. Every id is checked before any is changed. */
  async review(ids: readonly string[], decision: 'approved' | 'rejected'): Promise<void> {
    for (const id of ids) {
      const state = await this.log.state(RESOURCE, id)
      if (!state || !isLive(state)) throw pollenError('POLLEN_NOT_FOUND', `no resource with id ${id}`)
      if (originOf(state) === this.log.instance) {
        throw pollenError('POLLEN_INVALID_INPUT', `resource ${id} was created here and is published already; only resources from peers are reviewed`)
      }
    }
    for (const id of ids) await this.log.setReview(RESOURCE, id, decision)
  }

  /** Every record with concurrent heads, with the competing versions. */
  async conflicts(): Promise<ConflictView[]> {
    const out: ConflictView[] = []
    for await (const entry of conflictEntries(this.log.store)) {
      const state = await this.log.state(entry.kind, entry.id)
      if (state) out.push(conflictView(state, await this.log.bodies(Object.values(state.layers).flat())))
    }
    return out
  }

  /** Resolves a conflict by writing a new version equal to the chosen head, seen after all heads. */
  async resolve(id: string, keep: OpRef): Promise<void> {
    await this.log.transact(async (tx) => {
      const state = await tx.state(RESOURCE, id)
      if (!state) throw pollenError('POLLEN_NOT_FOUND', `no resource with id ${id}`)
      const conflict = conflictsOf(state).find((c) => c.winner === keep || c.losers.includes(keep))
      if (!conflict) {
        const refs = conflictsOf(state).flatMap((c) => [c.winner, ...c.losers])
        throw pollenError('POLLEN_CONFLICT_NOT_FOUND', refs.length ? `resource ${id} has no conflicting version ${keep}; choose one of ${refs.join(', ')}` : `resource ${id} has no conflicts`)
      }
      const head = state.layers[conflict.layer].find((h) => opRef(h) === keep) as Head
      if (head.type !== 'put') {
        await tx.add({ kind: RESOURCE, id, partition: state.partition, type: head.type, layer: '' })
      } else {
        const body = (await tx.bodies([head])).get(keep) ?? null
        await tx.add({ kind: RESOURCE, id, partition: state.partition, type: 'put', layer: conflict.layer, body: salted(bodyOf<object>({ body }) ?? {}) })
      }
    })
  }

  /** Review status of a resource, or null when deleted. */
  async status(id: string): Promise<ReviewStatus | null> {
    return statusOf(await this.log.state(RESOURCE, id), await this.log.review(RESOURCE, id), this.log.instance)
  }
}

function headView(h: Head, bodies: ReadonlyMap<OpRef, Uint8Array | null>): HeadView {
  return { op: opRef(h), type: h.type, time: new Date(Math.floor(h.hlc / 4096)).toISOString(), author: h.author, body: unsalted(bodyOf({ body: bodies.get(opRef(h)) ?? null })) }
}

/** A record's conflicts as shown to a user; `bodies` holds the body bytes of its heads. */
function conflictView(state: RecordState, bodies: ReadonlyMap<OpRef, Uint8Array | null>): ConflictView {
  const titleLayer = Object.entries(visibleLayers(state)).find(([l]) => l !== '')
  const title = titleLayer ? bodyOf<{ title?: string }>({ body: bodies.get(opRef(titleLayer[1])) ?? null })?.title : undefined
  return {
    id: state.id,
    kind: state.kind,
    partition: state.partition,
    ...(title ? { title } : {}),
    layers: conflictsOf(state).map((c) => {
      const heads = state.layers[c.layer]
      const byRef = (r: OpRef) => headView(heads.find((h) => opRef(h) === r) as Head, bodies)
      return { layer: c.layer, winner: byRef(c.winner), losers: c.losers.map(byRef) }
    }),
  }
}
