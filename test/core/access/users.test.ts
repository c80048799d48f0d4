/**
 * Users (core/access/users.ts): the trusted-relay flag (docs/protocol.md §11.4) is set at
 * `add` or by `set`, is in every listing, and comes back from `authenticate`, which is where
 * the sync server reads it (core/sync/server.ts builds its SealGate from it).
 */
import t from 'tap'
import { LevelStore } from '../../../adapters/levelStore.js'
import { NamedEntries } from '../../../core/log/namedEntries.js'
import { Users, type User } from '../../../core/access/users.js'

t.test('trusted is false unless asked for, set changes it, and authenticate returns it', async (t) => {
  const users = new Users(await LevelStore.openMemory())
  const plain = await users.add({ name: 'plain', role: 'write' })
  const relay = await users.add({ name: 'relay', role: 'write', trusted: true })
  t.equal(plain.user.trusted, false)
  t.equal(relay.user.trusted, true)
  t.same((await users.list()).map((u) => [u.name, u.trusted]), [['plain', false], ['relay', true]])
  t.equal((await users.authenticate('relay', relay.key)).trusted, true, 'the server sees a trusted relay')
  t.equal((await users.authenticate('plain', plain.key)).trusted, false)
  t.equal((await users.set('plain', { trusted: true })).trusted, true)
  t.equal((await users.authenticate('plain', plain.key)).trusted, true, 'a change applies to the next session')
  t.equal((await users.set('relay', { trusted: false })).trusted, false)
  t.equal((await users.authenticate('relay', relay.key)).trusted, false)
})

t.test('trusted travels with the other changes, and a bad value is refused before any write', async (t) => {
  const users = new Users(await LevelStore.openMemory())
  const { key } = await users.add({ name: 'u', role: 'read' })
  await users.bindInstance('u', '0123456789abcdef0123456789abcdef')
  const both = await users.set('u', { resetInstance: true, trusted: true })
  t.match(both, { trusted: true }, 'trusted set')
  t.equal(both.instance, undefined, 'and the instance freed, in one change')
  await t.rejects(users.add({ name: 'v', role: 'read', trusted: 'true' }), { code: 'POLLEN_INVALID_INPUT', message: /trusted must be true or false/ })
  t.same((await users.list()).map((u) => u.name), ['u'], 'the refused add wrote nothing')
  await t.rejects(users.set('u', { trusted: 0, instance: 'fedcba9876543210fedcba9876543210' }), { code: 'POLLEN_INVALID_INPUT' })
  t.match(await users.authenticate('u', key), { trusted: true, instance: undefined }, 'the refused set changed nothing')
})

t.test('a user stored before the flag existed authenticates as untrusted', async (t) => {
  const store = await LevelStore.openMemory()
  const users = new Users(store)
  const { key, user } = await users.add({ name: 'old', role: 'write' })
  const stored = (await new NamedEntries<User>(store, 'user').get('old')) as User
  delete stored.trusted
  await new NamedEntries<User>(store, 'user').put('old', stored)
  t.same(await users.authenticate('old', key), { ...user, trusted: false })
})
