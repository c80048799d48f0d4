/**
 * The review queue (pending resources: filter, page, select many or all that match, approve
 * or reject with a reason; each decision records who took it) and the library (published
 * resources, same filters).
 */
import { html } from './html.js'
import { form, page, pager, type PageCtx } from './layout.js'
import { choices, filterForm, filterOf, libraryFilter, listPage, resourceRow, type ListPage } from './listing.js'
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
  const filterChoices = async (p: ListPage) => choices((await deps.inst.peers.list()).map((x) => x.name), deps.inst.config.languages, p.rows)

  route(web, 'GET', '/review', 'reviewer', async (req, _reply, ctx) => {
    const t = ctx.t
    const p = await listPage(lib, 'pending', req)
    const { pending } = await lib.counts()
    const back = `/review${p.query.size ? `?${p.query}` : ''}`
    const hidden = [...p.query.entries()].map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)
    const body = pending === 0
      ? html`<p>${t.reviewEmpty}</p>`
      : html`<p>${t.reviewPending(pending)}</p>
${filterForm(ctx, '/review', p.filter, await filterChoices(p))}
${p.total === 0 ? html`<p>${t.reviewNoMatch}</p>` : form(ctx, '/review', html`<input type="hidden" name="_back" value="${back}">${hidden}
${table(ctx, p.rows, true)}
${pager(ctx, '/review', p.query, p.pageNo, p.pages, p.total)}
<div class="actions">
<label class="field">${t.reason}<input type="text" name="reason" maxlength="2000"></label>
<button type="submit" name="action" value="approve">${t.approveSelected}</button>
<button type="submit" name="action" value="reject" class="danger">${t.rejectSelected}</button>
</div>
<div class="actions">
<button type="submit" name="action" value="approve-all" class="secondary">${t.approveAllMatching(p.total)}</button>
<button type="submit" name="action" value="reject-all" class="secondary">${t.rejectAllMatching(p.total)}</button>
</div>`)}`
    return page(ctx, t.reviewTitle, body)
  })

  route(web, 'POST', '/review', 'reviewer', async (req, reply, ctx) => {
    const action = field(req, 'action')
    if (!['approve', 'reject', 'approve-all', 'reject-all'].includes(action)) throw pollenError('POLLEN_INVALID_INPUT', `unknown action ${JSON.stringify(action)}`)
    const decision = action.startsWith('approve') ? 'approved' : 'rejected'
    const opts = { reason: field(req, 'reason'), by: ctx.session.account }
    const back = field(req, '_back') || '/review'
    let count: number
    if (action.endsWith('-all')) {
      // "All that match" takes the filters the form was rendered with, applied again now, in one batch.
      count = (await lib.reviewMatching(libraryFilter(filterOf(fields(req)), 'pending'), decision, opts)).count
    } else {
      const ids = fieldList(req, 'ids')
      if (ids.length === 0) return redirect(web, reply, ctx.session, back, { error: ctx.t.nothingSelected })
      await lib.review(ids, decision, opts)
      count = ids.length
    }
    return redirect(web, reply, ctx.session, back, { notice: ctx.t.reviewed(decision === 'approved' ? count : 0, decision === 'rejected' ? count : 0) })
  })

  route(web, 'GET', '/library', 'reviewer', async (req, _reply, ctx) => {
    const t = ctx.t
    const p = await listPage(lib, 'published', req)
    const counts = await lib.counts()
    const body = html`${counts.published === 0 ? html`<p>${t.libraryEmpty}</p>` : html`${filterForm(ctx, '/library', p.filter, await filterChoices(p))}${table(ctx, p.rows, false)}${pager(ctx, '/library', p.query, p.pageNo, p.pages, p.total)}`}
${counts.pending ? html`<p><a href="/review">${t.libraryPendingHint(counts.pending)}</a></p>` : ''}`
    return page(ctx, t.libraryTitle, body)
  })
}
