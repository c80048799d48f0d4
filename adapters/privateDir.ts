/**
 * The data directory is the service's alone: it holds the instance's private key, peer API
 * keys and every record. `init` into an existing 0755 directory, or a daemon started under
 * umask 022, once left LevelDB's files readable by every local user (issue 17).
 */
import { chmod, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Mode of the data directory and the directories in it. */
export const PRIVATE_DIR = 0o700
/** Mode of every file in it. */
export const PRIVATE_FILE = 0o600

/**
 * New files of this process are private, whatever the caller's umask (LevelDB creates its
 * tables with 0644 less the umask). Called first by the commands that write a data directory.
 */
export function privateUmask(): void {
  process.umask(0o077)
}

/**
 * Makes `dir` 0700 and everything under it 0700 (directories) or 0600 (regular files), for a
 * directory made or copied under another umask. Sockets and links are left as they are: the
 * control socket has its own mode (0660), and a link is not ours to change.
 */
export async function makePrivate(dir: string): Promise<void> {
  await chmod(dir, PRIVATE_DIR)
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await makePrivate(path)
    else if (entry.isFile()) await chmod(path, PRIVATE_FILE)
  }
}
