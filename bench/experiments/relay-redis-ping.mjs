// Is "a round trip from inside a server costs more than the same PING from the load generator" about
// ballast, or about any server on this machine? Two bare relays (bench/relay.mjs's shape, node:http, one
// keep-alive agent) in front of the fake upstream, one of which first awaits an ioredis PING (ballast's
// client options) per request; c=1 interleaved rounds, plus the paced PING from this process (each after
// one request to the plain relay), as shared-state-scenario.mjs measures it. Also ballast in process vs
// with REDIS_URL (its rate limiter's one MULTI/EXEC) in the same rounds (needs npm run build).
// `node bench/experiments/relay-redis-ping.mjs` (RRP_ROUNDS, default 12; RRP_N, default 400).
import { fork } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { BALLAST_NODE_ARGS, f3, median, sequentialLatencies, startBallast, startFake, stopChild, timedRequest, track, waitForReady } from '../lib.mjs';
import { startRedis } from '../shared-state-scenario.mjs';

const redisOptions = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, disableClientInfo: true, maintNotifications: 'disabled' };

if (process.argv[2] === 'server') {
  const upstream = new URL(process.env.UPSTREAM_URL);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL, redisOptions) : undefined;
  await redis?.connect();
  const server = http.createServer({ noDelay: true }, async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (redis) await redis.ping();
    const up = http.request({ agent, host: upstream.hostname, port: upstream.port, method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' } }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, { 'content-type': 'application/json' });
      upRes.pipe(res);
    });
    up.on('socket', (s) => s.setNoDelay(true));
    up.end(JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'hello' }] }));
  });
  server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
} else {
  const ROUNDS = Number(process.env.RRP_ROUNDS ?? 12);
  const N = Number(process.env.RRP_N ?? 400);
  const BODY = JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] });
  const fake = await startFake();
  const redis = await startRedis();
  const self = fileURLToPath(import.meta.url);
  const start = async (name, env, execArgv = []) => {
    const cp = track(fork(self, ['server'], { execArgv, env: { ...process.env, UPSTREAM_URL: fake.origin, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), name);
    const port = await waitForReady(cp, name);
    return { name, cp, pool: new Pool(`http://127.0.0.1:${port}`, { connections: 1, pipelining: 1 }), p50: [] };
  };
  const plain = await start('relay');
  const pinging = await start('relay+PING', { REDIS_URL: redis.url });
  // The same pair with ballast's Node flags (npm start's), in case its heap settings make a wait dearer.
  const plainF = await start('relay (ballast flags)', {}, BALLAST_NODE_ARGS);
  const pingingF = await start('relay+PING (ballast flags)', { REDIS_URL: redis.url }, BALLAST_NODE_ARGS);
  // And ballast itself (in process vs REDIS_URL: its limiter's one MULTI/EXEC), in the same rounds.
  const ballast = async (name, env) => {
    const b = await startBallast('undici', fake.origin, { name, env: { RATE_LIMIT_RPM: '10000000', LOG_LEVEL: 'warn', ...env } });
    return { name, cp: b.cp, pool: new Pool(b.origin, { connections: 1, pipelining: 1 }), p50: [], path: '/chat/complete' };
  };
  const bIn = await ballast('ballast in process', {});
  const bRedis = await ballast('ballast REDIS_URL', { REDIS_URL: redis.url });
  const all = [plain, pinging, plainF, pingingF, bIn, bRedis];
  const client = new Redis(redis.url, redisOptions);
  await client.connect();
  try {
    const ping = [];
    for (const t of all) await sequentialLatencies(t.pool, t.path ?? '/', BODY, 500);
    for (let r = 0; r < ROUNDS; r++) {
      const order = all.map((_, i) => all[(i + r) % all.length]);
      for (const t of r % 2 ? order.reverse() : order) {
        await sequentialLatencies(t.pool, t.path ?? '/', BODY, 100);
        t.p50.push(median(await sequentialLatencies(t.pool, t.path ?? '/', BODY, N)));
      }
      const lat = [];
      for (let i = 0; i < N; i++) {
        await timedRequest(plain.pool, '/', BODY);
        const t0 = performance.now();
        await client.ping();
        lat.push(performance.now() - t0);
      }
      ping.push(median(lat));
    }
    console.log(`paced PING from the load generator ${f3(median(ping))} ms`);
    for (const [a, b] of [[plain, pinging], [plainF, pingingF], [bIn, bRedis]]) {
      const added = median(b.p50.map((x, i) => x - a.p50[i]));
      console.log(`${a.name} p50 ${f3(median(a.p50))} ms; ${b.name} p50 ${f3(median(b.p50))} ms; added ${f3(added)} ms = ${(added / median(ping)).toFixed(2)}× the paced PING`);
    }
  } finally {
    client.disconnect();
    await Promise.all(all.map((t) => t.pool.close()));
    await Promise.all([...all.map((t) => stopChild(t.cp)), stopChild(fake.cp), stopChild(redis.cp)]);
  }
}
