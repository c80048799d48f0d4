/**
 * The page's style sheet and its one script, served as files (/static/…): the
 * Content-Security-Policy allows no inline script or style. The script only adds what the
 * page cannot do without it — the live progress of a sync and "select all" — and every page
 * works without it.
 */

export const STYLE = `
:root { color-scheme: light; --fg: #1d232a; --muted: #5b6570; --line: #d5dbe1; --accent: #2f6b3a; --bad: #a3262a; --bg: #fff; --soft: #f3f6f4; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus, summary:focus { outline: 3px solid #f0b429; outline-offset: 1px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px; }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 8px 16px; background: var(--soft); border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
nav ul { display: flex; flex-wrap: wrap; gap: 4px 14px; list-style: none; margin: 0; padding: 0; }
nav a[aria-current] { font-weight: 700; text-decoration: none; color: var(--fg); }
header .who { margin-left: auto; color: var(--muted); font-size: 14px; display: flex; gap: 8px; align-items: center; }
main { padding: 12px 16px 32px; max-width: 1100px; }
h1 { font-size: 22px; margin: 8px 0 12px; } h2 { font-size: 18px; margin: 20px 0 8px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { font-size: 14px; color: var(--muted); }
.table { overflow-x: auto; }
form.inline { display: inline; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 12px; }
.filters label, .field { display: flex; flex-direction: column; font-size: 14px; gap: 2px; }
.field { margin-bottom: 10px; max-width: 32rem; }
.check { flex-direction: row; align-items: center; gap: 6px; font-size: 16px; }
input[type=text], input[type=search], input[type=password], input[type=url], select, textarea { font: inherit; padding: 6px; border: 1px solid #8a949e; border-radius: 4px; min-width: 10rem; max-width: 100%; }
button { font: inherit; padding: 6px 12px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); } button.danger { background: var(--bad); border-color: var(--bad); }
.actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin: 12px 0; }
.notice { padding: 8px 12px; background: #e7f3e9; border-left: 4px solid var(--accent); margin-bottom: 12px; }
.error { padding: 8px 12px; background: #fbeaea; border-left: 4px solid var(--bad); margin-bottom: 12px; }
.muted { color: var(--muted); } .key { font-family: monospace; font-size: 18px; word-break: break-all; background: var(--soft); padding: 8px; }
.pager { display: flex; gap: 12px; align-items: center; margin-top: 12px; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; } .side { border: 1px solid var(--line); padding: 8px; border-radius: 4px; }
.desc { max-width: 48rem; } .desc img { max-width: 100%; }
ins { background: #d7f5dc; text-decoration: none; } del { background: #f9d7d9; }
.diff, pre.text { white-space: pre-wrap; word-break: break-word; font: inherit; margin: 4px 0; }
fieldset { border: 1px solid var(--line); border-radius: 4px; max-width: 48rem; } legend { padding: 0 4px; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; } dl.fields dt { color: var(--muted); }
progress { width: 100%; max-width: 32rem; height: 18px; }
footer { padding: 12px 16px; color: var(--muted); font-size: 14px; border-top: 1px solid var(--line); }
@media (max-width: 640px) {
  .sides { grid-template-columns: 1fr; } header .who { margin-left: 0; }
  table.stack thead { display: none; } table.stack tr { display: block; border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.stack td { display: block; border: 0; padding: 2px 4px; }
  dl.fields { grid-template-columns: 1fr; }
}
`

export const SCRIPT = `'use strict';
(function () {
  // "Select all on this page"
  document.querySelectorAll('[data-select-all]').forEach(function (box) {
    box.hidden = false;
    var label = box.closest('label'); if (label) label.hidden = false;
    document.querySelectorAll('[data-select-fallback]').forEach(function (s) { s.hidden = true; });
    box.addEventListener('change', function () {
      document.querySelectorAll('input[name="ids"]').forEach(function (c) { c.checked = box.checked; });
    });
  });
  // Live sync progress: the daemon's progress events over server-sent events.
  var panel = document.querySelector('[data-sync-events]');
  if (!panel || typeof EventSource === 'undefined') return;
  var bar = panel.querySelector('progress');
  var text = panel.querySelector('[data-sync-text]');
  var source = new EventSource(panel.getAttribute('data-sync-events'));
  var received = 0;
  source.addEventListener('progress', function (e) {
    var ev = JSON.parse(e.data);
    panel.setAttribute('data-state', 'running');
    // How many live events arrived: what a person sees move, and what the browser test checks.
    panel.setAttribute('data-events', String(++received));
    if (typeof ev.ops === 'number') {
      var total = Math.max(ev.total || 0, ev.ops);
      if (bar) { bar.max = total || 1; bar.value = ev.ops; }
      if (text) text.textContent = ev.group + ': ' + ev.ops + ' / ' + total;
    } else if (text) { text.textContent = ev.group + ' ' + ev.stage; }
  });
  source.addEventListener('result', function (e) {
    var r = JSON.parse(e.data);
    panel.setAttribute('data-state', r.ok ? 'done' : 'failed');
    if (bar) { bar.max = 1; bar.value = 1; }
    if (text) text.textContent = r.summary;
    source.close();
  });
})();
`
