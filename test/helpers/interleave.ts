/**
 * Syncs kept in flight, moved by the test one step at a time, so that property tests can
 * interleave local writes and other syncs with them reproducibly (from the seed alone).
 *
 * {@link gatedTransport} parks a sync started with {@link Interleaver.start} before each
 * frame crosses the transport (either way), and {@link gateScans} parks it when a diff opens a
 * scan of an author's operations (after the scan's LevelDB snapshot is taken: the window of
 * issue 14). A parked sync moves only when {@link Interleaver.step} releases it, and then runs
 * alone until its next gate, so the command list decides which commit lands where, not
 * timing. While no flight runs nothing is gated: local writes and plain syncs run through.
 * Each flight runs in its own AsyncLocalStorage context, so a gate knows whose it is: work a
 * flight left beside its chain (a chunk still being written, its signature checked on libuv's
 * pool) that reaches a gate while another flight runs goes through rather than parking in the
 * other flight's list, where nothing would release it once that flight ended (a deadlock the
 * event loop ends as "test unfinished").
 *
 * Why that is deterministic: a sync's chain of work between gates is the only thing running
 * (the test awaits it), and the work it leaves running beside its chain (a pulled chunk being
 * written, the server reading its next chunk ahead) is storage work on memory-level, which
 * runs on microtasks and is over at the next macrotask turn; the test waits for that turn.
 * The server's read-ahead while it streams a pull is therefore not gated: parked beside the
 * chain, it would leave the chain's compression (libuv's pool) racing with the test.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import nacl from 'tweetnacl'
import type { Identity } from '../../core/model/identity.js'
import type { KeyRange, KVStore } from '../../core/log/store.js'
import type { Credentials, SyncTransport } from '../../core/sync/transport.js'

/** A flight that neither parks nor ends for this long is stuck: a deadlock worth reporting. */
const STUCK_MS = 10_000

/** One sync in flight. */
export class Flight {
  readonly label: string
  /** Gates this flight waits at (at most one: between gates a flight is one chain of work). */
  readonly parked: { label: string; release: () => void }[] = []
  /** True while a pull's chunks stream (the server reads ahead beside the chain: not gated). */
  streaming = false
  done = false
  result: unknown
  error: unknown
  notify: (() => void) | undefined
  constructor(label: string) {
    this.label = label
  }
}

export class Interleaver {
  /** The flight being started or stepped: the only one running. */
  #running: Flight | undefined
  /** Flights not yet ended, in start order. */
  readonly flights: Flight[] = []
  /** The last gates released, for failure messages. */
  readonly trace: string[] = []

  /** The flight whose work is running, in whose context this code runs. */
  readonly #owner = new AsyncLocalStorage<Flight>()

  /**
   * The flight running now, if the caller is part of it: undefined when none runs or when the
   * caller is work another flight left beside its chain.
   */
  current(): Flight | undefined {
    const f = this.#running
    const owner = this.#owner.getStore()
    return f && (owner === undefined || owner === f) ? f : undefined
  }

  /** Parks the running flight until the test steps it; undefined (go on at once) when none runs. */
  gate(label: string): Promise<void> | undefined {
    const f = this.current()
    if (!f) return undefined
    return new Promise<void>((release) => {
      f.parked.push({ label, release })
      f.notify?.()
    })
  }

  /** Starts `run` as a flight and lets it go as far as its first gate (or its end). */
  async start(label: string, run: () => Promise<unknown>): Promise<Flight> {
    const f = new Flight(label)
    const end = (): void => {
      f.done = true
      f.notify?.()
    }
    this.#running = f
    this.#owner.run(f, run).then(
      (r) => {
        f.result = r
        end()
      },
      (err) => {
        f.error = err ?? new Error('rejected')
        end()
      },
    )
    this.flights.push(f)
    await this.#quiet(f)
    if (f.done) this.flights.splice(this.flights.indexOf(f), 1)
    return f
  }

  /** Releases a flight's oldest gate and waits until it parks again or ends. True when it ended. */
  async step(f: Flight): Promise<boolean> {
    const g = f.parked.shift()
    if (!g && !f.done) throw new Error(`${f.label} is neither parked nor ended`)
    if (g) {
      this.trace.push(`${f.label}: ${g.label}`)
      if (this.trace.length > 12) this.trace.shift()
      this.#running = f
      g.release()
      await this.#quiet(f)
    }
    if (f.done) this.flights.splice(this.flights.indexOf(f), 1)
    return f.done
  }

  /** Runs a flight to its end. */
  async finish(f: Flight): Promise<Flight> {
    while (!(await this.step(f)));
    return f
  }

  /** Runs every flight to its end, one gate each in turn, telling `onEnd` of each as it ends. */
  async settle(onEnd: (f: Flight) => void): Promise<void> {
    while (this.flights.length > 0) {
      for (const f of [...this.flights]) if (await this.step(f)) onEnd(f)
    }
  }

  async #quiet(f: Flight): Promise<void> {
    try {
      await this.#parkedOrEnded(f)
    } finally {
      this.#running = undefined
    }
    // Work the flight left beside its chain (a chunk being written) ends before the test goes on.
    await new Promise((resolve) => setImmediate(resolve))
  }

  #parkedOrEnded(f: Flight): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (f.parked.length > 0 || f.done) return resolve()
      // Not unref'd: a stuck flight fails with this message rather than ending the event loop as "test unfinished".
      const timer = setTimeout(() => reject(new Error(`${f.label} neither parked nor ended in ${STUCK_MS} ms (after ${this.trace.join(' | ')})`)), STUCK_MS)
      f.notify = () => {
        clearTimeout(timer)
        f.notify = undefined
        resolve()
      }
    })
  }
}

/** Parks a flight before each frame crosses `inner`: pull frames to the client, push frames to the server. */
export function gatedTransport(inner: SyncTransport, il: Interleaver, label: string): SyncTransport {
  const gated = (frames: AsyncIterable<unknown>, dir: string, onNext?: (n: number) => void, onEnd?: () => void): AsyncIterable<unknown> => ({
    [Symbol.asyncIterator]() {
      const it = frames[Symbol.asyncIterator]()
      let n = 0
      return {
        async next() {
          onNext?.(n)
          const g = il.gate(`${label} ${dir} frame ${n++}`)
          if (g) await g
          const r = await it.next()
          if (r.done) onEnd?.()
          return r
        },
        async return() {
          onEnd?.()
          return (await it.return?.()) ?? { done: true, value: undefined }
        },
      }
    },
  })
  return {
    get bytesIn() {
      return inner.bytesIn
    },
    get bytesOut() {
      return inner.bytesOut
    },
    get requests() {
      return inner.requests
    },
    ack: (creds: Credentials, session: string, body: Uint8Array) => inner.ack(creds, session, body),
    async open(creds: Credentials, body: Uint8Array) {
      const f = il.current()
      // After the answer, the server's chunks stream and it reads ahead: see the module comment.
      const frames = await inner.open(creds, body)
      return gated(frames, 'pull', (n) => { if (f && n > 0) f.streaming = true }, () => { if (f) f.streaming = false })
    },
    push: (creds: Credentials, session: string, frames: AsyncIterable<Uint8Array>) => inner.push(creds, session, gated(frames, 'push') as AsyncIterable<Uint8Array>),
  }
}

/**
 * Parks a flight each time a diff on `store` opens a scan of an author's operations, once the
 * scan's first entry is read (its snapshot is then taken), except beside a streaming pull.
 * Patches the instance, as test/helpers/commitHook.ts does.
 */
export function gateScans(store: KVStore, il: Interleaver, label: string): void {
  const range = store.range.bind(store)
  store.range = (r: KeyRange): AsyncIterable<[string, Uint8Array]> => {
    const from = r.gt ?? r.gte ?? ''
    // Only a diff's scan (opLog `scanAuthor`: after a counter, to the author's end). The
    // bounded reads of seals (opHashes, ownSeals, seed drops) run under the log's write lock:
    // parked there, the flight would hold the lock and any other flight writing to the same
    // log would wait for it, neither parked nor ended.
    if (!from.startsWith('A\u0000') || r.gt === undefined) return range(r)
    return {
      [Symbol.asyncIterator]() {
        const it = range(r)[Symbol.asyncIterator]()
        let first = true
        return {
          async next() {
            if (!first) return it.next()
            first = false
            const head = await it.next()
            const f = il.current()
            const g = f && !f.streaming ? il.gate(`${label} scan ${from.split('\u0000')[1]?.slice(0, 6)}`) : undefined
            if (g) await g
            return head
          },
          async return() {
            return (await it.return?.()) ?? { done: true, value: undefined }
          },
        }
      },
    }
  }
}

const identities = new Map<string, Identity>()

/** A fixed identity per name, so author ids (and the order diffs visit them in) replay. */
export function fixedIdentity(name: string): Identity {
  let id = identities.get(name)
  if (!id) {
    // Made once: tweetnacl's key derivation costs milliseconds.
    const kp = nacl.sign.keyPair.fromSeed(createHash('sha256').update(`pollen property ${name}`).digest())
    identities.set(name, (id = { publicKey: kp.publicKey, secretKey: kp.secretKey }))
  }
  return id
}
