/**
 * Seeds a purge drops (core/model/salt.ts). When a purge drops a body, the seed its salt
 * derived from must go too, from every operation that shared it: those keep their own derived
 * salts instead. A mark of each dropped seed is kept (`D` keys), so that a sibling arriving
 * later, from a peer that has not seen the purge yet, is stored with its own salt as well.
 * Seeds are per transaction and seal segment, so a purge rewrites at most 127 siblings.
 */
import { key } from './keys.js'
import { decodeOperation, withOwnSalt } from './storedOp.js'
import { equalBytes, type Operation } from '../model/operation.js'
import { saltFor, seedMark } from '../model/salt.js'
import { segmentEnd, segmentOf, segmentStart } from '../model/seal.js'
import { prefixRange, type BatchOp, type KVStore } from './store.js'

/** A seed that went with a dropped body: its author, and a counter of its segment. */
export interface DroppedSeed {
  author: string
  counter: number
  seed: Uint8Array
}

/** The marks of seeds this instance dropped, held in memory (purges are rare). */
export class SeedMarks {
  readonly #marks = new Set<string>()

  async load(store: KVStore): Promise<void> {
    for await (const [k] of store.range(prefixRange(key.droppedSeeds()))) this.#marks.add(k.slice(key.droppedSeeds().length))
  }

  get size(): number {
    return this.#marks.size
  }

  has(mark: string): boolean {
    return this.#marks.has(mark)
  }

  /** Called once the batch that stored the marks is written. */
  add(marks: readonly string[]): void {
    for (const m of marks) this.#marks.add(m)
  }
}

/**
 * Adds to `batch` what the dropped bodies mean for seeds: operations about to be stored
 * (`pending`, changed in place) lose a seed that is dropped or marked, keeping their own
 * salt; stored siblings of a dropped seed are rewritten likewise (their keys are returned,
 * for the compaction that makes storage forget the seed); the new marks are written, and
 * returned for {@link SeedMarks.add}. `originals` are the operations as they came, before a
 * purge emptied their copies in `pending`; `rewritten` are the stored ones a purge emptied.
 */
export async function dropSeeds(
  store: KVStore,
  originals: readonly Operation[],
  pending: Map<string, Operation>,
  stored: readonly DroppedSeed[],
  rewritten: ReadonlySet<string>,
  marks: SeedMarks,
  batch: BatchOp[],
): Promise<{ rewritten: string[]; marks: string[] }> {
  const dropped = [...stored]
  let emptied = false
  for (const op of pending.values()) if (op.type === 'put' && op.body === null) emptied = true
  if (emptied) {
    for (const op of originals) {
      if (op.seed && op.body && pending.get(key.op(op.author, op.counter))?.body === null) dropped.push({ author: op.author, counter: op.counter, seed: op.seed })
    }
  }
  if (dropped.length === 0 && marks.size === 0) return { rewritten: [], marks: [] }

  const droppedMarks = new Map<string, DroppedSeed>()
  for (const d of dropped) droppedMarks.set(`${d.author}\u0000${seedMark(d.seed)}`, d)
  const markOf = new Map<string, string>()
  const gone = (op: Operation, seed: Uint8Array): boolean => {
    const hex = Buffer.from(seed.buffer, seed.byteOffset, seed.length).toString('hex')
    let mark = markOf.get(hex)
    if (mark === undefined) markOf.set(hex, (mark = seedMark(seed)))
    return marks.has(mark) || droppedMarks.has(`${op.author}\u0000${mark}`)
  }
  for (const [k, op] of pending) {
    if (op.seed && gone(op, op.seed)) pending.set(k, { ...op, seed: null, salt: saltFor(op.seed, op.counter) })
  }

  const out: string[] = []
  const newMarks: string[] = []
  for (const [id, d] of droppedMarks) {
    const mark = id.slice(id.indexOf('\u0000') + 1)
    if (!marks.has(mark) && !newMarks.includes(mark)) {
      newMarks.push(mark)
      batch.push({ type: 'put', key: key.droppedSeed(mark), value: new Uint8Array(0) })
    }
    const s = segmentOf(d.counter)
    for await (const [k, v] of store.range({ gte: key.op(d.author, segmentStart(s)), lte: key.op(d.author, segmentEnd(s)) })) {
      if (rewritten.has(k) || pending.has(k)) continue
      const op = decodeOperation(v)
      if (op.seed && equalBytes(op.seed, d.seed)) {
        batch.push({ type: 'put', key: k, value: withOwnSalt(v, saltFor(d.seed, op.counter)) })
        out.push(k)
      }
    }
  }
  return { rewritten: out, marks: newMarks }
}
