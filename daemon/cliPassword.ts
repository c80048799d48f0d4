/**
 * Where `pollen admin add` and `admin passwd` read a password: `--password-file PATH`, else
 * standard input — a prompt without echo, asked twice, when it is a terminal; the first
 * line otherwise (a pipe from a secrets manager). Never a flag value, which `ps` shows.
 */
import { pollenError } from '../core/errors.js'
import { readInput } from './cliInput.js'
import type { Flags } from './cliArgs.js'

/** One line typed on the terminal without echo; Ctrl-C or Ctrl-D abandons it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin
  return new Promise((resolve, reject) => {
    process.stderr.write(question)
    let text = ''
    stdin.setRawMode(true)
    stdin.resume()
    stdin.setEncoding('utf8')
    const done = (err?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (err) reject(err)
      else resolve(text)
    }
    const onData = (chunk: string) => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n') return done()
        if (c === '\u0003' || c === '\u0004') return done(pollenError('POLLEN_INVALID_INPUT', 'no password given'))
        if (c === '\u007f' || c === '\b') text = [...text].slice(0, -1).join('')
        else text += c
      }
    }
    stdin.on('data', onData)
  })
}

/** The password for `admin add` or `admin passwd` (checked for length by the daemon). */
export async function readPassword(flags: Flags, name: string): Promise<string> {
  const file = flags['password-file']
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') throw pollenError('POLLEN_INVALID_FLAG', '--password-file needs a path')
    return firstLine(await readInput(file), file)
  }
  if (process.stdin.isTTY) {
    const first = await promptHidden(`password for ${name}: `)
    const again = await promptHidden('the same password again: ')
    if (first !== again) throw pollenError('POLLEN_INVALID_INPUT', 'the two passwords differ; nothing was changed')
    return first
  }
  return firstLine(await readInput('-'), 'standard input')
}

function firstLine(text: string, what: string): string {
  const line = text.split(/\r?\n/)[0]
  if (line === '') throw pollenError('POLLEN_INVALID_INPUT', `no password in ${what}: give it on the first line`)
  return line
}
