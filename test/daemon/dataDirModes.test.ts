/**
 * The data directory is readable by the service alone (issue 17): `init` into an existing
 * 0755 directory under umask 022 left LevelDB's files world-readable. Whatever the umask and
 * the directory's mode before, after `init` and after every daemon start the directory and
 * the directories in it are 0700 and every file is 0600.
 */
import t, { type Test } from 'tap'
import { chmodSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { filesUnder, pollen, putResource, startDaemon, tempDir } from '../helpers/daemon.js'

/** Paths under `dir` (itself included) whose mode is not private, with their modes in octal. */
function notPrivate(dir: string): string[] {
  const out: string[] = []
  for (const d of [dir, join(dir, 'db')]) {
    const mode = statSync(d).mode & 0o777
    if (mode !== 0o700) out.push(`${d.slice(dir.length) || '.'}/ ${mode.toString(8)}`)
  }
  for (const f of filesUnder(dir)) {
    const mode = statSync(f).mode & 0o777
    if (mode !== 0o600) out.push(`${f.slice(dir.length)} ${mode.toString(8)}`)
  }
  return out
}

t.test('init into an existing 0755 directory under umask 022, then daemon starts: 0700 and 0600 throughout', async (t: Test) => {
  // Children inherit the umask: the CLI and the daemon run as a person's shell would start them.
  const before = process.umask(0o022)
  t.teardown(() => process.umask(before))
  const dataDir = join(tempDir(t), 'school')
  mkdirSync(dataDir)
  chmodSync(dataDir, 0o755)

  const init = await pollen(['init', '--name', 'school'], { dataDir })
  t.equal(init.code, 0, `init exits 0 ${init.stderr}`)
  t.same(notPrivate(dataDir), [], 'after init: the directory is 0700 and every file 0600')

  const d = await startDaemon({ t, dataDir })
  await putResource(d, { id: 'r1', title: { en: 'Hand washing' } })
  t.equal(await d.stop(), 0)
  t.same(notPrivate(dataDir), [], 'after a daemon ran: LevelDB\'s new files are 0600 too')

  // Copied back from a backup with other modes: the next start makes them private again.
  chmodSync(dataDir, 0o755)
  chmodSync(join(dataDir, 'db'), 0o755)
  chmodSync(join(dataDir, 'config.json'), 0o644)
  chmodSync(join(dataDir, 'db', 'CURRENT'), 0o644)
  const again = await startDaemon({ t, dataDir })
  t.same(notPrivate(dataDir), [], 'a start makes a directory with other modes private again')
  t.equal(await again.stop(), 0)
})
