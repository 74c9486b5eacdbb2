import request from 'supertest';
import { postSse, SseFrame } from '../support/sse-client.js';
import { useAppWithFakeUpstream } from '../support/test-app.js';

/** The text of a stream's content events: ballast's `{content}` or OpenAI's `choices[0].delta.content`. */
function textOf(frames: SseFrame[]): string {
  let text = '';
  for (const frame of frames) {
    if (frame.event !== 'message' || frame.data === '[DONE]') continue;
    const event = JSON.parse(frame.data) as { content?: string; choices?: Array<{ delta?: { content?: string } }> };
    text += event.content ?? event.choices?.[0]?.delta?.content ?? '';
  }
  return text;
}

const ask = (words: string) => ({ messages: [{ role: 'user', content: words }] });

/** Sums the samples of `name` in a Prometheus text body whose labels contain every `has`. */
function metric(text: string, name: string, ...has: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (has.every((h) => rest.includes(h))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('many concurrent streams (default pool settings)', () => {
  // Every stream ~5 s long (8 tokens 600 ms apart): even on a busy machine, where opening 600 takes
  // seconds, far more than 256 are open at the upstream together.
  const s = useAppWithFakeUpstream({ UPSTREAM_TIMEOUT_MS: '20000' }, { upstream: { streamIntervalMs: 600, recordRequests: false } });

  it('600 streams at once (more than the old 256-connection cap), on /chat/stream and /v1/chat/completions, all complete with every token', async () => {
    const streams = Array.from({ length: 600 }, (_, i) => {
      const words = `s${i} one two three four five six`;
      const openai = i % 2 === 1;
      const url = `${s.app.url}${openai ? '/v1/chat/completions' : '/chat/stream'}`;
      const body = openai ? { ...ask(words), stream: true } : ask(words);
      return postSse(url, body).then((res) => ({ res, expected: `Echo: ${words}` }));
    });
    const results = await Promise.all(streams);
    const wrong = results.filter(({ res, expected }) => res.status !== 200 || textOf(res.frames) !== expected || res.frames.at(-1)?.data !== '[DONE]');
    expect(wrong.map(({ res, expected }) => `${res.status} ${JSON.stringify(textOf(res.frames))} (wanted ${expected}) ${res.text.slice(0, 200)}`)).toEqual([]);
    expect(s.fake.counters.streamsCompleted).toBe(600);
    // They ran side by side at the upstream, not 256 at a time.
    expect(s.fake.counters.maxInFlight).toBeGreaterThan(256);
    const metrics = (await request(s.app.url).get('/metrics').expect(200)).text;
    expect(metric(metrics, 'ballast_upstream_connection_wait_seconds_count', 'pool="stream"')).toBe(600);
    expect(metric(metrics, 'ballast_upstream_pool_exhausted_total')).toBe(0);
  }, 120_000);

  it('a client that disconnects from one of 40 streams aborts only that one at the upstream', async () => {
    s.fake.knobs.streamIntervalMs = 50;
    s.fake.knobs.streamTokens = Array.from({ length: 20 }, (_, i) => `t${i} `);
    const full = s.fake.knobs.streamTokens.join('');
    const leaver = 17;
    const streams = Array.from({ length: 40 }, (_, i) =>
      postSse(`${s.app.url}${i % 2 ? '/v1/chat/completions' : '/chat/stream'}`, { ...ask(`c${i}`), ...(i % 2 ? { stream: true } : {}) }, (frame) =>
        i === leaver && frame.event === 'message' ? 'stop' : undefined,
      ),
    );
    const results = await Promise.all(streams);
    await s.fake.waitFor(() => s.fake.counters.streamsAborted + s.fake.counters.streamsCompleted === 40, 5_000);
    expect(s.fake.counters.streamsAborted).toBe(1);
    expect(s.fake.counters.streamsCompleted).toBe(39);
    results.forEach((res, i) => {
      if (i === leaver) expect(textOf(res.frames).length).toBeLessThan(full.length);
      else expect(textOf(res.frames)).toBe(full);
    });
  }, 60_000);
});

describe('waiting for an upstream connection (a deliberately tiny pool)', () => {
  const s = useAppWithFakeUpstream(
    // Two stream connections, one JSON connection; waits bounded at 300 ms, deadlines far longer.
    { UPSTREAM_MAX_STREAMS: '2', UPSTREAM_MAX_SOCKETS: '1', UPSTREAM_POOL_WAIT_MS: '300', UPSTREAM_TIMEOUT_MS: '10000', UPSTREAM_MAX_RETRIES: '2' },
    { upstream: { recordRequests: false } },
  );

  it('streams past the bound get 503 upstream_pool_exhausted after the wait, within their deadline; the metric counts them', async () => {
    s.fake.knobs.streamIntervalMs = 200;
    s.fake.knobs.streamTokens = Array.from({ length: 8 }, (_, i) => `t${i} `);
    const holders = [postSse(`${s.app.url}/chat/stream`, ask('a')), postSse(`${s.app.url}/chat/stream`, ask('b'))];
    await s.fake.waitFor(() => s.fake.counters.streamsStarted === 2);
    const started = performance.now();
    const waiters = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        postSse(`${s.app.url}${i === 0 ? '/v1/chat/completions' : '/chat/stream'}`, { ...ask(`w${i}`), ...(i === 0 ? { stream: true } : {}) }).then((res) => ({
          res,
          ms: performance.now() - started,
        })),
      ),
    );
    for (const { res, ms } of waiters) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(res.text)).toEqual({
        error: { message: expect.stringContaining('UPSTREAM_MAX_STREAMS') as string, type: 'overloaded_error', param: null, code: 'upstream_pool_exhausted' },
      });
      // Not before the bound, and well before the 10 s deadline (or the 1.6 s the holders take).
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(1_400);
    }
    // The holders are untouched, and nothing else reached the upstream (no retry of a full pool).
    for (const res of await Promise.all(holders)) expect(res.frames.at(-1)?.data).toBe('[DONE]');
    expect(s.fake.counters.streamsStarted).toBe(2);
    const metrics = (await request(s.app.url).get('/metrics').expect(200)).text;
    expect(metric(metrics, 'ballast_upstream_pool_exhausted_total', 'pool="stream"', 'upstream="default"')).toBe(3);
    expect(metric(metrics, 'ballast_upstream_connection_wait_seconds_count', 'pool="stream"')).toBe(5);
    // The three waits were each at least the bound.
    expect(metric(metrics, 'ballast_upstream_connection_wait_seconds_sum', 'pool="stream"')).toBeGreaterThan(0.9);
  }, 30_000);

  it('a JSON call past the wait bound gets the same 503 (naming UPSTREAM_MAX_SOCKETS) while the holder still runs', async () => {
    const t = s.app;
    s.fake.knobs.latencyMs = 1_000;
    const holding = request(t.url).post('/chat/complete').send(ask('hold')).then((res) => res);
    await s.fake.waitFor(() => s.fake.counters.inFlight === 1);
    // The 503 comes at the 300 ms bound while the holder still runs.
    const started = performance.now();
    const res = await request(t.url).post('/chat/complete').send(ask('wait')).expect(503);
    expect(performance.now() - started).toBeLessThan(900);
    expect((res.body as { error: { code: string } }).error.code).toBe('upstream_pool_exhausted');
    expect((res.body as { error: { message: string } }).error.message).toContain('UPSTREAM_MAX_SOCKETS');
    expect((await holding).status).toBe(200);
    const metrics = (await request(t.url).get('/metrics').expect(200)).text;
    expect(metric(metrics, 'ballast_upstream_pool_exhausted_total', 'pool="json"')).toBe(1);
  }, 30_000);
});

describe('a deadline shorter than the pool wait', () => {
  const s = useAppWithFakeUpstream(
    { UPSTREAM_MAX_STREAMS: '1', UPSTREAM_POOL_WAIT_MS: '60000', UPSTREAM_TIMEOUT_MS: '1000', UPSTREAM_MAX_RETRIES: '0' },
    { upstream: { recordRequests: false } },
  );

  it('a stream still waiting for a connection when its deadline fires gets 503 upstream_pool_exhausted then, not a 504', async () => {
    // The holder keeps the one connection ~2.4 s; its gaps (100 ms) stay under the 1 s idle bound.
    s.fake.knobs.streamIntervalMs = 100;
    s.fake.knobs.streamTokens = Array.from({ length: 24 }, (_, i) => `t${i} `);
    const holder = postSse(`${s.app.url}/chat/stream`, ask('hold'));
    await s.fake.waitFor(() => s.fake.counters.streamsStarted === 1);
    const started = performance.now();
    const res = await postSse(`${s.app.url}/chat/stream`, ask('wait'));
    const ms = performance.now() - started;
    expect(res.status).toBe(503);
    expect((JSON.parse(res.text) as { error: { code: string } }).error.code).toBe('upstream_pool_exhausted');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(2_000);
    expect((await holder).frames.at(-1)?.data).toBe('[DONE]');
    expect(s.fake.counters.streamsStarted).toBe(1);
    const metrics = (await request(s.app.url).get('/metrics').expect(200)).text;
    expect(metric(metrics, 'ballast_upstream_pool_exhausted_total', 'pool="stream"')).toBe(1);
  }, 30_000);
});
