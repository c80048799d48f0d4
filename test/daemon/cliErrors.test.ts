/**
 * Every failure is the one documented line with a POLLEN_* code, never a stack trace or
 * `pollen: unexpected error: Error: aborted` (issue 17): a sync port in use at daemon start,
 * a path through a file, a daemon that drops the control connection mid-answer (30 daemon
 * kills in a chaos run gave 12 of those), and a reader that stops reading
 * (`pollen review list | head -1`), which is no failure at all.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type ServerResponse } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import { join } from 'node:path'
import { CLI, freePort, hermeticEnv, pollen, spawnDaemon, startDaemon, tempDir } from '../helpers/daemon.js'

const dir = tempDir(t)
/** The line shape of docs/errors.md, with `message` a pattern for the middle. */
const line = (message: string, code: string) => new RegExp(`^pollen: ${message} \\(${code}\\)\\n$`)

t.test('a sync port in use at daemon start', async (t) => {
  const busy = createTcpServer()
  const port = await freePort()
  await new Promise<void>((r) => busy.listen(port, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => busy.close(() => r())))
  const init = await pollen(['init'], { dataDir: join(dir, 'busy') })
  t.equal(init.code, 0)
  const d = spawnDaemon({ dataDir: join(dir, 'busy'), listen: `127.0.0.1:${port}` })
  t.equal((await d.exited).code, 1, 'exit 1')
  t.match(d.out.stderr, line(`cannot listen on 127\\.0\\.0\\.1:${port}: another program uses that address; stop it or choose another listen address \\(--listen HOST:PORT\\)`, 'POLLEN_ADDRESS_IN_USE'), d.out.stderr.trim())
})

t.test('a path through a file (ENOTDIR)', async (t) => {
  const file = join(dir, 'plain-file')
  writeFileSync(file, 'x\n')
  const r = await pollen(['init'], { dataDir: join(file, 'data') })
  t.equal(r.code, 1)
  t.match(r.stderr, line(`cannot create ${file}/data: a part of the path is not a directory`, 'POLLEN_IO'), r.stderr.trim())
  const put = await pollen(['resource', 'put', join(file, 'r.json'), '--socket', join(dir, 'none.sock')])
  t.match(put.stderr, line(`cannot read ${file}/r\\.json: a part of the path is not a directory`, 'POLLEN_INVALID_INPUT'), put.stderr.trim())
})

t.test('a daemon that drops the control connection mid-answer', async (t) => {
  // Stand-ins for a daemon killed while answering, at each point of an answer.
  const modes: Record<string, (res: ServerResponse) => void> = {
    'before any answer': (res) => res.socket?.destroy(),
    'in the middle of a body': (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 })
      res.write('[{"id": "a", "title"')
      setImmediate(() => res.socket?.destroy())
    },
    'in the middle of a streamed answer': (res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' })
      res.write('{"type":"event","stage":"in_progress"}\n{"type":')
      setImmediate(() => res.socket?.destroy())
    },
  }
  for (const [when, answer] of Object.entries(modes)) {
    const socket = join(dir, `gone-${Object.keys(modes).indexOf(when)}.sock`)
    const server = createHttpServer((req, res) => req.resume().on('end', () => answer(res)))
    await new Promise<void>((r) => server.listen(socket, r))
    const args = when.includes('streamed') ? ['sync'] : ['review', 'list']
    const r = await pollen([...args, '--socket', socket])
    t.equal(r.code, 1, `${when}: exit 1`)
    t.match(r.stderr, line('the daemon closed the connection before answering; check `systemctl status pollen` and retry \\(list what you changed before repeating a change\\)', 'POLLEN_DAEMON_GONE'), `${when}: ${r.stderr.trim()}`)
    t.equal(r.stdout, '', `${when}: nothing on stdout`)
    await new Promise<void>((r) => server.close(() => r()))
  }
})

t.test('`pollen resource list | head -1`: quiet, status 0', async (t) => {
  const d = await startDaemon({ t, dataDir: join(dir, 'many') })
  // More output than a pipe holds, so the CLI is still writing when head has gone.
  const items = Array.from({ length: 1500 }, (_, i) => JSON.stringify({ id: `r${i}`, title: { en: `Resource number ${i} with a longer title to fill the pipe` } })).join('\n')
  t.equal((await d.cli(['resource', 'import', '-'], { stdin: items, timeoutMs: 120_000 })).code, 0, 'imported')
  const script = `set -o pipefail; "${process.execPath}" "${CLI}" resource list --data-dir "${d.dataDir}" 2>"${dir}/stderr.txt" | head -1`
  const r = spawnSync('/bin/bash', ['-c', script], { env: hermeticEnv(), encoding: 'utf8' })
  t.match(r.stdout, /^ID\s+STATUS\s+LANGUAGES\s+TITLE\n$/, 'head printed the first line')
  t.equal(r.status, 0, 'the pipeline (and so the CLI) exits 0')
  t.equal(spawnSync('cat', [`${dir}/stderr.txt`], { encoding: 'utf8' }).stdout, '', 'and the CLI said nothing on stderr')
  t.equal(await d.stop(), 0)
})
