/**
 * The sync API over HTTP (fastify): `POST /v1/sync/open` answers with a stream of frames
 * (the session, then the pull's chunks); `POST /v1/sync/:session/ack` takes the client's
 * acknowledgement of pulled chunks (204); `POST /v1/sync/:session/push` takes a stream of
 * frames and answers with the totals. Errors before streaming are JSON `{code, message}`
 * with a 4xx status; an error mid-stream is an in-band error frame.
 *
 * With TLS credentials the API is https only: TLS 1.3, a client certificate requested but
 * not judged by a CA (pollen pins keys, not names); the certificate's Ed25519 key is the
 * channel key every request is checked against (core/sync/channel.ts).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { peerInstanceKey, type TlsCredentials } from './tlsIdentity.js'
import { Readable } from 'node:stream'
import { pollenError } from '../core/errors.js'
import { encodeFrame, errorFrame, PROTOCOL_VERSION, readFrames, type Frame } from '../core/sync/wire/frames.js'
import type { SyncServer } from '../core/sync/server.js'
import type { UserInfo } from '../core/access/users.js'
import { fromFastifyError, type ErrorEdge } from './fastifyErrors.js'

export const FRAME_TYPE = 'application/x-pollen-frames'

/**
 * How the sync API bounds what a peer can hold of it, with or without a key (docs/protocol.md
 * §10.5). A request is authenticated from its headers before a byte of its body is read.
 */
export interface HttpLimits {
  /** Open connections, TLS handshakes included: one more is closed as it is accepted. */
  maxConnections: number
  /** A TLS handshake not done by then is dropped (Node's default is 120 s). */
  handshakeTimeoutMs: number
  /** A request's headers must have arrived whole by then (checked every few seconds). */
  headersTimeoutMs: number
  /** No byte moving either way for this long closes a connection, as the client's own idle timeout does. */
  idleTimeoutMs: number
  /** A kept-alive connection waiting for its next request is closed after this. */
  keepAliveTimeoutMs: number
  /** Requests one user may have in progress; a sync has at most two (its pull and an ack, or its push). */
  maxRequestsPerUser: number
}

/**
 * 256 connections of headers and TLS state are about 20 MB, far inside the unit's 448 MB;
 * a school's or a district's peers sync a few at a time, two connections each.
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxConnections: 256,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 20_000,
  maxRequestsPerUser: 8,
}

/** The routes that need a user: authenticated in `onRequest`, before their bodies are read. */
const USER_ROUTES = new Set(['/v1/sync/open', '/v1/sync/:session/ack', '/v1/sync/:session/push'])

/** Parses `Authorization: Pollen USER:KEY`. */
export function parseAuthorization(header: string | undefined): { user?: string; key?: string } {
  const m = /^Pollen ([^:\s]+):(\S+)$/.exec(header ?? '')
  return m ? { user: m[1], key: m[2] } : {}
}

/** The sync API's answers to errors: malformed requests are POLLEN_BAD_MESSAGE, the rest POLLEN_SYNC_FAILED. */
const SYNC_EDGE: ErrorEdge = { badRequest: 'POLLEN_BAD_MESSAGE', internal: 'POLLEN_SYNC_FAILED', notFound: 'no such sync endpoint' }

async function* frameBytes(frames: AsyncIterable<Frame>): AsyncIterable<Uint8Array> {
  try {
    for await (const f of frames) yield encodeFrame(f)
  } catch (err) {
    yield encodeFrame(errorFrame(fromFastifyError(err, SYNC_EDGE)))
  }
}

/** `head`, then the rest of an iterator that was peeked; closing this closes the rest (a cut link ends the session). */
async function* prepend(head: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  try {
    yield* head
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value
  } finally {
    await rest.return?.()
  }
}

/** Builds the sync API app around a SyncServer. */
export function buildSyncApi(
  server: SyncServer,
  hooks: { onServed?: (e: { route: string; ok: boolean; code?: string }) => void } = {},
  tls?: TlsCredentials,
  httpLimits: Partial<HttpLimits> = {},
): FastifyInstance {
  const limits = server.limits
  const http = { ...DEFAULT_HTTP_LIMITS, ...httpLimits }
  // Node checks the headers deadline on this interval, so it is late by up to one of them.
  const timers = { headersTimeout: http.headersTimeoutMs, connectionsCheckingInterval: Math.min(5_000, http.headersTimeoutMs) }
  const app = Fastify({
    logger: false,
    // Clients never resume sessions (adapters/httpSyncTransport.ts): every connection shows its certificate.
    ...(tls
      ? { https: { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3' as const, requestCert: true, rejectUnauthorized: false, handshakeTimeout: http.handshakeTimeoutMs, ...timers } }
      : { http: timers }),
    // Stopping drops open streams instead of waiting for them (each chunk is atomic).
    forceCloseConnections: true,
    bodyLimit: limits.maxOpenBytes,
    connectionTimeout: http.idleTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    // None for a whole request: a push streams for as long as it has operations to send, so
    // what bounds a request is the idle timeout, its body limit and the per-user count.
    requestTimeout: 0,
    // Malformed, cut or slow requests still get a stable code, and their connections close.
    clientErrorHandler: (err, socket) => {
      // Plain HTTP to the TLS port is answered 426 on the raw socket (tlsClientError, below).
      if (err.code === 'ERR_SSL_HTTP_REQUEST') return
      const late = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      // Any other failed or timed-out TLS handshake (Node hands those here too) has no HTTP to answer in.
      if (!socket.writable || !(late || String(err.code).startsWith('HPE_'))) return socket.destroy()
      const message = late ? `the request's headers did not arrive within ${http.headersTimeoutMs / 1000} s` : `malformed HTTP request: ${err.message}`
      const body = JSON.stringify(pollenError('POLLEN_BAD_MESSAGE', message).toJSON())
      socket.end(`HTTP/1.1 ${late ? '408 Request Timeout' : '400 Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy())
    },
  })
  app.server.maxConnections = http.maxConnections
  /** Each request's user, from its headers. */
  const users = new WeakMap<IncomingMessage, UserInfo>()
  /** Requests in progress per user name. */
  const inProgress = new Map<string, number>()
  /** Requests refused from their headers. */
  const refusedEarly = new WeakSet<IncomingMessage>()
  // A peer still speaking plain HTTP (an old version, or an http:// URL in plain mode) is told
  // why in one line, in a code every version knows, instead of a bare TLS alert.
  if (tls) {
    app.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: { _parent?: import('node:net').Socket }) => {
      const raw = socket._parent
      if (err.code !== 'ERR_SSL_HTTP_REQUEST' || !raw?.writable) return
      const body = JSON.stringify(pollenError('POLLEN_BAD_MESSAGE', `this pollen instance syncs over TLS 1.3 only (docs/protocol.md §10): upgrade pollen on your side and use an https:// URL for this peer`).toJSON())
      raw.end(`HTTP/1.1 426 Upgrade Required\r\nUpgrade: TLS/1.3\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    })
  }
  // Open bodies are buffered (small, bounded); push bodies are read as a stream of frames.
  app.addContentTypeParser(FRAME_TYPE, (req, payload, done) => {
    if (req.routeOptions.url === '/v1/sync/:session/push') done(null, payload)
    else {
      const chunks: Buffer[] = []
      const max = req.routeOptions.bodyLimit ?? limits.maxOpenBytes
      let size = 0
      let failed = false
      payload.on('data', (c: Buffer) => {
        if (failed) return
        size += c.length
        if (size > max) {
          // Refuse at once, but keep reading (and dropping) so the answer reaches the client.
          failed = true
          chunks.length = 0
          done(pollenError('POLLEN_BODY_TOO_LARGE', `the request body exceeds ${max} bytes`), undefined)
        } else chunks.push(c)
      })
      payload.on('end', () => {
        if (!failed) done(null, new Uint8Array(Buffer.concat(chunks)))
      })
      payload.on('error', (err) => {
        if (!failed) done(pollenError('POLLEN_BAD_MESSAGE', `the request body was cut: ${err.message}`, { cause: err }), undefined)
        failed = true
      })
    }
  })
  app.setErrorHandler((err, req, reply) => {
    const pe = fromFastifyError(err, SYNC_EDGE)
    hooks.onServed?.({ route: 'error', ok: false, code: pe.code })
    // Its body is never read: the connection closes rather than take in what the peer still sends.
    if (refusedEarly.has(req.raw)) reply.header('connection', 'close')
    return reply.code(pe.status).type('application/json').send(pe.toJSON())
  })
  app.setNotFoundHandler((req, reply) => reply.code(404).send(pollenError('POLLEN_NOT_FOUND', `no sync endpoint ${req.method} ${req.url}`).toJSON()))

  /** The key holding this request's TLS connection; refuses a TLS client without an instance certificate. */
  const channel = (req: FastifyRequest): Uint8Array | undefined => {
    if (!tls) return undefined
    const key = peerInstanceKey(req.raw.socket)
    if (!key) throw pollenError('POLLEN_CHANNEL_MISMATCH', 'connect with an Ed25519 instance certificate (pollen does this itself); a TLS client without one cannot sync')
    return key
  }
  // Channel, key and the per-user count are checked from the headers alone, before the body
  // parser runs: a peer without a key gets its refusal for the cost of its headers.
  app.addHook('onRequest', async (req, reply) => {
    if (!USER_ROUTES.has(req.routeOptions.url ?? '')) return
    try {
      channel(req)
      const { user, key } = parseAuthorization(req.headers.authorization)
      const info = await server.authenticate(user, key)
      const n = inProgress.get(info.name) ?? 0
      if (n >= http.maxRequestsPerUser) throw pollenError('POLLEN_SESSION_LIMIT', `user ${info.name} already has ${n} sync requests in progress; the limit is ${http.maxRequestsPerUser}`)
      inProgress.set(info.name, n + 1)
      reply.raw.once('close', () => {
        const left = (inProgress.get(info.name) ?? 1) - 1
        if (left > 0) inProgress.set(info.name, left)
        else inProgress.delete(info.name)
      })
      users.set(req.raw, info)
    } catch (err) {
      refusedEarly.add(req.raw)
      throw err
    }
  })
  const userOf = (req: FastifyRequest): UserInfo => {
    const user = users.get(req.raw)
    if (!user) throw new TypeError(`no user was authenticated for ${req.routeOptions.url}`)
    return user
  }

  app.get('/v1/info', async () => ({ instance: server.instance, protocol: PROTOCOL_VERSION }))

  app.post('/v1/sync/open', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!(req.body instanceof Uint8Array)) throw pollenError('POLLEN_BAD_MESSAGE', `send the open request as ${FRAME_TYPE}`)
    const user = userOf(req)
    // A pull waiting for the client's acks stops when its connection goes.
    const gone = new AbortController()
    reply.raw.once('close', () => gone.abort())
    const frames = await server.open(user, req.body, gone.signal, channel(req))
    hooks.onServed?.({ route: 'open', ok: true })
    reply.type(FRAME_TYPE)
    // A sync with nothing new is this one response: no Date header, and no chunked encoding
    // when the answer is the whole stream (it goes out with a Content-Length).
    reply.raw.sendDate = false
    const out = frameBytes(frames)[Symbol.asyncIterator]()
    const answer = await out.next()
    const next = await out.next()
    if (answer.done || next.done) return reply.send(Buffer.from(answer.value ?? new Uint8Array(0)))
    // Up to 64 KiB of frames are produced ahead of the socket, so the next chunk is ready when
    // the link can take it — and a slow link shows up soon as time the encoder waits (§7.1).
    return reply.send(Readable.from(prepend([answer.value, next.value], out), { objectMode: false, highWaterMark: 64 * 1024 }))
  })

  // An ack is about 10 bytes.
  app.post('/v1/sync/:session/ack', { bodyLimit: 64 }, async (req: FastifyRequest, reply: FastifyReply) => {
    if (!(req.body instanceof Uint8Array)) throw pollenError('POLLEN_BAD_MESSAGE', `send the ack as ${FRAME_TYPE}`)
    const user = userOf(req)
    await server.ack(user, (req.params as { session: string }).session, req.body, channel(req))
    reply.raw.sendDate = false
    return reply.code(204).send()
  })

  app.post('/v1/sync/:session/push', async (req: FastifyRequest, reply: FastifyReply) => {
    const user = userOf(req)
    const body = req.body as AsyncIterable<Uint8Array> | undefined
    if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') throw pollenError('POLLEN_BAD_MESSAGE', `send the push as ${FRAME_TYPE}`)
    const result = await server.push(user, (req.params as { session: string }).session, readFrames(body, limits.maxFrameBytes), channel(req))
    hooks.onServed?.({ route: 'push', ok: true })
    reply.type(FRAME_TYPE)
    reply.raw.sendDate = false
    return reply.send(Buffer.from(encodeFrame(result)))
  })
  return app
}
