/**
 * The claims check (core/sync/verify.ts, docs/protocol.md §10): a holder whose claims cover
 * operations it lacks — the state issue 14's race left behind — finds out from a peer that
 * holds them, lowers the untrue claims, and the next pull heals it. Honest claims are left
 * alone; a peer cannot use the check to make the server do unbounded work or change state.
 */
import t from 'tap'
import { claimsHold } from '../../helpers/claims.js'
import { commitDuringNextScan } from '../../helpers/commitHook.js'
import { allOps, newAuthor } from '../../helpers/instances.js'
import { grant, node, sync, verify, type Node } from '../../helpers/syncNet.js'
import { bucketFor, claimsToCheck, countClaims, repairsFor } from '../../../core/sync/verify.js'
import { CounterVectors } from '../../../core/model/counterVector.js'
import { MAX_CHECKS } from '../../../core/sync/wire/frames.js'

async function puts(n: Node, count: number, partition: string, from = 0): Promise<void> {
  const items = Array.from({ length: count }, (_, i) => ({ id: `${n.name}-${partition}-${from + i}`, partition, title: { en: `${n.name} ${from + i}` } }))
  await n.lib.import(items)
}

const ids = async (n: Node) => [...new Set((await allOps(n.log)).map((op) => op.id))].sort()

/** Makes `n` claim everything `author` wrote up to `counter`, at the root, as the race did. */
async function overClaim(n: Node, author: string, counter: number): Promise<void> {
  await n.log.applyRemote([], ['', 'en'].map((layer) => ({ prefix: '', layer, author, counter })))
}

/** A cloud with `n` resources in each of lib:a and lib:b, and a school that pulled lib:a only. */
async function schoolOfLibA(t: { ok(v: unknown, m: string): unknown }, n: number): Promise<{ cloud: Node; school: Node }> {
  const cloud = await node('cloud')
  const school = await node('school')
  await puts(cloud, n, 'lib:a')
  await puts(cloud, n, 'lib:b')
  t.ok((await sync(school, cloud, { mode: 'pull', prefixes: ['lib:a'] })).ok, 'the school pulled lib:a')
  return { cloud, school }
}

async function dump(n: Node): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of n.store.range({})) out.push(`${k}=${Buffer.from(v).toString('hex')}`)
  return out
}

t.test('a school made to claim operations it lacks is found out and healed by the next pull', async (t) => {
  const { cloud, school } = await schoolOfLibA(t, 700)
  await overClaim(school, cloud.log.author, cloud.log.counter)
  t.not((await claimsHold([cloud, school])).length, 0, 'the school now claims operations of lib:b it lacks')
  t.equal((await sync(school, cloud, { mode: 'pull' })).pulled, 0, 'and a pull sends nothing: the loss is silent')

  const r = await verify(school, cloud)
  t.ok(r.ok, r.error ?? 'checked')
  t.ok(r.mismatches.length > 0, `${r.mismatches.length} untrue claims found`)
  const m = r.mismatches.find((x) => x.layer === '')
  t.ok(m && m.held < m.expected, `the school held ${m?.held} of ${m?.expected} operations under its claim`)
  t.ok(r.lowered > 0, `${r.lowered} stored claims lowered`)
  t.same(await claimsHold([cloud, school]), [], 'after the check the school claims only what it holds')

  const healed = await sync(school, cloud, { mode: 'pull' })
  t.ok(healed.ok && healed.pulled > 0, `the next pull brings what was missing (${healed.pulled} operations)`)
  t.same(await ids(school), await ids(cloud), 'the school holds every record')
  const again = await verify(school, cloud)
  t.equal(again.mismatches.length, 0, 'a second check finds nothing')
  t.equal(again.lowered, 0, 'and lowers nothing')
})

t.test('honest claims pass the check unchanged, and the server stores nothing for it', async (t) => {
  const cloud = await node('cloud')
  const school = await node('school')
  await puts(cloud, 300, 'lib:a')
  await puts(school, 50, 'lib:s')
  t.ok((await sync(school, cloud)).ok)
  await grant(cloud, school)
  const before = await dump(cloud)
  const vectors = JSON.stringify(school.log.vectors.entries())
  const r = await verify(school, cloud)
  t.ok(r.ok, r.error ?? 'checked')
  t.ok(r.checked > 0 && r.counted >= 600, `${r.checked} claims and ${r.counted} operations counted`)
  t.same(r.mismatches, [], 'no mismatch')
  t.equal(JSON.stringify(school.log.vectors.entries()), vectors, 'the school’s claims are unchanged')
  t.same(await dump(cloud), before, 'the server’s store is byte-identical')
})

t.test('a read-only key may check, within its scope only', async (t) => {
  const cloud = await node('cloud')
  const school = await node('school')
  await puts(cloud, 20, 'lib:a')
  await puts(cloud, 20, 'lib:b')
  t.ok((await sync(school, cloud, { mode: 'pull', prefixes: ['lib:a'], role: 'read', scope: ['lib:a'] })).ok)
  await overClaim(school, cloud.log.author, cloud.log.counter)
  const r = await verify(school, cloud, { prefixes: [''], role: 'read', scope: ['lib:a'] })
  t.ok(r.ok, r.error ?? 'checked')
  t.same(r.mismatches, [], 'claims outside the key’s scope are not judged: the server shows nothing of lib:b')
})

t.test('a pull opened before claims were lowered does not raise them again', async (t) => {
  const { cloud, school } = await schoolOfLibA(t, 30)
  await puts(cloud, 5, 'lib:a', 100)
  await overClaim(school, cloud.log.author, cloud.log.counter - 10)
  // The pull's holder claims (untrue for lib:b) are sent; the check lowers them mid-stream.
  const hook = commitDuringNextScan(cloud.store, async () => {
    const r = await verify(school, cloud)
    if (!r.ok || r.lowered === 0) throw new Error(`the injected check did not lower anything: ${r.error}`)
  })
  const r = await sync(school, cloud, { mode: 'pull' })
  t.ok(hook.fired() && r.ok, r.error ?? 'pulled while the check ran')
  t.same(await claimsHold([cloud, school]), [], 'the stale pull’s end did not re-raise the lowered claims')
  t.ok((await sync(school, cloud, { mode: 'pull' })).ok)
  t.same(await ids(school), await ids(cloud), 'the following pull heals the school')
})

t.test('the checker bounds its work and refuses a second check at once', async (t) => {
  const cloud = await node('cloud')
  const school = await node('school')
  await puts(cloud, 10, 'lib:a')
  // A holder naming more claims than MAX_CHECKS: rows for many prefixes, each with two authors
  // the cloud claims too (fewer rows than one report carries, so none is left out of it).
  const author = cloud.log.author
  const other = newAuthor()
  await cloud.log.applyRemote([], [{ prefix: '', layer: '', author: other, counter: 5 }])
  const rows = Array.from({ length: MAX_CHECKS / 2 + 1 }, (_, i) => ({ prefix: `lib:a/${i}`, layer: '', counters: { [author]: 5, [other]: 5 } }))
  const checks = claimsToCheck(rows, CounterVectors.from(rows), cloud.log.vectors, { prefixes: [''], languages: [] })
  t.ok(checks.length > MAX_CHECKS, 'such a holder names too many claims')
  await school.log.applyRemote([], rows.flatMap((r) => [author, other].map((a) => ({ prefix: r.prefix, layer: '', author: a, counter: 5 }))))
  await grant(cloud, school)
  const before = await dump(cloud)
  const r = await verify(school, cloud)
  t.equal(r.code, 'POLLEN_BODY_TOO_LARGE', `refused: ${r.error}`)
  t.same(await dump(cloud), before, 'nothing stored changed on the server')

  const fresh = await node('fresh')
  t.ok((await sync(fresh, cloud, { mode: 'pull' })).ok)
  // A second check arrives while the first one's scan is under way.
  let second: string | null = null
  commitDuringNextScan(cloud.store, async () => (second = (await verify(fresh, cloud)).code))
  const first = await verify(fresh, cloud)
  t.equal(first.code, null, 'the first check runs')
  t.equal(second, 'POLLEN_SESSION_LIMIT', 'one arriving meanwhile is told to try again')
})

t.test('counting and comparing, on their own', async (t) => {
  t.equal(bucketFor(10), 1024, 'small claims use the smallest bucket')
  t.equal(bucketFor(1_000_000), Math.ceil(1_000_000 / 128), 'large claims use at most 128 buckets')
  const cloud = await node('cloud')
  await puts(cloud, 1500, 'lib:a')
  const check = { prefix: 'lib:a', layer: 'en', author: cloud.log.author, through: cloud.log.counter, bucket: 1024 }
  const [counted] = await countClaims(cloud.log, [check])
  t.equal(counted.counts.reduce((x, y) => x + y, 0), 1500, 'one English operation per resource is counted')
  const short = { ...counted, counts: [counted.counts[0], counted.counts[1] - 1, ...counted.counts.slice(2)] }
  const stored = [{ prefix: '', layer: 'en', counters: { [check.author]: check.through } }, { prefix: 'lib:b', layer: 'en', counters: { [check.author]: check.through } }, { prefix: 'lib:a/x', layer: 'fr', counters: { [check.author]: check.through } }]
  const { mismatches, lowerings } = repairsFor([counted], [short], CounterVectors.from(stored), stored)
  t.equal(mismatches[0].provenThrough, 1024, 'the claim is lowered to the start of the first short bucket')
  t.same(lowerings.map((l) => l.prefix), [''], 'only rows that could make the claim effective are lowered: the ancestor, not a sibling or another layer')
})
