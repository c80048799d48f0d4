/**
 * Connections kept per peer between syncs. A sync soon after another with the same peer (a
 * `pollen sync` after a scheduled one, the repair pull after a claims check, a retry) reuses
 * the TLS connection instead of paying the TCP and TLS handshakes again: on a 200 ms link
 * that is 400 ms and about 2 KB of certificates (docs/benchmarks.md, scenario 3).
 */
import { PeerConnections, type HttpTransportOptions } from '../adapters/httpSyncTransport.js'

/**
 * How long idle connections to a peer are kept. Well below the server's keep-alive timeout
 * (adapters/httpSyncServer.ts), so the server rarely closes one as we send on it; when it
 * does, the transport resends once on a new connection.
 */
export const LINGER_MS = 15_000

type LinkOptions = Pick<HttpTransportOptions, 'tls' | 'expectInstance' | 'onOtherKey' | 'plain'>

interface Link {
  key: string
  conns: PeerConnections
  users: number
  timer?: NodeJS.Timeout
}

/** The kept connections of a daemon, one set per peer name. */
export class PeerLinks {
  readonly #links = new Map<string, Link>()
  readonly #lingerMs: number

  constructor(lingerMs = LINGER_MS) {
    this.#lingerMs = lingerMs
  }

  /**
   * Connections for a sync with peer `name` at `url`; call `release` when the sync is done.
   * Kept connections are reused only for the same URL, pin and mode. At first contact (no
   * pinned id) they are the sync's own and close with it: the next sync pins.
   */
  take(name: string, url: string, opts: LinkOptions): { conns: PeerConnections; release: () => void } {
    const base = new URL(url.endsWith('/') ? url : url + '/')
    if (!opts.expectInstance && !opts.plain) {
      const conns = new PeerConnections(base, opts)
      return { conns, release: () => conns.close() }
    }
    const key = `${base.href} ${opts.expectInstance ?? ''} ${opts.plain ? 'plain' : 'tls'}`
    let link = this.#links.get(name)
    if (link && link.key !== key) {
      this.#detach(name, link)
      link = undefined
    }
    if (!link) {
      link = { key, conns: new PeerConnections(base, opts), users: 0 }
      this.#links.set(name, link)
    }
    const taken = link
    clearTimeout(taken.timer)
    taken.users += 1
    let released = false
    return {
      conns: taken.conns,
      release: () => {
        if (released) return
        released = true
        taken.users -= 1
        if (taken.users > 0) return
        if (this.#links.get(name) !== taken) return taken.conns.close()
        taken.timer = setTimeout(() => this.#detach(name, taken), this.#lingerMs)
        taken.timer.unref()
      },
    }
  }

  /** Closes the kept connections of one peer (its URL or key changed, or it was removed). */
  forget(name: string): void {
    const link = this.#links.get(name)
    if (link) this.#detach(name, link)
  }

  /** Closes every kept connection (the daemon is stopping). */
  closeAll(): void {
    for (const [name, link] of [...this.#links]) this.#detach(name, link)
  }

  /** Takes a link out of the table; its connections close now, or when its last sync ends. */
  #detach(name: string, link: Link): void {
    clearTimeout(link.timer)
    if (this.#links.get(name) === link) this.#links.delete(name)
    if (link.users === 0) link.conns.close()
  }
}
