import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ERROR_CODES, renderErrorTable } from '../../core/errors.js'

t.test('docs/errors.md lists every error code, as generated from core/errors.ts', async (t) => {
  const doc = readFileSync(join(process.cwd(), 'docs', 'errors.md'), 'utf8')
  t.equal(doc, renderErrorTable(), 'docs/errors.md is current (regenerate with `node scripts/errors-doc.mjs`)')
  for (const code of Object.keys(ERROR_CODES)) t.match(doc, `| \`${code}\` |`, `${code} is in the table`)
})
