/**
 * One daemon per control socket path (issue 17): a second daemon started with the installed
 * daemon's socket path took it over and deleted it on exit, leaving the installed daemon
 * running and unreachable. Now it is refused while a daemon answers there; a stale socket is
 * replaced; and a daemon that exits removes the path only while it is still its own socket.
 */
import t from 'tap'
import { existsSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, pollen, spawnDaemon, startDaemon, tempDir } from '../helpers/daemon.js'

const dir = tempDir(t)
const socket = join(dir, 'control.sock')
/** A spawned daemon's exit code; one still running after `ms` (it took the path) is killed: 'still running'. */
async function exitOf(d: ReturnType<typeof spawnDaemon>, ms = 20_000): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)))
  const r = await Promise.race([d.exited.then((e) => e.code), guard])
  clearTimeout(timer)
  if (r === 'still running') {
    d.proc.kill('SIGKILL')
    await d.exited
  }
  return r
}

const status = async () => (await pollen(['status', '--json', '--socket', socket])).json?.instance as string | undefined

t.test('a second daemon on a live socket path is refused, and the first stays reachable', async (t) => {
  const first = await startDaemon({ t, dataDir: join(dir, 'first'), socket })
  const second = await startDaemon({ t, dataDir: join(dir, 'second'), socket: join(dir, 'second.sock') })
  t.equal(await second.stop(), 0, 'control: the second instance starts on its own socket')
  const spawned = spawnDaemon({ dataDir: second.dataDir, socket, listen: `127.0.0.1:${await freePort()}` })
  const { out } = spawned
  t.equal(await exitOf(spawned), 1, 'the second daemon exits 1')
  t.match(out.stderr, new RegExp(`^pollen: a running daemon serves the control socket ${socket}; stop it first, or give this one another socket \\(--socket PATH\\) \\(POLLEN_DAEMON_RUNNING\\)\\n$`), `one line with the code: ${out.stderr.trim()}`)
  t.equal(await status(), first.instance, 'the socket still leads to the first daemon')
  t.equal(await first.stop(), 0)
  t.notOk(existsSync(socket), 'a daemon removes its own socket on exit')
})

t.test('a stale socket is replaced; a daemon leaves a successor’s socket alone', async (t) => {
  const a = await startDaemon({ t, dataDir: join(dir, 'first'), socket })
  await a.kill9()
  t.ok(statSync(socket).isSocket(), 'control: a killed daemon leaves its socket behind')
  const b = await startDaemon({ t, dataDir: join(dir, 'first'), socket })
  t.equal(await status(), b.instance, 'a new daemon replaces the stale socket')
  // Someone removes b's socket, and another daemon takes the free path.
  unlinkSync(socket)
  const c = await startDaemon({ t, dataDir: join(dir, 'second'), socket })
  t.equal(await b.stop(), 0, 'b stops')
  t.equal(await status(), c.instance, 'c is still reachable: b did not remove the socket it no longer owned')
  t.equal(await c.stop(), 0)
})

t.test('a file at the socket path that is not a socket is refused, not removed', async (t) => {
  const notSocket = join(dir, 'notes.txt')
  writeFileSync(notSocket, 'precious\n')
  const spawned = spawnDaemon({ dataDir: join(dir, 'first'), socket: notSocket, listen: `127.0.0.1:${await freePort()}` })
  const { out } = spawned
  t.equal(await exitOf(spawned), 1, 'the daemon exits 1')
  t.match(out.stderr, /^pollen: the control socket path .*notes\.txt is a file that is not a socket; remove it or choose another socket \(--socket\) \(POLLEN_INVALID_CONFIG\)\n$/, out.stderr.trim())
  t.ok(existsSync(notSocket), 'the file is still there')
})
