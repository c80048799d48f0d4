/**
 * The service process: opens the data directory (taking its LevelDB lock), serves the control
 * API on a Unix socket with mode 0660, and stops cleanly on SIGTERM or SIGINT.
 */
import { chmod } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { removeIfExists } from '../adapters/secretFile.js'
import { buildControlApi } from './controlApi.js'
import { resolveSocket, type Config } from './config.js'
import { openInstance, type Instance } from './instance.js'
import { createLogger, type Logger } from './logger.js'
import { registerSyncRoutes } from './syncRoutes.js'
import { SyncService } from './syncService.js'

export interface DaemonOptions {
  dataDir: string
  listen?: string
  socket?: string
}

export interface RunningDaemon {
  instance: Instance
  control: FastifyInstance
  sync: SyncService
  socket: string
  logger: Logger
  stop(reason?: string): Promise<void>
}

/** Starts the daemon; resolves once the control socket accepts requests. */
export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const overrides: Partial<Config> = {}
  if (opts.listen) overrides.listen = opts.listen
  const instance = await openInstance(opts.dataDir, overrides)
  const logger = createLogger(instance.config.logLevel)
  const socket = resolveSocket(opts.dataDir, instance.config, opts.socket)
  const sync = new SyncService(instance, logger)
  const control = buildControlApi(instance, {
    status: async () => ({ listen: sync.address, lastSyncs: await sync.lastSyncs() }),
    register: (app) => {
      registerSyncRoutes(app, sync)
      // The scheduler follows peer changes.
      app.addHook('onResponse', async (req) => {
        if (req.url.startsWith('/v1/peers') && req.method !== 'GET') sync.reschedule()
      })
    },
  })
  try {
    await sync.start(instance.config.listen)
    // The LevelDB lock is ours, so a socket file left behind belongs to a dead daemon.
    await removeIfExists(socket)
    await control.listen({ path: socket })
    await chmod(socket, 0o660)
  } catch (err) {
    await control.close().catch(() => undefined)
    await sync.stop().catch(() => undefined)
    await instance.close()
    throw err
  }
  let stopping: Promise<void> | undefined
  const stop = (reason = 'stop'): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'stopping')
      await control.close()
      await sync.stop()
      await instance.close()
      await removeIfExists(socket)
      logger.info('stopped')
    })()
    return stopping
  }
  logger.info({ instance: instance.instanceId, author: instance.log.author, socket, listen: sync.address, dataDir: opts.dataDir }, 'ready')
  return { instance, control, sync, socket, logger, stop }
}

/** Runs the daemon in the foreground until SIGTERM or SIGINT. */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const d = await startDaemon(opts)
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      d.stop(sig).then(resolve, (err) => {
        d.logger.error({ err }, 'error while stopping')
        process.exitCode = 1
        resolve()
      })
    }
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
  })
}
