/** The repository's root, found from the working directory: tests that read sources or docs read them there, not in dist/. */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

export function repoRoot(): string {
  let dir = process.cwd()
  for (;;) {
    if (existsSync(join(dir, 'core', 'errors.ts')) && existsSync(join(dir, 'package.json'))) return dir
    const up = dirname(dir)
    if (up === dir) throw new Error(`no pollen repository at or above ${process.cwd()}`)
    dir = up
  }
}
