/**
 * A data directory: `init` creates it; `openInstance` opens it for the daemon. The
 * directory (0700) holds config.json, identity.json, peer-keys.json and db/ (LevelDB), all
 * 0600: both make it private again, whatever the umask it was made under.
 */
import { mkdir, stat } from 'node:fs/promises'
import { LevelStore } from '../adapters/levelStore.js'
import { makePrivate, PRIVATE_DIR, PRIVATE_FILE } from '../adapters/privateDir.js'
import { readJson, SecretFile, writeJsonAtomic } from '../adapters/secretFile.js'
import { pollenError } from '../core/errors.js'
import { authorOf, instanceIdOf, newIdentity, type Identity } from '../core/model/identity.js'
import { Library } from '../core/library/library.js'
import { OpLog } from '../core/log/opLog.js'
import type { KVStore } from '../core/log/store.js'
import { Peers } from '../core/access/peers.js'
import { Users } from '../core/access/users.js'
import { Admins } from '../core/access/admins.js'
import { dataPaths, validateConfig, type Config } from './config.js'

interface IdentityFile {
  instanceId: string
  publicKey: string
  secretKey: string
}

export interface Instance {
  dataDir: string
  /** The running configuration (replaced on reload). */
  config: Config
  identity: Identity
  instanceId: string
  /** The log's store: every write goes through it (core/log/presenceFilteredStore.ts). */
  store: KVStore
  log: OpLog
  library: Library
  users: Users
  peers: Peers
  /** Accounts of the web page (daemon/admin/). */
  admins: Admins
  close(): Promise<void>
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** Creates identity, config and database in `dataDir`; refuses an initialised directory. */
export async function initInstance(dataDir: string, opts: { name?: string; languages?: string[] } = {}): Promise<{ instanceId: string; config: Config }> {
  const paths = dataPaths(dataDir)
  if (await exists(paths.identity)) throw pollenError('POLLEN_ALREADY_INITIALIZED', `${dataDir} already holds a pollen instance; use another --data-dir`)
  const config = validateConfig({ name: opts.name ?? 'pollen', languages: opts.languages ?? ['en'] })
  await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR })
  // An existing directory keeps the mode it had (0755 from a hand-made `mkdir`).
  await makePrivate(dataDir)
  const identity = newIdentity()
  const instanceId = instanceIdOf(identity.publicKey)
  const store = await LevelStore.openDisk(paths.db)
  try {
    await OpLog.init(store, authorOf(instanceId, 1))
  } finally {
    await store.close()
  }
  await makePrivate(paths.db)
  await writeJsonAtomic(paths.config, config, PRIVATE_FILE)
  // Identity last: its presence is what marks the directory as initialised.
  const file: IdentityFile = { instanceId, publicKey: Buffer.from(identity.publicKey).toString('base64'), secretKey: Buffer.from(identity.secretKey).toString('base64') }
  await writeJsonAtomic(paths.identity, file, PRIVATE_FILE)
  return { instanceId, config }
}

async function readIdentity(dataDir: string): Promise<{ identity: Identity; instanceId: string }> {
  const file = await readJson<IdentityFile>(dataPaths(dataDir).identity)
  if (!file) throw pollenError('POLLEN_NOT_INITIALIZED', `${dataDir} holds no pollen instance; run \`pollen init --data-dir ${dataDir}\` first`)
  const publicKey = new Uint8Array(Buffer.from(file.publicKey, 'base64'))
  const secretKey = new Uint8Array(Buffer.from(file.secretKey, 'base64'))
  if (publicKey.length !== 32 || secretKey.length !== 64 || instanceIdOf(publicKey) !== file.instanceId) {
    throw pollenError('POLLEN_INVALID_CONFIG', `${dataPaths(dataDir).identity} is damaged: its keys do not match its instance id`)
  }
  return { identity: { publicKey, secretKey }, instanceId: file.instanceId }
}

/** Opens an initialised data directory (takes the LevelDB lock) with its loaded configuration. */
export async function openInstance(dataDir: string, config: Config): Promise<Instance> {
  const { identity, instanceId } = await readIdentity(dataDir)
  const paths = dataPaths(dataDir)
  await makePrivate(dataDir)
  const store = await LevelStore.openDisk(paths.db)
  try {
    const author = (await OpLog.storedAuthor(store)) ?? authorOf(instanceId, 1)
    if (!author.startsWith(instanceId + '.')) throw pollenError('POLLEN_INVALID_CONFIG', `the database in ${paths.db} belongs to another instance than ${paths.identity}`)
    const log = await OpLog.open(store, { author, languages: config.languages, identity })
    log.reviewPolicy = config.review.updates
    // Everything writes through the log's store, which must see every write of a record state.
    const kv = log.store
    const users = new Users(kv)
    const peers = new Peers(kv, new SecretFile(paths.peerKeys))
    const library = new Library(log, { source: { name: config.name, ...(config.publicUrl ? { url: config.publicUrl } : {}) }, defaultPartition: config.defaultPartition, names: () => instanceNames(peers, users) })
    return {
      dataDir,
      config,
      identity,
      instanceId,
      store: kv,
      log,
      library,
      users,
      peers,
      admins: new Admins(kv),
      close: () => kv.close(),
    }
  } catch (err) {
    await store.close()
    throw err
  }
}

/**
 * Instance id → the name it is known by here: the peers we pull from (their pinned instance)
 * and the users that sync with us (the instance their key is bound to). A peer's name wins
 * over a user's for the same instance: it is the one an administrator typed to reach it.
 */
async function instanceNames(peers: Peers, users: Users): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const u of await users.list()) if (u.instance) out.set(u.instance, u.name)
  for (const p of await peers.list()) {
    const id = Peers.expectedInstance(p)
    if (id) out.set(id, p.name)
  }
  return out
}

/**
 * Sets the review policy (`review.updates`) for the running daemon and keeps it in
 * `<data-dir>/config.json`, so a restart or reload keeps it (unless the system file, the
 * environment or a flag sets it above that layer, docs/operations.md).
 */
export async function setReviewPolicy(inst: Instance, updates: Config['review']['updates']): Promise<void> {
  const path = dataPaths(inst.dataDir).config
  const own = (await readJson<Record<string, unknown>>(path)) ?? {}
  const next = { ...own, review: { ...(typeof own.review === 'object' && own.review !== null ? own.review : {}), updates } }
  validateConfig(next)
  await writeJsonAtomic(path, next, PRIVATE_FILE)
  inst.config = { ...inst.config, review: { ...inst.config.review, updates } }
  inst.log.reviewPolicy = updates
}
