/**
 * Conflicts side by side: for each resource, one column per instance that wrote a competing
 * version, named as this instance knows it (a peer, a user, this instance), with its text in
 * every conflicting layer; one click keeps that side for the whole resource, every layer in
 * one transaction (Library.resolveKeep).
 */
import { html } from './html.js'
import { form, page, when, type PageCtx } from './layout.js'
import { field, redirect, route, type AdminDeps, type Web } from './routing.js'
import type { ConflictView, HeadView } from '../../core/library/library.js'
import { formatInstanceId } from '../../core/model/identity.js'

interface Side {
  instance: string
  name: string
  shown: boolean
  layers: Map<string, HeadView>
}

/** The competing versions of a resource grouped by the instance that wrote them, the one shown now first. */
function sidesOf(ctx: PageCtx, c: ConflictView, self: string): Side[] {
  const sides = new Map<string, Side>()
  for (const l of c.layers) {
    for (const [i, h] of [l.winner, ...l.losers].entries()) {
      let side = sides.get(h.instance)
      if (!side) {
        side = { instance: h.instance, name: h.instance === self ? ctx.t.thisInstance : (h.instanceName ?? formatInstanceId(h.instance)), shown: false, layers: new Map() }
        sides.set(h.instance, side)
      }
      side.shown ||= i === 0
      const had = side.layers.get(l.layer)
      if (!had || had.time < h.time) side.layers.set(l.layer, h)
    }
  }
  return [...sides.values()].sort((a, b) => Number(b.shown) - Number(a.shown))
}

export function registerConflicts(web: Web, deps: AdminDeps): void {
  const lib = deps.inst.library
  const self = deps.inst.instanceId

  route(web, 'GET', '/conflicts', 'reviewer', async (_req, _reply, ctx) => {
    const t = ctx.t
    const list = await lib.conflicts()
    const column = (c: ConflictView, s: Side) => html`<div class="side" data-side="${s.instance}"><h3>${s.shown ? `${t.conflictWinner} · ` : ''}${t.sideOf(s.name)}</h3>
${c.layers.map((l) => {
  const h = s.layers.get(l.layer)
  return html`<h4>${t.colLayer}: ${l.layer || t.layerNeutral}</h4>${h ? html`<p class="muted">${when(h.time)}</p><pre class="text">${h.type === 'put' ? h.text : t.deleted}</pre>` : html`<p class="muted">${t.notInSide}</p>`}`
})}
${form(ctx, `/conflicts/${encodeURIComponent(c.id)}/keep`, html`<input type="hidden" name="keep" value="${s.instance}"><button type="submit">${t.keepSide(s.name)}</button>`)}</div>`
    const body = list.length === 0
      ? html`<p>${t.conflictsEmpty}</p>`
      : list.map((c) => html`<section id="${`c-${c.id}`}"><h2><a href="${`/resources/${encodeURIComponent(c.id)}`}">${c.title ?? c.id}</a></h2>
<div class="sides">${sidesOf(ctx, c, self).map((s) => column(c, s))}</div></section>`)
    return page(ctx, t.conflictsTitle, body)
  })

  route(web, 'POST', '/conflicts/:id/keep', 'reviewer', async (req, reply, ctx) => {
    const id = (req.params as { id: string }).id
    await lib.resolveKeep(id, field(req, 'keep'))
    return redirect(web, reply, ctx.session, '/conflicts', { notice: ctx.t.kept(id) })
  })
}
