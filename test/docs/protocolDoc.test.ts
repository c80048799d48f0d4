/**
 * Keeps the docs honest:
 * - every POLLEN_* code in docs/protocol.md is a real code;
 * - every control API route appears in docs/control-api.yaml with its method, and every
 *   route there exists in code;
 * - every sync API endpoint appears in docs/protocol.md;
 * - the limits docs/protocol.md states are the code's.
 * Sources are read from the repository root (found from the working directory), not from dist/.
 */
import t from 'tap'
import { repoRoot } from '../helpers/repoRoot.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ERROR_CODES } from '../../core/errors.js'
import { CHUNK_ELEMENTS_PER_OP, MAX_CHUNK_BYTES, MAX_FILTER_PREFIXES, MAX_PREFIX_SEGMENTS, MAX_REPORT_CLAIMS, MAX_REPORT_ROWS } from '../../core/sync/wire/limits.js'
import { MAX_SCOPE_ROWS } from '../../core/sync/diff.js'
import { DEFAULT_HTTP_LIMITS } from '../../adapters/httpSyncServer.js'
import { MAX_ERROR_BODY } from '../../adapters/httpSyncTransport.js'

const root = repoRoot()
const read = (rel: string): string => readFileSync(join(root, rel), 'utf8')

interface Route {
  method: string
  path: string
}

/** Routes registered as app.get('/…', …) and the like. */
export function routesIn(source: string): Route[] {
  const out: Route[] = []
  for (const m of source.matchAll(/\bapp\.(get|post|put|delete|patch)\(\s*['"`]([^'"`]+)['"`]/g)) out.push({ method: m[1], path: m[2] })
  return out
}

/** `:id` → `{id}`, as OpenAPI writes path parameters. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}')
}

/** Path → methods under `paths:` of an OpenAPI YAML file (two-space indentation, as ours is). */
export function openApiOperations(yaml: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  let inPaths = false
  let current: Set<string> | undefined
  for (const line of yaml.split('\n')) {
    if (/^\S/.test(line)) {
      inPaths = /^paths:\s*$/.test(line)
      current = undefined
      continue
    }
    if (!inPaths) continue
    const p = /^ {2}(\/[^:\s]*):\s*$/.exec(line)
    if (p) {
      current = out.get(p[1]) ?? new Set()
      out.set(p[1], current)
      continue
    }
    const m = /^ {4}(get|put|post|delete|patch|head|options|trace):/.exec(line)
    if (m && current) current.add(m[1])
  }
  return out
}

/** Routes missing from the OpenAPI operations. */
export function missingRoutes(routes: readonly Route[], ops: Map<string, Set<string>>): string[] {
  return routes.filter((r) => !ops.get(openApiPath(r.path))?.has(r.method)).map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`)
}

/** POLLEN_* names in a text that are not error codes. */
export function unknownCodes(text: string): string[] {
  const names = new Set(text.match(/\bPOLLEN_[A-Z0-9_]+\b/g) ?? [])
  return [...names].filter((n) => !Object.prototype.hasOwnProperty.call(ERROR_CODES, n)).sort()
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Endpoints not named as "METHOD /path" (with `:x` or `{x}` parameters, not as the start of a longer path) in a text. */
export function endpointsMissingFrom(routes: readonly Route[], text: string): string[] {
  return routes
    .filter((r) => {
      const m = r.method.toUpperCase()
      const named = new RegExp(`\\b${m} (?:${escape(r.path)}|${escape(openApiPath(r.path))})(?![\\w/{}:.-])`)
      return !named.test(text)
    })
    .map((r) => `${r.method.toUpperCase()} ${r.path}`)
}

const protocol = read('docs/protocol.md')
const openapi = read('docs/control-api.yaml')
const controlRoutes = [...routesIn(read('daemon/controlApi.ts')), ...routesIn(read('daemon/controlReview.ts')), ...routesIn(read('daemon/syncRoutes.ts')), ...routesIn(read('daemon/adminAccountRoutes.ts'))]
const syncRoutes = routesIn(read('adapters/httpSyncServer.ts'))

t.test('the checks can fail', async (t) => {
  t.same(unknownCodes('POLLEN_REPLAY and POLLEN_NOT_A_CODE'), ['POLLEN_NOT_A_CODE'])
  const ops = openApiOperations('openapi: 3.0.3\npaths:\n  /v1/a/{id}:\n    get:\n      summary: x\ncomponents:\n  schemas: {}\n')
  t.same(missingRoutes([{ method: 'get', path: '/v1/a/:id' }], ops), [])
  t.same(missingRoutes([{ method: 'delete', path: '/v1/a/:id' }, { method: 'get', path: '/v1/b' }], ops), ['DELETE /v1/a/{id}', 'GET /v1/b'])
  t.same(endpointsMissingFrom([{ method: 'post', path: '/v1/x/:s/push' }], 'use `POST /v1/x/{s}/push`'), [])
  t.same(endpointsMissingFrom([{ method: 'post', path: '/v1/x/:s/push' }], 'use GET /v1/x/:s/push'), ['POST /v1/x/:s/push'])
  t.same(endpointsMissingFrom([{ method: 'get', path: '/v1/info' }], 'see `GET /v1/infos`'), ['GET /v1/info'])
  t.same(routesIn("app.get('/v1/h', f)\napp.patch(\n  '/v1/p/:name', g)"), [{ method: 'get', path: '/v1/h' }, { method: 'patch', path: '/v1/p/:name' }])
})

t.test('every POLLEN_* code in docs/protocol.md exists', async (t) => {
  t.ok((protocol.match(/\bPOLLEN_[A-Z0-9_]+\b/g) ?? []).length > 10, 'the protocol doc names error codes')
  t.same(unknownCodes(protocol), [], 'codes not in ERROR_CODES')
})

t.test('every control API route is in docs/control-api.yaml', async (t) => {
  t.ok(controlRoutes.length >= 20, `found ${controlRoutes.length} routes in the control API source`)
  const ops = openApiOperations(openapi)
  t.same(missingRoutes(controlRoutes, ops), [], 'routes missing from the OpenAPI file')
  const inCode = new Set(controlRoutes.map((r) => `${r.method} ${openApiPath(r.path)}`))
  const extra = [...ops].flatMap(([path, methods]) => [...methods].map((m) => `${m} ${path}`)).filter((k) => !inCode.has(k))
  t.same(extra, [], 'documented routes that the code does not register')
})

t.test('docs/control-api.yaml names exactly the real error codes', async (t) => {
  t.same(unknownCodes(openapi), [], 'codes not in ERROR_CODES')
  t.same(Object.keys(ERROR_CODES).filter((c) => !new RegExp(`\\b${c}\\b`).test(openapi)), [], 'codes missing from the ErrorCode enum')
})

t.test('every sync API endpoint is in docs/protocol.md', async (t) => {
  t.ok(syncRoutes.length >= 3, `found ${syncRoutes.length} endpoints in adapters/httpSyncServer.ts`)
  t.same(endpointsMissingFrom(syncRoutes, protocol), [], 'endpoints missing from the protocol doc')
})

t.test("the limits docs/protocol.md states are the code's", async (t) => {
  const n = (x: number): string => x.toLocaleString('en-US')
  const http = DEFAULT_HTTP_LIMITS
  const phrases = [
    `**${n(MAX_REPORT_ROWS)} rows** and **${n(MAX_REPORT_CLAIMS)} claims**`,
    `at most ${MAX_FILTER_PREFIXES} prefixes of at\n  most ${MAX_PREFIX_SEGMENTS} segments`,
    `| rows per scope | ${n(MAX_SCOPE_ROWS)} |`,
    `| \`maxChunkBytes\` | ${MAX_CHUNK_BYTES / 1024 / 1024} MiB |`,
    `| chunk values | ${CHUNK_ELEMENTS_PER_OP} per operation`,
    `| connections | ${http.maxConnections} |`,
    `| TLS handshake | ${http.handshakeTimeoutMs / 1000} s |`,
    `| request headers | ${http.headersTimeoutMs / 1000} s`,
    `| idle connection | ${http.idleTimeoutMs / 1000} s |`,
    `| keep-alive | ${http.keepAliveTimeoutMs / 1000} s |`,
    `| requests in progress per user | ${http.maxRequestsPerUser} |`,
    `**${MAX_ERROR_BODY / 1024} KiB** at most`,
  ]
  t.same(phrases.filter((p) => !protocol.includes(p)), [], 'limits the doc does not state as the code has them')
})
