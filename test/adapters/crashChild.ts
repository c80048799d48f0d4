/**
 * Child process of the crash test (test/adapters/crash.test.ts): opens a disk LevelStore, an
 * OpLog and a Library in the directory it is given and appends forever, printing
 * `<step> <counter>` after each committed step, until the parent SIGKILLs it.
 *
 * Usage: node crashChild.js DIR AUTHOR SEED
 * Without arguments (as when tap picks the file up on its own) it exits at once.
 */
import { randomUUID } from 'node:crypto'
import { LevelStore } from '../../adapters/levelStore.js'
import { Library } from '../../core/library/library.js'
import { OpLog } from '../../core/log/opLog.js'

export const CHILD_LANGUAGES = ['en', 'fr']

/** mulberry32: a small seeded PRNG so a failing trial can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

async function main(dir: string, author: string, seed: number): Promise<void> {
  const rand = prng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]
  const store = await LevelStore.openDisk(dir)
  const log = await OpLog.open(store, { author, languages: CHILD_LANGUAGES })
  const lib = new Library(log, { source: { name: 'crash' }, defaultPartition: 'lib:crash' })
  const purgedAlready = async (id: string): Promise<boolean> => {
    const s = await log.state('resource', id)
    return s !== undefined && s.deletes.length > 0 && s.deletes.every((d) => d.type === 'purge')
  }
  const live: string[] = []
  const dead: string[] = []
  const drop = (id: string) => {
    const i = live.indexOf(id)
    if (i >= 0) live.splice(i, 1)
  }
  let n = 0
  const resource = (id: string | undefined, both: boolean) => {
    n += 1
    const r: Record<string, unknown> = { title: { en: `title ${n}` }, description: { en: `text ${n} `.repeat(1 + Math.floor(rand() * 20)) }, tags: [`t${n % 7}`] }
    if (id) r.id = id
    if (both) {
      r.title = { en: `title ${n}`, fr: `titre ${n}` }
      r.description = { en: `text ${n}`, fr: `texte ${n}` }
    }
    return r
  }

  for (let step = 1; ; step++) {
    const roll = rand()
    if (roll < 0.35 || live.length < 3) {
      const { id } = await lib.put(resource(undefined, rand() < 0.5))
      live.push(id)
    } else if (roll < 0.65) {
      // An update of an earlier resource, usually in both languages, sometimes dropping French.
      await lib.put(resource(pick(live), rand() < 0.8))
    } else if (roll < 0.77) {
      const id = pick(live)
      await lib.delete(id)
      drop(id)
      dead.push(id)
    } else if (roll < 0.84 && dead.length > 0) {
      // Re-create a deleted (or purged) id: a put that saw the delete.
      const id = dead.splice(Math.floor(rand() * dead.length), 1)[0]
      await lib.put(resource(id, rand() < 0.5))
      live.push(id)
    } else if (roll < 0.9) {
      const items = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 && live.length > 0 ? resource(pick(live), true) : resource(randomUUID(), rand() < 0.5)))
      const before = new Set(live)
      await lib.import(items)
      for (const it of items) if (!before.has(it.id as string)) live.push(it.id as string)
    } else if (roll < 0.95) {
      const fromDead = dead.length > 0 && rand() < 0.5
      const id = fromDead ? dead.splice(Math.floor(rand() * dead.length), 1)[0] : pick(live)
      // Purging an id whose last removal was already a purge is refused (nothing left to drop).
      if ((await lib.status(id)) !== null || !(await purgedAlready(id))) await lib.delete(id, true)
      drop(id)
      dead.push(id)
    } else {
      const { id } = await lib.put(resource(undefined, true))
      live.push(id)
    }
    process.stdout.write(`${step} ${log.counter}\n`)
  }
}

const [dir, author, seed] = process.argv.slice(2)
if (dir && author && seed) {
  main(dir, author, Number(seed)).catch((err: unknown) => {
    process.stderr.write(`crash child failed: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exit(2)
  })
}
