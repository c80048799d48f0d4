/**
 * The stored form of an operation (the value of its `A` entry, core/log/keys.ts):
 *
 *     [flags: u8][content hash: 32][body hash: 32][text length: u32 LE][header text][seed or salt: 16][body]
 *
 * The header text is the UTF-8 JSON the content hash is computed over (`headerText`), less
 * its last element, the body hash in hex, which is stored as its 32 bytes instead (zeros and
 * kept in the text when there is none). So an operation whose hash was just computed — every
 * operation made here or received — is stored by copying that text and its body, with no
 * other serialisation. Flags: bit 0, the body is kept (a purge clears it and drops the bytes;
 * the header and body hash stay); bit 1, the body hash is in its slot; bit 2, the 16 bytes
 * after the text are the transaction's seed, bit 3, the operation's own salt (core/model/salt.ts;
 * neither for operations written before salts, or purged). Reading parses the
 * text with JSON.parse and takes body and hashes as views of the stored bytes; a body alone
 * is read without parsing.
 */
import type { Counters } from '../model/counterVector.js'
import { pollenError } from '../errors.js'
import { headerText, type Operation, type OpType } from '../model/operation.js'
import { SALT_BYTES } from '../model/salt.js'

const HAS_BODY = 1
const HAS_BODY_HASH = 2
const HAS_SEED = 4
const HAS_SALT = 8
const ALL_FLAGS = HAS_BODY | HAS_BODY_HASH | HAS_SEED | HAS_SALT
const HASH_AT = 1
const BODY_HASH_AT = HASH_AT + 32
const LENGTH_AT = BODY_HASH_AT + 32
const HEADER_AT = LENGTH_AT + 4
/** Characters the body hash takes at the end of a header text: `,"` + 64 hex digits + `"`. */
const HEX_TAIL = 67
/** The version number that leads every header text. */
const HEADER_VERSION = 1
const TYPES: readonly OpType[] = ['put', 'delete', 'purge']

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length))

const corrupt = (what: string): never => {
  throw pollenError('POLLEN_STORAGE', `a stored operation is unreadable (${what}): this data directory was written in another format or is damaged`)
}

/** The stored bytes of an operation. */
export function encodeOperation(op: Operation): Uint8Array {
  const full = headerText(op)
  const bodyHash = op.bodyHash?.length === 32 ? op.bodyHash : null
  // The text ends `,"<64 hex digits>"]`: keep `]`, drop the hex (its bytes have their slot).
  const header = bodyHash ? full.slice(0, full.length - HEX_TAIL - 1) + ']' : full
  const headerBytes = Buffer.byteLength(header)
  const body = op.body
  // Seeds and salts belong to bodies: a purged operation keeps neither.
  const salting = body ? (op.seed ?? op.salt ?? null) : null
  const out = Buffer.allocUnsafe(HEADER_AT + headerBytes + (salting ? SALT_BYTES : 0) + (body ? body.length : 0))
  out[0] = (body ? HAS_BODY : 0) | (bodyHash ? HAS_BODY_HASH : 0) | (salting ? (op.seed ? HAS_SEED : HAS_SALT) : 0)
  out.set(op.hash, HASH_AT)
  if (bodyHash) out.set(bodyHash, BODY_HASH_AT)
  else out.fill(0, BODY_HASH_AT, LENGTH_AT)
  out.writeUInt32LE(headerBytes, LENGTH_AT)
  out.write(header, HEADER_AT, headerBytes, 'utf8')
  if (salting) out.set(salting, HEADER_AT + headerBytes)
  if (body) out.set(body, HEADER_AT + headerBytes + (salting ? SALT_BYTES : 0))
  return out
}

function headerEnd(b: Uint8Array): number {
  if (b.length < HEADER_AT || (b[0] & ~ALL_FLAGS) !== 0 || (b[0] & (HAS_SEED | HAS_SALT)) === (HAS_SEED | HAS_SALT)) corrupt('unknown layout')
  const end = HEADER_AT + asBuffer(b).readUInt32LE(LENGTH_AT)
  return end + (b[0] & (HAS_SEED | HAS_SALT) ? SALT_BYTES : 0) <= b.length ? end : corrupt('header past the end')
}

/** Where the body starts: after the header text and the seed or salt. */
const bodyAt = (b: Uint8Array, end: number): number => end + (b[0] & (HAS_SEED | HAS_SALT) ? SALT_BYTES : 0)

/** The content hash of a stored operation, without decoding it (a view of the bytes). */
export function storedHash(bytes: Uint8Array): Uint8Array {
  headerEnd(bytes)
  return bytes.subarray(HASH_AT, HASH_AT + 32)
}

/** An operation from its stored bytes (body and hashes are views of them). */
export function decodeOperation(bytes: Uint8Array): Operation {
  const end = headerEnd(bytes)
  const h: unknown = JSON.parse(asBuffer(bytes).toString('utf8', HEADER_AT, end))
  const slot = (bytes[0] & HAS_BODY_HASH) !== 0
  if (!Array.isArray(h) || h.length !== (slot ? 11 : 12) || h[0] !== HEADER_VERSION) return corrupt('unknown header')
  const [, author, counter, kind, id, partition, type, layer, hlc, tx, flat, bodyHashHex] = h as [number, string, number, string, string, string, OpType, string, number, number, (string | number)[], string | null]
  if (!TYPES.includes(type) || !Array.isArray(flat)) corrupt('malformed header')
  const deps: Counters = {}
  for (let i = 0; i < flat.length; i += 2) deps[flat[i] as string] = flat[i + 1] as number
  return {
    author,
    counter,
    kind,
    id,
    partition,
    type,
    layer,
    hlc,
    tx,
    deps,
    body: bytes[0] & HAS_BODY ? bytes.subarray(bodyAt(bytes, end)) : null,
    bodyHash: slot ? bytes.subarray(BODY_HASH_AT, LENGTH_AT) : bodyHashHex === null ? null : fromHex(bodyHashHex),
    hash: bytes.subarray(HASH_AT, BODY_HASH_AT),
    seed: bytes[0] & HAS_SEED ? bytes.subarray(end, end + SALT_BYTES) : null,
    salt: bytes[0] & HAS_SALT ? bytes.subarray(end, end + SALT_BYTES) : null,
  }
}

function fromHex(s: string): Uint8Array {
  const b = Buffer.from(s, 'hex')
  if (b.length !== 32) corrupt('malformed body hash')
  return new Uint8Array(b.buffer, b.byteOffset, b.length)
}

/** The body kept in stored bytes (null once purged), without reading the header. */
export function storedBody(bytes: Uint8Array): Uint8Array | null {
  const end = headerEnd(bytes)
  return bytes[0] & HAS_BODY ? bytes.subarray(bodyAt(bytes, end)) : null
}

/** Stored bytes of the same operation without its body, seed or salt (a purge). */
export function withoutBody(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.subarray(0, headerEnd(bytes)))
  out[0] &= ~(HAS_BODY | HAS_SEED | HAS_SALT)
  return out
}

/** Stored bytes of the same operation keeping its own `salt` where it kept its transaction's seed. */
export function withOwnSalt(bytes: Uint8Array, salt: Uint8Array): Uint8Array {
  const end = headerEnd(bytes)
  if (!(bytes[0] & HAS_SEED)) return bytes
  const out = new Uint8Array(bytes)
  out[0] = (out[0] & ~HAS_SEED) | HAS_SALT
  out.set(salt, end)
  return out
}
