/**
 * Checks a received chunk's seals (docs/protocol.md §11.2): recomputes each author's chain
 * from the chunk's operations and the hashes sent beside them, and checks the author's
 * signature. An operation is sealed when a seal that verifies covers it with its own hash.
 * A seal that does not verify refuses the chunk: somebody changed or forged an operation.
 */
import { pollenError } from '../errors.js'
import { AUTHOR_RE, opRef, type Operation } from '../model/operation.js'
import { chainSeed, chainStep, SEGMENT_OPS, segmentEnd, segmentOf, segmentStart, sealVerifies } from '../model/seal.js'
import type { Island } from '../log/seals.js'

/** What the seals of a chunk proved. */
export interface SealCheck {
  /** The chunk's operations no verified seal covers. */
  unsealed: Operation[]
  /** What the receiver now knows of each chain it checked, to keep for relaying. */
  islands: Island[]
}

const bad = (what: string): never => {
  throw pollenError('POLLEN_BAD_MESSAGE', `a chunk's seals are malformed: ${what}`)
}

const isBytes = (v: unknown, n?: number): v is Uint8Array => v instanceof Uint8Array && (n === undefined || v.length === n)
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

/**
 * Checks `seals` (with their author `keys`) against the chunk's `ops`. The chains are
 * recomputed at once; the signatures are checked together on the thread pool, and the check
 * answers once all of them have: any that fails refuses the whole chunk.
 */
export async function checkSeals(ops: readonly Operation[], seals: unknown, keys: unknown): Promise<SealCheck> {
  if (!Array.isArray(seals) || seals.length > ops.length) bad('more seals than operations')
  const entries = seals as unknown[]
  if (!Array.isArray(keys) || keys.length > entries.length || !keys.every((k) => isBytes(k, 32))) bad('author keys')
  const byAuthor = new Map<string, Map<number, Operation>>()
  for (const op of ops) {
    let m = byAuthor.get(op.author)
    if (!m) byAuthor.set(op.author, (m = new Map<number, Operation>()))
    const twin = m.get(op.counter)
    if (twin && Buffer.compare(twin.hash, op.hash) !== 0) throw pollenError('POLLEN_COUNTER_REUSE', `a chunk carries two different operations ${opRef(op)}`)
    m.set(op.counter, op)
  }
  const sealed = new Set<Operation>()
  const islands: Island[] = []
  const checks: Promise<true | string>[] = []
  for (const entry of entries) {
    const [author, ki, s, from, prefix, last, sig, omitted] = shape(entry, keys as Uint8Array[])
    const mine = byAuthor.get(author)
    const covered: Operation[] = []
    let digest = prefix ?? chainSeed(author, s)
    let at = 0
    const kept = new Map<number, Uint8Array>()
    for (let c = from; c <= last; c++) {
      const op = mine?.get(c)
      let h: Uint8Array
      if (op) {
        h = op.hash
        covered.push(op)
      } else {
        if (at + 32 > omitted.length) bad(`segment ${s} of ${author} lacks the hash of counter ${c}`)
        h = omitted.subarray(at, at + 32)
        at += 32
        kept.set(c, h)
      }
      digest = chainStep(digest, h)
    }
    if (at !== omitted.length) bad(`segment ${s} of ${author} carries hashes beyond its seal`)
    // An entry must cover something this chunk carries: no signature work for nothing.
    if (covered.length === 0) bad(`the seal of segment ${s} of ${author} covers none of the chunk's operations`)
    const key = (keys as Uint8Array[])[ki]
    checks.push(sealVerifies({ author, s, last, digest, sig }, key).then((ok) => ok || `${author}:${from}–${last}`))
    for (const op of covered) sealed.add(op)
    islands.push({ author, s, base: from - 1, baseDigest: prefix, last, digest, sig, key, omitted: kept })
  }
  const forged = (await Promise.all(checks)).find((r) => r !== true)
  if (forged) throw pollenError('POLLEN_BAD_SIGNATURE', `operations ${forged} are not signed by their author (its seal does not verify): a peer changed or forged them`)
  return { unsealed: ops.filter((op) => !sealed.has(op)), islands }
}

function shape(entry: unknown, keys: readonly Uint8Array[]): [string, number, number, number, Uint8Array | null, number, Uint8Array, Uint8Array] {
  if (!Array.isArray(entry) || entry.length !== 8) bad('an entry is not an 8-element array')
  const [author, ki, s, from, prefix, last, sig, omitted] = entry as unknown[]
  if (typeof author !== 'string' || !AUTHOR_RE.test(author)) bad('an author id')
  if (!isCount(ki) || ki >= keys.length) bad('a key index')
  if (!isCount(s) || segmentEnd(s) > Number.MAX_SAFE_INTEGER) bad('a segment')
  const seg = s as number
  if (!isCount(last) || segmentOf(last) !== seg || (last) < 1) bad('a last counter outside its segment')
  if (!isCount(from) || (from) < segmentStart(seg) || (from) > (last as number)) bad('a first counter outside its segment')
  if ((from === segmentStart(seg)) !== (prefix === null) || (prefix !== null && !isBytes(prefix, 32))) bad('the digest before the first counter')
  if (!isBytes(sig, 64)) bad('a signature')
  if (!isBytes(omitted) || omitted.length % 32 !== 0 || omitted.length > SEGMENT_OPS * 32) bad('the omitted hashes')
  return [author as string, ki as number, seg, from as number, prefix as Uint8Array | null, last as number, sig as Uint8Array, omitted as Uint8Array]
}

/**
 * One session's gate for received chunks: checks each chunk's seals, keeps its unsealed
 * operations only from a trusted relay, and keeps every claim below the first operation it
 * left out — a claim over it would say this log holds it, and no later sync would fetch it.
 */
export class SealGate {
  readonly trusted: boolean
  /** Operations left out because no seal covered them. */
  unsealed = 0
  readonly #floors = new Map<string, number>()

  constructor(trusted: boolean) {
    this.trusted = trusted
  }

  /** The chunk's operations to apply and the islands its seals proved. */
  async take(ops: readonly Operation[], seals: unknown, keys: unknown): Promise<{ ops: Operation[]; islands: Island[] }> {
    const check = await checkSeals(ops, seals, keys)
    if (this.trusted || check.unsealed.length === 0) return { ops: [...ops], islands: check.islands }
    const out = new Set(check.unsealed)
    for (const op of check.unsealed) this.#floors.set(op.author, Math.min(this.#floors.get(op.author) ?? Infinity, op.counter))
    this.unsealed += out.size
    return { ops: ops.filter((op) => !out.has(op)), islands: check.islands }
  }

  /** Claims, each kept below the first operation of its author this session left out. */
  cap<T extends { author: string; counter: number }>(advances: readonly T[]): T[] {
    if (this.#floors.size === 0) return [...advances]
    return advances.flatMap((a) => {
      const floor = this.#floors.get(a.author)
      if (floor === undefined || a.counter < floor) return [a]
      return floor > 1 ? [{ ...a, counter: floor - 1 }] : []
    })
  }
}
