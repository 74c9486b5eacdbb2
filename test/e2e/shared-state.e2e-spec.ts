import request from 'supertest';
import { closedPort } from '../support/ports.js';
import { RedisServer } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** One app and a real Redis that misbehaves: down at boot, frozen mid-run. The two-replica story is in replicas.e2e-spec.ts. */

const server = (app: TestApp) => app.app.getHttpServer();

describe('REDIS_URL pointing at no server', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}/0`, RATE_LIMIT_RPM: '3' });
  });
  afterAll(() => app?.close());

  it('boots, answers, and limits on its own share; /ready stays 200 and says degraded', async () => {
    for (let i = 0; i < 3; i++) await request(server(app)).get('/v1/models').expect(200).expect('x-ratelimit-remaining', String(2 - i));
    const refused = await request(server(app)).get('/v1/models').expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const ready = await request(server(app)).get('/ready');
    expect(ready.body.details.redis).toMatchObject({ status: 'up', configured: true, connected: false, degraded: true });
    expect(ready.body.details.redis.message).toMatch(/rate limits use this instance's share/);
  });

  it('counts the failed connections and the failed commands in /metrics', async () => {
    const text = (await request(server(app)).get('/metrics').expect(200)).text;
    expect(Number(/^ballast_redis_connection_errors_total (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/^ballast_redis_connected 0$/m);
    expect(text).toMatch(/^ballast_redis_command_duration_seconds_count\{command="exec",outcome="error"\} [1-9]/m);
  });
});

describe('a Redis that stops answering (frozen) and comes back', () => {
  let redis: RedisServer;
  let app: TestApp;
  beforeAll(async () => {
    redis = await RedisServer.start();
    app = await startTestApp({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '150', RATE_LIMIT_RPM: '100' });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.close();
  });

  it('answers from Redis while it is up, with its round trips in /metrics', async () => {
    const first = await request(server(app)).get('/v1/models').expect(200);
    expect(first.headers['x-ratelimit-remaining']).toBe('99');
    const ready = await request(server(app)).get('/ready'); // its status also waits on the classifier model loading
    expect(ready.body.details.redis).toMatchObject({ connected: true, degraded: false });
    expect(ready.body.details.redis.roundTripMs).toBeGreaterThanOrEqual(0);
    const text = (await request(server(app)).get('/metrics')).text;
    expect(text).toMatch(/^ballast_redis_command_duration_seconds_count\{command="exec",outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^ballast_redis_connected 1$/m);
    expect(text).not.toMatch(/^ballast_redis_command_duration_seconds_count\{[^}]*outcome="error"/m); // nothing failed on a healthy connection (handshake included)
  });

  it('frozen: each request is answered after at most about REDIS_TIMEOUT_MS, by the insurance limiter; /ready says degraded', async () => {
    redis.pause();
    try {
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 5 }, () => request(server(app)).get('/v1/models')));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      // A generous bound (busy test machines): far below "waits for Redis forever".
      expect(Date.now() - started).toBeLessThan(3000);
      const ready = await request(server(app)).get('/ready'); // its status also waits on the classifier model loading
      expect(ready.body.details.redis).toMatchObject({ status: 'up', degraded: true });
      expect(ready.body.details.redis.message).toMatch(/timed out/);
      const text = (await request(server(app)).get('/metrics')).text;
      expect(text).toMatch(/^ballast_redis_command_duration_seconds_count\{command="exec",outcome="timeout"\} [1-9]/m);
    } finally {
      redis.unpause();
    }
    // Back: counted in Redis again. The frozen requests' commands were on the socket already, so Redis
    // may count them too once it wakes (5 requests, answered by the insurance limiter meanwhile).
    const again = await request(server(app)).get('/v1/models').expect(200);
    expect(Number(again.headers['x-ratelimit-remaining'])).toBeGreaterThanOrEqual(93);
    expect(Number(again.headers['x-ratelimit-remaining'])).toBeLessThanOrEqual(98);
  });
});
