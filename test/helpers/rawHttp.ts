/**
 * HTTP/1.1 by hand over one socket, for playing a peer that misbehaves: a body sent only as
 * long as no answer has come (does the server refuse from the headers, before the body?), and
 * the server's closing of the connection observed as it happens.
 */
import { connect as tcpConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { TlsCredentials } from '../../adapters/tlsIdentity.js'

/** What became of one request on a raw connection. */
export interface RawAnswer {
  /** The answer's status, 0 when none came. */
  status: number
  /** The answer's head (status line and headers) and what arrived of its body. */
  head: string
  body: string
  /** Body bytes written before the answer came (or the connection closed). */
  bodySent: number
  /** Settles when the connection closes (the server's doing, unless the test destroys `socket`). */
  closed: Promise<boolean>
  socket?: Socket
}

/** A connected socket to 127.0.0.1:`port`: TLS 1.3 with `tls` as the client's certificate, else plain TCP. */
export function rawConnect(port: number, tls?: TlsCredentials): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tls
      ? tlsConnect({ host: '127.0.0.1', port, key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3', rejectUnauthorized: false }, () => resolve(s))
      : tcpConnect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Writes `head` (request line and headers, without the blank line), then a body of
 * `bodyLength` zero bytes in 64 KiB pieces, a piece every few milliseconds, and stops
 * writing as soon as an answer's head has arrived or the connection closed. A socket that
 * fails to connect counts as closed without an answer.
 */
export async function sendUntilAnswered(connecting: Promise<Socket>, head: string, bodyLength: number): Promise<RawAnswer> {
  let socket: Socket
  try {
    socket = await connecting
  } catch {
    return { status: 0, head: '', body: '', bodySent: 0, closed: Promise.resolve(true) }
  }
  let got = ''
  let ended = false
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)))
  void closed.then(() => (ended = true))
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')))
  socket.on('error', () => undefined)
  socket.write(`${head}\r\n\r\n`)
  let sent = 0
  const answered = () => got.includes('\r\n\r\n') || ended
  while (!answered() && sent < bodyLength) {
    const n = Math.min(64 * 1024, bodyLength - sent)
    if (!socket.write(Buffer.alloc(n))) await Promise.race([new Promise((r) => socket.once('drain', r)), closed])
    sent += n
    await sleep(5)
  }
  while (!answered()) await Promise.race([sleep(5), closed])
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(got)?.[1] ?? 0)
  while (!ended && Buffer.byteLength(got.slice(got.indexOf('\r\n\r\n') + 4), 'latin1') < length) await Promise.race([sleep(5), closed])
  const [h = '', b = ''] = got.split('\r\n\r\n')
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(h)?.[1] ?? 0), head: h, body: b, bodySent: sent, closed, socket }
}
