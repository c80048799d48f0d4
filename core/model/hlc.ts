/**
 * Hybrid logical clock: wall-clock milliseconds with a 12-bit logical counter packed into one
 * safe integer (`ms * 4096 + logical`). It never goes backwards and always moves past any
 * timestamp received from a peer, so an operation that saw another always sorts after it.
 */

const LOGICAL_BITS = 4096
/**
 * The latest wall-clock millisecond a timestamp can carry and stay a safe integer (2039-09),
 * less 2^40 ticks of headroom. A clock beyond it (a device decades ahead, issue 16) is read
 * as this instant: timestamps then advance by their logical part alone and stay ordered and
 * valid everywhere, where an unsafe integer would be refused by every peer.
 */
export const MAX_WALL_MS = Math.floor((Number.MAX_SAFE_INTEGER - 2 ** 40) / LOGICAL_BITS)

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
    this.#last = last
    this.#now = now
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

  /** Takes a timestamp from a received operation into account. */
  observe(remote: Hlc): void {
    if (remote > this.#last) this.#last = remote
  }
}
