/**
 * Sync windows of a peer (`pollen peer set NAME --window 03:00-07:00`): the times of day, in
 * the server's local time, when the scheduler may start a sync with it (a link that is cheap
 * or idle at night). A window may wrap midnight (`22:00-06:00`); several may be given. None
 * means any time. A sync run by hand ignores them. Pure: the caller gives the time.
 */
import { pollenError } from '../errors.js'

const WINDOW_RE = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$/
/** More windows than anyone needs in a day; a bound so a stored peer stays small. */
export const MAX_WINDOWS = 12
const DAY_MINUTES = 24 * 60

/** A window as minutes of the day: from (inclusive) to (exclusive), `to < from` when it wraps midnight. */
function minutes(window: string): { from: number; to: number } {
  const m = WINDOW_RE.exec(window)
  if (!m) throw pollenError('POLLEN_INVALID_INPUT', `a sync window is HH:MM-HH:MM in 24-hour local time, such as 03:00-07:00 or 22:00-06:00; not ${JSON.stringify(window)}`)
  const from = Number(m[1]) * 60 + Number(m[2])
  const to = Number(m[3]) * 60 + Number(m[4])
  if (to > DAY_MINUTES) throw pollenError('POLLEN_INVALID_INPUT', `a sync window ends at 24:00 at the latest, not ${window}`)
  if (from === to % DAY_MINUTES) throw pollenError('POLLEN_INVALID_INPUT', `the sync window ${window} starts where it ends; to allow any time, give no window`)
  return { from, to: to % DAY_MINUTES === 0 && to !== 0 ? DAY_MINUTES : to }
}

/** Checks a list of windows as given (strings); `[]` means any time. Throws POLLEN_INVALID_INPUT. */
export function parseWindows(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((w) => typeof w === 'string')) throw pollenError('POLLEN_INVALID_INPUT', 'windows must be a list of HH:MM-HH:MM strings')
  if (value.length > MAX_WINDOWS) throw pollenError('POLLEN_INVALID_INPUT', `at most ${MAX_WINDOWS} sync windows, not ${value.length}`)
  for (const w of value) minutes(w)
  return [...new Set(value)]
}

const inside = (w: { from: number; to: number }, m: number): boolean => (w.from < w.to ? m >= w.from && m < w.to : m >= w.from || m < w.to)

/**
 * Milliseconds from `now` until a sync may start: 0 inside a window (or when there are
 * none), else until the next window opens, by `now`'s local clock.
 */
export function msUntilWindow(windows: readonly string[] | undefined, now: Date): number {
  if (!windows || windows.length === 0) return 0
  const m = now.getHours() * 60 + now.getMinutes()
  const parsed = windows.map(minutes)
  if (parsed.some((w) => inside(w, m))) return 0
  const wait = Math.min(...parsed.map((w) => (w.from - m + DAY_MINUTES) % DAY_MINUTES))
  return (wait * 60 - now.getSeconds()) * 1000 - now.getMilliseconds()
}
