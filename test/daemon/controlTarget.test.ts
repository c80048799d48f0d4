/**
 * A mistyped data directory never acts on the installed instance (issue 17): with the system
 * socket present, `pollen --data-dir /srv/shcool resource put -` wrote into the installed
 * instance. The installed instance is simulated the documented way: a real daemon whose
 * control socket is where `$POLLEN_SYSTEM_SOCKET` points (test/daemon/hermetic.test.ts).
 */
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pollen, startDaemon, tempDir } from '../helpers/daemon.js'

const dir = tempDir(t)
const systemSocket = join(dir, 'run', 'control.sock')
mkdirSync(join(dir, 'run'))
const installed = await startDaemon({ t, dataDir: join(dir, 'var-lib-pollen'), socket: systemSocket })
const env = { POLLEN_SYSTEM_SOCKET: systemSocket, HOME: join(dir, 'home') }
const resource = JSON.stringify({ id: 'typo', title: { en: 'Meant for the school' } })
const installedIds = async (): Promise<string[]> => ((await installed.cli(['resource', 'list', '--json'])).json as { id: string }[]).map((r) => r.id)

t.test('a named data directory that is not an instance is refused, never the system socket', async (t) => {
  const file = join(dir, 'a-file')
  writeFileSync(file, 'not a directory\n')
  mkdirSync(join(dir, 'empty'))
  const shcool = join(dir, 'srv', 'shcool')
  const cases: [string, { args: string[]; env?: Record<string, string> }, RegExp][] = [
    ['a data directory that does not exist', { args: ['--data-dir', shcool] }, new RegExp(`^pollen: the data directory ${shcool} does not exist; check the path, or create an instance with \`pollen init --data-dir ${shcool}\`; the installed service is reached without --data-dir, or with --socket ${systemSocket} \\(POLLEN_NOT_INITIALIZED\\)\\n$`)],
    ['$POLLEN_DATA_DIR mistyped', { args: [], env: { POLLEN_DATA_DIR: shcool } }, /^pollen: the data directory .*shcool does not exist; .* \(POLLEN_NOT_INITIALIZED\)\n$/],
    ['a directory with no instance', { args: ['--data-dir', join(dir, 'empty')] }, /^pollen: .*empty holds no pollen instance; run `pollen init --data-dir .*empty` first; the installed service is reached .* \(POLLEN_NOT_INITIALIZED\)\n$/],
    ['a file', { args: ['--data-dir', file] }, /^pollen: .*a-file is not a directory; --data-dir names a pollen data directory \(POLLEN_NOT_INITIALIZED\)\n$/],
  ]
  for (const [what, c, line] of cases) {
    const r = await pollen(['resource', 'put', '-', ...c.args], { stdin: resource, env: { ...env, ...c.env } })
    t.equal(r.code, 1, `${what}: exit 1`)
    t.match(r.stderr, line, `${what}: ${r.stderr.trim()}`)
    t.equal(r.stdout, '', `${what}: nothing on stdout`)
  }
  t.same(await installedIds(), [], 'nothing was written into the installed instance')
})

t.test('with no data directory named and none at the default place, the CLI reaches the installed service', async (t) => {
  const r = await pollen(['status', '--json'], { env })
  t.equal(r.code, 0, r.stderr)
  t.equal(r.json?.instance, installed.instance, 'the installed instance answered')
  const down = await pollen(['status'], { env: { ...env, POLLEN_SYSTEM_SOCKET: join(dir, 'run', 'none.sock') } })
  t.match(down.stderr, /^pollen: .*home\/\.local\/share\/pollen does not exist; check the path, or create an instance with `pollen init --data-dir .*` \(POLLEN_NOT_INITIALIZED\)\n$/, 'without a system socket: the default directory is named')
  t.equal(await installed.stop(), 0)
})
