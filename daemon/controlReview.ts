/**
 * The control API's routes for content administrators: library pages with filters, review
 * decisions (by ids or by filter, with reason and author), a resource's history and diff,
 * conflicts and their resolution, and the review policy. Documented in docs/control-api.yaml.
 */
import type { FastifyInstance } from 'fastify'
import { pollenError } from '../core/errors.js'
import type { Library, ResourceFilter } from '../core/library/library.js'
import type { ReviewDecision } from '../core/log/projection.js'
import type { ReviewStatus } from '../core/library/resource.js'
import { REVIEW_UPDATES, type ReviewConfig } from './config.js'
import { setReviewPolicy, type Instance } from './instance.js'

const STATUSES: readonly ReviewStatus[] = ['published', 'pending', 'rejected']
const FILTER_KEYS = ['status', 'peer', 'tag', 'lang', 'partition', 'search'] as const

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw pollenError('POLLEN_INVALID_INPUT', `${what} must be a JSON object`)
  return value as Record<string, unknown>
}

/** A filter from a query string or a JSON object: known keys only, each a string; status one of three. */
export function parseFilter(raw: Record<string, unknown>, extra: readonly string[] = []): ResourceFilter {
  const out: ResourceFilter = {}
  for (const [k, v] of Object.entries(raw)) {
    if (extra.includes(k)) continue
    if (!(FILTER_KEYS as readonly string[]).includes(k)) throw pollenError('POLLEN_INVALID_INPUT', `unknown filter "${k}"; filters are ${FILTER_KEYS.join(', ')}`)
    if (typeof v !== 'string' || v.length > 1000) throw pollenError('POLLEN_INVALID_INPUT', `filter ${k} must be text of at most 1000 characters`)
    if (k === 'status' && !STATUSES.includes(v as ReviewStatus)) throw pollenError('POLLEN_INVALID_INPUT', `status must be one of ${STATUSES.join(', ')}`)
    ;(out as Record<string, string>)[k] = v
  }
  return out
}

function whole(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : NaN
  if (!Number.isSafeInteger(n)) throw pollenError('POLLEN_INVALID_INPUT', `${name} must be a whole number, not ${JSON.stringify(value)}`)
  return n
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw pollenError('POLLEN_INVALID_INPUT', `${name} must be text`)
  return value
}

/** A decision by ids, or by filter with `all: true`; optional reason and who decided. */
async function decide(lib: Library, raw: unknown, decision: ReviewDecision): Promise<Record<string, unknown>> {
  const b = object(raw, 'the request body')
  for (const k of Object.keys(b)) if (!['ids', 'all', 'filter', 'reason', 'by'].includes(k)) throw pollenError('POLLEN_INVALID_INPUT', `unknown field "${k}"; give ids or all (with a filter), and optionally reason and by`)
  const opts = { reason: optionalText(b.reason, 'reason'), by: optionalText(b.by, 'by') }
  if (b.all === true) {
    if (b.ids !== undefined) throw pollenError('POLLEN_INVALID_INPUT', 'give either ids or all, not both')
    const filter = parseFilter(b.filter === undefined ? {} : object(b.filter, 'filter'))
    const { count } = await lib.reviewMatching(filter, decision, opts)
    return { [decision]: count, filter }
  }
  if (b.all !== undefined && b.all !== false) throw pollenError('POLLEN_INVALID_INPUT', 'all is true or false')
  if (b.filter !== undefined) throw pollenError('POLLEN_INVALID_INPUT', 'a filter goes with all: true')
  const ids = b.ids
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((v) => typeof v === 'string')) throw pollenError('POLLEN_INVALID_INPUT', 'give one or more resource ids, or all: true')
  await lib.review(ids, decision, opts)
  return { [decision]: ids }
}

/** Registers the routes on the control API app. */
export function registerReviewRoutes(app: FastifyInstance, inst: Instance): void {
  const lib = inst.library

  app.get('/v1/library', async (req) => {
    const q = object(req.query, 'the query')
    const filter = parseFilter(q, ['limit', 'offset'])
    return lib.page({ ...filter, limit: whole(q.limit, 'limit', 50), offset: whole(q.offset, 'offset', 0) })
  })

  app.get('/v1/review', async (req) => {
    const q = object(req.query, 'the query')
    if (Object.keys(q).length === 0) return lib.list({ status: 'pending' })
    const filter = parseFilter(q, ['limit', 'offset'])
    return (await lib.page({ ...filter, status: 'pending', limit: whole(q.limit, 'limit', 50), offset: whole(q.offset, 'offset', 0) })).items
  })

  app.post('/v1/review/approve', async (req) => decide(lib, req.body, 'approved'))
  app.post('/v1/review/reject', async (req) => decide(lib, req.body, 'rejected'))

  app.get('/v1/resources/:id/decision', async (req) => {
    const id = (req.params as { id: string }).id
    const d = await lib.decision(id)
    if (!d) throw pollenError('POLLEN_NOT_FOUND', `no decision was made about ${id}`)
    return d
  })
  app.get('/v1/resources/:id/history', async (req) => lib.history((req.params as { id: string }).id))
  app.get('/v1/resources/:id/diff', async (req) => lib.diff((req.params as { id: string }).id))

  app.get('/v1/conflicts', async () => lib.conflicts())
  app.post('/v1/conflicts/:id/resolve', async (req) => {
    const id = (req.params as { id: string }).id
    const keep = object(req.body, 'the request body').keep
    if (typeof keep !== 'string' || keep === '') throw pollenError('POLLEN_INVALID_INPUT', 'give the side to keep: an instance name or id, or an operation, such as --keep <author>:<counter>')
    const r = await lib.resolveKeep(id, keep)
    return { id, keep, ...r }
  })

  app.get('/v1/settings', async () => ({ languages: inst.config.languages, review: inst.config.review }))
  app.post('/v1/settings/review', async (req) => {
    const b = object(req.body, 'the request body')
    for (const k of Object.keys(b)) if (k !== 'updates') throw pollenError('POLLEN_INVALID_INPUT', `unknown setting "${k}"; the review settings are: updates`)
    if (!REVIEW_UPDATES.includes(b.updates as ReviewConfig['updates'])) throw pollenError('POLLEN_INVALID_INPUT', `updates must be one of ${REVIEW_UPDATES.join(', ')}`)
    await setReviewPolicy(inst, b.updates as ReviewConfig['updates'])
    return inst.config.review
  })
}
