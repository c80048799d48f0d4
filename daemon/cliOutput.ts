/**
 * Human-readable renderings for the CLI (the --json form prints the API's JSON instead), and
 * {@link terminalText}, which every piece of human output goes through.
 */
import type { RekeyRecord } from '../core/log/opLog.js'
import { Peers, type Peer } from '../core/access/peers.js'
import { formatInstanceId, instanceIdOf } from '../core/model/identity.js'
import type { ResourceView } from '../core/library/resource.js'
import type { UserInfo } from '../core/access/users.js'

/**
 * What a terminal would act on instead of showing: C0 controls (ESC starts OSC 52 clipboard
 * writes, line erases, title changes), DEL, C1 controls (0x9b is a one-byte CSI) and the
 * bidirectional marks, embeddings, overrides and isolates that make text read other than it
 * is stored. Line feed and tab are kept where the output has lines; a one-line field drops them too.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
// eslint-disable-next-line no-control-regex -- as above
const CONTROLS_ONE_LINE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

function escapeControl(c: string): string {
  const n = c.charCodeAt(0)
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`
}

/**
 * Text from the daemon or a peer (titles, names, error messages), made safe to print on a
 * terminal: each control character becomes a visible escape such as `\x1b`. `oneLine` also
 * escapes line breaks and tabs, for a table cell or the one-line error report.
 */
export function terminalText(text: string, oneLine = false): string {
  return text.replace(oneLine ? CONTROLS_ONE_LINE : CONTROLS, escapeControl)
}

function firstText(map: Record<string, string>): string {
  const langs = Object.keys(map)
  return langs.length ? map[langs.includes('en') ? 'en' : langs[0]] : ''
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return ''
  const cells = rows.map((r) => r.map((c) => terminalText(c, true)))
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n')
}

/**
 * The title a row shows: English when there, else the first language; a resource with no
 * text in the languages kept here (a French-only one at an English-only school) says so.
 */
export function rowTitle(r: ResourceView, kept: readonly string[]): string {
  const t = firstText(r.title)
  if (t !== '') return t
  return `(no text in ${kept.length ? kept.join(', ') : 'the languages kept here'})`
}

export function resourceTable(list: readonly ResourceView[], empty: string, kept: readonly string[] = []): string {
  if (list.length === 0) return empty
  return table([['ID', 'STATUS', 'LANGUAGES', 'TITLE'], ...list.map((r) => [r.id, r.status, r.languages.join(',') || '-', rowTitle(r, kept)])])
}

export function resourceDetail(r: ResourceView, kept: readonly string[] = []): string {
  const lines = [`id:          ${r.id}`, `status:      ${r.status}`, `partition:   ${r.partition}`, `origin:      ${r.origin}${r.source.name ? ` (${r.source.name})` : ''}`, `updated:     ${r.updated}`, `languages:   ${r.languages.join(', ')}`]
  if (r.languages.length === 0) lines.push(`title:       ${rowTitle(r, kept)}`)
  for (const lang of r.languages) {
    if (r.title[lang] !== undefined) lines.push(`title[${lang}]:${' '.repeat(Math.max(1, 6 - lang.length))}${r.title[lang]}`)
    if (r.description[lang] !== undefined) lines.push(`description[${lang}]: ${r.description[lang]}`)
  }
  if (r.tags.length) lines.push(`tags:        ${r.tags.join(', ')}`)
  for (const l of r.links) lines.push(`link:        ${l.url}${l.title ? ` (${l.title})` : ''}`)
  for (const f of r.files) lines.push(`file:        ${f.name} -> ${f.url}${f.size !== undefined ? ` (${f.size} bytes)` : ''}`)
  if (r.conflicts) lines.push(`conflicts:   ${r.conflicts} (see \`pollen conflicts list\`)`)
  return lines.join('\n')
}

export function peerTable(list: readonly Peer[]): string {
  if (list.length === 0) return 'No peers have been registered.'
  return table([['NAME', 'URL', 'USER', 'ACTIVE', 'FILTERS', 'TRUSTED', 'WINDOWS', 'INSTANCE'], ...list.map((p) => [p.name, p.url, p.user, p.active ? 'yes' : 'no', p.filters.map((f) => f || '(all)').join(','), p.trusted ? 'yes' : 'no', p.windows?.length ? p.windows.join(',') : '(any time)', peerPin(p)])])
}

/** The pinned instance id (grouped), and the offered one when the peer proved another. */
function peerPin(p: Peer): string {
  const pinned = Peers.expectedInstance(p)
  const offered = p.offeredKey ? instanceIdOf(new Uint8Array(Buffer.from(p.offeredKey, 'base64'))) : undefined
  return `${pinned ? formatInstanceId(pinned) : '(first contact)'}${offered ? ` CHANGED: offers ${formatInstanceId(offered)}` : ''}`
}

export function userTable(list: readonly UserInfo[]): string {
  if (list.length === 0) return 'No users.'
  return table([['NAME', 'ROLE', 'FILTERS', 'TRUSTED', 'INSTANCE', 'CREATED'], ...list.map((u) => [u.name, u.role, u.filters.map((f) => f || '(all)').join(','), u.trusted ? 'yes' : 'no', u.instance ? formatInstanceId(u.instance) : '(first use)', u.created])])
}

/** A one-line progress bar for a terminal. */
export function progressBar(label: string, done: number, total: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0
  const filled = Math.round(frac * width)
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`
}

/** The last re-key, as `pollen status` shows it. */
export function rekeyLine(r: RekeyRecord): string {
  return terminalText(`${r.from} (at counter ${r.counter}) → ${r.to}, ${r.at}: ${r.why}`)
}
