/**
 * The binding between the encrypted channel and the sync protocol (docs/protocol.md §10.2):
 * the transport proves which Ed25519 key holds the other end of the connection (TLS 1.3
 * with the instance certificate); every request that names an instance key must come over
 * a channel held by that same key. That is what makes a captured open request worthless:
 * it cannot be sent again except over a channel the original client holds.
 */
import { pollenError } from '../errors.js'
import { formatInstanceId, instanceIdOf } from '../model/identity.js'

/**
 * Refuses with POLLEN_CHANNEL_MISMATCH when the channel's key (undefined: a plain
 * connection, which the transport only allows in plain mode) differs from `expected`.
 */
export function assertChannel(channel: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  if (channel === undefined) return
  if (channel.length === expected.length && Buffer.from(channel).equals(Buffer.from(expected))) return
  throw pollenError(
    'POLLEN_CHANNEL_MISMATCH',
    `${what} names instance ${formatInstanceId(instanceIdOf(expected))} but the TLS connection is held by ${formatInstanceId(instanceIdOf(channel))}; a client must connect with its own instance certificate`,
  )
}
