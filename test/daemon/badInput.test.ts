/**
 * Bad input is refused with a clear one-line message and a stable POLLEN_* code, and nothing
 * changes: after every refusal, all resource listings, users, peers, conflicts and the status
 * counter equal the baseline taken before.
 */
import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { apiSnapshot, controlRequest, snapshot, startDaemon, tempDir, type PollenResult, type Snapshot } from '../helpers/daemon.js'

const root = tempDir(t)
const dataDir = join(root, 'data')
const d = await startDaemon({ t, dataDir, name: 'bad-input', languages: ['en'] })
const PEER_KEY = 'seed-peer-key-0123456789'

const seed = await Promise.all([
  d.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ id: 'seed', title: { en: 'Seed' }, tags: ['s'], links: [{ url: 'https://example.org/s' }] }) }),
  d.cli(['user', 'add', 'seeduser', '--role', 'read']),
  d.cli(['peer', 'add', '--name', 'seedpeer', '--url', 'http://seed.local:7420', '--user', 'seeduser', '--key', PEER_KEY, '--filter', 'lib']),
])
for (const r of seed) if (r.code !== 0) throw new Error(`seeding failed: ${r.stderr}`)
const baseline: Snapshot = await snapshot(d)

const file = (name: string, content: string) => {
  const p = join(root, name)
  writeFileSync(p, content)
  return p
}

/** Runs a bad command and checks: non-zero exit, the code, the message, and nothing changed. */
async function refused(t: Test, args: string[], code: string, message: RegExp, opts: { stdin?: string; exit?: number; importSummary?: boolean } = {}): Promise<PollenResult> {
  const what = `pollen ${args.join(' ')}`.slice(0, 100)
  const r = await d.cli(args, { stdin: opts.stdin })
  t.not(r.code, 0, `${what}: non-zero exit`)
  if (opts.exit !== undefined) t.equal(r.code, opts.exit, `${what}: exit ${opts.exit}`)
  t.equal(r.error?.code, code, `${what}: ${code} (stderr: ${r.stderr.trim()})`)
  t.match(r.error?.message ?? '', message, `${what}: the message says why`)
  if (opts.importSummary) {
    // A refused import still prints its summary, one error line per item, then the reason.
    t.match(r.stdout, /^imported 0 of \d+/, `${what}: the summary says nothing was imported`)
  } else {
    t.equal(r.stdout, '', `${what}: nothing on stdout`)
    t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line on stderr`)
  }
  t.same(await apiSnapshot(d.socket), baseline, `${what}: nothing changed`)
  return r
}

t.test('malformed and mistyped resource JSON', async (t) => {
  const bad = file('bad.json', '{"title": {"en": "unterminated"}')
  await refused(t, ['resource', 'put', bad], 'POLLEN_INVALID_JSON', /bad\.json is not valid JSON/)
  await refused(t, ['resource', 'put', '-'], 'POLLEN_INVALID_JSON', /standard input is not valid JSON/, { stdin: '{nope' })
  await refused(t, ['resource', 'put', join(root, 'missing.json')], 'POLLEN_INVALID_INPUT', /cannot read .*missing\.json: no such file/)
  await refused(t, ['resource', 'put', '-'], 'POLLEN_INVALID_RESOURCE', /must be a JSON object/, { stdin: JSON.stringify([{ title: { en: 'in an array' } }]) })
  await refused(t, ['resource', 'put', '-'], 'POLLEN_INVALID_RESOURCE', /^title must be an object mapping language codes/, { stdin: JSON.stringify({ id: 'n1', title: 5 }) })
  await refused(t, ['resource', 'put', '-'], 'POLLEN_INVALID_RESOURCE', /title\.en must be a string/, { stdin: JSON.stringify({ id: 'n1', title: { en: 5 } }) })
  await refused(t, ['resource', 'put', '-'], 'POLLEN_INVALID_RESOURCE', /links\[0\]\.url is not an absolute URL/, { stdin: JSON.stringify({ id: 'n1', title: { en: 'x' }, links: [{ url: 'not a url' }] }) })
  await refused(t, ['resource', 'put', '-'], 'POLLEN_INVALID_RESOURCE', /unknown field "titel"/, { stdin: JSON.stringify({ id: 'n1', titel: { en: 'typo' } }) })
  await refused(t, ['resource', 'put', '-'], 'POLLEN_INVALID_RESOURCE', /tags must be an array/, { stdin: JSON.stringify({ id: 'seed', title: { en: 'Seed changed' }, tags: 'x' }) })
  await refused(t, ['resource', 'put', '-'], 'POLLEN_INVALID_RESOURCE', /id must be/, { stdin: JSON.stringify({ id: 'has space', title: { en: 'x' } }) })
  t.equal((await d.cli(['resource', 'get', 'n1'])).error?.code, 'POLLEN_NOT_FOUND', 'no trace of the refused resource')
})

t.test('bad imports', async (t) => {
  await refused(t, ['resource', 'import', file('trunc.json', '[{"id": "i1", "title": {"en": "x"}}, {"id"')], 'POLLEN_INVALID_JSON', /not valid JSON/)
  await refused(t, ['resource', 'import', '-'], 'POLLEN_INVALID_JSON', /the import is empty/, { stdin: '\n \n' })
  await refused(t, ['resource', 'import', file('obj.json', '{"id": "i1"}\n{"title": 3}\n')], 'POLLEN_INVALID_RESOURCE', /2 of 2 items were refused/, { importSummary: true })
  const r = await refused(t, ['resource', 'import', '-'], 'POLLEN_INVALID_RESOURCE', /1 of 1 items were refused/, { stdin: JSON.stringify({ id: 'fr-only', title: { fr: 'Bonjour' } }), importSummary: true })
  t.match(r.stderr, /item 1 \(fr-only\): .*fr.*\(POLLEN_UNSUPPORTED_LANGUAGE\)/, 'the item error names the language')
})

t.test('unsupported language', async (t) => {
  const r = await refused(t, ['resource', 'put', '-'], 'POLLEN_UNSUPPORTED_LANGUAGE', /has text in fr, which this instance does not keep \(it keeps en\)/, { stdin: JSON.stringify({ id: 'fr-1', title: { en: 'Hello', fr: 'Bonjour' } }) })
  t.match(r.stderr, /^pollen: .*\(POLLEN_UNSUPPORTED_LANGUAGE\)\n$/, 'one line on stderr')
  await refused(t, ['resource', 'put', '-'], 'POLLEN_UNSUPPORTED_LANGUAGE', /fr/, { stdin: JSON.stringify({ id: 'seed', title: { en: 'Seed' }, description: { fr: 'Graine' } }) })
})

t.test('unknown ids', async (t) => {
  await refused(t, ['resource', 'get', 'no-such'], 'POLLEN_NOT_FOUND', /no resource with id no-such/)
  await refused(t, ['resource', 'delete', 'no-such'], 'POLLEN_NOT_FOUND', /no resource with id no-such/)
  await refused(t, ['resource', 'delete', 'no-such', '--purge'], 'POLLEN_NOT_FOUND', /no resource with id no-such/)
  await refused(t, ['review', 'approve', 'no-such'], 'POLLEN_NOT_FOUND', /no resource with id no-such/)
  await refused(t, ['review', 'reject', 'no-such'], 'POLLEN_NOT_FOUND', /no resource with id no-such/)
  await refused(t, ['conflicts', 'resolve', 'no-such', '--keep', 'abc.1:1'], 'POLLEN_NOT_FOUND', /no resource with id no-such/)
  await refused(t, ['user', 'revoke', 'nobody'], 'POLLEN_NOT_FOUND', /no user named nobody/)
  await refused(t, ['peer', 'remove', 'nobody'], 'POLLEN_NOT_FOUND', /no peer named nobody/)
  await refused(t, ['peer', 'set', 'nobody', '--active', 'true'], 'POLLEN_NOT_FOUND', /no peer named nobody/)
})

t.test('bad flags and command lines', async (t) => {
  const flag = (args: string[], message: RegExp) => refused(t, args, 'POLLEN_INVALID_FLAG', message, { exit: 2 })
  await flag(['resource', 'list', '--colour', 'red'], /Unknown option '--colour'/)
  await flag(['resource', 'get', 'seed', '--purge'], /`pollen resource get` does not take --purge/)
  await flag(['user', 'add', 'carol'], /--role is required/)
  await flag(['peer', 'set', 'seedpeer', '--active', 'maybe'], /--active takes true or false, not "maybe"/)
  await flag(['peer', 'set', 'seedpeer'], /nothing to change/)
  await flag(['peer', 'add', '--name', 'x', '--url', 'http://x.local'], /--user is required/)
  await flag(['conflicts', 'resolve', 'seed'], /--keep is required/)
  await flag(['resource', 'get'], /wrong number of arguments: `pollen resource get` takes 1 argument, got none; usage: pollen resource get ID/)
  await flag(['resource', 'get', 'seed', 'extra'], /wrong number of arguments: `pollen resource get` takes 1 argument, got 2/)
  await flag(['status', 'extra'], /wrong number of arguments: `pollen status` takes no arguments, got 1/)
  await flag(['review', 'approve'], /give resource ids, or --all with filters/)
  await flag(['frobnicate'], /unknown command "frobnicate"/)
  await flag(['resource', 'frob'], /unknown command "resource frob"; `pollen resource` takes put, import, get, list, history, diff, delete/)
  // No command at all: refused with exit 2 and the code, and nothing changes.
  const none = await d.cli([])
  t.equal(none.code, 2, 'no command: exit 2')
  t.match(none.stderr, /^pollen: no command given/, 'no command: says so')
  t.match(none.stderr, /\(POLLEN_INVALID_FLAG\)\n$/, 'no command: stable code')
  // docs/design.md §10.1: a failure is one line on stderr, the reason and its code (the
  // usage text is not in it: `pollen --help` prints that).
  t.equal(none.stderr.trim().split('\n').length, 1, 'no command: one line on stderr')
  t.same(await apiSnapshot(d.socket), baseline, 'no command: nothing changed')
  await refused(t, ['user', 'add', 'carol', '--role', 'admin'], 'POLLEN_INVALID_INPUT', /role must be "read" or "write"/)
  await refused(t, ['resource', 'list', '--status', 'bogus'], 'POLLEN_INVALID_INPUT', /status must be one of published, pending, rejected/)
})

t.test('peer URLs, user names and filters', async (t) => {
  const peer = (url: string) => ['peer', 'add', '--name', 'newpeer', '--url', url, '--user', 'u', '--key', 'k'.repeat(16)]
  await refused(t, peer('not a url'), 'POLLEN_INVALID_URL', /is not a URL/)
  await refused(t, peer('ftp://files.local'), 'POLLEN_INVALID_URL', /must start with http:\/\/ or https:\/\//)
  await refused(t, peer('http://user:pw@host.local'), 'POLLEN_INVALID_URL', /must not carry credentials/)
  await refused(t, peer('http://host.local/?key=secret'), 'POLLEN_INVALID_URL', /query/)
  await refused(t, ['peer', 'set', 'seedpeer', '--url', 'nope'], 'POLLEN_INVALID_URL', /is not a URL/)
  await refused(t, ['peer', 'add', '--name', 'newpeer', '--url', 'http://ok.local', '--user', 'u', '--key', 'short'], 'POLLEN_INVALID_INPUT', /API key/)
  await refused(t, ['peer', 'add', '--name', 'bad name', '--url', 'http://ok.local', '--user', 'u', '--key', 'k'.repeat(16)], 'POLLEN_INVALID_INPUT', /peer name "bad name" is not valid/)
  await refused(t, ['peer', 'add', '--name', 'seedpeer', '--url', 'http://other.local', '--user', 'u', '--key', 'k'.repeat(16)], 'POLLEN_ALREADY_EXISTS', /peer seedpeer already exists/)
  await refused(t, ['peer', 'add', '--name', 'dup', '--url', 'http://seed.local:7420/', '--user', 'u', '--key', 'k'.repeat(16)], 'POLLEN_ALREADY_EXISTS', /already uses http:\/\/seed\.local:7420/)
  await refused(t, ['user', 'add', 'bad name', '--role', 'read'], 'POLLEN_INVALID_INPUT', /user name "bad name" is not valid/)
  await refused(t, ['user', 'add', '.hidden', '--role', 'read'], 'POLLEN_INVALID_INPUT', /user name ".hidden" is not valid/)
  await refused(t, ['user', 'add', 'x'.repeat(65), '--role', 'read'], 'POLLEN_INVALID_INPUT', /is not valid/)
  await refused(t, ['user', 'add', 'seeduser', '--role', 'read'], 'POLLEN_ALREADY_EXISTS', /user seeduser already exists/)
  await refused(t, ['user', 'add', 'carol', '--role', 'read', '--filter', 'lib who'], 'POLLEN_INVALID_PARTITION', /filter "lib who" is not a partition/)
  await refused(t, ['peer', 'add', '--name', 'newpeer', '--url', 'http://ok.local', '--user', 'u', '--key', 'k'.repeat(16), '--filter', 'lib who'], 'POLLEN_INVALID_PARTITION', /filter "lib who" is not a partition/)
  await refused(t, ['peer', 'set', 'seedpeer', '--active', 'false', '--filter', 'a b'], 'POLLEN_INVALID_PARTITION', /filter "a b" is not a partition/)
  t.equal(JSON.parse(readFileSync(join(dataDir, 'peer-keys.json'), 'utf8')).newpeer, undefined, 'no key was stored for a refused peer')
})

t.test('malformed JSON straight to the control socket', async (t) => {
  const cases: [string, string, string, string?][] = [
    ['POST', '/v1/resources', '{"title": {"en": '],
    ['POST', '/v1/resources', ''],
    ['POST', '/v1/users', 'not json'],
    ['POST', '/v1/peers', '{"name": "p",}'],
    ['PATCH', '/v1/peers/seedpeer', '{'],
    ['POST', '/v1/review/approve', '[1, 2'],
    ['POST', '/v1/conflicts/seed/resolve', '{]'],
    ['POST', '/v1/resources/import', '[{"id": "x"', 'text/plain'],
  ]
  for (const [method, path, body, type] of cases) {
    const r = await controlRequest(d.socket, method, path, body, type)
    t.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}: 400`)
    t.match(r.json, { code: 'POLLEN_INVALID_JSON', message: /JSON/ }, `${method} ${path}: {code: POLLEN_INVALID_JSON} (${r.text.slice(0, 120)})`)
    t.same(await apiSnapshot(d.socket), baseline, `${method} ${path}: nothing changed`)
  }
  const arr = await controlRequest(d.socket, 'POST', '/v1/users', '["carol"]')
  t.equal(arr.status, 400)
  t.match(arr.json, { code: 'POLLEN_INVALID_INPUT', message: /JSON object/ }, 'valid JSON of the wrong type')
  const nf = await controlRequest(d.socket, 'GET', '/v1/nothing-here')
  t.equal(nf.status, 404)
  t.match(nf.json, { code: 'POLLEN_NOT_FOUND' }, 'an unknown endpoint has a code too')
})

t.test('the daemon is healthy and unchanged after all of it', async (t) => {
  t.same(await snapshot(d), baseline, 'the CLI view equals the baseline')
  t.equal((await d.cli(['resource', 'get', 'seed', '--json'])).json?.title?.en, 'Seed')
  t.equal(await d.stop(), 0)
})
