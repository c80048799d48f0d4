/**
 * Accounts of the content administrators' web page (daemon/admin/): a name, a role and a
 * password hashed with scrypt (node:crypto) under a per-account random salt. People choose
 * these passwords, so unlike the sync API's random keys (users.ts) they need a slow hash.
 *
 * Each account carries a `generation`, a random value replaced by every password change;
 * a web session remembers the generation it was opened under, so changing a password or
 * removing the account ends every session of it at its next request.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { pollenError } from '../errors.js'
import { NamedEntries } from '../log/namedEntries.js'
import type { KVStore } from '../log/store.js'
import { assertName, NAME_RE } from './users.js'

/** Reviewers review (queue, resources, library, conflicts); admins also manage peers, users and the review policy. */
export type AdminRole = 'reviewer' | 'admin'

export const ADMIN_ROLES: readonly AdminRole[] = ['reviewer', 'admin']

/** scrypt's cost: N = 2^15, r = 8 (32 MiB, about 0.1 s on a small server), p = 1. */
export interface ScryptParams {
  N: number
  r: number
  p: number
}

const DEFAULT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 }
const HASH_BYTES = 32
const SALT_BYTES = 16
/** Passwords are at least this long; a reviewer's account opens the whole review queue. */
export const MIN_PASSWORD = 10
const MAX_PASSWORD = 1024

/** An account as stored. */
export interface AdminAccount {
  name: string
  role: AdminRole
  /** base64 */
  salt: string
  /** base64 scrypt output */
  hash: string
  params: ScryptParams
  /** Replaced at every password change: sessions opened before it end. */
  generation: string
  created: string
  passwordChanged: string
}

/** An account as listed: without salt and hash. */
export type AdminInfo = Pick<AdminAccount, 'name' | 'role' | 'created' | 'passwordChanged' | 'generation'>

function info(a: AdminAccount): AdminInfo {
  return { name: a.name, role: a.role, created: a.created, passwordChanged: a.passwordChanged, generation: a.generation }
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // maxmem above 128 * N * r, which is what scrypt needs.
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r }
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, HASH_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key))))
}

/** Checks a password's shape; its hash is what is stored. */
export function assertPassword(value: unknown): string {
  if (typeof value !== 'string') throw pollenError('POLLEN_INVALID_INPUT', 'give a password')
  const length = [...value].length
  if (length < MIN_PASSWORD) throw pollenError('POLLEN_INVALID_INPUT', `the password is too short: use at least ${MIN_PASSWORD} characters`)
  if (length > MAX_PASSWORD) throw pollenError('POLLEN_INVALID_INPUT', `the password is too long: use at most ${MAX_PASSWORD} characters`)
  return value
}

function assertRole(value: unknown): AdminRole {
  if (!ADMIN_ROLES.includes(value as AdminRole)) throw pollenError('POLLEN_INVALID_INPUT', `role must be "reviewer" or "admin", not ${JSON.stringify(value)}`)
  return value as AdminRole
}

export class Admins {
  readonly #accounts: NamedEntries<AdminAccount>
  readonly #params: ScryptParams
  /** What an unknown name is checked against, so that it costs the same time as a known one. */
  #decoy?: Promise<AdminAccount>

  /** `params` only for tests that need fast hashes; the default is the stored accounts' cost. */
  constructor(store: KVStore, params: ScryptParams = DEFAULT_PARAMS) {
    this.#accounts = new NamedEntries(store, 'admin')
    this.#params = params
  }

  async #hashed(name: string, role: AdminRole, password: string, created?: string): Promise<AdminAccount> {
    const salt = randomBytes(SALT_BYTES)
    const hash = await derive(password, salt, this.#params)
    const now = new Date().toISOString()
    return { name, role, salt: salt.toString('base64'), hash: hash.toString('base64'), params: this.#params, generation: randomBytes(12).toString('base64url'), created: created ?? now, passwordChanged: now }
  }

  /** Creates an account. */
  async add(input: { name: unknown; role?: unknown; password: unknown }): Promise<AdminInfo> {
    const name = assertName(input.name, 'account name')
    const role = assertRole(input.role ?? 'reviewer')
    const password = assertPassword(input.password)
    if (await this.#accounts.get(name)) throw pollenError('POLLEN_ALREADY_EXISTS', `account ${name} already exists; \`pollen admin passwd ${name}\` changes its password`)
    const account = await this.#hashed(name, role, password)
    await this.#accounts.put(name, account)
    return info(account)
  }

  async list(): Promise<AdminInfo[]> {
    return (await this.#accounts.list()).map(info)
  }

  /** The account of `name`, or undefined (sessions look their account up at every request). */
  async get(name: string): Promise<AdminInfo | undefined> {
    const a = NAME_RE.test(name) ? await this.#accounts.get(name) : undefined
    return a ? info(a) : undefined
  }

  async remove(name: string): Promise<void> {
    if (!(await this.get(name))) throw pollenError('POLLEN_NOT_FOUND', `no account named ${name}`)
    await this.#accounts.delete(name)
  }

  /** Sets a new password (and a new generation, which ends the account's sessions). */
  async passwd(name: string, password: unknown): Promise<AdminInfo> {
    const a = NAME_RE.test(name) ? await this.#accounts.get(name) : undefined
    if (!a) throw pollenError('POLLEN_NOT_FOUND', `no account named ${name}`)
    const next = await this.#hashed(name, a.role, assertPassword(password), a.created)
    await this.#accounts.put(name, next)
    return info(next)
  }

  /**
   * Gives an account another role; the password stays. A new generation ends the account's
   * sessions, so a session opened under the old role cannot come back if the role returns
   * (admin → reviewer → admin).
   */
  async setRole(name: string, role: unknown): Promise<AdminInfo> {
    const a = NAME_RE.test(name) ? await this.#accounts.get(name) : undefined
    if (!a) throw pollenError('POLLEN_NOT_FOUND', `no account named ${name}`)
    const next = { ...a, role: assertRole(role), generation: randomBytes(12).toString('base64url') }
    await this.#accounts.put(name, next)
    return info(next)
  }

  /** The account a name and password open, or POLLEN_UNAUTHORIZED (the same answer, in about the same time, for both failures). */
  async verify(name: unknown, password: unknown): Promise<AdminInfo> {
    const found = typeof name === 'string' && NAME_RE.test(name) ? await this.#accounts.get(name) : undefined
    this.#decoy ??= this.#hashed('decoy', 'reviewer', randomBytes(18).toString('base64'))
    const account = found ?? (await this.#decoy)
    const given = typeof password === 'string' && password.length <= 4 * MAX_PASSWORD ? password : ''
    const key = await derive(given, Buffer.from(account.salt, 'base64'), account.params)
    const ok = timingSafeEqual(key, Buffer.from(account.hash, 'base64'))
    if (!found || !ok) throw pollenError('POLLEN_UNAUTHORIZED', 'unknown account or wrong password')
    return info(found)
  }
}
