/**
 * The open handshake's bytes (core/sync/wire/openTerms.ts): terms round-trip; what the other side can
 * derive or already holds does not travel; malformed arrays are refused with stable codes.
 */
import t from 'tap'
import { signHead } from '../../../../core/model/head.js'
import { pack } from '../../../../core/msgpack.js'
import { codeOf } from '../../../helpers/errorCodes.js'
import { authorOf, instanceIdOf, newIdentity } from '../../../../core/model/identity.js'
import { decodeOpenedTerms, decodeOpenTerms, encodeOpenedTerms, encodeOpenTerms } from '../../../../core/sync/wire/openTerms.js'
import { PROTOCOL_VERSION, type OpenedTerms, type OpenTerms } from '../../../../core/sync/wire/frames.js'


const client = newIdentity()
const server = newIdentity()
const cInst = instanceIdOf(client.publicKey)
const sInst = instanceIdOf(server.publicKey)
const sAuthor = authorOf(sInst, 1)
const cAuthor = authorOf(cInst, 3)

function request(o: Partial<OpenTerms> = {}): OpenTerms {
  return {
    v: PROTOCOL_VERSION, user: 'school', client: { instance: cInst, publicKey: client.publicKey, author: cAuthor },
    server: sInst, nonce: new Uint8Array(16).fill(7), mode: 'both',
    filter: { prefixes: ['lib:who'], languages: ['en', 'fr'] },
    holder: [{ prefix: 'lib:who', layer: '', counters: { [sAuthor]: 1_000_000, [cAuthor]: 12 } }, { prefix: 'lib:who', layer: 'en', counters: { [sAuthor]: 999_000 } }],
    acks: true,
    head: signHead(client, 3, 12), yourHead: null, chunkBytes: 24_576, maxRate: 32_000, maxBytes: 96_000, linkRate: 125_000,
    ...o,
  }
}

function answer(req: OpenTerms): OpenedTerms {
  return {
    v: PROTOCOL_VERSION, session: 'ab'.repeat(16), nonce: req.nonce,
    server: { instance: sInst, publicKey: server.publicKey, author: sAuthor, languages: ['en', 'fr', 'es'] },
    pull: { filter: req.filter, report: [{ prefix: 'lib:who', layer: '', counters: { [sAuthor]: 1_000_000 } }], estimate: 0, complete: true },
    push: { filter: { prefixes: req.filter.prefixes, languages: ['en', 'fr', 'es'] }, holder: [{ prefix: 'lib:who', layer: '', counters: { [sAuthor]: 1_000_000, [cAuthor]: 12 } }] },
    head: signHead(server, 1, 1_000_000), yourHead: signHead(client, 3, 20),
  }
}

t.test('open terms round-trip; instance and author ids are derived from key and epoch', async (t) => {
  const req = request()
  const back = decodeOpenTerms(encodeOpenTerms(req))
  t.same(back, req)
  t.equal(back.client.instance, cInst)
  t.equal(back.client.author, cAuthor)
  const own = request({ holder: [] })
  t.notOk(Buffer.from(encodeOpenTerms(own)).includes(Buffer.from(cInst)), 'neither the client instance id nor its author id travels')
})

t.test('the answer round-trips; the key travels only when the client has not pinned it', async (t) => {
  const known = request()
  const a = answer(known)
  const short = encodeOpenedTerms(a, known)
  t.same(decodeOpenedTerms(short, { request: known, pinnedKey: server.publicKey }), a, 'with the pinned key')
  t.notOk(Buffer.from(short).includes(Buffer.from(server.publicKey)), 'no key when the client named this instance')
  t.equal(await codeOf(() => decodeOpenedTerms(short, { request: known })), 'POLLEN_BAD_MESSAGE', 'a key left out, and none pinned')

  const first = request({ server: '' })
  const long = encodeOpenedTerms(answer(first), first)
  t.ok(Buffer.from(long).includes(Buffer.from(server.publicKey)), 'the key travels at first contact')
  t.same(decodeOpenedTerms(long, { request: first }), answer(first))
  t.equal(long.length - short.length, 33, 'leaving the key out saves 33 bytes')
  t.comment(`open request ${encodeOpenTerms(known).length} bytes, answer ${short.length} bytes (1 M-op counters, two authors)`)
})

t.test('narrowed filters and refusals travel; unchanged ones do not', async (t) => {
  const req = request()
  const a = answer(req)
  a.pull = { filter: { prefixes: ['lib:who/a'], languages: ['en'] }, report: [], estimate: 5, complete: false }
  a.push = { refused: 'POLLEN_FORBIDDEN', message: 'read-only key' }
  t.same(decodeOpenedTerms(encodeOpenedTerms(a, req), { request: req, pinnedKey: server.publicKey }), a)
  const pullOnly = { ...answer(req), push: undefined }
  delete pullOnly.push
  t.same(decodeOpenedTerms(encodeOpenedTerms(pullOnly, req), { request: req, pinnedKey: server.publicKey }), pullOnly, 'no push part')
})

t.test('a peer of another protocol version is told so, whatever its message looks like', async (t) => {
  const { unpack } = await import('../../../../core/msgpack.js')
  const thrown = (fn: () => unknown): { code?: string; message: string } => {
    try {
      fn()
    } catch (e) {
      return e as { code?: string; message: string }
    }
    return { message: 'nothing thrown' }
  }
  const fields = unpack(encodeOpenTerms(request())) as unknown[]
  // Version 2's open request had 13 fields (a client time after the nonce); the version is
  // checked before the length, so an old peer is told which versions differ.
  const old = thrown(() => decodeOpenTerms(pack([2, ...fields.slice(1, 6), Date.now(), ...fields.slice(6)])))
  t.equal(old.code, 'POLLEN_BAD_MESSAGE')
  t.match(old.message, new RegExp(`the open request is in protocol version 2; this instance speaks version ${PROTOCOL_VERSION}: update the older of the two instances`))
  const req = request()
  const ans = unpack(encodeOpenedTerms(answer(req), req)) as unknown[]
  const newer = thrown(() => decodeOpenedTerms(pack([PROTOCOL_VERSION + 1, ...ans.slice(1)]), { request: req, pinnedKey: server.publicKey }))
  t.equal(newer.code, 'POLLEN_BAD_MESSAGE')
  t.match(newer.message, new RegExp(`the session answer is in protocol version ${PROTOCOL_VERSION + 1}; this instance speaks version ${PROTOCOL_VERSION}`))
})

t.test('malformed terms are refused with POLLEN_BAD_MESSAGE', async (t) => {
  const good = encodeOpenTerms(request())
  const fields = (await import('../../../../core/msgpack.js')).unpack(good) as unknown[]
  const variant = (i: number, v: unknown) => pack(fields.map((x, j) => (j === i ? v : x)))
  const cases: [string, Uint8Array][] = [
    ['not msgpack', new Uint8Array([0xc1])],
    ['a map, not an array', pack({ v: 1 })],
    ['11 fields', pack(fields.slice(0, 11))],
    ['protocol version 1', variant(0, 1)],
    ['a 31-byte key', variant(2, new Uint8Array(31))],
    ['epoch 0', variant(3, 0)],
    ['a 15-byte nonce', variant(5, new Uint8Array(15))],
    ['an unknown mode', variant(6, 'sideways')],
    ['prefixes that are not strings', variant(7, [1])],
    ['holder rows indexing past the author table', variant(10, [['lib:who', '', 5, 1]])],
    ['acks that is not a boolean', variant(11, 1)],
    ['a head without its signature', variant(12, [12])],
    ['a head with a 63-byte signature', variant(12, [12, new Uint8Array(63)])],
    ['a shown head at epoch 0', variant(13, [0, 5, new Uint8Array(64)])],
    ['13 fields (no shown head)', pack(fields.slice(0, 13))],
    ['14 fields (no chunk size)', pack(fields.slice(0, 14))],
    ['a negative chunk size', variant(14, -1)],
    ['a fractional chunk size', variant(14, 0.5)],
    ['a chunk size that is a string', variant(14, '4096')],
    ['15 fields (no rate cap)', pack(fields.slice(0, 15))],
    ['a negative rate cap', variant(15, -1)],
  ]
  for (const [what, bytes] of cases) t.equal(await codeOf(() => decodeOpenTerms(bytes)), 'POLLEN_BAD_MESSAGE', what)

  const req = request()
  const ans = (await import('../../../../core/msgpack.js')).unpack(encodeOpenedTerms(answer(req), req)) as unknown[]
  const avariant = (i: number, v: unknown) => pack(ans.map((x, j) => (j === i ? v : x)))
  const ctx = { request: req, pinnedKey: server.publicKey }
  const bad: [string, Uint8Array][] = [
    ['7 fields', pack(ans.slice(0, 7))],
    ['a session that is not a string', avariant(1, 5)],
    ['pull terms of 4', avariant(5, [null, null, [], 0])],
    ['push terms of 1', avariant(6, [null])],
    ['a pull filter with a numeric prefix', avariant(5, [[7], null, [], 0, true])],
    ['a head with a negative counter', avariant(8, [-1, new Uint8Array(64)])],
    ['a shown head that is not an array', avariant(9, 'yours')],
  ]
  for (const [what, bytes] of bad) t.equal(await codeOf(() => decodeOpenedTerms(bytes, ctx)), 'POLLEN_BAD_MESSAGE', what)
})

t.test('verify answers round-trip, and claim counts out of bounds are refused', async (t) => {
  const req = request({ mode: 'verify', server: '' })
  const counts = [{ prefix: 'lib:who', layer: 'en', author: sAuthor, through: 5000, bucket: 1024, counts: [1024, 1000, 0, 17, 3] }]
  const a: OpenedTerms = { v: PROTOCOL_VERSION, session: 'cd'.repeat(16), nonce: req.nonce, server: answer(req).server, verify: { filter: req.filter, counts }, head: answer(req).head, yourHead: null }
  t.same(decodeOpenedTerms(encodeOpenedTerms(a, req), { request: req }), a, 'round trip')
  t.equal(await codeOf(() => decodeOpenedTerms(encodeOpenedTerms(a, req), { request: request({ server: '' }) })), 'POLLEN_BAD_MESSAGE', 'a verify answer to a sync request is refused')
  const bad = async (c: Partial<(typeof counts)[0]>) => codeOf(() => decodeOpenedTerms(encodeOpenedTerms({ ...a, verify: { filter: req.filter, counts: [{ ...counts[0], ...c }] } }, req), { request: req }))
  t.equal(await bad({ counts: [1, 2, 3] }), 'POLLEN_BAD_MESSAGE', 'too few buckets for the range')
  t.equal(await bad({ counts: [1025, 0, 0, 0, 0] }), 'POLLEN_BAD_MESSAGE', 'a bucket holding more operations than counters')
  t.equal(await bad({ bucket: 16, through: 16 * 129, counts: new Array(129).fill(1) }), 'POLLEN_BAD_MESSAGE', 'buckets narrower than the minimum')
  t.equal(await bad({ bucket: 1024, through: 1024 * 129, counts: new Array(129).fill(1) }), 'POLLEN_BAD_MESSAGE', 'more than 128 buckets')
  t.equal(await bad({ through: 0, counts: [] }), 'POLLEN_BAD_MESSAGE', 'an empty range')
})
