/**
 * Users of this instance's sync API: a name, a role and partition prefixes. The API key is
 * shown once at creation and stored only as a sha256 hash; keys are 256 random bits, so a
 * fast hash is enough (no password stretching is needed for keys nobody chose).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { pollenError } from '../errors.js'
import { NamedEntries } from '../log/namedEntries.js'
import { assertPartition, normalizePrefixes } from '../model/partition.js'
import type { KVStore } from '../log/store.js'

export type Role = 'read' | 'write'

/** A user as stored (never with the key itself). */
export interface User {
  name: string
  role: Role
  filters: string[]
  keyHash: string
  created: string
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

  constructor(store: KVStore) {
    this.#users = new NamedEntries(store, 'user')
  }

  /** Creates a user and returns its API key (shown once). */
  async add(input: { name: unknown; role: unknown; filters?: unknown }): Promise<{ user: UserInfo; key: string }> {
    const name = assertName(input.name, 'user name')
    if (input.role !== 'read' && input.role !== 'write') {
      throw pollenError('POLLEN_INVALID_INPUT', `role must be "read" or "write", not ${JSON.stringify(input.role)}`)
    }
    const filters = parseFilters(input.filters)
    if (await this.#users.get(name)) throw pollenError('POLLEN_ALREADY_EXISTS', `user ${name} already exists; revoke it first to issue a new key`)
    // A key never starts with "-" or "_", so it is never mistaken for a command-line flag.
    let apiKey = randomBytes(32).toString('base64url')
    while (!/^[A-Za-z0-9]/.test(apiKey)) apiKey = randomBytes(32).toString('base64url')
    const user: User = { name, role: input.role, filters, keyHash: hashKey(apiKey), created: new Date().toISOString() }
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

  /** The user a name and key authenticate, or POLLEN_UNAUTHORIZED (same answer for both failures). */
  async authenticate(name: string, apiKey: string): Promise<UserInfo> {
    const user = NAME_RE.test(name) ? await this.#users.get(name) : undefined
    const expected = Buffer.from(user ? user.keyHash : hashKey('no such user'), 'hex')
    const given = Buffer.from(hashKey(apiKey), 'hex')
    if (!user || !timingSafeEqual(expected, given)) throw pollenError('POLLEN_UNAUTHORIZED', 'unknown user or wrong API key')
    return info(user)
  }
}

function info(u: User): UserInfo {
  return { name: u.name, role: u.role, filters: u.filters, created: u.created }
}
