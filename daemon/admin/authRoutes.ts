/**
 * Logging in and out, and the language switch. Failed logins are limited per account name
 * and per client address (core of the brute-force defence; scrypt makes each guess slow too).
 */
import { isPollenError } from '../../core/errors.js'
import { html } from './html.js'
import { page, type PageCtx } from './layout.js'
import { CATALOGUES } from './i18n/index.js'
import { baseCtx, field, LANG_COOKIE, refuse, SESSION_COOKIE, sessionOf, type Web } from './routing.js'
import { csrfMatches, type LoginLimiter } from './sessions.js'

/** A path on this page to go to after logging in (never another origin). */
function safeNext(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.includes('\\') && !value.startsWith('/login') ? value : '/review'
}

function loginPage(ctx: PageCtx, next: string, name = ''): string {
  const t = ctx.t
  return page(
    ctx,
    t.loginTitle,
    html`<form method="post" action="/login">
<input type="hidden" name="next" value="${next}">
<label class="field">${t.loginName}<input type="text" name="name" value="${name}" autocomplete="username" required autofocus></label>
<label class="field">${t.loginPassword}<input type="password" name="password" autocomplete="current-password" required></label>
<div class="actions"><button type="submit">${t.loginSubmit}</button></div>
</form>`,
  )
}

export function registerAuth(web: Web, limits: { account: LoginLimiter; address: LoginLimiter }): void {
  const { app } = web
  app.get('/login', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>
    return reply.type('text/html; charset=utf-8').send(loginPage(baseCtx(req), safeNext(q.next)))
  })

  app.post('/login', async (req, reply) => {
    const ctx = baseCtx(req)
    const name = field(req, 'name')
    const next = safeNext(field(req, 'next'))
    const accountKey = `account:${name.toLowerCase()}`
    const addressKey = `address:${req.ip}`
    const wait = Math.max(limits.account.retryAfter(accountKey), limits.address.retryAfter(addressKey))
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)))
      return reply.code(429).type('text/html; charset=utf-8').send(loginPage({ ...ctx, error: ctx.t.loginLimited(Math.ceil(wait / 1000)) }, next, name))
    }
    try {
      const account = await web.admins.verify(name, field(req, 'password'))
      limits.account.clear(accountKey)
      // A new id at every login: a cookie planted before it (session fixation) opens nothing.
      web.sessions.close(req.cookies[SESSION_COOKIE])
      const { id } = web.sessions.open(account.name, account.role, account.generation)
      reply.setCookie(SESSION_COOKIE, id, { path: '/', httpOnly: true, sameSite: 'strict', secure: web.secure, maxAge: Math.floor(12 * 3600) })
      return reply.code(303).header('location', next).send()
    } catch (err) {
      if (!isPollenError(err, 'POLLEN_UNAUTHORIZED')) throw err
      limits.account.fail(accountKey)
      limits.address.fail(addressKey)
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage({ ...ctx, error: ctx.t.loginFailed }, next, name))
    }
  })

  app.post('/logout', async (req, reply) => {
    const ctx = baseCtx(req)
    const session = await sessionOf(web, req)
    if (session && !csrfMatches(session, (req.body as Record<string, unknown> | undefined)?._csrf)) return refuse(reply, { ...ctx, session }, 403, ctx.t.forbiddenTitle, ctx.t.forbiddenCsrf)
    web.sessions.close(req.cookies[SESSION_COOKIE])
    reply.clearCookie(SESSION_COOKIE, { path: '/' })
    return reply.type('text/html; charset=utf-8').send(page({ ...ctx, notice: ctx.t.loggedOut }, ctx.t.loginTitle, html`<p><a href="/login">${ctx.t.loginSubmit}</a></p>`))
  })

  // Changes only which catalogue the pages use: no account state, so a GET is enough.
  app.get('/lang/:lang', async (req, reply) => {
    const lang = (req.params as { lang: string }).lang
    const back = safeNext((req.query as Record<string, string | undefined>).back)
    if (CATALOGUES[lang]) reply.setCookie(LANG_COOKIE, lang, { path: '/', sameSite: 'lax', secure: web.secure, maxAge: 365 * 86400 })
    return reply.code(303).header('location', back).send()
  })
}


