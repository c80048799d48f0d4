/**
 * The control socket's path belongs to one daemon at a time, as the data directory does
 * (its LevelDB lock). A second daemon started with the installed daemon's socket path once
 * removed that socket, listened there, and deleted it on exit: the installed daemon kept
 * running, unreachable (issue 17). Now a daemon takes the path only when no daemon answers
 * on it, and on exit removes only the socket it made (same inode), never a successor's.
 *
 * Node (libuv) unlinks a Unix socket's path by name when its server closes, whoever's the
 * file is by then. So the daemon listens on a path of its own beside the socket, gives the
 * socket its mode there, and hard-links it into place: `link` fails when the path exists, so
 * of two daemons starting at once only one gets it, and what libuv unlinks at close is the
 * private name, long gone.
 */
import { chmod, link, lstat } from 'node:fs/promises'
import { connect } from 'node:net'
import { pollenError } from '../core/errors.js'
import { removeIfExists } from '../adapters/secretFile.js'

/** How long a socket may take to accept before it is taken for a live daemon's anyway. */
const PROBE_MS = 2000

/** Whether something accepts connections on the Unix socket `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path)
    const done = (live: boolean) => {
      clearTimeout(timer)
      s.destroy()
      resolve(live)
    }
    // A hung daemon's socket still accepts (the kernel queues): not answering in time is live.
    const timer = setTimeout(() => done(true), PROBE_MS)
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

/**
 * Makes `path` free for this daemon's listener: refuses one a running daemon serves
 * (POLLEN_DAEMON_RUNNING) and a file there that is not a socket (POLLEN_INVALID_CONFIG),
 * and removes a socket a dead daemon left behind.
 */
export async function freeSocketPath(path: string): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (!st) return
  if (!st.isSocket()) throw pollenError('POLLEN_INVALID_CONFIG', `the control socket path ${path} is a file that is not a socket; remove it or choose another socket (--socket)`)
  if (await answers(path)) {
    throw pollenError('POLLEN_DAEMON_RUNNING', `a running daemon serves the control socket ${path}; stop it first, or give this one another socket (--socket PATH)`)
  }
  await removeIfExists(path)
}

/**
 * Listens on the control socket `path` with `mode`, through `listen` (given the private path
 * to bind); returns the removal to run on exit, which unlinks `path` only while it is still
 * this daemon's socket (another daemon may have taken the path since someone removed ours).
 */
export async function claimSocket(path: string, mode: number, listen: (privatePath: string) => Promise<void>): Promise<() => Promise<void>> {
  await freeSocketPath(path)
  const own = `${path}~${process.pid}`
  await removeIfExists(own)
  await listen(own)
  try {
    await chmod(own, mode)
    await link(own, path).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err
      // Another daemon linked its socket there after our check: it is theirs, or stale.
      await freeSocketPath(path)
      await link(own, path)
    })
  } finally {
    await removeIfExists(own)
  }
  const { ino, dev } = await lstat(path)
  return async () => {
    const now = await lstat(path).catch(() => undefined)
    if (now && now.ino === ino && now.dev === dev) await removeIfExists(path)
  }
}
