/**
 * `pollen help [COMMAND]` and `pollen --version`: every command of the COMMANDS table is listed
 * with a description, and each of its flags is described; the version is package.json's.
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { COMMANDS } from '../../daemon/cliArgs.js'
import { flagHelp, helpText } from '../../daemon/cliHelp.js'
import { pollen } from '../helpers/daemon.js'

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }

t.test('every command and every flag it takes has a description', async (t) => {
  const all = helpText([])
  for (const [name, spec] of Object.entries(COMMANDS)) {
    t.ok(spec.summary.length > 10, `${name} has a summary`)
    t.match(all, new RegExp(`^  ${name}\\s+${spec.summary.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'), `pollen help lists ${name}`)
    const one = helpText(name.split(' '))
    t.match(one, `usage: ${spec.usage}`, `pollen help ${name}: its usage`)
    for (const flag of spec.flags) {
      t.ok((flagHelp(name, flag) ?? '').length > 5, `${name} --${flag} is described`)
      t.match(one, new RegExp(`--${flag}\\s+\\S`), `pollen help ${name} shows --${flag}`)
    }
  }
  t.match(helpText(['review']), /usage: pollen review list[\s\S]*usage: pollen review approve/, 'a group word shows its commands')
  t.throws(() => helpText(['frob']), { code: 'POLLEN_INVALID_FLAG' }, 'an unknown command is refused')
})

t.test('through the CLI', async (t) => {
  const help = await pollen(['help', 'conflicts', 'resolve'])
  t.equal(help.code, 0, 'pollen help conflicts resolve exits 0')
  t.match(help.stdout, /--keep\s+the side to keep: an instance name/, 'describes --keep')
  const flagHelpOut = await pollen(['review', 'approve', '--help'])
  t.match(flagHelpOut.stdout, /^usage: pollen review approve/, 'COMMAND --help shows that command')
  t.match((await pollen(['--help'])).stdout, /^usage:\n {2}pollen help \[COMMAND\]/, '--help alone lists every usage line')
  const nope = await pollen(['help', 'frobnicate'])
  t.equal(nope.code, 2, 'help for an unknown command: exit 2')
  t.equal(nope.error?.code, 'POLLEN_INVALID_FLAG', 'with its code')
  const v = await pollen(['--version'])
  t.equal(v.code, 0, '--version exits 0')
  t.equal(v.stdout.trim(), pkg.version, 'prints package.json\'s version')
})
