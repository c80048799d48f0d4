/**
 * End-to-end CLI tests (docs/design.md §10.1): every command except `sync` and `log`, run as a child
 * process against a real daemon on a temporary data directory.
 */
import t, { type Test } from 'tap'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CLI, filesContaining, pollen, snapshot, startDaemon, tempDir, type PollenResult } from '../helpers/daemon.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const INSTANCE = /^[0-9a-f]{32}$/

function ok(t: Test, r: PollenResult, what: string): void {
  t.equal(r.code, 0, `${what} exits 0${r.code ? `: ${r.stderr}` : ''}`)
}

function refused(t: Test, r: PollenResult, code: string, what: string): void {
  t.not(r.code, 0, `${what} exits non-zero`)
  t.equal(r.error?.code, code, `${what} reports ${code}: ${r.stderr.trim()}`)
  t.equal(r.stdout, '', `${what} prints nothing on stdout`)
}

const root = tempDir(t)
const dataDir = join(root, 'main')
const file = (name: string, content: unknown) => {
  const p = join(root, name)
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content))
  return p
}

// `init` by hand so that its printed id can be compared with the daemon's.
const init = await pollen(['init', '--name', 'cli-test', '--languages', 'en,fr'], { dataDir })
const d = await startDaemon({ t, dataDir })

t.test('the built CLI is executable, so `npx pollen` runs it on a fresh clone', async (t) => {
  t.equal(statSync(CLI).mode & 0o111, 0o111, `${CLI} has its executable bits (the build sets them; tsc writes 0644)`)
})

t.test('init', async (t) => {
  ok(t, init, 'init')
  const [id, msg] = init.stdout.trim().split('\n')
  t.match(id, INSTANCE, 'the first line is the instance id')
  t.equal(id, d.instance, 'the printed id is the id the daemon reports')
  t.match(msg, /cli-test/, 'the summary names the instance')
  t.ok(existsSync(join(dataDir, 'identity.json')) && existsSync(join(dataDir, 'config.json')), 'identity and config are written')

  const again = await pollen(['init'], { dataDir })
  refused(t, again, 'POLLEN_ALREADY_INITIALIZED', 'init twice')
  t.match(again.stderr, /POLLEN_ALREADY_INITIALIZED/)
  t.equal(JSON.parse(readFileSync(join(dataDir, 'identity.json'), 'utf8')).instanceId, id, 'identity untouched by the second init')

  const other = join(root, 'json-init')
  const j = await pollen(['init', '--json', '--name', 'j', '--languages', 'fr'], { dataDir: other })
  ok(t, j, 'init --json')
  t.match(j.json, { instance: INSTANCE, dataDir: other, config: { name: 'j', languages: ['fr'] } })
  const j2 = await pollen(['init', '--json'], { dataDir: other })
  t.not(j2.code, 0)
  t.same(JSON.parse(j2.stderr.trim()).error.code, 'POLLEN_ALREADY_INITIALIZED', 'with --json the error is JSON on stderr')
})

t.test('status', async (t) => {
  t.equal(statSync(d.socket).mode & 0o777, 0o660, 'the control socket has mode 0660')
  const h = await d.cli(['status'])
  ok(t, h, 'status')
  t.match(h.stdout, new RegExp(`instance:\\s+${d.instance.replace(/(.{4})(?!$)/g, '$1-')} \\(cli-test\\)`))
  t.match(h.stdout, /languages:\s+en, fr/)
  t.match(h.stdout, /peers:\s+none/)
  const j = await d.cli(['status', '--json'])
  ok(t, j, 'status --json')
  t.match(j.json, { instance: d.instance, name: 'cli-test', languages: ['en', 'fr'], listen: d.listen, resources: { published: Number, pending: 0, rejected: 0 }, conflicts: 0, peers: [] })
  t.type(j.json.counter, 'number')
})

t.test('resource put, get, update', async (t) => {
  const input = { title: { en: 'Hand washing', fr: 'Lavage des mains' }, description: { en: 'Five steps' }, tags: ['hygiene'], links: [{ url: 'https://example.org/wash', title: 'Poster' }] }
  const put = await d.cli(['resource', 'put', file('r1.json', input)])
  ok(t, put, 'put FILE')
  const id = put.stdout.trim()
  t.match(id, UUID, 'a resource without id gets a GUID, printed alone')

  const got = await d.cli(['resource', 'get', id, '--json'])
  ok(t, got, 'get --json')
  t.match(got.json, { ...input, id, kind: 'resource', partition: 'lib', languages: ['en', 'fr'], status: 'published', origin: d.instance, conflicts: 0 })
  t.same(got.json.links, input.links)
  const human = await d.cli(['resource', 'get', id])
  ok(t, human, 'get')
  t.match(human.stdout, /title\[en\]:\s+Hand washing/)
  t.match(human.stdout, /status:\s+published/)

  const stdin = await d.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ id: 'std-1', title: { en: 'From stdin' } }) })
  ok(t, stdin, 'put -')
  t.equal(stdin.stdout, 'std-1\n', 'put - prints the id')
  t.equal((await d.cli(['resource', 'get', 'std-1', '--json'])).json.title.en, 'From stdin')

  const before = (await d.cli(['status', '--json'])).json.counter
  const upd = await d.cli(['resource', 'put', '-', '--json'], { stdin: JSON.stringify({ id: 'std-1', title: { en: 'Changed' }, tags: ['x'] }) })
  ok(t, upd, 'update')
  t.same(upd.json, { id: 'std-1', outcome: 'updated' })
  const after = (await d.cli(['status', '--json'])).json.counter
  t.ok(after > before, 'an update appends operations')
  t.match((await d.cli(['resource', 'get', 'std-1', '--json'])).json, { title: { en: 'Changed' }, tags: ['x'] })
  const same = await d.cli(['resource', 'put', '-', '--json'], { stdin: JSON.stringify({ id: 'std-1', title: { en: 'Changed' }, tags: ['x'] }) })
  t.same(same.json, { id: 'std-1', outcome: 'unchanged' })
  t.equal((await d.cli(['status', '--json'])).json.counter, after, 'an unchanged put appends nothing')
  // A view from `get --json` can be edited and put back (read-only fields are ignored).
  const view = (await d.cli(['resource', 'get', 'std-1', '--json'])).json
  const back = await d.cli(['resource', 'put', '-', '--json'], { stdin: JSON.stringify({ ...view, tags: ['y'] }) })
  t.same(back.json, { id: 'std-1', outcome: 'updated' })
})

t.test('resource import', async (t) => {
  const arr = [1, 2, 3].map((i) => ({ id: `arr-${i}`, title: { en: `Array ${i}` } }))
  const a = await d.cli(['resource', 'import', file('arr.json', arr)])
  ok(t, a, 'import array')
  t.match(a.stdout, /imported 3 of 3: 3 created/)
  const aj = await d.cli(['resource', 'import', file('arr.json', arr), '--json'])
  t.match(aj.json, { type: 'result', total: 3, created: 0, unchanged: 3, errors: [] }, 're-import is unchanged')

  const ndjson = [
    JSON.stringify({ id: 'nd-1', title: { en: 'One' } }),
    '{"id": "bad-1", "title": {"en": "Trunc',
    JSON.stringify({ id: 'bad-2', title: { en: 42 } }),
    JSON.stringify({ id: 'nd-2', title: { fr: 'Deux' } }),
    '',
  ].join('\n')
  const nd = await d.cli(['resource', 'import', file('items.ndjson', ndjson)])
  t.not(nd.code, 0, 'a partial import exits non-zero')
  t.match(nd.stdout, /imported 2 of 4/)
  t.match(nd.stderr, /item 2: .*line 2 is not valid JSON.*POLLEN_INVALID_JSON/, 'the malformed line is named')
  t.match(nd.stderr, /item 3 \(bad-2\): title\.en must be a string \(POLLEN_INVALID_RESOURCE\)/, 'the invalid item is named')
  t.equal(nd.error?.code, 'POLLEN_INVALID_RESOURCE')
  for (const id of ['nd-1', 'nd-2']) t.equal((await d.cli(['resource', 'get', id])).code, 0, `${id} landed`)
  for (const id of ['bad-1', 'bad-2']) t.equal((await d.cli(['resource', 'get', id, '--json'])).error?.code, 'POLLEN_NOT_FOUND', `${id} is not stored`)

  const nj = await d.cli(['resource', 'import', '-', '--json'], { stdin: ndjson })
  t.not(nj.code, 0)
  t.match(nj.json, { total: 4, unchanged: 2, errors: [{ index: 1, code: 'POLLEN_INVALID_JSON' }, { index: 2, id: 'bad-2', code: 'POLLEN_INVALID_RESOURCE' }] }, 'import - (stdin) with --json')
  t.equal(nj.json.errors.length, 2)
})

t.test('resource list', async (t) => {
  const all = await d.cli(['resource', 'list', '--json'])
  ok(t, all, 'list --json')
  const ids = all.json.map((r: { id: string }) => r.id)
  for (const id of ['std-1', 'arr-1', 'nd-1', 'nd-2']) t.ok(ids.includes(id), `${id} is listed`)
  t.ok(all.json.every((r: { status: string }) => r.status === 'published'), 'default: published')
  t.same((await d.cli(['resource', 'list', '--status', 'published', '--json'])).json, all.json)
  t.same((await d.cli(['resource', 'list', '--status', 'pending', '--json'])).json, [])
  t.same((await d.cli(['resource', 'list', '--status', 'rejected', '--json'])).json, [])
  const fr = (await d.cli(['resource', 'list', '--lang', 'fr', '--json'])).json.map((r: { id: string }) => r.id)
  t.ok(fr.includes('nd-2') && !fr.includes('nd-1') && !fr.includes('arr-1'), '--lang fr keeps only resources with French text')
  const human = await d.cli(['resource', 'list'])
  t.match(human.stdout, /^ID\s+STATUS\s+LANGUAGES\s+TITLE/)
  t.match(human.stdout, /nd-2\s+published\s+fr\s+Deux/)
  t.equal((await d.cli(['resource', 'list', '--status', 'pending'])).stdout.trim(), 'No resources.')
  refused(t, await d.cli(['resource', 'list', '--status', 'bogus']), 'POLLEN_INVALID_INPUT', 'list --status bogus')
})

t.test('resource delete and purge', async (t) => {
  const del = await d.cli(['resource', 'delete', 'arr-1'])
  ok(t, del, 'delete')
  t.equal(del.stdout.trim(), 'deleted arr-1')
  refused(t, await d.cli(['resource', 'get', 'arr-1']), 'POLLEN_NOT_FOUND', 'get after delete')
  t.notOk((await d.cli(['resource', 'list', '--json'])).json.some((r: { id: string }) => r.id === 'arr-1'), 'not listed after delete')
  refused(t, await d.cli(['resource', 'delete', 'arr-1']), 'POLLEN_NOT_FOUND', 'delete twice')
  const purge = await d.cli(['resource', 'delete', 'arr-2', '--purge', '--json'])
  t.same(purge.json, { id: 'arr-2', deleted: true, purged: true })
  refused(t, await d.cli(['resource', 'get', 'arr-2']), 'POLLEN_NOT_FOUND', 'get after purge')
})

t.test('review', async (t) => {
  // Resources from peers (the only ones that are pending) need sync; the approve/reject
  // positive path is covered by the sync tests. Here: the refusals.
  t.same((await d.cli(['review', 'list', '--json'])).json, [])
  t.equal((await d.cli(['review', 'list'])).stdout.trim(), 'Nothing is waiting for review.')
  for (const verb of ['approve', 'reject']) {
    const r = await d.cli(['review', verb, 'std-1'])
    refused(t, r, 'POLLEN_INVALID_INPUT', `${verb} of a local resource`)
    t.match(r.error?.message, /created here/, 'says why')
    t.equal((await d.cli(['resource', 'get', 'std-1', '--json'])).json.status, 'published', 'status unchanged')
    refused(t, await d.cli(['review', verb, 'no-such-id']), 'POLLEN_NOT_FOUND', `${verb} of an unknown id`)
    refused(t, await d.cli(['review', verb, 'no-such-id', 'nd-1']), 'POLLEN_NOT_FOUND', `${verb} of a list with an unknown id`)
  }
})

t.test('conflicts', async (t) => {
  t.same((await d.cli(['conflicts', 'list', '--json'])).json, [])
  t.equal((await d.cli(['conflicts', 'list'])).stdout.trim(), 'No conflicts.')
  refused(t, await d.cli(['conflicts', 'resolve', 'std-1', '--keep', `${d.instance}.1:1`]), 'POLLEN_CONFLICT_NOT_FOUND', 'resolve without conflicts')
  refused(t, await d.cli(['conflicts', 'resolve', 'no-such-id', '--keep', 'x:1']), 'POLLEN_NOT_FOUND', 'resolve of an unknown id')
})

t.test('users', async (t) => {
  const a = await d.cli(['user', 'add', 'alice', '--role', 'write', '--filter', 'lib:who'])
  ok(t, a, 'user add')
  const [aliceKey, note] = a.stdout.trim().split('\n')
  t.match(aliceKey, /^[A-Za-z0-9_-]{32,}$/, 'the key is printed on its own line')
  t.match(note, /shown only once/)
  const b = await d.cli(['user', 'add', 'bob', '--role', 'read', '--json'])
  t.match(b.json, { name: 'bob', role: 'read', filters: [''], key: /^[A-Za-z0-9_-]{32,}$/ })
  const bobKey: string = b.json.key
  t.not(aliceKey, bobKey)
  refused(t, await d.cli(['user', 'add', 'bob', '--role', 'read']), 'POLLEN_ALREADY_EXISTS', 'same user twice')

  const list = await d.cli(['user', 'list', '--json'])
  t.match(list.json, [{ name: 'alice', role: 'write', filters: ['lib:who'] }, { name: 'bob', role: 'read', filters: [''] }])
  t.notOk(list.json.some((u: object) => 'key' in u || 'keyHash' in u), 'no key or hash in user list')
  const human = await d.cli(['user', 'list'])
  t.match(human.stdout, /alice\s+write\s+lib:who/)
  // A fresh text of its own: LevelDB compresses its tables (Snappy), and a text whose words
  // occur earlier in a block (the links of 'Hand washing' say "wash") is no longer stored whole.
  const control = `control-${Date.now().toString(36)}-grep`
  ok(t, await d.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ id: 'grep-control', title: { en: control } }) }), 'put the control text')
  t.not(filesContaining(join(dataDir, 'db'), control).length, 0, 'control: plain strings written to the db are found by the grep')
  for (const k of [aliceKey, bobKey]) {
    t.notOk(list.stdout.includes(k) || human.stdout.includes(k), 'user list never shows a key')
    t.same(filesContaining(dataDir, k), [], 'the key is in no file of the data dir')
    t.notOk(d.output().stdout.includes(k), 'the key is not in the daemon log')
  }

  ok(t, await d.cli(['user', 'revoke', 'bob']), 'revoke')
  t.same((await d.cli(['user', 'list', '--json'])).json.map((u: { name: string }) => u.name), ['alice'])
  refused(t, await d.cli(['user', 'revoke', 'bob']), 'POLLEN_NOT_FOUND', 'revoke twice')
})

t.test('peers', async (t) => {
  const key = 'peer-secret-' + 'k'.repeat(20)
  const add = await d.cli(['peer', 'add', '--name', 'school', '--url', 'http://school.local:7420/', '--user', 'alice', '--key', key, '--filter', 'lib:who', '--json'])
  ok(t, add, 'peer add')
  t.match(add.json, { name: 'school', url: 'http://school.local:7420', user: 'alice', filters: ['lib:who'], active: true })
  t.notOk(add.stdout.includes(key), 'peer add does not echo the key')
  const keysFile = join(dataDir, 'peer-keys.json')
  t.equal(statSync(keysFile).mode & 0o777, 0o600, 'peer-keys.json has mode 0600')
  t.equal(JSON.parse(readFileSync(keysFile, 'utf8')).school, key, 'the key is in peer-keys.json')
  t.same(filesContaining(dataDir, key), [keysFile], 'the key is in peer-keys.json only (not in the db or config)')

  const list = await d.cli(['peer', 'list', '--json'])
  t.match(list.json, [{ name: 'school', url: 'http://school.local:7420' }])
  t.notOk(list.stdout.includes(key), 'the key is not in peer list --json')
  t.notOk((await d.cli(['peer', 'list'])).stdout.includes(key), 'nor in peer list')

  refused(t, await d.cli(['peer', 'add', '--name', 'school', '--url', 'http://other.local:1', '--user', 'u', '--key', key]), 'POLLEN_ALREADY_EXISTS', 'same name twice')
  const badUrl = await d.cli(['peer', 'add', '--name', 'x', '--url', 'school.local 7420', '--user', 'u', '--key', key])
  refused(t, badUrl, 'POLLEN_INVALID_URL', 'a URL that is not a URL')
  t.same((await d.cli(['peer', 'list', '--json'])).json, list.json, 'peer list unchanged')

  const inactive = await d.cli(['peer', 'add', '--name', 'district', '--url', 'https://district.example', '--user', 'u', '--key', key, '--inactive', '--json'])
  t.match(inactive.json, { name: 'district', active: false, filters: [''] })
  const set = await d.cli(['peer', 'set', 'school', '--active', 'false', '--filter', 'lib', '--json'])
  t.match(set.json, { name: 'school', active: false, filters: ['lib'] })
  t.match((await d.cli(['peer', 'list'])).stdout, /school\s+http:\/\/school\.local:7420\s+alice\s+no\s+lib/)
  refused(t, await d.cli(['peer', 'set', 'nobody', '--active', 'true']), 'POLLEN_NOT_FOUND', 'set of an unknown peer')
  // `peer set` must hold to what `peer add` enforces: one peer per URL, keys without spaces.
  const listed = (await d.cli(['peer', 'list', '--json'])).json
  const keysBefore = readFileSync(keysFile, 'utf8')
  refused(t, await d.cli(['peer', 'set', 'district', '--url', 'http://school.local:7420/']), 'POLLEN_ALREADY_EXISTS', 'set to a URL another peer uses')
  refused(t, await d.cli(['peer', 'set', 'school', '--key', 'has spaces in it']), 'POLLEN_INVALID_INPUT', 'set a key with spaces')
  t.same((await d.cli(['peer', 'list', '--json'])).json, listed, 'peer list unchanged by refused sets')
  t.equal(readFileSync(keysFile, 'utf8'), keysBefore, 'peer-keys.json unchanged by refused sets')

  ok(t, await d.cli(['peer', 'remove', 'school']), 'peer remove')
  t.same((await d.cli(['peer', 'list', '--json'])).json.map((p: { name: string }) => p.name), ['district'])
  t.equal(JSON.parse(readFileSync(keysFile, 'utf8')).school, undefined, 'its key is removed too')
  refused(t, await d.cli(['peer', 'remove', 'school']), 'POLLEN_NOT_FOUND', 'remove twice')
  ok(t, await d.cli(['peer', 'remove', 'district']), 'remove the other')
})

t.test('rebuild keeps projections equal', async (t) => {
  const before = await snapshot(d)
  const r = await d.cli(['rebuild', '--json'])
  ok(t, r, 'rebuild')
  t.match(r.json, { ops: Number, records: Number, ms: Number })
  t.ok(r.json.ops >= r.json.records && r.json.records > 0)
  const after = await snapshot(d)
  t.same(after, before, 'every listing, conflicts and counter unchanged')
  t.match((await d.cli(['rebuild'])).stdout, /^rebuilt projections of \d+ records from \d+ operations/)
})

t.test('global flags before and after the command words', async (t) => {
  const a = await pollen(['--json', '--data-dir', dataDir, 'status'])
  const b = await pollen(['status', '--data-dir', dataDir, '--json'])
  const c = await pollen(['resource', '--json', 'list', '--data-dir', dataDir])
  for (const r of [a, b, c]) ok(t, r, 'global flags anywhere')
  t.equal(a.json.instance, d.instance)
  t.equal(b.json.instance, d.instance)
  t.ok(Array.isArray(c.json))
  const env = await pollen(['status', '--json'], { env: { POLLEN_DATA_DIR: dataDir } })
  t.equal(env.json?.instance, d.instance, '$POLLEN_DATA_DIR is the default data dir')
})

t.test('--json on every command is parseable', async (t) => {
  const runs: [string[], string?][] = [
    [['status']],
    [['resource', 'put', '-'], JSON.stringify({ id: 'json-1', title: { en: 'J' } })],
    [['resource', 'import', '-'], JSON.stringify([{ id: 'json-2', title: { en: 'J2' } }])],
    [['resource', 'get', 'json-1']],
    [['resource', 'list']],
    [['resource', 'delete', 'json-2']],
    [['review', 'list']],
    [['conflicts', 'list']],
    [['user', 'add', 'carol', '--role', 'read']],
    [['user', 'list']],
    [['user', 'revoke', 'carol']],
    [['peer', 'add', '--name', 'p', '--url', 'http://p.local', '--user', 'u', '--key', 'kkkkkkkkkk']],
    [['peer', 'list']],
    [['peer', 'set', 'p', '--active', 'false']],
    [['peer', 'remove', 'p']],
    [['rebuild']],
  ]
  for (const [args, stdin] of runs) {
    const r = await d.cli([...args, '--json'], { stdin })
    ok(t, r, args.join(' '))
    t.not(r.json, undefined, `${args.join(' ')} --json prints JSON: ${r.stdout.slice(0, 80)}`)
  }
  for (const args of [['review', 'approve', 'nope'], ['conflicts', 'resolve', 'nope', '--keep', 'a:1'], ['resource', 'get', 'nope']]) {
    const r = await d.cli([...args, '--json'])
    t.not(r.code, 0)
    t.match(JSON.parse(r.stderr.trim()), { error: { code: /^POLLEN_/, message: String } }, `${args.join(' ')} --json error is JSON on stderr`)
  }
})

t.test('rekey starts a new author epoch, and status says when and why', async (t) => {
  const before = (await d.cli(['status', '--json'])).json as { author: string; counter: number; rekey: unknown }
  t.equal(before.rekey, null, 'never re-keyed')
  const r = await d.cli(['rekey'])
  ok(t, r, 'rekey')
  const epoch = Number(before.author.split('.')[1])
  const next = `${d.instance}.${epoch + 1}`
  t.match(r.stdout, `new author id ${next} (was ${before.author})`)
  const s = await d.cli(['status'])
  t.match(s.stdout, new RegExp(`author:\\s+${next.replace('.', '\\.')}, counter 0`))
  t.match(s.stdout, `re-keyed:   ${before.author} (at counter ${before.counter}) → ${next}`)
  t.match(s.stdout, /pollen rekey, run by an administrator/)
  ok(t, await d.cli(['resource', 'put', file('after-rekey.json', { title: { en: 'after the re-key' } })]), 'writes go on under the new author')
  t.equal(((await d.cli(['status', '--json'])).json as { counter: number }).counter, 2, 'counting from 1 again')
})
