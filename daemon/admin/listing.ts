/**
 * The filters of the review queue and the library (search, source peer, tag, language,
 * partition), read from a page's query, and the table rows both show.
 */
import type { FastifyRequest } from 'fastify'
import type { ResourceView, ReviewStatus } from '../../core/library/resource.js'
import type { Library } from '../../core/library/library.js'
import { html, type SafeHtml } from './html.js'
import { when, type PageCtx } from './layout.js'

/** A list's filters as a page's query gives them ('' means not filtered). */
export interface ListFilter {
  search: string
  peer: string
  tag: string
  lang: string
  partition: string
}

export const PAGE_SIZE = 50

const KEYS: (keyof ListFilter)[] = ['search', 'peer', 'tag', 'lang', 'partition']

/** The filters of a query (or of a form's hidden fields), trimmed and bounded. */
export function filterOf(source: Record<string, unknown>): ListFilter {
  const f = {} as ListFilter
  for (const k of KEYS) {
    const v = source[k]
    f[k] = typeof v === 'string' ? v.trim().slice(0, 200) : ''
  }
  return f
}

export function queryOf(f: ListFilter): URLSearchParams {
  const q = new URLSearchParams()
  for (const k of KEYS) if (f[k]) q.set(k, f[k])
  return q
}

export function pageNumber(req: FastifyRequest): number {
  const n = Number((req.query as Record<string, string | undefined>).page ?? '1')
  return Number.isSafeInteger(n) && n >= 1 ? n : 1
}

function matches(r: ResourceView, f: ListFilter): boolean {
  if (f.peer && r.source.name !== f.peer && r.source.instance !== f.peer) return false
  if (f.tag && !r.tags.includes(f.tag)) return false
  if (f.lang && !r.languages.includes(f.lang)) return false
  if (f.partition && !(r.partition === f.partition || r.partition.startsWith(f.partition + '/'))) return false
  if (f.search) {
    const needle = f.search.toLowerCase()
    const hay = [r.id, ...Object.values(r.title), ...Object.values(r.description)].join('\n').toLowerCase()
    if (!hay.includes(needle)) return false
  }
  return true
}

/** Every resource of a status that the filters let through, in the library's order. */
export async function matching(lib: Library, status: ReviewStatus, f: ListFilter): Promise<ResourceView[]> {
  return (await lib.list({ status })).filter((r) => matches(r, f))
}

/** One page of a list: every resource of the status (for the filters' choices), those that match, and the page's rows. */
export interface ListPage {
  filter: ListFilter
  query: URLSearchParams
  all: ResourceView[]
  matched: ResourceView[]
  rows: ResourceView[]
  pageNo: number
  pages: number
}

export async function listPage(lib: Library, status: ReviewStatus, req: FastifyRequest): Promise<ListPage> {
  const filter = filterOf(req.query as Record<string, unknown>)
  const all = await lib.list({ status })
  const matched = all.filter((r) => matches(r, filter))
  const pages = Math.max(1, Math.ceil(matched.length / PAGE_SIZE))
  const pageNo = Math.min(pageNumber(req), pages)
  return { filter, query: queryOf(filter), all, matched, rows: matched.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE), pageNo, pages }
}

/** The title to show: the page's language, else English, else any; an id and a note when the resource has no title text here. */
export function titleOf(ctx: PageCtx, r: ResourceView): { text: string; missing?: string } {
  const langs = Object.keys(r.title).filter((l) => r.title[l])
  const pick = langs.includes(ctx.t.lang) ? ctx.t.lang : langs.includes('en') ? 'en' : langs[0]
  if (pick) return { text: r.title[pick] }
  return { text: r.id, missing: ctx.t.noText(ctx.t.lang) }
}

/** The values seen in a list, for the filters' choices. */
export function choices(list: readonly ResourceView[]): { peers: string[]; tags: string[]; langs: string[] } {
  const peers = new Set<string>()
  const tags = new Set<string>()
  const langs = new Set<string>()
  for (const r of list) {
    if (r.source.name) peers.add(r.source.name)
    for (const t of r.tags) tags.add(t)
    for (const l of r.languages) langs.add(l)
  }
  const sorted = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b)).slice(0, 500)
  return { peers: sorted(peers), tags: sorted(tags), langs: sorted(langs) }
}

function select(name: string, label: string, any: string, values: string[], current: string): SafeHtml {
  return html`<label>${label}<select name="${name}"><option value="">${any}</option>${values.map((v) => html`<option value="${v}"${v === current ? html` selected` : ''}>${v}</option>`)}${current && !values.includes(current) ? html`<option value="${current}" selected>${current}</option>` : ''}</select></label>`
}

/** The filter form (GET, so a filtered list is a link one can share). */
export function filterForm(ctx: PageCtx, action: string, f: ListFilter, c: ReturnType<typeof choices>): SafeHtml {
  const t = ctx.t
  return html`<form method="get" action="${action}" class="filters" role="search">
<label>${t.search}<input type="search" name="search" value="${f.search}" placeholder="${t.searchPlaceholder}"></label>
${select('peer', t.filterPeer, t.any, c.peers, f.peer)}
${select('tag', t.filterTag, t.any, c.tags, f.tag)}
${select('lang', t.filterLang, t.any, c.langs, f.lang)}
<label>${t.filterPartition}<input type="text" name="partition" value="${f.partition}"></label>
<button type="submit">${t.applyFilters}</button> <a href="${action}">${t.clearFilters}</a>
</form>`
}

/** One row: optional checkbox, title linked to the resource, source, languages, when. */
export function resourceRow(ctx: PageCtx, r: ResourceView, selectable: boolean): SafeHtml {
  const title = titleOf(ctx, r)
  const href = `/resources/${encodeURIComponent(r.id)}`
  return html`<tr>
${selectable ? html`<td><input type="checkbox" name="ids" value="${r.id}" id="${`sel-${r.id}`}" aria-label="${title.text}"></td>` : ''}
<td><a href="${href}">${title.text}</a>${title.missing ? html` <span class="muted">${title.missing}</span>` : ''}</td>
<td>${r.source.name ?? r.source.instance}</td>
<td>${r.languages.join(', ')}</td>
<td>${r.tags.join(', ')}</td>
<td>${when(r.updated)}</td>
</tr>`
}
