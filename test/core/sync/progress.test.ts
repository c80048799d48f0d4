/**
 * The fraction a progress bar shows (core/sync/progress.ts): counters the sender went
 * through above what the receiver held, so it reaches 1 whatever the filter left out.
 */
import t from 'tap'
import { CounterVectors } from '../../../core/model/counterVector.js'
import { streamRanges } from '../../../core/sync/diff.js'
import { StreamProgress, topsOfReport } from '../../../core/sync/progress.js'

const A = '0123456789abcdef0123456789abcdef.1'
const B = 'fedcba9876543210fedcba9876543210.1'
const filter = { prefixes: ['lib'], languages: ['en'] }

t.test('ranges start at the lowest claim the holder has for the filter, and skip what it holds', async (t) => {
  const holder = CounterVectors.from([
    { prefix: 'lib', layer: '', counters: { [A]: 40, [B]: 12 } },
    { prefix: 'lib', layer: 'en', counters: { [A]: 30, [B]: 10 } },
  ])
  const ranges = streamRanges([[A, 100], [B, 10]], filter, holder)
  t.same([...ranges], [[A, { floor: 30, top: 100 }]], 'A from its lowest layer claim; B is held through its top')
})

t.test('the fraction follows the chunks\' progress, never falls back, and ends at 1', async (t) => {
  const p = new StreamProgress(new Map([[A, { floor: 0, top: 80 }], [B, { floor: 10, top: 30 }]]))
  t.equal(p.total, 100)
  t.equal(p.fraction, 0)
  p.advance([[A, 40]])
  t.equal(p.fraction, 0.4)
  p.advance([[A, 20], ['ffffffffffffffffffffffffffffffff.1', 999]])
  t.equal(p.fraction, 0.4, 'an earlier counter and an unknown author change nothing')
  p.advance([[B, 25], [A, 1e9]])
  t.equal(p.fraction, 0.95, 'a counter past the top counts up to the top')
  p.advance([[B, 30]])
  t.equal(p.fraction, 1)
  t.equal(new StreamProgress(new Map()).fraction, 1, 'nothing to go through is done')
})

t.test('a sender\'s report gives the highest claim per author', async (t) => {
  const tops = topsOfReport([
    { prefix: 'lib', layer: '', counters: { [A]: 5, [B]: 9 } },
    { prefix: 'lib/x', layer: 'en', counters: { [A]: 7 } },
  ])
  t.same([...tops].sort(), [[A, 7], [B, 9]].sort())
})
