/**
 * The review policy (administrators only): whether a peer's update to an approved resource
 * publishes at once or waits in the queue with its diff (`review.updates`, docs/design.md §7),
 * set the way `pollen review policy` sets it: for the running daemon and in config.json.
 */
import { html } from './html.js'
import { form, page } from './layout.js'
import { field, redirect, route, type AdminDeps, type Web } from './routing.js'
import { setReviewPolicy } from '../instance.js'
import { REVIEW_UPDATES, type ReviewConfig } from '../config.js'
import { pollenError } from '../../core/errors.js'

export function registerPolicy(web: Web, deps: AdminDeps): void {
  route(web, 'GET', '/policy', 'admin', async (_req, _reply, ctx) => {
    const t = ctx.t
    const current = deps.inst.config.review.updates
    const option = (value: ReviewConfig['updates'], label: string) => html`<label class="field check"><input type="radio" name="updates" value="${value}"${current === value ? html` checked` : ''}> ${label}</label>`
    return page(ctx, t.policyTitle, form(ctx, '/policy', html`<fieldset><legend>${t.policyIntro}</legend>${option('publish', t.policyPublish)}${option('hold', t.policyHold)}</fieldset><div class="actions"><button type="submit">${t.policySave}</button></div>`))
  })

  route(web, 'POST', '/policy', 'admin', async (req, reply, ctx) => {
    const updates = field(req, 'updates')
    if (!REVIEW_UPDATES.includes(updates as ReviewConfig['updates'])) throw pollenError('POLLEN_INVALID_INPUT', `the review policy is one of ${REVIEW_UPDATES.join(', ')}`)
    await setReviewPolicy(deps.inst, updates as ReviewConfig['updates'])
    return redirect(web, reply, ctx.session, '/policy', { notice: ctx.t.policySaved(updates) })
  })
}
