/**
 * The SyncTransport conformance suite: every transport (in-process, HTTP) runs it. Two
 * in-memory nodes from test/helpers/syncNet.ts sync through the transport under test with the
 * real client (core/sync/client.ts) against the real server (core/sync/server.ts). It checks
 * that pulls and pushes arrive whole, that bytes and requests are counted, that a sync with
 * nothing new is one request moving nothing, and that the server's refusals arrive as the same
 * POLLEN_* codes whatever the transport.
 *
 * `makeTransport(server)` gives a fresh transport (fresh counters) per sync; `close()` ends it.
 */
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { encode } from '@msgpack/msgpack'
import { isPollenError } from '../../core/errors.js'
import { key } from '../../core/log/keys.js'
import { makeOperation, type Operation } from '../../core/model/operation.js'
import { syncWithPeer, type SyncResult } from '../../core/sync/client.js'
import { encodeFrame, isErrorFrame, type SyncMode } from '../../core/sync/wire/frames.js'
import { encodePullAck } from '../../core/sync/pacing.js'
import type { SyncServer } from '../../core/sync/server.js'
import type { SyncTransport } from '../../core/sync/transport.js'
import type { Role } from '../../core/access/users.js'
import { newIdentity, type Identity } from '../../core/model/identity.js'
import { allOps } from '../helpers/instances.js'
import { grant, node, type Node } from '../helpers/syncNet.js'

/** A fresh transport to `server`; the identities are the client's and the server's (for TLS certificates). */
export type MakeTransport = (server: SyncServer, ids: { client: Identity; server: Identity }) => Promise<{ transport: SyncTransport; close: () => Promise<void> }>

interface SyncOpts {
  mode?: SyncMode
  prefixes?: string[]
  role?: Role
  scope?: string[]
  /** Overrides the issued API key. */
  key?: string
  /** The server key the client expects (base64), as a pinned peer would. */
  pinnedKey?: string
}

/** `client` syncs with `server` through a fresh transport from `make`. */
async function syncOver(make: MakeTransport, client: Node, server: Node, opts: SyncOpts = {}): Promise<SyncResult> {
  const user = await grant(server, client, opts.role ?? 'write', opts.scope ?? [''])
  const { transport, close } = await make(server.server, { client: client.identity, server: server.identity })
  try {
    return await syncWithPeer(
      { log: client.log, identity: client.identity, transport },
      { name: server.name, user, key: opts.key ?? (server.keys.get(user) as string), filters: opts.prefixes ?? [''], pinnedKey: opts.pinnedKey },
      opts.mode ?? 'both',
    )
  } finally {
    await close()
  }
}

/** Small chunks on the serving side, so a pull of a few dozen resources spans several chunks. */
const SMALL_CHUNKS = { maxOps: 7, maxBytes: 4096 }

async function putMany(n: Node, count: number, partition: string, tag: string): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const { id } = await n.lib.put({ partition, title: { en: `${tag} ${i}`, fr: `${tag} fr ${i}` }, description: { en: `About ${tag} number ${i}.` }, tags: [tag] })
    ids.push(id)
  }
  return ids
}

const hex = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'))

/** Checks every operation under `prefix` in `from` is held by `to` with the same hash, and record projections match byte for byte. */
async function assertHeld(t: Test, from: Node, to: Node, ops: Operation[], ids: string[]): Promise<void> {
  let missing = 0
  for (const op of ops) {
    const got = await to.log.getOp(op.author, op.counter)
    if (!got || hex(got.hash) !== hex(op.hash)) missing += 1
  }
  t.equal(missing, 0, `all ${ops.length} operations arrived with their hashes`)
  let differ = 0
  for (const id of ids) {
    const a = await from.store.get(key.state('resource', id))
    const b = await to.store.get(key.state('resource', id))
    const ca = await from.store.get(key.conflict('resource', id))
    const cb = await to.store.get(key.conflict('resource', id))
    if (a === undefined || hex(a) !== hex(b) || hex(ca) !== hex(cb)) differ += 1
  }
  t.equal(differ, 0, `record and conflict projections of ${ids.length} resources are byte-equal on both sides`)
}

/** The POLLEN_* code a transport call produced, whether thrown or sent as an error frame. */
async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    let v = await run()
    if (v && typeof v === 'object' && Symbol.asyncIterator in v) {
      for await (const f of v as AsyncIterable<unknown>) {
        v = f
        break
      }
    }
    return isErrorFrame(v) ? v.code : `no error: ${JSON.stringify(v)}`
  } catch (err) {
    return isPollenError(err) ? err.code : `non-pollen error: ${String(err)}`
  }
}

export function runTransportConformance(t: Test, name: string, makeTransport: MakeTransport): void {
  t.test(`${name}: a pull of N resources arrives complete, only for the synced partition`, async (t) => {
    const server = await node('srv', ['en', 'fr'], SMALL_CHUNKS)
    const client = await node('cli')
    const inA = await putMany(server, 24, 'lib:a', 'alpha')
    const inB = await putMany(server, 6, 'lib:b', 'beta')
    const opsA = (await allOps(server.log)).filter((op) => op.partition === 'lib:a')
    const r = await syncOver(makeTransport, client, server, { mode: 'pull', prefixes: ['lib:a'] })
    t.equal(r.code, null, 'no error code')
    t.ok(r.ok, r.error ?? 'ok')
    t.equal(r.pulled, opsA.length, 'pulled every operation under lib:a')
    t.equal(r.new, inA.length, 'every resource is new on the client')
    t.ok(r.chunks > 1, `the pull spanned several chunks (${r.chunks})`)
    t.equal(r.requests, 1, 'a pull is one request')
    await assertHeld(t, server, client, opsA, inA)
    for (const id of inB) t.equal(await client.store.get(key.state('resource', id)), undefined, `lib:b resource ${id} was not sent`)
    t.equal((await allOps(client.log)).length, opsA.length, 'nothing else arrived')
    t.equal((await client.lib.get(inA[0])).status, 'pending', 'a synced resource lands as pending')
  })

  t.test(`${name}: a pull of several windows is paced by acks beside the stream and arrives whole`, async (t) => {
    // With a stall limit far beyond the test's timeout, the pull can only finish if every
    // window is released by an ack that reached the server.
    const server = await node('srv', ['en', 'fr'], undefined, { pacing: { stallMs: 3_600_000 } })
    const client = await node('cli')
    // Random text does not compress: 160 resources carry about 400 KiB of chunk data.
    const ids: string[] = []
    for (let i = 0; i < 160; i++) ids.push((await server.lib.put({ partition: 'lib:big', title: { en: `big ${i}` }, description: { en: randomBytes(2400).toString('base64') } })).id)
    const ops = await allOps(server.log)
    const r = await syncOver(makeTransport, client, server, { mode: 'pull' })
    t.ok(r.ok, r.error ?? 'ok')
    t.ok(r.bytesIn > 3 * 128 * 1024, `the pull moved ${r.bytesIn} bytes, over three first windows`)
    t.ok(r.requests > 1, `the open request and ${r.requests - 1} acks`)
    t.equal(r.pulled, ops.length, 'every operation arrived')
    await assertHeld(t, server, client, ops, ids)
  })

  t.test(`${name}: a push arrives`, async (t) => {
    const server = await node('srv')
    const client = await node('cli', ['en', 'fr'])
    const ids = await putMany(client, 9, 'lib:p', 'pushed')
    const ops = await allOps(client.log)
    const r = await syncOver(makeTransport, client, server, { mode: 'push', prefixes: ['lib:p'] })
    t.ok(r.ok, r.error ?? 'ok')
    t.equal(r.code, null)
    t.equal(r.pushed, ops.length, 'pushed every operation')
    t.equal(r.requests, 2, 'a push is the open request and the push request')
    await assertHeld(t, client, server, ops, ids)
    t.equal((await server.lib.get(ids[0])).status, 'pending', 'a pushed resource lands as pending on the server')
  })

  t.test(`${name}: bytes and requests are counted`, async (t) => {
    const server = await node('srv', ['en', 'fr'], SMALL_CHUNKS)
    const client = await node('cli')
    await putMany(server, 10, 'lib:a', 'down')
    await putMany(client, 10, 'lib:a', 'up')
    const r = await syncOver(makeTransport, client, server)
    t.ok(r.ok, r.error ?? 'ok')
    t.ok(r.pulled > 0 && r.pushed > 0, `pulled ${r.pulled}, pushed ${r.pushed}`)
    t.equal(r.requests, 2, 'pull and push: two requests')
    t.ok(r.bytesIn > 0, `bytesIn ${r.bytesIn}`)
    t.ok(r.bytesOut > 0, `bytesOut ${r.bytesOut}`)
    // Twenty resources' text does not fit in fewer bytes than it has; the counts are real body bytes.
    t.ok(r.bytesIn > 200 && r.bytesOut > 200, 'both directions carried the chunks')
  })

  t.test(`${name}: a repeat sync with nothing new is one request and moves nothing`, async (t) => {
    const server = await node('srv')
    const client = await node('cli')
    await putMany(server, 5, 'lib:a', 'down')
    await putMany(client, 5, 'lib:a', 'up')
    const first = await syncOver(makeTransport, client, server)
    t.ok(first.ok, first.error ?? 'ok')
    const again = await syncOver(makeTransport, client, server)
    t.ok(again.ok, again.error ?? 'ok')
    t.equal(again.requests, 1, 'exactly one request')
    t.equal(again.pulled, 0, 'pulled nothing')
    t.equal(again.pushed, 0, 'pushed nothing')
    t.equal(again.chunks, 0, 'no chunks')
    t.ok(again.bytesIn > 0 && again.bytesOut > 0, 'the round trip is counted')
    t.ok(again.bytesIn + again.bytesOut < 2048, `a sync with nothing new costs a few hundred bytes (${again.bytesIn} in, ${again.bytesOut} out)`)
  })

  t.test(`${name}: repeated syncs with nothing new keep working (sessions are released)`, async (t) => {
    const server = await node('srv')
    const client = await node('cli')
    await putMany(server, 2, 'lib:a', 'x')
    const limit = server.server.limits.maxSessionsPerUser
    const codes: (string | null)[] = []
    for (let i = 0; i < limit + 2; i++) codes.push((await syncOver(makeTransport, client, server)).code)
    t.same(codes, codes.map(() => null), `${limit + 2} consecutive default (pull+push) syncs by one user all succeed`)
  })

  t.test(`${name}: a wrong API key fails with POLLEN_UNAUTHORIZED`, async (t) => {
    const server = await node('srv')
    const client = await node('cli')
    await putMany(server, 2, 'lib:a', 'x')
    const r = await syncOver(makeTransport, client, server, { key: 'not-the-key' })
    t.notOk(r.ok)
    t.equal(r.code, 'POLLEN_UNAUTHORIZED')
    t.equal(r.pulled, 0)
    t.equal((await allOps(client.log)).length, 0, 'nothing arrived')
    const unknownUser = await syncOver(makeTransport, client, server, { key: '' })
    t.equal(unknownUser.code, 'POLLEN_UNAUTHORIZED', 'an empty key is refused the same way')
  })

  t.test(`${name}: the server's refusals arrive as the same POLLEN_* codes`, async (t) => {
    const server = await node('srv')
    const client = await node('cli')
    await putMany(server, 2, 'lib:a', 'x')
    await putMany(client, 2, 'lib:a', 'y')

    const scoped = await syncOver(makeTransport, client, server, { scope: ['lib:a'], prefixes: ['lib:b'], mode: 'pull' })
    t.equal(scoped.code, 'POLLEN_OUT_OF_SCOPE', 'a filter outside the key scope')

    const readOnly = await syncOver(makeTransport, client, server, { role: 'read', mode: 'push' })
    t.equal(readOnly.code, 'POLLEN_FORBIDDEN', 'a push-only sync with a read-only key')

    const pinned = await syncOver(makeTransport, client, server, { pinnedKey: Buffer.from(newIdentity().publicKey).toString('base64') })
    t.equal(pinned.code, 'POLLEN_PEER_KEY_CHANGED', 'the client expects another server instance')

    // The push phase: the server already holds the client's counter 1 with other content.
    const fake = makeOperation({ author: client.log.author, counter: 1, kind: 'resource', id: 'forged', partition: 'lib:a', type: 'put', layer: '', hlc: 1, tx: 1, deps: {}, body: { title: 'forged' } })
    await server.log.applyRemote([fake])
    const reuse = await syncOver(makeTransport, client, server, { mode: 'push' })
    t.equal(reuse.code, 'POLLEN_COUNTER_REUSE', 'an error while applying a pushed chunk')
    // The same refusal while the client still has most of a large push to send.
    await putMany(client, 150, 'lib:a', 'bulk')
    const bigReuse = await syncOver(makeTransport, client, server, { mode: 'push' })
    t.equal(bigReuse.code, 'POLLEN_COUNTER_REUSE', 'an error at the first chunk of a large push')

    // Straight through the transport: garbage open bodies and unknown sessions.
    const user = await grant(server, client, 'write', [''])
    const creds = { user, key: server.keys.get(user) as string }
    const made = await makeTransport(server.server, { client: client.identity, server: server.identity })
    const transport = made.transport
    try {
      t.equal(await codeOf(() => transport.open(creds, new Uint8Array([0xc1, 0xc1, 0xc1]))), 'POLLEN_BAD_MESSAGE', 'an open body that is not msgpack')
      t.equal(await codeOf(() => transport.open(creds, encode({ t: 'open', body: new Uint8Array(3), sig: new Uint8Array(64) }))), 'POLLEN_BAD_MESSAGE', 'open terms that are not msgpack')
      t.equal(await codeOf(() => transport.open({ user, key: 'wrong' }, encode({ t: 'open' }))), 'POLLEN_UNAUTHORIZED', 'a wrong key on a raw open')
      async function* none(): AsyncIterable<Uint8Array> {
        yield encodeFrame({ t: 'end', session: 'nope', chunks: 0, sig: new Uint8Array(64) })
      }
      t.equal(await codeOf(() => transport.push(creds, '0123456789abcdef0123456789abcdef', none())), 'POLLEN_SESSION_UNKNOWN', 'a push to an unknown session')
      const ack = encodePullAck({ seq: 0, idleMs: 0, spanMs: 0 })
      t.equal(await codeOf(() => transport.ack(creds, '0123456789abcdef0123456789abcdef', ack)), 'POLLEN_SESSION_UNKNOWN', 'an ack for an unknown session')
      t.equal(await codeOf(() => transport.ack(creds, '0123456789abcdef0123456789abcdef', new Uint8Array([0xc1]))), 'POLLEN_BAD_MESSAGE', 'an ack that is not msgpack')
      t.equal(await codeOf(() => transport.ack({ user, key: 'wrong' }, '0123456789abcdef0123456789abcdef', ack)), 'POLLEN_UNAUTHORIZED', 'an ack with a wrong key')
      t.ok(transport.requests >= 4, `requests counted on failures too (${transport.requests})`)
    } finally {
      await made.close()
    }
  })
}
