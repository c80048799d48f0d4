/**
 * End-to-end harness: runs the compiled CLI (`dist/daemon/cli.js`) and real daemons as child
 * processes on temporary data directories. Reusable for multi-daemon (sync) tests: every
 * daemon gets its own data dir and a free TCP port for `--listen`.
 *
 * Every daemon is tracked; it is SIGKILLed in the test's teardown (pass `t`), when its
 * tempDir is torn down, and as a last resort when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Path of the compiled CLI, from dist/test/helpers/daemon.js. */
export const CLI = fileURLToPath(new URL('../../daemon/cli.js', import.meta.url))

/** The minimal part of a tap Test the harness needs. */
export interface Teardowner {
  teardown(fn: () => unknown): void
}

export interface PollenOptions {
  dataDir?: string
  stdin?: string
  env?: NodeJS.ProcessEnv
  /** Kill the command after this long (default 30 s); the rejection carries its output. */
  timeoutMs?: number
  /** Called with the child process once it runs (to signal it, as Ctrl-C does). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void
}

export interface PollenResult {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON when `--json` was given and stdout was valid JSON. */
  json?: any
  /** The error as the CLI reported it on stderr (JSON form with --json, else the "(POLLEN_*)" suffix). */
  error?: { code: string; message: string }
}

/**
 * Where the children's system paths point instead of the machine's (made once per test
 * process): `system.json`, an empty system file, and `system.sock`, which never exists.
 */
let systemPaths: { config: string; socket: string } | undefined
function harnessSystem(): { config: string; socket: string } {
  if (systemPaths) return systemPaths
  const dir = mkdtempSync(join(tmpdir(), 'pollen-harness-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'system.json'), '{}\n')
  return (systemPaths = { config: join(dir, 'system.json'), socket: join(dir, 'system.sock') })
}

/** Variables of the caller a child never inherits: systemd's hand-offs and the test loader. */
const NOT_INHERITED = ['NODE_OPTIONS', 'RUNTIME_DIRECTORY', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'CREDENTIALS_DIRECTORY']

/**
 * Environment for children: hermetic, so that the suite passes on a machine running the
 * installed service or the quickstart's daemon. None of the caller's `POLLEN_*` variables or
 * systemd's hand-offs; the system file and the system control socket moved away from
 * `/etc/pollen/pollen.json` and `/run/pollen/control.sock` through the documented
 * `POLLEN_CONFIG` and `POLLEN_SYSTEM_SOCKET` (docs/operations.md). `extra` wins over all of it.
 */
export function hermeticEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('POLLEN_') || NOT_INHERITED.includes(k)) delete env[k]
  const system = harnessSystem()
  // The web page's default port is one for the whole machine: a test that wants it passes
  // --admin-listen 127.0.0.1:0 (or this variable), the others leave it off.
  return { ...env, POLLEN_CONFIG: system.config, POLLEN_SYSTEM_SOCKET: system.socket, POLLEN_ADMIN_LISTEN: 'off', ...extra }
}

/**
 * tap's processinfo plugin re-injects its loader into every child through NODE_OPTIONS,
 * which costs a few hundred ms per CLI run; the children are not under coverage, so they
 * are started through `env -u NODE_OPTIONS` where that exists (unless the caller set it).
 */
const ENV_BIN = ['/usr/bin/env', '/bin/env'].find((p) => existsSync(p))

function nodeCommand(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): [string, string[]] {
  if (ENV_BIN && extraEnv.NODE_OPTIONS === undefined) return [ENV_BIN, ['-u', 'NODE_OPTIONS', process.execPath, ...args]]
  return [process.execPath, [...args]]
}

/** Parses the CLI's error report from stderr. */
export function parseError(stderr: string): { code: string; message: string } | undefined {
  const lines = stderr.trim().split('\n').filter(Boolean)
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]
    if (line.startsWith('{')) {
      try {
        const e = JSON.parse(line) as { error?: { code: string; message: string } }
        if (e.error && typeof e.error.code === 'string') return e.error
      } catch {
        /* not the JSON error line */
      }
    }
    const m = /^pollen: (.*) \((POLLEN_[A-Z_]+)\)$/.exec(line)
    if (m) return { code: m[2], message: m[1] }
  }
  return undefined
}

/** Runs `node dist/daemon/cli.js ...args [--data-dir D]`. Never rejects for a non-zero exit. */
export function pollen(args: readonly string[], opts: PollenOptions = {}): Promise<PollenResult> {
  const argv = [CLI, ...args, ...(opts.dataDir ? ['--data-dir', opts.dataDir] : [])]
  const timeoutMs = opts.timeoutMs ?? 30_000
  return new Promise((resolve, reject) => {
    const [cmd, cmdArgs] = nodeCommand(argv, opts.env)
    const child = spawn(cmd, cmdArgs, { env: hermeticEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] })
    opts.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    // Characters split across chunks are decoded whole.
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d: string) => (stdout += d))
    child.stderr.on('data', (d: string) => (stderr += d))
    child.stdin.on('error', () => undefined) // the CLI may exit before reading stdin
    child.stdin.end(opts.stdin ?? '')
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`pollen ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const res: PollenResult = { code: code ?? (signal ? 128 : 1), stdout, stderr }
      if (args.includes('--json') && stdout.trim()) {
        try {
          res.json = JSON.parse(stdout)
        } catch {
          /* left undefined: the test asserts on it */
        }
      }
      const error = code === 0 ? undefined : parseError(stderr)
      if (error) res.error = error
      resolve(res)
    })
  })
}

/** A free TCP port on 127.0.0.1 (listen on 0, read the port, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))))
    })
  })
}

const live = new Set<Daemon>()
process.on('exit', () => {
  for (const d of live) d.proc.kill('SIGKILL')
})

/** A directory under os.tmpdir(), removed in teardown (after killing daemons that use it). */
export function tempDir(t: Teardowner, prefix = 'pollen-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(async () => {
    for (const d of [...live]) if (d.dataDir.startsWith(dir)) await d.kill9()
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  })
  return dir
}

export interface StartOptions {
  dataDir: string
  /** Registers a teardown that kills the daemon if the test did not stop it. */
  t?: Teardowner
  name?: string
  languages?: string[]
  /** HOST:PORT for the sync API; default 127.0.0.1 and a free port. */
  listen?: string
  /** Control socket path; default `<dataDir>/control.sock`. */
  socket?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
}

export interface Daemon {
  dataDir: string
  listen: string
  /** `https://HOST:PORT` of the sync API. */
  url: string
  socket: string
  proc: ChildProcess
  /** Instance id, from `status --json`. */
  instance: string
  /** The CLI with --data-dir (and --socket when given) pre-bound. */
  cli(args: readonly string[], opts?: Omit<PollenOptions, 'dataDir'>): Promise<PollenResult>
  /** The daemon's captured stdout (pino logs) and stderr. */
  output(): { stdout: string; stderr: string }
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Sends `signal` and waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  kill9(): Promise<void>
}

/** Runs `pollen init` on `dataDir` unless it already holds an instance; returns the init result. */
export async function initDataDir(opts: { dataDir: string; name?: string; languages?: string[]; env?: NodeJS.ProcessEnv }): Promise<PollenResult | undefined> {
  if (existsSync(join(opts.dataDir, 'identity.json'))) return undefined
  const args = ['init', '--json']
  if (opts.name) args.push('--name', opts.name)
  if (opts.languages) args.push('--languages', opts.languages.join(','))
  const r = await pollen(args, { dataDir: opts.dataDir, env: opts.env })
  if (r.code !== 0) throw new Error(`pollen init failed (${r.code}): ${r.stderr}`)
  return r
}

/** Spawns `pollen daemon` as a child process; resolves once it fails to start or `status --json` answers. */
export function spawnDaemon(opts: { dataDir: string; listen?: string; socket?: string; env?: NodeJS.ProcessEnv; extraArgs?: string[] }) {
  const args = [CLI, 'daemon', '--data-dir', opts.dataDir, ...(opts.listen ? ['--listen', opts.listen] : []), ...(opts.socket ? ['--socket', opts.socket] : []), ...(opts.extraArgs ?? [])]
  const [cmd, cmdArgs] = nodeCommand(args, opts.env)
  const proc = spawn(cmd, cmdArgs, { env: hermeticEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] })
  const out = { stdout: '', stderr: '' }
  const cap = (k: 'stdout' | 'stderr') => (d: Buffer) => {
    out[k] = (out[k] + d.toString('utf8')).slice(-64 * 1024)
  }
  proc.stdout?.on('data', cap('stdout'))
  proc.stderr?.on('data', cap('stderr'))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('close', (code, signal) => resolve({ code, signal }))
    proc.on('error', () => resolve({ code: null, signal: null }))
  })
  return { proc, out, exited }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` until it returns a value other than undefined (bounded: a hang fails the test, it is not a timing assertion). */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, boundMs = 15_000): Promise<T> {
  const deadline = Date.now() + boundMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await sleep(50)
  }
}

/** Initialises (if needed) and starts a daemon; resolves when `pollen status --json` succeeds. */
export async function startDaemon(opts: StartOptions): Promise<Daemon> {
  await initDataDir(opts)
  const listen = opts.listen ?? `127.0.0.1:${await freePort()}`
  const socket = opts.socket ?? join(opts.dataDir, 'control.sock')
  // Otherwise the readiness poll below would be answered by the daemon already running.
  const running = await controlRequest(socket, 'GET', '/v1/health').then(() => true, () => false)
  if (running) throw new Error(`a daemon already answers on ${socket}; use spawnDaemon() to start a second one on purpose`)
  const { proc, out, exited } = spawnDaemon({ dataDir: opts.dataDir, listen, socket: opts.socket, env: opts.env })
  let done = false
  void exited.then(() => (done = true))
  const bound = (args: readonly string[], o: Omit<PollenOptions, 'dataDir'> = {}) =>
    pollen([...args, ...(opts.socket ? ['--socket', opts.socket] : [])], { ...o, dataDir: opts.dataDir, env: { ...opts.env, ...o.env } })
  const d: Daemon = {
    dataDir: opts.dataDir,
    listen,
    url: `https://${listen}`,
    socket,
    proc,
    instance: '',
    cli: bound,
    output: () => ({ ...out }),
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!done) proc.kill(signal)
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
      const r = await exited
      clearTimeout(timer)
      live.delete(d)
      return r.code
    },
    async kill9() {
      if (!done) proc.kill('SIGKILL')
      await exited
      live.delete(d)
    },
  }
  live.add(d)
  opts.t?.teardown(() => d.kill9())
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000)
  let last: PollenResult | undefined
  while (Date.now() < deadline) {
    if (done) break
    last = await bound(['status', '--json'])
    if (last.code === 0 && last.json) {
      d.instance = last.json.instance
      return d
    }
    await sleep(100)
  }
  await d.kill9()
  const why = done ? `exited with ${JSON.stringify(await exited)}` : 'did not answer `pollen status --json` in time'
  throw new Error(`pollen daemon on ${opts.dataDir} ${why}\nlast status: ${last?.stderr ?? '(none)'}\ndaemon stdout: ${out.stdout}\ndaemon stderr: ${out.stderr}`)
}

/** One raw request to a control socket; the body is sent as given. */
export function controlRequest(socketPath: string, method: string, path: string, body?: string, contentType = 'application/json'): Promise<{ status: number; text: string; json?: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = body === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }
    const req = request({ socketPath, method, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: any
        try {
          json = JSON.parse(text)
        } catch {
          json = undefined
        }
        resolve({ status: res.statusCode ?? 0, text, json })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

/** Everything a user can see through the CLI, for "nothing changed" comparisons. */
export interface Snapshot {
  published: unknown
  pending: unknown
  rejected: unknown
  conflicts: unknown
  users: unknown
  peers: unknown
  counter: number
}

/** Reads every listing through the CLI (--json); throws if one fails. */
export async function snapshot(d: Pick<Daemon, 'cli'>): Promise<Snapshot> {
  const get = async (args: string[]) => {
    const r = await d.cli([...args, '--json'])
    if (r.code !== 0 || r.json === undefined) throw new Error(`pollen ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
    return r.json
  }
  const [published, pending, rejected, conflicts, users, peers, status] = await Promise.all([
    get(['resource', 'list', '--status', 'published']),
    get(['resource', 'list', '--status', 'pending']),
    get(['resource', 'list', '--status', 'rejected']),
    get(['conflicts', 'list']),
    get(['user', 'list']),
    get(['peer', 'list']),
    get(['status']),
  ])
  return { published, pending, rejected, conflicts, users, peers, counter: status.counter }
}

/** The same listings as {@link snapshot}, read straight from the control socket (no process per call). */
export async function apiSnapshot(socketPath: string): Promise<Snapshot> {
  const get = async (path: string) => {
    const r = await controlRequest(socketPath, 'GET', path)
    if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${r.text}`)
    return r.json
  }
  const [published, pending, rejected, conflicts, users, peers, status] = await Promise.all(
    ['/v1/resources?status=published', '/v1/resources?status=pending', '/v1/resources?status=rejected', '/v1/conflicts', '/v1/users', '/v1/peers', '/v1/status'].map(get),
  )
  return { published, pending, rejected, conflicts, users, peers, counter: status.counter }
}

/** Every regular file under `dir` (recursive), for secret-leak checks. */
export function filesUnder(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) out.push(...filesUnder(p))
    else if (st.isFile()) out.push(p)
  }
  return out
}

/** Files under `dir` whose bytes contain `needle` (as UTF-8). */
export function filesContaining(dir: string, needle: string): string[] {
  const n = Buffer.from(needle, 'utf8')
  return filesUnder(dir).filter((f) => readFileSync(f).includes(n))
}

/**
 * A test instance: init in `root/name`, sync settings written into config.json before the
 * first start (the scheduler is off unless asked for, so only the test's syncs run), started.
 */
export async function startNode(t: Teardowner, root: string, name: string, opts: { languages?: string[]; sync?: Record<string, number | boolean>; env?: NodeJS.ProcessEnv } = {}): Promise<Daemon> {
  const dataDir = join(root, name)
  await initDataDir({ dataDir, name, languages: opts.languages ?? ['en', 'fr'] })
  const cfgPath = join(dataDir, 'config.json')
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'))
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, sync: { ...cfg.sync, intervalSeconds: 0, ...opts.sync } }))
  return startDaemon({ t, dataDir, env: opts.env })
}

/** `pollen ARGS --json` on a daemon's data dir: the parsed output, or an error with stderr. */
export async function pollenJson(d: Pick<Daemon, 'dataDir'>, args: readonly string[]): Promise<any> {
  const r = await pollen([...args, '--json'], { dataDir: d.dataDir })
  if (r.code !== 0) throw new Error(`pollen ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.json
}

/** `resource put -` with a JSON body; throws with stderr when refused. */
export async function putResource(d: Pick<Daemon, 'cli'>, body: Record<string, unknown>): Promise<void> {
  const r = await d.cli(['resource', 'put', '-'], { stdin: JSON.stringify(body) })
  if (r.code !== 0) throw new Error(`put ${String(body.id)}: ${r.stderr}`)
}

/** `resource get ID --json`, or undefined when it is not there (any error). */
export async function getResource(d: Pick<Daemon, 'cli'>, id: string): Promise<any> {
  const r = await d.cli(['resource', 'get', id, '--json'])
  return r.code === 0 ? r.json : undefined
}
