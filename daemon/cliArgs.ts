/**
 * Command-line parsing: the command words, then flags. `--data-dir` and `--json` are global
 * and accepted anywhere; every other flag is checked against what the command takes, so a
 * typo is refused with POLLEN_INVALID_FLAG instead of being ignored.
 */
import { parseArgs } from 'node:util'
import { pollenError } from '../core/errors.js'

type Spec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string }

const OPTIONS: Record<string, Spec> = {
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  socket: { type: 'string' },
  name: { type: 'string' },
  languages: { type: 'string' },
  listen: { type: 'string' },
  status: { type: 'string' },
  lang: { type: 'string' },
  purge: { type: 'boolean' },
  keep: { type: 'string' },
  url: { type: 'string' },
  user: { type: 'string' },
  key: { type: 'string' },
  'key-file': { type: 'string' },
  filter: { type: 'string', multiple: true },
  window: { type: 'string', multiple: true },
  'max-kbps': { type: 'string' },
  metered: { type: 'string' },
  urgent: { type: 'string', multiple: true },
  inactive: { type: 'boolean' },
  active: { type: 'string' },
  'accept-key': { type: 'string' },
  instance: { type: 'string' },
  'reset-instance': { type: 'boolean' },
  // A switch where a thing is added; `peer set` and `user set` take true|false (VALUED below).
  trusted: { type: 'boolean' },
  role: { type: 'string' },
  'pull-only': { type: 'boolean' },
  'push-only': { type: 'boolean' },
  'max-attempts': { type: 'string' },
  init: { type: 'boolean' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'admin-listen': { type: 'string' },
  'password-file': { type: 'string' },
  version: { type: 'boolean' },
  all: { type: 'boolean' },
  peer: { type: 'string' },
  tag: { type: 'string' },
  partition: { type: 'string' },
  search: { type: 'string' },
  reason: { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
}

const GLOBAL = ['data-dir', 'json', 'help', 'socket', 'version']

/** The filters of the review queue and of bulk decisions. */
const FILTER_FLAGS = ['peer', 'tag', 'lang', 'partition', 'search']

/**
 * Flags that are a switch in OPTIONS but take a value in these commands: `--trusted` adds a
 * trusted relay, `--trusted false` is how a change says "no longer". The command is found
 * with OPTIONS first, then the line is parsed again with its own types.
 */
const VALUED: Record<string, Record<string, Spec>> = {
  'peer set': { trusted: { type: 'string' } },
  'user set': { trusted: { type: 'string' } },
}

/** Each command: the flags it takes, how many positional arguments (min, max), its usage line and what it does. */
export const COMMANDS: Record<string, { flags: string[]; args: [number, number]; usage: string; summary: string }> = {
  help: { flags: [], args: [0, 2], usage: 'pollen help [COMMAND]', summary: 'Shows every command, or one command with its flags.' },
  init: { flags: ['name', 'languages'], args: [0, 0], usage: 'pollen init [--name NAME] [--languages en,fr]', summary: 'Creates an instance (identity, configuration, database) in the data directory.' },
  daemon: { flags: ['listen', 'admin-listen', 'init', 'name', 'languages', 'config', 'log-level'], args: [0, 0], usage: 'pollen daemon [--listen HOST:PORT] [--admin-listen HOST:PORT|off] [--socket PATH] [--config FILE] [--log-level LEVEL] [--init [--name N] [--languages en,fr]]', summary: 'Runs the daemon in the foreground: the sync API, the scheduler, the web page and the control socket the other commands talk to.' },
  status: { flags: [], args: [0, 0], usage: 'pollen status', summary: 'Shows the instance, its resources, conflicts and peers.' },
  'resource put': { flags: [], args: [1, 1], usage: 'pollen resource put FILE|-', summary: 'Creates or updates one resource from a JSON file (or standard input).' },
  'resource import': { flags: [], args: [1, 1], usage: 'pollen resource import FILE|-', summary: 'Imports many resources from a JSON array or NDJSON; refused items are listed, the others land.' },
  'resource get': { flags: [], args: [1, 1], usage: 'pollen resource get ID', summary: 'Shows one resource in any review status, with its review decision.' },
  'resource list': { flags: ['status', 'lang'], args: [0, 0], usage: 'pollen resource list [--status published|pending|rejected] [--lang L]', summary: 'Lists resources of one review status (published by default).' },
  'resource history': { flags: [], args: [1, 1], usage: 'pollen resource history ID', summary: 'Every operation of a resource held here, oldest first: who wrote what, when, from which instance.' },
  'resource diff': { flags: [], args: [1, 1], usage: 'pollen resource diff ID', summary: 'What changed in a resource since this instance last approved it.' },
  'resource delete': { flags: ['purge'], args: [1, 1], usage: 'pollen resource delete ID [--purge]', summary: 'Deletes a resource everywhere it syncs to; --purge also drops its content.' },
  'review list': { flags: ['limit', 'offset', ...FILTER_FLAGS], args: [0, 0], usage: 'pollen review list [--limit N] [--offset N] [--peer P] [--tag T] [--lang L] [--partition PREFIX] [--search TEXT]', summary: 'Lists resources from peers waiting for review, a page at a time.' },
  'review approve': { flags: ['all', 'reason', ...FILTER_FLAGS], args: [0, Infinity], usage: 'pollen review approve ID... | --all [--peer P] [--tag T] [--lang L] [--partition PREFIX] [--search TEXT]  [--reason TEXT]', summary: 'Publishes resources from peers: the ids given, or every pending one the filters match.' },
  'review reject': { flags: ['all', 'reason', ...FILTER_FLAGS], args: [0, Infinity], usage: 'pollen review reject ID... | --all [--peer P] [--tag T] [--lang L] [--partition PREFIX] [--search TEXT]  [--reason TEXT]', summary: 'Hides resources from peers: the ids given, or every pending one the filters match.' },
  'review policy': { flags: [], args: [0, 1], usage: 'pollen review policy [publish|hold]', summary: 'Shows or sets what a peer\'s update to an approved resource does: publish at once, or hold it for review.' },
  'conflicts list': { flags: [], args: [0, 0], usage: 'pollen conflicts list', summary: 'Lists records with concurrent versions, each with the instance that wrote it and its text.' },
  'conflicts resolve': { flags: ['keep'], args: [1, 1], usage: 'pollen conflicts resolve ID --keep INSTANCE|OP', summary: 'Keeps one side of a resource\'s conflicts, in every layer at once.' },
  'peer add': { flags: ['name', 'url', 'user', 'key', 'key-file', 'filter', 'inactive', 'trusted', 'window', 'max-kbps', 'metered', 'urgent', 'instance'], args: [0, 0], usage: 'pollen peer add --name N --url https://HOST:PORT --user U [--key K | --key - | --key-file PATH] [--instance ID] [--filter PREFIX]... [--inactive] [--trusted] [--window HH:MM-HH:MM]... [--max-kbps N] [--metered MIB-A-DAY] [--urgent PREFIX]...', summary: 'Registers an instance to sync with.' },
  'peer list': { flags: [], args: [0, 0], usage: 'pollen peer list', summary: 'Lists the peers.' },
  'peer remove': { flags: [], args: [1, 1], usage: 'pollen peer remove N', summary: 'Removes a peer and its stored key.' },
  'peer set': { flags: ['active', 'trusted', 'window', 'max-kbps', 'metered', 'urgent', 'filter', 'accept-key', 'url', 'user', 'key', 'key-file'], args: [1, 1], usage: 'pollen peer set N [--active true|false] [--trusted true|false] [--window HH:MM-HH:MM|any]... [--max-kbps N|0] [--metered MIB-A-DAY|0] [--urgent PREFIX|none]... [--filter PREFIX]... [--accept-key ID] [--url URL] [--user U] [--key K | --key - | --key-file PATH]', summary: 'Changes a peer.' },
  'user add': { flags: ['role', 'filter', 'instance', 'trusted'], args: [1, 1], usage: 'pollen user add NAME --role read|write [--filter PREFIX]... [--instance ID] [--trusted]', summary: 'Lets another instance sync with this one; prints its API key once.' },
  'user set': { flags: ['reset-instance', 'instance', 'trusted'], args: [1, 1], usage: 'pollen user set NAME [--reset-instance | --instance ID] [--trusted true|false]', summary: 'Changes a user.' },
  'user list': { flags: [], args: [0, 0], usage: 'pollen user list', summary: 'Lists the users.' },
  'user revoke': { flags: [], args: [1, 1], usage: 'pollen user revoke NAME', summary: 'Revokes a user\'s key.' },
  sync: { flags: ['pull-only', 'push-only', 'max-attempts'], args: [0, 1000], usage: 'pollen sync [PEER...] [--pull-only|--push-only] [--max-attempts N]', summary: 'Syncs with the peers named, or every active peer, now; Ctrl-C stops at the next chunk boundary.' },
  verify: { flags: [], args: [0, 1000], usage: 'pollen verify [PEER...]', summary: 'Checks this instance\'s claims against peers and repairs untrue ones.' },
  log: { flags: [], args: [0, 1], usage: 'pollen log [PEER]', summary: 'Shows the runs in progress, then the sync history, of one peer or all.' },
  rebuild: { flags: [], args: [0, 0], usage: 'pollen rebuild', summary: 'Rebuilds every projection (states, review index, conflicts) from the log.' },
  rekey: { flags: [], args: [0, 0], usage: 'pollen rekey', summary: 'Starts a new author id, after this data directory was restored from a backup.' },
  'admin add': { flags: ['role', 'password-file'], args: [1, 1], usage: 'pollen admin add NAME [--role reviewer|admin] [--password-file PATH]', summary: 'Adds an account of the web page; the password comes from the file, standard input or a prompt.' },
  'admin list': { flags: [], args: [0, 0], usage: 'pollen admin list', summary: 'Lists the web page\'s accounts and their roles.' },
  'admin remove': { flags: [], args: [1, 1], usage: 'pollen admin remove NAME', summary: 'Removes an account of the web page and ends its sessions.' },
  'admin role': { flags: [], args: [2, 2], usage: 'pollen admin role NAME reviewer|admin', summary: 'Gives an account of the web page another role, in place: its password stays, its open sessions end.' },
  'admin passwd': { flags: ['password-file'], args: [1, 1], usage: 'pollen admin passwd NAME [--password-file PATH]', summary: 'Sets a new password for an account of the web page and ends its sessions.' },
}

export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>

export interface ParsedCommand {
  command: string
  args: string[]
  flags: Flags
}

/** The usage text of every command. */
export function usage(): string {
  return ['usage:', ...Object.values(COMMANDS).map((c) => `  ${c.usage}`), '', 'global flags: --data-dir DIR, --json, --socket PATH, --version', '`pollen help COMMAND` describes a command and its flags.'].join('\n')
}

function argumentCount(n: number): string {
  return n === 0 ? 'none' : String(n)
}

/** What is wrong with the number of arguments, for the refusal. */
function wrongArgs(command: string, got: number): string {
  const [min, max] = COMMANDS[command].args
  if (command === 'review approve' || command === 'review reject') return 'give resource ids, or --all with filters'
  const wanted = min === max ? (min === 0 ? 'no arguments' : `${min} argument${min === 1 ? '' : 's'}`) : max === Infinity ? `at least ${min}` : `${min} to ${max} arguments`
  return `wrong number of arguments: \`pollen ${command}\` takes ${wanted}, got ${argumentCount(got)}`
}

function parseWith(argv: readonly string[], options: Record<string, Spec>): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true })
  } catch (err) {
    throw pollenError('POLLEN_INVALID_FLAG', `${(err as Error).message.replace(/\.?\s*(Did you forget|To specify).*$/s, '')}; see \`pollen --help\``, { cause: err })
  }
}

/** The command the words name (two words before one), if any. */
function commandOf(words: readonly string[]): string | undefined {
  const two = words.length >= 2 ? `${words[0]} ${words[1]}` : ''
  return COMMANDS[two] ? two : COMMANDS[words[0]] ? words[0] : undefined
}

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  // A first, lenient look finds the command, so that its own flag types apply (VALUED).
  const first = commandOf(parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: false }).positionals)
  const parsed = parseWith(argv, first && VALUED[first] ? { ...OPTIONS, ...VALUED[first] } : OPTIONS)
  const words = parsed.positionals
  if (words.length === 0) {
    if (parsed.values.help) return { command: 'help', args: [], flags: parsed.values }
    if (parsed.values.version) return { command: 'version', args: [], flags: parsed.values }
    throw pollenError('POLLEN_INVALID_FLAG', 'no command given; run `pollen --help` for the list of commands')
  }
  const command = commandOf(words)
  if (!command) {
    const group = Object.keys(COMMANDS).filter((c) => c.startsWith(words[0] + ' '))
    const hint = group.length ? `; \`pollen ${words[0]}\` takes ${group.map((g) => g.split(' ')[1]).join(', ')}` : '; see `pollen --help`'
    throw pollenError('POLLEN_INVALID_FLAG', `unknown command "${words.slice(0, 2).join(' ')}"${hint}`)
  }
  const spec = COMMANDS[command]
  const args = words.slice(command.split(' ').length)
  for (const flag of Object.keys(parsed.values)) {
    if (!GLOBAL.includes(flag) && !spec.flags.includes(flag)) throw pollenError('POLLEN_INVALID_FLAG', `\`pollen ${command}\` does not take --${flag}; usage: ${spec.usage}`)
  }
  if (!parsed.values.help && (args.length < spec.args[0] || args.length > spec.args[1])) {
    throw pollenError('POLLEN_INVALID_FLAG', `${wrongArgs(command, args.length)}; usage: ${spec.usage}`)
  }
  return { command, args, flags: parsed.values }
}
