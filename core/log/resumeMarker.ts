/**
 * The resume marker of pulls from one peer (docs/protocol.md §9.4): local state beside the
 * log, never on the wire. Each applied chunk writes it in its own batch and the batch that
 * completes the pull deletes it, so a sync that finds it knows the previous pull was cut and
 * reports `resumed`. Resuming itself needs nothing from it: the vectors advanced with every chunk.
 */
import { encodeValue, key } from './keys.js'
import type { BatchOp, KVStore } from './store.js'

/** The marker of one peer: a read, and the writes that go into the pull's batches. */
export interface ResumeMarker {
  /** Whether a pull from this peer was cut after some of its chunks were applied. */
  held(): Promise<boolean>
  /** The write recording that `chunks` chunks of `session` are applied (goes in that chunk's batch). */
  progress(session: string, chunks: number): BatchOp
  /** The write removing the marker (goes in the batch that completes the pull). */
  clear(): BatchOp
}

/** The resume marker of pulls from `peer` in `store`. */
export function resumeMarker(store: KVStore, peer: string): ResumeMarker {
  const k = key.meta(`resume\u0000${peer}`)
  return {
    held: async () => (await store.get(k)) !== undefined,
    progress: (session, chunks) => ({ type: 'put', key: k, value: encodeValue({ session, chunks }) }),
    clear: () => ({ type: 'del', key: k }),
  }
}
