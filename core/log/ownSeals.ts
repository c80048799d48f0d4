/**
 * Sealing our own operations as they are written (docs/protocol.md §11.1): each local
 * transaction extends the hash chain of the segments it touches and signs each once, in the
 * transaction's own batch, so no operation of ours is ever stored without its seal. A log
 * written before seals existed is sealed once, when it is first opened.
 */
import { key } from './keys.js'
import type { BatchOp, KVStore } from './store.js'
import { segmentEnd, segmentOf, segmentStart } from '../model/seal.js'
import type { Identity } from '../model/identity.js'
import type { Operation } from '../model/operation.js'
import { decodeOperation } from './storedOp.js'
import type { Island, SealStore } from './seals.js'

export class OwnSealer {
  readonly #seals: SealStore
  readonly #identity: Identity
  /** The island our last operation ended (undefined before our author's first). */
  #last: Island | undefined

  constructor(seals: SealStore, identity: Identity) {
    this.#seals = seals
    this.#identity = identity
  }

  /**
   * Finds the island of our author's last operation; when it is missing (a log from before
   * seals), seals every segment of ours that lacks a complete island, in one batch.
   */
  async load(store: KVStore, author: string, counter: number): Promise<void> {
    this.#last = undefined
    if (counter === 0) return
    const complete = async (s: number) => (await this.#seals.islands(author, s)).find((i) => i.base === segmentStart(s) - 1 && i.last === Math.min(segmentEnd(s), counter))
    this.#last = await complete(segmentOf(counter))
    if (this.#last) return
    const writes: BatchOp[] = []
    const commits: (() => void)[] = []
    for (let s = 0; s <= segmentOf(counter); s++) {
      if (await complete(s)) continue
      const ops: Operation[] = []
      for await (const [, v] of store.range({ gte: key.op(author, segmentStart(s)), lte: key.op(author, Math.min(segmentEnd(s), counter)) })) ops.push(decodeOperation(v))
      // A gap would make a chain nobody can recompute: leave that segment unsealed.
      if (ops.length === 0 || ops.some((op, n) => op.counter !== segmentStart(s) + n)) continue
      const sealed = this.#seals.sealOwn(this.#identity, ops, undefined)
      writes.push(...sealed.writes)
      commits.push(sealed.commit)
      this.#last = sealed.last
    }
    if (writes.length > 0) await store.write(writes)
    for (const c of commits) c()
  }

  /** The seal writes for a local transaction's operations; `commit` once they are stored. */
  seal(ops: readonly Operation[]): { writes: BatchOp[]; commit: () => void } {
    const sealed = this.#seals.sealOwn(this.#identity, ops, this.#last)
    return {
      writes: sealed.writes,
      commit: () => {
        this.#last = sealed.last
        sealed.commit()
      },
    }
  }

  /** A new author id (re-key) starts a new chain. */
  restart(): void {
    this.#last = undefined
  }
}
