/**
 * What the library's parts (review, history, conflicts) need of the library: its log, views
 * read in bulk and the names instances are known by. An interface, so that those modules and
 * library.ts, which delegates to them, do not import each other.
 */
import type { OpLog } from '../log/opLog.js'
import type { ResourceView } from './resource.js'

export interface LibraryContext {
  readonly log: OpLog
  /** The views of many resources, read in bulk; deleted ones are left out. */
  views(ids: readonly string[]): Promise<ResourceView[]>
  /** Instance id → the name this instance knows it by, this instance included. */
  instanceNames(): Promise<Map<string, string>>
}
