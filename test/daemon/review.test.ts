/**
 * Review as a content administrator does it, through the CLI against two real daemons: a
 * district (en, fr) whose library a school (en only) pulls. Pages and filters of the queue,
 * bulk and listed decisions with their record, a resource list that points at the queue and
 * shows a French-only resource, history, diffs since approval, the `hold` review policy, and
 * conflicts judged by instance name and text and resolved for the whole resource.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { putResource, startNode, tempDir, until, type Daemon, type PollenResult } from '../helpers/daemon.js'

const top = t
const root = tempDir(t, 'pollen-review-')

function ok(t: Test, r: PollenResult, what: string): PollenResult {
  t.equal(r.code, 0, `${what} exits 0${r.code ? `: ${r.stderr.trim()}` : ''}`)
  return r
}

function refused(t: Test, r: PollenResult, code: string, what: string): void {
  t.not(r.code, 0, `${what}: refused`)
  t.equal(r.error?.code, code, `${what}: ${code}${r.error ? '' : ` (stderr: ${r.stderr.trim()})`}`)
}

async function json(d: Daemon, args: string[]): Promise<any> {
  const r = await d.cli([...args, '--json'])
  if (r.code !== 0) throw new Error(`pollen ${args.join(' ')}: ${r.stderr}`)
  return r.json
}

async function sync(t: Test, d: Daemon, what: string): Promise<any> {
  const r = await d.cli(['sync', 'district', '--json'], { timeoutMs: 60_000 })
  ok(t, r, what)
  t.equal(r.json?.[0]?.ok, true, `${what}: ok`)
  return r.json?.[0]
}

const [district, school] = await Promise.all([startNode(t, root, 'district', { languages: ['en', 'fr'] }), startNode(t, root, 'school', { languages: ['en'] })])
const key = (await district.cli(['user', 'add', 'school', '--role', 'write'])).stdout.split('\n')[0].trim()
ok(t, await school.cli(['peer', 'add', '--name', 'district', '--url', district.url, '--user', 'school', `--key=${key}`]), 'school adds the district as a peer')

const N = 300
const pad = (i: number) => String(i).padStart(3, '0')
/** r000..r004 are French only; every third is tagged math, the others art. */
const item = (i: number) => ({
  id: `r${pad(i)}`,
  title: i < 5 ? { fr: `Leçon ${i}` } : { en: `Lesson ${i}`, fr: `Leçon ${i}` },
  description: i < 5 ? { fr: 'En français seulement' } : { en: `About topic ${i}` },
  tags: [i % 3 === 0 ? 'math' : 'art'],
})

t.test('a first sync leaves a queue the administrator pages, filters and decides in bulk', async (t) => {
  const imported = await district.cli(['resource', 'import', '-', '--json'], { stdin: Array.from({ length: N }, (_, i) => JSON.stringify(item(i))).join('\n') })
  ok(t, imported, 'the district imports 300 resources')
  await sync(t, school, 'first sync')

  const list = ok(t, await school.cli(['resource', 'list']), 'resource list')
  t.equal(list.stdout.trim(), `No published resources; ${N} pending review (pollen review list)`, 'resource list points at the queue')

  const page = ok(t, await school.cli(['review', 'list', '--limit', '10']), 'review list --limit 10')
  t.match(page.stdout, /^ID\s+FROM\s+LANGUAGES\s+UPDATED\s+TITLE/, 'a table')
  t.match(page.stdout, /r000\s+district\s+-\s+\S+ \S+\s+\(no text in en\)/, 'a French-only resource shows its id and says it has no English text')
  t.match(page.stdout, /1-10 of 300 pending/, 'how many of how many')
  t.match(page.stdout, /next page: pollen review list --offset 10 --limit 10/, 'the next page command')
  const second = await json(school, ['review', 'list', '--limit', '10', '--offset', '10'])
  t.same(second.map((r: any) => r.id), Array.from({ length: 10 }, (_, i) => `r${pad(10 + i)}`), 'the second page')

  t.same((await json(school, ['review', 'list', '--search', 'R01', '--limit', '100'])).map((r: any) => r.id), Array.from({ length: 10 }, (_, i) => `r${pad(10 + i)}`), '--search matches ids, any case')
  t.same((await json(school, ['review', 'list', '--search', 'topic 299'])).map((r: any) => r.id), ['r299'], '--search matches descriptions')
  t.equal((await json(school, ['review', 'list', '--peer', 'district', '--limit', '5000'])).length, N, '--peer by the peer\'s name')
  t.equal((await json(school, ['review', 'list', '--peer', district.instance, '--limit', '5000'])).length, N, '--peer by instance id')
  t.equal((await json(school, ['review', 'list', '--peer', 'nobody'])).length, 0, '--peer nobody: none')
  t.match((await school.cli(['review', 'list', '--peer', 'nobody'])).stdout, /Nothing waiting for review matches/, 'and says so')
  refused(t, await school.cli(['review', 'list', '--limit', 'ten']), 'POLLEN_INVALID_FLAG', '--limit ten')
  refused(t, await school.cli(['review', 'list', '--limit', '9999']), 'POLLEN_INVALID_INPUT', '--limit above the page maximum')

  refused(t, await school.cli(['review', 'approve']), 'POLLEN_INVALID_FLAG', 'approve without ids or --all')
  t.match((await school.cli(['review', 'approve'])).error?.message, /give resource ids, or --all/, 'says what is missing')
  refused(t, await school.cli(['review', 'approve', '--tag', 'math']), 'POLLEN_INVALID_FLAG', 'a filter without --all')
  refused(t, await school.cli(['review', 'approve', 'r010', '--all']), 'POLLEN_INVALID_FLAG', 'ids and --all')
  t.equal((await json(school, ['status'])).resources.pending, N, 'refusals changed nothing')

  const bulk = ok(t, await school.cli(['review', 'approve', '--all', '--tag', 'math', '--reason', 'in the curriculum']), 'approve --all --tag math')
  t.equal(bulk.stdout.trim(), 'approved 100 pending resources matching tag "math"', 'says how many')
  const approved = await json(school, ['resource', 'get', 'r003'])
  t.equal(approved.status, 'published', 'a math resource is published')
  t.match(approved.review, { decision: 'approved', reason: 'in the curriculum', by: String, at: String }, 'with the decision recorded')
  t.ok(Date.parse(approved.review.at) > Date.now() - 120_000, 'at a recent time')
  t.equal((await json(school, ['resource', 'get', 'r001'])).status, 'pending', 'an art resource is still pending')

  ok(t, await school.cli(['review', 'reject', 'r001', '--reason', 'a duplicate']), 'reject one with a reason')
  const rejected = await json(school, ['resource', 'get', 'r001'])
  t.match(rejected, { status: 'rejected', review: { decision: 'rejected', reason: 'a duplicate' } }, 'rejected with its reason')
  t.match((await school.cli(['resource', 'get', 'r001'])).stdout, /review:\s+rejected by \S+ at \S+: a duplicate/, 'resource get shows who, when and why')

  // More ids than the former limit of 1,000 arguments (each pending id six times).
  const pending = (await json(school, ['review', 'list'])).map((r: any) => r.id)
  t.equal(pending.length, N - 101, 'the rest is pending')
  const many = ok(t, await school.cli(['review', 'approve', ...Array.from({ length: 6 }, () => pending).flat()]), 'approve 1,194 ids')
  t.match(many.stdout, /^approved 1194: r002, r004/, 'counts the ids given')
  t.match((await json(school, ['status'])).resources, { published: N - 1, pending: 0, rejected: 1 }, 'all decided')

  const table = ok(t, await school.cli(['resource', 'list']), 'resource list').stdout
  t.match(table, /r000\s+published\s+-\s+\(no text in en\)/, 'the French-only resource is a row with its id, not an empty one')
  t.match(table, /r299\s+published\s+en\s+Lesson 299/, 'others show their title')
})

t.test('history, diff and the review policy', async (t) => {
  await putResource(district, { ...item(10), title: { en: 'Lesson ten, revised', fr: 'Leçon 10' } })
  await sync(t, school, 'sync an update under the default policy')
  const published = await json(school, ['resource', 'get', 'r010'])
  t.match(published, { status: 'published', title: { en: 'Lesson ten, revised' } }, 'publish: the update is published at once')
  const d = await json(school, ['resource', 'diff', 'r010'])
  t.equal(d.since, 'approved', 'the diff is since the approval')
  t.same(d.fields.map((f: any) => [f.field, f.lang, f.before, f.after]), [['title', 'en', 'Lesson 10', 'Lesson ten, revised']], 'only the English title changed')
  t.ok(d.fields[0].parts.some((p: any) => p.added && /ten/.test(p.value)) && d.fields[0].parts.some((p: any) => p.removed && /10/.test(p.value)), 'word parts added and removed')
  t.match((await school.cli(['resource', 'diff', 'r010'])).stdout, /title\[en\]:\n {2}Lesson \[-10-\]\{\+ten, revised\+\}/, 'the human diff marks words')

  t.match((await school.cli(['review', 'policy'])).stdout, /^publish:/, 'the policy is publish by default')
  t.same(await json(school, ['review', 'policy', 'hold']), { updates: 'hold' }, 'set to hold')
  refused(t, await school.cli(['review', 'policy', 'sometimes']), 'POLLEN_INVALID_INPUT', 'an unknown policy')
  t.equal(JSON.parse(readFileSync(join(school.dataDir, 'config.json'), 'utf8')).review.updates, 'hold', 'kept in the data directory')

  await putResource(district, { ...item(11), description: { en: 'About topic 11, with exercises' } })
  await sync(t, school, 'sync an update under hold')
  const held = await json(school, ['resource', 'get', 'r011'])
  t.match(held, { status: 'pending', review: { decision: 'approved', held: true } }, 'hold: the approved resource is pending again')
  t.ok(held.review.version.en, 'the approved version is named')
  t.match((await school.cli(['resource', 'get', 'r011'])).stdout, /held:\s+a peer updated it since/, 'resource get says it is held')
  t.match((await school.cli(['review', 'list'])).stdout, /r011\s+district\s+en\s+\S+ \S+\s+Lesson 11 \(update held\)/, 'the queue shows the held update')
  t.notOk((await json(school, ['resource', 'list'])).some((r: any) => r.id === 'r011'), 'readers no longer see it')
  const heldDiff = await json(school, ['resource', 'diff', 'r011'])
  t.same(heldDiff.fields.map((f: any) => [f.field, f.before, f.after]), [['description', 'About topic 11', 'About topic 11, with exercises']], 'its diff since the approved version')
  await putResource(district, { ...item(12), tags: ['math', 'geometry'] })
  await sync(t, school, 'an update to another approved resource')
  t.equal((await json(school, ['resource', 'get', 'r012'])).status, 'pending', 'held too')
  ok(t, await school.cli(['review', 'approve', 'r011']), 'approve the held update')
  const again = await json(school, ['resource', 'get', 'r011'])
  t.equal(again.status, 'published', 'published again')
  t.notOk(again.review.held, 'no longer held')
  t.same((await json(school, ['resource', 'diff', 'r011'])).fields, [], 'nothing changed since this approval')
  // A second update while held stays held; a rejected one stays rejected.
  await putResource(district, { ...item(1), title: { fr: 'Leçon un' } })
  await sync(t, school, 'an update to a rejected resource')
  t.equal((await json(school, ['resource', 'get', 'r001'])).status, 'rejected', 'a rejected resource stays rejected')

  const hist = await json(school, ['resource', 'history', 'r011'])
  t.ok(hist.length >= 3, `every operation of r011 held here (${hist.length})`)
  t.same([...hist].sort((a: any, b: any) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).map((h: any) => h.op), hist.map((h: any) => h.op), 'oldest first')
  t.ok(hist.every((h: any) => h.instance === district.instance && h.instanceName === 'district'), 'written by the district, named')
  t.match(hist[hist.length - 1], { type: 'put', layer: 'en', body: { description: 'About topic 11, with exercises' } }, 'the last is the update')
  t.match((await school.cli(['resource', 'history', 'r011'])).stdout, /text\[en\]\s+district \([0-9a-f]{8}\)/, 'the human history names the writer')
  refused(t, await school.cli(['resource', 'history', 'nope']), 'POLLEN_NOT_FOUND', 'history of an unknown id')
  refused(t, await school.cli(['resource', 'diff', 'nope']), 'POLLEN_NOT_FOUND', 'diff of an unknown id')

  await school.stop()
  // Started under the whole file's test, so that it outlives this subtest.
  const restarted = await startNode(top, root, 'school', { languages: ['en'] })
  t.same(await json(restarted, ['review', 'policy']), { updates: 'hold' }, 'the policy survives a restart')
  t.equal((await json(restarted, ['resource', 'get', 'r012'])).status, 'pending', 'and the hold too')
  // A reload takes the policy from the configuration file.
  const cfgPath = join(restarted.dataDir, 'config.json')
  writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), review: { updates: 'publish' } }))
  restarted.proc.kill('SIGHUP')
  await until('the reload', async () => ((await json(restarted, ['review', 'policy'])).updates === 'publish' ? true : undefined))
  t.pass('SIGHUP: the policy from config.json')
  ok(t, await restarted.cli(['review', 'policy', 'hold']), 'and back to hold')
  Object.assign(school, restarted)
})

t.test('conflicts show instance names and text; one --keep resolves every layer', async (t) => {
  await putResource(school, { id: 'r020', title: { en: 'The school\'s title' }, tags: ['school'] })
  await putResource(district, { id: 'r020', title: { en: 'The district\'s title', fr: 'Le titre du district' }, tags: ['district'] })
  await sync(t, school, 'sync concurrent edits')
  const list = await json(school, ['conflicts', 'list'])
  const c = list.find((x: any) => x.id === 'r020')
  t.ok(c, 'r020 is in conflict')
  t.same(c.layers.map((l: any) => l.layer), ['', 'en'], 'in the neutral fields and the English text')
  const sides = c.layers.flatMap((l: any) => [l.winner, ...l.losers])
  t.same([...new Set(sides.map((s: any) => s.instanceName))].sort(), ['district', 'this instance'], 'each side named')
  t.ok(sides.some((s: any) => s.text === 'The school\'s title') && sides.some((s: any) => s.text === 'tags: district'), 'with its text')
  const human = (await school.cli(['conflicts', 'list'])).stdout
  t.match(human, /kept {2}district \([0-9a-f]{8}\)/, 'the human list names the district')
  t.match(human, /this instance \([0-9a-f]{8}\)/, 'and this instance')
  t.match(human, /\| The school's title/, 'and shows the text')

  refused(t, await school.cli(['conflicts', 'resolve', 'r020', '--keep', 'nobody']), 'POLLEN_CONFLICT_NOT_FOUND', 'keep an instance with no side')
  t.match((await school.cli(['conflicts', 'resolve', 'r020', '--keep', 'nobody'])).error?.message, /keep one of .*district/, 'names the sides')
  const r = ok(t, await school.cli(['conflicts', 'resolve', 'r020', '--keep', 'district', '--json']), 'keep the district\'s side')
  t.equal(r.json.kept.length, 2, 'one operation per conflicting layer, in one transaction')
  t.notOk((await json(school, ['conflicts', 'list'])).some((x: any) => x.id === 'r020'), 'no conflict left')
  t.match(await json(school, ['resource', 'get', 'r020']), { title: { en: 'The district\'s title' }, tags: ['district'] }, 'the district\'s version everywhere')
  await sync(t, school, 'sync the resolution')
  t.notOk((await json(district, ['conflicts', 'list'])).some((x: any) => x.id === 'r020'), 'resolved on the district too')
  t.match(await json(district, ['resource', 'get', 'r020']), { title: { en: 'The district\'s title', fr: 'Le titre du district' }, tags: ['district'] }, 'with the district\'s text')
})
