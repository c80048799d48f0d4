/**
 * LevelStore against the KVStore conformance suite, in memory (memory-level) and on disk
 * (classic-level in a temporary directory), plus the data-directory lock.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LevelStore } from '../../adapters/levelStore.js'
import { PollenError } from '../../core/errors.js'
import { runStoreConformance, type StoreFixture } from './storeConformance.js'

async function diskFixture(): Promise<StoreFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'pollen-store-'))
  let current = await LevelStore.openDisk(dir)
  return {
    store: current,
    reopen: async () => {
      await current.close()
      current = await LevelStore.openDisk(dir)
      return current
    },
    cleanup: async () => {
      await current.close()
      rmSync(dir, { recursive: true, force: true })
    },
    files: () => readdirSync(dir).map((f) => readFileSync(join(dir, f))),
  }
}

t.test('memory-level', async (t) => {
  await runStoreConformance(t, 'memory', async () => {
    const store = await LevelStore.openMemory()
    return { store, cleanup: () => store.close() }
  })
})

t.test('classic-level on disk', async (t) => {
  await runStoreConformance(t, 'disk', diskFixture)
})

/** The error opening `dir` fails with, or undefined when it opens (then it is closed again). */
async function openError(dir: string): Promise<unknown> {
  return LevelStore.openDisk(dir).then(
    async (s) => {
      await s.close()
      return undefined
    },
    (e: unknown) => e,
  )
}

t.test('a data directory held by another LevelStore is refused with POLLEN_DAEMON_RUNNING', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pollen-lock-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const first = await LevelStore.openDisk(dir)
  await first.write([{ type: 'put', key: 'k', value: new Uint8Array([1]) }])

  const err = await openError(dir)
  t.ok(err instanceof PollenError, 'opening it twice in one process fails with a PollenError')
  t.equal((err as PollenError | undefined)?.code, 'POLLEN_DAEMON_RUNNING', 'in-process lock maps to POLLEN_DAEMON_RUNNING')

  t.equal(Buffer.from((await first.get('k')) ?? []).toString('hex'), '01', 'the holder keeps working')
  await first.close()

  // The real case: a daemon in another process holds the directory.
  const storeModule = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'adapters', 'levelStore.js')
  const holderSrc = `const { LevelStore } = await import(${JSON.stringify(storeModule)}); const s = await LevelStore.openDisk(${JSON.stringify(dir)}); process.stdout.write('open\\n'); process.stdin.on('data', async () => { await s.close(); process.exit(0) })`
  const holder = spawn(process.execPath, ['--input-type=module', '-e', holderSrc], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve) => holder.on('exit', (c) => resolve(c)))
  t.teardown(() => {
    if (holder.exitCode === null) holder.kill('SIGKILL')
  })
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (d: Buffer) => d.toString().includes('open') && resolve())
    holder.on('exit', () => reject(new Error('the holder process exited before opening the store')))
  })
  const crossErr = await openError(dir)
  t.ok(crossErr instanceof PollenError, 'opening a directory another process holds fails with a PollenError')
  t.equal((crossErr as PollenError | undefined)?.code, 'POLLEN_DAEMON_RUNNING', 'cross-process lock maps to POLLEN_DAEMON_RUNNING')
  holder.stdin.write('close\n')
  t.equal(await exited, 0, 'the holder closes cleanly')

  const again = await LevelStore.openDisk(dir)
  t.equal(Buffer.from((await again.get('k')) ?? []).toString('hex'), '01', 'once released, the directory opens with its data')
  await again.close()
})

// LevelDB maps every table it keeps open, and the pages a read touches stay resident: the
// store must keep few tables open so a full scan of a big log does not pin it in memory.
t.test('a full scan of a store much larger than the table cache keeps at most 64 tables mapped', { skip: existsSync('/proc/self/maps') ? false : 'needs /proc (Linux)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pollen-mmap-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const store = await LevelStore.openDisk(dir)
  t.teardown(() => store.close())
  // 96 MiB of incompressible values under random keys: compaction rewrites them into tables
  // of the configured size, far more of them than the table cache holds.
  for (let b = 0; b < 96; b++) {
    await store.write(Array.from({ length: 16 }, () => ({ type: 'put' as const, key: `k${randomBytes(8).toString('hex')}`, value: new Uint8Array(randomBytes(64 * 1024)) })))
  }
  const tables = (): number => readdirSync(dir).filter((f) => f.endsWith('.ldb')).length
  // Counted once per look: while compaction runs, tables come and go between two reads of the directory.
  let seen = tables()
  for (let i = 0; i < 300 && seen <= 80; i++) {
    await new Promise((r) => setTimeout(r, 100))
    seen = tables()
  }
  t.ok(seen > 80, `compaction wrote tables of about 1 MiB (${seen} tables for 96 MiB)`)
  let bytes = 0
  for await (const [, v] of store.range({ gte: 'k', lt: 'l' })) bytes += v.length
  t.equal(bytes, 96 * 16 * 64 * 1024, 'the scan read every value')
  const mapped = new Set(readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes(dir) && l.endsWith('.ldb')).map((l) => l.split(/\s+/).pop()))
  t.ok(mapped.size > 0 && mapped.size <= 64, `between 1 and 64 tables stay mapped after the scan (${mapped.size} of ${tables()})`)
})
