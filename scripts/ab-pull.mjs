// A/B of scenario 6 between two built checkouts (each with dist/ and node_modules): alternating loopback pulls from one
// source daemon per checkout into fresh clients, so drift in the machine's speed falls on both alike.
//   node scripts/ab-pull.mjs RESOURCES PAIRS ROOT_A ROOT_B
const [n, pairs, ...roots] = [Number(process.argv[2]), Number(process.argv[3]), ...process.argv.slice(4)]
const mods = []
for (const r of roots) {
  const peer = await import(`${r}/dist/bench/pollenPeer.js`)
  const sc = await import(`${r}/dist/bench/scenarios.js`)
  const sb = await import(`${r}/dist/bench/syncBench.js`)
  const d = peer.PollenDaemon.create({ name: 'src-' + mods.length })
  await d.start()
  await sc.importInto(d, n)
  mods.push({ r, d, sb, runs: [] })
}
for (let i = 0; i < pairs; i++) {
  for (const m of i % 2 ? [...mods].reverse() : mods) {
    const pair = await m.sb.PollenPair.create(m.d, m.sb.UNLIMITED, { clientName: `c${i}` })
    const run = await pair.sync(); await pair.destroy()
    m.runs.push(run)
    console.log(m.r, (run.ms/1000).toFixed(2), 's wall; cpu server', run.serverCpuSec.toFixed(2), 'client', run.clientCpuSec.toFixed(2), 'bytes', run.bytes ?? '')
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
for (const m of mods) console.log(m.r, 'median wall', med(m.runs.map(r=>r.ms)).toFixed(0), 'median cpu', med(m.runs.map(r=>r.serverCpuSec+r.clientCpuSec)).toFixed(2))
for (const m of mods) await m.d.destroy()
process.exit(0)
