/**
 * A local transaction under construction: reads see its own earlier changes, and at the end
 * it turns into the batch writes of its operations, index entries and projections. OpLog runs
 * it under the write lock and adds the vector claim and instance counter to the same batch.
 */
import type { HybridClock } from '../model/hlc.js'
import { decodeState, key } from './keys.js'
import { logWrites, purgeBodies, readBodies } from './logEntries.js'
import { applyToState, visibleLayers, type Head, type RecordState } from '../model/merge.js'
import { makeOperation, opRef, type OpRef, type OpType, type Operation } from '../model/operation.js'
import { newSeed } from '../model/salt.js'
import { segmentOf } from '../model/seal.js'
import { decodeReview, projectionWrites, type ReviewRecord } from './projection.js'
import type { BatchOp, KVStore } from './store.js'
import type { SeedMarks } from './seedDrops.js'

/** One change a local transaction makes. */
export interface LocalChange {
  kind: string
  id: string
  partition: string
  type: OpType
  layer: string
  body?: unknown
}

/** What a transaction offers the code that builds it. */
export interface Transaction {
  /** The record's state including this transaction's changes so far. */
  state(kind: string, id: string): Promise<RecordState | undefined>
  /** Adds one change; returns the operation it becomes. */
  add(change: LocalChange): Promise<Operation>
  /** Starts a new transaction group in the same batch (groups travel whole in one chunk). */
  next(): void
  /**
   * Reads many records' states and review decisions in one storage call, and their visible
   * winners' bodies in a second, ahead of `state` and `bodies`.
   */
  prefetch(kind: string, ids: readonly string[]): Promise<void>
  /** Body bytes of operations (by reference), including ones this transaction added. */
  bodies(refs: readonly Pick<Operation, 'author' | 'counter'>[]): Promise<Map<OpRef, Uint8Array | null>>
}

const recordKey = (kind: string, id: string): string => `${kind}\u0000${id}`

export class LocalTransaction implements Transaction {
  readonly #store: KVStore
  readonly #author: string
  readonly #clock: HybridClock
  readonly #before = new Map<string, RecordState | undefined>()
  readonly #current = new Map<string, RecordState | undefined>()
  readonly #reviews = new Map<string, ReviewRecord | undefined>()
  readonly #bodies = new Map<OpRef, Uint8Array | null>()
  /** Operations added so far, in counter order. */
  readonly ops: Operation[] = []
  /** The last counter used (the author's counter before the transaction when none was). */
  counter: number
  #txStart: number
  /**
   * The salt seed of this transaction's operations in the current seal segment: a new one
   * per segment, so a purge rewrites at most a segment's siblings (core/model/salt.ts).
   */
  #seed: { segment: number; seed: Uint8Array } | undefined

  constructor(store: KVStore, author: string, counter: number, clock: HybridClock) {
    this.#store = store
    this.#author = author
    this.#clock = clock
    this.counter = counter
    this.#txStart = counter + 1
  }

  async state(kind: string, id: string): Promise<RecordState | undefined> {
    const k = recordKey(kind, id)
    if (!this.#current.has(k)) {
      const raw = await this.#store.get(key.state(kind, id))
      const s = raw ? decodeState(raw) : undefined
      this.#before.set(k, s)
      this.#current.set(k, s)
    }
    return this.#current.get(k)
  }

  async add(change: LocalChange): Promise<Operation> {
    const prev = await this.state(change.kind, change.id)
    this.counter += 1
    const segment = segmentOf(this.counter)
    if (this.#seed?.segment !== segment) this.#seed = { segment, seed: newSeed() }
    const op = makeOperation({
      author: this.#author,
      counter: this.counter,
      kind: change.kind,
      id: change.id,
      partition: prev?.partition ?? change.partition,
      type: change.type,
      layer: change.layer,
      hlc: this.#clock.tick(),
      tx: this.#txStart,
      deps: prev ? { ...prev.version } : {},
      body: change.type === 'put' ? change.body : null,
      seed: this.#seed.seed,
    })
    this.#current.set(recordKey(change.kind, change.id), applyToState(prev, op).state)
    this.#bodies.set(opRef(op), op.body)
    this.ops.push(op)
    return op
  }

  next(): void {
    this.#txStart = this.counter + 1
  }

  async prefetch(kind: string, ids: readonly string[]): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => !this.#current.has(recordKey(kind, id)))
    const raws = await this.#store.getMany([...wanted.map((id) => key.state(kind, id)), ...wanted.map((id) => key.review(kind, id))])
    const winners: Head[] = []
    wanted.forEach((id, i) => {
      const k = recordKey(kind, id)
      const state = raws[i] ? decodeState(raws[i]) : undefined
      const review = raws[wanted.length + i]
      this.#before.set(k, state)
      this.#current.set(k, state)
      this.#reviews.set(k, review ? decodeReview(review) : undefined)
      if (state) winners.push(...Object.values(visibleLayers(state)))
    })
    await this.bodies(winners)
  }

  async bodies(refs: readonly Pick<Operation, 'author' | 'counter'>[]): Promise<Map<OpRef, Uint8Array | null>> {
    const out = new Map<OpRef, Uint8Array | null>()
    const missing: OpRef[] = []
    for (const r of refs) {
      const ref = opRef(r)
      if (this.#bodies.has(ref)) out.set(ref, this.#bodies.get(ref) as Uint8Array | null)
      else missing.push(ref)
    }
    for (const [ref, body] of await readBodies(this.#store, missing)) {
      this.#bodies.set(ref, body)
      out.set(ref, body)
    }
    return out
  }

  /**
   * The batch writes of everything added: projections of the touched records, then log
   * entries; and the keys of stored operations whose bodies a purge in it dropped.
   */
  async writes(self: string, marks: SeedMarks): Promise<{ batch: BatchOp[]; dropped: string[]; marks: string[] }> {
    const batch: BatchOp[] = []
    const touched = [...this.#current.entries()].filter(([k, s]) => s && s !== this.#before.get(k)) as [string, RecordState][]
    const unread = touched.filter(([k]) => !this.#reviews.has(k))
    const raws = await this.#store.getMany(unread.map(([, s]) => key.review(s.kind, s.id)))
    unread.forEach(([k], i) => this.#reviews.set(k, raws[i] ? decodeReview(raws[i]) : undefined))
    for (const [k, after] of touched) {
      const review = this.#reviews.get(k)
      batch.push(...projectionWrites(after, this.#before.get(k), review, review, self))
    }
    const pending = new Map<string, Operation>()
    for (const op of this.ops) pending.set(key.op(op.author, op.counter), op)
    const { dropped, marks: newMarks } = await purgeBodies(this.#store, this.ops, pending, batch, marks)
    batch.push(...logWrites(pending))
    return { batch, dropped, marks: newMarks }
  }
}
