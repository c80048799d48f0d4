// Tests of the emulated link. Timing assertions are only lower bounds that the
// serialisation clock guarantees (a byte can never arrive before its departure time), or
// coarse ratios, so a slow CI machine cannot make them fail.
import t from 'tap'
import net from 'node:net'
import crypto from 'node:crypto'
import { once } from 'node:events'
import { EmulatedLink, symmetricLink, type LinkOptions } from '../../bench/link.js'

/** A TCP server on loopback; `handler` gets each connection. Returns port and a closer. */
async function serve(handler: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => undefined)
    handler(s)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

/** Resolves when `s` closes. (events.once would reject on the 'error' a cut causes.) */
const closed = (s: net.Socket): Promise<void> => new Promise((resolve) => s.once('close', () => resolve()))

const echo = (s: net.Socket): void => {
  s.pipe(s)
}

/** Connects, writes `data`, ends, and collects everything until the socket closes. */
async function roundTrip(port: number, data: Buffer): Promise<{ received: Buffer; ms: number; error: boolean }> {
  const t0 = performance.now()
  const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  const chunks: Buffer[] = []
  let error = false
  c.on('data', (b: Buffer) => chunks.push(b))
  c.on('error', () => {
    error = true
  })
  c.end(data)
  await closed(c)
  return { received: Buffer.concat(chunks), ms: performance.now() - t0, error }
}

async function withLink<T>(opts: Omit<LinkOptions, 'targetPort'>, target: number, fn: (port: number, link: EmulatedLink) => Promise<T>): Promise<T> {
  const link = new EmulatedLink({ ...opts, targetPort: target })
  const port = await link.start()
  try {
    return await fn(port, link)
  } finally {
    await link.stop()
  }
}

t.test('unlimited link forwards both ways intact and counts bytes exactly', async (t) => {
  const srv = await serve(echo)
  t.teardown(srv.close)
  const data = crypto.randomBytes(300_000)
  await withLink({}, srv.port, async (port, link) => {
    const r = await roundTrip(port, data)
    t.notOk(r.error)
    t.equal(r.received.length, data.length)
    t.ok(r.received.equals(data), 'echoed bytes identical')
    t.same(link.stats(), { bytesUp: data.length, bytesDown: data.length, connections: 1, cuts: 0 })
    link.resetStats()
    t.same(link.stats(), { bytesUp: 0, bytesDown: 0, connections: 0, cuts: 0 })
  })
})

t.test('1 MB through a rate-limited, delayed link arrives intact and in order', async (t) => {
  const srv = await serve(echo)
  t.teardown(srv.close)
  const data = crypto.randomBytes(1_000_000)
  await withLink({ ...symmetricLink(40_000_000, 20), segmentBytes: 1500 }, srv.port, async (port, link) => {
    const r = await roundTrip(port, data)
    t.ok(r.received.equals(data), 'byte-identical after 1 MB each way')
    t.equal(link.stats().bytesUp, 1_000_000)
    t.equal(link.stats().bytesDown, 1_000_000)
    // 1 MB at 40 Mbit/s is 200 ms per direction; the echo pipelines them.
    t.ok(r.ms >= 200, `took ${r.ms.toFixed(0)} ms, at least the serialisation time`)
  })
})

t.test('rate limit: 100 KB at 800 kbit/s takes ≥ 1 s and much longer than unlimited', async (t) => {
  const srv = await serve(echo)
  t.teardown(srv.close)
  const data = crypto.randomBytes(100_000)
  const fast = await withLink({}, srv.port, (port) => roundTrip(port, data))
  const slow = await withLink({ up: { rateBps: 800_000 } }, srv.port, (port) => roundTrip(port, data))
  t.ok(slow.received.equals(data))
  // 100,000 B × 8 / 800,000 b/s = 1 s; the handshake RTT is 0 here (no delay).
  t.ok(slow.ms >= 990, `limited took ${slow.ms.toFixed(0)} ms`)
  t.ok(slow.ms > 3 * fast.ms, `limited ${slow.ms.toFixed(0)} ms vs unlimited ${fast.ms.toFixed(0)} ms`)
})

t.test('rate limit holds data back', async (t) => {
  // A sink: count what arrives.
  let got = 0
  const srv = await serve((s) => s.on('data', (b: Buffer) => (got += b.length)))
  t.teardown(srv.close)
  await withLink({ up: { rateBps: 256_000 }, segmentBytes: 1000 }, srv.port, async (port, link) => {
    const c = net.connect({ port, host: '127.0.0.1' })
    c.on('error', () => undefined)
    await once(c, 'connect')
    c.write(crypto.randomBytes(2_000_000))
    await new Promise((r) => setTimeout(r, 500))
    // At 32,000 B/s, half a second lets through a few tens of KB of the 2 MB written. The
    // margin is wide on purpose: this checks that the limit acts, not how precise timers are.
    t.ok(got > 0, 'some bytes flowed')
    t.ok(got < 200_000, `${got} B of 2,000,000 delivered after 0.5 s`)
    t.ok(link.stats().bytesUp >= got, 'stats count at least what the server received')
    c.destroy()
  })
})

t.test('one-way delay: a ping takes at least one RTT, plus one for the handshake', async (t) => {
  const srv = await serve(echo)
  t.teardown(srv.close)
  const ping = Buffer.from('ping')
  const plain = await withLink({ ...symmetricLink(Infinity, 100), handshake: false }, srv.port, (p) => roundTrip(p, ping))
  t.equal(plain.received.toString(), 'ping')
  t.ok(plain.ms >= 99, `no handshake: ${plain.ms.toFixed(0)} ms ≥ 100`)
  const hs = await withLink(symmetricLink(Infinity, 100), srv.port, (p) => roundTrip(p, ping))
  t.equal(hs.received.toString(), 'ping')
  t.ok(hs.ms >= 199, `with handshake: ${hs.ms.toFixed(0)} ms ≥ 200`)
})

t.test('a server that replies and closes while its reply is in flight is not truncated', async (t) => {
  const reply = crypto.randomBytes(50_000)
  const srv = await serve((s) => {
    s.resume()
    s.on('end', () => s.end(reply))
  })
  t.teardown(srv.close)
  await withLink({ ...symmetricLink(8_000_000, 100) }, srv.port, async (port) => {
    const r = await roundTrip(port, Buffer.from('request'))
    t.notOk(r.error)
    t.ok(r.received.equals(reply), `got ${r.received.length} of ${reply.length} bytes`)
  })
})

t.test('cut per connection: exactly N bytes delivered, then both sockets closed', async (t) => {
  const srv = await serve(echo)
  t.teardown(srv.close)
  const N = 50_000
  await withLink({ cutEveryBytes: N, segmentBytes: 4096, ...symmetricLink(16_000_000, 2) }, srv.port, async (port, link) => {
    const data = crypto.randomBytes(200_000)
    const r = await roundTrip(port, data)
    const s = link.stats()
    t.equal(s.cuts, 1)
    t.equal(s.bytesUp + s.bytesDown, N, 'byte-exact cut, counted across both directions')
    t.ok(r.received.length <= s.bytesDown, 'client got no more than was delivered down')
    t.ok(r.received.equals(data.subarray(0, r.received.length)), 'what arrived is an intact prefix')
    t.equal(link.openConnections(), 0)

    // A new connection gets a fresh budget.
    const small = Buffer.from('hello again')
    const r2 = await roundTrip(port, small)
    t.ok(r2.received.equals(small))
    t.equal(link.stats().cuts, 1)
    t.equal(link.stats().connections, 2)
  })
})

t.test('cut a transfer of exactly N bytes', async (t) => {
  const srv = await serve((s) => s.resume())
  t.teardown(srv.close)
  await withLink({ cutEveryBytes: 1000 }, srv.port, async (port, link) => {
    const c = net.connect({ port, host: '127.0.0.1' })
    c.on('error', () => undefined)
    c.write(Buffer.alloc(1000))
    await closed(c)
    t.equal(link.stats().bytesUp, 1000)
    t.equal(link.stats().cuts, 1)
  })
})

t.test('cut scope "link": one budget across connections, all cut together', async (t) => {
  const srv = await serve((s) => s.resume())
  t.teardown(srv.close)
  await withLink({ cutEveryBytes: 30_000, cutScope: 'link' }, srv.port, async (port, link) => {
    const a = net.connect({ port, host: '127.0.0.1' })
    const b = net.connect({ port, host: '127.0.0.1' })
    a.on('error', () => undefined)
    b.on('error', () => undefined)
    await Promise.all([once(a, 'connect'), once(b, 'connect')])
    a.write(Buffer.alloc(20_000))
    await new Promise((r) => setTimeout(r, 100))
    t.equal(link.stats().cuts, 0, '20 KB is under the budget')
    b.write(Buffer.alloc(20_000))
    await Promise.all([closed(a), closed(b)])
    const s = link.stats()
    t.equal(s.bytesUp, 30_000, 'delivered exactly the link budget')
    t.equal(s.cuts, 2, 'both connections were cut')
  })
})

t.test('rejects nonsense options', async (t) => {
  t.throws(() => new EmulatedLink({ targetPort: 1, up: { rateBps: 0 } }))
  t.throws(() => new EmulatedLink({ targetPort: 1, down: { delayMs: -1 } }))
  t.throws(() => new EmulatedLink({ targetPort: 1, cutEveryBytes: 0 }))
})

t.test('stop() closes open connections', async (t) => {
  const srv = await serve(echo)
  t.teardown(srv.close)
  const link = new EmulatedLink({ targetPort: srv.port })
  const port = await link.start()
  const c = net.connect({ port, host: '127.0.0.1' })
  c.on('error', () => undefined)
  await once(c, 'connect')
  c.write('x')
  await once(c, 'data')
  t.equal(link.openConnections(), 1)
  await link.stop()
  await closed(c)
  t.equal(link.openConnections(), 0)
})
