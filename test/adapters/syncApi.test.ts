/**
 * Bad input on the real HTTP sync API: fastify from buildSyncApi on 127.0.0.1 (a free port),
 * a SyncServer over an in-memory node, raw requests sent with node:http. Every refusal must be
 * a 4xx status with a JSON body {code: 'POLLEN_…', message} (all of these are refused before
 * the answer stream starts, so none is an in-band error frame) AND leave storage unchanged:
 * every key and value of the server's store is dumped before and after and compared.
 */
import { ownHead } from '../../core/sync/restore.js'
import t, { type Test } from 'tap'
import { request } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { decode, encode } from '@msgpack/msgpack'
import { buildSyncApi, FRAME_TYPE } from '../../adapters/httpSyncServer.js'
import { LevelStore } from '../../adapters/levelStore.js'
import { ChunkEncoder } from '../../core/sync/wire/chunkCodec.js'
import { toWire } from '../../core/model/counterVector.js'
import { instanceIdOf, sign, verify } from '../../core/model/identity.js'
import { key } from '../../core/log/keys.js'
import { OpLog } from '../../core/log/opLog.js'
import { makeOperation, type Operation } from '../../core/model/operation.js'
import { packOps, unpackOps } from '../../core/sync/wire/opColumns.js'
import { sealsFor, type ChunkSeals } from '../../core/sync/sealing.js'
import { checkSeals } from '../../core/sync/sealCheck.js'
import { SealStore } from '../../core/log/seals.js'
import { decodeOpenedTerms, encodeOpenTerms } from '../../core/sync/wire/openTerms.js'
import { encodePullAck } from '../../core/sync/pacing.js'
import {
  beginSigned, encodeFrame, endSigned, isOpenResponse, openedSigned, openSigned, readFrames, PROTOCOL_VERSION,
  type ChunkFrame, type OpenedTerms, type OpenTerms, type SyncMode,
} from '../../core/sync/wire/frames.js'
import { SyncServer, type SyncLimits } from '../../core/sync/server.js'
import type { KVStore } from '../../core/log/store.js'
import { allOps } from '../helpers/instances.js'
import { node, type Node } from '../helpers/syncNet.js'

interface Reply { status: number; type: string; body: Buffer; headers: Record<string, unknown> }

/** Every key and value of a store, values as hex. */
async function dump(store: KVStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for await (const [k, v] of store.range({})) out[k] = Buffer.from(v).toString('hex')
  return out
}

interface Fx {
  port: number
  srv: Node
  cli: Node
  server: SyncServer
  keys: { write: string; read: string; scoped: string }
  auth: (user: keyof Fx['keys']) => string
}

async function fixture(t: Test, limits: Partial<SyncLimits> = {}): Promise<Fx> {
  const srv = await node('srv')
  const cli = await node('cli')
  await srv.lib.put({ partition: 'lib:a', title: { en: 'Already here', fr: 'Déjà là' } })
  await srv.lib.put({ partition: 'lib:b', title: { en: 'Also here' } })
  const keys = {
    write: (await srv.users.add({ name: 'write', role: 'write', filters: [''] })).key,
    read: (await srv.users.add({ name: 'read', role: 'read', filters: [''] })).key,
    scoped: (await srv.users.add({ name: 'scoped', role: 'write', filters: ['lib:a'] })).key,
  }
  const server = new SyncServer({ identity: srv.identity, log: srv.log, users: srv.users, limits: { maxOpenBytes: 16 * 1024, maxFrameBytes: 64 * 1024, ...limits } })
  const app = buildSyncApi(server)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port
  return { port, srv, cli, server, keys, auth: (u) => `Pollen ${u}:${keys[u]}` }
}

function post(port: number, path: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': FRAME_TYPE, 'content-length': String(body.length), ...headers } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(parts), headers: res.headers }))
      res.on('error', reject)
    })
    // A connection the server cuts is an answer too: status 0, the error as the body.
    req.on('error', (err) => resolve({ status: 0, type: '', body: Buffer.from(`connection error: ${err.message}`), headers: {} }))
    req.end(body)
  })
}

/** Asserts a JSON error answer with this status and code. */
function refused(t: Test, r: Reply, status: number, code: string, what: string): void {
  t.equal(r.status, status, `${what}: HTTP ${status}`)
  t.match(r.type, /^application\/json/, `${what}: a JSON body`)
  let body: { code?: unknown; message?: unknown } = {}
  try {
    body = JSON.parse(r.body.toString('utf8'))
  } catch {
    t.fail(`${what}: body is not JSON: ${r.body.toString('utf8').slice(0, 200)}`)
  }
  t.equal(body.code, code, `${what}: ${code}`)
  t.type(body.message, 'string', `${what}: a message`)
}

function openTerms(cli: Node, user: string, o: { mode?: SyncMode; prefixes?: string[]; acks?: boolean } = {}): OpenTerms {
  return {
    v: PROTOCOL_VERSION, user,
    client: { instance: instanceIdOf(cli.identity.publicKey), publicKey: cli.identity.publicKey, author: cli.log.author },
    server: '', nonce: new Uint8Array(randomBytes(16)), mode: o.mode ?? 'pull',
    // A raw client here does not acknowledge chunks unless a test says so.
    filter: { prefixes: o.prefixes ?? [''], languages: ['en', 'fr'] }, holder: [], acks: o.acks ?? false,
    head: ownHead(cli.identity, cli.log), yourHead: null, chunkBytes: 0, maxRate: 0, maxBytes: 0, linkRate: 0,
  }
}

function requestOf(cli: Node, terms: OpenTerms): Uint8Array {
  const body = encodeOpenTerms(terms)
  return encode({ t: 'open', body, sig: sign(openSigned(body), cli.identity.secretKey) })
}

function openRequest(cli: Node, user: string, o: { mode?: SyncMode; prefixes?: string[] } = {}): Uint8Array {
  return requestOf(cli, openTerms(cli, user, o))
}

async function framesOf(body: Buffer): Promise<unknown[]> {
  const out: unknown[] = []
  async function* one(): AsyncIterable<Uint8Array> {
    yield new Uint8Array(body)
  }
  for await (const f of readFrames(one(), 1 << 24)) out.push(f)
  return out
}

/** Opens a session over HTTP and returns its answer. */
async function open(t: Test, fx: Fx, user: keyof Fx['keys'], mode: SyncMode): Promise<OpenedTerms> {
  const terms = openTerms(fx.cli, user, { mode })
  const r = await post(fx.port, '/v1/sync/open', requestOf(fx.cli, terms), { authorization: fx.auth(user) })
  t.equal(r.status, 200, `open (${user}, ${mode}) answered`)
  const first = (await framesOf(r.body))[0]
  if (!isOpenResponse(first)) throw new Error(`not an open answer: ${r.body.toString('utf8').slice(0, 200)}`)
  return decodeOpenedTerms(first.body, { request: terms })
}

/** A push body: a signed begin frame (no claims), the given chunks, a signed end frame. */
function pushBody(cli: Node, session: string, chunks: (ChunkFrame | Uint8Array)[], endCount = chunks.length): Uint8Array {
  const report = encode(toWire([]))
  const parts = [
    encodeFrame({ t: 'begin', session, body: report, sig: sign(beginSigned(session, report), cli.identity.secretKey) }),
    ...chunks.map((c) => (c instanceof Uint8Array ? c : encodeFrame(c))),
    encodeFrame({ t: 'end', session, chunks: endCount, sig: sign(endSigned(session, 'push', endCount), cli.identity.secretKey) }),
  ]
  return Buffer.concat(parts)
}

/** For chunks whose operations do not even unpack: no seals. */
const noSeals = async (): Promise<ChunkSeals> => ({ seals: [], keys: [] })

/**
 * Chunk frames of `payloads` (operations in columns) from `cli`, each with the seals `seal`
 * makes for its operations: by default the client's own, as a real push carries them.
 */
async function chunksOf(cli: Node, session: string, payloads: unknown[], seal: (ops: unknown) => Promise<ChunkSeals> = (ops) => sealsFor(cli.log, unpackOps(ops, 1e6))): Promise<ChunkFrame[]> {
  const enc = new ChunkEncoder(session, 'push', cli.identity.secretKey)
  try {
    const out: ChunkFrame[] = []
    for (const ops of payloads) out.push(await enc.encode({ ops, progress: [], ...(await seal(ops)) }))
    return out
  } finally {
    enc.close()
  }
}

/** The client's own operations of one fresh resource in `partition`. */
async function clientOps(cli: Node, partition: string): Promise<Operation[]> {
  const before = cli.log.counter
  await cli.lib.put({ partition, title: { en: `pushed to ${partition}` } })
  return (await allOps(cli.log)).filter((op) => op.author === cli.log.author && op.counter > before)
}

const pushTo = (fx: Fx, session: string, body: Uint8Array, user: keyof Fx['keys'] = 'write') => post(fx.port, `/v1/sync/${session}/push`, body, { authorization: fx.auth(user) })

/** Runs `act`, then checks storage is byte-for-byte what it was. */
async function unchanged(t: Test, fx: Fx, act: () => Promise<void>): Promise<void> {
  const before = await dump(fx.srv.store)
  t.ok(Object.keys(before).some((k) => k.startsWith(key.allOps())), 'the store holds operations to compare')
  await act()
  t.same(await dump(fx.srv.store), before, 'storage unchanged')
}

t.test('open with nothing to pull: the signed answer alone, sent whole with a Content-Length', async (t) => {
  const fx = await fixture(t)
  // The server holds nothing under this prefix.
  const terms = openTerms(fx.cli, 'write', { mode: 'pull', prefixes: ['lib:empty'] })
  const r = await post(fx.port, '/v1/sync/open', requestOf(fx.cli, terms), { authorization: fx.auth('write') })
  t.equal(r.status, 200)
  t.equal(r.headers['content-length'], String(r.body.length), 'a Content-Length, not chunked')
  t.equal(r.headers['transfer-encoding'], undefined, 'no chunked encoding')
  t.equal(r.headers.date, undefined, 'no Date header')
  const frames = await framesOf(r.body)
  t.equal(frames.length, 1, 'one frame')
  const first = frames[0]
  if (!isOpenResponse(first)) return t.fail('not an open answer')
  const opened = decodeOpenedTerms(first.body, { request: terms })
  t.equal(opened.pull?.complete, true, 'the answer says the pull is complete')
  t.ok(verify(openedSigned(terms.nonce, first.body), first.sig, fx.srv.identity.publicKey), 'signed over the client nonce and the answer')
  t.notOk(verify(openedSigned(new Uint8Array(16), first.body), first.sig, fx.srv.identity.publicKey), 'an answer signed for another nonce does not verify')
})

t.test('open: malformed msgpack body', async (t) => {
  const fx = await fixture(t)
  await unchanged(t, fx, async () => refused(t, await post(fx.port, '/v1/sync/open', new Uint8Array([0xc1, 0x00, 0xff]), { authorization: fx.auth('write') }), 400, 'POLLEN_BAD_MESSAGE', 'not msgpack'))
})

t.test('open: truncated body', async (t) => {
  const fx = await fixture(t)
  const valid = openRequest(fx.cli, 'write')
  await unchanged(t, fx, async () => {
    // A valid msgpack prefix, sent whole with a matching content-length.
    refused(t, await post(fx.port, '/v1/sync/open', valid.subarray(0, valid.length - 20), { authorization: fx.auth('write') }), 400, 'POLLEN_BAD_MESSAGE', 'msgpack prefix')
    // A content-length larger than what is sent, then the socket ends.
    const answer = await new Promise<string>((resolve) => {
      const sock = connect(fx.port, '127.0.0.1', () => {
        sock.write(`POST /v1/sync/open HTTP/1.1\r\nHost: x\r\nContent-Type: ${FRAME_TYPE}\r\nAuthorization: ${fx.auth('write')}\r\nContent-Length: ${valid.length}\r\n\r\n`)
        sock.end(valid.subarray(0, 40))
      })
      let got = ''
      sock.on('data', (c) => (got += c.toString('latin1')))
      sock.on('close', () => resolve(got))
      sock.on('error', () => resolve(got))
    })
    // The client half-closed, so it can still read an answer; it must be the same JSON error as any other.
    const [head = '', text = ''] = answer.split('\r\n\r\n')
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
    const type = /content-type: *([^\r\n]+)/i.exec(head)?.[1] ?? ''
    refused(t, { status, type, body: Buffer.from(text, 'latin1'), headers: {} }, 400, 'POLLEN_BAD_MESSAGE', 'content-length beyond what was sent')
  })
  // The server still answers afterwards.
  t.equal((await post(fx.port, '/v1/sync/open', openRequest(fx.cli, 'write'), { authorization: fx.auth('write') })).status, 200, 'the server still serves')
})

t.test('open: oversized body', async (t) => {
  const fx = await fixture(t)
  const big = new Uint8Array(fx.server.limits.maxOpenBytes + 1000)
  await unchanged(t, fx, async () => refused(t, await post(fx.port, '/v1/sync/open', big, { authorization: fx.auth('write') }), 413, 'POLLEN_BODY_TOO_LARGE', 'over maxOpenBytes'))
})

t.test('open: bad signature', async (t) => {
  const fx = await fixture(t)
  const req = openRequest(fx.cli, 'write')
  const raw = decode(req) as { t: string; body: Uint8Array; sig: Uint8Array }
  raw.sig[10] ^= 0x01
  await unchanged(t, fx, async () => refused(t, await post(fx.port, '/v1/sync/open', encode(raw), { authorization: fx.auth('write') }), 400, 'POLLEN_BAD_SIGNATURE', 'flipped sig byte'))
})

t.test('open: wrong, missing, or URL-borne API key', async (t) => {
  const fx = await fixture(t)
  await unchanged(t, fx, async () => {
    refused(t, await post(fx.port, '/v1/sync/open', openRequest(fx.cli, 'write'), { authorization: `Pollen write:${fx.keys.read}` }), 401, 'POLLEN_UNAUTHORIZED', 'wrong key')
    refused(t, await post(fx.port, '/v1/sync/open', openRequest(fx.cli, 'write')), 401, 'POLLEN_UNAUTHORIZED', 'no Authorization header')
    const q = `user=write&key=${encodeURIComponent(fx.keys.write)}&authorization=${encodeURIComponent(fx.auth('write'))}`
    refused(t, await post(fx.port, `/v1/sync/open?${q}`, openRequest(fx.cli, 'write')), 401, 'POLLEN_UNAUTHORIZED', 'key in the URL query')
  })
})

t.test('open: a replayed request is refused', async (t) => {
  const fx = await fixture(t)
  const req = openRequest(fx.cli, 'write')
  // The first use binds the key to the client instance (a store write), so it comes first.
  t.equal((await post(fx.port, '/v1/sync/open', req, { authorization: fx.auth('write') })).status, 200, 'first copy accepted')
  await unchanged(t, fx, async () => {
    refused(t, await post(fx.port, '/v1/sync/open', req, { authorization: fx.auth('write') }), 409, 'POLLEN_REPLAY', 'identical request again')
  })
})

t.test('push: chunk with a bad signature', async (t) => {
  const fx = await fixture(t)
  const { session } = await open(t, fx, 'write', 'push')
  const [chunk] = await chunksOf(fx.cli, session, [packOps(await clientOps(fx.cli, 'lib:a'))])
  chunk.sig[3] ^= 0x80
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [chunk])), 400, 'POLLEN_BAD_SIGNATURE', 'bad chunk sig'))
})

t.test('push: chunk for another session', async (t) => {
  const fx = await fixture(t)
  const x = (await open(t, fx, 'write', 'push')).session
  const y = (await open(t, fx, 'write', 'push')).session
  const z = (await open(t, fx, 'write', 'push')).session
  const ops = packOps(await clientOps(fx.cli, 'lib:a'))
  const [forX] = await chunksOf(fx.cli, x, [ops])
  await unchanged(t, fx, async () => {
    // As signed for X: the session field gives it away.
    refused(t, await pushTo(fx, y, pushBody(fx.cli, y, [forX])), 404, 'POLLEN_SESSION_UNKNOWN', 'chunk of X sent to Y')
    // Relabelled for Z: the signature covers X.
    refused(t, await pushTo(fx, z, pushBody(fx.cli, z, [{ ...forX, session: z }])), 400, 'POLLEN_BAD_SIGNATURE', 'chunk of X relabelled for Z')
  })
})

t.test('push: replayed chunk', async (t) => {
  const fx = await fixture(t)
  const { session } = await open(t, fx, 'write', 'push')
  const ops = await clientOps(fx.cli, 'lib:a')
  const [c0] = await chunksOf(fx.cli, session, [packOps(ops)])
  // What storage must be after the first copy: a twin of the store with that chunk applied.
  const twin = await LevelStore.openMemory()
  await twin.write(Object.entries(await dump(fx.srv.store)).map(([k, v]) => ({ type: 'put' as const, key: k, value: new Uint8Array(Buffer.from(v, 'hex')) })))
  const twinLog = await OpLog.open(twin, { author: fx.srv.log.author, languages: fx.srv.log.languages })
  const { seals, keys } = await sealsFor(fx.cli.log, ops)
  t.equal((await twinLog.applyRemote(ops, [], [], undefined, { islands: (await checkSeals(ops, seals, keys)).islands })).applied, ops.length)
  refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [c0, c0], 2)), 409, 'POLLEN_REPLAY', 'same seq twice')
  t.same(await dump(fx.srv.store), await dump(twin), 'storage = the state after the first copy only')
})

t.test('push: operation outside the key scope', async (t) => {
  const fx = await fixture(t)
  const { session, push } = await open(t, fx, 'scoped', 'push')
  t.same(push && 'filter' in push ? push.filter.prefixes : null, ['lib:a'], 'the push filter is narrowed to the scope')
  const [chunk] = await chunksOf(fx.cli, session, [packOps(await clientOps(fx.cli, 'lib:b'))])
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [chunk]), 'scoped'), 403, 'POLLEN_OUT_OF_SCOPE', 'op in lib:b'))
})

t.test('push: operation whose hash does not match', async (t) => {
  const fx = await fixture(t)
  const { session } = await open(t, fx, 'write', 'push')
  const op = makeOperation({ author: fx.cli.log.author, counter: 1, kind: 'resource', id: 'tampered', partition: 'lib:a', type: 'put', layer: '', hlc: 4096, tx: 1, deps: {}, body: { title: 'original' } })
  const packed = packOps([op])
  const body = packed[12][0] as Uint8Array
  body[body.length - 1] ^= 0x01
  const [chunk] = await chunksOf(fx.cli, session, [packed], noSeals)
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [chunk])), 400, 'POLLEN_HASH_MISMATCH', 'tampered body bytes'))
})

t.test('push: a counter reused with different content', async (t) => {
  const fx = await fixture(t)
  const ops = await clientOps(fx.cli, 'lib:a')
  const first = (await open(t, fx, 'write', 'push')).session
  const [c] = await chunksOf(fx.cli, first, [packOps(ops)])
  const ok = await pushTo(fx, first, pushBody(fx.cli, first, [c]))
  t.equal(ok.status, 200, 'the genuine operations are accepted')
  const { session } = await open(t, fx, 'write', 'push')
  const orig = ops[0]
  const forged = makeOperation({ ...orig, body: { title: { en: 'something else' } } })
  // Sealed by its author itself (one that lost its data and wrote again without a re-key):
  // the seal verifies, and the reused counter is what is refused.
  const { islands } = new SealStore(await LevelStore.openMemory()).sealOwn(fx.cli.identity, [forged], undefined)
  const bySelf = (ops: unknown) => sealsFor({ seals: { islands: async () => islands }, opHashes: async () => new Map() }, unpackOps(ops, 10))
  const [chunk] = await chunksOf(fx.cli, session, [packOps([forged])], bySelf)
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [chunk])), 409, 'POLLEN_COUNTER_REUSE', `${orig.author}:${orig.counter} again`))
})

t.test('push: with a read-only key', async (t) => {
  const fx = await fixture(t)
  const { session, push } = await open(t, fx, 'read', 'push')
  t.same(push, { refused: 'POLLEN_FORBIDDEN', message: push && 'message' in push ? push.message : '' }, 'the open answer refuses the push')
  const [chunk] = await chunksOf(fx.cli, session, [packOps(await clientOps(fx.cli, 'lib:a'))])
  // The refused session carries no push and is released with its (empty) answer stream.
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [chunk]), 'read'), 404, 'POLLEN_SESSION_UNKNOWN', 'raw push with a read key'))
})

t.test('push: to an unknown session', async (t) => {
  const fx = await fixture(t)
  const session = randomBytes(16).toString('hex')
  const [chunk] = await chunksOf(fx.cli, session, [packOps(await clientOps(fx.cli, 'lib:a'))])
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [chunk])), 404, 'POLLEN_SESSION_UNKNOWN', 'unknown session'))
})

t.test('push: a frame larger than maxFrameBytes', async (t) => {
  const fx = await fixture(t)
  const max = fx.server.limits.maxFrameBytes
  const { session } = await open(t, fx, 'write', 'push')
  const big = encodeFrame({ t: 'chunk', session, seq: 0, data: new Uint8Array(max + 10), hash: new Uint8Array(32), sig: new Uint8Array(64) })
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [big])), 413, 'POLLEN_BODY_TOO_LARGE', 'one frame over the limit'))
  const other = (await open(t, fx, 'write', 'push')).session
  const header = new Uint8Array(4)
  new DataView(header.buffer).setUint32(0, max + 1)
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, other, header), 413, 'POLLEN_BODY_TOO_LARGE', 'a length prefix over the limit'))
})

t.test('push: a chunk with more operations than maxChunkOps', async (t) => {
  const fx = await fixture(t, { maxChunkOps: 3 })
  const { session } = await open(t, fx, 'write', 'push')
  const ops = [...(await clientOps(fx.cli, 'lib:a')), ...(await clientOps(fx.cli, 'lib:a'))]
  t.ok(ops.length > 3, `${ops.length} operations`)
  const [chunk] = await chunksOf(fx.cli, session, [packOps(ops)])
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [chunk])), 413, 'POLLEN_CHUNK_TOO_LARGE', `${ops.length} ops over 3`))
})

t.test('push: a chunk that would cost far more heap than bytes is refused before it is decoded (issue 17)', async (t) => {
  const fx = await fixture(t)
  const { session } = await open(t, fx, 'write', 'push')
  // 400,000 empty arrays: 400 KB of msgpack, 16 MB of heap once decoded.
  const empty: unknown[] = []
  const [chunk] = await chunksOf(fx.cli, session, [new Array<unknown>(400_000).fill(empty)], noSeals)
  t.ok(chunk.data.length < 1024, `${chunk.data.length} bytes on the wire`)
  await unchanged(t, fx, async () => refused(t, await pushTo(fx, session, pushBody(fx.cli, session, [chunk])), 413, 'POLLEN_CHUNK_TOO_LARGE', 'more values than 10,000 operations hold'))
})

t.test('too many sessions: counted per user and instance, so one instance cannot lock out another', async (t) => {
  const fx = await fixture(t, { maxSessionsPerUser: 1 })
  // A client that opens a new session replaces its own idle ones, so repeated syncs never pile up.
  for (let i = 0; i < 4; i++) await open(t, fx, 'write', 'push')
  const [cli2, cli3] = [await node('cli2'), await node('cli3')]
  refused(t, await post(fx.port, '/v1/sync/open', openRequest(cli2, 'write', { mode: 'push' }), { authorization: fx.auth('write') }), 403, 'POLLEN_KEY_BOUND', 'another instance with the same key')
  // Each instance in turn, the administrator freeing the key's binding in between: the idle
  // sessions the earlier instances left do not count against the next (issue 17).
  for (const [cli, what] of [[cli2, 'a second'], [cli3, 'a third']] as const) {
    await fx.srv.users.set('write', { resetInstance: true })
    t.equal((await post(fx.port, '/v1/sync/open', openRequest(cli, 'write', { mode: 'push' }), { authorization: fx.auth('write') })).status, 200, `${what} client instance gets a session beside the others' idle ones`)
  }
  t.equal((await post(fx.port, '/v1/sync/open', openRequest(fx.cli, 'scoped', { mode: 'push' }), { authorization: fx.auth('scoped') })).status, 200, 'another user is not affected')
})

t.test('ack: refusals with stable codes; a well-formed ack after the pull is taken with 204 and changes nothing', async (t) => {
  const fx = await fixture(t)
  const { session } = await open(t, fx, 'write', 'both')
  const ackTo = (s: string, body: Uint8Array, headers: Record<string, string> = { authorization: fx.auth('write') }) => post(fx.port, `/v1/sync/${s}/ack`, body, headers)
  const good = encodePullAck({ seq: 0, idleMs: 5, spanMs: 10 })
  await unchanged(t, fx, async () => {
    refused(t, await ackTo(randomBytes(16).toString('hex'), good), 404, 'POLLEN_SESSION_UNKNOWN', 'an unknown session')
    refused(t, await ackTo(session, good, { authorization: fx.auth('read') }), 404, 'POLLEN_SESSION_UNKNOWN', "another user's session")
    refused(t, await ackTo(session, good, { authorization: `Pollen write:${fx.keys.read}` }), 401, 'POLLEN_UNAUTHORIZED', 'a wrong key')
    refused(t, await ackTo(session, new Uint8Array([0xc1, 0x00])), 400, 'POLLEN_BAD_MESSAGE', 'not msgpack')
    refused(t, await ackTo(session, encode([0, 20, 10])), 400, 'POLLEN_BAD_MESSAGE', 'idle longer than the span')
    refused(t, await ackTo(session, encode({ seq: 0 })), 400, 'POLLEN_BAD_MESSAGE', 'a map, not [seq, idle, span]')
    const ok = await ackTo(session, good)
    t.equal(ok.status, 204, 'an ack that arrives after its pull ended is taken')
    t.equal(ok.body.length, 0, 'with no body')
  })
})

t.test('ack: late acks for a pull-only session that ended are taken from a client that acks, not from one that said it would not', async (t) => {
  const fx = await fixture(t)
  const ack = encodePullAck({ seq: 0, idleMs: 0, spanMs: 1 })
  for (const acks of [true, false]) {
    const terms = openTerms(fx.cli, 'write', { mode: 'pull', acks })
    const r = await post(fx.port, '/v1/sync/open', requestOf(fx.cli, terms), { authorization: fx.auth('write') })
    const first = (await framesOf(r.body))[0]
    if (!isOpenResponse(first)) return t.fail('no open answer')
    const { session } = decodeOpenedTerms(first.body, { request: terms })
    const late = await post(fx.port, `/v1/sync/${session}/ack`, ack, { authorization: fx.auth('write') })
    if (acks) t.equal(late.status, 204, 'the pull ended, its client acks: a late ack is taken')
    else refused(t, late, 404, 'POLLEN_SESSION_UNKNOWN', 'a client that said it does not ack has no pull to pace')
    refused(t, await post(fx.port, `/v1/sync/${session}/ack`, ack, { authorization: fx.auth('read') }), 404, 'POLLEN_SESSION_UNKNOWN', 'not for another user')
  }
  refused(t, await post(fx.port, '/v1/sync/' + randomBytes(16).toString('hex') + '/ack', new Uint8Array(65), { authorization: fx.auth('write') }), 413, 'POLLEN_BODY_TOO_LARGE', 'an ack body over 64 bytes')
})
