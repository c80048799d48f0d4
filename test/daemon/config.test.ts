/**
 * Configuration through real daemon processes: the layers' precedence
 * (<data-dir>/config.json < system file < environment < flags), each kind of invalid value
 * refused at start naming the key and where it came from, SIGHUP reloads (and refusals),
 * and peer keys passed as systemd credentials ($CREDENTIALS_DIRECTORY/peer-NAME).
 */
import t from 'tap'
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { controlRequest, filesContaining, freePort, initDataDir, pollen, spawnDaemon, startDaemon, tempDir, until, type Teardowner } from '../helpers/daemon.js'

/** Writes `<dataDir>/config.json` as `pollen init` left it plus `extra`. */
function editInstanceConfig(dataDir: string, extra: Record<string, unknown>): void {
  const path = join(dataDir, 'config.json')
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), ...extra }, null, 2))
}

/** Starts `pollen daemon` with exactly these flags and environment; resolves with its status once the control socket answers. */
async function boot(t: Teardowner, dataDir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const d = spawnDaemon({ dataDir, env, extraArgs: args })
  t.teardown(() => {
    d.proc.kill('SIGKILL')
  })
  let exited = false
  void d.exited.then(() => (exited = true))
  const socket = join(dataDir, 'control.sock')
  const status = await until('the daemon to answer', async () => {
    if (exited) throw new Error(`the daemon exited: ${d.out.stderr}`)
    const r = await controlRequest(socket, 'GET', '/v1/status').catch(() => undefined)
    return r?.status === 200 ? r.json : undefined
  })
  const stop = async () => {
    d.proc.kill('SIGTERM')
    return (await d.exited).code
  }
  return { ...d, status, stop }
}

t.test('precedence: config.json < system file < environment < flags', async (t) => {
  const dir = tempDir(t, 'pollen-config-')
  const dataDir = join(dir, 'data')
  await initDataDir({ dataDir, name: 'layers', languages: ['en'] })
  const [p1, p2, p3, p4] = await Promise.all([freePort(), freePort(), freePort(), freePort()])
  const at = (p: number) => `127.0.0.1:${p}`
  editInstanceConfig(dataDir, { listen: at(p1), logLevel: 'warn', sync: { intervalSeconds: 0 } })
  const system = join(dir, 'pollen.json')
  writeFileSync(system, JSON.stringify({ listen: at(p2), languages: ['en', 'fr'], logLevel: 'info', sync: { intervalSeconds: 0 } }))
  const env = { POLLEN_LISTEN: at(p3), POLLEN_LOG_LEVEL: 'warn', POLLEN_SYNC_INTERVAL: '1' }
  const flags = ['--listen', at(p4), '--log-level', 'info']
  const readyLogged = (out: string) => /"msg":"ready"/.test(out)

  const all = await boot(t, dataDir, ['--config', system, ...flags], env)
  t.equal(all.status.listen, at(p4), 'a flag beats the environment (listen)')
  t.same(all.status.languages, ['en', 'fr'], 'the system file beats config.json (languages)')
  t.equal(await all.stop(), 0)
  t.ok(readyLogged(all.out.stdout), '--log-level info beats POLLEN_LOG_LEVEL=warn: "ready" (info) is logged')

  const envLayer = await boot(t, dataDir, ['--config', system], env)
  t.equal(envLayer.status.listen, at(p3), 'the environment beats the system file (listen)')
  // POLLEN_SYNC_INTERVAL=1 beats intervalSeconds 0 in both files: the scheduler syncs the peer by itself.
  const added = await pollen(['peer', 'add', '--name', 'nowhere', '--url', 'https://127.0.0.1:1', '--user', 'u', '--key=nowhere-key-123'], { dataDir })
  t.equal(added.code, 0, `peer added ${added.stderr}`)
  const history = await until('a scheduled sync', async () => {
    const r = await pollen(['log', '--json'], { dataDir })
    return Array.isArray(r.json) && r.json.length > 0 ? r.json : undefined
  })
  t.match(history[0], { peer: 'nowhere', ok: false }, 'a scheduled sync ran (POLLEN_SYNC_INTERVAL=1 beats sync.intervalSeconds 0 in the files)')
  t.equal((await pollen(['peer', 'remove', 'nowhere'], { dataDir })).code, 0)
  t.equal(await envLayer.stop(), 0)
  t.notOk(readyLogged(envLayer.out.stdout), 'POLLEN_LOG_LEVEL=warn beats logLevel info in the system file: no "ready" line')

  const fileLayer = await boot(t, dataDir, ['--config', system])
  t.equal(fileLayer.status.listen, at(p2), 'the system file beats config.json (listen)')
  t.equal(await fileLayer.stop(), 0)
  t.ok(readyLogged(fileLayer.out.stdout), 'logLevel info in the system file beats warn in config.json')

  const own = await boot(t, dataDir, [])
  t.equal(own.status.listen, at(p1), 'with nothing else, config.json decides (listen)')
  t.same(own.status.languages, ['en'], 'and languages')
  t.equal(await own.stop(), 0)
  t.notOk(readyLogged(own.out.stdout), 'and the log level (warn)')

  // $POLLEN_CONFIG names the system file when --config is not given; --config wins over it.
  const other = join(dir, 'other.json')
  writeFileSync(other, JSON.stringify({ listen: at(p3) }))
  const viaEnv = await boot(t, dataDir, [], { POLLEN_CONFIG: system })
  t.equal(viaEnv.status.listen, at(p2), '$POLLEN_CONFIG is read as the system file')
  t.equal(await viaEnv.stop(), 0)
  const both = await boot(t, dataDir, ['--config', other], { POLLEN_CONFIG: system })
  t.equal(both.status.listen, at(p3), '--config beats $POLLEN_CONFIG')
  t.equal(await both.stop(), 0)
})

t.test('invalid configuration is refused at start with the key and its source named', async (t) => {
  const dir = tempDir(t, 'pollen-config-')
  const dataDir = join(dir, 'data')
  await initDataDir({ dataDir })
  const pristine = readFileSync(join(dataDir, 'config.json'), 'utf8')
  const file = (name: string, text: string) => {
    const p = join(dir, name)
    writeFileSync(p, text)
    return p
  }
  const cases: { what: string; args?: string[]; env?: NodeJS.ProcessEnv; instance?: Record<string, unknown>; expect: (string | RegExp)[] }[] = [
    { what: 'a bad --listen flag', args: ['--listen', 'localhost'], expect: ['command line', '"listen"', 'HOST:PORT', '"localhost"'] },
    { what: 'a bad POLLEN_LISTEN', env: { POLLEN_LISTEN: '127.0.0.1:99999' }, expect: ['environment', '"listen"'] },
    { what: 'a bad language code in the system file', args: ['--config', file('lang.json', '{"languages":["en","english"]}')], expect: [join(dir, 'lang.json'), '"languages"', '"english"'] },
    { what: 'a bad POLLEN_LANGUAGES', env: { POLLEN_LANGUAGES: 'en,??' }, expect: ['environment', '"languages"', '"??"'] },
    { what: 'an unknown key in config.json', instance: { colour: 'green' }, expect: [join(dataDir, 'config.json'), '"colour"', 'not a known setting'] },
    { what: 'an unknown key in the system file', args: ['--config', file('unknown.json', '{"sync":{"chunkSize":5}}')], expect: [join(dir, 'unknown.json'), '"sync.chunkSize"'] },
    { what: 'a wrong type for sync.chunkOps', args: ['--config', file('type.json', '{"sync":{"chunkOps":"many"}}')], expect: [join(dir, 'type.json'), '"sync.chunkOps"', 'whole number'] },
    { what: 'a non-numeric POLLEN_SYNC_INTERVAL', env: { POLLEN_SYNC_INTERVAL: 'soon' }, expect: ['POLLEN_SYNC_INTERVAL', '"sync.intervalSeconds"', '"soon"'] },
    { what: 'a bad --log-level flag', args: ['--log-level', 'loud'], expect: ['command line', '"logLevel"'] },
    { what: 'a missing --config file', args: ['--config', join(dir, 'missing.json')], expect: [join(dir, 'missing.json'), 'does not exist'] },
    { what: 'a missing $POLLEN_CONFIG file', env: { POLLEN_CONFIG: join(dir, 'gone.json') }, expect: [join(dir, 'gone.json'), 'does not exist'] },
    { what: 'invalid JSON in the config file', args: ['--config', file('broken.json', '{"listen": "127.0.0.1:7420",')], expect: [join(dir, 'broken.json'), 'not valid JSON'] },
  ]
  for (const c of cases) {
    writeFileSync(join(dataDir, 'config.json'), c.instance ? JSON.stringify({ ...JSON.parse(pristine), ...c.instance }) : pristine)
    const r = await pollen(['daemon', ...(c.args ?? [])], { dataDir, env: c.env, timeoutMs: 20_000 })
    t.not(r.code, 0, `${c.what}: the daemon exits non-zero`)
    t.equal(r.error?.code, 'POLLEN_INVALID_CONFIG', `${c.what}: POLLEN_INVALID_CONFIG`)
    const line = r.stderr.trim().split('\n').at(-1) ?? ''
    t.match(line, /^pollen: .* \(POLLEN_INVALID_CONFIG\)$/, `${c.what}: one line "pollen: … (POLLEN_INVALID_CONFIG)": ${line}`)
    for (const e of c.expect) t.ok(typeof e === 'string' ? line.includes(e) : e.test(line), `${c.what}: the message names ${e}`)
    t.equal(r.stdout, '', `${c.what}: nothing was started (no log output)`)
  }
  writeFileSync(join(dataDir, 'config.json'), pristine)
  // A free port: the pristine config.json names none, and the default (7420) may be taken.
  const ok = await boot(t, dataDir, ['--listen', `127.0.0.1:${await freePort()}`])
  t.ok(ok.status.instance, 'the same data directory starts once the configuration is fixed')
  t.equal(await ok.stop(), 0)
})

t.test('SIGHUP reloads the system file without dropping the control socket; an invalid file is refused', async (t) => {
  const dir = tempDir(t, 'pollen-config-')
  const system = join(dir, 'pollen.json')
  writeFileSync(system, JSON.stringify({ languages: ['en'], logLevel: 'info' }))
  const d = await startDaemon({ t, dataDir: join(dir, 'data'), env: { POLLEN_CONFIG: system } })
  const inode = statSync(d.socket).ino
  t.same((await d.cli(['status', '--json'])).json?.languages, ['en'])

  writeFileSync(system, JSON.stringify({ languages: ['en', 'fr'], logLevel: 'debug' }))
  d.proc.kill('SIGHUP')
  await until('the reload', () => (/"msg":"configuration reloaded"/.test(d.output().stdout) ? true : undefined))
  const after = await d.cli(['status', '--json'])
  t.same(after.json?.languages, ['en', 'fr'], 'the new languages are in effect')
  t.equal(d.proc.exitCode, null, 'the same process keeps running (no restart)')
  t.equal(statSync(d.socket).ino, inode, 'the same control socket')
  t.equal(d.output().stdout.match(/"msg":"ready"/g)?.length, 1, '"ready" was logged once: nothing restarted')
  const fr = await d.cli(['resource', 'put', '-', '--json'], { stdin: JSON.stringify({ id: 'hup', title: { en: 'Masks', fr: 'Masques' } }) })
  t.equal(fr.code, 0, `a French text is accepted now ${fr.stderr}`)
  t.match((await d.cli(['resource', 'get', 'hup', '--json'])).json, { title: { fr: 'Masques' } }, 'and kept')

  writeFileSync(system, JSON.stringify({ languages: ['en', 'klingon!'] }))
  d.proc.kill('SIGHUP')
  const refused = await until('the refusal', () => d.output().stdout.split('\n').find((l) => l.includes('configuration reload refused')))
  t.match(refused, /POLLEN_INVALID_CONFIG/, 'the refusal is logged with its code')
  t.match(refused, /languages/, 'and names the key')
  t.equal(d.proc.exitCode, null, 'the daemon keeps running')
  t.same((await d.cli(['status', '--json'])).json?.languages, ['en', 'fr'], 'with the previous configuration')
  t.equal(statSync(d.socket).ino, inode, 'on the same socket')
  t.equal(await d.stop(), 0)
})

t.test('peer keys as systemd credentials: $CREDENTIALS_DIRECTORY/peer-NAME', async (t) => {
  const dir = tempDir(t, 'pollen-config-')
  const cloud = await startDaemon({ t, dataDir: join(dir, 'cloud'), name: 'cloud', env: { POLLEN_SYNC_INTERVAL: '0' } })
  t.equal((await cloud.cli(['resource', 'put', '-'], { stdin: JSON.stringify({ id: 'cred-1', title: { en: 'Cold chain' } }) })).code, 0)
  const key = (await cloud.cli(['user', 'add', 'facility', '--role', 'read'])).stdout.split('\n')[0].trim()
  const other = (await cloud.cli(['user', 'add', 'other', '--role', 'read'])).stdout.split('\n')[0].trim()

  const creds = join(dir, 'credentials')
  mkdirSync(creds, { mode: 0o700 })
  const credential = join(creds, 'peer-cloud')
  writeFileSync(credential, `${key}\n`, { mode: 0o400 })
  const facility = await startDaemon({ t, dataDir: join(dir, 'facility'), env: { CREDENTIALS_DIRECTORY: creds, POLLEN_SYNC_INTERVAL: '0' } })
  const added = await facility.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'facility'])
  t.equal(added.code, 0, `peer add without --key uses the credential ${added.stderr}`)
  const synced = await facility.cli(['sync', '--json'])
  t.match(synced.json?.[0], { peer: 'cloud', ok: true, pulled: 2 }, 'a sync authenticates with the credential\'s key')
  t.same(filesContaining(facility.dataDir, key), [], 'the key is not copied into the data directory')

  // The credential is read at each sync: a wrong key there is what the cloud sees.
  chmodSync(credential, 0o600)
  writeFileSync(credential, `${other}-wrong\n`)
  const wrong = await facility.cli(['sync', '--json'])
  t.match(wrong.json?.[0], { peer: 'cloud', ok: false, code: 'POLLEN_UNAUTHORIZED' }, 'a wrong credential is refused by the peer')
  writeFileSync(credential, key)
  t.match((await facility.cli(['sync', '--json'])).json?.[0], { ok: true }, 'the right one works again')

  // The credential takes precedence over a key given with --key (kept in peer-keys.json).
  const bad = await facility.cli(['peer', 'set', 'cloud', '--key', 'stale-key-from-the-file'])
  t.equal(bad.code, 0, `peer set --key ${bad.stderr}`)
  t.match((await facility.cli(['sync', '--json'])).json?.[0], { ok: true }, 'the credential wins over peer-keys.json')

  // Without a credential, a key is required.
  const plain = await startDaemon({ t, dataDir: join(dir, 'plain'), env: { POLLEN_SYNC_INTERVAL: '0' } })
  const refused = await plain.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'facility'])
  t.not(refused.code, 0, 'peer add without --key and without a credential is refused')
  t.match(refused.error?.message, /peer-cloud/, 'naming the credential it looked for')
})
