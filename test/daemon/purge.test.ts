/**
 * A purge removes the text from disk (issue 17): on real daemon directories, after a purge,
 * a sync and a restart of both daemons, no file under either data directory holds the purged
 * text. (What is kept of the purged operations, headers and body hashes, still confirms a
 * guess of a short text: docs/design.md §9.)
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { key } from '../../core/log/keys.js'
import { decodeOperation } from '../../core/log/storedOp.js'
import { filesContaining, putResource, startDaemon, startNode, tempDir, type Daemon } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-purge-')

async function run(d: Daemon, args: string[]): Promise<string> {
  const r = await d.cli(args, { timeoutMs: 60_000 })
  if (r.code !== 0) throw new Error(`pollen ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** Every stored operation of record `id`, read from a stopped daemon's LevelDB. */
async function storedOps(dataDir: string, id: string) {
  const db = new ClassicLevel<string, Uint8Array>(join(dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' })
  try {
    const out = []
    for await (const [, v] of db.iterator({ gte: key.allOps(), lt: key.allOps() + '\uffff' })) {
      const op = decodeOperation(v)
      if (op.id === id) out.push(op)
    }
    return out
  } finally {
    await db.close()
  }
}

/** Stops each daemon and starts it again on its data directory. */
async function restart(t: Test, daemons: Daemon[]): Promise<Daemon[]> {
  const out: Daemon[] = []
  for (const d of daemons) {
    t.equal(await d.stop(), 0, 'stops cleanly')
    out.push(await startDaemon({ t, dataDir: d.dataDir, listen: d.listen }))
  }
  return out
}

t.test('after a purge, a sync and a restart of both daemons no file holds the text, and no kept hash confirms it', async (t) => {
  let [origin, recv] = await Promise.all([startNode(t, root, 'origin', { languages: ['en'] }), startNode(t, root, 'recv', { languages: ['en'] })])
  const key0 = (await run(origin, ['user', 'add', 'recv', '--role', 'write'])).split('\n')[0]
  await run(recv, ['peer', 'add', '--name', 'origin', '--url', origin.url, '--user', 'recv', `--key=${key0}`])
  // A short text an attacker could guess, with a marker that keeps other files from matching
  // by chance. Letters from g on: LevelDB's Snappy compression stores a run of bytes seen
  // earlier in a block as a back-reference, and hex digits (author ids) would give it some.
  const marker = `HIV-${[...randomBytes(10)].map((b) => String.fromCharCode(103 + (b % 20))).join('')}`
  const title = `Jane Doe ${marker}`
  await putResource(origin, { id: 'p1', title: { en: title }, description: { en: `Notes ${marker}` } })
  await putResource(origin, { id: 'p1', title: { en: `${title} (2)` } })
  await putResource(origin, { id: 'keep', title: { en: 'Hand washing' } })
  await run(recv, ['sync', 'origin'])
  // Restarted, each daemon's LevelDB moves what its write-ahead log holds into a table.
  ;[origin, recv] = await restart(t, [origin, recv])
  for (const d of [origin, recv]) t.not(filesContaining(join(d.dataDir, 'db'), marker).filter((f) => f.endsWith('.ldb')).length, 0, `control: ${d === origin ? 'origin' : 'the receiver'} holds the text in a table before the purge`)

  await run(origin, ['resource', 'delete', 'p1', '--purge'])
  await run(recv, ['sync', 'origin'])
  for (const d of await restart(t, [origin, recv])) {
    t.equal((await d.cli(['resource', 'get', 'p1'])).error?.code, 'POLLEN_NOT_FOUND', 'p1 is gone')
    t.match(JSON.parse(await run(d, ['resource', 'get', 'keep', '--json'])), { title: { en: 'Hand washing' } }, 'the other resource is intact')
    t.equal(await d.stop(), 0)
    t.same(filesContaining(d.dataDir, marker).map((f) => f.slice(d.dataDir.length)), [], `no file under ${d.dataDir === origin.dataDir ? 'origin' : 'the receiver'}'s data directory holds the purged text`)
    const ops = await storedOps(d.dataDir, 'p1')
    t.ok(ops.some((op) => op.type === 'purge') && ops.every((op) => op.body === null), 'the purge and the bodiless operations of p1 are kept')
    const kept = ops.flatMap((op) => (op.bodyHash ? [Buffer.from(op.bodyHash).toString('hex')] : []))
    t.ok(kept.length >= 3, 'the purged puts keep a body hash, so the operations stay verifiable')
  }
})
