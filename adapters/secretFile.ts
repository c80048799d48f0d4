/**
 * Small JSON files that hold secrets (the identity key, peer API keys). Written to a
 * temporary file with mode 0600 and renamed into place, so a crash never leaves a torn file
 * and no other user can ever read one.
 */
import { chmod, open, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { pollenError } from '../core/errors.js'
import type { SecretStore } from '../core/access/peers.js'

/** Writes JSON atomically with mode 0600. */
export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  const fh = await open(tmp, 'w', mode)
  try {
    await fh.writeFile(JSON.stringify(value, null, 2) + '\n')
    await fh.sync()
  } finally {
    await fh.close()
  }
  await chmod(tmp, mode)
  await rename(tmp, path)
}

/** Reads a JSON file; undefined when it does not exist; POLLEN_INVALID_CONFIG when it is not JSON. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  try {
    return JSON.parse(text) as T
  } catch (cause) {
    throw pollenError('POLLEN_INVALID_CONFIG', `${path} is not valid JSON: ${(cause as Error).message}`, { cause })
  }
}

/**
 * Peer API keys in one 0600 JSON file: `{peerName: key}`. Under systemd a key can also come
 * as a credential (`LoadCredential=peer-NAME:/etc/pollen/keys/NAME`): a file `peer-NAME` in
 * `$CREDENTIALS_DIRECTORY`, which takes precedence over the file.
 */
export class SecretFile implements SecretStore {
  readonly #path: string
  readonly #credentials: string | undefined
  #queue: Promise<unknown> = Promise.resolve()

  constructor(path: string, credentialsDir: string | undefined = process.env.CREDENTIALS_DIRECTORY) {
    this.#path = path
    this.#credentials = credentialsDir
  }

  /** The key systemd passed as a credential for this peer, if any. */
  async credential(name: string): Promise<string | undefined> {
    if (!this.#credentials) return undefined
    try {
      const text = (await readFile(join(this.#credentials, `peer-${name}`), 'utf8')).trim()
      return text === '' ? undefined : text
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  async #all(): Promise<Record<string, string>> {
    return (await readJson<Record<string, string>>(this.#path)) ?? {}
  }

  // Serialised so two concurrent updates never lose one another.
  #update(fn: (all: Record<string, string>) => void): Promise<void> {
    const next = this.#queue.then(async () => {
      const all = await this.#all()
      fn(all)
      await writeJsonAtomic(this.#path, all)
    })
    this.#queue = next.catch(() => undefined)
    return next
  }

  async get(name: string): Promise<string | undefined> {
    return (await this.credential(name)) ?? (await this.#all())[name]
  }

  set(name: string, secret: string): Promise<void> {
    return this.#update((all) => {
      all[name] = secret
    })
  }

  delete(name: string): Promise<void> {
    return this.#update((all) => {
      delete all[name]
    })
  }
}

/** Removes a file if present. */
export async function removeIfExists(path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}
