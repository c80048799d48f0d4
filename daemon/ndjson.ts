/**
 * The control API's streamed answers: NDJSON, one JSON value a line, written as it comes (an
 * import's or a sync's progress and result, the feed of sync events).
 */
import type { FastifyReply } from 'fastify'
import { PassThrough } from 'node:stream'

export const NDJSON = 'application/x-ndjson'

type Write = (line: unknown) => void

/** Starts an NDJSON answer on `reply`: its content type, and the stream to write lines to. */
function lines(reply: FastifyReply): { stream: PassThrough; write: Write; end: Write } {
  const stream = new PassThrough()
  reply.header('content-type', NDJSON)
  return {
    stream,
    write: (line) => void stream.write(JSON.stringify(line) + '\n'),
    end: (line) => void stream.end(JSON.stringify(line) + '\n'),
  }
}

/**
 * Answers with the lines of a task: `task` starts at once and writes its progress through
 * `write`; what it resolves to is the last line, and a failure ends the answer with
 * `{type: 'error', ...errorBody(err)}`.
 */
export function sendTaskLines(reply: FastifyReply, task: (write: Write) => Promise<unknown>, errorBody: (err: unknown) => object): FastifyReply {
  const out = lines(reply)
  void task(out.write).then(out.end, (err) => out.end({ type: 'error', ...errorBody(err) }))
  return reply.send(out.stream)
}

/**
 * Answers with a feed that lasts until the client goes: `subscribe` starts writing lines and
 * returns what stops it, called once the stream closes.
 */
export function sendFeedLines(reply: FastifyReply, subscribe: (write: Write) => () => void): FastifyReply {
  const out = lines(reply)
  out.stream.on('close', subscribe(out.write))
  reply.raw.on('close', () => out.stream.destroy())
  return reply.send(out.stream)
}
