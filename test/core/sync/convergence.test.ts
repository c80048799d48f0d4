/**
 * Convergence, proven by property: 3–5 instances, random operations (puts in several
 * partitions and languages, concurrent edits, deletes, purges) and random syncs with random
 * filters and directions, with each instance's record filter (core/log/presenceFilteredStore.ts)
 * loaded at a random point or not at all. After every step no instance claims an operation it does not hold
 * (docs/design.md §3.3); after a final full round all instances hold identical logs and projections.
 *
 * The second property keeps syncs in flight (test/helpers/interleave.ts): a sync is started,
 * parked at its frames and scans, and moved a few gates at a time while local writes, plain
 * syncs and other in-flight syncs run between its steps, so commits land inside its diffs and
 * between its chunks (issue 14: claims read after a diff started covered a commit the diff's
 * snapshot did not send). Interleavings come from the command list alone, so a failure
 * replays from its seed and shrinks to a short list.
 *
 * POLLEN_PROPERTY_RUNS sets the runs of each property (defaults keep this file near 20 s of
 * CPU); POLLEN_PROPERTY_SEED and POLLEN_PROPERTY_PATH replay a reported failure (TAP_GREP
 * picks the property).
 */
import t from 'tap'
import fc from 'fast-check'
import { projectionDump, allOps } from '../../helpers/instances.js'
import { node, sync, type Node } from '../../helpers/syncNet.js'
import { encodeOperation } from '../../../core/log/storedOp.js'
import { claimsHold } from '../../helpers/claims.js'
import { fixedIdentity, gateScans, gatedTransport, Interleaver, type Flight } from '../../helpers/interleave.js'
import type { SyncResult } from '../../../core/sync/client.js'

const PARTITIONS = ['p1', 'p1/u1', 'p1/u2', 'p2']
const PREFIXES = ['', 'p1', 'p1/u1', 'p1/u2', 'p2']
const IDS = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']
/** Small chunks on both sides: a stream has many chunks, so many points to interleave at. */
const SMALL = { maxOps: 3, maxBytes: 4096 }
/** In-flight syncs at once. One per (client, server) pair, as the daemon joins runs per peer. */
const MAX_IN_FLIGHT = 3

const envRuns = Number(process.env.POLLEN_PROPERTY_RUNS) || undefined
const replay = process.env.POLLEN_PROPERTY_SEED ? { seed: Number(process.env.POLLEN_PROPERTY_SEED), path: process.env.POLLEN_PROPERTY_PATH } : {}

/** Commands name instances 0–4 and are folded onto the run's 3–5 (see `world`). */
const MAX_NODES = 5
const ix = fc.nat(MAX_NODES - 1)

type SyncSpec = { a: number; b: number; prefixes: string[]; mode: 'pull' | 'push' | 'both' }
type Put = { id: number; part: number; en: string; fr: string | null }
type Cmd =
  | ({ k: 'put'; node: number } & Put)
  | { k: 'delete'; node: number; id: number; purge: boolean }
  | ({ k: 'sync' } & SyncSpec)
  | { k: 'warm'; node: number }
type Concurrent =
  | Cmd
  | ({ k: 'start' } & SyncSpec)
  | { k: 'step'; pick: number; times: number }
  | { k: 'settle' }
  // Into an in-flight sync's client or server: a local write, or (`from`) a chunk pulled from another instance.
  | ({ k: 'during'; pick: number; side: 'a' | 'b'; from: number | null } & Put)

const syncSpec = { a: ix, b: ix, prefixes: fc.uniqueArray(fc.constantFrom(...PREFIXES), { minLength: 1, maxLength: 2 }), mode: fc.constantFrom('pull' as const, 'push' as const, 'both' as const) }
const put = { id: fc.nat(IDS.length - 1), part: fc.nat(PARTITIONS.length - 1), en: fc.string({ maxLength: 6 }), fr: fc.option(fc.string({ maxLength: 6 }), { nil: null }) }

const local = [
  { weight: 5, arbitrary: fc.record({ k: fc.constant('put' as const), node: ix, ...put }) },
  // Purges are rarer than deletes (3 in 10), drawn from the seed so a run replays.
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), node: ix, id: fc.nat(IDS.length - 1), purge: fc.nat(9).map((d) => d < 3) }) },
  // The record filter loaded at a random point, as a daemon does once serving.
  { weight: 1, arbitrary: fc.record({ k: fc.constant('warm' as const), node: ix }) },
]

const cmd: fc.Arbitrary<Cmd> = fc.oneof(...local, { weight: 4, arbitrary: fc.record({ k: fc.constant('sync' as const), ...syncSpec }) })

const concurrent: fc.Arbitrary<Concurrent> = fc.oneof(
  ...local,
  // A plain sync runs to its end while the flights stay parked: chunks from a third peer land inside them.
  { weight: 1, arbitrary: fc.record({ k: fc.constant('sync' as const), ...syncSpec }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('start' as const), ...syncSpec }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('step' as const), pick: fc.nat(MAX_IN_FLIGHT - 1), times: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'settle' as const }) },
  // Commits on the very instances a parked sync is reading or writing: where the races are.
  { weight: 3, arbitrary: fc.record({ k: fc.constant('during' as const), pick: fc.nat(MAX_IN_FLIGHT - 1), side: fc.constantFrom('a' as const, 'b' as const), from: fc.option(ix, { nil: null, freq: 3 }), ...put }) },
)

async function local1(nodes: Node[], c: Cmd): Promise<void> {
  if (c.k === 'put') {
    const n = nodes[c.node]
    const id = IDS[c.id]
    const existing = await n.log.state('resource', id)
    const title: Record<string, string> = { en: c.en || 'x' }
    if (c.fr !== null) title.fr = c.fr || 'y'
    await n.lib.put({ id, partition: existing?.partition ?? PARTITIONS[c.part], title })
  } else if (c.k === 'delete') {
    const n = nodes[c.node]
    const st = await n.lib.status(IDS[c.id])
    if (st !== null) await n.lib.delete(IDS[c.id], c.purge)
  } else if (c.k === 'warm') {
    await nodes[c.node].log.warm()
  } else if (c.a !== c.b) {
    ok(await sync(nodes[c.a], nodes[c.b], { prefixes: c.prefixes, mode: c.mode, chunk: SMALL }), `n${c.a}<-n${c.b}`)
  }
}

/** Any failed sync is a bug here: one flight per pair keeps every user far below its session limit. */
function ok(r: SyncResult | undefined, what: string): void {
  if (!r?.ok) throw new Error(`sync ${what} failed: ${r?.code} ${r?.error}`)
}

async function holds(nodes: Node[], il?: Interleaver): Promise<void> {
  const problems = await claimsHold(nodes)
  if (problems.length) throw new Error([...problems.slice(0, 3), ...(il ? [`last gates: ${il.trace.join(' | ')}`] : [])].join('\n'))
}

async function logDump(n: Node): Promise<string[]> {
  return (await allOps(n.log)).map((op) => Buffer.from(encodeOperation(op)).toString('hex'))
}

/** Two full rounds of syncs, then every log and every shared projection is the same, and one more sync moves nothing. */
async function converged(nodes: Node[]): Promise<void> {
  const count = nodes.length
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < count; i++) for (let j = 0; j < count; j++) if (i !== j) await local1(nodes, { k: 'sync', a: i, b: j, prefixes: [''], mode: 'both' })
  }
  const logs = await Promise.all(nodes.map(logDump))
  const views = await Promise.all(nodes.map((n) => projectionDump(n.store)))
  for (let i = 1; i < count; i++) {
    if (JSON.stringify(logs[i]) !== JSON.stringify(logs[0])) throw new Error(`log of n${i} differs from n0`)
    // Review state is local: compare record states and conflicts, which every instance shares.
    const shared = (v: Record<string, string>) => Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('S')))
    if (JSON.stringify(shared(views[i])) !== JSON.stringify(shared(views[0]))) throw new Error(`projections of n${i} differ from n0`)
  }
  const again = await sync(nodes[0], nodes[1], { prefixes: [''] })
  if (again.pulled + again.pushed !== 0) throw new Error(`a repeat sync moved ${again.pulled + again.pushed} operations`)
}

/**
 * 3–5 instances and a list of commands for them. Commands are drawn for 5 and folded onto the
 * count (not chained on it), so a failure shrinks both the count and the list.
 */
const world = <C extends object>(commands: fc.Arbitrary<C>, length: fc.ArrayConstraints) =>
  fc.tuple(fc.integer({ min: 3, max: MAX_NODES }), fc.array(commands, length)).map(([n, cmds]): [number, C[]] => [
    n,
    cmds.map((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, ['node', 'a', 'b', 'from'].includes(k) && typeof v === 'number' ? v % n : v])) as C),
  ])

t.test('random operations and random filtered syncs converge', async (t) => {
  const numRuns = envRuns ?? 30
  let runs = 0
  await fc.assert(
    fc.asyncProperty(world(cmd, { minLength: 5, maxLength: 40 }), async ([count, cmds]) => {
      runs += 1
      const nodes: Node[] = []
      for (let i = 0; i < count; i++) nodes.push(await node(`n${i}`))
      for (const c of cmds) {
        await local1(nodes, c)
        if (c.k === 'sync') await holds(nodes)
      }
      await converged(nodes)
    }),
    { numRuns, ...replay },
  )
  t.equal(runs >= numRuns, true, `the property ran ${numRuns} random cases`)
})

/** One run of the second property: `cmds` on `count` instances whose syncs can be kept in flight. */
async function interleaved(count: number, cmds: Concurrent[]): Promise<void> {
  const il = new Interleaver()
  const nodes: Node[] = []
  for (let i = 0; i < count; i++) {
    const n = await node(`n${i}`, ['en', 'fr'], SMALL, {}, fixedIdentity(`n${i}`))
    gateScans(n.store, il, `n${i}`)
    nodes.push(n)
  }
  const pairs = new Map<Flight, { a: number; b: number }>()
  const inFlight = (a: number, b: number) => [...pairs.values()].some((p) => p.a === a && p.b === b)
  const ended = (f: Flight) => {
    pairs.delete(f)
    if (f.error) throw f.error instanceof Error ? f.error : new Error(JSON.stringify(f.error))
    ok(f.result as SyncResult, f.label)
  }
  // The daemon never runs a second sync with a peer it is syncing with (it joins the run), so neither do we.
  const plain = async (c: Cmd) => {
    if (c.k !== 'sync' || !inFlight(c.a, c.b)) await local1(nodes, c)
  }
  for (const c of cmds) {
    if (c.k === 'start') {
      if (c.a === c.b || inFlight(c.a, c.b)) continue
      // At the limit, the oldest flight runs to its end first.
      if (il.flights.length >= MAX_IN_FLIGHT) ended(await il.finish(il.flights[0]))
      const pair = `n${c.a}<-n${c.b}`
      const f = await il.start(`${pair} ${c.mode} ${c.prefixes.map((p) => p || "''").join(',')}`, () =>
        sync(nodes[c.a], nodes[c.b], { prefixes: c.prefixes, mode: c.mode, chunk: SMALL, wrap: (tr) => gatedTransport(tr, il, pair) }),
      )
      pairs.set(f, { a: c.a, b: c.b })
      if (f.done) ended(f)
    } else if (c.k === 'step') {
      const f = il.flights[c.pick % Math.max(1, il.flights.length)]
      for (let i = 0; f && i < c.times; i++) {
        if (await il.step(f)) {
          ended(f)
          break
        }
      }
    } else if (c.k === 'settle') {
      await il.settle(ended)
    } else if (c.k === 'during') {
      const f = il.flights[c.pick % Math.max(1, il.flights.length)]
      const at = f ? (pairs.get(f) as { a: number; b: number })[c.side] : 0
      if (c.from === null) await plain({ ...c, k: 'put', node: at })
      else await plain({ k: 'sync', a: at, b: c.from, prefixes: [''], mode: 'pull' })
    } else {
      await plain(c)
    }
    await holds(nodes, il)
  }
  await il.settle(ended)
  await holds(nodes, il)
  await converged(nodes)
}

t.test('writes and syncs interleaved with syncs in flight keep every claim held, and converge', async (t) => {
  const numRuns = envRuns ?? 150
  let runs = 0
  await fc.assert(
    fc.asyncProperty(world(concurrent, { minLength: 1, maxLength: 40, size: 'medium' }), async ([count, cmds]) => {
      runs += 1
      await interleaved(count, cmds)
    }),
    { numRuns, ...replay },
  )
  t.equal(runs >= numRuns, true, `the property ran ${numRuns} random cases`)
})
