/**
 * Scenario 8 on its own (issue 18): a clean pull of N resources, then one per cut pattern
 * (16, 48, 128 KiB), pollen and PouchDB side by side, printed as the table `npm run bench`
 * prints. For measuring a change to the cut path without the whole bench's 20 minutes.
 *
 *   node dist/bench/cutPatterns.js [resources=600]
 */
import { payloadText, prepareBatches } from './data.js'
import { limitFor } from './limitCache.js'
import { installCleanup, killAll } from './proc.js'
import { printTable } from './report.js'
import { cutPatternRow } from './rows.js'
import { cutPatternScenario, LINK8 } from './scenarios.js'

const n = Number(process.argv[2] ?? 600)
installCleanup(async () => killAll())
await prepareBatches(1, 1)
const limit = await limitFor(await payloadText(1, n), LINK8)
const c = await cutPatternScenario(n, (m) => console.error(m))
const rows = c.patterns.map((p) => cutPatternRow(n, c, p, limit, ''))
printTable(rows)
for (const r of rows) console.log(`${r.name}: ${Object.entries(r.params).map(([k, v]) => `${k} ${String(v)}`).join('; ')}; target ${r.target.met ? 'met' : 'NOT met'}`)
killAll()
