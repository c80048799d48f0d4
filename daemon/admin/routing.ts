/**
 * How every page and action is reached: the session from its cookie (and its account,
 * still there and with the same password generation), the role the route needs, the CSRF
 * token on every POST, and the answer as a page. A refusal changes nothing: the checks all
 * run before the handler.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AdminRole, Admins } from '../../core/access/admins.js'
import { isPollenError } from '../../core/errors.js'
import { html } from './html.js'
import { pickLanguage } from './i18n/index.js'
import { allows, page, type PageCtx } from './layout.js'
import { csrfMatches, type Session, type Sessions } from './sessions.js'
import type { Instance } from '../instance.js'
import type { SyncService } from '../syncService.js'

/** What the page needs of the daemon. */
export interface AdminDeps {
  inst: Instance
  sync: SyncService
}

export const SESSION_COOKIE = 'pollen_session'
export const LANG_COOKIE = 'pollen_lang'

/** A page's or action's handler: a page (HTML) to send, or nothing when it replied itself (a redirect). */
export type Handler = (req: FastifyRequest, reply: FastifyReply, ctx: PageCtx & { session: Session }) => Promise<string | undefined>

export interface Web {
  app: FastifyInstance
  admins: Admins
  sessions: Sessions
  /** Under TLS the session cookie is Secure. */
  secure: boolean
  /** Messages kept per session for the page after a redirect. */
  flash: WeakMap<Session, { notice?: string; error?: string }>
}

/** The request's form fields (urlencoded), as one value or a list per name. */
export function fields(req: FastifyRequest): Record<string, string | string[] | undefined> {
  const b = req.body
  return typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Record<string, string | string[]>) : {}
}

/** One field as text ('' when absent; the first when repeated). */
export function field(req: FastifyRequest, name: string): string {
  const v = fields(req)[name]
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '')
}

/** Every value of a repeated field. */
export function fieldList(req: FastifyRequest, name: string): string[] {
  const v = fields(req)[name]
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

export function baseCtx(req: FastifyRequest): PageCtx {
  return { t: pickLanguage(req.cookies[LANG_COOKIE], req.headers['accept-language']), path: req.url }
}

/** Sends a page for a refusal with its status. */
export function refuse(reply: FastifyReply, ctx: PageCtx, status: number, title: string, message: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page(ctx, title, html`<p class="error" role="alert">${message}</p><p><a href="/">${ctx.t.back}</a></p>`))
}

/** The session of a request, if its cookie opens one whose account still exists unchanged. */
export async function sessionOf(web: Web, req: FastifyRequest): Promise<Session | undefined> {
  const id = req.cookies[SESSION_COOKIE]
  const s = web.sessions.get(id)
  if (!s) return undefined
  const account = await web.admins.get(s.account)
  if (!account || account.generation !== s.generation || account.role !== s.role) {
    web.sessions.close(id)
    return undefined
  }
  return s
}

/** Redirects after a POST with a message for the next page. */
export function redirect(web: Web, reply: FastifyReply, session: Session, to: string, msg: { notice?: string; error?: string } = {}): undefined {
  if (msg.notice || msg.error) web.flash.set(session, msg)
  void reply.code(303).header('location', to).send()
  return undefined
}

/** Registers a page (GET) or an action (POST) that needs a session of `role`. */
export function route(web: Web, method: 'GET' | 'POST', url: string, role: AdminRole, handler: Handler): void {
  web.app.route({
    method,
    url,
    handler: async (req, reply) => {
      const ctx = baseCtx(req)
      const session = await sessionOf(web, req)
      if (!session) {
        if (method === 'GET') return reply.code(303).header('location', `/login?next=${encodeURIComponent(req.url)}`).send()
        return refuse(reply, ctx, 401, ctx.t.forbiddenTitle, ctx.t.sessionEnded)
      }
      const full = { ...ctx, session }
      if (!allows(session.role, role)) return refuse(reply, full, 403, ctx.t.forbiddenTitle, ctx.t.forbiddenRole)
      if (method === 'POST' && !csrfMatches(session, fields(req)._csrf)) return refuse(reply, full, 403, ctx.t.forbiddenTitle, ctx.t.forbiddenCsrf)
      const flash = web.flash.get(session)
      if (flash && method === 'GET') {
        web.flash.delete(session)
        Object.assign(full, flash)
      }
      try {
        const out = await handler(req, reply, full)
        if (out !== undefined) return reply.type('text/html; charset=utf-8').send(out)
        return reply
      } catch (err) {
        if (isPollenError(err) && err.status < 500) {
          if (method === 'POST') return redirect(web, reply, session, backTo(req), { error: err.message })
          return refuse(reply, full, err.status, err.status === 404 ? ctx.t.notFoundTitle : ctx.t.errorTitle, err.message)
        }
        throw err
      }
    },
  })
}

/** Where a refused action sends the person back to: the page the form was on (same origin only). */
export function backTo(req: FastifyRequest): string {
  const b = field(req, '_back')
  return b.startsWith('/') && !b.startsWith('//') && !b.includes('\\') ? b : req.url.replace(/\/[^/]*$/, '') || '/'
}
