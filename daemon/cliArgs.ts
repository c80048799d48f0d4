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
}

const GLOBAL = ['data-dir', 'json', 'help', 'socket']

/**
 * Flags that are a switch in OPTIONS but take a value in these commands: `--trusted` adds a
 * trusted relay, `--trusted false` is how a change says "no longer". The command is found
 * with OPTIONS first, then the line is parsed again with its own types.
 */
const VALUED: Record<string, Record<string, Spec>> = {
  'peer set': { trusted: { type: 'string' } },
  'user set': { trusted: { type: 'string' } },
}

/** Each command: the flags it takes and how many positional arguments (min, max). */
export const COMMANDS: Record<string, { flags: string[]; args: [number, number]; usage: string }> = {
  init: { flags: ['name', 'languages'], args: [0, 0], usage: 'pollen init [--name NAME] [--languages en,fr]' },
  daemon: { flags: ['listen', 'init', 'name', 'languages', 'config', 'log-level'], args: [0, 0], usage: 'pollen daemon [--listen HOST:PORT] [--socket PATH] [--config FILE] [--log-level LEVEL] [--init [--name N] [--languages en,fr]]' },
  status: { flags: [], args: [0, 0], usage: 'pollen status' },
  'resource put': { flags: [], args: [1, 1], usage: 'pollen resource put FILE|-' },
  'resource import': { flags: [], args: [1, 1], usage: 'pollen resource import FILE|-' },
  'resource get': { flags: [], args: [1, 1], usage: 'pollen resource get ID' },
  'resource list': { flags: ['status', 'lang'], args: [0, 0], usage: 'pollen resource list [--status published|pending|rejected] [--lang L]' },
  'resource delete': { flags: ['purge'], args: [1, 1], usage: 'pollen resource delete ID [--purge]' },
  'review list': { flags: [], args: [0, 0], usage: 'pollen review list' },
  'review approve': { flags: [], args: [1, 1000], usage: 'pollen review approve ID...' },
  'review reject': { flags: [], args: [1, 1000], usage: 'pollen review reject ID...' },
  'conflicts list': { flags: [], args: [0, 0], usage: 'pollen conflicts list' },
  'conflicts resolve': { flags: ['keep'], args: [1, 1], usage: 'pollen conflicts resolve ID --keep OP' },
  'peer add': { flags: ['name', 'url', 'user', 'key', 'key-file', 'filter', 'inactive', 'trusted', 'window', 'max-kbps', 'metered', 'instance'], args: [0, 0], usage: 'pollen peer add --name N --url https://HOST:PORT --user U [--key K | --key - | --key-file PATH] [--instance ID] [--filter PREFIX]... [--inactive] [--trusted] [--window HH:MM-HH:MM]... [--max-kbps N] [--metered MIB-A-DAY]' },
  'peer list': { flags: [], args: [0, 0], usage: 'pollen peer list' },
  'peer remove': { flags: [], args: [1, 1], usage: 'pollen peer remove N' },
  'peer set': { flags: ['active', 'trusted', 'window', 'max-kbps', 'metered', 'filter', 'accept-key', 'url', 'user', 'key', 'key-file'], args: [1, 1], usage: 'pollen peer set N [--active true|false] [--trusted true|false] [--window HH:MM-HH:MM|any]... [--max-kbps N|0] [--metered MIB-A-DAY|0] [--filter PREFIX]... [--accept-key ID] [--url URL] [--user U] [--key K | --key - | --key-file PATH]' },
  'user add': { flags: ['role', 'filter', 'instance', 'trusted'], args: [1, 1], usage: 'pollen user add NAME --role read|write [--filter PREFIX]... [--instance ID] [--trusted]' },
  'user set': { flags: ['reset-instance', 'instance', 'trusted'], args: [1, 1], usage: 'pollen user set NAME [--reset-instance | --instance ID] [--trusted true|false]' },
  'user list': { flags: [], args: [0, 0], usage: 'pollen user list' },
  'user revoke': { flags: [], args: [1, 1], usage: 'pollen user revoke NAME' },
  sync: { flags: ['pull-only', 'push-only', 'max-attempts'], args: [0, 1000], usage: 'pollen sync [PEER...] [--pull-only|--push-only] [--max-attempts N]' },
  verify: { flags: [], args: [0, 1000], usage: 'pollen verify [PEER...]' },
  log: { flags: [], args: [0, 1], usage: 'pollen log [PEER]' },
  rebuild: { flags: [], args: [0, 0], usage: 'pollen rebuild' },
  rekey: { flags: [], args: [0, 0], usage: 'pollen rekey' },
}

export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>

export interface ParsedCommand {
  command: string
  args: string[]
  flags: Flags
}

/** The usage text of every command. */
export function usage(): string {
  return ['usage:', ...Object.values(COMMANDS).map((c) => `  ${c.usage}`), '', 'global flags: --data-dir DIR, --json, --socket PATH'].join('\n')
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
    throw pollenError('POLLEN_INVALID_FLAG', `wrong number of arguments; usage: ${spec.usage}`)
  }
  return { command, args, flags: parsed.values }
}
