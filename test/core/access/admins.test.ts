/**
 * Web page accounts (core/access/admins.ts): scrypt hashes under a per-account salt, the same
 * refusal for an unknown name and a wrong password, a new generation at every password
 * change, and refused input that writes nothing.
 */
import t from 'tap'
import { LevelStore } from '../../../adapters/levelStore.js'
import { NamedEntries } from '../../../core/log/namedEntries.js'
import { Admins, type AdminAccount } from '../../../core/access/admins.js'

// Cheap parameters keep the test fast; the default cost is checked once below.
const FAST = { N: 1024, r: 8, p: 1 }

t.test('add, verify, passwd, remove', async (t) => {
  const store = await LevelStore.openMemory()
  const admins = new Admins(store, FAST)
  const a = await admins.add({ name: 'alice', role: 'admin', password: 'correct horse' })
  t.match(a, { name: 'alice', role: 'admin' })
  t.notOk('hash' in a || 'salt' in a, 'what add answers carries no hash or salt')
  t.equal((await admins.verify('alice', 'correct horse')).name, 'alice')
  await t.rejects(admins.verify('alice', 'correct horsE'), { code: 'POLLEN_UNAUTHORIZED', message: 'unknown account or wrong password' })
  await t.rejects(admins.verify('nobody', 'correct horse'), { code: 'POLLEN_UNAUTHORIZED', message: 'unknown account or wrong password' }, 'an unknown name gets the same answer')
  await t.rejects(admins.verify('../etc', 'x'), { code: 'POLLEN_UNAUTHORIZED' })
  await t.rejects(admins.verify(undefined, undefined), { code: 'POLLEN_UNAUTHORIZED' })
  const b = await admins.add({ name: 'bob', password: 'correct horse' })
  t.equal(b.role, 'reviewer', 'reviewer unless asked')
  const stored = new NamedEntries<AdminAccount>(store, 'admin')
  const [sa, sb] = [await stored.get('alice'), await stored.get('bob')]
  t.not(sa?.salt, sb?.salt, 'each account has its own salt')
  t.not(sa?.hash, sb?.hash, 'so the same password hashes differently')
  t.notOk(JSON.stringify(sa).includes('correct horse'), 'the password is not stored')

  const changed = await admins.passwd('alice', 'battery staple!')
  t.not(changed.generation, a.generation, 'a password change makes a new generation (sessions end)')
  await t.rejects(admins.verify('alice', 'correct horse'), { code: 'POLLEN_UNAUTHORIZED' }, 'the old password no longer opens it')
  t.equal((await admins.verify('alice', 'battery staple!')).role, 'admin', 'the role stays')
  t.equal(changed.created, a.created)
  await admins.remove('bob')
  t.same((await admins.list()).map((x) => x.name), ['alice'])
  await t.rejects(admins.remove('bob'), { code: 'POLLEN_NOT_FOUND' })
  await t.rejects(admins.passwd('bob', 'long enough password'), { code: 'POLLEN_NOT_FOUND' })
})

t.test('bad input is refused before anything is written', async (t) => {
  const admins = new Admins(await LevelStore.openMemory(), FAST)
  await t.rejects(admins.add({ name: 'x', password: 'short' }), { code: 'POLLEN_INVALID_INPUT', message: /at least 10/ })
  await t.rejects(admins.add({ name: 'x', role: 'root', password: 'long enough pw' }), { code: 'POLLEN_INVALID_INPUT', message: /reviewer.*admin/ })
  await t.rejects(admins.add({ name: '-x', password: 'long enough pw' }), { code: 'POLLEN_INVALID_INPUT' })
  await t.rejects(admins.add({ name: 'x', password: 12345678901 }), { code: 'POLLEN_INVALID_INPUT' })
  await t.rejects(admins.add({ name: 'x', password: 'x'.repeat(1025) }), { code: 'POLLEN_INVALID_INPUT', message: /too long/ })
  t.same(await admins.list(), [], 'nothing was written')
  await admins.add({ name: 'x', password: 'long enough pw' })
  await t.rejects(admins.add({ name: 'x', password: 'another long pw' }), { code: 'POLLEN_ALREADY_EXISTS' })
  await t.rejects(admins.passwd('x', 'short'), { code: 'POLLEN_INVALID_INPUT' })
  t.ok(await admins.verify('x', 'long enough pw'), 'a refused passwd kept the password')
})

t.test('the default cost is scrypt N=2^15, r=8', async (t) => {
  const store = await LevelStore.openMemory()
  await new Admins(store).add({ name: 'slow', password: 'long enough pw' })
  t.same((await new NamedEntries<AdminAccount>(store, 'admin').get('slow'))?.params, { N: 32768, r: 8, p: 1 })
  t.equal(Buffer.from((await new NamedEntries<AdminAccount>(store, 'admin').get('slow'))!.hash, 'base64').length, 32)
})

t.test('setRole: another role in place, the password kept, the sessions ended; a bad role changes nothing', async (t) => {
  const store = await LevelStore.openMemory()
  const admins = new Admins(store, FAST)
  const added = await admins.add({ name: 'rita', password: 'reviewer password' })
  const promoted = await admins.setRole('rita', 'admin')
  t.equal(promoted.role, 'admin')
  t.not(promoted.generation, added.generation, 'a new generation: the account\'s sessions end, and none comes back if the role does')
  t.equal((await admins.verify('rita', 'reviewer password')).role, 'admin', 'the same password opens it')
  await t.rejects(admins.setRole('rita', 'root'), { code: 'POLLEN_INVALID_INPUT' })
  await t.rejects(admins.setRole('nobody', 'admin'), { code: 'POLLEN_NOT_FOUND' })
  t.equal((await admins.get('rita'))?.role, 'admin', 'the refused change left it as it was')
})
