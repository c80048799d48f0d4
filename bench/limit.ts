/**
 * The physical limit of a scenario: no sync protocol can beat sending the payload once,
 * compressed as well as a general-purpose compressor can (brotli, quality 11, largest
 * standard window) as one stream, at the link's rate, after one round trip to ask for it.
 * Ratios to this number say how much of the link a protocol wastes.
 */
import zlib from 'node:zlib'
import { promisify } from 'node:util'

const brotli = promisify(zlib.brotliCompress)

/** The limit of one scenario. */
export interface PhysicalLimit {
  /** Brotli-11 size of the payload in bytes. */
  bytes: number
  /** Milliseconds: `bytes * 8 / rate` plus one RTT. */
  ms: number
}

/** The link a limit is computed for. */
export interface LimitLink {
  /** Bits per second of the bottleneck direction (payload flows down); `Infinity` allowed. */
  rateBps: number
  /** Round-trip time in milliseconds. */
  rttMs: number
}

/** Size of `payload` compressed with brotli at quality 11, window 2^24 (the best it does). */
export async function brotliSize(payload: Buffer | string): Promise<number> {
  const buf = typeof payload === 'string' ? Buffer.from(payload) : payload
  const out = await brotli(buf, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
    },
  })
  return out.length
}

/** Time to carry `bytes` over `link` plus one RTT (the request that starts the transfer). */
export function limitMs(bytes: number, link: LimitLink): number {
  const transfer = Number.isFinite(link.rateBps) ? (bytes * 8 * 1000) / link.rateBps : 0
  return transfer + link.rttMs
}

/**
 * The physical limit for sending `items` over `link`: the JSON of all items as one array
 * (one stream), brotli-11 compressed, at the link rate, plus one RTT.
 *
 * @param items Records to send (serialised with `JSON.stringify` as one array), or the
 *   already-serialised payload.
 */
export async function physicalLimit(items: readonly unknown[] | Buffer | string, link: LimitLink): Promise<PhysicalLimit> {
  const payload = Buffer.isBuffer(items) || typeof items === 'string' ? items : JSON.stringify(items)
  const bytes = await brotliSize(payload)
  return { bytes, ms: limitMs(bytes, link) }
}
