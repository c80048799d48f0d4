/**
 * The chunker's sizes (core/sync/chunker.ts): a stream's chunks start at FIRST_CHUNK_BYTES
 * and double up to the limit, so the first chunk leaves soon and long streams pay the
 * per-chunk costs rarely; a receiver's smaller size is kept from the first chunk on.
 * (Transactions kept whole, maxOps and greediness: test/core/sync/wire/chunkCodec.test.ts.)
 */
import t from 'tap'
import { chunkDiff, DEFAULT_CHUNK_LIMITS, FIRST_CHUNK_BYTES, limitsFor, type ChunkLimits } from '../../../core/sync/chunker.js'
import type { DiffItem } from '../../../core/sync/diff.js'
import { makeOperation } from '../../../core/model/operation.js'
import { newAuthor } from '../../helpers/instances.js'

const KiB = 1024

/** Estimated sizes (KiB, rounded) of the chunks a stream of `n` single-op transactions of about 10 KiB each is cut into. */
async function sizes(n: number, limits: ChunkLimits): Promise<number[]> {
  const author = newAuthor()
  async function* items(): AsyncIterable<DiffItem> {
    for (let c = 1; c <= n; c++) yield { type: 'op', op: makeOperation({ author, counter: c, kind: 'resource', id: `r${c}`, partition: 'lib', type: 'put', layer: '', hlc: c, tx: c, deps: {}, body: { text: 'x'.repeat(10 * KiB - 200) } }) }
    yield { type: 'done', author, through: n }
  }
  const out: number[] = []
  for await (const p of chunkDiff(items(), limits)) out.push(Math.round(p.ops.length * 10))
  return out
}

t.test('a stream\'s chunks start at 64 KiB and double up to the limit', async (t) => {
  t.equal(FIRST_CHUNK_BYTES, 64 * KiB)
  const got = await sizes(200, DEFAULT_CHUNK_LIMITS)
  t.same(got.slice(0, 5), [60, 120, 250, 510, 510], `chunk sizes in KiB, each closed before the op that would take it over its limit: ${got.join(', ')}`)
  t.equal(got.reduce((a, b) => a + b, 0), 2000, 'every operation once')
})

t.test('a receiver that asked for small chunks gets them from the first one on; a limit under 64 KiB never grows', async (t) => {
  t.same(await sizes(5, limitsFor(DEFAULT_CHUNK_LIMITS, 16 * KiB)), [10, 10, 10, 10, 10], 'asked for 16 KiB after a cut: one 10 KiB op each, from the first')
  t.same((await sizes(40, { maxOps: 1000, maxBytes: 128 * KiB })).slice(0, 3), [60, 120, 120], 'a configured 128 KiB: 64, then 128')
})
