/**
 * The one error class of pollen. Every refusal a user or a peer can see carries a stable
 * `POLLEN_*` code from {@link ERROR_CODES}; messages may change, codes do not.
 * A plain `TypeError` is reserved for programmer mistakes.
 */

/** Stable error codes with the HTTP status they map to and what a person can do about them. */
export const ERROR_CODES = {
  POLLEN_INVALID_INPUT: { status: 400, hint: 'Fix the request or file as the message says.' },
  POLLEN_INVALID_JSON: { status: 400, hint: 'The input is not valid JSON or NDJSON.' },
  POLLEN_INVALID_RESOURCE: { status: 400, hint: 'A resource field has the wrong type or value.' },
  POLLEN_INVALID_PARTITION: { status: 400, hint: 'Partitions are "/"-separated segments of printable characters.' },
  POLLEN_UNSUPPORTED_LANGUAGE: { status: 400, hint: 'The text is in a language this instance does not keep.' },
  POLLEN_INVALID_FLAG: { status: 400, hint: 'A command-line flag is unknown or has a bad value.' },
  POLLEN_INVALID_URL: { status: 400, hint: 'Peer URLs must be absolute https:// URLs (http:// only in plain mode).' },
  POLLEN_INVALID_CONFIG: { status: 400, hint: 'A configuration value is invalid.' },
  POLLEN_NOT_FOUND: { status: 404, hint: 'No such resource, peer, user or conflict.' },
  POLLEN_ALREADY_EXISTS: { status: 409, hint: 'Choose another name or remove the existing one first.' },
  POLLEN_CONFLICT_NOT_FOUND: { status: 404, hint: 'The record has no conflict with that operation.' },
  POLLEN_NOT_INITIALIZED: { status: 500, hint: 'Run `pollen init` on this data directory first.' },
  POLLEN_ALREADY_INITIALIZED: { status: 409, hint: 'The data directory already holds an instance.' },
  POLLEN_DAEMON_NOT_RUNNING: { status: 503, hint: 'Start the daemon with `pollen daemon`.' },
  POLLEN_DAEMON_RUNNING: { status: 409, hint: 'Another daemon already uses this data directory or control socket.' },
  POLLEN_DAEMON_GONE: { status: 503, hint: 'The daemon closed the connection before answering (it stopped or crashed); check `systemctl status pollen` and retry. A change may or may not have been made: list before repeating it.' },
  POLLEN_ADDRESS_IN_USE: { status: 409, hint: 'Another program listens on the sync API\'s address; stop it or choose another `listen` (--listen HOST:PORT).' },
  POLLEN_IO: { status: 500, hint: 'A file or connection failed (the message names it); fix what it says and retry.' },
  POLLEN_INTERNAL: { status: 500, hint: 'A bug in pollen; run again with POLLEN_DEBUG=1 for the stack trace and report it.' },
  POLLEN_STORAGE: { status: 500, hint: 'The storage layer failed; see the cause.' },
  POLLEN_HASH_MISMATCH: { status: 400, hint: 'An operation does not match its content hash.' },
  POLLEN_COUNTER_REUSE: { status: 409, hint: 'An author reused a counter with different content.' },
  POLLEN_RESTORED_BACKUP: { status: 409, hint: 'This data directory was restored from an old backup.' },
  POLLEN_UNAUTHORIZED: { status: 401, hint: 'Check the user name and API key.' },
  POLLEN_FORBIDDEN: { status: 403, hint: 'The API key does not allow this.' },
  POLLEN_OUT_OF_SCOPE: { status: 403, hint: 'The operation lies outside the key\'s partitions.' },
  POLLEN_PEER_KEY_CHANGED: { status: 409, hint: 'The peer proved a different instance id than the one pinned; nothing was sent to it. If the change is expected, type the new id out: `pollen peer set N --accept-key ID`.' },
  POLLEN_CHANNEL_MISMATCH: { status: 403, hint: 'The TLS connection is not held by the instance the request names; connect with the instance\'s own certificate (pollen does this itself).' },
  POLLEN_KEY_BOUND: { status: 403, hint: 'The API key is bound to another instance; on the server, `pollen user set NAME --reset-instance` frees it.' },
  POLLEN_PLAIN_REFUSED: { status: 426, hint: 'Unencrypted sync is off: use an https:// peer URL, or set "sync": {"plain": true} on both instances (docs/operations.md).' },
  POLLEN_BAD_SIGNATURE: { status: 400, hint: 'A signature did not verify.' },
  POLLEN_BAD_MESSAGE: { status: 400, hint: 'A protocol message is malformed.' },
  POLLEN_BODY_TOO_LARGE: { status: 413, hint: 'The request body exceeds the limit.' },
  POLLEN_CHUNK_TOO_LARGE: { status: 413, hint: 'A chunk holds too many operations or bytes.' },
  POLLEN_LIMIT_EXCEEDED: { status: 413, hint: 'A sync message exceeds a protocol limit (prefixes, segments, vector rows, msgpack values; docs/protocol.md §8.3); the peer does not keep to the protocol.' },
  POLLEN_SESSION_UNKNOWN: { status: 404, hint: 'The sync session expired or never existed; start a new sync.' },
  POLLEN_SESSION_LIMIT: { status: 429, hint: 'Too many sync sessions for this user; try again later.' },
  POLLEN_REPLAY: { status: 409, hint: 'A nonce or chunk was replayed.' },
  POLLEN_PEER_UNREACHABLE: { status: 502, hint: 'The peer did not answer; it is retried later.' },
  POLLEN_CONNECTION_CUT: { status: 502, hint: 'The connection broke after the peer answered; what arrived was kept, and `pollen sync` resumes from there by itself (docs/operations.md, "Links that cut").' },
  POLLEN_SYNC_FAILED: { status: 502, hint: 'The sync with a peer failed; see the cause.' },
  POLLEN_BUDGET_SPENT: { status: 409, hint: 'A scheduled sync with a metered peer (`pollen peer set NAME --metered MIB`) stopped at a chunk boundary because the day\'s budget is spent; what arrived is kept, and the next day\'s scheduled syncs, or `pollen sync NAME` by hand, move the rest.' },
  POLLEN_SYNC_CANCELLED: { status: 409, hint: 'The sync was stopped on request (Ctrl-C on `pollen sync`, or `POST /v1/sync/cancel`) at a chunk boundary; every chunk that arrived whole is kept, and the next sync resumes from there.' },
} as const

/** A stable pollen error code. */
export type ErrorCode = keyof typeof ERROR_CODES

/** The error every pollen layer throws for conditions a user or peer can cause. */
export class PollenError extends Error {
  readonly code: ErrorCode
  /** Extra structured detail (a field name, an id) for machine readers. */
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PollenError'
    this.code = code
    if (options.details) this.details = options.details
  }

  /** The HTTP status the control and sync APIs answer with. */
  get status(): number {
    return ERROR_CODES[this.code].status
  }

  /** The body the APIs send: `{code, message}` plus details. */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message }
  }
}

/** Creates a {@link PollenError}: the one place errors are made. */
export function pollenError(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }): PollenError {
  return new PollenError(code, message, options)
}

/** True for a PollenError with the given code (or any code when none is given). */
export function isPollenError(err: unknown, code?: ErrorCode): err is PollenError {
  return err instanceof PollenError && (code === undefined || err.code === code)
}

/** True when a string is one of the stable codes (for errors that crossed a process boundary). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value)
}

/** The error table of docs/errors.md, rendered from {@link ERROR_CODES} (kept true by a test). */
export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.hint} |`)
  return [
    '# Errors',
    '',
    'Every refusal pollen makes — on the CLI, the control API or the sync API — carries one of these',
    'stable codes. Codes never change meaning; messages may be reworded. The CLI prints',
    '`pollen: <message> (<CODE>)` on stderr and exits 1 (2 for a bad command line); the APIs answer',
    'with the HTTP status below and a body `{"code", "message"}`. A plain `TypeError` only ever',
    'means a bug in pollen itself.',
    '',
    'This file is generated from `core/errors.ts` by `node scripts/errors-doc.mjs`.',
    '',
    '| Code | HTTP | What it means and what to do |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n')
}
