/**
 * The bytes of the open handshake (docs/protocol.md §6.2): positional msgpack arrays with
 * nothing the other side can derive. Instance ids and author ids follow from a public key
 * and an epoch; the server's key is left out when the client already pinned it; filters the
 * server did not narrow are not echoed; the client's nonce is covered by the server's
 * signature instead of being sent back; all vectors of an answer share one author table.
 * A sync with nothing new is this one round trip, so every byte here is paid on every sync.
 */
import { toWire, type VectorEntry } from '../../model/counterVector.js'
import { pollenError } from '../../errors.js'
import { authorOf, instanceIdOf } from '../../model/identity.js'
import type { SignedHead } from '../../model/head.js'
import { pack, type Unpacker } from '../../msgpack.js'
import { PROTOCOL_VERSION, type ClaimCount, type Filter, type OpenedTerms, type OpenMode, type OpenTerms } from './frames.js'
import { decodeFilter, decodeVectors, MAX_BUCKETS, MAX_CHECKS, MIN_BUCKET, OPEN_TERMS, OPENED_TERMS } from './limits.js'

/** What the client knows when it reads the answer: its own terms, and the key it pinned. */
export interface OpenContext {
  request: OpenTerms
  pinnedKey?: Uint8Array
}

const MODES: readonly OpenMode[] = ['pull', 'push', 'both', 'verify']

const bad = (what: string): never => {
  throw pollenError('POLLEN_BAD_MESSAGE', what)
}

function epochOf(author: string, instance: string): number {
  const epoch = Number(author.slice(instance.length + 1))
  if (!author.startsWith(instance + '.') || !Number.isSafeInteger(epoch) || epoch < 1) throw new TypeError(`author ${author} is not an epoch of instance ${instance}`)
  return epoch
}

/** Author table shared by every vector of one message; rows index into it. */
class AuthorTable {
  readonly authors: string[] = []
  readonly #at = new Map<string, number>()

  rows(entries: readonly VectorEntry[]): unknown[] {
    const w = toWire(entries)
    return w.rows.map((row) => row.map((x, i) => (i >= 2 && i % 2 === 0 ? this.#index(w.authors[x as number]) : x)))
  }

  #index(a: string): number {
    let i = this.#at.get(a)
    if (i === undefined) {
      i = this.authors.push(a) - 1
      this.#at.set(a, i)
    }
    return i
  }

  /** Claim counts as rows `[prefix, layer, author index, through, bucket, ...counts]`. */
  counts(counts: readonly ClaimCount[]): unknown[] {
    return counts.map((c) => [c.prefix, c.layer, this.#index(c.author), c.through, c.bucket, ...c.counts])
  }
}

/** Decodes claim-count rows; every row's buckets cover exactly 1..through, at most MAX_BUCKETS of them. */
function claimCounts(authors: unknown, rows: unknown): ClaimCount[] {
  if (!Array.isArray(authors) || !Array.isArray(rows) || rows.length > MAX_CHECKS) return bad('the session answer has malformed claim counts')
  return rows.map((row) => {
    if (!Array.isArray(row) || row.length < 5) return bad('the session answer has malformed claim counts')
    const [prefix, layer, a, through, bucket, ...counts] = row as unknown[]
    const author = authors[a as number]
    const ok = isStr(prefix, 256) && isStr(layer, 16) && isStr(author, 80) && isUint(through) && through > 0 && isUint(bucket) && bucket >= MIN_BUCKET
      && counts.length === Math.ceil(through / bucket) && counts.length <= MAX_BUCKETS && counts.every((n) => isUint(n) && n <= bucket)
    if (!ok) return bad('the session answer has malformed claim counts')
    return { prefix, layer, author, through, bucket, counts: counts as number[] }
  })
}

function decodeArray(bytes: Uint8Array, unpacker: Unpacker, what: string, length: number): unknown[] {
  const v = unpacker.unpack(bytes, what)
  if (!Array.isArray(v)) return bad(`${what} is malformed: expected an array of ${length}`)
  // The version first: another version's message may differ in length too, and the person
  // reading the error needs to know that the peers' versions differ, not that a field is missing.
  if (v[0] !== PROTOCOL_VERSION) return bad(`${what} is in protocol version ${String(v[0])}; this instance speaks version ${PROTOCOL_VERSION}: update the older of the two instances`)
  if (v.length !== length) return bad(`${what} is malformed: expected an array of ${length}`)
  return v
}

const isStr = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max
const isBytes = (v: unknown, len: number): v is Uint8Array => v instanceof Uint8Array && v.length === len
const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isEpoch = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= 999_999
const isStrings = (v: unknown, max: number): v is string[] => Array.isArray(v) && v.length <= 1000 && v.every((s) => isStr(s, max))

/** A head as `[epoch, counter, sig]`, or nil. */
function packHead(h: SignedHead | null): unknown[] | null {
  return h ? [h.epoch, h.counter, h.sig] : null
}

function unpackHead(v: unknown, what: string): SignedHead | null {
  if (v === null) return null
  if (!Array.isArray(v) || v.length !== 3 || !isEpoch(v[0]) || !isUint(v[1]) || !isBytes(v[2], 64)) return bad(`${what} has a malformed head`)
  return { epoch: v[0], counter: v[1], sig: v[2] }
}

/** Our own head as `[counter, sig]`: its epoch is the sender's author epoch, already in the terms. */
function unpackOwnHead(v: unknown, epoch: number, what: string): SignedHead {
  if (!Array.isArray(v) || v.length !== 2 || !isUint(v[0]) || !isBytes(v[1], 64)) return bad(`${what} has a malformed head`)
  return { epoch, counter: v[0], sig: v[1] }
}

/** `[v, user, publicKey, epoch, server, nonce, mode, prefixes, languages, authors, holderRows, acks, head, yourHead, chunkBytes, maxRate, maxBytes, linkRate]` */
export function encodeOpenTerms(t: OpenTerms): Uint8Array {
  const table = new AuthorTable()
  const holder = table.rows(t.holder)
  return pack([t.v, t.user, t.client.publicKey, epochOf(t.client.author, t.client.instance), t.server, t.nonce, t.mode, t.filter.prefixes, t.filter.languages, table.authors, holder, t.acks, [t.head.counter, t.head.sig], packHead(t.yourHead), t.chunkBytes, t.maxRate, t.maxBytes, t.linkRate])
}

/** Decodes and checks open terms; throws POLLEN_BAD_MESSAGE. */
export function decodeOpenTerms(bytes: Uint8Array): OpenTerms {
  const [v, user, publicKey, epoch, server, nonce, mode, prefixes, languages, authors, holder, acks, head, yourHead, chunkBytes, maxRate, maxBytes, linkRate] = decodeArray(bytes, OPEN_TERMS, 'the open request', 18)
  if (!(isStr(user, 64) && isBytes(publicKey, 32) && isEpoch(epoch) && isStr(server, 64) && isBytes(nonce, 16) && MODES.includes(mode as OpenMode) && typeof acks === 'boolean' && isUint(chunkBytes) && isUint(maxRate) && isUint(maxBytes) && isUint(linkRate))) {
    return bad('the open request is malformed')
  }
  const filter = decodeFilter(prefixes, languages, 'the open request')
  const instance = instanceIdOf(publicKey)
  return {
    v: v as number,
    user,
    client: { instance, publicKey, author: authorOf(instance, epoch) },
    server,
    nonce,
    mode: mode as OpenMode,
    filter,
    holder: decodeVectors(authors, holder, 'the open request'),
    acks,
    head: unpackOwnHead(head, epoch, 'the open request'),
    yourHead: unpackHead(yourHead, 'the open request'),
    chunkBytes,
    maxRate,
    maxBytes,
    linkRate,
  }
}

/** Nil when `got` equals what the other side already has, so it need not travel. */
function unlessSame(got: readonly string[], known: readonly string[]): string[] | null {
  return got.length === known.length && got.every((x, i) => x === known[i]) ? null : [...got]
}

/**
 * `[v, session, publicKey|nil, epoch, languages, pull|nil, push|nil, authors]`, and in verify
 * mode a ninth element `[prefixes|nil, languages|nil, countRows]` (§9.5), with
 * pull `[prefixes|nil, languages|nil, reportRows, estimate, complete]` and push
 * `[prefixes|nil, languages|nil, holderRows]` or `[refused, message]`. The key is left out
 * when the client named this instance (it holds the key); a filter part is nil when it
 * equals the request's (pull) or the request's prefixes and the server's languages (push).
 */
export function encodeOpenedTerms(t: OpenedTerms, request: OpenTerms): Uint8Array {
  const table = new AuthorTable()
  const known = request.server === t.server.instance
  const pull = t.pull ? [unlessSame(t.pull.filter.prefixes, request.filter.prefixes), unlessSame(t.pull.filter.languages, request.filter.languages), table.rows(t.pull.report), t.pull.estimate, t.pull.complete] : null
  let push: unknown[] | null = null
  if (t.push && 'refused' in t.push) push = [t.push.refused, t.push.message]
  else if (t.push) push = [unlessSame(t.push.filter.prefixes, request.filter.prefixes), unlessSame(t.push.filter.languages, t.server.languages), table.rows(t.push.holder)]
  const verify = t.verify ? [unlessSame(t.verify.filter.prefixes, request.filter.prefixes), unlessSame(t.verify.filter.languages, request.filter.languages), table.counts(t.verify.counts)] : undefined
  const fields = [t.v, t.session, known ? null : t.server.publicKey, epochOf(t.server.author, t.server.instance), t.server.languages, pull, push, table.authors, [t.head.counter, t.head.sig], packHead(t.yourHead)]
  return pack(verify ? [...fields, verify] : fields)
}

/** Decodes the server's answer in the context of the request; throws POLLEN_BAD_MESSAGE. */
export function decodeOpenedTerms(bytes: Uint8Array, ctx: OpenContext): OpenedTerms {
  const verifying = ctx.request.mode === 'verify'
  const [v, session, sentKey, epoch, languages, pull, push, authors, head, yourHead, verify] = decodeArray(bytes, OPENED_TERMS, 'the session answer', verifying ? 11 : 10)
  if (!(isStr(session, 64) && (sentKey === null || isBytes(sentKey, 32)) && isEpoch(epoch) && isStrings(languages, 16))) return bad('the session answer is malformed')
  const publicKey = sentKey ?? ctx.pinnedKey ?? bad('the peer left out its instance key, and none is pinned for it')
  const instance = instanceIdOf(publicKey)
  const out: OpenedTerms = {
    v: v as number, session, nonce: ctx.request.nonce, server: { instance, publicKey, author: authorOf(instance, epoch), languages },
    head: unpackOwnHead(head, epoch, 'the session answer'), yourHead: unpackHead(yourHead, 'the session answer'),
  }
  const filterOf = (prefixes: unknown, langs: unknown, defaults: Filter): Filter => decodeFilter(prefixes ?? defaults.prefixes, langs ?? defaults.languages, 'the session answer')
  if (pull !== null) {
    if (!Array.isArray(pull) || pull.length !== 5 || !isUint(pull[3]) || typeof pull[4] !== 'boolean') return bad('the session answer has malformed pull terms')
    out.pull = { filter: filterOf(pull[0], pull[1], ctx.request.filter), report: decodeVectors(authors, pull[2], 'the pull terms'), estimate: pull[3], complete: pull[4] }
  }
  if (push !== null) {
    if (Array.isArray(push) && push.length === 2 && isStr(push[0], 64) && typeof push[1] === 'string') out.push = { refused: push[0], message: push[1] }
    else if (Array.isArray(push) && push.length === 3) out.push = { filter: filterOf(push[0], push[1], { prefixes: ctx.request.filter.prefixes, languages }), holder: decodeVectors(authors, push[2], 'the push terms') }
    else return bad('the session answer has malformed push terms')
  }
  if (verifying) {
    if (!Array.isArray(verify) || verify.length !== 3 || pull !== null || push !== null) return bad('the session answer has malformed claim counts')
    out.verify = { filter: filterOf(verify[0], verify[1], ctx.request.filter), counts: claimCounts(authors, verify[2]) }
  }
  return out
}
