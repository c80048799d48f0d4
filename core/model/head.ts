/**
 * Signed heads (docs/protocol.md §9.3): an instance's own signature over "my author
 * `instance.epoch` had reached `counter`". Only the instance's key can make one, so a head
 * above an instance's counter, shown back to it, proves that it lost operations it had
 * written — it was restored from an old backup — where a bare claim proves nothing.
 */
import { pack } from '../msgpack.js'
import { authorOf, instanceIdOf, sign, verify, type Identity } from './identity.js'

/** An instance's signed statement that its author `instance.epoch` had reached `counter`. */
export interface SignedHead {
  epoch: number
  counter: number
  sig: Uint8Array
}

/** The bytes a head signs. */
function headMessage(author: string, counter: number): Uint8Array {
  return pack(['pollen-head', author, counter])
}

/** Our head now: the signature over our current author and counter. */
export function signHead(identity: Identity, epoch: number, counter: number): SignedHead {
  return { epoch, counter, sig: sign(headMessage(authorOf(instanceIdOf(identity.publicKey), epoch), counter), identity.secretKey) }
}

/** Whether `head` is signed by the instance holding `publicKey`. */
export function headVerifies(head: SignedHead, publicKey: Uint8Array): boolean {
  return verify(headMessage(authorOf(instanceIdOf(publicKey), head.epoch), head.counter), head.sig, publicKey)
}

/** Whether head `a` is later than head `b` (a higher epoch, or the same epoch further on). */
export function laterHead(a: Pick<SignedHead, 'epoch' | 'counter'>, b: Pick<SignedHead, 'epoch' | 'counter'> | undefined): boolean {
  return !b || a.epoch > b.epoch || (a.epoch === b.epoch && a.counter > b.counter)
}
