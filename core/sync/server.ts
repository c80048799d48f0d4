/**
 * The serving side of a sync, independent of the transport: authenticates the user and the
 * client instance, answers a pull with signed chunks in the same response, and applies a
 * pushed stream chunk by chunk — each verified before it touches storage and applied in one
 * atomic batch with the vector advances docs/design.md §3.3 allows. Limits are checked before work.
 */
import { checkPeerHead, headToShow, ownHead, rekeyIfRestored } from './restore.js'
import { randomBytes } from 'node:crypto'
import { ChunkDecoder, ChunkEncoder } from './wire/chunkCodec.js'
import { codecMemory, DEFAULT_CODEC, type CodecOptions } from './wire/quality.js'
import { sealedChunks } from './sealing.js'
import { SealGate } from './sealCheck.js'
import { chunkDiff, DEFAULT_CHUNK_LIMITS, limitsFor, type ChunkLimits } from './chunker.js'
import { CounterVectors, type VectorAdvance, type VectorEntry } from '../model/counterVector.js'
import { adoptableReport, advancesFor, diff, estimate, holderReport, layersOf, senderReport } from './diff.js'
import { pollenError } from '../errors.js'
import { instanceIdOf, sign, verify, type Identity } from '../model/identity.js'
import type { OpLog } from '../log/opLog.js'
import type { Operation } from '../model/operation.js'
import { unpackOps } from './wire/opColumns.js'
import { decodePullAck, MIN_RATE_BYTES, PullPacer, RateCap } from './pacing.js'
import { decodeOpenTerms, encodeOpenedTerms } from './wire/openTerms.js'
import { coveredByAny } from '../model/partition.js'
import { narrowFilter } from './scope.js'
import { claimsToCheck, countClaims } from './verify.js'
import {
  beginSigned, decodeReport, endSigned, isBeginFrame, isChunkFrame, isEndFrame, isOpenRequest, openedSigned, openSigned, PROTOCOL_VERSION,
  MAX_CHECKS, type ChunkPayload, type ClaimCount, type Filter, type Frame, type OpenedTerms, type OpenResponse, type OpenTerms, type PushResult,
} from './wire/frames.js'
import { MAX_CHUNK_BYTES, MAX_CHUNK_OPS, MAX_FRAME_BYTES, MAX_OPEN_BYTES, OPEN_REQUEST } from './wire/limits.js'
import { assertChannel } from './channel.js'
import { assertBound, type UserInfo, type Users } from '../access/users.js'

/** Limits enforced before work is done. */
export interface SyncLimits {
  maxOpenBytes: number
  maxFrameBytes: number
  maxChunkOps: number
  maxChunkBytes: number
  maxSessionsPerUser: number
  sessionTtlMs: number
}

export const DEFAULT_LIMITS: SyncLimits = {
  maxOpenBytes: MAX_OPEN_BYTES,
  maxFrameBytes: MAX_FRAME_BYTES,
  maxChunkOps: MAX_CHUNK_OPS,
  maxChunkBytes: MAX_CHUNK_BYTES,
  maxSessionsPerUser: 4,
  sessionTtlMs: 15 * 60_000,
}

/** How long a session waits for its push once its pull has been streamed. */
const IDLE_PUSH_TTL_MS = 120_000
/** How long acks for a pull that ended are still taken (they cross the end on the link). */
const ENDED_ACKS_MS = 60_000
/** How long a used nonce is remembered, by this server's own clock (never compared with the client's). */
const NONCE_KEEP_MS = 60 * 60_000

export interface SyncServerOptions {
  identity: Identity
  log: OpLog
  users: Users
  limits?: Partial<SyncLimits>
  chunk?: ChunkLimits
  codec?: CodecOptions
  now?: () => number
  /** Told when a client shows we were restored from a backup (we re-key). */
  onRekey?: (author: string) => void
  /** Pull pacing (§8.4); tests lengthen the stall limit to prove acks arrive. */
  pacing?: { stallMs?: number }
}

interface Session {
  id: string
  user: UserInfo
  clientKey: Uint8Array
  client: string
  expires: number
  push?: Filter
  /** The log's claims epoch when the push terms were read (see OpLog.claimsEpoch). */
  claimsEpoch: number
  pushing: boolean
  /** True while its pull streams or its push is applied; an idle one waits for a push. */
  active: boolean
  /** While its pull streams: how far it may run ahead of the client's acks. */
  pacer?: PullPacer
}

/** Totals of one served session, for metrics and logs. */
export interface ServedSession {
  user: string
  client: string
  direction: 'pull' | 'push'
  ops: number
  chunks: number
}

export class SyncServer {
  readonly #opts: SyncServerOptions
  readonly #limits: SyncLimits
  /** What this server measured of its own compression, across sessions: a pull whose link rate is known starts from it. */
  readonly #codecMemory = codecMemory()
  readonly #sessions = new Map<string, Session>()
  readonly #nonces = new Map<string, number>()
  /** Pull-only sessions that ended lately, by id → user and expiry: their late acks are taken. */
  readonly #ended = new Map<string, { user: string; expires: number }>()
  readonly #now: () => number
  /** True while a claims check is being counted. */
  #checking = false
  readonly instance: string

  constructor(opts: SyncServerOptions) {
    this.#opts = opts
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits }
    this.#now = opts.now ?? Date.now
    this.instance = instanceIdOf(opts.identity.publicKey)
  }

  get limits(): SyncLimits {
    return this.#limits
  }

  #sweep(): void {
    const now = this.#now()
    for (const [id, s] of this.#sessions) if (s.expires < now) this.#sessions.delete(id)
    for (const [n, exp] of this.#nonces) if (exp < now) this.#nonces.delete(n)
    for (const [id, e] of this.#ended) if (e.expires < now) this.#ended.delete(id)
  }

  /** Authenticates a user by name and API key (from the Authorization header). */
  async authenticate(user: string | undefined, apiKey: string | undefined): Promise<UserInfo> {
    if (!user || !apiKey) throw pollenError('POLLEN_UNAUTHORIZED', 'send the user name and API key in the Authorization header: "Pollen USER:KEY"')
    return this.#opts.users.authenticate(user, apiKey)
  }

  /**
   * Opens a session. Yields the signed answer first, then — for a pull — the chunks and a
   * signed end frame. Everything is checked before the first frame is produced. `channel` is
   * the Ed25519 key that holds the connection (TLS), undefined on a plain one (core/sync/channel.ts).
   */
  async open(user: UserInfo, body: Uint8Array, signal?: AbortSignal, channel?: Uint8Array): Promise<AsyncIterable<Frame>> {
    if (body.length > this.#limits.maxOpenBytes) throw pollenError('POLLEN_BODY_TOO_LARGE', `the open request is ${body.length} bytes; the limit is ${this.#limits.maxOpenBytes}`)
    const raw = OPEN_REQUEST.unpack(body, 'the open request')
    if (!isOpenRequest(raw)) throw pollenError('POLLEN_BAD_MESSAGE', 'the open request is malformed')
    const req = decodeOpenTerms(raw.body)
    if (req.user !== user.name) throw pollenError('POLLEN_UNAUTHORIZED', 'the request names another user than the Authorization header')
    // No clock check (req.time is informational): freshness comes from the channel, which only
    // the client's own key can hold (docs/protocol.md §10.2); a device decades off still syncs.
    assertChannel(channel, req.client.publicKey, 'the open request')
    this.#sweep()
    const now = this.#now()
    const nonceKey = Buffer.from(req.nonce).toString('hex')
    if (this.#nonces.has(nonceKey)) throw pollenError('POLLEN_REPLAY', 'this nonce was already used')
    if (!verify(openSigned(raw.body), raw.sig, req.client.publicKey)) throw pollenError('POLLEN_BAD_SIGNATURE', 'the open request signature does not verify')
    checkPeerHead(req.head, req.client.publicKey, 'the open request')
    // The API key is worth something only from the instance it is bound to; a first use binds
    // it once every check has passed (a refused open stores nothing).
    assertBound(user, req.client.instance)
    // With it, the client's head is kept: we show it back if the client is ever restored.
    const bind = async () => {
      if (!user.instance) await this.#opts.users.bindInstance(user.name, req.client.instance)
      await this.#opts.log.heads.record(req.client.instance, req.head)
    }
    // A client expecting another instance (req.server) still gets our signed answer: it
    // compares the key with its pin and records the new one for an administrator to accept.
    // A client that opens a new session has given up on pushing in its earlier idle ones.
    for (const [sid, s] of this.#sessions) if (!s.active && s.client === req.client.instance) this.#sessions.delete(sid)
    // Counted per user and instance: idle sessions of other instances (a key since re-bound)
    // cannot lock this one out (issue 17).
    const open = [...this.#sessions.values()].filter((s) => s.user.name === user.name && s.client === req.client.instance).length
    if (open >= this.#limits.maxSessionsPerUser) throw pollenError('POLLEN_SESSION_LIMIT', `user ${user.name} already has ${open} open sessions from this instance; they end within ${Math.ceil(this.#limits.sessionTtlMs / 60_000)} minutes`)
    if (this.#nonces.size >= 100_000) this.#nonces.delete(this.#nonces.keys().next().value as string)
    this.#nonces.set(nonceKey, now + NONCE_KEEP_MS)

    const log = this.#opts.log
    // Only our own signed head re-keys us; claims in req.holder never do (core/sync/restore.ts).
    const author = await rekeyIfRestored(log, this.#opts.identity, req.yourHead, `user ${user.name} (instance ${req.client.instance})`)
    if (author) this.#opts.onRekey?.(author)
    const id = randomBytes(16).toString('hex')
    const terms: OpenedTerms = {
      v: PROTOCOL_VERSION,
      session: id,
      nonce: req.nonce,
      server: { instance: this.instance, publicKey: this.#opts.identity.publicKey, author: log.author, languages: [...log.languages] },
      head: ownHead(this.#opts.identity, log),
      yourHead: await headToShow(log, req.client.instance, req.head),
    }
    if (req.mode === 'verify') {
      const filter = narrowFilter(req.filter, user.filters, log.languages)
      terms.verify = { filter, counts: await this.#countClaims(req.holder, filter) }
      await bind()
      return single(this.#signedAnswer(terms, req))
    }
    const session: Session = { id, user, client: req.client.instance, clientKey: req.client.publicKey, expires: now + this.#limits.sessionTtlMs, claimsEpoch: log.claimsEpoch, pushing: false, active: true }
    let chunks: AsyncIterator<ChunkPayload> | undefined
    let first: IteratorResult<ChunkPayload> | undefined
    if (req.mode !== 'push') {
      // Only languages this server keeps: each layer is walked per author and prefix.
      const filter = narrowFilter(req.filter, user.filters, log.languages)
      const holder = CounterVectors.from(req.holder)
      // Claims are read before the diff starts: every operation they cover is then in the
      // snapshots the diff reads. Read after, a commit landing in between (a local write, a
      // chunk from another peer) would be claimed without being sent (issue 14).
      const report = senderReport(log.vectors, filter)
      chunks = sealedChunks(log, chunkDiff(diff(log, filter, holder), limitsFor(this.#opts.chunk ?? DEFAULT_CHUNK_LIMITS, req.chunkBytes)))[Symbol.asyncIterator]()
      // Peek: when there is nothing to send, the answer itself says so and the sync is one round trip.
      first = await chunks.next()
      terms.pull = { filter, report, estimate: first.done ? 0 : estimate(log, filter, holder), complete: first.done === true }
    }
    if (req.mode !== 'pull') {
      if (user.role !== 'write') {
        terms.push = { refused: 'POLLEN_FORBIDDEN', message: `user ${user.name} has a read-only key; pushes are refused` }
      } else {
        session.push = narrowFilter({ prefixes: req.filter.prefixes, languages: [...log.languages] }, user.filters, log.languages)
        terms.push = { filter: session.push, holder: holderReport(log.vectors, session.push) }
      }
    }
    const response = this.#signedAnswer(terms, req)
    await bind()
    this.#sessions.set(id, session)
    return this.#pullFrames(session, response, first?.done === false ? first.value : undefined, chunks, req, signal)
  }

  #signedAnswer(terms: OpenedTerms, req: OpenTerms): OpenResponse {
    const answer = encodeOpenedTerms(terms, req)
    return { t: 'opened', body: answer, sig: sign(openedSigned(req.nonce, answer), this.#opts.identity.secretKey) }
  }

  /**
   * Counts the client's claims against our log (a claims check, core/sync/verify.ts). Our own
   * claims are read before the scans, so every operation they bound is in what is scanned.
   * One check at a time: each reads every operation of the authors it names.
   */
  async #countClaims(holderRows: VectorEntry[], filter: Filter): Promise<ClaimCount[]> {
    if (this.#checking) throw pollenError('POLLEN_SESSION_LIMIT', 'another claims check is running on this server; try again in a minute')
    const checks = claimsToCheck(holderRows, CounterVectors.from(holderRows), this.#opts.log.vectors, filter)
    if (checks.length > MAX_CHECKS) throw pollenError('POLLEN_BODY_TOO_LARGE', `the check names ${checks.length} claims; the limit is ${MAX_CHECKS}: check narrower filters one at a time`)
    this.#checking = true
    try {
      return await countClaims(this.#opts.log, checks)
    } finally {
      this.#checking = false
    }
  }

  /**
   * Takes a client's acknowledgement of pulled chunks (a small request beside the pull
   * stream, §8.4). One that arrives after its pull ended has nothing left to pace.
   */
  async ack(user: UserInfo, sessionId: string, body: Uint8Array, channel?: Uint8Array): Promise<void> {
    const ack = decodePullAck(body)
    const session = this.#sessions.get(sessionId)
    if (!session || session.user.name !== user.name) {
      if (this.#ended.get(sessionId)?.user === user.name) return
      throw pollenError('POLLEN_SESSION_UNKNOWN', `no open session ${sessionId} for user ${user.name}`)
    }
    assertChannel(channel, session.clientKey, 'this session')
    session.pacer?.ack(ack)
  }

  async *#pullFrames(session: Session, response: OpenResponse, first: ChunkPayload | undefined, rest: AsyncIterator<ChunkPayload> | undefined, req: Pick<OpenTerms, 'acks' | 'maxRate' | 'maxBytes' | 'linkRate'>, signal?: AbortSignal): AsyncIterable<Frame> {
    const id = session.id
    const { acks: paced, maxRate, maxBytes } = req
    // A session without a push ends with its pull stream.
    const release = () => {
      const s = this.#sessions.get(id)
      if (!s) return
      if (!s.push) {
        this.#sessions.delete(id)
        // Acks the client sent before the end reached it may still arrive.
        if (paced && first) this.#ended.set(id, { user: s.user.name, expires: this.#now() + ENDED_ACKS_MS })
      } else {
        // Waiting for a push that may never come (nothing to push): idle, and short-lived.
        s.active = false
        s.expires = Math.min(s.expires, this.#now() + IDLE_PUSH_TTL_MS)
      }
    }
    if (!first || !rest) {
      release()
      yield response
      return
    }
    // The rate the client remembered (a cap is a rate too); bytes per second to per millisecond.
    // Only a client that acks gets a start from it: the acks then measure what it claimed.
    const rate = paced ? Math.min(req.linkRate || Infinity, maxRate || Infinity) : Infinity
    const start = { memory: this.#codecMemory, acks: paced, linkRate: Number.isFinite(rate) ? Math.max(MIN_RATE_BYTES, rate) / 1000 : undefined }
    const encoder = new ChunkEncoder(id, 'pull', this.#opts.identity.secretKey, this.#opts.codec ?? DEFAULT_CODEC, undefined, start)
    // Only a client that said it acknowledges chunks is waited for.
    const pacer = paced ? new PullPacer({ stallMs: this.#opts.pacing?.stallMs }) : undefined
    // A capped client (its peer's --max-kbps): chunks leave no faster than it asked, within a floor.
    const cap = maxRate > 0 ? new RateCap(Math.max(MIN_RATE_BYTES, maxRate)) : undefined
    session.pacer = pacer
    let sent = 0
    const chunk = async (payload: ChunkPayload) => {
      const frame = await encoder.encode(payload)
      sent += frame.data.length
      await cap?.take(frame.data.length, signal)
      pacer?.sent(frame.data.length)
      // A pull that keeps streaming keeps its session (its acks find it), however long it runs.
      session.expires = Math.max(session.expires, this.#now() + this.#limits.sessionTtlMs)
      return frame
    }
    try {
      yield response
      // The next payload is read (scan, decoding, chunking: this thread) while the one before
      // it is compressed (libuv's pool). A read that fails surfaces where it is awaited; one
      // still running when the stream stops must not become an unhandled rejection.
      const readNext = () => {
        const read = rest.next()
        read.catch(() => undefined)
        return read
      }
      let reading = readNext()
      yield await chunk(first)
      for (;;) {
        const started = Date.now()
        const next = await reading
        encoder.reading(Date.now() - started)
        if (next.done) break
        if (pacer) {
          const waited = await pacer.ready(signal)
          // A client that was busy rather than waiting for data set this pace, not the link:
          // more compression would not make the pull faster, less costs it nothing.
          if (pacer.receiverBusy) encoder.reading(waited)
          encoder.linkRate(pacer.receiverBusy ? undefined : pacer.rate)
          encoder.receiverBusy(pacer.receiverBusy)
        }
        // A client's byte budget is spent (a metered peer): the stream ends without an end
        // frame, so nothing claims the rest arrived; the client that asked knows why.
        if (signal?.aborted || (maxBytes > 0 && sent >= maxBytes)) return
        reading = readNext()
        yield await chunk(next.value)
      }
      yield { t: 'end', session: id, chunks: encoder.count, sig: sign(endSigned(id, 'pull', encoder.count), this.#opts.identity.secretKey) }
    } finally {
      session.pacer = undefined
      encoder.close()
      release()
      // Ended early (the connection closed): the log iterator must not outlive the stream.
      await rest.return?.()
    }
  }

  /**
   * Applies a pushed stream: a signed begin frame with the sender's claims, chunks, and a
   * signed end frame. Each chunk is verified, scope-checked and applied atomically; an error
   * stops the stream, and the chunks applied before it stay (each was whole).
   */
  async push(user: UserInfo, sessionId: string, frames: AsyncIterable<unknown>, channel?: Uint8Array): Promise<PushResult> {
    this.#sweep()
    const session = this.#sessions.get(sessionId)
    if (!session || session.user.name !== user.name) throw pollenError('POLLEN_SESSION_UNKNOWN', `no open session ${sessionId} for user ${user.name}`)
    assertChannel(channel, session.clientKey, 'this session')
    if (!session.push) throw pollenError('POLLEN_FORBIDDEN', 'this session does not allow pushes')
    if (session.pushing) throw pollenError('POLLEN_REPLAY', 'this session already pushed')
    session.pushing = true
    session.active = true
    const filter = session.push
    const log = this.#opts.log
    const result: PushResult = { t: 'pushed', applied: 0, duplicates: 0, new: 0, updated: 0, unchanged: 0, conflicts: 0, chunks: 0 }
    const decoder = new ChunkDecoder(sessionId, 'push', session.clientKey, this.#limits.maxChunkBytes, this.#limits.maxChunkOps)
    const gate = new SealGate(user.trusted === true)
    let report: VectorEntry[] | undefined
    let ended = false
    try {
      for await (const frame of frames) {
        if (ended) throw pollenError('POLLEN_BAD_MESSAGE', 'frames after the end frame')
        if (!report) {
          if (!isBeginFrame(frame)) throw pollenError('POLLEN_BAD_MESSAGE', 'a push starts with a begin frame')
          if (frame.session !== sessionId) throw pollenError('POLLEN_SESSION_UNKNOWN', `a begin frame for session ${frame.session} arrived in session ${sessionId}`)
          if (!verify(beginSigned(sessionId, frame.body), frame.sig, session.clientKey)) throw pollenError('POLLEN_BAD_SIGNATURE', 'the begin frame has a bad signature')
          report = adoptableReport(decodeReport(frame.body), filter, log.vectors)
          continue
        }
        if (isChunkFrame(frame)) {
          const payload = await decoder.decode(frame)
          const { ops, islands } = await gate.take(this.#checkOps(payload.ops, filter), payload.seals, payload.keys)
          const advances: VectorAdvance[] = gate.cap(payload.progress.flatMap(([a, through]) => advancesFor(report as VectorEntry[], a, through)))
          const r = await log.applyRemote(ops, advances, [], session.claimsEpoch, { islands, vouch: !gate.trusted })
          result.applied += r.applied
          result.duplicates += r.duplicates
          result.new += r.new
          result.updated += r.updated
          result.unchanged += r.unchanged
          result.conflicts += r.conflicts
          result.chunks += 1
        } else if (isEndFrame(frame)) {
          if (frame.session !== sessionId || !verify(endSigned(sessionId, 'push', frame.chunks), frame.sig, session.clientKey)) throw pollenError('POLLEN_BAD_SIGNATURE', 'the end frame has a bad signature')
          if (frame.chunks !== decoder.count) throw pollenError('POLLEN_BAD_MESSAGE', `the end frame counts ${frame.chunks} chunks; ${decoder.count} arrived`)
          const authors = new Set(report.flatMap((e) => Object.keys(e.counters)))
          await log.applyRemote([], gate.cap([...authors].flatMap((a) => advancesFor(report as VectorEntry[], a, Infinity))), [], session.claimsEpoch, { vouch: !gate.trusted })
          ended = true
        } else {
          throw pollenError('POLLEN_BAD_MESSAGE', 'a push frame is neither a chunk nor an end frame')
        }
      }
      if (!ended) throw pollenError('POLLEN_BAD_MESSAGE', 'the push stream ended without an end frame')
      return result
    } finally {
      decoder.close()
      this.#sessions.delete(sessionId)
    }
  }

  #checkOps(raw: unknown, filter: Filter): Operation[] {
    const layers = layersOf(filter)
    return unpackOps(raw, this.#limits.maxChunkOps).map((op) => {
      if (!coveredByAny(filter.prefixes, op.partition)) {
        throw pollenError('POLLEN_OUT_OF_SCOPE', `operation ${op.author}:${op.counter} is in partition ${op.partition}, outside this key's scope ${filter.prefixes.map((p) => p || '(everything)').join(', ')}`)
      }
      if (!layers.includes(op.layer)) throw pollenError('POLLEN_BAD_MESSAGE', `operation ${op.author}:${op.counter} carries text in ${op.layer}, which this instance does not keep`)
      return op
    })
  }
}

async function* single(frame: Frame): AsyncIterable<Frame> {
  yield frame
}

