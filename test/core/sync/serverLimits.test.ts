/**
 * The serving side (core/sync/server.ts) against an attacker with a key (issue 17, items 5 and
 * 6), over in-memory storage: an open that would cost the server seconds of CPU, and begin
 * frames that would store vector rows without end. Each is refused with a POLLEN_* code before
 * anything is stored (every key and value of the store compared) or stops adding rows, and a
 * store already bloated past what one report carries still syncs. The limits themselves are
 * core/sync/wire/limits.ts (unit tests beside it); the numbers here are the attacker's.
 */
import t from 'tap'
import { pack } from '../../../core/msgpack.js'
import { sign } from '../../../core/model/identity.js'
import { toWire, type VectorEntry } from '../../../core/model/counterVector.js'
import { beginSigned, encodeFrame, endSigned, isOpenResponse } from '../../../core/sync/wire/frames.js'
import { decodeOpenedTerms } from '../../../core/sync/wire/openTerms.js'
import type { UserInfo } from '../../../core/access/users.js'
import { codeOf } from '../../helpers/errorCodes.js'
import { newAuthor } from '../../helpers/instances.js'
import { limitsFor, MIN_CHUNK_BYTES } from '../../../core/sync/chunker.js'
import { grant, node, openRequestOf, openTermsOf, storeDump, sync, type Node } from '../../helpers/syncNet.js'

/** A server holding a few resources, a client, and the client's key on the server. */
async function pair(role: 'read' | 'write' = 'read', scope = ['']): Promise<{ server: Node; client: Node; user: UserInfo }> {
  const server = await node('srv')
  const client = await node('cli')
  for (let i = 0; i < 5; i++) await server.lib.put({ partition: `lib:a/${i}`, title: { en: `r ${i}` } })
  const name = await grant(server, client, role, scope)
  return { server, client, user: await server.users.authenticate(name, server.keys.get(name) as string) }
}

/** Two-letter codes that are nobody's language here. */
const madeUpLanguages = (n: number): string[] => Array.from({ length: n }, (_, i) => `q${String.fromCharCode(97 + (i % 26))}${i >= 26 ? `-x${i}` : ''}`)

t.test('an open that would cost seconds of server CPU is refused before any work, and binds nothing (item 6)', async (t) => {
  const { server, client, user } = await pair()
  const open = (o: Parameters<typeof openTermsOf>[2]) => server.server.open(user, openRequestOf(client, openTermsOf(client, user.name, o)))
  const before = await storeDump(server.store)
  // As shown on a daemon: 300 KB, 1000 prefixes of 117 segments, 100 made-up languages.
  const deep = Array.from({ length: 1000 }, (_, i) => `${i}${'/a'.repeat(116)}`)
  const attack = openRequestOf(client, openTermsOf(client, user.name, { filter: { prefixes: deep, languages: madeUpLanguages(100) } }))
  t.ok(attack.length > 200_000, `${attack.length} bytes`)
  t.equal(await codeOf(server.server.open(user, attack)), 'POLLEN_LIMIT_EXCEEDED', '1000 prefixes of 117 segments')
  t.equal(await codeOf(open({ filter: { prefixes: Array.from({ length: 1000 }, (_, i) => `lib:${i}`), languages: ['en'] } })), 'POLLEN_LIMIT_EXCEEDED', '1000 prefixes of one segment')
  t.equal(await codeOf(open({ filter: { prefixes: [`lib${'/a'.repeat(116)}`], languages: ['en'] } })), 'POLLEN_LIMIT_EXCEEDED', 'one prefix of 117 segments')
  t.equal(await codeOf(open({ filter: { prefixes: ['lib a'], languages: ['en'] } })), 'POLLEN_BAD_MESSAGE', 'a prefix that is no partition')
  t.equal(await codeOf(open({ filter: { prefixes: [''], languages: ['not a code'] } })), 'POLLEN_BAD_MESSAGE', 'a language that is no language code')
  t.same(await storeDump(server.store), before, 'nothing stored changed (the key is not bound)')
  t.equal(await codeOf(open({ filter: { prefixes: ['lib:a/0', 'lib:a/1'], languages: ['en', 'fr'] } })), 'no error', 'an ordinary open is served')
})

t.test("languages the server does not keep are dropped from the pull filter, not walked (item 6)", async (t) => {
  const { server, client, user } = await pair()
  const terms = openTermsOf(client, user.name, { filter: { prefixes: [''], languages: ['en', ...madeUpLanguages(50)] } })
  const frames = (await server.server.open(user, openRequestOf(client, terms)))[Symbol.asyncIterator]()
  const first = (await frames.next()).value
  if (!isOpenResponse(first)) return t.fail('no open answer')
  await frames.return?.()
  t.same(decodeOpenedTerms(first.body, { request: terms }).pull?.filter.languages, ['en'], 'the server keeps en and fr: the pull is for en')
})

/** Opens a push session for `user` and pushes a begin frame with `rows` and an empty end. */
async function pushRows(server: Node, client: Node, user: UserInfo, rows: VectorEntry[]): Promise<string> {
  const terms = openTermsOf(client, user.name, { mode: 'push' })
  const frames = (await server.server.open(user, openRequestOf(client, terms)))[Symbol.asyncIterator]()
  const first = (await frames.next()).value
  if (!isOpenResponse(first)) throw new Error('no open answer')
  const { session } = decodeOpenedTerms(first.body, { request: terms })
  const body = pack(toWire(rows))
  async function* stream(): AsyncIterable<unknown> {
    yield { t: 'begin', session, body, sig: sign(beginSigned(session, body), client.identity.secretKey) }
    yield { t: 'end', session, chunks: 0, sig: sign(endSigned(session, 'push', 0), client.identity.secretKey) }
  }
  return codeOf(server.server.push(user, session, stream()))
}

const rowsUnder = (prefix: string, n: number, authors: string[], from = 0): VectorEntry[] =>
  Array.from({ length: n }, (_, i) => ({ prefix: `${prefix}/made-up-${from + i}`, layer: '', counters: Object.fromEntries(authors.map((a) => [a, 7])) }))

t.test('a begin frame of made-up rows is refused before anything is stored (item 5)', async (t) => {
  const { server, client, user } = await pair('write', ['lib:a'])
  // The first open binds the key: compare after it.
  t.equal(await pushRows(server, client, user, []), 'no error', 'an empty report is taken')
  const before = await storeDump(server.store)
  const author = newAuthor()
  t.ok(encodeFrame({ t: 'begin', session: '0'.repeat(32), body: pack(toWire(rowsUnder('lib:a', 20_000, [author]))), sig: new Uint8Array(64) }).length > 400_000, 'as shown on a daemon: a begin frame of about 0.5 MB')
  t.equal(await pushRows(server, client, user, rowsUnder('lib:a', 20_000, [author])), 'POLLEN_LIMIT_EXCEEDED', '20,000 rows')
  t.equal(await pushRows(server, client, user, rowsUnder('lib:a', 3, ['not-an-author'])), 'POLLEN_BAD_MESSAGE', 'an author that is no author id')
  t.equal(await pushRows(server, client, user, [{ prefix: 'lib:a/two words', layer: '', counters: { [author]: 3 } }]), 'POLLEN_BAD_MESSAGE', 'a prefix that is no partition')
  t.equal(await pushRows(server, client, user, [{ prefix: 'lib:a/x', layer: 'English', counters: { [author]: 3 } }]), 'POLLEN_BAD_MESSAGE', 'a layer that is no layer')
  t.equal(await pushRows(server, client, user, rowsUnder('lib:b', 10, [author])), 'no error', 'rows outside the key\'s partitions...')
  t.same(await storeDump(server.store), before, '...are dropped: nothing stored changed')
})

/** Rows stored for prefixes under `prefix`. */
const storedUnder = (n: Node, prefix: string) => n.log.vectors.entries().filter((e) => e.prefix.startsWith(prefix + '/')).length

t.test('rows stored under one scope stop growing, however many pushes bring new ones (item 5)', async (t) => {
  const { server, client, user } = await pair('write', ['lib:a'])
  const author = newAuthor()
  // From an untrusted peer, claims about an author no seal backs are not adopted at all.
  t.equal(await pushRows(server, client, user, rowsUnder('lib:a', 4096, [author])), 'no error', 'an untrusted push of 4096 rows')
  t.equal(storedUnder(server, 'lib:a'), 0, 'claims about an author without seals: none stored')
  // From a trusted relay they are, up to the bound.
  const relay = { ...user, trusted: true }
  const stored: number[] = []
  // 4,096 rows a push (what one report may carry), 24,576 in all.
  for (let i = 0; i < 6; i++) {
    t.equal(await pushRows(server, client, relay, rowsUnder('lib:a', 4096, [author], i * 4096)), 'no error', `push ${i + 1}: 4096 new rows`)
    stored.push(storedUnder(server, 'lib:a'))
  }
  t.equal(stored[0], 4096, 'the first push adds its rows')
  t.equal(stored[5], stored[4], `the last pushes add none: ${stored.join(', ')}`)
  t.ok(stored[5] < 6 * 4096, 'fewer rows stored than were reported')
})

t.test('a store bloated past what one report carries still syncs, again and again (item 5)', async (t) => {
  const school = await node('school')
  const cloud = await node('cloud')
  await school.lib.put({ partition: 'lib:a', title: { en: 'From the school' } })
  await cloud.lib.put({ partition: 'lib:a', title: { en: 'From the cloud' } })
  // 20,000 rows under lib:a, as an earlier peer left them (3 layers each in a report: 60,000).
  await school.log.applyRemote([], rowsUnder('lib:a', 20_000, [newAuthor()]).map((r) => ({ prefix: r.prefix, layer: '', author: Object.keys(r.counters)[0], counter: 7 })))
  for (let i = 0; i < 2; i++) {
    const r = await sync(school, cloud)
    t.ok(r.ok, `sync ${i + 1}: ${r.error ?? 'ok'}`)
  }
  t.ok(storedUnder(cloud, 'lib:a') < 20_000, `the cloud adopted fewer rows (${storedUnder(cloud, 'lib:a')}) than the school holds`)
})


t.test('a client asks for smaller pulled chunks after cuts, but never for chunks below the floor (a signature per operation)', async (t) => {
  const server = await node('srv')
  const client = await node('cli')
  const text = 'word '.repeat(200)
  for (let i = 0; i < 200; i++) await server.lib.put({ partition: `lib:a/${i % 4}`, title: { en: `r ${i}` }, description: { en: `${i} ${text}` } })
  const name = await grant(server, client, 'read')
  const user = await server.users.authenticate(name, server.keys.get(name) as string)
  const chunksFor = async (chunkBytes: number): Promise<number> => {
    let n = 0
    for await (const f of await server.server.open(user, openRequestOf(client, openTermsOf(client, user.name, { chunkBytes })))) if ((f as { t: string }).t === 'chunk') n += 1
    return n
  }
  const own = await chunksFor(0)
  const asked = await chunksFor(MIN_CHUNK_BYTES * 2)
  const flood = await chunksFor(1)
  const floor = await chunksFor(MIN_CHUNK_BYTES)
  t.ok(asked > own, `asking for ${MIN_CHUNK_BYTES * 2}-byte chunks makes more of them (${asked} against ${own})`)
  t.equal(flood, floor, `asking for 1-byte chunks gets the floor's ${floor} chunks`)
  t.ok(flood < 400 / 2, `not one per operation (${flood} chunks for 400 operations)`)
  t.same(limitsFor({ maxOps: 1000, maxBytes: 65536 }, 1_000_000), { maxOps: 1000, maxBytes: 65536 }, 'nor larger than the server\'s own')
})
