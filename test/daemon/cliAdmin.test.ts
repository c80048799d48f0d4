/**
 * `pollen admin add|list|remove|passwd|role` against a real daemon, the password from standard
 * input or a file, and `pollen status` showing the web page's address (plain on loopback;
 * over TLS with the certificate fingerprint beyond it, which the listener really presents).
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { join } from 'node:path'
import { pollen, startDaemon, tempDir } from '../helpers/daemon.js'
import { adminUrl, WebClient } from '../helpers/adminWeb.js'

const root = tempDir(t)
const d = await startDaemon({ t, dataDir: join(root, 'main'), env: { POLLEN_ADMIN_LISTEN: '127.0.0.1:0' } })

t.test('admin add from standard input and from a file; list shows no secret; passwd; remove', async (t) => {
  const add = await d.cli(['admin', 'add', 'alice', '--role', 'admin'], { stdin: 'a long password\n' })
  t.equal(add.code, 0, add.stderr)
  t.match(add.stdout, /added account alice \(admin\)/)
  const file = join(root, 'pw')
  writeFileSync(file, 'reviewer password\nignored second line\n')
  t.equal((await d.cli(['admin', 'add', 'rita', '--password-file', file])).code, 0)
  const list = await d.cli(['admin', 'list', '--json'])
  t.same(list.json.map((a: { name: string; role: string }) => [a.name, a.role]), [['alice', 'admin'], ['rita', 'reviewer']])
  t.notOk(/hash|salt|generation|password"/.test(list.stdout), 'list carries no hash, salt or generation')
  t.match((await d.cli(['admin', 'list'])).stdout, /^NAME\tROLE/)

  const web = new WebClient(await adminUrl(d))
  await web.login('rita', 'reviewer password')
  t.equal((await web.get('/review')).status, 200, 'the file\'s first line is the password')
  t.equal((await d.cli(['admin', 'passwd', 'rita'], { stdin: 'a new reviewer password\n' })).code, 0)
  const after = await web.get('/review')
  t.equal(after.status, 303, 'a password change ends the open session')
  t.match(after.headers.location, /^\/login/)
  await web.login('rita', 'a new reviewer password')
  t.equal((await web.get('/peers')).status, 403, 'a reviewer may not manage peers')
  const promoted = await d.cli(['admin', 'role', 'rita', 'admin'])
  t.equal(promoted.code, 0, promoted.stderr)
  t.match(promoted.stdout, /account rita is now an admin/)
  t.equal((await web.get('/peers')).status, 303, 'the session opened as a reviewer ends')
  await web.login('rita', 'a new reviewer password')
  t.equal((await web.get('/peers')).status, 200, 'the same password opens an admin session')
  const demoted = new WebClient(await adminUrl(d))
  await demoted.login('rita', 'a new reviewer password')
  t.equal((await d.cli(['admin', 'role', 'rita', 'reviewer'])).code, 0)
  t.equal((await d.cli(['admin', 'role', 'rita', 'admin'])).code, 0)
  t.equal((await demoted.get('/peers')).status, 303, 'an admin session idle across admin → reviewer → admin does not come back')
  await web.login('rita', 'a new reviewer password')
  t.equal((await d.cli(['admin', 'role', 'rita', 'root'])).error?.code, 'POLLEN_INVALID_INPUT', 'an unknown role is refused')
  t.equal((await d.cli(['admin', 'role', 'nobody', 'admin'])).error?.code, 'POLLEN_NOT_FOUND')
  t.match((await d.cli(['admin', 'list', '--json'])).json.find((a: { name: string }) => a.name === 'rita'), { role: 'admin' }, 'a refused change changes nothing')
  t.equal((await d.cli(['admin', 'remove', 'rita'])).code, 0)
  t.equal((await web.get('/review')).status, 303, 'removing the account ends its session')
  await t.rejects(web.login('rita', 'a new reviewer password'), /refused with 401/)
})

t.test('refusals: short password, unknown role, unknown account, empty input', async (t) => {
  const short = await d.cli(['admin', 'add', 'bob'], { stdin: 'short\n' })
  t.equal(short.error?.code, 'POLLEN_INVALID_INPUT')
  t.match(short.error?.message, /at least 10 characters/)
  t.equal((await d.cli(['admin', 'add', 'bob', '--role', 'root'], { stdin: 'long enough pw\n' })).error?.code, 'POLLEN_INVALID_INPUT')
  t.equal((await d.cli(['admin', 'add', 'bob'], { stdin: '' })).error?.code, 'POLLEN_INVALID_INPUT')
  t.equal((await d.cli(['admin', 'add', 'bob', '--password-file', join(root, 'missing')])).error?.code, 'POLLEN_INVALID_INPUT')
  t.equal((await d.cli(['admin', 'remove', 'nobody'])).error?.code, 'POLLEN_NOT_FOUND')
  t.equal((await d.cli(['admin', 'passwd', 'nobody'], { stdin: 'long enough pw\n' })).error?.code, 'POLLEN_NOT_FOUND')
  t.equal((await d.cli(['admin', 'add', 'bob', '--password', 'x'])).error?.code, 'POLLEN_INVALID_FLAG', 'no password flag: it would show in ps')
  t.notOk((await d.cli(['admin', 'list', '--json'])).json.some((a: { name: string }) => a.name === 'bob'), 'nothing was added')
})

t.test('status: the web page on loopback is plain and shown as this machine only', async (t) => {
  const s = await d.cli(['status'])
  t.match(s.stdout, /web page: +http:\/\/127\.0\.0\.1:\d+\/ \(this machine only\)/)
})

t.test('--admin-listen off, a bad address, and TLS with the fingerprint beyond loopback', async (t) => {
  const off = await startDaemon({ t, dataDir: join(root, 'off'), env: { POLLEN_ADMIN_LISTEN: '127.0.0.1:0' } })
  t.match((await off.cli(['status'])).stdout, /web page: +http/)
  await off.stop()
  const bad = await pollen(['daemon', '--admin-listen', 'nowhere'], { dataDir: join(root, 'off') })
  t.equal(bad.error?.code, 'POLLEN_INVALID_CONFIG')
  t.match(bad.error?.message, /admin\.listen/)
  const taken = await pollen(['daemon', '--listen', '127.0.0.1:0', '--admin-listen', new URL(await adminUrl(d)).host], { dataDir: join(root, 'off') })
  t.equal(taken.error?.code, 'POLLEN_ADDRESS_IN_USE', 'a taken address refuses the start')
  t.match(taken.error?.message, /--admin-listen/)

  const lan = await startDaemon({ t, dataDir: join(root, 'lan'), env: { POLLEN_ADMIN_LISTEN: '0.0.0.0:0' } })
  const s = await lan.cli(['status', '--json'])
  t.match(s.json.admin, { tls: true, url: /^https:\/\/0\.0\.0\.0:\d+\/$/, fingerprint: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/ })
  t.match((await lan.cli(['status'])).stdout, new RegExp(`web page: +https://0\\.0\\.0\\.0:\\d+/ \\(TLS, on every address of this machine, certificate SHA-256 ${s.json.admin.fingerprint}\\)`))
  const port = Number(new URL(s.json.admin.url).port)
  const presented = await new Promise<string>((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(new X509Certificate(sock.getPeerX509Certificate()!.raw).fingerprint256)
      sock.end()
    })
    sock.on('error', reject)
  })
  t.equal(presented, s.json.admin.fingerprint, 'the listener presents the certificate whose fingerprint status shows')
  const web = new WebClient(`https://127.0.0.1:${port}`)
  t.equal((await lan.cli(['admin', 'add', 'tls', '--role', 'admin'], { stdin: 'long enough pw\n' })).code, 0)
  const login = await web.request('POST', '/login', { form: { name: 'tls', password: 'long enough pw' } })
  t.match(String(login.headers['set-cookie']), /; Secure/, 'under TLS the session cookie is Secure')
  t.match(String(login.headers['strict-transport-security']), /max-age/)
})
