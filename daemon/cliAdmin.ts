/**
 * `pollen admin add|list|remove|passwd|role`: the web page's accounts, through the control API
 * (daemon/adminAccountRoutes.ts).
 */
import type { AdminInfo } from '../core/access/admins.js'
import { readPassword } from './cliPassword.js'
import type { Flags } from './cliArgs.js'
import type { ControlClient } from './controlClient.js'

/** What an admin command needs of the CLI's context. */
export interface AdminCtx {
  args: string[]
  flags: Flags
  client: () => Promise<ControlClient>
  print: (value: unknown, human: () => string) => void
}

type Shown = Omit<AdminInfo, 'generation'>

export const adminHandlers: Record<string, (ctx: AdminCtx) => Promise<void>> = {
  async 'admin add'(ctx) {
    const name = ctx.args[0]
    const role = ctx.flags.role === undefined ? 'reviewer' : String(ctx.flags.role)
    const password = await readPassword(ctx.flags, name)
    const a = await (await ctx.client()).call<Shown>('POST', '/v1/admins', { name, role, password })
    ctx.print(a, () => `added account ${a.name} (${a.role}) for the web page`)
  },
  async 'admin list'(ctx) {
    const list = await (await ctx.client()).call<Shown[]>('GET', '/v1/admins')
    ctx.print(list, () => (list.length ? ['NAME\tROLE\tCREATED\tPASSWORD CHANGED', ...list.map((a) => `${a.name}\t${a.role}\t${a.created}\t${a.passwordChanged}`)].join('\n') : 'No accounts; add one with `pollen admin add NAME --role admin`.'))
  },
  async 'admin remove'(ctx) {
    const r = await (await ctx.client()).call('DELETE', `/v1/admins/${encodeURIComponent(ctx.args[0])}`)
    ctx.print(r, () => `removed account ${ctx.args[0]}; its sessions are closed`)
  },
  async 'admin passwd'(ctx) {
    const name = ctx.args[0]
    const password = await readPassword(ctx.flags, name)
    const a = await (await ctx.client()).call<Shown>('PUT', `/v1/admins/${encodeURIComponent(name)}/password`, { password })
    ctx.print(a, () => `changed the password of ${a.name}; its open sessions are closed`)
  },
  async 'admin role'(ctx) {
    const [name, role] = ctx.args
    const a = await (await ctx.client()).call<Shown>('PUT', `/v1/admins/${encodeURIComponent(name)}/role`, { role })
    ctx.print(a, () => `account ${a.name} is now ${a.role === 'admin' ? 'an admin' : 'a reviewer'}; its open sessions are closed, and it logs in again with the new role`)
  },
}
