/**
 * Memory and CPU probe for scenarios 3, 6 and 7 (not part of `npm run bench`): a source log
 * kept under DIR between runs, a loopback pull with both daemons sampled from inside
 * (bench/memProbe.ts: heap, external, RssAnon, RssFile), then nothing-new syncs with the
 * CPU of each daemon per sync from /proc.
 *
 *   node dist/bench/probe.js DIR [resources=100000] [nothingNewSyncs=10] [--keep-client | --rebuild]
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { texts } from './data.js'
import { EmulatedLink } from './link.js'
import { SEED } from './logBench.js'
import { connect, PollenDaemon } from './pollenPeer.js'
import { installCleanup } from './proc.js'
import { linkOptions, UNLIMITED } from './syncBench.js'

const PROBE = fileURLToPath(new URL('./memProbe.js', import.meta.url))

function probed(name: string, dir: string, dataDir?: string): { d: PollenDaemon; file: string } {
  const file = path.join(dir, `${name}.mem.json`)
  fs.rmSync(file, { force: true })
  process.env.POLLEN_MEM_PROBE = file
  const opts = { name, parent: dir, nodeArgs: ['--import', PROBE, ...(process.env.PROBE_NODE_ARGS ?? '').split(' ').filter(Boolean)] }
  return { d: dataDir ? PollenDaemon.existing(opts, dataDir) : PollenDaemon.create(opts), file }
}

async function withProbe(name: string, dir: string, dataDir?: string): Promise<{ d: PollenDaemon; file: string }> {
  const p = probed(name, dir, dataDir)
  // Each daemon reads POLLEN_MEM_PROBE from its environment when spawned.
  await p.d.start()
  return p
}

function report(label: string, file: string): void {
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as { peak: Record<string, number>; atPeak: Record<string, number>; smaps: string }
  console.log(`${label} peak (MiB): ${JSON.stringify(r.peak)}`)
  console.log(`${label} at peak RSS: ${JSON.stringify(r.atPeak)}`)
  console.log(r.smaps.split('\n').filter((l) => /^(Rss|Pss_Anon|Pss_File|Anonymous|Shared_Clean|Private_Clean|Private_Dirty):/.test(l)).map((l) => `   ${l}`).join('\n'))
}

async function main(): Promise<void> {
  installCleanup()
  const dir = path.resolve(process.argv[2] ?? '/tmp/pollen-probe')
  const n = Number(process.argv[3] ?? 100_000)
  const syncs = Number(process.argv[4] ?? 10)
  const keepClient = process.argv.includes('--keep-client')
  fs.mkdirSync(dir, { recursive: true })
  const srcDir = path.join(dir, `src-${n}`, 'data')
  const fresh = !fs.existsSync(srcDir)
  if (fresh) {
    const d = PollenDaemon.create({ name: 'src', parent: dir })
    await d.start()
    const t0 = performance.now()
    for await (const t of texts(SEED, n)) await d.importText(t)
    console.log(`imported ${n} resources in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    await d.stop()
    fs.renameSync(path.dirname(d.dataDir), path.dirname(srcDir))
  }
  const src = await withProbe('src', dir, srcDir)
  if (process.argv.includes('--rebuild')) {
    const c0 = src.d.cpu() ?? 0
    const r = await src.d.rebuild()
    console.log(`rebuild: ${r.ops} operations in ${(r.wallMs / 1000).toFixed(1)} s, CPU ${((src.d.cpu() ?? 0) - c0).toFixed(1)} s, VmHWM ${((src.d.peakRss() ?? 0) / 2 ** 20).toFixed(0)} MiB`)
    await new Promise((res) => setTimeout(res, 300))
    report('rebuild', src.file)
    await src.d.stop()
    return
  }
  const cliDir = path.join(dir, `client-${n}`, 'data')
  const reuse = keepClient && fs.existsSync(cliDir)
  const cli = await withProbe(`client${process.pid}`, dir, reuse ? cliDir : undefined)
  const link = new EmulatedLink({ ...linkOptions(UNLIMITED), targetPort: src.d.port })
  const port = await link.start()
  try {
    if (reuse) await cli.d.setPeerUrl('src', `https://127.0.0.1:${port}`)
    else {
      await connect(cli.d, src.d, `https://127.0.0.1:${port}`, 'src')
      const c0 = [src.d.cpu() ?? 0, cli.d.cpu() ?? 0]
      const t0 = performance.now()
      const r = await cli.d.sync('src')
      const s = (performance.now() - t0) / 1000
      console.log(`pull: ok=${r.ok} ${r.pulled} ops, ${r.requests} requests, in ${s.toFixed(1)} s (${Math.round(r.pulled / s)} ops/s); CPU server ${((src.d.cpu() ?? 0) - c0[0]).toFixed(1)} s, client ${((cli.d.cpu() ?? 0) - c0[1]).toFixed(1)} s; VmHWM server ${((src.d.peakRss() ?? 0) / 2 ** 20).toFixed(0)} MiB, client ${((cli.d.peakRss() ?? 0) / 2 ** 20).toFixed(0)} MiB`)
      await new Promise((res) => setTimeout(res, 300))
      report('server', src.file)
      report('client', cli.file)
    }
    // Idle: wait for compaction after the bulk pull to end.
    let last = (src.d.cpu() ?? 0) + (cli.d.cpu() ?? 0)
    const settle0 = performance.now()
    for (let i = 0; i < 120; i++) {
      await new Promise((res) => setTimeout(res, 500))
      const now = (src.d.cpu() ?? 0) + (cli.d.cpu() ?? 0)
      if (now - last < 0.02) break
      last = now
    }
    const idle = async (label: string) => {
      const c0 = [src.d.cpu() ?? 0, cli.d.cpu() ?? 0]
      await new Promise((res) => setTimeout(res, 5000))
      console.log(`${label}: CPU in 5 s without syncs: server ${(((src.d.cpu() ?? 0) - c0[0]) * 1000).toFixed(0)} ms, client ${(((cli.d.cpu() ?? 0) - c0[1]) * 1000).toFixed(0)} ms`)
    }
    console.log(`settled after ${((performance.now() - settle0) / 1000).toFixed(1)} s`)
    await idle('after settling')
    const per: string[] = []
    let sumS = 0
    let sumC = 0
    for (let i = 0; i < syncs; i++) {
      const c0 = [src.d.cpu() ?? 0, cli.d.cpu() ?? 0]
      const t0 = performance.now()
      const r = await cli.d.sync('src')
      const ms = performance.now() - t0
      const ds = (src.d.cpu() ?? 0) - c0[0]
      const dc = (cli.d.cpu() ?? 0) - c0[1]
      sumS += ds
      sumC += dc
      per.push(`${ms.toFixed(0)}ms/s${(ds * 1000).toFixed(0)}/c${(dc * 1000).toFixed(0)}${r.ok ? '' : ' FAIL ' + r.error}`)
    }
    if (syncs) console.log(`nothing new x${syncs}: mean CPU server ${((sumS / syncs) * 1000).toFixed(0)} ms, client ${((sumC / syncs) * 1000).toFixed(0)} ms per sync; ${per.join(' ')}`)
    await idle('after the syncs')
    console.log(`idle RSS now: server ${((src.d.rss() ?? 0) / 2 ** 20).toFixed(1)} MiB, client ${((cli.d.rss() ?? 0) / 2 ** 20).toFixed(1)} MiB`)
  } finally {
    await link.stop()
    await src.d.stop()
    await cli.d.stop()
    if (keepClient && !reuse) fs.renameSync(path.dirname(cli.d.dataDir), path.dirname(cliDir))
    else if (!reuse) fs.rmSync(path.dirname(cli.d.dataDir), { recursive: true, force: true })
  }
}

await main()
