/**
 * The bench's CPU check (bench/cpuCheck.ts): its text must compress like real text — a
 * degenerate generator (a short random cycle) made brotli's work nearly free, so the figure
 * said nothing about the machine — and the check returns a time.
 */
import t from 'tap'
import { brotliCompressSync } from 'node:zlib'
import { cpuCheckMs, sampleText } from '../../bench/cpuCheck.js'

t.test('the sample text is 1 MiB of words that compress about 3×, the same each time', async (t) => {
  const a = sampleText()
  t.ok(a.length >= 1 << 20, `${a.length} bytes`)
  const ratio = brotliCompressSync(a).length / a.length
  t.ok(ratio > 0.25 && ratio < 0.5, `brotli keeps ${(ratio * 100).toFixed(1)}% of it`)
  t.ok(sampleText().equals(a), 'the same text from the same seed')
})

t.test('the check returns a whole number of milliseconds', async (t) => {
  const ms = cpuCheckMs()
  t.ok(Number.isInteger(ms) && ms > 0, `${ms} ms`)
})
