/**
 * Where pollen's time goes: runs daemons under `node --cpu-prof` through the bench's
 * phases (import, loopback pull, nothing-new syncs, a restart with the log) and prints the
 * top functions by self time per daemon and phase, plus CPU seconds from /proc (all
 * threads: the profile covers only the main JavaScript thread; the rest is libuv's pool —
 * LevelDB, zlib/brotli — and the GC). Not part of `npm run bench`.
 *
 *   node dist/bench/diagnose.js [resources=5000] [nothingNewSyncs=30]
 *   DIAG_KEEP=DIR keeps the .cpuprofile files there; DIAG_CALLERS=NAME prints who calls NAME.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { SEED } from './logBench.js'
import { texts } from './data.js'
import { PollenDaemon } from './pollenPeer.js'
import { installCleanup } from './proc.js'
import { PollenPair } from './syncBench.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

/** Top functions by self time of a .cpuprofile; idle time left out of the percentages. */
export function summarize(file: string, top = 15): string[] {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number }
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const dt = (p.endTime - p.startTime) / p.samples.length / 1000
  const self = new Map<string, number>()
  let busy = 0
  for (const s of p.samples) {
    const cf = byId.get(s)!.callFrame
    if (cf.functionName === '(idle)') continue
    busy++
    const k = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`
    self.set(k, (self.get(k) ?? 0) + 1)
  }
  const out = [`main thread busy ${(busy * dt).toFixed(0)} ms of ${((p.endTime - p.startTime) / 1000).toFixed(0)} ms`]
  for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`${(c * dt).toFixed(0).padStart(7)} ms ${((100 * c) / busy).toFixed(1).padStart(5)}%  ${k}`)
  const callersOf = process.env.DIAG_CALLERS
  if (callersOf) out.push(...callers(p.nodes, p.samples, dt, callersOf))
  return out
}

/**
 * `DIAG_CALLERS=name`: for the samples spent in a function of that name, the nearest
 * caller in core/ (past the adapters, node_modules and node's internals), by time.
 */
function callers(nodes: ProfileNode[], samples: number[], dt: number, name: string): string[] {
  const parent = new Map<number, ProfileNode>()
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n)
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const count = new Map<string, number>()
  for (const s of samples) {
    let n = byId.get(s)
    if (n?.callFrame.functionName !== name) continue
    while (n && !n.callFrame.url.includes('/dist/core/')) n = parent.get(n.id)
    const k = n ? `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}` : '(outside pollen)'
    count.set(k, (count.get(k) ?? 0) + 1)
  }
  return [`   callers of ${name}:`, ...[...count].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, c]) => `${(c * dt).toFixed(0).padStart(9)} ms  ${k}`)]
}

async function profiled<T>(label: string, daemons: PollenDaemon[], fn: () => Promise<T>): Promise<T> {
  const cpu0 = daemons.map((d) => d.cpu() ?? 0)
  const t0 = performance.now()
  const r = await fn()
  const ms = performance.now() - t0
  console.log(`\n== ${label}: ${ms.toFixed(0)} ms; CPU (all threads) ${daemons.map((d, i) => `${d.name} ${((d.cpu() ?? 0) - cpu0[i]).toFixed(2)} s`).join(', ')}`)
  return r
}

async function stopAndSummarize(d: PollenDaemon, dir: string, label: string): Promise<void> {
  await d.stop()
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    console.log(`-- ${label} (${d.name}, ${f})`)
    for (const line of summarize(path.join(dir, f))) console.log(`   ${line}`)
    // DIAG_KEEP=DIR keeps the profiles (for an inclusive-time look or Chrome's profiler).
    if (process.env.DIAG_KEEP) fs.copyFileSync(path.join(dir, f), path.join(process.env.DIAG_KEEP, `${d.name}-${label.replace(/\W+/g, '_')}.cpuprofile`))
    fs.rmSync(path.join(dir, f))
  }
}

async function main(): Promise<void> {
  installCleanup()
  const n = Number(process.argv[2] ?? 5000)
  const syncs = Number(process.argv[3] ?? 30)
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pollen-diag-'))
  const srcDir = path.join(root, 'src')
  const cliDir = path.join(root, 'client')
  fs.mkdirSync(srcDir)
  fs.mkdirSync(cliDir)
  const src = PollenDaemon.create({ name: 'src', cpuProfDir: srcDir })
  try {
    await src.start()
    await profiled(`import ${n} resources (${n * 4} operations)`, [src], async () => {
      for await (const t of texts(SEED, n)) await src.importText(t)
    })
    await stopAndSummarize(src, srcDir, 'import')
    const ready = await profiled('restart with the log (spawn → GET /v1/health answers)', [], () => src.start())
    console.log(`   start-to-ready ${ready.toFixed(0)} ms`)
    const pair = await PollenPair.create(src, { rateBps: Infinity, rttMs: 0 }, { clientName: 'diag-client' })
    await pair.client.stop()
    pair.client.cpuProfDir = cliDir
    await pair.client.start()
    const run = await profiled(`loopback pull of ${n * 4} operations`, [src, pair.client], () => pair.sync())
    console.log(`   ${Math.round(run.pulled / (run.ms / 1000))} ops/s; ${run.chunks} chunks; ${run.bytesDown} bytes down`)
    await stopAndSummarize(src, srcDir, 'start + pull (server)')
    await stopAndSummarize(pair.client, cliDir, 'pull (client)')
    await src.start()
    await pair.client.start()
    await profiled(`${syncs} nothing-new syncs`, [src, pair.client], async () => {
      for (let i = 0; i < syncs; i++) await pair.sync()
    })
    await stopAndSummarize(src, srcDir, 'nothing new (server)')
    await stopAndSummarize(pair.client, cliDir, 'nothing new (client)')
    await pair.destroy()
  } finally {
    await src.destroy()
    fs.rmSync(root, { recursive: true, force: true })
  }
}

await main()
