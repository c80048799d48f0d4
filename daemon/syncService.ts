/**
 * Sync inside the daemon: the sync API server, runs against peers (one at a time per peer; a
 * `pollen sync` joins a run already going), the per-peer history, progress events, and the
 * scheduler (periodic syncs of active peers, backoff with jitter after failures). One failing
 * peer never stops the others.
 */
import { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { buildSyncApi } from '../adapters/httpSyncServer.js'
import { HttpSyncTransport } from '../adapters/httpSyncTransport.js'
import { tlsCredentials, type TlsCredentials } from '../adapters/tlsIdentity.js'
import { isPollenError, pollenError } from '../core/errors.js'
import { Peers, type Peer } from '../core/access/peers.js'
import { msUntilWindow } from '../core/access/syncWindows.js'
import { syncWithPeer, verifyWithPeer, type PeerTarget, type SyncClientOptions, type SyncEvent, type SyncResult, type VerifyResult } from '../core/sync/client.js'
import { SyncHistory } from '../core/log/syncHistory.js'
import { linkOf, syncWithRetries, type LinkMemory, type RetryPolicy } from '../core/sync/cutPolicy.js'
import type { SyncMode } from '../core/sync/wire/frames.js'
import { SyncServer } from '../core/sync/server.js'
import { parseListen } from './config.js'
import { PeerLinks } from './peerLinks.js'
import { budgetLeft, MIB, msUntilTomorrow, urgentFilters, type Budget } from './meteredLink.js'
import type { Instance } from './instance.js'
import type { Logger } from './logger.js'

const HISTORY_KEEP = 200
const BACKOFF_BASE_MS = 15_000
/** Every this many scheduled syncs with a peer, its claims are checked (docs/operations.md). */
export const VERIFY_EVERY = 12

/** A claims check with one peer, and the pull that repaired what it found. */
export interface VerifyReport extends VerifyResult {
  /** The pull run after claims were lowered (absent when nothing was lowered). */
  repair?: SyncResult
}

/** A run in progress, for `pollen log`, `status` and the control API's `GET /v1/runs`. */
export interface RunState {
  peer: string
  mode: SyncMode
  started: string
  /** What it does now: opening, pulling, pushing (the last progress event's group). */
  stage: string
  /** Operations received (pulling) or sent (pushing) so far in this stage. */
  ops: number
  /** How far this stage has come, 0 to 1 (core/sync/progress.ts). */
  fraction: number
  /** Bytes received and sent by the attempt under way. */
  bytes: number
  /** True once a cancel was asked for: it stops at the next chunk boundary. */
  cancelling: boolean
}

/** A run in progress: its state, what cancels it alone, and a metered peer's byte budget. */
interface LiveRun {
  state: RunState
  cancel: AbortController
  budget?: Budget
  /** Bytes this run moved so far, over all its attempts, and the last counts seen per direction. */
  moved: number
  last: { pulling: number; pushing: number }
}


/** Why a run stops when the daemon does. */
const STOPPING = (): Error => pollenError('POLLEN_SYNC_FAILED', 'abandoned: the daemon is stopping; the next sync resumes here')

export class SyncService {
  readonly events = new EventEmitter()
  readonly server: SyncServer
  readonly #inst: Instance
  readonly #log: Logger
  readonly #running = new Map<string, Promise<SyncResult>>()
  /** Peers whose run in progress covers only some prefixes (an urgent-only run). */
  readonly #narrowRuns = new Set<string>()
  /** Per run in progress: its state and what cancels it alone. */
  readonly #live = new Map<string, LiveRun>()
  readonly #timers = new Map<string, NodeJS.Timeout>()
  /** When each planned timer fires (ms since the epoch), for the web page's peer list. */
  readonly #planned = new Map<string, number>()
  readonly #failures = new Map<string, number>()
  readonly #onResult?: (r: SyncResult) => void
  readonly #onVerify?: (r: VerifyReport) => void
  /** Scheduled syncs per peer since the daemon started (every VERIFY_EVERY-th checks claims). */
  readonly #scheduled = new Map<string, number>()
  readonly #abort = new AbortController()
  readonly #chunk: { maxOps: number; maxBytes: number }
  readonly #history: SyncHistory<SyncResult>
  #api?: FastifyInstance
  /** This instance's TLS certificate, made from its key at start (adapters/tlsIdentity.ts). */
  #tls?: TlsCredentials
  /** Connections kept per peer between syncs (daemon/peerLinks.ts). */
  readonly #links = new PeerLinks()
  /** The chunk size learned per peer from cut links (core/sync/cutPolicy.ts); after a restart, from the history. */
  readonly #linkMemory = new Map<string, LinkMemory>()
  #stopped = false
  address = ''

  constructor(inst: Instance, logger: Logger, onResult?: (r: SyncResult) => void, onVerify?: (r: VerifyReport) => void) {
    this.#inst = inst
    this.#log = logger
    this.#onResult = onResult
    this.#onVerify = onVerify
    this.#history = new SyncHistory(inst.store, HISTORY_KEEP)
    this.events.setMaxListeners(100)
    // One object, updated on reload, so new sessions use the new chunk sizes.
    const chunk = { maxOps: inst.config.sync.chunkOps, maxBytes: inst.config.sync.chunkBytes }
    this.#chunk = chunk
    this.server = new SyncServer({
      identity: inst.identity,
      log: inst.log,
      users: inst.users,
      chunk,
      onRekey: (author) => logger.warn({ author }, 'a peer holds operations of ours beyond our counter: this data directory was restored from a backup; continuing under a new author id'),
    })
  }

  /** Starts the sync API and the scheduler. */
  async start(listen: string): Promise<void> {
    await this.#listen(listen)
    this.#schedule()
  }

  async #listen(listen: string): Promise<void> {
    const { api, address } = await this.#bind(listen, this.#inst.config.sync.plain)
    this.#api = api
    this.address = address
  }

  /** A sync API listening on `listen`; POLLEN_ADDRESS_IN_USE or POLLEN_INVALID_CONFIG when it cannot. */
  async #bind(listen: string, plain: boolean): Promise<{ api: FastifyInstance; address: string }> {
    const { host, port } = parseListen(listen)
    this.#tls ??= await tlsCredentials(this.#inst.identity)
    if (plain) this.#log.warn({ plain: true }, 'plain mode: the sync API speaks unencrypted HTTP and http:// peers are allowed; API keys and records cross the network readable (docs/operations.md)')
    const api = buildSyncApi(this.server, {
      onServed: (e) => this.#log.debug(e, 'sync request'),
    }, plain ? undefined : this.#tls)
    try {
      await api.listen({ host, port })
    } catch (err) {
      await api.close().catch(() => undefined)
      throw listenError(listen, err)
    }
    const addr = api.server.address()
    return { api, address: typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : listen }
  }

  /**
   * Moves the sync API to a new address (configuration reload): the new listener is bound
   * first and the old one closed after, so a refused move (the port is in use) leaves the
   * API where it was. Only a move to the same port on another host, which the old listener
   * itself may block, closes the old one first, and binds it again if the new one fails.
   */
  async restartApi(listen: string, plain = this.#inst.config.sync.plain): Promise<void> {
    const old = this.#api
    let bound: { api: FastifyInstance; address: string }
    try {
      bound = await this.#bind(listen, plain)
    } catch (err) {
      if (!old || !isPollenError(err, 'POLLEN_ADDRESS_IN_USE') || parseListen(listen).port !== Number(this.address.split(':').pop())) throw err
      const previous = this.address
      await old.close()
      try {
        bound = await this.#bind(listen, plain)
      } catch (again) {
        await this.#listen(previous)
        throw again
      }
    }
    this.#api = bound.api
    this.address = bound.address
    await old?.close()
  }

  /**
   * Stops the scheduler and the API and abandons runs in flight between chunks: a chunk being
   * applied finishes (one atomic batch); the one in transit is dropped and resumed next time.
   */
  async stop(): Promise<void> {
    this.#stopped = true
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
    this.#abort.abort(STOPPING())
    await Promise.allSettled([this.#api?.close(), ...this.#running.values()])
    this.#links.closeAll()
  }

  #schedule(): void {
    const interval = this.#inst.config.sync.intervalSeconds * 1000
    if (interval <= 0) return
    void this.#inst.peers.list().then((peers) => {
      for (const p of peers) if (p.active) this.#plan(p.name, interval * (0.5 + Math.random() * 0.5))
    })
  }

  #plan(name: string, delay: number): void {
    if (this.#stopped) return
    clearTimeout(this.#timers.get(name))
    this.#planned.set(name, Date.now() + delay)
    const t = setTimeout(() => {
      this.#planned.delete(name)
      void this.#inst.peers.get(name).then((peer) => {
        // Outside the peer's sync windows: wait for the next one to open (spread over a minute).
        const wait = msUntilWindow(peer.windows, new Date())
        if (wait > 0) {
          this.#log.debug({ peer: name, windows: peer.windows, waitMs: wait }, 'outside the peer\'s sync windows; the next scheduled sync waits for one')
          this.#plan(name, wait + Math.random() * 60_000)
          return
        }
        this.#scheduledRun(name)
      }, () => undefined)
    }, delay)
    t.unref()
    this.#timers.set(name, t)
  }

  /**
   * A scheduled run with the peer, then the next one planned (after failures, backoff). A
   * metered peer's urgent prefixes go first, outside its budget; once the day's budget is
   * spent, only they move, at the usual interval, and the rest waits for tomorrow.
   */
  #scheduledRun(name: string): void {
    void this.#scheduledRunOf(name).catch((err: unknown) => {
      // A storage error reading the peer or its history: try again at the interval.
      this.#log.warn({ peer: name, err }, 'scheduled sync could not start')
      this.#plan(name, this.#inst.config.sync.intervalSeconds * 1000)
    })
  }

  async #scheduledRunOf(name: string): Promise<void> {
    // A peer removed since the timer was set is not planned again.
    let peer: Peer
    try {
      peer = await this.#inst.peers.get(name)
    } catch (err) {
      if (isPollenError(err, 'POLLEN_NOT_FOUND')) return
      throw err
    }
    const urgent = urgentFilters(peer)
    if (urgent.length) await this.syncPeer(name, 'both', undefined, undefined, urgent)
    const budget = peer.meteredMb ? budgetLeft(peer, await this.#history.list(name, HISTORY_KEEP)) : undefined
    if (budget && budget.bytes <= 0) {
      this.#log.info({ peer: name, budgetMib: budget.mib, urgent }, urgent.length ? 'metered peer: today\'s budget is spent; scheduled syncs move only the urgent prefixes until tomorrow' : 'metered peer: today\'s budget is spent; the next scheduled sync waits for tomorrow')
      this.#plan(name, this.#spentDelay(urgent))
      return
    }
    this.#scheduledRunWith(name, budget, urgent)
  }

  /** When to look again once a metered peer's budget is spent: at the interval while urgent prefixes keep moving, else tomorrow. */
  #spentDelay(urgent: readonly string[]): number {
    const interval = this.#inst.config.sync.intervalSeconds * 1000
    return urgent.length ? interval * (0.75 + Math.random() * 0.5) : msUntilTomorrow() + Math.random() * 60_000
  }

  #scheduledRunWith(name: string, budget: Budget | undefined, urgent: readonly string[]): void {
    void this.syncPeer(name, 'both', undefined, budget).then(async (r) => {
      if (r.code === 'POLLEN_BUDGET_SPENT') {
        this.#plan(name, this.#spentDelay(urgent))
        return
      }
      const n = (this.#scheduled.get(name) ?? 0) + 1
      this.#scheduled.set(name, n)
      if (r.ok && n % VERIFY_EVERY === 0) await this.verifyPeer(name)
      const interval = this.#inst.config.sync.intervalSeconds * 1000
      const fails = r.ok ? 0 : (this.#failures.get(name) ?? 0) + 1
      this.#failures.set(name, fails)
      // After failures: exponential backoff capped at the interval, with ±25 % jitter.
      const base = fails === 0 ? interval : Math.min(interval, BACKOFF_BASE_MS * 2 ** (fails - 1))
      this.#plan(name, base * (0.75 + Math.random() * 0.5))
    })
  }

  /** Syncs one peer (over `filters` instead of its own, for an urgent-only run); joins the run already going for it. */
  syncPeer(name: string, mode: SyncMode, retry?: Partial<RetryPolicy>, budget?: Budget, filters?: readonly string[]): Promise<SyncResult> {
    const running = this.#running.get(name)
    // A full sync asked for while an urgent-only run goes waits for it and then runs itself:
    // the urgent run's result covers only its prefixes.
    if (running && !filters && this.#narrowRuns.has(name)) return running.catch(() => undefined).then(() => this.syncPeer(name, mode, retry, budget))
    if (running) return running
    if (filters) this.#narrowRuns.add(name)
    const run = this.#run(name, mode, retry, budget, filters).finally(() => {
      this.#running.delete(name)
      this.#narrowRuns.delete(name)
    })
    this.#running.set(name, run)
    return run
  }

  /** One run: attempts until one is not cut (core/sync/cutPolicy.ts), each with a chunk size learned from the cuts before. */
  async #run(name: string, mode: SyncMode, retry?: Partial<RetryPolicy>, budget?: Budget, filters?: readonly string[]): Promise<SyncResult> {
    const started = Date.now()
    const cancel = new AbortController()
    const signal = AbortSignal.any([this.#abort.signal, cancel.signal])
    const live: LiveRun = { cancel, budget, moved: 0, last: { pulling: 0, pushing: 0 }, state: { peer: name, mode, started: new Date(started).toISOString(), stage: 'opening', ops: 0, fraction: 0, bytes: 0, cancelling: false } }
    this.#live.set(name, live)
    try {
      const maxBytes = this.#inst.config.sync.chunkBytes
      const memory = this.#linkMemory.get(name) ?? linkOf(await this.#history.last(name), maxBytes)
      // Each attempt asks the peer for no more than the budget still left, so a pull on a
      // fast link stops within a chunk of it instead of a pacing window beyond.
      const attempt = (chunkBytes: number, linkRate: number) =>
        this.#withPeer(name, (opts, target) => syncWithPeer({
          ...opts, pullChunkBytes: chunkBytes, chunk: { maxOps: this.#inst.config.sync.chunkOps, maxBytes: chunkBytes || maxBytes }, linkRate,
          maxBytes: budget ? budget.bytes - live.moved : undefined,
        }, filters ? { ...target, filters: [...filters] } : target, mode), signal)
      const { result, memory: learned } = await syncWithRetries(attempt, {
        memory,
        maxBytes,
        policy: retry,
        // A pause a stop or a cancel cuts short; the run then ends after it.
        sleep: (ms) => delay(ms, undefined, { signal }).catch(() => undefined),
        now: Date.now,
        stopped: () => signal.aborted,
      })
      this.#linkMemory.set(name, learned)
      return await this.#record(filters ? { ...result, note: `urgent prefixes only (a metered link, outside its budget): ${filters.join(', ')}` } : result)
    } catch (err) {
      return this.#record(failed(name, started, err))
    } finally {
      this.#live.delete(name)
    }
  }

  /** Runs in progress, oldest first. */
  running(): RunState[] {
    return [...this.#live.values()].map((l) => ({ ...l.state }))
  }

  /**
   * Asks the runs with the named peers (every run when none are named) to stop at the next
   * chunk boundary: the chunk being applied is kept whole, the one in transit is dropped, and
   * the next sync resumes there. Returns the peers whose runs were asked.
   */
  cancel(names: readonly string[]): string[] {
    const out: string[] = []
    for (const [peer, l] of this.#live) {
      if (names.length && !names.includes(peer)) continue
      if (!l.state.cancelling) {
        l.state.cancelling = true
        l.cancel.abort(pollenError('POLLEN_SYNC_CANCELLED', `sync with ${peer} stopped on request; every chunk that arrived whole is kept, and the next sync resumes from there`))
        this.#log.info({ peer }, 'sync cancelled on request')
      }
      out.push(peer)
    }
    return out
  }

  /** Keeps a run's state up to date from its progress events. */
  #track(ev: SyncEvent): void {
    const live = this.#live.get(ev.peer)
    if (!live || (ev.group !== 'pulling' && ev.group !== 'pushing')) return
    const state = live.state
    if (state.stage !== ev.group) Object.assign(state, { stage: ev.group, ops: 0, fraction: 0 })
    if (ev.ops !== undefined) state.ops = ev.ops
    if (ev.fraction !== undefined) state.fraction = ev.fraction
    if (ev.bytes === undefined) return
    state.bytes = ev.bytes
    // Counts start again with each attempt's connection: a smaller one is a new attempt's.
    const before = live.last[ev.group]
    live.moved += ev.bytes >= before ? ev.bytes - before : ev.bytes
    live.last[ev.group] = ev.bytes
    if (live.budget && live.moved >= live.budget.bytes && !state.cancelling) {
      state.cancelling = true
      const where = `${ev.group} was ${Math.floor(state.fraction * 100)}% through`
      live.cancel.abort(pollenError('POLLEN_BUDGET_SPENT', `metered link: today's budget of ${live.budget.mib} MiB with ${ev.peer} is spent (this sync moved ${(live.moved / MIB).toFixed(2)} MiB; ${where}); the rest is left for tomorrow's scheduled syncs, or \`pollen sync ${ev.peer}\` by hand`))
      this.#log.info({ peer: ev.peer, movedBytes: live.moved }, 'metered peer: the day\'s budget is spent; the sync stops at the next chunk boundary')
    }
  }

  /** Runs `fn` with client options and the target for peer `name`; throws when the peer cannot be reached at all. */
  async #withPeer<T>(name: string, fn: (opts: SyncClientOptions, target: PeerTarget) => Promise<T>, signal: AbortSignal = this.#abort.signal): Promise<T> {
    const peer: Peer = await this.#inst.peers.get(name)
    const secret = await this.#inst.peers.secret(name)
    if (!secret) throw pollenError('POLLEN_INVALID_CONFIG', `peer ${name} has no API key; set one with \`pollen peer set ${name} --key K\``)
    this.#tls ??= await tlsCredentials(this.#inst.identity)
    const link = this.#links.take(name, peer.url, {
      tls: this.#tls,
      plain: this.#inst.config.sync.plain,
      // The pin is checked on the TLS handshake, before any HTTP byte (so before the API key).
      expectInstance: Peers.expectedInstance(peer),
      onOtherKey: (k) => void this.#inst.peers.recordKey(name, Buffer.from(k).toString('base64')).catch(() => undefined),
    })
    const transport = new HttpSyncTransport(peer.url, { signal, connections: link.conns })
    try {
      const opts: SyncClientOptions = {
        log: this.#inst.log,
        identity: this.#inst.identity,
        transport,
        chunk: { maxOps: this.#inst.config.sync.chunkOps, maxBytes: this.#inst.config.sync.chunkBytes },
        signal,
        // kbit/s to bytes per second.
        maxBytesPerSec: peer.maxKbps ? peer.maxKbps * 125 : undefined,
        onEvent: (ev) => {
          this.#track(ev)
          this.events.emit('event', ev)
        },
        pinKey: (k) => this.#inst.peers.recordKey(name, k),
      }
      return await fn(opts, { name, user: peer.user, key: secret, filters: peer.filters, pinnedKey: peer.pinnedKey, trusted: peer.trusted === true })
    } finally {
      link.release()
    }
  }

  /**
   * Checks our claims against one peer (core/sync/verify.ts) after any sync with it in flight;
   * when claims were lowered, pulls from it at once to fetch what was missing.
   */
  async verifyPeer(name: string): Promise<VerifyReport> {
    await this.#running.get(name)?.catch(() => undefined)
    const started = Date.now()
    let report: VerifyReport
    try {
      report = await this.#withPeer(name, (opts, target) => verifyWithPeer(opts, target))
    } catch (err) {
      const e = err as { code?: string; message?: string }
      report = { peer: name, ok: false, error: e.message ?? String(err), code: e.code ?? 'POLLEN_SYNC_FAILED', checked: 0, counted: 0, mismatches: [], lowered: 0, ms: Date.now() - started }
    }
    if (report.lowered > 0) report.repair = await this.syncPeer(name, 'pull')
    const level = !report.ok || report.mismatches.length > 0 ? 'warn' : 'info'
    this.#log[level]({ verify: report }, report.ok ? `claims check with ${name}: ${report.mismatches.length} untrue claims, ${report.lowered} lowered` : 'claims check failed')
    this.#onVerify?.(report)
    return report
  }

  /**
   * Checks claims with the named peers (all active ones when none are named), one after the
   * other: a repair found with one peer then shows in the next check as claims already held.
   */
  async verifyPeers(names: readonly string[]): Promise<VerifyReport[]> {
    await this.checkPeers(names)
    const all = await this.#inst.peers.list()
    const chosen = names.length ? all.filter((p) => names.includes(p.name)) : all.filter((p) => p.active)
    const out: VerifyReport[] = []
    for (const p of chosen) out.push(await this.verifyPeer(p.name))
    return out
  }

  async #record(result: SyncResult): Promise<SyncResult> {
    const log = result.ok ? this.#log.info.bind(this.#log) : this.#log.warn.bind(this.#log)
    log({ sync: result }, result.ok ? 'sync finished' : 'sync failed')
    try {
      await this.#history.append(result)
    } catch (err) {
      this.#log.error({ err }, 'could not record sync history')
    }
    this.events.emit('result', result)
    this.#onResult?.(result)
    return result
  }

  /**
   * Syncs the named peers (all active ones when none are named). Named peers that are
   * inactive are reported as failed with the reason; unknown names refuse the whole call.
   */
  /** Refuses unknown peer names with POLLEN_NOT_FOUND. */
  async checkPeers(names: readonly string[]): Promise<void> {
    const all = await this.#inst.peers.list()
    for (const n of names) if (!all.some((p) => p.name === n)) throw pollenError('POLLEN_NOT_FOUND', `no peer named ${n}; see \`pollen peer list\``)
  }

  async syncPeers(names: readonly string[], mode: SyncMode, onEvent?: (ev: SyncEvent) => void, retry?: Partial<RetryPolicy>): Promise<SyncResult[]> {
    await this.checkPeers(names)
    const all = await this.#inst.peers.list()
    const chosen = names.length ? all.filter((p) => names.includes(p.name)) : all.filter((p) => p.active)
    const listener = (ev: SyncEvent) => {
      if (chosen.some((p) => p.name === ev.peer)) onEvent?.(ev)
    }
    this.events.on('event', listener)
    // A sync run by hand still runs outside the peer's windows; its result says so.
    const outside = (p: Peer) =>
      [
        msUntilWindow(p.windows, new Date()) > 0 ? `run by hand outside the sync windows ${p.windows?.join(', ')} of ${p.name}; scheduled syncs wait for them` : undefined,
        p.meteredMb ? `run by hand on a metered link: not held to its budget of ${p.meteredMb} MiB a day, though its bytes count toward it` : undefined,
      ].filter(Boolean).join('; ') || undefined
    const noted = (p: Peer) => (r: SyncResult): SyncResult => {
      const note = outside(p)
      return note ? { ...r, note } : r
    }
    try {
      return await Promise.all(
        chosen.map((p) =>
          p.active ? this.syncPeer(p.name, mode, retry).then(noted(p)) : Promise.resolve(failed(p.name, Date.now(), pollenError('POLLEN_INVALID_INPUT', `peer ${p.name} is inactive; activate it with \`pollen peer set ${p.name} --active true\``))),
        ),
      )
    } finally {
      this.events.off('event', listener)
    }
  }

  /** The next scheduled run of a peer, or undefined when none is planned (inactive, scheduler off, running now). */
  nextRun(name: string): Date | undefined {
    const at = this.#planned.get(name)
    return at === undefined ? undefined : new Date(at)
  }

  /** True while a run with the peer is going. */
  isRunning(name: string): boolean {
    return this.#running.has(name)
  }

  /** Sync history, newest first. */
  async history(peer?: string, limit = 50): Promise<SyncResult[]> {
    if (peer !== undefined) await this.#inst.peers.get(peer)
    return this.#history.list(peer, limit)
  }

  /** The last run per peer, for `status`. */
  async lastSyncs(): Promise<Record<string, SyncResult>> {
    const out: Record<string, SyncResult> = {}
    for (const p of await this.#inst.peers.list()) {
      const last = await this.#history.last(p.name)
      if (last) out[p.name] = last
    }
    return out
  }

  /**
   * How sync connections are protected, for `status`: "tls" or "plain", and a warning per
   * risk an administrator should see (plain mode; http:// peers that are refused without it).
   */
  async transportStatus(): Promise<{ transport: 'tls' | 'plain'; warnings: string[] }> {
    const plain = this.#inst.config.sync.plain
    const warnings: string[] = []
    if (plain) warnings.push('plain mode is on: sync is unencrypted, API keys and records cross the network readable (set "sync": {"plain": false})')
    for (const p of await this.#inst.peers.list()) {
      if (p.url.startsWith('http://')) warnings.push(plain ? `peer ${p.name} is reached over plain http://` : `peer ${p.name} has a plain http:// URL, which is refused outside plain mode: change it to https://`)
    }
    return { transport: plain ? 'plain' : 'tls', warnings }
  }

  /** Re-reads peers after a change, so the scheduler follows `peer add/set/remove`. */
  reschedule(): void {
    this.#chunk.maxOps = this.#inst.config.sync.chunkOps
    this.#chunk.maxBytes = this.#inst.config.sync.chunkBytes
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
    this.#planned.clear()
    if (!this.#stopped) this.#schedule()
  }
}

function failed(peer: string, started: number, err: unknown): SyncResult {
  const e = err as { code?: string; message?: string }
  return { peer, ok: false, error: e.message ?? String(err), code: e.code ?? 'POLLEN_SYNC_FAILED', pulled: 0, pushed: 0, new: 0, updated: 0, unchanged: 0, conflicts: 0, bytesIn: 0, bytesOut: 0, chunks: 0, unsealed: 0, requests: 0, resumed: false, ms: Date.now() - started, started: new Date(started).toISOString(), attempts: 1, cuts: 0, chunkBytes: 0, compression: 0, linkRate: 0 }
}

/** Why the sync API cannot listen on `listen`, as the POLLEN_* error a person can act on. */
function listenError(listen: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE') return pollenError('POLLEN_ADDRESS_IN_USE', `cannot listen on ${listen}: another program uses that address; stop it or choose another listen address (--listen HOST:PORT)`, { cause: err })
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return pollenError('POLLEN_INVALID_CONFIG', `cannot listen on ${listen}: this machine has no such address; use one of its own, 0.0.0.0 or 127.0.0.1`, { cause: err })
  if (code === 'EACCES') return pollenError('POLLEN_INVALID_CONFIG', `cannot listen on ${listen}: ports below 1024 need privileges the service does not have; use a port from 1024 up`, { cause: err })
  return err instanceof Error ? err : new Error(String(err))
}
