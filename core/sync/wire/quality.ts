/**
 * How hard a chunk stream compresses (docs/design.md §5.2): brotli's quality per window of
 * chunks, picked from what the last window spent its time on, and where a stream starts —
 * at the quality a remembered link rate allows, or, knowing nothing, at a cold quality
 * that is cheap on a fast link and good on a slow one until the first rate is measured.
 */

/**
 * Compression settings. Brotli's quality is adapted per session: it starts at `quality`
 * (fast) and, every few chunks, moves to the highest quality up to `slowLinkQuality` that
 * it can produce faster than the link carries it (restarting the compression stream).
 */
export interface CodecOptions {
  quality: number
  slowLinkQuality: number
  /**
   * The quality a stream starts at when nothing is known of the link (no rate remembered),
   * kept until the first rate is measured; absent: `quality`.
   */
  coldQuality?: number
}

/**
 * Quality 10 from the first byte: 8–14% fewer bytes than quality 5 on the bench's texts for
 * the dozen chunks a 1 Mbit/s link carries before its first rate is measured, at 1.3–1.4
 * MiB/s here, still faster than such a link takes it in. A fast link pays the one or two
 * chunks encoded before its first rate (about 100 ms of acks), once per pull.
 */
export const DEFAULT_CODEC: CodecOptions = { quality: 5, slowLinkQuality: 11, coldQuality: 10 }

/**
 * Encoder time and output size per brotli quality 0–11, relative to quality 5, measured on
 * the bench's resources in the column form, chunks of about 150 KB, window 2²². Qualities
 * 10 and 11 switch to optimal parsing: 5–10× slower than 9 for 8–10% fewer bytes, which on
 * a slow link is worth it and on a fast one would make the encoder the bottleneck.
 */
const COST = [0.09, 0.11, 0.37, 0.6, 0.45, 1, 1.5, 1.9, 2.2, 3.3, 20, 38]
const SIZE = [1.29, 1.21, 1.09, 1.07, 1.04, 1, 0.98, 0.96, 0.95, 0.94, 0.86, 0.84]
/** The encoder must be this much faster than the link at the quality it switches to. */
const HEADROOM = 1.1
/** Share of a window spent waiting for the link above which the link, not the sender, set its pace. */
export const LINK_BOUND = 0.1
/** Chunks in each measurement window; the quality is reconsidered after each window. */
export const WINDOW = 4
/** Restarts of the compression stream allowed per stream (each loses the window's context). */
export const MAX_SWITCHES = 4

/**
 * Milliseconds a window of chunks spent compressing, on fixed work (making payloads,
 * packing, signing: `reading`), and waiting for the link; `link`, when the receiver's acks measured the link's rate, is how long the link
 * needs to carry the window's output.
 */
export interface WindowTimes {
  encoding: number
  reading: number
  waiting: number
  link?: number
  /** The receiver's acks said it was busy applying, not waiting for data: it set the pace. */
  receiverBound?: boolean
}

/**
 * The quality a stream steps down to while the receiver sets the pace: by the tables, 0.45×
 * the CPU of quality 5 for 4% more bytes. Compressing harder than the receiver can take in
 * makes no pull faster; the sender's CPU is better spent on its other peers (and, where both
 * run on one machine, on the receiver).
 */
export const RECEIVER_BOUND_QUALITY = 4

/**
 * A window that did not wait, and whose output the link (by the acks' rate) carried within
 * this multiple of the window's own time, was paced by the sender: the link took everything
 * as fast as it was made, so the measured rate is the sender's own.
 */
const OWN_PACE = 1.5
/** A step down in a sender-paced window must cut the window's work by at least this share. */
const STEP_DOWN_SAVING = 0.25
/** The lowest quality a sender-paced stream steps down to: 0 saves little CPU over 1 for 7% more bytes. */
const SENDER_PACED_FLOOR = 1

/**
 * The quality for the next window, given how the last one spent its time at `current`:
 * the highest quality in [`min`, `max`] whose encoder, by the COST and SIZE tables, would
 * still produce faster than the link carries its output (with HEADROOM). The link's time is
 * `link` when measured, else the window's whole time. Only a window that waited for the
 * link a real share of its time (LINK_BOUND) gives a reason to spend more: otherwise the
 * sender itself set the pace, and it keeps `current` or, when the encoder is what the link
 * waits for, steps down. `seen[q]`, when given, is what compressing the same input took at
 * quality q earlier in the stream; it replaces the table's estimate, so a quality found too
 * slow is not tried again and again.
 *
 * Two cases step below `min`. A window in which the receiver set the pace (`receiverBound`)
 * goes no higher than {@link RECEIVER_BOUND_QUALITY}. A window the sender set the pace of
 * while the link took all it made (OWN_PACE) steps to the highest quality that cuts the
 * window's work by STEP_DOWN_SAVING (5 → 4 → 1 by the tables): a sender on a small board
 * serving a fast network is then slowed by nothing but its own compression, and less of it
 * makes the pull faster, while a link that cannot take the larger output makes the sender
 * wait again, which is a reason to step back up.
 *
 * A `cold` stream (started at {@link CodecOptions.coldQuality}, deciding for the first time)
 * goes to `min` unless the link is slower than the sender, and then as any link-bound window.
 */
export function pickQuality(current: number, min: number, max: number, ms: WindowTimes, seen: Readonly<Record<number, number>> = {}, cold = false): number {
  if (ms.receiverBound) return Math.min(current, RECEIVER_BOUND_QUALITY)
  const total = ms.encoding + ms.reading + ms.waiting
  const link = ms.link ?? total
  // A cold stream's first window went out before its first ack, so it cannot have waited:
  // a link measured slower than the sender (OWN_PACE) is what says the link sets the pace.
  const linkBound = ms.waiting > total * LINK_BOUND || (cold && ms.link !== undefined && ms.link > total * OWN_PACE)
  // The link keeps up with a cold stream: compress as for a fast link.
  if (cold && !linkBound) return Math.min(current, min)
  const work = (q: number) => (q === current ? ms.encoding : (seen[q] ?? ms.encoding * (COST[q] / COST[current]))) + ms.reading
  if (!linkBound && ms.link !== undefined && ms.link <= total * OWN_PACE) {
    for (let q = current - 1; q >= SENDER_PACED_FLOOR; q--) if (work(q) <= work(current) * (1 - STEP_DOWN_SAVING)) return q
    return current
  }
  for (let q = Math.min(max, 11); q >= min; q--) {
    if (q > current && !linkBound) continue
    if (q === current ? work(q) < link : work(q) * HEADROOM <= link * (SIZE[q] / SIZE[current])) return q
  }
  return Math.min(current, min)
}

/**
 * What a sender measured of its own compression, per quality, across its sessions:
 * milliseconds per input byte, and input ÷ output bytes. A stream whose link rate is known
 * before its first chunk starts from these rather than from the tables.
 */
export interface CodecMemory {
  msPerByte: Record<number, number>
  ratio: Record<number, number>
}

export function codecMemory(): CodecMemory {
  return { msPerByte: {}, ratio: {} }
}

/** A new measurement's weight in the memory: one stream (a client's choice of data and load) moves it a quarter of the way. */
const MEMORY_WEIGHT = 0.25

/**
 * Folds one window's measurement at quality `q` into the memory: a moving average, with the
 * ratio kept to 1–50× and the cost to positive finite values, so that no single stream sets
 * what the next one starts from.
 */
export function rememberWindow(memory: CodecMemory, q: number, msPerByte: number, ratio: number): void {
  if (!(msPerByte > 0 && Number.isFinite(msPerByte)) || !(ratio > 0 && Number.isFinite(ratio))) return
  const r = Math.min(50, Math.max(1, ratio))
  const mix = (old: number | undefined, v: number) => (old === undefined ? v : old + (v - old) * MEMORY_WEIGHT)
  memory.msPerByte[q] = mix(memory.msPerByte[q], msPerByte)
  memory.ratio[q] = mix(memory.ratio[q], r)
}

/** Quality 5's speed assumed before a sender measured any: 8 MiB/s, a small board's on plain text. */
const ASSUMED_MS_PER_BYTE = 1 / (8 * 1048.576)
/** Input ÷ output bytes at quality 5 assumed before a sender measured any (the bench's word text gets about 4.8). */
const ASSUMED_RATIO = 3.5

/** Value at `q` from what was measured at any quality, scaled by `table` (a value per quality); `fallback` at quality 5 when nothing was. */
function scaled(measured: Record<number, number>, q: number, table: readonly number[], fallback: number): number {
  if (measured[q] !== undefined) return measured[q]
  const known = Object.keys(measured).map(Number).sort((a, b) => Math.abs(a - q) - Math.abs(b - q))[0]
  return known === undefined ? fallback * table[q] / table[5] : measured[known] * table[q] / table[known]
}

/**
 * The quality to start a stream at when the link's rate is known before its first chunk
 * (the receiver remembered it from its last pull, or it is the peer's cap): the highest in
 * [`min`, `max`] whose encoder, by this sender's measurements (else the tables from the
 * nearest measured quality, else the assumptions above), produces input faster, with
 * HEADROOM, than the link carries its output. `rate` is in bytes per millisecond.
 */
export function startQuality(rate: number, memory: CodecMemory, min: number, max: number): number {
  const inverseSize = SIZE.map((s) => 1 / s)
  for (let q = Math.min(max, 11); q > min; q--) {
    const perByte = scaled(memory.msPerByte, q, COST, ASSUMED_MS_PER_BYTE)
    const ratio = scaled(memory.ratio, q, inverseSize, ASSUMED_RATIO)
    // Milliseconds the link needs per input byte at q: its output share over the rate.
    if (perByte * HEADROOM <= 1 / (ratio * rate)) return q
  }
  return min
}
