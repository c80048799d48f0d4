/**
 * The README's "Two instances syncing" block works when pasted as written: it is taken from
 * README.md and run by `sh`, with `pollen` on the PATH, `D` in a temporary directory and the
 * four ports moved to free ones (so that the test runs next to anything on the machine).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { CLI, freePort, hermeticEnv, pollen, tempDir } from '../helpers/daemon.js'

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')

/** The first sh block under a heading. */
function block(markdown: string, heading: string): string {
  const at = markdown.indexOf(`## ${heading}\n`)
  if (at < 0) throw new Error(`README has no section "${heading}"`)
  const m = /```sh\n([\s\S]*?)```/.exec(markdown.slice(at))
  if (!m) throw new Error(`section "${heading}" has no sh block`)
  return m[1]
}

const script = block(README, 'Two instances syncing')

t.test('the block is what the README shows', async (t) => {
  t.match(script, /^D=\$HOME\/pollen-demo$/m, 'D is set on its own line, so it can be moved')
  for (const port of ['7420', '7430', '7431']) t.ok(script.includes(`127.0.0.1:${port}`), `uses port ${port}`)
  t.notOk(/127\.0\.0\.1:7421\b/.test(script), 'leaves 7421 (the default admin page) alone')
  t.notOk(/\bID\b/.test(script), 'no placeholder to fill in')
})

t.test('pasted into sh, it runs to the end', async (t) => {
  const dir = tempDir(t, 'pollen-readme-')
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  symlinkSync(CLI, join(bin, 'pollen'))
  const [cloudPort, schoolPort, schoolAdmin, cloudAdmin] = await Promise.all([freePort(), freePort(), freePort(), freePort()])
  // The admin page's flag arrives with the web page (issue 19, web19): until then the daemon
  // refuses it, so it is dropped here; with it, the cloud's default admin port is moved too.
  const hasAdmin = (await pollen(['help', 'daemon'])).stdout.includes('--admin-listen')
  let text = script
    .replace(/^D=.*$/m, `D=${join(dir, 'demo')}`)
    .replaceAll('127.0.0.1:7420', `127.0.0.1:${cloudPort}`)
    .replaceAll('127.0.0.1:7430', `127.0.0.1:${schoolPort}`)
    .replaceAll('127.0.0.1:7431', `127.0.0.1:${schoolAdmin}`)
  text = hasAdmin
    ? text.replace(`--listen 127.0.0.1:${cloudPort} `, `--listen 127.0.0.1:${cloudPort} --admin-listen 127.0.0.1:${cloudAdmin} `)
    : text.replace(` --admin-listen 127.0.0.1:${schoolAdmin}`, '')
  // Daemons a failing line leaves behind are stopped with the shell.
  const run = `set -e\ntrap 'kill $CLOUD $SCHOOL 2>/dev/null || true' EXIT\n${text}`
  const res = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('sh', ['-c', run], { env: hermeticEnv({ PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: dir }) })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
  const logs = ['cloud.log', 'school.log'].map((f) => join(dir, 'demo', f)).filter(existsSync).map((f) => readFileSync(f, 'utf8').slice(-2000)).join('\n')
  t.equal(res.code, 0, `the block exits 0${res.code ? `\nstdout: ${res.stdout}\nstderr: ${res.stderr}\nlogs: ${logs}` : ''}`)
  t.match(res.stdout, /cloud: ok, pulled \d+ \(1 new/, 'the school pulls the resource')
  t.match(res.stdout, /No published resources; 1 pending review \(pollen review list\)/, 'resource list points at the queue')
  t.match(res.stdout, /water-1\s+cloud\s+en\s+\S+ \S+\s+Safe drinking water/, 'the queue shows it, from the cloud, in English only')
  t.match(res.stdout, /approved 1 pending resource matching peer "cloud"/, 'approved in bulk')
  t.match(res.stdout, /water-1\s+published\s+en\s+Safe drinking water/, 'then published')
  t.match(res.stdout, /fields\s+cloud \([0-9a-f]{8}\)/, 'the history names the cloud')
})
