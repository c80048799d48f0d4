/**
 * The CLI commands of content administrators: resources as readers see them (with hints
 * when nothing is published yet), their history and diff, the review queue a page at a time,
 * decisions by ids or by filter with a reason, the review policy, and conflicts.
 */
import { userInfo } from 'node:os'
import { pollenError } from '../core/errors.js'
import type { ConflictView, HistoryEntry, ResourceDiff } from '../core/library/library.js'
import type { ResourceView } from '../core/library/resource.js'
import { COMMANDS, type Flags } from './cliArgs.js'
import { print, required, type Ctx, type Handler } from './cliContext.js'
import { resourceDetail, resourceTable } from './cliOutput.js'
import { conflictText, decisionLine, diffText, historyText, reviewPage } from './cliReviewOutput.js'

const FILTERS = ['peer', 'tag', 'lang', 'partition', 'search'] as const

/** The filter flags given, keyed as the control API takes them. */
function filterOf(flags: Flags): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of FILTERS) if (typeof flags[f] === 'string') out[f] = flags[f]
  return out
}

function countFlag(flags: Flags, name: string): number | undefined {
  const v = flags[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || !/^\d{1,9}$/.test(v)) throw pollenError('POLLEN_INVALID_FLAG', `--${name} takes a whole number, not ${JSON.stringify(v)}`)
  return Number(v)
}

/** Who decides, as the decision records it: the system user running the CLI. */
function whoAmI(): string | undefined {
  try {
    return userInfo().username
  } catch {
    return process.env.USER
  }
}

/** The languages the daemon keeps, for rows with no text in them. */
async function languages(ctx: Ctx): Promise<string[]> {
  return (await (await ctx.client()).call<{ languages: string[] }>('GET', '/v1/settings')).languages
}

async function decide(ctx: Ctx, verb: 'approve' | 'reject'): Promise<void> {
  const filter = filterOf(ctx.flags)
  const all = ctx.flags.all === true
  const usage = COMMANDS[`review ${verb}`].usage
  if (!all && ctx.args.length === 0) throw pollenError('POLLEN_INVALID_FLAG', `give resource ids, or --all with filters; usage: ${usage}`)
  if (all && ctx.args.length) throw pollenError('POLLEN_INVALID_FLAG', `give either resource ids or --all, not both; usage: ${usage}`)
  if (!all && Object.keys(filter).length) throw pollenError('POLLEN_INVALID_FLAG', `--${Object.keys(filter)[0]} chooses resources with --all; usage: ${usage}`)
  const reason = typeof ctx.flags.reason === 'string' ? ctx.flags.reason : undefined
  const body = { ...(all ? { all: true, filter } : { ids: ctx.args }), ...(reason !== undefined ? { reason } : {}), by: whoAmI() }
  const done = verb === 'approve' ? 'approved' : 'rejected'
  const r = await (await ctx.client()).call<Record<string, unknown>>('POST', `/v1/review/${verb}`, body)
  print(ctx, r, () => {
    if (all) {
      const what = Object.entries(filter).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')
      return `${done} ${String(r[done])} pending resource${r[done] === 1 ? '' : 's'}${what ? ` matching ${what}` : ''}`
    }
    const shown = ctx.args.slice(0, 10).join(', ')
    return `${done} ${ctx.args.length}: ${shown}${ctx.args.length > 10 ? `, and ${ctx.args.length - 10} more` : ''}`
  })
}

export const reviewHandlers: Record<string, Handler> = {
  async 'resource get'(ctx) {
    const r = await (await ctx.client()).call<ResourceView>('GET', `/v1/resources/${encodeURIComponent(ctx.args[0])}`)
    const langs = r.languages.length ? [] : await languages(ctx)
    print(ctx, r, () => [resourceDetail(r, langs), ...(r.review ? decisionLine(r.id, r.review) : [])].join('\n'))
  },
  async 'resource list'(ctx) {
    const q = new URLSearchParams()
    if (ctx.flags.status !== undefined) q.set('status', String(ctx.flags.status))
    if (ctx.flags.lang !== undefined) q.set('lang', String(ctx.flags.lang))
    const client = await ctx.client()
    const list = await client.call<ResourceView[]>('GET', `/v1/resources${q.size ? `?${q}` : ''}`)
    if (ctx.json) return print(ctx, list, () => '')
    let empty = 'No resources.'
    if (list.length === 0 && (ctx.flags.status ?? 'published') === 'published') {
      const pending = await client.call<{ total: number }>('GET', '/v1/library?status=pending&limit=0')
      if (pending.total > 0) empty = `No published resources; ${pending.total} pending review (pollen review list)`
    }
    const langs = list.some((r) => Object.keys(r.title).length === 0) ? await languages(ctx) : []
    print(ctx, list, () => resourceTable(list, empty, langs))
  },
  async 'resource history'(ctx) {
    const list = await (await ctx.client()).call<HistoryEntry[]>('GET', `/v1/resources/${encodeURIComponent(ctx.args[0])}/history`)
    print(ctx, list, () => historyText(list))
  },
  async 'resource diff'(ctx) {
    const d = await (await ctx.client()).call<ResourceDiff>('GET', `/v1/resources/${encodeURIComponent(ctx.args[0])}/diff`)
    print(ctx, d, () => diffText(ctx.args[0], d))
  },
  async 'review list'(ctx) {
    const filter = filterOf(ctx.flags)
    const limit = countFlag(ctx.flags, 'limit')
    const offset = countFlag(ctx.flags, 'offset')
    const client = await ctx.client()
    // --json without paging or filters: the whole queue, as before pages.
    if (ctx.json && limit === undefined && offset === undefined && Object.keys(filter).length === 0) {
      const list = await client.call<ResourceView[]>('GET', '/v1/review')
      return print(ctx, list, () => '')
    }
    const q = new URLSearchParams({ ...filter, status: 'pending', limit: String(limit ?? 50), offset: String(offset ?? 0) })
    const page = await client.call<{ items: ResourceView[]; total: number }>('GET', `/v1/library?${q}`)
    const langs = page.items.some((r) => Object.keys(r.title).length === 0) ? await languages(ctx) : []
    print(ctx, page.items, () => reviewPage(page, offset ?? 0, filter, langs))
  },
  'review approve': (ctx) => decide(ctx, 'approve'),
  'review reject': (ctx) => decide(ctx, 'reject'),
  async 'review policy'(ctx) {
    const client = await ctx.client()
    const r = ctx.args.length
      ? await client.call<{ updates: string }>('POST', '/v1/settings/review', { updates: ctx.args[0] })
      : (await client.call<{ review: { updates: string } }>('GET', '/v1/settings')).review
    print(ctx, r, () => (r.updates === 'hold' ? 'hold: an update from a peer to an approved resource waits in the review queue with its diff' : 'publish: updates from peers to approved resources are published at once (source updates overwrite)'))
  },
  async 'conflicts list'(ctx) {
    const list = await (await ctx.client()).call<ConflictView[]>('GET', '/v1/conflicts')
    print(ctx, list, () => conflictText(list))
  },
  async 'conflicts resolve'(ctx) {
    const keep = required(ctx.flags, 'keep', COMMANDS['conflicts resolve'].usage)
    const r = await (await ctx.client()).call<{ instance: string; kept: string[] }>('POST', `/v1/conflicts/${encodeURIComponent(ctx.args[0])}/resolve`, { keep })
    print(ctx, r, () => `resolved ${ctx.args[0]}: kept the side of ${keep} (${r.kept.join(', ')})`)
  },
}
