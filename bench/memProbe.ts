/**
 * A diagnostic preload for a daemon (`node --import dist/bench/memProbe.js`): every 100 ms
 * it samples the process's memory from inside — V8 heap, external and ArrayBuffer bytes,
 * and /proc/self/status RssAnon, RssFile, RssShmem — and writes the peak of each and the
 * sample at the peak RSS to the file named by POLLEN_MEM_PROBE. Not loaded by the product
 * or by `npm run bench`; `bench/probe.ts` uses it to say what the resident memory is.
 */
import fs from 'node:fs'
import v8 from 'node:v8'

const out = process.env.POLLEN_MEM_PROBE
const MIB = 1024 * 1024

function status(): Record<string, number> {
  const text = fs.readFileSync('/proc/self/status', 'utf8')
  const r: Record<string, number> = {}
  for (const f of ['VmRSS', 'RssAnon', 'RssFile', 'RssShmem', 'VmHWM']) {
    const m = new RegExp(`^${f}:\\s+(\\d+)\\s+kB`, 'm').exec(text)
    if (m) r[f] = Number(m[1]) / 1024
  }
  return r
}

function sample(): Record<string, number> {
  const m = process.memoryUsage()
  const h = v8.getHeapStatistics()
  const round = (n: number) => Math.round(n * 10) / 10
  const s: Record<string, number> = {
    rss: m.rss / MIB, heapTotal: m.heapTotal / MIB, heapUsed: m.heapUsed / MIB, external: m.external / MIB, arrayBuffers: m.arrayBuffers / MIB,
    mallocedMemory: h.malloced_memory / MIB, peakMalloced: h.peak_malloced_memory / MIB, ...status(),
  }
  for (const k of Object.keys(s)) s[k] = round(s[k])
  return s
}

if (out) {
  const peak: Record<string, number> = {}
  let atPeak: Record<string, number> = {}
  let smaps = ''
  const t = setInterval(() => {
    const s = sample()
    for (const [k, v] of Object.entries(s)) peak[k] = Math.max(peak[k] ?? 0, v)
    if (s.rss >= (atPeak.rss ?? 0)) {
      atPeak = s
      // The rollup (Rss, Pss, Anonymous, file-backed pages) at the highest RSS seen.
      smaps = fs.readFileSync('/proc/self/smaps_rollup', 'utf8')
    }
    fs.writeFileSync(out, JSON.stringify({ peak, atPeak, last: s, smaps }, null, 1))
  }, 100)
  t.unref()
}
