/**
 * The resource library on top of the log: put, import, get, list, delete and purge, review,
 * and conflicts. Each user action is one local transaction (one atomic batch).
 */
import { pollenError } from '../errors.js'
import type { LibraryContext } from './context.js'
import { conflictsOf, isLive, originOf, visibleLayers, type RecordState } from '../model/merge.js'
import type { OpLog, Transaction } from '../log/opLog.js'
import { bodyOf, encodeBody, equalBytes, opRef, type OpRef } from '../model/operation.js'
import { idsWithStatus, readRecords, statusOf, type ReviewDecision, type ReviewRecord } from '../log/projection.js'
import { assembleResource, inputLanguages, parseResource, splitResource, type ResourceInput, type ResourceView, type ReviewStatus, type Source } from './resource.js'
import { hlcIso } from '../model/hlc.js'
import { conflicts, resolve, resolveKeep, type ConflictView } from './conflicts.js'
import { diff, history, type HistoryEntry, type ResourceDiff } from './history.js'
import { decisionOf, page, review, reviewMatching, type ResourceFilter, type ReviewOptions } from './review.js'

export const RESOURCE = 'resource'

/**
 * The resource view of a state, or null when the record is deleted. `bodies` holds the body
 * bytes of (at least) the visible winners by op reference: the state keeps no bodies, they
 * are read from the winners' log entries.
 */
export function resourceView(state: RecordState, review: ReviewRecord | undefined, self: string, bodies: ReadonlyMap<OpRef, Uint8Array | null>): ResourceView | null {
  const status = statusOf(state, review, self)
  if (!status) return null
  const winners = visibleLayers(state)
  const layers = new Map<string, unknown>()
  let updated = 0
  for (const [layer, head] of Object.entries(winners)) {
    if (head.hlc > updated) updated = head.hlc
    layers.set(layer, bodyOf({ body: bodies.get(opRef(head)) ?? null }) ?? {})
  }
  const view = assembleResource(
    { id: state.id, partition: state.partition, origin: originOf(state), updated: hlcIso(updated), status, conflicts: conflictsOf(state).length },
    layers,
  )
  if (review) view.review = review
  return view
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

export type { ConflictView, HeadView } from './conflicts.js'
export type { HistoryEntry, ResourceDiff, FieldDiff } from './history.js'
export type { ResourceFilter, ReviewOptions } from './review.js'

/** What conflicts and histories call this instance's own side. */
export const SELF_NAME = 'this instance'

/** Options of a library: who this instance is, for `source` on new resources. */
export interface LibraryOptions {
  source: Omit<Source, 'instance'>
  defaultPartition: string
  /**
   * The names other instances are known by here (instance id → name), from the peers and
   * users of core/access, which the library may not import: the daemon passes them in.
   */
  names?: () => Promise<ReadonlyMap<string, string>>
}

export class Library implements LibraryContext {
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
      if (winner && heads.length === 1 && held && equalBytes(held, encodeBody(body))) continue
      if (!winner && layer !== '' && Object.keys(body).length === 0) continue
      await tx.add({ kind: RESOURCE, id: input.id, partition, type: 'put', layer, body })
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
    let ids: string[] = []
    const flush = async (): Promise<void> => {
      for (const v of await this.views(ids)) if (!opts.lang || v.languages.includes(opts.lang)) out.push(v)
      ids = []
    }
    for await (const id of idsWithStatus(this.log.store, status, RESOURCE)) {
      ids.push(id)
      if (ids.length < 256) continue
      await flush()
      if (opts.limit && out.length >= opts.limit) break
    }
    await flush()
    return opts.limit ? out.slice(0, opts.limit) : out
  }

  /** Counts of resources per review status. */
  async counts(): Promise<Record<ReviewStatus, number>> {
    const out: Record<ReviewStatus, number> = { published: 0, pending: 0, rejected: 0 }
    for (const status of Object.keys(out) as ReviewStatus[]) {
      for await (const _ of idsWithStatus(this.log.store, status, RESOURCE)) out[status] += 1
    }
    return out
  }

  /** The views of many resources, read in one storage call per kind of key; deleted ones are left out. */
  async views(ids: readonly string[]): Promise<ResourceView[]> {
    if (ids.length === 0) return []
    const records = await readRecords(this.log.store, RESOURCE, ids)
    const winners = records.flatMap((r) => (r.state ? Object.values(visibleLayers(r.state)) : []))
    const bodies = await this.log.bodies(winners)
    return records.flatMap((r) => {
      const view = r.state ? resourceView(r.state, r.review, this.log.instance, bodies) : null
      return view ? [view] : []
    })
  }

  /** Instance id → the name this instance knows it by (peers, users), and this instance itself. */
  async instanceNames(): Promise<Map<string, string>> {
    const names = new Map(this.#opts.names ? await this.#opts.names() : [])
    names.set(this.log.instance, SELF_NAME)
    return names
  }

  /** One page of the resources a filter matches (published by default), and how many match (core/library/review.ts). */
  page(opts: ResourceFilter & { limit: number; offset: number }): Promise<{ items: ResourceView[]; total: number }> {
    return page(this, opts)
  }

  /** Approves or rejects resources received from peers, in one batch; every id is checked before any is changed. */
  review(ids: readonly string[], decision: ReviewDecision, opts?: ReviewOptions): Promise<void> {
    return review(this, ids, decision, opts)
  }

  /** Decides on every resource from a peer that a filter matches (pending unless it names a status). */
  reviewMatching(filter: ResourceFilter, decision: ReviewDecision, opts?: ReviewOptions): Promise<{ count: number }> {
    return reviewMatching(this, filter, decision, opts)
  }

  /** The decision recorded about a resource: what, why, who, when, about which version. */
  decision(id: string): Promise<ReviewRecord | undefined> {
    return decisionOf(this, id)
  }

  /** Every operation of a resource in the log, oldest first (core/library/history.ts). */
  history(id: string): Promise<HistoryEntry[]> {
    return history(this, id)
  }

  /** The fields that changed since this instance last approved the resource. */
  diff(id: string): Promise<ResourceDiff> {
    return diff(this, id)
  }

  /** Every record with concurrent heads, with the competing versions, their writers' names and text. */
  conflicts(): Promise<ConflictView[]> {
    return conflicts(this)
  }

  /** Resolves one layer's conflict by keeping one operation. */
  resolve(id: string, keep: OpRef): Promise<void> {
    return resolve(this, id, keep)
  }

  /** Keeps one side (an operation, instance id or instance name) for the whole resource, all layers in one transaction. */
  resolveKeep(id: string, keep: string): Promise<{ instance: string; kept: OpRef[] }> {
    return resolveKeep(this, id, keep)
  }

  /** Review status of a resource, or null when deleted. */
  async status(id: string): Promise<ReviewStatus | null> {
    return statusOf(await this.log.state(RESOURCE, id), await this.log.review(RESOURCE, id), this.log.instance)
  }
}
