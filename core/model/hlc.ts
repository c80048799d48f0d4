/**
 * Hybrid logical clock: wall-clock milliseconds with a 12-bit logical counter packed into one
 * safe integer (`ms * 4096 + logical`). It never goes backwards and always moves past any
 * timestamp received from a peer, so an operation that saw another always sorts after it.
 */

const LOGICAL_BITS = 4096

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
    const wall = this.#now() * LOGICAL_BITS
    this.#last = wall > this.#last ? wall : this.#last + 1
    return this.#last
  }

  /** Takes a timestamp from a received operation into account. */
  observe(remote: Hlc): void {
    if (remote > this.#last) this.#last = remote
  }
}
