/**
 * Injects a commit into the middle of a sync, deterministically: the next scan of an author's
 * operations on a store opens its iterator (a LevelDB snapshot), then runs `commit` before it
 * yields anything. A claim that is read after the scan started would then cover operations the
 * scan cannot see, which is the race of issue 14.
 */
import type { KeyRange, KVStore } from '../../core/log/store.js'

/** Arms a one-shot hook on `store`'s next range read that starts in the operation family `A`. */
export function commitDuringNextScan(store: KVStore, commit: () => Promise<unknown>): { fired: () => boolean } {
  const range = store.range.bind(store)
  let fired = false
  store.range = (r: KeyRange): AsyncIterable<[string, Uint8Array]> => {
    const from = r.gt ?? r.gte ?? ''
    if (fired || !from.startsWith('A\u0000')) return range(r)
    fired = true
    store.range = range
    return {
      async *[Symbol.asyncIterator]() {
        const it = range(r)[Symbol.asyncIterator]()
        try {
          // The first entry is read before the commit, so the snapshot is taken before it.
          const first = await it.next()
          await commit()
          for (let next = first; !next.done; next = await it.next()) yield next.value
        } finally {
          await it.return?.()
        }
      },
    }
  }
  return { fired: () => fired }
}
