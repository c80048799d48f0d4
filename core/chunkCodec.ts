/**
 * Chunk bodies: msgpack, compressed by one compression stream kept across the chunks of a
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

export type Codec = 'br' | 'deflate'

/** Compression settings; brotli quality 9 with a 4 MiB window is the default trade-off. */
export interface CodecOptions {
  codec: Codec
  quality: number
}

export const DEFAULT_CODEC: CodecOptions = { codec: 'br', quality: 9 }

function collect(stream: zlib.BrotliCompress | zlib.DeflateRaw | zlib.BrotliDecompress | zlib.InflateRaw, flushKind: number, input: Uint8Array, limit: number): Promise<Uint8Array> {
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
    stream.flush(flushKind, () => {
      cleanup()
      resolve(new Uint8Array(Buffer.concat(parts)))
    })
  })
}

/** The sending side of a session's compression stream. */
export class ChunkEncoder {
  readonly #stream: zlib.BrotliCompress | zlib.DeflateRaw
  readonly #flush: number
  readonly #session: string
  readonly #direction: Direction
  readonly #secretKey: Uint8Array
  #seq = 0

  constructor(session: string, direction: Direction, secretKey: Uint8Array, opts: CodecOptions = DEFAULT_CODEC) {
    this.#session = session
    this.#direction = direction
    this.#secretKey = secretKey
    if (opts.codec === 'br') {
      this.#stream = zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: opts.quality, [zlib.constants.BROTLI_PARAM_LGWIN]: 22, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC } })
      this.#flush = zlib.constants.BROTLI_OPERATION_FLUSH
    } else {
      this.#stream = zlib.createDeflateRaw({ level: Math.min(9, opts.quality), windowBits: 15, memLevel: 9 })
      this.#flush = zlib.constants.Z_SYNC_FLUSH
    }
  }

  /** Number of chunks encoded so far. */
  get count(): number {
    return this.#seq
  }

  /** Compresses and signs one payload as the next chunk. */
  async encode(payload: ChunkPayload): Promise<ChunkFrame> {
    const data = await collect(this.#stream, this.#flush, pack(payload), Number.MAX_SAFE_INTEGER)
    const hash = sha256(data)
    const seq = this.#seq++
    return { t: 'chunk', session: this.#session, seq, data, hash, sig: sign(chunkSigned(this.#session, this.#direction, seq, hash), this.#secretKey) }
  }

  close(): void {
    this.#stream.destroy()
  }
}

/** The receiving side: verifies order, session, hash and signature before decompressing. */
export class ChunkDecoder {
  readonly #stream: zlib.BrotliDecompress | zlib.InflateRaw
  readonly #flush: number
  readonly #session: string
  readonly #direction: Direction
  readonly #publicKey: Uint8Array
  readonly #maxBytes: number
  #seq = 0

  constructor(session: string, direction: Direction, publicKey: Uint8Array, maxBytes: number, codec: Codec = 'br') {
    this.#session = session
    this.#direction = direction
    this.#publicKey = publicKey
    this.#maxBytes = maxBytes
    if (codec === 'br') {
      this.#stream = zlib.createBrotliDecompress()
      this.#flush = zlib.constants.BROTLI_OPERATION_FLUSH
    } else {
      this.#stream = zlib.createInflateRaw()
      this.#flush = zlib.constants.Z_SYNC_FLUSH
    }
  }

  get count(): number {
    return this.#seq
  }

  /** Checks a chunk frame and returns its payload; throws a POLLEN_* error and consumes nothing on failure. */
  async decode(frame: ChunkFrame): Promise<ChunkPayload> {
    if (frame.session !== this.#session) throw pollenError('POLLEN_SESSION_UNKNOWN', `a chunk for session ${frame.session} arrived in session ${this.#session}`)
    if (frame.seq < this.#seq) throw pollenError('POLLEN_REPLAY', `chunk ${frame.seq} was already received`)
    if (frame.seq !== this.#seq) throw pollenError('POLLEN_BAD_MESSAGE', `expected chunk ${this.#seq}, got chunk ${frame.seq}`)
    if (!equalBytes(sha256(frame.data), frame.hash)) throw pollenError('POLLEN_HASH_MISMATCH', `chunk ${frame.seq} does not match its hash`)
    if (!verify(chunkSigned(this.#session, this.#direction, frame.seq, frame.hash), frame.sig, this.#publicKey)) {
      throw pollenError('POLLEN_BAD_SIGNATURE', `chunk ${frame.seq} has a bad signature`)
    }
    const raw = await collect(this.#stream, this.#flush, frame.data, this.#maxBytes)
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
