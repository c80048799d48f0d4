/**
 * Both sync transports against the conformance suite: the in-process one, and the HTTP client
 * talking to a real fastify app from buildSyncApi listening on 127.0.0.1 (a free port).
 */
import t from 'tap'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildSyncApi } from '../../adapters/httpSyncServer.js'
import { HttpSyncTransport } from '../../adapters/httpSyncTransport.js'
import { MemorySyncTransport } from '../../adapters/memorySyncTransport.js'
import { runTransportConformance } from './transportConformance.js'

runTransportConformance(t, 'memory', async (server) => ({ transport: new MemorySyncTransport(server), close: async () => {} }))

const apps = new Set<FastifyInstance>()
t.teardown(async () => {
  for (const app of apps) await app.close()
})

runTransportConformance(t, 'http', async (server) => {
  const app = buildSyncApi(server)
  apps.add(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const transport = new HttpSyncTransport(`http://127.0.0.1:${port}/`, { idleTimeoutMs: 20_000 })
  return {
    transport,
    close: async () => {
      transport.close()
      apps.delete(app)
      await app.close()
    },
  }
})
