/**
 * Turns measurements into result rows (`resultTypes.ts`), decides each target, prints
 * the side-by-side table, and writes `bench/results/*.json`.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { LogBenchResult } from './logBench.js'
import { metricValue, targetMet } from './render.js'
import type { ScenarioResult, SideResult } from './resultTypes.js'
import type { PollenRun, PouchRun } from './syncBench.js'

export const MiB = 1024 * 1024

export const fmt = {
  ms(ms: number): string {
    return ms < 1000 ? `${ms.toFixed(0)} ms` : ms < 100_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(0)} s`
  },
  bytes(n: number | null | undefined): string {
    if (n === null || n === undefined) return '—'
    return n < 1024 ? `${n} B` : n < MiB ? `${(n / 1024).toFixed(1)} KiB` : `${(n / MiB).toFixed(2)} MiB`
  },
  ratio(x: number | null): string {
    return x === null || !Number.isFinite(x) ? '—' : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`
  },
  int(n: number): string {
    return Math.round(n).toLocaleString('en-US')
  },
}

/** pollen's side of a result row. */
export function pollenSide(r: PollenRun, extra: Record<string, unknown> = {}, peak: number | null = null): SideResult {
  const { ms, bytesUp, bytesDown, requests, ...rest } = r
  return { ms, bytesUp, bytesDown, requests, peakRssBytes: peak, extra: { ...rest, ...extra } }
}

/** PouchDB's side of a result row. */
export function pouchSide(r: PouchRun, extra: Record<string, unknown> = {}): SideResult {
  const { ms, bytesUp, bytesDown, requests, serverPeakRssBytes, ...rest } = r
  return { ms, bytesUp, bytesDown, requests, peakRssBytes: serverPeakRssBytes, extra: { ...rest, ...extra } }
}

/** Part A rows: one per log size, as scenario 0. */
export function logRow(r: LogBenchResult, big: boolean): ScenarioResult {
  const rebuildOk = r.rebuildMs <= 30_000
  const startOk = r.startToReadyMs <= 1000
  const idleOk = r.idleRssBytes !== null && r.idleRssBytes <= 80 * MiB
  const appendOk = r.batchedOpsPerSec >= 50_000
  const peak = Math.max(r.importPeakRssBytes ?? 0, r.rebuildPeakRssBytes ?? 0, r.startPeakRssBytes ?? 0) || null
  return {
    scenario: 0,
    name: `the log: ${fmt.int(r.ops)} operations (issue 2)`,
    params: {
      operations: r.ops,
      resources: r.resources,
      'batched append (resource import)': `${fmt.int(r.batchedOpsPerSec)} ops/s, ${fmt.int(r.resourcesPerSec)} resources/s${appendOk ? '' : ' (target ≥ 50,000 ops/s: not met)'}; daemon CPU ${r.importCpuSec.toFixed(1)} s = ${fmt.int(r.opsPerCpuSec)} ops per CPU second`,
      'single-operation append': `${fmt.int(r.putOpsPerSec)} ops/s (${fmt.int(r.putsPerSec)} resource puts/s, ${r.puts} sequential POST /v1/resources over one keep-alive control connection)`,
      rebuild: `${fmt.ms(r.rebuildMs)} for ${fmt.int(r.rebuildOps)} operations (daemon CPU ${r.rebuildCpuSec.toFixed(1)} s)${rebuildOk ? '' : ' (target ≤ 30 s: not met)'}`,
      'start-to-ready': `${fmt.ms(r.startToReadyMs)} (empty log: ${fmt.ms(r.emptyStartToReadyMs)})${startOk ? '' : ' (target ≤ 1 s: not met)'}`,
      'idle RSS': `${fmt.bytes(r.idleRssBytes)}${idleOk ? '' : ' (target ≤ 80 MiB: not met)'}`,
      'peak RSS': `import ${fmt.bytes(r.importPeakRssBytes)}, rebuild ${fmt.bytes(r.rebuildPeakRssBytes)}, start ${fmt.bytes(r.startPeakRssBytes)}`,
    },
    pollen: { ms: r.importMs, bytesUp: 0, bytesDown: 0, requests: r.importRequests, peakRssBytes: peak, extra: { ...r } },
    pouch: null,
    limit: null,
    target: {
      description: `batched append ≥ 50,000 ops/s; ${big ? 'rebuild of 1M ops ≤ 30 s; start-to-ready ≤ 1 s with a 1M-op log' : 'rebuild ≤ 30 s; start-to-ready ≤ 1 s'}; idle RSS ≤ 80 MiB (time = the import)`,
      met: appendOk && rebuildOk && startOk && idleOk,
    },
  }
}

/** Writes one result file per row (names from scenario number and name) after clearing old ones. */
export function writeResults(dir: string, rows: readonly ScenarioResult[]): string[] {
  fs.mkdirSync(dir, { recursive: true })
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.json')) fs.rmSync(path.join(dir, f))
  const files: string[] = []
  rows.forEach((r, i) => {
    const slug = r.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60)
    const file = path.join(dir, `s${r.scenario}-${String(i).padStart(2, '0')}-${slug}.json`)
    fs.writeFileSync(file, JSON.stringify(r, null, 2) + '\n')
    files.push(file)
  })
  return files
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n)
}

function sideLine(label: string, s: SideResult, r: ScenarioResult): string {
  const lim = r.limit && r.limit.ms > 0 ? s.ms / r.limit.ms : null
  const vsPouch = r.pouch && r.pouch !== s ? s.ms / r.pouch.ms : null
  const bytesVsPouch = r.pouch && r.pouch !== s ? (s.bytesUp + s.bytesDown) / (r.pouch.bytesUp + r.pouch.bytesDown) : null
  return `  ${pad(label, 8)} ${pad(fmt.ms(s.ms), 9, true)} ${pad(fmt.bytes(s.bytesUp), 11, true)} ${pad(fmt.bytes(s.bytesDown), 11, true)} ${pad(String(s.requests), 6, true)} ${pad(fmt.bytes(s.peakRssBytes), 11, true)} ${pad(fmt.ratio(lim), 7, true)} ${pad(fmt.ratio(vsPouch), 7, true)} ${pad(fmt.ratio(bytesVsPouch), 8, true)}`
}

/** The printed table of every row. */
export function printTable(rows: readonly ScenarioResult[], out: (s: string) => void = console.log): void {
  out('')
  out(`  ${pad('', 8)} ${pad('time', 9, true)} ${pad('bytes up', 11, true)} ${pad('bytes down', 11, true)} ${pad('req', 6, true)} ${pad('peak RSS', 11, true)} ${pad('×limit', 7, true)} ${pad('×Pouch', 7, true)} ${pad('B×Pouch', 8, true)}`)
  for (const r of rows) {
    out('')
    out(`${r.scenario}. ${r.name}`)
    if (r.pollen) out(sideLine('pollen', r.pollen, r))
    if (r.pouch) out(sideLine('PouchDB', r.pouch, r))
    if (r.limit) out(`  ${pad('limit', 8)} ${pad(fmt.ms(r.limit.ms), 9, true)} ${pad('', 11, true)} ${pad(fmt.bytes(r.limit.bytes), 11, true)} ${pad('1', 6, true)}`)
    for (const [k, v] of Object.entries(r.params)) out(`    ${k}: ${v}`)
    const met = targetMet(r)
    out(`  target: ${r.target.description} → ${met === null ? 'n/a' : met ? 'MET' : 'NOT MET'}`)
  }
  out('')
  out('Summary')
  for (const r of rows) {
    const met = targetMet(r)
    const lim = metricValue(r, 'ratioToLimit')
    const vs = metricValue(r, 'ratioToPouch')
    out(`  ${r.scenario}. ${pad(r.name.slice(0, 70), 70)} ${pad(fmt.ratio(lim), 7, true)} ${pad(fmt.ratio(vs), 7, true)}  ${met === null ? 'n/a' : met ? 'met' : 'NOT met'}`)
  }
}
