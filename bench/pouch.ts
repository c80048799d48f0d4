/**
 * The reference peer: PouchDB replication (CouchDB protocol, LevelDB storage on both
 * sides) through the same emulated link pollen is measured on.
 *
 * Topology: a child process runs express-pouchdb over PouchDB/leveldb (the "server",
 * holding the source db). The bench process runs an {@link EmulatedLink} in front of it
 * and a client PouchDB on leveldb that pulls `http://127.0.0.1:<linkPort>/<src>` into a
 * local target db, which is the direction a school server or tablet syncs from the cloud.
 * Bytes are counted at the link (HTTP headers included: they cross the wire too);
 * requests are counted by the server.
 */
import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import PouchDB from 'pouchdb'
import { EmulatedLink, type LinkOptions } from './link.js'
import type { Resource } from './dataset.js'
import type { SideResult } from './resultTypes.js'
import type { ServerRequest, ServerStats } from './pouchServer.js'

/** `Omit` applied to each member of a union (plain `Omit` would merge them). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

/** One measured replication. */
export interface PouchRunResult {
  ms: number
  /** Bytes client → server at the link. */
  bytesUp: number
  /** Bytes server → client at the link. */
  bytesDown: number
  /** HTTP requests the server saw. */
  requests: number
  /** Requests per endpoint kind (`"POST _bulk_get"` …). */
  byEndpoint: Record<string, number>
  connections: number
  cuts: number
  /** Replication attempts (more than 1 only when the link cut it). */
  attempts: number
  /**
   * Attempts abandoned because the link carried nothing for `stallMs` (PouchDB hung after a
   * cut); `ms` leaves out those `stallMs` waits.
   */
  stalls: number
  docsWritten: number
  /**
   * Server VmHWM in bytes, reset just before the run. The reset sets the mark to the
   * current RSS, so this is max(RSS at start, peak during the run): memory the server
   * kept from loading or an earlier run counts. Null off Linux.
   */
  serverPeakRssBytes: number | null
}

/** Options for {@link PouchBench.start}. */
export interface PouchBenchOptions {
  /** The emulated link between client and server (its target is filled in). */
  link: Omit<LinkOptions, 'targetPort' | 'targetHost'>
  /** Working directory; default a fresh temp dir, removed by {@link PouchBench.stop}. */
  dir?: string
  /** Passed to `PouchDB.replicate` (defaults are PouchDB's own: batch_size 100, batches_limit 10). */
  replicate?: PouchDB.ReplicateOptions
  /** Attempts before giving up when the link cuts a replication. Default 50. */
  maxAttempts?: number
  /**
   * An attempt during which the link carries no byte for this long is abandoned (its
   * connections destroyed) and counted as stalled, then retried. Default 30 s. After a cut,
   * PouchDB 9 can wait forever on a request whose connection is gone.
   */
  stallMs?: number
  /**
   * Reuse connections (default true). PouchDB in Node goes through node-fetch 2, which
   * sends `Connection: close` unless given an agent, so out of the box every request
   * pays a TCP handshake; browsers keep connections alive. The reference should be
   * PouchDB at its reasonable best, so the bench gives it a keep-alive agent.
   */
  keepAlive?: boolean
}

/** `id` becomes `_id`; everything else is the document body. */
export function resourceToDoc(r: Resource): PouchDB.Doc {
  const { id, ...body } = r
  return { _id: id, ...body }
}

function readHwm(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/** A PouchDB server in a child process, an emulated link in front, a local client. */
export class PouchBench {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private readonly targets = new Map<string, PouchDB.Database>()
  private readonly ClientPouch: PouchDB.Static

  private constructor(
    private readonly child: ChildProcess,
    private readonly link: EmulatedLink,
    /** Port of the emulated link clients connect to. */
    readonly linkPort: number,
    /** Port of the server itself, bypassing the link. */
    readonly serverPort: number,
    private readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly opts: PouchBenchOptions,
  ) {
    fs.mkdirSync(path.join(dir, 'client'), { recursive: true })
    this.ClientPouch = PouchDB.defaults({ prefix: path.join(dir, 'client') + path.sep })
    child.on('message', (msg: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id)
      if (!p || msg.id === undefined) return
      this.pending.delete(msg.id)
      if (msg.ok) p.resolve(msg.result)
      else p.reject(new Error(`pouch server: ${msg.error}`))
    })
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`pouch server exited (${code})`))
      this.pending.clear()
    })
  }

  /** Starts the server process and the link. */
  static async start(opts: PouchBenchOptions): Promise<PouchBench> {
    const ownsDir = opts.dir === undefined
    const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pollen-pouch-'))
    const entry = fileURLToPath(new URL('./pouchServer.js', import.meta.url))
    const child = fork(entry, [path.join(dir, 'server')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
    const serverPort = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', (code) => reject(new Error(`pouch server exited during start (${code})`)))
      child.on('message', (m: { type?: string; port?: number }) => {
        if (m.type === 'ready' && m.port) resolve(m.port)
      })
    })
    child.removeAllListeners('exit')
    child.removeAllListeners('error')
    const link = new EmulatedLink({ ...opts.link, targetPort: serverPort })
    const linkPort = await link.start()
    return new PouchBench(child, link, linkPort, serverPort, dir, ownsDir, opts)
  }

  private call<T>(req: WithoutId<ServerRequest>): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.child.send({ ...req, id })
    })
  }

  /**
   * Writes resources into a server db directly (not through the link): new ones are
   * created, existing ids get a new revision. Batches keep IPC messages small.
   */
  async load(resources: Iterable<Resource>, db = 'src', batch = 500): Promise<number> {
    let n = 0
    let docs: PouchDB.Doc[] = []
    for (const r of resources) {
      docs.push(resourceToDoc(r))
      if (docs.length >= batch) {
        n += await this.call<number>({ op: 'load', db, docs })
        docs = []
      }
    }
    if (docs.length > 0) n += await this.call<number>({ op: 'load', db, docs })
    return n
  }

  /** The local (client-side) target db, created on first use. */
  target(name = 'tgt'): PouchDB.Database {
    let db = this.targets.get(name)
    if (!db) this.targets.set(name, (db = new this.ClientPouch(name)))
    return db
  }

  /** Destroys a local target db so the next replication starts from nothing. */
  async resetTarget(name = 'tgt'): Promise<void> {
    await this.target(name).destroy()
    this.targets.delete(name)
  }

  /**
   * Pulls server db `source` into local db `target` through the link and measures it.
   * Counters and the server's peak RSS are reset first. If the link cuts the
   * replication, it is restarted (PouchDB resumes from its checkpoint) until it
   * completes, as an app with `retry` would; the time includes every attempt.
   */
  async replicate(source = 'src', target = 'tgt'): Promise<PouchRunResult> {
    await this.call({ op: 'reset' })
    this.link.resetStats()
    const url = `http://127.0.0.1:${this.linkPort}/${source}`
    // A fresh agent per run: each measured sync starts with no open connection, as a
    // sync minutes after the previous one would.
    const newAgent = (): http.Agent | undefined => (this.opts.keepAlive === false ? undefined : new http.Agent({ keepAlive: true }))
    let agent = newAgent()
    const remoteOpts: PouchDB.DatabaseOptions = agent
      ? { fetch: (u: string, o?: Record<string, unknown>) => PouchDB.fetch(u, { ...o, agent }) }
      : {}
    const maxAttempts = this.opts.maxAttempts ?? 50
    const stallMs = this.opts.stallMs ?? 30_000
    const t0 = performance.now()
    let attempts = 0
    let stalls = 0
    // The harness's own wait for a stalled attempt is not PouchDB's transfer time.
    let stalledMs = 0
    let docsWritten = 0
    let ms: number
    // PouchDB 9's http adapter leaves a rejected setup promise unhandled when a request
    // dies mid-way (as on a cut link). That must not kill the bench: swallow node-fetch
    // errors while replicating; report anything else.
    const onUnhandled = (err: unknown): void => {
      if ((err as Error)?.name === 'FetchError') return
      console.error('unhandled rejection during PouchDB replication:', err)
      process.exitCode = 1
    }
    process.on('unhandledRejection', onUnhandled)
    try {
      for (;;) {
        attempts++
        const remote = new PouchDB(url, remoteOpts)
        // docs_written from 'change' events too, so a cut attempt's progress counts.
        let written = 0
        try {
          const rep = PouchDB.replicate(remote, this.target(target), { ...this.opts.replicate, retry: false })
          rep.on('change', (info: { docs_written?: number }) => { written = info.docs_written ?? written })
          const res = await this.#unlessStalled(rep, stallMs, () => {
            stalls++
            stalledMs += stallMs
            rep.cancel()
            // Destroying the connections fails the request PouchDB waits on.
            agent?.destroy()
            agent = newAgent()
          })
          written = res.docs_written
          if (res.ok && res.status === 'complete') break
          throw new Error(`replication ended with status ${res.status}`)
        } catch (err) {
          if (attempts >= maxAttempts) throw err
        } finally {
          docsWritten += written
          await remote.close().catch(() => undefined)
        }
      }
      ms = performance.now() - t0 - stalledMs
    } finally {
      agent?.destroy()
      // Unhandled rejections surface a tick after the promise settles; let them arrive
      // while our handler is still installed.
      await new Promise((r) => setImmediate(r))
      process.off('unhandledRejection', onUnhandled)
    }
    const s = this.link.stats()
    const server = await this.call<ServerStats>({ op: 'stats' })
    return {
      ms,
      bytesUp: s.bytesUp,
      bytesDown: s.bytesDown,
      requests: server.requests,
      byEndpoint: server.byEndpoint,
      connections: s.connections,
      cuts: s.cuts,
      attempts,
      stalls,
      docsWritten,
      serverPeakRssBytes: this.child.pid ? readHwm(this.child.pid) : null,
    }
  }

  /**
   * Settles as `rep` does; if the link carries no byte for `stallMs` first, calls `onStall`
   * (which must make `rep` settle) and fails with a stall error.
   */
  async #unlessStalled<T>(rep: PromiseLike<T>, stallMs: number, onStall: () => void): Promise<T> {
    const moved = () => {
      const s = this.link.stats()
      return s.bytesUp + s.bytesDown
    }
    let last = moved()
    let quietSince = performance.now()
    let timer: NodeJS.Timeout | undefined
    const stalled = new Promise<never>((_, reject) => {
      timer = setInterval(() => {
        const now = moved()
        if (now !== last) {
          last = now
          quietSince = performance.now()
        } else if (performance.now() - quietSince >= stallMs) {
          clearInterval(timer)
          onStall()
          reject(new Error(`the replication moved no byte for ${stallMs} ms`))
        }
      }, Math.min(1000, stallMs / 4))
    })
    try {
      return await Promise.race([rep, stalled])
    } finally {
      clearInterval(timer)
      // A stalled attempt's own promise settles after onStall; nothing waits for it.
      rep.then(() => undefined, () => undefined)
      stalled.catch(() => undefined)
    }
  }

  /** Changes the link's rate and delay for the next replications (see {@link EmulatedLink.reshape}). */
  reshapeLink(shape: Pick<LinkOptions, 'up' | 'down'>): void {
    this.link.reshape(shape)
  }

  /** Process id of the server child (for CPU and memory readings). */
  get serverPid(): number | undefined {
    return this.child.pid
  }

  /** Document count of a server db. */
  async serverDocCount(db = 'src'): Promise<number> {
    return (await this.call<PouchDB.DatabaseInfo>({ op: 'info', db })).doc_count
  }

  /** Stops link, client dbs and server process; removes the temp dir if it made one. */
  async stop(): Promise<void> {
    await this.link.stop()
    for (const db of this.targets.values()) await db.close().catch(() => undefined)
    this.targets.clear()
    if (this.child.exitCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
      this.child.disconnect()
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())])
      if (this.child.exitCode === null) this.child.kill('SIGKILL')
    }
    if (this.ownsDir) fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A run in the result-file schema (`resultTypes.ts`); the rest goes into `extra`. */
export function toSideResult(r: PouchRunResult): SideResult {
  const { ms, bytesUp, bytesDown, requests, serverPeakRssBytes, ...extra } = r
  return { ms, bytesUp, bytesDown, requests, peakRssBytes: serverPeakRssBytes, extra }
}

/** Results of the standard PouchDB scenarios. */
export interface PouchScenarioResults {
  /** Full replication of `base` into an empty target. */
  initial: PouchRunResult
  /** Replicating again with nothing new. */
  nothingNew: PouchRunResult
  /** Only present when `changes` were given: those changes on top of `base`. */
  changed?: PouchRunResult
}

/**
 * Runs the standard PouchDB scenarios over one link: initial sync of `base`, an immediate
 * "nothing new" re-sync, then (if given) `changes` applied at the server and synced.
 */
export async function runPouchScenarios(
  base: Iterable<Resource>,
  opts: PouchBenchOptions & { changes?: Iterable<Resource> },
): Promise<PouchScenarioResults> {
  const bench = await PouchBench.start(opts)
  try {
    await bench.load(base)
    const initial = await bench.replicate()
    const nothingNew = await bench.replicate()
    let changed: PouchRunResult | undefined
    if (opts.changes) {
      await bench.load(opts.changes)
      changed = await bench.replicate()
    }
    return { initial, nothingNew, changed }
  } finally {
    await bench.stop()
  }
}
