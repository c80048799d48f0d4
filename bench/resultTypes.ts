/**
 * Schema of one bench result file, `bench/results/<anything>.json`. One file per
 * scenario run; `render.ts` turns a folder of them into `docs/benchmarks.md`. Fields are
 * plain numbers (ms, bytes) so other tools can read the files too.
 */

/** Measurements of one side (pollen or PouchDB) in one scenario. */
export interface SideResult {
  /** Wall-clock milliseconds from the start of the sync to its completion. */
  ms: number
  /** Bytes client → server at the emulated link (TCP payload, HTTP headers included). */
  bytesUp: number
  /** Bytes server → client at the emulated link. */
  bytesDown: number
  /** HTTP requests the serving side saw. */
  requests: number
  /** Peak resident memory of the serving process during the run, if measured. */
  peakRssBytes?: number | null
  /** Anything else worth keeping (connections, cuts, attempts, per-endpoint counts …). */
  extra?: Record<string, unknown>
}

/** The metrics a target check can refer to. */
export type TargetMetric =
  | 'ms'
  | 'bytesUp'
  | 'bytesDown'
  | 'bytesTotal'
  | 'requests'
  | 'peakRssBytes'
  /** pollen ms / limit ms */
  | 'ratioToLimit'
  /** pollen ms / PouchDB ms */
  | 'ratioToPouch'
  /** pollen (bytesUp + bytesDown) / PouchDB (bytesUp + bytesDown) */
  | 'bytesRatioToPouch'
  /** pollen bytesDown / the limit's brotli-11 bytes */
  | 'bytesRatioToLimit'

/** One machine-checkable condition on pollen's numbers: `metric <= max`. */
export interface TargetCheck {
  metric: TargetMetric
  max: number
}

/** What the scenario must achieve. */
export interface Target {
  /** Human wording, e.g. "≤ 1.5× the physical limit and ≥ 3× faster than PouchDB". */
  description: string
  /** If given, the renderer decides "met" from these (all must hold). */
  checks?: TargetCheck[]
  /** Used when there are no checks: a verdict decided by the runner. */
  met?: boolean | null
}

/** One result file. */
export interface ScenarioResult {
  /** Scenario number from the tracker (1–7). */
  scenario: number
  name: string
  /** Parameters as run: resources, rate, RTT, cuts, changed docs … */
  params: Record<string, string | number | boolean | null>
  pollen: SideResult | null
  pouch: SideResult | null
  /** The physical limit (see `limit.ts`); null where it does not apply. */
  limit: { ms: number; bytes: number } | null
  target: Target
  /** ISO time of the run. */
  measuredAt?: string
  /** Machine / Node version / git commit, free text. */
  environment?: string
}

/** Narrows parsed JSON to a {@link ScenarioResult}, with a message saying what is wrong. */
export function checkScenarioResult(x: unknown): { ok: true; value: ScenarioResult } | { ok: false; error: string } {
  if (typeof x !== 'object' || x === null) return { ok: false, error: 'not an object' }
  const r = x as Record<string, unknown>
  if (typeof r.scenario !== 'number' || !Number.isInteger(r.scenario)) return { ok: false, error: 'scenario must be an integer' }
  if (typeof r.name !== 'string') return { ok: false, error: 'name must be a string' }
  if (typeof r.params !== 'object' || r.params === null) return { ok: false, error: 'params must be an object' }
  for (const side of ['pollen', 'pouch'] as const) {
    const s = r[side]
    if (s === null || s === undefined) continue
    if (typeof s !== 'object') return { ok: false, error: `${side} must be an object or null` }
    for (const k of ['ms', 'bytesUp', 'bytesDown', 'requests'] as const) {
      if (typeof (s as Record<string, unknown>)[k] !== 'number') return { ok: false, error: `${side}.${k} must be a number` }
    }
  }
  const t = r.target as Record<string, unknown> | undefined
  if (typeof t !== 'object' || t === null || typeof t.description !== 'string') {
    return { ok: false, error: 'target.description must be a string' }
  }
  return { ok: true, value: { ...(r as unknown as ScenarioResult), pollen: (r.pollen as SideResult) ?? null, pouch: (r.pouch as SideResult) ?? null, limit: (r.limit as ScenarioResult['limit']) ?? null } }
}
