/**
 * The CLI's client of the control API over the Unix socket. A missing or refusing socket
 * becomes POLLEN_DAEMON_NOT_RUNNING with how to start one; a connection the daemon drops
 * before its answer is complete (it was stopped or killed mid-answer) POLLEN_DAEMON_GONE.
 */
import { request } from 'node:http'
import { isErrorCode, pollenError } from '../core/errors.js'

export interface ControlResponse {
  status: number
  body: unknown
}

export class ControlClient {
  readonly socket: string
  /** The data directory the socket belongs to; undefined for the installed service's. */
  readonly #dataDir: string | undefined

  constructor(socket: string, dataDir?: string) {
    this.socket = socket
    this.#dataDir = dataDir
  }

  /** Sends one request; resolves with the decoded JSON body, rejects with the daemon's PollenError. */
  async call<T = unknown>(method: string, path: string, payload?: unknown, contentType = 'application/json'): Promise<T> {
    const res = await this.raw(method, path, payload, contentType)
    const body = parseAnswer(await readAll(res))
    if ((res.statusCode ?? 500) >= 400) throw remoteError(body, res.statusCode ?? 500)
    return body as T
  }

  /** Sends a request and yields each NDJSON line of the answer as it arrives. */
  async *stream(method: string, path: string, payload?: unknown, contentType = 'application/json'): AsyncIterable<Record<string, unknown>> {
    const res = await this.raw(method, path, payload, contentType)
    if ((res.statusCode ?? 500) >= 400) throw remoteError(parseAnswer(await readAll(res)), res.statusCode ?? 500)
    let buf = ''
    // A multi-byte character may be split across chunks: decode as a stream.
    const text = new TextDecoder('utf-8')
    const chunks = res[Symbol.asyncIterator]()
    for (;;) {
      const next = await chunks.next().catch((err: unknown) => {
        throw gone(err)
      })
      if (next.done) break
      buf += text.decode(next.value as Buffer, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (line.trim()) yield parseAnswer(line) as Record<string, unknown>
      }
    }
    if (buf.trim()) yield parseAnswer(buf) as Record<string, unknown>
  }

  raw(method: string, path: string, payload: unknown, contentType: string): Promise<import('node:http').IncomingMessage> {
    const data = payload === undefined ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload)
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socket, method, path, headers: data === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } },
        resolve,
      )
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') {
          reject(pollenError('POLLEN_DAEMON_NOT_RUNNING', `no pollen daemon is running on ${this.socket}; ${startHint(this.#dataDir)}`, { cause: err }))
        } else if (err.code === 'EACCES') {
          reject(pollenError('POLLEN_FORBIDDEN', `permission denied on ${this.socket}: run as the service user or a member of its group`, { cause: err }))
        } else reject(gone(err))
      })
      if (data !== undefined) req.write(data)
      req.end()
    })
  }
}

/** How to start the daemon this client looks for. */
function startHint(dataDir: string | undefined): string {
  return dataDir === undefined ? 'check `systemctl status pollen.socket pollen.service`' : `start one with \`pollen daemon --data-dir ${dataDir}\``
}

async function readAll(res: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = []
  try {
    for await (const c of res) chunks.push(c)
  } catch (err) {
    throw gone(err)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * A connection that ended before the answer did: reset, broken, or cut mid-body (Node's
 * "aborted", "socket hang up"). The daemon was stopped or killed while answering, and what it
 * was asked may or may not have been done. Other errors are passed on as they are.
 */
function gone(err: unknown): Error {
  const e = err as NodeJS.ErrnoException
  const dropped = e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.message === 'aborted' || e?.message === 'socket hang up'
  if (!dropped) return err instanceof Error ? err : new Error(String(err))
  return pollenError('POLLEN_DAEMON_GONE', 'the daemon closed the connection before answering; check `systemctl status pollen` and retry (list what you changed before repeating a change)', { cause: err })
}

/** A JSON answer of the daemon; a truncated or garbled one is reported, not thrown as a SyntaxError. */
function parseAnswer(text: string): unknown {
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch (err) {
    throw pollenError('POLLEN_DAEMON_GONE', 'the daemon\'s answer was cut short or is not JSON; check `systemctl status pollen` and retry', { cause: err })
  }
}

function remoteError(body: unknown, status: number) {
  const b = body as { code?: unknown; message?: unknown; details?: Record<string, unknown> } | undefined
  if (b && isErrorCode(b.code)) return pollenError(b.code, typeof b.message === 'string' ? b.message : b.code, b.details ? { details: b.details } : undefined)
  return pollenError('POLLEN_STORAGE', `the daemon answered ${status} without an error code`)
}
