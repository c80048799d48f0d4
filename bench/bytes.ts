/**
 * Byte breakdown of an initial pull, in process (no network): imports N bench resources
 * into an in-memory log, cuts the diff into chunks as the sync server does, and reports
 * where the bytes go: each column of the operations' wire form (msgpack), the chunk frames
 * as the product compresses them at a given quality, and brotli-11 references — the
 * resources' JSON (the bench's physical limit) and the chunk payloads as one stream.
 * Diagnosis for scenarios 1–2; not part of `npm run bench`.
 *
 *   node dist/bench/bytes.js [resources=1000] [quality=11] [text=words|catalogue]
 */
import { LevelStore } from '../adapters/levelStore.js'
import { ChunkEncoder } from '../core/sync/wire/chunkCodec.js'
import { chunkDiff, DEFAULT_CHUNK_LIMITS } from '../core/sync/chunker.js'
import { sealedChunks } from '../core/sync/sealing.js'
import { opCount } from '../core/sync/wire/opColumns.js'
import { CounterVectors } from '../core/model/counterVector.js'
import { diff } from '../core/sync/diff.js'
import { authorOf, instanceIdOf, newIdentity } from '../core/model/identity.js'
import { Library } from '../core/library/library.js'
import { pack } from '../core/msgpack.js'
import { OpLog } from '../core/log/opLog.js'
import { encodeFrame } from '../core/sync/wire/frames.js'
import { allResources } from './data.js'
import { brotliSize } from './limit.js'

const n = Number(process.argv[2] ?? 1000)
const COLUMNS = ['authors', 'strings', 'author', 'counter', 'kind', 'id', 'partition', 'type', 'layer', 'hlc', 'tx', 'deps', 'body', 'bodyHash', 'check', 'seed', 'salt']

const identity = newIdentity()
const store = await LevelStore.openMemory()
const log = await OpLog.open(store, { author: authorOf(instanceIdOf(identity.publicKey), 1), languages: ['en', 'fr', 'es'], identity })
const lib = new Library(log, { source: { name: 'bench' }, defaultPartition: 'lib' })
const resources = await allResources(1, n, process.argv[4] === 'catalogue' ? 'catalogue' : 'words')
await lib.import(resources)

const filter = { prefixes: [''], languages: ['en', 'fr', 'es'] }
// The quality a slow link gets (scenarios 1–2); the first chunks go at the start quality.
const encoder = new ChunkEncoder('0123456789abcdef0123456789abcdef', 'pull', identity.secretKey, { quality: Number(process.argv[3] ?? 11), slowLinkQuality: 11 })
const columnBytes = new Map<string, number>()
let payloadBytes = 0
let frameBytes = 0
let chunks = 0
let ops = 0
const parts: Uint8Array[] = []
for await (const payload of sealedChunks(log, chunkDiff(diff(log, filter, CounterVectors.from([])), DEFAULT_CHUNK_LIMITS))) {
  const raw = pack(payload)
  payloadBytes += raw.length
  parts.push(raw)
  ops += opCount(payload.ops)
  payload.ops.forEach((v, i) => columnBytes.set(COLUMNS[i], (columnBytes.get(COLUMNS[i]) ?? 0) + pack(v).length))
  frameBytes += encodeFrame(await encoder.encode(payload)).length
  chunks++
}
encoder.close()
const json = JSON.stringify(resources)
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`
const [jsonBr, payloadBr] = await Promise.all([brotliSize(json), brotliSize(Buffer.concat(parts.map((p) => Buffer.from(p))))])
console.log(`${n} resources = ${ops} operations in ${chunks} chunks (final quality ${encoder.quality})`)
console.log(`resources as JSON: ${kib(json.length)}; brotli-11 (the bench's limit): ${kib(jsonBr)}`)
console.log(`chunk payloads (msgpack): ${kib(payloadBytes)}; as sent (compressed frames with hash + signature): ${kib(frameBytes)} = ${(frameBytes / jsonBr).toFixed(3)}× the limit`)
console.log(`chunk payloads, brotli-11 as one stream: ${kib(payloadBr)} (${(payloadBr / jsonBr).toFixed(3)}× the limit)`)
console.log('msgpack bytes per column (uncompressed), all chunks:')
for (const [k, v] of [...columnBytes].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(10)} ${kib(v).padStart(11)}  ${(v / ops).toFixed(1).padStart(7)} B/op`)
await store.close()
