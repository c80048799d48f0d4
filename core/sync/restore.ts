/**
 * Restored-backup detection from signed heads (docs/protocol.md §9.3). Each side of an open
 * sends its own head and, when it holds a later one of the other side's instance, that one
 * too. A head of ours later than our own state is the one thing that proves we lost
 * operations we had written; a claim in a peer's vectors proves nothing (a read-only key
 * once re-keyed a server to epoch 1,000,000 with one, issue 17), so claims never re-key.
 */
import { pollenError } from '../errors.js'
import { headVerifies, laterHead, signHead, type SignedHead } from '../model/head.js'
import type { Identity } from '../model/identity.js'
import type { OpLog } from '../log/opLog.js'

/** Our head now. */
export function ownHead(identity: Identity, log: OpLog): SignedHead {
  return signHead(identity, log.epoch, log.counter)
}

/** Refuses a head that the peer's own instance key did not sign (the peer keeps it with `log.heads.record`). */
export function checkPeerHead(head: SignedHead, publicKey: Uint8Array, what: string): void {
  if (!headVerifies(head, publicKey)) throw pollenError('POLLEN_BAD_SIGNATURE', `${what} carries a head its instance key did not sign`)
}

/** The head to show `instance`: the best we keep of it, when later than `theirs` (or whenever `theirs` is unknown). */
export async function headToShow(log: OpLog, instance: string, theirs?: SignedHead): Promise<SignedHead | null> {
  const best = await log.heads.best(instance)
  return best && laterHead(best, theirs) ? best : null
}

/**
 * Re-keys when a peer showed us a head of ours, signed by our key, later than where this data
 * directory stands. Returns the new author id, or undefined when `shown` proves nothing
 * (absent, not ours, or not later); a head that does not verify is ignored: it costs only
 * the peer that sent it.
 */
export async function rekeyIfRestored(log: OpLog, identity: Identity, shown: SignedHead | null, peer: string): Promise<string | undefined> {
  if (!shown || !laterHead(shown, { epoch: log.epoch, counter: log.counter })) return undefined
  if (!headVerifies(shown, identity.publicKey)) return undefined
  const from = log.author
  return log.rekey(shown.epoch, `${peer} showed this instance's own signed head ${log.instance}.${shown.epoch} at counter ${shown.counter}, beyond ${from} at counter ${log.counter} here: the data directory was restored from an older backup`)
}
