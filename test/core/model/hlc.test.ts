/** The hybrid logical clock at the edges of its encoding. */
import t from 'tap'
import { HybridClock, hlcMillis, MAX_WALL_MS } from '../../../core/model/hlc.js'

t.test('a clock decades ahead gives safe, increasing timestamps (issue 16)', async (t) => {
  const ahead = Date.UTC(2101, 0, 1)
  const c = new HybridClock(0, () => ahead)
  const a = c.tick()
  const b = c.tick()
  t.ok(Number.isSafeInteger(a) && Number.isSafeInteger(b), 'both are safe integers')
  t.ok(b > a, 'and increase')
  t.equal(hlcMillis(a), MAX_WALL_MS, 'the wall part is held at the last representable millisecond')
})
