/**
 * Hybrid logical clock: wall-clock milliseconds with a 12-bit logical counter packed into one
 * safe integer (`ms * 4096 + logical`). It never goes backwards while running and moves past
 * any timestamp received from a peer that is at most a day ahead of our wall clock.
 */

const LOGICAL_BITS = 4096
/**
 * The latest wall-clock millisecond a timestamp can carry and stay a safe integer (2039-09),
 * less 2^40 ticks of headroom. A clock beyond it (a device decades ahead, issue 16) is read
 * as this instant: timestamps then advance by their logical part alone and stay ordered and
 * valid everywhere, where an unsafe integer would be refused by every peer.
 */
export const MAX_WALL_MS = Math.floor((Number.MAX_SAFE_INTEGER - 2 ** 40) / LOGICAL_BITS)

/**
 * How far past our own wall clock a received timestamp is taken in. A peer's clock may be
 * ahead by anything (one operation with the largest timestamp once froze replication
 * everywhere it reached, issue 17); beyond this its timestamps still replicate and order its
 * own concurrent writes, but ours do not chase them. Causality never rests on timestamps
 * (an operation's deps decide what it supersedes, core/model/merge.ts), so this is safe.
 */
export const MAX_DRIFT_MS = 24 * 3600_000

/** A packed HLC timestamp. */
export type Hlc = number

/** Milliseconds since the epoch of a packed timestamp. */
export function hlcMillis(t: Hlc): number {
  return Math.floor(t / LOGICAL_BITS)
}

/** ISO-8601 text of a packed timestamp (its wall-clock part). */
export function hlcIso(t: Hlc): string {
  return new Date(hlcMillis(t)).toISOString()
}

/** A clock instance; `now` is injectable so tests can drive time. */
export class HybridClock {
  #last: Hlc
  readonly #now: () => number

  constructor(last: Hlc = 0, now: () => number = Date.now) {
    this.#now = now
    // A value kept from before the bound (or from a wall clock since set back) is lowered to
    // it: the frozen clocks issue 17 found heal on restart.
    this.#last = Math.min(last, this.#ceiling())
  }

  /** The largest timestamp we take in now: our wall clock plus the allowed drift. */
  #ceiling(): Hlc {
    return (Math.min(this.#now(), MAX_WALL_MS) + MAX_DRIFT_MS) * LOGICAL_BITS
  }

  /** The most recent timestamp issued or observed. */
  get last(): Hlc {
    return this.#last
  }

  /** A new timestamp, strictly greater than every earlier one issued or observed. */
  tick(): Hlc {
    const wall = Math.min(this.#now(), MAX_WALL_MS) * LOGICAL_BITS
    this.#last = wall > this.#last ? wall : this.#last + 1
    return this.#last
  }

  /** Takes a timestamp from a received operation into account, up to our wall clock plus {@link MAX_DRIFT_MS}. */
  observe(remote: Hlc): void {
    if (remote > this.#last) this.#last = Math.max(this.#last, Math.min(remote, this.#ceiling()))
  }
}
