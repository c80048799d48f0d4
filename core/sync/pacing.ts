/**
 * Pacing of a pull by the receiver's acknowledgements (docs/protocol.md §8.4).
 *
 * A server cannot see a slow link from its own socket: kernel buffers, a reverse proxy or an
 * emulated link absorb megabytes before a write blocks, so it would encode the whole pull
 * at its fast starting quality long before the link could carry it. Instead the client says
 * which chunk it has taken (a small separate request), and the server keeps at most a window
 * of unacknowledged bytes in flight. The time it then waits is the link's pace, which the
 * encoder turns into compression quality (§7.1). The window grows with the measured rate,
 * so a fast long link is not throttled to window/RTT.
 */
import { pollenError } from '../errors.js'
import { pack } from '../msgpack.js'
import { ACK } from './wire/limits.js'

/**
 * What the client reports: it has taken chunk `seq` (and all before it); of the `spanMs`
 * since the session's answer arrived it spent `idleMs` waiting for data. Both are totals, so
 * an ack that is lost costs nothing: the next one carries its share.
 */
export interface PullAck {
  seq: number
  idleMs: number
  spanMs: number
}

/** The client acknowledges once at least this many chunk bytes arrived since its last ack. */
export const ACK_EVERY_BYTES = 32 * 1024
/**
 * While the receiver is busy (it waited for data less than BUSY_IDLE_SHARE of the time since
 * its last ack), acks after the first {@link FREE_ACKS} are at least this far apart. The
 * sender is then ahead by up to a window of 2 s of data, so acks this often keep the window
 * moving, and a receiver on a fast link does not pay a request per 32 KiB (a
 * 100,000-resource loopback pull sent 883). A receiver that waits for data acks at once: the
 * sender may be waiting for that ack, and on a slow link each one refines the rate.
 */
export const ACK_MIN_INTERVAL_MS = 200
/** A pull shorter than this from its first chunk to its last does not measure the link. */
const LINK_SPAN_MS = 200
/** The first acks always go at once: until they have measured a rate, the window is MIN_WINDOW. */
const FREE_ACKS = 2
/** Unacknowledged bytes the server may have in flight before the first rate is known. */
export const MIN_WINDOW = 128 * 1024
const MAX_WINDOW = 64 * 1024 * 1024
/** The window holds this many seconds at the measured rate: above any RTT pollen expects. */
const WINDOW_SECONDS = 2
/** A receiver that waited for the link less than this share of its time is the bottleneck itself. */
const BUSY_IDLE_SHARE = 0.25
/**
 * A wait this long (or four windows at the measured rate, if longer) means the acks are not
 * getting through: the session stops waiting until an ack arrives again.
 */
export const STALL_MS = 30_000

const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

/** `[seq, idleMs, spanMs]` */
export function encodePullAck(a: PullAck): Uint8Array {
  return pack([a.seq, Math.round(a.idleMs), Math.round(a.spanMs)])
}

/** Decodes an ack body; throws POLLEN_BAD_MESSAGE. */
export function decodePullAck(bytes: Uint8Array): PullAck {
  const v = ACK.unpack(bytes, 'the ack')
  if (!Array.isArray(v) || v.length !== 3 || !v.every(isUint) || v[1] > v[2]) {
    throw pollenError('POLLEN_BAD_MESSAGE', 'the ack is malformed: expected [seq, idleMs, spanMs], whole numbers, idleMs ≤ spanMs')
  }
  return { seq: v[0], idleMs: v[1], spanMs: v[2] }
}

/** The serving side: how far a pull may run ahead of what its receiver has taken. */
export class PullPacer {
  /** Cumulative chunk bytes after each chunk sent. */
  readonly #sent: number[] = []
  #acked = -1
  #ackedBytes = 0
  #window = MIN_WINDOW
  #rate: number | undefined
  #clientMs = 0
  #clientIdle = 0
  /** (client time, acked bytes) of recent acks, for the rate. */
  #samples: Array<[number, number]> = []
  #wake: (() => void) | undefined
  #stalled = false
  #receiverBusy = false
  readonly #now: () => number
  readonly #stallMs: number

  constructor(opts: { now?: () => number; stallMs?: number } = {}) {
    this.#now = opts.now ?? (() => performance.now())
    this.#stallMs = opts.stallMs ?? STALL_MS
  }

  /** Bytes in flight that the window allows. */
  get window(): number {
    return this.#window
  }

  /** Bytes sent and not yet acknowledged. */
  get unacked(): number {
    return (this.#sent.at(-1) ?? 0) - this.#ackedBytes
  }

  /** Bytes per millisecond the receiver took over the last few seconds, once measured. */
  get rate(): number | undefined {
    return this.#rate
  }

  /** True when the receiver's last report says it, not the link, set the pace. */
  get receiverBusy(): boolean {
    return this.#receiverBusy
  }

  /** Records that the next chunk (seq = chunks sent so far) went out with `bytes` of data. */
  sent(bytes: number): void {
    this.#sent.push((this.#sent.at(-1) ?? 0) + bytes)
  }

  /** Takes an acknowledgement; an older one than already taken is ignored. */
  ack(a: PullAck): void {
    if (a.seq >= this.#sent.length) throw pollenError('POLLEN_BAD_MESSAGE', `chunk ${a.seq} was acknowledged, but only ${this.#sent.length} were sent`)
    if (a.seq <= this.#acked || a.spanMs < this.#clientMs || a.idleMs < this.#clientIdle) return
    const span = a.spanMs - this.#clientMs
    this.#receiverBusy = span > 0 && a.idleMs - this.#clientIdle < span * BUSY_IDLE_SHARE
    this.#acked = a.seq
    this.#ackedBytes = this.#sent[a.seq]
    this.#clientMs = a.spanMs
    this.#clientIdle = a.idleMs
    this.#stalled = false
    // The rate is timed by the client's clock, so the delay of the acks themselves (the
    // first one opens a connection) does not distort it. The first ack's span includes the
    // session's start-up, so it only sets the baseline.
    this.#samples.push([this.#clientMs, this.#ackedBytes])
    const last = this.#clientMs
    while (this.#samples.length > 2 && last - this.#samples[1][0] >= WINDOW_SECONDS * 1000) this.#samples.shift()
    const [t0, b0] = this.#samples[0]
    if (last - t0 >= 100) {
      this.#rate = (this.#ackedBytes - b0) / (last - t0)
      this.#window = Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, Math.round(this.#rate * WINDOW_SECONDS * 1000)))
    }
    this.#wake?.()
  }

  /**
   * Resolves once the window has room for another chunk (or the session stopped pacing, or
   * `signal` aborted); returns the milliseconds it waited.
   */
  async ready(signal?: AbortSignal): Promise<number> {
    if (this.#stalled || this.unacked < this.#window || signal?.aborted) return 0
    const started = this.#now()
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        this.#wake = undefined
        resolve()
      }
      const stallMs = Math.max(this.#stallMs, this.#rate ? (4 * this.#window) / this.#rate : 0)
      timer = setTimeout(() => {
        this.#stalled = true
        done()
      }, stallMs)
      signal?.addEventListener('abort', done)
      this.#wake = () => {
        if (this.unacked < this.#window) done()
      }
    })
    return this.#now() - started
  }
}

/**
 * The receiving side: decides when to acknowledge. One ack is in flight at a time, and after
 * the first two they are ACK_MIN_INTERVAL_MS apart; chunks taken meanwhile are covered by the
 * next one, so a fast link sends few acks and a pull of under ACK_EVERY_BYTES sends none.
 */
export class AckSender {
  readonly #send: (a: PullAck) => Promise<void>
  readonly #now: () => number
  readonly #started: number
  #bytes = 0
  #idle = 0
  #pending: PullAck | undefined
  #inFlight: Promise<void> | undefined
  #waitStarted: number | undefined
  /** The receiver asked for the next frame and has not taken one yet. */
  #waitingForData = false
  /** Chunks taken and still being applied. */
  #applying = 0
  #closed = false
  #sent = 0
  #lastSent = 0
  #idleAtLastSent = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  readonly #minInterval: number
  /** When the first chunk was taken, the idle total then, and chunk bytes taken after it until the latest. */
  #first: { at: number; idle: number } | undefined
  #after = 0
  #lastTaken = 0

  constructor(send: (a: PullAck) => Promise<void>, now: () => number = () => performance.now(), minIntervalMs = ACK_MIN_INTERVAL_MS) {
    this.#send = send
    this.#now = now
    this.#started = now()
    this.#minInterval = minIntervalMs
  }

  /**
   * The receiver starts waiting for the next frame. While a chunk it took is still being
   * applied, the wait is not idle: the apply runs meanwhile (on the same thread, and on
   * storage), so until it ends the receiver, not the link, is what the next frame waits for.
   */
  waiting(): void {
    this.#waitingForData = true
    this.#waitStarted = this.#applying > 0 ? undefined : this.#now()
  }

  /** A taken chunk started being applied. */
  applying(): void {
    this.#applying += 1
  }

  /** A chunk finished being applied (or failed to): a wait for data from now on is idle. */
  applied(): void {
    this.#applying = Math.max(0, this.#applying - 1)
    if (this.#applying === 0 && this.#waitingForData) this.#waitStarted = this.#now()
  }

  /** Chunk `seq` with `bytes` of data was taken (ends a wait begun with `waiting`). */
  taken(seq: number, bytes: number): void {
    const now = this.#now()
    if (this.#waitStarted !== undefined) this.#idle += now - this.#waitStarted
    this.#waitStarted = undefined
    this.#waitingForData = false
    if (this.#first === undefined) this.#first = { at: now, idle: this.#idle }
    else {
      this.#after += bytes
      this.#lastTaken = now
    }
    this.#bytes += bytes
    if (this.#bytes < ACK_EVERY_BYTES || this.#closed) return
    this.#bytes = 0
    // Totals since the start; rounding down keeps idle ≤ span on the wire.
    this.#pending = { seq, idleMs: Math.floor(this.#idle), spanMs: Math.max(Math.floor(now - this.#started), Math.floor(this.#idle)) }
    this.#flush()
  }

  #flush(): void {
    if (this.#inFlight || !this.#pending || this.#closed) return
    const now = this.#now()
    const idle = this.#idle + (this.#waitStarted === undefined ? 0 : now - this.#waitStarted)
    const busy = idle - this.#idleAtLastSent < (now - this.#lastSent) * BUSY_IDLE_SHARE
    const early = this.#sent >= FREE_ACKS && busy ? this.#lastSent + this.#minInterval - now : 0
    if (early > 0) {
      // The latest pending ack goes when the interval is up, even if no chunk arrives
      // meanwhile (the server may be waiting for it).
      if (!this.#timer) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined
          this.#flush()
        }, early)
        this.#timer.unref?.()
      }
      return
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    const a = this.#pending
    this.#pending = undefined
    this.#sent += 1
    this.#lastSent = now
    this.#idleAtLastSent = idle
    // An ack only paces the sender; one that fails is covered by the next (totals), or by
    // the sender's stall limit, so its error is not the sync's.
    this.#inFlight = Promise.resolve()
      .then(() => this.#send(a))
      .catch(() => undefined)
      .then(() => {
        this.#inFlight = undefined
        this.#flush()
      })
  }

  /**
   * The link's rate as this pull saw it, in chunk bytes per millisecond, from the first chunk
   * taken to the last; undefined when the pull was too short to tell (under LINK_SPAN_MS)
   * or the receiver waited for data less than half that time (it, not the link, set the
   * pace). The next pull from the same peer passes it on, so the sender starts at the
   * compression this link allows (quality.ts, startQuality).
   */
  linkRate(): number | undefined {
    if (!this.#first) return undefined
    const span = this.#lastTaken - this.#first.at
    if (span < LINK_SPAN_MS || this.#idle - this.#first.idle < span / 2) return undefined
    return this.#after / span
  }

  /** The pull ended: no more acks (one in flight may still arrive). */
  close(): void {
    this.#closed = true
    this.#pending = undefined
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Settles when no ack is in flight. */
  async settled(): Promise<void> {
    while (this.#inFlight) await this.#inFlight
  }
}

/** The lowest cap a client may ask a server to keep to (16 kbit/s): below it a session would hold a connection for hours. */
export const MIN_RATE_BYTES = 2000

/**
 * A bandwidth cap (`pollen peer set NAME --max-kbps N`): `take` waits until sending `bytes`
 * more keeps the stream at or under `bytesPerSec` since it began, a first `burst` aside.
 * Applied where chunks are sent (the server's pull stream, the client's push), so the rate
 * is the link's whatever the buffers between.
 */
export class RateCap {
  readonly #rate: number
  readonly #burst: number
  readonly #now: () => number
  #started: number | undefined
  #sent = 0

  constructor(bytesPerSec: number, opts: { burst?: number; now?: () => number } = {}) {
    this.#rate = bytesPerSec / 1000
    this.#burst = opts.burst ?? 16 * 1024
    this.#now = opts.now ?? (() => performance.now())
  }

  /** Milliseconds to wait before `bytes` more may go. */
  due(bytes: number): number {
    const now = this.#now()
    this.#started ??= now
    const wait = (this.#sent + bytes - this.#burst) / this.#rate - (now - this.#started)
    return Math.max(0, wait)
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const wait = this.due(bytes)
    this.#sent += bytes
    if (wait > 0 && !signal?.aborted) await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait)
      signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
    })
  }
}
