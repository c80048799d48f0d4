/**
 * One shared msgpack encoder and decoder: the library's `encode()` builds a new encoder (and
 * buffer) per call, which dominated the append path's garbage.
 *
 * Bytes from a peer are decoded only through an {@link Unpacker} with bounds: a value's heap
 * cost is set by how many elements it has, not by its bytes (one byte of msgpack, an empty
 * array, is a 40-byte object; a 2-byte empty bin is 104 bytes), so 16 MiB of empty arrays
 * took a daemon's heap (docs/protocol.md §6.3). The bounds are checked by a walk over the
 * bytes that builds nothing, before the decoder builds anything.
 */
import { Decoder, Encoder } from '@msgpack/msgpack'
import { pollenError, type ErrorCode } from './errors.js'

const encoder = new Encoder()
const decoder = new Decoder()

/** msgpack bytes of a value (a fresh copy, safe to keep). */
export function pack(value: unknown): Uint8Array {
  return encoder.encode(value)
}

/**
 * The value of msgpack bytes this instance wrote itself (its store); throws on malformed
 * input. Anything that came from a peer goes through an {@link Unpacker}.
 */
export function unpack(bytes: Uint8Array): unknown {
  return decoder.decode(bytes)
}

/** What one untrusted msgpack value may hold. Lengths of str and bin count bytes. */
export interface UnpackBounds {
  /** Values in all, at every depth (a map entry is two): what bounds the heap a value costs. */
  maxElements: number
  /** Containers open at once; the root container is depth 1. */
  maxDepth: number
  maxArrayLength: number
  maxMapLength: number
  maxStrLength: number
  maxBinLength: number
  /** The refusal when a count or a length is over its bound (a depth over it is POLLEN_BAD_MESSAGE). */
  tooLarge: ErrorCode
}

/** Decodes untrusted msgpack within bounds; throws POLLEN_BAD_MESSAGE or the bounds' `tooLarge` code. */
export class Unpacker {
  readonly #bounds: UnpackBounds
  readonly #decoder: Decoder

  constructor(bounds: UnpackBounds) {
    this.#bounds = bounds
    // The decoder's own limits repeat the walk's, so neither can be loosened alone. pollen
    // never sends extension types: any is refused by the walk.
    const { maxStrLength, maxBinLength, maxArrayLength, maxMapLength } = bounds
    this.#decoder = new Decoder({ maxStrLength, maxBinLength, maxArrayLength, maxMapLength, maxExtLength: 0 })
  }

  /** The value of `bytes`; `what` names the message in the refusal ("the open request"). */
  unpack(bytes: Uint8Array, what: string): unknown {
    walk(bytes, this.#bounds, what)
    try {
      return this.#decoder.decode(bytes)
    } catch (cause) {
      throw pollenError('POLLEN_BAD_MESSAGE', `${what} is not valid msgpack`, { cause })
    }
  }
}

// Kinds of the type bytes 0xc0–0xdf, and the size of their length field or of their scalar's bytes.
const SCALAR = 0
const STR = 1
const BIN = 2
const ARRAY = 3
const MAP = 4
const EXT = 5
const NEVER = 6
const KIND = new Uint8Array(32)
const SIZE = new Uint8Array(32)
const TYPES: [number, number, number][] = [
  [0xc0, SCALAR, 0], [0xc1, NEVER, 0], [0xc2, SCALAR, 0], [0xc3, SCALAR, 0],
  [0xc4, BIN, 1], [0xc5, BIN, 2], [0xc6, BIN, 4], [0xc7, EXT, 1], [0xc8, EXT, 2], [0xc9, EXT, 4],
  [0xca, SCALAR, 4], [0xcb, SCALAR, 8], [0xcc, SCALAR, 1], [0xcd, SCALAR, 2], [0xce, SCALAR, 4], [0xcf, SCALAR, 8],
  [0xd0, SCALAR, 1], [0xd1, SCALAR, 2], [0xd2, SCALAR, 4], [0xd3, SCALAR, 8],
  [0xd4, EXT, 0], [0xd5, EXT, 0], [0xd6, EXT, 0], [0xd7, EXT, 0], [0xd8, EXT, 0],
  [0xd9, STR, 1], [0xda, STR, 2], [0xdb, STR, 4], [0xdc, ARRAY, 2], [0xdd, ARRAY, 4], [0xde, MAP, 2], [0xdf, MAP, 4],
]
for (const [t, kind, size] of TYPES) {
  KIND[t - 0xc0] = kind
  SIZE[t - 0xc0] = size
}

/**
 * Checks the bounds over the bytes of one value, building nothing: O(min(bytes, maxElements))
 * steps, payloads of str and bin skipped. Malformed input the decoder would refuse anyway
 * (a length past the end) is refused here too, so a claimed length never costs a step more.
 */
function walk(b: Uint8Array, bounds: UnpackBounds, what: string): void {
  const tooLarge = (detail: string): never => {
    throw pollenError(bounds.tooLarge, `${what} ${detail}`)
  }
  const bad = (detail: string): never => {
    throw pollenError('POLLEN_BAD_MESSAGE', `${what} is not valid msgpack: ${detail}`)
  }
  const end = (at: number): void => {
    if (at > b.length) bad('it ends inside a value')
  }
  /** Values still to read in each open container, the innermost last. */
  const open: number[] = []
  let left = 1
  let elements = 0
  let pos = 0
  for (;;) {
    while (left === 0) {
      if (open.length === 0) return
      left = open.pop() as number
    }
    left -= 1
    if (++elements > bounds.maxElements) tooLarge(`holds more than ${bounds.maxElements} values`)
    end(pos + 1)
    const t = b[pos++]
    let kind: number
    let n: number
    if (t < 0x80 || t >= 0xe0) continue
    if (t < 0x90) {
      kind = MAP
      n = t & 0x0f
    } else if (t < 0xa0) {
      kind = ARRAY
      n = t & 0x0f
    } else if (t < 0xc0) {
      kind = STR
      n = t & 0x1f
    } else {
      kind = KIND[t - 0xc0]
      const size = SIZE[t - 0xc0]
      if (kind === NEVER) bad('type byte 0xc1')
      if (kind === EXT) bad('pollen sends no extension types')
      end(pos + size)
      n = 0
      if (kind !== SCALAR) for (let i = 0; i < size; i++) n = n * 256 + b[pos + i]
      pos += size
      if (kind === SCALAR) continue
    }
    if (kind === STR || kind === BIN) {
      const max = kind === STR ? bounds.maxStrLength : bounds.maxBinLength
      if (n > max) tooLarge(`holds a ${kind === STR ? 'string' : 'byte string'} of ${n} bytes; the limit is ${max}`)
      end(pos + n)
      pos += n
      continue
    }
    const max = kind === ARRAY ? bounds.maxArrayLength : bounds.maxMapLength
    if (n > max) tooLarge(`holds ${kind === ARRAY ? 'an array' : 'a map'} of ${n} entries; the limit is ${max}`)
    if (open.length + 1 > bounds.maxDepth) bad(`it nests deeper than ${bounds.maxDepth}, deeper than any pollen message`)
    const values = kind === MAP ? 2 * n : n
    // Every value takes at least a byte: a count the bytes left cannot hold is refused now.
    end(pos + values)
    if (values > 0) {
      open.push(left)
      left = values
    }
  }
}
