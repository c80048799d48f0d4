/**
 * The sync protocol's messages (see docs/protocol.md): discriminated unions with type guards
 * at the boundary, the length-prefixed framing, and the exact byte strings each signature
 * covers. Signatures cover bytes built here, never a re-serialised object.
 */
import { encode, decode } from '@msgpack/msgpack'
import type { VectorEntry } from './counterVector.js'
import type { Filter } from './diff.js'
import { pollenError } from './errors.js'
import { sha256 } from './operation.js'

export const PROTOCOL_VERSION = 1
export type SyncMode = 'pull' | 'push' | 'both'

/** Who an instance is on the wire. */
export interface Peerage {
  instance: string
  publicKey: Uint8Array
  author: string
}

/** Client → server: opens a session (one request; a pull answers in the same response). */
export interface OpenRequest {
  t: 'open'
  v: number
  user: string
  client: Peerage
  /** The server instance the client expects, or "" at first contact. */
  server: string
  nonce: Uint8Array
  time: number
  mode: SyncMode
  filter: Filter
  /** The client's vectors that bear on the filter (what it holds). */
  holder: VectorEntry[]
  sig: Uint8Array
}

/** Server → client: the session, the server's proof of identity, and each direction's terms. */
export interface OpenResponse {
  t: 'opened'
  v: number
  session: string
  server: Peerage & { languages: string[] }
  sig: Uint8Array
  pull?: { filter: Filter; report: VectorEntry[]; estimate: number }
  push?: { filter: Filter; holder: VectorEntry[] } | { refused: string; message: string }
}

/** A signed chunk of operations (compressed msgpack of {@link ChunkPayload}). */
export interface ChunkFrame {
  t: 'chunk'
  session: string
  seq: number
  data: Uint8Array
  hash: Uint8Array
  sig: Uint8Array
}

/** What a chunk carries once decompressed. */
export interface ChunkPayload {
  ops: unknown[]
  /** [author, through]: every operation of the author up to `through` that the receiver lacked has been sent. */
  progress: [string, number][]
}

/** Push only: the sender's claims, sent before its chunks. */
export interface BeginFrame {
  t: 'begin'
  session: string
  report: VectorEntry[]
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

function isVectorEntries(v: unknown, max = 100_000): v is VectorEntry[] {
  return Array.isArray(v) && v.length <= max && v.every((e) => isObj(e) && isStr(e.prefix) && isStr(e.layer, 16) && isObj(e.counters) && Object.values(e.counters).every(isInt))
}

export function isFilter(v: unknown): v is Filter {
  return isObj(v) && Array.isArray(v.prefixes) && v.prefixes.length <= 1000 && v.prefixes.every((p) => isStr(p)) && Array.isArray(v.languages) && v.languages.length <= 100 && v.languages.every((l) => isStr(l, 16))
}

function isPeerage(v: unknown): v is Peerage {
  return isObj(v) && isStr(v.instance, 64) && isBytes(v.publicKey, 32) && isStr(v.author, 80)
}

export function isOpenRequest(v: unknown): v is OpenRequest {
  return (
    isObj(v) && v.t === 'open' && v.v === PROTOCOL_VERSION && isStr(v.user, 64) && isPeerage(v.client) && isStr(v.server, 64) && isBytes(v.nonce, 16) &&
    isInt(v.time) && (v.mode === 'pull' || v.mode === 'push' || v.mode === 'both') && isFilter(v.filter) && isVectorEntries(v.holder) && isBytes(v.sig, 64)
  )
}

export function isOpenResponse(v: unknown): v is OpenResponse {
  return isObj(v) && v.t === 'opened' && isStr(v.session, 64) && isPeerage(v.server) && isBytes(v.sig, 64)
}

export function isChunkFrame(v: unknown): v is ChunkFrame {
  return isObj(v) && v.t === 'chunk' && isStr(v.session, 64) && isInt(v.seq) && isBytes(v.data) && isBytes(v.hash, 32) && isBytes(v.sig, 64)
}

export function isBeginFrame(v: unknown): v is BeginFrame {
  return isObj(v) && v.t === 'begin' && isStr(v.session, 64) && isVectorEntries(v.report) && isBytes(v.sig, 64)
}

export function isEndFrame(v: unknown): v is EndFrame {
  return isObj(v) && v.t === 'end' && isStr(v.session, 64) && isInt(v.chunks) && isBytes(v.sig, 64)
}

export function isErrorFrame(v: unknown): v is ErrorFrame {
  return isObj(v) && v.t === 'error' && isStr(v.code, 64) && typeof v.message === 'string'
}

export function isPushResult(v: unknown): v is PushResult {
  return isObj(v) && v.t === 'pushed' && isInt(v.applied) && isInt(v.chunks)
}

export function isChunkPayload(v: unknown): v is ChunkPayload {
  return isObj(v) && Array.isArray(v.ops) && Array.isArray(v.progress) && v.progress.every((p) => Array.isArray(p) && p.length === 2 && isStr(p[0], 80) && isInt(p[1]))
}

// ---- signed byte strings -------------------------------------------------------------

/** What the client signs to open: binds nonce, time, user, both instances and the request. */
export function openSigned(req: Omit<OpenRequest, 'sig'>): Uint8Array {
  const { sig: _ignored, ...rest } = req as OpenRequest
  return encode(['pollen-open', req.nonce, req.time, req.user, req.client.instance, req.server, sha256(encode(stableRequest(rest)))])
}

// The request hash covers every field in a fixed order.
function stableRequest(r: Omit<OpenRequest, 'sig'>): unknown[] {
  return [r.t, r.v, r.user, r.client.instance, r.client.publicKey, r.client.author, r.server, r.nonce, r.time, r.mode, r.filter.prefixes, r.filter.languages, r.holder.map((e) => [e.prefix, e.layer, Object.entries(e.counters).sort()])]
}

/** What the server signs when it answers: the client's fresh nonce and the session. */
export function openedSigned(clientNonce: Uint8Array, session: string, server: string, client: string): Uint8Array {
  return encode(['pollen-opened', clientNonce, session, server, client])
}

export type Direction = 'pull' | 'push'

export function chunkSigned(session: string, direction: Direction, seq: number, hash: Uint8Array): Uint8Array {
  return encode(['pollen-chunk', session, direction, seq, hash])
}

export function beginSigned(session: string, report: VectorEntry[]): Uint8Array {
  return encode(['pollen-begin', session, sha256(encode(report.map((e) => [e.prefix, e.layer, Object.entries(e.counters).sort()])))])
}

export function endSigned(session: string, direction: Direction, chunks: number): Uint8Array {
  return encode(['pollen-end', session, direction, chunks])
}

// ---- framing -------------------------------------------------------------------------

/** One frame: a 4-byte big-endian length, then msgpack. */
export function encodeFrame(frame: Frame): Uint8Array {
  const body = encode(frame)
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
      let frame: unknown
      try {
        frame = decode(body)
      } catch (cause) {
        throw pollenError('POLLEN_BAD_MESSAGE', 'a frame is not valid msgpack', { cause })
      }
      yield frame
    }
  }
  if (buf.length > 0) throw pollenError('POLLEN_BAD_MESSAGE', `the stream ended inside a frame (${buf.length} bytes left over)`)
}
