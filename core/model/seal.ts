/**
 * Seals: an author's own signature over its operations (docs/protocol.md §11). An author's
 * counters are cut into segments of {@link SEGMENT_OPS}; the operations of a segment form a
 * hash chain, and a seal is the author's Ed25519 signature over "segment `s` of author `a`
 * reached counter `last`, with chain digest `d`". Whoever holds the operations of a segment
 * (or their hashes) recomputes the chain and checks the signature, so an operation relayed
 * through any number of peers still proves who wrote it, and nobody else can write under
 * that author id. One signature covers up to 128 operations: signing and checking each
 * operation alone would cost more than the rest of a sync on a small board.
 */
import { hash as oneShotHash } from 'node:crypto'
import { pack } from '../msgpack.js'
import { instanceIdOf, sign, verifyAsync, type Identity } from './identity.js'
import { instanceOf } from './operation.js'

/** Counters per segment: segment `s` holds counters 128·s + 1 … 128·s + 128. */
export const SEGMENT_OPS = 128

/** The segment a counter falls in. */
export function segmentOf(counter: number): number {
  return Math.floor((counter - 1) / SEGMENT_OPS)
}

/** The first counter of segment `s`. */
export function segmentStart(s: number): number {
  return s * SEGMENT_OPS + 1
}

/** The last counter of segment `s`. */
export function segmentEnd(s: number): number {
  return (s + 1) * SEGMENT_OPS
}

/** sha256 as a plain Uint8Array, through a binary string: about half the cost of Node's Buffer output for 32 bytes. */
const sha = (bytes: Uint8Array | string): Uint8Array => {
  const b = Buffer.from(oneShotHash('sha256', bytes, 'binary'), 'binary')
  return new Uint8Array(b.buffer, b.byteOffset, b.length)
}

/** The chain digest before a segment's first operation: bound to the author and segment. */
export function chainSeed(author: string, s: number): Uint8Array {
  return sha(`pollen-seal-chain\u0000${author}\u0000${s}`)
}

/** Reused input of {@link chainStep}: hashing is synchronous, and every operation takes a step. */
const stepInput = Buffer.allocUnsafe(64)

/** The chain digest after one more operation: sha256(previous digest ‖ operation hash). */
export function chainStep(digest: Uint8Array, opHash: Uint8Array): Uint8Array {
  stepInput.set(digest, 0)
  stepInput.set(opHash, 32)
  return sha(stepInput)
}

/** The bytes a seal signs. */
export function sealMessage(author: string, s: number, last: number, digest: Uint8Array): Uint8Array {
  return pack(['pollen-seal', author, s, last, digest])
}

/** An author's signature over its segment `s` through counter `last`. */
export interface Seal {
  author: string
  s: number
  last: number
  /** The chain digest after counter `last`. */
  digest: Uint8Array
  sig: Uint8Array
}

/** Seals segment `s` of our own author through `last`, whose chain digest is `digest`. */
export function signSeal(identity: Identity, author: string, s: number, last: number, digest: Uint8Array): Seal {
  return { author, s, last, digest, sig: sign(sealMessage(author, s, last, digest), identity.secretKey) }
}

/** Instance ids of the author keys seen lately: a chunk names one key for each of its seals. */
const idsOfKeys = new Map<string, string>()
function idOfKey(publicKey: Uint8Array): string {
  const k = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('latin1')
  let id = idsOfKeys.get(k)
  if (id === undefined) {
    if (idsOfKeys.size >= 1000) idsOfKeys.clear()
    idsOfKeys.set(k, (id = instanceIdOf(publicKey)))
  }
  return id
}

/**
 * Whether `seal` was signed by the author it names: `publicKey` must be the key the author's
 * instance id is derived from, and the signature must cover exactly this segment, counter and
 * digest. The digest itself is only as good as the chain the caller recomputed to get it.
 * The signature is checked off the event loop (identity.ts `verifyAsync`).
 */
export async function sealVerifies(seal: Seal, publicKey: Uint8Array): Promise<boolean> {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
  if (idOfKey(publicKey) !== instanceOf(seal.author)) return false
  if (seal.last < segmentStart(seal.s) || seal.last > segmentEnd(seal.s)) return false
  return verifyAsync(sealMessage(seal.author, seal.s, seal.last, seal.digest), seal.sig, publicKey)
}
