import t from 'tap'
import fc from 'fast-check'
import { GrowingBloomFilter } from '../../../core/log/bloomFilter.js'

t.test('every key added is held, whatever the keys and however many stages', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (keys, first) => {
      const f = new GrowingBloomFilter(first)
      for (const k of keys) f.add(k)
      return keys.every((k) => f.mayHold(k)) && f.size === keys.length
    }),
    { numRuns: 200 },
  )
  t.pass('no false negative in 200 random cases')
})

t.test('an empty filter holds nothing', async (t) => {
  const f = new GrowingBloomFilter()
  t.equal(f.mayHold(''), false)
  t.equal(f.mayHold('R\u0000resource\u0000x'), false)
  t.equal(f.size, 0)
  t.equal(f.bytes, 0)
})

t.test('false positives stay near 1% per stage as the filter grows', async (t) => {
  // 100,000 record keys over stages of 1,000, 2,000, … (7 stages), then 100,000 others.
  const f = new GrowingBloomFilter(1000)
  const keyOf = (i: number) => `R\u0000resource\u0000res-${i.toString(36)}-${(i * 7919) % 1000}`
  for (let i = 0; i < 100_000; i++) f.add(keyOf(i))
  for (let i = 0; i < 100_000; i++) if (!f.mayHold(keyOf(i))) t.fail(`added key ${i} not held`)
  let wrong = 0
  for (let i = 100_000; i < 200_000; i++) if (f.mayHold(keyOf(i))) wrong += 1
  t.ok(wrong / 100_000 < 0.03, `false-positive rate ${(wrong / 1000).toFixed(2)}% over 7 stages is under 3%`)
  t.ok(wrong > 0, 'a Bloom filter does answer some absent keys wrongly (this one is not a set)')
  t.ok(f.bytes < 100_000 * 3, `${f.bytes} bytes for 100,000 keys`)
})

t.test('a capacity that is not a positive integer is a programmer error', async (t) => {
  t.throws(() => new GrowingBloomFilter(0), TypeError)
  t.throws(() => new GrowingBloomFilter(1.5), TypeError)
})
