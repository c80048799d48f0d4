/** A FIFO lock: the log has one writer at a time, so read-modify-write batches never interleave. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve()

  /** Runs `fn` once every earlier holder has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn)
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }
}
