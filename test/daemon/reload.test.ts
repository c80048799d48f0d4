/**
 * A refused reload changes nothing (issue 17): a SIGHUP whose new `listen` port was in use
 * applied the new languages and closed the sync port, while the log said "keeping the running
 * configuration" and `status` showed the old address. Now the new listener is bound first and
 * everything else applied only after; when the port is free the same reload goes through.
 */
import t from 'tap'
import { createServer as createTcpServer, connect } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, initDataDir, pollen, spawnDaemon, tempDir, until } from '../helpers/daemon.js'

/** Whether something accepts TCP connections on 127.0.0.1:port. */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
  })

t.test('a reload refused because the new port is in use keeps languages, address and sync port as they were', async (t) => {
  const dir = tempDir(t)
  const dataDir = join(dir, 'data')
  const system = join(dir, 'pollen.json')
  const [oldPort, busyPort] = [await freePort(), await freePort()]
  writeFileSync(system, JSON.stringify({ languages: ['en'], listen: `127.0.0.1:${oldPort}` }))
  const env = { POLLEN_CONFIG: system }
  await initDataDir({ dataDir, env })
  const d = spawnDaemon({ dataDir, env })
  t.teardown(() => {
    d.proc.kill('SIGKILL')
  })
  const status = async () => (await pollen(['status', '--json'], { dataDir, env })).json as { listen: string; languages: string[] } | undefined
  await until('the daemon to answer', status)
  const busy = createTcpServer()
  await new Promise<void>((r) => busy.listen(busyPort, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => busy.close(() => r())))

  writeFileSync(system, JSON.stringify({ languages: ['en', 'fr'], listen: `127.0.0.1:${busyPort}` }))
  d.proc.kill('SIGHUP')
  const refused = await until('the refusal', () => d.out.stdout.split('\n').find((l) => l.includes('configuration reload refused')))
  t.match(refused, /POLLEN_ADDRESS_IN_USE/, 'the refusal is logged with its code')
  t.match(refused, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busyPort}: another program uses that address`), 'and says why')
  t.match(await status(), { listen: `127.0.0.1:${oldPort}`, languages: ['en'] }, 'status: the old address and languages')
  t.ok(await accepts(oldPort), 'the sync API still listens on the old port')
  const fr = await pollen(['resource', 'put', '-'], { dataDir, env, stdin: JSON.stringify({ id: 'fr', title: { en: 'Masks', fr: 'Masques' } }) })
  t.equal(fr.error?.code, 'POLLEN_UNSUPPORTED_LANGUAGE', 'French is still refused: the new languages were not applied')

  await new Promise<void>((r) => busy.close(() => r()))
  d.proc.kill('SIGHUP')
  await until('the reload', () => (/"msg":"configuration reloaded"/.test(d.out.stdout) ? true : undefined))
  t.match(await status(), { listen: `127.0.0.1:${busyPort}`, languages: ['en', 'fr'] }, 'once the port is free the same reload applies all of it')
  t.notOk(await accepts(oldPort), 'and the old port is closed')
  d.proc.kill('SIGTERM')
  t.equal((await d.exited).code, 0)
})

t.test('a reload moves the web page; a refused reload leaves it where it was', async (t) => {
  const dir = tempDir(t)
  const dataDir = join(dir, 'data')
  const system = join(dir, 'pollen.json')
  const [syncPort, pageA, pageB, busyPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const write = (listen: number, page: number) => writeFileSync(system, JSON.stringify({ listen: `127.0.0.1:${listen}`, admin: { listen: `127.0.0.1:${page}` } }))
  write(syncPort, pageA)
  // An empty variable: the harness's "off" must not win over the file here.
  const env = { POLLEN_CONFIG: system, POLLEN_ADMIN_LISTEN: '' }
  await initDataDir({ dataDir, env })
  const d = spawnDaemon({ dataDir, env })
  t.teardown(() => {
    d.proc.kill('SIGKILL')
  })
  const status = async () => (await pollen(['status', '--json'], { dataDir, env })).json as { listen: string; admin: { listen: string } } | undefined
  await until('the daemon to answer', status)
  t.equal((await status())?.admin.listen, `127.0.0.1:${pageA}`)
  t.ok(await accepts(pageA), 'the page listens where the file says')

  const busy = createTcpServer()
  await new Promise<void>((r) => busy.listen(busyPort, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => busy.close(() => r())))
  const reloads = () => d.out.stdout.split('\n').filter((l) => l.includes('configuration reload refused')).length
  // The page's new address is free, the sync API's is taken: the whole reload is refused.
  write(busyPort, pageB)
  d.proc.kill('SIGHUP')
  await until('the refusal', () => (reloads() === 1 ? true : undefined))
  t.match(await status(), { listen: `127.0.0.1:${syncPort}`, admin: { listen: `127.0.0.1:${pageA}` } }, 'status: both where they were')
  t.ok(await accepts(pageA), 'the page still listens on its old port')
  t.notOk(await accepts(pageB), 'and the new one it had opened is closed again')
  // Now the page's new address is the taken one.
  write(syncPort, busyPort)
  d.proc.kill('SIGHUP')
  await until('the second refusal', () => (reloads() === 2 ? true : undefined))
  t.match(d.out.stdout, /cannot serve the web page on 127\.0\.0\.1:\d+: another program uses that address/)
  t.ok(await accepts(pageA), 'the page still listens on its old port')
  // Free: the move goes through.
  write(syncPort, pageB)
  d.proc.kill('SIGHUP')
  await until('the move', async () => ((await status())?.admin.listen === `127.0.0.1:${pageB}` ? true : undefined))
  t.ok(await accepts(pageB), 'the page listens on the new port')
  t.notOk(await accepts(pageA), 'and no longer on the old one')
  d.proc.kill('SIGTERM')
  t.equal((await d.exited).code, 0)
})
