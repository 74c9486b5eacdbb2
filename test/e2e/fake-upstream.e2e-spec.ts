import * as http from 'node:http';
import { FakeUpstream, fakeEmbedding, fakeReply } from '../support/fake-upstream.js';

type Json = Record<string, unknown>;

const chatBody = (extra: Json = {}): Json => ({
  model: 'fake-model',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hello world' },
  ],
  ...extra,
});

function post(up: FakeUpstream, path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${up.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

/** Splits an SSE body into its `data:` payloads, in order. */
function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice('data: '.length));
}

/** Reads a streamed body until it ends or errors; returns what arrived and the error, if any. */
async function readAll(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: null };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

describe('FakeUpstream', () => {
  let up: FakeUpstream;

  beforeAll(async () => {
    up = await FakeUpstream.start();
  });
  afterEach(() => up.reset());
  afterAll(async () => {
    await up.close();
  });

  it('exposes url and baseUrl on 127.0.0.1', () => {
    expect(up.port).toBeGreaterThan(0);
    expect(up.url).toBe(`http://127.0.0.1:${up.port}`);
    expect(up.baseUrl).toBe(`http://127.0.0.1:${up.port}/v1`);
  });

  it('failureRate: that share of requests fail at random with randomFault, counted', async () => {
    up.reset({ failureRate: 0.5, randomFault: { kind: 'status', status: 503 } });
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await post(up, '/chat/completions', chatBody());
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    const failed = statuses.filter((s) => s === 503).length;
    expect(failed).toBe(up.counters.randomFailures);
    expect(failed + statuses.filter((s) => s === 200).length).toBe(200);
    expect(failed).toBeGreaterThan(60);
    expect(failed).toBeLessThan(140);
    expect(up.counters.chat).toBe(200);
  });

  it('answers a plain chat completion and records the request', async () => {
    const res = await post(up, '/chat/completions', chatBody());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'fake-model',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Echo: hello world' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
    });
    expect(body.id).toMatch(/^chatcmpl-fake-\d+$/);
    expect(typeof body.created).toBe('number');

    expect(up.counters).toMatchObject({ requests: 1, chat: 1, inFlight: 0, maxInFlight: 1 });
    expect(up.requests).toHaveLength(1);
    expect(up.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: chatBody() });
    expect(up.requests[0].headers.authorization).toBe('Bearer sk-test');
  });

  it('defaults the model and echoes content parts', async () => {
    const res = await post(up, '/chat/completions', {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'from parts' }] }],
    });
    const body = (await res.json()) as { model: string; choices: Array<{ message: { content: string } }> };
    expect(body.model).toBe('fake-model');
    expect(body.choices[0].message.content).toBe('Echo: from parts');
    expect(fakeReply([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }])).toBe('Echo: a');
  });

  it('streams chunks in order, ending with [DONE]', async () => {
    const res = await post(up, '/chat/completions', chatBody({ stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const data = sseData(await res.text());
    expect(data[data.length - 1]).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Json);
    expect(chunks).toHaveLength(4); // 3 tokens + the finish chunk
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'fake-model')).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const choices = chunks.map((c) => (c.choices as Json[])[0]);
    expect(choices[0].delta).toEqual({ role: 'assistant', content: 'Echo: ' });
    expect(choices.slice(0, 3).map((c) => (c.delta as Json).content)).toEqual(['Echo: ', 'hello ', 'world']);
    expect(choices[3]).toEqual({ index: 0, delta: {}, finish_reason: 'stop' });
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    await up.waitFor(() => up.counters.streamsCompleted === 1);
    expect(up.counters).toMatchObject({ streamsStarted: 1, streamsAborted: 0, inFlight: 0 });
  });

  it('uses the streamTokens knob and sends usage when include_usage is set', async () => {
    up.knobs.streamTokens = ['a', 'b', 'c', 'd'];
    const res = await post(up, '/chat/completions', chatBody({ stream: true, stream_options: { include_usage: true } }));
    const data = sseData(await res.text());
    expect(data[data.length - 1]).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Json);
    expect(chunks).toHaveLength(6); // 4 tokens + finish + usage
    const contents = chunks.slice(0, 4).map((c) => ((c.choices as Json[])[0].delta as Json).content);
    expect(contents).toEqual(['a', 'b', 'c', 'd']);
    expect((chunks[4].choices as Json[])[0].finish_reason).toBe('stop');
    expect(chunks[5].choices).toEqual([]);
    expect(chunks[5].usage).toEqual({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
  });

  it('rejects invalid JSON, missing messages and unknown models like OpenAI', async () => {
    const bad = await post(up, '/chat/completions', '{"model":');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: Json }).error.type).toBe('invalid_request_error');

    const noMessages = await post(up, '/chat/completions', { model: 'fake-model', messages: [] });
    expect(noMessages.status).toBe(400);
    expect(await noMessages.json()).toEqual({
      error: { message: "'messages' is required", type: 'invalid_request_error', param: 'messages', code: null },
    });

    const unknown = await post(up, '/chat/completions', chatBody({ model: 'unknown-model' }));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: {
        message: 'The model `unknown-model` does not exist',
        type: 'invalid_request_error',
        param: null,
        code: 'model_not_found',
      },
    });
    expect(up.requests[0].body).toBe('{"model":');
  });

  it('returns deterministic embeddings in input order', async () => {
    const inputs = ['alpha', 'beta', 'gamma'];
    const res = await post(up, '/embeddings', { model: 'fake-embedding', input: inputs });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; model: string; data: Array<{ object: string; index: number; embedding: number[] }>; usage: Json };
    expect(body.object).toBe('list');
    expect(body.model).toBe('fake-embedding');
    expect(body.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(body.data.map((d) => d.index)).toEqual([0, 1, 2]);
    body.data.forEach((d, i) => {
      expect(d.object).toBe('embedding');
      expect(d.embedding).toEqual(fakeEmbedding(inputs[i], 8));
      expect(d.embedding).toHaveLength(8);
      for (const v of d.embedding) {
        expect(v).toBeGreaterThanOrEqual(-1);
        expect(v).toBeLessThanOrEqual(1);
        expect(Math.round(v * 1e6) / 1e6).toBe(v);
      }
    });
    expect(body.data[0].embedding).not.toEqual(body.data[1].embedding);

    // Same text, same vector, across requests; a single string input works too.
    const again = (await (await post(up, '/embeddings', { model: 'm', input: 'beta' })).json()) as { data: Array<{ embedding: number[] }> };
    expect(again.data[0].embedding).toEqual(body.data[1].embedding);
    expect(up.counters).toMatchObject({ embeddings: 2, embeddingInputs: 4 });
  });

  it('honours dimensions, the embeddingDims knob and base64 encoding', async () => {
    const withDims = (await (await post(up, '/embeddings', { model: 'm', input: ['x'], dimensions: 3 })).json()) as { data: Array<{ embedding: number[] }> };
    expect(withDims.data[0].embedding).toHaveLength(3);

    up.knobs.embeddingDims = 16;
    const b64 = (await (await post(up, '/embeddings', { model: 'm', input: ['x'], encoding_format: 'base64' })).json()) as { data: Array<{ embedding: string }> };
    const bytes = Buffer.from(b64.data[0].embedding, 'base64');
    expect(bytes.length).toBe(16 * 4);
    const expected = fakeEmbedding('x', 16);
    expected.forEach((v, i) => expect(bytes.readFloatLE(i * 4)).toBeCloseTo(v, 5));
  });

  it('lists models and 404s anything else', async () => {
    const models = await fetch(`${up.baseUrl}/models`);
    expect(await models.json()).toEqual({
      object: 'list',
      data: [
        { id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' },
        { id: 'fake-embedding', object: 'model', created: 0, owned_by: 'fake' },
      ],
    });
    const other = await fetch(`${up.url}/nope`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: Json }).error.message).toContain('/nope');
    expect(up.counters).toMatchObject({ requests: 2, models: 1 });
  });

  it('fault status: default body, custom body and Retry-After', async () => {
    up.knobs.fault = { kind: 'status', status: 503, retryAfter: '2' };
    const res = await post(up, '/chat/completions', chatBody());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual({ error: { message: 'fake upstream error 503', type: 'server_error', param: null, code: null } });

    up.knobs.fault = { kind: 'status', status: 429, body: { error: { message: 'slow down', type: 'rate_limit' } } };
    const limited = await fetch(`${up.baseUrl}/models`);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ error: { message: 'slow down', type: 'rate_limit' } });
  });

  it('fault reset: the socket is destroyed without an answer', async () => {
    up.knobs.fault = { kind: 'reset' };
    await expect(post(up, '/embeddings', { input: 'x' })).rejects.toThrow();
    await up.waitFor(() => up.counters.inFlight === 0);
  });

  it('fault stall: never answers until the client aborts', async () => {
    up.knobs.fault = { kind: 'stall' };
    const started = Date.now();
    await expect(post(up, '/chat/completions', chatBody(), { signal: AbortSignal.timeout(150) })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await up.waitFor(() => up.counters.inFlight === 0);
    expect(up.counters.chat).toBe(1);
  });

  it('fault malformed: 200 application/json with a broken body', async () => {
    up.knobs.fault = { kind: 'malformed' };
    const res = await post(up, '/chat/completions', chatBody());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe('not json{');
  });

  it('fault cut-stream: N chunks then the connection dies, no [DONE]', async () => {
    up.knobs.fault = { kind: 'cut-stream', afterChunks: 2 };
    const res = await post(up, '/chat/completions', chatBody({ stream: true }));
    expect(res.status).toBe(200);
    const { text, error } = await readAll(res);
    expect(error).toBeTruthy();
    const data = sseData(text);
    expect(data).toHaveLength(2);
    expect(data).not.toContain('[DONE]');
    expect(up.counters).toMatchObject({ streamsStarted: 1, streamsCompleted: 0, streamsAborted: 0 });

    // non-stream request: same as reset
    await expect(post(up, '/chat/completions', chatBody())).rejects.toThrow();
  });

  it('fault no-done: all chunks, then the response ends without [DONE]', async () => {
    up.knobs.fault = { kind: 'no-done' };
    const res = await post(up, '/chat/completions', chatBody({ stream: true }));
    const { text, error } = await readAll(res);
    expect(error).toBeNull();
    const data = sseData(text);
    expect(data).toHaveLength(4);
    expect(data).not.toContain('[DONE]');
    expect(((JSON.parse(data[3]) as { choices: Json[] }).choices[0]).finish_reason).toBe('stop');
  });

  it('faults queue is consumed first: 500 then 200, then the standing fault', async () => {
    up.knobs.faults = [{ kind: 'status', status: 500 }, { kind: 'status', status: 502 }];
    const first = await post(up, '/chat/completions', chatBody());
    expect(first.status).toBe(500);
    await first.arrayBuffer();
    const second = await post(up, '/chat/completions', chatBody());
    expect(second.status).toBe(502);
    await second.arrayBuffer();
    const third = await post(up, '/chat/completions', chatBody());
    expect(third.status).toBe(200);
    await third.arrayBuffer();
    expect(up.knobs.faults).toEqual([]);

    up.knobs.fault = { kind: 'status', status: 503 };
    up.knobs.faults = [{ kind: 'malformed' }];
    expect((await post(up, '/chat/completions', chatBody())).status).toBe(200); // malformed from the queue
    expect((await post(up, '/chat/completions', chatBody())).status).toBe(503);
  });

  it('counts a client abort mid-stream as streamsAborted', async () => {
    up.knobs.streamIntervalMs = 50;
    up.knobs.streamTokens = Array.from({ length: 40 }, (_, i) => `t${i} `);
    const controller = new AbortController();
    const res = await post(up, '/chat/completions', chatBody({ stream: true }), { signal: controller.signal });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect(new TextDecoder().decode(first.value)).toContain('"role":"assistant"');
    controller.abort();
    await expect(reader.read()).rejects.toThrow();
    await up.waitFor(() => up.counters.streamsAborted === 1);
    expect(up.counters).toMatchObject({ streamsStarted: 1, streamsCompleted: 0, inFlight: 0 });
  });

  it('applies latency and tracks inFlight / maxInFlight', async () => {
    up.knobs.latencyMs = 100;
    const started = Date.now();
    const pending = Array.from({ length: 5 }, () => fetch(`${up.baseUrl}/models`).then((r) => r.json()));
    await up.waitFor(() => up.counters.inFlight === 5);
    await Promise.all(pending);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(up.counters).toMatchObject({ inFlight: 0, maxInFlight: 5, models: 5 });
  });

  it('keeps connections alive between requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (): Promise<{ socket: unknown; connection: string | undefined }> =>
      new Promise((resolve, reject) => {
        const req = http.get(`${up.baseUrl}/models`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ socket: req.socket, connection: res.headers.connection }));
        });
        req.on('error', reject);
      });
    try {
      const a = await get();
      const b = await get();
      expect(a.connection).toBe('keep-alive');
      expect(b.socket).toBe(a.socket);
    } finally {
      agent.destroy();
    }
  });

  it('reset() restores defaults and clears requests and counters in place', async () => {
    const counters = up.counters;
    const knobs = up.knobs;
    await (await fetch(`${up.baseUrl}/models`)).arrayBuffer();
    Object.assign(up.knobs, { latencyMs: 5, streamIntervalMs: 5, streamTokens: ['x'], embeddingDims: 3 });
    up.knobs.fault = { kind: 'stall' };
    up.knobs.faults = [{ kind: 'reset' }];
    up.reset();
    expect(up.counters).toBe(counters);
    expect(up.knobs).toBe(knobs);
    expect(up.requests).toEqual([]);
    expect(up.counters).toEqual({
      requests: 0, chat: 0, embeddings: 0, models: 0, streamsStarted: 0, streamsCompleted: 0,
      streamsAborted: 0, inFlight: 0, maxInFlight: 0, embeddingInputs: 0, randomFailures: 0,
    });
    expect(up.knobs).toEqual({
      latencyMs: 0, streamIntervalMs: 0, streamTokens: null, fault: null, faults: [], embeddingDims: 8, recordRequests: true,
      failureRate: 0, randomFault: { kind: 'status', status: 500 }, failureSeed: null, embeddingBase64: 'honour', embeddingShared: false,
    });
  });

  it('waitFor rejects on timeout', async () => {
    await expect(up.waitFor(() => false, 50)).rejects.toThrow(/timed out/);
  });

  it('close() does not hang with a stalled request and an open stream', async () => {
    const other = await FakeUpstream.start({ fault: { kind: 'stall' } });
    const stalled = post(other, '/chat/completions', chatBody()).then(
      () => 'answered',
      () => 'failed',
    );
    await other.waitFor(() => other.counters.chat === 1);
    other.knobs.fault = null;
    other.knobs.streamIntervalMs = 1000;
    const streaming = await post(other, '/chat/completions', chatBody({ stream: true }));
    const streamed = readAll(streaming);
    await other.waitFor(() => other.counters.streamsStarted === 1);

    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(500);
    expect(await stalled).toBe('failed');
    expect((await streamed).error).toBeTruthy();
    await other.close(); // idempotent
    await expect(fetch(`${other.baseUrl}/models`)).rejects.toThrow();
  });
});
