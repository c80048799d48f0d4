/**
 * Claims sent with a stream are read from the state its operations come from (issue 14): a
 * commit that lands while a diff is running — a local transaction, or a chunk applied from a
 * third peer — must not be claimed to a receiver the diff's snapshot did not send it to.
 * Each case injects the commit deterministically between the scan's start and the report.
 */
import t from 'tap'
import { claimsHold } from '../../helpers/claims.js'
import { commitDuringNextScan } from '../../helpers/commitHook.js'
import { allOps } from '../../helpers/instances.js'
import { node, sync, type Node } from '../../helpers/syncNet.js'

async function puts(n: Node, count: number, partition = 'p1', from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) await n.lib.put({ id: `${n.name}-${i}`, partition, title: { en: `${n.name} ${i}` } })
}

/** The part of a tap test these helpers use. */
interface Tap {
  ok(v: unknown, m: string): unknown
  same(a: unknown, b: unknown, m: string): unknown
}

async function holds(t: Tap, nodes: Node[], what: string): Promise<void> {
  t.same(await claimsHold(nodes), [], `${what}: no instance claims an operation it lacks`)
}

const ids = async (n: Node) => new Set((await allOps(n.log)).map((op) => op.id))


/**
 * `mode` from `client` to `server` while the node whose diff runs (the server for a pull, the
 * client for a push) commits two local transactions inside it; the same sync again brings them.
 */
async function localCommitDuring(t: Tap, mode: 'pull' | 'push'): Promise<void> {
  const server = await node('srv')
  const client = await node('cli')
  const [sender, receiver] = mode === 'pull' ? [server, client] : [client, server]
  await puts(sender, 3)
  const hook = commitDuringNextScan(sender.store, () => puts(sender, 2, 'p1', 3))
  const r = await sync(client, server, { mode })
  t.ok(r.ok, r.error ?? `${mode} done`)
  t.ok(hook.fired(), `the commit landed inside the ${mode} diff`)
  await holds(t, [server, client], `after the ${mode}`)
  const again = await sync(client, server, { mode })
  t.ok(again.pulled + again.pushed > 0, `the next ${mode} brings the operations committed during the first`)
  t.same([...(await ids(receiver))].sort(), [...(await ids(sender))].sort(), 'the receiver holds every record')
}

/** The same, with the node whose diff runs applying a pull from a third peer inside it. */
async function thirdPeerDuring(t: Tap, mode: 'pull' | 'push'): Promise<Node[]> {
  const server = await node('srv')
  const third = await node('third')
  const client = await node('cli')
  const sender = mode === 'pull' ? server : client
  await puts(sender, 3)
  await puts(third, 4, 'p2')
  const hook = commitDuringNextScan(sender.store, async () => {
    const r = await sync(sender, third, { mode: 'pull' })
    if (!r.ok || r.pulled === 0) throw new Error(`the injected pull failed: ${r.error}`)
  })
  const r = await sync(client, server, { mode })
  t.ok(r.ok, r.error ?? `${mode} done`)
  t.ok(hook.fired(), `the chunk was applied inside the ${mode} diff`)
  await holds(t, [server, third, client], `after the ${mode}`)
  return [server, third, client]
}

t.test('a local transaction committed while a pull is served is not claimed to the puller', (t) => localCommitDuring(t, 'pull'))

t.test('a chunk applied from a third peer while a pull is served is not relayed as a claim', async (t) => {
  const [server, , client] = await thirdPeerDuring(t, 'pull')
  await sync(client, server, { mode: 'pull' })
  t.equal((await ids(client)).size, 7, 'the next pull brings the third peer’s records')
})

t.test('a pull answered "complete" inline claims only what its diff covered', async (t) => {
  const server = await node('srv')
  const client = await node('cli')
  await puts(server, 3, 'p1')
  // The client holds all of p1; a pull of everything scans p1's operations and sends none.
  t.ok((await sync(client, server, { mode: 'pull', prefixes: ['p1'] })).ok)
  const hook = commitDuringNextScan(server.store, () => puts(server, 1, 'p2', 10))
  const r = await sync(client, server, { mode: 'pull', prefixes: [''] })
  t.ok(r.ok, r.error ?? 'pulled')
  t.ok(hook.fired(), 'the commit landed inside the diff')
  t.equal(r.pulled, 0, 'nothing was sent: the answer was complete inline')
  await holds(t, [server, client], 'after the complete answer')
  t.ok((await sync(client, server, { mode: 'pull', prefixes: [''] })).pulled > 0, 'the next pull brings the new operation')
  t.same([...(await ids(client))].sort(), [...(await ids(server))].sort(), 'the client holds every record')
})


t.test('a local transaction committed while a push is streamed is not claimed to the server', (t) => localCommitDuring(t, 'push'))

t.test('a chunk applied from a third peer while a push is streamed is not relayed as a claim', async (t) => {
  await thirdPeerDuring(t, 'push')
})
