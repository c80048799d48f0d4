/**
 * Salted body hashes (docs/design.md §9, docs/protocol.md §2.2). A purge drops an operation's
 * body but keeps its body hash, which the content hash and the author's seal commit to. A bare
 * sha256 of the body would let whoever reads the kept hash confirm a guessed short text ("HIV
 * positive"), so a body is hashed behind a 16-byte salt that nobody keeps once the body is gone.
 *
 * A random 16-byte salt per operation would travel in every operation, incompressible: about
 * 18 % of an initial sync. Instead the author draws one random **seed** per local transaction
 * and seal segment, and each operation's salt is derived from it and the counter; a chunk
 * carries the seed once for a run of operations. When a purge drops a body, the seed must go
 * too (it would give the purged operation's salt back), so the other operations that shared it
 * keep their own derived salts from then on: a derived salt says nothing about its siblings'.
 */
import { hash as oneShotHash, randomBytes } from 'node:crypto'

/** Bytes of a seed and of a salt. */
export const SALT_BYTES = 16

/** The salt fields of an operation (see core/model/operation.ts). */
export interface Salting {
  counter: number
  /** The transaction's seed the salt derives from, while no purge has dropped it. */
  seed?: Uint8Array | null
  /** The operation's own salt, kept instead of the seed once a purge dropped the seed. */
  salt?: Uint8Array | null
}

/** A fresh random seed for the operations of one transaction in one seal segment. */
export function newSeed(): Uint8Array {
  return new Uint8Array(randomBytes(SALT_BYTES))
}

/**
 * Scratch input for the salted body hash, reused: hashing is synchronous, and a fresh buffer
 * per operation cost more than the hashing on a 200,000-operation pull.
 */
let scratch = Buffer.allocUnsafe(4096)
const scratchOf = (n: number): Buffer => (scratch.length >= n ? scratch : (scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2))))

/** `hex(seed) + ":"`, cached per seed object (a chunk's run of operations shares one). */
const seedTexts = new WeakMap<Uint8Array, string>()
function seedText(seed: Uint8Array): string {
  let text = seedTexts.get(seed)
  if (text === undefined) seedTexts.set(seed, (text = Buffer.from(seed.buffer, seed.byteOffset, seed.length).toString('hex') + ':'))
  return text
}

/**
 * The salt as a binary string of 32 characters, of which the first 16 are the salt: sha256 of
 * the text `hex(seed):counter`. A string in and out is about half the cost of bytes in Node.
 */
const derived = (seed: Uint8Array, counter: number): string => oneShotHash('sha256', seedText(seed) + counter, 'binary')

/** The salt of operation `counter` under `seed`: sha256 of the text `<seed in hex>:<counter in decimal>`, cut to 16 bytes. */
export function saltFor(seed: Uint8Array, counter: number): Uint8Array {
  return new Uint8Array(Buffer.from(derived(seed, counter).slice(0, SALT_BYTES), 'latin1'))
}

/** The salt an operation's body is hashed with; null for operations written before salts, and once purged. */
export function saltOf(op: Salting): Uint8Array | null {
  if (op.salt) return op.salt
  return op.seed ? saltFor(op.seed, op.counter) : null
}

/** An operation's body hash in hex: sha256(salt ‖ body) with its salt (own or from its seed), or sha256(body) without. */
export function bodyHashHex(body: Uint8Array, op: Salting): string {
  if (!op.salt && !op.seed) return oneShotHash('sha256', body, 'hex')
  const input = scratchOf(SALT_BYTES + body.length)
  if (op.salt) input.set(op.salt, 0)
  else input.write(derived(op.seed as Uint8Array, op.counter), 0, SALT_BYTES, 'latin1')
  input.set(body, SALT_BYTES)
  return oneShotHash('sha256', input.subarray(0, SALT_BYTES + body.length), 'hex')
}

/**
 * What an instance keeps of a seed a purge dropped, to recognise the seed if an operation
 * that shared it arrives later: a hash of it, which gives no salt back.
 */
export function seedMark(seed: Uint8Array): string {
  return oneShotHash('sha256', Buffer.concat([Buffer.from('pollen-dropped-seed\0'), seed]), 'hex').slice(0, 32)
}

/** True for a seed or salt field as it may be given: absent, null, or 16 bytes. */
export function isSaltField(x: unknown): x is Uint8Array | null | undefined {
  return x === undefined || x === null || (x instanceof Uint8Array && x.length === SALT_BYTES)
}
