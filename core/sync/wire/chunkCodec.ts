/**
 * Chunk bodies: msgpack, compressed by one brotli stream kept across the chunks of a
 * session (each chunk is flushed, so it decodes as soon as it arrives; later chunks reuse the
 * window of earlier ones, which compresses repetitive operation headers far better than
 * compressing each chunk alone), signed with Ed25519 over (session, direction, seq, hash).
 */
import { pack, type Unpacker } from '../../msgpack.js'
import * as zlib from 'node:zlib'
import { pollenError } from '../../errors.js'
import { chunkUnpacker, MAX_CHUNK_OPS } from './limits.js'
import { sign, verifyAsync } from '../../model/identity.js'
import { equalBytes, sha256 } from '../../model/operation.js'
import { chunkSigned, isChunkPayload, type ChunkFrame, type ChunkPayload, type Direction } from './frames.js'

/**
 * Compression settings. Brotli's quality is adapted per session: it starts at `quality`
 * (fast) and, every few chunks, moves to the highest quality up to `slowLinkQuality` that
 * it can produce faster than the link carries it (restarting the compression stream).
 */
export interface CodecOptions {
  quality: number
  slowLinkQuality: number
}

export const DEFAULT_CODEC: CodecOptions = { quality: 5, slowLinkQuality: 11 }

/**
 * Encoder time and output size per brotli quality 0–11, relative to quality 5, measured on
 * the bench's resources in the column form, chunks of about 150 KB, window 2²². Qualities
 * 10 and 11 switch to optimal parsing: 5–10× slower than 9 for 8–10% fewer bytes, which on
 * a slow link is worth it and on a fast one would make the encoder the bottleneck.
 */
const COST = [0.09, 0.11, 0.37, 0.6, 0.45, 1, 1.5, 1.9, 2.2, 3.3, 20, 38]
const SIZE = [1.29, 1.21, 1.09, 1.07, 1.04, 1, 0.98, 0.96, 0.95, 0.94, 0.86, 0.84]
/** The encoder must be this much faster than the link at the quality it switches to. */
const HEADROOM = 1.1
/** Share of a window spent waiting for the link above which the link, not the sender, set its pace. */
const LINK_BOUND = 0.1
/** Chunks in each measurement window; the quality is reconsidered after each window. */
const WINDOW = 4
/** Restarts of the compression stream allowed per stream (each loses the window's context). */
const MAX_SWITCHES = 4

/**
 * Milliseconds a window of chunks spent compressing, on fixed work (making payloads,
 * packing, signing: `reading`), and waiting for the link; `link`, when the receiver's acks measured the link's rate, is how long the link
 * needs to carry the window's output.
 */
export interface WindowTimes {
  encoding: number
  reading: number
  waiting: number
  link?: number
  /** The receiver's acks said it was busy applying, not waiting for data: it set the pace. */
  receiverBound?: boolean
}

/**
 * The quality a stream steps down to while the receiver sets the pace: by the tables, 0.45×
 * the CPU of quality 5 for 4% more bytes. Compressing harder than the receiver can take in
 * makes no pull faster; the sender's CPU is better spent on its other peers (and, where both
 * run on one machine, on the receiver).
 */
export const RECEIVER_BOUND_QUALITY = 4

/**
 * A window that did not wait, and whose output the link (by the acks' rate) carried within
 * this multiple of the window's own time, was paced by the sender: the link took everything
 * as fast as it was made, so the measured rate is the sender's own.
 */
const OWN_PACE = 1.5
/** A step down in a sender-paced window must cut the window's work by at least this share. */
const STEP_DOWN_SAVING = 0.25
/** The lowest quality a sender-paced stream steps down to: 0 saves little CPU over 1 for 7% more bytes. */
const SENDER_PACED_FLOOR = 1

/**
 * The quality for the next window, given how the last one spent its time at `current`:
 * the highest quality in [`min`, `max`] whose encoder, by the COST and SIZE tables, would
 * still produce faster than the link carries its output (with HEADROOM). The link's time is
 * `link` when measured, else the window's whole time. Only a window that waited for the
 * link a real share of its time (LINK_BOUND) gives a reason to spend more: otherwise the
 * sender itself set the pace, and it keeps `current` or, when the encoder is what the link
 * waits for, steps down. `seen[q]`, when given, is what compressing the same input took at
 * quality q earlier in the stream; it replaces the table's estimate, so a quality found too
 * slow is not tried again and again.
 *
 * Two cases step below `min`. A window in which the receiver set the pace (`receiverBound`)
 * goes no higher than {@link RECEIVER_BOUND_QUALITY}. A window the sender set the pace of
 * while the link took all it made (OWN_PACE) steps to the highest quality that cuts the
 * window's work by STEP_DOWN_SAVING (5 → 4 → 1 by the tables): a sender on a small board
 * serving a fast network is then slowed by nothing but its own compression, and less of it
 * makes the pull faster, while a link that cannot take the larger output makes the sender
 * wait again, which is a reason to step back up.
 */
export function pickQuality(current: number, min: number, max: number, ms: WindowTimes, seen: Readonly<Record<number, number>> = {}): number {
  if (ms.receiverBound) return Math.min(current, RECEIVER_BOUND_QUALITY)
  const total = ms.encoding + ms.reading + ms.waiting
  const link = ms.link ?? total
  const linkBound = ms.waiting > total * LINK_BOUND
  const work = (q: number) => (q === current ? ms.encoding : (seen[q] ?? ms.encoding * (COST[q] / COST[current]))) + ms.reading
  if (!linkBound && ms.link !== undefined && ms.link <= total * OWN_PACE) {
    for (let q = current - 1; q >= SENDER_PACED_FLOOR; q--) if (work(q) <= work(current) * (1 - STEP_DOWN_SAVING)) return q
    return current
  }
  for (let q = Math.min(max, 11); q >= min; q--) {
    if (q > current && !linkBound) continue
    if (q === current ? work(q) < link : work(q) * HEADROOM <= link * (SIZE[q] / SIZE[current])) return q
  }
  return Math.min(current, min)
}

const FLUSH = zlib.constants.BROTLI_OPERATION_FLUSH

function collect(stream: zlib.BrotliCompress | zlib.BrotliDecompress, input: Uint8Array, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let size = 0
    const onData = (b: Buffer) => {
      size += b.length
      if (size > limit) {
        cleanup()
        // The stream is useless after this; stop it from inflating the rest in the background.
        stream.destroy()
        reject(pollenError('POLLEN_CHUNK_TOO_LARGE', `a chunk decompresses to more than ${limit} bytes`))
        return
      }
      parts.push(b)
    }
    const onError = (err: Error) => {
      cleanup()
      reject(pollenError('POLLEN_BAD_MESSAGE', `a chunk does not decompress: ${err.message}`, { cause: err }))
    }
    const cleanup = () => {
      stream.off('data', onData)
      stream.off('error', onError)
    }
    stream.on('data', onData)
    stream.on('error', onError)
    stream.write(input)
    stream.flush(FLUSH, () => {
      cleanup()
      const out = Buffer.concat(parts)
      resolve(new Uint8Array(out.buffer, out.byteOffset, out.length))
    })
  })
}

// zlib's streams hand out 16 KiB at a time by default; a chunk's compressed output (up to
// about 64 KiB) and its raw payload (up to about 128 KiB plus framing) each in one piece
// halves the CPU of decompressing a chunk.
const COMPRESSED_OUT = 64 * 1024
const RAW_OUT = 256 * 1024

function decompressor(): zlib.BrotliDecompress {
  return zlib.createBrotliDecompress({ chunkSize: RAW_OUT })
}

function compressor(quality: number): zlib.BrotliCompress {
  return zlib.createBrotliCompress({ chunkSize: COMPRESSED_OUT, params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality, [zlib.constants.BROTLI_PARAM_LGWIN]: 22, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC } })
}

/** The sending side of a session's compression stream. */
export class ChunkEncoder {
  #stream: zlib.BrotliCompress
  #quality: number
  #switches = 0
  readonly #opts: CodecOptions
  readonly #session: string
  readonly #direction: Direction
  readonly #secretKey: Uint8Array
  #seq = 0
  #ms: WindowTimes = { encoding: 0, reading: 0, waiting: 0 }
  #windowBytes = 0
  #windowRaw = 0
  /** Milliseconds per input byte measured at each quality used so far. */
  readonly #costs: Record<number, number> = {}
  #rate: number | undefined
  #receiverBusy = false
  #lastYield = 0
  #readSinceYield = 0

  readonly #now: () => number

  /** `now` is a millisecond clock, sub-millisecond where it can be (tests pass their own). */
  constructor(session: string, direction: Direction, secretKey: Uint8Array, opts: CodecOptions = DEFAULT_CODEC, now: () => number = () => performance.now()) {
    this.#now = now
    this.#session = session
    this.#direction = direction
    this.#secretKey = secretKey
    this.#opts = opts
    this.#quality = opts.quality
    this.#stream = compressor(opts.quality)
  }

  /** Number of chunks encoded so far. */
  get count(): number {
    return this.#seq
  }

  /** The quality in use (for tests and metrics). */
  get quality(): number {
    return this.#quality
  }

  /**
   * Tells the encoder that `ms` of the time since its last chunk went into making the next
   * payload (reading the log), so that time is not mistaken for waiting on the link.
   */
  reading(ms: number): void {
    this.#readSinceYield += ms
  }

  /**
   * The link's rate in bytes per millisecond as the receiver's acks measured it, or
   * undefined when unknown (or when the receiver, not the link, sets the pace).
   */
  linkRate(bytesPerMs: number | undefined): void {
    this.#rate = bytesPerMs
  }

  /** Whether the receiver's latest ack said it was busy applying rather than waiting for data. */
  receiverBusy(busy: boolean): void {
    this.#receiverBusy = busy
  }

  /**
   * Compresses and signs one payload as the next chunk. Call it when the consumer asks for
   * the next chunk: the time between the previous return and this call, less what
   * `reading` reported, is time the stream waited for the link, which decides the quality.
   */
  async encode(payload: ChunkPayload): Promise<ChunkFrame> {
    const started = this.#now()
    if (this.#seq > 0) {
      this.#ms.reading += this.#readSinceYield
      this.#ms.waiting += Math.max(0, started - this.#lastYield - this.#readSinceYield)
    }
    this.#readSinceYield = 0
    let reset: number | undefined
    if (this.#seq > 0 && this.#seq % WINDOW === 0 && this.#switches < MAX_SWITCHES) {
      if (this.#rate) this.#ms.link = this.#windowBytes / this.#rate
      if (this.#receiverBusy) this.#ms.receiverBound = true
      this.#costs[this.#quality] = this.#ms.encoding / this.#windowRaw
      const seen: Record<number, number> = {}
      for (const [q, perByte] of Object.entries(this.#costs)) seen[Number(q)] = perByte * this.#windowRaw
      const q = pickQuality(this.#quality, this.#opts.quality, this.#opts.slowLinkQuality, this.#ms, seen)
      this.#ms = { encoding: 0, reading: 0, waiting: 0 }
      this.#windowBytes = 0
      this.#windowRaw = 0
      if (q !== this.#quality) {
        // Restart from a fresh context: more CPU for a smaller stream when the link is the
        // bottleneck, less when the encoder is.
        this.#stream.destroy()
        this.#quality = q
        this.#stream = compressor(q)
        this.#switches += 1
        reset = q
      }
    }
    const raw = pack(payload)
    this.#windowRaw += raw.length
    const compressing = this.#now()
    const data = await collect(this.#stream, raw, Number.MAX_SAFE_INTEGER)
    const compressed = this.#now()
    const hash = sha256(data)
    this.#windowBytes += data.length
    const seq = this.#seq++
    const frame: ChunkFrame = { t: 'chunk', session: this.#session, seq, data, hash, sig: sign(chunkSigned(this.#session, this.#direction, seq, hash), this.#secretKey) }
    if (reset !== undefined) frame.reset = reset
    this.#lastYield = this.#now()
    // Only compression scales with the quality; packing, hashing and signing are fixed work.
    this.#ms.encoding += compressed - compressing
    this.#ms.reading += this.#lastYield - started - (compressed - compressing)
    return frame
  }

  close(): void {
    this.#stream.destroy()
  }
}

/** The receiving side: verifies order, session, hash and signature before decompressing. */
export class ChunkDecoder {
  #stream: zlib.BrotliDecompress
  readonly #session: string
  readonly #direction: Direction
  readonly #publicKey: Uint8Array
  readonly #maxBytes: number
  readonly #payloads: Unpacker
  #seq = 0
  /** Bytes of the chunks taken, as sent and decompressed (their ratio sizes chunks after a cut). */
  wireBytes = 0
  rawBytes = 0

  /** `maxBytes` bounds a chunk decompressed, `maxOps` its operations and with them its msgpack values. */
  constructor(session: string, direction: Direction, publicKey: Uint8Array, maxBytes: number, maxOps = MAX_CHUNK_OPS) {
    this.#session = session
    this.#direction = direction
    this.#publicKey = publicKey
    this.#maxBytes = maxBytes
    this.#payloads = chunkUnpacker(maxOps)
    this.#stream = decompressor()
  }

  get count(): number {
    return this.#seq
  }

  /**
   * Checks a chunk frame and returns its payload. Order, hash and signature are checked
   * before anything is decompressed; a failure after that leaves the stream unusable (the
   * session ends either way).
   */
  async decode(frame: ChunkFrame): Promise<ChunkPayload> {
    if (frame.session !== this.#session) throw pollenError('POLLEN_SESSION_UNKNOWN', `a chunk for session ${frame.session} arrived in session ${this.#session}`)
    if (frame.seq < this.#seq) throw pollenError('POLLEN_REPLAY', `chunk ${frame.seq} was already received`)
    if (frame.seq !== this.#seq) throw pollenError('POLLEN_BAD_MESSAGE', `expected chunk ${this.#seq}, got chunk ${frame.seq}`)
    if (!equalBytes(sha256(frame.data), frame.hash)) throw pollenError('POLLEN_HASH_MISMATCH', `chunk ${frame.seq} does not match its hash`)
    // On the thread pool: while it is checked, the loop writes the chunk before (core/sync/client.ts).
    if (!(await verifyAsync(chunkSigned(this.#session, this.#direction, frame.seq, frame.hash), frame.sig, this.#publicKey))) {
      throw pollenError('POLLEN_BAD_SIGNATURE', `chunk ${frame.seq} has a bad signature`)
    }
    if (frame.reset !== undefined) {
      // The sender restarted its compression stream at this chunk.
      this.#stream.destroy()
      this.#stream = decompressor()
    }
    const raw = await collect(this.#stream, frame.data, this.#maxBytes)
    this.#seq += 1
    this.wireBytes += frame.data.length
    this.rawBytes += raw.length
    const payload = this.#payloads.unpack(raw, `chunk ${frame.seq}`)
    if (!isChunkPayload(payload)) throw pollenError('POLLEN_BAD_MESSAGE', `chunk ${frame.seq} is malformed`)
    return payload
  }

  close(): void {
    this.#stream.destroy()
  }
}
