import { Redis } from 'ioredis';
import { Counter, Registry } from 'prom-client';
import { RedisSharedCache } from '../../src/shared-state/redis-shared-cache.js';
import { NoSharedCache } from '../../src/shared-state/shared-cache.port.js';
import { closedPort } from '../support/ports.js';
import { RedisServer } from '../support/redis-server.js';

/** The SharedCache port's Redis adapter against a real redis-server, healthy, gone and frozen. */

const client = (url: string, timeoutMs = 200) => {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: timeoutMs, retryStrategy: () => 100, lazyConnect: true });
  redis.on('error', () => undefined);
  return redis;
};
const counter = () => new Counter({ name: 'lookups', help: 'h', labelNames: ['result'] as const, registers: [new Registry()] });
const count = async (c: Counter<'result'>, result: string) => (await c.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

describe(NoSharedCache.name, () => {
  it('is off, answers every key undefined, stores nothing', async () => {
    const cache = new NoSharedCache();
    expect(cache.enabled).toBe(false);
    await expect(cache.getMany(['a', 'b'])).resolves.toEqual([undefined, undefined]);
    await expect(cache.setMany([['a', Buffer.from('x')]], 10)).resolves.toBeUndefined();
  });
});

describe(RedisSharedCache.name, () => {
  let server: RedisServer;
  let redis: Redis;
  let lookups: Counter<'result'>;
  let cache: RedisSharedCache;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  beforeEach(async () => {
    if (!server.running) await server.resume();
    redis = client(server.url);
    await redis.connect();
    await redis.flushdb();
    lookups = counter();
    cache = new RedisSharedCache(redis, lookups);
  });
  afterEach(() => redis.disconnect());
  afterAll(() => server?.close());

  it('stores bytes as they are (every byte value, invalid UTF-8 included) and answers them in key order', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const f32 = Buffer.from(new Float32Array([0.1, -2.5, Number.MIN_VALUE]).buffer);
    await cache.setMany([['k:all', all], ['k:f32', f32], ['k:empty', Buffer.alloc(0)]], 60);
    const answers = await cache.getMany(['k:f32', 'k:none', 'k:all', 'k:empty']);
    expect(answers).toEqual([f32, undefined, all, Buffer.alloc(0)]);
    expect(await count(lookups, 'hit')).toBe(3);
    expect(await count(lookups, 'miss')).toBe(1);
  });

  it('sets the TTL on every value it stores', async () => {
    await cache.setMany([['t:a', Buffer.from('a')], ['t:b', Buffer.from('b')]], 30);
    for (const key of ['t:a', 't:b']) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(25);
      expect(ttl).toBeLessThanOrEqual(30);
    }
  });

  it('no keys: no round trip, no answer', async () => {
    await expect(cache.getMany([])).resolves.toEqual([]);
    await expect(cache.setMany([], 30)).resolves.toBeUndefined();
  });

  it('Redis gone: every key is a miss (counted as error) and writes are dropped, at once and without throwing', async () => {
    await server.stop();
    const started = Date.now();
    await expect(cache.getMany(['a', 'b'])).resolves.toEqual([undefined, undefined]);
    await expect(cache.setMany([['a', Buffer.from('x')]], 30)).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await count(lookups, 'error')).toBe(2);
  });

  it('Redis frozen: a lookup is cut at the client timeout and answered as misses', async () => {
    await cache.setMany([['f:a', Buffer.from('x')]], 30);
    server.pause();
    try {
      const started = Date.now();
      await expect(cache.getMany(['f:a'])).resolves.toEqual([undefined]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      expect(Date.now() - started).toBeLessThan(2000);
      await expect(cache.setMany([['f:b', Buffer.from('y')]], 30)).resolves.toBeUndefined();
    } finally {
      server.unpause();
    }
    expect(await count(lookups, 'error')).toBe(1);
  });

  it('a client pointed at no server: misses, never an error', async () => {
    const nowhere = client(`redis://127.0.0.1:${await closedPort()}/0`);
    try {
      const lost = new RedisSharedCache(nowhere, counter());
      await expect(lost.getMany(['a'])).resolves.toEqual([undefined]);
      await expect(lost.setMany([['a', Buffer.from('x')]], 1)).resolves.toBeUndefined();
    } finally {
      nowhere.disconnect();
    }
  });
});
