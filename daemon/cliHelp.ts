/**
 * `pollen help [COMMAND]` and `pollen --version`: the description of each command and of each
 * flag it takes, from the COMMANDS table, so that the help cannot leave a command out.
 */
import { readFileSync } from 'node:fs'
import { pollenError } from '../core/errors.js'
import { COMMANDS, usage } from './cliArgs.js'

/** What each flag does; `COMMAND_FLAGS` overrides it where one command means something narrower. */
export const FLAG_HELP: Record<string, string> = {
  name: 'the instance\'s name, shown to peers and recorded as the source of resources created here',
  languages: 'the languages this instance keeps text in, comma-separated (en,fr)',
  listen: 'HOST:PORT of the sync API (default 127.0.0.1:7420)',
  init: 'create the instance first when the data directory holds none',
  config: 'the system configuration file (default /etc/pollen/pollen.json)',
  'log-level': 'fatal, error, warn, info, debug, trace or silent',
  'admin-listen': 'where the web page listens (default 127.0.0.1:7421), or off; beyond loopback it is served over TLS',
  'password-file': 'a file whose first line is the password (else standard input, or a prompt on a terminal)',
  status: 'the review status to list: published, pending or rejected',
  lang: 'only resources with text in this language',
  purge: 'also drop the resource\'s content on every instance the delete reaches',
  keep: 'the side to keep: an instance name or id as `conflicts list` shows it, or an operation AUTHOR:COUNTER',
  url: 'the peer\'s sync URL, https://HOST:PORT',
  user: 'the user name the peer gave this instance',
  key: 'the API key the peer gave this instance (- reads it from standard input)',
  'key-file': 'a file holding the API key',
  filter: 'a partition prefix to sync (repeatable; default everything)',
  inactive: 'add the peer without syncing it until `peer set N --active true`',
  trusted: 'a trusted relay: operations it relays are adopted without their authors\' seals',
  window: 'sync on schedule only within HH:MM-HH:MM (repeatable; `any` clears)',
  'max-kbps': 'cap the sync rate with this peer, in kbit/s (0: no cap)',
  metered: 'a daily budget in MiB for scheduled syncs with this peer (0: none); a scheduled sync that reaches it stops at a chunk boundary',
  urgent: 'on a metered link, a partition prefix that moves first and outside the budget (repeatable; `none` clears)',
  active: 'true or false: whether the scheduler syncs the peer',
  'accept-key': 'the new instance id the peer proved, typed out to accept it',
  instance: 'the instance id the key is bound to (or the peer must prove)',
  'reset-instance': 'free the key to bind to the next instance that uses it',
  role: 'read (pull only) or write (pull and push)',
  'pull-only': 'only pull from the peers',
  'push-only': 'only push to the peers',
  'max-attempts': 'how many times a cut sync is resumed (1 to 1000)',
  all: 'every pending resource the filters match (without filters: every pending resource)',
  peer: 'only resources from this source: a peer or user name, the source instance\'s name, or its instance id',
  tag: 'only resources with this tag',
  partition: 'only resources in partitions under this prefix',
  search: 'only resources whose id, title or description contains this text (any case)',
  reason: 'why, recorded with the decision (shown by `resource get`)',
  limit: 'how many to show (default 50; at most 5000)',
  offset: 'how many to skip, for the next page',
}

/** Flags that mean something narrower in one command. */
const COMMAND_FLAGS: Record<string, Record<string, string>> = {
  'peer add': { name: 'the name this instance calls the peer by' },
  'peer set': { filter: 'the partition prefixes to sync from now on (repeatable)', key: 'a new API key (- reads it from standard input)' },
  'user add': { filter: 'a partition prefix the key may sync (repeatable; default everything)', trusted: 'the user\'s instance is a trusted relay' },
  'user set': { trusted: 'true or false: whether the user\'s instance is a trusted relay' },
  'admin add': { role: 'reviewer (the default: review queue, resources, library, conflicts) or admin (also peers, users, review policy)' },
  'review list': { lang: 'only resources with text in this language' },
}

const GLOBAL_HELP = ['  --data-dir DIR  the data directory (default $POLLEN_DATA_DIR, else ~/.local/share/pollen)', '  --socket PATH   the daemon\'s control socket', '  --json          print the control API\'s JSON instead of text']

/** The description of one flag in one command. */
export function flagHelp(command: string, flag: string): string | undefined {
  return COMMAND_FLAGS[command]?.[flag] ?? FLAG_HELP[flag]
}

/** `pollen help` (every command with its summary) or `pollen help WORD [WORD]` (one command, or a group). */
export function helpText(words: readonly string[]): string {
  if (words.length === 0) {
    const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
    return ['pollen: an offline-first sync daemon for resource libraries.', '', 'commands:', ...Object.entries(COMMANDS).map(([c, s]) => `  ${c.padEnd(width)}  ${s.summary}`), '', 'global flags:', ...GLOBAL_HELP, '  --version       print the version', '', '`pollen help COMMAND` shows a command\'s flags; `pollen --help` every usage line.'].join('\n')
  }
  const name = words.join(' ')
  const spec = COMMANDS[name]
  if (!spec) {
    const group = Object.keys(COMMANDS).filter((c) => c.startsWith(words[0] + ' '))
    if (group.length && words.length === 1) return group.map((c) => helpText(c.split(' '))).join('\n\n')
    throw pollenError('POLLEN_INVALID_FLAG', `no command "${name}"; \`pollen help\` lists them`)
  }
  const flags = spec.flags.map((f) => `  --${f.padEnd(14)}  ${flagHelp(name, f) ?? ''}`)
  return [`usage: ${spec.usage}`, '', spec.summary, ...(flags.length ? ['', 'flags:', ...flags] : []), '', 'global flags:', ...GLOBAL_HELP].join('\n')
}

/** The version in package.json (next to dist/ in the package, and in a checkout). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
  return pkg.version ?? 'unknown'
}

export { usage }
