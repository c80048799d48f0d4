/**
 * Attacks on the web page of a real daemon: forged form posts (no CSRF token, a wrong one,
 * another origin), a reviewer's session on an administrator's action, guessed and stale
 * session cookies, password guessing. Each is refused, and the CLI's view shows that
 * nothing changed. Also the headers every page carries and that no page shows a stored key.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../../helpers/daemon.js'
import { syncedPair, WebClient } from '../../helpers/adminWeb.js'

const root = tempDir(t)
const { school, url } = await syncedPair(t, root, 12)
const PEER_KEY_MARK = 'peer-key-that-must-never-show-0123456789'
for (const [name, role, pw] of [['ada', 'admin', 'admin password 1'], ['rev', 'reviewer', 'reviewer password 1']]) {
  const r = await school.cli(['admin', 'add', name, '--role', role], { stdin: pw + '\n' })
  if (r.code !== 0) throw new Error(r.stderr)
}
const pending = async () => ((await school.cli(['review', 'list', '--json'])).json as { id: string }[]).map((r) => r.id).sort()
const peers = async () => ((await school.cli(['peer', 'list', '--json'])).json as { name: string; active: boolean }[]).map((p) => `${p.name}:${p.active}`)
const before = { pending: await pending(), peers: await peers() }
t.equal(before.pending.length, 12, 'the sync left 12 resources pending')

t.test('without a session: pages redirect to the login, actions are refused', async (t) => {
  const anon = new WebClient(url)
  const r = await anon.get('/peers')
  t.equal(r.status, 303)
  t.equal(r.headers.location, '/login?next=%2Fpeers')
  const post = await anon.post('/review', { action: 'approve-all' }, { csrf: 'x' })
  t.equal(post.status, 401)
  t.same(await pending(), before.pending, 'nothing approved')
})

t.test('guessed session cookies open nothing', async (t) => {
  const admin = new WebClient(url)
  await admin.login('ada', 'admin password 1')
  const csrf = admin.csrf
  for (const guess of [randomBytes(32).toString('base64url'), admin.cookie.slice('pollen_session='.length, -1) + (admin.cookie.endsWith('A') ? 'B' : 'A'), 'x', '', '../../etc/passwd', 'a'.repeat(43)]) {
    const g = new WebClient(url)
    t.equal((await g.get('/review', { cookie: `pollen_session=${guess}` })).status, 303, `cookie ${JSON.stringify(guess.slice(0, 12))} gets the login`)
    t.equal((await g.post('/review', { action: 'approve-all' }, { csrf, cookie: `pollen_session=${guess}` })).status, 401, 'and cannot act even with a real CSRF token')
    t.equal((await g.post('/peers/source/active', { active: 'false' }, { csrf, cookie: `pollen_session=${guess}` })).status, 401)
  }
  t.same(await pending(), before.pending, 'nothing approved')
  t.same(await peers(), before.peers, 'no peer changed')
})

t.test('forged posts without the CSRF token, with a wrong one, or from another origin change nothing', async (t) => {
  const admin = new WebClient(url)
  await admin.login('ada', 'admin password 1')
  const forged = [
    ['no token', { csrf: false }],
    ['an empty token', { csrf: '' }],
    ['another session\'s token', { csrf: randomBytes(24).toString('base64url') }],
  ] as const
  for (const [what, opts] of forged) {
    const r = await admin.post('/review', { action: 'approve-all' }, opts)
    t.equal(r.status, 403, `approve-all with ${what} is refused`)
    t.match(r.text, /did not come from this page/)
    t.equal((await admin.post('/peers', { name: 'evil', url: 'https://evil.example:7420', user: 'u', key: 'k'.repeat(20), active: 'on' }, opts)).status, 403, `peer add with ${what}`)
    t.equal((await admin.post('/users', { name: 'evil', role: 'write' }, opts)).status, 403, `user add with ${what}`)
    t.equal((await admin.post('/peers/source/remove', {}, opts)).status, 403, `peer remove with ${what}`)
  }
  const cross = await admin.post('/review', { action: 'approve-all' }, { headers: { origin: 'https://evil.example' } })
  t.equal(cross.status, 403, 'a post from another origin is refused even with the token')
  t.equal((await admin.post('/review', { action: 'approve-all' }, { headers: { origin: 'null' } })).status, 403, 'and from an opaque origin')
  t.same(await pending(), before.pending, 'nothing approved')
  t.same(await peers(), before.peers, 'no peer added, changed or removed')
  t.notOk(((await school.cli(['user', 'list', '--json'])).json as { name: string }[]).some((u) => u.name === 'evil'), 'no user added')
  const ok = await admin.post('/review', { action: 'approve', ids: [before.pending[0]], _back: '/review' })
  t.equal(ok.status, 303, 'the same form with its token works')
  t.same(await pending(), before.pending.slice(1), 'and approved exactly the one chosen')
})

t.test('a reviewer\'s session cannot reach administrators\' pages or actions', async (t) => {
  const rev = new WebClient(url)
  await rev.login('rev', 'reviewer password 1')
  t.equal((await rev.get('/review')).status, 200, 'the review queue is a reviewer\'s')
  for (const path of ['/peers', '/peers/source', '/users', '/peers/source/events']) t.equal((await rev.get(path)).status, 403, `GET ${path} is refused`)
  const nav = (await rev.get('/review')).text
  t.notOk(nav.includes('href="/peers"'), 'the navigation does not offer peers to a reviewer')
  for (const [path, form] of [
    ['/peers', { name: 'evil', url: 'https://evil.example:7420', user: 'u', key: 'k'.repeat(20), active: 'on' }],
    ['/peers/source/active', { active: 'false' }],
    ['/peers/source/remove', {}],
    ['/peers/source/sync', {}],
    ['/peers/source', { url: 'https://evil.example:7420', user: 'u', active: 'on' }],
    ['/users', { name: 'evil', role: 'write' }],
  ] as const) {
    const r = await rev.post(path, form)
    t.equal(r.status, 403, `POST ${path} with the reviewer's valid token is refused`)
  }
  t.same(await peers(), before.peers, 'no peer changed')
  t.equal(((await school.cli(['log', 'source', '--json'])).json as unknown[]).length, 1, 'no sync was started')
})

t.test('logins are rate-limited per account; a success does not reset the address', async (t) => {
  const web = new WebClient(url)
  for (let i = 0; i < 5; i++) t.equal((await web.request('POST', '/login', { form: { name: 'rev', password: `guess ${i}` } })).status, 401)
  const limited = await web.request('POST', '/login', { form: { name: 'rev', password: 'reviewer password 1' } })
  t.equal(limited.status, 429, 'the sixth try is refused even with the right password')
  t.ok(Number(limited.headers['retry-after']) > 0, 'with Retry-After')
  t.notOk(web.cookie, 'and no session')
  const other = new WebClient(url)
  await other.login('ada', 'admin password 1')
  t.ok(other.cookie, 'another account is not locked out by guesses at this one')
})

t.test('logout needs the token and ends the session; the cookie is HttpOnly and SameSite=Strict', async (t) => {
  const web = new WebClient(url)
  const login = await web.request('POST', '/login', { form: { name: 'ada', password: 'admin password 1' } })
  t.match(String(login.headers['set-cookie']), /HttpOnly/)
  t.match(String(login.headers['set-cookie']), /SameSite=Strict/)
  t.notMatch(String(login.headers['set-cookie']), /Secure/, 'plain on loopback')
  await web.get('/review')
  const cookie = web.cookie
  t.equal((await web.post('/logout', {}, { csrf: false })).status, 403, 'a forged logout is refused')
  t.equal((await web.get('/review')).status, 200, 'and left the session open')
  t.equal((await web.post('/logout', {})).status, 200)
  t.equal((await web.get('/review', { cookie })).status, 303, 'the old cookie opens nothing after logout')
})

t.test('every page has the strict CSP and no stored API key', async (t) => {
  const set = await school.cli(['peer', 'set', 'source', `--key=${PEER_KEY_MARK}`])
  t.equal(set.code, 0, set.stderr)
  const web = new WebClient(url)
  await web.login('ada', 'admin password 1')
  for (const path of ['/review', '/library', '/conflicts', '/peers', '/peers/source', '/users', `/resources/${before.pending[1]}`, '/login', '/nowhere']) {
    const r = await web.get(path)
    t.match(String(r.headers['content-security-policy']), /^default-src 'self'; script-src 'self'; style-src 'self'/, `${path}: CSP`)
    t.equal(r.headers['x-frame-options'], 'DENY')
    t.equal(r.headers['x-content-type-options'], 'nosniff')
    t.notOk(r.text.includes(PEER_KEY_MARK), `${path} does not show the peer's key`)
    t.notOk(/<script>|\son[a-z]+=/.test(r.text), `${path} has no inline script or handler`)
  }
  // Editing a peer with the key field left empty keeps the stored key.
  const original = (await school.cli(['peer', 'list', '--json'])).json[0].url as string
  t.equal((await web.post('/peers/source', { url: 'https://127.0.0.1:1', user: 'school', key: '', active: 'on' })).status, 303)
  t.equal((await school.cli(['peer', 'list', '--json'])).json[0].url, 'https://127.0.0.1:1', 'the edit was saved')
  t.ok(readFileSync(join(school.dataDir, 'peer-keys.json'), 'utf8').includes(PEER_KEY_MARK), 'with the stored key kept')
  t.equal((await web.post('/peers/source', { url: original, user: 'school', key: '', active: 'on' })).status, 303)
})

t.test('French from Accept-Language, and the switch', async (t) => {
  const web = new WebClient(url)
  await web.login('ada', 'admin password 1')
  const fr = await web.get('/review', { headers: { 'accept-language': 'fr-CA,fr;q=0.9,en;q=0.5' } })
  t.match(fr.text, /<html lang="fr">/)
  t.match(fr.text, /File de validation/)
  const sw = await web.get('/lang/en?back=/review', { headers: { 'accept-language': 'fr' } })
  t.equal(sw.status, 303)
  const cookie = `${web.cookie}; ${String(sw.headers['set-cookie']).split(';')[0]}`
  t.match((await web.get('/review', { cookie, headers: { 'accept-language': 'fr' } })).text, /Review queue/, 'the switch wins over the browser')
  t.equal((await web.get('/lang/en?back=//evil.example')).headers.location, '/review', 'the switch only returns to this page')
})

t.test('after the login only this page\'s paths; a new user\'s key is on its one answer only', async (t) => {
  for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
    const web = new WebClient(url)
    const r = await web.request('POST', '/login', { form: { name: 'ada', password: 'admin password 1', next } })
    t.equal(r.headers.location, '/review', `next=${next} goes to the queue instead`)
  }
  const web = new WebClient(url)
  await web.login('ada', 'admin password 1')
  await web.get('/users')
  const made = await web.post('/users', { name: 'district', role: 'read', filters: 'lib\nlib:who' })
  t.equal(made.status, 200)
  const key = /data-api-key>([^<]+)</.exec(made.text)?.[1] ?? ''
  t.match(key, /^[A-Za-z0-9_-]{43}$/, 'the answer shows the key')
  const listed = ((await school.cli(['user', 'list', '--json'])).json as { name: string; role: string; filters: string[] }[]).find((u) => u.name === 'district')
  t.match(listed, { role: 'read', filters: ['lib'] }, 'the CLI sees the user (lib covers lib:who)')
  t.notOk((await web.get('/users')).text.includes(key), 'the list does not show it again')
  t.equal((await web.post('/users/district/revoke', {})).status, 303)
  t.notOk(((await school.cli(['user', 'list', '--json'])).json as { name: string }[]).some((u) => u.name === 'district'), 'revoked')
})
