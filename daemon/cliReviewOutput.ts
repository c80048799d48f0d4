/**
 * Human renderings of the review commands: the queue's page with its total and what to type
 * next, a decision's record, a resource's history and diff, and conflicts with the names of
 * the instances that wrote each side and their text. Every cell goes through terminalText.
 */
import type { ConflictView, HistoryEntry, ResourceDiff } from '../core/library/library.js'
import type { ResourceView, ReviewRecord } from '../core/library/resource.js'
import { rowTitle, table, terminalText } from './cliOutput.js'

function quoteArg(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`
}

/** The review queue's page: a table, how many of how many, and the next command. */
export function reviewPage(page: { items: readonly ResourceView[]; total: number }, offset: number, filter: Record<string, string>, kept: readonly string[]): string {
  const flags = Object.entries(filter).map(([k, v]) => ` --${k} ${quoteArg(v)}`).join('')
  if (page.total === 0) return flags ? 'Nothing waiting for review matches.' : 'Nothing is waiting for review.'
  const rows = page.items.map((r) => [r.id, r.source.name ?? r.origin.slice(0, 8), r.languages.join(',') || '-', r.updated.slice(0, 16).replace('T', ' '), r.review?.held ? `${rowTitle(r, kept)} (update held)` : rowTitle(r, kept)])
  const lines = rows.length ? [table([['ID', 'FROM', 'LANGUAGES', 'UPDATED', 'TITLE'], ...rows])] : []
  const last = offset + page.items.length
  lines.push('', `${page.items.length ? `${offset + 1}-${last}` : 'none'} of ${page.total} pending${flags ? ' matching' : ''}`)
  if (last < page.total) lines.push(`next page: pollen review list${flags} --offset ${last}${page.items.length !== 50 ? ` --limit ${page.items.length || 50}` : ''}`)
  lines.push(`approve all ${page.total}: pollen review approve --all${flags}`)
  return lines.join('\n')
}

/** The lines `resource get` adds for a decision. */
export function decisionLine(id: string, r: ReviewRecord): string[] {
  const who = `${r.by ? ` by ${r.by}` : ''}${r.at ? ` at ${r.at}` : ''}`
  const lines = [`review:      ${r.decision}${who}${r.reason ? `: ${r.reason}` : ''}`]
  if (r.held) lines.push(`held:        a peer updated it since; pending again (see \`pollen resource diff ${id}\`)`, `approved:    ${Object.entries(r.version ?? {}).map(([l, op]) => `${l || 'fields'} ${op}`).join(', ')}`)
  return lines
}

function writer(e: { instance: string; instanceName?: string }): string {
  return e.instanceName ? `${e.instanceName} (${e.instance.slice(0, 8)})` : e.instance
}

/** A resource's history, oldest first. */
export function historyText(list: readonly HistoryEntry[]): string {
  return list
    .map((e) => {
      const what = e.type === 'put' ? (e.layer === '' ? 'fields' : `text[${e.layer}]`) : e.type
      const body = e.body === undefined ? '' : `\n    ${terminalText(JSON.stringify(e.body), true)}`
      return `${e.time}  ${what.padEnd(10)}  ${writer(e)}  ${e.op}${body}`
    })
    .join('\n')
}

/** One field's change: words marked [-removed-]{+added+} for text, -/+ lines for lists. */
function fieldChange(f: ResourceDiff['fields'][number]): string {
  const label = f.lang ? `${f.field}[${f.lang}]` : f.field
  if (f.field === 'title' || f.field === 'description') {
    const text = f.parts.map((p) => (p.added ? `{+${p.value}+}` : p.removed ? `[-${p.value}-]` : p.value)).join('')
    return `${label}:\n  ${text.split('\n').join('\n  ')}`
  }
  const lines = f.parts.flatMap((p) => p.value.replace(/\n$/, '').split('\n').map((l) => `${p.added ? '+' : p.removed ? '-' : ' '} ${l}`))
  return `${label}:\n  ${lines.join('\n  ')}`
}

/** A resource's diff since its approval. */
export function diffText(id: string, d: ResourceDiff): string {
  const head = d.since === 'approved' ? `${id}: changes since this instance approved it` : `${id}: never approved here; every field is new`
  if (d.fields.length === 0) return `${head}: none`
  return [head, '', ...d.fields.map(fieldChange)].join('\n')
}

function indented(text: string): string {
  return text === '' ? '      (empty)' : text.split('\n').map((l) => `      | ${l}`).join('\n')
}

/** Conflicts: each side with its writer's name and its text. */
export function conflictText(list: readonly ConflictView[]): string {
  if (list.length === 0) return 'No conflicts.'
  const out: string[] = []
  for (const c of list) {
    out.push(`${c.id}${c.title ? `  ${c.title}` : ''}`)
    for (const l of c.layers) {
      out.push(`  ${l.layer === '' ? 'fields' : `text[${l.layer}]`}:`)
      out.push(`    kept  ${writer(l.winner)}  ${l.winner.op}  ${l.winner.time}`, indented(l.winner.text))
      for (const loser of l.losers) out.push(`    lost  ${writer(loser)}  ${loser.op}  ${loser.time}`, indented(loser.text))
    }
  }
  out.push('', 'Keep one side for the whole resource: pollen conflicts resolve ID --keep NAME (or an instance id or operation)')
  return out.join('\n')
}
