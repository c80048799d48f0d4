/**
 * Human output never passes a terminal's control sequences through (issue 17): a synced
 * title or a peer's error message carrying an OSC 52 clipboard write, a line erase, a C1
 * CSI or a bidirectional override is printed with those characters escaped; `--json` output
 * keeps the text exact.
 */
import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import { putResource, startNode, tempDir, type PollenResult } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-escapes-')
// Copies "rm -rf ~" to the clipboard, erases the line, returns the cursor, reverses the text.
const EVIL = 'Hand washing\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2K\r\u202eevil\x9b31m\x7f'
const SHOWN = 'Hand washing\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2K\\x0d\\u202eevil\\x9b31m\\x7f'

/** The characters a terminal would act on, as found in `text`. */
// eslint-disable-next-line no-control-regex -- the control characters looked for
const raw = (text: string): string[] => [...text.matchAll(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/g)].map((m) => m[0])

function human(t: Test, r: PollenResult, what: string): void {
  t.same(raw(r.stdout), [], `${what}: no control character on stdout`)
  t.same(raw(r.stderr), [], `${what}: none on stderr`)
}

const [origin, recv] = await Promise.all([startNode(t, root, 'origin', { sync: { plain: true } }), startNode(t, root, 'recv', { sync: { plain: true } })])
// A peer whose every answer is an error whose message carries the same sequences.
const evilPeer = createServer((_req, res) => res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'POLLEN_FORBIDDEN', message: EVIL })))
await new Promise<void>((r) => evilPeer.listen(0, '127.0.0.1', r))
t.teardown(() => new Promise<void>((r) => evilPeer.close(() => r())))
{
  const key = (await origin.cli(['user', 'add', 'recv', '--role', 'write'])).stdout.split('\n')[0]
  for (const [name, url] of [['origin', origin.url.replace('https:', 'http:')], ['evil', `http://127.0.0.1:${(evilPeer.address() as { port: number }).port}`]]) {
    const r = await recv.cli(['peer', 'add', '--name', name, '--url', url, '--user', 'recv', `--key=${key}`])
    if (r.code !== 0) throw new Error(`peer add ${name}: ${r.stderr}`)
  }
}

t.test('a synced title with control sequences is shown escaped, and exact in --json', async (t) => {
  await putResource(origin, { id: 'evil-1', title: { en: EVIL }, description: { en: `line one\nline two ${EVIL}` }, tags: [EVIL] })
  const s = await recv.cli(['sync', 'origin'])
  t.equal(s.code, 0, `sync ${s.stderr}`)
  for (const args of [['review', 'list'], ['resource', 'list', '--status', 'pending'], ['resource', 'get', 'evil-1']]) {
    const r = await recv.cli(args)
    t.equal(r.code, 0, args.join(' '))
    human(t, r, args.join(' '))
    t.ok(r.stdout.includes(SHOWN), `${args.join(' ')}: the title is shown with each control character as an escape`)
  }
  const detail = await recv.cli(['resource', 'get', 'evil-1'])
  t.match(detail.stdout, /^description\[en\]: line one\nline two Hand washing\\x1b/m, 'a description keeps its own line breaks')
  const table = await recv.cli(['review', 'list'])
  t.equal(table.stdout.trim().split('\n\n')[0].split('\n').length, 2, 'a table has one line per resource (above the page\'s summary)')
  const json = await recv.cli(['resource', 'get', 'evil-1', '--json'])
  t.equal(json.json?.title?.en, EVIL, '--json keeps the title exact')
  t.same(json.json?.tags, [EVIL], 'and the tags')
})

t.test("a peer's error message and an echoed argument are escaped in the one error line", async (t) => {
  const r = await recv.cli(['sync', 'evil'])
  t.equal(r.code, 1)
  human(t, r, 'sync evil')
  t.match(r.stdout, /^evil: FAILED peer: Hand washing\\x1b\]52;c;cm0gLXJmIH4=\\x07\\x1b\[2K\\x0d\\u202eevil\\x9b31m\\x7f \(POLLEN_FORBIDDEN\)\n$/, 'the result line shows the message escaped')
  t.match(r.stderr, /^pollen: 1 of 1 peers failed \(POLLEN_SYNC_FAILED\)\n$/, 'then the one error line')
  const log = await recv.cli(['log', 'evil'])
  human(t, log, 'log evil')
  const logJson = await recv.cli(['log', 'evil', '--json'])
  t.equal(logJson.json?.[0]?.error, `peer: ${EVIL}`, 'log --json keeps the message exact')
  const get = await recv.cli(['resource', 'get', 'no\x1b]0;owned\x07such'])
  t.equal(get.error?.code, 'POLLEN_NOT_FOUND')
  t.match(get.stderr, /^pollen: no resource with id no\\x1b\]0;owned\\x07such \(POLLEN_NOT_FOUND\)\n$/, 'an id echoed in an error is escaped')
})
