/** Seals (core/model/seal.ts): segment arithmetic, and a signature that binds author, segment, counter and digest. */
import t from 'tap'
import { authorOf, instanceIdOf, newIdentity } from '../../../core/model/identity.js'
import { chainSeed, chainStep, segmentEnd, segmentOf, segmentStart, sealVerifies, signSeal } from '../../../core/model/seal.js'

t.test('segments of 128 counters', async (t) => {
  t.same([1, 128, 129, 256, 257].map(segmentOf), [0, 0, 1, 1, 2])
  t.same([segmentStart(0), segmentEnd(0), segmentStart(1), segmentEnd(1)], [1, 128, 129, 256])
})

t.test('a seal verifies only with its author\'s key and exactly what it signed', async (t) => {
  const id = newIdentity()
  const author = authorOf(instanceIdOf(id.publicKey), 1)
  const digest = chainStep(chainSeed(author, 0), new Uint8Array(32).fill(7))
  const seal = signSeal(id, author, 0, 1, digest)
  t.ok(await sealVerifies(seal, id.publicKey), 'genuine')
  t.notOk(await sealVerifies(seal, newIdentity().publicKey), 'another instance\'s key')
  const other = newIdentity()
  t.notOk(await sealVerifies(signSeal(other, author, 0, 1, digest), other.publicKey), 'signed by another key naming this author: its key is not the author\'s')
  t.notOk(await sealVerifies({ ...seal, last: 2 }, id.publicKey), 'another counter')
  t.notOk(await sealVerifies({ ...seal, digest: chainStep(digest, digest) }, id.publicKey), 'another digest')
  t.notOk(await sealVerifies({ ...seal, s: 1 }, id.publicKey), 'a counter outside the segment named')
  t.notOk(await sealVerifies({ ...seal, author: authorOf(instanceIdOf(id.publicKey), 2) }, id.publicKey), 'another epoch of the same instance')
  t.notOk(await sealVerifies(seal, new Uint8Array(31)), 'a malformed key')
})

t.test('chains differ by author, segment and every hash', async (t) => {
  const a = '0123456789abcdef0123456789abcdef.1'
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
  t.not(hex(chainSeed(a, 0)), hex(chainSeed(a, 1)))
  t.not(hex(chainSeed(a, 0)), hex(chainSeed('0123456789abcdef0123456789abcdef.2', 0)))
  const h1 = new Uint8Array(32).fill(1)
  const h2 = new Uint8Array(32).fill(2)
  t.not(hex(chainStep(chainStep(chainSeed(a, 0), h1), h2)), hex(chainStep(chainStep(chainSeed(a, 0), h2), h1)), 'order matters')
})
