#!/usr/bin/env node
// The five-minute tour (`npm run demo`, which builds first): a cloud and a facility daemon on
// loopback, the facility reaching the cloud through an emulated slow link (512 kbit/s,
// 100 ms RTT). The cloud publishes resources in English and French; the facility (English
// only) syncs with a progress bar, reviews what arrived, approves one; then everything stops.
// Everything lives in a temporary directory that is removed at the end. Exit 0 on success.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(root, 'dist', 'daemon', 'cli.js')
if (!existsSync(CLI)) {
  console.error('pollen demo: dist/ is missing; run `npm run demo` (it builds first) or `npm run build`')
  process.exit(1)
}
const { EmulatedLink, symmetricLink } = await import(pathToFileURL(join(root, 'dist', 'bench', 'link.js')).href)
const { generateResources } = await import(pathToFileURL(join(root, 'dist', 'bench', 'dataset.js')).href)

const RATE = 512_000
const RTT = 100
const GENERATED = 500
const tty = process.stdout.isTTY
const bold = (s) => (tty ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s) => (tty ? `\x1b[2m${s}\x1b[0m` : s)
let stepNo = 0
const step = (text) => console.log(`\n${bold(`[${++stepNo}] ${text}`)}`)
const note = (text) => console.log(dim(`    ${text}`))

const dir = mkdtempSync(join(tmpdir(), 'pollen-demo-'))
const daemons = []
let link

// Children get a clean environment: no test loader, no data dir or systemd variables of the
// caller, and an empty system file in place of an installed service's /etc/pollen/pollen.json.
const env = { ...process.env }
for (const k of ['NODE_OPTIONS', 'POLLEN_DATA_DIR', 'POLLEN_CONFIG', 'RUNTIME_DIRECTORY', 'LISTEN_FDS', 'LISTEN_PID', 'CREDENTIALS_DIRECTORY']) delete env[k]
env.POLLEN_CONFIG = join(dir, 'system.json')
writeFileSync(env.POLLEN_CONFIG, '{}\n')

/** Runs the pollen CLI; `show` echoes the command and lets its output (and progress bar) through. */
function pollen(dataDir, args, { show = true, stdin, inherit = false } = {}) {
  if (show) console.log(`    $ pollen ${args.join(' ')}`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, ...args], { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d) => (stdout += d))
    child.stderr?.on('data', (d) => (stderr += d))
    if (stdin !== undefined) child.stdin.end(stdin)
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`pollen ${args.join(' ')} exited ${code}\n${stderr}`))
      if (show && !inherit && stdout.trim()) console.log(stdout.trimEnd().replace(/^/gm, '    '))
      resolve(stdout)
    })
  })
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function healthy(socket) {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/v1/health' }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

/** Starts `pollen daemon --init` on a new data directory and waits until its control socket answers. */
async function daemon(name, languages) {
  const dataDir = join(dir, name)
  const port = await freePort()
  const args = [CLI, 'daemon', '--init', '--data-dir', dataDir, '--name', name, '--languages', languages, '--listen', `127.0.0.1:${port}`, '--admin-listen', 'off', '--log-level', 'warn']
  console.log(`    $ pollen daemon --init --data-dir ${dataDir} --name ${name} --languages ${languages} --listen 127.0.0.1:${port} &`)
  // POLLEN_SYNC_INTERVAL=0: no scheduled syncs, so the tour decides when to sync.
  const proc = spawn(process.execPath, args, { env: { ...env, POLLEN_SYNC_INTERVAL: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  proc.stdout.on('data', (d) => (output += d))
  proc.stderr.on('data', (d) => (output += d))
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })))
  const d = { name, dataDir, port, proc, exited, output: () => output }
  daemons.push(d)
  const socket = join(dataDir, 'control.sock')
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) break
    if (await healthy(socket)) {
      note(`${name} is up: sync API on 127.0.0.1:${port}, control socket ${socket}`)
      return d
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`the ${name} daemon did not start:\n${output}`)
}

async function shutdown() {
  for (const d of daemons) {
    if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGTERM')
    const timer = setTimeout(() => d.proc.kill('SIGKILL'), 15_000)
    const { code, signal } = await d.exited
    clearTimeout(timer)
    note(`${d.name} stopped (exit ${code ?? signal})`)
    if (code !== 0) throw new Error(`the ${d.name} daemon exited ${code ?? signal}:\n${d.output()}`)
  }
  daemons.length = 0
  await link?.stop()
}

const started = Date.now()
try {
  console.log(bold('pollen demo: a cloud and a facility over a slow link'))
  note(`working in ${dir} (removed at the end)`)

  step('Start the cloud (keeps English and French)')
  const cloud = await daemon('cloud', 'en,fr')

  step('Start the facility (keeps English only)')
  const facility = await daemon('facility', 'en')

  step(`Put an emulated slow link in front of the cloud: ${RATE / 1000} kbit/s, ${RTT} ms round trip`)
  link = new EmulatedLink({ targetPort: cloud.port, ...symmetricLink(RATE, RTT) })
  const linkPort = await link.start()
  note(`the facility reaches the cloud at https://127.0.0.1:${linkPort} (proxy to 127.0.0.1:${cloud.port})`)

  step('Publish resources on the cloud, in English and French')
  const featured = [
    { id: 'demo-handwashing', title: { en: 'Hand washing in five steps', fr: 'Le lavage des mains en cinq étapes' }, description: { en: 'When and how to wash hands in a clinic.', fr: 'Quand et comment se laver les mains au dispensaire.' }, tags: ['hygiene'] },
    { id: 'demo-ors', title: { en: 'Oral rehydration salts', fr: 'Sels de réhydratation orale' }, description: { en: 'Preparing ORS for a child with diarrhoea.', fr: "Préparer les SRO pour un enfant atteint de diarrhée." }, tags: ['nutrition'] },
    { id: 'demo-coldchain', title: { en: 'Keeping the cold chain', fr: 'Maintenir la chaîne du froid' }, description: { en: 'Vaccine storage between 2 and 8 °C.', fr: 'Conserver les vaccins entre 2 et 8 °C.' }, tags: ['vaccines'] },
  ]
  for (const r of featured) await pollen(cloud.dataDir, ['resource', 'put', '-'], { stdin: JSON.stringify(r) })
  const library = join(dir, 'library.json')
  const bulk = generateResources(GENERATED, 2024).map((r) => ({ ...r, title: { en: r.title.en, fr: r.title.fr }, description: { en: r.description.en, fr: r.description.fr } }))
  writeFileSync(library, JSON.stringify(bulk))
  await pollen(cloud.dataDir, ['resource', 'import', library])
  await pollen(cloud.dataDir, ['status'])

  step('Give the facility a user on the cloud, and the cloud as the facility\'s peer')
  const key = (await pollen(cloud.dataDir, ['user', 'add', 'facility', '--role', 'read'], { show: false })).split('\n')[0].trim()
  console.log('    $ pollen user add facility --role read      (on the cloud; prints the API key once)')
  note(`key: ${key.slice(0, 8)}…`)
  await pollen(facility.dataDir, ['peer', 'add', '--name', 'cloud', '--url', `https://127.0.0.1:${linkPort}`, '--user', 'facility', `--key=${key}`], { show: false })
  console.log(`    $ pollen peer add --name cloud --url https://127.0.0.1:${linkPort} --user facility --key …      (on the facility)`)

  step('Sync the facility with the cloud over the slow link')
  note(tty ? 'the progress bar shows operations and bytes as chunks arrive' : '(no terminal: the progress bar is hidden)')
  link.resetStats()
  await pollen(facility.dataDir, ['sync'], { inherit: true })
  const s = link.stats()
  note(`the link carried ${(s.bytesDown / 1024).toFixed(1)} KB down and ${(s.bytesUp / 1024).toFixed(1)} KB up; French text stayed on the cloud`)

  step('Resources from a peer wait for review at the facility')
  const pending = JSON.parse(await pollen(facility.dataDir, ['review', 'list', '--json'], { show: false }))
  console.log('    $ pollen review list')
  // The table is above the page's summary (a blank line, then "1-50 of N pending" and what to type next).
  const table = (await pollen(facility.dataDir, ['review', 'list', '--limit', '5000'], { show: false })).trimEnd().split('\n\n')[0].split('\n')
  // The header, the hand-written resources, then a few of the generated library.
  const [header, ...rows] = table
  const shown = [...rows.filter((l) => l.startsWith('demo-')), ...rows.filter((l) => !l.startsWith('demo-')).slice(0, 4)]
  for (const line of [header, ...shown]) console.log(`    ${line}`)
  if (rows.length > shown.length) console.log(`    … and ${rows.length - shown.length} more`)
  note(`${pending.length} resources pending review`)

  step('Approve one')
  await pollen(facility.dataDir, ['review', 'approve', 'demo-handwashing'])

  step('What the facility\'s users see: the published resources')
  await pollen(facility.dataDir, ['resource', 'list'])
  await pollen(facility.dataDir, ['resource', 'get', 'demo-handwashing'])

  step('Stop everything (SIGTERM: each daemon closes its database and exits 0)')
  await shutdown()
  console.log(`\n${bold('Done')} in ${((Date.now() - started) / 1000).toFixed(1)} s. Next: README.md ("Two instances syncing") and docs/operations.md.`)
} catch (err) {
  console.error(`\npollen demo failed: ${err?.stack ?? err}`)
  for (const d of daemons) d.proc.kill('SIGKILL')
  await link?.stop().catch(() => undefined)
  process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
}
