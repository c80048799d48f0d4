/** Kept connections per peer (daemon/peerLinks.ts): shared only for the same URL, pin and mode. */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { LINGER_MS, PeerLinks } from '../../daemon/peerLinks.js'
import { DEFAULT_HTTP_LIMITS } from '../../adapters/httpSyncServer.js'

const PIN = 'ab'.repeat(16)
const url = 'http://127.0.0.1:9/'

t.test('a sync soon after another gets the same connections; another pin or URL gets new ones', async (t) => {
  const links = new PeerLinks(50)
  const a = links.take('cloud', url, { plain: true, expectInstance: PIN })
  a.release()
  const b = links.take('cloud', url, { plain: true, expectInstance: PIN })
  t.equal(b.conns, a.conns, 'reused while lingering')
  const c = links.take('cloud', url, { plain: true, expectInstance: 'cd'.repeat(16) })
  t.not(c.conns, b.conns, 'an accepted new key never reuses connections proved by the old one')
  const d = links.take('cloud', 'http://127.0.0.1:10/', { plain: true, expectInstance: 'cd'.repeat(16) })
  t.not(d.conns, c.conns, 'a new URL gets new connections')
  for (const x of [b, c, d]) x.release()
  await sleep(120)
  t.not(links.take('cloud', 'http://127.0.0.1:10/', { plain: true, expectInstance: 'cd'.repeat(16) }).conns, d.conns, 'closed after the linger time')
  links.closeAll()
})

t.test('first contact (nothing pinned) never shares connections', async (t) => {
  const links = new PeerLinks(1000)
  const a = links.take('new', 'https://127.0.0.1:9/', {})
  a.release()
  t.not(links.take('new', 'https://127.0.0.1:9/', {}).conns, a.conns, 'each first-contact sync has its own')
  links.closeAll()
})

t.test('two syncs at once share, and the connections outlive a detach until the last one ends', async (t) => {
  const links = new PeerLinks(1000)
  const a = links.take('cloud', url, { plain: true, expectInstance: PIN })
  const b = links.take('cloud', url, { plain: true, expectInstance: PIN })
  t.equal(a.conns, b.conns, 'shared')
  links.forget('cloud')
  t.not(links.take('cloud', url, { plain: true, expectInstance: PIN }).conns, a.conns, 'forgotten: the next sync opens new ones')
  a.release()
  b.release()
  links.closeAll()
})

t.test('kept connections are given up before the server would close them', async (t) => {
  t.ok(LINGER_MS < DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs, `${LINGER_MS} ms < the server's keep-alive of ${DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs} ms, so a kept connection is rarely closed under a request`)
})
