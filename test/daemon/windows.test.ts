/**
 * Sync windows on real daemons (issue 18; docs/operations.md "Links that cost money"): with
 * a scheduler every second, a peer whose window excludes now is not synced, one whose
 * window includes now is; a sync run by hand still runs, and says it is outside the windows.
 * The daemons run in a time zone with a 45-minute offset, so "local time" is the server's.
 */
import t from 'tap'
import { startNode, tempDir, until, type Daemon } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-windows-')
const TZ = 'Asia/Kathmandu'
const env = { TZ }

/** HH:MM in the daemons' time zone, `offsetMin` from now. */
function hhmm(offsetMin: number): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(Date.now() + offsetMin * 60_000))
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00'
  return `${get('hour')}:${get('minute')}`
}

async function syncsIn(d: Daemon): Promise<number> {
  const r = await d.cli(['log', 'cloud', '--json'])
  if (r.code !== 0) throw new Error(`log: ${r.stderr}`)
  return (r.json as unknown[]).length
}

t.test('the scheduler starts syncs only inside a peer\'s windows; a sync by hand runs anyway, with a note', async (t) => {
  const cloud = await startNode(t, root, 'cloud', { env })
  const school = await startNode(t, root, 'school', { env, sync: { intervalSeconds: 1 } })
  const key = (await cloud.cli(['user', 'add', 'school', '--role', 'read'])).stdout.split('\n')[0].trim()
  const closed = `${hhmm(120)}-${hhmm(180)}`
  const add = await school.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'school', `--key=${key}`, '--window', closed])
  t.equal(add.code, 0, `peer add --window ${closed}: ${add.stderr}`)
  t.match((await school.cli(['peer', 'list'])).stdout, new RegExp(`^cloud\\s.*\\s${closed}\\s`, 'm'), 'peer list shows the window')

  // Eight scheduler intervals pass: none may start a sync outside the window.
  await new Promise((r) => setTimeout(r, 8000))
  t.equal(await syncsIn(school), 0, 'no scheduled sync outside the window')

  const open = `${hhmm(-5)}-${hhmm(60)}`
  const set = await school.cli(['peer', 'set', 'cloud', '--window', open, '--window', closed])
  t.equal(set.code, 0, `peer set --window ${open} --window ${closed}: ${set.stderr}`)
  t.match(set.stdout, `scheduled syncs only ${open}, ${closed}`)
  await until('a scheduled sync inside the window', async () => ((await syncsIn(school)) > 0 ? true : undefined), 30_000)
  t.pass('the scheduler synced inside the window')

  t.equal((await school.cli(['peer', 'set', 'cloud', '--window', closed])).code, 0)
  const byHand = await school.cli(['sync', 'cloud'])
  t.equal(byHand.code, 0, `a sync by hand outside the window runs: ${byHand.stderr}`)
  t.match(byHand.stdout, `cloud: ok, pulled`)
  t.match(byHand.stdout, `(note: run by hand outside the sync windows ${closed} of cloud; scheduled syncs wait for them)`)

  const any = await school.cli(['peer', 'set', 'cloud', '--window', 'any', '--json'])
  t.same(any.json?.windows, [], '--window any clears them')
  const bad = await school.cli(['peer', 'set', 'cloud', '--window', '7-9'])
  t.not(bad.code, 0, 'a window that is not HH:MM-HH:MM is refused')
  t.equal(bad.error?.code, 'POLLEN_INVALID_INPUT')
  t.match(bad.stderr, /HH:MM-HH:MM in 24-hour local time/)
  t.same((await school.cli(['peer', 'list', '--json'])).json?.[0]?.windows, [], 'and changes nothing')
})
