/**
 * Byte breakdown of an initial pull, in process (no network): imports N bench resources
 * into an in-memory log, cuts the diff into chunks as the sync server does, and reports
 * where the bytes go: each wire field of the operations (msgpack), the chunk frames
 * after the product's compression, and brotli-11 references — the resources' JSON (the
 * bench's physical limit) and the operations' msgpack without the fields a receiver could
 * recompute. Diagnosis for scenarios 1–2; not part of `npm run bench`.
 *
 *   node dist/bench/bytes.js [resources=1000]
 */
import { LevelStore } from '../adapters/levelStore.js'
import { ChunkEncoder } from '../core/chunkCodec.js'
import { chunkDiff } from '../core/chunker.js'
import { CounterVectors } from '../core/counterVector.js'
import { diff } from '../core/diff.js'
import { authorOf, instanceIdOf, newIdentity } from '../core/identity.js'
import { Library } from '../core/library.js'
import { pack } from '../core/msgpack.js'
import { OpLog } from '../core/opLog.js'
import { encodeFrame } from '../core/syncMessages.js'
import { allResources } from './data.js'
import { brotliSize } from './limit.js'

const n = Number(process.argv[2] ?? 1000)
const FIELDS = ['author', 'counter', 'kind', 'id', 'partition', 'type', 'layer', 'hlc', 'tx', 'deps', 'body', 'bodyHash', 'hash']

const identity = newIdentity()
const store = await LevelStore.openMemory()
const log = await OpLog.open(store, { author: authorOf(instanceIdOf(identity.publicKey), 1), languages: ['en', 'fr', 'es'] })
const lib = new Library(log, { source: { name: 'bench' }, defaultPartition: 'lib' })
const resources = await allResources(1, n)
await lib.import(resources)

const filter = { prefixes: [''], languages: ['en', 'fr', 'es'] }
const encoder = new ChunkEncoder('0123456789abcdef0123456789abcdef', 'pull', identity.secretKey)
const fieldBytes = new Map<string, number>()
let payloadBytes = 0
let frameBytes = 0
let chunks = 0
let ops = 0
const packedOps: Uint8Array[] = []
const stripped: Uint8Array[] = []
for await (const payload of chunkDiff(diff(log, filter, CounterVectors.from([])), { maxOps: 500, maxBytes: 48 * 1024 })) {
  const raw = pack(payload)
  payloadBytes += raw.length
  for (const op of payload.ops as unknown[][]) {
    ops++
    op.forEach((v, i) => {
      const name = FIELDS[i] ?? `field${i}`
      fieldBytes.set(name, (fieldBytes.get(name) ?? 0) + pack(v).length)
    })
    packedOps.push(pack(op))
    // Without the content hash and body hash (recomputable by the receiver) and with the
    // author replaced by an index: what a leaner wire form would carry.
    stripped.push(pack(op.map((v, i) => (FIELDS[i] === 'hash' || FIELDS[i] === 'bodyHash' ? null : FIELDS[i] === 'author' ? 0 : v))))
  }
  frameBytes += encodeFrame(await encoder.encode(payload)).length
  chunks++
}
encoder.close()
const json = JSON.stringify(resources)
const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)))
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`
const [jsonBr, opsBr, strippedBr] = await Promise.all([brotliSize(json), brotliSize(concat(packedOps)), brotliSize(concat(stripped))])
console.log(`${n} resources = ${ops} operations in ${chunks} chunks`)
console.log(`resources as JSON: ${kib(json.length)}; brotli-11 (the bench's limit): ${kib(jsonBr)}`)
console.log(`chunk payloads (msgpack): ${kib(payloadBytes)}; as sent (compressed frames with hash + signature): ${kib(frameBytes)} = ${(frameBytes / jsonBr).toFixed(2)}× the limit`)
console.log(`operations' msgpack, brotli-11 as one stream: ${kib(opsBr)} (${(opsBr / jsonBr).toFixed(2)}× the limit)`)
console.log(`  without hash/bodyHash and with author as an index: ${kib(strippedBr)} (${(strippedBr / jsonBr).toFixed(2)}× the limit)`)
console.log('msgpack bytes per wire field (uncompressed), all operations:')
for (const [k, v] of [...fieldBytes].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(10)} ${kib(v).padStart(11)}  ${(v / ops).toFixed(1).padStart(7)} B/op`)
await store.close()
