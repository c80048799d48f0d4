/**
 * A metered peer (`pollen peer set NAME --metered MIB`, issue 18) on real daemons: the
 * scheduler's sync stops at a chunk boundary once the day's budget is moved, says so in the
 * history with POLLEN_BUDGET_SPENT and what it left, starts no other sync that day, and a
 * sync run by hand still moves the rest, with a note. Bytes are asserted as bounds only.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateResources } from '../../bench/dataset.js'
import { startNode, tempDir, until } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-metered-')
const RESOURCES = 800
const BUDGET_MIB = 0.1
/** The chunk that crosses the budget (the peer stops there: OpenTerms.maxBytes): chunks grow to 512 KiB raw, about 140 KB on the wire for this text, with HTTP and TLS overhead. */
const ALLOWANCE = 160 * 1024

t.test('a metered peer\'s scheduled sync stops at its daily budget; a sync by hand moves the rest', async (t) => {
  const cloud = await startNode(t, root, 'cloud', { languages: ['en', 'fr', 'es'] })
  const school = await startNode(t, root, 'school', { languages: ['en'], sync: { intervalSeconds: 2 } })
  const file = join(root, 'cloud.json')
  writeFileSync(file, JSON.stringify(generateResources(RESOURCES, 11)))
  t.equal((await cloud.cli(['resource', 'import', file])).code, 0)
  const key = (await cloud.cli(['user', 'add', 'school', '--role', 'read'])).stdout.split('\n')[0].trim()
  const add = await school.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'school', `--key=${key}`, '--metered', String(BUDGET_MIB)])
  t.equal(add.code, 0, add.stderr)
  t.match((await school.cli(['peer', 'list', '--json'])).json?.[0], { meteredMb: BUDGET_MIB })

  const [first] = await until('the scheduled sync ends', async () => {
    const log = (await school.cli(['log', '--json'])).json as { code: string | null; pulled: number; bytesIn: number; bytesOut: number; error: string }[]
    return log?.length ? log : undefined
  }, 60_000)
  t.equal(first.code, 'POLLEN_BUDGET_SPENT', first.error)
  t.match(first.error, /today's budget of 0\.1 MiB with cloud is spent .*pulling was \d+% through/)
  const moved = first.bytesIn + first.bytesOut
  const budget = BUDGET_MIB * 1024 * 1024
  t.ok(moved >= budget && moved <= budget + ALLOWANCE, `moved ${moved} bytes against a budget of ${budget}`)
  const expected = RESOURCES * 2
  t.ok(first.pulled > 0 && first.pulled < expected, `kept what arrived: ${first.pulled} of ${expected}`)

  // Two scheduler intervals later: no other scheduled sync today.
  await new Promise((r) => setTimeout(r, 5000))
  t.equal((await school.cli(['log', '--json'])).json.length, 1, 'the scheduler waits for tomorrow')
  t.match((await school.cli(['log'])).stdout, /cloud: STOPPED metered link/)

  const byHand = await school.cli(['sync', 'cloud', '--json'], { timeoutMs: 60_000 })
  t.equal(byHand.code, 0, byHand.stderr)
  t.match(byHand.json[0].note, /run by hand on a metered link: not held to its budget of 0\.1 MiB a day/)
  t.equal(first.pulled + byHand.json[0].pulled, expected, 'the rest arrived, each operation once')

  for (const bad of ['abc', '-1', '0.001', '1e3']) {
    const refused = await school.cli(['peer', 'set', 'cloud', '--metered', bad])
    t.match(refused.error?.code, /^POLLEN_INVALID_(FLAG|INPUT)$/, `--metered ${bad}: ${refused.stderr.trim()}`)
  }
  t.match((await school.cli(['peer', 'set', 'cloud', '--metered', '0', '--json'])).json, { meteredMb: 0 }, '--metered 0: not metered')
})
