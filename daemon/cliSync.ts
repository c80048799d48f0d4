/**
 * `pollen sync` and `pollen log` for a person: the progress line (fraction, operations,
 * bytes, rate, time left), Ctrl-C that asks the daemon to stop at the next chunk boundary,
 * and the lines for results and for runs still in progress.
 */
import { pollenError } from '../core/errors.js'
import type { SyncEvent, SyncResult } from '../core/sync/client.js'
import type { ControlClient } from './controlClient.js'
import type { RunState } from './syncService.js'
import { terminalText } from './cliOutput.js'

/** Bytes as people read them: B, KB, MB (powers of 1024). */
export function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`
}

/** A duration in seconds as `45 s`, `12 min 5 s` or `2 h 3 min`. */
export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

const int = (n: number): string => n.toLocaleString('en-US')

/** The bar itself: `[#####-----] 45%`. */
function bar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, fraction))
  const filled = Math.round(f * width)
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`
}

/**
 * One progress line per peer and direction, from the daemon's events. The fraction comes from
 * how far the sender's stream has gone (core/sync/progress.ts), so the bar reaches 100% at the
 * end whatever the filter and languages left out; the rate is bytes on the link since the
 * stage began, and the time left follows from both.
 */
export class ProgressLine {
  readonly #began = new Map<string, number>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** The line for an event, or undefined for events that draw none. */
  render(e: SyncEvent): { text: string; final: boolean } | undefined {
    if (e.group !== 'pulling' && e.group !== 'pushing') return undefined
    const k = `${e.peer}\u0000${e.group}`
    if (e.stage === 'started') this.#began.set(k, this.#now())
    if (e.stage === 'started') return undefined
    const sec = Math.max(0.001, (this.#now() - (this.#began.get(k) ?? this.#now())) / 1000)
    const bytes = e.bytes ?? 0
    const rate = `${formatBytes(Math.round(bytes / sec))}/s`
    const ops = `${int(e.ops ?? 0)} ops`
    if (e.stage === 'completed') {
      const done = e.group === 'pulling' ? 'pulled ' : 'pushed '
      return { text: `${e.peer} ${done} ${bar(1)}  ${ops}  ${formatBytes(bytes)} in ${formatDuration(sec)} (${rate})`, final: true }
    }
    const f = e.fraction ?? 0
    // Time left only once there is something to go by.
    const left = f >= 0.01 && f < 1 && sec >= 1 ? `  ${formatDuration((sec * (1 - f)) / f)} left` : ''
    return { text: `${e.peer} ${e.group} ${bar(f)}  ${ops}  ${formatBytes(bytes)}  ${rate}${left}`, final: false }
  }
}

/** One run's result as a line. */
export function syncLine(r: SyncResult): string {
  if (!r.ok) return terminalText(`${r.peer}: ${r.code === 'POLLEN_SYNC_CANCELLED' || r.code === 'POLLEN_BUDGET_SPENT' ? 'STOPPED' : 'FAILED'} ${r.error} (${r.code})`, true)
  return `${r.peer}: ok, pulled ${r.pulled} (${r.new} new, ${r.updated} updated, ${r.conflicts} conflicts), pushed ${r.pushed}, ${formatBytes(r.bytesIn)} in, ${formatBytes(r.bytesOut)} out, ${r.chunks} chunks, ${r.ms} ms${r.resumed ? ', resumed' : ''}${r.cuts ? `, resumed after ${r.cuts} cut${r.cuts === 1 ? '' : 's'} in ${r.attempts} attempts` : ''}${r.note ? ` (note: ${terminalText(r.note, true)})` : ''}${r.unsealed ? `, ${r.unsealed} operations left out without their author's seal (mark the peer a trusted relay if it relays operations from before version 4)` : ''}`
}

/** A run in progress as a line (`pollen log`, `pollen status`). */
export function runLine(r: RunState, now = Date.now()): string {
  const since = formatDuration((now - Date.parse(r.started)) / 1000)
  const doing = r.stage === 'opening' ? 'opening a session' : `${r.stage} ${Math.floor(r.fraction * 100)}%, ${int(r.ops)} ops, ${formatBytes(r.bytes)}`
  return terminalText(`${r.started}  ${r.peer}: IN PROGRESS (${r.mode}) for ${since}: ${doing}${r.cancelling ? '; stopping at the next chunk boundary' : ''}`, true)
}

/**
 * Runs `pollen sync`: streams the daemon's events into a progress line on a terminal and
 * returns the results. The first Ctrl-C asks the daemon to stop the runs at the next chunk
 * boundary and waits for their results; a second one leaves them running and exits.
 */
export async function syncCommand(client: ControlClient, body: { peers: string[]; mode: string; maxAttempts?: number }, tty: boolean): Promise<SyncResult[]> {
  const line = new ProgressLine()
  let interrupts = 0
  let open = false
  const write = (text: string): void => {
    process.stderr.write(text)
  }
  const onInterrupt = (): void => {
    interrupts += 1
    if (open) write('\n')
    open = false
    if (interrupts > 1) {
      write('pollen: left the sync running in the daemon; `pollen log` shows how it ends\n')
      process.exit(130)
    }
    write('pollen: stopping at the next chunk boundary; what arrived whole is kept (Ctrl-C again to leave the sync running)\n')
    client.call('POST', '/v1/sync/cancel', { peers: body.peers }).catch((err: unknown) => {
      write(`pollen: could not ask the daemon to stop: ${terminalText((err as Error).message, true)}\n`)
    })
  }
  process.on('SIGINT', onInterrupt)
  try {
    let results: SyncResult[] | undefined
    for await (const ev of client.stream('POST', '/v1/sync', body)) {
      if (ev.type === 'event' && tty) {
        const drawn = line.render(ev as unknown as SyncEvent)
        if (drawn) {
          // \x1b[K clears what a longer line before left: the last frame is clean.
          write(`\r${terminalText(drawn.text, true)}\x1b[K${drawn.final ? '\n' : ''}`)
          open = !drawn.final
        }
      }
      if (ev.type === 'error') throw pollenError(ev.code as 'POLLEN_SYNC_FAILED', String(ev.message))
      if (ev.type === 'result') results = ev.results as SyncResult[]
    }
    if (open) write('\n')
    if (!results) throw pollenError('POLLEN_SYNC_FAILED', 'the daemon ended the sync without a result')
    return results
  } finally {
    process.off('SIGINT', onInterrupt)
  }
}

/** The error a finished `pollen sync` exits with, if any: stopped on request, or failed. */
export function syncOutcome(results: readonly SyncResult[]): Error | undefined {
  const failed = results.filter((r) => !r.ok)
  if (failed.length === 0) return undefined
  if (failed.every((r) => r.code === 'POLLEN_SYNC_CANCELLED')) return pollenError('POLLEN_SYNC_CANCELLED', `stopped on request with ${failed.map((r) => r.peer).join(', ')}; \`pollen sync\` resumes where it stopped`)
  return pollenError('POLLEN_SYNC_FAILED', `${failed.length} of ${results.length} peers failed`)
}
