/**
 * The review queue (pending resources: filter, page, select many or all that match, approve
 * or reject) and the library (published resources, same filters).
 */
import { html } from './html.js'
import { form, page, pager, type PageCtx } from './layout.js'
import { choices, filterForm, filterOf, listPage, matching, resourceRow } from './listing.js'
import { field, fieldList, fields, redirect, route, type AdminDeps, type Web } from './routing.js'
import type { ResourceView } from '../../core/library/resource.js'
import { pollenError } from '../../core/errors.js'

function table(ctx: PageCtx, rows: ResourceView[], selectable: boolean) {
  const t = ctx.t
  return html`<div class="table"><table class="stack"><thead><tr>${selectable ? html`<th><label hidden><input type="checkbox" data-select-all hidden> ${t.selectAllOnPage}</label><span class="muted" data-select-fallback>${t.colSelect}</span></th>` : ''}<th>${t.colTitle}</th><th>${t.colSource}</th><th>${t.colLanguages}</th><th>${t.colTags}</th><th>${t.colUpdated}</th></tr></thead>
<tbody>${rows.map((r) => resourceRow(ctx, r, selectable))}</tbody></table></div>`
}

export function registerReview(web: Web, deps: AdminDeps): void {
  const lib = deps.inst.library

  route(web, 'GET', '/review', 'reviewer', async (req, _reply, ctx) => {
    const t = ctx.t
    const { filter: f, query: q, all, matched: list, rows, pageNo: n, pages } = await listPage(lib, 'pending', req)
    const back = `/review${q.size ? `?${q}` : ''}`
    const hidden = [...q.entries()].map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)
    const body = all.length === 0
      ? html`<p>${t.reviewEmpty}</p>`
      : html`<p>${t.reviewPending(all.length)}</p>
${filterForm(ctx, '/review', f, choices(all))}
${list.length === 0 ? html`<p>${t.reviewNoMatch}</p>` : form(ctx, '/review', html`<input type="hidden" name="_back" value="${back}">${hidden}
${table(ctx, rows, true)}
${pager(ctx, '/review', q, n, pages, list.length)}
<div class="actions">
<label class="field">${t.reason}<input type="text" name="reason" maxlength="500"></label>
<button type="submit" name="action" value="approve">${t.approveSelected}</button>
<button type="submit" name="action" value="reject" class="danger">${t.rejectSelected}</button>
</div>
<div class="actions">
<button type="submit" name="action" value="approve-all" class="secondary">${t.approveAllMatching(list.length)}</button>
<button type="submit" name="action" value="reject-all" class="secondary">${t.rejectAllMatching(list.length)}</button>
</div>`)}`
    return page(ctx, t.reviewTitle, body)
  })

  route(web, 'POST', '/review', 'reviewer', async (req, reply, ctx) => {
    const action = field(req, 'action')
    if (!['approve', 'reject', 'approve-all', 'reject-all'].includes(action)) throw pollenError('POLLEN_INVALID_INPUT', `unknown action ${JSON.stringify(action)}`)
    const decision = action.startsWith('approve') ? 'approved' : 'rejected'
    // "All that match" takes the filters the form was rendered with, re-applied now.
    const ids = action.endsWith('-all') ? (await matching(lib, 'pending', filterOf(fields(req)))).map((r) => r.id) : fieldList(req, 'ids')
    const back = field(req, '_back') || '/review'
    if (ids.length === 0) return redirect(web, reply, ctx.session, back, { error: ctx.t.nothingSelected })
    await lib.review(ids, decision)
    return redirect(web, reply, ctx.session, back, { notice: ctx.t.reviewed(decision === 'approved' ? ids.length : 0, decision === 'rejected' ? ids.length : 0) })
  })

  route(web, 'GET', '/library', 'reviewer', async (req, _reply, ctx) => {
    const t = ctx.t
    const p = await listPage(lib, 'published', req)
    const counts = await lib.counts()
    const body = html`${p.all.length === 0 ? html`<p>${t.libraryEmpty}</p>` : html`${filterForm(ctx, '/library', p.filter, choices(p.all))}${table(ctx, p.rows, false)}${pager(ctx, '/library', p.query, p.pageNo, p.pages, p.matched.length)}`}
${counts.pending ? html`<p><a href="/review">${t.libraryPendingHint(counts.pending)}</a></p>` : ''}`
    return page(ctx, t.libraryTitle, body)
  })
}


