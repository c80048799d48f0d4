/**
 * A purge removes the text from disk (issue 17): on real daemon directories, after a purge,
 * a sync and a restart of both daemons, no file under either data directory holds the purged
 * text, and the body hashes kept of the purged operations do not confirm it: the attacker
 * below knows the exact bytes of each purged body and tries every 16 bytes on disk as its
 * salt (docs/design.md §9).
 */
import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { key } from '../../core/log/keys.js'
import { decodeOperation } from '../../core/log/storedOp.js'
import { saltFor } from '../../core/model/salt.js'
import { filesContaining, filesUnder, putResource, startDaemon, startNode, tempDir, type Daemon } from '../helpers/daemon.js'

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

/** A purged body as an attacker would guess it: its exact bytes, and its counter (headers stay). */
interface Guess {
  body: Uint8Array
  counter: number
}

/**
 * Whether any file under `dir` confirms a guess: some body hash in `hashes` equals sha256 of
 * a guessed body alone, or behind any 16 bytes found in a file taken as its salt, or as the
 * seed its salt derives from (where a kept seed or salt would be).
 */
function confirmsGuess(dir: string, guesses: readonly Guess[], hashes: ReadonlySet<string>): boolean {
  const hit = (bytes: Uint8Array): boolean => hashes.has(createHash('sha256').update(bytes).digest('hex'))
  if (guesses.some((g) => hit(g.body))) return true
  for (const f of filesUnder(dir)) {
    const data = readFileSync(f)
    for (const g of guesses) {
      const input = Buffer.alloc(16 + g.body.length)
      input.set(g.body, 16)
      for (let i = 0; i + 16 <= data.length; i++) {
        const window = data.subarray(i, i + 16)
        input.set(window, 0)
        if (hit(input)) return true
        input.set(saltFor(window, g.counter), 0)
        if (hit(input)) return true
      }
    }
  }
  return false
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
  // p1 and keep in one import, one transaction: their operations share a salt seed, which the
  // purge must take from keep's operations too (they keep their own salts, and still verify).
  const file = join(root, 'batch.json')
  writeFileSync(file, JSON.stringify([{ id: 'p1', title: { en: title }, description: { en: `Notes ${marker}` } }, { id: 'keep', title: { en: 'Hand washing' } }]))
  await run(origin, ['resource', 'import', file])
  await putResource(origin, { id: 'p1', title: { en: `${title} (2)` } })
  await run(recv, ['sync', 'origin'])
  // Restarted, each daemon's LevelDB moves what its write-ahead log holds into a table.
  t.equal(await origin.stop(), 0)
  const guesses = (await storedOps(origin.dataDir, 'p1')).flatMap((op) => (op.body ? [{ body: new Uint8Array(op.body), counter: op.counter }] : []))
  t.ok(guesses.length >= 3, 'the attacker knows the exact bytes of every body to be purged')
  const hashes = new Set((await storedOps(origin.dataDir, 'p1')).flatMap((op) => (op.bodyHash ? [Buffer.from(op.bodyHash).toString('hex')] : [])))
  t.ok(confirmsGuess(origin.dataDir, guesses, hashes), 'control: before the purge the seed on disk confirms the guess')
  origin = await startDaemon({ t, dataDir: origin.dataDir, listen: origin.listen })
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
    t.same(kept.sort(), [...hashes].sort(), 'the kept hashes are the ones the attacker targets')
    t.notOk(confirmsGuess(d.dataDir, guesses, hashes), 'no kept hash confirms the exact purged text, alone or behind any 16 bytes on disk')
    const siblings = await storedOps(d.dataDir, 'keep')
    t.ok(siblings.length > 0 && siblings.every((op) => !op.seed && op.salt), "keep's operations lost the shared seed and kept their own salts")
  }
})
