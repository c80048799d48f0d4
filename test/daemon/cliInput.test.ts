/**
 * API keys kept off the command line (issue 17): `--key KEY` shows in `ps` and the shell's
 * history, so wherever `--key` is taken (`peer add`, `peer set`) the key can come from a file
 * (`--key-file PATH`) or standard input (`--key -`). A key file's final line break is not part
 * of the key; a missing or empty file, or both flags, are refused with one line.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startDaemon, tempDir } from '../helpers/daemon.js'

const dir = tempDir(t)
const d = await startDaemon({ t, dataDir: join(dir, 'data') })
const stored = (name: string): string | undefined => (JSON.parse(readFileSync(join(d.dataDir, 'peer-keys.json'), 'utf8')) as Record<string, string>)[name]
const keyFile = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text, { mode: 0o600 })
  return path
}
const add = (name: string, key: string[], stdin?: string) => d.cli(['peer', 'add', '--name', name, '--url', `http://${name}.local:7420`, '--user', 'u', ...key], { stdin })

t.test('peer add and peer set read the key from a file or standard input', async (t) => {
  const k1 = 'from-a-file-' + 'a'.repeat(24)
  const r1 = await add('cloud', ['--key-file', keyFile('cloud.key', `${k1}\n`)])
  t.equal(r1.code, 0, `peer add --key-file ${r1.stderr}`)
  t.equal(stored('cloud'), k1, 'the key as in the file, without its line break')
  const k2 = 'from-stdin-' + 'b'.repeat(24)
  const r2 = await add('school', ['--key', '-'], `${k2}\n`)
  t.equal(r2.code, 0, `peer add --key - ${r2.stderr}`)
  t.equal(stored('school'), k2, 'the key from standard input')
  const k3 = 'replaced-' + 'c'.repeat(24)
  t.equal((await d.cli(['peer', 'set', 'cloud', '--key', '-'], { stdin: k3 })).code, 0, 'peer set --key -')
  t.equal(stored('cloud'), k3, 'peer set takes the key from standard input')
  const k4 = 'replaced-again-' + 'd'.repeat(24)
  t.equal((await d.cli(['peer', 'set', 'school', '--key-file', keyFile('school.key', `${k4}\r\n`)])).code, 0, 'peer set --key-file')
  t.equal(stored('school'), k4, 'peer set takes the key from a file (CRLF too)')
  const k5 = 'inline-' + 'e'.repeat(24)
  t.equal((await add('tablet', ['--key', k5])).code, 0, '--key KEY still works')
  t.equal(stored('tablet'), k5)
})

t.test('a key file that cannot be used is refused with one line', async (t) => {
  const missing = join(dir, 'no-such.key')
  const cases: [string[], string | undefined, number, RegExp][] = [
    [['--key-file', missing], undefined, 1, new RegExp(`^pollen: cannot read ${missing}: no such file \\(POLLEN_INVALID_INPUT\\)\\n$`)],
    [['--key-file', dir], undefined, 1, /^pollen: cannot read .*: it is a directory \(POLLEN_INVALID_INPUT\)\n$/],
    [['--key-file', keyFile('empty.key', '\n')], undefined, 1, /^pollen: the key from .*empty\.key is empty \(POLLEN_INVALID_INPUT\)\n$/],
    [['--key', '-'], '', 1, /^pollen: the key from standard input is empty \(POLLEN_INVALID_INPUT\)\n$/],
    [['--key', 'k'.repeat(32), '--key-file', keyFile('x.key', 'k'.repeat(32))], undefined, 2, /^pollen: give the key once: --key or --key-file, not both \(POLLEN_INVALID_FLAG\)\n$/],
  ]
  for (const [flags, stdin, exit, line] of cases) {
    const r = await add('refused', flags, stdin)
    t.equal(r.code, exit, `${flags.join(' ')}: exit ${exit}`)
    t.match(r.stderr, line, `${flags.join(' ')}: ${r.stderr.trim()}`)
    t.equal(r.stdout, '', 'nothing on stdout')
  }
  t.equal(stored('refused'), undefined, 'no refused peer was stored')
  t.equal(await d.stop(), 0)
})
