/**
 * Result rows of the sync scenarios (1–8) from the measurements of `scenarios.ts`, with
 * each target either as machine checks (rendered by `render.ts`) or as the runner's
 * verdict where the target compares two runs of pollen.
 */
import type { PhysicalLimit } from './limit.js'
import type { RssPeaks } from './proc.js'
import { fmt, MiB, pollenSide, pouchSide } from './report.js'
import type { ScenarioResult } from './resultTypes.js'
import { CUT_BYTES, LINK1, LINK5, LINK8, S10_CAP_KBPS, S9_TEXT, type Capped, type CutPattern, type CutPatterns, type Cuts, type Initial, type Loopback, type Pollen34 } from './scenarios.js'
import { describeLink, type LinkShape, type PollenRun, type PouchRun } from './syncBench.js'

const total = (r: { bytesUp: number; bytesDown: number }): number => r.bytesUp + r.bytesDown

/** Scenario 9 (issue 18): a short transfer of more compressible text, judged against brotli-11 from the first byte. */
export function shortTransferRow(n: number, m: Initial, limit: PhysicalLimit): ScenarioResult {
  const row = initialRow(n, 2, LINK1, m, limit, '')
  return {
    ...row,
    scenario: 9,
    name: `short transfer, ${fmt.int(n)} resources of ${S9_TEXT} text (bench/catalogue.ts), ${describeLink(LINK1)}`,
    params: { ...row.params, 'text model': `${S9_TEXT}: shared training-catalogue phrasing, about twice as compressible as the main dataset's words` },
    target: {
      description: 'pollen ≤ 1.12× the brotli-11 bytes and ≤ 1.15× the physical limit in time (issue 18)',
      checks: [
        { metric: 'bytesRatioToLimit', max: 1.12 },
        { metric: 'ratioToLimit', max: 1.15 },
      ],
    },
  }
}

export function initialRow(n: number, num: 1 | 2, shape: LinkShape, m: Initial, limit: PhysicalLimit, scale: string): ScenarioResult {
  return {
    scenario: num,
    name: `initial sync, ${fmt.int(n)} resources, ${describeLink(shape)}`,
    params: {
      resources: n,
      operations: m.pollen.pulled,
      link: describeLink(shape),
      'pollen bytes ÷ PouchDB bytes': fmt.ratio(total(m.pollen) / total(m.pouch)),
      'PouchDB time ÷ pollen time': fmt.ratio(m.pouch.ms / m.pollen.ms),
      'pollen down bytes ÷ brotli-11 bytes': fmt.ratio(m.pollen.bytesDown / limit.bytes),
      'PouchDB bytes ÷ brotli-11 bytes': `${fmt.ratio(total(m.pouch) / limit.bytes)} (express-pouchdb gzips its responses, so even the physical limit is only that many times fewer bytes than PouchDB)`,
      ...(scale ? { scale } : {}),
    },
    pollen: pollenSide(m.pollen),
    pouch: pouchSide(m.pouch),
    limit,
    target: {
      description: 'pollen ≤ 1.15× the physical limit; ≥ 5× faster (time ≤ 0.2× PouchDB) and ≥ 3× fewer bytes than PouchDB',
      checks: [
        { metric: 'ratioToLimit', max: 1.15 },
        { metric: 'ratioToPouch', max: 0.2 },
        { metric: 'bytesRatioToPouch', max: 1 / 3 },
      ],
    },
  }
}

function median(runs: readonly PollenRun[]): PollenRun {
  return [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]
}

export function nothingNewRow(p: Pollen34, l: Loopback, scale: string): ScenarioResult {
  const m = median(p.nothingNew)
  const cpuServerMs = (p.nothingNew.reduce((s, r) => s + r.serverCpuSec, 0) / p.nothingNew.length) * 1000
  const cpuClientMs = (p.nothingNew.reduce((s, r) => s + r.clientCpuSec, 0) / p.nothingNew.length) * 1000
  const cpuClientMainMs = (p.nothingNew.reduce((s, r) => s + r.clientMainCpuSec, 0) / p.nothingNew.length) * 1000
  const w = median(p.nothingNewReused)
  const met = m.requests <= 1 && w.requests <= 1 && total(m) < 6 * 1024 && total(w) < 1536 && cpuServerMs < 50 && cpuClientMs < 50
  return {
    scenario: 3,
    name: `nothing new, ${fmt.int(p.logOps)} operations in both logs, ${describeLink(LINK1)}`,
    params: {
      'pollen log': `${fmt.int(p.logOps)} operations in both daemons (the second pulled them over loopback in ${fmt.ms(p.bulk.ms)}, ${fmt.int(p.bulk.pulled / (p.bulk.ms / 1000))} ops/s)`,
      'PouchDB database': `${fmt.int(l.pouchDocs)} documents on both sides (the scenario-6 database)`,
      'pollen runs': `${p.nothingNew.length} on a new connection (TCP and TLS 1.3 handshakes), median shown; times ${p.nothingNew.map((r) => fmt.ms(r.ms)).join(', ')}`,
      'pollen on the kept connection': `${p.nothingNewReused.length} runs, each right after one of those (daemon/peerLinks.ts): median ${fmt.ms(w.ms)} (${(w.ms / LINK1.rttMs).toFixed(2)}× the round trip), ${total(w)} B in ${w.requests} request(s), ${w.connections} new connection(s); times ${p.nothingNewReused.map((r) => fmt.ms(r.ms)).join(', ')}`,
      'pollen CPU per sync': `server ${cpuServerMs.toFixed(0)} ms, client daemon ${cpuClientMs.toFixed(0)} ms, of which ${cpuClientMainMs.toFixed(0)} ms on its main thread (mean; /proc utime+stime, 10 ms ticks; the other threads are LevelDB's compaction — after the bulk pull, the first reads set off seek compactions — libuv's pool and V8's GC helpers)`,
      'pollen bytes': `${total(m)} B in ${m.requests} request(s) on ${m.connections} connection(s); HTTP bodies ${m.bodyBytesOut} B up, ${m.bodyBytesIn} B down, the rest HTTP headers`,
      'PouchDB CPU': `server ${((l.pouchNothingNew.serverCpuSec ?? 0) * 1000).toFixed(0)} ms, client ${(l.pouchNothingNew.clientCpuSec * 1000).toFixed(0)} ms (bench process, includes the link)`,
      ...(scale ? { scale } : {}),
    },
    pollen: pollenSide(m, { cpuServerMs, cpuClientMs, cpuClientMainMs, runs: p.nothingNew.map((r) => r.ms), bulk: p.bulk }),
    pouch: pouchSide(l.pouchNothingNew, { docs: l.pouchDocs }),
    limit: { ms: LINK1.rttMs, bytes: 0 },
    target: { description: 'one request; under 6 KB on the wire on a new connection (TLS handshake included) and under 1.5 KB on a kept one (issue 16); under 50 ms CPU per side', met },
  }
}

export function changedRow(p: Pollen34, l: Loopback, limit: PhysicalLimit, n: number, scale: string): ScenarioResult {
  const ratio = p.changed.ms / p.changedSmall.ms
  const pouchRatio = l.pouchChanged.ms / l.pouchChangedSmall.ms
  return {
    scenario: 4,
    name: `${n} changed resources on top of a ${fmt.int(p.logOps)}-operation log, ${describeLink(LINK1)}`,
    params: {
      'changed operations': p.changedOps,
      'pollen, same changes into a log holding only those resources': `${fmt.ms(p.changedSmall.ms)}, ${fmt.bytes(total(p.changedSmall))}, ${p.changedSmall.requests} request(s)`,
      'pollen big-log ÷ small-log time': fmt.ratio(ratio),
      'pollen big-log ÷ small-log bytes': fmt.ratio(total(p.changed) / total(p.changedSmall)),
      'PouchDB base': `${fmt.int(l.pouchDocs)} documents; the same changes on a ${n}-document database: ${fmt.ms(l.pouchChangedSmall.ms)} (ratio ${fmt.ratio(pouchRatio)})`,
      ...(scale ? { scale } : {}),
    },
    pollen: pollenSide(p.changed, { small: p.changedSmall, ratioToSmall: ratio }),
    pouch: pouchSide(l.pouchChanged, { small: l.pouchChangedSmall, ratioToSmall: pouchRatio }),
    limit,
    target: { description: 'pollen within 1.2× of the same changes into an (otherwise) empty log: cost grows with the change, not with the log', met: ratio <= 1.2 },
  }
}

export function cutRow(n: number, c: Cuts, limit: PhysicalLimit, scale: string): ScenarioResult {
  const ratio = total(c.pollenCut) / total(c.pollenClean)
  const pouchRatio = total(c.pouchCut) / total(c.pouchClean)
  return {
    scenario: 5,
    name: `link cut every ${CUT_BYTES / 1024} KiB, ${fmt.int(n)} resources, ${describeLink(LINK5)}`,
    params: {
      'pollen clean transfer': `${fmt.bytes(total(c.pollenClean))} in ${fmt.ms(c.pollenClean.ms)}`,
      'pollen cut ÷ clean bytes': fmt.ratio(ratio),
      'pollen attempts': `${c.pollenCut.attempts} syncs (${c.pollenCut.resumed} reported resuming), ${c.pollenCut.cuts} cuts, ${c.pollenCut.requests} requests`,
      'PouchDB clean transfer': `${fmt.bytes(total(c.pouchClean))} in ${fmt.ms(c.pouchClean.ms)}`,
      'PouchDB cut ÷ clean bytes': fmt.ratio(pouchRatio),
      'PouchDB attempts': `${c.pouchCut.attempts} replications, ${c.pouchCut.cuts} cuts, ${c.pouchCut.requests} requests${c.pouchCut.stalls ? `, ${c.pouchCut.stalls} abandoned after hanging with no byte moving for 30 s (those waits are left out of its time)` : ''}`,
      ...(scale ? { scale } : {}),
    },
    pollen: pollenSide(c.pollenCut, { clean: c.pollenClean, cutRatio: ratio }),
    pouch: pouchSide(c.pouchCut, { clean: c.pouchClean, cutRatio: pouchRatio }),
    limit,
    target: { description: 'pollen total bytes with cuts within 1.3× of one clean transfer', met: ratio <= 1.3 },
  }
}

export function loopbackRow(n: number, l: Loopback, scale: string): ScenarioResult {
  const opsPerSec = l.pollenOps / (l.pollen.ms / 1000)
  const pouchDocsPerSec = l.pouchDocs / (l.pouch.ms / 1000)
  return {
    scenario: 6,
    name: `loopback without limits, ${fmt.int(n)} resources`,
    params: {
      'pollen': `${fmt.int(opsPerSec)} operations/s (${fmt.int(l.pollenOps)} operations = ${fmt.int(l.pollenOps / 4)} resources, ${fmt.int(l.pollenOps / 4 / (l.pollen.ms / 1000))} resources/s)`,
      'PouchDB': `${fmt.int(pouchDocsPerSec)} documents/s (${fmt.int(l.pouchDocs)} documents; one document = one resource = 4 pollen operations)`,
      ...(scale ? { scale } : {}),
    },
    pollen: pollenSide(l.pollen, { opsPerSec }),
    pouch: pouchSide(l.pouch, { docsPerSec: pouchDocsPerSec }),
    limit: null,
    target: { description: 'at least 30,000 operations per second end to end', met: opsPerSec >= 30_000 },
  }
}

export function resourcesRow(n: number, l: Loopback, scale: string): ScenarioResult {
  const p = l.pollen
  const peak = Math.max(p.serverPeakRssBytes ?? 0, p.clientPeakRssBytes ?? 0) || null
  const perK = (sec: number | null, ops: number) => (sec === null ? '—' : `${((sec / ops) * 1000).toFixed(3)} CPU s`)
  const pouchOps = l.pouchDocs * 4
  const met = p.serverPeakRssBytes !== null && p.clientPeakRssBytes !== null && p.serverPeakRssBytes < 150 * MiB && p.clientPeakRssBytes < 150 * MiB
  return {
    scenario: 7,
    name: `memory and CPU during scenario 6 (${fmt.int(n)} resources over loopback)`,
    params: {
      'pollen peak RSS': `server ${fmt.bytes(p.serverPeakRssBytes)}, client ${fmt.bytes(p.clientPeakRssBytes)} (VmHWM reset before the sync)`,
      'pollen RSS by kind': `server ${rssKinds(p.serverRss)}; client ${rssKinds(p.clientRss)} (/proc/PID/status sampled every 100 ms; file-backed pages are the node binary and LevelDB's mmapped tables, clean and reclaimable, but counted in RSS and in the target)`,
      'pollen CPU per 1,000 operations': `server ${perK(p.serverCpuSec, l.pollenOps)}, client ${perK(p.clientCpuSec, l.pollenOps)} (${p.serverCpuSec.toFixed(1)} s and ${p.clientCpuSec.toFixed(1)} s in all)`,
      'PouchDB peak RSS': `server ${fmt.bytes(l.pouch.serverPeakRssBytes)} (the client runs inside the bench process)`,
      'PouchDB CPU per 1,000 operations (1 document = 4 operations)': `server ${perK(l.pouch.serverCpuSec, pouchOps)}, client ${perK(l.pouch.clientCpuSec, pouchOps)} (bench process, includes the link)`,
      ...(scale ? { scale } : {}),
    },
    pollen: pollenSide(p, {}, peak),
    pouch: pouchSide(l.pouch),
    limit: null,
    target: { description: 'peak RSS under 150 MiB per pollen daemon', met },
  }
}

function rssKinds(r: RssPeaks | null | undefined): string {
  if (!r) return '—'
  return `at peak ${fmt.bytes(r.atPeak.rss)} = anonymous ${fmt.bytes(r.atPeak.anon)} + file-backed ${fmt.bytes(r.atPeak.file)}; highest anonymous ${fmt.bytes(r.maxAnon)}, file-backed ${fmt.bytes(r.maxFile)}`
}

/** The limit of scenario 5's clean transfer (for reference in its row). */
export function cutLimitLink(): { rateBps: number; rttMs: number } {
  return { rateBps: LINK5.rateBps, rttMs: LINK5.rttMs }
}

/** Scenario 8, one row per cut pattern: attempts, bytes and time against pollen's own clean pull, PouchDB beside it. */
export function cutPatternRow(n: number, c: CutPatterns, p: CutPattern, limit: PhysicalLimit, scale: string): ScenarioResult {
  const bound = p.cutEvery >= 48 * 1024 ? 1.5 : 2.5
  const name = `link cut every ${p.cutEvery / 1024} KiB, ${fmt.int(n)} resources, ${describeLink(LINK8)}`
  const pouchClean = c.pouchClean instanceof Error ? null : c.pouchClean
  const pouchLine = (r: PouchRun | Error): string =>
    r instanceof Error ? `did not finish: ${r.message.slice(0, 160)}` : `${r.attempts} replications, ${r.cuts} cuts; bytes ÷ clean ${pouchClean ? fmt.ratio(total(r) / total(pouchClean)) : '—'}, time ÷ clean ${pouchClean ? fmt.ratio(r.ms / pouchClean.ms) : '—'}`
  if (p.pollen instanceof Error) {
    return { scenario: 8, name, params: { error: p.pollen.message.slice(0, 300), PouchDB: pouchLine(p.pouch) }, pollen: null, pouch: p.pouch instanceof Error ? null : pouchSide(p.pouch), limit, target: { description: `pollen finishes within ${bound}× the bytes of a clean pull`, met: false } }
  }
  const r = p.pollen
  const bytesRatio = total(r) / total(c.pollenClean)
  return {
    scenario: 8,
    name,
    params: {
      'pollen clean pull': `${fmt.bytes(total(c.pollenClean))} in ${fmt.ms(c.pollenClean.ms)}`,
      'pollen attempts': `${r.attempts} (resumed by one pollen sync run each time the link cut; the link cut ${r.cuts} connections)`,
      'pollen bytes ÷ clean': fmt.ratio(bytesRatio),
      'pollen time ÷ clean': fmt.ratio(r.ms / c.pollenClean.ms),
      'PouchDB clean': pouchClean ? `${fmt.bytes(total(pouchClean))} in ${fmt.ms(pouchClean.ms)}` : `did not finish: ${(c.pouchClean as Error).message.slice(0, 160)}`,
      PouchDB: pouchLine(p.pouch),
      ...(scale ? { scale } : {}),
    },
    pollen: pollenSide(r, { clean: c.pollenClean, bytesRatio, timeRatio: r.ms / c.pollenClean.ms }),
    pouch: p.pouch instanceof Error ? null : pouchSide(p.pouch),
    limit,
    target: { description: `pollen finishes within ${bound}× the bytes of a clean pull (issue 18)`, met: bytesRatio <= bound },
  }
}

/**
 * Scenario 10 (issue 18): a capped peer. The limit is the cap itself: the pull's own bytes at
 * the capped rate, so "× limit" is how far below its cap the pull ran, start-up included.
 */
export function cappedRow(n: number, m: Capped): ScenarioResult {
  const capBps = S10_CAP_KBPS * 1000
  const rate = (m.pollen.bytesDown * 8) / (m.pollen.ms / 1000)
  return {
    scenario: 10,
    name: `a peer capped at ${S10_CAP_KBPS} kbit/s (--max-kbps), ${fmt.int(n)} resources, over an unlimited link`,
    params: {
      resources: n,
      operations: m.pollen.pulled,
      cap: `${S10_CAP_KBPS} kbit/s`,
      'rate over the whole pull': `${fmt.int(Math.round(rate / 1000))} kbit/s = ${fmt.ratio(rate / capBps)} the cap`,
      'rate from 10% to 90% of its bytes': `${fmt.int(Math.round(m.midRateBps / 1000))} kbit/s = ${fmt.ratio(m.midRateBps / capBps)} the cap`,
    },
    pollen: pollenSide(m.pollen, { midRateBps: m.midRateBps }),
    pouch: null,
    limit: { bytes: m.pollen.bytesDown, ms: (m.pollen.bytesDown * 8 * 1000) / capBps },
    target: {
      description: 'the capped pull runs within 10% of its cap: its time ≤ 1.11× its bytes at the cap, start-up included (issue 18); never above the cap (test/daemon/rateCap.test.ts)',
      checks: [{ metric: 'ratioToLimit', max: 1.11 }],
    },
  }
}
