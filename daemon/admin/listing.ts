/**
 * The filters of the review queue and the library (search, source peer, tag, language,
 * partition), read from a page's query, and the table rows both show.
 */
import type { FastifyRequest } from 'fastify'
import type { ResourceView, ReviewStatus } from '../../core/library/resource.js'
import type { Library, ResourceFilter } from '../../core/library/library.js'
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

/** The library's filter for a list's (non-empty) criteria. */
export function libraryFilter(f: ListFilter, status: ReviewStatus): ResourceFilter {
  const out: ResourceFilter = { status }
  for (const k of KEYS) if (f[k]) out[k] = f[k]
  return out
}

/** One page of a list: the filters, the page's rows and how many match. */
export interface ListPage {
  filter: ListFilter
  query: URLSearchParams
  rows: ResourceView[]
  total: number
  pageNo: number
  pages: number
}

/** One page of the resources of a status that the query's filters match; the library reads only what the page shows when no filter narrows it. */
export async function listPage(lib: Library, status: ReviewStatus, req: FastifyRequest): Promise<ListPage> {
  const filter = filterOf(req.query as Record<string, unknown>)
  const wanted = pageNumber(req)
  const first = await lib.page({ ...libraryFilter(filter, status), limit: PAGE_SIZE, offset: (wanted - 1) * PAGE_SIZE })
  const pages = Math.max(1, Math.ceil(first.total / PAGE_SIZE))
  // A page beyond the end (the list shrank since the link was made) shows the last one.
  const pageNo = Math.min(wanted, pages)
  const { items } = pageNo === wanted ? first : await lib.page({ ...libraryFilter(filter, status), limit: PAGE_SIZE, offset: (pageNo - 1) * PAGE_SIZE })
  return { filter, query: queryOf(filter), rows: items, total: first.total, pageNo, pages }
}

/** The title to show: the page's language, else English, else any; an id and a note when the resource has no title text here. */
export function titleOf(ctx: PageCtx, r: ResourceView): { text: string; missing?: string } {
  const langs = Object.keys(r.title).filter((l) => r.title[l])
  const pick = langs.includes(ctx.t.lang) ? ctx.t.lang : langs.includes('en') ? 'en' : langs[0]
  if (pick) return { text: r.title[pick] }
  return { text: r.id, missing: ctx.t.noText(ctx.t.lang) }
}

/** What the filters offer: the peers' names, the languages this instance keeps, the tags of the rows shown. */
export interface Choices {
  peers: string[]
  tags: string[]
  langs: string[]
}

export function choices(peers: readonly string[], langs: readonly string[], rows: readonly ResourceView[]): Choices {
  const tags = new Set<string>()
  for (const r of rows) for (const t of r.tags) tags.add(t)
  const sorted = (s: Iterable<string>) => [...s].sort((a, b) => a.localeCompare(b))
  return { peers: sorted(peers), tags: sorted(tags), langs: sorted(langs) }
}

function select(name: string, label: string, any: string, values: string[], current: string): SafeHtml {
  return html`<label>${label}<select name="${name}"><option value="">${any}</option>${values.map((v) => html`<option value="${v}"${v === current ? html` selected` : ''}>${v}</option>`)}${current && !values.includes(current) ? html`<option value="${current}" selected>${current}</option>` : ''}</select></label>`
}

/** The filter form (GET, so a filtered list is a link one can share). */
export function filterForm(ctx: PageCtx, action: string, f: ListFilter, c: Choices): SafeHtml {
  const t = ctx.t
  return html`<form method="get" action="${action}" class="filters" role="search">
<label>${t.search}<input type="search" name="search" value="${f.search}" placeholder="${t.searchPlaceholder}"></label>
${select('peer', t.filterPeer, t.any, c.peers, f.peer)}
<label>${t.filterTag}<input type="text" name="tag" value="${f.tag}" list="tags"></label><datalist id="tags">${c.tags.map((v) => html`<option value="${v}">`)}</datalist>
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
