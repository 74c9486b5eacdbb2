// Where a c=1 request's time goes in ballast in process vs with REDIS_URL: each process runs with
// wake-marks-preload.mjs, which timestamps the request's arrival, the rate limiter's consume() and its
// answer, the Redis write and reply, the upstream write and reply, and the response write. Interleaved
// rounds (RWT_ROUNDS, default 8; RWT_N requests, default 400) over RWT_INSTANCES processes per variant
// (default 2), plus the paced ioredis PING from this process (each after one request to an in-process
// ballast). Prints the median of each segment per variant. `node bench/experiments/redis-wake-timeline.mjs
// [variants.json]`: variants [{ "name", "redis": bool, "entry"?, "env"?, "nodeArgs"? }] (default: in-process, redis).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { BALLAST_NODE_ARGS, ROOT, benchTempDir, f3, median, sequentialLatencies, sleep, startBallast, startFake, stopChild, timedRequest } from '../lib.mjs';
import { startRedis } from '../shared-state-scenario.mjs';
import { MARK } from './wake-marks-preload.mjs';

const ROUNDS = Number(process.env.RWT_ROUNDS ?? 8);
const N = Number(process.env.RWT_N ?? 400);
const INSTANCES = Number(process.env.RWT_INSTANCES ?? 2);
const PATH = '/chat/complete';
const BODY = JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] });
const variants = process.argv[2] ? JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) : [{ name: 'in-process' }, { name: 'redis', redis: true }];
const SEGMENTS = [
  ['request → consume()', MARK.request, MARK.consume],
  ['consume() → EXEC sent', MARK.consume, MARK.execSend],
  ['consume() → returned (sync)', MARK.consume, MARK.consumeReturned],
  ['consume() returned → Redis write', MARK.consumeReturned, MARK.redisWrite],
  ['Redis write → reply read', MARK.redisWrite, MARK.redisData],
  ['Redis write → readable (if any)', MARK.redisWrite, MARK.redisReadable],
  ['reply: parse + resolve (sync)', MARK.redisData, MARK.redisDataEnd],
  ['reply read → first returnReply', MARK.redisData, MARK.replyEnter],
  ['reply handled → EXEC promise reaction', MARK.redisDataEnd, MARK.execSettled],
  ['EXEC promise reaction → consume() settled', MARK.execSettled, MARK.consumed],
  ['consume() → its answer', MARK.consume, MARK.consumed],
  ['answer → upstream write', MARK.consumed, MARK.upstreamWrite],
  ['upstream write → reply', MARK.upstreamWrite, MARK.upstreamData],
  ['upstream reply → response write', MARK.upstreamData, MARK.clientWrite],
  ['request → response write', MARK.request, MARK.clientWrite],
];

// Summed over a request: [label, enter, exit].
const SUMS = [
  ['Σ ioredis sendCommand (all commands)', MARK.sendEnter, MARK.sendExit],
  ['Σ ioredis returnReply (all replies)', MARK.replyEnter, MARK.replyExit],
];

function segments(marks) {
  const out = [...SEGMENTS, ...SUMS].map(() => []);
  const gaps = [];
  let first = null;
  let lastWrite = null;
  let sums = SUMS.map(() => 0);
  let open = SUMS.map(() => null);
  const flush = () => {
    if (!first) return;
    SEGMENTS.forEach(([, a, b], i) => {
      if (first.has(a) && first.has(b)) out[i].push(first.get(b) - first.get(a));
    });
    SUMS.forEach((_, k) => { if (sums[k] > 0) out[SEGMENTS.length + k].push(sums[k]); });
  };
  for (const [code, t] of marks) {
    if (code === MARK.request) {
      flush();
      if (lastWrite !== null) gaps.push(t - lastWrite);
      first = new Map([[code, t]]);
      sums = SUMS.map(() => 0);
      open = SUMS.map(() => null);
      continue;
    }
    if (!first) continue;
    SUMS.forEach(([, a, b], k) => {
      if (code === a) open[k] = t;
      else if (code === b && open[k] !== null) { sums[k] += t - open[k]; open[k] = null; }
    });
    if (!first.has(code)) first.set(code, t);
    if (code === MARK.clientWrite) lastWrite = t;
  }
  flush();
  return { out, gaps };
}

const fake = await startFake();
const redis = await startRedis();
const dir = benchTempDir('ballast-wake-');
const preload = path.join(ROOT, 'bench/experiments/wake-marks-preload.mjs');
const targets = [];
const client = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, disableClientInfo: true, maintNotifications: 'disabled' });
try {
  for (const v of variants) {
    for (let k = 0; k < INSTANCES; k++) {
      const name = `${v.name}#${k + 1}`;
      const marksOut = path.join(dir, `${name}.json`);
      const env = { RATE_LIMIT_RPM: '10000000', LOG_LEVEL: 'warn', MARKS_OUT: marksOut, ...(v.redis ? { REDIS_URL: redis.url } : {}), ...v.env };
      const b = await startBallast('undici', fake.origin, { name, env, entry: v.entry, nodeArgs: ['--import', preload, ...(v.nodeArgs ?? BALLAST_NODE_ARGS)] });
      targets.push({ v, name, b, marksOut, pool: new Pool(b.origin, { connections: 1, pipelining: 1 }), p50: [] });
    }
  }
  await client.connect();
  for (const t of targets) await sequentialLatencies(t.pool, PATH, BODY, 500);
  for (const t of targets) t.b.cp.kill('SIGUSR2');
  await sleep(100);
  const ping = [];
  const pacer = targets.find((t) => !t.v.redis) ?? targets[0];
  for (let r = 0; r < ROUNDS; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const t of r % 2 ? order.reverse() : order) {
      await sequentialLatencies(t.pool, PATH, BODY, 100);
      t.p50.push(median(await sequentialLatencies(t.pool, PATH, BODY, N)));
    }
    const lat = [];
    for (let i = 0; i < N; i++) {
      await timedRequest(pacer.pool, PATH, BODY);
      const t0 = performance.now();
      await client.ping();
      lat.push(performance.now() - t0);
    }
    ping.push(median(lat));
  }
  for (const t of targets) t.b.cp.kill('SIGUSR2');
  await sleep(1500);
  const pingP50 = median(ping);
  const base = variants[0].name;
  const byVariant = new Map();
  for (const t of targets) {
    const { out, gaps } = segments(JSON.parse(fs.readFileSync(t.marksOut, 'utf8')));
    const row = { p50: median(t.p50), /* marks in µs */ segs: out.map((xs) => (xs.length ? median(xs) : NaN)), gap: median(gaps) };
    byVariant.set(t.v.name, [...(byVariant.get(t.v.name) ?? []), { t, row }]);
  }
  console.log(`paced PING p50 ${f3(pingP50)} ms; ${ROUNDS} rounds × ${N}; segments in µs, median per process`);
  const names = targets.map((t) => t.name);
  console.log(['segment', ...names].join(' | '));
  const rowsOf = (pick) => targets.map((t) => pick(byVariant.get(t.v.name).find((x) => x.t === t).row));
  console.log(['client p50', ...rowsOf((r) => f3(r.p50))].join(' | '));
  [...SEGMENTS, ...SUMS].forEach(([label], i) => console.log([label, ...rowsOf((r) => r.segs[i].toFixed(1))].join(' | ')));
  console.log(['response write → next request', ...rowsOf((r) => r.gap.toFixed(1))].join(' | '));
  for (const [name, list] of byVariant) {
    if (name === base) continue;
    const baseList = byVariant.get(base);
    const added = median(list.map(({ t }) => median(t.p50.map((x, i) => x - median(baseList.map((b) => b.t.p50[i]))))));
    console.log(`${name}: client added p50 ${f3(added)} ms = ${(added / pingP50).toFixed(2)}× the paced PING`);
  }
} finally {
  client.disconnect();
  await Promise.all(targets.map((t) => t.pool.close()));
  await Promise.all([...targets.map((t) => stopChild(t.b.cp)), stopChild(fake.cp), stopChild(redis.cp)]);
}
