/**
 * `npm run demo` (scripts/demo.mjs after a build) runs to completion without a terminal:
 * exit 0, every step printed, the sync over the slow link, the review queue, the approval,
 * the published list, both daemons stopped with exit 0, and its temporary directory removed.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const DEMO = join(REPO, 'scripts', 'demo.mjs')

t.test('package.json runs the demo after a build', async (t) => {
  const scripts = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts
  t.match(scripts.demo, /npm run build/, 'npm run demo builds first (a fresh clone has no dist/)')
  t.match(scripts.demo, /node scripts\/demo\.mjs/, 'then runs scripts/demo.mjs')
})

t.test('the demo runs to completion', async (t) => {
  const env = { ...process.env }
  for (const k of ['NODE_OPTIONS', 'POLLEN_DATA_DIR', 'POLLEN_CONFIG', 'RUNTIME_DIRECTORY']) delete env[k]
  const child = spawn(process.execPath, [DEMO], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
  // A bound for a hung demo (a failure, not a timing assertion).
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])))
  clearTimeout(timer)
  if (!t.equal(code, 0, `the demo exits 0 (signal ${signal})`)) t.comment(`stdout:\n${stdout}\nstderr:\n${stderr}`)

  for (const [what, re] of [
    ['the cloud starts', /\[1\] Start the cloud/],
    ['the facility starts', /\[2\] Start the facility/],
    ['the slow link is described', /512 kbit\/s, 100 ms round trip/],
    ['resources are published on the cloud', /imported 500 of 500: 500 created/],
    ['the facility syncs and reports the result', /cloud: ok, pulled \d+ \(503 new, 0 updated, 0 conflicts\)/],
    ['the pending queue is shown', /\$ pollen review list\n\s+ID\s+FROM\s+LANGUAGES\s+UPDATED\s+TITLE\n(.*\n)*\s+demo-handwashing\s+\S+\s+en\s+\S+ \S+\s+Hand washing in five steps/],
    ['its size is given', /503 resources pending review/],
    ['one resource is approved', /approved 1: demo-handwashing/],
    ['and published at the facility', /\$ pollen resource list\n\s+ID\s+STATUS.*\n\s+demo-handwashing\s+published\s+en\s+Hand washing/],
    ['French text did not travel to the facility', /languages:\s+en\n/],
    ['the cloud stops cleanly', /cloud stopped \(exit 0\)/],
    ['the facility stops cleanly', /facility stopped \(exit 0\)/],
    ['the demo ends', /\nDone in [\d.]+ s\./],
  ] as const) t.match(stdout, re, what)

  // eslint-disable-next-line no-control-regex -- ESC starts the colour codes looked for
  t.notOk(/\r|\x1b\[/.test(stdout + stderr), 'no progress bar or colour codes without a terminal')
  const workDir = /working in (\S+)/.exec(stdout)?.[1]
  t.ok(workDir, 'the demo names its working directory')
  t.notOk(workDir && existsSync(workDir), 'and removes it')
})
