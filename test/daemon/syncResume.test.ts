/**
 * Resume over a cut link (docs/design.md §5.2: "a cut link loses at most the chunk in flight:
 * the next sync resumes there"). A TCP proxy inside the test forwards to the serving daemon
 * and destroys every connection after N bytes (both directions together). The client syncs
 * through it again and again until a sync completes; every operation must arrive exactly
 * once, and the bytes moved must stay close to one clean transfer of the same data.
 */
import t from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateResources } from '../../bench/dataset.js'
import { pollenJson, startNode, tempDir, type Daemon } from '../helpers/daemon.js'

const CUT_AFTER = 30 * 1024
const RESOURCES = 600
const MAX_ATTEMPTS = 60
const root = tempDir(t, 'pollen-resume-')

interface Proxy {
  port: number
  stats: { up: number; down: number; connections: number; cuts: number }
  close(): Promise<void>
}

/** Forwards 127.0.0.1:port → target; each connection is destroyed once `limit` bytes (both ways) went through. */
async function proxy(target: number, limit: number): Promise<Proxy> {
  const stats = { up: 0, down: 0, connections: 0, cuts: 0 }
  const open = new Set<Socket>()
  const server = createServer((client) => {
    stats.connections += 1
    const upstream = connect(target, '127.0.0.1')
    let moved = 0
    let cut = false
    for (const s of [client, upstream]) {
      open.add(s)
      s.on('error', () => undefined)
      s.on('close', () => {
        open.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    const pipe = (from: Socket, to: Socket, dir: 'up' | 'down') => {
      from.on('data', (buf: Buffer) => {
        if (cut) return
        const piece = moved + buf.length > limit ? buf.subarray(0, limit - moved) : buf
        moved += piece.length
        stats[dir] += piece.length
        if (moved < limit) {
          to.write(piece)
          return
        }
        cut = true
        stats.cuts += 1
        // Flush exactly the bytes counted, then cut both sides.
        to.write(piece, () => {
          client.destroy()
          upstream.destroy()
        })
      })
      from.on('end', () => to.end())
    }
    pipe(client, upstream, 'up')
    pipe(upstream, client, 'down')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const p: Proxy = {
    port: (server.address() as { port: number }).port,
    stats,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy()
        server.close(() => r())
      }),
  }
  t.teardown(() => p.close())
  return p
}

async function must(d: Daemon, args: string[]) {
  const r = await d.cli(args, { timeoutMs: 120_000 })
  if (r.code !== 0) throw new Error(`pollen ${args.join(' ')}: ${r.stderr}`)
  return r
}

/** The server's data and its author/counter. */
const CHUNK_BYTES = 4096
const server = await startNode(t, root, 'server', { languages: ['en', 'fr', 'es'], sync: { chunkBytes: CHUNK_BYTES } }) // pulls are chunked by the sender; a chunk must be well under the cut interval
const dataFile = join(root, 'resources.json')
writeFileSync(dataFile, JSON.stringify(generateResources(RESOURCES, 20240611)))
await must(server, ['resource', 'import', dataFile])
const serverStatus = (await must(server, ['status', '--json'])).json
const serverPort = Number(server.listen.split(':').pop())

async function client(name: string, via: Proxy): Promise<Daemon> {
  const c = await startNode(t, root, name, { languages: ['en', 'fr', 'es'] })
  const key = (await must(server, ['user', 'add', name, '--role', 'read'])).stdout.split('\n')[0].trim()
  await must(c, ['peer', 'add', '--name', 'server', '--url', `https://127.0.0.1:${via.port}`, '--user', name, `--key=${key}`])
  return c
}

const sortById = (list: any[]) => [...list].sort((a, b) => (a.id < b.id ? -1 : 1))
/** What must match between a copy and the original (status is local). */
const content = (v: any) => ({ id: v.id, partition: v.partition, title: v.title, description: v.description, tags: v.tags, links: v.links, files: v.files, source: v.source, origin: v.origin, updated: v.updated })

t.test('a sync over a link cut every 30 KB completes, exactly once, without resending much', async (t) => {
  const cutProxy = await proxy(serverPort, CUT_AFTER)
  const c = await client('cut', cutProxy)
  const results: any[] = []
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    // One attempt per run, so each run resumes the one before (test/daemon/cuts.test.ts covers the retries inside one run).
    const r = await c.cli(['sync', '--json', '--max-attempts', '1'], { timeoutMs: 120_000 })
    const res = r.json?.[0]
    t.ok(res, `attempt ${i + 1} reports a result${res ? '' : `: ${r.stderr}`}`)
    if (!res) break
    results.push(res)
    if (res.ok) break
    t.equal(r.code, 1, `a cut attempt exits 1 (${res.code}: ${res.error})`)
  }
  const last = results.at(-1)
  t.equal(last?.ok, true, `the sync completed after ${results.length} attempts`)
  t.ok(results.length > 1, 'the link was really cut (more than one attempt)')
  t.ok(cutProxy.stats.cuts >= results.length - 1, `the proxy cut ${cutProxy.stats.cuts} connections`)
  t.ok(results.some((r) => r.resumed === true), 'a later attempt reports resumed: true')
  t.equal(results[0].resumed, false, 'the first attempt is not a resume')
  t.ok(results.slice(1).every((r) => r.resumed === true), 'every attempt after a cut resumes')
  t.ok(results.slice(0, -1).every((r) => r.ok === false && typeof r.code === 'string' && r.code.startsWith('POLLEN_')), 'cut attempts fail with a POLLEN_ code')

  // Exactly once: each applied operation counts once in `pulled`, and the sum is the server's counter.
  const pulled = results.reduce((n, r) => n + r.pulled, 0)
  t.equal(pulled, serverStatus.counter, `operations applied over all attempts (${pulled}) = the server's operations (${serverStatus.counter})`)
  const mine = sortById(await pollenJson(c, ['resource', 'list', '--status', 'pending']))
  const theirs = sortById(await pollenJson(server, ['resource', 'list']))
  t.equal(mine.length, RESOURCES, `${RESOURCES} resources arrived, pending review`)
  t.same(mine.map((v) => v.id), theirs.map((v) => v.id), 'the same ids as on the server')
  t.same(mine.map(content), theirs.map(content), 'and the same content')
  const vectors: any[] = (await must(c, ['status', '--json'])).json.vectors
  for (const layer of ['', 'en', 'fr', 'es']) {
    const row = vectors.find((e) => e.prefix === '' && e.layer === layer)
    t.equal(row?.counters[serverStatus.author], serverStatus.counter, `the client claims exactly the server's counter for layer "${layer}"`)
  }
  const again = await c.cli(['sync', '--json'])
  t.match(again.json?.[0], { ok: true, pulled: 0, resumed: false }, 'a further sync moves nothing and is not a resume')

  // One clean transfer of the same data to a fresh client through an uncut proxy.
  const cleanProxy = await proxy(serverPort, Infinity)
  const fresh = await client('clean', cleanProxy)
  const clean = (await fresh.cli(['sync', '--json'], { timeoutMs: 120_000 })).json?.[0]
  t.match(clean, { ok: true, pulled: serverStatus.counter, resumed: false }, 'the clean transfer completes in one go')
  const cutBytes = cutProxy.stats.up + cutProxy.stats.down
  const cleanBytes = cleanProxy.stats.up + cleanProxy.stats.down
  t.comment(`resume: ${results.length} attempts, ${cutProxy.stats.connections} connections, ${cutProxy.stats.cuts} cuts; bytes through the cut proxy ${cutBytes} (up ${cutProxy.stats.up}, down ${cutProxy.stats.down})`)
  t.comment(`resume: one clean transfer ${cleanBytes} bytes (up ${cleanProxy.stats.up}, down ${cleanProxy.stats.down}); ratio ${(cutBytes / cleanBytes).toFixed(3)}`)
  t.comment(`resume: ${Math.round((cutBytes - cleanBytes) / Math.max(1, cutProxy.stats.cuts))} bytes lost per cut (chunkBytes ${CHUNK_BYTES})`)
  t.ok(cutBytes <= 1.5 * cleanBytes, `bytes over the cut link (${cutBytes}) are within 1.5× of a clean transfer (${cleanBytes})`)
  t.same(sortById(await pollenJson(fresh, ['resource', 'list', '--status', 'pending'])).map(content), mine.map(content), 'both clients hold the same data')
})
