/**
 * Entries kept by name beside the log, never synced: the users (`U`), peers (`P`) and web
 * page accounts (`K`) of core/access. Each is one key, written on its own (a user or peer change is one batch).
 */
import { decodeValue, encodeValue, key } from './keys.js'
import { prefixRange, type KVStore } from './store.js'

/** The families kept by name. */
export type NamedFamily = 'user' | 'peer' | 'admin'

const FAMILIES: Record<NamedFamily, { one: (name: string) => string; all: () => string }> = {
  user: { one: key.user, all: key.users },
  peer: { one: key.peer, all: key.peers },
  admin: { one: key.admin, all: key.admins },
}

/** The entries of one family, by name. */
export class NamedEntries<T> {
  readonly #store: KVStore
  readonly #family: (typeof FAMILIES)[NamedFamily]

  constructor(store: KVStore, family: NamedFamily) {
    this.#store = store
    this.#family = FAMILIES[family]
  }

  /** The entry of `name`, or undefined. */
  async get(name: string): Promise<T | undefined> {
    const raw = await this.#store.get(this.#family.one(name))
    return raw ? decodeValue<T>(raw) : undefined
  }

  /** Writes (or replaces) the entry of `name`. */
  async put(name: string, value: T): Promise<void> {
    await this.#store.write([{ type: 'put', key: this.#family.one(name), value: encodeValue(value) }])
  }

  /** Removes the entry of `name` (nothing when there is none). */
  async delete(name: string): Promise<void> {
    await this.#store.write([{ type: 'del', key: this.#family.one(name) }])
  }

  /** Every entry, in name order. */
  async list(): Promise<T[]> {
    const out: T[] = []
    for await (const [, v] of this.#store.range(prefixRange(this.#family.all()))) out.push(decodeValue<T>(v))
    return out
  }
}
