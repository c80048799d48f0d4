/**
 * How the CLI fails: always one line on stderr, `pollen: <message> (<CODE>)` (or the JSON
 * error with `--json`), never a stack trace. Errors from the file system and the network that
 * no layer turned into a PollenError get a code here (POLLEN_IO), and a bug gets
 * POLLEN_INTERNAL; `POLLEN_DEBUG=1` adds the stack for a report.
 */
import { isPollenError, pollenError, type PollenError } from '../core/errors.js'
import { terminalText } from './cliOutput.js'

/** What an errno means, for a person. */
const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'it already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the path is too long',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the other end closed the connection',
  ETIMEDOUT: 'the connection timed out',
}

/** What a system call was doing, for a person. */
const DOING: Record<string, string> = { open: 'open', mkdir: 'create', rename: 'rename', unlink: 'remove', chmod: 'change the mode of', scandir: 'list', stat: 'read', lstat: 'read', read: 'read', write: 'write', connect: 'connect to' }

/** Any error as the PollenError the CLI reports. */
export function asPollenError(err: unknown): PollenError {
  if (isPollenError(err)) return err
  const e = err as NodeJS.ErrnoException | undefined
  if (e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    const what = e.path ? `cannot ${DOING[e.syscall ?? ''] ?? e.syscall ?? 'use'} ${e.path}` : `${e.syscall ?? 'a system call'} failed`
    return pollenError('POLLEN_IO', `${what}: ${REASONS[e.code] ?? e.message}`, { cause: err })
  }
  return pollenError('POLLEN_INTERNAL', `unexpected error: ${e?.message ?? String(err)}`, { cause: err })
}

/** Writes the one-line report of `err` on stderr; returns the exit status (2 for a bad command line). */
export function reportError(err: unknown, json: boolean): number {
  const pe = asPollenError(err)
  if (json) process.stderr.write(JSON.stringify({ error: pe.toJSON() }) + '\n')
  else process.stderr.write(`pollen: ${terminalText(pe.message, true)} (${pe.code})\n`)
  if (process.env.POLLEN_DEBUG && pe.cause instanceof Error) process.stderr.write(`${pe.cause.stack ?? ''}\n`)
  return pe.code === 'POLLEN_INVALID_FLAG' ? 2 : 1
}

/**
 * A reader that stopped reading (`pollen review list | head -1`) is no failure: on EPIPE the
 * CLI exits at once with status 0 and says nothing, as the shell tools it sits among do.
 * Any other error on stdout or stderr is reported like any failure.
 */
export function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0)
      if (stream === process.stdout) process.exit(reportError(err, false))
      process.exit(1)
    })
  }
}
