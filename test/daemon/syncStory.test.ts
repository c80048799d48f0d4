/**
 * End-to-end sync story (the Morango user story in reference/seeds): Home (a learner's
 * tablet), Facility (the school laptop), City (an admin's laptop) and Cloud, each a real
 * daemon on its own data dir, driven only through the CLI. Partitions and scoped keys
 * decide who gets what; data that arrived through a narrow filter flows on through broad
 * ones (Morango #144). Also Morango's acceptance scenarios 1, 3, 5 and 6.
 */
import t, { type Test } from 'tap'
import { getResource, putResource, startNode, tempDir, type Daemon, type PollenResult } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-story-')

function ok(t: Test, r: PollenResult, what: string): void {
  t.equal(r.code, 0, `${what} exits 0${r.code ? `: ${r.stderr.trim()}` : ''}`)
}

/** Issues a key on `server`; returns it (first line of stdout). */
async function issue(server: Daemon, user: string, role: 'read' | 'write', filters: string[] = []): Promise<string> {
  const r = await server.cli(['user', 'add', user, '--role', role, ...filters.flatMap((f) => ['--filter', f])])
  if (r.code !== 0) throw new Error(`user add ${user}: ${r.stderr}`)
  return r.stdout.split('\n')[0].trim()
}

async function addPeer(client: Daemon, name: string, server: Daemon, user: string, key: string, filters: string[] = []): Promise<void> {
  const r = await client.cli(['peer', 'add', '--name', name, '--url', server.url, '--user', user, `--key=${key}`, ...filters.flatMap((f) => ['--filter', f])])
  if (r.code !== 0) throw new Error(`peer add ${name}: ${r.stderr}`)
}

/** `pollen sync PEER --json`; asserts success; returns the peer's result. */
async function sync(t: Test, client: Daemon, peer: string, what: string): Promise<Record<string, any>> {
  const r = await client.cli(['sync', peer, '--json'], { timeoutMs: 60_000 })
  ok(t, r, what)
  const res = r.json?.[0] ?? {}
  t.equal(res.ok, true, `${what}: ok${res.ok ? '' : ` (${res.code}: ${res.error})`}`)
  return res
}

/**
 * Points `client`'s peer at a fresh user on `server` (same URL). Each Morango scenario uses
 * its own user so that the session leak reported by the 'no session leak' test (a user that
 * syncs with nothing to push is refused with POLLEN_SESSION_LIMIT on its 5th sync within the
 * session TTL) does not fail scenarios that test something else.
 */
let fresh = 0
async function rotate(client: Daemon, peer: string, server: Daemon, filters: string[] = ['fac']): Promise<void> {
  const user = `${peer}-${++fresh}`
  const r = await client.cli(['peer', 'set', peer, '--user', user, `--key=${await issue(server, user, 'write', filters)}`])
  if (r.code !== 0) throw new Error(`peer set ${peer}: ${r.stderr}`)
}

const put = putResource

const get = getResource

async function ids(d: Daemon, status: string): Promise<string[]> {
  const r = await d.cli(['resource', 'list', '--status', status, '--json'])
  if (r.code !== 0) throw new Error(`list: ${r.stderr}`)
  return r.json.map((v: { id: string }) => v.id).sort()
}

async function conflicts(d: Daemon): Promise<any[]> {
  return (await d.cli(['conflicts', 'list', '--json'])).json
}

/** What must be the same on every instance (review status is local). */
const content = (v: any) => (v ? { id: v.id, partition: v.partition, title: v.title, description: v.description, tags: v.tags, links: v.links, files: v.files, source: v.source, origin: v.origin, updated: v.updated } : v)

const [facility, home, city, cloud] = await Promise.all(['facility', 'home', 'city', 'cloud'].map((n) => startNode(t, root, n)))

t.test('Home, with a key scoped to fac/user:u1, gets only that partition', async (t) => {
  await put(facility, { id: 'r-u1', partition: 'fac/user:u1', title: { en: 'Lesson for u1', fr: 'Leçon pour u1' } })
  await put(facility, { id: 'r-u2', partition: 'fac/user:u2', title: { en: 'Private to u2' } })
  await put(facility, { id: 'r-fac', partition: 'fac', title: { en: 'Facility-wide notice' } })
  const key = await issue(facility, 'home-u1', 'write', ['fac/user:u1'])
  // Home asks for the whole facility; its key only allows u1's partition.
  await addPeer(home, 'facility', facility, 'home-u1', key, ['fac'])
  const r = await sync(t, home, 'facility', 'home syncs facility')
  t.equal(r.new, 1, 'one resource is new on Home')
  t.same(await ids(home, 'pending'), ['r-u1'], 'Home holds only r-u1 (pending review)')
  t.same(await ids(home, 'published'), [], 'nothing else')
  t.equal(await get(home, 'r-u2'), undefined, 'u2 data never reaches Home')
  t.equal(await get(home, 'r-fac'), undefined, 'facility-wide data outside the scope never reaches Home')
  t.same(content(await get(home, 'r-u1')), content(await get(facility, 'r-u1')), 'the copy equals the original')
  const vectors: any[] = (await home.cli(['status', '--json'])).json.vectors
  const facAuthor = (await facility.cli(['status', '--json'])).json.author
  t.notOk(vectors.some((e) => (e.prefix === 'fac' || e.prefix === '') && e.counters[facAuthor]), 'Home claims nothing of Facility under a broader prefix than its scope')
  t.ok(vectors.some((e) => e.prefix === 'fac/user:u1' && e.counters[facAuthor] > 0), 'Home claims Facility operations under fac/user:u1')
})

t.test('Home creates data for u1 and pushes it to Facility', async (t) => {
  await put(home, { id: 'h-1', partition: 'fac/user:u1', title: { en: 'Quiz answers by u1' }, tags: ['engagement'] })
  await put(home, { id: 'h-u2', partition: 'fac/user:u2', title: { en: 'Outside the key scope' } })
  const r = await sync(t, home, 'facility', 'home pushes')
  t.ok(r.pushed >= 1, `Home pushed its operations (${r.pushed})`)
  t.same(content(await get(facility, 'h-1')), content(await get(home, 'h-1')), 'Facility has h-1 as Home wrote it')
  t.equal((await get(facility, 'h-1'))?.status, 'pending', 'on Facility it waits for review')
  t.equal(await get(facility, 'h-u2'), undefined, 'data outside the key scope is not accepted from Home')
})

t.test('City (filter fac) then Cloud: narrow-filter data flows on through broad filters (Morango #144)', async (t) => {
  await addPeer(city, 'facility', facility, 'city', await issue(facility, 'city', 'write', ['fac']), ['fac'])
  await sync(t, city, 'facility', 'city syncs facility')
  t.same(await ids(city, 'pending'), ['h-1', 'r-fac', 'r-u1', 'r-u2'], 'City holds all of fac, including what Home pushed')
  await addPeer(cloud, 'city', city, 'cloud', await issue(city, 'cloud', 'write'), ['fac'])
  await sync(t, cloud, 'city', 'cloud syncs city')
  t.same(await ids(cloud, 'pending'), ['h-1', 'r-fac', 'r-u1', 'r-u2'], 'Cloud holds everything, including Home’s data')
  for (const id of ['h-1', 'r-u1', 'r-u2', 'r-fac']) t.same(content(await get(cloud, id)), content(await get(facility, id)), `${id} is identical on Cloud and Facility`)
  const again = await sync(t, cloud, 'city', 'second cloud/city sync')
  t.match(again, { pulled: 0, pushed: 0, new: 0, updated: 0 }, 'a second City→Cloud sync moves 0 operations')
  t.match(await sync(t, city, 'facility', 'second city/facility sync'), { pulled: 0, pushed: 0 }, 'City/Facility moves 0 too')
})

t.test('a resource created on Cloud for u1 reaches Home via City and Facility', async (t) => {
  await put(cloud, { id: 'c-1', partition: 'fac/user:u1', title: { en: 'New assignment from the cloud', fr: 'Nouveau devoir' } })
  t.ok((await sync(t, cloud, 'city', 'cloud pushes to city')).pushed >= 1, 'Cloud pushes c-1 to City')
  t.ok((await sync(t, city, 'facility', 'city pushes to facility')).pushed >= 1, 'City pushes c-1 to Facility')
  const r = await sync(t, home, 'facility', 'home syncs facility')
  t.equal(r.new, 1, 'one new resource on Home')
  t.same(content(await get(home, 'c-1')), content(await get(cloud, 'c-1')), 'Home has c-1 as Cloud wrote it')
  t.same(await ids(home, 'pending'), ['c-1', 'r-u1'], 'Home still holds only u1 data from others')
  t.same(await ids(home, 'published'), ['h-1', 'h-u2'], 'and its own')
  t.match(await sync(t, home, 'facility', 'home again'), { pulled: 0, pushed: 0 }, 'a repeat moves 0')
})

t.test('no session leak: a write key that syncs with nothing to push keeps working', async (t) => {
  // Every default sync opens a session allowing a push; when the client has nothing to push
  // it sends no second request, and the server must not keep that session open.
  const key = await issue(facility, 'city-idle', 'write', ['fac'])
  ok(t, await city.cli(['peer', 'set', 'facility', '--user', 'city-idle', `--key=${key}`]), 'switch City to a fresh user')
  for (let i = 1; i <= 6; i++) {
    const r = await city.cli(['sync', 'facility', '--json'])
    t.equal(r.json?.[0]?.ok, true, `idle sync ${i} is ok${r.json?.[0]?.ok ? '' : ` (${r.json?.[0]?.code}: ${r.json?.[0]?.error})`}`)
  }
})

t.test('Morango 1: transitive propagation; repeats move 0', async (t) => {
  await rotate(city, 'facility', facility)
  await rotate(cloud, 'city', city)
  await put(facility, { id: 'm1', partition: 'fac', title: { en: 'Transitive' }, links: [{ url: 'https://example.org/m1' }] })
  await sync(t, city, 'facility', 'B syncs A')
  await sync(t, cloud, 'city', 'C syncs B')
  const a = content(await get(facility, 'm1'))
  t.ok(a, 'A has m1')
  t.same(content(await get(city, 'm1')), a, 'B has the same version')
  t.same(content(await get(cloud, 'm1')), a, 'C has the same version')
  t.match(await sync(t, city, 'facility', 'B syncs A again'), { pulled: 0, pushed: 0 }, 'repeat B/A moves 0')
  t.match(await sync(t, cloud, 'city', 'C syncs B again'), { pulled: 0, pushed: 0 }, 'repeat C/B moves 0')
})

t.test('Morango 3: concurrent edit; the loser is listed; resolve converges', async (t) => {
  await rotate(city, 'facility', facility)
  await put(facility, { id: 'm3', partition: 'fac', title: { en: 'x=0' } })
  await sync(t, city, 'facility', 'share m3')
  await put(facility, { id: 'm3', partition: 'fac', title: { en: 'x=a' } })
  await put(city, { id: 'm3', partition: 'fac', title: { en: 'x=b' } })
  const r = await sync(t, city, 'facility', 'B syncs A')
  t.ok(r.conflicts >= 1, `the sync reports the conflict (${r.conflicts})`)
  const onA = content(await get(facility, 'm3'))
  t.same(content(await get(city, 'm3')), onA, 'both sides show the same version')
  t.equal(onA.title.en, 'x=a', 'the origin’s edit wins')
  const cityAuthor = (await city.cli(['status', '--json'])).json.author
  for (const [name, d] of [['A', facility], ['B', city]] as const) {
    const c = (await conflicts(d)).find((x) => x.id === 'm3')
    t.ok(c, `m3 is in ${name}'s conflict list`)
    t.same(c?.layers.map((l: any) => l.losers.map((h: any) => h.author)), [[cityAuthor]], `${name}: the loser is B's edit`)
  }
  const loser = (await conflicts(city)).find((x) => x.id === 'm3').layers[0].losers[0]
  t.equal(loser.body.title, 'x=b', 'the loser keeps its payload')
  ok(t, await city.cli(['conflicts', 'resolve', 'm3', '--keep', loser.op]), 'resolve --keep the loser')
  t.equal((await get(city, 'm3')).title.en, 'x=b', 'B shows the kept version')
  await sync(t, city, 'facility', 'B syncs A after resolving')
  for (const [name, d] of [['A', facility], ['B', city]] as const) {
    t.equal((await get(d, 'm3'))?.title.en, 'x=b', `${name} converged on the kept version`)
    t.notOk((await conflicts(d)).some((x) => x.id === 'm3'), `${name} has no conflict left for m3`)
  }
  t.same(content(await get(city, 'm3')), content(await get(facility, 'm3')), 'A and B are identical')
  t.match(await sync(t, city, 'facility', 'further sync'), { pulled: 0, pushed: 0 }, 'a further sync moves 0')
})

t.test('Morango 5: delete beats a concurrent update', async (t) => {
  await addPeer(cloud, 'facility', facility, 'cloud-direct', await issue(facility, 'cloud-direct', 'write', ['fac']), ['fac'])
  await rotate(city, 'facility', facility)
  await rotate(cloud, 'city', city)
  await put(facility, { id: 'm5', partition: 'fac', title: { en: 'to be deleted' } })
  await sync(t, city, 'facility', 'B gets m5')
  await sync(t, cloud, 'city', 'C gets m5')
  t.ok(await get(cloud, 'm5'), 'C has m5')
  ok(t, await facility.cli(['resource', 'delete', 'm5']), 'A deletes m5')
  await put(city, { id: 'm5', partition: 'fac', title: { en: 'edited while A deleted it' } })
  await sync(t, cloud, 'facility', 'C syncs A')
  await sync(t, cloud, 'city', 'C syncs B')
  await sync(t, city, 'facility', 'B syncs A')
  for (const [name, d] of [['A', facility], ['B', city], ['C', cloud]] as const) {
    const r = await d.cli(['resource', 'get', 'm5', '--json'])
    t.equal(r.error?.code, 'POLLEN_NOT_FOUND', `m5 is gone on ${name}`)
    t.notOk((await d.cli(['resource', 'list', '--status', 'pending', '--json'])).json.some((v: any) => v.id === 'm5'), `m5 is not listed on ${name}`)
  }
})

t.test('Morango 6: delete, then recreate with the same id', async (t) => {
  await rotate(city, 'facility', facility)
  await put(facility, { id: 'm6', partition: 'fac', title: { en: 'first life' } })
  await sync(t, city, 'facility', 'B gets m6')
  t.equal((await get(city, 'm6'))?.title.en, 'first life')
  ok(t, await facility.cli(['resource', 'delete', 'm6']), 'A deletes m6')
  await sync(t, city, 'facility', 'B gets the delete')
  t.equal(await get(city, 'm6'), undefined, 'm6 is gone on B')
  await put(facility, { id: 'm6', partition: 'fac', title: { en: 'second life' } })
  await sync(t, city, 'facility', 'B gets the recreation')
  const v = await get(city, 'm6')
  t.equal(v?.title.en, 'second life', 'm6 exists again on B with the new content')
  t.equal(v?.conflicts, 0, 'with no conflict')
  t.notOk((await conflicts(city)).some((x) => x.id === 'm6'), 'and not in the conflict list')
  t.same(content(v), content(await get(facility, 'm6')), 'identical to A')
})
