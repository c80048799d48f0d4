/**
 * The built-in `resource` kind: validation of what a user puts, the split into layer bodies
 * (language-neutral fields in one, each language's text in its own), and the view assembled
 * back from the winning layers. File bytes are never synced: a file is a link to its origin.
 */
import type { ReviewRecord, ReviewStatus } from '../log/projection.js'
import { randomUUID } from 'node:crypto'
import { pollenError } from '../errors.js'
import { LANG_RE } from '../model/operation.js'
import { isPartition } from '../model/partition.js'

export interface Link {
  url: string
  title?: string
}

export interface FileLink {
  name: string
  url: string
  size?: number
  sha256?: string
}

export interface Source {
  instance: string
  name?: string
  url?: string
}

/** What a user writes: text fields map language → text. */
export interface ResourceInput {
  id: string
  partition?: string
  title: Record<string, string>
  description: Record<string, string>
  tags: string[]
  links: Link[]
  files: FileLink[]
}

/** Body of the language-neutral operation. */
export interface NeutralBody {
  tags: string[]
  links: Link[]
  files: FileLink[]
  source: Source
}

/** Body of one language's operation. */
export interface LanguageBody {
  title?: string
  description?: string
}

export type { ReviewRecord, ReviewStatus }

/** A resource as readers see it. */
export interface ResourceView {
  id: string
  kind: 'resource'
  partition: string
  title: Record<string, string>
  description: Record<string, string>
  languages: string[]
  tags: string[]
  links: Link[]
  files: FileLink[]
  source: Source
  updated: string
  status: ReviewStatus
  origin: string
  conflicts: number
  /** This instance's decision about it, when one was made (resources from peers only). */
  review?: ReviewRecord
}

const ID_RE = /^[\x21-\x7e]{1,128}$/
/** Fields of a view that may come back in a put (read-only; ignored). */
const READ_ONLY = new Set(['kind', 'languages', 'source', 'updated', 'status', 'origin', 'conflicts', 'review'])
const WRITABLE = new Set(['id', 'partition', 'title', 'description', 'tags', 'links', 'files'])

function invalid(message: string, field: string): never {
  throw pollenError('POLLEN_INVALID_RESOURCE', message, { details: { field } })
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function text(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string') invalid(`${field} must be a string`, field)
  if (v.length > max) invalid(`${field} is longer than ${max} characters`, field)
  return v
}

function langMap(v: unknown, field: string, max: number, required: boolean): Record<string, string> {
  if (v === undefined && !required) return {}
  if (!isObject(v)) invalid(`${field} must be an object mapping language codes to text, such as {"en": "..."}`, field)
  const out: Record<string, string> = {}
  for (const [lang, t] of Object.entries(v)) {
    if (!LANG_RE.test(lang)) invalid(`${field} has "${lang}", which is not a language code such as "en" or "pt-BR"`, `${field}.${lang}`)
    out[lang] = text(t, `${field}.${lang}`, max)
  }
  if (required && Object.keys(out).length === 0) invalid(`${field} needs text in at least one language`, field)
  return out
}

function url(v: unknown, field: string): string {
  const s = text(v, field, 2048)
  let parsed: URL
  try {
    parsed = new URL(s)
  } catch {
    invalid(`${field} is not an absolute URL: ${JSON.stringify(s)}`, field)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') invalid(`${field} must be an http:// or https:// URL`, field)
  return s
}

function list<T>(v: unknown, field: string, max: number, item: (x: unknown, f: string) => T): T[] {
  if (v === undefined) return []
  if (!Array.isArray(v)) invalid(`${field} must be an array`, field)
  if (v.length > max) invalid(`${field} has more than ${max} entries`, field)
  return v.map((x, i) => item(x, `${field}[${i}]`))
}

function only(obj: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) invalid(`${field} has an unknown field "${k}" (allowed: ${allowed.join(', ')})`, `${field}.${k}`)
}

/**
 * Validates a resource as a user wrote it. Missing id: a new GUID is made. Unknown fields
 * are refused (so a typo never silently drops data); the read-only fields of a view are
 * ignored so that `get --json` output can be edited and put back.
 */
export function parseResource(raw: unknown): ResourceInput {
  if (!isObject(raw)) invalid('a resource must be a JSON object', '')
  for (const k of Object.keys(raw)) {
    if (!WRITABLE.has(k) && !READ_ONLY.has(k)) invalid(`unknown field "${k}"; a resource has id, partition, title, description, tags, links and files`, k)
  }
  const id = raw.id === undefined ? randomUUID() : text(raw.id, 'id', 128)
  if (!ID_RE.test(id)) invalid('id must be 1 to 128 printable characters without spaces', 'id')
  let partition: string | undefined
  if (raw.partition !== undefined) {
    if (!isPartition(raw.partition)) invalid(`partition ${JSON.stringify(raw.partition)} is not a partition such as "lib:who/user:u7"`, 'partition')
    partition = raw.partition
  }
  const title = langMap(raw.title, 'title', 1000, true)
  const description = langMap(raw.description, 'description', 20000, false)
  const tags = list(raw.tags, 'tags', 200, (x, f) => {
    const t = text(x, f, 200)
    if (t.trim() === '') invalid(`${f} is empty`, f)
    return t
  })
  const links = list(raw.links, 'links', 200, (x, f): Link => {
    if (!isObject(x)) invalid(`${f} must be an object {url, title}`, f)
    only(x, ['url', 'title'], f)
    return x.title === undefined ? { url: url(x.url, `${f}.url`) } : { url: url(x.url, `${f}.url`), title: text(x.title, `${f}.title`, 1000) }
  })
  const files = list(raw.files, 'files', 200, (x, f): FileLink => {
    if (!isObject(x)) invalid(`${f} must be an object {name, url, size, sha256}`, f)
    only(x, ['name', 'url', 'size', 'sha256'], f)
    const out: FileLink = { name: text(x.name, `${f}.name`, 1000), url: url(x.url, `${f}.url`) }
    if (x.size !== undefined) {
      if (!Number.isSafeInteger(x.size) || (x.size as number) < 0) invalid(`${f}.size must be a whole number of bytes`, `${f}.size`)
      out.size = x.size as number
    }
    if (x.sha256 !== undefined) {
      if (typeof x.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(x.sha256)) invalid(`${f}.sha256 must be 64 lowercase hex digits`, `${f}.sha256`)
      out.sha256 = x.sha256
    }
    return out
  })
  const input: ResourceInput = { id, title, description, tags, links, files }
  if (partition !== undefined) input.partition = partition
  return input
}

/** The languages a resource input has text in. */
export function inputLanguages(r: ResourceInput): string[] {
  return [...new Set([...Object.keys(r.title), ...Object.keys(r.description)])].sort()
}

/** Splits a resource into the body of each layer ("" = neutral). */
export function splitResource(r: ResourceInput, source: Source): Map<string, NeutralBody | LanguageBody> {
  const out = new Map<string, NeutralBody | LanguageBody>()
  out.set('', { tags: r.tags, links: r.links, files: r.files, source })
  for (const lang of inputLanguages(r)) {
    const body: LanguageBody = {}
    if (r.title[lang] !== undefined) body.title = r.title[lang]
    if (r.description[lang] !== undefined) body.description = r.description[lang]
    out.set(lang, body)
  }
  return out
}

/** Assembles the view from the decoded winning body of each visible layer. */
export function assembleResource(
  meta: { id: string; partition: string; origin: string; updated: string; status: ReviewStatus; conflicts: number },
  layers: Map<string, unknown>,
): ResourceView {
  const neutral = (layers.get('') ?? {}) as Partial<NeutralBody>
  const title: Record<string, string> = {}
  const description: Record<string, string> = {}
  for (const [lang, raw] of [...layers.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (lang === '' || !isObject(raw)) continue
    const body = raw as LanguageBody
    if (typeof body.title === 'string') title[lang] = body.title
    if (typeof body.description === 'string') description[lang] = body.description
  }
  return {
    id: meta.id,
    kind: 'resource',
    partition: meta.partition,
    title,
    description,
    languages: [...new Set([...Object.keys(title), ...Object.keys(description)])].sort(),
    tags: neutral.tags ?? [],
    links: neutral.links ?? [],
    files: neutral.files ?? [],
    source: neutral.source ?? { instance: meta.origin },
    updated: meta.updated,
    status: meta.status,
    origin: meta.origin,
    conflicts: meta.conflicts,
  }
}
