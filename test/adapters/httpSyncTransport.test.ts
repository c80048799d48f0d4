/**
 * What a (malicious) server can make the client read (adapters/httpSyncTransport.ts, issue 17
 * item 7): a real HttpSyncTransport against a node:http server on loopback that answers with
 * huge bodies. An error answer is read to 64 KiB at most, or not at all when its length says
 * it is longer; a success answer streams no further ahead of its reader than two frames. The
 * assertions are on the bytes the client took in.
 */
import t, { type Test } from 'tap'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { HttpSyncTransport, MAX_ERROR_BODY } from '../../adapters/httpSyncTransport.js'
import { encodeFrame } from '../../core/sync/wire/frames.js'
import { codeOf } from '../helpers/errorCodes.js'

const MiB = 1024 * 1024
const CREDS = { user: 'school', key: 'k' }

/** Writes `total` bytes of `piece`s, waiting whenever the socket is full; stops when the client goes. */
async function flood(res: ServerResponse, piece: Uint8Array, total: number): Promise<void> {
  for (let sent = 0; sent < total && !res.destroyed; sent += piece.length) {
    if (!res.write(piece)) await new Promise((r) => (res.once('drain', r), res.once('close', r)))
  }
  res.end()
}

/** A server answering every request with `answer`; the transport to it (plain mode), closed at teardown. */
async function evil(t: Test, answer: (res: ServerResponse) => void, maxFrameBytes?: number): Promise<HttpSyncTransport> {
  const server = createServer((req, res) => {
    req.resume()
    answer(res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const transport = new HttpSyncTransport(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { plain: true, idleTimeoutMs: 20_000, maxFrameBytes })
  t.teardown(async () => {
    transport.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return transport
}

t.test('an error answer of 16 MB is read to its first 64 KiB, then dropped', async (t) => {
  const junk = new Uint8Array(64 * 1024).fill(0x41)
  const transport = await evil(t, (res) => {
    res.writeHead(500, { 'content-type': 'application/json' })
    void flood(res, junk, 16 * MiB)
  })
  t.equal(await codeOf(transport.open(CREDS, new Uint8Array(10))), 'POLLEN_SYNC_FAILED', 'open: the answer is a failure without a code')
  t.ok(transport.bytesIn <= MAX_ERROR_BODY + junk.length, `open: ${transport.bytesIn} bytes read of 16 MiB`)
  const before = transport.bytesIn
  t.equal(await codeOf(transport.ack(CREDS, 'session', new Uint8Array(3))), 'POLLEN_SYNC_FAILED', 'ack: the same')
  t.ok(transport.bytesIn - before <= MAX_ERROR_BODY + junk.length, `ack: ${transport.bytesIn - before} bytes read`)
})

t.test('an error answer whose length says 400 MB is not read at all', async (t) => {
  const transport = await evil(t, (res) => {
    res.writeHead(500, { 'content-type': 'application/json', 'content-length': String(400 * MiB) })
    void flood(res, new Uint8Array(64 * 1024), 400 * MiB)
  })
  t.equal(await codeOf(transport.push(CREDS, 'session', (async function* () {})())), 'POLLEN_SYNC_FAILED', 'push: refused')
  t.ok(transport.bytesIn <= 64 * 1024, `${transport.bytesIn} bytes read`)
})

t.test('a success answer streams no further ahead of its reader than two frames', async (t) => {
  const maxFrame = 256 * 1024
  const frame = encodeFrame({ t: 'error', code: 'POLLEN_SYNC_FAILED', message: 'x'.repeat(60 * 1024) })
  const transport = await evil(t, (res) => {
    res.writeHead(200, { 'content-type': 'application/x-pollen-frames' })
    void flood(res, frame, 32 * MiB)
  }, maxFrame)
  const frames = (await transport.open(CREDS, new Uint8Array(10)))[Symbol.asyncIterator]()
  t.notOk((await frames.next()).done, 'the first frame is taken; no other is')
  // Until the client has stopped taking bytes in.
  for (let last = -1, same = 0; same < 5; await new Promise((r) => setTimeout(r, 40))) {
    same = transport.bytesIn === last ? same + 1 : 0
    last = transport.bytesIn
  }
  t.ok(transport.bytesIn < 4 * maxFrame, `${transport.bytesIn} bytes read of 32 MiB sent`)
  await frames.return?.()
})
