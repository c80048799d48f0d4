/**
 * The chunk codec (core/sync/wire/chunkCodec.ts) and the chunker (core/sync/chunker.ts): round trips across
 * chunks, the gain of one compression stream kept across a session's chunks, the checks a
 * decoder makes before it decompresses (hash, signature, order), the decompression-bomb limit,
 * and the chunker's rule that a local transaction never straddles two chunks.
 */
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { encode } from '@msgpack/msgpack'
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib'
import { ChunkDecoder, ChunkEncoder } from '../../../../core/sync/wire/chunkCodec.js'
import { codecMemory, DEFAULT_CODEC, RECEIVER_BOUND_QUALITY, type CodecOptions } from '../../../../core/sync/wire/quality.js'
import { type OutgoingPayload, chunkDiff } from '../../../../core/sync/chunker.js'
import { CounterVectors } from '../../../../core/model/counterVector.js'
import { diff, type DiffItem } from '../../../../core/sync/diff.js'
import { codeOf } from '../../../helpers/errorCodes.js'
import { newIdentity, sign } from '../../../../core/model/identity.js'
import { makeOperation, sha256, type Operation } from '../../../../core/model/operation.js'
import { DEFAULT_LIMITS } from '../../../../core/sync/server.js'
import { packOps, unpackOps } from '../../../../core/sync/wire/opColumns.js'
import { chunkSigned, type ChunkFrame, type ChunkPayload } from '../../../../core/sync/wire/frames.js'
import { generateResources } from '../../../../bench/dataset.js'
import { allOps, memoryInstance, newAuthor } from '../../../helpers/instances.js'

const SESSION = '00112233445566778899aabbccddeeff'
const MiB = 1024 * 1024


async function encodeAll(payloads: ChunkPayload[], secretKey: Uint8Array, codec: CodecOptions = DEFAULT_CODEC): Promise<ChunkFrame[]> {
  const enc = new ChunkEncoder(SESSION, 'pull', secretKey, codec)
  try {
    const out: ChunkFrame[] = []
    for (const p of payloads) out.push(await enc.encode(p))
    return out
  } finally {
    enc.close()
  }
}

/** 800 realistic operations: 200 bench resources (neutral fields + en/fr/es text) put through a library. */
async function realisticOps(): Promise<Operation[]> {
  const inst = await memoryInstance({ languages: ['en', 'fr', 'es'] })
  for (const r of generateResources(200, 42)) await inst.lib.put(r)
  return allOps(inst.log)
}

const sample = (n: number, tag: string): ChunkPayload => ({ ops: Array.from({ length: n }, (_, i) => [tag, i, new Uint8Array([i, i + 1])]), progress: [[newAuthor(), n]], seals: [], keys: [] })

t.test('payloads round-trip across several chunks, for both qualities', async (t) => {
  const id = newIdentity()
  for (const codec of [DEFAULT_CODEC, { quality: 9, slowLinkQuality: 9 }]) {
    const payloads = [sample(3, 'a'), sample(0, 'b'), sample(50, 'c'), sample(7, 'a')]
    const frames = await encodeAll(payloads, id.secretKey, codec)
    t.same(frames.map((f) => f.seq), [0, 1, 2, 3], `q${codec.quality}: sequence numbers`)
    const dec = new ChunkDecoder(SESSION, 'pull', id.publicKey, MiB)
    const got: ChunkPayload[] = []
    for (const f of frames) got.push(await dec.decode(f))
    dec.close()
    t.same(got, payloads, `q${codec.quality}: every payload decodes to what was sent`)
    t.equal(dec.count, 4)
  }
})

t.test('realistic operations survive a round trip byte for byte', async (t) => {
  const id = newIdentity()
  const ops = (await realisticOps()).slice(0, 120)
  const frames = await encodeAll([{ ops: packOps(ops.slice(0, 60)), progress: [], seals: [], keys: [] }, { ops: packOps(ops.slice(60)), progress: [], seals: [], keys: [] }], id.secretKey)
  const dec = new ChunkDecoder(SESSION, 'pull', id.publicKey, 16 * MiB)
  const back = [...unpackOps((await dec.decode(frames[0])).ops, 1000), ...unpackOps((await dec.decode(frames[1])).ops, 1000)]
  dec.close()
  t.equal(back.length, ops.length)
  t.same(back.map((o) => Buffer.from(o.hash).toString('hex')), ops.map((o) => Buffer.from(o.hash).toString('hex')), 'hashes')
  t.same(back.map((o) => Buffer.from(o.body ?? []).toString('hex')), ops.map((o) => Buffer.from(o.body ?? []).toString('hex')), 'body bytes')
})

t.test('a stream kept across chunks compresses smaller than each chunk alone', async (t) => {
  const id = newIdentity()
  const ops = await realisticOps()
  t.equal(ops.length, 800, '200 resources, 4 operations each')
  const per = ops.length / 20
  const payloads: ChunkPayload[] = Array.from({ length: 20 }, (_, i) => ({ ops: packOps(ops.slice(i * per, (i + 1) * per)), progress: [[ops[0].author, (i + 1) * per]], seals: [], keys: [] }))
  for (const codec of [DEFAULT_CODEC, { quality: 9, slowLinkQuality: 9 }]) {
    const stream = (await encodeAll(payloads, id.secretKey, codec)).reduce((s, f) => s + f.data.length, 0)
    let alone = 0
    for (const p of payloads) alone += (await encodeAll([p], id.secretKey, codec))[0].data.length
    const msgpack = payloads.reduce((s, p) => s + encode(p).length, 0)
    t.comment(`brotli q${codec.quality}: 20 chunks of ${per} ops, ${msgpack} bytes of msgpack → stream ${stream} bytes, each chunk alone ${alone} bytes (stream = ${((100 * stream) / alone).toFixed(1)}% of alone)`)
    t.ok(stream < alone, `q${codec.quality}: stream ${stream} < alone ${alone}`)
  }
})

t.test('tampered data, a wrong key, and out-of-order chunks are refused before decompression', async (t) => {
  const id = newIdentity()
  const payloads = [sample(5, 'x'), sample(5, 'y'), sample(5, 'z')]
  const frames = await encodeAll(payloads, id.secretKey)

  const dec = new ChunkDecoder(SESSION, 'pull', id.publicKey, MiB)
  const tampered = { ...frames[0], data: Uint8Array.from(frames[0].data) }
  tampered.data[tampered.data.length - 1] ^= 0x01
  t.equal(await codeOf(dec.decode(tampered)), 'POLLEN_HASH_MISMATCH', 'a flipped data byte')
  const badHash = { ...frames[0], hash: Uint8Array.from(frames[0].hash) }
  badHash.hash[0] ^= 0x01
  t.equal(await codeOf(dec.decode(badHash)), 'POLLEN_HASH_MISMATCH', 'a flipped hash byte')
  t.equal(await codeOf(dec.decode(frames[1])), 'POLLEN_BAD_MESSAGE', 'chunk 1 before chunk 0')
  t.equal(await codeOf(dec.decode({ ...frames[0], session: 'ffffffffffffffffffffffffffffffff' })), 'POLLEN_SESSION_UNKNOWN', 'a chunk of another session')
  t.equal(await codeOf(dec.decode({ ...frames[0], seq: 1 })), 'POLLEN_BAD_MESSAGE', 'a renumbered chunk is out of order first')
  t.equal(dec.count, 0, 'refused chunks consume nothing')
  t.same(await dec.decode(frames[0]), payloads[0], 'the genuine chunk 0 still decodes after the refusals')
  t.equal(await codeOf(dec.decode(frames[0])), 'POLLEN_REPLAY', 'chunk 0 again')
  t.equal(await codeOf(dec.decode(frames[2])), 'POLLEN_BAD_MESSAGE', 'chunk 2 skipping chunk 1')
  t.equal(await codeOf(dec.decode({ ...frames[1], sig: frames[2].sig })), 'POLLEN_BAD_SIGNATURE', 'chunk 1 with the signature of chunk 2')
  t.same(await dec.decode(frames[1]), payloads[1], 'and chunk 1 after that')
  dec.close()

  const stranger = new ChunkDecoder(SESSION, 'pull', newIdentity().publicKey, MiB)
  t.equal(await codeOf(stranger.decode(frames[0])), 'POLLEN_BAD_SIGNATURE', 'verified with another instance key')
  stranger.close()
  const otherWay = new ChunkDecoder(SESSION, 'push', id.publicKey, MiB)
  t.equal(await codeOf(otherWay.decode(frames[0])), 'POLLEN_BAD_SIGNATURE', 'a pull chunk replayed as a push chunk')
  otherWay.close()
})

t.test('a decompression bomb is refused with POLLEN_CHUNK_TOO_LARGE', async (t) => {
  const id = newIdentity()
  const bomb = { ops: [], progress: [], pad: 'a'.repeat(8 * MiB) } as unknown as ChunkPayload
  for (const codec of [DEFAULT_CODEC, { quality: 9, slowLinkQuality: 9 }]) {
    const [frame] = await encodeAll([bomb], id.secretKey, codec)
    t.ok(frame.data.length < 64 * 1024, `q${codec.quality}: ${frame.data.length} bytes on the wire inflate to 8 MiB`)
    const dec = new ChunkDecoder(SESSION, 'pull', id.publicKey, MiB)
    t.equal(await codeOf(dec.decode(frame)), 'POLLEN_CHUNK_TOO_LARGE', `q${codec.quality}: over a 1 MiB limit`)
    t.equal(dec.count, 0, `q${codec.quality}: the bomb is not counted as received`)
    dec.close()
  }
})

/**
 * A chunk whose payload is the msgpack `{ops: <array32 header, then body>, progress: []}`,
 * compressed in one piece and signed as chunk 0 of SESSION's pull.
 */
function craftedChunk(count: number, body: Uint8Array, secretKey: Uint8Array): ChunkFrame {
  const head = Buffer.from([0x82, 0xa3, ...Buffer.from('ops'), 0xdd, 0, 0, 0, 0])
  head.writeUInt32BE(count, head.length - 4)
  const raw = Buffer.concat([head, body, Buffer.from([0xa8, ...Buffer.from('progress'), 0x90])])
  const data = new Uint8Array(brotliCompressSync(raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }))
  const hash = sha256(data)
  return { t: 'chunk', session: SESSION, seq: 0, data, hash, sig: sign(chunkSigned(SESSION, 'pull', 0, hash), secretKey) }
}

t.test('chunks that cost far more heap than bytes are refused before they are built (issue 17, item 3)', async (t) => {
  const id = newIdentity()
  const refusedBy = async (frame: ChunkFrame) => {
    const dec = new ChunkDecoder(SESSION, 'pull', id.publicKey, DEFAULT_LIMITS.maxChunkBytes)
    try {
      return await codeOf(dec.decode(frame))
    } finally {
      dec.close()
    }
  }
  // What took a daemon's heap: 51 bytes on the wire, 16 MiB of empty arrays (16.7 million).
  const n = 16 * MiB - 20
  const bomb = craftedChunk(n, new Uint8Array(n).fill(0x90), id.secretKey)
  t.ok(bomb.data.length < 100, `${bomb.data.length} bytes on the wire`)
  t.equal(await refusedBy(bomb), 'POLLEN_CHUNK_TOO_LARGE', '16 MiB of empty arrays: over the decompressed limit')
  // Within the decompressed limit, far over what 10,000 operations hold.
  const m = 4 * MiB
  t.equal(await refusedBy(craftedChunk(m, new Uint8Array(m).fill(0x90), id.secretKey)), 'POLLEN_CHUNK_TOO_LARGE', '4 million empty arrays: over the value bound')
  // Within any count or length, one array deep per byte: [[[…[]…]]].
  const nested = new Uint8Array(MiB).fill(0x91)
  nested[MiB - 1] = 0x90
  t.equal(await refusedBy(craftedChunk(1, nested, id.secretKey)), 'POLLEN_BAD_MESSAGE', '1 MiB of nested arrays: deeper than any payload')
})

t.test('the chunker keeps each local transaction in one chunk (realistic ops)', async (t) => {
  const ops = await realisticOps()
  const source = { authors: () => [ops[0].author], maxHeld: () => ops.length, scanAuthor: async function* (_a: string, after: number) { yield* ops.filter((o) => o.counter > after) } }
  for (const maxOps of [1, 3, 4, 6, 9]) {
    const chunks: Operation[][] = []
    for await (const p of chunkDiff(diff(source, { prefixes: [''], languages: ['en', 'fr', 'es'] }, CounterVectors.from([])), { maxOps, maxBytes: 16 * MiB })) chunks.push(p.ops)
    const where = new Map<string, Set<number>>()
    chunks.forEach((c, i) => c.forEach((o) => where.set(`${o.author}/${o.tx}`, (where.get(`${o.author}/${o.tx}`) ?? new Set()).add(i))))
    t.equal([...where.values()].filter((s) => s.size > 1).length, 0, `maxOps ${maxOps}: no transaction in two chunks`)
    t.same(chunks.flat().map((o) => o.counter), ops.map((o) => o.counter), `maxOps ${maxOps}: every op once, in order`)
    const over = chunks.filter((c) => c.length > maxOps && new Set(c.map((o) => o.tx)).size > 1)
    t.equal(over.length, 0, `maxOps ${maxOps}: only a single transaction may exceed maxOps`)
  }
})

/** Synthetic ops of one author: transactions of the given sizes. */
function txOps(author: string, sizes: number[]): Operation[] {
  const out: Operation[] = []
  let counter = 0
  for (const size of sizes) {
    const tx = counter + 1
    for (let i = 0; i < size; i++) {
      counter += 1
      out.push(makeOperation({ author, counter, kind: 'resource', id: `r${tx}`, partition: 'lib', type: 'put', layer: i === 0 ? '' : 'en', hlc: counter, tx, deps: {}, body: { n: counter } }))
    }
  }
  return out
}

t.test('the chunker: transactions whole, maxOps respected otherwise, chunks packed greedily (property)', async (t) => {
  const a = newAuthor()
  const b = newAuthor()
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 25 }), fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 10 }), fc.integer({ min: 1, max: 8 }), async (sa, sb, maxOps) => {
      const ops = [...txOps(a, sa), ...txOps(b, sb)]
      async function* items(): AsyncIterable<DiffItem> {
        for (const op of ops.filter((o) => o.author === a)) yield { type: 'op', op }
        yield { type: 'done', author: a, through: sa.reduce((s, n) => s + n, 0) }
        for (const op of ops.filter((o) => o.author === b)) yield { type: 'op', op }
        yield { type: 'done', author: b, through: sb.reduce((s, n) => s + n, 0) }
      }
      const payloads: OutgoingPayload[] = []
      for await (const p of chunkDiff(items(), { maxOps, maxBytes: 64 * MiB })) payloads.push(p)
      const chunks = payloads.map((p) => p.ops)
      const txKey = (o: Operation) => `${o.author}/${o.tx}`
      // Every op exactly once, in order.
      if (chunks.flat().map((o) => `${o.author}:${o.counter}`).join() !== ops.map((o) => `${o.author}:${o.counter}`).join()) return false
      // No transaction split.
      const seen = new Map<string, number>()
      for (const [i, c] of chunks.entries()) for (const o of c) if ((seen.get(txKey(o)) ?? i) !== i) return false; else seen.set(txKey(o), i)
      for (const [i, c] of chunks.entries()) {
        if (c.length === 0) return false
        const txs = new Set(c.map(txKey))
        if (c.length > maxOps && txs.size > 1) return false
        // Greedy: the next chunk's first transaction would not have fitted in this one.
        const next = chunks[i + 1]
        if (next && c.length + next.filter((o) => txKey(o) === txKey(next[0])).length <= maxOps) return false
        // Progress names, per author in the chunk, its last counter.
        const last = new Map<string, number>()
        for (const o of c) last.set(o.author, o.counter)
        if (JSON.stringify([...last.entries()].sort()) !== JSON.stringify([...payloads[i].progress].sort())) return false
      }
      return true
    }),
    { numRuns: 150 },
  )
  t.pass('property held')
})

/** Checks that the stream restarted once, after the first window, at `quality`, and that every payload decodes across it. */
async function restartedOnce(t: Test, enc: ChunkEncoder, dec: ChunkDecoder, frames: ChunkFrame[], payloads: unknown[], quality: number): Promise<void> {
  t.equal(frames.findIndex((f) => f.reset !== undefined), 4, 'decided after the first window of four chunks')
  t.equal(frames[4].reset, quality, `restarted at quality ${quality}`)
  t.equal(enc.quality, quality, 'the encoder now uses it')
  const got = []
  for (const f of frames) got.push(await dec.decode(f))
  t.same(got, payloads, 'every payload decodes across the restart')
  enc.close()
  dec.close()
}

t.test('the encoder restarts its stream at the slow-link quality when the link is the bottleneck', async (t) => {
  const id = newIdentity()
  let clock = 0
  const enc = new ChunkEncoder(SESSION, 'pull', id.secretKey, { quality: 4, slowLinkQuality: 8 }, () => clock)
  const dec = new ChunkDecoder(SESSION, 'pull', id.publicKey, MiB)
  const payloads = Array.from({ length: 8 }, (_, i) => sample(20, `p${i}`))
  const frames: ChunkFrame[] = []
  for (const p of payloads) {
    const started = clock
    const frame = enc.encode(p)
    clock = started + 1 // each chunk takes the encoder 1 ms…
    frames.push(await frame)
    clock += 100 // …and the consumer 100 ms to take, as a slow link does
  }
  t.equal(frames.filter((f) => f.reset !== undefined).length, 1, 'one restart')
  await restartedOnce(t, enc, dec, frames, payloads, 8)
})

t.test('the encoder keeps the fast quality when the link keeps up', async (t) => {
  const id = newIdentity()
  let clock = 0
  const enc = new ChunkEncoder(SESSION, 'pull', id.secretKey, { quality: 4, slowLinkQuality: 8 }, () => clock)
  for (let i = 0; i < 8; i++) {
    const frame = enc.encode(sample(20, `f${i}`))
    clock += 10 // the encoder's time; the consumer asks again at once
    t.equal((await frame).reset, undefined, `chunk ${i} continues the stream`)
  }
  t.equal(enc.quality, 4, 'no restart')
  enc.close()
})

t.test('time spent reading the log is not taken for a slow link', async (t) => {
  const id = newIdentity()
  let clock = 0
  const enc = new ChunkEncoder(SESSION, 'pull', id.secretKey, { quality: 4, slowLinkQuality: 8 }, () => clock)
  for (let i = 0; i < 8; i++) {
    clock += 30
    enc.reading(30)
    const frame = enc.encode(sample(20, `r${i}`))
    clock += 1
    t.equal((await frame).reset, undefined, `chunk ${i} continues the stream`)
  }
  t.equal(enc.quality, 4, 'no restart: the time between chunks went into making them')
  enc.close()
})

t.test('a receiver busy applying, not waiting for data, takes the stream down to the cheaper quality', async (t) => {
  const id = newIdentity()
  let clock = 0
  const enc = new ChunkEncoder(SESSION, 'pull', id.secretKey, { quality: 5, slowLinkQuality: 11 }, () => clock)
  const dec = new ChunkDecoder(SESSION, 'pull', id.publicKey, MiB)
  const payloads = Array.from({ length: 8 }, (_, i) => sample(20, `b${i}`))
  const frames: ChunkFrame[] = []
  for (const [i, p] of payloads.entries()) {
    if (i === 2) enc.receiverBusy(true)
    const frame = enc.encode(p)
    clock += 5
    frames.push(await frame)
    clock += 50 // the server waits on the window; the receiver's acks say it was busy
  }
  t.equal(frames.filter((f) => f.reset !== undefined).length, 1, 'one restart')
  await restartedOnce(t, enc, dec, frames, payloads, RECEIVER_BOUND_QUALITY)
})

/** Encodes `n` samples, each taking the encoder 1 ms; `before(i)` runs before chunk i (to report a rate). */
async function run(enc: ChunkEncoder, n: number, tick: () => void, before: (i: number) => void = () => undefined): Promise<ChunkFrame[]> {
  const frames: ChunkFrame[] = []
  for (let i = 0; i < n; i++) {
    before(i)
    const frame = enc.encode(sample(20, `c${i}`))
    tick()
    frames.push(await frame)
  }
  enc.close()
  return frames
}

t.test('a cold stream starts at the cold quality and decides at its first rate: back to the fast quality on a fast link', async (t) => {
  const id = newIdentity()
  let clock = 0
  const enc = new ChunkEncoder(SESSION, 'pull', id.secretKey, DEFAULT_CODEC, () => clock)
  t.equal(enc.quality, DEFAULT_CODEC.coldQuality, 'nothing known: the cold quality from the first byte')
  // A link as fast as the encoder: the acks' rate says it carried each chunk in the time it was made.
  const frames = await run(enc, 6, () => (clock += 1), (i) => {
    if (i === 2) enc.linkRate(1e9)
  })
  t.equal(frames.findIndex((f) => f.reset !== undefined), 2, 'decided at the first chunk after the rate, not at the window\'s end')
  t.equal(frames[2].reset, DEFAULT_CODEC.quality, 'a fast link: the fast quality')
})

t.test('a cold stream on a link measured slower than it decides for the slow link at once, before it ever waited', async (t) => {
  const id = newIdentity()
  let clock = 0
  const enc = new ChunkEncoder(SESSION, 'pull', id.secretKey, DEFAULT_CODEC, () => clock)
  // Chunks of a few hundred bytes made in 1 ms each, a link of 1 byte per ms.
  const frames = await run(enc, 4, () => (clock += 1), (i) => {
    if (i === 3) enc.linkRate(1)
  })
  t.equal(frames[3].reset, DEFAULT_CODEC.slowLinkQuality, 'the best quality the encoder can afford')
})

t.test('a link rate known before the first chunk starts the stream at the quality it allows, from the sender\'s memory', async (t) => {
  const id = newIdentity()
  const memory = codecMemory()
  const fast = new ChunkEncoder(SESSION, 'pull', id.secretKey, DEFAULT_CODEC, undefined, { linkRate: 12_500, memory })
  t.equal(fast.quality, DEFAULT_CODEC.quality, '100 Mbit/s: the fast quality')
  fast.close()
  const slow = new ChunkEncoder(SESSION, 'pull', id.secretKey, DEFAULT_CODEC, undefined, { linkRate: 32, memory })
  t.equal(slow.quality, DEFAULT_CODEC.coldQuality, '256 kbit/s: no higher than a cold start; only acks take a stream to the costliest quality')
  slow.close()
  const noAcks = new ChunkEncoder(SESSION, 'pull', id.secretKey, DEFAULT_CODEC, undefined, { acks: false })
  t.equal(noAcks.quality, DEFAULT_CODEC.quality, 'a receiver without acks (nothing will measure the link): the fast quality, not cold')
  noAcks.close()
  // A window at quality 5 teaches the memory this sender's speed and ratio.
  let clock = 0
  const enc = new ChunkEncoder(SESSION, 'pull', id.secretKey, { quality: 5, slowLinkQuality: 11 }, () => clock, { memory })
  await run(enc, 5, () => (clock += 1))
  t.ok(memory.msPerByte[5] > 0 && memory.ratio[5] > 0, `measured at quality 5: ${memory.msPerByte[5].toExponential(2)} ms per byte, ${memory.ratio[5].toFixed(2)}× smaller`)
})
