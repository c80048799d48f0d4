/**
 * A resource's layer bodies as the named text fields a person compares: title and description
 * per language, and tags, links and files one per line. Shared by diffs and conflict views, so
 * both show a version the same way.
 */
import type { FileLink, LanguageBody, Link, NeutralBody } from './resource.js'

/** One comparable field: `title`/`description` carry their language. */
export interface FieldKey {
  field: 'title' | 'description' | 'tags' | 'links' | 'files'
  lang?: string
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const linkLine = (l: Link): string => (l.title ? `${l.url} (${l.title})` : l.url)
const fileLine = (f: FileLink): string => `${f.name} -> ${f.url}${f.size !== undefined ? ` (${f.size} bytes)` : ''}${f.sha256 ? ` sha256:${f.sha256}` : ''}`

/** The fields one layer's body holds ("" = the neutral layer), with their text; absent fields are left out. */
export function layerFields(layer: string, body: unknown): [FieldKey, string][] {
  if (!isObject(body)) return []
  if (layer === '') {
    const b = body as Partial<NeutralBody>
    const out: [FieldKey, string][] = []
    if (Array.isArray(b.tags) && b.tags.length) out.push([{ field: 'tags' }, b.tags.join('\n')])
    if (Array.isArray(b.links) && b.links.length) out.push([{ field: 'links' }, b.links.map(linkLine).join('\n')])
    if (Array.isArray(b.files) && b.files.length) out.push([{ field: 'files' }, b.files.map(fileLine).join('\n')])
    return out
  }
  const b = body as LanguageBody
  const out: [FieldKey, string][] = []
  if (typeof b.title === 'string') out.push([{ field: 'title', lang: layer }, b.title])
  if (typeof b.description === 'string') out.push([{ field: 'description', lang: layer }, b.description])
  return out
}

/** One layer's body as one text: what a person reads to judge a version in a conflict. */
export function layerText(layer: string, body: unknown): string {
  return layerFields(layer, body)
    .map(([k, text]) => (k.field === 'title' || k.field === 'description' ? text : `${k.field}: ${text.split('\n').join(', ')}`))
    .join('\n\n')
}

/** The key of a field in maps ("title:en", "tags"). */
export function fieldId(k: FieldKey): string {
  return k.lang === undefined ? k.field : `${k.field}:${k.lang}`
}

const ORDER: readonly FieldKey['field'][] = ['title', 'description', 'tags', 'links', 'files']

/** Orders fields as a resource shows them: title and description (by language), then the lists. */
export function compareFields(a: FieldKey, b: FieldKey): number {
  const byField = ORDER.indexOf(a.field) - ORDER.indexOf(b.field)
  if (byField !== 0) return byField
  return (a.lang ?? '') < (b.lang ?? '') ? -1 : (a.lang ?? '') > (b.lang ?? '') ? 1 : 0
}
