/**
 * An emulated slow link: a TCP proxy on 127.0.0.1 that forwards to a target and, per
 * direction, limits the rate, adds a one-way delay and can cut connections after a
 * number of bytes. The bench puts both pollen and PouchDB behind the same link so their
 * numbers are comparable.
 *
 * Model. Each direction of each proxied connection has ONE queue and ONE timer. A chunk
 * read from the sender is split into segments; a segment's departure time is
 * `max(now, previous departure) + bytes * 8 / rate` (a serialisation clock, as on a real
 * bottleneck link), and it is delivered at `departure + delay`. Delivery times are
 * absolute, so timer lateness never accumulates: each wake-up delivers everything due.
 * The queue applies back-pressure (pauses the sender) once it holds more than a
 * bandwidth-delay product plus slack, the way TCP's window would, so a fast sender cannot
 * finish "sending" megabytes into the proxy's memory long before they could cross the link.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'

/** Shape of one direction of the link. */
export interface DirectionOptions {
  /** Bits per second; `Infinity` means no rate limit. */
  rateBps: number
  /** One-way propagation delay in milliseconds; 0 means none. */
  delayMs: number
}

/** Options for {@link EmulatedLink}. */
export interface LinkOptions {
  /** Where connections are forwarded to. */
  targetPort: number
  targetHost?: string
  /** Client → server ("up"). Default: unlimited, no delay. */
  up?: Partial<DirectionOptions>
  /** Server → client ("down"). Default: unlimited, no delay. */
  down?: Partial<DirectionOptions>
  /**
   * Cut after this many delivered bytes, counted across BOTH directions. The cut is
   * byte-exact: the chunk that crosses the budget is truncated so that exactly
   * `cutEveryBytes` bytes are delivered, then both sockets are destroyed (a flaky link
   * loses what was in flight). Default: never.
   */
  cutEveryBytes?: number
  /**
   * `'connection'` (default): every proxied connection gets its own budget, so a
   * reconnecting client gets another `cutEveryBytes`. `'link'`: one budget for the whole
   * link; when it runs out every open connection is cut (a radio drop), then it refills.
   */
  cutScope?: 'connection' | 'link'
  /**
   * Charge one RTT before the first client byte can leave, as a TCP handshake would
   * (the proxy itself accepts instantly on loopback). Default true, so protocols that
   * open many connections pay for them.
   */
  handshake?: boolean
  /** Segment size in bytes for rate-limited directions; smaller = smoother. Default 4096. */
  segmentBytes?: number
}

/** Totals since start or the last {@link EmulatedLink.resetStats}. */
export interface LinkStats {
  /** Bytes delivered client → server. */
  bytesUp: number
  /** Bytes delivered server → client. */
  bytesDown: number
  /** Connections accepted. */
  connections: number
  /** Connections cut by `cutEveryBytes`. */
  cuts: number
}

interface Segment {
  data: Buffer
  deliverAt: number
}

/** One direction of one proxied connection: a FIFO drained by a single timer. */
class DirectionQueue {
  private readonly items: Segment[] = []
  private head = 0
  private lastDeparture: number
  private timer: NodeJS.Timeout | null = null
  private queuedBytes = 0
  private sourceEnded = false
  private endForwarded = false
  private destNeedsDrain = false
  private paused = false
  private closed = false
  private readonly highWater: number

  constructor(
    private readonly src: net.Socket,
    private readonly dest: net.Socket,
    private readonly opts: DirectionOptions,
    private readonly segmentBytes: number,
    startAt: number,
    /**
     * Called before each delivery with its size; returns how many bytes may pass and
     * whether the cut budget is now spent.
     */
    private readonly admit: (bytes: number) => { allowed: number; exhausted: boolean },
    private readonly onDelivered: (bytes: number) => void,
    private readonly onBudgetExhausted: () => void,
  ) {
    this.lastDeparture = startAt
    // About one bandwidth-delay product of both directions (a TCP window's worth of data
    // in flight), never less than 64 KiB so loopback stays fast.
    const bdp = Number.isFinite(opts.rateBps) ? (opts.rateBps / 8) * ((2 * opts.delayMs) / 1000) : 0
    this.highWater = Math.max(64 * 1024, Math.ceil(bdp))
    dest.on('drain', () => {
      this.destNeedsDrain = false
      this.updateFlow()
    })
  }

  push(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return
    const now = performance.now()
    const limited = Number.isFinite(this.opts.rateBps)
    const step = limited ? this.segmentBytes : chunk.length
    for (let off = 0; off < chunk.length; off += step) {
      const data = chunk.subarray(off, Math.min(chunk.length, off + step))
      const tx = limited ? (data.length * 8 * 1000) / this.opts.rateBps : 0
      this.lastDeparture = Math.max(now, this.lastDeparture) + tx
      this.items.push({ data, deliverAt: this.lastDeparture + this.opts.delayMs })
      this.queuedBytes += data.length
    }
    this.updateFlow()
    // Pass-through (no rate, no delay): deliver now rather than a timer tick later, so an
    // unlimited link adds no latency of its own. Delivery times are monotonic, so the
    // head being due means nothing earlier is waiting.
    if (this.timer === null && this.items[this.head].deliverAt <= performance.now()) this.flush()
    else this.schedule()
  }

  /** The sender finished (FIN): forward it once everything queued has been delivered. */
  end(): void {
    this.sourceEnded = true
    this.maybeFinish()
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.items.length = 0
    this.head = 0
  }

  private schedule(): void {
    if (this.timer || this.closed || this.head >= this.items.length) return
    const wait = Math.max(0, this.items[this.head].deliverAt - performance.now())
    this.timer = setTimeout(() => this.flush(), wait)
  }

  private flush(): void {
    this.timer = null
    if (this.closed) return
    const now = performance.now()
    // Allow 0.5 ms of earliness: setTimeout rounds to whole milliseconds, and re-arming
    // for a sub-millisecond remainder would just spin.
    while (this.head < this.items.length && this.items[this.head].deliverAt <= now + 0.5) {
      const seg = this.items[this.head++]
      this.queuedBytes -= seg.data.length
      if (this.dest.destroyed) continue
      const { allowed, exhausted } = this.admit(seg.data.length)
      const data = allowed < seg.data.length ? seg.data.subarray(0, allowed) : seg.data
      if (data.length > 0) {
        if (!this.dest.write(data)) this.destNeedsDrain = true
        this.onDelivered(data.length)
      }
      if (exhausted) {
        this.onBudgetExhausted()
        return
      }
    }
    // Compact occasionally so a long transfer does not keep every segment alive.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head)
      this.head = 0
    }
    this.updateFlow()
    this.maybeFinish()
    this.schedule()
  }

  private maybeFinish(): void {
    if (this.sourceEnded && !this.endForwarded && this.head >= this.items.length && !this.dest.destroyed && !this.closed) {
      this.endForwarded = true
      this.dest.end()
    }
  }

  private updateFlow(): void {
    const shouldPause = this.queuedBytes > this.highWater || this.destNeedsDrain
    if (shouldPause && !this.paused) {
      this.paused = true
      this.src.pause()
    } else if (!shouldPause && this.paused) {
      this.paused = false
      if (!this.src.destroyed) this.src.resume()
    }
  }
}

interface Pair {
  client: net.Socket
  server: net.Socket
  upQ: DirectionQueue
  downQ: DirectionQueue
  budget: number
  done: boolean
}

function fill(d: Partial<DirectionOptions> | undefined): DirectionOptions {
  const rateBps = d?.rateBps ?? Infinity
  const delayMs = d?.delayMs ?? 0
  if (!(rateBps > 0)) throw new RangeError(`rateBps must be > 0, got ${rateBps}`)
  if (!(delayMs >= 0)) throw new RangeError(`delayMs must be >= 0, got ${delayMs}`)
  return { rateBps, delayMs }
}

/**
 * A TCP proxy on 127.0.0.1 emulating a slow, possibly flaky link.
 *
 * @example
 * const link = new EmulatedLink({ targetPort: 5984, ...symmetricLink(1e6, 200) })
 * const port = await link.start()   // clients connect to 127.0.0.1:port
 */
export class EmulatedLink {
  private server: net.Server | null = null
  private readonly pairs = new Set<Pair>()
  private up: DirectionOptions
  private down: DirectionOptions
  private readonly segmentBytes: number
  private linkBudget: number
  private counters: LinkStats = { bytesUp: 0, bytesDown: 0, connections: 0, cuts: 0 }

  constructor(private readonly opts: LinkOptions) {
    this.up = fill(opts.up)
    this.down = fill(opts.down)
    this.segmentBytes = Math.max(1, Math.floor(opts.segmentBytes ?? 4096))
    if (opts.cutEveryBytes !== undefined && !(opts.cutEveryBytes > 0)) {
      throw new RangeError('cutEveryBytes must be > 0')
    }
    this.linkBudget = opts.cutEveryBytes ?? Infinity
  }

  /** Listens on 127.0.0.1 with an ephemeral port; resolves to that port. */
  start(): Promise<number> {
    if (this.server) throw new Error('EmulatedLink already started')
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (c) => this.accept(c))
    this.server = server
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject)
        resolve((server.address() as net.AddressInfo).port)
      })
    })
  }

  /** Stops listening and destroys every open connection. */
  async stop(): Promise<void> {
    const server = this.server
    this.server = null
    for (const p of this.pairs) this.teardown(p)
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** A copy of the counters. */
  stats(): LinkStats {
    return { ...this.counters }
  }

  /** Zeroes the counters (open connections keep flowing). */
  resetStats(): void {
    this.counters = { bytesUp: 0, bytesDown: 0, connections: 0, cuts: 0 }
  }

  /**
   * Changes the rate and delay for connections accepted from now on (open ones keep their
   * shape). Lets one link serve a fast bulk load and then a measured slow sync, so the
   * peer's URL (and with it PouchDB's replication checkpoint) stays the same.
   */
  reshape(shape: Pick<LinkOptions, 'up' | 'down'>): void {
    this.up = fill(shape.up)
    this.down = fill(shape.down)
  }

  /** Closes every open connection without counting it as a cut (a NAT that forgot them). */
  dropConnections(): void {
    for (const p of [...this.pairs]) this.teardown(p)
  }

  /** Number of proxied connections currently open. */
  openConnections(): number {
    return this.pairs.size
  }

  private accept(client: net.Socket): void {
    this.counters.connections++
    const server = net.connect({
      host: this.opts.targetHost ?? '127.0.0.1',
      port: this.opts.targetPort,
      allowHalfOpen: true,
      noDelay: true,
    })
    const now = performance.now()
    const rtt = this.up.delayMs + this.down.delayMs
    const upStart = this.opts.handshake === false ? now : now + rtt
    const pair = {
      client,
      server,
      budget: this.opts.cutEveryBytes ?? Infinity,
      done: false,
    } as Pair
    // The cut fires as soon as the budget reaches zero, so a transfer of exactly N bytes
    // is cut too ("cut every N bytes" means the link never carries byte N+1).
    const linkScope = this.opts.cutScope === 'link'
    const admit = (bytes: number): { allowed: number; exhausted: boolean } => {
      const room = linkScope ? this.linkBudget : pair.budget
      const allowed = Math.min(bytes, room)
      if (linkScope) this.linkBudget -= allowed
      else pair.budget -= allowed
      return { allowed, exhausted: allowed === room }
    }
    const exhausted = (): void => {
      if (this.opts.cutScope === 'link') {
        this.linkBudget = this.opts.cutEveryBytes ?? Infinity
        for (const p of [...this.pairs]) this.cut(p)
      } else {
        this.cut(pair)
      }
    }
    pair.upQ = new DirectionQueue(client, server, this.up, this.segmentBytes, upStart, admit,
      (n) => { this.counters.bytesUp += n }, exhausted)
    pair.downQ = new DirectionQueue(server, client, this.down, this.segmentBytes, now, admit,
      (n) => { this.counters.bytesDown += n }, exhausted)
    this.pairs.add(pair)

    client.on('data', (b: Buffer) => pair.upQ.push(b))
    server.on('data', (b: Buffer) => pair.downQ.push(b))
    client.on('end', () => pair.upQ.end())
    server.on('end', () => pair.downQ.end())
    // An error on either side (reset, refused) ends the pair: a real link cannot keep
    // half a connection alive. A clean close of one side must NOT tear down the other:
    // the server may have sent its last bytes and closed while they are still "in
    // flight" in our down queue.
    const onError = (): void => this.teardown(pair)
    const onClose = (): void => {
      if (client.destroyed && server.destroyed) this.teardown(pair)
    }
    client.on('error', onError)
    server.on('error', onError)
    client.on('close', onClose)
    server.on('close', onClose)
  }

  private cut(p: Pair): void {
    if (p.done) return
    this.counters.cuts++
    this.teardown(p)
  }

  private teardown(p: Pair): void {
    if (p.done) return
    p.done = true
    this.pairs.delete(p)
    p.upQ.close()
    p.downQ.close()
    p.client.destroy()
    p.server.destroy()
  }
}

/**
 * Link options for a symmetric link given its rate and round-trip time (the usual way a
 * scenario is described: "1 Mbit/s, 200 ms RTT").
 */
export function symmetricLink(rateBps: number, rttMs: number): Pick<LinkOptions, 'up' | 'down'> {
  return { up: { rateBps, delayMs: rttMs / 2 }, down: { rateBps, delayMs: rttMs / 2 } }
}
