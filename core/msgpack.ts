/**
 * One shared msgpack encoder and decoder: the library's `encode()` builds a new encoder (and
 * buffer) per call, which dominated the append path's garbage.
 */
import { Decoder, Encoder } from '@msgpack/msgpack'

const encoder = new Encoder()
const decoder = new Decoder()

/** msgpack bytes of a value (a fresh copy, safe to keep). */
export function pack(value: unknown): Uint8Array {
  return encoder.encode(value)
}

/** The value of msgpack bytes; throws on malformed input. */
export function unpack(bytes: Uint8Array): unknown {
  return decoder.decode(bytes)
}
