/**
 * Sync windows (core/access/syncWindows.ts): which times of day a scheduled sync may start,
 * by the local clock, windows that wrap midnight, and refusals of what is not a window.
 */
import t from 'tap'
import { MAX_WINDOWS, msUntilWindow, parseWindows } from '../../../core/access/syncWindows.js'
import { codeOf } from '../../helpers/errorCodes.js'

const at = (hh: number, mm: number, ss = 0) => new Date(2026, 11, 3, hh, mm, ss)
const MIN = 60_000

t.test('inside a window: now; outside: until the next one opens, by the local clock', async (t) => {
  t.equal(msUntilWindow(undefined, at(12, 0)), 0, 'no windows: any time')
  t.equal(msUntilWindow([], at(12, 0)), 0)
  t.equal(msUntilWindow(['03:00-07:00'], at(3, 0)), 0, 'from is inclusive')
  t.equal(msUntilWindow(['03:00-07:00'], at(6, 59, 59)), 0)
  t.equal(msUntilWindow(['03:00-07:00'], at(7, 0)), 20 * 60 * MIN, 'to is exclusive: tomorrow at 03:00')
  t.equal(msUntilWindow(['03:00-07:00'], at(2, 30, 30)), 29.5 * MIN, 'seconds count')
  t.equal(msUntilWindow(['22:00-06:00'], at(23, 0)), 0, 'a window across midnight, before it')
  t.equal(msUntilWindow(['22:00-06:00'], at(5, 0)), 0, 'and after it')
  t.equal(msUntilWindow(['22:00-06:00'], at(12, 0)), 10 * 60 * MIN)
  t.equal(msUntilWindow(['03:00-04:00', '13:00-14:00'], at(12, 0)), 60 * MIN, 'the nearest of several')
  t.equal(msUntilWindow(['18:00-24:00'], at(23, 59)), 0, '24:00 ends the day')
})

t.test('windows are checked; a bad one is refused with POLLEN_INVALID_INPUT', async (t) => {
  t.same(parseWindows(['03:00-07:00', '22:00-06:00', '03:00-07:00']), ['03:00-07:00', '22:00-06:00'], 'duplicates collapse')
  for (const bad of [['3:00-7:00'], ['03:00'], ['25:00-26:00'], ['03:00-03:00'], ['00:00-24:00'], ['12:60-13:00'], ['24:00-01:00'], '03:00-07:00', [7], Array.from({ length: MAX_WINDOWS + 1 }, (_, i) => `${String(i).padStart(2, '0')}:00-${String(i).padStart(2, '0')}:30`)]) {
    t.equal(await codeOf(() => parseWindows(bad)), 'POLLEN_INVALID_INPUT', JSON.stringify(bad).slice(0, 60))
  }
})
