/**
 * One resource as a reader would see it — every language's title and description, tags,
 * links and files as links to their origin — with its review buttons, the decision recorded
 * (who, when, why), what changed since the last approved version, and its history. Descriptions from
 * ORB-like sources are HTML: they are rendered through sanitize-html with a small allowlist
 * (text structure and http(s)/mailto links only: no images, which would tell a remote
 * server who reviews what, no styles, no scripts, no event handlers).
 */
import sanitizeHtml from 'sanitize-html'
import { html, raw, safeHref, type SafeHtml } from './html.js'
import { form, page, statusName, when, type PageCtx } from './layout.js'
import { titleOf } from './listing.js'
import { field, redirect, route, type AdminDeps, type Web } from './routing.js'
import type { ResourceView } from '../../core/library/resource.js'
import type { HistoryEntry, ResourceDiff } from '../../core/library/library.js'
import type { ReviewRecord } from '../../core/log/projection.js'
import { formatInstanceId } from '../../core/model/identity.js'
import { pollenError } from '../../core/errors.js'

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: ['p', 'br', 'strong', 'b', 'em', 'i', 'u', 'ul', 'ol', 'li', 'blockquote', 'code', 'pre', 'h3', 'h4', 'h5', 'h6', 'a', 'span', 'sub', 'sup', 'hr'],
  allowedAttributes: { a: ['href', 'rel'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // A link from synced content must not pass this page's address on, nor reach back to its window.
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }) },
}

/** A description rendered: HTML through the sanitiser, anything else the same (plain text comes out escaped). */
export function descriptionHtml(text: string): SafeHtml {
  return raw(sanitizeHtml(text, SANITIZE))
}

function link(ctx: PageCtx, url: string, label: string): SafeHtml {
  const href = safeHref(url)
  return href ? html`<a href="${href}" rel="nofollow noopener noreferrer">${label}</a>` : html`${label} <span class="muted">${ctx.t.unsafeLink}</span>`
}

function fields(ctx: PageCtx, r: ResourceView): SafeHtml {
  const t = ctx.t
  const langs = [...new Set([...Object.keys(r.title), ...Object.keys(r.description)])].sort()
  return html`<dl class="fields">
<dt>${t.fieldId}</dt><dd><code>${r.id}</code></dd>
<dt>${t.fieldStatus}</dt><dd>${statusName(t, r.status)}</dd>
<dt>${t.fieldPartition}</dt><dd>${r.partition}</dd>
<dt>${t.fieldSource}</dt><dd>${r.source.url ? link(ctx, r.source.url, r.source.name ?? r.source.url) : (r.source.name ?? '')} <span class="muted">${formatInstanceId(r.source.instance)}</span></dd>
<dt>${t.fieldOrigin}</dt><dd>${formatInstanceId(r.origin)}</dd>
<dt>${t.fieldUpdated}</dt><dd>${when(r.updated)}</dd>
<dt>${t.fieldTags}</dt><dd>${r.tags.length ? r.tags.join(', ') : t.none}</dd>
<dt>${t.fieldConflicts}</dt><dd>${r.conflicts ? html`<a href="/conflicts#${`c-${r.id}`}">${r.conflicts}</a>` : '0'}</dd>
</dl>
${langs.length === 0 ? html`<p class="muted">${t.noText(t.lang)}</p>` : ''}
${langs.map((l) => html`<section lang="${l}"><h2>${t.fieldTitle} (${l})</h2><p>${r.title[l] ?? ''}</p>${r.description[l] ? html`<h3>${t.fieldDescription} (${l})</h3><div class="desc">${descriptionHtml(r.description[l])}</div>` : ''}</section>`)}
<h2>${t.fieldLinks}</h2>
${r.links.length ? html`<ul>${r.links.map((l) => html`<li>${link(ctx, l.url, l.title ?? l.url)}</li>`)}</ul>` : html`<p>${t.none}</p>`}
<h2>${t.fieldFiles}</h2>
${r.files.length ? html`<ul>${r.files.map((f) => html`<li>${link(ctx, f.url, f.name)}${f.size !== undefined ? html` <span class="muted">${f.size} B</span>` : ''}</li>`)}</ul>` : html`<p>${t.none}</p>`}`
}

/** The decision recorded: what, why, who, when; and whether a held update waits. */
function decisionBlock(ctx: PageCtx, d: ReviewRecord | undefined): SafeHtml {
  const t = ctx.t
  if (!d) return html``
  return html`<p class="muted" data-decision>${t.decidedBy(d.decision === 'approved' ? t.approve : t.reject, d.by ?? '?', when(d.at))}${d.reason ? html` — ${t.reasonWas(d.reason)}` : ''}${d.held ? html` <strong>${t.heldUpdate}</strong>` : ''}</p>`
}

function historyTable(ctx: PageCtx, list: HistoryEntry[], self: string): SafeHtml {
  const t = ctx.t
  if (!list.length) return html`<p>${t.historyNone}</p>`
  return html`<div class="table"><table class="stack" data-history><thead><tr><th>${t.colWhen}</th><th>${t.colAuthor}</th><th>${t.colLayer}</th><th>${t.colType}</th><th>${t.colOperation}</th></tr></thead><tbody>
${list.map((h) => html`<tr><td>${when(h.time)}</td><td>${h.instance === self ? t.thisInstance : (h.instanceName ?? formatInstanceId(h.instance))}</td><td>${h.layer || t.layerNeutral}</td><td>${h.type}</td><td><code>${h.op}</code></td></tr>`)}</tbody></table></div>`
}

/** The word and line changes since the approved version, as ins/del marks (text only, escaped). */
function diffBlock(ctx: PageCtx, d: ResourceDiff): SafeHtml {
  const t = ctx.t
  if (d.since === 'none') return html`<p>${t.diffNone}</p>`
  if (d.fields.length === 0) return html`<p>${t.diffSame}</p>`
  return html`<dl class="fields" data-diff>${d.fields.map((f) => html`<dt>${f.field}${f.lang ? ` (${f.lang})` : ''}</dt><dd class="diff">${f.parts.map((part) => (part.added ? html`<ins>${part.value}</ins>` : part.removed ? html`<del>${part.value}</del>` : html`<span>${part.value}</span>`))}</dd>`)}</dl>`
}

export function registerResource(web: Web, deps: AdminDeps): void {
  const lib = deps.inst.library
  const self = deps.inst.instanceId

  route(web, 'GET', '/resources/:id', 'reviewer', async (req, _reply, ctx) => {
    const r = await lib.get((req.params as { id: string }).id)
    const [decision, history, diff] = await Promise.all([lib.decision(r.id), lib.history(r.id), lib.diff(r.id)])
    const t = ctx.t
    const url = `/resources/${encodeURIComponent(r.id)}`
    const reviewable = r.origin !== self
    const actions = reviewable
      ? form(ctx, `${url}/review`, html`<div class="actions"><label class="field">${t.reason}<input type="text" name="reason" maxlength="500"></label>
${r.status !== 'published' ? html`<button type="submit" name="decision" value="approved">${t.approve}</button>` : ''}
${r.status !== 'rejected' ? html`<button type="submit" name="decision" value="rejected" class="danger">${t.reject}</button>` : ''}</div>`)
      : ''
    return page(ctx, titleOf(ctx, r).text, html`${decisionBlock(ctx, decision)}${fields(ctx, r)}${actions}
<h2>${t.diffTitle}</h2>${diffBlock(ctx, diff)}
<h2>${t.historyTitle}</h2>${historyTable(ctx, history, self)}`)
  })

  route(web, 'POST', '/resources/:id/review', 'reviewer', async (req, reply, ctx) => {
    const id = (req.params as { id: string }).id
    const decision = field(req, 'decision')
    if (decision !== 'approved' && decision !== 'rejected') throw pollenError('POLLEN_INVALID_INPUT', 'choose approve or reject')
    await lib.review([id], decision, { reason: field(req, 'reason'), by: ctx.session.account })
    return redirect(web, reply, ctx.session, `/resources/${encodeURIComponent(id)}`, { notice: ctx.t.reviewed(decision === 'approved' ? 1 : 0, decision === 'rejected' ? 1 : 0) })
  })
}
