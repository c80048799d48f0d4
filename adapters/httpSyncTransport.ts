/**
 * The sync client's HTTP transport: keep-alive connections (a second one carries acks while a
 * pull streams on the first), which the daemon may keep for the next sync with the same peer
 * ({@link PeerConnections}), the API key in the Authorization header (never in the URL),
 * streamed request and response bodies, byte counts of both, and an idle timeout so a dead
 * link fails instead of hanging (ORB's requests had none).
 *
 * Over https:// every connection is TLS 1.3 with our instance certificate, and the server's
 * certificate key is checked against the pinned instance id before the connection is handed
 * to a request — so a wrong peer never receives a byte of HTTP, the API key least of all
 * (docs/protocol.md §10.1). http:// is refused unless plain mode was asked for.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import type { Duplex } from 'node:stream'
import { isErrorCode, pollenError } from '../core/errors.js'
import { formatInstanceId, instanceIdOf } from '../core/model/identity.js'
import { peerInstanceKey, type TlsCredentials } from './tlsIdentity.js'
import { readFrames } from '../core/sync/wire/frames.js'
import { MAX_FRAME_BYTES } from '../core/sync/wire/limits.js'
import type { Credentials, SyncTransport } from '../core/sync/transport.js'
import { FRAME_TYPE } from './httpSyncServer.js'

/** An error answer is a JSON `{code, message}` of a few hundred bytes: a peer's longer one is not read past this. */
export const MAX_ERROR_BODY = 64 * 1024

export interface HttpTransportOptions {
  /** Aborts every request (the daemon is stopping). */
  signal?: AbortSignal
  /** Milliseconds without any byte moving before the request fails. */
  idleTimeoutMs?: number
  maxFrameBytes?: number
  /** Our instance certificate; required for https:// URLs. */
  tls?: TlsCredentials
  /** The instance id (32 hex digits) the server must prove; undefined at first contact. */
  expectInstance?: string
  /** Told the key of a server that proved another instance than the pinned one (kept as offered). */
  onOtherKey?: (publicKey: Uint8Array) => void
  /** Allows http:// (plain mode, an administrator's explicit choice). */
  plain?: boolean
}

/**
 * An https Agent that makes each connection itself: TLS 1.3, our certificate, and the pin
 * check at `secureConnect`. The socket reaches the waiting request only once the check has
 * passed. (A `checkServerIdentity` hook is not enough: Node skips it whenever the chain does
 * not verify against a CA, which a self-signed certificate never does.)
 */
/**
 * A pull streams on one connection while its acks go on another; a claims check or a second
 * session with the same peer may run beside it on shared connections.
 */
const MAX_SOCKETS = 4

class PinnedAgent extends HttpsAgent {
  readonly #creds: TlsCredentials
  readonly #check: (socket: TLSSocket) => Error | undefined

  constructor(creds: TlsCredentials, check: (socket: TLSSocket) => Error | undefined) {
    super({ keepAlive: true, maxSockets: MAX_SOCKETS })
    this.#creds = creds
    this.#check = check
  }

  override createConnection(options: ConnectionOptions, done: (err: Error | null, socket?: Duplex) => void): undefined {
    const socket = tlsConnect({ ...options, key: this.#creds.key, cert: this.#creds.cert, minVersion: 'TLSv1.3', rejectUnauthorized: false, session: undefined })
    const onError = (err: Error) => done(err)
    socket.once('error', onError)
    socket.once('secureConnect', () => {
      socket.off('error', onError)
      const refused = this.#check(socket)
      if (refused) {
        socket.destroy()
        done(refused)
      } else done(null, socket)
    })
    return undefined
  }
}

/**
 * The kept-alive connections to one peer at one URL, pinned to one instance id. Shared by the
 * syncs with that peer for as long as the owner keeps it, so a sync soon after another skips
 * the TCP and TLS handshakes; every socket in it proved the pinned key when it was made.
 */
export class PeerConnections {
  readonly agent: HttpAgent | HttpsAgent
  /** Why no request may be made (a plain URL without plain mode, https without our certificate). */
  readonly refusal?: Error
  /** The Ed25519 key the server proved on its TLS connections (all of them prove the same one). */
  peerKey?: Uint8Array

  constructor(baseUrl: URL, opts: Pick<HttpTransportOptions, 'tls' | 'expectInstance' | 'onOtherKey' | 'plain'> = {}) {
    const host = baseUrl.host
    if (baseUrl.protocol === 'https:' && opts.tls) {
      let expect = opts.expectInstance
      this.agent = new PinnedAgent(opts.tls, (socket) => {
        const key = peerInstanceKey(socket)
        if (!key) return pollenError('POLLEN_CHANNEL_MISMATCH', `${host} did not present an Ed25519 instance certificate; is it a pollen instance (not a TLS-terminating proxy, docs/operations.md)?`)
        const id = instanceIdOf(key)
        if (expect && id !== expect) {
          opts.onOtherKey?.(key)
          return pollenError('POLLEN_PEER_KEY_CHANGED', `${host} proved instance ${formatInstanceId(id)}, not the pinned ${formatInstanceId(expect)}; nothing was sent to it. If the peer was reinstalled, accept the new id with \`pollen peer set NAME --accept-key ${formatInstanceId(id)}\``)
        }
        // First contact: every later connection must prove the same key.
        expect = id
        this.peerKey = key
        return undefined
      })
    } else {
      this.agent = new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS })
      if (baseUrl.protocol === 'https:') this.refusal = pollenError('POLLEN_INVALID_CONFIG', 'an https:// peer needs this instance\'s TLS certificate')
      else if (!opts.plain) this.refusal = pollenError('POLLEN_PLAIN_REFUSED', `peer URL ${baseUrl.origin} is plain http://, which sends the API key and records readable by anyone on the network; use https:// (or set "sync": {"plain": true} on both instances, docs/operations.md)`)
    }
  }

  /** Closes every connection, idle or not. */
  close(): void {
    this.agent.destroy()
  }
}

export class HttpSyncTransport implements SyncTransport {
  readonly #base: URL
  readonly #conns: PeerConnections
  /** Connections made for this transport alone are closed with it; shared ones stay with their owner. */
  readonly #owned: boolean
  readonly #idle: number
  readonly #maxFrame: number
  readonly #signal?: AbortSignal
  bytesIn = 0
  bytesOut = 0
  requests = 0
  reached = false

  constructor(baseUrl: string, opts: HttpTransportOptions & { connections?: PeerConnections } = {}) {
    this.#base = new URL(baseUrl.endsWith('/') ? baseUrl : baseUrl + '/')
    this.#owned = !opts.connections
    this.#conns = opts.connections ?? new PeerConnections(this.#base, opts)
    this.#idle = opts.idleTimeoutMs ?? 60_000
    this.#maxFrame = opts.maxFrameBytes ?? MAX_FRAME_BYTES
    this.#signal = opts.signal
  }

  /** The Ed25519 key the server proved on its TLS connections. */
  get peerKey(): Uint8Array | undefined {
    return this.#conns.peerKey
  }

  /** Closes the kept-alive connections, unless they are shared. */
  close(): void {
    if (this.#owned) this.#conns.close()
  }

  #request(path: string, creds: Credentials, body: Uint8Array | AsyncIterable<Uint8Array>, retry = true): Promise<IncomingMessage> {
    const url = new URL(path, this.#base)
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    this.requests += 1
    return new Promise((resolve, reject) => {
      let settled = false
      const fail = (err: unknown) => {
        if (settled) return
        settled = true
        reject(unreachable(url, err))
      }
      if (this.#signal?.aborted) return fail(pollenError('POLLEN_SYNC_FAILED', 'the daemon is stopping'))
      if (this.#conns.refusal) return fail(this.#conns.refusal)
      const req = send(url, { method: 'POST', agent: this.#conns.agent, signal: this.#signal, headers: { 'content-type': FRAME_TYPE, authorization: `Pollen ${creds.user}:${creds.key}`, ...(body instanceof Uint8Array ? { 'content-length': body.length } : {}) } }, (res) => {
        settled = true
        res.setTimeout(this.#idle, () => res.destroy(pollenError('POLLEN_PEER_UNREACHABLE', `no data from ${url.host} for ${this.#idle / 1000} s`)))
        resolve(res)
      })
      // The pinned agent hands a TLS socket over only once its handshake and pin check passed.
      req.on('socket', (socket) => {
        if (!socket.connecting) this.reached = true
        else socket.once('connect', () => (this.reached = true))
      })
      req.setTimeout(this.#idle, () => req.destroy(pollenError('POLLEN_PEER_UNREACHABLE', `no answer from ${url.host} for ${this.#idle / 1000} s`)))
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed while it was idle: the request never
        // reached it, so it is sent once more on a new connection (a buffered body only).
        if (retry && !settled && req.reusedSocket && err.code === 'ECONNRESET' && body instanceof Uint8Array) {
          settled = true
          resolve(this.#request(path, creds, body, false))
        } else fail(err)
      })
      if (body instanceof Uint8Array) {
        this.bytesOut += body.length
        req.end(body)
        return
      }
      void (async () => {
        try {
          for await (const piece of body) {
            this.bytesOut += piece.length
            if (!req.write(piece)) await new Promise<void>((r) => req.once('drain', r))
            if (settled && req.destroyed) return
          }
          req.end()
        } catch (err) {
          req.destroy(err as Error)
          fail(err)
        }
      })()
    })
  }

  async #errorOf(res: IncomingMessage): Promise<Error> {
    const body = await this.#readAll(res, MAX_ERROR_BODY)
    if (!body) return pollenError('POLLEN_SYNC_FAILED', `peer answered HTTP ${res.statusCode} with an error body over ${MAX_ERROR_BODY} bytes; it was not read`)
    const text = body.toString('utf8')
    try {
      const body = JSON.parse(text) as { code?: unknown; message?: unknown }
      if (isErrorCode(body.code)) return pollenError(body.code, `peer: ${String(body.message)}`)
    } catch {
      // not JSON: fall through
    }
    return pollenError('POLLEN_SYNC_FAILED', `peer answered HTTP ${res.statusCode} without an error code`)
  }

  /** A body read whole, or undefined (and the answer dropped) once it is over `max` bytes. */
  async #readAll(res: IncomingMessage, max: number): Promise<Buffer | undefined> {
    if (Number(res.headers['content-length'] ?? 0) > max) {
      res.destroy()
      return undefined
    }
    const parts: Buffer[] = []
    let size = 0
    for await (const c of res) {
      this.bytesIn += (c as Buffer).length
      size += (c as Buffer).length
      // Leaving the loop destroys the answer: nothing more of it is read.
      if (size > max) return undefined
      parts.push(c as Buffer)
    }
    return Buffer.concat(parts)
  }

  /**
   * The answer's bytes as they arrive. Read eagerly into a queue of at most two frames: when
   * the link is cut, every byte that did arrive is still handed over (so each complete chunk
   * is applied) before the error — a stream destroyed by the cut would otherwise drop what it
   * had buffered. Each frame is bounded by `maxFrameBytes` as it is read (readFrames).
   */
  async *#counted(res: IncomingMessage): AsyncIterable<Uint8Array> {
    const queue: Buffer[] = []
    // Two of the largest frames: past that the answer is paused, and the peer waits on its
    // socket, until the frames are taken. (What a cut drops while paused is fetched again.)
    const most = 2 * this.#maxFrame
    let queued = 0
    let failure: Error | undefined
    let ended = false
    let wake: (() => void) | undefined
    const notify = () => {
      wake?.()
      wake = undefined
    }
    res.on('data', (c: Buffer) => {
      this.bytesIn += c.length
      queue.push(c)
      queued += c.length
      if (queued > most) res.pause()
      notify()
    })
    res.on('end', () => {
      ended = true
      notify()
    })
    res.on('error', (err) => {
      failure = err
      notify()
    })
    res.on('close', () => {
      if (!ended && !failure) failure = pollenError('POLLEN_PEER_UNREACHABLE', 'the connection was cut mid-answer')
      notify()
    })
    for (;;) {
      const next = queue.shift()
      if (next) {
        queued -= next.length
        if (queued <= most / 2 && res.isPaused()) res.resume()
        yield next
        continue
      }
      if (failure) throw unreachable(new URL(this.#base), failure)
      if (ended) return
      await new Promise<void>((r) => (wake = r))
    }
  }

  async open(creds: Credentials, body: Uint8Array): Promise<AsyncIterable<unknown>> {
    const res = await this.#request('v1/sync/open', creds, body)
    if (res.statusCode !== 200) throw await this.#errorOf(res)
    return readFrames(this.#counted(res), this.#maxFrame)
  }

  async ack(creds: Credentials, session: string, body: Uint8Array): Promise<void> {
    const res = await this.#request(`v1/sync/${encodeURIComponent(session)}/ack`, creds, body)
    if (res.statusCode !== 204) throw await this.#errorOf(res)
    await this.#readAll(res, MAX_ERROR_BODY)
  }

  async push(creds: Credentials, session: string, frames: AsyncIterable<Uint8Array>): Promise<unknown> {
    const res = await this.#request(`v1/sync/${encodeURIComponent(session)}/push`, creds, frames)
    if (res.statusCode !== 200) throw await this.#errorOf(res)
    for await (const frame of readFrames(this.#counted(res), this.#maxFrame)) return frame
    throw pollenError('POLLEN_BAD_MESSAGE', 'the peer answered the push with an empty body')
  }
}

function unreachable(url: URL, err: unknown) {
  const e = err as NodeJS.ErrnoException & { code?: string }
  if (e && typeof e.code === 'string' && e.code.startsWith('POLLEN_')) return err as Error
  return pollenError('POLLEN_PEER_UNREACHABLE', `cannot reach ${url.host}: ${e?.code ?? e?.message ?? String(err)}`, { cause: err })
}
