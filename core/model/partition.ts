/**
 * Partitions are path-like strings of "/"-separated segments (`lib:who/user:u7`). A prefix
 * covers a partition segment-wise, so `lib:who/user:u7` never covers `lib:who/user:u70`.
 * The empty prefix covers everything.
 */
import { pollenError } from '../errors.js'

const SEGMENT = /^[\x21-\x2e\x30-\x7e\u00a0-\uffff]+$/ // printable, no "/" and no space

/** True when `prefix` covers `partition` (segment-wise). */
export function covers(prefix: string, partition: string): boolean {
  if (prefix === '') return true
  if (!partition.startsWith(prefix)) return false
  return partition.length === prefix.length || partition.charCodeAt(prefix.length) === 47 /* / */
}

/** True when `value` is a well-formed partition or prefix ("" is the root prefix). */
export function isPartition(value: unknown, allowRoot = false): value is string {
  if (typeof value !== 'string') return false
  if (value === '') return allowRoot
  if (value.length > 256) return false
  return value.split('/').every((s) => SEGMENT.test(s))
}

/** Throws POLLEN_INVALID_PARTITION unless `value` is a well-formed partition or prefix. */
export function assertPartition(value: unknown, what: string, allowRoot = false): string {
  if (!isPartition(value, allowRoot)) {
    throw pollenError('POLLEN_INVALID_PARTITION', `${what} ${JSON.stringify(value)} is not a partition: use "/"-separated segments of printable characters without spaces, such as "lib:who/user:u7"`)
  }
  return value
}

/** Every prefix of `partition` from the root down to itself: `"", "a", "a/b"`. */
export function ancestors(partition: string): string[] {
  const out = ['']
  if (partition === '') return out
  let i = partition.indexOf('/')
  while (i !== -1) {
    out.push(partition.slice(0, i))
    i = partition.indexOf('/', i + 1)
  }
  out.push(partition)
  return out
}

/** True when some prefix in `prefixes` covers `partition`. */
export function coveredByAny(prefixes: readonly string[], partition: string): boolean {
  return prefixes.some((p) => covers(p, partition))
}

/** Removes prefixes already covered by another one in the set; sorted, unique. */
export function normalizePrefixes(prefixes: readonly string[]): string[] {
  const unique = [...new Set(prefixes)].sort()
  return unique.filter((p) => !unique.some((q) => q !== p && covers(q, p)))
}
