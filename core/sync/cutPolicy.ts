/**
 * Progress over links that cut (docs/operations.md, "Links that cut"). A chunk is applied
 * only once it has arrived whole, so a link that cuts every N bytes makes progress only if
 * chunks are well under N on the wire. After a cut the client asks for chunks a quarter of
 * what the cut connection carried, from the compression it saw; a clean attempt doubles
 * them back toward the sender's own size. A sync cut this way is attempted again at once
 * (it made progress) or after a growing pause (it did not), until it ends or a bound is hit.
 * Pure: the caller runs the attempts and supplies the clock.
 */
import { MIN_CHUNK_BYTES } from './chunker.js'
import type { SyncResult } from './client.js'

/** What is remembered about the link to one peer between attempts and runs. */
export interface LinkMemory {
  /** The chunk size to ask for, in bytes before compression. */
  chunkBytes: number
  /** Decompressed ÷ compressed bytes of what this peer sent last. */
  compression: number
  /** The link's rate a pull from this peer last measured, bytes per second; 0 when unknown (SyncResult.linkRate). */
  linkRate: number
}

/** Compression assumed before a peer's chunks have been seen: the bench's text gets about 3.5× at quality 5. */
export const ASSUMED_COMPRESSION = 3.5
/** Chunks a cut connection should have carried whole: one lost in flight then costs at most a quarter. */
const CHUNKS_PER_CONNECTION = 4

/** A peer nothing is known about: the sender's own chunk size. */
export function freshLink(maxBytes: number): LinkMemory {
  return { chunkBytes: maxBytes, compression: ASSUMED_COMPRESSION, linkRate: 0 }
}

/**
 * What one attempt teaches: `moved` is what the attempt's connections carried (both
 * directions), `compression` the ratio of the chunks it took (0 when none), `linkRate` the
 * rate its pull measured (0 when it could not tell: the last one measured is kept).
 */
export function learn(memory: LinkMemory, attempt: { cut: boolean; moved: number; compression: number; linkRate?: number }, maxBytes: number): LinkMemory {
  const compression = attempt.compression > 1 && Number.isFinite(attempt.compression) ? Math.min(attempt.compression, 20) : memory.compression
  const linkRate = attempt.linkRate !== undefined && attempt.linkRate > 0 ? attempt.linkRate : memory.linkRate
  const grown = Math.min(maxBytes, memory.chunkBytes * 2)
  if (!attempt.cut) return { chunkBytes: grown, compression, linkRate }
  const fits = Math.floor((attempt.moved / CHUNKS_PER_CONNECTION) * compression)
  return { chunkBytes: Math.max(MIN_CHUNK_BYTES, Math.min(grown, maxBytes, fits)), compression, linkRate }
}

/** When to stop attempting, and how long to pause between attempts. */
export interface RetryPolicy {
  /** Attempts in one run, in all. */
  maxAttempts: number
  /** Attempts in a row that applied nothing, after which the run gives up (the next run resumes). */
  maxIdleAttempts: number
  /** Pause after an attempt that made progress: the link came back; go on soon. */
  progressPauseMs: number
  /** Pause after the first attempt without progress, doubled for each next one up to `maxPauseMs`. */
  idlePauseMs: number
  maxPauseMs: number
  /** No attempt starts after this long since the run began. */
  deadlineMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 100, maxIdleAttempts: 5, progressPauseMs: 200, idlePauseMs: 1000, maxPauseMs: 30_000, deadlineMs: 30 * 60_000 }

/** Runs attempts of a sync with one peer until one is not cut, or the policy says stop. */
export async function syncWithRetries(
  attempt: (chunkBytes: number, linkRate: number) => Promise<SyncResult>,
  opts: { memory: LinkMemory; maxBytes: number; policy?: Partial<RetryPolicy>; sleep: (ms: number) => Promise<void>; now: () => number; stopped?: () => boolean },
): Promise<{ result: SyncResult; memory: LinkMemory }> {
  const policy = { ...DEFAULT_RETRY, ...opts.policy }
  const began = opts.now()
  let memory = opts.memory
  let total: SyncResult | undefined
  let idle = 0
  for (let n = 1; ; n++) {
    const r = await attempt(memory.chunkBytes < opts.maxBytes ? memory.chunkBytes : 0, memory.linkRate)
    const cut = r.code === 'POLLEN_CONNECTION_CUT'
    memory = learn(memory, { cut, moved: r.bytesIn + r.bytesOut, compression: r.compression, linkRate: r.linkRate }, opts.maxBytes)
    total = total ? combine(total, r) : r
    total.attempts = n
    if (!cut) break
    // A cut push learns nothing of what the peer applied: more than a chunk's bytes sent counts as progress.
    idle = r.chunks > 0 || r.bytesOut > memory.chunkBytes / memory.compression ? 0 : idle + 1
    const stopping = opts.stopped?.() === true
    if (n >= policy.maxAttempts || idle >= policy.maxIdleAttempts || opts.now() - began >= policy.deadlineMs || stopping) {
      total.error = `${total.error}; gave up after ${n} attempt${n === 1 ? '' : 's'} (${stopReason(n, idle, policy, stopping)}): the next sync resumes from there`
      break
    }
    await opts.sleep(idle === 0 ? policy.progressPauseMs : Math.min(policy.maxPauseMs, policy.idlePauseMs * 2 ** (idle - 1)))
  }
  total.ms = opts.now() - began
  total.chunkBytes = memory.chunkBytes < opts.maxBytes ? memory.chunkBytes : 0
  total.compression = memory.compression
  total.linkRate = memory.linkRate
  return { result: total, memory }
}

/** What a run's result says to remember about the link (a history entry, after a restart). */
export function linkOf(last: Partial<Pick<SyncResult, 'chunkBytes' | 'compression' | 'linkRate'>> | undefined, maxBytes: number): LinkMemory {
  if (!last) return freshLink(maxBytes)
  const chunkBytes = last.chunkBytes !== undefined && last.chunkBytes > 0 ? Math.max(MIN_CHUNK_BYTES, Math.min(maxBytes, last.chunkBytes)) : maxBytes
  const compression = last.compression !== undefined && last.compression > 1 ? last.compression : ASSUMED_COMPRESSION
  // Entries written before the rate was kept have none.
  const linkRate = Number.isFinite(last.linkRate) && (last.linkRate as number) > 0 ? last.linkRate as number : 0
  return { chunkBytes, compression, linkRate }
}

function stopReason(n: number, idle: number, policy: RetryPolicy, stopping: boolean): string {
  if (stopping) return 'the daemon is stopping'
  if (n >= policy.maxAttempts) return `the most one run makes`
  if (idle >= policy.maxIdleAttempts) return `${idle} in a row applied nothing`
  return 'out of time'
}

/** One run's result from its attempts: counts add up, the outcome is the last attempt's. */
export function combine(a: SyncResult, b: SyncResult): SyncResult {
  return {
    ...b,
    pulled: a.pulled + b.pulled,
    pushed: a.pushed + b.pushed,
    new: a.new + b.new,
    updated: a.updated + b.updated,
    unchanged: a.unchanged + b.unchanged,
    conflicts: a.conflicts + b.conflicts,
    bytesIn: a.bytesIn + b.bytesIn,
    bytesOut: a.bytesOut + b.bytesOut,
    chunks: a.chunks + b.chunks,
    unsealed: a.unsealed + b.unsealed,
    requests: a.requests + b.requests,
    resumed: a.resumed || b.resumed,
    ms: a.ms + b.ms,
    started: a.started,
    attempts: a.attempts + b.attempts,
    cuts: a.cuts + b.cuts,
  }
}
