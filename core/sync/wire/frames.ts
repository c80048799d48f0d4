/**
 * The sync protocol's messages (see docs/protocol.md): discriminated unions with type guards
 * at the boundary, the length-prefixed framing, and the exact byte strings each signature
 * covers. Signatures cover bytes built here, never a re-serialised object.
 */
import type { SignedHead } from '../../model/head.js'
import { pack } from '../../msgpack.js'
import type { VectorEntry } from '../../model/counterVector.js'
import { isPollenError, pollenError } from '../../errors.js'
import { BEGIN_REPORT, decodeVectors, frameUnpacker } from './limits.js'

export { MAX_BUCKETS, MAX_CHECKS, MIN_BUCKET } from './limits.js'

/** A sync filter: partition prefixes and the languages wanted ("" is always included). */
export interface Filter {
  prefixes: string[]
  languages: string[]
}

export const PROTOCOL_VERSION = 6
export type SyncMode = 'pull' | 'push' | 'both'
/** What an open request asks for: a sync, or a check of the client's claims (§9.5). */
export type OpenMode = SyncMode | 'verify'

/**
 * The checker's count of one claim of the holder (§9.5): its operations by `author` under
 * `prefix` in `layer` with counter ≤ `through`, per bucket of `bucket` counters.
 */
export interface ClaimCount {
  prefix: string
  layer: string
  author: string
  through: number
  bucket: number
  counts: number[]
}

/** Who an instance is on the wire. */
export interface Peerage {
  instance: string
  publicKey: Uint8Array
  author: string
}

/** What a client asks for when it opens a session. */
export interface OpenTerms {
  v: number
  user: string
  client: Peerage
  /** The server instance the client expects, or "" at first contact. */
  server: string
  nonce: Uint8Array
  mode: OpenMode
  filter: Filter
  /** The client's claims that bear on the filter (what it holds). */
  holder: VectorEntry[]
  /** The client acknowledges pulled chunks (§8.4), so the server may pace the pull by them. */
  acks: boolean
  /** The client's head now (its epoch is the client author's). */
  head: SignedHead
  /** The best head the client holds of the server's instance (the pinned one), or null. */
  yourHead: SignedHead | null
  /**
   * The largest pulled chunk the client asks for, in bytes before compression, or 0 for the
   * server's own size: after a cut link the client asks for chunks that complete before the
   * next cut (core/sync/cutPolicy.ts). The server keeps it within its own size and a floor.
   */
  chunkBytes: number
  /**
   * The most bytes per second the client wants the server to send in the pull (a capped
   * peer, `--max-kbps`), or 0 for no cap. The server keeps at least MIN_RATE_BYTES.
   */
  maxRate: number
  /**
   * The most chunk bytes the client wants in the pull (what a metered peer's budget has left
   * today), or 0 for no limit. The server sends no chunk once it has sent this many, and
   * ends the stream without an end frame: the client, which asked, reads that as its budget.
   */
  maxBytes: number
  /**
   * The link's rate, in bytes per second, that the client measured in its last pull from
   * this server while it waited for data, or 0 when unknown: the server starts the pull at
   * the compression that rate allows instead of measuring it first (quality.ts).
   */
  linkRate: number
}

/** Client → server: the terms as msgpack bytes and the client's signature over them. */
export interface OpenRequest {
  t: 'open'
  body: Uint8Array
  sig: Uint8Array
}

/** What the server answers: the session, its identity, and each direction's terms. */
export interface OpenedTerms {
  v: number
  session: string
  /** The client's nonce, echoed: the signature over these bytes is fresh. */
  nonce: Uint8Array
  server: Peerage & { languages: string[] }
  pull?: { filter: Filter; report: VectorEntry[]; estimate: number; complete: boolean }
  push?: { filter: Filter; holder: VectorEntry[] } | { refused: string; message: string }
  /** Verify mode only: the server's counts of the client's claims; no session follows. */
  verify?: { filter: Filter; counts: ClaimCount[] }
  /** The server's head now. */
  head: SignedHead
  /** The best head the server holds of the client's instance, when later than the client's own; else null. */
  yourHead: SignedHead | null
}

/** Server → client: the answer as msgpack bytes and the server's signature over them. */
export interface OpenResponse {
  t: 'opened'
  body: Uint8Array
  sig: Uint8Array
}

/** A signed chunk of operations (compressed msgpack of {@link ChunkPayload}). */
export interface ChunkFrame {
  t: 'chunk'
  session: string
  seq: number
  data: Uint8Array
  hash: Uint8Array
  sig: Uint8Array
  /** Present when the sender restarted its compression stream at this chunk (the new quality). */
  reset?: number
}

/** What a chunk carries once decompressed. */
export interface ChunkPayload {
  /** The operations in columns (core/sync/wire/opColumns.ts); checked by `unpackOps`. */
  ops: unknown
  /** [author, through]: every operation of the author up to `through` that the receiver lacked has been sent. */
  progress: [string, number][]
  /** The authors' seals over the chunk's operations (§11.2); checked by `checkSeals`. */
  seals: unknown
  /** The Ed25519 public keys the seals name by index. */
  keys: unknown
}

/**
 * One seal in a chunk (§11.2): [author, index of its key, segment, first counter covered,
 * chain digest before it (null at the segment's start), the seal's last counter, signature,
 * the 32-byte hashes of the covered counters the chunk does not carry, in counter order].
 */
export type WireSeal = [string, number, number, number, Uint8Array | null, number, Uint8Array, Uint8Array]

/** Push only: the sender's claims (wire vectors as msgpack bytes), sent before its chunks. */
export interface BeginFrame {
  t: 'begin'
  session: string
  body: Uint8Array
  sig: Uint8Array
}

/** The end of a stream: `chunks` sent; every author's stream complete. */
export interface EndFrame {
  t: 'end'
  session: string
  chunks: number
  sig: Uint8Array
}

export interface ErrorFrame {
  t: 'error'
  code: string
  message: string
}

/** The server's answer to a push stream. */
export interface PushResult {
  t: 'pushed'
  applied: number
  duplicates: number
  new: number
  updated: number
  unchanged: number
  conflicts: number
  chunks: number
}

export type Frame = OpenResponse | ChunkFrame | BeginFrame | EndFrame | ErrorFrame | PushResult

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isBytes = (v: unknown, len?: number): v is Uint8Array => v instanceof Uint8Array && (len === undefined || v.length === len)
const isStr = (v: unknown, max = 256): v is string => typeof v === 'string' && v.length <= max
const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

export function isOpenRequest(v: unknown): v is OpenRequest {
  return isObj(v) && v.t === 'open' && isBytes(v.body) && isBytes(v.sig, 64)
}

export function isOpenResponse(v: unknown): v is OpenResponse {
  return isObj(v) && v.t === 'opened' && isBytes(v.body) && isBytes(v.sig, 64)
}

/** The claims of a push's begin frame (§3.3); throws POLLEN_BAD_MESSAGE or POLLEN_LIMIT_EXCEEDED. */
export function decodeReport(bytes: Uint8Array): VectorEntry[] {
  const v = BEGIN_REPORT.unpack(bytes, 'the begin frame')
  if (!isObj(v)) throw pollenError('POLLEN_BAD_MESSAGE', 'the begin frame has malformed vectors')
  return decodeVectors(v.authors, v.rows, 'the begin frame')
}

export function isChunkFrame(v: unknown): v is ChunkFrame {
  return isObj(v) && v.t === 'chunk' && isStr(v.session, 64) && isInt(v.seq) && isBytes(v.data) && isBytes(v.hash, 32) && isBytes(v.sig, 64) && (v.reset === undefined || isInt(v.reset))
}

export function isBeginFrame(v: unknown): v is BeginFrame {
  return isObj(v) && v.t === 'begin' && isStr(v.session, 64) && isBytes(v.body) && isBytes(v.sig, 64)
}

export function isEndFrame(v: unknown): v is EndFrame {
  return isObj(v) && v.t === 'end' && isStr(v.session, 64) && isInt(v.chunks) && isBytes(v.sig, 64)
}

/** The in-band error frame for an error: a PollenError's code and message; anything else is POLLEN_SYNC_FAILED. */
export function errorFrame(err: unknown): ErrorFrame {
  if (isPollenError(err)) return { t: 'error', code: err.code, message: err.message }
  return { t: 'error', code: 'POLLEN_SYNC_FAILED', message: (err as Error)?.message ?? String(err) }
}

export function isErrorFrame(v: unknown): v is ErrorFrame {
  return isObj(v) && v.t === 'error' && isStr(v.code, 64) && typeof v.message === 'string'
}

export function isPushResult(v: unknown): v is PushResult {
  return isObj(v) && v.t === 'pushed' && isInt(v.applied) && isInt(v.chunks)
}

export function isChunkPayload(v: unknown): v is ChunkPayload {
  return isObj(v) && 'ops' in v && Array.isArray(v.seals) && Array.isArray(v.keys) && Array.isArray(v.progress) && v.progress.every((p) => Array.isArray(p) && p.length === 2 && isStr(p[0], 80) && isInt(p[1]))
}

// ---- signed byte strings -------------------------------------------------------------

/** What the client signs to open: the exact bytes of its terms (which hold a fresh nonce). */
export function openSigned(body: Uint8Array): Uint8Array {
  return pack(['pollen-open', body])
}

/** What the server signs: the client's fresh nonce and the exact bytes of its answer. */
export function openedSigned(nonce: Uint8Array, body: Uint8Array): Uint8Array {
  return pack(['pollen-opened', nonce, body])
}

export type Direction = 'pull' | 'push'

export function chunkSigned(session: string, direction: Direction, seq: number, hash: Uint8Array): Uint8Array {
  return pack(['pollen-chunk', session, direction, seq, hash])
}

export function beginSigned(session: string, body: Uint8Array): Uint8Array {
  return pack(['pollen-begin', session, body])
}

export function endSigned(session: string, direction: Direction, chunks: number): Uint8Array {
  return pack(['pollen-end', session, direction, chunks])
}

// ---- framing -------------------------------------------------------------------------

/** One frame: a 4-byte big-endian length, then msgpack. */
export function encodeFrame(frame: Frame): Uint8Array {
  const body = pack(frame)
  const out = new Uint8Array(4 + body.length)
  new DataView(out.buffer).setUint32(0, body.length)
  out.set(body, 4)
  return out
}

/**
 * Splits a byte stream into decoded frames. A frame over `maxFrame` bytes is refused
 * before it is buffered, so a peer cannot make us hold an unbounded body.
 */
export async function* readFrames(source: AsyncIterable<Uint8Array>, maxFrame: number): AsyncIterable<unknown> {
  const frames = frameUnpacker(maxFrame)
  let buf = new Uint8Array(0)
  for await (const piece of source) {
    const next = new Uint8Array(buf.length + piece.length)
    next.set(buf)
    next.set(piece, buf.length)
    buf = next
    for (;;) {
      if (buf.length < 4) break
      const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0)
      if (len > maxFrame) throw pollenError('POLLEN_BODY_TOO_LARGE', `a frame of ${len} bytes exceeds the limit of ${maxFrame}`)
      if (buf.length < 4 + len) break
      const body = buf.subarray(4, 4 + len)
      buf = buf.slice(4 + len)
      yield frames.unpack(body, 'a frame')
    }
  }
  if (buf.length > 0) throw pollenError('POLLEN_BAD_MESSAGE', `the stream ended inside a frame (${buf.length} bytes left over)`)
}
