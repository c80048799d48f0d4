/**
 * In-process networks of instances for core sync tests: each node has an identity, an
 * in-memory log, a library, users and a SyncServer; `sync` runs the real client against the
 * real server through the in-process transport (same bytes as over HTTP).
 */
import { ownHead } from '../../core/sync/restore.js'
import { randomBytes } from 'node:crypto'
import { LevelStore } from '../../adapters/levelStore.js'
import { pack } from '../../core/msgpack.js'
import type { KVStore } from '../../core/log/store.js'
import { encodeOpenTerms } from '../../core/sync/wire/openTerms.js'
import { openSigned, PROTOCOL_VERSION, type OpenTerms, type SyncMode } from '../../core/sync/wire/frames.js'
import { MemorySyncTransport } from '../../adapters/memorySyncTransport.js'
import { authorOf, instanceIdOf, newIdentity, sign, type Identity } from '../../core/model/identity.js'
import { Library } from '../../core/library/library.js'
import { OpLog } from '../../core/log/opLog.js'
import { syncWithPeer, verifyWithPeer, type SyncClientOptions, type SyncResult, type VerifyResult } from '../../core/sync/client.js'
import { SyncServer, type SyncServerOptions } from '../../core/sync/server.js'
import { Users, type Role } from '../../core/access/users.js'
import type { ChunkLimits } from '../../core/sync/chunker.js'
import type { SyncTransport } from '../../core/sync/transport.js'
import type { BatchOp } from '../../core/log/store.js'
import { SealStore } from '../../core/log/seals.js'
import type { Operation } from '../../core/model/operation.js'

export interface Node {
  name: string
  identity: Identity
  store: LevelStore
  log: OpLog
  lib: Library
  users: Users
  server: SyncServer
  /** Keys this node issued, by user name. */
  keys: Map<string, string>
  /** Keys of peers pinned by this node, by peer name. */
  pins: Map<string, string>
}

/** `identity` defaults to a random one; property tests pass fixed ones so author order replays. */
export async function node(name: string, languages: string[] = ['en', 'fr'], chunk?: ChunkLimits, serverOpts: Pick<SyncServerOptions, 'pacing'> = {}, identity: Identity = newIdentity()): Promise<Node> {
  const store = await LevelStore.openMemory()
  const log = await OpLog.open(store, { author: authorOf(instanceIdOf(identity.publicKey), 1), languages, identity })
  const users = new Users(store)
  return {
    name,
    identity,
    store,
    log,
    lib: new Library(log, { source: { name }, defaultPartition: 'lib' }),
    users,
    server: new SyncServer({ identity, log, users, chunk, ...serverOpts }),
    keys: new Map(),
    pins: new Map(),
  }
}

/** A copy of a node's whole store as it is now (a backup of its data directory). */
export async function backupOf(n: Node): Promise<LevelStore> {
  const copy = await LevelStore.openMemory()
  const writes: BatchOp[] = []
  for await (const [key, value] of n.store.range({})) writes.push({ type: 'put', key, value })
  await copy.write(writes)
  return copy
}

/** The node as it would start again from `backup`: the same identity and keys, the backup's log. */
export async function restoredFrom(n: Node, backup: LevelStore): Promise<Node> {
  const log = await OpLog.open(backup, { author: authorOf(instanceIdOf(n.identity.publicKey), 1), languages: [...n.log.languages], identity: n.identity })
  const users = new Users(backup)
  return { ...n, store: backup, log, users, lib: new Library(log, { source: { name: n.name }, defaultPartition: 'lib' }), server: new SyncServer({ identity: n.identity, log, users }) }
}

/** Issues (once) a key on `server` for `client`, with a role and prefixes. */
export async function grant(server: Node, client: Node, role: Role = 'write', filters: string[] = ['']): Promise<string> {
  const user = `${client.name}-${role}-${filters.join('+').replace(/[^A-Za-z0-9._-]/g, '_') || 'all'}`.slice(0, 64)
  if (!server.keys.has(user)) server.keys.set(user, (await server.users.add({ name: user, role, filters })).key)
  return user
}

/**
 * `client` syncs with `server`: pull then push (or one of them) over the given prefixes.
 * `wrap` may interpose on the transport (test/helpers/interleave.ts parks a sync at its frames).
 */
export async function sync(
  client: Node,
  server: Node,
  opts: { mode?: SyncMode; prefixes?: string[]; role?: Role; scope?: string[]; chunk?: ChunkLimits; wrap?: (t: SyncTransport) => SyncTransport; trusted?: boolean; maxBytes?: number } = {},
): Promise<SyncResult> {
  const { options, target } = await clientOf(client, server, opts)
  return syncWithPeer({ ...options, maxBytes: opts.maxBytes }, target, opts.mode ?? 'both')
}

/** `client` checks its claims for `prefixes` against `server` (and lowers what is untrue). */
export async function verify(client: Node, server: Node, opts: { prefixes?: string[]; role?: Role; scope?: string[] } = {}): Promise<VerifyResult> {
  const { options, target } = await clientOf(client, server, opts)
  return verifyWithPeer(options, target)
}

async function clientOf(client: Node, server: Node, opts: { prefixes?: string[]; role?: Role; scope?: string[]; chunk?: ChunkLimits; wrap?: (t: SyncTransport) => SyncTransport; trusted?: boolean }) {
  const user = await grant(server, client, opts.role ?? 'write', opts.scope ?? [''])
  const memory = new MemorySyncTransport(server.server)
  const options: SyncClientOptions = {
    log: client.log,
    identity: client.identity,
    transport: opts.wrap ? opts.wrap(memory) : memory,
    chunk: opts.chunk,
    pinKey: async (k) => {
      const pinned = client.pins.get(server.name)
      if (pinned === undefined) {
        client.pins.set(server.name, k)
        return 'pinned'
      }
      return pinned === k ? 'same' : 'changed'
    },
  }
  return { options, target: { name: server.name, user, key: server.keys.get(user) as string, filters: opts.prefixes ?? [''], pinnedKey: client.pins.get(server.name), trusted: opts.trusted } }
}

/** Open terms as `client` would send them to `user` (a pull of everything), with `o` over them: for crafting requests. */
export function openTermsOf(client: Node, user: string, o: Partial<OpenTerms> = {}): OpenTerms {
  return {
    v: PROTOCOL_VERSION, user,
    client: { instance: instanceIdOf(client.identity.publicKey), publicKey: client.identity.publicKey, author: client.log.author },
    server: '', nonce: new Uint8Array(randomBytes(16)), mode: 'pull',
    filter: { prefixes: [''], languages: [...client.log.languages] }, holder: [], acks: false,
    head: ownHead(client.identity, client.log), yourHead: null, chunkBytes: 0, maxRate: 0, maxBytes: 0, linkRate: 0,
    ...o,
  }
}

/** The open request body for `terms`, signed by `client`. */
export function openRequestOf(client: Node, terms: OpenTerms): Uint8Array {
  const body = encodeOpenTerms(terms)
  return pack({ t: 'open', body, sig: sign(openSigned(body), client.identity.secretKey) })
}

/** Every key and value of a store, values as hex: equal dumps mean nothing stored changed. */
export async function storeDump(store: KVStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for await (const [k, v] of store.range({})) out[k] = Buffer.from(v).toString('hex')
  return out
}

/**
 * Stores `ops` (written as `author`, in counter order from a segment's start) in `target` with
 * the author's seals, as if they had arrived from the author: for tests that craft operations
 * no library call can make (a timestamp at the end of the encoding, say).
 */
export async function storeSealed(target: Node, author: Identity, ops: Operation[]): Promise<void> {
  const { islands } = new SealStore(target.store).sealOwn(author, ops, undefined)
  await target.log.applyRemote(ops, [], [], undefined, { islands })
}
