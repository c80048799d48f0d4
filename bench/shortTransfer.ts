/**
 * Scenario 9 on its own (issue 18): an initial sync of 2,000 resources of catalogue text
 * (`catalogue.ts`) over 1 Mbit/s and 200 ms, pollen and PouchDB beside the brotli-11 limit,
 * printed as `npm run bench` prints it. For measuring a change to compression without the
 * whole bench.
 *
 *   node dist/bench/shortTransfer.js
 */
import { payloadText } from './data.js'
import { limitFor } from './limitCache.js'
import { installCleanup, killAll } from './proc.js'
import { printTable } from './report.js'
import { shortTransferRow } from './rows.js'
import { LINK1, S9_RESOURCES, S9_TEXT, shortTransfer } from './scenarios.js'

installCleanup(async () => killAll())
const limit = await limitFor(await payloadText(1, S9_RESOURCES, S9_TEXT), LINK1)
const row = shortTransferRow(S9_RESOURCES, await shortTransfer((m) => console.error(m)), limit)
printTable([row])
console.log(`${row.name}: ${Object.entries(row.params).map(([k, v]) => `${k} ${String(v)}`).join('; ')}`)
killAll()
