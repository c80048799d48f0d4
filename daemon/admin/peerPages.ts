/**
 * Peers (administrators only): the list with last sync, its result and the next scheduled
 * run; the Add Peer form (name, URL, user, API key, filters, Active checked by default, and
 * the link: sync windows, bandwidth cap, metered budget, urgent prefixes);
 * each peer's page with its form, Sync now with live progress, and its sync history. A
 * stored API key is never shown: the form asks for a new one or keeps it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { html, type SafeHtml } from './html.js'
import { form, page, when, type PageCtx } from './layout.js'
import { field, redirect, route, type AdminDeps, type Web } from './routing.js'
import type { Peer } from '../../core/access/peers.js'
import type { SyncEvent, SyncResult } from '../../core/sync/client.js'
import type { Messages } from './i18n/index.js'
import { pollenError } from '../../core/errors.js'

function filtersOf(text: string): string[] {
  return text.split(/[\r\n,]+/).map((s) => s.trim()).filter(Boolean)
}

/** The link fieldset's values as the peer store takes them; what does not parse is passed on, to be refused there with its message. */
function linkFields(req: FastifyRequest): { windows: string[]; maxKbps: unknown; meteredMb: unknown; urgent: string[] } {
  const kbps = field(req, 'maxKbps').trim()
  const mib = field(req, 'meteredMb').trim()
  return {
    windows: filtersOf(field(req, 'windows')),
    maxKbps: kbps === '' ? 0 : /^\d+$/.test(kbps) ? Number(kbps) : kbps,
    meteredMb: mib === '' ? 0 : mib,
    urgent: filtersOf(field(req, 'urgent')),
  }
}

export function resultText(t: Messages, r: SyncResult): string {
  return r.ok ? t.resultOk(r.new, r.updated, r.conflicts) : t.resultFailed(`${r.error ?? ''} (${r.code ?? ''})`)
}

function peerForm(ctx: PageCtx, action: string, p?: Peer): SafeHtml {
  const t = ctx.t
  return form(
    ctx,
    action,
    html`${p ? '' : html`<label class="field">${t.peerName}<input type="text" name="name" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}"></label>`}
<label class="field">${t.peerUrl}<input type="url" name="url" required value="${p?.url ?? ''}" placeholder="https://school.local:7420"></label>
<label class="field">${t.peerUser}<input type="text" name="user" required value="${p?.user ?? ''}"></label>
<label class="field">${p ? t.peerKeyKeep : t.peerKey}<input type="password" name="key" autocomplete="off"${p ? '' : html` required`}></label>
<label class="field">${t.peerFilters}<textarea name="filters" rows="3">${(p?.filters ?? []).filter(Boolean).join('\n')}</textarea></label>
<label class="field check"><input type="checkbox" name="active"${!p || p.active ? html` checked` : ''}> ${t.peerActive}</label>
<fieldset><legend>${t.peerLinkTitle}</legend>
<label class="field">${t.peerWindows}<textarea name="windows" rows="2">${(p?.windows ?? []).join('\n')}</textarea></label>
<label class="field">${t.peerMaxKbps}<input type="number" name="maxKbps" min="0" max="1000000" step="1" value="${String(p?.maxKbps ?? 0)}"></label>
<label class="field">${t.peerMetered}<input type="number" name="meteredMb" min="0" max="1000000" step="0.01" value="${String(p?.meteredMb ?? 0)}"></label>
<label class="field">${t.peerUrgent}<textarea name="urgent" rows="2">${(p?.urgent ?? []).join('\n')}</textarea></label>
</fieldset>
<div class="actions"><button type="submit">${p ? t.peerSave : t.peerAdd}</button></div>`,
  )
}

/** The progress panel the script fills from /peers/NAME/events; without the script, the page refreshes while a sync runs. */
function progressPanel(ctx: PageCtx, name: string, running: boolean, last: SyncEvent | undefined): SafeHtml {
  const t = ctx.t
  const ops = last?.ops ?? 0
  const total = Math.max(last?.total ?? 0, ops)
  return html`<section data-sync-events="${`/peers/${encodeURIComponent(name)}/events`}" data-state="${running ? 'running' : 'idle'}" aria-live="polite">
<h2>${t.syncProgress}</h2>
<progress max="${total || 1}" value="${running ? ops : 0}"></progress>
<p data-sync-text>${running ? (last?.ops !== undefined ? `${last.group}: ${ops} / ${total}` : t.running) : t.syncIdle}</p></section>`
}

function historyTable(ctx: PageCtx, list: SyncResult[]): SafeHtml {
  const t = ctx.t
  if (!list.length) return html`<p>${t.syncNoHistory}</p>`
  return html`<div class="table"><table class="stack"><thead><tr><th>${t.colStarted}</th><th>${t.colResult}</th><th>${t.colPulled}</th><th>${t.colPushed}</th><th>${t.colDuration}</th></tr></thead><tbody>
${list.map((r) => html`<tr><td>${when(r.started)}</td><td>${resultText(t, r)}</td><td>${r.pulled}</td><td>${r.pushed}</td><td>${(r.ms / 1000).toFixed(1)} s</td></tr>`)}</tbody></table></div>`
}

export function registerPeers(web: Web, deps: AdminDeps): void {
  const { inst, sync } = deps
  // The latest progress event per peer, for a page rendered while a sync runs.
  const latest = new Map<string, SyncEvent>()
  const onEvent = (ev: SyncEvent) => latest.set(ev.peer, ev)
  const onResult = (r: SyncResult) => latest.delete(r.peer)
  sync.events.on('event', onEvent)
  sync.events.on('result', onResult)
  web.app.addHook('onClose', async () => {
    sync.events.off('event', onEvent)
    sync.events.off('result', onResult)
  })
  const peerUrl = (name: string) => `/peers/${encodeURIComponent(name)}`

  route(web, 'GET', '/peers', 'admin', async (_req, _reply, ctx) => {
    const t = ctx.t
    const peers = await inst.peers.list()
    const last = await sync.lastSyncs()
    const rows = peers.map((p) => {
      const r = last[p.name]
      const next = sync.nextRun(p.name)
      return html`<tr><td><a href="${peerUrl(p.name)}">${p.name}</a></td><td>${p.url}</td><td>${p.active ? t.yes : t.no}</td>
<td>${r ? when(r.started) : t.never}</td><td>${sync.isRunning(p.name) ? t.running : r ? resultText(t, r) : ''}</td><td>${next ? when(next.toISOString()) : t.notPlanned}</td>
<td>${form(ctx, `${peerUrl(p.name)}/sync`, html`<button type="submit" class="secondary"${p.active ? '' : html` disabled`}>${t.syncNow}</button>`, html`class="inline"`)}</td></tr>`
    })
    const body = html`${peers.length ? html`<div class="table"><table class="stack"><thead><tr><th>${t.colName}</th><th>${t.colUrl}</th><th>${t.colActive}</th><th>${t.colLastSync}</th><th>${t.colResult}</th><th>${t.colNextRun}</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>` : html`<p>${t.peersEmpty}</p>`}
<h2 id="add">${t.addPeerTitle}</h2>${peerForm(ctx, '/peers')}`
    return page(ctx, t.peersTitle, body)
  })

  route(web, 'POST', '/peers', 'admin', async (req, reply, ctx) => {
    const p = await inst.peers.add({ name: field(req, 'name'), url: field(req, 'url'), user: field(req, 'user'), key: field(req, 'key'), filters: filtersOf(field(req, 'filters')), active: field(req, 'active') === 'on', ...linkFields(req) })
    sync.reschedule()
    return redirect(web, reply, ctx.session, peerUrl(p.name), { notice: ctx.t.peerAdded(p.name) })
  })

  route(web, 'GET', '/peers/:name', 'admin', async (req, _reply, ctx) => {
    const t = ctx.t
    const p = await inst.peers.get((req.params as { name: string }).name)
    const running = sync.isRunning(p.name)
    const body = html`${form(ctx, `${peerUrl(p.name)}/sync`, html`<div class="actions"><button type="submit"${p.active ? '' : html` disabled`}>${t.syncNow}</button></div>`)}
${progressPanel(ctx, p.name, running, latest.get(p.name))}
<h2>${t.editPeerTitle}</h2>${peerForm(ctx, peerUrl(p.name), p)}
<div class="actions">${form(ctx, `${peerUrl(p.name)}/active`, html`<input type="hidden" name="active" value="${p.active ? 'false' : 'true'}"><button type="submit" class="secondary">${p.active ? t.peerDeactivate : t.peerActivate}</button>`, html`class="inline"`)}
${form(ctx, `${peerUrl(p.name)}/remove`, html`<button type="submit" class="danger">${t.peerRemove}</button>`, html`class="inline"`)}</div>
<h2>${t.syncHistory}</h2>${historyTable(ctx, await sync.history(p.name, 20))}`
    return page(ctx, p.name, body, running ? { refresh: 3 } : {})
  })

  route(web, 'POST', '/peers/:name', 'admin', async (req, reply, ctx) => {
    const name = (req.params as { name: string }).name
    const key = field(req, 'key')
    await inst.peers.set(name, { url: field(req, 'url'), user: field(req, 'user'), filters: filtersOf(field(req, 'filters')), active: field(req, 'active') === 'on', ...linkFields(req), ...(key ? { key } : {}) })
    sync.reschedule()
    return redirect(web, reply, ctx.session, peerUrl(name), { notice: ctx.t.peerSaved(name) })
  })

  route(web, 'POST', '/peers/:name/active', 'admin', async (req, reply, ctx) => {
    const name = (req.params as { name: string }).name
    await inst.peers.set(name, { active: field(req, 'active') === 'true' })
    sync.reschedule()
    return redirect(web, reply, ctx.session, peerUrl(name), { notice: ctx.t.peerSaved(name) })
  })

  route(web, 'POST', '/peers/:name/remove', 'admin', async (req, reply, ctx) => {
    const name = (req.params as { name: string }).name
    await inst.peers.remove(name)
    sync.reschedule()
    return redirect(web, reply, ctx.session, '/peers', { notice: ctx.t.peerRemoved(name) })
  })

  route(web, 'POST', '/peers/:name/sync', 'admin', async (req, reply, ctx) => {
    const p = await inst.peers.get((req.params as { name: string }).name)
    if (!p.active) throw pollenError('POLLEN_INVALID_INPUT', `peer ${p.name} is inactive; activate it first`)
    // Runs on after the answer; its progress reaches the page through /events, its result the history.
    void sync.syncPeer(p.name, 'both')
    return redirect(web, reply, ctx.session, peerUrl(p.name), { notice: ctx.t.syncStarted(p.name) })
  })

  route(web, 'GET', '/peers/:name/events', 'admin', async (req, reply, ctx) => {
    const p = await inst.peers.get((req.params as { name: string }).name)
    streamEvents(reply, ctx.t, p.name, deps)
    return undefined
  })
}

/** Server-sent events: each progress event of the peer's run, then its result; at once the last result when none runs. */
function streamEvents(reply: FastifyReply, t: Messages, peer: string, deps: AdminDeps): void {
  const { sync } = deps
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  const onEvent = (ev: SyncEvent) => {
    if (ev.peer === peer) send('progress', ev)
  }
  const onResult = (r: SyncResult) => {
    if (r.peer !== peer) return
    send('result', { ok: r.ok, summary: resultText(t, r), result: r })
    end()
  }
  const ping = setInterval(() => res.write(': keep-alive\n\n'), 15_000)
  const end = () => {
    clearInterval(ping)
    sync.events.off('event', onEvent)
    sync.events.off('result', onResult)
    res.end()
  }
  res.on('close', end)
  if (!sync.isRunning(peer)) {
    void sync.history(peer, 1).then(([r]) => {
      send('result', r ? { ok: r.ok, summary: resultText(t, r), result: r } : { ok: true, summary: t.syncIdle })
      end()
    }, end)
    return
  }
  sync.events.on('event', onEvent)
  sync.events.on('result', onResult)
}
