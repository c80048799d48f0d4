/**
 * Where configuration comes from, lowest precedence first:
 *   1. built-in defaults;
 *   2. `<data-dir>/config.json` (written by `pollen init`: the instance's name and languages);
 *   3. the system file: `--config PATH`, else `$POLLEN_CONFIG`, else `/etc/pollen/pollen.json`
 *      when it exists;
 *   4. environment variables (`POLLEN_LISTEN`, `POLLEN_LANGUAGES`, … below);
 *   5. command-line flags.
 * Each layer is checked on its own; an invalid value is refused with its key and layer named.
 */
import { pollenError, isPollenError } from '../core/errors.js'
import { readJson } from '../adapters/secretFile.js'
import { dataPaths, DEFAULT_CONFIG, validateConfig, type Config } from './config.js'

export const SYSTEM_CONFIG = '/etc/pollen/pollen.json'

/** Environment variables and the configuration key each sets. */
export const ENV_KEYS: Record<string, string> = {
  POLLEN_NAME: 'name',
  POLLEN_LANGUAGES: 'languages',
  POLLEN_LISTEN: 'listen',
  POLLEN_SOCKET: 'socket',
  POLLEN_DEFAULT_PARTITION: 'defaultPartition',
  POLLEN_PUBLIC_URL: 'publicUrl',
  POLLEN_LOG_LEVEL: 'logLevel',
  POLLEN_SYNC_INTERVAL: 'sync.intervalSeconds',
  POLLEN_SYNC_CHUNK_OPS: 'sync.chunkOps',
  POLLEN_SYNC_CHUNK_BYTES: 'sync.chunkBytes',
  POLLEN_ADMIN_LISTEN: 'admin.listen',
}

export interface ConfigSources {
  dataDir: string
  /** `--config PATH`. */
  file?: string
  env?: NodeJS.ProcessEnv
  /** Settings given as flags (already keyed as in the config file). */
  flags?: Record<string, unknown>
}

function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(flat)) {
    const dot = k.indexOf('.')
    if (dot > 0) {
      const group = k.slice(0, dot)
      out[group] = { ...(out[group] ?? {}), [k.slice(dot + 1)]: v }
    } else out[k] = v
  }
  return out
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const flat: Record<string, unknown> = {}
  for (const [name, keyName] of Object.entries(ENV_KEYS)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    if (keyName.startsWith('sync.')) {
      if (!/^\d+$/.test(raw)) throw pollenError('POLLEN_INVALID_CONFIG', `environment variable ${name}: configuration key "${keyName}" must be a whole number, not ${JSON.stringify(raw)}`, { details: { key: keyName, source: name } })
      flat[keyName] = Number(raw)
    } else flat[keyName] = raw
  }
  return nest(flat)
}

function merge(base: Config, layer: Record<string, unknown>, source: string): Config {
  try {
    // Groups (sync, admin) merge key by key, so a layer setting one key keeps the others.
    const sync = layer.sync && typeof layer.sync === 'object' ? { ...base.sync, ...layer.sync } : layer.sync
    const admin = layer.admin && typeof layer.admin === 'object' ? { ...base.admin, ...layer.admin } : layer.admin
    return validateConfig({ ...base, ...layer, ...(sync === undefined ? {} : { sync }), ...(admin === undefined ? {} : { admin }) })
  } catch (err) {
    if (isPollenError(err, 'POLLEN_INVALID_CONFIG')) throw pollenError('POLLEN_INVALID_CONFIG', `${source}: ${err.message}`, { cause: err, details: { ...err.details, source } })
    throw err
  }
}

/** Loads and checks the layered configuration. `requireInstance`: refuse a data dir without config.json. */
export async function loadConfig(src: ConfigSources, requireInstance = true): Promise<Config> {
  const env = src.env ?? process.env
  let config = DEFAULT_CONFIG
  const own = dataPaths(src.dataDir).config
  const instanceLayer = await readJson<Record<string, unknown>>(own)
  if (instanceLayer === undefined && requireInstance) {
    throw pollenError('POLLEN_NOT_INITIALIZED', `${src.dataDir} holds no pollen instance; run \`pollen init --data-dir ${src.dataDir}\` first`)
  }
  if (instanceLayer !== undefined) config = merge(config, instanceLayer, own)
  const systemPath = src.file ?? env.POLLEN_CONFIG ?? SYSTEM_CONFIG
  const systemLayer = await readJson<Record<string, unknown>>(systemPath)
  if (systemLayer === undefined && (src.file || env.POLLEN_CONFIG)) {
    throw pollenError('POLLEN_INVALID_CONFIG', `configuration file ${systemPath} does not exist`, { details: { source: systemPath } })
  }
  if (systemLayer !== undefined) config = merge(config, systemLayer, systemPath)
  config = merge(config, fromEnv(env), 'environment')
  if (src.flags && Object.keys(src.flags).length) config = merge(config, nest(src.flags), 'command line')
  return config
}

/** The layered config of a data directory if it loads (the CLI only needs its socket setting). */
export async function readConfigSafe(dataDir: string): Promise<Config | undefined> {
  try {
    return await loadConfig({ dataDir }, true)
  } catch {
    return undefined
  }
}
