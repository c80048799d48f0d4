/**
 * Physical limits with a cache: brotli-11 of ten thousand resources takes most of a
 * minute, so sizes are kept under os.tmpdir() by the payload's sha256 and reused by
 * later runs (a changed dataset has another hash, so a stale size is never used).
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { brotliSize, limitMs, type LimitLink, type PhysicalLimit } from './limit.js'

const FILE = path.join(os.tmpdir(), 'pollen-bench-cache', 'brotli-sizes.json')

function load(): Record<string, number> {
  try {
    return JSON.parse(fs.readFileSync(FILE, 'utf8')) as Record<string, number>
  } catch {
    return {}
  }
}

/** Brotli-11 size of `payload`, from the cache when this exact payload was measured before. */
export async function cachedBrotliSize(payload: string): Promise<number> {
  const hash = createHash('sha256').update(payload).digest('hex')
  const hit = load()[hash]
  if (hit !== undefined) return hit
  const size = await brotliSize(payload)
  const all = { ...load(), [hash]: size }
  fs.mkdirSync(path.dirname(FILE), { recursive: true })
  fs.writeFileSync(FILE, JSON.stringify(all, null, 1))
  return size
}

/** The physical limit of sending `payload` (JSON text) over `link` (see limit.ts). */
export async function limitFor(payload: string, link: LimitLink): Promise<PhysicalLimit> {
  const bytes = await cachedBrotliSize(payload)
  return { bytes, ms: limitMs(bytes, link) }
}
