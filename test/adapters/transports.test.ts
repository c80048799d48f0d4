/**
 * Both sync transports against the conformance suite: the in-process one, and the HTTP client
 * talking to a real fastify app from buildSyncApi listening on 127.0.0.1 (a free port).
 */
import t from 'tap'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildSyncApi } from '../../adapters/httpSyncServer.js'
import { HttpSyncTransport } from '../../adapters/httpSyncTransport.js'
import { tlsCredentials, type TlsCredentials } from '../../adapters/tlsIdentity.js'
import { instanceIdOf, type Identity } from '../../core/model/identity.js'
import { MemorySyncTransport } from '../../adapters/memorySyncTransport.js'
import type { SyncServer } from '../../core/sync/server.js'
import { runTransportConformance } from './transportConformance.js'

runTransportConformance(t, 'memory', async (server) => ({ transport: new MemorySyncTransport(server), close: async () => {} }))

const apps = new Set<FastifyInstance>()
t.teardown(async () => {
  for (const app of apps) await app.close()
})

/** Serves `server` on a free loopback port; returns its port and a close for the transport and the app. */
async function served(server: SyncServer, tls?: TlsCredentials): Promise<{ port: number; closing: (transport: HttpSyncTransport) => () => Promise<void> }> {
  const app = buildSyncApi(server, {}, tls)
  apps.add(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return {
    port,
    closing: (transport) => async () => {
      transport.close()
      apps.delete(app)
      await app.close()
    },
  }
}

runTransportConformance(t, 'http (plain mode)', async (server) => {
  const { port, closing } = await served(server)
  const transport = new HttpSyncTransport(`http://127.0.0.1:${port}/`, { idleTimeoutMs: 20_000, plain: true })
  return { transport, close: closing(transport) }
})

const certs = new Map<Identity, TlsCredentials>()
const credsOf = async (id: Identity) => certs.get(id) ?? certs.set(id, await tlsCredentials(id)).get(id)

runTransportConformance(t, 'https (TLS 1.3, instance certificates)', async (server, ids) => {
  const { port, closing } = await served(server, await credsOf(ids.server))
  const transport = new HttpSyncTransport(`https://127.0.0.1:${port}/`, { idleTimeoutMs: 20_000, tls: await credsOf(ids.client), expectInstance: instanceIdOf(ids.server.publicKey) })
  return { transport, close: closing(transport) }
})
