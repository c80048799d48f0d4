/**
 * The web page's own listener (`admin.listen`, default 127.0.0.1:7421; "off" disables it).
 * On loopback it is plain HTTP — only this machine reaches it; bound to any other address it
 * is served over TLS with the instance's own certificate (adapters/tlsIdentity.ts), whose
 * SHA-256 fingerprint `pollen status` shows so a person can compare it with the browser's.
 */
import { X509Certificate } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import { pollenError } from '../../core/errors.js'
import { tlsCredentials } from '../../adapters/tlsIdentity.js'
import { parseListen } from '../config.js'
import { STYLE, SCRIPT } from './assets.js'
import { registerAuth } from './authRoutes.js'
import { registerReview } from './reviewPages.js'
import { registerResource } from './resourcePages.js'
import { registerConflicts } from './conflictPages.js'
import { registerPeers } from './peerPages.js'
import { registerUsers } from './userPages.js'
import { registerPolicy } from './policyPages.js'
import { baseCtx, refuse, type AdminDeps, type Web } from './routing.js'

export type { AdminDeps }
import { LoginLimiter, Sessions } from './sessions.js'

/** No inline script or style, nothing from elsewhere, no framing, forms only to this page. */
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** The web page's app (not listening): every route, the headers, the session machinery. */
export function buildAdminApp(deps: AdminDeps, opts: { https?: { key: string; cert: string }; now?: () => number } = {}): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true, ...(opts.https ? { https: opts.https } : {}) }) as unknown as FastifyInstance
  void app.register(cookie)
  void app.register(formbody)
  const web: Web = { app, admins: deps.inst.admins, sessions: new Sessions(opts.now), secure: opts.https !== undefined, flash: new WeakMap() }
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('content-security-policy', CSP)
    reply.header('x-content-type-options', 'nosniff')
    // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on this page's own forms.
    reply.header('referrer-policy', 'same-origin')
    reply.header('x-frame-options', 'DENY')
    reply.header('cross-origin-opener-policy', 'same-origin')
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
    if (web.secure) reply.header('strict-transport-security', 'max-age=31536000')
    return payload
  })
  // A cross-site form post is refused before any handler sees it (the CSRF token is the main guard).
  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST') return
    const origin = req.headers.origin
    if (origin !== undefined && origin !== 'null' && new URL(origin).host !== req.headers.host) {
      const ctx = baseCtx(req)
      return refuse(reply, ctx, 403, ctx.t.forbiddenTitle, ctx.t.forbiddenCsrf)
    }
    if (origin === 'null') {
      const ctx = baseCtx(req)
      return refuse(reply, ctx, 403, ctx.t.forbiddenTitle, ctx.t.forbiddenCsrf)
    }
  })
  app.get('/static/admin.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=300').send(STYLE))
  app.get('/static/admin.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(SCRIPT))
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).header('cache-control', 'max-age=86400').send())
  app.get('/', async (_req, reply) => reply.code(303).header('location', '/review').send())
  registerAuth(web, { account: new LoginLimiter(5, 15 * 60_000, opts.now), address: new LoginLimiter(20, 15 * 60_000, opts.now) })
  registerReview(web, deps)
  registerResource(web, deps)
  registerConflicts(web, deps)
  registerPeers(web, deps)
  registerUsers(web, deps)
  registerPolicy(web, deps)
  app.setNotFoundHandler((req, reply) => {
    const ctx = baseCtx(req)
    return refuse(reply, ctx, 404, ctx.t.notFoundTitle, ctx.t.notFound)
  })
  app.setErrorHandler((err, req, reply) => {
    const ctx = baseCtx(req)
    const status = (err as { statusCode?: number }).statusCode ?? 500
    // A malformed form or an oversized body: the person's mistake; anything else is a bug, kept out of the page.
    if (status >= 400 && status < 500) return refuse(reply, ctx, status, ctx.t.errorTitle, (err as Error).message)
    return refuse(reply, ctx, 500, ctx.t.errorTitle, 'internal error (POLLEN_INTERNAL); see the daemon\'s log')
  })
  return app
}

/** The running web page, as `pollen status` shows it. */
export interface AdminStatus {
  listen: string
  url: string | null
  tls: boolean
  /** SHA-256 of the certificate, colon-separated hex, as browsers show it; only under TLS. */
  fingerprint?: string
}

export class AdminServer {
  #app?: FastifyInstance
  #status: AdminStatus = { listen: 'off', url: null, tls: false }
  readonly #deps: AdminDeps

  constructor(deps: AdminDeps) {
    this.#deps = deps
  }

  get status(): AdminStatus {
    return this.#status
  }

  /** Listens on `listen` (or does nothing for "off"); POLLEN_ADDRESS_IN_USE when the address is taken. */
  async start(listen: string): Promise<void> {
    const next = await this.#open(listen)
    this.#app = next.app
    this.#status = next.status
  }

  /** A listener on `listen`, not yet the page's: the caller swaps it in or closes it. */
  async #open(listen: string): Promise<{ app?: FastifyInstance; status: AdminStatus }> {
    if (listen === 'off') return { status: { listen: 'off', url: null, tls: false } }
    const { host, port } = parseListen(listen, 'admin.listen')
    const tls = !isLoopback(host)
    const https = tls ? await tlsCredentials(this.#deps.inst.identity) : undefined
    const app = buildAdminApp(this.#deps, { https })
    try {
      await app.listen({ host, port })
    } catch (err) {
      await app.close().catch(() => undefined)
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE') throw pollenError('POLLEN_ADDRESS_IN_USE', `cannot serve the web page on ${listen}: another program uses that address; choose another with --admin-listen HOST:PORT (or "off")`, { cause: err })
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw pollenError('POLLEN_INVALID_CONFIG', `cannot serve the web page on ${listen}: this machine has no such address`, { cause: err })
      throw err
    }
    const addr = app.server.address()
    const bound = typeof addr === 'object' && addr ? addr.port : port
    const shownHost = host.includes(':') ? `[${host}]` : host
    return {
      app,
      status: {
        listen: `${shownHost}:${bound}`,
        url: `${tls ? 'https' : 'http'}://${shownHost}:${bound}/`,
        tls,
        ...(https ? { fingerprint: new X509Certificate(https.cert).fingerprint256 } : {}),
      },
    }
  }

  async stop(): Promise<void> {
    await this.#app?.close()
    this.#app = undefined
  }

  /**
   * A move to another address (reload) in two steps, so that a reload refused later leaves
   * the page where it was: the new listener opens first (a taken address throws here and
   * nothing changed); `commit` closes the old one and makes the new one the page's,
   * `discard` closes the new one. Sessions do not move: the new listener starts without any.
   */
  async prepare(listen: string): Promise<{ commit(): Promise<void>; discard(): Promise<void> }> {
    const next = await this.#open(listen)
    return {
      commit: async () => {
        await this.stop()
        this.#app = next.app
        this.#status = next.status
      },
      discard: async () => {
        await next.app?.close()
      },
    }
  }
}
