/**
 * Sessions and the login limiter (daemon/admin/sessions.ts) on a clock the test moves:
 * idle and absolute expiry, ids kept only hashed, per-account closing, the sliding window.
 */
import t from 'tap'
import { csrfMatches, IDLE_MS, LoginLimiter, MAX_AGE_MS, Sessions } from '../../../daemon/admin/sessions.js'
import { pickLanguage } from '../../../daemon/admin/i18n/index.js'
import { en } from '../../../daemon/admin/i18n/en.js'
import { fr } from '../../../daemon/admin/i18n/fr.js'
import { escapeHtml, html, safeHref } from '../../../daemon/admin/html.js'
import { descriptionHtml } from '../../../daemon/admin/resourcePages.js'

t.test('sessions expire when idle and after their maximum age; ids are not kept', async (t) => {
  let now = 1_000_000
  const s = new Sessions(() => now)
  const { id, session } = s.open('ada', 'admin', 'g1')
  t.match(id, /^[A-Za-z0-9_-]{43}$/, '32 random bytes')
  t.notOk(JSON.stringify([...Object.values(session)]).includes(id), 'the session does not hold its id')
  now += IDLE_MS - 1
  t.equal(s.get(id), session, 'used before the idle limit')
  now += IDLE_MS - 1
  t.equal(s.get(id), session, 'each use restarts the idle clock')
  now += IDLE_MS + 1
  t.equal(s.get(id), undefined, 'idle too long: gone')
  const b = s.open('ada', 'admin', 'g1')
  for (let i = 0; i < MAX_AGE_MS / (IDLE_MS / 2); i++) {
    now += IDLE_MS / 2
    s.get(b.id)
  }
  now += 1
  t.equal(s.get(b.id), undefined, 'kept busy, it still ends at the maximum age')
  const c = s.open('ada', 'admin', 'g1')
  const d = s.open('rev', 'reviewer', 'g2')
  s.closeAccount('ada')
  t.equal(s.get(c.id), undefined)
  t.ok(s.get(d.id), 'other accounts keep theirs')
  t.equal(s.get(undefined), undefined)
  t.equal(s.get('not-an-id'), undefined)
  t.ok(csrfMatches(d.session, d.session.csrf))
  t.notOk(csrfMatches(d.session, d.session.csrf.slice(1)))
  t.notOk(csrfMatches(d.session, undefined))
  t.notOk(csrfMatches(d.session, [d.session.csrf]))
})

t.test('the limiter refuses after the limit within the window and lets the oldest failure age out', async (t) => {
  let now = 0
  const l = new LoginLimiter(3, 60_000, () => now)
  for (let i = 0; i < 3; i++) {
    t.equal(l.retryAfter('k'), 0)
    l.fail('k')
    now += 1000
  }
  t.equal(l.retryAfter('k'), 57_000, 'until the first failure leaves the window')
  now += 57_000
  t.equal(l.retryAfter('k'), 0)
  l.fail('k')
  t.ok(l.retryAfter('k') > 0, 'three failures within the window again')
  l.clear('k')
  t.equal(l.retryAfter('k'), 0)
})

t.test('languages: the cookie, then Accept-Language by weight, then English; French has every string', async (t) => {
  t.equal(pickLanguage(undefined, undefined).lang, 'en')
  t.equal(pickLanguage(undefined, 'de, fr;q=0.8, en;q=0.5').lang, 'fr')
  t.equal(pickLanguage(undefined, 'en;q=0.4, fr-BE;q=0.9').lang, 'fr')
  t.equal(pickLanguage(undefined, 'fr;q=0').lang, 'en')
  t.equal(pickLanguage('en', 'fr').lang, 'en')
  t.equal(pickLanguage('xx', 'fr').lang, 'fr')
  t.same(Object.keys(fr).sort(), Object.keys(en).sort())
  const untranslated = Object.keys(en).filter((k) => typeof (en as Record<string, unknown>)[k] === 'string' && (en as Record<string, unknown>)[k] === (fr as Record<string, unknown>)[k] && !['appName', 'filterPartition', 'fieldPartition', 'fieldDescription', 'colUrl', 'peerUrl', 'filterPeer', 'colSource', 'fieldSource', 'search'].includes(k))
  t.same(untranslated, ['lang'].filter((k) => (en as Record<string, unknown>)[k] === (fr as Record<string, unknown>)[k]), 'no English left in the French catalogue')
})

t.test('templates escape; hrefs from records are http(s) or mailto only; descriptions are sanitised', async (t) => {
  t.equal(html`<p title="${'"><script>'}">${'<b>&'}</p>`.text, '<p title="&quot;&gt;&lt;script&gt;">&lt;b&gt;&amp;</p>')
  t.equal(escapeHtml("`'"), '&#96;&#39;')
  for (const bad of ['javascript:alert(1)', ' javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>', 'vbscript:x', '/peers', '//evil.example', 'java\nscript:x']) t.equal(safeHref(bad), undefined, bad)
  t.equal(safeHref('https://example.org/a?b=1'), 'https://example.org/a?b=1')
  const out = descriptionHtml('<p onclick="x()">Hi <a href="javascript:alert(1)">a</a> <a href="https://ok.example/">b</a><img src=x onerror=alert(1)><script>alert(1)</script><style>*{}</style><iframe src="https://x"></iframe></p>').text
  t.equal(out, '<p>Hi <a rel="nofollow noopener noreferrer">a</a> <a href="https://ok.example/" rel="nofollow noopener noreferrer">b</a></p>')
  t.equal(descriptionHtml('plain text: 1 < 2 & "more"').text, 'plain text: 1 &lt; 2 &amp; "more"', 'plain text comes out as text')
  t.equal(descriptionHtml('<a href="https://ok.example/" rel="opener">x</a>').text, '<a href="https://ok.example/" rel="nofollow noopener noreferrer">x</a>', 'a record cannot choose its links\' rel')
})
