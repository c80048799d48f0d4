/**
 * The serving side's pull pacing (core/sync/server.ts with core/sync/pacing.ts): a client that
 * takes chunks without acknowledging them stops the stream after one window of bytes; its
 * acks let the stream go on to the signed end.
 */
import { ownHead } from '../../../core/sync/restore.js'
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { instanceIdOf, sign } from '../../../core/model/identity.js'
import { pack } from '../../../core/msgpack.js'
import { decodeOpenedTerms, encodeOpenTerms } from '../../../core/sync/wire/openTerms.js'
import { encodePullAck, MIN_WINDOW } from '../../../core/sync/pacing.js'
import { isChunkFrame, isEndFrame, isOpenResponse, openSigned, PROTOCOL_VERSION, type OpenTerms } from '../../../core/sync/wire/frames.js'
import { pollenError } from '../../../core/errors.js'
import { grant, node, type Node } from '../../helpers/syncNet.js'

/** Whether `p` settles within `ms` (a stream that is not paused makes its next chunk in a few ms). */
async function settlesWithin<T>(p: Promise<T>, ms: number): Promise<boolean> {
  let done = false
  void p.then(() => (done = true))
  await new Promise((r) => setTimeout(r, ms))
  return done
}

function openRequest(client: Node, user: string, acks = true): { terms: OpenTerms; bytes: Uint8Array } {
  const terms: OpenTerms = {
    v: PROTOCOL_VERSION, user,
    client: { instance: instanceIdOf(client.identity.publicKey), publicKey: client.identity.publicKey, author: client.log.author },
    server: '', nonce: new Uint8Array(randomBytes(16)), mode: 'pull',
    filter: { prefixes: [''], languages: ['en', 'fr'] }, holder: [], acks,
    head: ownHead(client.identity, client.log), yourHead: null, chunkBytes: 0, maxRate: 0, maxBytes: 0, linkRate: 0,
  }
  const body = encodeOpenTerms(terms)
  return { terms, bytes: pack({ t: 'open', body, sig: sign(openSigned(body), client.identity.secretKey) }) }
}

t.test('a pull runs at most one window of bytes ahead of the client acks', async (t) => {
  const server = await node('srv', ['en', 'fr'], { maxOps: 40, maxBytes: 32 * 1024 })
  const client = await node('cli')
  // Random text does not compress: about 300 KiB of chunk data, several windows' worth.
  for (let i = 0; i < 100; i++) await server.lib.put({ partition: 'lib:a', title: { en: `r ${i}` }, description: { en: randomBytes(2400).toString('base64') } })
  const userName = await grant(server, client)
  const user = await server.users.authenticate(userName, server.keys.get(userName) as string)
  const request = openRequest(client, userName)
  const frames = (await server.server.open(user, request.bytes))[Symbol.asyncIterator]()
  const opened = (await frames.next()).value
  if (!isOpenResponse(opened)) return t.fail('no open answer')
  const { session } = decodeOpenedTerms(opened.body, { request: request.terms })

  // Take chunks, acknowledging none, until they fill the window.
  let inFlight = 0
  let taken = 0
  while (inFlight < MIN_WINDOW) {
    const r = await frames.next()
    if (r.done || !isChunkFrame(r.value)) return t.fail('the stream ended inside the first window')
    inFlight += r.value.data.length
    taken += 1
  }
  t.ok(taken > 1, `${taken} chunks, ${inFlight} bytes, filled the window`)
  const pending = frames.next()
  t.notOk(await settlesWithin(pending, 500), 'with the window full and nothing acknowledged, no further chunk comes')
  await server.server.ack(user, session, encodePullAck({ seq: taken - 1, idleMs: 0, spanMs: 0 }))
  let chunks = taken
  let ended = false
  for (let r = await pending; !r.done; r = await frames.next()) {
    if (isEndFrame(r.value)) {
      ended = true
      t.equal(r.value.chunks, chunks, 'the end frame counts every chunk')
      continue
    }
    if (!isChunkFrame(r.value)) return t.fail('unexpected frame')
    await server.server.ack(user, session, encodePullAck({ seq: chunks, idleMs: 0, spanMs: 0 }))
    chunks += 1
  }
  t.ok(ended, 'acknowledged chunk by chunk, the pull reaches its signed end')
})

t.test('a client that does not say it acknowledges chunks is never waited for', async (t) => {
  // A stall limit of an hour: had the server waited for acks, this pull would never end.
  const server = await node('srv', ['en', 'fr'], { maxOps: 40, maxBytes: 32 * 1024 }, { pacing: { stallMs: 3_600_000 } })
  const client = await node('cli')
  for (let i = 0; i < 100; i++) await server.lib.put({ partition: 'lib:a', title: { en: `r ${i}` }, description: { en: randomBytes(2400).toString('base64') } })
  const userName = await grant(server, client)
  const user = await server.users.authenticate(userName, server.keys.get(userName) as string)
  let bytes = 0
  let ended = false
  for await (const f of await server.server.open(user, openRequest(client, userName, false).bytes)) {
    if (isChunkFrame(f)) bytes += f.data.length
    if (isEndFrame(f)) ended = true
  }
  t.ok(ended, 'the pull reached its end without a single ack')
  t.ok(bytes > MIN_WINDOW, `${bytes} bytes, over a window`)
})

/**
 * Makes the server's reads of operations fail once `after` of them were read; each failing
 * read first waits for `gate` (when given), so a test can decide when it fails.
 */
function failOpsReadsAfter(server: Node, after: number, gate?: Promise<void>): void {
  const store = server.log.store
  const range = store.range.bind(store)
  let read = 0
  store.range = async function* (r) {
    // Only the diff's scans count (`gt`), not the reads of hashes a chunk's seals need.
    if (r.gt === undefined) return yield* range(r)
    for await (const entry of range(r)) {
      if (entry[0].startsWith('A\u0000') && ++read > after) {
        await gate
        throw pollenError('POLLEN_STORAGE', 'injected read failure')
      }
      yield entry
    }
  }
}

async function openedPull(server: Node, client: Node) {
  const userName = await grant(server, client)
  const user = await server.users.authenticate(userName, server.keys.get(userName) as string)
  const frames = (await server.server.open(user, openRequest(client, userName, false).bytes))[Symbol.asyncIterator]()
  const opened = (await frames.next()).value
  if (!isOpenResponse(opened)) throw new Error('no open answer')
  return frames
}

t.test('a read that fails while the next chunk is read ahead ends the pull with its error, and nothing is left unhandled', async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown) => unhandled.push(err)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => void process.off('unhandledRejection', onUnhandled))

  const server = await node('srv', ['en', 'fr'], { maxOps: 10, maxBytes: 32 * 1024 })
  const client = await node('cli')
  for (let i = 0; i < 60; i++) await server.lib.put({ partition: 'lib:a', title: { en: `r ${i}` } })
  failOpsReadsAfter(server, 35)
  const frames = await openedPull(server, client)
  let chunks = 0
  const err = await (async () => {
    try {
      for (let r = await frames.next(); !r.done; r = await frames.next()) if (isChunkFrame(r.value)) chunks += 1
    } catch (e) {
      return e as { code?: string }
    }
  })()
  t.equal(err?.code, 'POLLEN_STORAGE', 'the stream ends with the storage error')
  t.ok(chunks >= 3 && chunks < 6, `the chunks before the failure arrived (${chunks})`)

  // The consumer stops while the read ahead is still running; the read then fails.
  let open: () => void = () => undefined
  const gate = new Promise<void>((r) => (open = r))
  const again = await node('srv2', ['en', 'fr'], { maxOps: 10, maxBytes: 32 * 1024 })
  for (let i = 0; i < 60; i++) await again.lib.put({ partition: 'lib:a', title: { en: `r ${i}` } })
  failOpsReadsAfter(again, 25, gate)
  const stopping = await openedPull(again, client)
  for (let taken = 0; taken < 2; ) if (isChunkFrame((await stopping.next()).value)) taken += 1
  const returned = stopping.return?.()
  open()
  await returned
  await new Promise((r) => setTimeout(r, 50))
  t.same(unhandled, [], 'no unhandled rejection from a read that failed after the stream stopped')
})
