/**
 * The per-peer history of sync runs (`H`): one entry per run, keyed by peer and start time,
 * the newest `keep` kept per peer. Local bookkeeping beside the log, never synced; the entry
 * is whatever the caller records (the sync client's result), so this layer needs no sync types.
 */
import { decodeValue, encodeValue, key } from './keys.js'
import { prefixRange, type KVStore } from './store.js'

/** What an entry must carry: the peer it is about and when the run started (ISO 8601). */
export interface HistoryEntry {
  peer: string
  started: string
}

/** Sync history over the log's store. */
export class SyncHistory<T extends HistoryEntry> {
  readonly #store: KVStore
  readonly #keep: number

  /** `keep`: how many entries per peer survive each append. */
  constructor(store: KVStore, keep: number) {
    this.#store = store
    this.#keep = keep
  }

  /** Records one run, then drops that peer's entries beyond the newest `keep`. */
  async append(entry: T): Promise<void> {
    await this.#store.write([{ type: 'put', key: key.history(entry.peer, Date.parse(entry.started)), value: encodeValue(entry) }])
    const keys: string[] = []
    for await (const k of this.#store.keys(prefixRange(key.histories(entry.peer), { reverse: true }))) keys.push(k)
    if (keys.length > this.#keep) await this.#store.write(keys.slice(this.#keep).map((k) => ({ type: 'del' as const, key: k })))
  }

  /** Entries of one peer (of every peer when none is named), newest first, at most `limit`. */
  async list(peer?: string, limit = 50): Promise<T[]> {
    const out: T[] = []
    for await (const [, v] of this.#store.range(prefixRange(key.histories(peer)))) out.push(decodeValue<T>(v))
    return out.sort((a, b) => (a.started < b.started ? 1 : -1)).slice(0, limit)
  }

  /** The newest entry of one peer, or undefined when it never ran. */
  async last(peer: string): Promise<T | undefined> {
    for await (const [, v] of this.#store.range(prefixRange(key.histories(peer), { reverse: true, limit: 1 }))) return decodeValue<T>(v)
    return undefined
  }
}
