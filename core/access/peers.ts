/**
 * Peers this instance syncs with. The peer record lives in the store; its API key lives in a
 * separate secret file only the service user can read (see adapters/secretFile.ts), so a
 * copy of the database never carries credentials.
 */
import { pollenError } from '../errors.js'
import { NamedEntries } from '../log/namedEntries.js'
import type { KVStore } from '../log/store.js'
import { assertInstanceId, assertName, optionalBoolean, parseFilters } from './users.js'
import { formatInstanceId, instanceIdOf } from '../model/identity.js'
import { parseWindows } from './syncWindows.js'

/** A peer as stored. */
export interface Peer {
  name: string
  url: string
  user: string
  filters: string[]
  active: boolean
  /** The peer's Ed25519 public key (base64), pinned at first contact. */
  pinnedKey?: string
  /**
   * The peer's instance id (32 hex digits) pinned in advance (`peer add --instance`), before
   * its key is known; the key that first proves it is then pinned as well.
   */
  pinnedInstance?: string
  /** A key the peer presented that differs from the pinned one, awaiting acceptance. */
  offeredKey?: string
  /**
   * A trusted relay (`peer add --trusted`, `peer set --trusted true`; docs/protocol.md §11,
   * §12): its operations without their author's seal are kept, and its vector claims are
   * adopted as they come instead of capped at what seals back. Only for an instance the
   * administrator runs that relays operations of authors from before version 4 (or migrated
   * ones), which carry no seal. Absent (peers added before the flag) means false.
   */
  trusted?: boolean
  /** When the scheduler may start syncs with it (core/access/syncWindows.ts); absent or empty: any time. */
  windows?: string[]
  /** A bandwidth cap for syncs with it, both directions, in kbit/s (`--max-kbps`); absent or 0: none. */
  maxKbps?: number
  /**
   * A metered link (`--metered MB`): scheduled syncs with it move at most this many MiB a day
   * (local days, counted from the sync history) and stop at a chunk boundary when it is spent,
   * saying what they left for later; a sync run by hand is not held to it. Absent or 0: not metered.
   */
  meteredMb?: number
  /**
   * Partition prefixes that are urgent on a metered link (`--urgent PREFIX`): a scheduled
   * sync with a metered peer moves them first, outside the budget, and goes on moving them
   * once the day's budget is spent. Absent or empty: none.
   */
  urgent?: string[]
  created: string
}

/** Where peer API keys are kept (a 0600 file in the daemon). */
export interface SecretStore {
  get(name: string): Promise<string | undefined>
  /** A key provided out of band (a systemd credential), if any. */
  credential?(name: string): Promise<string | undefined>
  set(name: string, secret: string): Promise<void>
  delete(name: string): Promise<void>
}

/** Checks and normalises a peer URL: absolute http(s), no credentials, no query, no trailing slash. */
export function parsePeerUrl(value: unknown): string {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw pollenError('POLLEN_INVALID_URL', `peer URL ${JSON.stringify(value)} is not a URL; use something like http://school.local:7420`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw pollenError('POLLEN_INVALID_URL', `peer URL ${JSON.stringify(value)} must start with http:// or https://`)
  if (url.username || url.password) throw pollenError('POLLEN_INVALID_URL', 'peer URLs must not carry credentials; pass --user and --key instead')
  if (url.search || url.hash) throw pollenError('POLLEN_INVALID_URL', 'peer URLs must not have a query or fragment')
  return url.toString().replace(/\/+$/, '')
}

/** Checks a peer API key as `pollen user add` prints them: 8 to 512 characters, no white space. */
export function assertPeerKey(value: unknown): string {
  if (typeof value !== 'string' || value.length < 8 || value.length > 512 || /\s/.test(value)) {
    throw pollenError('POLLEN_INVALID_INPUT', 'peer API key must be the 8 to 512 character key printed by `pollen user add` on the peer')
  }
  return value
}

/** A peer stored before `trusted` existed reads as untrusted, so every listing shows the flag. */
function withDefaults(peer: Peer): Peer {
  return { ...peer, trusted: peer.trusted === true, windows: peer.windows ?? [], maxKbps: peer.maxKbps ?? 0, meteredMb: peer.meteredMb ?? 0, urgent: peer.urgent ?? [] }
}

/** A daily budget in MiB: 0 (not metered) or 0.01 to 1,000,000, in hundredths at most. */
export function parseMeteredMb(value: unknown): number {
  const n = typeof value === 'string' && /^\d+(\.\d{1,2})?$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 1_000_000 || Math.round(n * 100) !== n * 100 || (n > 0 && n < 0.01)) {
    throw pollenError('POLLEN_INVALID_INPUT', `metered takes the MiB a day scheduled syncs may move (0.01 to 1000000, 0 for not metered), not ${JSON.stringify(value)}`)
  }
  return n
}

/** Urgent prefixes: a list of partition prefixes, or an empty list for none (`--urgent none`). */
function parseUrgent(value: unknown): string[] {
  if (!Array.isArray(value)) throw pollenError('POLLEN_INVALID_INPUT', 'urgent must be a list of partition prefixes')
  if (value.length === 0) return []
  const prefixes = parseFilters(value, 'urgent prefix')
  if (prefixes.includes('')) throw pollenError('POLLEN_INVALID_INPUT', 'an urgent prefix names part of the library (such as alerts); everything urgent would leave no budget to keep')
  return prefixes
}

/** A cap in kbit/s: 0 (none) or 16 to 1,000,000. */
function parseKbps(value: unknown): number {
  if (value === 0 || (Number.isSafeInteger(value) && (value as number) >= 16 && (value as number) <= 1_000_000)) return value as number
  throw pollenError('POLLEN_INVALID_INPUT', `max-kbps is a whole number of kbit/s from 16 to 1000000, or 0 for no cap; not ${JSON.stringify(value)}`)
}

export class Peers {
  readonly #peers: NamedEntries<Peer>
  readonly #secrets: SecretStore

  constructor(store: KVStore, secrets: SecretStore) {
    this.#peers = new NamedEntries(store, 'peer')
    this.#secrets = secrets
  }

  async add(input: { name: unknown; url: unknown; user: unknown; key: unknown; filters?: unknown; active?: unknown; trusted?: unknown; windows?: unknown; maxKbps?: unknown; meteredMb?: unknown; urgent?: unknown; instance?: unknown }): Promise<Peer> {
    const name = assertName(input.name, 'peer name')
    const url = parsePeerUrl(input.url)
    const user = assertName(input.user, 'peer user')
    // The key may come as a systemd credential instead of --key.
    const fromCredential = input.key === undefined ? await this.#secrets.credential?.(name) : undefined
    if (input.key === undefined && fromCredential === undefined) {
      throw pollenError('POLLEN_INVALID_INPUT', `give the peer's API key with --key, or as the systemd credential peer-${name}`)
    }
    const apiKey = fromCredential === undefined ? assertPeerKey(input.key) : undefined
    const filters = parseFilters(input.filters)
    if (input.active !== undefined && typeof input.active !== 'boolean') throw pollenError('POLLEN_INVALID_INPUT', 'active must be true or false')
    const trusted = optionalBoolean(input.trusted, 'trusted') ?? false
    const windows = input.windows === undefined ? [] : parseWindows(input.windows)
    const maxKbps = input.maxKbps === undefined ? 0 : parseKbps(input.maxKbps)
    const meteredMb = input.meteredMb === undefined ? 0 : parseMeteredMb(input.meteredMb)
    const urgent = input.urgent === undefined ? [] : parseUrgent(input.urgent)
    const instance = input.instance === undefined ? undefined : assertInstanceId(input.instance)
    if (await this.#peers.get(name)) throw pollenError('POLLEN_ALREADY_EXISTS', `peer ${name} already exists; change it with \`pollen peer set\` or remove it first`)
    await this.#assertUrlFree(url, name)
    const peer: Peer = { name, url, user, filters, active: input.active ?? true, trusted, windows, maxKbps, meteredMb, urgent, created: new Date().toISOString(), ...(instance ? { pinnedInstance: instance } : {}) }
    if (apiKey !== undefined) await this.#secrets.set(name, apiKey)
    await this.#peers.put(name, peer)
    return peer
  }

  async #assertUrlFree(url: string, self: string): Promise<void> {
    for (const p of await this.list()) {
      if (p.url === url && p.name !== self) throw pollenError('POLLEN_ALREADY_EXISTS', `peer ${p.name} already uses ${url}`)
    }
  }

  async get(name: string): Promise<Peer> {
    const peer = await this.#peers.get(name)
    if (!peer) throw pollenError('POLLEN_NOT_FOUND', `no peer named ${name}`)
    return withDefaults(peer)
  }

  async list(): Promise<Peer[]> {
    return (await this.#peers.list()).map(withDefaults)
  }

  async remove(name: string): Promise<void> {
    await this.get(name)
    await this.#peers.delete(name)
    await this.#secrets.delete(name)
  }

  /** Changes a peer's settings; every value is checked before anything is written. */
  async set(name: string, changes: { active?: unknown; trusted?: unknown; windows?: unknown; maxKbps?: unknown; meteredMb?: unknown; urgent?: unknown; filters?: unknown; url?: unknown; user?: unknown; key?: unknown; acceptKey?: unknown }): Promise<Peer> {
    const peer = { ...(await this.get(name)) }
    const active = optionalBoolean(changes.active, 'active')
    if (active !== undefined) peer.active = active
    const trusted = optionalBoolean(changes.trusted, 'trusted')
    if (trusted !== undefined) peer.trusted = trusted
    if (changes.windows !== undefined) peer.windows = parseWindows(changes.windows)
    if (changes.maxKbps !== undefined) peer.maxKbps = parseKbps(changes.maxKbps)
    if (changes.meteredMb !== undefined) peer.meteredMb = parseMeteredMb(changes.meteredMb)
    if (changes.urgent !== undefined) peer.urgent = parseUrgent(changes.urgent)
    if (changes.filters !== undefined) peer.filters = parseFilters(changes.filters)
    if (changes.url !== undefined) {
      peer.url = parsePeerUrl(changes.url)
      await this.#assertUrlFree(peer.url, name)
    }
    const apiKey = changes.key === undefined ? undefined : assertPeerKey(changes.key)
    if (changes.user !== undefined) peer.user = assertName(changes.user, 'peer user')
    if (changes.acceptKey !== undefined) this.#accept(peer, changes.acceptKey)
    if (apiKey !== undefined) await this.#secrets.set(name, apiKey)
    await this.#peers.put(name, peer)
    return peer
  }

  /**
   * `--accept-key ID`: the administrator types the new instance id out, so a key is never
   * accepted unseen. The key the peer offered is pinned when its id is ID; with no offer,
   * ID is pinned in advance (a reinstalled peer whose new id came by phone).
   */
  #accept(peer: Peer, value: unknown): void {
    if (value === true || value === '') throw pollenError('POLLEN_INVALID_INPUT', `type the new instance id out: \`pollen peer set ${peer.name} --accept-key ID\`, with the id \`pollen status\` shows on the peer`)
    const id = assertInstanceId(value)
    if (peer.offeredKey) {
      const offered = instanceIdOf(new Uint8Array(Buffer.from(peer.offeredKey, 'base64')))
      if (offered !== id) throw pollenError('POLLEN_INVALID_INPUT', `peer ${peer.name} offered instance ${formatInstanceId(offered)}, not ${formatInstanceId(id)}; check the id on the peer itself`)
      peer.pinnedKey = peer.offeredKey
      delete peer.offeredKey
      delete peer.pinnedInstance
      return
    }
    delete peer.pinnedKey
    peer.pinnedInstance = id
  }

  /**
   * Records the key a peer proved (its TLS certificate or signed answer): pins it at first
   * contact or when its id is the one pinned in advance, else keeps it aside as offered.
   */
  async recordKey(name: string, publicKey: string): Promise<'pinned' | 'same' | 'changed'> {
    const peer = await this.get(name)
    if (peer.pinnedKey === publicKey) return 'same'
    const id = instanceIdOf(new Uint8Array(Buffer.from(publicKey, 'base64')))
    const fits = peer.pinnedKey === undefined && (peer.pinnedInstance === undefined || peer.pinnedInstance === id)
    const next: Peer = fits ? { ...peer, pinnedKey: publicKey } : { ...peer, offeredKey: publicKey }
    delete next.pinnedInstance
    if (!fits && peer.pinnedInstance) next.pinnedInstance = peer.pinnedInstance
    if (fits) delete next.offeredKey
    await this.#peers.put(name, next)
    return fits ? 'pinned' : 'changed'
  }

  /** The instance id a peer must prove before anything is sent to it; undefined before first contact. */
  static expectedInstance(peer: Peer): string | undefined {
    return peer.pinnedKey ? instanceIdOf(new Uint8Array(Buffer.from(peer.pinnedKey, 'base64'))) : peer.pinnedInstance
  }

  async secret(name: string): Promise<string | undefined> {
    return this.#secrets.get(name)
  }
}
