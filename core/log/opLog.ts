/**
 * The operation log and its write path. Every change — a local transaction or a chunk from a
 * peer — is one atomic batch holding the operations, the record index, the projections they
 * touch, the counter-vector advances and the instance metadata. A crash leaves all or nothing.
 */
import { ALL_LAYERS, CounterVectors, type VectorAdvance, type VectorEntry } from '../model/counterVector.js'
import { pollenError } from '../errors.js'
import { HybridClock } from '../model/hlc.js'
import { decodeState, decodeValue, encodeValue, key, parts } from './keys.js'
import { applyInPlace, survivesPurges, workingState, type RecordState } from '../model/merge.js'
import { Mutex } from './mutex.js'
import { equalBytes, instanceOf, opRef, purgedCopy, verifyOperation, type OpRef, type Operation } from '../model/operation.js'
import { decodeOperation, storedHash } from './storedOp.js'
import { decodeReview, indexWrites, readRecords, winnerRefs, type ReviewRecord } from './projection.js'
import { prefixRange, type BatchOp, type KVStore } from './store.js'
import { PresenceFilteredStore, type WarmResult } from './presenceFilteredStore.js'
import { rebuildProjections } from './rebuild.js'
import { forgetDropped, logWrites, purgeBodies, readBodies } from './logEntries.js'
import { LocalTransaction, type Transaction } from './transaction.js'
import { heldCopies, planReads, recordKey, recordsBefore, recordWrites, type ApplyResult, type ReviewPolicy } from './remoteBatch.js'
import { resumeMarker, type ResumeMarker } from './resumeMarker.js'
import { HeadStore } from './heads.js'
import { SealStore, type Island } from './seals.js'
import { OwnSealer } from './ownSeals.js'
import { SeedMarks } from './seedDrops.js'
import type { Identity } from '../model/identity.js'
import { signSeal } from '../model/seal.js'

export type { LocalChange, Transaction } from './transaction.js'
export type { ApplyResult, ReviewPolicy } from './remoteBatch.js'

/** How one record fared in a batch (for sync results). */
export type RecordEffect = 'new' | 'updated' | 'deleted' | 'unchanged'

/** Told about every committed batch (the daemon turns these into metrics). */
export interface LogObserver {
  appended?(ops: number): void
  applied?(ops: number, ms: number): void
}

/** Operations a process writes before the log loads its record filter (see OpLog.warm). */
export const WARM_AFTER_OPS = 5000

/** How a batch from a peer is taken (see OpLog.applyRemote). */
export interface RemoteOptions {
  /** The seal islands the batch's checked seals proved (core/sync/sealCheck.ts), stored with it. */
  islands?: readonly Island[]
  /**
   * Adopt claims about an author only as far as its verified seals reach (docs/protocol.md
   * §11.4): true for every peer but a trusted relay.
   */
  vouch?: boolean
}

/** Instance metadata persisted with every local append. */
interface SelfMeta {
  author: string
  counter: number
  hlc: number
}

/** What `pollen status` shows of the last re-key. */
export interface RekeyRecord {
  from: string
  to: string
  /** The counter the old author id had reached in this data directory. */
  counter: number
  at: string
  why: string
}

export class OpLog {
  readonly store: PresenceFilteredStore
  readonly #mutex = new Mutex()
  readonly #vectors: CounterVectors
  readonly #maxHeld: Map<string, number>
  readonly #clock: HybridClock
  #self: SelfMeta
  #languages: string[]
  /** Operations written by this process, until the record filter is loaded. */
  #written = 0
  /** False until this store holds a review decision (only setReview writes them). */
  #anyReviews = true
  /** Raised each time claims are lowered: advances computed before that may be stale. */
  #claimsEpoch = 0
  /** Optional observer of committed batches. */
  observer: LogObserver | undefined
  /** What a peer's update to an approved resource does (config `review.updates`; remoteBatch.ts). */
  reviewPolicy: ReviewPolicy = 'publish'
  /** The best signed head each peer instance has shown of itself (core/log/heads.ts). */
  readonly heads: HeadStore
  /** What this log knows of every author's sealed chains (core/log/seals.ts). */
  readonly seals: SealStore
  /** Seals our own operations as they are written; absent in a log opened without a key. */
  #sealer: OwnSealer | undefined
  #identity: Identity | undefined

  private constructor(store: PresenceFilteredStore, self: SelfMeta, vectors: CounterVectors, maxHeld: Map<string, number>, languages: string[], now?: () => number) {
    this.store = store
    this.#self = self
    this.#vectors = vectors
    this.#maxHeld = maxHeld
    this.#languages = languages
    this.#clock = new HybridClock(self.hlc, now)
    this.heads = new HeadStore(store)
    this.seals = new SealStore(store)
  }

  /** Marks of the salt seeds purges dropped here (core/log/seedDrops.ts). */
  readonly #seedMarks = new SeedMarks()

  /**
   * Writes a new store's instance metadata: its first author id, at counter 0, and when it was
   * created. `pollen init` calls it once, before the log is first opened.
   */
  static async init(storage: KVStore, author: string, created = new Date()): Promise<void> {
    const self: SelfMeta = { author, counter: 0, hlc: 0 }
    await storage.write([
      { type: 'put', key: key.meta('self'), value: encodeValue(self) },
      { type: 'put', key: key.meta('created'), value: encodeValue(created.toISOString()) },
    ])
  }

  /**
   * The author id a store's metadata names, or undefined for a store never initialised: read
   * before opening, to check that a database belongs to the identity beside it.
   */
  static async storedAuthor(storage: KVStore): Promise<string | undefined> {
    const raw = await storage.get(key.meta('self'))
    return raw ? decodeValue<SelfMeta>(raw).author : undefined
  }

  /**
   * Opens the log on a store: reads the instance metadata, the vectors and the highest
   * counter held per author (one seek per author). Nothing is replayed.
   */
  static async open(storage: KVStore, opts: { author: string; languages: readonly string[]; now?: () => number; identity?: Identity }): Promise<OpLog> {
    // Record states are read for every record a batch touches, most often ones not held yet.
    const store = new PresenceFilteredStore(storage, key.states())
    // Operations stored in the former layout would be invisible, not misread: refuse instead.
    for await (const _ of store.keys(prefixRange(key.formerOps(), { limit: 1 }))) {
      throw pollenError('POLLEN_STORAGE', 'this data directory keeps its operations in an older storage format (before the first release, without a migration): re-create it and sync or import again')
    }
    const raw = await store.get(key.meta('self'))
    const self: SelfMeta = raw ? decodeValue<SelfMeta>(raw) : { author: opts.author, counter: 0, hlc: 0 }
    if (self.author !== opts.author) {
      // A new epoch (re-keyed after a restore) starts its own counter.
      self.author = opts.author
      self.counter = await lastCounter(store, opts.author)
    }
    const entries: VectorEntry[] = []
    const rows = new Map<string, VectorEntry>()
    for await (const [k, v] of store.range(prefixRange(key.vectors()))) {
      const [layer, prefix, author] = parts(k)
      const slot = `${layer}\u0000${prefix}`
      let row = rows.get(slot)
      if (!row) {
        row = { prefix, layer, counters: {} }
        rows.set(slot, row)
        entries.push(row)
      }
      row.counters[author] = decodeValue<number>(v)
    }
    const maxHeld = new Map<string, number>()
    let cursor = key.allOps()
    for (;;) {
      let found: string | undefined
      for await (const k of store.keys({ gte: cursor, lt: key.allOps() + '\uffff', limit: 1 })) found = k
      if (!found) break
      const [author] = parts(found)
      maxHeld.set(author, await lastCounter(store, author))
      cursor = key.opsOf(author) + '\uffff'
    }
    const log = new OpLog(store, self, CounterVectors.from(entries), maxHeld, [...opts.languages], opts.now)
    log.#anyReviews = false
    for await (const _ of store.keys(prefixRange(key.reviews(), { limit: 1 }))) log.#anyReviews = true
    if (await store.get(key.meta('rebuilding'))) await log.rebuild()
    await log.seals.load()
    await log.#seedMarks.load(store)
    if (opts.identity) {
      log.#identity = opts.identity
      log.#sealer = new OwnSealer(log.seals, opts.identity)
      await log.#sealer.load(store, self.author, self.counter)
    }
    return log
  }

  /**
   * Loads which records this store holds into memory (a Bloom filter: 0.9 MB for 250,000), so
   * that applying operations to records not held yet reads no storage for them
   * (core/log/presenceFilteredStore.ts). The log works the same before and without it. It reads
   * every record key once; the log starts it by itself, in the background, once this process
   * has written WARM_AFTER_OPS operations (bulk work), so that small syncs and single edits
   * never pay for it: loading at start-up raised a 1M-operation daemon's idle RSS from 74 to
   * 113 MiB (the record tables it maps) and its start-to-ready from 459 to 584 ms.
   */
  warm(): Promise<WarmResult> {
    return this.store.warm()
  }

  #noteWritten(ops: number): void {
    this.#written += ops
    // A failed load leaves every read going to storage, as before; storage errors surface there.
    if (this.#written >= WARM_AFTER_OPS && !this.store.ready) this.warm().catch(() => undefined)
  }

  /** This instance's current author id. */
  get author(): string {
    return this.#self.author
  }

  /** This instance's id (the author id without its epoch). */
  get instance(): string {
    return instanceOf(this.#self.author)
  }

  /** The epoch of this instance's current author id. */
  get epoch(): number {
    return Number(this.#self.author.slice(this.instance.length + 1))
  }

  /** The last counter this instance's author used. */
  get counter(): number {
    return this.#self.counter
  }

  /** Languages this instance keeps text in. */
  get languages(): readonly string[] {
    return this.#languages
  }

  /** Changes the languages kept (a configuration reload); text already skipped is fetched by later syncs. */
  setLanguages(languages: readonly string[]): void {
    this.#languages = [...languages]
  }

  /** Layers this instance stores: "" (neutral) and its languages. */
  get layers(): string[] {
    return ['', ...this.#languages]
  }

  /** The live counter vectors; callers must not modify them. */
  get vectors(): CounterVectors {
    return this.#vectors
  }

  /**
   * How many times claims have been lowered in this process. A sync reads it when it reports
   * its claims to a peer and passes it back with the advances the peer's answer allows: once
   * claims were lowered in between, the peer may have skipped operations on the strength of
   * the old claims, so those advances are dropped (the operations themselves still apply).
   */
  get claimsEpoch(): number {
    return this.#claimsEpoch
  }

  /** The highest counter held for an author (0 when none). */
  maxHeld(author: string): number {
    return this.#maxHeld.get(author) ?? 0
  }

  /** Every author with operations in this log. */
  authors(): string[] {
    return [...this.#maxHeld.keys()].sort()
  }

  /** The resume marker of pulls from `peer` (core/log/resumeMarker.ts). */
  resumeMarker(peer: string): ResumeMarker {
    return resumeMarker(this.store, peer)
  }

  /** Runs `fn` under the log's write lock (for other writers of the same store). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#mutex.run(fn)
  }

  async state(kind: string, id: string): Promise<RecordState | undefined> {
    const raw = await this.store.get(key.state(kind, id))
    return raw ? decodeState(raw) : undefined
  }

  async review(kind: string, id: string): Promise<ReviewRecord | undefined> {
    const raw = await this.store.get(key.review(kind, id))
    return raw ? decodeReview(raw) : undefined
  }

  async getOp(author: string, counter: number): Promise<Operation | undefined> {
    const raw = await this.store.get(key.op(author, counter))
    return raw ? decodeOperation(raw) : undefined
  }

  /** Operations of one author with counter above `after`, in counter order. */
  async *scanAuthor(author: string, after: number): AsyncIterable<Operation> {
    for await (const [, v] of this.store.range({ gt: key.op(author, after), lt: key.opsOf(author) + '\uffff' })) yield decodeOperation(v)
  }

  /**
   * Runs a local transaction: `fn` reads states and adds changes under the write lock; the
   * operations, projections, own vector claims and counter are committed in one batch.
   */
  async transact<T>(fn: (tx: Transaction) => Promise<T>): Promise<{ result: T; ops: Operation[] }> {
    return this.#mutex.run(async () => {
      const tx = new LocalTransaction(this.store, this.#self.author, this.#self.counter, this.#clock)
      const result = await fn(tx)
      const { ops, counter } = tx
      if (ops.length === 0) return { result, ops }
      const { batch, dropped, marks } = await tx.writes(this.instance, this.#seedMarks)
      // We hold every operation of our own, in every layer.
      const advances: VectorAdvance[] = [{ prefix: '', layer: ALL_LAYERS, author: this.#self.author, counter }]
      const self: SelfMeta = { author: this.#self.author, counter, hlc: this.#clock.last }
      batch.push(...this.#vectorWrites(advances))
      batch.push({ type: 'put', key: key.meta('self'), value: encodeValue(self) })
      const sealed = this.#sealer?.seal(ops)
      if (sealed) batch.push(...sealed.writes)
      await this.store.write(batch)
      sealed?.commit()
      this.#seedMarks.add(marks)
      this.#self = self
      this.#maxHeld.set(self.author, counter)
      this.#commitVectors(advances)
      await forgetDropped(this.store, dropped)
      this.observer?.appended?.(ops.length)
      this.#noteWritten(ops.length)
      return { result, ops }
    })
  }

  /** Body bytes of operations by reference, read from their log entries (null when purged or absent). */
  async bodies(refs: readonly Pick<Operation, 'author' | 'counter'>[]): Promise<Map<OpRef, Uint8Array | null>> {
    return readBodies(this.store, refs.map(opRef))
  }

  /**
   * Applies operations received from a peer in one atomic batch, with the vector claims the
   * chunk allows. Every operation is verified first; a counter reused with other content, or
   * one of ours beyond our own counter (a restored backup), refuses the whole batch.
   * One storage read for everything the batch needs, and one write (core/log/remoteBatch.ts).
   */
  async applyRemote(incoming: readonly Operation[], advances: readonly VectorAdvance[] = [], extra: readonly BatchOp[] = [], claimsEpoch?: number, opts: RemoteOptions = {}): Promise<ApplyResult> {
    for (const op of incoming) verifyOperation(op)
    const started = Date.now()
    return this.#mutex.run(async () => {
      if (claimsEpoch !== undefined && claimsEpoch !== this.#claimsEpoch) advances = []
      const result: ApplyResult = { applied: 0, duplicates: 0, skipped: 0, new: 0, updated: 0, unchanged: 0, conflicts: 0 }
      const reads = planReads(incoming, this.#maxHeld, this.#anyReviews)
      const values = await this.store.getMany(reads.keys)
      const { fresh, freshKeys, skipped } = this.#freshOps(incoming, reads.opKeys, heldCopies(reads, values), result)
      const sealing = await this.#sealWrites(opts.islands ?? [], skipped)
      if (opts.vouch) advances = advances.flatMap((a) => this.#vouched(a, sealing.reach))
      const records = recordsBefore(reads, values)
      const pendingOps = new Map<string, Operation>()
      const current = this.#applyToWorking(fresh, freshKeys, records.before, pendingOps, result)
      const batch = recordWrites(current, records, this.instance, result, this.reviewPolicy)
      await this.#commitRemote(batch, fresh, pendingOps, advances, [...extra, ...sealing.writes])
      sealing.commit()
      this.observer?.applied?.(result.applied, Date.now() - started)
      this.#noteWritten(result.applied)
      return result
    })
  }

  /**
   * The incoming operations to store, with their `A` keys: not held already (counted as
   * duplicates, once their content is checked) nor in a layer this instance does not keep
   * (skipped). Throws for a reused counter or one of ours beyond our counter.
   */
  #freshOps(incoming: readonly Operation[], opKeys: readonly string[], existing: ReadonlyMap<number, Uint8Array | undefined>, result: ApplyResult): { fresh: Operation[]; freshKeys: string[]; skipped: Operation[] } {
    const fresh: Operation[] = []
    const skipped: Operation[] = []
    const freshKeys: string[] = []
    const seen = new Map<string, Operation>()
    incoming.forEach((op, i) => {
      const k = opKeys[i]
      const raw = existing.get(i)
      const held = raw ? decodeOperation(raw) : seen.get(k)
      if (this.#beyondSelf(op)) {
        throw pollenError('POLLEN_RESTORED_BACKUP', `a peer sent operation ${opRef(op)} under this instance's author id, beyond its counter ${this.#self.counter}: either this data directory was restored from an old backup (then \`pollen rekey\` starts a new author id, and the next syncs fetch those operations back), or the peer forged it`)
      }
      if (held) {
        if (!equalBytes(held.hash, op.hash)) throw pollenError('POLLEN_COUNTER_REUSE', `operation ${opRef(op)} reuses a counter with different content`)
        result.duplicates += 1
        return
      }
      if (op.layer !== '' && !this.#languages.includes(op.layer)) {
        result.skipped += 1
        skipped.push(op)
        return
      }
      seen.set(k, op)
      fresh.push(op)
      freshKeys.push(k)
    })
    return { fresh, freshKeys, skipped }
  }

  /**
   * The writes that keep the batch's seal islands, each with the hashes of its operations this
   * log does not store (in languages it does not keep), and how far each author's seals reach.
   */
  async #sealWrites(islands: readonly Island[], skipped: readonly Operation[]): Promise<{ writes: BatchOp[]; reach: Map<string, number>; commit: () => void }> {
    for (const op of skipped) {
      const i = islands.find((i) => i.author === op.author && i.base < op.counter && op.counter <= i.last)
      i?.omitted.set(op.counter, op.hash)
    }
    const reach = new Map<string, number>()
    for (const i of islands) reach.set(i.author, Math.max(reach.get(i.author) ?? 0, i.last))
    const merged = islands.length > 0 ? await this.seals.mergeWrites(islands) : { writes: [], commit: () => undefined }
    return { ...merged, reach }
  }

  /** A claim about an author, lowered to how far its verified seals reach (none when they reach nothing). */
  #vouched(a: VectorAdvance, reach: ReadonlyMap<string, number>): VectorAdvance[] {
    const limit = a.author === this.#self.author ? this.#self.counter : Math.max(this.seals.vouched(a.author), reach.get(a.author) ?? 0)
    if (a.counter <= limit) return [a]
    return limit > 0 ? [{ ...a, counter: limit }] : []
  }

  /** A seal signed now over one of our own author ids' chains (core/sync/sealing.ts `SealSource`). */
  sealNow(author: string, s: number, last: number, digest: Uint8Array): Uint8Array | undefined {
    if (!this.#identity || instanceOf(author) !== this.instance) return undefined
    return signSeal(this.#identity, author, s, last, digest).sig
  }

  /** The content hashes of `author`'s held operations with counters in [from, to]. */
  async opHashes(author: string, from: number, to: number): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>()
    for await (const [k, v] of this.store.range({ gte: key.op(author, from), lte: key.op(author, to) })) out.set(Number(parts(k)[1]), storedHash(v))
    return out
  }

  /**
   * Applies the fresh operations, in order, to one working copy of each touched record's state
   * (returned by record key), and keeps each as it is to be stored in `pendingOps` (without its
   * body when a purge it has not seen already holds the record).
   */
  #applyToWorking(fresh: readonly Operation[], freshKeys: readonly string[], before: ReadonlyMap<string, RecordState | undefined>, pendingOps: Map<string, Operation>, result: ApplyResult): Map<string, RecordState> {
    const current = new Map<string, RecordState>()
    fresh.forEach((op, i) => {
      const rk = recordKey(op.kind, op.id)
      let state = current.get(rk)
      if (!state) current.set(rk, (state = workingState(before.get(rk), op)))
      const stored = survivesPurges(state, op) ? op : purgedCopy(op)
      pendingOps.set(freshKeys[i], stored)
      applyInPlace(state, stored)
      this.#clock.observe(op.hlc)
      result.applied += 1
    })
    return current
  }

  /**
   * Completes the batch (bodies purged, the operations' log entries, the vector claims raised,
   * `extra`, the clock) and writes it; then the log's memory follows: clock, highest counters
   * held, vectors.
   */
  async #commitRemote(batch: BatchOp[], fresh: readonly Operation[], pendingOps: Map<string, Operation>, advances: readonly VectorAdvance[], extra: readonly BatchOp[]): Promise<void> {
    const { dropped, marks } = await purgeBodies(this.store, fresh, pendingOps, batch, this.#seedMarks)
    batch.push(...logWrites(pendingOps))
    const raised = advances.filter((a) => this.#vectors.effective(a.prefix, a.layer, a.author) < a.counter)
    batch.push(...this.#vectorWrites(raised), ...extra)
    if (this.#clock.last > this.#self.hlc) batch.push({ type: 'put', key: key.meta('self'), value: encodeValue({ ...this.#self, hlc: this.#clock.last }) })
    if (batch.length > 0) await this.store.write(batch)
    this.#seedMarks.add(marks)
    this.#self = { ...this.#self, hlc: this.#clock.last }
    for (const op of fresh) if (op.counter > this.maxHeld(op.author)) this.#maxHeld.set(op.author, op.counter)
    this.#commitVectors(raised)
    await forgetDropped(this.store, dropped)
  }

  /** An operation under our instance's id that we cannot have written: beyond our counter, or from an epoch after ours. */
  #beyondSelf(op: Operation): boolean {
    if (op.author === this.#self.author) return op.counter > this.#self.counter
    if (instanceOf(op.author) !== this.instance) return false
    return Number(op.author.slice(this.instance.length + 1)) > this.epoch
  }

  /**
   * Starts a new epoch for this instance's author id, after a peer showed us our own signed
   * head beyond our counter, or an administrator ran `pollen rekey` (this directory was
   * restored from a backup). Counters restart at 1 under the new author id, so no (author,
   * counter) is ever reused; the operations the backup lost come back from peers under the
   * old author id. `why` is kept, with the time, for `pollen status` ({@link lastRekey}).
   */
  async rekey(provenEpoch = 0, why = 'asked for'): Promise<string> {
    return this.#mutex.run(async () => {
      const instance = this.instance
      // Only epochs we know we used: our own, those of operations we hold (never above our
      // own: #beyondSelf refuses them), and one our own signed head proved. Epochs named in a
      // peer's claims are not evidence of anything (issue 17).
      const epochs = [this.#self.author, ...this.authors()]
        .filter((a) => instanceOf(a) === instance)
        .map((a) => Number(a.slice(instance.length + 1)))
      const author = `${instance}.${Math.max(provenEpoch, ...epochs) + 1}`
      const self: SelfMeta = { author, counter: 0, hlc: this.#clock.last }
      const record: RekeyRecord = { from: this.#self.author, to: author, counter: this.#self.counter, at: new Date().toISOString(), why }
      await this.store.write([
        { type: 'put', key: key.meta('self'), value: encodeValue(self) },
        { type: 'put', key: key.meta('rekey'), value: encodeValue(record) },
      ])
      this.#self = self
      this.#sealer?.restart()
      return author
    })
  }

  /** The last re-key of this instance, if it ever had one. */
  async lastRekey(): Promise<RekeyRecord | undefined> {
    const raw = await this.store.get(key.meta('rekey'))
    return raw ? decodeValue<RekeyRecord>(raw) : undefined
  }

  /**
   * Lowers claims that a check against a peer showed to cover operations this log lacks
   * (core/sync/verify.ts), in one batch. Claims of our own author are never lowered: we hold
   * every operation we wrote. Returns the rows whose stored value went down.
   */
  async lowerClaims(lowerings: readonly VectorAdvance[]): Promise<VectorAdvance[]> {
    return this.#mutex.run(async () => {
      const batch: BatchOp[] = []
      const done: VectorAdvance[] = []
      // One row may be named by several untrue claims: the lowest bound wins.
      const lowest = new Map<string, VectorAdvance>()
      for (const l of lowerings) {
        const k = key.vector(l.layer, l.prefix, l.author)
        if ((lowest.get(k)?.counter ?? Infinity) > l.counter) lowest.set(k, l)
      }
      for (const l of lowest.values()) {
        if (l.author === this.#self.author || this.#vectors.own(l.prefix, l.layer, l.author) <= l.counter) continue
        const k = key.vector(l.layer, l.prefix, l.author)
        batch.push(l.counter > 0 ? { type: 'put', key: k, value: encodeValue(l.counter) } : { type: 'del', key: k })
        done.push(l)
      }
      if (batch.length === 0) return done
      await this.store.write(batch)
      for (const l of done) this.#vectors.lower(l.prefix, l.layer, l.author, l.counter)
      this.#claimsEpoch += 1
      return done
    })
  }

  /**
   * Records one decision for many records and moves their status index, all in one batch.
   * Each record's decision names the version decided on (its winners as they are now, read
   * under the write lock) and clears a hold. Every record must exist.
   */
  async setReviews(kind: string, ids: readonly string[], decision: Omit<ReviewRecord, 'version' | 'held'>): Promise<void> {
    await this.#mutex.run(async () => {
      const batch: BatchOp[] = []
      const records = await readRecords(this.store, kind, ids)
      records.forEach(({ state, review: prev }, i) => {
        if (!state) throw pollenError('POLLEN_NOT_FOUND', `no ${kind} with id ${ids[i]}`)
        const record: ReviewRecord = { ...decision, version: winnerRefs(state) }
        batch.push({ type: 'put', key: key.review(kind, ids[i]), value: encodeValue(record) })
        batch.push(...indexWrites(state, state, record, prev, this.instance))
      })
      if (batch.length === 0) return
      await this.store.write(batch)
      this.#anyReviews = true
    })
  }

  #vectorWrites(advances: readonly VectorAdvance[]): BatchOp[] {
    return advances.map((a) => ({ type: 'put' as const, key: key.vector(a.layer, a.prefix, a.author), value: encodeValue(a.counter) }))
  }

  #commitVectors(advances: readonly VectorAdvance[]): void {
    for (const a of advances) this.#vectors.raise(a.prefix, a.layer, a.author, a.counter)
  }

  /**
   * Rebuilds every projection from the log. Marked in storage first, so a crash mid-way
   * makes the next open finish the job before serving.
   */
  async rebuild(onProgress?: (done: number) => void): Promise<{ ops: number; records: number }> {
    return this.#mutex.run(() => rebuildProjections(this, onProgress))
  }
}

async function lastCounter(store: KVStore, author: string): Promise<number> {
  for await (const k of store.keys({ gte: key.opsOf(author), lt: key.opsOf(author) + '\uffff', reverse: true, limit: 1 })) {
    return Number(parts(k)[1])
  }
  return 0
}
