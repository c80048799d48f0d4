/**
 * Users of this instance's sync API: a name, a role and partition prefixes. The API key is
 * shown once at creation and stored only as a sha256 hash; keys are 256 random bits, so a
 * fast hash is enough (no password stretching is needed for keys nobody chose).
 *
 * A key is bound to one client instance (docs/protocol.md §10.3): the one given at
 * `user add --instance`, else the first that uses it. A key copied elsewhere is refused.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { pollenError } from '../errors.js'
import { NamedEntries } from '../log/namedEntries.js'
import { assertPartition, normalizePrefixes } from '../model/partition.js'
import { formatInstanceId, parseInstanceId } from '../model/identity.js'
import type { KVStore } from '../log/store.js'

export type Role = 'read' | 'write'

/** A user as stored (never with the key itself). */
export interface User {
  name: string
  role: Role
  filters: string[]
  keyHash: string
  created: string
  /** The instance id the key is bound to (32 hex digits); absent until its first use. */
  instance?: string
  /**
   * A trusted relay (`user add --trusted`, `user set --trusted true`; docs/protocol.md §11,
   * §12): claims and operations without their author's seal pushed with this key are taken as
   * they come. Only for an instance the administrator runs that relays operations of authors
   * from before version 4 (or migrated ones). Absent means false.
   */
  trusted?: boolean
}

/** A user as listed. */
export type UserInfo = Omit<User, 'keyHash'>

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export function assertName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw pollenError('POLLEN_INVALID_INPUT', `${what} ${JSON.stringify(name)} is not valid: use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`)
  }
  return name
}

/** A boolean field of a request, or undefined when it is absent; anything else is refused. */
export function optionalBoolean(value: unknown, what: string): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw pollenError('POLLEN_INVALID_INPUT', `${what} must be true or false, not ${JSON.stringify(value)}`)
  return value
}

/** Validates a list of partition prefixes; none means everything (""). */
export function parseFilters(filters: unknown, what = 'filter'): string[] {
  if (filters === undefined) return ['']
  if (!Array.isArray(filters)) throw pollenError('POLLEN_INVALID_INPUT', `${what}s must be a list of partition prefixes`)
  if (filters.length === 0) return ['']
  return normalizePrefixes(filters.map((f) => assertPartition(f, what, true)))
}

function hashKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex')
}

export class Users {
  readonly #users: NamedEntries<User>
  #binding: Promise<void> = Promise.resolve()

  constructor(store: KVStore) {
    this.#users = new NamedEntries(store, 'user')
  }

  /** Creates a user and returns its API key (shown once). */
  async add(input: { name: unknown; role: unknown; filters?: unknown; instance?: unknown; trusted?: unknown }): Promise<{ user: UserInfo; key: string }> {
    const name = assertName(input.name, 'user name')
    if (input.role !== 'read' && input.role !== 'write') {
      throw pollenError('POLLEN_INVALID_INPUT', `role must be "read" or "write", not ${JSON.stringify(input.role)}`)
    }
    const filters = parseFilters(input.filters)
    const instance = input.instance === undefined ? undefined : assertInstanceId(input.instance)
    const trusted = optionalBoolean(input.trusted, 'trusted') ?? false
    if (await this.#users.get(name)) throw pollenError('POLLEN_ALREADY_EXISTS', `user ${name} already exists; revoke it first to issue a new key`)
    // A key never starts with "-" or "_", so it is never mistaken for a command-line flag.
    let apiKey = randomBytes(32).toString('base64url')
    while (!/^[A-Za-z0-9]/.test(apiKey)) apiKey = randomBytes(32).toString('base64url')
    const user: User = { name, role: input.role, filters, keyHash: hashKey(apiKey), created: new Date().toISOString(), ...(instance ? { instance } : {}), trusted }
    await this.#users.put(name, user)
    return { user: info(user), key: apiKey }
  }

  async list(): Promise<UserInfo[]> {
    return (await this.#users.list()).map(info)
  }

  async revoke(name: string): Promise<void> {
    if (!(await this.#users.get(name))) throw pollenError('POLLEN_NOT_FOUND', `no user named ${name}`)
    await this.#users.delete(name)
  }

  /**
   * Changes a user: `resetInstance` frees its key to bind to the next instance that uses it;
   * `trusted` makes it a trusted relay or no longer one. Every value is checked before anything is written.
   */
  async set(name: string, changes: { resetInstance?: unknown; instance?: unknown; trusted?: unknown }): Promise<UserInfo> {
    const user = await this.#users.get(name)
    if (!user) throw pollenError('POLLEN_NOT_FOUND', `no user named ${name}`)
    const reset = optionalBoolean(changes.resetInstance, 'resetInstance')
    const instance = changes.instance === undefined ? undefined : assertInstanceId(changes.instance)
    const trusted = optionalBoolean(changes.trusted, 'trusted')
    if (reset) delete user.instance
    if (instance) user.instance = instance
    if (trusted !== undefined) user.trusted = trusted
    await this.#users.put(name, user)
    return info(user)
  }

  /**
   * Binds the user's key to `instance` at its first use; refuses it from any other instance
   * with POLLEN_KEY_BOUND. Called once the instance is proven (its TLS certificate and its
   * signature over the open request), so a stolen key cannot bind itself first.
   */
  async bindInstance(name: string, instance: string): Promise<void> {
    // One at a time: two first uses racing from different instances must not both win.
    const run = this.#binding.then(async () => {
      const user = await this.#users.get(name)
      if (!user) throw pollenError('POLLEN_UNAUTHORIZED', 'unknown user or wrong API key')
      if (user.instance === instance) return
      assertBound(info(user), instance)
      await this.#users.put(name, { ...user, instance })
    })
    this.#binding = run.catch(() => undefined)
    return run
  }

  /** The user a name and key authenticate, or POLLEN_UNAUTHORIZED (same answer for both failures). */
  async authenticate(name: string, apiKey: string): Promise<UserInfo> {
    const user = NAME_RE.test(name) ? await this.#users.get(name) : undefined
    const expected = Buffer.from(user ? user.keyHash : hashKey('no such user'), 'hex')
    const given = Buffer.from(hashKey(apiKey), 'hex')
    if (!user || !timingSafeEqual(expected, given)) throw pollenError('POLLEN_UNAUTHORIZED', 'unknown user or wrong API key')
    return info(user)
  }
}

/** Everything but the key's hash; `trusted` too, which the sync server reads from what authenticate returns. */
function info(u: User): UserInfo {
  return { name: u.name, role: u.role, filters: u.filters, created: u.created, ...(u.instance ? { instance: u.instance } : {}), trusted: u.trusted === true }
}

/** Refuses with POLLEN_KEY_BOUND when the user's key is bound to another instance than `instance`. */
export function assertBound(user: UserInfo, instance: string): void {
  if (user.instance && user.instance !== instance) {
    throw pollenError('POLLEN_KEY_BOUND', `the API key of user ${user.name} is bound to instance ${formatInstanceId(user.instance)}, not ${formatInstanceId(instance)}; on this server, \`pollen user set ${user.name} --reset-instance\` frees it`)
  }
}

/** Checks an instance id typed by a person (grouped or not); returns its 32 hex digits. */
export function assertInstanceId(value: unknown): string {
  const id = parseInstanceId(value)
  if (!id) throw pollenError('POLLEN_INVALID_INPUT', `instance id ${JSON.stringify(value)} is not valid: give the 32 hex digits \`pollen status\` shows on that instance (dashes optional)`)
  return id
}
