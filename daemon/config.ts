/**
 * Instance configuration: `<data-dir>/config.json`, written by `pollen init`. Every key is
 * checked at start; an invalid value is refused with the key named, never guessed around.
 */
import { join } from 'node:path'
import { DEFAULT_CHUNK_LIMITS } from '../core/sync/chunker.js'
import { pollenError } from '../core/errors.js'
import { LANG_RE } from '../core/model/operation.js'
import { isPartition } from '../core/model/partition.js'

export interface SyncConfig {
  /** Seconds between scheduled syncs of each active peer (0 turns the scheduler off). */
  intervalSeconds: number
  /** Most operations in one chunk. */
  chunkOps: number
  /** About how many bytes of operations (before compression) one chunk holds. */
  chunkBytes: number
  /**
   * Plain mode: the sync API speaks unencrypted HTTP and http:// peer URLs are allowed. Off by
   * default; an administrator's explicit choice, warned about in `status` and the log
   * (docs/operations.md §"Plain mode").
   */
  plain: boolean
}

/** The web page (daemon/admin/). */
export interface AdminConfig {
  /** HOST:PORT, or "off". Beyond loopback it is served over TLS with the instance's certificate. */
  listen: string
}

/** Review settings (docs/design.md §7). */
export interface ReviewConfig {
  /** What a peer's update to an approved resource does: publish at once, or hold it for review again. */
  updates: 'publish' | 'hold'
}

export const REVIEW_UPDATES: readonly ReviewConfig['updates'][] = ['publish', 'hold']

export interface Config {
  name: string
  languages: string[]
  /** Sync API address, HOST:PORT. */
  listen: string
  /** Control socket path; empty for the default. */
  socket: string
  defaultPartition: string
  /** This instance's public sync URL, recorded as `source.url` of resources created here. */
  publicUrl: string
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  sync: SyncConfig
  admin: AdminConfig
  review: ReviewConfig
}

/** Where the web page listens unless configured: loopback only, so it is private until opened. */
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:7421'

export const DEFAULT_CONFIG: Config = {
  name: 'pollen',
  languages: ['en'],
  listen: '127.0.0.1:7420',
  socket: '',
  defaultPartition: 'lib',
  publicUrl: '',
  logLevel: 'info',
  sync: { intervalSeconds: 300, chunkOps: DEFAULT_CHUNK_LIMITS.maxOps, chunkBytes: DEFAULT_CHUNK_LIMITS.maxBytes, plain: false },
  admin: { listen: DEFAULT_ADMIN_LISTEN },
  review: { updates: 'publish' },
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function bad(keyName: string, message: string): never {
  throw pollenError('POLLEN_INVALID_CONFIG', `configuration key "${keyName}" ${message}`, { details: { key: keyName } })
}

/** Parses HOST:PORT; throws with the key named. */
export function parseListen(value: unknown, keyName = 'listen'): { host: string; port: number } {
  if (typeof value !== 'string') bad(keyName, 'must be HOST:PORT, such as 127.0.0.1:7420')
  const m = /^(.*):(\d{1,5})$/.exec(value)
  const port = m ? Number(m[2]) : NaN
  if (!m || m[1] === '' || port > 65535) bad(keyName, `must be HOST:PORT, such as 127.0.0.1:7420, not ${JSON.stringify(value)}`)
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port }
}

/** Parses a comma-separated or listed set of language codes. */
export function parseLanguages(value: unknown, keyName = 'languages'): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value
  if (!Array.isArray(list) || list.length === 0) bad(keyName, 'must list at least one language code, such as en,fr')
  for (const l of list) if (typeof l !== 'string' || !LANG_RE.test(l)) bad(keyName, `has ${JSON.stringify(l)}, which is not a language code such as "en" or "pt-BR"`)
  return [...new Set(list as string[])]
}

function int(value: unknown, keyName: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) bad(keyName, `must be a whole number from ${min} to ${max}`)
  return value as number
}

/** Validates a configuration object layered over the defaults; unknown keys are refused. */
export function validateConfig(raw: unknown): Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw pollenError('POLLEN_INVALID_CONFIG', 'the configuration must be a JSON object')
  const input = raw as Record<string, unknown>
  const out: Config = { ...DEFAULT_CONFIG, sync: { ...DEFAULT_CONFIG.sync }, admin: { ...DEFAULT_CONFIG.admin }, review: { ...DEFAULT_CONFIG.review } }
  for (const [k, v] of Object.entries(input)) {
    switch (k) {
      case 'name':
        if (typeof v !== 'string' || v.trim() === '' || v.length > 100) bad(k, 'must be a non-empty name of at most 100 characters')
        out.name = v
        break
      case 'languages':
        out.languages = parseLanguages(v, k)
        break
      case 'listen':
        parseListen(v, k)
        out.listen = v as string
        break
      case 'socket':
        if (typeof v !== 'string') bad(k, 'must be a path')
        out.socket = v
        break
      case 'defaultPartition':
        if (!isPartition(v)) bad(k, 'must be a partition such as "lib" or "lib:who"')
        out.defaultPartition = v
        break
      case 'publicUrl':
        if (typeof v !== 'string' || (v !== '' && !/^https?:\/\/\S+$/.test(v))) bad(k, 'must be an http:// or https:// URL')
        out.publicUrl = v
        break
      case 'logLevel':
        if (typeof v !== 'string' || !LEVELS.includes(v)) bad(k, `must be one of ${LEVELS.join(', ')}`)
        out.logLevel = v as Config['logLevel']
        break
      case 'sync': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(k, 'must be an object')
        for (const [sk, sv] of Object.entries(v as Record<string, unknown>)) {
          if (sk === 'intervalSeconds') out.sync.intervalSeconds = int(sv, 'sync.intervalSeconds', 0, 7 * 86400)
          else if (sk === 'chunkOps') out.sync.chunkOps = int(sv, 'sync.chunkOps', 1, 10_000)
          else if (sk === 'chunkBytes') out.sync.chunkBytes = int(sv, 'sync.chunkBytes', 1024, 4 * 1024 * 1024)
          else if (sk === 'plain') {
            if (typeof sv !== 'boolean') bad('sync.plain', 'must be true or false')
            out.sync.plain = sv
          }
          else bad(`sync.${sk}`, 'is not a known setting')
        }
        break
      }
      case 'admin': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(k, 'must be an object')
        for (const [ak, av] of Object.entries(v as Record<string, unknown>)) {
          if (ak === 'listen') {
            if (av !== 'off') parseListen(av, 'admin.listen')
            out.admin.listen = av as string
          } else bad(`admin.${ak}`, 'is not a known setting')
        }
        break
      }
      case 'review': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(k, 'must be an object')
        for (const [rk, rv] of Object.entries(v as Record<string, unknown>)) {
          if (rk !== 'updates') bad(`review.${rk}`, 'is not a known setting')
          if (!REVIEW_UPDATES.includes(rv as ReviewConfig['updates'])) bad('review.updates', `must be one of ${REVIEW_UPDATES.join(', ')}`)
          out.review.updates = rv as ReviewConfig['updates']
        }
        break
      }
      default:
        bad(k, 'is not a known setting')
    }
  }
  return out
}

/** The files of a data directory. */
export function dataPaths(dataDir: string) {
  return {
    dataDir,
    db: join(dataDir, 'db'),
    config: join(dataDir, 'config.json'),
    identity: join(dataDir, 'identity.json'),
    peerKeys: join(dataDir, 'peer-keys.json'),
    defaultSocket: join(process.env.RUNTIME_DIRECTORY ?? dataDir, 'control.sock'),
  }
}

/** The data directory: flag, then $POLLEN_DATA_DIR, then ~/.local/share/pollen. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag
  if (env.POLLEN_DATA_DIR) return env.POLLEN_DATA_DIR
  return join(env.HOME ?? '.', '.local', 'share', 'pollen')
}

/** Where systemd's socket unit puts the control socket. */
export const SYSTEM_SOCKET = '/run/pollen/control.sock'

/**
 * The system service's control socket: `$POLLEN_SYSTEM_SOCKET`, else {@link SYSTEM_SOCKET}.
 * The variable lets a second instance on an installed machine (a development checkout, the
 * test suite) keep its CLI away from the service's socket (docs/operations.md).
 */
export function systemSocket(env: NodeJS.ProcessEnv = process.env): string {
  return env.POLLEN_SYSTEM_SOCKET || SYSTEM_SOCKET
}

/**
 * The control socket of a data directory: flag, then `$POLLEN_SOCKET`, then the configuration,
 * then the default for the data directory. The CLI's choice, which may also be the system
 * socket, is daemon/controlTarget.ts.
 */
export function resolveSocket(dataDir: string, config: Pick<Config, 'socket'>, flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag
  if (env.POLLEN_SOCKET) return env.POLLEN_SOCKET
  if (config.socket) return config.socket
  return dataPaths(dataDir).defaultSocket
}
