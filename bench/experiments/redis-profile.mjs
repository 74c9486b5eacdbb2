// Where REDIS_URL's per-request cost goes: ballast in-process and ballast with Redis, each with a CPU
// profile (bench/prof-preload.mjs) over the same c=64 load, plus redis-server's INFO commandstats and
// CPU per request. `node bench/experiments/redis-profile.mjs [seconds]`; profiles in $PROF_DIR
// (default /tmp); summarise with `node bench/prof-summary.mjs <profile> '' <requests>`.
import path from 'node:path';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { BALLAST_NODE_ARGS, ROOT, procCpuMs, sleep, timedRequest, startBallast, startFake, stopChild } from '../lib.mjs';
import { postLoad } from '../post-load.mjs';
import { startRedis } from '../shared-state-scenario.mjs';

const SEC = Number(process.argv[2] ?? 5);
// `c1` as the second argument: sequential requests on one connection instead of autocannon's 64.
const C1 = process.argv[3] === 'c1';
async function load(url, duration) {
  if (!C1) return postLoad({ url, body: BODY, connections: 64, duration });
  const pool = new Pool(new URL(url).origin, { connections: 1, pipelining: 1 });
  const end = Date.now() + duration * 1000;
  let total = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 100; i++) if ((await timedRequest(pool, '/chat/complete', BODY)).status === 200) total++;
  }
  await pool.close();
  return { requests: { total, average: total / duration }, non2xx: 0 };
}
const DIR = process.env.PROF_DIR ?? '/tmp';
const BODY = JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] });
const env = { RATE_LIMIT_RPM: '10000000', LOG_LEVEL: 'warn', ...(process.env.PROF_ENV ? JSON.parse(process.env.PROF_ENV) : {}) };
const fake = await startFake();
const redis = await startRedis();
const nodeArgs = ['--import', path.join(ROOT, 'bench/prof-preload.mjs'), ...BALLAST_NODE_ARGS];
const targets = [
  ['in-process', await startBallast('undici', fake.origin, { name: 'in-process', env: { ...env, PROF_OUT: `${DIR}/in-process.cpuprofile` }, nodeArgs })],
  ['redis', await startBallast('undici', fake.origin, { name: 'redis', env: { ...env, REDIS_URL: redis.url, PROF_OUT: `${DIR}/redis.cpuprofile` }, nodeArgs })],
];
const admin = new Redis(redis.url);
try {
  for (const [name, b] of targets) {
    await load(`${b.origin}/chat/complete`, 2);
    await admin.config('RESETSTAT');
    b.cp.kill('SIGWINCH');
    await sleep(200);
    const cpu0 = [procCpuMs(b.cp.pid), procCpuMs(redis.cp.pid)];
    const res = await load(`${b.origin}/chat/complete`, SEC);
    const cpu = [procCpuMs(b.cp.pid) - cpu0[0], procCpuMs(redis.cp.pid) - cpu0[1]];
    b.cp.kill('SIGWINCH');
    await sleep(1000);
    const n = res.requests.total;
    console.log(`${name}: ${n} requests, ${res.requests.average} req/s, ballast ${((1000 * cpu[0]) / n).toFixed(1)} µs/req (profiled), redis-server ${((1000 * cpu[1]) / n).toFixed(1)} µs/req, non2xx ${res.non2xx}`);
    if (name === 'redis') console.log((await admin.info('commandstats')).trim());
  }
} finally {
  admin.disconnect();
  await Promise.all([...targets.map(([, b]) => stopChild(b.cp)), stopChild(fake.cp), stopChild(redis.cp)]);
}
