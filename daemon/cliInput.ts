/**
 * What the CLI reads besides its arguments: files and standard input for `resource put` and
 * `import`, and API keys. A key typed as `--key KEY` shows in `ps` and in the shell's
 * history; `--key-file PATH` and `--key -` (standard input) keep it out of both.
 */
import { readFile } from 'node:fs/promises'
import { pollenError } from '../core/errors.js'
import type { Flags } from './cliArgs.js'

/** The text of `path`, or of standard input for `-`; POLLEN_INVALID_INPUT when it cannot be read. */
export async function readInput(path: string): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = []
    for await (const c of process.stdin) chunks.push(c as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : code === 'ENOTDIR' ? 'a part of the path is not a directory' : (err as Error).message
    throw pollenError('POLLEN_INVALID_INPUT', `cannot read ${path}: ${why}`, { cause: err })
  }
}

/** Parses JSON input; POLLEN_INVALID_JSON names `what` (a file, standard input). */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw pollenError('POLLEN_INVALID_JSON', `${what} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * The API key of `--key KEY`, `--key -` (standard input) or `--key-file PATH`, without the
 * line break a file or `echo` ends it with; undefined when none was given.
 */
export async function readKey(flags: Flags): Promise<string | undefined> {
  const inline = flags.key
  const file = flags['key-file']
  if (inline !== undefined && file !== undefined) throw pollenError('POLLEN_INVALID_FLAG', 'give the key once: --key or --key-file, not both')
  if (inline === undefined && file === undefined) return undefined
  const source = typeof file === 'string' ? file : inline
  if (typeof source !== 'string' || source === '') throw pollenError('POLLEN_INVALID_FLAG', `${file !== undefined ? '--key-file' : '--key'} needs a value`)
  if (file === undefined && source !== '-') return source
  const key = (await readInput(source)).replace(/\r?\n$/, '')
  if (key.trim() === '') throw pollenError('POLLEN_INVALID_INPUT', `the key from ${source === '-' ? 'standard input' : source} is empty`)
  return key
}
