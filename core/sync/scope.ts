/**
 * Scopes: what a user's key allows. A requested filter is narrowed to the key's partition
 * prefixes, so a session never sends or accepts an operation outside them.
 */
import type { Filter } from './wire/frames.js'
import { pollenError } from '../errors.js'
import { covers, normalizePrefixes } from '../model/partition.js'

/** The part of `requested` inside `scope`: requested prefixes the scope covers, or the scope's prefixes under them. */
export function narrowPrefixes(requested: readonly string[], scope: readonly string[]): string[] {
  const out: string[] = []
  for (const p of requested) {
    if (scope.some((q) => covers(q, p))) out.push(p)
    else out.push(...scope.filter((q) => covers(p, q)))
  }
  return normalizePrefixes(out)
}

/** Narrows a filter to a scope; refuses one that leaves nothing. */
export function narrowFilter(requested: Filter, scope: readonly string[], languages: readonly string[]): Filter {
  const prefixes = narrowPrefixes(requested.prefixes, scope)
  if (prefixes.length === 0) {
    throw pollenError('POLLEN_OUT_OF_SCOPE', `this key covers ${scope.map((s) => s || '(everything)').join(', ')}; nothing of ${requested.prefixes.map((s) => s || '(everything)').join(', ')} is inside it`)
  }
  return { prefixes, languages: requested.languages.filter((l) => languages.includes(l)) }
}
