/**
 * Sessions of the web page and the limits on logging in. A session id is 32 random bytes
 * given to the browser once, in an HttpOnly, SameSite=Strict cookie; the daemon keeps only
 * its sha256, so a memory dump or a log line of the table opens nothing. Sessions live in
 * memory: a restart of the daemon logs everyone out, which is the safe direction.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { AdminRole } from '../../core/access/admins.js'

/** A session as the daemon keeps it. */
export interface Session {
  account: string
  role: AdminRole
  /** The account's generation when the session opened (core/access/admins.ts). */
  generation: string
  /** The token every form of this session carries (CSRF). */
  csrf: string
  created: number
  lastSeen: number
}

/** Idle sessions end after 30 minutes, any session after 12 hours. */
export const IDLE_MS = 30 * 60_000
export const MAX_AGE_MS = 12 * 3600_000
const MAX_SESSIONS = 10_000

function digest(id: string): string {
  return createHash('sha256').update(id).digest('hex')
}

export class Sessions {
  readonly #byHash = new Map<string, Session>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** Opens a session; returns the id for the cookie (never stored) and the session. */
  open(account: string, role: AdminRole, generation: string): { id: string; session: Session } {
    this.#sweep()
    // Bounded: the oldest sessions make room (a flood of logins cannot exhaust memory).
    while (this.#byHash.size >= MAX_SESSIONS) this.#byHash.delete(this.#byHash.keys().next().value as string)
    const id = randomBytes(32).toString('base64url')
    const now = this.#now()
    const session: Session = { account, role, generation, csrf: randomBytes(24).toString('base64url'), created: now, lastSeen: now }
    this.#byHash.set(digest(id), session)
    return { id, session }
  }

  /** The live session of a cookie value, touched; undefined for an unknown, malformed or expired id. */
  get(id: string | undefined): Session | undefined {
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined
    const h = digest(id)
    const s = this.#byHash.get(h)
    if (!s) return undefined
    const now = this.#now()
    if (now - s.lastSeen > IDLE_MS || now - s.created > MAX_AGE_MS) {
      this.#byHash.delete(h)
      return undefined
    }
    s.lastSeen = now
    return s
  }

  close(id: string | undefined): void {
    if (id) this.#byHash.delete(digest(id))
  }

  /** Ends every session of an account (removed, or its password changed). */
  closeAccount(account: string): void {
    for (const [h, s] of this.#byHash) if (s.account === account) this.#byHash.delete(h)
  }

  get size(): number {
    return this.#byHash.size
  }

  #sweep(): void {
    const now = this.#now()
    for (const [h, s] of this.#byHash) if (now - s.lastSeen > IDLE_MS || now - s.created > MAX_AGE_MS) this.#byHash.delete(h)
  }
}

/** True when a submitted CSRF token is the session's, compared in constant time. */
export function csrfMatches(session: Session, given: unknown): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(session.csrf)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Failed logins counted per key (an account name, an address) in a sliding window: after
 * `limit` failures within `windowMs` the key is refused until the oldest failure leaves the
 * window. A success does not clear an address's count (an attacker who knows one password
 * must not reset the counter for guessing others), but clears the account's.
 */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>()
  readonly #limit: number
  readonly #windowMs: number
  readonly #now: () => number

  constructor(limit: number, windowMs: number, now: () => number = Date.now) {
    this.#limit = limit
    this.#windowMs = windowMs
    this.#now = now
  }

  #recent(key: string): number[] {
    const since = this.#now() - this.#windowMs
    const list = (this.#failures.get(key) ?? []).filter((t) => t > since)
    if (list.length) this.#failures.set(key, list)
    else this.#failures.delete(key)
    return list
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfter(key: string): number {
    const list = this.#recent(key)
    return list.length < this.#limit ? 0 : list[list.length - this.#limit] + this.#windowMs - this.#now()
  }

  fail(key: string): void {
    const list = this.#recent(key)
    list.push(this.#now())
    this.#failures.set(key, list)
    // Bounded like the sessions: a flood of made-up names cannot grow the table without end.
    if (this.#failures.size > 50_000) this.#failures.delete(this.#failures.keys().next().value as string)
  }

  clear(key: string): void {
    this.#failures.delete(key)
  }
}
