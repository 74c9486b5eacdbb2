import OpenAI, { APIError } from 'openai';
import request from 'supertest';
import { fakeEmbedding, fakeReply } from '../support/fake-upstream.js';
import { FAKE_UPSTREAM_KEY as UPSTREAM_KEY, useAppWithFakeUpstream } from '../support/test-app.js';

const CALLER_KEY = 'bk-caller-key-abc';
const OTHER_CALLER_KEY = 'bk-second-key-xyz';
const DIMS = 8;

describe('OpenAI-compatible /v1 with the official openai SDK', () => {
  const s = useAppWithFakeUpstream(
    {
      API_KEYS: `${CALLER_KEY}, ${OTHER_CALLER_KEY}`,
      UPSTREAM_TIMEOUT_MS: '2000',
      // This suite checks how each failure maps; retries and breakers have their own suite (resilience).
      UPSTREAM_MAX_RETRIES: '0',
      BREAKER_WINDOW: '10000',
      BREAKER_MIN_CALLS: '10000',
      EMBEDDINGS_COALESCE_MS: '0',
      LOCAL_MODEL: 'no-such-model',
      LOCAL_MODEL_FALLBACK: 'test/fixtures/models/tiny-sentiment',
    },
    { upstream: { embeddingDims: DIMS } },
  );
  let client: OpenAI;
  beforeAll(() => {
    client = new OpenAI({ baseURL: `${s.app.url}/v1`, apiKey: CALLER_KEY, maxRetries: 0, timeout: 5000 });
  });

  describe('chat.completions.create', () => {
    const messages = [{ role: 'user' as const, content: 'hello from the sdk' }];

    it('plain: a chat.completion from the upstream, our key upstream, never the caller\'s', async () => {
      const completion = await client.chat.completions.create({ model: 'fake-model', messages });
      expect(completion.object).toBe('chat.completion');
      expect(completion.choices[0].message.content).toBe(fakeReply(messages));
      expect(completion.usage?.total_tokens).toBeGreaterThan(0);
      const seen = s.fake.requests[0];
      expect(seen.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(JSON.stringify(seen.headers)).not.toContain(CALLER_KEY);
    });

    it("plain: the upstream's answer comes back byte for byte (numbers, escapes, key order, unknown fields)", async () => {
      // What a parse and re-serialisation would rewrite: 1.0 → 1, \u00e9 → é, the spacing.
      const raw =
        '{"id":"chatcmpl-raw","object":"chat.completion","created":1.0,"model":"fake-model", "vendor_extra":{"z":1,"a":[]},' +
        '"choices":[{"index":0,"message":{"role":"assistant","content":"caf\\u00e9 \\ud83d\\ude00"},"finish_reason":"stop"}],' +
        '"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}';
      s.fake.reset({ fault: { kind: 'raw', body: raw } });
      const res = await request(s.app.url)
        .post('/v1/chat/completions')
        .set('authorization', `Bearer ${CALLER_KEY}`)
        .send({ model: 'fake-model', messages })
        .buffer(true)
        .parse((response, done) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => done(null, text));
        })
        .expect(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.body).toBe(raw);
      const completion = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'x' }] });
      expect(completion.choices[0].message.content).toBe('café 😀');
    });

    it('plain: an upstream answer that is JSON but not an object is a 502, not relayed', async () => {
      s.fake.reset({ fault: { kind: 'raw', body: '[1,2]' } });
      const res = await request(s.app.url).post('/v1/chat/completions').set('authorization', `Bearer ${CALLER_KEY}`).send({ messages }).expect(502);
      expect(res.body.error).toEqual(expect.objectContaining({ type: 'upstream_error' }));
      expect(res.body.error.message).toContain('not a JSON object');
    });

    it('passes fields ballast does not know through to the upstream, and fills in the default model', async () => {
      // No model (ballast fills in CHAT_MODEL) and a vendor field the SDK does not type.
      const params = { messages, seed: 7, response_format: { type: 'text' }, top_k: 40 };
      await client.chat.completions.create(params as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming);
      expect(s.fake.requests[0].body).toEqual({ messages, seed: 7, response_format: { type: 'text' }, top_k: 40, model: 'gpt-4o-mini' });
    });

    it('streamed: chunks as they arrive, joined to the full reply, with usage when asked', async () => {
      const stream = await client.chat.completions.create({
        model: 'fake-model',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let chunks = 0;
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        expect(chunk.object).toBe('chat.completion.chunk');
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe(fakeReply(messages));
      expect(chunks).toBeGreaterThan(2);
      expect(usage?.total_tokens).toBeGreaterThan(0);
      expect((s.fake.requests[0].body as { stream_options: unknown }).stream_options).toEqual({ include_usage: true });
    });

    it('streamed: breaking out of the loop (client disconnect) aborts the upstream stream', async () => {
      s.fake.reset({ streamIntervalMs: 50, streamTokens: Array.from({ length: 40 }, (_, i) => `t${i} `) });
      const stream = await client.chat.completions.create({ model: 'fake-model', messages, stream: true });
      let seen = 0;
      for await (const _chunk of stream) {
        if (++seen === 2) break;
      }
      await s.fake.waitFor(() => s.fake.counters.streamsAborted === 1, 1000);
      expect(s.fake.counters.streamsCompleted).toBe(0);
    });

    it('400 → BadRequestError with the upstream message (unknown model)', async () => {
      const error = await client.chat.completions.create({ model: 'unknown-model', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).code).toBe('model_not_found');
    });

    it('400 → BadRequestError for a body ballast cannot relay, naming the field', async () => {
      const error = await client.chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).param).toBe('messages');
      expect(s.fake.counters.requests).toBe(0);
    });

    it('upstream 429 → RateLimitError with Retry-After', async () => {
      s.fake.reset({ fault: { kind: 'status', status: 429, retryAfter: '3' } });
      const error = await client.chat.completions.create({ model: 'm', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect((error as APIError).headers?.get('retry-after')).toBe('3');
    });

    it('upstream 500 → APIError with status 502 (InternalServerError)', async () => {
      s.fake.reset({ fault: { kind: 'status', status: 500 } });
      const error = await client.chat.completions.create({ model: 'm', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect((error as APIError).status).toBe(502);
    });

    it('a stream cut mid-way → the SDK raises an APIError from the error event', async () => {
      s.fake.reset({ fault: { kind: 'cut-stream', afterChunks: 2 } });
      const stream = await client.chat.completions.create({ model: 'm', messages, stream: true });
      const error = await (async () => {
        for await (const _chunk of stream) {
          /* read on */
        }
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
    });
  });

  describe('embeddings.create', () => {
    it('one input (the SDK asks for base64 by default and decodes it)', async () => {
      const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'one text' });
      expect(res.object).toBe('list');
      expect(res.data).toHaveLength(1);
      const expected = fakeEmbedding('one text', DIMS);
      res.data[0].embedding.forEach((value, i) => expect(value).toBeCloseTo(expected[i], 5));
      expect(res.usage.prompt_tokens).toBe(2);
    });

    it('300 inputs, as floats, in order, in 5 upstream requests of ≤ 64 (EMBEDDINGS_BATCH_SIZE)', async () => {
      const input = Array.from({ length: 300 }, (_, i) => `sdk text ${i}`);
      const res = await client.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' });
      expect(res.data).toHaveLength(300);
      res.data.forEach((item, i) => {
        expect(item.index).toBe(i);
        expect(item.embedding).toEqual(fakeEmbedding(input[i], DIMS));
      });
      expect(s.fake.counters.embeddings).toBe(5);
      expect(s.fake.counters.embeddingInputs).toBe(300);
    });

    it('passes dimensions through (and caches per dimensions)', async () => {
      const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['dims'], dimensions: 4, encoding_format: 'float' });
      expect(res.data[0].embedding).toEqual(fakeEmbedding('dims', 4));
      expect(s.fake.requests[0].body).toEqual({ model: 'text-embedding-3-small', input: ['dims'], dimensions: 4 });
    });

    it('bad input → BadRequestError naming input[i]', async () => {
      const error = await client.embeddings.create({ model: 'm', input: ['ok', ''] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).param).toBe('input[1]');
    });
  });

  it('models.list: the upstream models plus the local classifier model', async () => {
    while ((await request(s.app.url).get('/ready')).status !== 200) await new Promise((r) => setTimeout(r, 50));
    s.fake.reset({ embeddingDims: DIMS });
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['fake-model', 'fake-embedding', 'tiny-sentiment']));
    expect(s.fake.requests[0].headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  describe('API keys', () => {
    it('no key → 401 AuthenticationError; the upstream sees nothing', async () => {
      const res = await request(s.app.url).post('/v1/chat/completions').send({ messages: [{ role: 'user', content: 'x' }] }).expect(401);
      expect(res.body.error).toEqual(expect.objectContaining({ type: 'authentication_error', code: 'invalid_api_key' }));
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(s.fake.counters.requests).toBe(0);
    });

    it('a wrong key → 401 without naming any key (SDK: AuthenticationError)', async () => {
      const wrong = new OpenAI({ baseURL: `${s.app.url}/v1`, apiKey: 'bk-caller-key-abd', maxRetries: 0 });
      const error = await wrong.models.list().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      const text = JSON.stringify((error as APIError).error);
      expect(text).not.toContain(CALLER_KEY);
      expect(text).not.toContain(OTHER_CALLER_KEY);
      expect(s.fake.counters.requests).toBe(0);
    });

    it('every key in API_KEYS works, on the plain routes too', async () => {
      await request(s.app.url).post('/embeddings').set('authorization', `Bearer ${OTHER_CALLER_KEY}`).send({ texts: ['k'] }).expect(200);
      await request(s.app.url).post('/classify').set('authorization', `bearer ${CALLER_KEY}`).send({ text: 'great' }).expect(200);
      await request(s.app.url).post('/classify').send({ text: 'great' }).expect(401);
    });

    it('health, readiness and the docs need no key', async () => {
      await request(s.app.url).get('/health').expect(200);
      expect([200, 503]).toContain((await request(s.app.url).get('/ready')).status);
      await request(s.app.url).get('/docs-json').expect(200);
    });

    it('Swagger documents the /v1 routes and the bearer scheme', async () => {
      const doc = (await request(s.app.url).get('/docs-json').expect(200)).body;
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/embeddings', '/v1/models']));
      expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
      expect(doc.paths['/v1/models'].get.security).toEqual([{ bearer: [] }]);
    });
  });
});

describe('per-key rate limit (RATE_LIMIT_RPM=3)', () => {
  const s = useAppWithFakeUpstream({ API_KEYS: `${CALLER_KEY},${OTHER_CALLER_KEY}`, RATE_LIMIT_RPM: '3' }, { resetBeforeEach: false });

  it('the 4th request in a minute gets 429 with Retry-After and x-ratelimit headers; other keys and /health are unaffected', async () => {
    const call = (key: string) => request(s.app.url).get('/v1/models').set('authorization', `Bearer ${key}`);
    for (let i = 0; i < 3; i++) {
      const ok = await call(CALLER_KEY).expect(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('3');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const limited = await call(CALLER_KEY).expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.body.error).toEqual(expect.objectContaining({ type: 'rate_limit_error' }));
    expect(limited.body.error.message).toMatch(/3 requests per minute/);

    const sdk = new OpenAI({ baseURL: `${s.app.url}/v1`, apiKey: CALLER_KEY, maxRetries: 0 });
    expect(await sdk.models.list().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.RateLimitError);

    await call(OTHER_CALLER_KEY).expect(200);
    for (let i = 0; i < 5; i++) await request(s.app.url).get('/health').expect(200);
  });
});
