/**
 * What one message of the sync protocol may carry (docs/protocol.md §8.3, decoding bounds §6.3), and the checks
 * that hold a peer to it before its message costs memory or CPU: bounds for decoding each
 * kind of message, and the decoders of the parts whose size a peer chooses (filters, vector
 * rows). A sender keeps within the same limits, so only a peer that breaks them is refused.
 */
import { Unpacker, type UnpackBounds } from '../../msgpack.js'
import { fromWire, type VectorEntry } from '../../model/counterVector.js'
import { pollenError } from '../../errors.js'
import { AUTHOR_RE, LANG_RE, MAX_BODY_BYTES } from '../../model/operation.js'
import { isPartition } from '../../model/partition.js'

const KiB = 1024
const MiB = 1024 * KiB

/** An open request: its holder at the limits below fits with room (4,096 rows of 8 authors with 5-digit counters: 296 KB). */
export const MAX_OPEN_BYTES = MiB
/** Any frame of a stream: a chunk is 30–40 KiB on the wire by default, a begin frame its rows. */
export const MAX_FRAME_BYTES = 4 * MiB
/** Operations in one chunk: 10× the default chunk size, the largest a sender may be configured to cut. */
export const MAX_CHUNK_OPS = 10_000
/** A chunk, decompressed: twice the largest a sender may be configured to cut (`sync.chunkBytes` ≤ 4 MiB), for a transaction that travels whole past it. */
export const MAX_CHUNK_BYTES = 8 * MiB
/**
 * msgpack values per operation of a chunk: an operation is 12 column entries, a deps array
 * and two values per dependency, plus its share of the tables. The chunker (120 B + 48 B per
 * dependency estimated, at most 4 MiB and 10,000 operations) cuts no chunk over about 28 per
 * operation; an attacker's chunk of empty byte strings at this bound is about 33 MB of heap.
 */
export const CHUNK_ELEMENTS_PER_OP = 32

/** Prefixes in a filter: every one is walked per author and per layer in a diff (a cost a read key chooses). */
export const MAX_FILTER_PREFIXES = 100
/** Segments of a requested prefix: each is an ancestor looked up per author and layer. Partitions in use have 2–3. */
export const MAX_PREFIX_SEGMENTS = 16
/** Languages a filter may name; the server keeps only its own of them (§8.2). */
export const MAX_FILTER_LANGUAGES = 100
/** Vector rows in one report: what the relevant rows of a filter can be without one message growing with every prefix ever synced. */
export const MAX_REPORT_ROWS = 4096
/** (row, author) claims in one report: 4,096 rows of 8 authors. */
export const MAX_REPORT_CLAIMS = 32_768
/** At most this many claims are counted in one check (§9.5). */
export const MAX_CHECKS = 4096
/** At most this many buckets per counted claim; buckets are at least MIN_BUCKET counters wide. */
export const MAX_BUCKETS = 128
export const MIN_BUCKET = 1024
/** A string in any message but a chunk's bodies: error messages, with room; ids, partitions and authors are far shorter. */
const MAX_STR = 64 * KiB

/** msgpack values in one report: a row is an array, a prefix and a layer; a claim an index and a counter, and at most one author. */
const REPORT_ELEMENTS = 3 * MAX_REPORT_ROWS + 3 * MAX_REPORT_CLAIMS
/** Room for the fixed fields of a message around its reports and lists. */
const FIXED = 1024

function bounds(maxElements: number, maxDepth: number, maxBin: number, maxArray: number, tooLarge: UnpackBounds['tooLarge'] = 'POLLEN_LIMIT_EXCEEDED'): UnpackBounds {
  return { maxElements, maxDepth, maxArrayLength: maxArray, maxMapLength: 16, maxStrLength: MAX_STR, maxBinLength: maxBin, tooLarge }
}

/** A frame is a flat map of at most a dozen fields. */
export function frameUnpacker(maxFrame: number): Unpacker {
  return new Unpacker(bounds(64, 2, maxFrame, 16))
}
/** The open request: `{t, body, sig}`. */
export const OPEN_REQUEST = new Unpacker(bounds(64, 2, MAX_OPEN_BYTES, 16))
/** Open terms: 18 fields (two of them heads), the filter, the author table and one report. */
export const OPEN_TERMS = new Unpacker(bounds(FIXED + 2 * MAX_FILTER_PREFIXES + REPORT_ELEMENTS, 3, 64, 2 * MAX_REPORT_CLAIMS + 2))
/** The answer: two reports, or a check's counts (rows of 5 fields and their buckets). */
export const OPENED_TERMS = new Unpacker(bounds(FIXED + 2 * MAX_FILTER_PREFIXES + Math.max(2 * REPORT_ELEMENTS, MAX_CHECKS * (6 + MAX_BUCKETS)), 4, 64, 2 * MAX_REPORT_CLAIMS + 2))
/** A push's begin frame body: `{authors, rows}`. */
export const BEGIN_REPORT = new Unpacker(bounds(FIXED + REPORT_ELEMENTS, 3, 0, 2 * MAX_REPORT_CLAIMS + 2))
/** An ack: `[seq, idleMs, spanMs]`. */
export const ACK = new Unpacker(bounds(8, 1, 0, 3, 'POLLEN_BAD_MESSAGE'))

/** Bounds of a chunk payload for a receiver that takes at most `maxOps` operations. */
export function chunkUnpacker(maxOps: number): Unpacker {
  // payload map → ops columns → deps column → one operation's deps: four deep.
  return new Unpacker(bounds(FIXED + maxOps * CHUNK_ELEMENTS_PER_OP, 4, MAX_BODY_BYTES, 2 * maxOps + 2, 'POLLEN_CHUNK_TOO_LARGE'))
}

const limit = (what: string): never => {
  throw pollenError('POLLEN_LIMIT_EXCEEDED', what)
}
const bad = (what: string): never => {
  throw pollenError('POLLEN_BAD_MESSAGE', what)
}

/** Segments of a prefix ("" has none). */
export function segments(prefix: string): number {
  if (prefix === '') return 0
  let n = 1
  for (let i = prefix.indexOf('/'); i !== -1; i = prefix.indexOf('/', i + 1)) n += 1
  return n
}

/**
 * A filter from the wire: prefixes well formed and within the count and depth limits,
 * languages language codes. Throws POLLEN_BAD_MESSAGE or POLLEN_LIMIT_EXCEEDED.
 */
export function decodeFilter(prefixes: unknown, languages: unknown, what: string): { prefixes: string[]; languages: string[] } {
  if (!Array.isArray(prefixes) || !Array.isArray(languages)) return bad(`${what} has a malformed filter`)
  if (prefixes.length > MAX_FILTER_PREFIXES) limit(`${what} names ${prefixes.length} prefixes; the limit is ${MAX_FILTER_PREFIXES}`)
  if (languages.length > MAX_FILTER_LANGUAGES) limit(`${what} names ${languages.length} languages; the limit is ${MAX_FILTER_LANGUAGES}`)
  for (const p of prefixes) {
    if (!isPartition(p, true)) return bad(`${what} has a malformed filter: ${JSON.stringify(p)} is not a partition prefix`)
    if (segments(p) > MAX_PREFIX_SEGMENTS) limit(`${what} names a prefix of ${segments(p)} segments; the limit is ${MAX_PREFIX_SEGMENTS}`)
  }
  for (const l of languages) if (typeof l !== 'string' || !LANG_RE.test(l)) return bad(`${what} has a malformed filter: ${JSON.stringify(l)} is not a language code`)
  return { prefixes: prefixes as string[], languages: languages as string[] }
}

const isLayer = (l: string): boolean => l === '' || l === '*' || LANG_RE.test(l)

/**
 * Vector rows from the wire (`{authors, rows}`, §3.3): at most MAX_REPORT_ROWS rows and
 * MAX_REPORT_CLAIMS claims (POLLEN_LIMIT_EXCEEDED), every author a well-formed author id,
 * every prefix a partition prefix and every layer a layer (else POLLEN_BAD_MESSAGE), so no
 * claim a receiver may store names something that cannot exist.
 */
export function decodeVectors(authors: unknown, rows: unknown, what: string): VectorEntry[] {
  if (Array.isArray(rows)) {
    if (rows.length > MAX_REPORT_ROWS) limit(`${what} has ${rows.length} vector rows; the limit is ${MAX_REPORT_ROWS}`)
    let claims = 0
    for (const r of rows) claims += Array.isArray(r) ? (r.length - 2) / 2 : 0
    if (claims > MAX_REPORT_CLAIMS) limit(`${what} has ${claims} vector claims; the limit is ${MAX_REPORT_CLAIMS}`)
  }
  const entries = fromWire({ authors, rows }, MAX_REPORT_ROWS) ?? bad(`${what} has malformed vectors`)
  for (const a of authors as string[]) if (!AUTHOR_RE.test(a)) bad(`${what} has malformed vectors: ${JSON.stringify(a)} is not an author id`)
  for (const e of entries) if (!isPartition(e.prefix, true) || !isLayer(e.layer)) bad(`${what} has malformed vectors: a row for ${JSON.stringify(e.prefix)} in layer ${JSON.stringify(e.layer)}`)
  return entries
}

/**
 * The rows of a report that fit one message: all of them when they do; else the broadest
 * first (fewest segments), as many as the limits take. A claim left out only makes the other
 * side send or ask for more than it needed to, never less, so a store that grew past what one
 * message carries (or was bloated by a peer) still syncs.
 */
export function fitReport(entries: VectorEntry[]): VectorEntry[] {
  let claims = 0
  for (const e of entries) claims += Object.keys(e.counters).length
  if (entries.length <= MAX_REPORT_ROWS && claims <= MAX_REPORT_CLAIMS) return entries
  const out: VectorEntry[] = []
  claims = 0
  for (const e of [...entries].sort((x, y) => segments(x.prefix) - segments(y.prefix))) {
    const n = Object.keys(e.counters).length
    if (out.length === MAX_REPORT_ROWS) break
    if (claims + n > MAX_REPORT_CLAIMS) continue
    out.push(e)
    claims += n
  }
  return out
}
