// What one rate-limit round trip costs by command form, from one ioredis client, paced like ballast's
// requests at c=1 (each timed command follows one request to the fake upstream, so Redis has idled),
// interleaved by round: PING, rate-limiter-flexible's Lua (EVALSHA), MULTI/EXEC of INCR + PEXPIRE NX +
// PTTL, and the same three pipelined without MULTI. `node bench/experiments/redis-command-rtt.mjs`.
import { performance } from 'node:perf_hooks';
import { Command, Redis } from 'ioredis';
import { Pool } from 'undici';
import { f3, median, startFake, stopChild } from '../lib.mjs';
import { startRedis } from '../shared-state-scenario.mjs';

const ROUNDS = Number(process.env.RTT_ROUNDS ?? 10);
const N = Number(process.env.RTT_N ?? 400);
const LUA = `redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX') local consumed = redis.call('incrby', KEYS[1], ARGV[1]) local ttl = redis.call('pttl', KEYS[1]) if ttl == -1 then redis.call('expire', KEYS[1], ARGV[2]) ttl = 1000 * ARGV[2] end return {consumed, ttl}`;
const fake = await startFake();
const redis = await startRedis();
const client = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, disableClientInfo: true, maintNotifications: 'disabled' });
client.defineCommand('rlIncr', { numberOfKeys: 1, lua: LUA });
const pool = new Pool(fake.origin, { connections: 1 });
const admin = new Redis(redis.url);
const KEY = 'ballast:rl:ip:127.0.0.1';
const forms = {
  ping: () => client.ping(),
  evalsha: () => client.rlIncr(KEY, '1', '60', '10000000', '60'),
  multi: () => client.multi().incrby(KEY, 1).pexpire(KEY, 60000, 'NX').pttl(KEY).exec(),
  multiRaw: () => {
    for (const [name, args] of [['multi', []], ['incrby', [KEY, '1']], ['pexpire', [KEY, '60000', 'NX']], ['pttl', [KEY]]]) client.sendCommand(new Command(name, args)).catch(() => undefined);
    return client.sendCommand(new Command('exec', [], { replyEncoding: 'utf8' }));
  },
  pipeline3: () => Promise.all([client.incrby(KEY, 1), client.pexpire(KEY, 60000, 'NX'), client.pttl(KEY)]),
};
try {
  await client.connect();
  const p50 = Object.fromEntries(Object.keys(forms).map((k) => [k, []]));
  const pace = async () => (await pool.request({ method: 'GET', path: '/v1/models' })).body.dump();
  for (const f of Object.values(forms)) for (let i = 0; i < 200; i++) await f();
  await admin.config('RESETSTAT');
  for (let r = 0; r < ROUNDS; r++) {
    const names = Object.keys(forms);
    for (const name of r % 2 ? names.reverse() : names) {
      const lat = [];
      for (let i = 0; i < N; i++) {
        await pace();
        const t0 = performance.now();
        await forms[name]();
        lat.push(performance.now() - t0);
      }
      p50[name].push(median(lat));
    }
  }
  for (const [name, v] of Object.entries(p50)) console.log(`${name.padEnd(10)} p50 ${f3(median(v))} ms  (÷ PING ${(median(v) / median(p50.ping)).toFixed(2)})`);
  console.log((await admin.info('commandstats')).trim());
} finally {
  client.disconnect();
  admin.disconnect();
  await pool.close();
  await Promise.all([stopChild(fake.cp), stopChild(redis.cp)]);
}
