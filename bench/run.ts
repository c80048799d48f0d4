/**
 * `npm run bench [-- --quick]`: Part A (the log, issue 2) and the sync scenarios (issue 4),
 * pollen and PouchDB side by side over the same emulated links with the same data.
 * Prints the table, writes `bench/results/*.json` and renders `docs/benchmarks.md`.
 *
 *   node dist/bench/run.js [--quick] [--no-render]
 *
 * Every daemon and PouchDB server is stopped at the end, on errors and on Ctrl-C.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { cpuCheckMs } from './cpuCheck.js'
import { BATCH, payloadText, prepareBatches } from './data.js'
import { runLogBench } from './logBench.js'
import { limitFor } from './limitCache.js'
import type { PhysicalLimit } from './limit.js'
import type { PollenDaemon } from './pollenPeer.js'
import { installCleanup, killAll } from './proc.js'
import { renderFile } from './render.js'
import { fmt, logRow, printTable, writeResults } from './report.js'
import type { ScenarioResult } from './resultTypes.js'
import { cappedRow, changedRow, cutPatternRow, cutRow, initialRow, loopbackRow, nothingNewRow, resourcesRow, shortTransferRow } from './rows.js'
import { cappedScenario, changeSet, cutPatternScenario, cutScenario, FULL, initialSync, LINK1, LINK2, LINK5, LINK8, loopbackScenario, pollenScenarios34, QUICK, S10_RESOURCES, S9_RESOURCES, S9_TEXT, shortTransfer, type CutPatterns, type Cuts, type Loopback, type Pollen34 } from './scenarios.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const sizes = quick ? QUICK : FULL
/** Wall-clock budget of this process (the build before it takes about 15 s). */
const BUDGET_SEC = quick ? 160 : 19 * 60
/** Scenario 8's size in every run: issue 18's measurement (600 resources), small enough for the quick run. */
const S8_RESOURCES = 600
const SCALE = quick
  ? 'quick run, scaled down: log 20,000 and 100,000 operations (full: 100,000 and 1,000,000); scenarios 1, 2, 6 with 500, 100, 5,000 resources (÷20); scenario 5 with 1,000 (÷2); scenarios 3 and 4 on the 20,000-operation log (÷50)'
  : ''

const t0 = performance.now()
const say = (msg: string): void => {
  console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`)
}

function environment(): string {
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'core', 'adapters', 'daemon'], { cwd: ROOT, encoding: 'utf8' }).trim()
    if (dirty) commit += ' + uncommitted changes'
  } catch {
    /* not a git checkout */
  }
  const cpu = os.cpus()
  return `${cpu.length}× ${cpu[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, git ${commit}, ${quick ? 'quick' : 'full'} run, load average at start ${os.loadavg()[0].toFixed(1)}, CPU check at start ${cpuCheckMs()} ms`
}

/** A row for a scenario that failed to run, so the failure shows in the results. */
function failedRow(scenario: number, name: string, err: unknown): ScenarioResult {
  return {
    scenario,
    name,
    params: { error: String((err as Error)?.message ?? err).slice(0, 300) },
    pollen: null,
    pouch: null,
    limit: null,
    target: { description: 'the scenario did not complete', met: false },
  }
}

async function step<T>(label: string, fn: () => Promise<T>): Promise<T | Error> {
  say(label)
  try {
    return await fn()
  } catch (err) {
    console.error(`bench: ${label} failed:`, err)
    return err instanceof Error ? err : new Error(String(err))
  }
}

async function main(): Promise<number> {
  const live = new Set<PollenDaemon>()
  installCleanup(async () => {
    for (const d of live) await d.kill().catch(() => undefined)
  })
  const env = environment()
  say(`pollen bench, ${env}`)
  if (quick) say(SCALE)
  const maxResources = Math.max(...sizes.logResources, sizes.s6)

  // Data first (not timed): the first batches, so the limits can start, then the rest.
  say(`preparing the dataset (${fmt.int(maxResources)} resources, cached under ${os.tmpdir()})`)
  await prepareBatches(1, Math.ceil(Math.max(sizes.s1, sizes.s2, sizes.s5) / BATCH))
  const changes = await changeSet(sizes.changes)
  const limits = {
    s1: payloadText(1, sizes.s1).then((p) => limitFor(p, LINK1)),
    s2: payloadText(1, sizes.s2).then((p) => limitFor(p, LINK2)),
    s4: limitFor(JSON.stringify(changes.changes), LINK1),
    s5: payloadText(1, sizes.s5).then((p) => limitFor(p, LINK5)),
    s8: payloadText(1, S8_RESOURCES).then((p) => limitFor(p, LINK8)),
    s9: payloadText(1, S9_RESOURCES, S9_TEXT).then((p) => limitFor(p, LINK1)),
  }
  const generated = await prepareBatches(1, Math.ceil(maxResources / BATCH))
  const lim: Record<keyof typeof limits, PhysicalLimit> = { s1: await limits.s1, s2: await limits.s2, s4: await limits.s4, s5: await limits.s5, s8: await limits.s8, s9: await limits.s9 }
  say(`dataset ready (${generated} batches generated); brotli-11 limits: s1 ${fmt.bytes(lim.s1.bytes)}, s2 ${fmt.bytes(lim.s2.bytes)}, s4 ${fmt.bytes(lim.s4.bytes)}`)

  const rows: ScenarioResult[] = []
  try {
    // Part A: the log. Scenarios 3 and 4 run on one of its logs right after it is measured.
    let p34: Pollen34 | Error = new Error('no log for scenarios 3 and 4 (Part A failed)')
    let importOpsPerSec = 5000
    for (const [i, n] of sizes.logResources.entries()) {
      const keep = i === sizes.s3Log
      const r = await step(`Part A: log of ${fmt.int(n * 4)} operations (${fmt.int(n)} resources)`, () =>
        runLogBench(n, { puts: sizes.puts, keep, onProgress: say }),
      )
      if (r instanceof Error) {
        rows.push(failedRow(0, `the log: ${fmt.int(n * 4)} operations`, r))
        continue
      }
      rows.push(logRow(r.result, i === sizes.logResources.length - 1))
      const x = r.result
      importOpsPerSec = x.batchedOpsPerSec
      say(`  ${fmt.int(x.batchedOpsPerSec)} ops/s batched, ${fmt.int(x.putOpsPerSec)} ops/s single, rebuild ${fmt.ms(x.rebuildMs)}, start ${fmt.ms(x.startToReadyMs)}, idle ${fmt.bytes(x.idleRssBytes)}`)
      if (keep) {
        const a = r.daemon
        live.add(a)
        p34 = await step(`Scenarios 3 and 4 (pollen) on the ${fmt.int(x.ops)}-operation log`, () => pollenScenarios34(a, changes, say))
        await a.destroy()
        live.delete(a)
      }
    }
    const pullOpsPerSec = p34 instanceof Error ? 5000 : p34.bulk.pulled / (p34.bulk.ms / 1000)

    let source: PollenDaemon | undefined
    const s1 = await step(`Scenario 1: initial sync, ${fmt.int(sizes.s1)} resources`, async () => {
      const r = await initialSync(sizes.s1, LINK1, say, true)
      if (r.source) live.add((source = r.source))
      return r
    })
    rows.push(s1 instanceof Error ? failedRow(1, 'initial sync', s1) : initialRow(sizes.s1, 1, LINK1, s1, lim.s1, SCALE))
    const s2 = await step(`Scenario 2: initial sync, ${fmt.int(sizes.s2)} resources`, () => initialSync(sizes.s2, LINK2, say, false))
    rows.push(s2 instanceof Error ? failedRow(2, 'initial sync', s2) : initialRow(sizes.s2, 2, LINK2, s2, lim.s2, SCALE))
    const s9 = await step(`Scenario 9: short transfer, ${fmt.int(S9_RESOURCES)} resources of ${S9_TEXT} text`, () => shortTransfer(say))
    rows.push(s9 instanceof Error ? failedRow(9, 'short transfer', s9) : shortTransferRow(S9_RESOURCES, s9, lim.s9))
    const s10 = await step(`Scenario 10: a peer capped at its --max-kbps, ${fmt.int(S10_RESOURCES)} resources`, () => cappedScenario(say))
    rows.push(s10 instanceof Error ? failedRow(10, 'a capped peer', s10) : cappedRow(S10_RESOURCES, s10))

    const s5: Cuts | Error = await step('Scenario 5: cuts every 256 KiB', () => cutScenario(sizes.s5, say))
    const s8: CutPatterns | Error = await step('Scenario 8: cuts every 16, 48 and 128 KiB', () => cutPatternScenario(S8_RESOURCES, say))
    if (s8 instanceof Error) rows.push(failedRow(8, 'links cut every 16, 48 and 128 KiB', s8))
    else for (const p of s8.patterns) rows.push(cutPatternRow(S8_RESOURCES, s8, p, lim.s8, ''))
    let s6Size = sizes.s6
    let s6Note = ''
    let s6: Loopback | Error = new Error('no source daemon (scenario 1 failed)')
    if (source) {
      const src = source
      // The whole run must fit its budget (20 min, quick 3 min, including the build): if
      // pollen's measured rates say scenario 6 would not fit, it runs smaller and says so.
      const perResourceSec = 4 / importOpsPerSec + 4 / pullOpsPerSec + 0.0025
      const leftSec = BUDGET_SEC - (performance.now() - t0) / 1000 - 45
      // Never below what the reused source already holds (scenario 1's resources).
      s6Size = Math.max(sizes.s1, Math.min(sizes.s6, 5000), Math.min(sizes.s6, Math.floor(leftSec / perResourceSec / BATCH) * BATCH))
      if (s6Size < sizes.s6) {
        s6Note = `scaled down from ${fmt.int(sizes.s6)} to ${fmt.int(s6Size)} resources to keep the run within its ${BUDGET_SEC / 60}-minute budget at the rates measured so far (import ${fmt.int(importOpsPerSec)} ops/s, pull ${fmt.int(pullOpsPerSec)} ops/s)`
        say(`  scenario 6: ${s6Note}`)
      }
      s6 = await step(`Scenarios 6 and 7: loopback, ${fmt.int(s6Size)} resources (and PouchDB's side of 3 and 4)`, () => loopbackScenario(src, sizes.s1, s6Size, changes, say))
      await src.destroy()
      live.delete(src)
    }
    if (p34 instanceof Error || s6 instanceof Error) {
      const err = p34 instanceof Error ? p34 : s6
      rows.push(failedRow(3, 'nothing new', err), failedRow(4, 'changed resources on a big log', err))
    } else {
      rows.push(nothingNewRow(p34, s6, SCALE), changedRow(p34, s6, lim.s4, sizes.changes, SCALE))
    }
    rows.push(s5 instanceof Error ? failedRow(5, 'link cut every 256 KiB', s5) : cutRow(sizes.s5, s5, lim.s5, SCALE))
    if (s6 instanceof Error) rows.push(failedRow(6, 'loopback', s6), failedRow(7, 'memory and CPU', s6))
    else {
      const note = [SCALE, s6Note].filter(Boolean).join('; ')
      rows.push(loopbackRow(s6Size, s6, note), resourcesRow(s6Size, s6, note))
    }
  } finally {
    for (const d of live) await d.destroy().catch(() => undefined)
    killAll()
  }

  const measuredAt = new Date().toISOString()
  const endLoad = os.loadavg()[0].toFixed(1)
  const endCheck = cpuCheckMs()
  for (const r of rows) {
    r.measuredAt = measuredAt
    r.environment = `${env}; at end: load average ${endLoad}, CPU check ${endCheck} ms (other processes share the machine; the CPU check times a fixed brotli and sha256 workload, bench/cpuCheck.ts: a larger figure is a slower machine)`
  }
  rows.sort((a, b) => a.scenario - b.scenario)
  printTable(rows)
  const dir = path.join(ROOT, 'bench', 'results')
  const files = writeResults(dir, rows)
  say(`wrote ${files.length} result files to ${path.relative(ROOT, dir)}/`)
  if (!args.includes('--no-render')) {
    const out = path.join(ROOT, 'docs', 'benchmarks.md')
    renderFile(dir, out)
    say(`rendered ${path.relative(ROOT, out)}`)
  }
  say(`done in ${fmt.ms(performance.now() - t0)}`)
  return rows.some((r) => r.pollen === null) ? 1 : 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error(err)
    killAll()
    process.exitCode = 1
  },
)
