/**
 * Operations: one change by one author, appended and never rewritten. The content hash
 * covers every header field and the hash of the body bytes, so a body can be purged later
 * while the operation stays verifiable. Bodies travel as the exact bytes the author encoded:
 * receivers verify bytes, never a re-serialised object.
 */
import { hash as oneShotHash } from 'node:crypto'
import { pack, unpack } from './msgpack.js'
import type { Counters } from './counterVector.js'
import { pollenError } from './errors.js'
import { isPartition } from './partition.js'

/** What an operation does to its record. */
export type OpType = 'put' | 'delete' | 'purge'

/** One change by one author. */
export interface Operation {
  /** Author id: `<instance id>.<epoch>`; the epoch changes when a restored backup is re-keyed. */
  author: string
  /** The author's counter, gap-free, +1 per operation. */
  counter: number
  kind: string
  id: string
  partition: string
  type: OpType
  /** "" for language-neutral fields, else the language whose text this carries. */
  layer: string
  /** Hybrid logical clock timestamp. */
  hlc: number
  /** Counter of the first operation of the local transaction this one belongs to. */
  tx: number
  /** The record version the author had seen when writing. */
  deps: Counters
  /** UTF-8 JSON bytes of the body; null for deletes and once purged. */
  body: Uint8Array | null
  /** sha256 of `body`, kept after a purge so the operation stays verifiable. */
  bodyHash: Uint8Array | null
  /** sha256 over the header and `bodyHash`. */
  hash: Uint8Array
}

/** `author:counter`, the stable reference to an operation. */
export type OpRef = string

export const AUTHOR_RE = /^[0-9a-f]{32}\.[1-9][0-9]{0,5}$/
export const KIND_RE = /^[a-z][a-z0-9_-]{0,31}$/
export const LANG_RE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/
const ID_RE = /^[\x21-\x7e]{1,128}$/
/** Largest encoded body one operation may carry. */
export const MAX_BODY_BYTES = 256 * 1024

export function opRef(op: Pick<Operation, 'author' | 'counter'>): OpRef {
  return `${op.author}:${op.counter}`
}

/** Splits an author id into its instance id and epoch. */
export function instanceOf(author: string): string {
  const i = author.indexOf('.')
  return i === -1 ? author : author.slice(0, i)
}

export function sha256(bytes: Uint8Array | string): Uint8Array {
  // A view of the digest's own memory: no second copy per hash (this runs twice per operation).
  const digest = oneShotHash('sha256', bytes, 'buffer')
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length)
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')
}

function sortedDeps(deps: Counters): (string | number)[] {
  const flat: (string | number)[] = []
  for (const a of Object.keys(deps).sort()) flat.push(a, deps[a])
  return flat
}

/**
 * The content hash of an operation: sha256 of the UTF-8 JSON text of its header fields in a
 * fixed order, with the body hash in hex. JSON of strings and numbers is exact and fast, and
 * easy to reproduce in another implementation.
 */
export function computeHash(op: Omit<Operation, 'hash' | 'body'>): Uint8Array {
  const header = [1, op.author, op.counter, op.kind, op.id, op.partition, op.type, op.layer, op.hlc, op.tx, sortedDeps(op.deps), op.bodyHash ? hex(op.bodyHash) : null]
  // Hashing the string hashes its UTF-8 bytes without an intermediate Buffer.
  return sha256(JSON.stringify(header))
}

/** Bodies are UTF-8 JSON bytes: the author's exact bytes travel and are hashed. */
export function encodeBody(body: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(body), 'utf8')
}

/** Builds a complete operation (body hash and content hash) from its fields. */
export function makeOperation(fields: Omit<Operation, 'hash' | 'bodyHash' | 'body'> & { body: unknown }): Operation {
  const body = fields.body === null || fields.body === undefined ? null : encodeBody(fields.body)
  // One object of one shape, its hash filled in place: no spread copies on the append path.
  const op: Operation = {
    author: fields.author,
    counter: fields.counter,
    kind: fields.kind,
    id: fields.id,
    partition: fields.partition,
    type: fields.type,
    layer: fields.layer,
    hlc: fields.hlc,
    tx: fields.tx,
    deps: fields.deps,
    body,
    bodyHash: body ? sha256(body) : null,
    hash: EMPTY_HASH,
  }
  op.hash = computeHash(op)
  return op
}

/** Placeholder while an operation's hash is computed (never stored or compared). */
const EMPTY_HASH = new Uint8Array(0)

/** Decodes an operation's body (null when deleted or purged); throws POLLEN_BAD_MESSAGE on bad JSON. */
export function bodyOf<T = unknown>(op: Pick<Operation, 'body'>): T | null {
  if (!op.body) return null
  try {
    return JSON.parse(Buffer.from(op.body.buffer, op.body.byteOffset, op.body.length).toString('utf8')) as T
  } catch (cause) {
    throw pollenError('POLLEN_BAD_MESSAGE', 'an operation body is not valid JSON', { cause })
  }
}

function equalBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export { equalBytes }

/**
 * Checks an operation received from elsewhere: shape, body hash and content hash.
 * Throws POLLEN_BAD_MESSAGE or POLLEN_HASH_MISMATCH.
 */
export function verifyOperation(op: Operation): void {
  const bad = (what: string): never => {
    throw pollenError('POLLEN_BAD_MESSAGE', `operation ${typeof op?.author === 'string' ? op.author : '?'}:${String(op?.counter)} has ${what}`)
  }
  if (typeof op.author !== 'string' || !AUTHOR_RE.test(op.author)) bad('a malformed author id')
  if (!Number.isSafeInteger(op.counter) || op.counter < 1) bad('a malformed counter')
  if (typeof op.kind !== 'string' || !KIND_RE.test(op.kind)) bad('a malformed kind')
  if (typeof op.id !== 'string' || !ID_RE.test(op.id)) bad('a malformed record id')
  if (!isPartition(op.partition)) bad('a malformed partition')
  if (op.type !== 'put' && op.type !== 'delete' && op.type !== 'purge') bad('an unknown type')
  if (typeof op.layer !== 'string' || (op.layer !== '' && !LANG_RE.test(op.layer))) bad('a malformed layer')
  if (op.type !== 'put' && op.layer !== '') bad('a delete outside the neutral layer')
  if (!Number.isSafeInteger(op.hlc) || op.hlc < 0) bad('a malformed timestamp')
  if (!Number.isSafeInteger(op.tx) || op.tx < 1 || op.tx > op.counter) bad('a malformed transaction')
  if (typeof op.deps !== 'object' || op.deps === null || Array.isArray(op.deps)) bad('malformed dependencies')
  for (const [a, n] of Object.entries(op.deps)) {
    if (!AUTHOR_RE.test(a) || !Number.isSafeInteger(n) || n < 1) bad('malformed dependencies')
  }
  if (op.body !== null && !(op.body instanceof Uint8Array)) bad('a malformed body')
  if (op.body && op.body.length > MAX_BODY_BYTES) bad('a body over the size limit')
  if (op.bodyHash !== null && !(op.bodyHash instanceof Uint8Array && op.bodyHash.length === 32)) bad('a malformed body hash')
  if (!(op.hash instanceof Uint8Array) || op.hash.length !== 32) bad('a malformed hash')
  if (op.type === 'put' && op.bodyHash === null) bad('a put without a body hash')
  // Hashes computed here from the content cannot disagree with it: skip the second pass.
  if (hashedHere.has(op)) return
  if (op.body && !equalBytes(sha256(op.body), op.bodyHash)) {
    throw pollenError('POLLEN_HASH_MISMATCH', `operation ${opRef(op)}: its body does not match its body hash`)
  }
  if (!equalBytes(computeHash(op), op.hash)) {
    throw pollenError('POLLEN_HASH_MISMATCH', `operation ${opRef(op)}: its content does not match its hash`)
  }
}

/** Wire and storage form: a positional array (compact under msgpack). */
export type PackedOperation = [string, number, string, string, string, string, string, number, number, (string | number)[], Uint8Array | null, Uint8Array | null, Uint8Array]

const TYPES: readonly OpType[] = ['put', 'delete', 'purge']

export function packOperation(op: Operation): PackedOperation {
  return [op.author, op.counter, op.kind, op.id, op.partition, op.type, op.layer, op.hlc, op.tx, sortedDeps(op.deps), op.body, op.bodyHash, op.hash]
}

/** Unpacks a positional array; throws POLLEN_BAD_MESSAGE when it is not one. */
export function unpackOperation(raw: unknown): Operation {
  if (!Array.isArray(raw) || raw.length !== 13) throw pollenError('POLLEN_BAD_MESSAGE', 'an operation is not a 13-field array')
  const [author, counter, kind, id, partition, type, layer, hlc, tx, flat, body, bodyHash, hash] = raw
  if (!Array.isArray(flat) || flat.length % 2 !== 0) throw pollenError('POLLEN_BAD_MESSAGE', 'an operation has malformed dependencies')
  const deps: Counters = {}
  for (let i = 0; i < flat.length; i += 2) deps[String(flat[i])] = flat[i + 1] as number
  if (!TYPES.includes(type)) throw pollenError('POLLEN_BAD_MESSAGE', 'an operation has an unknown type')
  return { author, counter, kind, id, partition, type, layer, hlc, tx, deps, body: toBytes(body), bodyHash: toBytes(bodyHash), hash: toBytes(hash) as Uint8Array }
}

function toBytes(v: unknown): Uint8Array | null {
  if (v === null || v === undefined) return null
  if (v instanceof Uint8Array) return v
  throw pollenError('POLLEN_BAD_MESSAGE', 'an operation has a field that should be bytes')
}

/**
 * Completes an operation received without its hashes (the wire form, core/opColumns.ts):
 * computes the body hash (kept as given only when the body was purged) and the content
 * hash, and remembers that they were computed here so `verifyOperation` skips the second pass.
 */
export function hashOperation(fields: Omit<Operation, 'hash'>): Operation {
  const bodyHash = fields.body instanceof Uint8Array ? sha256(fields.body) : fields.bodyHash
  const op: Operation = { ...fields, bodyHash, hash: new Uint8Array(0) }
  op.hash = computeHash(op)
  hashedHere.add(op)
  return op
}

/** Operations whose hashes this process computed from their content (unpackWire). */
const hashedHere = new WeakSet<Operation>()

export function encodeOperation(op: Operation): Uint8Array {
  return pack(packOperation(op))
}

export function decodeOperation(bytes: Uint8Array): Operation {
  return unpackOperation(unpack(bytes))
}

/** True when `later` was written by an author who had seen `earlier`. */
export function dominates(later: Pick<Operation, 'deps'>, earlier: Pick<Operation, 'author' | 'counter'>): boolean {
  return (later.deps[earlier.author] ?? 0) >= earlier.counter
}
