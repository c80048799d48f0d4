/**
 * Salt seeds and purges (core/log/seedDrops.ts): a purge takes the seed from every operation
 * that shared it, here and wherever the purge arrives, and a sibling that arrives after the
 * purge, from a peer that has not seen it, is stored with its own salt, across a restart.
 * Nothing stored afterwards holds the seed, so the purged body hash cannot be salted back.
 */
import t from 'tap'
import { OpLog } from '../../../core/log/opLog.js'
import { verifyOperation, type Operation } from '../../../core/model/operation.js'
import { allOps, memoryInstance, type TestInstance } from '../../helpers/instances.js'

const resources = [
  { id: 'r1', title: { en: 'Jane Doe: positive' } },
  { id: 'r2', title: { en: 'Hand washing' } },
  { id: 'r3', title: { en: 'Clean water' } },
]

/** Every stored value of a store, concatenated: what a copy of the data directory reveals. */
async function storedBytes(inst: TestInstance): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const [, v] of inst.store.range({ gte: '', lt: '\uffff' })) parts.push(Buffer.from(v))
  return Buffer.concat(parts)
}

/** A fresh copy of each operation, as read back from storage (no hash cached): verification redoes every hash. */
const recheck = (ops: readonly Operation[]): void => ops.forEach((op) => verifyOperation({ ...op }))

t.test('a purge takes the shared seed from the siblings, here and on the receiver, and a late sibling never brings it back', async (t) => {
  const origin = await memoryInstance({ languages: ['en'] })
  const recv = await memoryInstance({ languages: ['en'] })
  await origin.lib.import(resources)
  const written = await allOps(origin.log)
  const seed = written[0].seed
  t.ok(seed && written.every((op) => op.body === null || Buffer.compare(op.seed as Uint8Array, seed) === 0), 'one import, one seed for the whole segment')
  const of = (id: string) => written.filter((op) => op.id === id)
  // The receiver gets r1 and r2 now; r3 will come later, from a peer that never saw the purge.
  await recv.log.applyRemote([...of('r1'), ...of('r2')])
  t.ok((await storedBytes(recv)).includes(Buffer.from(seed as Uint8Array)), 'control: the receiver holds the seed before the purge')

  await origin.lib.delete('r1', true)
  const purge = (await allOps(origin.log)).filter((op) => op.type === 'purge')
  await recv.log.applyRemote(purge)
  for (const inst of [origin, recv]) {
    const name = inst === origin ? 'origin' : 'the receiver'
    t.notOk((await storedBytes(inst)).includes(Buffer.from(seed as Uint8Array)), `${name} holds the seed nowhere`)
    const ops = await allOps(inst.log)
    t.ok(ops.filter((op) => op.id === 'r1').every((op) => op.body === null && !op.seed && !op.salt), `${name}: r1's operations keep neither body, seed nor salt`)
    const siblings = ops.filter((op) => op.id !== 'r1' && op.body)
    t.ok(siblings.length > 0 && siblings.every((op) => !op.seed && op.salt), `${name}: the siblings keep their own salts`)
    t.doesNotThrow(() => recheck(siblings), `${name}: and still verify`)
  }

  // Restarted, the receiver still knows the dropped seed by its mark.
  const reopened = await OpLog.open(recv.store, { author: recv.log.author, languages: ['en'] })
  const late = of('r3')
  t.ok(late.every((op) => op.seed), 'the late sibling comes with the seed (its sender has not seen the purge)')
  const res = await reopened.applyRemote(late)
  t.equal(res.applied, late.length, 'it is applied')
  t.notOk((await storedBytes(recv)).includes(Buffer.from(seed as Uint8Array)), 'but the seed is not stored with it')
  const stored = (await allOps(reopened)).filter((op) => op.id === 'r3')
  t.ok(stored.length === late.length && stored.every((op) => !op.seed && op.salt), 'it keeps its own salt')
  t.doesNotThrow(() => recheck(stored), 'and verifies')
  t.same(stored.map((op) => Buffer.from(op.hash).toString('hex')), late.map((op) => Buffer.from(op.hash).toString('hex')), 'with the hashes its author signed')
  await origin.store.close()
  await recv.store.close()
})
