/**
 * A fixed CPU workload, timed at the start and the end of a bench run. This machine's speed
 * drifts (other tenants share its host): the same code and data measured scenario 6 at
 * 18.4 s in one run and 24.9–25.9 s in probes an hour later. The figure in each result's
 * footer lets two runs be compared: when it differs, so does the machine.
 */
import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { brotliCompressSync, constants } from 'node:zlib'

/** 1 MiB of words from a fixed seed, compressing about 3× as the bench's text does. */
export function sampleText(): Buffer {
  let seed = 42
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16
  const vocab = Array.from({ length: 2000 }, () => Array.from({ length: 3 + (next() % 7) }, () => String.fromCharCode(97 + (next() % 26))).join(''))
  const out: string[] = []
  for (let n = 0; n < 1 << 20; ) {
    const w = vocab[next() % vocab.length] + (next() % 9 === 0 ? '. ' : ' ')
    out.push(w)
    n += w.length
  }
  return Buffer.from(out.join(''))
}

let text: Buffer | undefined

/** Milliseconds of wall time for the fixed workload on this thread (median of three). */
export function cpuCheckMs(): number {
  text ??= sampleText()
  const times: number[] = []
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now()
    brotliCompressSync(text, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })
    for (let j = 0; j < 16; j++) createHash('sha256').update(text).digest()
    times.push(performance.now() - t0)
  }
  return Math.round(times.sort((a, b) => a - b)[1])
}
