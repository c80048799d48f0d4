/**
 * Signed authorship (issue 17, docs/protocol.md §11): a key holder cannot write under another
 * author's id, nor make a peer claim operations no author signed. Each attack is the one shown
 * on real daemons, as small as it can be, through pollen's own codec.
 */
import t from 'tap'
import { makeOperation, type Operation } from '../../../core/model/operation.js'
import { SealStore } from '../../../core/log/seals.js'
import { grant, node, storeDump, sync, type Node } from '../../helpers/syncNet.js'
import { authorOf, instanceIdOf, newIdentity } from '../../../core/model/identity.js'
import { LevelStore } from '../../../adapters/levelStore.js'
import { OpLog } from '../../../core/log/opLog.js'
import { Library } from '../../../core/library/library.js'
import { Users } from '../../../core/access/users.js'
import { SyncServer } from '../../../core/sync/server.js'
import { encodeOperation } from '../../../core/log/storedOp.js'

const U7 = 'lib:who/user:u7'

/** Operations under `author`'s id, counters `from`…`to`, in partition u7: what a forger makes. */
function forged(author: string, from: number, to: number, text = 'forged'): Operation[] {
  const ops: Operation[] = []
  for (let c = from; c <= to; c++) ops.push(makeOperation({ author, counter: c, kind: 'resource', id: `forged-${c}`, partition: U7, type: 'put', layer: 'en', hlc: Date.now(), tx: c, deps: {}, body: { title: `${text} ${c}` } }))
  return ops
}

/** A resource's English title, or undefined when the library has no such resource. */
async function title(n: Node, id: string): Promise<string | undefined> {
  try {
    return (await n.lib.get(id)).title?.en
  } catch {
    return undefined
  }
}

async function put(n: Node, id: string, title: string, partition = U7): Promise<void> {
  await n.lib.put({ id, partition, title: { en: title } })
}

/** cloud → school ← tablet, the tablet with a write key on the school scoped to u7. */
async function network() {
  const cloud = await node('cloud')
  const school = await node('school')
  const tablet = await node('tablet')
  for (let i = 0; i < 4; i++) await put(cloud, `cloud-${i}`, `cloud ${i}`)
  t.equal((await sync(school, cloud)).ok, true)
  // The tablet's first sync binds its key; the stores are compared after it.
  t.equal((await sync(tablet, school, { scope: [U7], prefixes: [U7] })).ok, true)
  return { cloud, school, tablet }
}

t.test('counter squatting: operations under another author without its seal are left out, and nothing stored changes', async (t) => {
  const { cloud, school, tablet } = await network()
  t.equal(cloud.log.counter, 8, 'the cloud wrote 8 operations (4 records, 2 layers)')
  // The tablet holds operations "by the cloud", counters 9–11, and pushes them.
  await tablet.log.applyRemote(forged(cloud.log.author, 9, 11), [])
  const before = await storeDump(school.store)
  const r = await sync(tablet, school, { scope: [U7], prefixes: [U7], mode: 'push' })
  t.equal(r.ok, true, 'the push itself is taken')
  t.same(await storeDump(school.store), before, 'nothing stored changed on the school')
  // The cloud now writes its real counters 9–10: the school takes them as if nothing happened.
  await put(cloud, 'allergy', 'Allergy record')
  const again = await sync(school, cloud)
  t.equal(again.ok, true, `the school syncs on${again.ok ? '' : `: ${again.code} ${again.error}`}`)
  t.equal(await title(school, 'allergy'), 'Allergy record', 'the real record arrived')
  t.equal(await title(school, 'forged-9'), undefined, 'and no forged one')
})

t.test('counter squatting with a seal of its own: refused, and nothing stored changes', async (t) => {
  const { cloud, school, tablet } = await network()
  // The tablet seals the forged operations with its own key, naming the cloud as author.
  const ops = forged(cloud.log.author, 9, 11)
  const { islands } = new SealStore(tablet.store).sealOwn(tablet.identity, ops, undefined)
  await tablet.log.applyRemote(ops, [], [], undefined, { islands })
  const before = await storeDump(school.store)
  const r = await sync(tablet, school, { scope: [U7], prefixes: [U7], mode: 'push' })
  t.equal(r.code, 'POLLEN_BAD_SIGNATURE', `refused: ${r.error}`)
  t.same(await storeDump(school.store), before, 'nothing stored changed on the school')
})

t.test('a changed operation under a genuine seal is refused', async (t) => {
  const cloud = await node('cloud')
  const relay = await node('relay')
  const school = await node('school')
  await put(cloud, 'a', 'Hand washing', 'lib')
  t.equal((await sync(relay, cloud)).ok, true)
  t.equal((await sync(school, relay)).ok, true, 'a first sync, before the relay turns')
  await put(cloud, 'b', 'Clean water', 'lib')
  t.equal((await sync(relay, cloud)).ok, true)
  // The relay rewrites the body of the cloud's operation and keeps the cloud's seal beside it.
  const real = await relay.log.getOp(cloud.log.author, 4)
  if (!real) throw new Error('no operation 4')
  const changed = makeOperation({ ...real, body: { title: 'Drink bleach' } })
  const key = `A\u0000${cloud.log.author}\u0000${String(4).padStart(16, '0')}`
  await relay.store.write([{ type: 'put', key, value: encodeOperation(changed) }])
  const before = await storeDump(school.store)
  const r = await sync(school, relay)
  t.equal(r.code, 'POLLEN_BAD_SIGNATURE', `refused: ${r.error}`)
  t.same(await storeDump(school.store), before, 'nothing stored changed on the school')
})

t.test('a forged claim of the cloud\'s counters hides nothing: claims go only as far as the cloud\'s seals', async (t) => {
  const { cloud, school, tablet } = await network()
  const vouched = school.log.seals.vouched(cloud.log.author)
  t.equal(vouched, 8, 'the school holds the cloud\'s seals through counter 8')
  // The tablet's log claims the cloud's counters up to 10^12 in u7, and pushes that claim.
  await tablet.log.applyRemote([], [{ prefix: U7, layer: '', author: cloud.log.author, counter: 1e12 }, { prefix: U7, layer: 'en', author: cloud.log.author, counter: 1e12 }])
  t.equal((await sync(tablet, school, { scope: [U7], prefixes: [U7], mode: 'push' })).ok, true)
  t.ok(school.log.vectors.effective(U7, 'en', cloud.log.author) <= 8, 'the school claims no more than the cloud sealed')
  // And the same claim sent by a peer the school pulls from.
  const rogue = await node('rogue')
  await rogue.log.applyRemote([], [{ prefix: '', layer: '', author: cloud.log.author, counter: 1e12 }, { prefix: '', layer: 'en', author: cloud.log.author, counter: 1e12 }])
  t.equal((await sync(school, rogue, { mode: 'pull' })).ok, true)
  t.ok(school.log.vectors.effective(U7, 'en', cloud.log.author) <= 8, 'a pulled claim is capped the same way')
  // The record the cloud writes next reaches the school, and the tablet.
  await put(cloud, 'allergy', 'Allergy: penicillin')
  t.equal((await sync(school, cloud)).pulled, 2, 'the school pulls the new record')
  // (The forging tablet's own log believes its own claim; an honest one pulls the record.)
  const honest = await node('honest')
  const r = await sync(honest, school, { scope: [U7], prefixes: [U7] })
  t.equal(r.ok, true)
  t.equal(await title(honest, 'allergy'), 'Allergy: penicillin', 'another tablet has it')
})

t.test('a trusted relay\'s claims are adopted as they come', async (t) => {
  const cloud = await node('cloud')
  const school = await node('school')
  const author = '0123456789abcdef0123456789abcdef.1'
  await cloud.log.applyRemote([], [{ prefix: '', layer: '', author, counter: 40 }])
  t.equal((await sync(school, cloud, { mode: 'pull' })).ok, true)
  t.equal(school.log.vectors.effective('', '', author), 0, 'from an untrusted peer: not adopted')
  t.equal((await sync(school, cloud, { mode: 'pull', trusted: true })).ok, true)
  t.equal(school.log.vectors.effective('', '', author), 40, 'from a trusted relay: adopted')
})

t.test('operations relayed through a filtered relay still prove their author, and unsealed ones pass only a trusted relay', async (t) => {
  const cloud = await node('cloud', ['en', 'fr'], { maxOps: 3, maxBytes: 1 << 20 })
  const school = await node('school', ['en'], { maxOps: 3, maxBytes: 1 << 20 })
  const tablet = await node('tablet', ['en'])
  // Interleaved partitions and languages: the school's filter leaves out every other one.
  for (let i = 0; i < 20; i++) await cloud.lib.put({ id: `r${i}`, partition: i % 2 ? U7 : 'lib:who/user:u9', title: { en: `en ${i}`, fr: `fr ${i}` } })
  const s = await sync(school, cloud, { scope: ['lib:who'], prefixes: [U7], mode: 'pull' })
  t.equal(s.ok, true, `school pulls u7 in English${s.ok ? '' : `: ${s.error}`}`)
  t.equal(s.unsealed, 0, 'every operation sealed')
  const r = await sync(tablet, school, { mode: 'pull' })
  t.equal(r.ok, true, `tablet pulls from the school${r.ok ? '' : `: ${r.error}`}`)
  t.equal(r.unsealed, 0, 'every relayed operation sealed')
  t.equal(r.pulled, 20, 'the ten u7 records, neutral and English layers')
  // An operation the school holds without a seal (taken from a trusted relay before seals).
  const legacy = makeOperation({ author: '0123456789abcdef0123456789abcdef.1', counter: 1, kind: 'resource', id: 'old', partition: U7, type: 'put', layer: '', hlc: 1, tx: 1, deps: {}, body: { n: 1 } })
  await school.log.applyRemote([legacy], [])
  const u = await sync(tablet, school, { mode: 'pull' })
  t.equal(u.unsealed, 1, 'an untrusting tablet leaves the unsealed operation out')
  t.equal(await title(tablet, 'old'), undefined)
  t.equal(tablet.log.vectors.effective(U7, '', legacy.author), 0, 'and claims nothing of its author')
  const v = await sync(tablet, school, { mode: 'pull', trusted: true })
  t.equal(v.unsealed, 0)
  t.ok(await tablet.log.state('resource', 'old'), 'a tablet that trusts the school takes it')
})

t.test('a push keeps unsealed operations only from a user the server marks trusted (`user set --trusted`)', async (t) => {
  const school = await node('school')
  const cloud = await node('cloud')
  // An operation of an author from before seals, as the school holds it (from a trusted relay).
  const legacy = makeOperation({ author: '0123456789abcdef0123456789abcdef.1', counter: 1, kind: 'resource', id: 'old', partition: U7, type: 'put', layer: '', hlc: 1, tx: 1, deps: {}, body: { n: 1 } })
  await school.log.applyRemote([legacy], [])
  const user = await grant(cloud, school)
  const r = await sync(school, cloud, { mode: 'push' })
  t.equal(r.ok, true, 'the push is taken')
  t.equal(await cloud.log.state('resource', 'old'), undefined, 'from an untrusted user: left out')
  t.equal(cloud.log.vectors.effective(U7, '', legacy.author), 0, 'and nothing of its author is claimed')
  t.equal((await cloud.users.set(user, { trusted: true })).trusted, true)
  t.equal((await sync(school, cloud, { mode: 'push' })).ok, true)
  t.ok(await cloud.log.state('resource', 'old'), 'from a trusted user: kept')
})

t.test('a log written before seals is sealed when it is opened with its key', async (t) => {
  const identity = newIdentity()
  const store = await LevelStore.openMemory()
  const author = authorOf(instanceIdOf(identity.publicKey), 1)
  // Written as by an older version: opened without the key, so nothing is sealed.
  const old = await OpLog.open(store, { author, languages: ['en', 'fr'] })
  const lib = new Library(old, { source: { name: 'cloud' }, defaultPartition: 'lib' })
  for (let i = 0; i < 65; i++) await lib.put({ id: `r${i}`, title: { en: `old ${i}` } })
  t.equal(old.seals.vouched(author), 0, 'no seals yet')
  const log = await OpLog.open(store, { author, languages: ['en', 'fr'], identity })
  t.equal(log.seals.vouched(author), 130, 'both segments sealed on open')
  const users = new Users(store)
  const cloud: Node = { name: 'cloud', identity, store, log, lib: new Library(log, { source: { name: 'cloud' }, defaultPartition: 'lib' }), users, server: new SyncServer({ identity, log, users }), keys: new Map(), pins: new Map() }
  const school = await node('school')
  const r = await sync(school, cloud)
  t.equal(r.ok, true)
  t.equal(r.unsealed, 0, 'the school takes them as sealed')
  t.equal(r.pulled, 130)
  await cloud.lib.put({ id: 'new', title: { en: 'new' } })
  t.equal((await sync(school, cloud)).pulled, 2, 'and the chain goes on from there')
})
