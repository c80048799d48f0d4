/** Builds in-memory instances for core unit tests (real LevelDB is for adapter and daemon tests). */
import { randomBytes } from 'node:crypto'
import { LevelStore } from '../../adapters/levelStore.js'
import { OpLog } from '../../core/log/opLog.js'
import { Library } from '../../core/library/library.js'

export interface TestInstance {
  log: OpLog
  lib: Library
  store: LevelStore
}

/** A fresh author id: 32 hex digits and epoch 1. */
export function newAuthor(): string {
  return `${randomBytes(16).toString('hex')}.1`
}

export async function memoryInstance(opts: { author?: string; languages?: string[]; now?: () => number } = {}): Promise<TestInstance> {
  const store = await LevelStore.openMemory()
  const log = await OpLog.open(store, { author: opts.author ?? newAuthor(), languages: opts.languages ?? ['en', 'fr', 'es'], now: opts.now })
  const lib = new Library(log, { source: { name: 'test' }, defaultPartition: 'lib' })
  return { log, lib, store }
}

/** Every operation in a log, in key order. */
export async function allOps(log: OpLog) {
  const out = []
  for (const a of log.authors()) for await (const op of log.scanAuthor(a, 0)) out.push(op)
  return out
}

/** Every key/value under the projection families, as hex, for byte-equality checks. */
export async function projectionDump(store: LevelStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const family of ['R\u0000', 'S\u0000', 'C\u0000']) {
    for await (const [k, v] of store.range({ gte: family, lt: family + '\uffff' })) out[k] = Buffer.from(v).toString('hex')
  }
  return out
}
