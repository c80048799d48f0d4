/**
 * The harness (test/helpers/daemon.ts) is hermetic on a machine where pollen is installed: the
 * daemons and CLI runs it starts read neither the system file nor the system control socket.
 * The test cannot plant /etc/pollen/pollen.json or /run/pollen/control.sock without root, so
 * it plants both where the documented variables point (`POLLEN_CONFIG`,
 * `POLLEN_SYSTEM_SOCKET`), shows that a run told about them uses them, and that a run whose
 * caller's environment points at them does not.
 */
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { freePort, hermeticEnv, initDataDir, pollen, startDaemon, tempDir } from '../helpers/daemon.js'

t.test('harness runs read neither a system file nor a system socket the machine points at', async (t) => {
  const dir = tempDir(t)
  // A system file every daemon reading it refuses (an unknown key), as on a board configured by hand.
  const planted = join(dir, 'pollen.json')
  writeFileSync(planted, JSON.stringify({ sync: { listen: '127.0.0.1:7420' }, languages: ['xx'] }))
  // A system daemon's socket, counting the requests that reach it.
  const socket = join(dir, 'system.sock')
  let requests = 0
  const system = createServer((_req, res) => {
    requests += 1
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"instance":"the system daemon"}')
  })
  await new Promise<void>((resolve) => system.listen(socket, resolve))
  t.teardown(() => new Promise<void>((resolve) => system.close(() => resolve())))
  const dataDir = join(dir, 'data')
  await initDataDir({ dataDir })

  // Told about them, runs use them: what follows is the harness's doing, not the CLI's.
  const refused = await pollen(['daemon', '--listen', `127.0.0.1:${await freePort()}`], { dataDir, env: { POLLEN_CONFIG: planted } })
  t.equal(refused.error?.code, 'POLLEN_INVALID_CONFIG', 'a daemon given the planted file refuses to start')
  t.ok(refused.error?.message.includes(planted), 'naming it')
  // Named no data directory, and the default one holds no instance: the CLI asks the system socket.
  const reached = await pollen(['status', '--json'], { env: { POLLEN_SYSTEM_SOCKET: socket, HOME: dir } })
  t.equal(reached.json?.instance, 'the system daemon', 'a CLI run that finds no instance in the default data directory asks the system socket')
  t.equal(requests, 1)

  // The machine's environment points at them (and at the default port): none of it is passed on.
  const machine = { POLLEN_CONFIG: planted, POLLEN_SYSTEM_SOCKET: socket, POLLEN_LISTEN: '127.0.0.1:7420' }
  Object.assign(process.env, machine)
  t.teardown(() => {
    for (const k of Object.keys(machine)) delete process.env[k]
  })
  const d = await startDaemon({ t, dataDir })
  t.same((await d.cli(['status', '--json'])).json?.languages, ['en'], 'a harness daemon starts without the planted file (which it would refuse)')
  t.not(d.listen, '127.0.0.1:7420', 'on a free port')
  const alone = await pollen(['status'], { env: { HOME: dir } })
  t.equal(alone.error?.code, 'POLLEN_NOT_INITIALIZED', 'a harness CLI run without an instance does not reach the system socket')
  t.equal(requests, 1, 'no request reached it')
  t.equal(await d.stop(), 0)

  // What stands in for /etc/pollen/pollen.json and /run/pollen/control.sock in every child.
  const env = hermeticEnv()
  t.equal(readFileSync(env.POLLEN_CONFIG as string, 'utf8').trim(), '{}', 'children read an empty system file')
  t.notOk(existsSync(env.POLLEN_SYSTEM_SOCKET as string), 'and look for the system socket where there is none')
})
