/**
 * Scenario 10 on its own (issue 18): a pull from a peer capped at S10_CAP_KBPS over an
 * unlimited link, printed as `npm run bench` prints it.
 *
 *   node dist/bench/capped.js
 */
import { installCleanup, killAll } from './proc.js'
import { printTable } from './report.js'
import { cappedRow } from './rows.js'
import { cappedScenario, S10_RESOURCES } from './scenarios.js'

installCleanup(async () => killAll())
const row = cappedRow(S10_RESOURCES, await cappedScenario((m) => console.error(m)))
printTable([row])
console.log(`${row.name}: ${Object.entries(row.params).map(([k, v]) => `${k} ${String(v)}`).join('; ')}`)
killAll()
