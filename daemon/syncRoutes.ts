/**
 * Control API routes for sync: `POST /v1/sync` streams the run's progress events as NDJSON
 * and ends with the per-peer results; `POST /v1/sync/cancel` stops runs at the next chunk
 * boundary; `GET /v1/runs` lists the runs in progress; `GET /v1/log` is the sync history;
 * `GET /v1/events` streams every sync event as it happens.
 */
import type { FastifyInstance } from 'fastify'
import { isPollenError, pollenError } from '../core/errors.js'
import type { SyncEvent, SyncResult } from '../core/sync/client.js'
import type { SyncMode } from '../core/sync/wire/frames.js'
import { sendFeedLines, sendTaskLines } from './ndjson.js'
import type { SyncService } from './syncService.js'

export function registerSyncRoutes(app: FastifyInstance, sync: SyncService): void {
  app.post('/v1/sync', async (req, reply) => {
    const b = (req.body ?? {}) as { peers?: unknown; mode?: unknown; maxAttempts?: unknown }
    const peers = b.peers ?? []
    if (!Array.isArray(peers) || !peers.every((p) => typeof p === 'string')) throw pollenError('POLLEN_INVALID_INPUT', 'peers must be a list of peer names')
    const mode = (b.mode ?? 'both') as SyncMode
    if (!['pull', 'push', 'both'].includes(mode)) throw pollenError('POLLEN_INVALID_INPUT', 'mode must be pull, push or both')
    const maxAttempts = b.maxAttempts ?? undefined
    if (maxAttempts !== undefined && !(Number.isSafeInteger(maxAttempts) && (maxAttempts as number) >= 1 && (maxAttempts as number) <= 1000)) throw pollenError('POLLEN_INVALID_INPUT', 'maxAttempts must be a whole number from 1 to 1000')
    const retry = maxAttempts === undefined ? undefined : { maxAttempts: maxAttempts as number }
    // Unknown peer names are refused before the stream starts, with a real status.
    await sync.checkPeers(peers)
    return sendTaskLines(
      reply,
      async (write) => ({ type: 'result', results: await sync.syncPeers(peers, mode, (ev: SyncEvent) => write({ type: 'event', ...ev }), retry) }),
      (err) => (isPollenError(err) ? err.toJSON() : { code: 'POLLEN_SYNC_FAILED', message: String(err) }),
    )
  })

  // Ctrl-C on `pollen sync`: the runs stop at the next chunk boundary and answer their streams.
  app.post('/v1/sync/cancel', async (req) => {
    const peers = ((req.body ?? {}) as { peers?: unknown }).peers ?? []
    if (!Array.isArray(peers) || !peers.every((p) => typeof p === 'string')) throw pollenError('POLLEN_INVALID_INPUT', 'peers must be a list of peer names')
    return { cancelled: sync.cancel(peers) }
  })

  app.get('/v1/runs', async () => sync.running())

  app.post('/v1/verify', async (req) => {
    const peers = ((req.body ?? {}) as { peers?: unknown }).peers ?? []
    if (!Array.isArray(peers) || !peers.every((p) => typeof p === 'string')) throw pollenError('POLLEN_INVALID_INPUT', 'peers must be a list of peer names')
    return sync.verifyPeers(peers)
  })

  app.get('/v1/log', async (req) => {
    const q = req.query as { peer?: string; limit?: string }
    const limit = q.limit === undefined ? 50 : Number(q.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw pollenError('POLLEN_INVALID_INPUT', 'limit must be a whole number from 1 to 1000')
    return sync.history(q.peer, limit)
  })

  app.get('/v1/events', async (_req, reply) =>
    sendFeedLines(reply, (write) => {
      const onEvent = (ev: SyncEvent) => write({ type: 'event', ...ev })
      const onResult = (r: SyncResult) => write({ type: 'result', result: r })
      sync.events.on('event', onEvent)
      sync.events.on('result', onResult)
      return () => {
        sync.events.off('event', onEvent)
        sync.events.off('result', onResult)
      }
    }),
  )
}
