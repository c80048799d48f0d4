/**
 * The frame of every page: navigation by role, the account and log-out form, the language
 * switch; and the small pieces pages share (forms with their CSRF token, the pager, status names).
 */
import type { AdminRole } from '../../core/access/admins.js'
import type { ReviewStatus } from '../../core/library/resource.js'
import { html, raw, type HtmlValue, type SafeHtml } from './html.js'
import { CATALOGUES, type Messages } from './i18n/index.js'
import type { Session } from './sessions.js'

/** What a page is rendered for. */
export interface PageCtx {
  t: Messages
  /** Undefined only on the login page. */
  session?: Session
  /** The request's path and query, for the navigation's current item and the language switch. */
  path: string
  /** A message from the action before the redirect (shown once). */
  notice?: string
  error?: string
}

interface NavItem {
  href: string
  label: (t: Messages) => string
  role: AdminRole
}

const NAV: NavItem[] = [
  { href: '/review', label: (t) => t.navReview, role: 'reviewer' },
  { href: '/library', label: (t) => t.navLibrary, role: 'reviewer' },
  { href: '/conflicts', label: (t) => t.navConflicts, role: 'reviewer' },
  { href: '/peers', label: (t) => t.navPeers, role: 'admin' },
  { href: '/users', label: (t) => t.navUsers, role: 'admin' },
  { href: '/policy', label: (t) => t.navPolicy, role: 'admin' },
]

/** True when `role` may do what needs `needed`: admins may do everything reviewers may. */
export function allows(role: AdminRole, needed: AdminRole): boolean {
  return needed === 'reviewer' || role === 'admin'
}

/** A POST form carrying the session's CSRF token. */
export function form(ctx: PageCtx, action: string, body: HtmlValue, attrs: SafeHtml = raw('')): SafeHtml {
  return html`<form method="post" action="${action}" ${attrs}><input type="hidden" name="_csrf" value="${ctx.session?.csrf ?? ''}">${body}</form>`
}

export function statusName(t: Messages, s: ReviewStatus): string {
  return s === 'published' ? t.statusPublished : s === 'pending' ? t.statusPending : t.statusRejected
}

export function roleName(t: Messages, role: AdminRole): string {
  return role === 'admin' ? t.roleAdmin : t.roleReviewer
}

/** A time for a person: ISO without seconds' fraction, UTC (the server's clock is the one that matters). */
export function when(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : ''
}

/** The whole document. */
export function page(ctx: PageCtx, title: string, body: HtmlValue, opts: { refresh?: number } = {}): string {
  const t = ctx.t
  const s = ctx.session
  const here = ctx.path.split('?')[0]
  const nav = s
    ? html`<nav aria-label="main"><ul>${NAV.filter((n) => allows(s.role, n.role)).map((n) => html`<li><a href="${n.href}"${here === n.href || here.startsWith(n.href + '/') ? raw(' aria-current="page"') : ''}>${n.label(t)}</a></li>`)}</ul></nav>
      <div class="who"><span>${t.signedInAs(s.account, roleName(t, s.role))}</span>${form(ctx, '/logout', html`<button type="submit" class="secondary">${t.logout}</button>`, raw('class="inline"'))}</div>`
    : ''
  const switcher = Object.values(CATALOGUES).map((c) => (c.lang === t.lang ? html`<strong>${c.languageName}</strong>` : html`<a href="/lang/${c.lang}?back=${encodeURIComponent(here)}" hreflang="${c.lang}" lang="${c.lang}">${c.languageName}</a>`))
  const doc = html`<!doctype html>
<html lang="${t.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${opts.refresh ? html`<noscript><meta http-equiv="refresh" content="${opts.refresh}"></noscript>` : ''}
<title>${title} · ${t.appName}</title>
<link rel="stylesheet" href="/static/admin.css">
<script src="/static/admin.js" defer></script>
</head>
<body>
<a class="skip" href="#main">${t.skip}</a>
<header><span class="brand">${t.appName}</span>${nav}</header>
<main id="main">
<h1>${title}</h1>
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
${ctx.error ? html`<p class="error" role="alert">${ctx.error}</p>` : ''}
${body}
</main>
<footer>${t.switchLanguage}: ${switcher.map((x, i) => html`${i ? ' · ' : ''}${x}`)}</footer>
</body>
</html>`
  return doc.text
}

/** "Page 2 of 7" with previous and next links keeping the query's filters. */
export function pager(ctx: PageCtx, base: string, query: URLSearchParams, pageNo: number, pages: number, total: number): SafeHtml {
  const link = (n: number) => {
    const q = new URLSearchParams(query)
    q.set('page', String(n))
    return `${base}?${q}`
  }
  return html`<nav class="pager" aria-label="pages">${pageNo > 1 ? html`<a href="${link(pageNo - 1)}" rel="prev">${ctx.t.previous}</a>` : ''}<span>${ctx.t.pageOf(pageNo, pages, total)}</span>${pageNo < pages ? html`<a href="${link(pageNo + 1)}" rel="next">${ctx.t.next}</a>` : ''}</nav>`
}
