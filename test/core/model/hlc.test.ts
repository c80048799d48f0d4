/** The hybrid logical clock at the edges of its encoding. */
import t from 'tap'
import { HybridClock, hlcMillis, MAX_DRIFT_MS, MAX_WALL_MS } from '../../../core/model/hlc.js'

t.test('a clock decades ahead gives safe, increasing timestamps (issue 16)', async (t) => {
  const ahead = Date.UTC(2101, 0, 1)
  const c = new HybridClock(0, () => ahead)
  const a = c.tick()
  const b = c.tick()
  t.ok(Number.isSafeInteger(a) && Number.isSafeInteger(b), 'both are safe integers')
  t.ok(b > a, 'and increase')
  t.equal(hlcMillis(a), MAX_WALL_MS, 'the wall part is held at the last representable millisecond')
})

t.test('a received timestamp is taken in only up to our wall clock plus the drift (issue 17)', async (t) => {
  const now = Date.UTC(2026, 11, 2)
  const c = new HybridClock(0, () => now)
  c.observe(Number.MAX_SAFE_INTEGER - 1)
  const next = c.tick()
  t.ok(hlcMillis(next) <= now + MAX_DRIFT_MS, `the next tick is ${new Date(hlcMillis(next)).toISOString()}, not in the year 287,000`)
  t.ok(next < Number.MAX_SAFE_INTEGER - 2 ** 40, 'and far from the end of the encoding')
  c.observe((now + 60_000) * 4096)
  t.ok(c.tick() > (now + 60_000) * 4096, 'a peer a minute ahead is still followed')
})

t.test('a clock state kept from before the bound heals when the log is opened again', async (t) => {
  const now = Date.UTC(2026, 11, 2)
  const c = new HybridClock(Number.MAX_SAFE_INTEGER - 1, () => now)
  t.ok(hlcMillis(c.tick()) <= now + MAX_DRIFT_MS, 'lowered to the bound')
})
