/**
 * End-to-end ORB peer flow (reference/research/orb-peers.md §3–5), real daemons driven only
 * through the CLI: synced resources land pending; review decisions are local and survive
 * updates from the origin; local originals are never changed by edits that did not see
 * them; unsupported languages are neither transferred nor stored; files stay links; deletes
 * and purges travel; one failing peer never stops the others; stable error codes for bad
 * keys, read-only keys and changed instance keys; inactive peers are skipped.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { ClassicLevel } from 'classic-level'
import { join } from 'node:path'
import { filesContaining, freePort, snapshot, startDaemon, getResource, putResource, startNode, tempDir, type Daemon, type PollenResult } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-orb-')
const top = t

function ok(t: Test, r: PollenResult, what: string): void {
  t.equal(r.code, 0, `${what} exits 0${r.code ? `: ${r.stderr.trim()}` : ''}`)
}

async function issue(server: Daemon, user: string, role: 'read' | 'write'): Promise<string> {
  const r = await server.cli(['user', 'add', user, '--role', role])
  if (r.code !== 0) throw new Error(`user add ${user}: ${r.stderr}`)
  return r.stdout.split('\n')[0].trim()
}

/**
 * Gives `client`'s peer a fresh write user on `server`. The story test reports a session
 * leak (POLLEN_SESSION_LIMIT on a write user's 5th sync with nothing to push); each part
 * here uses its own user so that bug does not mask what the part checks.
 */
let users = 0
async function rotate(client: Daemon, peer: string, server: Daemon, role: 'read' | 'write' = 'write'): Promise<void> {
  const user = `${peer}-${++users}`
  const r = await client.cli(['peer', 'set', peer, '--user', user, `--key=${await issue(server, user, role)}`])
  if (r.code !== 0) throw new Error(`peer set: ${r.stderr}`)
}

async function syncAll(client: Daemon, args: string[] = []): Promise<PollenResult> {
  return client.cli(['sync', ...args, '--json'], { timeoutMs: 60_000 })
}

async function sync(t: Test, client: Daemon, peer: string, what: string, extra: string[] = []): Promise<Record<string, any>> {
  const r = await syncAll(client, [peer, ...extra])
  ok(t, r, what)
  const res = r.json?.[0] ?? {}
  t.equal(res.ok, true, `${what}: ok${res.ok ? '' : ` (${res.code}: ${res.error})`}`)
  return res
}

const put = putResource

const get = getResource

async function ids(d: Daemon, status?: string): Promise<string[]> {
  const r = await d.cli(['resource', 'list', ...(status ? ['--status', status] : []), '--json'])
  if (r.code !== 0) throw new Error(`list: ${r.stderr}`)
  return r.json.map((v: { id: string }) => v.id).sort()
}

// A file server for `files[].url`: a sync must never fetch file bytes.
let fileHits = 0
const files = createServer((_req, res) => {
  fileHits += 1
  res.end('PDF bytes')
})
await new Promise<void>((r) => files.listen(0, '127.0.0.1', r))
t.teardown(() => new Promise<void>((r) => files.close(() => r())))
const filePort = (files.address() as { port: number }).port
const fileUrl = (n: string) => `http://127.0.0.1:${filePort}/files/${n}.pdf`
const sha = 'a'.repeat(64)
const doc = (id: string, title: string, extra: Record<string, unknown> = {}) => ({
  id,
  title: { en: title, fr: `${title} (fr)` },
  description: { en: `About ${title}`, fr: `À propos de ${title}` },
  tags: ['hygiene', 'training'],
  links: [{ url: `https://example.org/${id}`, title: 'Web page' }],
  files: [{ name: `${id}.pdf`, url: fileUrl(id), size: 12345, sha256: sha }, { name: `${id}-2.pdf`, url: fileUrl(`${id}-2`) }],
  ...extra,
})

const [origin, recv, enOnly] = await Promise.all([startNode(t, root, 'origin', { languages: ['en', 'fr'] }), startNode(t, root, 'recv', { languages: ['en', 'fr'] }), startNode(t, root, 'en-only', { languages: ['en'] })])
let recvNow = recv
const addPeer = (c: Daemon, name: string, url: string, user: string, key: string, more: string[] = []) => c.cli(['peer', 'add', '--name', name, '--url', url, '--user', user, `--key=${key}`, ...more])
// Set-up failures throw (no top-level assertions: they would end tap's root test early).
for (const [c, user, role] of [[recv, 'recv', 'write'], [enOnly, 'en-only', 'read']] as const) {
  const r = await addPeer(c, 'origin', origin.url, user, await issue(origin, user, role))
  if (r.code !== 0) throw new Error(`peer add: ${r.stderr}`)
}

t.test('resources from a peer land pending; approve publishes, reject hides', async (t) => {
  for (const id of ['a1', 'a2', 'a3']) await put(origin, doc(id, `Resource ${id}`))
  const r = await sync(t, recv, 'origin', 'first sync')
  for (const f of ['peer', 'ok', 'error', 'code', 'pulled', 'pushed', 'new', 'updated', 'unchanged', 'conflicts', 'bytesIn', 'bytesOut', 'chunks', 'resumed', 'ms']) t.ok(f in r, `sync --json has ${f}`)
  t.match(r, { peer: 'origin', ok: true, error: null, new: 3, pushed: 0, resumed: false })
  t.ok(r.pulled >= 9 && r.bytesIn > 0 && r.bytesOut > 0 && r.chunks >= 1, 'counts and bytes are filled in')
  t.same(await ids(recv), [], 'nothing is published by the sync')
  t.same(await ids(recv, 'pending'), ['a1', 'a2', 'a3'], 'all three are pending')
  t.same(((await recv.cli(['review', 'list', '--json'])).json as any[]).map((v) => v.id).sort(), ['a1', 'a2', 'a3'], 'and in the review queue')
  const copy = await get(recv, 'a1')
  const orig = await get(origin, 'a1')
  t.same(copy.files, orig.files, 'files stay links: files[] (url, size, sha256) unchanged')
  t.same(copy.links, orig.links, 'links unchanged')
  t.match(copy, { title: orig.title, description: orig.description, tags: orig.tags, origin: origin.instance, source: { instance: origin.instance } })
  t.equal(fileHits, 0, 'no file was fetched')
  ok(t, await recv.cli(['review', 'approve', 'a1']), 'approve a1')
  ok(t, await recv.cli(['review', 'reject', 'a2']), 'reject a2')
  t.equal((await get(recv, 'a1')).status, 'published')
  t.equal((await get(recv, 'a2')).status, 'rejected')
  t.same(await ids(recv), ['a1'], 'approved is published')
  t.same(await ids(recv, 'rejected'), ['a2'], 'rejected is hidden from published and pending')
  t.same(await ids(recv, 'pending'), ['a3'])
})

t.test('an update by the origin overwrites the synced copy and keeps the decision', async (t) => {
  await rotate(recv, 'origin', origin)
  await put(recv, { ...doc('a1', 'Resource a1'), title: { en: 'edited on the receiver' } })
  await put(origin, doc('a1', 'Resource a1 v2'))
  await put(origin, doc('a2', 'Resource a2 v2'))
  const r = await sync(t, recv, 'origin', 'sync the updates')
  t.ok(r.updated >= 2, `updated counts the changed resources (${r.updated})`)
  t.match(await get(recv, 'a1'), { title: { en: 'Resource a1 v2', fr: 'Resource a1 v2 (fr)' }, status: 'published' }, 'approved copy: the origin’s version, still published')
  t.match(await get(recv, 'a2'), { title: { en: 'Resource a2 v2' }, status: 'rejected' }, 'rejected copy: updated, still rejected')
  t.same(await ids(recv, 'pending'), ['a3'], 'no decision was reset to pending')
})

t.test('a resource created here is never changed by a concurrent edit that did not see it', async (t) => {
  await rotate(recv, 'origin', origin)
  await put(recv, { id: 'mine', title: { en: 'mine v1' } })
  t.ok((await sync(t, recv, 'origin', 'push mine')).pushed >= 1, 'mine reaches the origin peer')
  await put(recv, { id: 'mine', title: { en: 'mine v2 (local edit)' } })
  await put(origin, { id: 'mine', title: { en: 'changed on the peer, later clock' } })
  await sync(t, recv, 'origin', 'sync the concurrent edits')
  t.match(await get(recv, 'mine'), { title: { en: 'mine v2 (local edit)' }, status: 'published', origin: recv.instance }, 'our resource shows our edit')
  t.ok(((await recv.cli(['conflicts', 'list', '--json'])).json as any[]).some((c) => c.id === 'mine'), 'the peer’s edit is kept in the conflict list')
  t.equal((await get(origin, 'mine'))?.title.en, 'mine v2 (local edit)', 'the peer converges on the origin’s edit')
})

t.test('languages: an en-only instance never transfers or stores fr text', async (t) => {
  await rotate(recv, 'origin', origin)
  await sync(t, enOnly, 'origin', 'en-only catches up')
  await sync(t, recv, 'origin', 'recv catches up')
  const marker = `FRMARKER${randomBytes(6).toString('hex')}`
  const longFr = Array.from({ length: 150 }, (_, i) => `${marker} phrase numéro ${i} en français sur le lavage des mains.`).join(' ')
  await put(origin, { id: 'lang-1', title: { en: 'Handwashing', fr: `Lavage ${marker}` }, description: { en: 'Short.', fr: longFr } })
  const e = await sync(t, enOnly, 'origin', 'en-only pulls lang-1')
  const b = await sync(t, recv, 'origin', 'en,fr pulls lang-1')
  t.match(await get(enOnly, 'lang-1'), { title: { en: 'Handwashing' }, description: { en: 'Short.' }, languages: ['en'] }, 'en-only shows only en')
  t.same(Object.keys((await get(enOnly, 'lang-1')).title), ['en'], 'no fr title')
  t.same((await get(recv, 'lang-1')).languages, ['en', 'fr'], 'the en,fr instance has both')
  t.ok(e.bytesIn < b.bytesIn, `the en-only instance received fewer bytes (${e.bytesIn} < ${b.bytesIn})`)
  t.ok(e.pulled < b.pulled, `and fewer operations (${e.pulled} < ${b.pulled})`)
  t.not(filesContaining(recv.dataDir, marker).length, 0, 'control: the marker is found in the en,fr instance’s files')
  t.same(filesContaining(enOnly.dataDir, marker), [], 'the fr text is in no file of the en-only instance')
  t.same(((await enOnly.cli(['resource', 'list', '--status', 'pending', '--lang', 'fr', '--json'])).json as any[]), [], 'nothing in fr on en-only')
})

t.test('deletes travel; purges travel and remove the text', async (t) => {
  await rotate(recv, 'origin', origin)
  ok(t, await origin.cli(['resource', 'delete', 'a3']), 'origin deletes a3')
  const marker = `PURGEMARKER${randomBytes(6).toString('hex')}`
  await put(origin, { id: 'p1', title: { en: `Must be forgotten ${marker}` } })
  await sync(t, recv, 'origin', 'sync delete and p1')
  t.equal((await recv.cli(['resource', 'get', 'a3', '--json'])).error?.code, 'POLLEN_NOT_FOUND', 'a3 is gone on the receiver')
  t.notOk([...(await ids(recv, 'pending')), ...(await ids(recv))].includes('a3'), 'a3 is in no list')
  t.ok(await get(recv, 'p1'), 'p1 arrived')
  t.not(filesContaining(join(recv.dataDir, 'db'), marker).length, 0, 'control: the marker is in the receiver’s db files')
  ok(t, await origin.cli(['resource', 'delete', 'p1', '--purge']), 'origin purges p1')
  await sync(t, recv, 'origin', 'sync the purge')
  t.equal((await recv.cli(['resource', 'get', 'p1', '--json'])).error?.code, 'POLLEN_NOT_FOUND', 'p1 is gone on the receiver')
  const log = (await recv.cli(['log', 'origin', '--json'])).json
  t.match(log[0], { peer: 'origin', ok: true }, 'the log has the purge sync')
  t.ok(log[0].pulled >= 1, 'which pulled the purge')
  t.equal(await recv.stop(), 0, 'the receiver stops cleanly')
  // Raw files first: LevelDB may keep superseded values in its write-ahead log or older
  // tables until a compaction; report what is there, then check every live value.
  const raw = filesContaining(join(recv.dataDir, 'db'), marker)
  t.comment(`purge: raw LevelDB files of the receiver still holding the purged text after a clean stop: ${raw.length ? raw.map((f) => f.slice(recv.dataDir.length)).join(', ') : 'none'}`)
  const db = new ClassicLevel<string, Uint8Array>(join(recv.dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' })
  const live: string[] = []
  try {
    for await (const [k, v] of db.iterator()) if (k.includes(marker) || Buffer.from(v).includes(marker)) live.push(JSON.stringify(k))
  } finally {
    await db.close()
  }
  t.same(live, [], 'no live LevelDB entry of the receiver holds the purged text')
  t.same(filesContaining(recv.dataDir, marker).filter((f) => !f.includes('/db/')), [], 'nor any other file of the receiver')
  recvNow = await startDaemon({ t: top, dataDir: recv.dataDir })
  t.equal((await recvNow.cli(['resource', 'get', 'p1', '--json'])).error?.code, 'POLLEN_NOT_FOUND', 'p1 is still gone after the restart')
})

t.test('failure isolation: a down peer never stops a healthy one', async (t) => {
  const r0 = recvNow
  await rotate(r0, 'origin', origin)
  ok(t, await addPeer(r0, 'down', `https://127.0.0.1:${await freePort()}`, 'nobody', 'k'.repeat(32)), 'add a peer nothing listens for')
  await put(origin, doc('iso-1', 'After the outage'))
  const r = await syncAll(r0)
  t.not(r.code, 0, 'sync exits non-zero when a peer failed')
  t.match(r.stderr, /1 of 2 peers failed/)
  const byPeer = Object.fromEntries((r.json as any[]).map((x) => [x.peer, x]))
  t.match(byPeer.origin, { ok: true, new: 1 }, 'the healthy peer was synced')
  t.match(byPeer.down, { ok: false, error: /\S/, code: /^POLLEN_/ }, `the down peer failed with a reason: ${byPeer.down?.code}: ${byPeer.down?.error}`)
  t.ok(await get(r0, 'iso-1'), 'the healthy peer’s data arrived')
  const log = (await r0.cli(['log', '--json'])).json as any[]
  t.match(log.find((x) => x.peer === 'down'), { ok: false, error: /\S/, code: byPeer.down.code }, 'the log shows the failed run with its error')
  t.match(log.find((x) => x.peer === 'origin'), { ok: true, new: 1 }, 'and the healthy run')
  ok(t, await r0.cli(['peer', 'set', 'down', '--active', 'false']), 'make the down peer inactive')
  const plain = await syncAll(r0)
  ok(t, plain, 'a plain sync with only healthy active peers')
  t.same((plain.json as any[]).map((x) => x.peer), ['origin'], 'the inactive peer is not synced')
  t.equal(((await r0.cli(['log', 'down', '--json'])).json as any[]).length, 1, 'and has no new log entry')
})

t.test('a wrong key is refused with POLLEN_UNAUTHORIZED', async (t) => {
  const r0 = recvNow
  ok(t, await r0.cli(['peer', 'set', 'origin', '--key', 'wrong-key-' + 'x'.repeat(30)]), 'set a wrong key')
  const r = await syncAll(r0, ['origin'])
  t.not(r.code, 0, 'exits non-zero')
  t.match(r.json?.[0], { peer: 'origin', ok: false, code: 'POLLEN_UNAUTHORIZED' })
  await rotate(r0, 'origin', origin)
  await sync(t, r0, 'origin', 'a good key works again')
})

t.test('a read-only key: --push-only is forbidden and stores nothing; a plain sync still pulls', async (t) => {
  await put(enOnly, { id: 'e-1', title: { en: 'written on a read-only client' } })
  const before = await snapshot(origin)
  const r = await syncAll(enOnly, ['--push-only'])
  t.not(r.code, 0, 'exits non-zero')
  t.match(r.json?.[0], { peer: 'origin', ok: false, code: 'POLLEN_FORBIDDEN', pushed: 0 })
  t.same(await snapshot(origin), before, 'the server stored nothing new')
  t.equal(await get(origin, 'e-1'), undefined, 'e-1 is not on the server')
  await put(origin, doc('ro-1', 'For read-only readers'))
  const p = await sync(t, enOnly, 'origin', 'plain sync with a read-only key')
  t.match(p, { pushed: 0 }, 'it pushes nothing')
  t.ok(p.new >= 1, `it pulls (${p.new} new)`)
  t.ok(await get(enOnly, 'ro-1'), 'ro-1 arrived')
  t.equal(await get(origin, 'e-1'), undefined, 'still nothing pushed')
})

t.test('a changed instance key is refused until accepted', async (t) => {
  const r0 = recvNow
  const other = await startNode(t, root, 'impostor', { languages: ['en', 'fr'] })
  await put(other, doc('x-1', 'From another instance'))
  const key = await issue(other, 'recv-x', 'write')
  ok(t, await r0.cli(['peer', 'set', 'origin', '--url', other.url, '--user', 'recv-x', `--key=${key}`]), 'point the peer at another daemon')
  const r = await syncAll(r0, ['origin'])
  t.not(r.code, 0, 'exits non-zero')
  t.match(r.json?.[0], { peer: 'origin', ok: false, code: 'POLLEN_PEER_KEY_CHANGED', pulled: 0 })
  t.equal(await get(r0, 'x-1'), undefined, 'nothing was taken from the new instance')
  t.equal((await syncAll(r0, ['origin'])).json?.[0]?.code, 'POLLEN_PEER_KEY_CHANGED', 'still refused on the next try')
  t.match((await r0.cli(['peer', 'set', 'origin', '--accept-key'])).error, { code: 'POLLEN_INVALID_FLAG' }, '--accept-key needs the id typed out')
  t.match((await r0.cli(['peer', 'set', 'origin', '--accept-key', recvNow.instance])).error, { code: 'POLLEN_INVALID_INPUT' }, '--accept-key with another id than the one offered is refused')
  ok(t, await r0.cli(['peer', 'set', 'origin', '--accept-key', other.instance.replace(/(.{4})(?!$)/g, '$1-').toUpperCase()]), 'peer set --accept-key ID (grouped, any case)')
  await sync(t, r0, 'origin', 'sync after accepting')
  t.equal((await get(r0, 'x-1'))?.status, 'pending', 'the new instance’s data arrives')
  t.equal(fileHits, 0, 'no file bytes were fetched in the whole run')
})
