/**
 * The service process: opens the data directory (taking its LevelDB lock), serves the control
 * API on a Unix socket with mode 0660, and stops cleanly on SIGTERM or SIGINT.
 */
import type { FastifyInstance } from 'fastify'
import { buildControlApi } from './controlApi.js'
import { resolveSocket } from './config.js'
import { loadConfig } from './configSources.js'
import { openInstance, type Instance } from './instance.js'
import { createLogger, type Logger } from './logger.js'
import { Metrics } from './metrics.js'
import { registerSyncRoutes } from './syncRoutes.js'
import { claimSocket } from './socketClaim.js'
import { SyncService } from './syncService.js'
import { AdminServer } from './admin/server.js'

export interface DaemonOptions {
  dataDir: string
  listen?: string
  /** `--admin-listen HOST:PORT|off`: where the web page listens. */
  adminListen?: string
  socket?: string
  /** `--config PATH`: the system configuration file. */
  config?: string
  logLevel?: string
}

export interface RunningDaemon {
  instance: Instance
  control: FastifyInstance
  sync: SyncService
  admin: AdminServer
  metrics: Metrics
  socket: string
  logger: Logger
  /** Re-reads the configuration (SIGHUP) without dropping the control socket. */
  reload(): Promise<void>
  stop(reason?: string): Promise<void>
}

/** The control socket systemd passed us (socket activation), if any: fd 3. */
function activatedFd(env: NodeJS.ProcessEnv): number | undefined {
  if (env.LISTEN_FDS === undefined || Number(env.LISTEN_FDS) < 1) return undefined
  if (env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) !== process.pid) return undefined
  return 3
}

/** Starts the daemon; resolves once the control socket accepts requests. */
export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const flags: Record<string, unknown> = {}
  if (opts.listen) flags.listen = opts.listen
  if (opts.socket) flags.socket = opts.socket
  if (opts.adminListen) flags['admin.listen'] = opts.adminListen
  if (opts.logLevel) flags.logLevel = opts.logLevel
  const config = await loadConfig({ dataDir: opts.dataDir, file: opts.config, flags })
  const instance = await openInstance(opts.dataDir, config)
  const logger = createLogger(instance.config.logLevel)
  const socket = resolveSocket(opts.dataDir, instance.config, opts.socket)
  const fd = activatedFd(process.env)
  const metrics = new Metrics(instance)
  const sync = new SyncService(instance, logger, (r) => metrics.sync(r), (r) => metrics.verify(r))
  const admin = new AdminServer({ inst: instance, sync })
  const control = buildControlApi(instance, {
    status: async () => ({ listen: sync.address, lastSyncs: await sync.lastSyncs(), running: sync.running(), ...(await sync.transportStatus()), admin: admin.status }),
    register: (app) => {
      registerSyncRoutes(app, sync)
      app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()))
      // The scheduler follows peer changes.
      app.addHook('onResponse', async (req) => {
        if (req.url.startsWith('/v1/peers') && req.method !== 'GET') sync.reschedule()
      })
    },
  })
  let releaseSocket: () => Promise<void> = async () => undefined
  try {
    await sync.start(instance.config.listen)
    await admin.start(instance.config.admin.listen)
    if (fd !== undefined) {
      await control.ready()
      await new Promise<void>((resolve, reject) => {
        control.server.once('error', reject)
        control.server.listen({ fd }, () => resolve())
      })
    } else {
      releaseSocket = await claimSocket(socket, 0o660, async (path) => {
        await control.listen({ path })
      })
    }
  } catch (err) {
    await control.close().catch(() => undefined)
    await admin.stop().catch(() => undefined)
    await releaseSocket().catch(() => undefined)
    await sync.stop().catch(() => undefined)
    await instance.close()
    throw err
  }
  let stopping: Promise<void> | undefined
  const stop = (reason = 'stop'): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'stopping')
      // Syncs in flight are abandoned between chunks: a chunk being applied finishes (one
      // atomic batch), the one in transit is dropped and the next sync resumes there.
      await admin.stop()
      await sync.stop()
      await control.close()
      await instance.close()
      await releaseSocket()
      logger.info('stopped')
    })()
    return stopping
  }
  const reload = async (): Promise<void> => {
    const next = await loadConfig({ dataDir: opts.dataDir, file: opts.config, flags })
    // All or nothing: the one step that can fail, moving the sync API, goes first; a refused
    // move leaves the running configuration whole (languages, log level, schedule, address).
    // The web page opens its new address first and gives up the old one only once the rest is sure.
    const page = next.admin.listen !== instance.config.admin.listen ? await admin.prepare(next.admin.listen) : undefined
    try {
      if (next.listen !== instance.config.listen) await sync.restartApi(next.listen, next.sync.plain)
    } catch (err) {
      await page?.discard()
      throw err
    }
    await page?.commit()
    instance.config = next
    logger.level = next.logLevel
    instance.log.setLanguages(next.languages)
    instance.log.reviewPolicy = next.review.updates
    sync.reschedule()
    logger.info({ listen: sync.address, languages: next.languages, logLevel: next.logLevel }, 'configuration reloaded')
  }
  logger.info({ instance: instance.instanceId, author: instance.log.author, socket: fd === undefined ? socket : `fd:${fd}`, listen: sync.address, dataDir: opts.dataDir }, 'ready')
  if (admin.status.url) logger.info({ url: admin.status.url, fingerprint: admin.status.fingerprint }, 'web page ready')
  return { instance, control, sync, admin, metrics, socket, logger, reload, stop }
}

/** How long a stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 9_000

/** Runs the daemon in the foreground until SIGTERM or SIGINT; SIGHUP reloads the configuration. */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const d = await startDaemon(opts)
  const onHup = () => {
    d.reload().catch((err?: { code?: string; message?: string }) => d.logger.error({ err: { code: err?.code, message: err?.message } }, 'configuration reload refused; keeping the running configuration'))
  }
  process.on('SIGHUP', onHup)
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      const deadline = setTimeout(() => {
        d.logger.error('stop took too long; exiting')
        process.exit(1)
      }, STOP_DEADLINE_MS)
      deadline.unref()
      d.stop(sig).then(resolve, (err) => {
        d.logger.error({ err }, 'error while stopping')
        process.exitCode = 1
        resolve()
      })
    }
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
  })
  process.off('SIGHUP', onHup)
}
