#!/usr/bin/env node
// Regenerates docs/errors.md from the compiled error table (run `npm run build` first).
import { writeFileSync, mkdirSync } from 'node:fs'
import { renderErrorTable } from '../dist/core/errors.js'
mkdirSync('docs', { recursive: true })
writeFileSync('docs/errors.md', renderErrorTable())
console.log('wrote docs/errors.md')
