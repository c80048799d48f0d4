/**
 * Checking a chunk's seals (core/sync/sealCheck.ts) against seals made as a sender makes
 * them (core/sync/sealing.ts): whole segments, stretches with a prefix digest and omitted
 * hashes, and every malformed entry an attacker can send.
 */
import t from 'tap'
import { LevelStore } from '../../../adapters/levelStore.js'
import { SealStore, type Island } from '../../../core/log/seals.js'
import { authorOf, instanceIdOf, newIdentity } from '../../../core/model/identity.js'
import { makeOperation, type Operation } from '../../../core/model/operation.js'
import { checkSeals, SealGate } from '../../../core/sync/sealCheck.js'
import { sealsFor, type SealSource } from '../../../core/sync/sealing.js'
import type { WireSeal } from '../../../core/sync/wire/frames.js'
import { codeOf } from '../../helpers/errorCodes.js'

const id = newIdentity()
const author = authorOf(instanceIdOf(id.publicKey), 1)

function ops(from: number, to: number, a = author): Operation[] {
  const out: Operation[] = []
  for (let c = from; c <= to; c++) out.push(makeOperation({ author: a, counter: c, kind: 'resource', id: `r${c}`, partition: 'lib', type: 'put', layer: '', hlc: c, tx: c, deps: {}, body: { n: c } }))
  return out
}

/** A sender holding `held`, whose islands are the author's seals over them. */
async function sender(held: Operation[]): Promise<SealSource> {
  const { islands } = new SealStore(await LevelStore.openMemory()).sealOwn(id, held, undefined)
  return {
    seals: { islands: async (_a: string, s: number): Promise<Island[]> => islands.filter((i) => i.s === s) },
    opHashes: async (_a: string, from: number, to: number) => new Map(held.filter((o) => o.counter >= from && o.counter <= to).map((o) => [o.counter, o.hash])),
  }
}

t.test('whole segments: one entry each, no hashes beside the operations', async (t) => {
  const all = ops(1, 200)
  const { seals, keys } = await sealsFor(await sender(all), all)
  t.equal(seals.length, 2, 'segments 0 and 1')
  t.same(seals.map((s) => s[7].length), [0, 0], 'no omitted hashes')
  t.equal(keys.length, 1, 'the author key once')
  const check = await checkSeals(all, seals, keys)
  t.equal(check.unsealed.length, 0, 'every operation sealed')
  t.same(check.islands.map((i) => [i.base, i.last]), [[0, 128], [128, 200]])
})

t.test('a stretch inside a segment: the digest before it and the hashes after it', async (t) => {
  const all = ops(1, 10)
  const part = all.slice(3, 6)
  const { seals, keys } = await sealsFor(await sender(all), part)
  const [entry] = seals
  t.equal(entry[3], 4, 'from counter 4')
  t.ok(entry[4] instanceof Uint8Array, 'with the digest after counter 3')
  t.equal(entry[7].length, 4 * 32, 'the hashes of counters 7–10')
  const check = await checkSeals(part, seals, keys)
  t.equal(check.unsealed.length, 0)
  t.same([check.islands[0].base, check.islands[0].last, check.islands[0].omitted.size], [3, 10, 4])
})

t.test('a changed hash, operation or key is refused as a forgery', async (t) => {
  const all = ops(1, 10)
  const part = all.slice(0, 5)
  const { seals, keys } = await sealsFor(await sender(all), part)
  const flip = (s: WireSeal, i: number): WireSeal => {
    const copy = [...s] as WireSeal
    const bytes = new Uint8Array(copy[i] as Uint8Array)
    bytes[0] ^= 1
    copy[i] = bytes
    return copy
  }
  t.equal(await codeOf(() => checkSeals(part, [flip(seals[0], 7)], keys)), 'POLLEN_BAD_SIGNATURE', 'an omitted hash changed')
  t.equal(await codeOf(() => checkSeals(part, [flip(seals[0], 6)], keys)), 'POLLEN_BAD_SIGNATURE', 'the signature changed')
  const changed = [makeOperation({ ...part[0], body: { n: 'changed' } }), ...part.slice(1)]
  t.equal(await codeOf(() => checkSeals(changed, seals, keys)), 'POLLEN_BAD_SIGNATURE', 'an operation changed')
  t.equal(await codeOf(() => checkSeals(part, seals, [newIdentity().publicKey])), 'POLLEN_BAD_SIGNATURE', 'another key')
  t.equal(await codeOf(() => checkSeals([...part, changed[0]], seals, keys)), 'POLLEN_COUNTER_REUSE', 'two operations with one counter')
})

t.test('malformed seals are refused before any signature is checked', async (t) => {
  const all = ops(1, 10)
  const { seals, keys } = await sealsFor(await sender(all), all)
  const e = seals[0]
  const bad: [string, unknown, unknown][] = [
    ['seals not a list', 'x', keys],
    ['more entries than operations', Array.from({ length: 11 }, () => e), keys],
    ['keys not 32 bytes', seals, [new Uint8Array(31)]],
    ['an entry of 7 fields', [e.slice(0, 7)], keys],
    ['a key index out of range', [[e[0], 1, ...e.slice(2)]], keys],
    ['no author id', [['someone', ...e.slice(1)]], keys],
    ['a last counter beyond the segment', [[...e.slice(0, 5), 129, ...e.slice(6)]], keys],
    ['a prefix at the segment start', [[...e.slice(0, 4), new Uint8Array(32), ...e.slice(5)]], keys],
    ['omitted hashes not a multiple of 32', [[...e.slice(0, 7), new Uint8Array(33)]], keys],
    ['more omitted hashes than the seal covers', [[...e.slice(0, 7), new Uint8Array(32)]], keys],
    ['an entry covering none of the chunk', [[e[0], 0, 1, 129, new Uint8Array(32), 130, e[6], new Uint8Array(64)]], keys],
  ]
  for (const [what, s, k] of bad) t.equal(await codeOf(() => checkSeals(all, s, k)), 'POLLEN_BAD_MESSAGE', what)
})

t.test('a session gate leaves out unsealed operations and keeps claims below them, unless it trusts the sender', async (t) => {
  const sealed = ops(1, 3)
  const other = ops(1, 2, '0123456789abcdef0123456789abcdef.1')
  const { seals, keys } = await sealsFor(await sender(sealed), sealed)
  const gate = new SealGate(false)
  const taken = await gate.take([...sealed, ...other], seals, keys)
  t.equal(taken.ops.length, 3, 'only the sealed ones')
  t.equal(gate.unsealed, 2)
  const claims = [{ author: other[0].author, counter: 9 }, { author, counter: 3 }]
  t.same(gate.cap(claims), [{ author, counter: 3 }], 'no claim of the unsealed author from its first left-out counter')
  const trusting = new SealGate(true)
  t.equal((await trusting.take([...sealed, ...other], seals, keys)).ops.length, 5, 'a trusted relay\'s are all kept')
  t.same(trusting.cap(claims), claims)
})
