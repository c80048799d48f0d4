/**
 * A run a person can watch and stop (issue 18): while `pollen sync` pulls over a slow link,
 * `pollen log` and `pollen status` show the run in progress; Ctrl-C (SIGINT to the CLI) asks
 * the daemon to stop at the next chunk boundary, the CLI says so and exits with
 * POLLEN_SYNC_CANCELLED, what arrived whole is kept, and the next sync fetches the rest, each
 * operation applied exactly once.
 */
import t from 'tap'
import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EmulatedLink, symmetricLink } from '../../bench/link.js'
import { generateResources } from '../../bench/dataset.js'
import { controlRequest, startNode, tempDir, until } from '../helpers/daemon.js'

const root = tempDir(t, 'pollen-cancel-')
const RESOURCES = 800

t.test('Ctrl-C stops a sync at a chunk boundary; the log shows it running, then stopped; the next sync finishes it', async (t) => {
  const cloud = await startNode(t, root, 'cloud', { languages: ['en', 'fr', 'es'] })
  const school = await startNode(t, root, 'school', { languages: ['en'] })
  const file = join(root, 'cloud.json')
  writeFileSync(file, JSON.stringify(generateResources(RESOURCES, 7)))
  t.equal((await cloud.cli(['resource', 'import', file])).code, 0)
  const key = (await cloud.cli(['user', 'add', 'school', '--role', 'read'])).stdout.split('\n')[0].trim()
  // 200 kbit/s: the pull takes many seconds, time enough to watch it and stop it.
  const link = new EmulatedLink({ targetPort: Number(new URL(cloud.url).port), handshake: false, ...symmetricLink(200_000, 20) })
  const port = await link.start()
  t.teardown(() => link.stop())
  t.equal((await school.cli(['peer', 'add', '--name', 'cloud', '--url', `https://127.0.0.1:${port}`, '--user', 'school', `--key=${key}`])).code, 0)

  let child: ChildProcess | undefined
  const syncing = school.cli(['sync', 'cloud'], { timeoutMs: 120_000, onSpawn: (c) => (child = c) })
  const shown = await until('the run shows in the log with operations pulled', async () => {
    const r = await school.cli(['log'])
    return /IN PROGRESS \(both\).*pulling \d+%, [1-9][\d,]* ops/.test(r.stdout) ? r.stdout : undefined
  }, 60_000)
  t.match(shown, /cloud: IN PROGRESS/, `pollen log: ${shown.split('\n')[0]}`)
  const status = await school.cli(['status', '--json'])
  t.match(status.json?.running?.[0], { peer: 'cloud', stage: 'pulling', cancelling: false })
  t.ok(status.json.running[0].fraction > 0 && status.json.running[0].fraction < 1, `a fraction between 0 and 1: ${status.json.running[0].fraction}`)
  t.match((await school.cli(['status'])).stdout, /running: +.*cloud: IN PROGRESS/, 'status shows it too')

  child?.kill('SIGINT')
  const stopped = await syncing
  t.not(stopped.code, 0, 'the stopped sync exits non-zero')
  t.equal(stopped.error?.code, 'POLLEN_SYNC_CANCELLED', stopped.stderr)
  t.match(stopped.stderr, /stopping at the next chunk boundary/, 'the CLI says what Ctrl-C does')
  t.match(stopped.stdout, /cloud: STOPPED .*stopped on request/)
  t.notMatch(stopped.stderr, /\n\s+at /, 'no stack trace')

  const [first] = (await school.cli(['log', '--json'])).json as { code: string; pulled: number; ok: boolean }[]
  t.match(first, { ok: false, code: 'POLLEN_SYNC_CANCELLED' }, 'the history records the stop')
  const expected = RESOURCES * 2 // the neutral layer and English: French and Spanish are not kept here
  t.ok(first.pulled > 0 && first.pulled < expected, `what arrived whole was kept: ${first.pulled} of ${expected}`)
  t.same((await school.cli(['status', '--json'])).json?.running, [], 'nothing runs after the stop')
  t.notMatch((await school.cli(['log'])).stdout, /IN PROGRESS/)

  link.reshape(symmetricLink(Infinity, 0))
  link.dropConnections()
  const rest = await school.cli(['sync', 'cloud', '--json'], { timeoutMs: 60_000 })
  t.equal(rest.code, 0, rest.stderr)
  t.equal(first.pulled + rest.json[0].pulled, expected, 'each operation applied exactly once across the two runs')
  const pending = await school.cli(['review', 'list', '--json'])
  t.equal(pending.json.length, RESOURCES, 'every resource arrived')
})

t.test('cancel with no run in progress names no peer, and bad bodies are refused', async (t) => {
  const solo = await startNode(t, root, 'solo')
  const none = await controlRequest(solo.socket, 'POST', '/v1/sync/cancel', JSON.stringify({ peers: [] }))
  t.same(none.json, { cancelled: [] })
  const bad = await controlRequest(solo.socket, 'POST', '/v1/sync/cancel', JSON.stringify({ peers: 'cloud' }))
  t.equal(bad.status, 400)
  t.equal(bad.json?.code, 'POLLEN_INVALID_INPUT')
})
