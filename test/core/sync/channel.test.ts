/**
 * Freshness without clocks (docs/protocol.md §10.2): an open request carries no time, and is
 * accepted only over a channel held by the key it names; a captured one cannot be sent again
 * from anywhere else — not even to a server that restarted and forgot its nonces. (Daemons with
 * clocks decades off: test/daemon/tls.test.ts.)
 */
import { ownHead } from '../../../core/sync/restore.js'
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { instanceIdOf, newIdentity, sign } from '../../../core/model/identity.js'
import { pack } from '../../../core/msgpack.js'
import { encodeOpenTerms } from '../../../core/sync/wire/openTerms.js'
import { isOpenResponse, openSigned, PROTOCOL_VERSION, type OpenTerms } from '../../../core/sync/wire/frames.js'
import { SyncServer } from '../../../core/sync/server.js'
import { codeOf } from '../../helpers/errorCodes.js'
import { grant, node, type Node } from '../../helpers/syncNet.js'

function openRequest(client: Node, user: string): Uint8Array {
  const terms: OpenTerms = {
    v: PROTOCOL_VERSION, user,
    client: { instance: instanceIdOf(client.identity.publicKey), publicKey: client.identity.publicKey, author: client.log.author },
    server: '', nonce: new Uint8Array(randomBytes(16)), mode: 'pull',
    filter: { prefixes: [''], languages: ['en', 'fr'] }, holder: [], acks: false,
    head: ownHead(client.identity, client.log), yourHead: null, chunkBytes: 0, maxRate: 0, maxBytes: 0, linkRate: 0,
  }
  const body = encodeOpenTerms(terms)
  return pack({ t: 'open', body, sig: sign(openSigned(body), client.identity.secretKey) })
}

async function answered(frames: AsyncIterable<unknown>): Promise<boolean> {
  for await (const f of frames) return isOpenResponse(f)
  return false
}

t.test('a captured open request is refused over any other channel, also after a restart', async (t) => {
  const server = await node('srv')
  const client = await node('cli')
  const name = await grant(server, client)
  const user = await server.users.authenticate(name, server.keys.get(name) as string)
  const captured = openRequest(client, name)
  t.ok(await answered(await server.server.open(user, captured, undefined, client.identity.publicKey)), 'the original is answered')
  const thief = newIdentity().publicKey
  t.equal(await codeOf(() => server.server.open(user, captured, undefined, thief)), 'POLLEN_CHANNEL_MISMATCH', 'replayed over another instance\'s channel')
  t.equal(await codeOf(() => server.server.open(user, captured, undefined, client.identity.publicKey)), 'POLLEN_REPLAY', 'replayed over the same channel: the nonce was used')
  // A restarted server has forgotten the nonce; the channel binding still holds.
  const restarted = new SyncServer({ identity: server.identity, log: server.log, users: server.users })
  t.equal(await codeOf(() => restarted.open(user, captured, undefined, thief)), 'POLLEN_CHANNEL_MISMATCH', 'after a restart, still refused from another channel')
  const stored = await server.users.list()
  t.equal(stored.find((u) => u.name === name)?.instance, instanceIdOf(client.identity.publicKey), 'the key stays bound to the client')
})

t.test('a key bound to one instance is refused from another, and binding happens only on success', async (t) => {
  const server = await node('srv')
  const a = await node('a')
  const b = await node('b')
  const name = await grant(server, a)
  const user = await server.users.authenticate(name, server.keys.get(name) as string)
  t.ok(await answered(await server.server.open(user, openRequest(a, name), undefined, a.identity.publicKey)), 'first use binds to a')
  const again = await server.users.authenticate(name, server.keys.get(name) as string)
  t.equal(await codeOf(() => server.server.open(again, openRequest(b, name), undefined, b.identity.publicKey)), 'POLLEN_KEY_BOUND', 'b is refused')
  await server.users.set(name, { resetInstance: true })
  t.equal((await server.users.list()).find((u) => u.name === name)?.instance, undefined, 'reset frees it')
})
