// Experiment, cited in docs/benchmarks.md, "Method": why every c=1 block starts with BENCH_C1_SETTLE unmeasured requests.
// c=1 latency of a process that resumes after idling: how many sequential requests until it is back
// at its steady state? The relay, ballast (/chat/complete) and the fake upstream ("direct") each
// take BLOCK sequential requests (default 800) after IDLE_MS of idle (default 5000; the full bench's
// rotation over 3 processes per target idles each one for a few seconds), R rounds (default 6),
// the three targets one after another. Prints, per target, the median over rounds of the p50 of
// each slice of 50 requests: the first column is requests 1-50 after the idle spell.
//   node bench/experiments/c1-resume.mjs            (npm run build first)
import { Pool } from 'undici';
import { median, percentile, sequentialLatencies, sleep, sortNum, startBallast, startFake, startRelay } from '../lib.mjs';

const IDLE_MS = Number(process.env.IDLE_MS ?? 5000);
const ROUNDS = Number(process.env.R ?? 6);
const BLOCK = Number(process.env.BLOCK ?? 800);
const SLICE = 50;
const fake = await startFake();
const ballast = await startBallast('undici', fake.origin);
const relay = await startRelay(fake.origin);
const body = JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'hello' }] });
const T = { relay: [relay.origin, '/v1/chat/completions'], ballast: [ballast.origin, '/chat/complete'], direct: [fake.origin, '/v1/chat/completions'] };
const pools = Object.fromEntries(Object.entries(T).map(([k, [o]]) => [k, new Pool(o, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 })]));

const block = (k, n) => sequentialLatencies(pools[k], T[k][1], body, n);

for (const k of Object.keys(T)) await block(k, 500);
const slices = Object.fromEntries(Object.keys(T).map((k) => [k, Array.from({ length: Math.ceil(BLOCK / SLICE) }, () => [])]));
for (let r = 0; r < ROUNDS; r++) {
  for (const k of Object.keys(T)) {
    await sleep(IDLE_MS);
    const lat = await block(k, BLOCK);
    slices[k].forEach((s, i) => s.push(percentile(sortNum(lat.slice(i * SLICE, (i + 1) * SLICE)), 50)));
  }
  process.stdout.write(`round ${r + 1}/${ROUNDS}\r`);
}
console.log(`\np50 (ms) by slice of ${SLICE} requests after ${IDLE_MS} ms idle, median over ${ROUNDS} rounds:`);
for (const [k, ss] of Object.entries(slices)) console.log(`${k.padEnd(8)} ${ss.map((s) => median(s).toFixed(3)).join(' ')}`);
process.exit(0);
