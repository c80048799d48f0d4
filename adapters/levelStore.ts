/**
 * KVStore over abstract-level: classic-level (LevelDB on disk) for the daemon, memory-level
 * for core unit tests. Both run the same conformance suite (test/adapters/storeConformance.ts).
 */
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import type { AbstractLevel } from 'abstract-level'
import { pollenError } from '../core/errors.js'
import type { BatchOp, KeyRange, KVStore } from '../core/log/store.js'

type Level = AbstractLevel<string | Buffer | Uint8Array, string, Uint8Array>

/**
 * Bytes one native read of an iterator may fill. classic-level's default, 16 KiB, meant a
 * threadpool round trip per 16 operations of about 1 KB while a diff or a rebuild reads the
 * whole log: a rebuild of 1M operations took 32–33 s with it, 19–24 s with 64 KiB, 256 KiB
 * or 1 MiB (`node dist/bench/probe.js DIR 250000 0 --rebuild`, alternating runs). Larger
 * reads keep each batch alive across more young-generation collections, so the middle one.
 */
const READ_BYTES = 256 * 1024

function levelRange(r: KeyRange): Record<string, unknown> {
  const out: Record<string, unknown> = { highWaterMarkBytes: READ_BYTES }
  for (const k of ['gt', 'gte', 'lt', 'lte', 'limit', 'reverse'] as const) if (r[k] !== undefined) out[k] = r[k]
  return out
}

function storageError(what: string, cause: unknown): never {
  const code = (cause as { code?: string })?.code
  if (code === 'LEVEL_LOCKED' || code === 'LEVEL_DATABASE_NOT_OPEN' && String((cause as Error)?.cause).includes('lock')) {
    throw pollenError('POLLEN_DAEMON_RUNNING', `the data directory is locked by another process (is a daemon already running on it?)`, { cause })
  }
  throw pollenError('POLLEN_STORAGE', `storage failed while ${what}: ${(cause as Error)?.message ?? String(cause)}`, { cause })
}

/**
 * LevelDB reads tables through mmap and keeps a table mapped while it is in its table cache
 * (maxOpenFiles − 10 entries), so every page a scan touches stays resident (RssFile) until the
 * table leaves the cache. These are LevelDB's smallest settings (it raises lower ones): 64
 * cached tables of 1 MiB, about 64 MiB mapped however large the log. Serving a pull of 400,000
 * operations, the daemon's file-backed pages peaked at 196 MiB with the defaults (1000 files,
 * 2 MiB tables) and at 107 MiB with these, about 40 MiB of each being the node binary. A
 * table-cache miss reopens a table (footer, index, filter); since the record filter
 * (core/log/presenceFilteredStore.ts) answers a bulk pull's reads of new records, that no longer
 * shows beyond this machine's noise. In 8 alternating runs of 100,000 resources against the
 * defaults, medians: pull 18.9k against 19.5k operations/s, CPU 14.0 s against 14.0 s on the
 * serving side and 23.6 s against 23.6 s on the receiving side.
 */
const DISK_OPTIONS = { maxOpenFiles: 74, maxFileSize: 1024 * 1024 } as const

/** A KVStore backed by any abstract-level database with utf8 keys and byte values. */
export class LevelStore implements KVStore {
  readonly #db: Level
  /** LevelDB's manual compaction; none for memory-level, which keeps no old values. */
  readonly #compactRange: ((start: string, end: string) => Promise<void>) | undefined

  private constructor(db: Level, compactRange?: (start: string, end: string) => Promise<void>) {
    this.#db = db
    this.#compactRange = compactRange
  }

  /** Opens (creating if needed) a LevelDB directory. */
  static async openDisk(location: string): Promise<LevelStore> {
    const classic = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view', ...DISK_OPTIONS })
    const db = classic as unknown as Level
    try {
      await db.open()
    } catch (err) {
      storageError(`opening ${location}`, err)
    }
    return new LevelStore(db, (start, end) => classic.compactRange(start, end))
  }

  /** An in-memory store, for unit tests of core. */
  static async openMemory(): Promise<LevelStore> {
    const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as Level
    await db.open()
    return new LevelStore(db)
  }

  async get(k: string): Promise<Uint8Array | undefined> {
    try {
      const v = await this.#db.get(k)
      return v ?? undefined
    } catch (err) {
      if ((err as { code?: string }).code === 'LEVEL_NOT_FOUND') return undefined
      storageError(`reading a key`, err)
    }
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return []
    try {
      const values = await this.#db.getMany([...keys])
      return values.map((v) => v ?? undefined)
    } catch (err) {
      storageError('reading keys', err)
    }
  }

  // Entries are fetched a thousand at a time: one native call per batch instead of per entry.
  range(r: KeyRange): AsyncIterable<[string, Uint8Array]> {
    return batched(() => this.#db.iterator(levelRange(r)) as unknown as BatchIterator<[string, Uint8Array]>)
  }

  keys(r: KeyRange): AsyncIterable<string> {
    return batched(() => this.#db.keys(levelRange(r)) as unknown as BatchIterator<string>)
  }

  /**
   * Writes through a chained batch, one native call per entry: the array form makes
   * abstract-level copy every entry into a new object and classic-level read each back
   * property by property, 2.0–2.3 µs of main thread per entry against 0.8–0.9 µs (1,000-entry
   * batches of 440-byte values), and a pull or an import writes about 1.75 entries per operation.
   */
  async write(ops: readonly BatchOp[]): Promise<void> {
    if (ops.length === 0) return
    let batch: ReturnType<Level['batch']> | undefined
    try {
      batch = this.#db.batch()
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value)
        else batch.del(op.key)
      }
      await batch.write()
    } catch (err) {
      // Closing is idempotent: a batch that write() already closed is left as it is.
      await batch?.close().catch(() => undefined)
      storageError('writing a batch', err)
    }
  }

  /**
   * LevelDB's compactRange flushes the write buffer to a table and merges the tables that
   * overlap the range level by level, dropping shadowed values. But the flushed table may be
   * placed straight on the deepest level that holds the range, and a table there is never an
   * input of compactRange: it kept both the old and the new value (shown by a test of the
   * conformance suite). Writing the range's current entries again and compacting once more
   * puts a newer table above it, and merging that one down rewrites it without the old values.
   */
  async compact(range: { gte: string; lte: string }): Promise<void> {
    const compactRange = this.#compactRange
    if (!compactRange) return
    try {
      await compactRange(range.gte, range.lte)
      const current: BatchOp[] = []
      for await (const [key, value] of this.range(range)) current.push({ type: 'put', key, value })
      if (current.length === 0) return
      await this.write(current)
      await compactRange(range.gte, range.lte)
    } catch (err) {
      storageError('compacting', err)
    }
  }

  async close(): Promise<void> {
    await this.#db.close()
  }
}

/** The part of an abstract-level iterator that `batched` uses. */
interface BatchIterator<T> {
  nextv(size: number): Promise<T[]>
  close(): Promise<void>
}

/**
 * Iterates a level iterator a thousand entries per native call. Hand-written rather than an
 * async generator: a generator's every `yield` costs several promise ticks, and a diff reads
 * every operation of a log through here (about a third less CPU per entry read); `next`
 * resolves at once from the fetched batch. The iterator is closed when it runs out, fails,
 * or the consumer stops early (`return`).
 */
function batched<T>(open: () => BatchIterator<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = open()
      let batch: T[] = []
      let i = 0
      let closed = false
      const close = async (): Promise<IteratorResult<T>> => {
        batch = []
        if (!closed) {
          closed = true
          await it.close()
        }
        return { value: undefined, done: true }
      }
      return {
        async next(): Promise<IteratorResult<T>> {
          if (i < batch.length) return { value: batch[i++], done: false }
          if (closed) return { value: undefined, done: true }
          try {
            batch = await it.nextv(1000)
          } catch (err) {
            await close()
            throw err
          }
          i = 0
          return batch.length > 0 ? { value: batch[i++], done: false } : close()
        },
        return: close,
      }
    },
  }
}
