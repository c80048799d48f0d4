/**
 * Operations: one change by one author, appended and never rewritten. The content hash
 * covers every header field and the hash of the body bytes, so a body can be purged later
 * while the operation stays verifiable. Bodies travel as the exact bytes the author encoded:
 * receivers verify bytes, never a re-serialised object.
 */
import { hash as oneShotHash } from 'node:crypto'
import type { Counters } from './counterVector.js'
import { pollenError } from '../errors.js'
import { isPartition } from './partition.js'
import { bodyHashHex, isSaltField } from './salt.js'

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
  /**
   * sha256 of the body behind its salt (core/model/salt.ts), or of the body alone for
   * operations written before salts; kept after a purge so the operation stays verifiable.
   */
  bodyHash: Uint8Array | null
  /** The seed this operation's salt derives from, shared with its transaction in its seal segment; absent once a purge dropped it. */
  seed?: Uint8Array | null
  /** This operation's own salt, kept instead of the seed once a purge among its siblings dropped the seed. */
  salt?: Uint8Array | null
  /** sha256 over the header and `bodyHash`. */
  hash: Uint8Array
}

/** `author:counter`, the stable reference to an operation. */
export type OpRef = string

export const AUTHOR_RE = /^[0-9a-f]{32}\.[1-9][0-9]{0,5}$/
export const KIND_RE = /^[a-z][a-z0-9_-]{0,31}$/
export const LANG_RE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/
export const ID_RE = /^[\x21-\x7e]{1,128}$/
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
  // A digest returned as bytes gets an ArrayBuffer of its own, which costs more than hashing
  // a short header (this runs twice per operation); as a string copied into Node's shared
  // buffer pool it does not.
  return pooled(Buffer.from(oneShotHash('sha256', bytes, 'binary'), 'binary'))
}

/** A plain Uint8Array view of a (pooled) Buffer's bytes. */
const pooled = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length)
const fromHexBytes = (h: string): Uint8Array => pooled(Buffer.from(h, 'hex'))

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')
}

function sortedDeps(deps: Counters): (string | number)[] {
  const flat: (string | number)[] = []
  const authors = Object.keys(deps)
  for (const a of isAscending(authors) ? authors : authors.sort()) flat.push(a, deps[a])
  return flat
}

/**
 * True when the values are in ascending order. Sorting allocates even when there is nothing
 * to move, and the lists sorted per operation (keys, counters) almost always are in order.
 */
export function isAscending<T extends string | number>(values: readonly T[]): boolean {
  for (let i = 1; i < values.length; i++) if (!(values[i - 1] < values[i])) return false
  return true
}

/**
 * The text an operation's content hash is computed over: the UTF-8 JSON of its header fields
 * in a fixed order, with the body hash in hex. JSON of strings and numbers is exact and fast,
 * and easy to reproduce in another implementation. The stored form keeps this text
 * (core/log/storedOp.ts), so an operation hashed here is stored without a second serialisation.
 */
export function headerText(op: Omit<Operation, 'hash' | 'body'>): string {
  return headers.get(op) ?? headerWith(op, op.bodyHash ? hex(op.bodyHash) : null)
}

function headerWith(op: Omit<Operation, 'hash' | 'body'>, hashHex: string | null): string {
  return JSON.stringify([1, op.author, op.counter, op.kind, op.id, op.partition, op.type, op.layer, op.hlc, op.tx, sortedDeps(op.deps), hashHex])
}

/**
 * Header texts of operations whose hash this process computed (made here or received), kept
 * until the operation is stored. Operations are never changed after they are made: a purged
 * copy is a new object, with no entry here.
 */
const headers = new WeakMap<object, string>()

/** The content hash of an operation: sha256 of {@link headerText}. */
export function computeHash(op: Omit<Operation, 'hash' | 'body'>): Uint8Array {
  // Hashing the string hashes its UTF-8 bytes without an intermediate Buffer.
  return sha256(headerText(op))
}

/** Fills in `op.hash` from its header (computed once and kept for storing). */
function fillHash(op: Operation, text = headerText(op)): void {
  headers.set(op, text)
  op.hash = sha256(text)
}

/** Bodies are UTF-8 JSON bytes: the author's exact bytes travel and are hashed. */
export function encodeBody(body: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(body), 'utf8')
}

/**
 * Builds a complete operation (body hash and content hash) from its fields. With a `seed`, the
 * body is hashed behind the salt derived from it (only operations with a body keep the seed).
 */
export function makeOperation(fields: Omit<Operation, 'hash' | 'bodyHash' | 'body' | 'salt'> & { body: unknown }): Operation {
  const body = fields.body === null || fields.body === undefined ? null : encodeBody(fields.body)
  const seed = body && fields.seed ? fields.seed : null
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
    bodyHash: body ? pooled(Buffer.from(bodyHashHex(body, { counter: fields.counter, seed }), 'hex')) : null,
    hash: EMPTY_HASH,
    seed,
    salt: null,
  }
  fillHash(op)
  return op
}

/** Placeholder while an operation's hash is computed (never stored or compared). */
export const EMPTY_HASH = new Uint8Array(0)

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
  // Checked field by field as it was unpacked (core/sync/wire/opColumns.ts), with the same rules.
  if (verified.has(op)) return
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
  if (!isSaltField(op.seed) || !isSaltField(op.salt) || (op.seed && op.salt)) bad('a malformed salt')
  // Hashes computed here from the content cannot disagree with it: skip the second pass.
  if (headers.has(op)) return
  if (op.body && !equalBytes(fromHexBytes(bodyHashHex(op.body, op)), op.bodyHash)) {
    throw pollenError('POLLEN_HASH_MISMATCH', `operation ${opRef(op)}: its body does not match its body hash`)
  }
  if (!equalBytes(computeHash(op), op.hash)) {
    throw pollenError('POLLEN_HASH_MISMATCH', `operation ${opRef(op)}: its content does not match its hash`)
  }
}

/**
 * Completes an operation received without its hashes (the wire form, core/sync/wire/opColumns.ts), in
 * place: computes the body hash (kept as given only when the body was purged) and the content
 * hash. Its hashes need no second check in `verifyOperation`; with `checked`, the caller has
 * also checked every field by the rules of `verifyOperation`, which then skips it entirely.
 */
export function completeOperation(op: Operation, checked: boolean): Operation {
  if (op.body instanceof Uint8Array) {
    // The header wants the body hash in hex: hash straight to hex, and the bytes from that.
    const hashHex = bodyHashHex(op.body, op)
    op.bodyHash = pooled(Buffer.from(hashHex, 'hex'))
    fillHash(op, headerWith(op, hashHex))
  } else fillHash(op)
  if (checked) verified.add(op)
  return op
}

/** Operations received and checked field by field as they were unpacked. */
const verified = new WeakSet<Operation>()

/** The same operation without its body, as a purge leaves it: no seed or salt either, so nothing gives the body hash's salt back. */
export function purgedCopy(op: Operation): Operation {
  return { ...op, body: null, seed: null, salt: null }
}

/** True when `later` was written by an author who had seen `earlier`. */
export function dominates(later: Pick<Operation, 'deps'>, earlier: Pick<Operation, 'author' | 'counter'>): boolean {
  return (later.deps[earlier.author] ?? 0) >= earlier.counter
}
