/**
 * Conflicts side by side: for each resource, each layer's version shown now and the
 * competing ones, with the instance that wrote each (named from peers, users and this
 * instance) and its text; "Keep this version" writes the chosen version over all heads.
 */
import { html, type SafeHtml } from './html.js'
import { form, page, when, type PageCtx } from './layout.js'
import { field, redirect, route, type AdminDeps, type Web } from './routing.js'
import type { HeadView } from '../../core/library/library.js'
import { formatInstanceId, instanceIdOf } from '../../core/model/identity.js'
import type { Instance } from '../instance.js'

/** Instance id → a name a person knows: this instance's, a peer's or a user's. */
export async function instanceNames(inst: Instance): Promise<Map<string, string>> {
  const names = new Map<string, string>()
  for (const u of await inst.users.list()) if (u.instance) names.set(u.instance, u.name)
  for (const p of await inst.peers.list()) {
    if (p.pinnedInstance) names.set(p.pinnedInstance, p.name)
    if (p.pinnedKey) names.set(instanceIdOf(Buffer.from(p.pinnedKey, 'base64')), p.name)
  }
  names.set(inst.instanceId, inst.config.name)
  return names
}

function nameOf(names: Map<string, string>, author: string): string {
  const id = author.split('.')[0]
  return names.get(id) ?? formatInstanceId(id)
}

function bodyText(ctx: PageCtx, h: HeadView): SafeHtml {
  if (h.type !== 'put') return html`<p><em>${ctx.t.deleted}</em></p>`
  const b = (h.body ?? {}) as Record<string, unknown>
  const rows = Object.entries(b)
    .filter(([k]) => k !== 'source')
    .map(([k, v]) => html`<dt>${k}</dt><dd>${typeof v === 'string' ? v : JSON.stringify(v)}</dd>`)
  return html`<dl class="fields">${rows}</dl>`
}

export function registerConflicts(web: Web, deps: AdminDeps): void {
  const lib = deps.inst.library

  route(web, 'GET', '/conflicts', 'reviewer', async (_req, _reply, ctx) => {
    const t = ctx.t
    const list = await lib.conflicts()
    const names = await instanceNames(deps.inst)
    const side = (id: string, h: HeadView, label: string) => html`<div class="side"><h4>${label}: ${nameOf(names, h.author)}</h4><p class="muted">${when(h.time)} · <code>${h.op}</code></p>${bodyText(ctx, h)}
${form(ctx, `/conflicts/${encodeURIComponent(id)}/keep`, html`<input type="hidden" name="keep" value="${h.op}"><button type="submit">${t.keepThis}</button>`)}</div>`
    const body = list.length === 0
      ? html`<p>${t.conflictsEmpty}</p>`
      : list.map((c) => html`<section id="${`c-${c.id}`}"><h2><a href="${`/resources/${encodeURIComponent(c.id)}`}">${c.title ?? c.id}</a></h2>
${c.layers.map((l) => html`<h3>${t.colLayer}: ${l.layer || t.layerNeutral}</h3><div class="sides">${side(c.id, l.winner, t.conflictWinner)}${l.losers.map((h) => side(c.id, h, t.conflictLoser))}</div>`)}</section>`)
    return page(ctx, t.conflictsTitle, body)
  })

  route(web, 'POST', '/conflicts/:id/keep', 'reviewer', async (req, reply, ctx) => {
    const id = (req.params as { id: string }).id
    await lib.resolve(id, field(req, 'keep'))
    return redirect(web, reply, ctx.session, '/conflicts', { notice: ctx.t.kept(id) })
  })
}
