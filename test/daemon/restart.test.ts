/**
 * Restart persistence and daemon lifecycle: state survives SIGTERM and SIGKILL restarts with
 * the same ids and counter; a second daemon on the same data dir is refused; commands with
 * no daemon running say so and how to start one.
 */
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, pollen, snapshot, spawnDaemon, startDaemon, tempDir } from '../helpers/daemon.js'

t.test('everything survives a SIGTERM restart, then a SIGKILL restart', async (t) => {
  const dir = tempDir(t)
  const dataDir = join(dir, 'data')
  const d = await startDaemon({ t, dataDir, name: 'restart', languages: ['en', 'fr'] })

  const file = join(dir, 'r.json')
  writeFileSync(file, JSON.stringify({ id: 'r-1', title: { en: 'One', fr: 'Un' }, tags: ['a'], links: [{ url: 'https://example.org/1' }] }))
  t.equal((await d.cli(['resource', 'put', file])).stdout.trim(), 'r-1')
  const gen = await d.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ title: { en: 'Generated id' } }) })
  const genId = gen.stdout.trim()
  t.match(genId, /^[0-9a-f-]{36}$/)
  const imp = await d.cli(['resource', 'import', '-', '--json'], { stdin: [1, 2, 3].map((i) => JSON.stringify({ id: `imp-${i}`, title: { en: `Imported ${i}` } })).join('\n') })
  t.match(imp.json, { total: 3, created: 3, errors: [] })
  t.equal((await d.cli(['resource', 'delete', 'imp-3'])).code, 0)
  const alice = await d.cli(['user', 'add', 'alice', '--role', 'write', '--filter', 'lib', '--json'])
  t.equal(alice.code, 0)
  const peerKey = 'restart-peer-key-123456'
  t.equal((await d.cli(['peer', 'add', '--name', 'cloud', '--url', 'https://cloud.example:7420', '--user', 'school', '--key', peerKey, '--inactive'])).code, 0)

  const before = await snapshot(d)
  const statusBefore = (await d.cli(['status', '--json'])).json
  t.equal((before.published as unknown[]).length, 4, 'four published resources before the restart')
  t.ok(before.counter > 0)

  t.equal(await d.stop('SIGTERM'), 0, 'SIGTERM: exit code 0')
  t.notOk(existsSync(d.socket), 'the control socket is removed')
  t.match(d.output().stdout, /"msg":"stopped"/, 'the daemon logged a clean stop')
  const down = await pollen(['status'], { dataDir })
  t.equal(down.error?.code, 'POLLEN_DAEMON_NOT_RUNNING', 'a stopped daemon does not answer')

  const d2 = await startDaemon({ t, dataDir })
  t.equal(d2.instance, d.instance, 'same instance id')
  t.same(await snapshot(d2), before, 'same resources, users, peers, conflicts and counter')
  const statusAfter = (await d2.cli(['status', '--json'])).json
  t.equal(statusAfter.counter, statusBefore.counter, 'status counter equal')
  t.equal(statusAfter.author, statusBefore.author, 'same author')
  t.same(statusAfter.vectors, statusBefore.vectors, 'same vectors')
  t.match((await d2.cli(['resource', 'get', genId, '--json'])).json, { id: genId, title: { en: 'Generated id' } }, 'the generated id is kept')
  t.equal((await d2.cli(['resource', 'get', 'imp-3'])).error?.code, 'POLLEN_NOT_FOUND', 'the delete is kept')
  t.equal(JSON.parse(readFileSync(join(dataDir, 'peer-keys.json'), 'utf8')).cloud, peerKey, 'the peer key is kept')

  // The counter continues from where it was: no reuse after a restart.
  const upd = await d2.cli(['resource', 'put', '-', '--json'], { stdin: JSON.stringify({ id: 'r-1', title: { en: 'One, edited', fr: 'Un' }, tags: ['a'], links: [{ url: 'https://example.org/1' }] }) })
  t.same(upd.json, { id: 'r-1', outcome: 'updated' })
  const afterEdit = await snapshot(d2)
  t.ok(afterEdit.counter > before.counter, 'the counter goes on from the stored one')

  await d2.kill9()
  t.ok(existsSync(d2.socket), 'SIGKILL leaves a stale socket file behind')
  const stale = await pollen(['status', '--json'], { dataDir })
  t.not(stale.code, 0)
  t.equal(stale.error?.code, 'POLLEN_DAEMON_NOT_RUNNING', 'a stale socket reads as no daemon running')

  const d3 = await startDaemon({ t, dataDir })
  t.same(await snapshot(d3), afterEdit, 'after SIGKILL and restart everything is still there')
  t.equal(await d3.stop('SIGINT'), 0, 'SIGINT also stops cleanly')
  t.notOk(existsSync(d3.socket))
})

t.test('a second daemon on the same data dir is refused; the first keeps serving', async (t) => {
  const dir = tempDir(t)
  const dataDir = join(dir, 'data')
  const d = await startDaemon({ t, dataDir })
  t.equal((await d.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ id: 'keep', title: { en: 'Keep' } }) })).code, 0)

  const second = spawnDaemon({ dataDir, listen: `127.0.0.1:${await freePort()}` })
  t.teardown(() => {
    second.proc.kill('SIGKILL')
  })
  const { code } = await second.exited
  t.not(code, 0, 'the second daemon exits non-zero')
  t.equal(code, 1)
  t.match(second.out.stderr, /POLLEN_DAEMON_RUNNING/, `stable code: ${second.out.stderr.trim()}`)
  t.match(second.out.stderr, /already running/, 'the message says a daemon already runs')
  t.equal(second.out.stderr.trim().split('\n').length, 1, 'one line on stderr')

  t.ok(existsSync(d.socket), 'the first daemon\'s socket is still there')
  const s = await d.cli(['status', '--json'])
  t.equal(s.code, 0, 'the first daemon still answers')
  t.equal(s.json?.instance, d.instance)
  t.equal((await d.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ id: 'after', title: { en: 'After' } }) })).code, 0, 'and still writes')
  t.same((await d.cli(['resource', 'list', '--json'])).json.map((r: { id: string }) => r.id).sort(), ['after', 'keep'])
  t.equal(await d.stop(), 0)
})

t.test('commands with no daemon running say so and how to start one', async (t) => {
  const dir = tempDir(t)
  const dataDir = join(dir, 'data')
  t.equal((await pollen(['init'], { dataDir })).code, 0)
  for (const args of [['status'], ['resource', 'list'], ['user', 'list'], ['peer', 'list'], ['rebuild']]) {
    const r = await pollen(args, { dataDir })
    t.not(r.code, 0, `${args.join(' ')} exits non-zero`)
    t.equal(r.error?.code, 'POLLEN_DAEMON_NOT_RUNNING', `${args.join(' ')}: POLLEN_DAEMON_NOT_RUNNING`)
    t.match(r.stderr, /no pollen daemon is running/, 'says no daemon is running')
    t.ok(r.stderr.includes(`pollen daemon --data-dir ${dataDir}`), 'says how to start one')
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
    t.equal(r.stdout, '')
  }
  const j = await pollen(['status', '--json'], { dataDir })
  t.match(JSON.parse(j.stderr), { error: { code: 'POLLEN_DAEMON_NOT_RUNNING', message: /pollen daemon/ } }, '--json: the error is JSON on stderr')

  const empty = join(dir, 'never-initialised')
  const r = await pollen(['status'], { dataDir: empty })
  t.equal(r.error?.code, 'POLLEN_NOT_INITIALIZED', 'a directory that was never initialised says so (test/daemon/controlTarget.test.ts)')
  const daemon = spawnDaemon({ dataDir: empty, listen: `127.0.0.1:${await freePort()}` })
  t.teardown(() => {
    daemon.proc.kill('SIGKILL')
  })
  t.not((await daemon.exited).code, 0, 'a daemon on an uninitialised directory exits non-zero')
  t.match(daemon.out.stderr, /POLLEN_NOT_INITIALIZED/)
  t.match(daemon.out.stderr, /pollen init --data-dir/, 'and says how to initialise it')
})
