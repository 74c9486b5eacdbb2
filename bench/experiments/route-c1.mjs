// Experiment, cited in docs/benchmarks.md, "Chat": /chat/complete vs /v1/chat/completions at c=1 on one process.
// /chat/complete vs /v1/chat/completions at c=1 on ONE ballast process (npm start's flags), the
// upstream answering at once: is the full bench's c=1 gap between the two routes (/v1 40-90 µs
// faster, run after run) the routes' or the order's? In the bench /v1 runs right after
// /chat/complete on the same process in 4 rounds of 5. Here the order of the two routes alternates
// by round, with "direct" (the fake upstream itself) before each; GAP=1 puts the bare node:http relay
// there instead (and adds it to the report); IDLE_MS idles before each ballast or relay block.
// ROUNDS rounds (default 20) of PER sequential requests (default 300) per block.
//   node bench/experiments/route-c1.mjs            (npm run build first)
import { Pool } from 'undici';
import { median, percentile, sequentialLatencies, sleep, sortNum, startBallast, startFake, startRelay } from '../lib.mjs';

const IDLE_MS = Number(process.env.IDLE_MS ?? 0);
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const PER = Number(process.env.PER ?? 300);
const GAP = process.env.GAP === '1';
const messages = [{ role: 'user', content: 'Say hello' }];
const v1Body = JSON.stringify({ model: 'fake-model', messages });
const fake = await startFake();
const ballast = await startBallast('undici', fake.origin);
const relay = await startRelay(fake.origin);
const T = {
  direct: { origin: fake.origin, path: '/v1/chat/completions', body: v1Body },
  relay: { origin: relay.origin, path: '/v1/chat/completions', body: v1Body },
  complete: { origin: ballast.origin, path: '/chat/complete', body: JSON.stringify({ messages }) },
  v1: { origin: ballast.origin, path: '/v1/chat/completions', body: v1Body },
};
const pools = new Map(Object.values(T).map((t) => [t.origin, new Pool(t.origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 })]));

/** PER sequential requests; returns [p50, p99] in ms. */
async function block(t, n) {
  const sorted = sortNum(await sequentialLatencies(pools.get(t.origin), t.path, t.body, n));
  return [percentile(sorted, 50), percentile(sorted, 99)];
}

for (const t of Object.values(T)) await block(t, 500);
const p50 = Object.fromEntries(Object.keys(T).map((k) => [k, []]));
const p99 = Object.fromEntries(Object.keys(T).map((k) => [k, []]));
const before = GAP ? 'relay' : 'direct';
for (let r = 0; r < ROUNDS; r++) {
  const pair = r % 2 === 0 ? ['complete', 'v1'] : ['v1', 'complete'];
  const order = GAP ? ['direct', 'relay', pair[0], 'relay', pair[1]] : ['direct', pair[0], 'direct', pair[1]];
  const got = {};
  for (const k of order) {
    if (IDLE_MS && k !== 'direct') await sleep(IDLE_MS);
    const [a, b] = await block(T[k], PER);
    (got[k] ??= [[], []])[0].push(a);
    got[k][1].push(b);
  }
  for (const [k, [a, b]] of Object.entries(got)) {
    p50[k].push(median(a));
    p99[k].push(median(b));
  }
  console.log(`round ${r + 1} (${pair[0]} first, ${before} before each): ${Object.entries(got).map(([k, [a]]) => `${k} ${median(a).toFixed(3)}`).join(', ')}`);
}
const d = median(p50.direct);
for (const k of Object.keys(T)) {
  if (p50[k].length) console.log(`${k.padEnd(8)} p50 ${median(p50[k]).toFixed(3)} ms (added ${(median(p50[k]) - d).toFixed(3)}), p99 ${median(p99[k]).toFixed(3)} ms`);
}
const diff = p50.complete.map((x, i) => x - p50.v1[i]);
console.log(
  `complete − v1 per round: median ${median(diff).toFixed(3)} ms (complete first ${median(diff.filter((_, i) => i % 2 === 0)).toFixed(3)}, ` +
    `v1 first ${median(diff.filter((_, i) => i % 2 === 1)).toFixed(3)})`,
);
process.exit(0);
