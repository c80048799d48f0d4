/**
 * A pull's byte budget (OpenTerms.maxBytes, a metered peer's budget left today): the server
 * sends no chunk once it has sent that many bytes and ends the stream without an end frame;
 * the client reads that as its budget spent, keeps every chunk that arrived, and the next
 * pull resumes from there. Also the attacker's side: a budget of 1 byte still moves one
 * chunk (a session is never empty for nothing), and no budget changes what is claimed.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { isChunkFrame, isEndFrame, isOpenResponse } from '../../../core/sync/wire/frames.js'
import { grant, node, openRequestOf, openTermsOf, sync } from '../../helpers/syncNet.js'

/** A server with about 300 KiB of chunk data that does not compress, in chunks of at most 32 KiB. */
async function loaded() {
  const server = await node('srv', ['en', 'fr'], { maxOps: 40, maxBytes: 32 * 1024 })
  for (let i = 0; i < 100; i++) await server.lib.put({ partition: 'lib:a', title: { en: `r ${i}` }, description: { en: randomBytes(2400).toString('base64') } })
  return server
}

t.test('the server stops a pull at the chunk that reaches the client\'s byte budget, with no end frame', async (t) => {
  const server = await loaded()
  const client = await node('cli')
  const userName = await grant(server, client)
  const user = await server.users.authenticate(userName, server.keys.get(userName) as string)
  for (const budget of [1, 70_000]) {
    const terms = openTermsOf(client, userName, { acks: false, maxBytes: budget })
    const frames = await server.server.open(user, openRequestOf(client, terms))
    const sizes: number[] = []
    let ended = false
    for await (const f of frames) {
      if (isOpenResponse(f)) continue
      if (isEndFrame(f)) ended = true
      else if (isChunkFrame(f)) sizes.push(f.data.length)
    }
    const total = sizes.reduce((a, b) => a + b, 0)
    t.notOk(ended, `budget ${budget}: no end frame, so nothing claims the rest arrived`)
    t.ok(total >= budget && total - (sizes.at(-1) as number) < budget, `budget ${budget}: ${sizes.length} chunks, ${total} bytes: the last one crossed it`)
  }
})

t.test('a pull with a byte budget ends as POLLEN_BUDGET_SPENT, keeps what arrived, and the next pull moves the rest once', async (t) => {
  const server = await loaded()
  const expected = (await sync(await node('clean'), server, { mode: 'pull' })).pulled
  const client = await node('cli')
  const first = await sync(client, server, { mode: 'pull', maxBytes: 100_000 })
  t.equal(first.code, 'POLLEN_BUDGET_SPENT', first.error ?? '')
  t.match(first.error, /byte budget of this sync with srv \(97\.7 KB\) is spent; \d+ chunks were applied/)
  t.ok(first.pulled > 0 && first.pulled < expected, `kept ${first.pulled} of ${expected} operations`)
  t.ok(first.bytesIn >= 100_000 && first.bytesIn < 100_000 + 40 * 1024, `moved ${first.bytesIn} bytes: within one chunk of the budget`)
  const rest = await sync(client, server, { mode: 'pull' })
  t.ok(rest.ok, rest.error ?? '')
  t.equal(first.pulled + rest.pulled, expected, 'each operation once')
  const again = await sync(client, server, { mode: 'pull' })
  t.equal(again.pulled, 0, 'nothing is left')
})
