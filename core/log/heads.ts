/**
 * The best signed head each peer instance has shown us of itself (docs/protocol.md §9.3):
 * local state beside the log. A head is the instance's own signature over "my author
 * `instance.epoch` had reached `counter`". We show an instance its own best head back when
 * it opens a session with us, or when we open one with it: a head above its counter is
 * evidence, which nobody else can forge, that it was restored from an old backup.
 */
import { decodeValue, encodeValue, key } from './keys.js'
import type { KVStore } from './store.js'
import { laterHead, type SignedHead } from '../model/head.js'

/** Best heads by instance id, in `store`. Callers verify a head before they record it. */
export class HeadStore {
  readonly #store: KVStore

  constructor(store: KVStore) {
    this.#store = store
  }

  /** The best head recorded for `instance`, if any. */
  async best(instance: string): Promise<SignedHead | undefined> {
    const raw = await this.#store.get(key.meta(`head\u0000${instance}`))
    if (!raw) return undefined
    const [epoch, counter, sig] = decodeValue<[number, number, Uint8Array]>(raw)
    return { epoch, counter, sig: new Uint8Array(sig) }
  }

  /** Keeps `head` when it is later than the one recorded (one put; a crash loses at most this head). */
  async record(instance: string, head: SignedHead): Promise<void> {
    if (!laterHead(head, await this.best(instance))) return
    await this.#store.write([{ type: 'put', key: key.meta(`head\u0000${instance}`), value: encodeValue([head.epoch, head.counter, head.sig]) }])
  }
}
