/**
 * Pull pacing (core/sync/pacing.ts): the server's window of unacknowledged bytes, the rate it
 * measures from the client's spans, the stall limit and abort, the ack codec's refusals,
 * and the client's ack schedule (none for a small pull, one in flight at a time, failures
 * swallowed).
 */
import t from 'tap'
import { ACK_EVERY_BYTES, AckSender, decodePullAck, encodePullAck, MIN_WINDOW, PullPacer, type PullAck } from '../../../core/sync/pacing.js'
import { pack } from '../../../core/msgpack.js'
import { codeOf } from '../../helpers/errorCodes.js'

const KiB = 1024

/** Whether `p` settles within a few event-loop turns. */
async function settles(p: Promise<unknown>): Promise<boolean> {
  let done = false
  void p.then(() => (done = true))
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
  return done
}

t.test('PullPacer: a full window blocks the next chunk until an ack makes room', async (t) => {
  const pacer = new PullPacer()
  for (let i = 0; i < 4; i++) pacer.sent(32 * KiB)
  t.equal(pacer.unacked, 128 * KiB, '4 chunks of 32 KiB in flight')
  t.equal(MIN_WINDOW, 128 * KiB, 'the first window is 128 KiB')
  const waiting = pacer.ready()
  t.notOk(await settles(waiting), 'the window is full: the server waits')
  pacer.ack({ seq: 0, idleMs: 0, spanMs: 0 })
  t.ok(await settles(waiting), 'the ack of chunk 0 makes room')
  t.equal(pacer.unacked, 96 * KiB, 'chunk 0 no longer counts')
  t.equal(await pacer.ready(), 0, 'with room, no wait at all')
})

t.test('PullPacer: the rate from the client spans sets the window (2 s of data, never under the minimum)', async (t) => {
  const pacer = new PullPacer()
  for (let i = 0; i < 20; i++) pacer.sent(100 * KiB)
  // Spans and idle times are totals since the session's answer, on the client's clock.
  pacer.ack({ seq: 0, idleMs: 900, spanMs: 1000 })
  t.equal(pacer.rate, undefined, 'the first span (start-up included) only sets the baseline')
  pacer.ack({ seq: 4, idleMs: 1700, spanMs: 2000 })
  t.equal(pacer.rate, (400 * KiB) / 1000, '400 KiB in 1 s of the client clock')
  t.equal(pacer.window, 800 * KiB, 'the window holds 2 s at that rate')
  t.notOk(pacer.receiverBusy, 'the client waited for the link most of the time')
  pacer.ack({ seq: 2, idleMs: 1800, spanMs: 2100 })
  t.equal(pacer.rate, (400 * KiB) / 1000, 'an older ack than one already taken is ignored')
  pacer.ack({ seq: 5, idleMs: 1710, spanMs: 12_000 })
  t.equal(pacer.window, MIN_WINDOW, 'a slow link never shrinks the window under the minimum')
  t.ok(pacer.receiverBusy, 'a client that waited 10 ms of 10 s set the pace itself')
})

t.test('PullPacer: an ack of a chunk never sent is refused', async (t) => {
  const pacer = new PullPacer()
  pacer.sent(10)
  t.equal(await codeOf(() => pacer.ack({ seq: 1, idleMs: 0, spanMs: 0 })), 'POLLEN_BAD_MESSAGE')
  t.equal(pacer.unacked, 10, 'nothing acknowledged')
})

t.test('PullPacer: acks that stop coming stall the stream once; the next ack brings pacing back', async (t) => {
  const pacer = new PullPacer({ stallMs: 20 })
  pacer.sent(MIN_WINDOW)
  const waited = await pacer.ready()
  t.ok(waited >= 15, `waited for the stall limit (${waited.toFixed(0)} ms)`)
  pacer.sent(MIN_WINDOW)
  t.equal(await pacer.ready(), 0, 'after a stall the session no longer waits')
  pacer.ack({ seq: 0, idleMs: 0, spanMs: 10 })
  t.equal(pacer.unacked, MIN_WINDOW, 'one window still unacknowledged')
  const again = pacer.ready()
  t.notOk(await settles(again), 'an ack arrived: the window holds again')
  pacer.ack({ seq: 1, idleMs: 0, spanMs: 20 })
  t.ok(await settles(again), 'and the next ack releases it')
})

t.test('PullPacer: an aborted connection ends the wait at once', async (t) => {
  const pacer = new PullPacer()
  pacer.sent(MIN_WINDOW)
  const gone = new AbortController()
  const waiting = pacer.ready(gone.signal)
  t.notOk(await settles(waiting), 'waiting')
  gone.abort()
  t.ok(await settles(waiting), 'the abort wakes it')
  t.equal(await pacer.ready(gone.signal), 0, 'an aborted signal never waits')
})

t.test('pull ack codec: round trip and refusals', async (t) => {
  const a: PullAck = { seq: 7, idleMs: 120, spanMs: 900 }
  t.same(decodePullAck(encodePullAck(a)), a, 'round trip')
  t.same(decodePullAck(encodePullAck({ seq: 1, idleMs: 1.4, spanMs: 2.6 })), { seq: 1, idleMs: 1, spanMs: 3 }, 'milliseconds are whole on the wire')
  t.equal(await codeOf(() => decodePullAck(new Uint8Array([0xc1]))), 'POLLEN_BAD_MESSAGE', 'not msgpack')
  t.equal(await codeOf(() => decodePullAck(pack([1, 2]))), 'POLLEN_BAD_MESSAGE', 'two fields')
  t.equal(await codeOf(() => decodePullAck(pack([-1, 0, 0]))), 'POLLEN_BAD_MESSAGE', 'negative seq')
  t.equal(await codeOf(() => decodePullAck(pack([1, 5, 4]))), 'POLLEN_BAD_MESSAGE', 'idle longer than the span')
  t.equal(await codeOf(() => decodePullAck(pack(['1', 0, 0]))), 'POLLEN_BAD_MESSAGE', 'a string seq')
})

t.test('AckSender: no ack for a small pull; one in flight at a time; later chunks fold into the next', async (t) => {
  let clock = 0
  const sent: PullAck[] = []
  let release: (() => void) | undefined
  const acks = new AckSender((a) => {
    sent.push(a)
    return new Promise<void>((r) => (release = r))
  }, () => clock)
  acks.waiting()
  clock = 100
  acks.taken(0, ACK_EVERY_BYTES - 1)
  await new Promise((r) => setImmediate(r))
  t.equal(sent.length, 0, 'under 32 KiB taken: no ack')
  acks.waiting()
  clock = 300
  acks.taken(1, 10)
  await new Promise((r) => setImmediate(r))
  t.same(sent, [{ seq: 1, idleMs: 300, spanMs: 300 }], 'the first ack: all 300 ms were spent waiting')
  clock = 400
  acks.taken(2, ACK_EVERY_BYTES)
  acks.waiting()
  clock = 450
  acks.taken(3, ACK_EVERY_BYTES)
  await new Promise((r) => setImmediate(r))
  t.equal(sent.length, 1, 'while one ack is in flight, no second request')
  release?.()
  await new Promise((r) => setImmediate(r))
  await new Promise((r) => setImmediate(r))
  t.same(sent[1], { seq: 3, idleMs: 350, spanMs: 450 }, 'the next ack covers both chunks; idle and span are totals')
  acks.close()
  acks.taken(4, ACK_EVERY_BYTES)
  release?.()
  await acks.settled()
  t.equal(sent.length, 2, 'after close (the pull ended), no more acks')
})

t.test('AckSender: after the first two, a busy receiver\'s acks are at least the interval apart; the latest goes when it is up', async (t) => {
  const sent: PullAck[] = []
  const acks = new AckSender(async (a) => {
    sent.push(a)
  }, () => performance.now(), 1000)
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  acks.taken(0, ACK_EVERY_BYTES)
  await acks.settled()
  acks.taken(1, ACK_EVERY_BYTES)
  await acks.settled()
  t.same(sent.map((a) => a.seq), [0, 1], 'the first two go at once (they measure the first rate)')
  acks.taken(2, ACK_EVERY_BYTES)
  acks.taken(3, ACK_EVERY_BYTES)
  await acks.settled()
  t.same(sent.map((a) => a.seq), [0, 1], 'within the interval, nothing more is sent')
  for (let waited = 0; sent.length < 3 && waited < 5000; waited += 10) await sleep(10)
  t.same(sent.map((a) => a.seq), [0, 1, 3], 'when the interval is up, the latest ack goes, with no chunk arriving')
  acks.taken(4, ACK_EVERY_BYTES)
  acks.close()
  await sleep(1200)
  t.same(sent.map((a) => a.seq), [0, 1, 3], 'a deferred ack is dropped when the pull ends')
})

t.test('AckSender: a busy receiver\'s deferred ack goes with the first chunk taken after the interval; a waiting one acks at once', async (t) => {
  let clock = 0
  const sent: PullAck[] = []
  const acks = new AckSender(async (a) => {
    sent.push(a)
  }, () => clock, 200)
  for (const seq of [0, 1]) {
    acks.taken(seq, ACK_EVERY_BYTES)
    await acks.settled()
  }
  clock = 50
  acks.taken(2, ACK_EVERY_BYTES)
  await acks.settled()
  t.equal(sent.length, 2, '50 ms after the last ack: deferred')
  clock = 250
  acks.taken(3, ACK_EVERY_BYTES)
  await acks.settled()
  t.same(sent.map((a) => a.seq), [0, 1, 3], 'past the interval, the next chunk sends the latest ack at once')
  acks.waiting()
  clock = 290
  acks.taken(4, ACK_EVERY_BYTES)
  await acks.settled()
  t.same(sent.map((a) => a.seq), [0, 1, 3, 4], 'a receiver that spent the time since its last ack waiting for data acks at once')
  clock = 300
  acks.taken(5, ACK_EVERY_BYTES)
  await acks.settled()
  t.same(sent.map((a) => a.seq), [0, 1, 3, 4], 'busy again: deferred')
  acks.close()
})

t.test("AckSender: a failed ack is not the sync's failure", async (t) => {
  let calls = 0
  const acks = new AckSender(async () => {
    calls += 1
    throw new Error('link down')
  })
  acks.taken(0, ACK_EVERY_BYTES)
  await acks.settled()
  acks.taken(1, ACK_EVERY_BYTES)
  await acks.settled()
  t.equal(calls, 2, 'each ack was tried; the errors were swallowed')
  const throwing = new AckSender(() => {
    throw new Error('thrown before any promise')
  })
  throwing.taken(0, ACK_EVERY_BYTES)
  await throwing.settled()
  t.pass('a send that throws at once is swallowed too')
})

t.test('AckSender: time spent waiting for data while a taken chunk is still being applied is not idle', async (t) => {
  let clock = 0
  const sent: PullAck[] = []
  const acks = new AckSender(async (a) => {
    sent.push(a)
  }, () => clock, 0)
  /**
   * One chunk: the wait for it starts at `from` and it arrives at `to`; with `applyEnds`, the
   * chunk before it is still being applied when the wait starts and is done at `applyEnds`.
   */
  const chunk = async (seq: number, from: number, to: number, applyEnds?: number) => {
    clock = from
    if (applyEnds !== undefined) acks.applying()
    acks.waiting()
    const applied = () => {
      clock = applyEnds as number
      acks.applied()
    }
    if (applyEnds !== undefined && applyEnds <= to) applied()
    clock = to
    acks.taken(seq, ACK_EVERY_BYTES)
    await acks.settled()
    if (applyEnds !== undefined && applyEnds > to) applied()
  }
  await chunk(0, 0, 100)
  await chunk(1, 100, 200, 160)
  await chunk(2, 200, 300, 350)
  await chunk(3, 350, 400)
  t.same(sent.map((a) => [a.idleMs, a.spanMs]), [[100, 100], [140, 200], [140, 300], [190, 400]], 'idle counts only the waits with no apply running: 100, then 40 of 100, none, 50')
})

t.test('AckSender.linkRate: the rate chunks arrived at while the receiver waited for them, or nothing', async (t) => {
  /** Chunks of `bytes`, each waited for `waitMs` and then applied for `busyMs`. */
  const pull = (n: number, bytes: number, waitMs: number, busyMs: number) => {
    let clock = 0
    const acks = new AckSender(async () => undefined, () => clock)
    for (let i = 0; i < n; i++) {
      acks.waiting()
      clock += waitMs
      acks.taken(i, bytes)
      acks.applying()
      clock += busyMs
      acks.applied()
    }
    acks.close()
    return acks.linkRate()
  }
  t.equal(pull(11, 12_500, 90, 10), 125, '12.5 KB every 100 ms, waiting 90 of them: 125 bytes per ms (1 Mbit/s)')
  t.equal(pull(11, 12_500, 10, 90), undefined, 'busy 90 ms of each 100: the receiver set the pace, not the link')
  t.equal(pull(2, 12_500, 90, 10), undefined, 'two chunks 100 ms apart: too short to tell')
  t.equal(pull(1, 12_500, 90, 10), undefined, 'one chunk: no span at all')
})
