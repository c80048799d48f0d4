/**
 * The encrypted, instance-bound sync channel (issue 16, docs/protocol.md §10) on real daemons:
 * a relay that records every byte sees neither the API key nor record text, only bytes that
 * do not compress; a captured key is refused from another instance; an impostor at a pinned
 * peer's address receives nothing; daemons with clocks decades off sync both ways; every
 * refusal has a POLLEN_* code and stores nothing.
 */
import t, { type Test } from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { createServer as createTcpServer, connect, type Server, type Socket } from 'node:net'
import { request as httpRequest } from 'node:http'
import { createServer as createTlsServer } from 'node:tls'
import { deflateSync } from 'node:zlib'
import { tlsCredentials } from '../../adapters/tlsIdentity.js'
import { newIdentity } from '../../core/model/identity.js'
import { getResource, putResource, snapshot, startNode, tempDir, type Daemon, type PollenResult } from '../helpers/daemon.js'
import { rawConnect, sendUntilAnswered } from '../helpers/rawHttp.js'

const root = tempDir(t, 'pollen-tls-')

function ok(t: Test, r: PollenResult, what: string): void {
  t.equal(r.code, 0, `${what} exits 0${r.code ? `: ${r.stderr.trim()}` : ''}`)
}

async function issue(server: Daemon, user: string, more: string[] = []): Promise<string> {
  const r = await server.cli(['user', 'add', user, '--role', 'write', ...more])
  if (r.code !== 0) throw new Error(`user add ${user}: ${r.stderr}`)
  return r.stdout.split('\n')[0].trim()
}

async function syncOne(client: Daemon, peer: string): Promise<Record<string, any>> {
  const r = await client.cli(['sync', peer, '--json'], { timeoutMs: 60_000 })
  return r.json?.[0] ?? { ok: false, code: r.error?.code, error: r.stderr }
}

const grouped = (id: string) => id.replace(/(.{4})(?!$)/g, '$1-')

/** A TCP relay to `target` that keeps every byte it carries, both ways, and counts connections. */
async function relay(target: number): Promise<{ port: number; bytes: () => Buffer; connections: () => number; drop: () => void; close: () => Promise<void> }> {
  const seen: Buffer[] = []
  const sockets = new Set<Socket>()
  let connections = 0
  const server: Server = createTcpServer((inbound) => {
    connections += 1
    const outbound = connect(target, '127.0.0.1')
    for (const s of [inbound, outbound]) {
      sockets.add(s)
      s.on('error', () => undefined)
      s.on('close', () => sockets.delete(s))
    }
    inbound.on('data', (d: Buffer) => seen.push(d))
    outbound.on('data', (d: Buffer) => seen.push(d))
    inbound.pipe(outbound).pipe(inbound)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    bytes: () => Buffer.concat(seen),
    connections: () => connections,
    /** Cuts every open connection (as a NAT that forgot them would). */
    drop: () => {
      for (const s of sockets) s.destroy()
    },
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy()
      server.close(() => r())
    }),
  }
}

const port = (d: Daemon) => Number(d.listen.split(':').pop())
const SECRET_TEXT = 'Handwashing-with-ash-in-the-Ndola-clinic'

const [cloud, school] = await Promise.all([startNode(t, root, 'cloud'), startNode(t, root, 'school')])
const schoolKey = await issue(cloud, 'school')
const wire = await relay(port(cloud))
t.teardown(() => wire.close())
{
  // Pinned in advance, with the grouped id `pollen status` shows.
  const r = await school.cli(['peer', 'add', '--name', 'cloud', '--url', `https://127.0.0.1:${wire.port}`, '--user', 'school', `--key=${schoolKey}`, '--instance', grouped(cloud.instance)])
  if (r.code !== 0) throw new Error(`peer add: ${r.stderr}`)
}

t.test('status shows the instance id grouped and the channel as TLS', async (t) => {
  const s = await cloud.cli(['status'])
  t.match(s.stdout, grouped(cloud.instance), 'the grouped id')
  t.match(s.stdout, /TLS 1\.3/, 'the sync API is TLS')
  t.notMatch(s.stdout, /WARNING/, 'no warning')
})

t.test('a relay recording every byte of a sync sees neither the API key nor record text', async (t) => {
  await putResource(cloud, { id: 'c-1', title: { en: SECRET_TEXT }, description: { en: `${SECRET_TEXT} `.repeat(40) } })
  await putResource(school, { id: 's-1', title: { en: `${SECRET_TEXT} from the school` } })
  const r = await syncOne(school, 'cloud')
  t.equal(r.ok, true, `the sync through the relay works${r.ok ? '' : `: ${r.code} ${r.error}`}`)
  t.equal((await getResource(school, 'c-1'))?.title?.en, SECRET_TEXT, 'pulled')
  t.ok(await getResource(cloud, 's-1'), 'pushed')
  const bytes = wire.bytes()
  t.ok(bytes.length > 1000, `the relay carried ${bytes.length} bytes`)
  for (const needle of [schoolKey, SECRET_TEXT, 'Ndola', 'Authorization', 'Pollen school', '/v1/sync']) {
    t.notOk(bytes.includes(Buffer.from(needle)), `${needle.slice(0, 20)}… is not in the recorded bytes`)
  }
  // Ciphertext does not compress; a plaintext HTTP exchange of the same sync would.
  const ratio = deflateSync(bytes, { level: 9 }).length / bytes.length
  t.ok(ratio > 0.9, `the recorded bytes do not compress (deflate keeps ${(ratio * 100).toFixed(1)} %)`)
  const users = await cloud.cli(['user', 'list', '--json'])
  t.equal(users.json?.find((u: { name: string }) => u.name === 'school')?.instance, school.instance, 'the key is now bound to the school instance')
  t.match((await cloud.cli(['user', 'list'])).stdout, grouped(school.instance), '`user list` shows the bound instance')
})

t.test('a sync with nothing new is one request: under 6 KB on a new connection, under 1.5 KB on the kept one', async (t) => {
  wire.drop()
  const nothingNew = async (what: string) => {
    const [bytes, conns] = [wire.bytes().length, wire.connections()]
    const r = await syncOne(school, 'cloud')
    t.equal(r.ok, true, `${what}: synced${r.ok ? '' : `: ${r.code} ${r.error}`}`)
    t.equal(r.requests, 1, `${what}: one request`)
    return { moved: wire.bytes().length - bytes, opened: wire.connections() - conns }
  }
  const cold = await nothingNew('new connection')
  t.equal(cold.opened, 1, 'the first sync opens one connection')
  t.ok(cold.moved < 6 * 1024, `${cold.moved} bytes on the wire, TLS handshake included`)
  const warm = await nothingNew('kept connection')
  t.equal(warm.opened, 0, 'the next sync soon after reuses the connection (daemon/peerLinks.ts)')
  t.ok(warm.moved < 1536, `${warm.moved} bytes on the wire without a handshake`)
  // A kept connection the far side dropped costs one resend on a new connection, not a failure.
  wire.drop()
  const after = await nothingNew('after the kept connection was dropped')
  t.equal(after.opened, 1, 'a new connection')
})

t.test('a captured key used from another instance is refused, and nothing is stored', async (t) => {
  const thief = await startNode(t, root, 'thief')
  await putResource(thief, { id: 't-1', title: { en: 'planted by the thief' } })
  ok(t, await thief.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'school', `--key=${schoolKey}`]), 'the thief adds the cloud with the captured key')
  const before = await snapshot(cloud)
  const r = await syncOne(thief, 'cloud')
  t.match(r, { ok: false, code: 'POLLEN_KEY_BOUND', pulled: 0, pushed: 0 }, 'refused with POLLEN_KEY_BOUND')
  t.match(r.error, /reset-instance/, 'the message says what to do')
  t.same(await snapshot(cloud), before, 'nothing changed on the cloud')
  t.equal(await getResource(thief, 'c-1'), undefined, 'the thief got nothing')
  t.equal(await getResource(cloud, 't-1'), undefined, 'the thief planted nothing')
  // The administrator frees the key (a reinstalled school): the next instance binds it.
  ok(t, await cloud.cli(['user', 'set', 'school', '--reset-instance']), 'user set --reset-instance')
  t.equal((await syncOne(thief, 'cloud')).ok, true, 'after a reset, the next instance to use the key syncs')
  t.equal((await syncOne(school, 'cloud')).code, 'POLLEN_KEY_BOUND', 'and the key is now bound to that one')
  ok(t, await cloud.cli(['user', 'set', 'school', '--instance', school.instance]), 'user set --instance binds it back')
  t.equal((await syncOne(school, 'cloud')).ok, true, 'the school syncs again')
  await thief.stop()
})

t.test('user add --instance binds a key before its first use', async (t) => {
  const key = await issue(cloud, 'pre-bound', ['--instance', grouped(school.instance)])
  const other = await startNode(t, root, 'other')
  ok(t, await other.cli(['peer', 'add', '--name', 'cloud', '--url', cloud.url, '--user', 'pre-bound', `--key=${key}`]), 'peer add')
  t.equal((await syncOne(other, 'cloud')).code, 'POLLEN_KEY_BOUND', 'another instance is refused at first use')
  t.equal((await cloud.cli(['user', 'add', 'x', '--role', 'read', '--instance', 'not-an-id'])).error?.code, 'POLLEN_INVALID_INPUT', 'a malformed id is refused')
  await other.stop()
})

t.test('an impostor at a pinned peer\'s address is refused before it receives anything', async (t) => {
  const fake = await tlsCredentials(newIdentity())
  let received = 0
  let connections = 0
  const impostor = createTlsServer({ ...fake, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false }, (s) => {
    s.on('data', (d: Buffer) => (received += d.length))
    s.on('error', () => undefined)
  })
  impostor.on('connection', () => (connections += 1))
  impostor.on('tlsClientError', () => undefined)
  await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => impostor.close(() => r())))
  const before = await snapshot(school)
  ok(t, await school.cli(['peer', 'set', 'cloud', '--url', `https://127.0.0.1:${(impostor.address() as { port: number }).port}`]), 'point the peer at the impostor')
  const r = await syncOne(school, 'cloud')
  t.match(r, { ok: false, code: 'POLLEN_PEER_KEY_CHANGED', pulled: 0 }, 'refused with POLLEN_PEER_KEY_CHANGED')
  t.match(r.error, /nothing was sent/, 'the message says nothing was sent')
  t.ok(connections >= 1, 'the client did connect to the impostor')
  t.equal(received, 0, 'the impostor received no byte of HTTP (so no API key)')
  const peers = (await school.cli(['peer', 'list'])).stdout
  t.match(peers, /CHANGED: offers/, '`peer list` shows the offered id')
  t.equal((await school.cli(['peer', 'set', 'cloud', '--accept-key', cloud.instance])).error?.code, 'POLLEN_INVALID_INPUT', '--accept-key with an id other than the offered one is refused')
  ok(t, await school.cli(['peer', 'set', 'cloud', '--url', cloud.url]), 'point it back')
  t.equal((await syncOne(school, 'cloud')).ok, true, 'the real cloud still syncs (the pin was kept)')
  const after = await snapshot(school)
  t.same({ ...after, peers: undefined, counter: undefined }, { ...before, peers: undefined, counter: undefined }, 'nothing was stored from the impostor')
})

t.test('a peer pinned in advance to a wrong id is refused, and http:// outside plain mode too', async (t) => {
  const key = await issue(cloud, 'pinned-wrong')
  const path = await relay(port(cloud))
  t.teardown(() => path.close())
  ok(t, await school.cli(['peer', 'add', '--name', 'wrong', '--url', `https://127.0.0.1:${path.port}`, '--user', 'pinned-wrong', `--key=${key}`, '--instance', '0123456789abcdef0123456789abcdef']), 'peer add --instance (wrong id)')
  t.equal((await syncOne(school, 'wrong')).code, 'POLLEN_PEER_KEY_CHANGED', 'refused at the handshake')
  t.equal((await cloud.cli(['user', 'list', '--json'])).json.find((u: { name: string }) => u.name === 'pinned-wrong')?.instance, undefined, 'the key was never used')
  ok(t, await school.cli(['peer', 'add', '--name', 'plain', '--url', `http://${cloud.listen}`, '--user', 'pinned-wrong', `--key=${key}`]), 'peer add with http://')
  const r = await syncOne(school, 'plain')
  t.equal(r.code, 'POLLEN_PLAIN_REFUSED', 'an http:// peer is refused outside plain mode')
  t.match((await school.cli(['status'])).stdout, /WARNING: +peer plain has a plain http:\/\/ URL/, 'status warns about it')
  // A peer that still speaks plain HTTP to the TLS port (an older pollen) is told why.
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: port(cloud), method: 'POST', path: '/v1/sync/open' }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString('utf8')))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end('x')
  })
  t.equal(answer.status, 426, 'plain HTTP to the TLS port: 426')
  t.match(JSON.parse(answer.body), { code: 'POLLEN_BAD_MESSAGE', message: /TLS 1\.3 only.*https:\/\// }, 'with one line that says what to do, in a code every version knows')
  ok(t, await school.cli(['peer', 'remove', 'plain']), 'remove')
  ok(t, await school.cli(['peer', 'remove', 'wrong']), 'remove')
})

t.test('300 connections with a wrong key and a 1 MB body each are refused from their headers, and the daemon still syncs (issue 17)', async (t) => {
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${cloud.proc.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
  const before = rss()
  const attacker = await tlsCredentials(newIdentity())
  const head = `POST /v1/sync/open HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-pollen-frames\r\nContent-Length: 1000000\r\nAuthorization: Pollen school:not-the-key`
  const answers = await Promise.all(Array.from({ length: 300 }, () => sendUntilAnswered(rawConnect(port(cloud), attacker), head, 1_000_000)))
  // Refused from its headers, a connection is answered while its body is still being sent. On a
  // loaded machine an answer can be late for some (the kernel takes 1 MB into its buffers
  // unread); a daemon that read bodies before the key would have every one sent whole.
  const whole = answers.filter((a) => a.bodySent >= 1_000_000).length
  t.ok(whole <= answers.length / 2, `most answers came before the body was sent whole: ${whole} of ${answers.length} sent whole, ${answers.reduce((n, a) => n + a.bodySent, 0)} bytes of 300 MB`)
  t.ok(answers.every((a) => a.status === 401 || a.status === 0), 'each answered 401 or closed at the connection cap')
  for (const a of answers) if (a.status === 0) a.socket?.destroy()
  t.ok((await Promise.all(answers.map((a) => a.closed))).every(Boolean), 'the daemon closed every connection')
  const grew = rss() - before
  t.ok(grew < 150 * 1024 * 1024, `the daemon grew by ${Math.round(grew / 1024 / 1024)} MB (300 MB before bodies were left unread)`)
  t.equal((await syncOne(school, 'cloud')).ok, true, 'the school still syncs')
})

const FAKETIME_LIB = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find(existsSync)
const fakeClock = (offset: string): NodeJS.ProcessEnv => ({ LD_PRELOAD: FAKETIME_LIB, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' })

t.test('daemons with clocks decades off sync with a normal one, both directions', { skip: FAKETIME_LIB ? false : 'libfaketime is not installed (apt-get install faketime)' }, async (t) => {
  for (const [offset, role] of [['+75y', 'client'], ['-25y', 'server']] as const) {
    const odd = await startNode(t, root, `clock${offset}`, { env: fakeClock(offset) })
    const clock = await odd.cli(['status', '--json'])
    t.ok(clock.code === 0, `a daemon running ${offset} is up`)
    const [client, server] = role === 'client' ? [odd, cloud] : [school, odd]
    const user = `clock${offset.replace(/\W/g, '')}`
    const key = await issue(server, user)
    ok(t, await client.cli(['peer', 'add', '--name', user, '--url', server.url, '--user', user, `--key=${key}`]), `peer add (${offset} as the ${role})`)
    await putResource(odd, { id: `odd${offset}`, title: { en: `written ${offset}` } })
    const r = await syncOne(client, user)
    t.equal(r.ok, true, `a ${role} ${offset} off syncs${r.ok ? '' : `: ${r.code} ${r.error}`}`)
    const other = odd === client ? server : client
    t.ok(await getResource(other, `odd${offset}`), `what the ${offset} daemon wrote arrived on the normal one`)
    t.ok(await getResource(odd, 'c-1'), `the ${offset} daemon holds the cloud's resource`)
    await odd.stop()
  }
})
