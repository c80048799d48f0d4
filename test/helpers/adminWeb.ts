/**
 * A small client of the web page (daemon/admin/) for tests that attack it without a
 * browser: raw requests with a cookie jar of one session cookie, and the CSRF token read
 * from the last page, so a test can send exactly the forged request it means to.
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { startNode, type Daemon, type Teardowner } from './daemon.js'

export interface WebAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

/** The web page's URL of a daemon started with an admin listener (from `status --json`). */
export async function adminUrl(d: Pick<Daemon, 'cli'>): Promise<string> {
  const s = await d.cli(['status', '--json'])
  const url = s.json?.admin?.url
  if (typeof url !== 'string') throw new Error(`the daemon serves no web page: ${s.stdout} ${s.stderr}`)
  return url.replace(/\/$/, '')
}

export class WebClient {
  readonly base: string
  cookie = ''
  /** The CSRF token of the last page fetched that carried one. */
  csrf = ''

  constructor(base: string) {
    this.base = base
  }

  request(method: string, path: string, opts: { form?: Record<string, string | string[]>; headers?: Record<string, string>; cookie?: string } = {}): Promise<WebAnswer> {
    const url = new URL(path, this.base)
    const body = opts.form ? formBody(opts.form) : undefined
    const headers: Record<string, string> = { ...(opts.headers ?? {}) }
    const cookie = opts.cookie ?? this.cookie
    if (cookie) headers.cookie = cookie
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      headers['content-length'] = String(Buffer.byteLength(body))
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const set = res.headers['set-cookie']
          for (const c of set ?? []) {
            const m = /^pollen_session=([^;]*)/.exec(c)
            if (m && opts.cookie === undefined) this.cookie = m[1] ? `pollen_session=${m[1]}` : ''
          }
          const token = /name="_csrf" value="([^"]+)"/.exec(text)
          if (token) this.csrf = token[1]
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text })
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      if (body !== undefined) req.write(body)
      req.end()
    })
  }

  get(path: string, opts: { headers?: Record<string, string>; cookie?: string } = {}): Promise<WebAnswer> {
    return this.request('GET', path, opts)
  }

  /** A form POST with the session's CSRF token added unless `csrf: false`. */
  post(path: string, form: Record<string, string | string[]>, opts: { csrf?: boolean | string; headers?: Record<string, string>; cookie?: string } = {}): Promise<WebAnswer> {
    const token: Record<string, string> = opts.csrf === undefined || opts.csrf === true ? { _csrf: this.csrf } : typeof opts.csrf === "string" ? { _csrf: opts.csrf } : {}
    return this.request('POST', path, { form: { ...form, ...token }, headers: opts.headers, cookie: opts.cookie })
  }

  /** Logs in and loads a page, so that the CSRF token is known; throws when the login is refused. */
  async login(name: string, password: string): Promise<void> {
    const r = await this.request('POST', '/login', { form: { name, password, next: '/review' } })
    if (r.status !== 303) throw new Error(`login of ${name} refused with ${r.status}: ${r.text.slice(0, 300)}`)
    await this.get('/review')
  }
}

function formBody(form: Record<string, string | string[]>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(form)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, one)
  return q.toString()
}

/**
 * Two real daemons: `source` holding `count` resources (imported as NDJSON; `extra` added
 * after them) and sending chunks of 50 operations (so a sync's progress has steps), `school` with the web page on a free loopback port, the peer "source", and
 * one pull done, so that `school` has `count` resources pending review.
 */
export async function syncedPair(t: Teardowner, root: string, count: number, extra: object[] = []): Promise<{ source: Daemon; school: Daemon; url: string }> {
  const env = { POLLEN_ADMIN_LISTEN: '127.0.0.1:0' }
  const [source, school] = await Promise.all([startNode(t, root, 'source', { languages: ['en', 'fr'], sync: { chunkOps: 50 } }), startNode(t, root, 'school', { languages: ['en', 'fr'], env })])
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ id: `r${String(i).padStart(4, '0')}`, partition: 'lib', title: { en: `Lesson ${i}`, ...(i % 3 === 0 ? { fr: `Leçon ${i}` } : {}) }, description: { en: `About topic ${i}` }, tags: [i % 2 ? 'odd' : 'even'] }))
  for (const e of extra) lines.push(JSON.stringify(e))
  const imp = await source.cli(['resource', 'import', '-'], { stdin: lines.join('\n') + '\n', timeoutMs: 120_000 })
  if (imp.code !== 0) throw new Error(`import: ${imp.stderr}`)
  const user = await source.cli(['user', 'add', 'school', '--role', 'write'])
  if (user.code !== 0) throw new Error(`user add: ${user.stderr}`)
  const add = await school.cli(['peer', 'add', '--name', 'source', '--url', source.url, '--user', 'school', `--key=${user.stdout.split('\n')[0].trim()}`])
  if (add.code !== 0) throw new Error(`peer add: ${add.stderr}`)
  const s = await school.cli(['sync', 'source', '--json'], { timeoutMs: 120_000 })
  if (s.code !== 0) throw new Error(`sync: ${s.stderr}`)
  return { source, school, url: await adminUrl(school) }
}
