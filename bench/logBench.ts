/**
 * Part A (issue 2): the operation log of one daemon. For a log of N operations built by
 * `resource import` (each generated resource is 4 operations: the language-neutral layer
 * and three languages), measures the batched append rate, the single-operation append
 * rate (`resource put` through the control API, sequential, one keep-alive connection),
 * `rebuild`, start-to-ready with that log, and the daemon's peak and idle RSS.
 */
import { performance } from 'node:perf_hooks'
import { BATCH, texts } from './data.js'
import { generateResource } from './dataset.js'
import { PollenDaemon } from './pollenPeer.js'

/** Seed of the main dataset (shared with the sync scenarios). */
export const SEED = 1
/** Operations per generated resource (neutral layer + en, fr, es). */
export const OPS_PER_RESOURCE = 4

export interface LogBenchResult {
  ops: number
  resources: number
  importMs: number
  importRequests: number
  /** Daemon CPU seconds (utime + stime, all threads) during the import. */
  importCpuSec: number
  /** Operations per daemon CPU second during the import (less sensitive to other load). */
  opsPerCpuSec: number
  /** Daemon CPU seconds during rebuild. */
  rebuildCpuSec: number
  batchedOpsPerSec: number
  resourcesPerSec: number
  puts: number
  putMs: number
  putsPerSec: number
  putOpsPerSec: number
  rebuildMs: number
  rebuildOps: number
  startToReadyMs: number
  /** Start-to-ready of the same daemon with an empty log, for comparison. */
  emptyStartToReadyMs: number
  /** VmHWM during the import (reset after the first start). */
  importPeakRssBytes: number | null
  /** VmHWM during rebuild (reset before it). */
  rebuildPeakRssBytes: number | null
  /** VmRSS 1.5 s after a restart with the full log. */
  idleRssBytes: number | null
  /** VmHWM from the restart until idle. */
  startPeakRssBytes: number | null
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Builds a log of `resources` imported resources on a fresh daemon and measures it. The
 * daemon is left running with that log when `keep` is true (the caller destroys it).
 */
export async function runLogBench(resources: number, opts: { puts: number; keep?: boolean; onProgress?: (msg: string) => void }): Promise<{ result: LogBenchResult; daemon: PollenDaemon }> {
  const say = opts.onProgress ?? (() => undefined)
  const d = PollenDaemon.create({ name: 'log' })
  try {
    const emptyStartToReadyMs = await d.start()
    d.resetPeak()
    const cpu0 = d.cpu() ?? 0
    let importMs = 0
    let importRequests = 0
    let done = 0
    for await (const text of texts(SEED, resources)) {
      // Only the request is timed: the text is read from the bench's cache beforehand.
      const t0 = performance.now()
      const r = await d.importText(text)
      importMs += performance.now() - t0
      importRequests++
      done += r.created + r.updated + r.unchanged
      if (importRequests % 10 === 0) say(`  imported ${done.toLocaleString('en-US')} of ${resources.toLocaleString('en-US')} resources`)
    }
    const importPeakRssBytes = d.peakRss()
    const importCpuSec = (d.cpu() ?? 0) - cpu0
    const ops = (await d.status()).counter

    // Single-operation appends: `resource put` of new resources, one request at a time.
    const putDocs = Array.from({ length: opts.puts }, (_, i) => JSON.stringify(generateResource(i, SEED + 1000)))
    const t1 = performance.now()
    for (const doc of putDocs) {
      const r = await d.request('POST', '/v1/resources', doc)
      if (r.status !== 200) throw new Error(`resource put answered ${r.status}: ${r.text}`)
    }
    const putMs = performance.now() - t1
    const putOps = (await d.status()).counter - ops

    d.resetPeak()
    const cpu1 = d.cpu() ?? 0
    const rb = await d.rebuild()
    const rebuildCpuSec = (d.cpu() ?? 0) - cpu1
    const rebuildPeakRssBytes = d.peakRss()

    await d.stop()
    const startToReadyMs = await d.start()
    await sleep(1500)
    const idleRssBytes = d.rss()
    const startPeakRssBytes = d.peakRss()

    const result: LogBenchResult = {
      ops,
      resources,
      importMs,
      importRequests,
      importCpuSec,
      opsPerCpuSec: ops / importCpuSec,
      rebuildCpuSec,
      batchedOpsPerSec: (ops / importMs) * 1000,
      resourcesPerSec: (resources / importMs) * 1000,
      puts: opts.puts,
      putMs,
      putsPerSec: (opts.puts / putMs) * 1000,
      putOpsPerSec: (putOps / putMs) * 1000,
      rebuildMs: rb.wallMs,
      rebuildOps: rb.ops,
      startToReadyMs,
      emptyStartToReadyMs,
      importPeakRssBytes,
      rebuildPeakRssBytes,
      idleRssBytes,
      startPeakRssBytes,
    }
    if (!opts.keep) await d.destroy()
    return { result, daemon: d }
  } catch (err) {
    await d.destroy()
    throw err
  }
}

/** Import requests a log of `resources` takes (for progress messages). */
export function importRequests(resources: number): number {
  return Math.ceil(resources / BATCH)
}
