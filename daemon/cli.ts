#!/usr/bin/env node
/**
 * `pollen`: the command-line interface. `init` and `daemon` work on the data directory
 * directly; every other command is a thin client of the running daemon's control API.
 * Exit 0 on success; otherwise one line on stderr with the reason and its POLLEN_* code.
 */
import type { VerifyReport } from './syncService.js'
import { pollenError } from '../core/errors.js'
import type { ImportResult } from '../core/library/library.js'
import type { Peer } from '../core/access/peers.js'
import { formatInstanceId } from '../core/model/identity.js'
import type { UserInfo } from '../core/access/users.js'
import type { SyncResult } from '../core/sync/client.js'
import { COMMANDS, parseCommandLine } from './cliArgs.js'
import { helpText, usage, version } from './cliHelp.js'
import { out, print, required, type Ctx, type Handler } from './cliContext.js'
import { reviewHandlers } from './cliReview.js'
import { peerTable, progressBar, rekeyLine, terminalText, userTable } from './cliOutput.js'
import type { RekeyRecord } from '../core/log/opLog.js'
import { parseLanguages, resolveDataDir } from './config.js'
import { controlTarget } from './controlTarget.js'
import { readConfigSafe } from './configSources.js'
import { ControlClient } from './controlClient.js'
import { quietOnClosedOutput, reportError } from './cliErrors.js'
import { parseJson, readInput, readKey } from './cliInput.js'
import { initInstance } from './instance.js'
import { privateUmask } from '../adapters/privateDir.js'
import { runDaemon } from './service.js'
import { adminHandlers } from './cliAdmin.js'
import type { AdminStatus } from './admin/server.js'
import { runLine, syncCommand, syncLine, syncOutcome } from './cliSync.js'
import type { RunState } from './syncService.js'

function boolFlag(value: unknown, name: string): boolean | undefined {
  if (value === undefined) return undefined
  if (value === 'true') return true
  if (value === 'false') return false
  throw pollenError('POLLEN_INVALID_FLAG', `--${name} takes true or false, not ${JSON.stringify(value)}`)
}

const handlers: Record<string, Handler> = {
  ...reviewHandlers,
  async init(ctx) {
    privateUmask()
    const languages = ctx.flags.languages === undefined ? undefined : parseLanguagesFlag(String(ctx.flags.languages))
    const name = ctx.flags.name === undefined ? undefined : String(ctx.flags.name)
    const r = await initInstance(ctx.dataDir, { name, languages })
    print(ctx, { instance: r.instanceId, dataDir: ctx.dataDir, config: r.config }, () => `${r.instanceId}\nInitialised pollen instance "${r.config.name}" (languages ${r.config.languages.join(', ')}) in ${ctx.dataDir}`)
  },
  async daemon(ctx) {
    privateUmask()
    // --init: a first start on an empty data directory creates the instance (the quickstart's path).
    if (ctx.flags.init === true && (await readConfigSafe(ctx.dataDir)) === undefined) {
      const languages = ctx.flags.languages === undefined ? undefined : parseLanguagesFlag(String(ctx.flags.languages))
      const r = await initInstance(ctx.dataDir, { name: ctx.flags.name === undefined ? undefined : String(ctx.flags.name), languages })
      process.stderr.write(`pollen: initialised instance ${r.instanceId} in ${ctx.dataDir}\n`)
    } else if (ctx.flags.init !== true && (ctx.flags.name !== undefined || ctx.flags.languages !== undefined)) {
      throw pollenError('POLLEN_INVALID_FLAG', '--name and --languages go with --init (or with `pollen init`)')
    }
    await runDaemon({
      dataDir: ctx.dataDir,
      listen: ctx.flags.listen as string | undefined,
      adminListen: ctx.flags['admin-listen'] as string | undefined,
      socket: ctx.flags.socket as string | undefined,
      config: ctx.flags.config as string | undefined,
      logLevel: ctx.flags['log-level'] as string | undefined,
    })
  },
  async status(ctx) {
    const s = await (await ctx.client()).call<Record<string, unknown>>('GET', '/v1/status')
    print(ctx, s, () => {
      const r = s.resources as Record<string, number>
      const peers = s.peers as Peer[]
      return [
        `instance:   ${s.instanceGrouped} (${s.name})`,
        `author:     ${s.author}, counter ${s.counter}`,
        ...(s.rekey ? [`re-keyed:   ${rekeyLine(s.rekey as RekeyRecord)}`] : []),
        `languages:  ${(s.languages as string[]).join(', ')}`,
        `sync API:   ${s.listen} (${s.transport === 'plain' ? 'PLAIN HTTP, unencrypted' : 'TLS 1.3, instance certificates'})`,
        `web page:   ${adminLine(s.admin as AdminStatus | undefined)}`,
        `resources:  ${r.published} published, ${r.pending} pending review, ${r.rejected} rejected`,
        `conflicts:  ${s.conflicts}`,
        `peers:      ${peers.length ? peers.map((p) => `${p.name}${p.active ? '' : ' (inactive)'}`).join(', ') : 'none'}`,
        ...((s.running as RunState[] | undefined) ?? []).map((r) => `running:    ${runLine(r)}`),
        ...((s.warnings as string[] | undefined) ?? []).map((w) => `WARNING:    ${w}`),
      ].join('\n')
    })
  },
  async 'resource put'(ctx) {
    const body = parseJson(await readInput(ctx.args[0]), ctx.args[0] === '-' ? 'standard input' : ctx.args[0])
    const r = await (await ctx.client()).call<{ id: string; outcome: string }>('POST', '/v1/resources', body)
    print(ctx, r, () => r.id)
  },
  async 'resource import'(ctx) {
    const text = await readInput(ctx.args[0])
    const client = await ctx.client()
    let result: (ImportResult & { type: string }) | undefined
    const tty = process.stderr.isTTY && !ctx.json
    for await (const ev of client.stream('POST', '/v1/resources/import', text, 'text/plain')) {
      if (ev.type === 'progress' && tty) process.stderr.write(`\r${progressBar('importing', Number(ev.done), Number(ev.total))}`)
      if (ev.type === 'error') throw pollenError(ev.code as 'POLLEN_STORAGE', String(ev.message))
      if (ev.type === 'result') result = ev as unknown as ImportResult & { type: string }
    }
    if (tty) process.stderr.write('\n')
    if (!result) throw pollenError('POLLEN_STORAGE', 'the daemon ended the import without a result')
    const r = result
    print(ctx, r, () => `imported ${r.total - r.errors.length} of ${r.total}: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged`)
    if (r.errors.length) {
      for (const e of r.errors) process.stderr.write(terminalText(`  item ${e.index + 1}${e.id ? ` (${e.id})` : ''}: ${e.message} (${e.code})`, true) + '\n')
      throw pollenError('POLLEN_INVALID_RESOURCE', `${r.errors.length} of ${r.total} items were refused; the others were imported`)
    }
  },
  async 'resource delete'(ctx) {
    const purge = ctx.flags.purge === true
    const r = await (await ctx.client()).call('DELETE', `/v1/resources/${encodeURIComponent(ctx.args[0])}${purge ? '?purge=true' : ''}`)
    print(ctx, r, () => `${purge ? 'purged' : 'deleted'} ${ctx.args[0]}`)
  },
  async 'peer add'(ctx) {
    const u = 'pollen peer add --name N --url URL --user U --key K|--key -|--key-file PATH'
    // The key may be left out when systemd passes it as the credential peer-NAME.
    const body = { name: required(ctx.flags, 'name', u), url: required(ctx.flags, 'url', u), user: required(ctx.flags, 'user', u), key: await readKey(ctx.flags), filters: ctx.flags.filter, active: ctx.flags.inactive !== true, trusted: ctx.flags.trusted === true, windows: ctx.flags.window, maxKbps: kbpsFlag(ctx.flags['max-kbps']), meteredMb: ctx.flags.metered, urgent: ctx.flags.urgent, instance: ctx.flags.instance }
    const p = await (await ctx.client()).call<Peer>('POST', '/v1/peers', body)
    print(ctx, p, () => `added peer ${p.name} (${p.url})${p.active ? '' : ', inactive'}${p.trusted ? ', a trusted relay' : ''}${p.pinnedInstance ? `, pinned to instance ${formatInstanceId(p.pinnedInstance)}` : ', its instance id is pinned at first contact'}`)
  },
  async 'peer list'(ctx) {
    const list = await (await ctx.client()).call<Peer[]>('GET', '/v1/peers')
    print(ctx, list, () => peerTable(list))
  },
  async 'peer remove'(ctx) {
    const r = await (await ctx.client()).call('DELETE', `/v1/peers/${encodeURIComponent(ctx.args[0])}`)
    print(ctx, r, () => `removed peer ${ctx.args[0]}`)
  },
  async 'peer set'(ctx) {
    const body = { active: boolFlag(ctx.flags.active, 'active'), trusted: boolFlag(ctx.flags.trusted, 'trusted'), windows: listFlag(ctx.flags.window, 'any'), maxKbps: kbpsFlag(ctx.flags['max-kbps']), meteredMb: ctx.flags.metered, urgent: listFlag(ctx.flags.urgent, 'none'), filters: ctx.flags.filter, url: ctx.flags.url, user: ctx.flags.user, key: await readKey(ctx.flags), acceptKey: ctx.flags['accept-key'] }
    if (Object.values(body).every((v) => v === undefined)) throw pollenError('POLLEN_INVALID_FLAG', `nothing to change; usage: ${COMMANDS['peer set'].usage}`)
    const p = await (await ctx.client()).call<Peer>('PATCH', `/v1/peers/${encodeURIComponent(ctx.args[0])}`, body)
    print(ctx, p, () => `updated peer ${p.name}: ${p.active ? 'active' : 'inactive'}${p.trusted ? ', a trusted relay' : ''}${p.windows?.length ? `, scheduled syncs only ${p.windows.join(', ')}` : ''}${p.maxKbps ? `, capped at ${p.maxKbps} kbit/s` : ''}${p.meteredMb ? `, metered: scheduled syncs move at most ${p.meteredMb} MiB a day` : ''}${p.urgent?.length ? `, urgent: ${p.urgent.join(', ')}` : ''}, filters ${p.filters.map((f) => f || '(all)').join(',')}`)
  },
  async 'user add'(ctx) {
    const role = required(ctx.flags, 'role', COMMANDS['user add'].usage)
    const r = await (await ctx.client()).call<UserInfo & { key: string }>('POST', '/v1/users', { name: ctx.args[0], role, filters: ctx.flags.filter, instance: ctx.flags.instance, trusted: ctx.flags.trusted === true })
    print(ctx, r, () => `${r.key}\nuser ${r.name} (${r.role}, ${r.filters.map((f) => f || '(all)').join(',')}${r.trusted ? ', a trusted relay' : ''}): the API key above is shown only once; store it now`)
  },
  async 'user set'(ctx) {
    const body = { resetInstance: ctx.flags['reset-instance'] === true ? true : undefined, instance: ctx.flags.instance, trusted: boolFlag(ctx.flags.trusted, 'trusted') }
    if (Object.values(body).every((v) => v === undefined)) throw pollenError('POLLEN_INVALID_FLAG', `nothing to change; usage: ${COMMANDS['user set'].usage}`)
    const u = await (await ctx.client()).call<UserInfo>('PATCH', `/v1/users/${encodeURIComponent(ctx.args[0])}`, body)
    print(ctx, u, () => `updated user ${u.name}: ${u.instance ? `its key is bound to instance ${formatInstanceId(u.instance)}` : 'its key binds to the next instance that uses it'}${u.trusted ? ', a trusted relay' : ', not a trusted relay'}`)
  },
  async 'user list'(ctx) {
    const list = await (await ctx.client()).call<UserInfo[]>('GET', '/v1/users')
    print(ctx, list, () => userTable(list))
  },
  async 'user revoke'(ctx) {
    const r = await (await ctx.client()).call('DELETE', `/v1/users/${encodeURIComponent(ctx.args[0])}`)
    print(ctx, r, () => `revoked user ${ctx.args[0]}`)
  },
  async sync(ctx) {
    if (ctx.flags['pull-only'] && ctx.flags['push-only']) throw pollenError('POLLEN_INVALID_FLAG', '--pull-only and --push-only exclude each other')
    const mode = ctx.flags['pull-only'] ? 'pull' : ctx.flags['push-only'] ? 'push' : 'both'
    const attempts = ctx.flags['max-attempts']
    const maxAttempts = attempts === undefined ? undefined : Number(attempts)
    if (maxAttempts !== undefined && !(Number.isSafeInteger(maxAttempts) && maxAttempts >= 1 && maxAttempts <= 1000)) throw pollenError('POLLEN_INVALID_FLAG', `--max-attempts takes a whole number from 1 to 1000, not ${JSON.stringify(attempts)}`)
    const list = await syncCommand(await ctx.client(), { peers: ctx.args, mode, maxAttempts }, process.stderr.isTTY === true && !ctx.json)
    print(ctx, list, () => (list.length ? list.map(syncLine).join('\n') : 'No active peers to sync.'))
    const outcome = syncOutcome(list)
    if (outcome) throw outcome
  },
  async verify(ctx) {
    const list = await (await ctx.client()).call<VerifyReport[]>('POST', '/v1/verify', { peers: ctx.args })
    print(ctx, list, () => (list.length ? list.map(verifyLines).join('\n') : 'No active peers to check.'))
    const failedCount = list.filter((r) => !r.ok || (r.repair && !r.repair.ok)).length
    if (failedCount) throw pollenError('POLLEN_SYNC_FAILED', `${failedCount} of ${list.length} checks failed`)
  },
  async log(ctx) {
    const q = ctx.args[0] ? `?peer=${encodeURIComponent(ctx.args[0])}` : ''
    const client = await ctx.client()
    const list = await client.call<SyncResult[]>('GET', `/v1/log${q}`)
    // Runs in progress come first in the human form; --json stays the history as the API gives it.
    const running = ctx.json ? [] : (await client.call<RunState[]>('GET', '/v1/runs')).filter((r) => !ctx.args[0] || r.peer === ctx.args[0])
    print(ctx, list, () => (list.length || running.length ? [...running.map((r) => runLine(r)), ...list.map((r) => `${r.started}  ${syncLine(r)}`)].join('\n') : 'No syncs yet.'))
  },
  async rekey(ctx) {
    const r = await (await ctx.client()).call<{ from: string; to: string }>('POST', '/v1/rekey')
    print(ctx, r, () => `new author id ${r.to} (was ${r.from}); operations written under the old one come back from peers with the next syncs`)
  },
  async rebuild(ctx) {
    const r = await (await ctx.client()).call<{ ops: number; records: number; ms: number }>('POST', '/v1/rebuild')
    print(ctx, r, () => `rebuilt projections of ${r.records} records from ${r.ops} operations in ${r.ms} ms`)
  },
}

/** `--max-kbps N`: a whole number, checked for its range by the daemon. */
function kbpsFlag(value: unknown): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw pollenError('POLLEN_INVALID_FLAG', `--max-kbps takes a whole number of kbit/s (0 for no cap), not ${JSON.stringify(value)}`)
  return n
}

/** A repeatable flag whose one value `clear` (`--window any`, `--urgent none`) empties the list; other values are checked by the daemon. */
function listFlag(value: unknown, clear: string): string[] | undefined {
  if (value === undefined) return undefined
  const list = value as string[]
  return list.length === 1 && list[0] === clear ? [] : list
}

/** The web page's address, and under TLS the certificate fingerprint to compare with the browser's. */
function adminLine(a: AdminStatus | undefined): string {
  if (!a?.url) return 'off'
  // Bound to every address: the URL to open names one of the machine's own.
  const everywhere = /^https?:\/\/(0\.0\.0\.0|\[::\]):/.test(a.url) ? ', on every address of this machine' : ''
  return a.tls ? `${a.url} (TLS${everywhere}, certificate SHA-256 ${a.fingerprint})` : `${a.url} (this machine only)`
}

/** What one claims check found, for a person: all held, or each untrue claim and the repair. */
function verifyLines(r: VerifyReport): string {
  if (!r.ok) return terminalText(`${r.peer}: check FAILED ${r.error} (${r.code})`, true)
  const head = `${r.peer}: ${r.checked} claims checked against ${r.counted} operations`
  if (r.mismatches.length === 0) return `${head}: all held`
  const lines = r.mismatches.map((m) => `  ${m.prefix || '(everything)'} ${m.layer || '(neutral)'} by ${m.author}: claimed up to ${m.claimed}, held ${m.held} of ${m.expected} up to ${m.through}; now claims ${m.provenThrough}`)
  const repair = r.repair ? (r.repair.ok ? `repaired: pulled ${r.repair.pulled} operations` : `repair pull FAILED ${r.repair.error} (${r.repair.code}); the next sync retries`) : 'nothing to repair'
  return [`${head}: ${r.mismatches.length} untrue, ${r.lowered} stored claims lowered; ${repair}`, ...lines].join('\n')
}

function parseLanguagesFlag(value: string): string[] {
  try {
    return parseLanguages(value, '--languages')
  } catch (err) {
    throw pollenError('POLLEN_INVALID_FLAG', (err as Error).message.replace('configuration key "--languages"', '--languages'))
  }
}

/** Runs one command line; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json')
  try {
    const parsed = parseCommandLine(argv)
    if (parsed.command === 'version') {
      out(version())
      return 0
    }
    if (parsed.flags.help) {
      // `pollen --help` alone: every usage line; `pollen review approve --help`: that command.
      out(parsed.command === 'help' ? usage() : helpText(parsed.command.split(' ')))
      return 0
    }
    if (parsed.command === 'help') {
      out(helpText(parsed.args))
      return 0
    }
    const dataDir = resolveDataDir(parsed.flags['data-dir'] as string | undefined)
    const ctx: Ctx = {
      args: parsed.args,
      flags: parsed.flags,
      json,
      dataDir,
      client: async () => {
        const target = await controlTarget({ dataDir: parsed.flags['data-dir'] as string | undefined, socket: parsed.flags.socket as string | undefined })
        return new ControlClient(target.socket, target.system ? undefined : target.dataDir)
      },
    }
    const admin = adminHandlers[parsed.command]
    const handler = admin ? () => admin({ ...ctx, print: (value, human) => print(ctx, value, human) }) : handlers[parsed.command]
    if (!handler) throw pollenError('POLLEN_INVALID_FLAG', `\`pollen ${parsed.command}\` is not available in this version`)
    await handler(ctx)
    return 0
  } catch (err) {
    return reportError(err, json)
  }
}

quietOnClosedOutput()
const code = await main(process.argv.slice(2))
process.exitCode = code
