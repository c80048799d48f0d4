/**
 * A metered peer's day (daemon/meteredLink.ts): the budget left counts every sync since local
 * midnight and nothing before it; urgent prefixes reach only as far as the peer's filters.
 */
import t from 'tap'
import { budgetLeft, MIB, msUntilTomorrow, urgentFilters } from '../../daemon/meteredLink.js'

t.test('the budget left: the daily MiB less what today\'s syncs moved, both directions', async (t) => {
  const now = new Date(2026, 11, 4, 15, 0, 0)
  const at = (h: number, day = 4) => new Date(2026, 11, day, h, 30).toISOString()
  const history = [
    { started: at(9), bytesIn: 300_000, bytesOut: 20_000 },
    { started: at(14), bytesIn: 100_000, bytesOut: 4_000 },
    { started: at(23, 3), bytesIn: 5 * MIB, bytesOut: 0 },
  ]
  t.same(budgetLeft({ meteredMb: 1 }, history, now), { bytes: MIB - 424_000, mib: 1 }, 'yesterday\'s sync does not count')
  t.equal(budgetLeft({ meteredMb: 0 }, history, now), undefined, 'not metered')
  t.ok((budgetLeft({ meteredMb: 0.1 }, history, now)?.bytes ?? 0) < 0, 'overspent: below zero')
  t.equal(msUntilTomorrow(now), 9 * 3600_000, 'the budget starts again at local midnight')
})

t.test('urgent prefixes, within the peer\'s filters', async (t) => {
  t.same(urgentFilters({ meteredMb: 5, urgent: ['alerts'], filters: [''] }), ['alerts'], 'a peer with every partition')
  t.same(urgentFilters({ meteredMb: 5, urgent: ['alerts', 'lib:who'], filters: ['lib:who/user:u7', 'library'] }), ['lib:who/user:u7'], 'wider than a filter: narrowed to it; outside every filter: dropped')
  t.same(urgentFilters({ meteredMb: 5, urgent: ['lib:who'], filters: ['lib:who/user:u7'] }), [], 'covering every filter: nothing is urgent, the budget holds for all')
  t.same(urgentFilters({ meteredMb: 5, urgent: ['alerts'], filters: ['alerts'] }), [], 'the same for a filter equal to it')
  t.same(urgentFilters({ meteredMb: 0, urgent: ['alerts'], filters: [''] }), [], 'not metered: nothing is urgent, everything moves anyway')
  t.same(urgentFilters({ meteredMb: 5, urgent: [], filters: [''] }), [], 'none named')
})
