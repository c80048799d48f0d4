/**
 * Parses the text of `pollen resource import`: a JSON array, or NDJSON (one resource per
 * line). A malformed NDJSON line is reported as that item's error and the rest still land.
 */
import { pollenError } from '../core/errors.js'

export type ParsedItem = { ok: true; value: unknown } | { ok: false; line: number; message: string }

export function parseImportText(text: string): ParsedItem[] {
  const trimmed = text.trim()
  if (trimmed === '') throw pollenError('POLLEN_INVALID_JSON', 'the import is empty: give a JSON array of resources or one JSON resource per line')
  if (trimmed.startsWith('[')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(trimmed)
    } catch (cause) {
      throw pollenError('POLLEN_INVALID_JSON', `the import looks like a JSON array but is not valid JSON: ${(cause as Error).message}`, { cause })
    }
    if (!Array.isArray(parsed)) throw pollenError('POLLEN_INVALID_JSON', 'the import must be a JSON array')
    return parsed.map((value) => ({ ok: true, value }))
  }
  const out: ParsedItem[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    try {
      out.push({ ok: true, value: JSON.parse(line) })
    } catch (err) {
      out.push({ ok: false, line: i + 1, message: `line ${i + 1} is not valid JSON: ${(err as Error).message}` })
    }
  })
  return out
}
