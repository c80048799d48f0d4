/**
 * Chunk bodies: msgpack, compressed by one brotli stream kept across the chunks of a
 * session (each chunk is flushed, so it decodes as soon as it arrives; later chunks reuse the
 * window of earlier ones, which compresses repetitive operation headers far better than
 * compressing each chunk alone), signed with Ed25519 over (session, direction, seq, hash).
 */
import { pack, unpack } from './msgpack.js'
import * as zlib from 'node:zlib'
import { pollenError } from './errors.js'
import { sign, verify } from './identity.js'
import { equalBytes, sha256 } from './operation.js'
import { chunkSigned, isChunkPayload, type ChunkFrame, type ChunkPayload, type Direction } from './syncMessages.js'

/**
 * Compression settings. Brotli's quality is adapted per session: it starts at `quality`
 * (fast), and when the link, not the encoder, is what the stream waits for, it restarts the
 * compression stream once at `slowLinkQuality` (smaller output, slower to make).
 */
export interface CodecOptions {
  quality: number
  slowLinkQuality: number
}

export const DEFAULT_CODEC: CodecOptions = { quality: 5, slowLinkQuality: 9 }

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
      resolve(new Uint8Array(Buffer.concat(parts)))
    })
  })
}

function compressor(quality: number): zlib.BrotliCompress {
  return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality, [zlib.constants.BROTLI_PARAM_LGWIN]: 22, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC } })
}

/** The sending side of a session's compression stream. */
export class ChunkEncoder {
  #stream: zlib.BrotliCompress
  #quality: number
  readonly #opts: CodecOptions
  readonly #session: string
  readonly #direction: Direction
  readonly #secretKey: Uint8Array
  #seq = 0
  #producing = 0
  #waiting = 0
  #lastYield = 0

  constructor(session: string, direction: Direction, secretKey: Uint8Array, opts: CodecOptions = DEFAULT_CODEC) {
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
   * Compresses and signs one payload as the next chunk. Call it when the consumer asks for
   * the next chunk: the time between the previous return and this call is time the stream
   * waited for the link, which decides whether to switch to the slow-link quality.
   */
  async encode(payload: ChunkPayload): Promise<ChunkFrame> {
    const started = Date.now()
    if (this.#lastYield) this.#waiting += started - this.#lastYield
    let reset: number | undefined
    if (this.#quality !== this.#opts.slowLinkQuality && this.#seq >= 4 && this.#waiting > 2 * this.#producing) {
      // The link is the bottleneck: spend CPU on a smaller stream, from a fresh context.
      this.#stream.destroy()
      this.#quality = this.#opts.slowLinkQuality
      this.#stream = compressor(this.#quality)
      reset = this.#quality
    }
    const data = await collect(this.#stream, pack(payload), Number.MAX_SAFE_INTEGER)
    const hash = sha256(data)
    const seq = this.#seq++
    const frame: ChunkFrame = { t: 'chunk', session: this.#session, seq, data, hash, sig: sign(chunkSigned(this.#session, this.#direction, seq, hash), this.#secretKey) }
    if (reset !== undefined) frame.reset = reset
    this.#lastYield = Date.now()
    this.#producing += this.#lastYield - started
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
  #seq = 0

  constructor(session: string, direction: Direction, publicKey: Uint8Array, maxBytes: number) {
    this.#session = session
    this.#direction = direction
    this.#publicKey = publicKey
    this.#maxBytes = maxBytes
    this.#stream = zlib.createBrotliDecompress()
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
    if (!verify(chunkSigned(this.#session, this.#direction, frame.seq, frame.hash), frame.sig, this.#publicKey)) {
      throw pollenError('POLLEN_BAD_SIGNATURE', `chunk ${frame.seq} has a bad signature`)
    }
    if (frame.reset !== undefined) {
      // The sender restarted its compression stream at this chunk.
      this.#stream.destroy()
      this.#stream = zlib.createBrotliDecompress()
    }
    const raw = await collect(this.#stream, frame.data, this.#maxBytes)
    this.#seq += 1
    let payload: unknown
    try {
      payload = unpack(raw)
    } catch (cause) {
      throw pollenError('POLLEN_BAD_MESSAGE', `chunk ${frame.seq} is not valid msgpack`, { cause })
    }
    if (!isChunkPayload(payload)) throw pollenError('POLLEN_BAD_MESSAGE', `chunk ${frame.seq} is malformed`)
    return payload
  }

  close(): void {
    this.#stream.destroy()
  }
}
