/**
 * What the TLS channel costs on the sync path: scenario 6's loopback pull, alternately from a
 * plain-mode source and from a TLS one holding the same resources, each into a fresh client,
 * so drift in the machine's speed falls on both sides alike. Prints each pair and the median
 * ratio. Not part of `npm run bench` (it doubles scenario 6's time).
 *
 *   node dist/bench/channelCost.js [resources=100000] [pairs=3]
 */
import { performance } from 'node:perf_hooks'
import { cpuCheckMs } from './cpuCheck.js'
import { PollenDaemon } from './pollenPeer.js'
import { installCleanup } from './proc.js'
import { importInto } from './scenarios.js'
import { PollenPair, UNLIMITED, type PollenRun } from './syncBench.js'

const n = Number(process.argv[2] ?? 100_000)
const pairs = Number(process.argv[3] ?? 3)
installCleanup()

const say = (msg: string): void => console.log(msg)
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function source(plain: boolean): Promise<PollenDaemon> {
  const d = PollenDaemon.create({ name: plain ? 'src-plain' : 'src-tls', ...(plain ? { sync: { plain: true } } : {}) })
  await d.start()
  const ms = await importInto(d, n)
  say(`${plain ? 'plain' : 'TLS  '} source: ${n.toLocaleString('en-US')} resources imported in ${(ms / 1000).toFixed(1)} s`)
  return d
}

async function pull(src: PollenDaemon, plain: boolean, i: number): Promise<PollenRun> {
  const pair = await PollenPair.create(src, UNLIMITED, { clientName: `cost-${plain ? 'plain' : 'tls'}-${i}`, plain })
  try {
    return await pair.sync()
  } finally {
    await pair.destroy()
  }
}

const t0 = performance.now()
say(`CPU check at start: ${cpuCheckMs()} ms`)
const [plainSrc, tlsSrc] = [await source(true), await source(false)]
const ratios: number[] = []
try {
  for (let i = 0; i < pairs; i++) {
    // Alternate which goes first, so a trend in the machine's speed does not favour one mode.
    const order = i % 2 === 0 ? [true, false] : [false, true]
    const runs = new Map<boolean, PollenRun>()
    for (const plain of order) runs.set(plain, await pull(plain ? plainSrc : tlsSrc, plain, i))
    const [p, s] = [runs.get(true) as PollenRun, runs.get(false) as PollenRun]
    const ratio = s.ms / p.ms
    ratios.push(ratio)
    const cpu = (r: PollenRun) => `server ${r.serverCpuSec.toFixed(1)} s, client ${r.clientCpuSec.toFixed(1)} s CPU`
    say(`pair ${i + 1}: plain ${(p.ms / 1000).toFixed(2)} s (${cpu(p)}), TLS ${(s.ms / 1000).toFixed(2)} s (${cpu(s)}): TLS ÷ plain ${ratio.toFixed(3)}`)
  }
} finally {
  await Promise.allSettled([plainSrc.destroy(), tlsSrc.destroy()])
}
say(`median TLS ÷ plain over ${pairs} pairs: ${median(ratios).toFixed(3)} (${((median(ratios) - 1) * 100).toFixed(1)} %); CPU check at end ${cpuCheckMs()} ms; ${((performance.now() - t0) / 1000).toFixed(0)} s in all`)
