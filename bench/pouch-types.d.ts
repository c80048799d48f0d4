/**
 * The small part of PouchDB 9 and express-pouchdb 4 that the bench uses. Written here
 * rather than pulling in @types/pouchdb (a dozen sub-packages) for a reference peer.
 */

declare module 'pouchdb' {
  import type { EventEmitter } from 'node:events'

  namespace PouchDB {
    interface Doc {
      _id: string
      _rev?: string
      [key: string]: unknown
    }
    interface DatabaseOptions {
      adapter?: string
      prefix?: string
      [key: string]: unknown
    }
    interface BulkResult {
      ok?: boolean
      id?: string
      rev?: string
      error?: string
      reason?: string
    }
    interface AllDocsRow {
      id?: string
      key: string
      value?: { rev: string; deleted?: boolean }
      error?: string
    }
    interface AllDocsResult {
      total_rows: number
      rows: AllDocsRow[]
    }
    interface DatabaseInfo {
      db_name: string
      doc_count: number
      update_seq: number | string
    }
    interface ReplicateOptions {
      batch_size?: number
      batches_limit?: number
      retry?: boolean
      live?: boolean
      [key: string]: unknown
    }
    interface ReplicationResult {
      ok: boolean
      docs_read: number
      docs_written: number
      doc_write_failures: number
      errors: unknown[]
      last_seq: number | string
      start_time: string | Date
      end_time: string | Date
      status: string
    }
    /** A running replication: a promise of its result that also emits progress events. */
    interface Replication extends EventEmitter, PromiseLike<ReplicationResult> {
      cancel(): void
    }
    interface Database {
      name: string
      bulkDocs(docs: Doc[], opts?: { new_edits?: boolean }): Promise<BulkResult[]>
      allDocs(opts?: { keys?: string[]; include_docs?: boolean; limit?: number }): Promise<AllDocsResult>
      get(id: string): Promise<Doc>
      info(): Promise<DatabaseInfo>
      close(): Promise<void>
      destroy(): Promise<void>
    }
    interface Static {
      new (name: string, opts?: DatabaseOptions): Database
      defaults(opts: DatabaseOptions): Static
      replicate(source: string | Database, target: string | Database, opts?: ReplicateOptions): Replication
      /** PouchDB's own fetch (node-fetch with cookies); the http adapter's default. */
      fetch(url: string, opts?: Record<string, unknown>): Promise<unknown>
      version: string
    }
  }

  const PouchDB: PouchDB.Static
  export = PouchDB
}

declare module 'express-pouchdb' {
  import type { IncomingMessage, ServerResponse } from 'node:http'
  import type PouchDB from 'pouchdb'

  interface ExpressPouchDBOptions {
    /** 'fullCouchDB' (default), 'minimumForPouchDB' or 'custom'. */
    mode?: 'fullCouchDB' | 'minimumForPouchDB' | 'custom'
    /** Keep the server config in memory instead of writing config.json to the cwd. */
    inMemoryConfig?: boolean
    configPath?: string
    logPath?: string
    overrideMode?: { include?: string[]; exclude?: string[] }
  }

  /** An Express application: usable directly as a node:http request listener. */
  type Handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void

  function expressPouchDB(PouchDB: PouchDB.Static, opts?: ExpressPouchDBOptions): Handler
  export = expressPouchDB
}
