/**
 * What a peer without a key (or with one) can hold of the sync API (adapters/httpSyncServer.ts,
 * issue 17 item 4), on a real fastify server on loopback, played over raw sockets: a request
 * is refused from its headers before its body is read and its connection closed; connections
 * over the cap are closed as they are accepted; a TLS handshake, a request's headers and a
 * kept-alive connection that take too long are dropped; one user's requests in progress are
 * bounded. The assertions are on bytes sent, answers and closed connections, not on times
 * (the timeouts are set short here so that what they close closes while the test waits).
 */
import t, { type Test } from 'tap'
import type { AddressInfo } from 'node:net'
import { buildSyncApi, DEFAULT_HTTP_LIMITS, FRAME_TYPE, type HttpLimits } from '../../adapters/httpSyncServer.js'
import { tlsCredentials, type TlsCredentials } from '../../adapters/tlsIdentity.js'
import { newIdentity } from '../../core/model/identity.js'
import { grant, node, storeDump, type Node } from '../helpers/syncNet.js'
import { rawConnect, sendUntilAnswered, type RawAnswer } from '../helpers/rawHttp.js'

const MB = 1_000_000

interface Served {
  port: number
  srv: Node
  /** A client instance's certificate (any Ed25519 one passes the channel check). */
  client: TlsCredentials
  /** `Authorization` of a read key on the server. */
  auth: string
  connections: () => Promise<number>
}

async function serve(t: Test, limits: Partial<HttpLimits> = {}, tls = true): Promise<Served> {
  const srv = await node('srv')
  const cli = await node('cli')
  await srv.lib.put({ partition: 'lib:a', title: { en: 'Already here' } })
  const user = await grant(srv, cli, 'read')
  const app = buildSyncApi(srv.server, {}, tls ? await tlsCredentials(srv.identity) : undefined, limits)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return {
    port: (app.server.address() as AddressInfo).port,
    srv,
    client: await tlsCredentials(newIdentity()),
    auth: `Pollen ${user}:${srv.keys.get(user) as string}`,
    connections: () => new Promise((r) => app.server.getConnections((_e, n) => r(n))),
  }
}

const post = (path: string, length: number, auth?: string) =>
  [`POST ${path} HTTP/1.1`, 'Host: x', `Content-Type: ${FRAME_TYPE}`, `Content-Length: ${length}`, ...(auth ? [`Authorization: ${auth}`] : [])].join('\r\n')

/** The answer's JSON code, or what came instead. */
const codeIn = (a: RawAnswer): string => {
  try {
    return String((JSON.parse(a.body) as { code?: unknown }).code)
  } catch {
    return `not JSON: ${a.body.slice(0, 80)}`
  }
}

/** Checks a refusal that came from the headers alone: its status and code, none of the body was needed, and the connection closes. */
async function refusedEarly(t: Test, a: RawAnswer, status: number, code: string, bodyLength: number, what: string): Promise<void> {
  t.equal(a.status, status, `${what}: HTTP ${status}`)
  t.equal(codeIn(a), code, `${what}: ${code}`)
  t.ok(a.bodySent < bodyLength, `${what}: answered after ${a.bodySent} of ${bodyLength} body bytes`)
  const closing = /\r\nconnection: close/i.test(a.head)
  t.ok(closing, `${what}: the answer closes the connection`)
  if (!closing) a.socket?.destroy()
  t.ok(await a.closed, `${what}: the server closed it`)
}

t.test('a wrong key, no key or a key over its request count is refused from the headers, before the body, and the connection closed', async (t) => {
  const s = await serve(t, { maxRequestsPerUser: 2 })
  const before = await storeDump(s.srv.store)
  const conn = () => rawConnect(s.port, s.client)
  const wrong = s.auth.replace(/:.*/, ':not-the-key')
  await refusedEarly(t, await sendUntilAnswered(conn(), post('/v1/sync/open', MB, wrong), MB), 401, 'POLLEN_UNAUTHORIZED', MB, 'open, wrong key, 1 MB body')
  await refusedEarly(t, await sendUntilAnswered(conn(), post('/v1/sync/open', MB), MB), 401, 'POLLEN_UNAUTHORIZED', MB, 'open, no key')
  await refusedEarly(t, await sendUntilAnswered(conn(), post('/v1/sync/0123/push', 64 * MB, wrong), 64 * MB), 401, 'POLLEN_UNAUTHORIZED', 64 * MB, 'push, wrong key, 64 MB body')
  await refusedEarly(t, await sendUntilAnswered(conn(), post('/v1/sync/0123/ack', 64 * MB, wrong), 64 * MB), 401, 'POLLEN_UNAUTHORIZED', 64 * MB, 'ack, wrong key')
  // Two requests of the read key in progress (their bodies still coming), then a third.
  const held = await Promise.all([conn(), conn()])
  for (const h of held) h.write(`${post('/v1/sync/open', 1000, s.auth)}\r\n\r\n`)
  await new Promise((r) => setTimeout(r, 50))
  await refusedEarly(t, await sendUntilAnswered(conn(), post('/v1/sync/open', MB, s.auth), MB), 429, 'POLLEN_SESSION_LIMIT', MB, 'a third request in progress')
  for (const h of held) h.destroy()
  t.same(await storeDump(s.srv.store), before, 'nothing stored changed')
})

t.test('300 connections with a wrong key and a 1 MB body each: all refused before their bodies, none left open', async (t) => {
  const s = await serve(t)
  const wrong = s.auth.replace(/:.*/, ':not-the-key')
  const answers = await Promise.all(Array.from({ length: 300 }, () => sendUntilAnswered(rawConnect(s.port, s.client), post('/v1/sync/open', MB, wrong), MB)))
  const sent = answers.reduce((n, a) => n + a.bodySent, 0)
  t.ok(answers.every((a) => a.bodySent < MB), `no body was sent whole (${sent} bytes in all, of ${300 * MB})`)
  t.ok(answers.every((a) => a.status === 401 || a.status === 0), 'each was answered 401, or closed at the connection cap')
  t.ok(answers.filter((a) => a.status === 401).length >= DEFAULT_HTTP_LIMITS.maxConnections / 2, 'most were answered')
  for (const a of answers) if (!/\r\nconnection: close/i.test(a.head)) a.socket?.destroy()
  await Promise.all(answers.map((a) => a.closed))
  t.equal(await s.connections(), 0, 'the server holds none of them')
})

/** Whether a fresh connection is served: a GET /v1/info answered 200, or closed unanswered. */
async function served(s: Served, tls: boolean): Promise<RawAnswer> {
  return sendUntilAnswered(rawConnect(s.port, tls ? s.client : undefined), 'GET /v1/info HTTP/1.1\r\nHost: x', 0)
}

t.test('connections over the cap are closed as they are accepted; the ones under it are served', async (t) => {
  const s = await serve(t, { maxConnections: 4 }, false)
  const answers: RawAnswer[] = []
  // One at a time, each kept open (keep-alive), so the count is exact.
  for (let i = 0; i < 6; i++) answers.push(await served(s, false))
  t.same(answers.map((a) => a.status), [200, 200, 200, 200, 0, 0], 'four served, two refused')
  t.ok(await answers[5].closed, 'the sixth was closed')
  for (const a of answers) a.socket?.destroy()
  await Promise.all(answers.map((a) => a.closed))
  t.equal((await served(s, false)).status, 200, 'once they are gone, a new connection is served')
})

t.test('a TLS handshake that never comes, headers that never end and an idle kept-alive connection are closed', { timeout: 30_000 }, async (t) => {
  const s = await serve(t, { handshakeTimeoutMs: 300, headersTimeoutMs: 300, keepAliveTimeoutMs: 300 })
  const silent = await rawConnect(s.port)
  t.ok(await new Promise((r) => silent.once('close', () => r(true))), 'a TCP connection that never starts its TLS handshake is closed')
  const slow = await rawConnect(s.port, s.client)
  slow.write('POST /v1/sync/open HTTP/1.1\r\nHost: x\r\n')
  let answer = ''
  slow.on('data', (d: Buffer) => (answer += d.toString('latin1')))
  await new Promise((r) => slow.once('close', r))
  t.match(answer, /^HTTP\/1\.1 408/, 'headers that never end: 408 and closed')
  const idle = await served(s, true)
  t.equal(idle.status, 200, 'a request is served...')
  t.ok(await idle.closed, '...and its connection, left idle, is closed')
})

t.test('the defaults the daemon serves with', async (t) => {
  t.same(DEFAULT_HTTP_LIMITS, { maxConnections: 256, handshakeTimeoutMs: 10_000, headersTimeoutMs: 20_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 20_000, maxRequestsPerUser: 8 }, 'as docs/protocol.md §10.5 lists them')
  const srv = await node('srv')
  const app = buildSyncApi(srv.server, {}, await tlsCredentials(srv.identity))
  t.teardown(() => app.close())
  t.equal(app.server.maxConnections, 256)
  t.equal(app.server.headersTimeout, 20_000)
  t.equal(app.server.keepAliveTimeout, 20_000)
  t.equal(app.server.timeout, 60_000, 'the idle timeout')
  t.equal(app.server.requestTimeout, 0, 'no deadline for a whole request: a push streams for as long as it lasts')
})
