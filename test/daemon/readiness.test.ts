/**
 * Readiness and stopping, with the test playing systemd's side of socket activation: it binds
 * the control socket itself, hands it to the daemon as fd 3 with LISTEN_FDS=1 and
 * LISTEN_PID=<the daemon's pid>, and talks to the daemon only through that socket.
 *
 * Then SIGTERM while a large pull is in flight through a slow EmulatedLink: the daemon exits
 * 0 (the 15 s bound below is a failure condition for a hung stop, not a timing assertion),
 * and its data is intact: it restarts, `rebuild` reproduces the same projections, and a new
 * sync completes.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { renameSync, statSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { join } from 'node:path'
import { generateResources } from '../../bench/dataset.js'
import { EmulatedLink, symmetricLink } from '../../bench/link.js'
import { CLI, controlRequest, freePort, hermeticEnv, pollen, snapshot, startDaemon, tempDir, type Teardowner } from '../helpers/daemon.js'

interface Activated {
  proc: ChildProcess
  socket: string
  listen: string
  /** pino lines parsed from stdout so far. */
  lines: any[]
  stderr(): string
  /** Resolves with the first log line whose msg is `msg` (rejects if the daemon exits first). */
  waitFor(msg: string): Promise<any>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  cli(args: string[]): ReturnType<typeof pollen>
}

/**
 * Binds `socket`, starts `pollen daemon --init` with it as fd 3, then closes the test's own
 * copy so only the daemon accepts (systemd never accepts on a socket it passed either).
 * `listenPid`: 'self' sets LISTEN_PID to the daemon's pid (through `sh -c 'LISTEN_PID=$$ exec …'`).
 */
async function activate(t: Teardowner, dataDir: string, socket: string, listenPid: string = 'self', env: NodeJS.ProcessEnv = {}, daemonSocket = socket): Promise<Activated> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socket, () => resolve())
  })
  const fd: number = (server as any)._handle.fd
  const listen = `127.0.0.1:${await freePort()}`
  const setPid = listenPid === 'self' ? 'LISTEN_PID=$$' : `LISTEN_PID=${listenPid}`
  const args = [CLI, 'daemon', '--init', '--data-dir', dataDir, '--listen', listen, '--socket', daemonSocket]
  const proc = spawn('/bin/sh', ['-c', `${setPid} exec "$0" "$@"`, process.execPath, ...args], {
    env: hermeticEnv({ LISTEN_FDS: '1', POLLEN_SYNC_INTERVAL: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe', fd],
  })
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  })
  // Closing a listening Unix socket unlinks its path (libuv); keep the path by moving it aside.
  renameSync(socket, `${socket}.held`)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  renameSync(`${socket}.held`, socket)

  const lines: any[] = []
  const waiters: { msg: string; resolve: (l: any) => void }[] = []
  let buf = ''
  let stderr = ''
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8')
    let i: number
    while ((i = buf.indexOf('\n')) >= 0) {
      const raw = buf.slice(0, i)
      buf = buf.slice(i + 1)
      let line: any
      try {
        line = JSON.parse(raw)
      } catch {
        continue
      }
      lines.push(line)
      for (const w of [...waiters]) if (line.msg === w.msg) w.resolve(line)
    }
  })
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })))
  const waitFor = (msg: string) =>
    new Promise<any>((resolve, reject) => {
      const seen = lines.find((l) => l.msg === msg)
      if (seen) return resolve(seen)
      waiters.push({ msg, resolve })
      void exited.then((e) => reject(new Error(`the daemon exited (${JSON.stringify(e)}) before logging "${msg}"\nstderr: ${stderr}`)))
    })
  const cli = (a: string[]) => pollen([...a, '--socket', socket], { dataDir, timeoutMs: 120_000 })
  return { proc, socket, listen, lines, stderr: () => stderr, waitFor, exited, cli }
}

/** Whether a TCP connection to HOST:PORT is accepted right now. */
function tcpAccepts(hostPort: string): Promise<boolean> {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))]
  return new Promise((resolve) => {
    const c = createConnection({ host, port }, () => {
      c.destroy()
      resolve(true)
    })
    c.on('error', () => resolve(false))
  })
}

/** Waits for the exit; SIGKILLs (and reports null) if the daemon hangs longer than `boundMs`. */
async function exitWithin(a: Pick<Activated, 'proc' | 'exited'>, boundMs: number) {
  let hung = false
  const timer = setTimeout(() => {
    hung = true
    a.proc.kill('SIGKILL')
  }, boundMs)
  const r = await a.exited
  clearTimeout(timer)
  return { ...r, hung }
}

t.test('socket activation: the daemon serves the passed socket and logs ready once it can', async (t) => {
  const dir = tempDir(t, 'pollen-ready-')
  const socket = join(dir, 'control.sock')
  const d = await activate(t, join(dir, 'data'), socket)
  const inode = statSync(socket).ino
  // Sent before the daemon is ready: systemd's socket queues it, and it is answered once the daemon serves.
  const early = controlRequest(socket, 'GET', '/v1/health')

  const ready = await d.waitFor('ready')
  const [health, syncApiUp] = await Promise.all([controlRequest(socket, 'GET', '/v1/health'), tcpAccepts(d.listen)])
  t.equal(health.status, 200, 'GET /v1/health answers at once when "ready" is logged')
  t.same(health.json, { ok: true })
  t.ok(syncApiUp, 'and the sync API already accepts connections')
  t.equal(ready.socket, 'fd:3', 'the daemon serves the socket it was passed (fd 3)')
  t.equal(ready.pid, d.proc.pid, 'LISTEN_PID matched the daemon itself')
  t.equal(d.lines.filter((l) => l.msg === 'ready').length, 1, 'ready is logged once')
  t.equal((await early).status, 200, 'a request queued before ready is answered, not refused')

  const status = await d.cli(['status', '--json'])
  t.equal(status.code, 0, `pollen status works through the passed socket ${status.stderr}`)
  t.equal(status.json?.listen, d.listen)
  const metrics = await controlRequest(socket, 'GET', '/metrics')
  t.equal(metrics.status, 200, 'metrics are served on the control socket')
  t.match(metrics.text, /pollen_operations_appended_total/)

  d.proc.kill('SIGTERM')
  const end = await exitWithin(d, 15_000)
  t.notOk(end.hung, 'the daemon exits after SIGTERM')
  t.equal(end.code, 0, 'with code 0')
  t.equal(statSync(socket).ino, inode, 'the socket file is left in place for systemd (the daemon neither replaced nor removed it)')
})

t.test('LISTEN_PID naming another process: the fd is not ours, the daemon binds its own socket', async (t) => {
  const dir = tempDir(t, 'pollen-ready-')
  const passed = join(dir, 'passed.sock')
  // Its own path: the passed socket still accepts (the fd is open in the daemon), and a path
  // where something accepts is never taken over (test/daemon/socketClaim.test.ts).
  const own = join(dir, 'own.sock')
  const d = await activate(t, join(dir, 'data'), passed, String(process.pid), {}, own)
  const ready = await d.waitFor('ready')
  t.equal(ready.socket, own, 'the daemon listens on its --socket path itself')
  t.equal((await controlRequest(own, 'GET', '/v1/health')).status, 200)
  d.proc.kill('SIGTERM')
  const end = await exitWithin(d, 15_000)
  t.equal(end.code, 0)
})

t.test('SIGTERM with a large pull in flight: exit 0, data intact, the next sync completes', async (t) => {
  const dir = tempDir(t, 'pollen-sigterm-')
  const cloud = await startDaemon({ t, dataDir: join(dir, 'cloud'), name: 'cloud', env: { POLLEN_SYNC_INTERVAL: '0', POLLEN_SYNC_CHUNK_BYTES: '8192' } })
  const file = join(dir, 'resources.json')
  const TOTAL = 800
  writeFileSync(file, JSON.stringify(generateResources(TOTAL, 7).map((r) => ({ ...r, title: { en: r.title.en }, description: { en: r.description.en } }))))
  const imported = await cloud.cli(['resource', 'import', file, '--json'], { timeoutMs: 120_000 })
  t.equal(imported.json?.created, TOTAL, `the cloud holds ${TOTAL} resources ${imported.stderr}`)
  const key = (await cloud.cli(['user', 'add', 'facility', '--role', 'read'])).stdout.split('\n')[0].trim()

  // 256 kbit/s, 200 ms RTT: the pull takes many seconds, so SIGTERM lands in the middle of it.
  const link = new EmulatedLink({ targetPort: Number(cloud.listen.split(':').pop()), ...symmetricLink(256_000, 200) })
  const linkPort = await link.start()
  t.teardown(() => link.stop())

  const facilityDir = join(dir, 'facility')
  const socket = join(dir, 'facility.sock')
  const f = await activate(t, facilityDir, socket)
  await f.waitFor('ready')
  const added = await f.cli(['peer', 'add', '--name', 'cloud', '--url', `https://127.0.0.1:${linkPort}`, '--user', 'facility', `--key=${key}`])
  t.equal(added.code, 0, `peer added ${added.stderr}`)

  const syncing = f.cli(['sync', '--json'])
  // In flight: some chunks have been applied (resources are arriving), the pull is not done.
  let pending = 0
  for (let i = 0; i < 600 && pending === 0; i++) {
    await new Promise((r) => setTimeout(r, 50))
    const r = await controlRequest(socket, 'GET', '/v1/resources?status=pending')
    pending = Array.isArray(r.json) ? r.json.length : 0
  }
  if (!t.ok(pending > 0 && pending < TOTAL, `SIGTERM is sent mid-pull (${pending} of ${TOTAL} resources arrived)`)) {
    t.comment(`link: ${JSON.stringify(link.stats())}; daemon log: ${f.lines.map((l) => JSON.stringify(l)).join('\n')}`)
  }
  f.proc.kill('SIGTERM')
  const end = await exitWithin(f, 15_000)
  t.notOk(end.hung, 'the daemon exits after SIGTERM with a sync in flight')
  t.equal(end.code, 0, `with code 0 ${f.stderr()}`)
  t.ok(f.lines.some((l) => l.msg === 'stopped'), 'after a clean stop (LevelDB closed)')
  const interrupted = await syncing
  t.not(interrupted.code, 0, 'the interrupted `pollen sync` reports a failure rather than success')

  // Restart on the same data: everything reads back, and a rebuild from the log gives the same projections.
  const again = await startDaemon({ t, dataDir: facilityDir, env: { POLLEN_SYNC_INTERVAL: '0' } })
  const status = await again.cli(['status', '--json'])
  t.equal(status.code, 0, 'status works after the restart')
  const beforeRebuild = await snapshot(again)
  const partial = (beforeRebuild.pending as unknown[]).length
  t.ok(partial >= pending && partial < TOTAL, `the resources applied before the stop are kept (${partial})`)
  const rebuilt = await again.cli(['rebuild', '--json'])
  t.equal(rebuilt.code, 0, `rebuild succeeds ${rebuilt.stderr}`)
  t.same(await snapshot(again), beforeRebuild, 'rebuild gives the same projections')

  // A new sync (straight to the cloud this time) completes: it resumes where the stop left off.
  t.equal((await again.cli(['peer', 'set', 'cloud', '--url', cloud.url])).code, 0)
  const done = await again.cli(['sync', '--json'], { timeoutMs: 120_000 })
  t.equal(done.code, 0, `the next sync completes ${done.stderr}`)
  t.match(done.json?.[0], { peer: 'cloud', ok: true }, JSON.stringify(done.json))
  const after = await snapshot(again)
  t.equal((after.pending as unknown[]).length, TOTAL, `all ${TOTAL} resources are there, once each`)
  t.equal(await again.stop(), 0)
})
