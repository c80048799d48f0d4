/**
 * The pulling and pushing side of a sync with one peer. One request opens the session and
 * streams the pull back; chunks are verified and applied one by one, each in one atomic
 * batch with its vector advances, so a cut link loses at most the chunk in flight and the
 * next sync resumes from the advanced vectors. A push, if there is anything to push, is a
 * second request streaming signed chunks.
 */
import { checkPeerHead, headToShow, ownHead, rekeyIfRestored } from './restore.js'
import { randomBytes } from 'node:crypto'
import { ChunkDecoder, ChunkEncoder } from './wire/chunkCodec.js'
import { DEFAULT_CODEC, type CodecOptions } from './wire/quality.js'
import { sealedChunks } from './sealing.js'
import { SealGate } from './sealCheck.js'
import { chunkDiff, DEFAULT_CHUNK_LIMITS, type ChunkLimits } from './chunker.js'
import { CounterVectors, toWire, type VectorEntry } from '../model/counterVector.js'
import type { Filter } from './wire/frames.js'
import { adoptableReport, advancesFor, diff, holderReport, layersOf, senderReport, streamRanges, topsOf } from './diff.js'
import { StreamProgress, topsOfReport } from './progress.js'
import { isErrorCode, isPollenError, pollenError } from '../errors.js'
import { formatInstanceId, instanceIdOf, sign, verify, type Identity } from '../model/identity.js'
import type { ApplyResult, OpLog } from '../log/opLog.js'
import type { ResumeMarker } from '../log/resumeMarker.js'
import { opCount, unpackOps } from './wire/opColumns.js'
import { decodeOpenedTerms, encodeOpenTerms } from './wire/openTerms.js'
import { coveredByAny, covers } from '../model/partition.js'
import { AckSender, encodePullAck, MIN_RATE_BYTES, RateCap } from './pacing.js'
import { countClaims, repairsFor, type ClaimMismatch } from './verify.js'
import {
  beginSigned, encodeFrame, endSigned, isEndFrame, isErrorFrame, isOpenResponse, isPushResult, isChunkFrame, openedSigned, openSigned, PROTOCOL_VERSION,
  type OpenedTerms, type OpenMode, type OpenRequest, type OpenTerms, type SyncMode,
} from './wire/frames.js'
import type { SyncTransport } from './transport.js'
import { pack } from '../msgpack.js'
import { MAX_CHUNK_BYTES, MAX_CHUNK_OPS } from './wire/limits.js'

/** A peer as the client needs it. */
export interface PeerTarget {
  name: string
  user: string
  key: string
  filters: string[]
  pinnedKey?: string
  /**
   * A trusted relay (`pollen peer set --trusted`): its claims and its operations without an
   * author's seal are taken as they come (docs/protocol.md §11.4).
   */
  trusted?: boolean
}

export type SyncGroup = 'session' | 'queuing' | 'pulling' | 'pushing' | 'dequeuing'
export type SyncStage = 'started' | 'in_progress' | 'completed'

/** A progress event, in Morango's signal groups. */
export interface SyncEvent {
  peer: string
  group: SyncGroup
  stage: SyncStage
  ops?: number
  /** Operations the stream may carry at most (counters to go through; the filter and languages leave some out). */
  total?: number
  /** How far the stream has come, from 0 to 1 (core/sync/progress.ts): what a progress bar shows. */
  fraction?: number
  chunks?: number
  bytes?: number
  error?: string
}

/** The result of one sync with one peer (the fields of docs/design.md §10.1). */
export interface SyncResult {
  peer: string
  ok: boolean
  error: string | null
  code: string | null
  pulled: number
  pushed: number
  new: number
  updated: number
  unchanged: number
  conflicts: number
  bytesIn: number
  bytesOut: number
  chunks: number
  /** Operations a peer sent without their author's seal, left out (docs/protocol.md §11.4). */
  unsealed: number
  requests: number
  resumed: boolean
  ms: number
  started: string
  /** Attempts this run made: more than one when cut connections were resumed (core/sync/cutPolicy.ts). */
  attempts: number
  /** Attempts that ended with the connection cut. */
  cuts: number
  /**
   * The chunk size (bytes before compression) asked of the peer: after a run, the size learned
   * for the next one (core/sync/cutPolicy.ts); 0 for the peer's own size.
   */
  chunkBytes: number
  /** Decompressed ÷ compressed bytes of the chunks pulled (0 when none arrived); after a run, as remembered for the peer. */
  compression: number
  /**
   * The link's rate in bytes per second as the pull saw it while waiting for data (0 when it
   * could not tell: too short, or this instance set the pace); after a run, as remembered
   * for the peer, and sent to it at the next pull (OpenTerms.linkRate).
   */
  linkRate: number
  /** Something the person who asked for the run should know (a run by hand outside the peer's sync windows). */
  note?: string
}

export interface SyncClientOptions {
  log: OpLog
  identity: Identity
  transport: SyncTransport
  codec?: CodecOptions
  chunk?: ChunkLimits
  maxChunkBytes?: number
  /** The chunk size (bytes before compression) to ask the peer for in a pull; 0 or absent for its own. */
  pullChunkBytes?: number
  /** A bandwidth cap for both directions, bytes per second (the peer's --max-kbps); absent for none. */
  maxBytesPerSec?: number
  /**
   * The most bytes this sync may still move (what a metered peer's budget has left today),
   * or absent for no limit: the pull asks the peer to stop sending chunks once it sent this
   * many, and a stream that ends there is the budget, not a cut.
   */
  maxBytes?: number
  /** The link's rate remembered for this peer, bytes per second (SyncResult.linkRate of the last pull); absent when unknown. */
  linkRate?: number
  /** Most operations one pulled chunk may hold (default 10,000, as the server's push limit). */
  maxChunkOps?: number
  onEvent?: (ev: SyncEvent) => void
  /** Pins the peer's key at first contact; reports a changed one. */
  pinKey?: (publicKeyB64: string) => Promise<'pinned' | 'same' | 'changed'>
  now?: () => number
  /** Abandons the run between chunks (the daemon is stopping). */
  signal?: AbortSignal
}

function emptyResult(peer: string, started: number): SyncResult {
  return { peer, ok: false, error: null, code: null, pulled: 0, pushed: 0, new: 0, updated: 0, unchanged: 0, conflicts: 0, bytesIn: 0, bytesOut: 0, chunks: 0, unsealed: 0, requests: 0, resumed: false, ms: 0, started: new Date(started).toISOString(), attempts: 1, cuts: 0, chunkBytes: 0, compression: 0, linkRate: 0 }
}

/** "47.0 KB": how much a cut connection carried, for a person. */
function kilobytes(n: number): string {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KB`
}

/**
 * A connection that answered and then broke is a cut link, not an unreachable peer: what it
 * carried is kept (each complete chunk was applied) and another attempt resumes from there.
 */
function asCut(err: unknown, peer: string, transport: SyncTransport, result: SyncResult): unknown {
  if (!isPollenError(err, 'POLLEN_PEER_UNREACHABLE') || (transport.bytesIn === 0 && transport.reached !== true)) return err
  const cause = err.message.replace(/^cannot reach \S+: /, '')
  return pollenError('POLLEN_CONNECTION_CUT', `connection to ${peer} cut after ${kilobytes(transport.bytesIn + transport.bytesOut)} (${cause}); ${result.chunks} chunks were applied and the next attempt resumes from there`, { cause: err })
}

/** Why `signal` stopped the sync, when it did and its reason is a pollen error (the daemon sets one). */
function stopReason(signal: AbortSignal | undefined): Error | undefined {
  return signal?.aborted && isPollenError(signal.reason) ? signal.reason : undefined
}

function add(result: SyncResult, r: ApplyResult): void {
  result.new += r.new
  result.updated += r.updated
  result.unchanged += r.unchanged
  result.conflicts += r.conflicts
}

/** Runs one sync with one peer; never throws: failures are in the result. */
export async function syncWithPeer(opts: SyncClientOptions, peer: PeerTarget, mode: SyncMode = 'both'): Promise<SyncResult> {
  const now = opts.now ?? Date.now
  const started = now()
  const result = emptyResult(peer.name, started)
  const emit = (group: SyncGroup, stage: SyncStage, extra: Partial<SyncEvent> = {}) => opts.onEvent?.({ peer: peer.name, group, stage, ...extra })
  emit('session', 'started')
  result.chunkBytes = opts.pullChunkBytes ?? 0
  try {
    await run(opts, peer, mode, result, emit)
    result.ok = true
  } catch (caught) {
    // A stop asked for (the daemon stopping, a cancel) shows as itself, not as the cut it causes.
    const err = stopReason(opts.signal) ?? asCut(caught, peer.name, opts.transport, result)
    if (isPollenError(err, 'POLLEN_CONNECTION_CUT')) result.cuts = 1
    result.code = isPollenError(err) ? err.code : 'POLLEN_SYNC_FAILED'
    result.error = (err as Error)?.message ?? String(err)
  }
  result.bytesIn = opts.transport.bytesIn
  result.bytesOut = opts.transport.bytesOut
  result.requests = opts.transport.requests
  result.ms = now() - started
  emit('session', 'completed', result.ok ? {} : { error: result.error ?? undefined })
  return result
}

type Emit = (group: SyncGroup, stage: SyncStage, extra?: Partial<SyncEvent>) => void

/** An opened session: our terms, the peer's verified answer, and the rest of its stream. */
interface Opened {
  terms: OpenTerms
  opened: OpenedTerms
  frames: AsyncIterator<unknown>
  creds: { user: string; key: string }
  /** The log's claims epoch when our holder claims were read (see OpLog.claimsEpoch). */
  claimsEpoch: number
}

async function run(opts: SyncClientOptions, peer: PeerTarget, mode: SyncMode, result: SyncResult, emit: Emit): Promise<void> {
  const { log } = opts
  const resume = log.resumeMarker(peer.name)
  result.resumed = await resume.held()
  emit('queuing', 'started')
  const session = await openSession(opts, peer, mode, () => emit('queuing', 'completed'))
  const { opened, creds } = session
  if (opened.pull) await pull(opts, peer, session, resume, result, emit)
  if (opened.push && 'refused' in opened.push) {
    if (mode === 'push') throw remote({ code: opened.push.refused, message: opened.push.message })
    return
  }
  if (opened.push) {
    if (!opened.push.filter.prefixes.every((p) => session.terms.filter.prefixes.some((q) => covers(q, p)))) throw pollenError('POLLEN_OUT_OF_SCOPE', 'the peer asked for a push outside the requested filter')
    await push(opts, opened.session, opened.push, creds, result, emit)
  }
}

/**
 * Opens a session: signed terms with our claims for the filter, the peer's answer checked
 * against our nonce and its pinned key. A peer holding our own operations beyond our counter
 * shows that we were restored from a backup: we re-key before anything else.
 */
async function openSession(opts: SyncClientOptions, peer: PeerTarget, mode: OpenMode, sent?: () => void): Promise<Opened> {
  const { log, identity, transport } = opts
  const creds = { user: peer.user, key: peer.key }
  const filter: Filter = { prefixes: peer.filters, languages: [...log.languages] }
  const claimsEpoch = log.claimsEpoch
  const holder = holderReport(log.vectors, filter)
  const pinned = peer.pinnedKey ? new Uint8Array(Buffer.from(peer.pinnedKey, 'base64')) : undefined
  const terms: OpenTerms = {
    v: PROTOCOL_VERSION, user: peer.user,
    client: { instance: instanceIdOf(identity.publicKey), publicKey: identity.publicKey, author: log.author },
    server: pinned ? instanceIdOf(pinned) : '', nonce: new Uint8Array(randomBytes(16)), mode, filter, holder, acks: true,
    head: ownHead(identity, log), yourHead: pinned ? await headToShow(log, instanceIdOf(pinned)) : null,
    chunkBytes: opts.pullChunkBytes ?? 0,
    maxRate: opts.maxBytesPerSec ?? 0,
    maxBytes: opts.maxBytes === undefined ? 0 : Math.max(1, Math.ceil(opts.maxBytes)),
    linkRate: Math.max(0, Math.round(opts.linkRate ?? 0)),
  }
  const body = encodeOpenTerms(terms)
  const request: OpenRequest = { t: 'open', body, sig: sign(openSigned(body), identity.secretKey) }
  sent?.()

  const frames = (await transport.open(creds, pack(request)))[Symbol.asyncIterator]()
  const first = await frames.next()
  if (first.done) throw pollenError('POLLEN_BAD_MESSAGE', 'the peer closed the session without answering')
  if (isErrorFrame(first.value)) throw remote(first.value)
  if (!isOpenResponse(first.value)) throw pollenError('POLLEN_BAD_MESSAGE', 'the peer answered with something that is not a session')
  const opened = decodeOpenedTerms(first.value.body, { request: terms, pinnedKey: pinned })
  const server = opened.server
  if (!verify(openedSigned(terms.nonce, first.value.body), first.value.sig, server.publicKey)) {
    throw pollenError('POLLEN_BAD_SIGNATURE', 'the peer could not prove its instance key over our nonce')
  }
  // The instance that signed the answer must be the one holding the TLS channel.
  if (transport.peerKey && !Buffer.from(transport.peerKey).equals(Buffer.from(server.publicKey))) {
    throw pollenError('POLLEN_CHANNEL_MISMATCH', `peer ${peer.name} answered as instance ${formatInstanceId(server.instance)}, but its TLS certificate is another instance's`)
  }
  const keyB64 = Buffer.from(server.publicKey).toString('base64')
  const pin = opts.pinKey ? await opts.pinKey(keyB64) : peer.pinnedKey === undefined || peer.pinnedKey === keyB64 ? 'same' : 'changed'
  if (pin === 'changed') throw pollenError('POLLEN_PEER_KEY_CHANGED', `peer ${peer.name} presented a new instance key (${formatInstanceId(server.instance)}); if that is expected, accept it with \`pollen peer set ${peer.name} --accept-key ${formatInstanceId(server.instance)}\``)

  checkPeerHead(opened.head, server.publicKey, 'the session answer')
  await log.heads.record(server.instance, opened.head)
  // Only our own signed head re-keys us; the peer's claims never do (core/sync/restore.ts).
  await rekeyIfRestored(log, identity, opened.yourHead, `peer ${peer.name}`)
  return { terms, opened, frames, creds, claimsEpoch }
}

/** Takes the pulled stream: each chunk verified, scope-checked and applied in one batch with its advances. */
async function pull(opts: SyncClientOptions, peer: PeerTarget, session: Opened, resume: ResumeMarker, result: SyncResult, emit: Emit): Promise<void> {
  const { log, transport } = opts
  const { opened, frames, creds, claimsEpoch } = session
  const terms = opened.pull as NonNullable<OpenedTerms['pull']>
  const server = opened.server
  const pf = terms.filter
  if (!pf.prefixes.every((p) => session.terms.filter.prefixes.some((q) => covers(q, p)))) throw pollenError('POLLEN_OUT_OF_SCOPE', 'the peer offered data outside the requested filter')
  const layers = layersOf(session.terms.filter)
  const report = adoptableReport(terms.report, { prefixes: pf.prefixes, languages: session.terms.filter.languages }, log.vectors)
  const maxOps = opts.maxChunkOps ?? MAX_CHUNK_OPS
  const decoder = new ChunkDecoder(opened.session, 'pull', server.publicKey, opts.maxChunkBytes ?? MAX_CHUNK_BYTES, maxOps)
  const gate = new SealGate(peer.trusted === true)
  const progress = new StreamProgress(streamRanges(topsOfReport(terms.report), { prefixes: pf.prefixes, languages: session.terms.filter.languages }, log.vectors))
  emit('pulling', 'started', { total: progress.total, fraction: progress.fraction })
  emit('dequeuing', 'started')
  const finish = async () => {
    const authors = new Set(report.flatMap((e) => Object.keys(e.counters)))
    await log.applyRemote([], gate.cap([...authors].flatMap((a) => advancesFor(report, a, Infinity))), [resume.clear()], claimsEpoch, { vouch: !gate.trusted })
  }
  let ended = terms.complete
  if (ended) await finish()
  // Chunk n+1 is verified and decompressed while chunk n is being written: storage and
  // CPU work overlap. Writes stay in order, one atomic batch per chunk.
  let writing: Promise<void> = Promise.resolve()
  // Taken chunks are acknowledged beside the stream, so the server paces itself by the link (§8.4).
  const acks = new AckSender((a) => transport.ack(creds, opened.session, encodePullAck(a)))
  const nextFrame = () => {
    acks.waiting()
    return frames.next()
  }
  try {
    for (let next = await nextFrame(); !next.done; next = await nextFrame()) {
      if (ended) throw pollenError('POLLEN_BAD_MESSAGE', 'the peer sent frames after the end of the pull')
      const frame = next.value
      if (isErrorFrame(frame)) throw remote(frame)
      if (opts.signal?.aborted) throw stopReason(opts.signal) ?? pollenError('POLLEN_SYNC_FAILED', 'abandoned: the daemon is stopping; the next sync resumes here')
      if (isChunkFrame(frame)) {
        acks.taken(frame.seq, frame.data.length)
        const payload = await decoder.decode(frame)
        const all = unpackOps(payload.ops, maxOps)
        for (const op of all) {
          if (!coveredByAny(pf.prefixes, op.partition) || !layers.includes(op.layer)) throw pollenError('POLLEN_OUT_OF_SCOPE', `the peer sent operation ${op.author}:${op.counter} outside the filter`)
        }
        const { ops, islands } = await gate.take(all, payload.seals, payload.keys)
        result.unsealed = gate.unsealed
        const advances = gate.cap(payload.progress.flatMap(([a, through]) => advancesFor(report, a, through)))
        const chunks = decoder.count
        progress.advance(payload.progress)
        emit('pulling', 'in_progress', { ops: result.pulled + ops.length, total: progress.total, fraction: progress.fraction, chunks, bytes: transport.bytesIn })
        await writing
        acks.applying()
        writing = log.applyRemote(ops, advances, [resume.progress(opened.session, chunks)], claimsEpoch, { islands, vouch: !gate.trusted }).then((r) => {
          add(result, r)
          result.pulled += r.applied
          result.chunks += 1
          emit('dequeuing', 'in_progress', { ops: result.pulled, chunks: result.chunks })
        }).finally(() => acks.applied())
      } else if (isEndFrame(frame)) {
        if (!verify(endSigned(opened.session, 'pull', frame.chunks), frame.sig, server.publicKey) || frame.session !== opened.session) throw pollenError('POLLEN_BAD_SIGNATURE', 'the end frame has a bad signature')
        if (frame.chunks !== decoder.count) throw pollenError('POLLEN_BAD_MESSAGE', `the peer ended after ${frame.chunks} chunks; ${decoder.count} arrived`)
        acks.close()
        await writing
        await finish()
        ended = true
      } else throw pollenError('POLLEN_BAD_MESSAGE', 'the peer sent a frame that is neither a chunk nor an end')
    }
    await writing
  } finally {
    acks.close()
    await writing.catch(() => undefined)
    decoder.close()
    result.compression = decoder.wireBytes > 0 ? decoder.rawBytes / decoder.wireBytes : 0
    result.linkRate = Math.round((acks.linkRate() ?? 0) * 1000)
  }
  const budget = session.terms.maxBytes
  if (!ended && budget > 0 && decoder.wireBytes >= budget) {
    throw stopReason(opts.signal) ?? pollenError('POLLEN_BUDGET_SPENT', `the byte budget of this sync with ${peer.name} (${kilobytes(budget)}) is spent; ${result.chunks} chunks were applied and the next sync resumes from there`)
  }
  if (!ended) throw pollenError('POLLEN_CONNECTION_CUT', `connection to ${peer.name} cut after ${kilobytes(transport.bytesIn + transport.bytesOut)}, before the end of the pull; ${result.chunks} chunks were applied and the next attempt resumes from there`)
  emit('pulling', 'completed', { ops: result.pulled, chunks: result.chunks, fraction: 1, bytes: transport.bytesIn })
  emit('dequeuing', 'completed', { ops: result.pulled })
}

/** What a claims check with one peer found and repaired. */
export interface VerifyResult {
  peer: string
  ok: boolean
  error: string | null
  code: string | null
  /** Claims the peer could judge (row and author each). */
  checked: number
  /** Operations the peer counted under those claims. */
  counted: number
  mismatches: ClaimMismatch[]
  /** Stored claim rows lowered to what could be proven. */
  lowered: number
  ms: number
}

/**
 * Checks our claims for the peer's filter against the peer's log (docs/protocol.md §9.5) and
 * lowers every claim the peer shows to be untrue; the next pull from any peer then fetches
 * what is missing. Never throws: failures are in the result.
 */
export async function verifyWithPeer(opts: SyncClientOptions, peer: PeerTarget): Promise<VerifyResult> {
  const started = Date.now()
  const result: VerifyResult = { peer: peer.name, ok: false, error: null, code: null, checked: 0, counted: 0, mismatches: [], lowered: 0, ms: 0 }
  try {
    const { opened, terms } = await openSession(opts, peer, 'verify')
    const answer = opened.verify as NonNullable<OpenedTerms['verify']>
    if (!answer.filter.prefixes.every((p) => terms.filter.prefixes.some((q) => covers(q, p)))) throw pollenError('POLLEN_OUT_OF_SCOPE', 'the peer checked claims outside the requested filter')
    const { log } = opts
    const holder = CounterVectors.from(terms.holder)
    // Only claims we made can be judged; a count above our claim is not evidence of a gap.
    const theirs = answer.counts.filter((c) => c.through <= holder.effective(c.prefix, c.layer, c.author) && c.author !== log.author)
    const mine = await countClaims(log, theirs)
    const { mismatches, lowerings } = repairsFor(theirs, mine, holder, log.vectors.entries())
    result.checked = theirs.length
    result.counted = theirs.reduce((n, c) => n + c.counts.reduce((a, b) => a + b, 0), 0)
    result.mismatches = mismatches
    result.lowered = (await log.lowerClaims(lowerings)).length
    result.ok = true
  } catch (err) {
    result.code = isPollenError(err) ? err.code : 'POLLEN_SYNC_FAILED'
    result.error = (err as Error)?.message ?? String(err)
  }
  result.ms = Date.now() - started
  return result
}

async function push(opts: SyncClientOptions, session: string, terms: { filter: Filter; holder: VectorEntry[] }, creds: { user: string; key: string }, result: SyncResult, emit: Emit): Promise<void> {
  const { log, identity, transport } = opts
  const holder = CounterVectors.from(terms.holder)
  const report = senderReport(log.vectors, terms.filter)
  const chunks = sealedChunks(log, chunkDiff(diff(log, terms.filter, holder), opts.chunk ?? DEFAULT_CHUNK_LIMITS))[Symbol.asyncIterator]()
  const first = await chunks.next()
  // Nothing to send and no claim the peer lacks: no second request.
  const raises = report.some((e) => Object.entries(e.counters).some(([a, n]) => holder.effective(e.prefix, e.layer, a) < n))
  if (first.done && !raises) return
  const progress = new StreamProgress(streamRanges(topsOf(log), terms.filter, holder))
  emit('pushing', 'started', { total: progress.total, fraction: progress.fraction })
  const encoder = new ChunkEncoder(session, 'push', identity.secretKey, opts.codec ?? DEFAULT_CODEC)
  let pushedOps = 0
  const reportBytes = pack(toWire(report))
  const cap = opts.maxBytesPerSec ? new RateCap(Math.max(MIN_RATE_BYTES, opts.maxBytesPerSec)) : undefined
  async function* frames(): AsyncIterable<Uint8Array> {
    yield encodeFrame({ t: 'begin', session, body: reportBytes, sig: sign(beginSigned(session, reportBytes), identity.secretKey) })
    for (let next = first; !next.done; ) {
      pushedOps += opCount(next.value.ops)
      const frame = await encoder.encode(next.value)
      await cap?.take(frame.data.length, opts.signal)
      progress.advance(next.value.progress)
      emit('pushing', 'in_progress', { ops: pushedOps, total: progress.total, fraction: progress.fraction, chunks: encoder.count, bytes: transport.bytesOut })
      yield encodeFrame(frame)
      const started = Date.now()
      next = await chunks.next()
      encoder.reading(Date.now() - started)
    }
    yield encodeFrame({ t: 'end', session, chunks: encoder.count, sig: sign(endSigned(session, 'push', encoder.count), identity.secretKey) })
  }
  try {
    const answer = await transport.push(creds, session, frames())
    if (isErrorFrame(answer)) throw remote(answer)
    if (!isPushResult(answer)) throw pollenError('POLLEN_BAD_MESSAGE', 'the peer answered the push with something unexpected')
    result.pushed += answer.applied
    result.chunks += answer.chunks
  } finally {
    encoder.close()
  }
  emit('pushing', 'completed', { ops: result.pushed, fraction: 1, bytes: transport.bytesOut })
}

function remote(frame: { code: string; message: string }) {
  return pollenError(isErrorCode(frame.code) ? frame.code : 'POLLEN_SYNC_FAILED', `peer: ${frame.message}`)
}
