import request from 'supertest';
import { contentOf, postSse } from '../support/sse-client.js';
import { FAKE_UPSTREAM_KEY as KEY, startTestApp, TestApp, useAppWithFakeUpstream } from '../support/test-app.js';
import { closedPort } from '../support/ports.js';

const hello = { messages: [{ role: 'user', content: 'hello there' }] };

interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe.each(['undici', 'axios'] as const)('chat routes (transport %s)', (transport) => {
  const s = useAppWithFakeUpstream({
    UPSTREAM_TRANSPORT: transport,
    UPSTREAM_TIMEOUT_MS: '400',
    // This suite checks how each failure maps; retries and breakers have their own suite (resilience).
    UPSTREAM_MAX_RETRIES: '0',
    BREAKER_WINDOW: '10000',
    BREAKER_MIN_CALLS: '10000',
    SSE_HEARTBEAT_MS: '60',
    BODY_LIMIT_BYTES: '4096',
    UPSTREAM_MAX_RESPONSE_BYTES: '2048',
  });

  describe('POST /chat/complete', () => {
    it('answers content, model and usage from the upstream, with our key and the default model', async () => {
      const res = await request(s.app.url).post('/chat/complete').send(hello).expect(200);
      expect(res.body).toEqual({
        content: 'Echo: hello there',
        model: 'gpt-4o-mini',
        usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) },
      });
      expect(s.fake.counters.chat).toBe(1);
      const seen = s.fake.requests[0];
      expect(seen.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(seen.body).toEqual({ model: 'gpt-4o-mini', messages: hello.messages });
    });

    it('passes model, temperature and max_tokens through and drops unknown fields', async () => {
      await request(s.app.url)
        .post('/chat/complete')
        .send({ ...hello, model: 'fake-model', temperature: 0.5, max_tokens: 7, evil: 'x' })
        .expect(200);
      expect(s.fake.requests[0].body).toEqual({ model: 'fake-model', messages: hello.messages, temperature: 0.5, max_tokens: 7 });
    });

    it('carries Server-Timing with ballast own time and upstream wait, and a request id', async () => {
      s.fake.knobs.latencyMs = 50;
      const res = await request(s.app.url).post('/chat/complete').set('x-request-id', 'req-abc').send(hello).expect(200);
      const match = /ballast;dur=([\d.]+).*upstream;dur=([\d.]+)/.exec(res.headers['server-timing'] as string);
      expect(match).not.toBeNull();
      expect(Number(match![2])).toBeGreaterThanOrEqual(45);
      expect(Number(match![1])).toBeLessThan(Number(match![2]));
      expect(res.headers['x-request-id']).toBe('req-abc');
    });

    it.each([
      [{}, 'messages', /messages is required/],
      [{ messages: [] }, 'messages', /messages should not be empty/],
      [{ messages: 'hi' }, 'messages', /messages must be an array/],
      [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role', /messages\[0\]\.role must be one of/],
      [{ messages: [{ role: 'user', content: 42 }] }, 'messages[0].content', /messages\[0\]\.content must be a string/],
      [{ ...hello, temperature: 7 }, 'temperature', /temperature must not be greater than 2/],
      [{ ...hello, max_tokens: 0 }, 'max_tokens', /max_tokens must not be less than 1/],
      [{ ...hello, temperature: '0.5' }, 'temperature', /temperature must be a number/],
      [{ messages: [{ role: 'user', content: 'x', extra: 1 }, 'hi'] }, 'messages[1]', /messages\[1\] must be an object/],
    ])('400 naming the field for %j', async (body, param, message) => {
      const res = await request(s.app.url).post('/chat/complete').send(body).expect(400);
      const error = (res.body as ErrorJson).error;
      expect(error.type).toBe('invalid_request_error');
      expect(error.param).toBe(param);
      expect(error.message).toMatch(message);
      expect(s.fake.counters.requests).toBe(0);
    });

    it('400 for malformed JSON', async () => {
      const res = await request(s.app.url).post('/chat/complete').set('content-type', 'application/json').send('{"messages": [').expect(400);
      expect((res.body as ErrorJson).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    });

    it('413 for a body over BODY_LIMIT_BYTES', async () => {
      const body = { messages: [{ role: 'user', content: 'x'.repeat(5000) }] };
      const res = await request(s.app.url).post('/chat/complete').send(body).expect(413);
      expect((res.body as ErrorJson).error.message).toMatch(/BODY_LIMIT_BYTES/);
      expect(s.fake.counters.requests).toBe(0);
    });

    it('404 in the error shape for an unknown route', async () => {
      const res = await request(s.app.url).post('/chat/nope').send(hello).expect(404);
      expect((res.body as ErrorJson).error.message).toMatch(/Unknown route/);
    });

    it('upstream 500 → 502 upstream_error', async () => {
      s.fake.knobs.fault = { kind: 'status', status: 500 };
      const res = await request(s.app.url).post('/chat/complete').send(hello).expect(502);
      expect((res.body as ErrorJson).error.type).toBe('upstream_error');
    });

    it('upstream malformed JSON → 502', async () => {
      s.fake.knobs.fault = { kind: 'malformed' };
      const res = await request(s.app.url).post('/chat/complete').send(hello).expect(502);
      expect((res.body as ErrorJson).error.code).toBe('upstream_malformed_response');
    });

    it('an upstream answer past UPSTREAM_MAX_RESPONSE_BYTES (2048 here) → 502 upstream_response_too_large', async () => {
      const long = { messages: [{ role: 'user', content: 'y'.repeat(3000) }] }; // the fake echoes it back
      const res = await request(s.app.url).post('/chat/complete').send(long).expect(502);
      expect((res.body as ErrorJson).error).toMatchObject({ type: 'upstream_error', code: 'upstream_response_too_large' });
      expect((res.body as ErrorJson).error.message).toMatch(/UPSTREAM_MAX_RESPONSE_BYTES \(2048 bytes\)/);
    });

    it('upstream connection reset → 502', async () => {
      s.fake.knobs.fault = { kind: 'reset' };
      const res = await request(s.app.url).post('/chat/complete').send(hello).expect(502);
      expect((res.body as ErrorJson).error.type).toBe('upstream_error');
    });

    it('upstream 401 → 502 saying the key was rejected, never the key', async () => {
      s.fake.knobs.fault = { kind: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}` } } };
      const res = await request(s.app.url).post('/chat/complete').send(hello).expect(502);
      expect((res.body as ErrorJson).error.message).toMatch(/rejected the configured API key/);
      expect(res.text).not.toContain(KEY);
      expect(JSON.stringify(res.headers)).not.toContain(KEY);
    });

    it('upstream 404 unknown model → 400 with the upstream message', async () => {
      const res = await request(s.app.url).post('/chat/complete').send({ ...hello, model: 'unknown-model' }).expect(400);
      expect((res.body as ErrorJson).error).toMatchObject({
        type: 'invalid_request_error',
        code: 'model_not_found',
        message: expect.stringMatching(/unknown-model/),
      });
    });

    it('upstream 429 → 429 with its Retry-After and nothing else of its headers', async () => {
      s.fake.knobs.fault = { kind: 'status', status: 429, retryAfter: '7' };
      const res = await request(s.app.url).post('/chat/complete').send(hello).expect(429);
      expect(res.headers['retry-after']).toBe('7');
      expect((res.body as ErrorJson).error.type).toBe('rate_limit_error');
    });

    it('stalled upstream → 504 after UPSTREAM_TIMEOUT_MS, and the upstream request is abandoned', async () => {
      s.fake.knobs.fault = { kind: 'stall' };
      const started = Date.now();
      const res = await request(s.app.url).post('/chat/complete').send(hello).expect(504);
      const elapsed = Date.now() - started;
      expect((res.body as ErrorJson).error.type).toBe('timeout_error');
      expect(elapsed).toBeGreaterThanOrEqual(380);
      expect(elapsed).toBeLessThan(3000);
      await s.fake.waitFor(() => s.fake.counters.inFlight === 0);
    });

    it('a client that leaves aborts the upstream request at once', async () => {
      s.fake.knobs.fault = { kind: 'stall' };
      const controller = new AbortController();
      const pending = fetch(`${s.app.url}/chat/complete`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(hello),
        signal: controller.signal,
      }).catch(() => 'aborted');
      await s.fake.waitFor(() => s.fake.counters.inFlight === 1);
      controller.abort();
      await expect(pending).resolves.toBe('aborted');
      await s.fake.waitFor(() => s.fake.counters.inFlight === 0, 300);
    });
  });

  describe('POST /chat/stream', () => {
    it('streams one JSON event per token, then [DONE]', async () => {
      const res = await postSse(`${s.app.url}/chat/stream`, hello);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      expect(res.headers.get('server-timing')).toMatch(/ballast;dur=/);
      const messages = res.frames.filter((f) => f.event === 'message');
      expect(messages.map((f) => f.data)).toEqual(['{"content":"Echo: "}', '{"content":"hello "}', '{"content":"there"}', '[DONE]']);
      expect(s.fake.requests[0].body).toMatchObject({ stream: true, model: 'gpt-4o-mini' });
    });

    it('keeps a newline inside a token within its frame', async () => {
      s.fake.knobs.streamTokens = ['line one\n', 'data: not a frame\n\n', 'end'];
      const res = await postSse(`${s.app.url}/chat/stream`, hello);
      expect(contentOf(res.frames)).toBe('line one\ndata: not a frame\n\nend');
    });

    it('relays each event as it arrives, not buffered until the upstream finishes', async () => {
      s.fake.knobs.streamIntervalMs = 100;
      s.fake.knobs.streamTokens = ['a', 'b', 'c', 'd'];
      let completedAtFirstEvent = -1;
      const res = await postSse(`${s.app.url}/chat/stream`, hello, (frame) => {
        if (frame.event === 'message' && completedAtFirstEvent < 0) completedAtFirstEvent = s.fake.counters.streamsCompleted;
      });
      expect(completedAtFirstEvent).toBe(0);
      const events = res.frames.filter((f) => f.event === 'message' && f.data !== '[DONE]');
      expect(events.length).toBe(4);
      // Events are spread over time like the upstream's, not delivered in one burst.
      expect(events[3].at - events[0].at).toBeGreaterThan(200);
    });

    it('sends `: ping` during upstream silence and times out on the idle gap, not the total length', async () => {
      // 6 tokens 150 ms apart: ~900 ms in all, over the 400 ms timeout, but no gap reaches it.
      s.fake.knobs.streamIntervalMs = 150;
      s.fake.knobs.streamTokens = ['1', '2', '3', '4', '5', '6'];
      const res = await postSse(`${s.app.url}/chat/stream`, hello);
      expect(contentOf(res.frames)).toBe('123456');
      expect(res.frames.some((f) => f.event === 'comment' && f.data === 'ping')).toBe(true);
      expect(res.frames.at(-1)?.data).toBe('[DONE]');
    });

    it('ends with an error event when the upstream goes idle past the timeout', async () => {
      s.fake.knobs.streamIntervalMs = 700;
      s.fake.knobs.streamTokens = ['slow', 'er'];
      const res = await postSse(`${s.app.url}/chat/stream`, hello);
      const last = res.frames.filter((f) => f.event !== 'comment').at(-1)!;
      expect(last.event).toBe('error');
      expect((JSON.parse(last.data) as ErrorJson).error.type).toBe('timeout_error');
      await s.fake.waitFor(() => s.fake.counters.streamsAborted === 1, 1500);
    });

    it('ends with an error event when the upstream stream is cut mid-way', async () => {
      s.fake.knobs.fault = { kind: 'cut-stream', afterChunks: 2 };
      const res = await postSse(`${s.app.url}/chat/stream`, hello);
      const last = res.frames.at(-1)!;
      expect(last.event).toBe('error');
      expect((JSON.parse(last.data) as ErrorJson).error.type).toBe('upstream_error');
      expect(res.frames.some((f) => f.data === '[DONE]')).toBe(false);
    });

    it('ends cleanly when the upstream closes without [DONE]', async () => {
      s.fake.knobs.fault = { kind: 'no-done' };
      const res = await postSse(`${s.app.url}/chat/stream`, hello);
      expect(contentOf(res.frames)).toBe('Echo: hello there');
      expect(res.frames.at(-1)?.data).toBe('[DONE]');
    });

    it('answers a plain JSON error (not a stream) when the upstream refuses before streaming', async () => {
      s.fake.knobs.fault = { kind: 'status', status: 503 };
      const res = await postSse(`${s.app.url}/chat/stream`, hello);
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect((JSON.parse(res.text) as ErrorJson).error.type).toBe('upstream_error');
    });

    it('a client that disconnects mid-stream aborts the upstream stream within a second', async () => {
      s.fake.knobs.streamIntervalMs = 50;
      s.fake.knobs.streamTokens = Array.from({ length: 100 }, (_, i) => `t${i} `);
      const res = await postSse(`${s.app.url}/chat/stream`, hello, (frame) => (frame.event === 'message' ? 'stop' : undefined));
      expect(res.frames.length).toBeGreaterThanOrEqual(1);
      const started = Date.now();
      await s.fake.waitFor(() => s.fake.counters.streamsAborted === 1, 1000);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(s.fake.counters.streamsCompleted).toBe(0);
    });

    it('400 naming the field, before any stream opens', async () => {
      const res = await request(s.app.url).post('/chat/stream').send({ messages: [{ role: 'user' }] }).expect(400);
      expect((res.body as ErrorJson).error.param).toBe('messages[0].content');
    });
  });
});

describe('chat routes without OPENAI_API_KEY', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ OPENAI_API_KEY: '', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
  });
  afterAll(() => t.close());

  it.each(['/chat/complete', '/chat/stream'])('%s answers 503 not_configured_error', async (path) => {
    const res = await request(t.url).post(path).send(hello).expect(503);
    expect((res.body as ErrorJson).error).toMatchObject({
      type: 'not_configured_error',
      message: expect.stringMatching(/^OPENAI_API_KEY is not set/),
    });
    // No upstream was asked, so none of the time is upstream time.
    expect(res.headers['server-timing']).toMatch(/upstream;dur=0\.000$/);
  });

  it('still serves /health', async () => {
    await request(t.url).get('/health').expect(200);
  });
});

describe('chat routes with an unreachable upstream', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `http://127.0.0.1:${await closedPort()}/v1` });
  });
  afterAll(() => t.close());

  it('connection refused → 502 upstream_unreachable', async () => {
    const res = await request(t.url).post('/chat/complete').send(hello).expect(502);
    expect((res.body as ErrorJson).error).toMatchObject({ type: 'upstream_error', code: 'upstream_unreachable' });
  });
});
