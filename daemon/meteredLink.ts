/**
 * A metered peer's day (docs/operations.md, "Links that cost money"): the budget left since
 * local midnight, counted from the sync history as the bill counts it, and the urgent
 * prefixes that move first and outside it. Pure: the scheduler in daemon/syncService.ts
 * supplies the peer, its history and the clock.
 */
import type { Peer } from '../core/access/peers.js'
import { covers } from '../core/model/partition.js'
import type { SyncResult } from '../core/sync/client.js'

export const MIB = 1024 * 1024

/** What a scheduled run with a metered peer may still move today. */
export interface Budget {
  bytes: number
  /** The peer's daily budget, for the message. */
  mib: number
}

/** Milliseconds until the next local midnight: when a metered peer's budget starts again. */
export function msUntilTomorrow(now = new Date()): number {
  const next = new Date(now)
  next.setHours(24, 0, 0, 0)
  return next.getTime() - now.getTime()
}

/**
 * The budget left today: the peer's daily MiB less what every sync with it moved since
 * local midnight (syncs by hand and urgent ones count, as the bill does). Undefined when the
 * peer is not metered.
 */
export function budgetLeft(peer: Pick<Peer, 'meteredMb'>, history: readonly Pick<SyncResult, 'started' | 'bytesIn' | 'bytesOut'>[], now = new Date()): Budget | undefined {
  if (!peer.meteredMb) return undefined
  const midnight = new Date(now)
  midnight.setHours(0, 0, 0, 0)
  const used = history.filter((r) => Date.parse(r.started) >= midnight.getTime()).reduce((n, r) => n + r.bytesIn + r.bytesOut, 0)
  return { bytes: peer.meteredMb * MIB - used, mib: peer.meteredMb }
}

/**
 * The filter of an urgent-only sync: each urgent prefix as far as the peer's own filters
 * reach (an urgent prefix wider than a filter narrows to that filter; one outside every
 * filter is dropped). Empty when the peer is not metered or has none, and when the urgent
 * prefixes would cover every filter: everything urgent would leave the budget nothing to
 * hold back, so then the budget holds for all (the scheduler logs it).
 */
export function urgentFilters(peer: Pick<Peer, 'meteredMb' | 'urgent' | 'filters'>): string[] {
  if (!peer.meteredMb || !peer.urgent?.length) return []
  const urgent = peer.urgent
  if (peer.filters.every((f) => urgent.some((u) => covers(u, f)))) return []
  const out = new Set<string>()
  for (const u of urgent) {
    for (const f of peer.filters) {
      if (covers(f, u)) out.add(u)
      else if (covers(u, f)) out.add(f)
    }
  }
  return [...out]
}
