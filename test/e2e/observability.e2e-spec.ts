import request from 'supertest';
import { resolve } from 'node:path';
import { postSse } from '../support/sse-client.js';
import { startTestApp, useAppWithFakeUpstream } from '../support/test-app.js';

const UPSTREAM_KEY = 'sk-upstream-secret-obs';
const CALLER_KEY = 'bk-caller-secret-obs';
const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'models');
const hello = { messages: [{ role: 'user', content: 'a private message about my secrets' }] };
const auth = { authorization: `Bearer ${CALLER_KEY}` };

type Samples = Map<string, number>;

/** Prometheus text format → `name{labels}` → value (label order as exposed). */
function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('observability: /metrics, logs', () => {
  const lines: string[] = [];
  let startupLines: string[] = [];
  const s = useAppWithFakeUpstream(
    {
      OPENAI_API_KEY: UPSTREAM_KEY,
      API_KEYS: CALLER_KEY,
      LOG_LEVEL: 'info',
      UPSTREAM_MAX_RETRIES: '0',
      EMBEDDINGS_COALESCE_MS: '0',
      LOCAL_MODEL: 'tiny-sentiment',
      LOCAL_MODEL_PATH: FIXTURES,
      LOCAL_MODEL_FALLBACK: '',
    },
    { resetBeforeEach: false, logStream: { write: (line: string) => void lines.push(line) } },
  );
  const scrape = async (): Promise<Samples> => {
    const res = await request(s.app.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(res.text);
  };
  const delta = (before: Samples, after: Samples, key: string): number => (after.get(key) ?? 0) - (before.get(key) ?? 0);

  beforeAll(async () => {
    while ((await request(s.app.url).get('/ready')).status !== 200) await new Promise((r) => setTimeout(r, 50));
    startupLines = [...lines];
  });

  it('/metrics needs no key, and every counter moves by what the traffic did', async () => {
    const before = await scrape();

    for (let i = 0; i < 3; i++) await request(s.app.url).post('/chat/complete').set(auth).send(hello).expect(200);
    await request(s.app.url).post('/chat/complete?debug=1').set(auth).send({ messages: [] }).expect(400);
    await request(s.app.url).get('/no/such/route/12345').set(auth).expect(404);
    const stream = await postSse(`${s.app.url}/chat/stream`, hello);
    expect(stream.status).toBe(401); // the SSE helper sends no key: refused before streaming
    s.fake.reset({ fault: { kind: 'status', status: 500 } });
    await request(s.app.url).post('/chat/complete').set(auth).send(hello).expect(502);
    s.fake.reset();
    const sse = await fetch(`${s.app.url}/chat/stream`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(hello) });
    const events = (await sse.text()).split('\n\n').filter((f) => f.startsWith('data: {')).length;
    await request(s.app.url).post('/embeddings').set(auth).send({ texts: ['one', 'two', 'one'] }).expect(200);
    await request(s.app.url).post('/embeddings').set(auth).send({ texts: ['two', 'one'] }).expect(200);
    await request(s.app.url).post('/classify').set(auth).send({ texts: ['great', 'awful'] }).expect(200);

    const after = await scrape();
    const http = (route: string, status: number, method = 'POST') => `{method="${method}",route="${route}",status="${status}"}`;
    expect(delta(before, after, `ballast_http_requests_total${http('/chat/complete', 200)}`)).toBe(3);
    expect(delta(before, after, `ballast_http_requests_total${http('/chat/complete', 400)}`)).toBe(1);
    expect(delta(before, after, `ballast_http_requests_total${http('/chat/complete', 502)}`)).toBe(1);
    expect(delta(before, after, `ballast_http_requests_total${http('/chat/stream', 401)}`)).toBe(1);
    expect(delta(before, after, `ballast_http_requests_total${http('unmatched', 404, 'GET')}`)).toBe(1);
    expect(delta(before, after, `ballast_http_request_duration_seconds_count${http('/chat/complete', 200)}`)).toBe(3);
    expect(delta(before, after, 'ballast_overhead_seconds_count{route="/chat/complete"}')).toBe(5);
    // No raw URL ever becomes a label.
    expect([...after.keys()].some((k) => k.includes('12345') || k.includes('debug=1'))).toBe(false);

    expect(delta(before, after, 'ballast_upstream_request_duration_seconds_count{upstream="default",outcome="ok"}')).toBe(3 + 1 + 1);
    expect(delta(before, after, 'ballast_upstream_errors_total{upstream="default",outcome="upstream_http_error"}')).toBe(1);
    expect(events).toBeGreaterThan(1);
    expect(delta(before, after, 'ballast_sse_events_total')).toBe(events);
    expect(after.get('ballast_sse_streams_open')).toBe(0);

    expect(delta(before, after, 'ballast_embeddings_cache_total{result="miss"}')).toBe(2);
    expect(delta(before, after, 'ballast_embeddings_cache_total{result="hit"}')).toBe(2);
    expect(delta(before, after, 'ballast_embeddings_upstream_calls_total')).toBe(1);
    expect(delta(before, after, 'ballast_embeddings_batch_size_sum')).toBe(2);
    expect(delta(before, after, 'ballast_classifier_batch_size_sum')).toBe(2);
    expect(after.get('ballast_classifier_queue_depth')).toBe(0);
    expect(after.get('ballast_classifier_worker_restarts')).toBe(0);
    expect(after.has('ballast_classifier_run_time_ms{quantile="0.99"}')).toBe(true);
    expect(after.get('ballast_http_requests_in_flight')).toBe(0);
    // Node defaults.
    for (const name of ['nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
      expect(after.has(name)).toBe(true);
    }
  });

  it('/ready probes the upstream at most once per 30 s (cached), and names it when unreachable', async () => {
    const models = s.fake.counters.models;
    for (let i = 0; i < 3; i++) {
      const res = await request(s.app.url).get('/ready').expect(200);
      expect(res.body.details.upstream).toEqual(
        expect.objectContaining({ status: 'up', configured: true, upstreams: [expect.objectContaining({ name: 'default', reachable: true, breaker: 'closed' })] }),
      );
    }
    expect(s.fake.counters.models - models).toBeLessThanOrEqual(1);

    const down = await startTestApp({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: UPSTREAM_KEY });
    try {
      const res = await request(down.url).get('/ready').expect(503);
      expect(Object.keys(res.body.error)).toContain('upstream');
      expect(res.body.error.upstream.upstreams[0]).toEqual(expect.objectContaining({ reachable: false, error: 'upstream_unreachable' }));
      expect(JSON.stringify(res.body)).not.toContain(UPSTREAM_KEY);
    } finally {
      await down.close();
    }
  });

  it('counts shed requests by reason', async () => {
    const before = await scrape();
    const over = await s.startApp({ OPENAI_API_KEY: UPSTREAM_KEY, MAX_IN_FLIGHT: '1' });
    try {
      s.fake.reset({ latencyMs: 300 });
      const slow = request(over.url).post('/chat/complete').send(hello).then((r) => r);
      await s.fake.waitFor(() => s.fake.counters.inFlight === 1);
      await request(over.url).post('/chat/complete').send(hello).expect(503);
      expect((await slow).status).toBe(200);
      const text = (await request(over.url).get('/metrics').expect(200)).text;
      expect(parseMetrics(text).get('ballast_shed_requests_total{reason="in_flight"}')).toBe(1);
      // The slow call's end took it out of the count: the gauge is back to 0 and the next call is admitted.
      expect(parseMetrics(text).get('ballast_http_requests_in_flight')).toBe(0);
      await request(over.url).post('/chat/complete').send(hello).expect(200);
    } finally {
      s.fake.reset();
      await over.close();
    }
    expect(before.size).toBeGreaterThan(0);
  });

  it('logs one JSON line per request with the request id (taken from x-request-id and echoed), never a key or a message', async () => {
    lines.length = 0;
    const res = await request(s.app.url).post('/chat/complete').set(auth).set('x-request-id', 'trace-abc-123').send(hello).expect(200);
    expect(res.headers['x-request-id']).toBe('trace-abc-123');
    await request(s.app.url).post('/chat/complete').set('authorization', 'Bearer wrong-key-zzz').send(hello).expect(401);
    const generated = await request(s.app.url).get('/health');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 50));

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = parsed.find((l) => l.reqId === 'trace-abc-123');
    expect(line).toEqual(expect.objectContaining({ route: '/chat/complete', status: 200, method: 'POST', durationMs: expect.any(Number), upstreamMs: expect.any(Number) }));
    expect(parsed.find((l) => l.reqId === generated.headers['x-request-id'])).toBeDefined();
    const all = lines.join('\n');
    for (const secret of [UPSTREAM_KEY, CALLER_KEY, 'wrong-key-zzz', 'private message about my secrets']) expect(all).not.toContain(secret);
  });

  it('redacts credentials and message contents even when a log call passes them', async () => {
    lines.length = 0;
    const logger = s.app.app.getHttpAdapter().getInstance().log;
    logger.warn({ headers: { authorization: `Bearer ${CALLER_KEY}` }, apiKey: UPSTREAM_KEY, body: { messages: hello.messages, texts: ['secret text'] } }, 'careless');
    await new Promise((r) => setTimeout(r, 20));
    const all = lines.join('\n');
    expect(all).toContain('careless');
    expect(all).toContain('[redacted]');
    for (const secret of [UPSTREAM_KEY, CALLER_KEY, 'private message', 'secret text']) expect(all).not.toContain(secret);
  });

  it("services' own logs (Nest's Logger) are JSON lines too, with their context", () => {
    const parsed = startupLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.find((l) => l.context === 'ClassifierService')).toEqual(
      expect.objectContaining({ level: 30, msg: expect.stringMatching(/^Classifier ready: tiny-sentiment/) }),
    );
    expect(parsed.find((l) => l.context === 'NestApplication')).toBeDefined();
  });
});
