/**
 * The quality policy of a chunk stream (core/sync/wire/quality.ts): the window decision
 * (pickQuality) for a link, a sender or a receiver that sets the pace, a cold stream's first
 * decision, and the start quality from a remembered link rate (startQuality).
 */
import t from 'tap'
import { codecMemory, pickQuality, RECEIVER_BOUND_QUALITY, rememberWindow, startQuality } from '../../../../core/sync/wire/quality.js'

t.test('pickQuality: while the receiver sets the pace, never above the receiver-bound quality', async (t) => {
  const busy = { encoding: 10, reading: 2, waiting: 300, link: 600, receiverBound: true }
  t.equal(pickQuality(5, 5, 11, busy), RECEIVER_BOUND_QUALITY, 'from the start quality, down, however long the wait')
  t.equal(pickQuality(10, 5, 11, busy), RECEIVER_BOUND_QUALITY, 'from a slow-link quality, down')
  t.equal(pickQuality(2, 2, 11, busy), 2, 'a quality already lower stays')
  t.equal(pickQuality(5, 5, 11, { ...busy, receiverBound: false }), 11, 'the same window with the receiver waiting: the link sets the pace')
})

t.test('pickQuality: the highest quality the encoder can make faster than the link carries it', async (t) => {
  // Per chunk at quality 5: 10 ms compressing, 2 ms reading; the link takes the rest.
  const at = (linkMs: number, max = 11) => pickQuality(5, 5, max, { encoding: 10, reading: 2, waiting: linkMs - 12 })
  t.equal(at(12), 5, 'encoder-bound: keep the fast quality')
  t.equal(at(30), 8, 'a link 2.5× slower than the encoder: a little more effort')
  t.equal(at(60), 9, 'the last quality before optimal parsing')
  t.equal(at(300), 10, 'a slow link: quality 10 (21× the time of 5) still keeps ahead')
  t.equal(at(600), 11, 'a very slow link: the best quality')
  t.equal(at(600, 9), 9, 'never above the configured maximum')
  t.equal(pickQuality(9, 5, 11, { encoding: 30, reading: 0, waiting: 60 }), 9, 'from 9, a link 3× slower is not enough for 10')
  t.equal(pickQuality(10, 5, 11, { encoding: 200, reading: 10, waiting: 0 }), 9, 'at 10 the link never waited: the encoder is the bottleneck, step down')
  t.equal(pickQuality(5, 5, 11, { encoding: 10, reading: 2, waiting: 0 }), 5, 'at the start quality with no waiting: stay')
})

t.test('pickQuality: a link time measured from acks decides at the first wait, and a quality seen too slow is not retried', async (t) => {
  // The first wait on the window, with the link's rate timed by the acks.
  t.equal(pickQuality(5, 5, 11, { encoding: 10, reading: 2, waiting: 100 }), 9, 'from the window alone: quality 9')
  t.equal(pickQuality(5, 5, 11, { encoding: 10, reading: 2, waiting: 100, link: 600 }), 11, 'with the slow link measured: the best quality at once')
  t.equal(pickQuality(5, 5, 11, { encoding: 10, reading: 2, waiting: 0, link: 600 }), 5, 'a sender that never waited set the pace itself: the rate is its own, stay')
  t.equal(pickQuality(5, 5, 11, { encoding: 10, reading: 80, waiting: 5, link: 600 }), 5, 'waiting 5 ms of 95 is not the link setting the pace')
  const window = { encoding: 200, reading: 10, waiting: 300, link: 500 }
  t.equal(pickQuality(10, 5, 11, window), 11, 'by the table, 11 would keep ahead of this link')
  t.equal(pickQuality(10, 5, 11, window, { 11: 700 }), 10, 'but 11 took 700 ms on this input before: stay at 10')
  t.equal(pickQuality(11, 5, 11, { encoding: 700, reading: 10, waiting: 0, link: 500 }, { 10: 200 }), 10, 'at 11 the encoder is slower than the link: back to the 10 it measured')
})

t.test('pickQuality: a sender whose output the link took as fast as it was made steps its compression down', async (t) => {
  // 40 ms compressing and 2 ms reading a window whose bytes the acks say the link carried in 50 ms.
  const paced = { encoding: 40, reading: 2, waiting: 0, link: 50 }
  t.equal(pickQuality(5, 5, 11, paced), 4, 'from 5: quality 4, under half the work (below the configured minimum)')
  t.equal(pickQuality(4, 5, 11, paced), 1, 'from 4: quality 1, a quarter of the work')
  t.equal(pickQuality(1, 5, 11, paced), 1, 'from 1: stay (quality 0 would save little CPU for 7% more bytes)')
  t.equal(pickQuality(4, 5, 11, paced, { 1: 38 }), 4, 'quality 1 took nearly as long on this input before: stay')
  t.equal(pickQuality(5, 5, 11, { encoding: 4, reading: 40, waiting: 0, link: 50 }), 5, 'reading, not compressing, took the time: stay')
  t.equal(pickQuality(5, 5, 11, { ...paced, link: 200 }), 5, 'the link is 4× slower than the sender (it is only filling the window): stay')
  t.equal(pickQuality(5, 5, 11, { ...paced, waiting: 20 }), 5, 'the sender waited for the link: not sender-paced')
  t.equal(pickQuality(5, 5, 11, { encoding: 40, reading: 2, waiting: 0 }), 5, 'no rate measured yet: stay')
  t.equal(pickQuality(5, 5, 11, { ...paced, receiverBound: true }), RECEIVER_BOUND_QUALITY, 'a receiver that set the pace decides first')
})

t.test('pickQuality, cold: the first decision of a stream that started before any ack', async (t) => {
  // 10 ms compressing and 2 ms reading a window of chunks sent before its first ack: it cannot have waited.
  const early = { encoding: 10, reading: 2, waiting: 0 }
  t.equal(pickQuality(9, 5, 11, { ...early, link: 15 }, {}, true), 5, 'the link carried it as fast as it was made: the fast quality')
  t.equal(pickQuality(9, 5, 11, early, {}, true), 5, 'no rate (a receiver without acks) and no wait: the fast quality')
  t.equal(pickQuality(9, 5, 11, { ...early, link: 600 }, {}, true), 11, 'the acks say the link is 50× slower: the best quality, without waiting first')
  t.equal(pickQuality(9, 5, 11, { ...early, link: 600 }, {}, false), 9, 'the same window later in a stream: a wait is needed first')
  t.equal(pickQuality(9, 5, 11, { ...early, link: 40 }, { 10: 400, 11: 800 }, true), 9, 'slower than the sender, but 10 and 11 were seen too slow: stay')
  t.equal(pickQuality(9, 5, 11, { ...early, link: 600, receiverBound: true }, {}, true), RECEIVER_BOUND_QUALITY, 'a receiver that set the pace decides first')
})

t.test('startQuality: the highest quality the sender can make faster than a known link carries it', async (t) => {
  const nothing = codecMemory()
  t.equal(startQuality(32, nothing, 5, 11), 11, '256 kbit/s, nothing measured (8 MiB/s and 3.5× assumed at 5): the best')
  t.equal(startQuality(125, nothing, 5, 11), 9, '1 Mbit/s, nothing measured: 9, since 10 would be slower than the link on a small board')
  t.equal(startQuality(12_500, nothing, 5, 11), 5, '100 Mbit/s: the fast quality')
  t.equal(startQuality(32, nothing, 5, 8), 8, 'never above the configured maximum')
  // As measured here on catalogue text: 40 MiB/s and 6.3× at 5, 1.4 MiB/s and 7.4× at 10.
  const measured = { msPerByte: { 5: 1 / (40 * 1048.576), 10: 1 / (1.4 * 1048.576) }, ratio: { 5: 6.3, 10: 7.4 } }
  t.equal(startQuality(125, measured, 5, 11), 10, '1 Mbit/s with this sender\'s measurements: 10 (11, scaled from 10, would be too slow)')
  t.equal(startQuality(125, { msPerByte: { 5: measured.msPerByte[5] }, ratio: { 5: 6.3 } }, 5, 11), 11, 'only quality 5 measured: the tables scale it, and by them 11 keeps up')
})

t.test('rememberWindow: a moving average, bounded, so no one stream sets where the next starts', async (t) => {
  const m = codecMemory()
  rememberWindow(m, 10, 0.001, 7)
  t.same(m, { msPerByte: { 10: 0.001 }, ratio: { 10: 7 } }, 'the first measurement as it is')
  rememberWindow(m, 10, 0.1, 1000)
  t.equal(m.msPerByte[10], 0.001 + (0.1 - 0.001) * 0.25, 'a hundred times slower moves it a quarter of the way')
  t.equal(m.ratio[10], 7 + (50 - 7) * 0.25, 'a ratio is kept to 50× at most before it counts')
  rememberWindow(m, 10, Number.NaN, 0)
  rememberWindow(m, 10, -1, 5)
  t.equal(m.ratio[10], 7 + (50 - 7) * 0.25, 'nonsense is not remembered')
})
