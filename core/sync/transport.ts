/**
 * The transport a sync client runs over. The HTTP adapter (adapters/httpSyncTransport.ts)
 * and the in-process one (adapters/memorySyncTransport.ts) both pass one conformance suite.
 */

/** A user name and API key, sent in a header, never in a URL. */
export interface Credentials {
  user: string
  key: string
}

export interface SyncTransport {
  /** Sends an open request; resolves with the answer's decoded frames (the first is the open answer). */
  open(creds: Credentials, body: Uint8Array): Promise<AsyncIterable<unknown>>
  /** Acknowledges pulled chunks (an encoded PullAck, core/sync/pacing.ts); rejects with the server's refusal. */
  ack(creds: Credentials, session: string, body: Uint8Array): Promise<void>
  /** Streams encoded frames to a session's push endpoint; resolves with the decoded answer. */
  push(creds: Credentials, session: string, frames: AsyncIterable<Uint8Array>): Promise<unknown>
  /** Body bytes received so far. */
  readonly bytesIn: number
  /** Body bytes sent so far. */
  readonly bytesOut: number
  /** Requests made so far. */
  readonly requests: number
  /**
   * True once a connection to the peer was established (TLS handshake done): a failure after
   * that is a cut link, not an unreachable peer. Absent for transports without connections.
   */
  readonly reached?: boolean
  /**
   * The Ed25519 key that holds the other end of the channel, once a connection proved it
   * (TLS); undefined for a channel that proves nothing (in-process, plain mode).
   */
  readonly peerKey?: Uint8Array
}
