/**
 * Smoke run of the reference peer: PouchDB pulls 1,000 generated resources through a
 * 1 Mbit/s, 200 ms RTT emulated link, then re-syncs with nothing new, then syncs 50
 * changed resources. Prints one row per run and the physical limit of the first.
 *
 *   node dist/bench/pouchSmoke.js [count] [rateBps] [rttMs]
 */
import { generateResources, mutateResources } from './dataset.js'
import { symmetricLink } from './link.js'
import { physicalLimit } from './limit.js'
import { runPouchScenarios, type PouchRunResult } from './pouch.js'

const count = Number(process.argv[2] ?? 1000)
const rateBps = Number(process.argv[3] ?? 1_000_000)
const rttMs = Number(process.argv[4] ?? 200)

function row(name: string, r: PouchRunResult): string {
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`
  const rss = r.serverPeakRssBytes === null ? 'n/a' : `${(r.serverPeakRssBytes / 2 ** 20).toFixed(0)} MiB`
  return `${name.padEnd(12)} ${(r.ms / 1000).toFixed(2).padStart(8)} s  up ${kb(r.bytesUp).padStart(11)}  down ${kb(r.bytesDown).padStart(11)}  ` +
    `${String(r.requests).padStart(5)} req  ${r.connections} conn  ${r.docsWritten} docs  server peak ${rss}`
}

const resources = generateResources(count, 1)
const changes = mutateResources(resources, Math.min(50, count), 2)
const link = symmetricLink(rateBps, rttMs)
console.log(`PouchDB ${count} resources over ${rateBps / 1e6} Mbit/s, ${rttMs} ms RTT`)
const limit = await physicalLimit(resources, { rateBps, rttMs })
const res = await runPouchScenarios(resources, { link, changes })
console.log(row('initial', res.initial))
console.log(row('nothing new', res.nothingNew))
if (res.changed) console.log(row(`${changes.length} changed`, res.changed))
console.log(`limit        ${(limit.ms / 1000).toFixed(2).padStart(8)} s  (brotli-11 ${(limit.bytes / 1024).toFixed(1)} KiB)` +
  `  → PouchDB is ${(res.initial.ms / limit.ms).toFixed(1)}× the limit`)
console.log('initial requests by endpoint:', JSON.stringify(res.initial.byEndpoint))
