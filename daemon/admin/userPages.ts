/**
 * Users who may sync from this instance (administrators only): the list, the add form
 * (name, role, filters) whose answer shows the new API key once, and revoke.
 */
import { html } from './html.js'
import { form, page, when } from './layout.js'
import { field, redirect, route, type AdminDeps, type Web } from './routing.js'
import { formatInstanceId } from '../../core/model/identity.js'

export function registerUsers(web: Web, deps: AdminDeps): void {
  const { inst } = deps

  route(web, 'GET', '/users', 'admin', async (_req, _reply, ctx) => {
    const t = ctx.t
    const users = await inst.users.list()
    const rows = users.map((u) => html`<tr><td>${u.name}</td><td>${u.role}</td><td>${u.filters.map((f) => f || t.everything).join(', ')}</td><td>${u.instance ? formatInstanceId(u.instance) : t.notBound}</td><td>${when(u.created)}</td>
<td>${form(ctx, `/users/${encodeURIComponent(u.name)}/revoke`, html`<button type="submit" class="danger">${t.userRevoke}</button>`, html`class="inline"`)}</td></tr>`)
    const body = html`${users.length ? html`<div class="table"><table class="stack"><thead><tr><th>${t.colName}</th><th>${t.colRole}</th><th>${t.colFilters}</th><th>${t.colInstance}</th><th>${t.colCreated}</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>` : html`<p>${t.usersEmpty}</p>`}
<h2>${t.addUserTitle}</h2>
${form(ctx, '/users', html`<label class="field">${t.userName}<input type="text" name="name" required></label>
<label class="field">${t.userRole}<select name="role"><option value="read">${t.userRoleRead}</option><option value="write">${t.userRoleWrite}</option></select></label>
<label class="field">${t.userFilters}<textarea name="filters" rows="3"></textarea></label>
<div class="actions"><button type="submit">${t.userAdd}</button></div>`)}`
    return page(ctx, t.usersTitle, body)
  })

  // The key is in this one answer and nowhere else: no redirect, so a reload does not show it again either (the POST is not repeated without asking).
  route(web, 'POST', '/users', 'admin', async (req, _reply, ctx) => {
    const t = ctx.t
    const filters = field(req, 'filters').split(/[\r\n,]+/).map((s) => s.trim()).filter(Boolean)
    const { user, key } = await inst.users.add({ name: field(req, 'name'), role: field(req, 'role'), filters })
    return page(ctx, t.usersTitle, html`<p>${t.userKeyOnce(user.name)}</p><p class="key" data-api-key>${key}</p><p><a href="/users">${t.back}</a></p>`)
  })

  route(web, 'POST', '/users/:name/revoke', 'admin', async (req, reply, ctx) => {
    const name = (req.params as { name: string }).name
    await inst.users.revoke(name)
    return redirect(web, reply, ctx.session, '/users', { notice: ctx.t.userRevoked(name) })
  })
}
