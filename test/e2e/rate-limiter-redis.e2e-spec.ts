import { Redis } from 'ioredis';
import rateLimiterFlexible from 'rate-limiter-flexible';
import type { RateLimiterAbstract, RateLimiterRes as RateLimiterState } from 'rate-limiter-flexible';
import { createRateLimiter } from '../../src/auth/rate-limiter.factory.js';
import { RateLimiterRedisMulti, resendsAfterReconnect } from '../../src/auth/rate-limiter-redis-multi.js';
import { AppConfig } from '../../src/config/app-config.js';
import { validateEnvironment } from '../../src/config/environment.loader.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { RedisConnection } from '../../src/shared-state/redis.connection.js';
import { RedisServer } from '../support/redis-server.js';

/**
 * The rate-limit store on a real Redis, below the HTTP layer: the MULTI/EXEC transaction answers as
 * rate-limiter-flexible's own Lua script does, and the process's client sends what one turn of the
 * event loop issued in one write.
 */
const { RateLimiterRedis, RateLimiterRes } = rateLimiterFlexible;

const outcome = (p: Promise<RateLimiterState>): Promise<{ allowed: boolean; state: RateLimiterState }> =>
  p.then(
    (state) => ({ allowed: true, state }),
    (state: unknown) => {
      if (state instanceof RateLimiterRes) return { allowed: false, state };
      throw state;
    },
  );

async function readsProcessed(admin: Redis): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);
}

describe(RateLimiterRedisMulti.name, () => {
  let redis: RedisServer;
  let connection: RedisConnection;
  let admin: Redis;
  let client: Redis;
  beforeAll(async () => {
    redis = await RedisServer.start();
    connection = new RedisConnection(new AppConfig(validateEnvironment({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '500' })), new MetricsService());
    await connection.onModuleInit();
    client = connection.client!;
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await connection?.onApplicationShutdown();
    await redis?.close();
  });

  const store = (keyPrefix: string, points: number, duration = 60, insuranceLimiter?: RateLimiterAbstract): RateLimiterAbstract =>
    new RateLimiterRedisMulti({ storeClient: client, keyPrefix, points, duration, insuranceLimiter });

  it("answers every call as rate-limiter-flexible's Lua script does: counts, remaining, first in window, the 429 after the limit", async () => {
    const multi = store('t1:multi', 3);
    const lua = new RateLimiterRedis({ storeClient: client, keyPrefix: 't1:lua', points: 3, duration: 60 });
    for (let i = 0; i < 5; i++) {
      const [a, b] = await Promise.all([outcome(multi.consume('k')), outcome(lua.consume('k'))]);
      expect(a.allowed).toBe(b.allowed);
      expect(a.allowed).toBe(i < 3);
      const facts = (s: RateLimiterState) => [s.consumedPoints, s.remainingPoints, s.isFirstInDuration];
      expect(facts(a.state)).toEqual(facts(b.state));
      expect(a.state.consumedPoints).toBe(i + 1);
      expect(Math.abs(a.state.msBeforeNext - b.state.msBeforeNext)).toBeLessThan(1000);
      expect(a.state.msBeforeNext).toBeGreaterThan(50_000);
      expect(a.state.msBeforeNext).toBeLessThanOrEqual(60_000);
    }
    expect(await admin.get('t1:multi:k')).toBe('5');
    expect(await admin.pttl('t1:multi:k')).toBeGreaterThan(50_000);
  });

  it('a fixed window: the count starts again once it has passed', async () => {
    const limiter = store('t2', 2, 1);
    await limiter.consume('k');
    await limiter.consume('k');
    await expect(limiter.consume('k')).rejects.toBeInstanceOf(RateLimiterRes);
    await new Promise((r) => setTimeout(r, 1100));
    await expect(limiter.consume('k')).resolves.toMatchObject({ consumedPoints: 1, remainingPoints: 1, isFirstInDuration: true });
  });

  it('a key someone left without an expiry gets the window, as the script gives it', async () => {
    await admin.set('t3:k', '5');
    await expect(store('t3', 10).consume('k')).resolves.toMatchObject({ consumedPoints: 6, msBeforeNext: 60_000 });
    await new Promise((r) => setTimeout(r, 50));
    expect(await admin.pttl('t3:k')).toBeGreaterThan(50_000);
  });

  it('a transaction Redis fails (a key holding text) falls to the insurance limiter, or rejects with the error without one', async () => {
    await admin.set('t4:k', 'not a number');
    await expect(store('t4', 10).consume('k')).rejects.toThrow(/not an integer/);
    const insured = store('t4', 10, 60, new rateLimiterFlexible.RateLimiterMemory({ points: 1, duration: 60 }));
    await expect(insured.consume('k')).resolves.toMatchObject({ consumedPoints: 1, remainingPoints: 0 });
    await expect(insured.consume('k')).rejects.toBeInstanceOf(RateLimiterRes);
  });

  it('calls issued in one turn of the event loop are counted exactly and leave in one write, not one per call', async () => {
    const limiter = createRateLimiter(1000, 1, client);
    await limiter.consume('warm');
    const before = await readsProcessed(admin);
    const states = await Promise.all(Array.from({ length: 50 }, () => limiter.consume('burst')));
    const reads = (await readsProcessed(admin)) - before;
    expect(states.map((s) => s.consumedPoints).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // 50 transactions of 5 commands: one write from ballast (Redis may take it in a few reads), plus admin's INFO.
    expect(reads).toBeLessThanOrEqual(6);
  });

  it('replies stay in step: transactions and other commands on the one connection each get their own answer', async () => {
    const limiter = createRateLimiter(1000, 1, client);
    await admin.set('t7:plain', 'v');
    const [a, get, b, echo, c] = await Promise.all([limiter.consume('step'), client.get('t7:plain'), limiter.consume('step'), client.echo('e'), limiter.consume('step')]);
    expect([a, b, c].map((state) => state.consumedPoints)).toEqual([1, 2, 3]);
    expect(get).toBe('v');
    expect(echo).toBe('e');
    expect(client.commandQueue.length).toBe(0);
  });

  it('more than one point, a custom duration, a block after the limit: the same answers (the last two through the library\'s own consume)', async () => {
    await expect(store('t8', 5).consume('k', 2)).resolves.toMatchObject({ consumedPoints: 2, remainingPoints: 3, isFirstInDuration: true });
    await expect(store('t8', 5).consume('k', 2)).resolves.toMatchObject({ consumedPoints: 4, remainingPoints: 1, isFirstInDuration: false });
    await expect(store('t9', 2).consume('k', 1, { customDuration: 5 })).resolves.toMatchObject({ consumedPoints: 1 });
    expect(await admin.pttl('t9:k')).toBeLessThanOrEqual(5000);
    const blocking = new RateLimiterRedisMulti({ storeClient: client, keyPrefix: 't10', points: 1, duration: 60, blockDuration: 120 });
    await blocking.consume('k');
    await expect(blocking.consume('k')).rejects.toMatchObject({ msBeforeNext: 120_000 });
    expect(await admin.pttl('t10:k')).toBeGreaterThan(60_000);
  });

  it('frozen past REDIS_TIMEOUT_MS: the insurance limiter answers; when Redis wakes, the late replies land in their own slots, not in the next call', async () => {
    const limiter = createRateLimiter(100, 2, client);
    await limiter.consume('frozen');
    redis.pause();
    try {
      await expect(limiter.consume('frozen')).resolves.toMatchObject({ consumedPoints: 1, remainingPoints: 49 });
    } finally {
      redis.unpause();
    }
    // The frozen transaction was on the socket: Redis counts it once it runs (2), and answers it first.
    await expect(limiter.consume('frozen')).resolves.toMatchObject({ consumedPoints: 3, remainingPoints: 97 });
    await expect(client.echo('after')).resolves.toBe('after');
    expect(client.commandQueue.length).toBe(0);
  });

  it("a client that would resend unanswered commands after a reconnect (ioredis's defaults) gets the library's own script, not the encoded transaction", async () => {
    const resending = new Redis(redis.url);
    try {
      expect(resendsAfterReconnect(resending)).toBe(true);
      expect(resendsAfterReconnect(client)).toBe(false);
      const calls = async (command: string): Promise<number> => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await admin.info('commandstats'))?.[1] ?? 0);
      const [exec, evalsha] = [await calls('exec'), await calls('evalsha')];
      const limiter = new RateLimiterRedisMulti({ storeClient: resending, keyPrefix: 't11', points: 5, duration: 60 });
      await expect(limiter.consume('k')).resolves.toMatchObject({ consumedPoints: 1, remainingPoints: 4 });
      await expect(limiter.consume('k')).resolves.toMatchObject({ consumedPoints: 2, remainingPoints: 3 });
      expect(await calls('exec')).toBe(exec);
      expect((await calls('evalsha')) + (await calls('eval'))).toBeGreaterThanOrEqual(evalsha + 2);
    } finally {
      resending.disconnect();
    }
  });

  it('the connection lost mid-transaction: EXEC fails, the insurance limiter answers, the queued commands leave no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const limiter = createRateLimiter(100, 2, client);
      const call = limiter.consume('cut');
      client.stream.destroy(); // before the corked write leaves: every command of the transaction fails
      await expect(call).resolves.toMatchObject({ consumedPoints: 1, remainingPoints: 49 });
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
  });

  it('Redis gone: a call fails at once (no queue) and the insurance limiter answers with the instance share', async () => {
    const limiter = createRateLimiter(100, 2, client);
    await redis.stop();
    try {
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await expect(limiter.consume('down')).resolves.toMatchObject({ consumedPoints: 1, remainingPoints: 49 });
      expect(Date.now() - started).toBeLessThan(400);
      expect(client.commandQueue.length).toBe(0); // refused before it was written: no reply slot left behind
    } finally {
      await redis.resume();
    }
  });
});
