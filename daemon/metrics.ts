/**
 * Prometheus metrics for the control socket's `GET /metrics`: operations appended and
 * received, syncs by peer and outcome, bytes in and out, chunk apply latency, and the
 * pending-review and conflict counts (read when scraped), and the record filter's state.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { SyncResult, VerifyResult } from '../core/sync/client.js'
import type { Instance } from './instance.js'

export class Metrics {
  readonly registry = new Registry()
  readonly #appended: Counter
  readonly #received: Counter
  readonly #syncs: Counter
  readonly #bytes: Counter
  readonly #chunk: Histogram
  readonly #checks: Counter
  readonly #repairs: Counter

  constructor(inst: Instance) {
    const r = this.registry
    this.#appended = new Counter({ name: 'pollen_operations_appended_total', help: 'Operations written by this instance', registers: [r] })
    this.#received = new Counter({ name: 'pollen_operations_received_total', help: 'Operations received from peers and stored', registers: [r] })
    this.#syncs = new Counter({ name: 'pollen_syncs_total', help: 'Sync runs with peers', labelNames: ['peer', 'outcome'], registers: [r] })
    this.#bytes = new Counter({ name: 'pollen_sync_bytes_total', help: 'Sync body bytes moved as a client', labelNames: ['peer', 'direction'], registers: [r] })
    this.#chunk = new Histogram({ name: 'pollen_chunk_apply_seconds', help: 'Time to verify and apply one received chunk', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [r] })
    this.#checks = new Counter({ name: 'pollen_claims_checks_total', help: 'Claims checks with peers (pollen verify and the periodic check)', labelNames: ['peer', 'outcome'], registers: [r] })
    this.#repairs = new Counter({ name: 'pollen_claims_repaired_total', help: 'Stored claims lowered because a peer showed them untrue', labelNames: ['peer'], registers: [r] })
    new Gauge({
      name: 'pollen_pending_review',
      help: 'Resources from peers waiting for review',
      registers: [r],
      async collect() {
        this.set((await inst.library.counts()).pending)
      },
    })
    new Gauge({
      name: 'pollen_conflicts',
      help: 'Records with unresolved conflicts',
      registers: [r],
      async collect() {
        this.set((await inst.library.conflicts()).length)
      },
    })
    new Gauge({
      name: 'pollen_counter',
      help: 'Counter of this instance\'s author',
      registers: [r],
      collect() {
        this.set(inst.log.counter)
      },
    })
    new Gauge({
      name: 'pollen_record_filter_loaded',
      help: 'Whether the record filter is loaded (1 once this process has written its first bulk of operations)',
      registers: [r],
      collect() {
        this.set(inst.log.store.ready ? 1 : 0)
      },
    })
    new Gauge({
      name: 'pollen_record_filter_bytes',
      help: 'Memory held by the record filter',
      registers: [r],
      collect() {
        this.set(inst.log.store.filterBytes)
      },
    })
    inst.log.observer = {
      appended: (n) => this.#appended.inc(n),
      applied: (n, ms) => {
        this.#received.inc(n)
        this.#chunk.observe(ms / 1000)
      },
    }
  }

  /** Counts a claims check: its outcome ('ok', 'repaired' or the error code) and the claims lowered. */
  verify(report: VerifyResult): void {
    this.#checks.inc({ peer: report.peer, outcome: !report.ok ? report.code ?? 'failed' : report.lowered > 0 ? 'repaired' : 'ok' })
    if (report.lowered > 0) this.#repairs.inc({ peer: report.peer }, report.lowered)
  }

  /** Counts a finished sync run. */
  sync(result: SyncResult): void {
    this.#syncs.inc({ peer: result.peer, outcome: result.ok ? 'ok' : result.code ?? 'failed' })
    this.#bytes.inc({ peer: result.peer, direction: 'in' }, result.bytesIn)
    this.#bytes.inc({ peer: result.peer, direction: 'out' }, result.bytesOut)
  }
}
