/**
 * An in-process transport: frames go through the same byte encoding as over HTTP, straight
 * into a SyncServer. For core tests and the transport conformance suite.
 */
import { encodeFrame, errorFrame, readFrames, type Frame } from '../core/sync/wire/frames.js'
import type { SyncServer } from '../core/sync/server.js'
import type { Credentials, SyncTransport } from '../core/sync/transport.js'

export class MemorySyncTransport implements SyncTransport {
  readonly #server: SyncServer
  bytesIn = 0
  bytesOut = 0
  requests = 0

  constructor(server: SyncServer) {
    this.#server = server
  }

  async open(creds: Credentials, body: Uint8Array): Promise<AsyncIterable<unknown>> {
    this.requests += 1
    this.bytesOut += body.length
    const server = this.#server
    const self = this
    let frames: AsyncIterable<Frame>
    try {
      frames = await server.open(await server.authenticate(creds.user, creds.key), body)
    } catch (err) {
      return errorStream(err)
    }
    async function* bytes(): AsyncIterable<Uint8Array> {
      try {
        for await (const f of frames) {
          const b = encodeFrame(f)
          self.bytesIn += b.length
          yield b
        }
      } catch (err) {
        yield encodeFrame(errorFrame(err))
      }
    }
    return readFrames(bytes(), server.limits.maxFrameBytes)
  }

  async ack(creds: Credentials, session: string, body: Uint8Array): Promise<void> {
    this.requests += 1
    this.bytesOut += body.length
    await this.#server.ack(await this.#server.authenticate(creds.user, creds.key), session, body)
  }

  async push(creds: Credentials, session: string, frames: AsyncIterable<Uint8Array>): Promise<unknown> {
    this.requests += 1
    const self = this
    async function* counted(): AsyncIterable<Uint8Array> {
      for await (const b of frames) {
        self.bytesOut += b.length
        yield b
      }
    }
    try {
      const user = await this.#server.authenticate(creds.user, creds.key)
      const result = await this.#server.push(user, session, readFrames(counted(), this.#server.limits.maxFrameBytes))
      this.bytesIn += encodeFrame(result).length
      return result
    } catch (err) {
      return errorFrame(err)
    }
  }
}

async function* errorStream(err: unknown): AsyncIterable<unknown> {
  yield errorFrame(err)
}
