/**
 * Which daemon a CLI command talks to: `--socket PATH`, else `$POLLEN_SOCKET`, else the socket
 * of the data directory (its `socket` setting, or `control.sock` in it).
 *
 * A data directory the person named (`--data-dir`, `$POLLEN_DATA_DIR`) must hold an instance
 * this user can read: one that does not exist, is not a directory, holds no instance or
 * cannot be read is refused with its reason. Falling back to the installed service's socket
 * there made a mistyped `pollen --data-dir /srv/shcool resource put -` write into the
 * installed instance (issue 17). Only when no data directory was named, and the default one
 * holds no instance this user can read, does the CLI reach the system socket
 * (`/run/pollen/control.sock`, or `$POLLEN_SYSTEM_SOCKET`) when it exists: the administrator's
 * plain `pollen status` on a machine running the service.
 */
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { isPollenError, pollenError } from '../core/errors.js'
import { resolveDataDir, resolveSocket, systemSocket } from './config.js'
import { loadConfig } from './configSources.js'

/** What the CLI was told, and where to look. */
export interface TargetOptions {
  /** `--data-dir`. */
  dataDir?: string
  /** `--socket`. */
  socket?: string
  env?: NodeJS.ProcessEnv
}

/** The control socket a command is sent to, and the data directory it stands for. */
export interface ControlTarget {
  socket: string
  dataDir: string
  /** True when it is the installed service's socket, reached for lack of a data directory. */
  system: boolean
}

/** Resolves the control socket (see the module comment); throws a POLLEN_* error for a named directory it cannot use. */
export async function controlTarget(opts: TargetOptions): Promise<ControlTarget> {
  const env = opts.env ?? process.env
  const dataDir = resolveDataDir(opts.dataDir, env)
  const given = opts.socket || env.POLLEN_SOCKET
  if (given) return { socket: given, dataDir, system: false }
  const named = Boolean(opts.dataDir || env.POLLEN_DATA_DIR)
  try {
    const config = await loadConfig({ dataDir, env })
    return { socket: resolveSocket(dataDir, config, undefined, env), dataDir, system: false }
  } catch (err) {
    // The instance is there but a configuration layer is invalid: the running daemon keeps the
    // configuration it started with (a refused reload), so the CLI still reaches it, at the
    // data directory's own socket; the daemon reports the invalid layer when it (re)starts.
    if (isPollenError(err, 'POLLEN_INVALID_CONFIG')) return { socket: resolveSocket(dataDir, { socket: '' }, undefined, env), dataDir, system: false }
    const reason = await unusable(dataDir, err, env)
    if (!reason) throw err
    const system = systemSocket(env)
    if (!named && existsSync(system)) return { socket: system, dataDir, system: true }
    throw reason
  }
}

/**
 * Why `dataDir` holds no instance this user can use, as a POLLEN_* error; undefined when
 * loading failed for another reason (an invalid configuration), which is reported as it is.
 */
async function unusable(dataDir: string, err: unknown, env: NodeJS.ProcessEnv): Promise<Error | undefined> {
  const code = (err as NodeJS.ErrnoException).code
  const viaSocket = existsSync(systemSocket(env)) ? `; the installed service is reached without --data-dir, or with --socket ${systemSocket(env)}` : ''
  if (code === 'EACCES') return pollenError('POLLEN_FORBIDDEN', `cannot read the data directory ${dataDir}: permission denied; run as its owner${viaSocket}`, { cause: err })
  if (code === 'ENOTDIR') return pollenError('POLLEN_NOT_INITIALIZED', `${dataDir} is not a directory; --data-dir names a pollen data directory`, { cause: err })
  if (!isPollenError(err, 'POLLEN_NOT_INITIALIZED')) return undefined
  const exists = await stat(dataDir).then(() => true, () => false)
  if (!exists) return pollenError('POLLEN_NOT_INITIALIZED', `the data directory ${dataDir} does not exist; check the path, or create an instance with \`pollen init --data-dir ${dataDir}\`${viaSocket}`, { cause: err })
  return pollenError('POLLEN_NOT_INITIALIZED', `${err.message}${viaSocket}`, { cause: err })
}
