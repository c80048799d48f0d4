/**
 * Urgent prefixes on a metered peer (`pollen peer set NAME --metered MIB --urgent PREFIX`,
 * issue 18) on real daemons: a scheduled sync moves the urgent partitions first and outside
 * the budget, the budgeted sync stops at the day's budget, and after that each scheduled
 * sync still brings new urgent records and nothing else. Bytes are asserted as bounds only.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateResources, type Resource } from '../../bench/dataset.js'
import { startNode, tempDir, until } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-urgent-')
const RESOURCES = 800
/** Ops per alert: its neutral layer and its English text. */
const ALERT_OPS = 2

interface Entry { code: string | null; ok: boolean; pulled: number; note?: string }
const URGENT_NOTE = /^urgent prefixes only \(a metered link, outside its budget\): alerts$/

/** An alert in English only, as a school nurse writes it. */
interface Alert { id: string; partition: string; title: { en: string }; description: { en: string } }

function alert(n: number): Alert {
  return { id: `alert-${n}`, partition: 'alerts/allergy', title: { en: `Allergy alert ${n}` }, description: { en: `Learner ${n}: severe peanut allergy; the adrenaline pen is in the office.` } }
}

t.test('a metered peer\'s urgent prefixes move first, outside the budget, and keep moving once it is spent', async (t) => {
  const cloud = await startNode(t, root, 'cloud', { languages: ['en', 'fr', 'es'] })
  const school = await startNode(t, root, 'school', { languages: ['en'], sync: { intervalSeconds: 2 } })
  const file = (name: string, rs: (Resource | Alert)[]) => {
    const f = join(root, name)
    writeFileSync(f, JSON.stringify(rs))
    return f
  }
  t.equal((await cloud.cli(['resource', 'import', file('cloud.json', [...generateResources(RESOURCES, 12), alert(1), alert(2), alert(3)])])).code, 0)
  const key = (await cloud.cli(['user', 'add', 'school', '--role', 'read'])).stdout.split('\n')[0].trim()
  for (const bad of ['', 'bad prefix']) {
    const refused = await school.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'school', `--key=${key}`, '--metered', '0.05', '--urgent', bad])
    t.match(refused.error?.code, /^POLLEN_INVALID_(INPUT|PARTITION)$/, `--urgent ${JSON.stringify(bad)}: ${refused.stderr.trim()}`)
  }
  t.equal((await school.cli(['peer', 'list', '--json'])).json.length, 0, 'a refused add stores nothing')
  const add = await school.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'school', `--key=${key}`, '--metered', '0.05', '--urgent', 'alerts'])
  t.equal(add.code, 0, add.stderr)
  t.match((await school.cli(['peer', 'list', '--json'])).json?.[0], { meteredMb: 0.05, urgent: ['alerts'] })

  const log = async () => ((await school.cli(['log', '--json'])).json as Entry[]).slice().reverse()
  const first = await until('the urgent sync and the budgeted one', async () => {
    const l = await log()
    return l.length >= 2 ? l : undefined
  }, 60_000)
  t.match(first[0], { ok: true, pulled: 3 * ALERT_OPS, note: URGENT_NOTE }, 'the urgent prefixes first: every alert, whatever the budget')
  t.equal(first[1].code, 'POLLEN_BUDGET_SPENT', 'then the budgeted sync, stopped at the budget')
  t.ok(first[1].pulled > 0 && first[1].pulled < RESOURCES * 2, `it kept what arrived: ${first[1].pulled} operations`)

  // The budget is spent: a new alert still arrives with the next scheduled sync, and nothing else moves.
  t.equal((await cloud.cli(['resource', 'import', file('alert.json', [alert(4)])])).code, 0)
  const later = await until('the new alert arrives', async () => {
    const l = await log()
    return l.some((e, i) => i >= 2 && e.pulled === ALERT_OPS) ? l : undefined
  }, 60_000)
  const after = later.slice(2)
  t.ok(after.every((e) => URGENT_NOTE.test(e.note ?? '') && e.ok), `after the budget: ${after.length} syncs, all urgent-only`)
  t.equal(after.reduce((n, e) => n + e.pulled, 0), ALERT_OPS, 'the new alert once, and no other operation')

  t.match((await school.cli(['peer', 'set', 'cloud', '--urgent', 'none', '--json'])).json, { urgent: [] }, '--urgent none clears them')
})
