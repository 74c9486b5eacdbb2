// Experiment, cited in docs/operations.md, "Node flags", and docs/benchmarks.md, "Tried and not kept": bursts after idle spells, per set of Node flags.
// Bursts after idle spells: what V8's memory reducer costs ballast, and what turning it off costs in
// memory. Starts the fake upstream and one ballast-undici process per variant (Node flags), then for
// ROUNDS rounds: every process idles IDLE_MS, then each in turn (order rotating) takes a BURST_MS
// c=64 burst of POST /chat/complete; req/s of the burst, its first second's req/s, and the
// process's RSS before the burst (after the idle spell) are recorded.
//   node bench/experiments/idle-burst.mjs                      (npm run bench's builds must exist)
//   VARIANTS='[["--max-semi-space-size=64"],["--max-semi-space-size=64","--no-memory-reducer"]]'
//   IDLE_MS (default 16000), BURST_MS (3000), ROUNDS (6)
import { postLoad } from '../post-load.mjs';
import { median, procRssMiB, sleep, startBallast, startFake } from '../lib.mjs';

const variants = JSON.parse(process.env.VARIANTS ?? '[["--max-semi-space-size=64"],["--max-semi-space-size=64","--no-memory-reducer"]]');
const IDLE_MS = Number(process.env.IDLE_MS ?? 16000);
const BURST_MS = Number(process.env.BURST_MS ?? 3000);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const body = JSON.stringify({ messages: [{ role: 'user', content: 'Say hello' }] });

const fake = await startFake();
const servers = [];
for (const flags of variants) {
  const s = await startBallast('undici', fake.origin, { name: flags.join(' '), nodeArgs: flags });
  servers.push({ flags: flags.join(' '), s, rps: [], first: [], rssBefore: [], rssAfter: [] });
}

function burst(origin, ms) {
  return new Promise((resolve, reject) => {
    const perSec = [];
    const inst = postLoad(
      { url: `${origin}/chat/complete`, connections: 64, duration: ms / 1000, body },
      (err, res) => (err ? reject(err) : resolve({ rps: res['2xx'] / (ms / 1000), first: perSec[0] ?? NaN })),
    );
    inst.on('tick', (c) => perSec.push(c.counter));
  });
}

// warm every process once
for (const v of servers) await burst(v.s.origin, 3000);
for (let r = 0; r < ROUNDS; r++) {
  await sleep(IDLE_MS);
  for (let i = 0; i < servers.length; i++) {
    const v = servers[(i + r) % servers.length];
    v.rssBefore.push(procRssMiB(v.s.cp.pid));
    const b = await burst(v.s.origin, BURST_MS);
    v.rps.push(Math.round(b.rps));
    v.first.push(b.first);
    v.rssAfter.push(procRssMiB(v.s.cp.pid));
  }
  console.log(`round ${r + 1}: ` + servers.map((v) => `${v.flags}: ${v.rps.at(-1)} req/s (1st s ${v.first.at(-1)})`).join(' | '));
}
const base = servers[0];
for (const v of servers) {
  const ratio = median(v.rps.map((x, i) => x / base.rps[i]));
  console.log(
    `${v.flags}\n  req/s per round ${v.rps.join(', ')} (median ${median(v.rps)}, vs first variant ${ratio.toFixed(3)})\n  first second ${v.first.join(', ')}\n  RSS after idle ${v.rssBefore.map(Math.round).join(', ')} MiB; after burst ${v.rssAfter.map(Math.round).join(', ')} MiB`,
  );
}
process.exit(0);
