/**
 * pollen as the bench drives it: real daemon processes (`node dist/daemon/cli.js daemon`)
 * on temporary data directories, driven over HTTP on each daemon's control socket
 * (`<data-dir>/control.sock`) exactly as the CLI does, without a process per command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { SyncResult } from '../core/sync/client.js'
import { cpuSeconds, mainThreadCpuSeconds, peakRssBytes, resetPeakRss, rssBytes, track } from './proc.js'

/** The compiled CLI, from dist/bench/pollenPeer.js. */
export const CLI = fileURLToPath(new URL('../daemon/cli.js', import.meta.url))

/** Variables of the shipped unit that shape the runtime (heap limits, malloc arenas). */
type RuntimeVariable = 'NODE_OPTIONS' | 'MALLOC_ARENA_MAX'

/**
 * The runtime environment of the shipped systemd unit, read from `systemd/pollen.service`,
 * so the bench's daemons run as a deployment does. Every RuntimeVariable must
 * be set there.
 */
export function unitEnvironment(unit = fileURLToPath(new URL('../../systemd/pollen.service', import.meta.url))): Record<RuntimeVariable, string> {
  const text = fs.readFileSync(unit, 'utf8')
  const value = (name: string): string => {
    const m = new RegExp(`^Environment="?${name}=([^"\n]*)"?$`, 'm').exec(text)
    if (!m) throw new Error(`no ${name} line in ${unit}`)
    return m[1].trim()
  }
  return { NODE_OPTIONS: value('NODE_OPTIONS'), MALLOC_ARENA_MAX: value('MALLOC_ARENA_MAX') }
}

/** Environment for daemons: no inherited data dir or runtime dir; the unit's runtime variables. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...unitEnvironment() }
  delete env.POLLEN_DATA_DIR
  delete env.RUNTIME_DIRECTORY
  return env
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** One answer of the control API. */
export interface ControlAnswer {
  status: number
  text: string
}

/** Options of {@link PollenDaemon.create}. */
export interface PollenDaemonOptions {
  name: string
  /** Parent directory; the data directory is a fresh one under it. Default os.tmpdir(). */
  parent?: string
  languages?: string[]
  /** Extra `sync` settings for config.json (intervalSeconds is always 0 in the bench). */
  sync?: { chunkOps?: number; chunkBytes?: number; plain?: boolean }
  /** pino level; default: the product's default (info), logs go to a discarded pipe. */
  logLevel?: string
  /** When set, the daemon runs under `node --cpu-prof` writing profiles here. */
  cpuProfDir?: string
  /** Extra node flags for the daemon process (diagnostics only, e.g. `--import` a probe). */
  nodeArgs?: string[]
}

/** A pollen daemon on its own data directory. */
export class PollenDaemon {
  proc: ChildProcess | null = null
  port = 0
  /** Milliseconds from spawn to the first answer of GET /v1/health, for the last start. */
  startToReadyMs = 0
  /** Where the next start writes `--cpu-prof` profiles (default: the create option). */
  cpuProfDir: string | undefined
  private output = ''
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

  private constructor(
    readonly name: string,
    readonly dataDir: string,
    private readonly opts: PollenDaemonOptions,
  ) {
    this.cpuProfDir = opts.cpuProfDir
  }

  /** A daemon on an existing data directory (a log kept from an earlier diagnostic run). */
  static existing(opts: PollenDaemonOptions, dataDir: string): PollenDaemon {
    return new PollenDaemon(opts.name, dataDir, opts)
  }

  /** `pollen init` on a fresh temp directory, then sets the bench's config keys. */
  static create(opts: PollenDaemonOptions): PollenDaemon {
    const parent = opts.parent ?? os.tmpdir()
    fs.mkdirSync(parent, { recursive: true })
    const dataDir = path.join(fs.mkdtempSync(path.join(parent, `pollen-${opts.name}-`)), 'data')
    const langs = (opts.languages ?? ['en', 'fr', 'es']).join(',')
    const r = spawnSync(process.execPath, [CLI, 'init', '--data-dir', dataDir, '--name', opts.name, '--languages', langs, '--json'], { env: childEnv(), encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`pollen init failed (${r.status}): ${r.stderr}`)
    const configFile = path.join(dataDir, 'config.json')
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>
    config.sync = { ...(config.sync as object | undefined), intervalSeconds: 0, ...opts.sync }
    if (opts.logLevel) config.logLevel = opts.logLevel
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2))
    return new PollenDaemon(opts.name, dataDir, opts)
  }

  get socket(): string {
    return path.join(this.dataDir, 'control.sock')
  }

  get pid(): number {
    if (!this.proc?.pid) throw new Error(`daemon ${this.name} is not running`)
    return this.proc.pid
  }

  /** `https://127.0.0.1:PORT` of the sync API (`http://` in plain mode). */
  get url(): string {
    return `${this.opts.sync?.plain ? 'http' : 'https'}://127.0.0.1:${this.port}`
  }

  /** Spawns the daemon and waits until the control socket answers; records start-to-ready. */
  async start(timeoutMs = 60_000): Promise<number> {
    if (this.proc) throw new Error(`daemon ${this.name} already running`)
    if (!this.port) this.port = await freePort()
    fs.rmSync(this.socket, { force: true })
    const prof = [...(this.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${this.cpuProfDir}`] : []), ...(this.opts.nodeArgs ?? [])]
    const t0 = performance.now()
    // `--data-dir` before the command word (the CLI takes flags anywhere): other tooling on a
    // shared machine that stops daemons by matching "cli.js daemon" leaves the bench's alone.
    const proc = spawn(process.execPath, [...prof, CLI, '--data-dir', this.dataDir, 'daemon', '--listen', `127.0.0.1:${this.port}`, '--admin-listen', 'off'], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    track(proc)
    this.proc = proc
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString('utf8')).slice(-32 * 1024)
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    const deadline = t0 + timeoutMs
    while (performance.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) break
      const ok = await this.health()
      if (ok) {
        this.startToReadyMs = performance.now() - t0
        return this.startToReadyMs
      }
      await sleep(2)
    }
    await this.kill()
    throw new Error(`pollen daemon ${this.name} did not become ready\n${this.output}`)
  }

  private health(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.request({ socketPath: this.socket, method: 'GET', path: '/v1/health', agent: false }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode === 200))
        res.on('error', () => resolve(false))
      })
      req.on('error', () => resolve(false))
      req.end()
    })
  }

  /** Stops with SIGTERM (SIGKILL after 20 s); resolves when the process is gone. */
  stop(): Promise<void> {
    return this.#end('SIGTERM')
  }

  kill(): Promise<void> {
    return this.#end('SIGKILL')
  }

  async #end(signal: NodeJS.Signals): Promise<void> {
    const proc = this.proc
    if (!proc) return
    this.agent.destroy()
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill(signal)
      const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => proc.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(timer)
    }
    this.proc = null
  }

  /** Stops the daemon and removes its data directory. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => this.kill())
    fs.rmSync(path.dirname(this.dataDir), { recursive: true, force: true, maxRetries: 3 })
  }

  /** The last 32 KiB of the daemon's stdout and stderr. */
  logs(): string {
    return this.output
  }

  /** One control request over a kept-alive connection; the whole answer as text. */
  request(method: string, urlPath: string, body?: string, contentType = 'application/json'): Promise<ControlAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = body === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }
      const req = http.request({ socketPath: this.socket, method, path: urlPath, headers, agent: this.agent }, (res) => {
        const parts: Buffer[] = []
        res.on('data', (c: Buffer) => parts.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  /** A JSON control call; throws with the daemon's message on a non-2xx answer. */
  async call<T>(method: string, urlPath: string, body?: unknown): Promise<T> {
    const r = await this.request(method, urlPath, body === undefined ? undefined : JSON.stringify(body))
    if (r.status < 200 || r.status >= 300) throw new Error(`${this.name}: ${method} ${urlPath} answered ${r.status}: ${r.text.slice(0, 500)}`)
    return JSON.parse(r.text) as T
  }

  /** An NDJSON-streaming control call; returns every line parsed. */
  async stream(method: string, urlPath: string, body: string, contentType: string): Promise<Record<string, unknown>[]> {
    const r = await this.request(method, urlPath, body, contentType)
    if (r.status !== 200) throw new Error(`${this.name}: ${method} ${urlPath} answered ${r.status}: ${r.text.slice(0, 500)}`)
    return r.text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
  }

  /** `pollen resource import` of a JSON array text; returns the created count. */
  async importText(jsonArray: string): Promise<{ created: number; updated: number; unchanged: number }> {
    const lines = await this.stream('POST', '/v1/resources/import', jsonArray, 'text/plain')
    const last = lines[lines.length - 1]
    if (!last || last.type !== 'result') throw new Error(`${this.name}: import ended without a result: ${JSON.stringify(last)}`)
    const errors = last.errors as unknown[]
    if (errors.length > 0) throw new Error(`${this.name}: import refused ${errors.length} items, first: ${JSON.stringify(errors[0])}`)
    return last as unknown as { created: number; updated: number; unchanged: number }
  }

  /** Adds a sync user; returns its API key. */
  async addUser(name: string, role: 'read' | 'write' = 'write'): Promise<string> {
    return (await this.call<{ key: string }>('POST', '/v1/users', { name, role })).key
  }

  /** Adds a peer. */
  async addPeer(name: string, url: string, user: string, key: string): Promise<void> {
    await this.call('POST', '/v1/peers', { name, url, user, key })
  }

  async setPeerUrl(name: string, url: string): Promise<void> {
    await this.call('PATCH', `/v1/peers/${encodeURIComponent(name)}`, { url })
  }

  /** `pollen sync PEER`: runs one sync and returns its result (ok or not). */
  async sync(peer: string, mode: 'pull' | 'push' | 'both' = 'both'): Promise<SyncResult> {
    const lines = await this.stream('POST', '/v1/sync', JSON.stringify({ peers: [peer], mode }), 'application/json')
    const last = lines[lines.length - 1]
    if (!last || last.type !== 'result') throw new Error(`${this.name}: sync ended without a result: ${JSON.stringify(last)}`)
    return (last.results as SyncResult[])[0]
  }

  /** `pollen rebuild`: the daemon's own report and the wall time. */
  async rebuild(): Promise<{ ops: number; records: number; ms: number; wallMs: number }> {
    const t0 = performance.now()
    const r = await this.call<{ ops: number; records: number; ms: number }>('POST', '/v1/rebuild')
    return { ...r, wallMs: performance.now() - t0 }
  }

  /** The author counter and vectors, from status. */
  async status(): Promise<{ counter: number; resources: Record<string, number> }> {
    return this.call('GET', '/v1/status')
  }

  rss(): number | null {
    return rssBytes(this.pid)
  }

  peakRss(): number | null {
    return peakRssBytes(this.pid)
  }

  resetPeak(): boolean {
    return resetPeakRss(this.pid)
  }

  cpu(): number | null {
    return cpuSeconds(this.pid)
  }

  mainThreadCpu(): number | null {
    return mainThreadCpuSeconds(this.pid)
  }
}

/**
 * Makes `client` a peer of `server` under `peerName`: a write user on the server, the peer
 * on the client pointing at `url` (the server itself or an emulated link in front of it).
 */
export async function connect(client: PollenDaemon, server: PollenDaemon, url: string, peerName = server.name): Promise<void> {
  const user = `${client.name}-user`
  const key = await server.addUser(user, 'write')
  await client.addPeer(peerName, url, user, key)
}
