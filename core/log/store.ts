/**
 * The narrow storage interface core runs on. Adapters implement it over classic-level (disk)
 * and memory-level (unit tests); both pass one conformance suite. Keys are strings whose
 * byte order is the order the log needs; values are bytes.
 */

/** One write in an atomic batch. */
export type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }

/** A key range; bounds are optional, as in abstract-level. */
export interface KeyRange {
  gt?: string
  gte?: string
  lt?: string
  lte?: string
  limit?: number
  reverse?: boolean
}

/** Ordered key-value storage with atomic batches. */
export interface KVStore {
  /** The value of a key, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>
  /** Values of many keys at once, in order. */
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]>
  /** Entries in key order (or reverse) within a range. */
  range(range: KeyRange): AsyncIterable<[string, Uint8Array]>
  /** Keys only, in key order within a range. */
  keys(range: KeyRange): AsyncIterable<string>
  /** Applies every write or none (one LevelDB batch). */
  write(ops: readonly BatchOp[]): Promise<void>
  /**
   * Makes storage forget the values that keys in `[gte, lte]` held before: once it resolves,
   * no file the store keeps holds an overwritten or deleted value of the range (LevelDB keeps
   * old values in its files until a compaction merges them away). Current values stay. A
   * purge calls it so that dropped text leaves the disk. Writes to the range must not run
   * while it does (the log calls it under its write lock).
   */
  compact(range: { gte: string; lte: string }): Promise<void>
  /** Flushes and releases the store. */
  close(): Promise<void>
}

/** Every key starting with `prefix`, as a range. */
export function prefixRange(prefix: string, extra: Omit<KeyRange, 'gt' | 'gte' | 'lt' | 'lte'> = {}): KeyRange {
  return { gte: prefix, lt: prefix + '\uffff', ...extra }
}
