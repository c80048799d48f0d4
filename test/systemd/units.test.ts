/**
 * The systemd units in systemd/: `systemd-analyze verify` accepts both (with ExecStart pointed
 * at the CLI built in this checkout, since /usr/lib/pollen is not installed here), and
 * `systemd-analyze security --offline=true` rates the service's exposure at 2.0 or lower.
 *
 * systemd-analyze is required: CI installs it (.ci/run: `apt-get install -y systemd`). When it
 * is missing these tests FAIL with a message saying so; they never skip.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI, tempDir } from '../helpers/daemon.js'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const UNITS = join(REPO, 'systemd')
const INSTALLED_EXEC = 'ExecStart=/usr/bin/node /usr/lib/pollen/dist/daemon/cli.js '

function analyze(args: string[]) {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '', PAGER: 'cat' } })
  const error: NodeJS.ErrnoException | undefined = r.error
  return { ...r, missing: error?.code === 'ENOENT' }
}

const probe = analyze(['--version'])
const MISSING = 'systemd-analyze is not installed: install systemd\'s tools (`apt-get install -y systemd`, as .ci/run does) to check the units'

/** Copies both units into a fresh directory, with ExecStart pointing at `exec` (default: this checkout's CLI). */
function unitCopies(t: Parameters<typeof tempDir>[0], exec = `${process.execPath} ${CLI}`): { dir: string; service: string; socket: string } {
  const dir = tempDir(t, 'pollen-units-')
  const service = join(dir, 'pollen.service')
  const socket = join(dir, 'pollen.socket')
  copyFileSync(join(UNITS, 'pollen.socket'), socket)
  const text = readFileSync(join(UNITS, 'pollen.service'), 'utf8')
  const local = text.replace(INSTALLED_EXEC, `ExecStart=${exec} `)
  if (local === text) throw new Error(`systemd/pollen.service no longer has the line "${INSTALLED_EXEC}…"; update this test`)
  writeFileSync(service, local)
  return { dir, service, socket }
}

/** Lines of systemd-analyze's output that concern our units (warnings are printed even when it exits 0). */
const aboutUs = (out: string) => out.split('\n').filter((l) => /pollen\.(service|socket)/.test(l))

t.test('systemd-analyze is available', async (t) => {
  t.notOk(probe.missing, MISSING)
  t.equal(probe.status, 0, `systemd-analyze --version runs: ${probe.stderr ?? ''}`)
})

t.test('the units as shipped', async (t) => {
  const service = readFileSync(join(UNITS, 'pollen.service'), 'utf8')
  const socket = readFileSync(join(UNITS, 'pollen.socket'), 'utf8')
  const key = (text: string, k: string) => text.split('\n').filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1))
  t.same(key(socket, 'ListenStream'), ['/run/pollen/control.sock'], 'the control socket is /run/pollen/control.sock')
  t.same(key(socket, 'SocketMode'), ['0660'], 'group-accessible, not world-accessible')
  t.same(key(socket, 'SocketGroup'), ['pollen'], 'administrators are the pollen group')
  t.ok(key(service, 'ExecStart')[0]?.includes('daemon --init --data-dir /var/lib/pollen'), 'ExecStart runs the daemon on /var/lib/pollen')
  t.same(key(service, 'StateDirectory'), ['pollen'])
  t.same(key(service, 'RuntimeDirectory'), ['pollen'])
  t.same(key(service, 'Restart'), ['on-failure'])
  t.same(key(service, 'TimeoutStopSec'), ['10'])
  t.same(key(service, 'MemoryDenyWriteExecute'), ['no'], 'V8\'s JIT needs writable executable memory')
  t.ok(key(service, 'MemoryMax').length && key(service, 'TasksMax').length && key(service, 'LimitNOFILE').length, 'resource limits are set')
  t.ok(/^#\s*LoadCredential=peer-\w+:\/etc\/pollen\/keys\//m.test(service), 'a LoadCredential= example for a peer key is given')
  t.ok(existsSync(join(UNITS, 'pollen.sysusers')), 'the system user is declared for systemd-sysusers')
})

t.test('systemd-analyze verify accepts both units (ExecStart pointed at the built CLI)', async (t) => {
  if (probe.missing) return t.fail(MISSING)
  t.ok(existsSync(CLI), `the CLI is built at ${CLI}`)
  const u = unitCopies(t)
  const r = analyze(['verify', '--man=no', u.socket, u.service])
  if (!t.equal(r.status, 0, 'verify exits 0')) t.comment(`stdout: ${r.stdout}\nstderr: ${r.stderr}`)
  t.same(aboutUs(`${r.stdout}\n${r.stderr}`), [], 'and reports nothing about our units')
})

t.test('verify can fail: a missing executable is refused', async (t) => {
  if (probe.missing) return t.fail(MISSING)
  const u = unitCopies(t, join(tempDir(t), 'no-such-node'))
  const r = analyze(['verify', '--man=no', u.socket, u.service])
  t.not(r.status, 0, 'verify refuses a unit whose ExecStart does not exist')
  t.match(`${r.stdout}${r.stderr}`, /no-such-node/, 'and names it')
})

t.test('systemd-analyze security rates the service 2.0 or lower', async (t) => {
  if (probe.missing) return t.fail(MISSING)
  const u = unitCopies(t)
  const r = analyze(['security', '--offline=true', '--no-pager', u.service])
  const out = `${r.stdout}\n${r.stderr}`
  const m = /Overall exposure level for pollen\.service:\s*([0-9]+(?:\.[0-9]+)?)/.exec(out)
  if (!t.ok(m, 'the overall exposure level is reported')) t.comment(out)
  const score = m ? Number(m[1]) : NaN
  t.comment(`overall exposure level: ${score}`)
  if (!t.ok(score <= 2.0, `exposure ${score} ≤ 2.0`)) t.comment(`the checks that count against it:\n${out.split('\n').filter((l) => l.startsWith('✗')).join('\n')}`)
  // The only thing knowingly left open for Node: writable executable memory for the JIT.
  t.notOk(/✗ (NoNewPrivileges|CapabilityBoundingSet|ProtectSystem|ProtectHome|SystemCallFilter|User=)/.test(out), 'no basic hardening is missing')
})
