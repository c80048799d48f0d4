/**
 * `pollen verify` on real daemons and LevelDB directories: a school whose stored claims cover
 * operations it lacks (the state issue 14's race left behind, made here by writing the claim
 * into its stopped data directory) pulls nothing, as the evidence showed; `pollen verify`
 * finds the untrue claims, lowers them, pulls what was missing and counts the repair.
 */
import t from 'tap'
import { controlRequest, startNode, tempDir, type Daemon } from '../helpers/daemon.js'
import { openInstance } from '../../daemon/instance.js'
import { readConfigSafe } from '../../daemon/configSources.js'

const resources = (prefix: string, partition: string, n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${prefix}-${i}`, partition, title: { en: `${prefix} ${i}` } })).join('\n')

async function count(d: Daemon): Promise<number> {
  const s = (await d.cli(['status', '--json'])).json
  return s.resources.published + s.resources.pending + s.resources.rejected
}

t.test('pollen verify finds a school claiming what it lacks, and heals it', async (t) => {
  const root = tempDir(t, 'pollen-verify-')
  const cloud = await startNode(t, root, 'cloud', { languages: ['en'] })
  let school = await startNode(t, root, 'school', { languages: ['en'] })
  for (const [p, part] of [['a', 'lib:a'], ['b', 'lib:b']]) t.equal((await cloud.cli(['resource', 'import', '-'], { stdin: resources(p, part, 400) })).code, 0)
  const key = (await cloud.cli(['user', 'add', 'school', '--role', 'write'])).stdout.split('\n')[0].trim()
  t.equal((await school.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'school', `--key=${key}`, '--filter', 'lib:a'])).code, 0)
  t.equal((await school.cli(['sync', 'cloud', '--json'])).code, 0)
  t.equal(await count(school), 400, 'the school pulled lib:a')

  // The school is stopped and made to claim all of the cloud's operations, as the race did.
  const cloudAuthor = (await cloud.cli(['status', '--json'])).json
  t.equal(await school.stop('SIGTERM'), 0)
  const config = await readConfigSafe(school.dataDir)
  if (!config) throw new Error('no school config')
  const inst = await openInstance(school.dataDir, config)
  const author = inst.log.authors().find((a) => !a.startsWith(inst.instanceId)) as string
  await inst.log.applyRemote([], ['', 'en'].map((layer) => ({ prefix: '', layer, author, counter: inst.log.maxHeld(author) + 800 })))
  await inst.close()
  t.ok(cloudAuthor.instance && author.startsWith(cloudAuthor.instance), 'the over-claim names the cloud')
  school = await startNode(t, root, 'school', { languages: ['en'] })
  t.equal((await school.cli(['peer', 'set', 'cloud', '--filter', ''])).code, 0, 'the school widens its filter to everything')
  const silent = (await school.cli(['sync', 'cloud', '--json'])).json[0]
  t.equal(silent.pulled, 0, 'a sync pulls nothing: the claim hides lib:b')
  t.equal(await count(school), 400)

  const r = await school.cli(['verify', 'cloud'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^cloud: \d+ claims checked against \d+ operations: \d+ untrue, \d+ stored claims lowered; repaired: pulled \d+ operations$/m, `the report says what was found and repaired:\n${r.stdout}`)
  t.match(r.stdout, /held 400 of 800/, 'it shows how many operations the claim covered and how many were held')
  t.equal(await count(school), 800, 'every cloud resource is on the school')
  const again = (await school.cli(['verify', '--json'])).json[0]
  t.match(again, { peer: 'cloud', ok: true, mismatches: [], lowered: 0 }, 'a second check finds every claim held')
  const metrics = (await controlRequest(school.socket, 'GET', '/metrics')).text
  t.match(metrics, /pollen_claims_repaired_total\{peer="cloud"\} [1-9]/, 'the repair is counted')
  t.match(metrics, /pollen_claims_checks_total\{peer="cloud",outcome="repaired"\} 1/)

  const unknown = await school.cli(['verify', 'nobody'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /^pollen: no peer named nobody; see `pollen peer list` \(POLLEN_NOT_FOUND\)\n$/, 'an unknown peer gets one line')
  await school.stop('SIGTERM')
  await cloud.stop('SIGTERM')
})
