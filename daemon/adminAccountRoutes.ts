/**
 * Control API routes for the web page's accounts (core/access/admins.ts): add, list,
 * remove, change a password. Passwords travel over the Unix socket only; answers never
 * carry a hash or a salt.
 */
import type { FastifyInstance } from 'fastify'
import { pollenError } from '../core/errors.js'
import type { Admins } from '../core/access/admins.js'

function body(req: { body: unknown }): Record<string, unknown> {
  const b = req.body
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw pollenError('POLLEN_INVALID_INPUT', 'the request body must be a JSON object')
  return b as Record<string, unknown>
}

/** Strips the generation: it is the daemon's business, not the operator's. */
function shown<T extends { generation?: string }>(a: T): Omit<T, 'generation'> {
  const { generation: _g, ...rest } = a
  return rest
}

export function registerAdminAccountRoutes(app: FastifyInstance, admins: Admins): void {
  app.post('/v1/admins', async (req) => {
    const b = body(req)
    return shown(await admins.add({ name: b.name, role: b.role, password: b.password }))
  })
  app.get('/v1/admins', async () => (await admins.list()).map(shown))
  app.delete('/v1/admins/:name', async (req) => {
    const name = (req.params as { name: string }).name
    await admins.remove(name)
    return { name, removed: true }
  })
  app.put('/v1/admins/:name/password', async (req) => {
    const name = (req.params as { name: string }).name
    return shown(await admins.passwd(name, body(req).password))
  })
  app.put('/v1/admins/:name/role', async (req) => {
    const name = (req.params as { name: string }).name
    return shown(await admins.setRole(name, body(req).role))
  })
}
