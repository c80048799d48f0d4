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
import { DEFAULT_CODEC, LINK_BOUND, MAX_SWITCHES, pickQuality, rememberWindow, startQuality, WINDOW, type CodecMemory, type CodecOptions, type WindowTimes } from './quality.js'

/** What a sender knows before a stream's first chunk. */
export interface EncoderStart {
  /** The link's rate in bytes per millisecond, when remembered (or capped); the stream then starts at the quality it allows. */
  linkRate?: number
  /** The sender's measurements across its streams: read for the start quality only, and kept up to date. */
  memory?: CodecMemory
  /**
   * Whether the receiver acknowledges chunks (a pull's server knows): with acks a cold stream
   * waits for their rate; without them a pull starts at the fast quality. Undefined (a
   * push, which the sender makes for itself): cold, deciding two windows in.
   */
  acks?: boolean
}

/**
 * The chunks by which a cold stream decides without a rate: two windows when no acks will
 * measure one (a push, a client without acks); eight when they will, a bound for acks that
 * do not come (on a slow link the first rate arrives after about a dozen chunks).
 */
const COLD_CHUNKS = { acks: 8 * WINDOW, none: 2 * WINDOW }

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
// about 160 KiB for text) and its raw payload (up to about 512 KiB plus framing, the
// default chunk) each in one piece halves the CPU of decompressing a chunk.
const COMPRESSED_OUT = 192 * 1024
const RAW_OUT = 640 * 1024

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
  /** Started at the cold quality, and no decision made yet. */
  #cold = false
  readonly #memory: CodecMemory | undefined
  readonly #coldChunks: number

  readonly #now: () => number

  /** `now` is a millisecond clock, sub-millisecond where it can be (tests pass their own). */
  constructor(session: string, direction: Direction, secretKey: Uint8Array, opts: CodecOptions = DEFAULT_CODEC, now: () => number = () => performance.now(), start: EncoderStart = {}) {
    this.#now = now
    this.#session = session
    this.#direction = direction
    this.#secretKey = secretKey
    this.#opts = opts
    this.#memory = start.memory
    this.#coldChunks = start.acks ? COLD_CHUNKS.acks : COLD_CHUNKS.none
    // A claimed rate starts the stream no higher than a cold one would: only the acks after
    // it may take it to the slowest, costliest quality.
    const highest = Math.min(opts.slowLinkQuality, opts.coldQuality ?? opts.slowLinkQuality)
    if (start.linkRate && start.linkRate > 0) this.#quality = startQuality(start.linkRate, start.memory ?? { msPerByte: {}, ratio: {} }, opts.quality, highest)
    else {
      // Cold only when a rate will come to decide by: a receiver that acks (a pull's server
      // is told), or a push the sender makes for itself (start.acks undefined).
      this.#quality = start.acks === false ? opts.quality : (opts.coldQuality ?? opts.quality)
      this.#cold = this.#quality !== opts.quality
    }
    this.#stream = compressor(this.#quality)
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
    // A cold stream decides as soon as a rate (or a busy receiver) says anything of the
    // link, or a wait does, and by COLD_CHUNKS at the latest.
    const waited = this.#ms.waiting > (this.#ms.encoding + this.#ms.reading + this.#ms.waiting) * LINK_BOUND && this.#seq >= WINDOW
    const due = this.#cold ? this.#rate !== undefined || this.#receiverBusy || waited || this.#seq >= this.#coldChunks : this.#seq % WINDOW === 0
    if (this.#seq > 0 && due && this.#switches < MAX_SWITCHES) {
      if (this.#rate) this.#ms.link = this.#windowBytes / this.#rate
      if (this.#receiverBusy) this.#ms.receiverBound = true
      this.#costs[this.#quality] = this.#ms.encoding / this.#windowRaw
      if (this.#memory) {
        rememberWindow(this.#memory, this.#quality, this.#costs[this.#quality], this.#windowRaw / this.#windowBytes)
      }
      const seen: Record<number, number> = {}
      for (const [q, perByte] of Object.entries(this.#costs)) seen[Number(q)] = perByte * this.#windowRaw
      const q = pickQuality(this.#quality, this.#opts.quality, this.#opts.slowLinkQuality, this.#ms, seen, this.#cold)
      this.#cold = false
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
