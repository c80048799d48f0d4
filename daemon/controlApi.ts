/**
 * The control API: HTTP/JSON over the Unix socket (mode 0660; only the service user and its
 * group reach it, so there is no other authentication). The CLI is a thin client of it.
 * Every error is `{code, message}` with a stable POLLEN_* code.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { pollenError } from '../core/errors.js'
import { formatInstanceId } from '../core/model/identity.js'
import type { ImportResult, Library } from '../core/library/library.js'
import type { ReviewStatus } from '../core/library/resource.js'
import { fromFastifyError, type ErrorEdge } from '../adapters/fastifyErrors.js'
import { parseImportText } from './importText.js'
import type { Instance } from './instance.js'
import { NDJSON, sendTaskLines } from './ndjson.js'
import { registerAdminAccountRoutes } from './adminAccountRoutes.js'
import { registerReviewRoutes } from './controlReview.js'

/** Extra capabilities the service plugs in (sync arrives with the sync issue). */
export interface ControlHooks {
  status?: () => Promise<Record<string, unknown>>
  register?: (app: FastifyInstance) => void
}

const STATUSES: readonly ReviewStatus[] = ['published', 'pending', 'rejected']

/** The control API's answers to errors: it takes JSON; malformed requests are POLLEN_INVALID_INPUT, the rest POLLEN_STORAGE. */
const CONTROL_EDGE: ErrorEdge = { badRequest: 'POLLEN_INVALID_INPUT', internal: 'POLLEN_STORAGE', json: true }

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const pe = fromFastifyError(err, CONTROL_EDGE)
  return reply.code(pe.status).send(pe.toJSON())
}

function body(req: { body: unknown }): Record<string, unknown> {
  const b = req.body
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw pollenError('POLLEN_INVALID_INPUT', 'the request body must be a JSON object')
  return b as Record<string, unknown>
}

/** Builds the control API app for an open instance: one function a group of routes, below. */
export function buildControlApi(inst: Instance, hooks: ControlHooks = {}): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 * 1024, forceCloseConnections: true })
  app.addContentTypeParser(['text/plain', NDJSON], { parseAs: 'string' }, (_req, text, done) => done(null, text))
  app.setErrorHandler((err, _req, reply) => sendError(reply, err))
  app.setNotFoundHandler((req, reply) => sendError(reply, pollenError('POLLEN_NOT_FOUND', `no control endpoint ${req.method} ${req.url}`)))
  instanceRoutes(app, inst, hooks)
  resourceRoutes(app, inst.library)
  registerReviewRoutes(app, inst)
  userRoutes(app, inst)
  peerRoutes(app, inst)
  registerAdminAccountRoutes(app, inst.admins)
  hooks.register?.(app)
  return app
}

/** Health, status and rebuild: the instance as a whole. */
function instanceRoutes(app: FastifyInstance, inst: Instance, hooks: ControlHooks): void {
  const lib = inst.library
  app.get('/v1/health', async () => ({ ok: true }))

  app.get('/v1/status', async () => {
    const counts = await lib.counts()
    const conflicts = (await lib.conflicts()).length
    const extra = hooks.status ? await hooks.status() : {}
    return {
      instance: inst.instanceId,
      // The form to read out or type (`peer add --instance`, `user add --instance`).
      instanceGrouped: formatInstanceId(inst.instanceId),
      author: inst.log.author,
      name: inst.config.name,
      languages: inst.config.languages,
      counter: inst.log.counter,
      listen: inst.config.listen,
      resources: counts,
      conflicts,
      vectors: inst.log.vectors.entries(),
      rekey: (await inst.log.lastRekey()) ?? null,
      peers: await inst.peers.list(),
      ...extra,
    }
  })

  // An administrator's answer to POLLEN_RESTORED_BACKUP where no peer could prove the restore.
  app.post('/v1/rekey', async () => {
    const from = inst.log.author
    const to = await inst.log.rekey(0, 'pollen rekey, run by an administrator')
    return { from, to }
  })

  app.post('/v1/rebuild', async () => {
    const started = Date.now()
    const r = await inst.log.rebuild()
    return { ...r, ms: Date.now() - started }
  })
}

/** Resources: put, import (streamed progress), list, get, delete. */
function resourceRoutes(app: FastifyInstance, lib: Library): void {
  app.post('/v1/resources', async (req) => lib.put(req.body))

  app.post('/v1/resources/import', async (req, reply) => {
    if (typeof req.body !== 'string') throw pollenError('POLLEN_INVALID_INPUT', 'send the import as text/plain or application/x-ndjson')
    const parsed = parseImportText(req.body)
    return sendTaskLines(
      reply,
      async (write) => {
        const items = parsed.flatMap((p) => (p.ok ? [p.value] : []))
        const result: ImportResult = await lib.import(items, (done, total) => write({ type: 'progress', done, total }))
        // Map indexes back to the input's positions and add the lines that were not JSON.
        const positions = parsed.flatMap((p, i) => (p.ok ? [i] : []))
        const errors = [
          ...result.errors.map((e) => ({ ...e, index: positions[e.index] })),
          ...parsed.flatMap((p, i) => (p.ok ? [] : [{ index: i, code: 'POLLEN_INVALID_JSON', message: p.message }])),
        ].sort((a, b) => a.index - b.index)
        return { type: 'result', ...result, total: parsed.length, errors }
      },
      (err) => fromFastifyError(err, CONTROL_EDGE).toJSON(),
    )
  })

  app.get('/v1/resources', async (req) => {
    const q = req.query as Record<string, string | undefined>
    if (q.status !== undefined && !STATUSES.includes(q.status as ReviewStatus)) {
      throw pollenError('POLLEN_INVALID_INPUT', `status must be one of ${STATUSES.join(', ')}`)
    }
    return lib.list({ status: q.status as ReviewStatus | undefined, lang: q.lang })
  })

  app.get('/v1/resources/:id', async (req) => lib.get((req.params as { id: string }).id))

  app.delete('/v1/resources/:id', async (req) => {
    const q = req.query as Record<string, string | undefined>
    const id = (req.params as { id: string }).id
    await lib.delete(id, q.purge === 'true' || q.purge === '1')
    return { id, deleted: true, purged: q.purge === 'true' || q.purge === '1' }
  })
}

/** Users of the sync API: add (answers with the new key), list, revoke. */
function userRoutes(app: FastifyInstance, inst: Instance): void {
  app.post('/v1/users', async (req) => {
    const b = body(req)
    const { user, key } = await inst.users.add({ name: b.name, role: b.role, filters: b.filters, instance: b.instance, trusted: b.trusted })
    return { ...user, key }
  })
  app.patch('/v1/users/:name', async (req) => {
    const b = body(req)
    return inst.users.set((req.params as { name: string }).name, { resetInstance: b.resetInstance, instance: b.instance, trusted: b.trusted })
  })
  app.get('/v1/users', async () => inst.users.list())
  app.delete('/v1/users/:name', async (req) => {
    const name = (req.params as { name: string }).name
    await inst.users.revoke(name)
    return { name, revoked: true }
  })
}

/** Peers: add, list, remove, change. */
function peerRoutes(app: FastifyInstance, inst: Instance): void {
  app.post('/v1/peers', async (req) => {
    const b = body(req)
    return inst.peers.add({ name: b.name, url: b.url, user: b.user, key: b.key, filters: b.filters, active: b.active, trusted: b.trusted, windows: b.windows, maxKbps: b.maxKbps, meteredMb: b.meteredMb, urgent: b.urgent, instance: b.instance })
  })
  app.get('/v1/peers', async () => inst.peers.list())
  app.delete('/v1/peers/:name', async (req) => {
    const name = (req.params as { name: string }).name
    await inst.peers.remove(name)
    return { name, removed: true }
  })
  app.patch('/v1/peers/:name', async (req) => {
    const b = body(req)
    return inst.peers.set((req.params as { name: string }).name, { active: b.active, trusted: b.trusted, windows: b.windows, maxKbps: b.maxKbps, meteredMb: b.meteredMb, urgent: b.urgent, filters: b.filters, url: b.url, user: b.user, key: b.key, acceptKey: b.acceptKey })
  })
}
