/**
 * Child-process entry for the PouchDB reference server (started by `pouch.ts` with
 * `fork`). It runs in its own process so its peak RSS can be read from /proc without the
 * bench's client side mixed in. express-pouchdb (CouchDB HTTP API) over PouchDB on the
 * leveldb adapter, on 127.0.0.1, data under the directory given as argv[2].
 *
 * IPC: the child sends `{ type: 'ready', port }`, then answers each `{ id, op, ... }`
 * request with `{ id, ok: true, result }` or `{ id, ok: false, error }`.
 */
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import PouchDB from 'pouchdb'
import expressPouchDB from 'express-pouchdb'

/** Requests the parent may send. */
export type ServerRequest =
  | { id: number; op: 'load'; db: string; docs: PouchDB.Doc[] }
  | { id: number; op: 'stats' }
  | { id: number; op: 'reset' }
  | { id: number; op: 'info'; db: string }

/** What `stats` answers. */
export interface ServerStats {
  requests: number
  /** Requests per endpoint kind, e.g. `"POST _bulk_get"`, `"GET doc"`. */
  byEndpoint: Record<string, number>
}

/** Classifies a request so counts show the protocol's shape rather than doc ids. */
function endpoint(method: string, url: string): string {
  const parts = url.split('?')[0].split('/').filter((p) => p.length > 0)
  if (parts.length === 0) return `${method} /`
  if (parts.length === 1) return parts[0].startsWith('_') ? `${method} ${parts[0]}` : `${method} db`
  return `${method} ${parts[1].startsWith('_') ? parts[1] : 'doc'}`
}

async function upsert(db: PouchDB.Database, docs: PouchDB.Doc[]): Promise<number> {
  // Existing docs need their current _rev to be updated; new ones must not have one.
  const existing = await db.allDocs({ keys: docs.map((d) => d._id) })
  const revs = new Map<string, string>()
  for (const row of existing.rows) if (row.value && !row.value.deleted) revs.set(row.key, row.value.rev)
  const res = await db.bulkDocs(docs.map((d) => {
    const rev = revs.get(d._id)
    return rev ? { ...d, _rev: rev } : d
  }))
  const failed = res.filter((r) => r.error)
  if (failed.length > 0) throw new Error(`bulkDocs: ${failed.length} failures, first: ${failed[0].reason ?? failed[0].error}`)
  return res.length
}

async function main(): Promise<void> {
  const dir = process.argv[2]
  if (!dir || !process.send) throw new Error('pouchServer: run via fork() with a data directory argument')
  fs.mkdirSync(dir, { recursive: true })
  const P = PouchDB.defaults({ prefix: dir + path.sep })
  // minimumForPouchDB: just the endpoints replication uses; inMemoryConfig: write no
  // config.json or log into the working directory.
  const app = expressPouchDB(P, { mode: 'minimumForPouchDB', inMemoryConfig: true })
  const stats: ServerStats = { requests: 0, byEndpoint: {} }
  const dbs = new Map<string, PouchDB.Database>()
  const open = (name: string): PouchDB.Database => {
    let db = dbs.get(name)
    if (!db) dbs.set(name, (db = new P(name)))
    return db
  }

  const server = http.createServer((req, res) => {
    stats.requests++
    const key = endpoint(req.method ?? 'GET', req.url ?? '/')
    stats.byEndpoint[key] = (stats.byEndpoint[key] ?? 0) + 1
    app(req, res)
  })
  // Keep-alive well past any bench pause so connection reuse is the client's choice.
  server.keepAliveTimeout = 60_000

  const handle = async (msg: ServerRequest): Promise<unknown> => {
    switch (msg.op) {
      case 'load':
        return upsert(open(msg.db), msg.docs)
      case 'stats':
        return stats
      case 'reset':
        stats.requests = 0
        stats.byEndpoint = {}
        global.gc?.()
        // Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0), so the parent reads the
        // peak of the measured run only, not of the load that preceded it.
        try {
          fs.writeFileSync('/proc/self/clear_refs', '5')
        } catch {
          /* not Linux: the peak then includes loading */
        }
        return null
      case 'info':
        return open(msg.db).info()
    }
  }
  process.on('message', (msg: ServerRequest) => {
    handle(msg).then(
      (result) => process.send!({ id: msg.id, ok: true, result }),
      (err: unknown) => process.send!({ id: msg.id, ok: false, error: String((err as Error)?.stack ?? err) }),
    )
  })
  process.on('disconnect', () => process.exit(0))
  server.listen(0, '127.0.0.1', () => {
    process.send!({ type: 'ready', port: (server.address() as { port: number }).port })
  })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
