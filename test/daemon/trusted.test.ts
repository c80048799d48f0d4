/**
 * Trusted relays (docs/protocol.md §11.4, docs/operations.md "Trusted relays"), on real
 * daemons through the CLI: `--trusted` on `peer add`/`user add`, `--trusted true|false` on
 * `peer set`/`user set`, shown by the listings and kept over a restart; and what the flag is
 * for: operations of an author from before seals, which carry none, pass a peer or a user
 * marked trusted and are left out by every other.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { LevelStore } from '../../adapters/levelStore.js'
import { OpLog } from '../../core/log/opLog.js'
import { dataPaths } from '../../daemon/config.js'
import { allOps, memoryInstance } from '../helpers/instances.js'
import { controlRequest, getResource, initDataDir, startDaemon, startNode, tempDir, type Daemon, type PollenResult } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-trusted-')

function ok(t: Test, r: PollenResult, what: string): void {
  t.equal(r.code, 0, `${what} exits 0${r.code ? `: ${r.stderr.trim()}` : ''}`)
}

function refused(t: Test, r: PollenResult, code: string, what: string): void {
  t.not(r.code, 0, `${what} exits non-zero`)
  t.equal(r.error?.code, code, `${what} reports ${code}: ${r.stderr.trim()}`)
  t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line on stderr`)
}

/** name → trusted, from `peer list --json` or `user list --json`. */
async function flags(d: Daemon, what: 'peer' | 'user'): Promise<Record<string, boolean>> {
  const r = await d.cli([what, 'list', '--json'])
  if (r.code !== 0) throw new Error(`${what} list: ${r.stderr}`)
  return Object.fromEntries((r.json as { name: string; trusted: boolean }[]).map((e) => [e.name, e.trusted]))
}

t.test('the flag round-trips through add, set and list, and survives a restart', async (t) => {
  const dataDir = join(root, 'solo')
  const d = await startDaemon({ t, dataDir })
  const key = 'peer-secret-kkkkkkkkkkkk'
  const relay = await d.cli(['peer', 'add', '--name', 'relay', '--url', 'https://relay.example:7420', '--user', 'u', '--key', key, '--trusted', '--json'])
  ok(t, relay, 'peer add --trusted')
  t.match(relay.json, { name: 'relay', trusted: true })
  const plain = await d.cli(['peer', 'add', '--name', 'plain', '--url', 'https://plain.example:7420', '--user', 'u', '--key', key])
  ok(t, plain, 'peer add')
  t.notMatch(plain.stdout, /trusted/, 'an untrusted peer is added as before')
  t.same(await flags(d, 'peer'), { plain: false, relay: true })
  t.match((await d.cli(['peer', 'list'])).stdout, /^NAME\s+URL\s+USER\s+ACTIVE\s+FILTERS\s+TRUSTED\s+WINDOWS\s+INSTANCE\n(?=[^]*^plain\s.*\(all\)\s+no\s)(?=[^]*^relay\s.*\(all\)\s+yes\s)/m, 'peer list shows TRUSTED')

  const set = await d.cli(['peer', 'set', 'plain', '--trusted', 'true'])
  ok(t, set, 'peer set --trusted true')
  t.match(set.stdout, /updated peer plain: active, a trusted relay/)
  ok(t, await d.cli(['peer', 'set', 'relay', '--trusted=false']), 'peer set --trusted=false')
  t.same(await flags(d, 'peer'), { plain: true, relay: false })

  const alice = await d.cli(['user', 'add', 'alice', '--role', 'write', '--trusted'])
  ok(t, alice, 'user add --trusted')
  t.match(alice.stdout.split('\n')[1], /user alice \(write, \(all\), a trusted relay\)/)
  t.match((await d.cli(['user', 'add', 'bob', '--role', 'read', '--json'])).json, { name: 'bob', trusted: false })
  ok(t, await d.cli(['user', 'set', 'bob', '--trusted', 'true']), 'user set --trusted true')
  const unset = await d.cli(['user', 'set', 'alice', '--trusted', 'false', '--json'])
  t.match(unset.json, { name: 'alice', trusted: false })
  t.same(await flags(d, 'user'), { alice: false, bob: true })
  t.match((await d.cli(['user', 'list'])).stdout, /^NAME\s+ROLE\s+FILTERS\s+TRUSTED\s+INSTANCE\s+CREATED\n(?=[^]*^alice\s+write\s+\(all\)\s+no\s)(?=[^]*^bob\s+read\s+\(all\)\s+yes\s)/m, 'user list shows TRUSTED')

  // Bad values: the one-line error of a bad command line, and nothing changes.
  refused(t, await d.cli(['peer', 'set', 'plain', '--trusted', 'maybe']), 'POLLEN_INVALID_FLAG', '--trusted maybe')
  refused(t, await d.cli(['peer', 'set', 'plain', '--trusted']), 'POLLEN_INVALID_FLAG', 'peer set --trusted without a value')
  refused(t, await d.cli(['user', 'set', 'bob', '--trusted', 'yes']), 'POLLEN_INVALID_FLAG', 'user set --trusted yes')
  refused(t, await d.cli(['user', 'add', 'carol', '--role', 'read', '--trusted=false']), 'POLLEN_INVALID_FLAG', 'user add --trusted=false (a switch)')
  refused(t, await d.cli(['peer', 'list', '--trusted']), 'POLLEN_INVALID_FLAG', 'a command that does not take --trusted')
  const api = await controlRequest(d.socket, 'PATCH', '/v1/peers/plain', JSON.stringify({ trusted: 'false' }))
  t.equal(api.status, 400, 'the control API refuses a string')
  t.match(api.json, { code: 'POLLEN_INVALID_INPUT', message: /trusted must be true or false/ })
  const apiUser = await controlRequest(d.socket, 'POST', '/v1/users', JSON.stringify({ name: 'carol', role: 'read', trusted: 1 }))
  t.match(apiUser.json, { code: 'POLLEN_INVALID_INPUT' }, 'and a number')
  t.same(await flags(d, 'peer'), { plain: true, relay: false }, 'peers unchanged by refused changes')
  t.same(await flags(d, 'user'), { alice: false, bob: true }, 'users unchanged, carol not added')

  t.equal(await d.stop(), 0)
  const again = await startDaemon({ t, dataDir })
  t.same(await flags(again, 'peer'), { plain: true, relay: false }, 'peer flags after a restart')
  t.same(await flags(again, 'user'), { alice: false, bob: true }, 'user flags after a restart')
})

/** Stores in `dataDir`'s database (its daemon stopped) a resource written by an instance from before seals. */
async function storeLegacy(dataDir: string): Promise<void> {
  const old = await memoryInstance({ languages: ['en'] })
  await old.lib.put({ id: 'old', title: { en: 'From before seals' } })
  const ops = await allOps(old.log)
  await old.store.close()
  const store = await LevelStore.openDisk(dataPaths(dataDir).db)
  try {
    const log = await OpLog.open(store, { author: (await OpLog.storedAuthor(store)) as string, languages: ['en', 'fr'] })
    // As a trusted relay's operations were kept before version 4: no seal comes with them.
    await log.applyRemote(ops, [])
  } finally {
    await store.close()
  }
}

async function issue(server: Daemon, user: string): Promise<string> {
  const r = await server.cli(['user', 'add', user, '--role', 'write'])
  if (r.code !== 0) throw new Error(`user add ${user}: ${r.stderr}`)
  return r.stdout.split('\n')[0].trim()
}

async function syncJson(t: Test, client: Daemon, peer: string, mode: '--pull-only' | '--push-only'): Promise<Record<string, any>> {
  const r = await client.cli(['sync', peer, mode, '--json'], { timeoutMs: 60_000 })
  ok(t, r, `sync ${peer} ${mode}`)
  return r.json?.[0] ?? {}
}

t.test('unsealed operations pass a trusted peer (client side) and a trusted user (server side) only', async (t) => {
  // cloud holds operations of a pre-v4 author; school pulls them, then pushes them on to backup.
  await initDataDir({ dataDir: join(root, 'cloud'), name: 'cloud', languages: ['en', 'fr'] })
  await storeLegacy(join(root, 'cloud'))
  const cloud = await startNode(t, root, 'cloud')
  const school = await startNode(t, root, 'school')
  const backup = await startNode(t, root, 'backup')
  t.match(await getResource(cloud, 'old'), { title: { en: 'From before seals' } }, 'the cloud has the old resource')
  ok(t, await school.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'school', `--key=${await issue(cloud, 'school')}`]), 'school adds cloud, untrusted')
  ok(t, await school.cli(['peer', 'add', '--name', 'backup', '--url', backup.url, '--user', 'school', `--key=${await issue(backup, 'school')}`]), 'school adds backup')

  const untrusted = await syncJson(t, school, 'cloud', '--pull-only')
  t.match(untrusted, { ok: true, unsealed: 2 }, 'from an untrusted peer both operations (neutral, en) are left out')
  t.equal(await getResource(school, 'old'), undefined, 'the school does not have it')
  ok(t, await school.cli(['peer', 'set', 'cloud', '--trusted', 'true']), 'peer set cloud --trusted true')
  const trusted = await syncJson(t, school, 'cloud', '--pull-only')
  t.match(trusted, { ok: true, unsealed: 0 }, 'from a trusted relay nothing is left out')
  t.match(await getResource(school, 'old'), { title: { en: 'From before seals' } }, 'the school has it now')

  // The school pushes what it holds without seals; the backup decides by its user's flag.
  t.equal((await syncJson(t, school, 'backup', '--push-only')).ok, true)
  t.equal(await getResource(backup, 'old'), undefined, 'a push from an untrusted user: left out')
  ok(t, await backup.cli(['user', 'set', 'school', '--trusted', 'true']), 'user set school --trusted true on the backup')
  t.equal((await syncJson(t, school, 'backup', '--push-only')).ok, true)
  t.match(await getResource(backup, 'old'), { title: { en: 'From before seals' } }, 'a push from a trusted user: kept')
})
