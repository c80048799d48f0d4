// Tests of the bench dataset generator and the physical-limit arithmetic.
import t from 'tap'
import zlib from 'node:zlib'
import { generateResources, iterateResources, mutateResources, mulberry32, type Resource } from '../../bench/dataset.js'
import { brotliSize, limitMs, physicalLimit } from '../../bench/limit.js'

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('mulberry32 is deterministic and roughly uniform', async (t) => {
  const a = mulberry32(123)
  const b = mulberry32(123)
  const xs = Array.from({ length: 10_000 }, () => a())
  t.same(xs.slice(0, 5), Array.from({ length: 5 }, () => b()))
  t.ok(xs.every((x) => x >= 0 && x < 1))
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length
  t.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`)
})

t.test('same seed, same resources; other seed, other resources', async (t) => {
  t.same(generateResources(20, 7), generateResources(20, 7))
  t.notSame(generateResources(5, 7)[0], generateResources(5, 8)[0])
  // Resource i does not depend on the count, and the stream equals the array.
  const big = generateResources(100, 7)
  t.same(generateResources(10, 7), big.slice(0, 10))
  t.same([...iterateResources(100, 7)], big)
})

t.test('resources have the documented shape', async (t) => {
  const rs = generateResources(300, 1)
  t.equal(new Set(rs.map((r) => r.id)).size, rs.length, 'ids unique')
  for (const r of rs) {
    if (!GUID.test(r.id)) t.fail(`bad id ${r.id}`)
    for (const lang of ['en', 'fr', 'es'] as const) {
      if (!(r.title[lang].length > 0 && r.description[lang].length > 40)) t.fail(`short text in ${r.id}/${lang}`)
    }
    if (r.tags.length < 1 || new Set(r.tags).size !== r.tags.length) t.fail(`tags ${r.tags}`)
    if (r.files.length < 1) t.fail('no files')
    for (const f of r.files) {
      if (!/^[0-9a-f]{64}$/.test(f.sha256) || !(f.size > 0) || !f.url.endsWith(f.name)) t.fail(`bad file ${JSON.stringify(f)}`)
    }
    for (const l of r.links) if (!l.url.startsWith('https://') || l.title.length === 0) t.fail('bad link')
  }
  t.ok(new Set(rs.map((r) => r.partition)).size > 3, 'spread over partitions')
  t.ok(rs.some((r) => r.links.length > 0) && rs.some((r) => r.files.length > 1), 'optional parts vary')
})

t.test('1,000 resources: about 1.5 KB each and gzip like natural language', async (t) => {
  const json = Buffer.from(JSON.stringify(generateResources(1000, 42)))
  const mean = json.length / 1000
  const ratio = json.length / zlib.gzipSync(json).length
  t.ok(mean >= 1200 && mean <= 1800, `mean ${mean.toFixed(0)} B per resource`)
  t.ok(ratio >= 2.5 && ratio <= 4, `gzip ratio ${ratio.toFixed(2)}`)
  // A repeated string would compress far better: make sure text varies.
  const en = new Set(generateResources(200, 42).map((r) => r.description.en))
  t.equal(en.size, 200, 'no two English descriptions alike')
})

t.test('mutateResources changes n distinct resources and leaves the input alone', async (t) => {
  const base = generateResources(200, 3)
  const before = structuredClone(base)
  const changed = mutateResources(base, 25, 9)
  t.same(base, before, 'input not modified')
  t.equal(changed.length, 25)
  t.equal(new Set(changed.map((r) => r.id)).size, 25, 'distinct resources')
  const byId = new Map<string, Resource>(base.map((r) => [r.id, r]))
  for (const c of changed) {
    const orig = byId.get(c.id)
    t.ok(orig, 'same id as an existing resource')
    t.notSame(c, orig, 'content differs')
    t.equal(c.partition, orig?.partition, 'stays in its partition')
  }
  t.same(mutateResources(base, 25, 9), changed, 'deterministic')
  t.throws(() => mutateResources(base, 201, 1))
})

t.test('physical limit: brotli-11 size at link rate plus one RTT', async (t) => {
  const rs = generateResources(200, 5)
  const json = JSON.stringify(rs)
  const gz = zlib.gzipSync(json).length
  const br = await brotliSize(json)
  t.ok(br > 0 && br < gz, `brotli ${br} < gzip ${gz}`)
  const lim = await physicalLimit(rs, { rateBps: 1_000_000, rttMs: 200 })
  t.equal(lim.bytes, br, 'limit uses the JSON array as one stream')
  t.equal(lim.ms, (br * 8 * 1000) / 1_000_000 + 200)
  t.equal(limitMs(12345, { rateBps: Infinity, rttMs: 50 }), 50, 'unlimited rate: one RTT')
  t.equal(limitMs(125_000, { rateBps: 1_000_000, rttMs: 0 }), 1000)
})

t.test('the catalogue text model: same shape, reproducible, and far more compressible than the word model', async (t) => {
  const words = generateResources(500, 3)
  const cat = generateResources(500, 3, { text: 'catalogue' })
  t.same(cat, generateResources(500, 3, { text: 'catalogue' }), 'same seed, same resources')
  t.same(cat.slice(0, 10), generateResources(10, 3, { text: 'catalogue' }), 'resource i does not depend on the count')
  t.same(cat.map((r) => r.id), words.map((r) => r.id), 'the text model changes the text, not the ids')
  for (const r of cat) {
    for (const lang of ['en', 'fr', 'es'] as const) {
      if (!(r.title[lang].length > 10 && r.description[lang].length > 150)) t.fail(`short text in ${r.id}/${lang}`)
    }
  }
  t.ok(cat[0].description.fr.includes(' les ') || cat[0].description.fr.includes(' de '), 'the French text is French')
  t.equal(new Set(cat.map((r) => r.description.en)).size, cat.length, 'no two descriptions are the same')
  const ratio = async (rs: Resource[]): Promise<number> => {
    const raw = Buffer.from(JSON.stringify(rs))
    return raw.length / (await brotliSize(raw))
  }
  const w = await ratio(words)
  const c = await ratio(cat)
  t.ok(c > 1.5 * w, `brotli-11 ratio: catalogue ${c.toFixed(2)}×, words ${w.toFixed(2)}×`)
})
