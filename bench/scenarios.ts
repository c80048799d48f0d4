/**
 * The sync scenarios of issue 4, measured on both systems with the same data: each
 * function runs one or more scenarios and returns raw measurements (`report.ts` turns
 * them into result rows and verdicts). Processes are stopped on success and on error.
 */
import { performance } from 'node:perf_hooks'
import { allResources, BATCH, resources as resourceBatches, texts } from './data.js'
import { mutateResources, type Resource, type TextModel } from './dataset.js'
import { SEED } from './logBench.js'
import { PollenDaemon } from './pollenPeer.js'
import { PouchBench } from './pouch.js'
import { describeLink, linkOptions, PollenPair, pouchReplicate, UNLIMITED, type LinkShape, type PollenRun, type PouchRun } from './syncBench.js'

/** Scenario sizes (the quick run scales them down). */
export interface Sizes {
  /** Part A: resources per log size (4 operations each). */
  logResources: number[]
  puts: number
  s1: number
  s2: number
  s5: number
  s6: number
  changes: number
  /** Which Part A log (index into logResources) scenarios 3 and 4 run on. */
  s3Log: number
}

export const FULL: Sizes = { logResources: [25_000, 250_000], puts: 2000, s1: 10_000, s2: 2_000, s5: 2_000, s6: 100_000, changes: 100, s3Log: 1 }
export const QUICK: Sizes = { logResources: [5_000, 25_000], puts: 500, s1: 500, s2: 100, s5: 1_000, s6: 5_000, changes: 100, s3Log: 0 }

export const LINK1: LinkShape = { rateBps: 1e6, rttMs: 200 }
export const LINK2: LinkShape = { rateBps: 256e3, rttMs: 600 }
/** Scenario 5: a faster link (the metric is bytes, not time), cut every 256 KiB. */
export const LINK5: LinkShape = { rateBps: 10e6, rttMs: 100 }
export const CUT_BYTES = 256 * 1024

type Say = (msg: string) => void

/** Imports resources `from … count-1` of the main dataset (or its `text` model) into a daemon. */
export async function importInto(d: PollenDaemon, count: number, from = 0, text: TextModel = 'words'): Promise<number> {
  const t0 = performance.now()
  for await (const json of texts(SEED, count, from, text)) await d.importText(json)
  return performance.now() - t0
}

/** The `n` changed resources of scenario 4 and their originals (all among the first 2,000). */
export async function changeSet(n: number): Promise<{ originals: Resource[]; changes: Resource[] }> {
  const base = await allResources(SEED, 2000)
  const changes = mutateResources(base, n, 7)
  const ids = new Set(changes.map((c) => c.id))
  return { originals: base.filter((r) => ids.has(r.id)), changes }
}

/** Scenarios 3 and 4 on pollen, with daemon `a` holding the big log. */
export interface Pollen34 {
  bulk: PollenRun
  /** Nothing-new syncs, repeated (time: median; CPU: mean). */
  /** Each on a new connection. */
  nothingNew: PollenRun[]
  /** Each right after one of `nothingNew`, on the connection it left open. */
  nothingNewReused: PollenRun[]
  logOps: number
  changed: PollenRun
  changedSmall: PollenRun
  changedOps: number
}

export async function pollenScenarios34(a: PollenDaemon, changes: { originals: Resource[]; changes: Resource[] }, say: Say, repeats = 10): Promise<Pollen34> {
  const logOps = (await a.status()).counter
  const pair = await PollenPair.create(a, UNLIMITED, { clientName: 'big-client' })
  let small: PollenPair | undefined
  try {
    say(`  s3 pollen: second daemon pulls the ${logOps.toLocaleString('en-US')}-operation log over unlimited loopback`)
    const bulk = await pair.sync()
    say(`    pulled ${bulk.pulled.toLocaleString('en-US')} operations in ${(bulk.ms / 1000).toFixed(1)} s (${Math.round(bulk.pulled / (bulk.ms / 1000))} ops/s)`)
    pair.reshape(LINK1)
    const settledMs = await pair.settle()
    say(`    waited ${(settledMs / 1000).toFixed(1)} s for both daemons to go idle (LevelDB compaction after the bulk pull)`)
    // Alternately on a new connection (as a sync every few minutes is: the kept connection has
    // closed by then) and on the connection kept from the sync just before (daemon/peerLinks.ts).
    const nothingNew: PollenRun[] = []
    const nothingNewReused: PollenRun[] = []
    for (let i = 0; i < repeats; i++) {
      pair.dropConnections()
      nothingNew.push(await pair.sync())
      nothingNewReused.push(await pair.sync())
    }
    say(`  s4 pollen: ${changes.changes.length} changed resources on top of the big log (${describeLink(LINK1)})`)
    const before = (await a.status()).counter
    await a.importText(JSON.stringify(changes.changes))
    const changedOps = (await a.status()).counter - before
    pair.dropConnections()
    const changed = await pair.sync()
    say(`  s4 pollen: the same ${changes.changes.length} changes on top of a log holding only those ${changes.originals.length} resources`)
    const src = PollenDaemon.create({ name: 'small-src' })
    await src.start()
    small = await PollenPair.create(src, UNLIMITED, { clientName: 'small-client', ownsServer: true })
    await src.importText(JSON.stringify(changes.originals))
    await small.sync()
    small.reshape(LINK1)
    await src.importText(JSON.stringify(changes.changes))
    const changedSmall = await small.sync()
    return { bulk, nothingNew, nothingNewReused, logOps, changed, changedSmall, changedOps }
  } finally {
    await pair.destroy()
    await small?.destroy()
  }
}

/** One initial sync of `n` resources over `shape` on both systems. */
export interface Initial {
  pollen: PollenRun
  pouch: PouchRun
  importMs: number
}

/**
 * Scenario 1 or 2. The pollen source daemon is returned running (scenarios 5 and 6 reuse it)
 * when `keepSource` is true.
 */
export async function initialSync(n: number, shape: LinkShape, say: Say, keepSource: boolean, text: TextModel = 'words'): Promise<Initial & { source: PollenDaemon | null }> {
  const source = PollenDaemon.create({ name: `src${n}${text === 'words' ? '' : text}` })
  let pair: PollenPair | undefined
  try {
    await source.start()
    const importMs = await importInto(source, n, 0, text)
    pair = await PollenPair.create(source, shape, { clientName: `init${n}${text === 'words' ? '' : text}-client` })
    say(`  pollen: ${n.toLocaleString('en-US')} resources (${text} text) over ${describeLink(shape)}`)
    const pollen = await pair.sync()
    await pair.destroy()
    pair = undefined
    say(`  PouchDB: ${n.toLocaleString('en-US')} documents (${text} text) over ${describeLink(shape)}`)
    const pouch = await pouchInitial(n, shape, undefined, text)
    if (!keepSource) await source.destroy()
    return { pollen, pouch, importMs, source: keepSource ? source : null }
  } catch (err) {
    await pair?.destroy()
    await source.destroy()
    throw err
  }
}

async function pouchLoad(bench: PouchBench, n: number, text: TextModel = 'words'): Promise<void> {
  for await (const batch of resourceBatches(SEED, n, text)) await bench.load(batch)
}

async function pouchInitial(n: number, shape: LinkShape, maxAttempts = 2000, text: TextModel = 'words'): Promise<PouchRun> {
  const bench = await PouchBench.start({ link: linkOptions(shape), maxAttempts })
  try {
    await pouchLoad(bench, n, text)
    return await pouchReplicate(bench)
  } finally {
    await bench.stop()
  }
}

/** Scenario 9 (issue 18): a short transfer of text that compresses better than the main dataset's. */
export const S9_RESOURCES = 2000
export const S9_TEXT: TextModel = 'catalogue'

/** Scenario 9: an initial sync of {@link S9_RESOURCES} catalogue-text resources over {@link LINK1}. */
export function shortTransfer(say: Say): Promise<Initial & { source: PollenDaemon | null }> {
  return initialSync(S9_RESOURCES, LINK1, say, false, S9_TEXT)
}

/** Scenario 5: a clean transfer and one over a link cut every {@link CUT_BYTES}. */
export interface Cuts {
  pollenClean: PollenRun
  pollenCut: PollenRun
  pouchClean: PouchRun
  pouchCut: PouchRun
}

export async function cutScenario(n: number, say: Say): Promise<Cuts> {
  const source = PollenDaemon.create({ name: 'cut-src' })
  let pollenClean: PollenRun
  let pollenCut: PollenRun
  try {
    await source.start()
    await importInto(source, n)
    say(`  pollen: ${n.toLocaleString('en-US')} resources, clean then cut every ${CUT_BYTES / 1024} KiB (${describeLink(LINK5)})`)
    const clean = await PollenPair.create(source, LINK5, { clientName: 'clean-client' })
    pollenClean = await clean.sync().finally(() => clean.destroy())
    const cut = await PollenPair.create(source, { ...LINK5, cutEveryBytes: CUT_BYTES }, { clientName: 'cut-client' })
    pollenCut = await cut.sync({ maxAttempts: 5000 }).finally(() => cut.destroy())
  } finally {
    await source.destroy()
  }
  say(`  PouchDB: the same, clean then cut`)
  const pouchClean = await pouchInitial(n, LINK5)
  const pouchCut = await pouchInitial(n, { ...LINK5, cutEveryBytes: CUT_BYTES })
  return { pollenClean, pollenCut, pouchClean, pouchCut }
}

/** Scenarios 6 and 7, and PouchDB's side of scenarios 3 and 4 on the scenario-6 database. */
export interface Loopback {
  pollen: PollenRun
  pollenOps: number
  pouch: PouchRun
  pouchDocs: number
  pouchNothingNew: PouchRun
  pouchChanged: PouchRun
  pouchChangedSmall: PouchRun
}

export async function loopbackScenario(source: PollenDaemon, have: number, n: number, changes: { originals: Resource[]; changes: Resource[] }, say: Say): Promise<Loopback> {
  say(`  pollen: source imports up to ${n.toLocaleString('en-US')} resources`)
  // Whole batches only; resources it holds already come back "unchanged".
  await importInto(source, n, Math.floor(have / BATCH) * BATCH)
  const pair = await PollenPair.create(source, UNLIMITED, { clientName: 'loop-client' })
  say(`  pollen: ${n.toLocaleString('en-US')} resources over unlimited loopback`)
  const pollen = await pair.sync({ measurePeak: true }).finally(() => pair.destroy())
  say(`  PouchDB: loading ${n.toLocaleString('en-US')} documents, then replicating over unlimited loopback`)
  const bench = await PouchBench.start({ link: linkOptions(UNLIMITED) })
  try {
    await pouchLoad(bench, n)
    const pouchDocs = await bench.serverDocCount()
    const pouch = await pouchReplicate(bench)
    say(`  PouchDB: nothing new, then ${changes.changes.length} changes, on ${pouchDocs.toLocaleString('en-US')} documents (${describeLink(LINK1)})`)
    bench.reshapeLink(linkOptions(LINK1))
    const pouchNothingNew = await pouchReplicate(bench)
    await bench.load(changes.changes)
    const pouchChanged = await pouchReplicate(bench)
    const pouchChangedSmall = await pouchSmallChange(changes)
    return { pollen, pollenOps: pollen.pulled, pouch, pouchDocs, pouchNothingNew, pouchChanged, pouchChangedSmall }
  } finally {
    await bench.stop()
  }
}

async function pouchSmallChange(changes: { originals: Resource[]; changes: Resource[] }): Promise<PouchRun> {
  const bench = await PouchBench.start({ link: linkOptions(UNLIMITED) })
  try {
    await bench.load(changes.originals)
    await bench.replicate()
    bench.reshapeLink(linkOptions(LINK1))
    await bench.load(changes.changes)
    return await pouchReplicate(bench)
  } finally {
    await bench.stop()
  }
}

/** Scenario 8 (issue 18): the field's cut patterns, on a link a school's uplink might be. */
export const LINK8: LinkShape = { rateBps: 2e6, rttMs: 40 }
export const CUT_PATTERNS = [16 * 1024, 48 * 1024, 128 * 1024]
/** PouchDB replications allowed per cut pattern before it is reported as not finishing. */
const POUCH_CUT_ATTEMPTS = 400

/** One cut pattern on both systems; a side that did not finish is its error. */
export interface CutPattern {
  cutEvery: number
  pollen: PollenRun | Error
  pouch: PouchRun | Error
}

export interface CutPatterns {
  pollenClean: PollenRun
  pouchClean: PouchRun | Error
  patterns: CutPattern[]
}

const settled = <T>(p: Promise<T>): Promise<T | Error> => p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))

/** A clean pull of `n` resources, then one per cut pattern, each by a new client (pollen), then PouchDB the same. */
export async function cutPatternScenario(n: number, say: Say): Promise<CutPatterns> {
  const source = PollenDaemon.create({ name: 'cuts-src' })
  let pollenClean: PollenRun
  const pollenCuts: (PollenRun | Error)[] = []
  try {
    await source.start()
    await importInto(source, n)
    say(`  pollen: ${fmt(n)} resources over ${describeLink(LINK8)}, clean then cut every ${CUT_PATTERNS.map((c) => `${c / 1024}`).join(', ')} KiB`)
    const clean = await PollenPair.create(source, LINK8, { clientName: 'cuts-clean' })
    pollenClean = await clean.sync().finally(() => clean.destroy())
    for (const cutEveryBytes of CUT_PATTERNS) {
      const pair = await PollenPair.create(source, { ...LINK8, cutEveryBytes }, { clientName: `cuts-${cutEveryBytes / 1024}` })
      // One `pollen sync` resumes by itself; the bench's own loop only catches a run that gives up.
      pollenCuts.push(await settled(pair.sync({ maxAttempts: 20 }).finally(() => pair.destroy())))
    }
  } finally {
    await source.destroy()
  }
  say(`  PouchDB: the same, clean then each cut pattern (at most ${POUCH_CUT_ATTEMPTS} replications each)`)
  const pouchClean = await settled(pouchInitial(n, LINK8))
  const patterns: CutPattern[] = []
  for (const [i, cutEvery] of CUT_PATTERNS.entries()) {
    patterns.push({ cutEvery, pollen: pollenCuts[i], pouch: await settled(pouchInitial(n, { ...LINK8, cutEveryBytes: cutEvery }, POUCH_CUT_ATTEMPTS)) })
  }
  return { pollenClean, pouchClean, patterns }
}

const fmt = (n: number): string => n.toLocaleString('en-US')

/** Scenario 10 (issue 18): a peer capped at {@link S10_CAP_KBPS} over a link that is not. */
export const S10_RESOURCES = 2000
export const S10_CAP_KBPS = 1000

/** What a capped pull measured: the run, and its rate between 10% and 90% of its bytes (start-up and tail left out). */
export interface Capped {
  pollen: PollenRun
  midRateBps: number
}

/**
 * Scenario 10: {@link S10_RESOURCES} resources pulled from a peer set to `--max-kbps
 * {@link S10_CAP_KBPS}`, over an unlimited link, so only the cap sets the pace. The link's
 * byte count is sampled every 50 ms.
 */
export async function cappedScenario(say: Say): Promise<Capped> {
  const source = PollenDaemon.create({ name: 'capped-src' })
  let pair: PollenPair | undefined
  try {
    await source.start()
    await importInto(source, S10_RESOURCES)
    pair = await PollenPair.create(source, UNLIMITED, { clientName: 'capped-client' })
    await pair.client.call('PATCH', '/v1/peers/src', { maxKbps: S10_CAP_KBPS })
    say(`  pollen: ${fmt(S10_RESOURCES)} resources from a peer capped at ${S10_CAP_KBPS} kbit/s, over an unlimited link`)
    const link = pair.link
    const samples: [number, number][] = []
    const timer = setInterval(() => samples.push([performance.now(), link.stats().bytesDown]), 50)
    const pollen = await pair.sync()
    clearInterval(timer)
    const at = (share: number) => samples.find(([, b]) => b >= pollen.bytesDown * share)
    const [t10, b10] = at(0.1) ?? [0, 0]
    const [t90, b90] = at(0.9) ?? [0, 0]
    return { pollen, midRateBps: t90 > t10 ? ((b90 - b10) * 8) / ((t90 - t10) / 1000) : 0 }
  } finally {
    await pair?.destroy()
    await source.destroy()
  }
}
