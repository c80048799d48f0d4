/**
 * The layer rule of core/ (docs/architecture.md), read from the sources: each folder imports
 * only the layers below it, nothing in core/ reaches the edges (adapters/, daemon/) or does
 * I/O, and each folder opens with a one-line purpose. A new import across the rule fails here.
 * Two rules hold for the whole tree: only core/log spells storage keys, and no module imports
 * itself through others (a dynamic import hid daemon/config.ts ↔ daemon/configSources.ts).
 */
import t from 'tap'
import { repoRoot } from '../helpers/repoRoot.js'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const root = repoRoot()
const core = join(root, 'core')

/** Layer of a file under core/: its folder ('sync/wire', 'model', ...) or '' for core/ itself. */
const layerOf = (file: string): string => relative(core, dirname(file)).split('\\').join('/')

/** Who may import whom; every layer may import its own files and core/errors, core/msgpack. */
const ALLOWED: Record<string, readonly string[]> = {
  '': [],
  model: [],
  log: ['model'],
  library: ['log', 'model'],
  access: ['log', 'model'],
  'sync/wire': ['model'],
  sync: ['sync/wire', 'library', 'access', 'log', 'model'],
}

/** Packages core may use: pure computation (hashing, signatures, compression, encoding). */
const PACKAGES = new Set(['node:crypto', 'node:zlib', '@msgpack/msgpack', 'tweetnacl', 'diff'])

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2])
}

const files = sources(core)

t.test('core/ has the folders docs/architecture.md names, and no others', async (t) => {
  const folders = [...new Set(files.map(layerOf))].sort()
  t.same(folders, Object.keys(ALLOWED).sort(), 'the layers are the folders')
})

/** Why `spec`, imported by `file` (an absolute path under core/), breaks the rule; undefined when it does not. */
function violation(file: string, spec: string): string | undefined {
  const from = layerOf(file)
  if (!spec.startsWith('.')) return PACKAGES.has(spec) ? undefined : `core/ may use only ${[...PACKAGES].join(', ')}`
  const rel = relative(root, join(dirname(file), spec)).split('\\').join('/')
  if (!rel.startsWith('core/')) return 'core/ never imports from outside core/'
  const to = layerOf(join(root, rel))
  if (to === from || (to === '' && /^core\/(errors|msgpack)\.js$/.test(rel)) || ALLOWED[from].includes(to)) return undefined
  return `${from || 'core'} may import only ${[...ALLOWED[from], 'errors', 'msgpack'].join(', ')}`
}

t.test('every import in core/ follows the layer rule', async (t) => {
  const problems: string[] = []
  for (const file of files) {
    for (const spec of imports(file)) {
      const why = violation(file, spec)
      if (why) problems.push(`${relative(root, file)} imports ${spec}: ${why}`)
    }
  }
  t.same(problems, [], 'no import crosses the rule')
  t.ok(files.length > 30, `${files.length} source files were checked`)
})

/** Repository-relative path of what `spec` names from `file`, as a .ts source. */
const target = (file: string, spec: string) => relative(root, join(dirname(file), spec)).split('\\').join('/').replace(/\.js$/, '.ts')

/** The sources outside test/: core/, the edges and the benchmarks. */
const tree = ['core', 'adapters', 'daemon', 'bench'].flatMap((d) => sources(join(root, d)))

t.test('only core/log spells storage keys: the other layers and the edges reach them through the log', async (t) => {
  const outside = tree.filter((f) => layerOf(f) !== 'log')
  const spelling = outside.filter((f) => imports(f).some((spec) => target(f, spec) === 'core/log/keys.ts'))
  t.same(spelling.map((f) => relative(root, f)), [], 'nothing outside core/log imports core/log/keys.ts (tests may, to inspect storage)')
  t.ok(outside.length > 40, `${outside.length} source files were checked`)
})

t.test('no module imports itself through others (static, type-only or dynamic imports)', async (t) => {
  const graph = new Map(tree.map((f) => [relative(root, f), imports(f).filter((s) => s.startsWith('.')).map((s) => target(f, s))]))
  const cycles: string[] = []
  const done = new Set<string>()
  const path: string[] = []
  const visit = (n: string): void => {
    path.push(n)
    for (const m of graph.get(n) ?? []) {
      if (path.includes(m)) cycles.push([...path.slice(path.indexOf(m)), m].join(' -> '))
      else if (!done.has(m)) visit(m)
    }
    path.pop()
    done.add(n)
  }
  for (const n of graph.keys()) if (!done.has(n)) visit(n)
  t.same(cycles, [], 'the import graph has no cycle')
})

t.test('the rule refuses imports that cross it', async (t) => {
  const at = (f: string) => join(core, f)
  t.ok(violation(at('model/merge.ts'), '../log/opLog.js'), 'model may not import the log')
  t.ok(violation(at('sync/wire/frames.ts'), '../diff.js'), 'the wire format may not import sync')
  t.ok(violation(at('sync/wire/frames.ts'), '../../log/store.js'), 'the wire format may not import the storage engine')
  t.ok(violation(at('log/opLog.ts'), '../library/library.js'), 'the log may not import the library')
  t.ok(violation(at('sync/server.ts'), '../../adapters/levelStore.js'), 'core may not import adapters')
  t.ok(violation(at('library/library.ts'), 'node:fs'), 'core does no file I/O')
  t.notOk(violation(at('sync/server.ts'), '../access/users.js'), 'sync may import access')
  t.notOk(violation(at('model/hlc.ts'), '../errors.js'), 'every layer may import errors')
})

t.test('each folder of core/ opens with a one-line purpose', async (t) => {
  for (const layer of Object.keys(ALLOWED)) {
    const readme = join(core, layer, 'README.md')
    t.ok(existsSync(readme), `core/${layer || ''} has a README.md`)
    if (!existsSync(readme)) continue
    const first = readFileSync(readme, 'utf8').split('\n').find((l) => l.trim() && !l.startsWith('#'))
    t.ok(first && first.length > 20, `core/${layer} says what it is for: ${first}`)
  }
})
