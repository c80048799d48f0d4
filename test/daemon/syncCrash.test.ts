/**
 * Crash during a large sync (docs/design.md §4.1 and §5.2: each chunk is applied in one atomic
 * batch with its vector advances, so a crash loses at most the chunk in flight). One server
 * holds ~1,500 resources; a client with small chunks is SIGKILLed at a random moment of a
 * sync, restarted on the same data dir, and synced until ok — over and over, with new
 * changes on the server between trials. In the end it must equal a reference client that
 * synced without interruption: same resources, same vectors, and the same again after
 * `pollen rebuild`.
 */
import t, { type Test } from 'tap'
import { randomInt } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateResources, mutateResources, type Resource } from '../../bench/dataset.js'
import { pollenJson, startDaemon, startNode, tempDir, type Daemon, type PollenResult } from '../helpers/daemon.js'

const RESOURCES = 3000
const TRIALS = 20
const CHANGED_PER_TRIAL = 150
const CHUNK = { chunkOps: 20, chunkBytes: 16384 }
const root = tempDir(t, 'pollen-crash-')
const top = t
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function must(d: Daemon, args: string[]): Promise<PollenResult> {
  const r = await d.cli(args, { timeoutMs: 120_000 })
  if (r.code !== 0) throw new Error(`pollen ${args.join(' ')}: ${r.stderr}`)
  return r
}

async function importAll(d: Daemon, list: Resource[], name: string): Promise<void> {
  const file = join(root, `${name}.json`)
  writeFileSync(file, JSON.stringify(list))
  await must(d, ['resource', 'import', file])
}

/** Syncs until a run is ok; returns every result. */
async function syncUntilOk(t: Test, d: Daemon, what: string, max = 10): Promise<any[]> {
  const out: any[] = []
  for (let i = 0; i < max; i++) {
    const r = await d.cli(['sync', '--json'], { timeoutMs: 120_000 })
    const res = r.json?.[0] ?? { ok: false, code: r.error?.code, error: r.stderr.trim() }
    out.push(res)
    if (res.ok) return out
  }
  t.fail(`${what}: no ok sync in ${max} attempts; last: ${out.at(-1)?.code}: ${out.at(-1)?.error}`)
  return out
}

/** What two clients must agree on: the pending resources and the claims for the server's author. */
async function view(d: Daemon, author: string) {
  const list = (await pollenJson(d, ['resource', 'list', '--status', 'pending'])) as any[]
  const status = (await must(d, ['status', '--json'])).json
  const vectors = (status.vectors as any[])
    .filter((e) => e.counters[author] !== undefined)
    .map((e) => `${e.prefix}|${e.layer}=${e.counters[author]}`)
    .sort()
  return { resources: [...list].sort((a, b) => (a.id < b.id ? -1 : 1)), vectors, counts: status.resources, conflicts: status.conflicts }
}

// Pulls are chunked by the sender, so the server gets the small chunks too; the client's
// setting governs what it pushes.
const server = await startNode(t, root, 'server', { languages: ['en', 'fr', 'es'], sync: CHUNK })
let base = generateResources(RESOURCES, 7)
await importAll(server, base, 'base')
const author: string = (await must(server, ['status', '--json'])).json.author
let serverExit: string | undefined
void server.exited.then((e) => (serverExit = `${JSON.stringify(e)}; last log: ${server.output().stdout.slice(-1500)} ${server.output().stderr.slice(-1500)}`))
const keyOf = async (user: string) => (await must(server, ['user', 'add', user, '--role', 'read'])).stdout.split('\n')[0].trim()
const clientDir = join(root, 'client')
let client = await startNode(t, root, 'client', { languages: ['en', 'fr', 'es'], sync: CHUNK })
await must(client, ['peer', 'add', '--name', 'server', '--url', server.url, '--user', 'crashy', `--key=${await keyOf('crashy')}`])

t.test(`${TRIALS} trials: SIGKILL the client during a sync, restart, sync until ok`, async (t) => {
  let midSync = 0
  let resumed = 0
  for (let trial = 1; trial <= TRIALS; trial++) {
    if (serverExit !== undefined) {
      t.fail(`the server daemon exited before trial ${trial}: ${serverExit}`)
      break
    }
    if (trial > 1) {
      // New work for this trial: the server changes some resources.
      const changed = mutateResources(base, CHANGED_PER_TRIAL, trial)
      const byId = new Map(changed.map((r) => [r.id, r]))
      base = base.map((r) => byId.get(r.id) ?? r)
      await importAll(server, changed, `trial-${trial}`)
    }
    const running = client.cli(['sync', '--json'], { timeoutMs: 120_000 })
    let how: string
    if (trial === 1) {
      // One kill is placed, not random: after the first chunks of the initial pull have been
      // applied (resources are pending here), so at least one restart must resume a cut pull
      // however fast this machine syncs.
      let polls = 0
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
        polls += 1
        if (((await client.cli(['status', '--json'])).json?.resources?.pending ?? 0) > 0) break
      }
      how = `once the first chunks had landed (${polls} status polls)`
    } else if (trial % 2 === 0) {
      const ms = randomInt(0, 1500)
      await sleep(ms)
      how = `after ${ms} ms`
    } else {
      const polls = randomInt(0, 4)
      for (let i = 0; i < polls; i++) await client.cli(['log', '--json'])
      how = `after ${polls} log polls`
    }
    await client.kill9()
    const interrupted = await running
    const wasOk = interrupted.json?.[0]?.ok === true
    if (!wasOk) midSync += 1
    client = await startDaemon({ t: top, dataDir: clientDir })
    const after = await syncUntilOk(t, client, `trial ${trial}`)
    if (after[0]?.resumed) resumed += 1
    t.equal(after.at(-1)?.ok, true, `trial ${trial}: killed ${how} (${wasOk ? 'the sync had finished' : 'mid-sync'}); ok after ${after.length} sync(s)`)
    t.notOk(after.some((r) => r.code === 'POLLEN_SESSION_LIMIT'), `trial ${trial}: killed sessions do not lock the user out`)
  }
  t.comment(`crash: ${midSync} of ${TRIALS} kills landed mid-sync; ${resumed} restarts resumed a cut pull`)
  t.ok(midSync >= 3, `kills do interrupt syncs (${midSync} of ${TRIALS})`)
  t.ok(resumed >= 1, `restarted syncs report resumed: true (${resumed})`)
})

t.test('the crashed client equals a reference client that synced uninterrupted', async (t) => {
  const ref = await startNode(t, root, 'reference', { languages: ['en', 'fr', 'es'], sync: CHUNK })
  await must(ref, ['peer', 'add', '--name', 'server', '--url', server.url, '--user', 'reference', `--key=${await keyOf('reference')}`])
  const r = (await ref.cli(['sync', '--json'], { timeoutMs: 120_000 })).json?.[0]
  t.match(r, { ok: true, resumed: false }, `the reference syncs in one go${r?.ok ? '' : `: ${r?.code}: ${r?.error}`}`)
  const serverCounter: number = (await must(server, ['status', '--json'])).json.counter
  const a = await view(client, author)
  const b = await view(ref, author)
  t.equal(a.resources.length, RESOURCES, `the crashed client holds ${RESOURCES} resources`)
  t.same(a.resources.map((v) => v.id), b.resources.map((v) => v.id), 'the same ids')
  t.same(a.resources, b.resources, 'identical resources (content, status, updated)')
  t.same(a.vectors, b.vectors, 'identical vectors for the server’s author')
  t.ok(a.vectors.length > 0 && a.vectors.every((v) => v.endsWith(`=${serverCounter}`)), `every claim equals the server's counter ${serverCounter}`)
  t.same({ counts: a.counts, conflicts: a.conflicts }, { counts: b.counts, conflicts: b.conflicts }, 'the same counts, no conflicts')
  t.equal(a.conflicts, 0)
  t.same(a.resources.map((v) => ({ id: v.id, title: v.title, description: v.description, tags: v.tags, files: v.files })), [...base].sort((x, y) => (x.id < y.id ? -1 : 1)).map((v) => ({ id: v.id, title: v.title, description: v.description, tags: v.tags, files: v.files })), 'the latest server version of every resource')
  await must(client, ['rebuild'])
  await must(ref, ['rebuild'])
  const a2 = await view(client, author)
  t.same(a2, a, 'rebuild leaves the crashed client unchanged')
  t.same(a2, await view(ref, author), 'and still identical to the reference')
})
