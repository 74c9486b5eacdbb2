import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { sharedVectorKey } from '../../src/embeddings/shared-vector.codec.js';
import { BallastProcess } from '../support/ballast-process.js';
import { FakeUpstream } from '../support/fake-upstream.js';
import { RedisServer } from '../support/redis-server.js';
import { until } from '../support/until.js';

/**
 * Two ballast processes (`node dist/main.js`) behind no balancer, sharing one throwaway Redis: what a
 * client sees when it is spread over replicas, and what happens when Redis goes away and comes back.
 * Each test uses its own API key, so each starts with its own counter.
 */

const KEYS = ['key-shared', 'key-outage', 'key-back', 'key-embed', 'key-embed-down'];
const RPM = 60;
const keyId = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 12);

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

async function call(base: string, path: string, key: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

interface ReadyRedis {
  status: string;
  configured: boolean;
  connected: boolean;
  degraded: boolean;
}
async function readyRedis(base: string): Promise<{ status: number; redis: ReadyRedis; error: unknown }> {
  const response = await fetch(`${base}/ready`);
  const body = (await response.json()) as { details: { redis: ReadyRedis }; error: unknown };
  return { status: response.status, redis: body.details.redis, error: body.error };
}

interface EmbeddingsAnswer {
  embeddings: number[][];
  usage?: { prompt_tokens: number };
}
interface OpenAiEmbeddingsAnswer {
  data: Array<{ embedding: number[] | string }>;
}

describe('two replicas sharing one Redis', () => {
  let redis: RedisServer;
  let fake: FakeUpstream;
  let a: BallastProcess;
  let b: BallastProcess;
  let inspector: Redis;

  beforeAll(async () => {
    redis = await RedisServer.start();
    fake = await FakeUpstream.start();
    const env = {
      REDIS_URL: redis.url,
      // Generous on a busy test machine: a command cut at the timeout would be counted by the insurance limiter instead.
      REDIS_TIMEOUT_MS: '1000',
      RATE_LIMIT_RPM: String(RPM),
      RATE_LIMIT_INSTANCES: '2',
      API_KEYS: KEYS.join(','),
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: 'sk-upstream-secret',
    };
    [a, b] = await BallastProcess.startMany([env, env]);
    // Ready (the classifier model loaded), so that /ready's status says something about Redis alone.
    for (const instance of [a, b]) await until('ready', async () => (await readyRedis(instance.url)).status === 200, 30_000);
    inspector = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    inspector.on('error', () => undefined);
  }, 60_000);

  afterAll(async () => {
    inspector?.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
    await fake?.close();
    await redis?.close();
  }, 30_000);

  afterEach(async () => {
    // A test that stopped Redis leaves it running for the next one.
    if (!redis.running) await redis.resume();
  });

  it('both report Redis connected and ready', async () => {
    for (const instance of [a, b]) {
      await until('Redis connected', async () => (await readyRedis(instance.url)).redis.connected);
      await expect(readyRedis(instance.url)).resolves.toMatchObject({ status: 200, error: {}, redis: { status: 'up', configured: true, connected: true, degraded: false } });
    }
  });

  it(`RATE_LIMIT_RPM=${RPM}: ${RPM} requests spread over both succeed, the next on either gets 429 + Retry-After, the headers agree`, async () => {
    const key = 'key-shared';
    const remaining: number[] = [];
    /** When each answer says the window ends (its arrival + x-ratelimit-reset seconds), in ms. */
    const windowEnds: number[] = [];
    for (let i = 0; i < RPM; i++) {
      const answer = await call(i % 2 === 0 ? a.url : b.url, '/v1/models', key);
      expect([i, answer.status]).toEqual([i, 200]);
      expect(answer.headers.get('x-ratelimit-limit')).toBe(String(RPM));
      remaining.push(Number(answer.headers.get('x-ratelimit-remaining')));
      windowEnds.push(Date.now() + 1000 * Number(answer.headers.get('x-ratelimit-reset')));
    }
    // One counter for both: every answer, from either instance, counts down from the same total...
    expect(remaining).toEqual(Array.from({ length: RPM }, (_, i) => RPM - 1 - i));
    // ...and names the same end of the window (reset is whole seconds, rounded up: within 1 s, plus scheduling slack).
    expect(Math.max(...windowEnds) - Math.min(...windowEnds)).toBeLessThanOrEqual(1500);

    for (const instance of [a, b]) {
      const refused = await call(instance.url, '/v1/models', key);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded' } });
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    }
    await inspector.connect().catch(() => undefined);
    expect(Number(await inspector.get(`ballast:rl:key:${keyId(key)}`))).toBe(RPM + 2);
  });

  it('Redis stopped: both keep answering on the insurance limiter (each its share, RPM/2), /ready is degraded but 200', async () => {
    const key = 'key-outage';
    await redis.stop();
    for (const instance of [a, b]) {
      await until('Redis seen as down', async () => (await readyRedis(instance.url)).redis.degraded);
      const ready = await readyRedis(instance.url);
      expect(ready).toMatchObject({ status: 200, error: {}, redis: { status: 'up', configured: true, degraded: true } });
    }
    const share = RPM / 2;
    for (const instance of [a, b]) {
      for (let i = 0; i < share; i++) {
        const answer = await call(instance.url, '/v1/models', key);
        expect([instance.port, i, answer.status]).toEqual([instance.port, i, 200]);
        expect(Number(answer.headers.get('x-ratelimit-remaining'))).toBe(share - 1 - i);
      }
      const refused = await call(instance.url, '/v1/models', key);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });

  it('Redis started again: sharing resumes without restarting ballast', async () => {
    const key = 'key-back';
    await redis.stop();
    await until('Redis seen as down', async () => (await readyRedis(a.url)).redis.degraded);
    await call(a.url, '/v1/models', key); // counted by A's insurance limiter only
    await redis.resume();
    for (const instance of [a, b]) await until('Redis connected again', async () => !(await readyRedis(instance.url)).redis.degraded);
    const remaining: number[] = [];
    for (const instance of [a, b, a, b]) {
      const answer = await call(instance.url, '/v1/models', key);
      expect(answer.status).toBe(200);
      remaining.push(Number(answer.headers.get('x-ratelimit-remaining')));
    }
    expect(remaining).toEqual([RPM - 1, RPM - 2, RPM - 3, RPM - 4]);
  });

  const embed = (base: string, key: string, texts: string[]) => call(base, '/embeddings', key, { texts });
  const storedInRedis = async (text: string): Promise<boolean> => {
    await inspector.connect().catch(() => undefined);
    return (await inspector.exists(sharedVectorKey({ model: 'text-embedding-3-small' }, text))) === 1;
  };

  it('an embedding computed through A is answered by B with no upstream call, the same bytes, any encoding', async () => {
    const key = 'key-embed';
    const texts = ['shared across replicas', 'a second text', 'shared across replicas'];
    const before = fake.counters.embeddings;
    const fromA = await embed(a.url, key, texts);
    expect(fromA.status).toBe(200);
    expect(fake.counters.embeddings).toBe(before + 1);
    await until('the vectors stored in Redis', async () => (await storedInRedis(texts[0])) && (await storedInRedis(texts[1])));

    const fromB = await embed(b.url, key, texts);
    expect(fromB.status).toBe(200);
    expect(fake.counters.embeddings).toBe(before + 1); // B asked nobody but Redis
    expect(fromB.body).toEqual(fromA.body); // vectors and usage, exactly
    expect((fromB.body as EmbeddingsAnswer).embeddings[0]).toHaveLength(8);

    // The OpenAI route on B, base64: derived from the shared float text, still no upstream call.
    const base64 = await call(b.url, '/v1/embeddings', key, { model: 'text-embedding-3-small', input: texts[1], encoding_format: 'base64' });
    expect(base64.status).toBe(200);
    const bytes = Buffer.from((base64.body as OpenAiEmbeddingsAnswer).data[0].embedding as string, 'base64');
    expect([...new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)]).toEqual(
      (fromA.body as EmbeddingsAnswer).embeddings[1].map((x) => Math.fround(x)),
    );
    expect(fake.counters.embeddings).toBe(before + 1);

    // Another embedding space (dimensions, on the OpenAI route) is another key prefix: a miss, paid once.
    const other = await call(b.url, '/v1/embeddings', key, { model: 'text-embedding-3-small', input: [texts[0]], dimensions: 4 });
    expect(other.status).toBe(200);
    expect(fake.counters.embeddings).toBe(before + 2);
  });

  it('Redis stopped: embeddings still answer (from the upstream), never an error; back: shared again', async () => {
    const key = 'key-embed-down';
    await redis.stop();
    for (const instance of [a, b]) await until('Redis seen as down', async () => (await readyRedis(instance.url)).redis.degraded);
    const before = fake.counters.embeddings;
    for (const instance of [a, b]) {
      const answer = await embed(instance.url, key, ['during the outage']);
      expect(answer.status).toBe(200);
    }
    expect(fake.counters.embeddings).toBe(before + 2); // B could not see A's vector: paid twice, answered both times

    await redis.resume();
    for (const instance of [a, b]) await until('Redis connected again', async () => !(await readyRedis(instance.url)).redis.degraded);
    const fromA = await embed(a.url, key, ['after the outage']);
    await until('the vector stored in Redis', () => storedInRedis('after the outage'));
    const fromB = await embed(b.url, key, ['after the outage']);
    expect(fromB.body).toEqual(fromA.body);
    expect(fake.counters.embeddings).toBe(before + 3);
  });
});
