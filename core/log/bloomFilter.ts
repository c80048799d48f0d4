/**
 * A Bloom filter over strings that grows as keys are added: a series of stages, each with
 * twice the capacity of the one before, so no key ever needs adding again. `mayHold` is
 * false only for a string never added; true can be wrong, about 1% per stage in use.
 */

/** Bits per key at a stage's capacity, and probes per key: about 1% false positives. */
const BITS_PER_KEY = 10
const PROBES = 7

interface Stage {
  bits: Uint32Array
  /** Bit count − 1 (the bit count is a power of two). */
  mask: number
  capacity: number
  count: number
}

/** Murmur3's finaliser: spreads every input bit over the whole word. */
function mix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** FNV-1a over the UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export class GrowingBloomFilter {
  readonly #stages: Stage[] = []
  readonly #firstCapacity: number

  /** @param firstCapacity keys the first stage holds at its target rate; later stages double it. */
  constructor(firstCapacity = 1 << 16) {
    if (!Number.isInteger(firstCapacity) || firstCapacity < 1) throw new TypeError(`firstCapacity must be a positive integer, got ${firstCapacity}`)
    this.#firstCapacity = firstCapacity
  }

  add(s: string): void {
    let stage = this.#stages[this.#stages.length - 1]
    if (!stage || stage.count >= stage.capacity) stage = this.#grow()
    const h = fnv1a(s)
    const a = mix(h)
    const b = mix(h ^ 0x9e3779b9) | 1
    for (let i = 0, p = a; i < PROBES; i++, p = (p + b) >>> 0) {
      const bit = p & stage.mask
      stage.bits[bit >>> 5] |= 1 << (bit & 31)
    }
    stage.count += 1
  }

  mayHold(s: string): boolean {
    if (this.#stages.length === 0) return false
    const h = fnv1a(s)
    const a = mix(h)
    const b = mix(h ^ 0x9e3779b9) | 1
    stages: for (const stage of this.#stages) {
      for (let i = 0, p = a; i < PROBES; i++, p = (p + b) >>> 0) {
        const bit = p & stage.mask
        if ((stage.bits[bit >>> 5] & (1 << (bit & 31))) === 0) continue stages
      }
      return true
    }
    return false
  }

  /** Keys added. */
  get size(): number {
    let n = 0
    for (const s of this.#stages) n += s.count
    return n
  }

  /** Bytes of filter held. */
  get bytes(): number {
    let n = 0
    for (const s of this.#stages) n += s.bits.byteLength
    return n
  }

  #grow(): Stage {
    const capacity = this.#firstCapacity * 2 ** this.#stages.length
    // The next power of two at or above the target, at least one 32-bit word.
    const bitCount = Math.max(32, 2 ** Math.ceil(Math.log2(capacity * BITS_PER_KEY)))
    const stage: Stage = { bits: new Uint32Array(bitCount / 32), mask: bitCount - 1, capacity, count: 0 }
    this.#stages.push(stage)
    return stage
  }
}
