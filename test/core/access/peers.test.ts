/**
 * Peers (core/access/peers.ts): the trusted-relay flag (docs/protocol.md §11.4) is stored,
 * changed and returned like the other settings, defaults to false, and a peer stored before
 * the flag existed reads as untrusted.
 */
import t from 'tap'
import { LevelStore } from '../../../adapters/levelStore.js'
import { NamedEntries } from '../../../core/log/namedEntries.js'
import { Peers, type Peer, type SecretStore } from '../../../core/access/peers.js'

function memorySecrets(): SecretStore {
  const m = new Map<string, string>()
  return {
    get: async (n) => m.get(n),
    set: async (n, s) => void m.set(n, s),
    delete: async (n) => void m.delete(n),
  }
}

const base = { url: 'https://school.example:7420', user: 'cloud', key: 'peer-key-12345678' }

t.test('trusted is false unless asked for, and set changes it both ways', async (t) => {
  const peers = new Peers(await LevelStore.openMemory(), memorySecrets())
  t.equal((await peers.add({ ...base, name: 'plain' })).trusted, false, 'added untrusted by default')
  t.equal((await peers.add({ ...base, name: 'relay', url: 'https://relay.example', trusted: true })).trusted, true, 'added trusted')
  t.same((await peers.list()).map((p) => [p.name, p.trusted]), [['plain', false], ['relay', true]], 'listed as stored')
  t.equal((await peers.set('plain', { trusted: true })).trusted, true)
  t.equal((await peers.get('plain')).trusted, true, 'kept')
  const after = await peers.set('relay', { trusted: false })
  t.match(after, { trusted: false, active: true, filters: [''] }, 'untrusted again; nothing else changed')
})

t.test('a trusted value that is not a boolean is refused, and nothing is written', async (t) => {
  const peers = new Peers(await LevelStore.openMemory(), memorySecrets())
  for (const bad of ['true', 1, null, 'yes']) {
    await t.rejects(peers.add({ ...base, name: 'p', trusted: bad }), { code: 'POLLEN_INVALID_INPUT', message: /trusted must be true or false/ }, `add with ${JSON.stringify(bad)}`)
  }
  t.same(await peers.list(), [], 'no peer was added')
  await peers.add({ ...base, name: 'p' })
  const before = await peers.get('p')
  await t.rejects(peers.set('p', { trusted: 'false', active: false }), { code: 'POLLEN_INVALID_INPUT' })
  t.same(await peers.get('p'), before, 'a refused set changes nothing, not even the valid part')
})

t.test('a peer stored before the flag existed reads as untrusted', async (t) => {
  const store = await LevelStore.openMemory()
  const old: Peer = { name: 'old', url: 'https://old.example', user: 'u', filters: [''], active: true, created: new Date(0).toISOString() }
  await new NamedEntries<Peer>(store, 'peer').put('old', old)
  const peers = new Peers(store, memorySecrets())
  t.equal((await peers.get('old')).trusted, false)
  t.equal((await peers.list())[0].trusted, false)
})
