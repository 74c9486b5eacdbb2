// A/B of REDIS_URL's cost, interleaved in one run: `node bench/experiments/redis-ab.mjs variants.json`
// variants: [{ "name": "in-process" }, { "name": "base", "redis": true, "entry": ".variants/base/dist/main.js" },
//            { "name": "new", "redis": true, "env": { ... } }]. One fake upstream (0 ms), one throwaway
// redis-server shared by the Redis variants, rate limit on (never refusing). Per round: c=1 p50 of each
// variant and of a paced ioredis PING (each after one request to the first variant); c=64 req/s, ballast
// CPU µs/request and redis-server CPU µs/request (at c=1 too); GET /ready added p50 (with REDIS_URL it
// sends one PING: a round trip from inside ballast). Medians over rounds. Env: RAB_ROUNDS (8), RAB_N (300),
// RAB_C64_ROUNDS (6), RAB_C64_SEC (2). A variant may name its own "base" (default the first) and "nodeArgs".
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { cpuNs, f1, f3, median, procCpuMs, sequentialLatencies, startBallast, startFake, stopChild, timedRequest } from '../lib.mjs';
import { postLoad } from '../post-load.mjs';
import { startRedis } from '../shared-state-scenario.mjs';

const ROUNDS = Number(process.env.RAB_ROUNDS ?? 8);
const N = Number(process.env.RAB_N ?? 300);
const C64_ROUNDS = Number(process.env.RAB_C64_ROUNDS ?? 6);
const C64_SEC = Number(process.env.RAB_C64_SEC ?? 2);
const PATH = '/chat/complete';
const BODY = JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] });
const variants = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const fake = await startFake();
const redis = await startRedis();
const targets = [];
const client = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, disableClientInfo: true, maintNotifications: 'disabled' });
try {
  for (const v of variants) {
    const env = { RATE_LIMIT_RPM: '10000000', LOG_LEVEL: 'warn', ...(v.redis ? { REDIS_URL: redis.url } : {}), ...v.env };
    const b = await startBallast('undici', fake.origin, { name: v.name, env, entry: v.entry, nodeArgs: v.nodeArgs });
    targets.push({ ...v, b, pool: new Pool(b.origin, { connections: 1, pipelining: 1 }), p50: [], ready: [], c1cpu: [], c1rcpu: [], rps: [], cpu: [], rcpu: [] });
  }
  await client.connect();
  const ping = [];
  for (const t of targets) await sequentialLatencies(t.pool, PATH, BODY, 300);
  for (let r = 0; r < ROUNDS; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const t of r % 2 ? order.reverse() : order) {
      await sequentialLatencies(t.pool, PATH, BODY, 100);
      const c0 = [cpuNs(t.b.cp.pid), cpuNs(redis.cp.pid)];
      t.p50.push(median(await sequentialLatencies(t.pool, PATH, BODY, N)));
      t.c1cpu.push((cpuNs(t.b.cp.pid) - c0[0]) / N / 1000);
      t.c1rcpu.push((cpuNs(redis.cp.pid) - c0[1]) / N / 1000);
      const ready = [];
      for (let i = 0; i < N / 2; i++) {
        const t0 = performance.now();
        await (await t.pool.request({ method: 'GET', path: '/ready' })).body.dump();
        ready.push(performance.now() - t0);
      }
      t.ready.push(median(ready));
    }
    const lat = [];
    for (let i = 0; i < N; i++) {
      await timedRequest(targets[0].pool, PATH, BODY);
      const t0 = performance.now();
      await client.ping();
      lat.push(performance.now() - t0);
    }
    ping.push(median(lat));
  }
  for (let r = 0; r < C64_ROUNDS; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const t of r % 2 ? order.reverse() : order) {
      const url = `${t.b.origin}${PATH}`;
      await postLoad({ url, body: BODY, connections: 64, duration: 1 });
      const c0 = [procCpuMs(t.b.cp.pid), procCpuMs(redis.cp.pid)];
      const res = await postLoad({ url, body: BODY, connections: 64, duration: C64_SEC });
      const n = res['2xx'];
      t.rps.push(n / C64_SEC);
      t.cpu.push((1000 * (procCpuMs(t.b.cp.pid) - c0[0])) / n);
      t.rcpu.push((1000 * (procCpuMs(redis.cp.pid) - c0[1])) / n);
      if (res.non2xx || res.errors) console.log(`${t.name}: non2xx ${res.non2xx} errors ${res.errors}`);
    }
  }
  const pingP50 = median(ping);
  console.log(`paced PING p50 ${f3(pingP50)} ms`);
  console.log('variant | c=1 p50 ms | added vs first | added ÷ PING | /ready added ms (÷ PING) | c=1 ballast µs/req | c=1 redis µs/req | c=64 req/s | ÷ first | ballast µs/req | redis-server µs/req');
  for (const t of targets) {
    // "base": the variant this one is compared with (default: the first).
    const base = targets.find((b) => b.name === t.base) ?? targets[0];
    const added = median(t.p50.map((x, i) => x - base.p50[i]));
    const ratio = median(t.rps.map((x, i) => x / base.rps[i]));
    console.log(`${t.name} | ${f3(median(t.p50))} | ${f3(added)} | ${(added / pingP50).toFixed(2)} | ${f3(median(t.ready.map((x, i) => x - base.ready[i])))} (${(median(t.ready.map((x, i) => x - base.ready[i])) / pingP50).toFixed(2)}) | ${f1(median(t.c1cpu))} | ${f1(median(t.c1rcpu))} | ${Math.round(median(t.rps))} | ${(100 * ratio).toFixed(1)} % | ${f1(median(t.cpu))} | ${f1(median(t.rcpu))}`);
  }
} finally {
  client.disconnect();
  await Promise.all(targets.map((t) => t.pool.close()));
  await Promise.all([...targets.map((t) => stopChild(t.b.cp)), stopChild(fake.cp), stopChild(redis.cp)]);
}
