/**
 * Restored-backup detection (docs/protocol.md §9.3, core/sync/restore.ts): only the
 * instance's own signed head, shown back to it, re-keys it. A claim naming our author far
 * beyond our counter — what a read-only key once used to re-key a server to epoch 1,000,000
 * for good (issue 17) — changes nothing.
 */
import t from 'tap'
import { authorOf, newIdentity } from '../../../core/model/identity.js'
import { signHead } from '../../../core/model/head.js'
import { makeOperation } from '../../../core/model/operation.js'
import { isOpenResponse, type OpenTerms } from '../../../core/sync/wire/frames.js'
import { codeOf } from '../../helpers/errorCodes.js'
import { backupOf, grant, node, openRequestOf, openTermsOf, restoredFrom, storeSealed, sync, type Node } from '../../helpers/syncNet.js'

async function put(n: Node, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) await n.lib.put({ id: `${n.name}-${i}`, partition: 'lib', title: { en: `${n.name} ${i}` } })
}

/** A raw open from `client` (a read-only key holder playing the attacker), with terms of its choosing. */
async function rawOpen(server: Node, client: Node, o: Partial<OpenTerms>): Promise<unknown> {
  const name = await grant(server, client, 'read')
  const user = await server.users.authenticate(name, server.keys.get(name) as string)
  const frames = await server.server.open(user, openRequestOf(client, openTermsOf(client, name, { filter: { prefixes: [''], languages: ['en'] }, ...o })), undefined, client.identity.publicKey)
  for await (const f of frames) return f
  return undefined
}

t.test('a claim of our author far beyond our counter, at any epoch, re-keys nothing', async (t) => {
  const server = await node('server')
  const tablet = await node('tablet')
  await put(server, 3)
  const before = { author: server.log.author, counter: server.log.counter }
  const forged = [`${server.log.author}`, authorOf(server.log.instance, 999_999)]
  for (const author of forged) {
    const f = await rawOpen(server, tablet, { holder: [{ prefix: 'lib', layer: '', counters: { [author]: 1e12 } }] })
    t.ok(isOpenResponse(f), `answered (the claim of ${author.slice(-7)} costs only the one who made it)`)
  }
  t.same({ author: server.log.author, counter: server.log.counter }, before, 'same author id and counter')
  t.equal(await server.log.lastRekey(), undefined, 'no re-key recorded')
  // And the server still syncs normally with an honest peer, both ways.
  const school = await node('school')
  await put(school, 2)
  const r = await sync(school, server)
  t.equal(r.ok, true, 'an honest sync after the attack works')
  t.equal(r.pulled, 6, 'it pulled the server\'s 3 resources (2 operations each)')
})

t.test('a head of ours signed by another key re-keys nothing; a head that its sender did not sign is refused', async (t) => {
  const server = await node('server')
  const tablet = await node('tablet')
  const mallory = newIdentity()
  const f = await rawOpen(server, tablet, { yourHead: signHead(mallory, server.log.epoch, 1e9) })
  t.ok(isOpenResponse(f), 'answered')
  t.equal(server.log.author, authorOf(server.log.instance, 1), 'not re-keyed')
  const kept = await server.log.heads.best(tablet.log.instance)
  t.equal(await codeOf(() => rawOpen(server, tablet, { head: signHead(mallory, 1, 99) })), 'POLLEN_BAD_SIGNATURE', 'the client\'s own head must be its own')
  t.same(await server.log.heads.best(tablet.log.instance), kept, 'the head kept is the one from the accepted open')
})

t.test('a tablet restored from an old backup is re-keyed by the server that saw its head, and loses nothing', async (t) => {
  const server = await node('server')
  const tablet = await node('tablet')
  await put(tablet, 2)
  const backup = await backupOf(tablet)
  await put(tablet, 3, 2)
  t.equal((await sync(tablet, server)).ok, true, 'the tablet pushes its 5 resources')
  const restored = await restoredFrom(tablet, backup)
  t.equal(restored.log.counter, 4, 'the backup stands at counter 4 of 10')
  const r = await sync(restored, server)
  t.equal(r.ok, true, `the first sync after the restore works${r.ok ? '' : `: ${r.code} ${r.error}`}`)
  t.equal(restored.log.author, authorOf(tablet.log.instance, 2), 'a new author id')
  t.match((await restored.log.lastRekey())?.why, /showed this instance's own signed head .*\.1 at counter 10, beyond .*\.1 at counter 4/, 'the reason is kept for `pollen status`')
  t.equal((await restored.lib.list()).length, 5, 'the three resources the backup lost came back')
  await put(restored, 1, 10)
  t.equal((await sync(restored, server)).ok, true, 'new writes sync under the new author id')
  t.equal(server.log.maxHeld(restored.log.author), 2, 'the server holds the new resource under the new author id')
})

t.test('a server restored from an old backup is re-keyed by a client that saw its head', async (t) => {
  const server = await node('server')
  const school = await node('school')
  await put(server, 1)
  await grant(server, school)
  const backup = await backupOf(server)
  await put(server, 2, 1)
  t.equal((await sync(school, server)).ok, true, 'the school pulls 3 resources and keeps the server\'s head')
  const restored = await restoredFrom(server, backup)
  const r = await sync(school, restored)
  t.equal(r.ok, true, `the school syncs with the restored server${r.ok ? '' : `: ${r.code} ${r.error}`}`)
  t.equal(restored.log.author, authorOf(server.log.instance, 2), 'the server took a new author id')
  t.equal((await restored.lib.list()).length, 3, 'and got back what the backup lost')
})

t.test('an operation under our instance from an epoch after ours is refused, and nothing is stored', async (t) => {
  const server = await node('server')
  const theirs = authorOf(server.log.instance, 7)
  const op = makeOperation({ author: theirs, counter: 1, kind: 'resource', id: 'x', partition: 'lib', type: 'put', layer: '', hlc: 1, tx: 1, deps: {}, body: { title: 'forged' } })
  t.equal(await codeOf(() => server.log.applyRemote([op], [])), 'POLLEN_RESTORED_BACKUP', 'refused')
  t.equal(server.log.maxHeld(theirs), 0, 'nothing stored')
})

t.test('one operation with the largest timestamp does not freeze anyone\'s clock (issue 17)', async (t) => {
  const server = await node('server')
  const school = await node('school')
  const tablet = await node('tablet')
  // The tablet's clock (or its forger) stamped an operation at the end of the encoding.
  const op = makeOperation({ author: tablet.log.author, counter: 1, kind: 'resource', id: 'far', partition: 'lib', type: 'put', layer: 'en', hlc: Number.MAX_SAFE_INTEGER - 1, tx: 1, deps: {}, body: { title: 'from the far future' } })
  await storeSealed(server, tablet.identity, [op])
  await put(server, 1)
  const ours = await server.lib.get('server-0')
  t.ok(ours, 'the server still writes')
  const r = await sync(school, server)
  t.equal(r.ok, true, `the school pulls both${r.ok ? '' : `: ${r.code} ${r.error}`}`)
  t.equal(r.pulled, 3, 'the far-future operation and the server\'s two')
  await put(school, 1)
  t.equal((await sync(school, server)).ok, true, 'and the school\'s own writes go on syncing')
})
