/**
 * Linux process measurements for the bench: resident memory (VmRSS, peak VmHWM and its
 * reset through /proc/PID/clear_refs) and CPU time (utime + stime from /proc/PID/stat),
 * plus a registry of child processes killed on exit or interruption so a failed or
 * interrupted bench leaves no daemon behind.
 */
import { execFileSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'

/** Clock ticks per second for /proc/PID/stat (getconf CLK_TCK; 100 nearly everywhere). */
const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return n > 0 ? n : 100
  } catch {
    return 100
  }
})()

function statusField(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/** Current resident set size in bytes (null off Linux or when the process is gone). */
export function rssBytes(pid: number): number | null {
  return statusField(pid, 'VmRSS')
}

/** Resident memory by kind: anonymous (heap, malloc), file-backed (binary, mmapped LevelDB tables), shared. */
export interface RssParts {
  rss: number
  anon: number
  file: number
  shmem: number
}

export function rssParts(pid: number): RssParts | null {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  const kb = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1] ?? NaN) * 1024
  const r = { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') }
  return Object.values(r).some(Number.isNaN) ? null : r
}

/** Peaks of a process's resident memory by kind, from /proc samples (VmHWM has no such split). */
export interface RssPeaks {
  /** The sample with the highest VmRSS. */
  atPeak: RssParts
  /** The highest RssAnon and RssFile seen (not necessarily at the same moment). */
  maxAnon: number
  maxFile: number
  samples: number
}

/** Samples /proc/PID/status every `everyMs` until stopped. */
export function sampleRss(pid: number, everyMs = 100): { stop(): RssPeaks | null } {
  let peaks: RssPeaks | null = null
  const take = () => {
    const s = rssParts(pid)
    if (!s) return
    if (!peaks) peaks = { atPeak: s, maxAnon: s.anon, maxFile: s.file, samples: 0 }
    peaks.samples += 1
    if (s.rss > peaks.atPeak.rss) peaks.atPeak = s
    peaks.maxAnon = Math.max(peaks.maxAnon, s.anon)
    peaks.maxFile = Math.max(peaks.maxFile, s.file)
  }
  take()
  const t = setInterval(take, everyMs)
  return {
    stop() {
      clearInterval(t)
      take()
      return peaks
    },
  }
}

/** Peak resident set size in bytes since start or the last {@link resetPeakRss}. */
export function peakRssBytes(pid: number): number | null {
  return statusField(pid, 'VmHWM')
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0; same user). Returns false if it could not. */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** User + system CPU seconds the process has used so far (null when unreadable). */
export function cpuSeconds(pid: number): number | null {
  return statCpu(`/proc/${pid}/stat`)
}

/**
 * CPU seconds of the process's main thread alone (JavaScript; the thread id is the pid).
 * The rest is LevelDB's compaction thread, libuv's pool (LevelDB reads and writes, zlib)
 * and V8's GC helpers.
 */
export function mainThreadCpuSeconds(pid: number): number | null {
  return statCpu(`/proc/${pid}/task/${pid}/stat`)
}

function statCpu(file: string): number | null {
  try {
    const text = fs.readFileSync(file, 'utf8')
    // The command name (field 2) may contain spaces; fields after its closing ")" are fixed.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK
  } catch {
    return null
  }
}

const children = new Set<ChildProcess>()

/** Tracks a child so that {@link killAll} (and process exit) kills it. */
export function track(child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => children.delete(child))
}

/** SIGKILLs every tracked child that is still running. */
export function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  }
  children.clear()
}

let installed = false
/** Kills tracked children on exit, SIGINT and SIGTERM (runs `onSignal` first, best effort). */
export function installCleanup(onSignal?: () => Promise<void>): void {
  if (installed) return
  installed = true
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`\nbench: ${sig}, stopping daemons and PouchDB servers`)
      const done = (): never => {
        killAll()
        process.exit(130)
      }
      if (onSignal) void onSignal().then(done, done)
      else done()
      setTimeout(done, 5000).unref()
    })
  }
}
