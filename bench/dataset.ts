/**
 * Seeded generator of realistic library resources for the bench (about 1.5 KB of JSON
 * each, text that gzips about 3× like natural language). Everything comes from a small
 * PRNG seeded per resource, so resource i is the same whatever the count, a stream of a
 * million resources needs no memory, and a run is reproducible from its seed.
 */
import { catalogueDescription, catalogueTitle, drawSlots } from './catalogue.js'
import { PARTITIONS, TAGS, VOCABULARY } from './vocab.js'

export type Lang = 'en' | 'fr' | 'es'
export type Localized = Record<Lang, string>

/** One library record as the bench syncs it. */
export interface Resource {
  id: string
  partition: string
  title: Localized
  description: Localized
  tags: string[]
  links: { url: string; title: string }[]
  files: { name: string; url: string; size: number; sha256: string }[]
}

/**
 * How titles and descriptions are written: `words`, Zipf-drawn words (gzips about 3×, like
 * natural language); `catalogue`, shared training-catalogue phrasing with slots
 * (`catalogue.ts`), which compresses far better.
 */
export type TextModel = 'words' | 'catalogue'

/** Options for {@link generateResources}. */
export interface DatasetOptions {
  /** The text model. Default `words` (the bench's main dataset). */
  text?: TextModel
  /** Partitions to spread resources over. Default: eight library partitions. */
  partitions?: readonly string[]
  /** Base of file and link URLs. Default `https://library.example.org`. */
  baseUrl?: string
}

const LANGS: readonly Lang[] = ['en', 'fr', 'es']

/** mulberry32: tiny, fast and good enough for test data; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Mixes two 32-bit values (murmur3 finaliser) so neighbouring indices get unrelated seeds. */
function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b, 0x9e3779b1)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Cumulative Zipf weights (s = 1) for n ranks, for sampling by binary search. */
function zipfTable(n: number): Float64Array {
  const cum = new Float64Array(n)
  let sum = 0
  for (let r = 0; r < n; r++) {
    sum += 1 / (r + 1)
    cum[r] = sum
  }
  for (let r = 0; r < n; r++) cum[r] /= sum
  return cum
}

const ZIPF = {
  en: zipfTable(VOCABULARY.en.length),
  fr: zipfTable(VOCABULARY.fr.length),
  es: zipfTable(VOCABULARY.es.length),
  tags: zipfTable(TAGS.length),
}

function zipfPick<T>(rand: () => number, items: readonly T[], cum: Float64Array): T {
  const u = rand()
  let lo = 0
  let hi = cum.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cum[mid] < u) lo = mid + 1
    else hi = mid
  }
  return items[lo]
}

function int(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1))
}

function hex(rand: () => number, chars: number): string {
  let s = ''
  while (s.length < chars) s += ((rand() * 0x100000000) >>> 0).toString(16).padStart(8, '0')
  return s.slice(0, chars)
}

/** A version-4-shaped GUID from the PRNG (not crypto-random; reproducible on purpose). */
function guid(rand: () => number): string {
  const h = hex(rand, 32)
  const variant = '89ab'[int(rand, 0, 3)]
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

function sentence(rand: () => number, lang: Lang, minWords: number, maxWords: number): string {
  const n = int(rand, minWords, maxWords)
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    let w = zipfPick(rand, VOCABULARY[lang], ZIPF[lang])
    // Real text rarely repeats a word back to back ("the the"); draw again once.
    if (w === out[i - 1]) w = zipfPick(rand, VOCABULARY[lang], ZIPF[lang])
    out.push(w)
  }
  // Occasional commas give the text natural-looking punctuation.
  if (n > 8 && rand() < 0.5) out[int(rand, 3, n - 3)] += ','
  const s = out.join(' ')
  return s.charAt(0).toUpperCase() + s.slice(1) + '.'
}

function title(rand: () => number, lang: Lang): string {
  return sentence(rand, lang, 3, 8).slice(0, -1)
}

function description(rand: () => number, lang: Lang): string {
  const sentences = int(rand, 3, 5)
  const out: string[] = []
  for (let i = 0; i < sentences; i++) out.push(sentence(rand, lang, 5, 16))
  return out.join(' ')
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40)
}

function wordTexts(rand: () => number): { title: Localized; description: Localized } {
  const t = { en: title(rand, 'en'), fr: title(rand, 'fr'), es: title(rand, 'es') }
  return { title: t, description: { en: description(rand, 'en'), fr: description(rand, 'fr'), es: description(rand, 'es') } }
}

/** Topics skip the commonest ranks (function words) so they read as subjects. */
const TOPIC_FROM_RANK = 60

function topicWords(rand: () => number, lang: Lang): string {
  const words = VOCABULARY[lang]
  const pick = (): string => words[TOPIC_FROM_RANK + Math.floor(rand() * (words.length - TOPIC_FROM_RANK))]
  return `${pick()} ${pick()}`
}

function catalogueTexts(rand: () => number): { title: Localized; description: Localized } {
  const slots = drawSlots(rand, { en: topicWords(rand, 'en'), fr: topicWords(rand, 'fr'), es: topicWords(rand, 'es') })
  const title = { en: catalogueTitle('en', slots), fr: catalogueTitle('fr', slots), es: catalogueTitle('es', slots) }
  const extra = (lang: Lang): string => sentence(rand, lang, 8, 16)
  return { title, description: { en: catalogueDescription('en', slots, extra('en')), fr: catalogueDescription('fr', slots, extra('fr')), es: catalogueDescription('es', slots, extra('es')) } }
}

const EXTENSIONS = ['pdf', 'pdf', 'pdf', 'mp4', 'pptx', 'docx', 'mp3', 'epub']

/** Builds resource `index` of the dataset with seed `seed`. */
export function generateResource(index: number, seed: number, opts: DatasetOptions = {}): Resource {
  const rand = mulberry32(mix(seed, index))
  const partitions = opts.partitions ?? PARTITIONS
  const base = opts.baseUrl ?? 'https://library.example.org'
  const id = guid(rand)
  const { title: t, description: desc } = opts.text === 'catalogue' ? catalogueTexts(rand) : wordTexts(rand)
  const tagCount = int(rand, 2, 6)
  const tags = new Set<string>()
  for (let i = 0; i < tagCount; i++) tags.add(zipfPick(rand, TAGS, ZIPF.tags))
  const links = Array.from({ length: int(rand, 0, 2) }, () => {
    const lt = title(rand, LANGS[int(rand, 0, 2)])
    return { url: `${base}/articles/${slug(lt)}-${int(rand, 100, 99999)}`, title: lt }
  })
  const stem = slug(t.en)
  const files = Array.from({ length: int(rand, 1, 2) }, (_, k) => {
    const ext = EXTENSIONS[int(rand, 0, EXTENSIONS.length - 1)]
    const name = `${stem}${k ? `-${k + 1}` : ''}.${ext}`
    return {
      name,
      url: `${base}/files/${id.slice(0, 8)}/${name}`,
      // Log-uniform 20 KB – 200 MB, the spread of real training files.
      size: Math.round(Math.exp(Math.log(2e4) + rand() * Math.log(1e4))),
      sha256: hex(rand, 64),
    }
  })
  return {
    id,
    partition: partitions[int(rand, 0, partitions.length - 1)],
    title: t,
    description: desc,
    tags: [...tags],
    links,
    files,
  }
}

/**
 * Lazily yields resources `0 … count-1` for `seed`, for datasets too big to hold in
 * memory. Resource i is identical to `generateResources(n, seed)[i]` for any n > i.
 */
export function* iterateResources(count: number, seed: number, opts: DatasetOptions = {}): Generator<Resource> {
  for (let i = 0; i < count; i++) yield generateResource(i, seed, opts)
}

/** Generates `count` resources for `seed` (see {@link iterateResources} for streams). */
export function generateResources(count: number, seed: number, opts: DatasetOptions = {}): Resource[] {
  return Array.from(iterateResources(count, seed, opts))
}

/**
 * Picks `n` distinct resources (seeded) and returns changed copies with the same ids: an
 * edited title, a rewritten or extended description in one language, re-tagging, and now
 * and then a new file version. The inputs are not modified.
 */
export function mutateResources(resources: readonly Resource[], n: number, seed: number): Resource[] {
  if (n > resources.length) throw new RangeError(`cannot change ${n} of ${resources.length} resources`)
  const rand = mulberry32(mix(seed, 0x6d757461))
  // Partial Fisher–Yates over indices: n distinct picks without building a full shuffle's worth of copies.
  const idx = Array.from({ length: resources.length }, (_, i) => i)
  const out: Resource[] = []
  for (let k = 0; k < n; k++) {
    const j = k + Math.floor(rand() * (idx.length - k))
    ;[idx[k], idx[j]] = [idx[j], idx[k]]
    const r = structuredClone(resources[idx[k]])
    const lang = LANGS[int(rand, 0, 2)]
    r.title[lang] = title(rand, lang)
    if (rand() < 0.5) r.description[lang] = description(rand, lang)
    else r.description[lang] += ' ' + sentence(rand, lang, 5, 14)
    if (rand() < 0.4) r.tags = [...new Set([...r.tags, zipfPick(rand, TAGS, ZIPF.tags)])]
    if (rand() < 0.3 && r.files.length > 0) {
      const f = r.files[int(rand, 0, r.files.length - 1)]
      f.size = Math.max(1, Math.round(f.size * (0.8 + rand() * 0.4)))
      f.sha256 = hex(rand, 64)
    }
    out.push(r)
  }
  return out
}
