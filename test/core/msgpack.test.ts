/**
 * Bounded decoding of untrusted msgpack (core/msgpack.ts): the walk over the bytes refuses a
 * value over its bounds before the decoder builds any of it, whatever the value's shape (one
 * wide array, many narrow ones, deep nesting), and lets everything within them decode as the
 * plain decoder does.
 */
import t from 'tap'
import { pack, unpack, Unpacker, type UnpackBounds } from '../../core/msgpack.js'
import { codeOf } from '../helpers/errorCodes.js'

const BOUNDS: UnpackBounds = { maxElements: 1000, maxDepth: 4, maxArrayLength: 100, maxMapLength: 8, maxStrLength: 64, maxBinLength: 256, tooLarge: 'POLLEN_CHUNK_TOO_LARGE' }
const u = new Unpacker(BOUNDS)
const decode = (bytes: Uint8Array) => () => u.unpack(bytes, 'the test value')

/** `count` copies of `item` in a msgpack array32. */
function manyOf(item: number[], count: number): Uint8Array {
  const out = new Uint8Array(5 + count * item.length)
  out[0] = 0xdd
  new DataView(out.buffer).setUint32(1, count)
  for (let i = 0; i < count; i++) out.set(item, 5 + i * item.length)
  return out
}

t.test('values within the bounds decode as the plain decoder decodes them', async (t) => {
  const values = [null, true, 0, -1, 2 ** 40, 1.5, 'text', new Uint8Array([1, 2, 3]), [1, [2, [3, []]]], { a: 1, b: [{ c: 'x' }] }, Array.from({ length: 100 }, (_, i) => i)]
  for (const v of values) t.same(u.unpack(pack(v), 'a value'), unpack(pack(v)), JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? [...x] : x)))
})

t.test('more values than maxElements is refused with the bounds code, however they are arranged', async (t) => {
  t.equal(await codeOf(decode(manyOf([0x90], 1001))), 'POLLEN_CHUNK_TOO_LARGE', 'one array of 1001 empty arrays (over maxArrayLength too)')
  // Ten arrays of 100 empty arrays each: every container within its length, 1011 values in all.
  const wide = pack(Array.from({ length: 10 }, () => Array.from({ length: 100 }, () => [])))
  t.equal(await codeOf(decode(wide)), 'POLLEN_CHUNK_TOO_LARGE', 'many narrow arrays')
  const maps = pack(Array.from({ length: 100 }, () => ({ a: 1, b: 2, c: 3, d: 4, e: 5 })))
  t.equal(await codeOf(decode(maps)), 'POLLEN_CHUNK_TOO_LARGE', 'map entries count twice')
  t.equal(await codeOf(decode(pack(Array.from({ length: 9 }, () => Array.from({ length: 100 }, () => 0))))), 'no error', '909 values pass')
})

t.test('nesting deeper than maxDepth is refused as malformed, before any of it is built', async (t) => {
  // 1 MiB of 0x91, then 0x90: an array holding an array holding an array... holding [].
  const deep = new Uint8Array(1024 * 1024).fill(0x91)
  deep[deep.length - 1] = 0x90
  t.equal(await codeOf(decode(deep)), 'POLLEN_BAD_MESSAGE', '1 MiB of [[[…]]]')
  t.equal(await codeOf(decode(pack([[[[]]]]))), 'no error', 'four deep passes')
  t.equal(await codeOf(decode(pack([[[[[]]]]]))), 'POLLEN_BAD_MESSAGE', 'five deep does not')
})

t.test('lengths over their bounds, lengths the bytes cannot hold, and extension types', async (t) => {
  t.equal(await codeOf(decode(pack('x'.repeat(65)))), 'POLLEN_CHUNK_TOO_LARGE', 'a string over maxStrLength')
  t.equal(await codeOf(decode(pack(new Uint8Array(257)))), 'POLLEN_CHUNK_TOO_LARGE', 'bytes over maxBinLength')
  t.equal(await codeOf(decode(pack(Array.from({ length: 101 }, () => 0)))), 'POLLEN_CHUNK_TOO_LARGE', 'an array over maxArrayLength')
  t.equal(await codeOf(decode(pack({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9 }))), 'POLLEN_CHUNK_TOO_LARGE', 'a map over maxMapLength')
  // array16 claiming 50 values in 3 bytes: refused without stepping through 50.
  t.equal(await codeOf(decode(new Uint8Array([0xdc, 0x00, 0x32, 0x01]))), 'POLLEN_BAD_MESSAGE', 'a count the bytes cannot hold')
  t.equal(await codeOf(decode(new Uint8Array([0xc4, 0x10, 1, 2]))), 'POLLEN_BAD_MESSAGE', 'bytes cut short')
  t.equal(await codeOf(decode(new Uint8Array([0xd4, 0x01, 0x00]))), 'POLLEN_BAD_MESSAGE', 'an extension type')
  t.equal(await codeOf(decode(new Uint8Array([0xc1]))), 'POLLEN_BAD_MESSAGE', 'the never-used type byte')
  t.equal(await codeOf(decode(new Uint8Array([0x01, 0x02]))), 'POLLEN_BAD_MESSAGE', 'bytes after the value')
})
