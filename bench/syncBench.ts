/**
 * Measured syncs for the scenarios. pollen: a client daemon whose peer URL is an
 * {@link EmulatedLink} in front of a server daemon's sync API; a sync is `POST /v1/sync`
 * on the client's control socket, retried until it reports ok (a cut link ends a sync
 * with POLLEN_PEER_UNREACHABLE; the next one resumes). PouchDB: `PouchBench` from
 * `pouch.ts` over the same kind of link. Bytes are counted at the link for both.
 */
import { performance } from 'node:perf_hooks'
import type { SyncResult } from '../core/sync/client.js'
import { EmulatedLink, symmetricLink, type LinkOptions } from './link.js'
import { connect, PollenDaemon } from './pollenPeer.js'
import { PouchBench, type PouchRunResult } from './pouch.js'
import { cpuSeconds, sampleRss, type RssPeaks } from './proc.js'

/** A link as scenarios describe it. */
export interface LinkShape {
  /** Bits per second each way; Infinity = no limit. */
  rateBps: number
  rttMs: number
  cutEveryBytes?: number
}

export const UNLIMITED: LinkShape = { rateBps: Infinity, rttMs: 0 }

export function linkOptions(shape: LinkShape): Omit<LinkOptions, 'targetPort' | 'targetHost'> {
  return { ...symmetricLink(shape.rateBps, shape.rttMs), ...(shape.cutEveryBytes ? { cutEveryBytes: shape.cutEveryBytes } : {}) }
}

export function describeLink(shape: LinkShape): string {
  const rate = !Number.isFinite(shape.rateBps) ? 'unlimited' : shape.rateBps >= 1e6 ? `${shape.rateBps / 1e6} Mbit/s` : `${shape.rateBps / 1e3} kbit/s`
  return `${rate}, ${shape.rttMs} ms RTT${shape.cutEveryBytes ? `, cut every ${shape.cutEveryBytes / 1024} KiB` : ''}`
}

/** One measured pollen sync (all attempts until ok). */
export interface PollenRun {
  ms: number
  bytesUp: number
  bytesDown: number
  /** HTTP requests to the server's sync API (the client transport's count, all attempts). */
  requests: number
  connections: number
  cuts: number
  attempts: number
  /** Attempts that reported resuming an interrupted pull. */
  resumed: number
  pulled: number
  pushed: number
  chunks: number
  /** HTTP body bytes as the client daemon's transport counted them (no headers), all attempts. */
  bodyBytesIn: number
  bodyBytesOut: number
  /** The daemon's own `ms` of the last attempt. */
  daemonMs: number
  serverCpuSec: number
  clientCpuSec: number
  /** The part of clientCpuSec on the daemon's main (JavaScript) thread. */
  clientMainCpuSec: number
  serverPeakRssBytes: number | null
  clientPeakRssBytes: number | null
  /** With measurePeak: resident memory by kind (anonymous vs file-backed), sampled every 100 ms. */
  serverRss?: RssPeaks | null
  clientRss?: RssPeaks | null
  lastError: string | null
}

/** A pollen client daemon syncing with a server daemon through an emulated link. */
export class PollenPair {
  private constructor(
    readonly server: PollenDaemon,
    readonly client: PollenDaemon,
    readonly link: EmulatedLink,
    private readonly ownsServer: boolean,
  ) {}

  /** Starts a fresh client and a link to `server` (already running) shaped as `shape`. */
  static async create(server: PollenDaemon, shape: LinkShape, opts: { clientName?: string; ownsServer?: boolean; plain?: boolean } = {}): Promise<PollenPair> {
    const link = new EmulatedLink({ ...linkOptions(shape), targetPort: server.port })
    const port = await link.start()
    const client = PollenDaemon.create({ name: opts.clientName ?? `${server.name}-client`, ...(opts.plain ? { sync: { plain: true } } : {}) })
    try {
      await client.start()
      await connect(client, server, `${opts.plain ? 'http' : 'https'}://127.0.0.1:${port}`, 'src')
    } catch (err) {
      await link.stop()
      await client.destroy()
      throw err
    }
    return new PollenPair(server, client, link, opts.ownsServer ?? false)
  }

  /**
   * Connections get this rate and delay from now on (cuts stay as created): the ones the
   * client daemon kept from the last sync are dropped, so the next sync opens a new one.
   */
  reshape(shape: LinkShape): void {
    this.link.reshape(symmetricLink(shape.rateBps, shape.rttMs))
    this.link.dropConnections()
  }

  /** Drops the connections the client daemon keeps between syncs (daemon/peerLinks.ts). */
  dropConnections(): void {
    this.link.dropConnections()
  }

  /** Syncs (mode both) until a sync reports ok; measures time, bytes, CPU and memory. */
  async sync(opts: { maxAttempts?: number; measurePeak?: boolean } = {}): Promise<PollenRun> {
    const maxAttempts = opts.maxAttempts ?? 200
    this.link.resetStats()
    if (opts.measurePeak) {
      this.server.resetPeak()
      this.client.resetPeak()
    }
    const samplers = opts.measurePeak ? [sampleRss(this.server.pid), sampleRss(this.client.pid)] : null
    const cpuS = this.server.cpu() ?? 0
    const cpuC = this.client.cpu() ?? 0
    const mainC = this.client.mainThreadCpu() ?? 0
    const results: SyncResult[] = []
    const t0 = performance.now()
    for (;;) {
      const r = await this.client.sync('src', 'both')
      results.push(r)
      if (r.ok) break
      if (results.length >= maxAttempts) throw new Error(`pollen sync did not complete in ${maxAttempts} attempts; last: ${r.code} ${r.error}`)
    }
    const ms = performance.now() - t0
    const [serverRss, clientRss] = samplers ? samplers.map((x) => x.stop()) : [undefined, undefined]
    const s = this.link.stats()
    const last = results[results.length - 1]
    const failed = results.filter((r) => !r.ok)
    return {
      ms,
      bytesUp: s.bytesUp,
      bytesDown: s.bytesDown,
      requests: results.reduce((n, r) => n + r.requests, 0),
      connections: s.connections,
      cuts: s.cuts,
      // Attempts inside each `pollen sync` run (it resumes cut connections by itself).
      attempts: results.reduce((n, r) => n + (r.attempts ?? 1), 0),
      resumed: results.filter((r) => r.resumed).length,
      pulled: results.reduce((n, r) => n + r.pulled, 0),
      pushed: results.reduce((n, r) => n + r.pushed, 0),
      chunks: results.reduce((n, r) => n + r.chunks, 0),
      bodyBytesIn: results.reduce((n, r) => n + r.bytesIn, 0),
      bodyBytesOut: results.reduce((n, r) => n + r.bytesOut, 0),
      daemonMs: last.ms,
      serverCpuSec: (this.server.cpu() ?? 0) - cpuS,
      clientCpuSec: (this.client.cpu() ?? 0) - cpuC,
      clientMainCpuSec: (this.client.mainThreadCpu() ?? 0) - mainC,
      serverPeakRssBytes: opts.measurePeak ? this.server.peakRss() : null,
      clientPeakRssBytes: opts.measurePeak ? this.client.peakRss() : null,
      ...(samplers ? { serverRss, clientRss } : {}),
      lastError: failed.length ? `${failed[failed.length - 1].code}: ${failed[failed.length - 1].error}` : null,
    }
  }

  /**
   * Waits until neither daemon uses CPU (under 20 ms in 500 ms) or `maxMs` passes, so a
   * measurement right after a bulk transfer does not count LevelDB's background
   * compaction or garbage collection of the transfer. Returns the wait in ms.
   */
  async settle(maxMs = 60_000): Promise<number> {
    const t0 = performance.now()
    let last = (this.server.cpu() ?? 0) + (this.client.cpu() ?? 0)
    while (performance.now() - t0 < maxMs) {
      await new Promise((r) => setTimeout(r, 500))
      const now = (this.server.cpu() ?? 0) + (this.client.cpu() ?? 0)
      if (now - last < 0.02) break
      last = now
    }
    return performance.now() - t0
  }

  /** Stops the link and the client (and the server if this pair owns it). */
  async destroy(): Promise<void> {
    await this.link.stop()
    await this.client.destroy()
    if (this.ownsServer) await this.server.destroy()
  }
}

/** A PouchDB replication with the server's CPU seconds and the bench process's own. */
export interface PouchRun extends PouchRunResult {
  serverCpuSec: number | null
  /** CPU of the bench process: the PouchDB client, but also the link proxy. */
  clientCpuSec: number
}

/** `bench.replicate()` with CPU readings around it. */
export async function pouchReplicate(bench: PouchBench): Promise<PouchRun> {
  const pid = bench.serverPid
  const s0 = pid ? cpuSeconds(pid) : null
  const c0 = process.cpuUsage()
  const r = await bench.replicate()
  const c1 = process.cpuUsage(c0)
  const s1 = pid ? cpuSeconds(pid) : null
  return { ...r, serverCpuSec: s0 === null || s1 === null ? null : s1 - s0, clientCpuSec: (c1.user + c1.system) / 1e6 }
}
