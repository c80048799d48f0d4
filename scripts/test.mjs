#!/usr/bin/env node
// Runs the compiled tap suite and ends with one line CI reads: "N passed, N failed".
// tap prints its own counts as "# { total: N, pass: N, fail: N, ... }"; we relay those.
// The whole suite (no arguments) runs ESLint first (`npm run lint`), counted as one test.
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { readdirSync, statSync } from 'node:fs'

const tapBin = join(process.cwd(), 'node_modules', 'tap', 'dist', 'esm', 'run.mjs')
// Test files are the compiled `*.test.js` under the given folders or files (default dist/test);
// helpers and conformance kits beside them are not run on their own.
function testFiles(path) {
  if (statSync(path).isFile()) return [path]
  return readdirSync(path, { recursive: true })
    .map((f) => join(path, String(f)))
    .filter((f) => f.endsWith('.test.js'))
    .sort()
}
const roots = process.argv.slice(2)
const files = (roots.length ? roots : ['dist/test']).flatMap(testFiles)
// Before the tests, not beside them: type-aware lint takes a core for half a minute.
let lint = { pass: 0, fail: 0 }
if (!roots.length) {
  const eslintBin = join(process.cwd(), 'node_modules', 'eslint', 'bin', 'eslint.js')
  const started = Date.now()
  const r = spawnSync(process.execPath, [eslintBin, '.'], { stdio: ['ignore', 'inherit', 'inherit'] })
  const ok = r.status === 0
  lint = ok ? { pass: 1, fail: 0 } : { pass: 0, fail: 1 }
  process.stdout.write(`# lint: ${ok ? 'clean' : 'FAILED (npm run lint)'} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
}
const args = [tapBin, '--reporter=tap', ...files]
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
let tail = ''
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  tail = (tail + chunk.toString('utf8')).slice(-4096)
})
child.on('close', (code) => {
  const m = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/.exec(tail)
  const pass = (m ? Number(m[2] ?? 0) : 0) + lint.pass
  const fail = (m ? Number(m[3] ?? 0) : 1) + lint.fail
  process.stdout.write(`\n${pass} passed, ${fail} failed\n`)
  process.exit(code === 0 && fail === 0 && m ? 0 : 1)
})
