/**
 * Review of resources from peers: filtered pages of the library (the review queue is its
 * pending part), decisions with their reason, author and time for one list of ids or for
 * everything a filter matches, each decision set written in one atomic batch.
 */
import { pollenError } from '../errors.js'
import { isLive, originOf } from '../model/merge.js'
import { covers } from '../model/partition.js'
import { idsWithStatus, readRecords, type ReviewDecision, type ReviewRecord } from '../log/projection.js'
import type { LibraryContext } from './context.js'
import type { ResourceView, ReviewStatus } from './resource.js'

/** Which resources a page or a bulk decision covers; every given criterion must hold. */
export interface ResourceFilter {
  status?: ReviewStatus
  /** The source: its instance id, its instance name as the resource names it, or the name of the peer or user it is known by here. */
  peer?: string
  tag?: string
  lang?: string
  /** A partition prefix (segment-wise: "lib" covers "lib/x", not "library"). */
  partition?: string
  /** Case-insensitive text looked for in the id, titles and descriptions. */
  search?: string
}

/** Who decided and why (both optional; the time is recorded by the library). */
export interface ReviewOptions {
  reason?: string
  by?: string
}

/** Largest page a caller may ask for. */
export const MAX_PAGE = 5000
/** Ids read per storage call while a page or a bulk decision walks the index. */
const BATCH = 256
const MAX_REASON = 2000
const MAX_BY = 200

/** Whether a view passes the filter's criteria other than status; `names` maps instance ids to the names known here. */
export function matchesFilter(view: ResourceView, filter: ResourceFilter, names: ReadonlyMap<string, string>): boolean {
  if (filter.peer !== undefined && view.origin !== filter.peer && view.source.name !== filter.peer && names.get(view.origin) !== filter.peer) return false
  if (filter.tag !== undefined && !view.tags.includes(filter.tag)) return false
  if (filter.lang !== undefined && !view.languages.includes(filter.lang)) return false
  if (filter.partition !== undefined && !covers(filter.partition, view.partition)) return false
  if (filter.search !== undefined && filter.search !== '') {
    const needle = filter.search.toLowerCase()
    const texts = [view.id, ...Object.values(view.title), ...Object.values(view.description)]
    if (!texts.some((t) => t.toLowerCase().includes(needle))) return false
  }
  return true
}

function narrows(filter: ResourceFilter): boolean {
  return [filter.peer, filter.tag, filter.lang, filter.partition].some((v) => v !== undefined) || (filter.search ?? '') !== ''
}

/** Walks the views of one status in id order, BATCH at a time, passing those that match. */
async function* matching(lib: LibraryContext, filter: ResourceFilter, status: ReviewStatus): AsyncIterable<ResourceView> {
  const names = await lib.instanceNames()
  let ids: string[] = []
  const flush = async function* (): AsyncIterable<ResourceView> {
    for (const v of await lib.views(ids)) if (matchesFilter(v, filter, names)) yield v
    ids = []
  }
  for await (const id of idsWithStatus(lib.log.store, status, 'resource')) {
    ids.push(id)
    if (ids.length >= BATCH) yield* flush()
  }
  yield* flush()
}

/** One page of the resources a filter matches (published by default), and how many match in all. */
export async function page(lib: LibraryContext, opts: ResourceFilter & { limit: number; offset: number }): Promise<{ items: ResourceView[]; total: number }> {
  if (!Number.isSafeInteger(opts.limit) || opts.limit < 0 || opts.limit > MAX_PAGE) throw pollenError('POLLEN_INVALID_INPUT', `limit must be a whole number from 0 to ${MAX_PAGE}`)
  if (!Number.isSafeInteger(opts.offset) || opts.offset < 0) throw pollenError('POLLEN_INVALID_INPUT', 'offset must be a whole number from 0')
  const status = opts.status ?? 'published'
  const items: ResourceView[] = []
  let total = 0
  if (!narrows(opts)) {
    // Only the status: count the index's keys, read views for the page alone.
    const ids: string[] = []
    for await (const id of idsWithStatus(lib.log.store, status, 'resource')) {
      if (total >= opts.offset && ids.length < opts.limit) ids.push(id)
      total += 1
    }
    return { items: await lib.views(ids), total }
  }
  for await (const v of matching(lib, opts, status)) {
    if (total >= opts.offset && items.length < opts.limit) items.push(v)
    total += 1
  }
  return { items, total }
}

function checkOptions(opts: ReviewOptions): ReviewOptions {
  const out: ReviewOptions = {}
  if (opts.reason !== undefined) {
    if (typeof opts.reason !== 'string' || opts.reason.length > MAX_REASON) throw pollenError('POLLEN_INVALID_INPUT', `a reason is text of at most ${MAX_REASON} characters`)
    if (opts.reason.trim() !== '') out.reason = opts.reason
  }
  if (opts.by !== undefined) {
    if (typeof opts.by !== 'string' || opts.by.length > MAX_BY) throw pollenError('POLLEN_INVALID_INPUT', `who decided is a name of at most ${MAX_BY} characters`)
    if (opts.by.trim() !== '') out.by = opts.by
  }
  return out
}

/**
 * Approves or rejects resources received from peers, in one batch. Every id is checked before
 * any is changed: an unknown or deleted id, or a resource created here, refuses the whole list.
 */
export async function review(lib: LibraryContext, ids: readonly string[], decision: ReviewDecision, opts: ReviewOptions = {}): Promise<void> {
  if (decision !== 'approved' && decision !== 'rejected') throw pollenError('POLLEN_INVALID_INPUT', 'a decision is approved or rejected')
  const checked = checkOptions(opts)
  const unique = [...new Set(ids)]
  if (unique.length === 0) throw pollenError('POLLEN_INVALID_INPUT', 'give one or more resource ids')
  for (let i = 0; i < unique.length; i += BATCH) {
    const slice = unique.slice(i, i + BATCH)
    const records = await readRecords(lib.log.store, 'resource', slice)
    records.forEach(({ state }, j) => {
      const id = slice[j]
      if (!state || !isLive(state)) throw pollenError('POLLEN_NOT_FOUND', `no resource with id ${id}`)
      if (originOf(state) === lib.log.instance) throw pollenError('POLLEN_INVALID_INPUT', `resource ${id} was created here and is published already; only resources from peers are reviewed`)
    })
  }
  await lib.log.setReviews('resource', unique, { decision, ...checked, at: new Date().toISOString() })
}

/** Decides on every resource from a peer the filter matches (pending ones unless it names a status). */
export async function reviewMatching(lib: LibraryContext, filter: ResourceFilter, decision: ReviewDecision, opts: ReviewOptions = {}): Promise<{ count: number }> {
  const ids: string[] = []
  for await (const v of matching(lib, filter, filter.status ?? 'pending')) if (v.origin !== lib.log.instance) ids.push(v.id)
  if (ids.length === 0) return { count: 0 }
  await review(lib, ids, decision, opts)
  return { count: ids.length }
}

/** The decision recorded about a resource, if any. */
export async function decisionOf(lib: LibraryContext, id: string): Promise<ReviewRecord | undefined> {
  return lib.log.review('resource', id)
}
