import request from 'supertest';
import { FakeUpstream, fakeEmbedding } from '../support/fake-upstream.js';
import { FAKE_UPSTREAM_KEY as KEY, TestApp, useFakeUpstream } from '../support/test-app.js';
import { until } from '../support/until.js';

const DIMS = 8;

const texts = (n: number, prefix = 'text'): string[] => Array.from({ length: n }, (_, i) => `${prefix} number ${i}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface EmbeddingsJson {
  embeddings: number[][];
  model: string;
  usage?: { prompt_tokens: number; total_tokens: number };
}

function inputsSent(fake: FakeUpstream): string[][] {
  return fake.requests.filter((r) => r.path === '/v1/embeddings').map((r) => (r.body as { input: string[] }).input);
}

describe('POST /embeddings', () => {
  const suite = useFakeUpstream({ upstream: { embeddingDims: DIMS } });
  let fake: FakeUpstream;
  const apps: TestApp[] = [];
  const app = async (env: Record<string, string> = {}): Promise<TestApp> => {
    const t = await suite.startApp({
      UPSTREAM_TIMEOUT_MS: '2000',
      // This suite checks how each failure maps; retries and breakers have their own suite (resilience).
      UPSTREAM_MAX_RETRIES: '0',
      BREAKER_WINDOW: '10000',
      BREAKER_MIN_CALLS: '10000',
      EMBEDDINGS_COALESCE_MS: '0',
      ...env,
    });
    apps.push(t);
    return t;
  };

  beforeAll(() => {
    fake = suite.fake;
  });

  describe('batching, order, dedupe and cache (batch size 256)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await app({ EMBEDDINGS_BATCH_SIZE: '256' });
    });

    it('embeds 1,000 texts with ⌈1000/256⌉ = 4 upstream requests carrying every input once, in input order', async () => {
      const input = texts(1000, 'order');
      const res = await request(t.url).post('/embeddings').send({ texts: input }).expect(200);
      const body = res.body as EmbeddingsJson;

      expect(fake.counters.embeddings).toBe(4);
      const sent = inputsSent(fake);
      expect(sent.map((batch) => batch.length).sort((a, b) => a - b)).toEqual([232, 256, 256, 256]);
      expect(sent.flat().sort()).toEqual([...input].sort());
      expect(body.model).toBe('text-embedding-3-small');
      expect(body.embeddings).toHaveLength(1000);
      input.forEach((text, i) => expect(body.embeddings[i]).toEqual(fakeEmbedding(text, DIMS)));
      // The fake counts one token per word: 3 per text.
      expect(body.usage).toEqual({ prompt_tokens: 3000, total_tokens: 3000 });
      expect(fake.requests[0].headers.authorization).toBe(`Bearer ${KEY}`);
      expect(fake.requests[0].body).toEqual(expect.objectContaining({ model: 'text-embedding-3-small' }));
    });

    it('sends each distinct text once and answers every position', async () => {
      const input = ['dup alpha', 'dup beta', 'dup alpha', 'dup gamma', 'dup beta', 'dup alpha'];
      const res = await request(t.url).post('/embeddings').send({ texts: input }).expect(200);
      expect(fake.counters.embeddings).toBe(1);
      expect(inputsSent(fake)).toEqual([['dup alpha', 'dup beta', 'dup gamma']]);
      expect((res.body as EmbeddingsJson).embeddings).toEqual(input.map((text) => fakeEmbedding(text, DIMS)));
      expect((res.body as EmbeddingsJson).usage?.prompt_tokens).toBe(12);
    });

    it('answers a repeated call from the cache without any upstream request, with the same usage', async () => {
      const input = texts(300, 'cached');
      const first = await request(t.url).post('/embeddings').send({ texts: input }).expect(200);
      expect(fake.counters.embeddings).toBe(2);
      fake.reset({ embeddingDims: DIMS });

      const second = await request(t.url).post('/embeddings').send({ texts: input }).expect(200);
      expect(fake.counters.requests).toBe(0);
      expect(second.body).toEqual(first.body);
    });

    it('sends only the texts the cache does not hold', async () => {
      await request(t.url).post('/embeddings').send({ texts: ['partly a', 'partly b'] }).expect(200);
      fake.reset({ embeddingDims: DIMS });
      const res = await request(t.url).post('/embeddings').send({ texts: ['partly b', 'partly c', 'partly a'] }).expect(200);
      expect(inputsSent(fake)).toEqual([['partly c']]);
      expect((res.body as EmbeddingsJson).embeddings[1]).toEqual(fakeEmbedding('partly c', DIMS));
    });

    it('keys the cache by model and passes the model on', async () => {
      await request(t.url).post('/embeddings').send({ texts: ['model keyed'] }).expect(200);
      const res = await request(t.url).post('/embeddings').send({ texts: ['model keyed'], model: 'other-model' }).expect(200);
      expect(fake.counters.embeddings).toBe(2);
      expect(fake.requests[1].body).toEqual({ model: 'other-model', input: ['model keyed'] });
      expect((res.body as EmbeddingsJson).model).toBe('other-model');
    });

    it('shares a text already in flight with a concurrent call instead of sending it twice', async () => {
      fake.reset({ embeddingDims: DIMS, latencyMs: 150 });
      const a = request(t.url).post('/embeddings').send({ texts: ['shared in flight', 'only a'] });
      const first = a.then((r) => r);
      await fake.waitFor(() => fake.counters.embeddings === 1);
      const b = await request(t.url).post('/embeddings').send({ texts: ['only b', 'shared in flight'] }).expect(200);
      expect((await first).status).toBe(200);
      expect(inputsSent(fake)).toEqual([['shared in flight', 'only a'], ['only b']]);
      expect((b.body as EmbeddingsJson).embeddings).toEqual([fakeEmbedding('only b', DIMS), fakeEmbedding('shared in flight', DIMS)]);
    });

    it('maps an unknown upstream model to 400 with the upstream code', async () => {
      const res = await request(t.url).post('/embeddings').send({ texts: ['x'], model: 'unknown-model' }).expect(400);
      expect(res.body.error).toEqual(expect.objectContaining({ type: 'invalid_request_error', code: 'model_not_found' }));
    });
  });

  describe('bad input → 400 naming what is wrong', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await app({ EMBEDDINGS_MAX_INPUTS: '5', EMBEDDINGS_MAX_TEXT_CHARS: '20' });
    });

    it.each([
      ['an empty list', { texts: [] }, 'texts', /at least 1 text/],
      ['more than EMBEDDINGS_MAX_INPUTS texts', { texts: texts(6, 't') }, 'texts', /6 items; at most 5.*EMBEDDINGS_MAX_INPUTS/],
      ['a non-string text', { texts: ['ok', 'fine', 42] }, 'texts[2]', /texts\[2\] must be a string \(got number\)/],
      ['a null text', { texts: [null] }, 'texts[0]', /texts\[0\] must be a string \(got null\)/],
      ['an empty text', { texts: ['ok', ''] }, 'texts[1]', /texts\[1\] must not be empty/],
      ['a text over EMBEDDINGS_MAX_TEXT_CHARS', { texts: ['ok', 'x'.repeat(21)] }, 'texts[1]', /texts\[1\] is 21 characters long; the limit is 20/],
      ['no texts', { model: 'm' }, 'texts', /texts is required/],
      ['texts not an array', { texts: 'hello' }, 'texts', /texts must be an array/],
      ['an empty model', { texts: ['a'], model: '' }, 'model', /model/],
    ])('%s', async (_name, body, param, message) => {
      const res = await request(t.url).post('/embeddings').send(body).expect(400);
      expect(res.body.error).toEqual(expect.objectContaining({ type: 'invalid_request_error', param }));
      expect(res.body.error.message).toMatch(message);
      expect(fake.counters.requests).toBe(0);
    });
  });

  describe('bounded concurrency', () => {
    it(`never has more than EMBEDDINGS_CONCURRENCY requests in flight, for one call or several`, async () => {
      const t = await app({ EMBEDDINGS_BATCH_SIZE: '10', EMBEDDINGS_CONCURRENCY: '3' });
      fake.reset({ embeddingDims: DIMS, latencyMs: 30 });
      const calls = [0, 1, 2].map((c) => request(t.url).post('/embeddings').send({ texts: texts(100, `conc${c}`) }));
      const results = await Promise.all(calls);
      for (const res of results) expect(res.status).toBe(200);
      expect(fake.counters.embeddings).toBe(30);
      expect(fake.counters.embeddingInputs).toBe(300);
      expect(fake.counters.maxInFlight).toBe(3);
    });
  });

  describe('coalescing (EMBEDDINGS_COALESCE_MS)', () => {
    it('a call that finds nothing in flight goes at once; calls behind a batch in flight share one; each caller gets exactly its own vectors', async () => {
      const t = await app({ EMBEDDINGS_COALESCE_MS: '400', EMBEDDINGS_CACHE_SIZE: '0' });
      fake.reset({ embeddingDims: DIMS, latencyMs: 600 });
      const started = Date.now();
      const first = request(t.url).post('/embeddings').send({ texts: ['coalesce first'] });
      first.then(() => undefined, () => undefined);
      await until('the first call went upstream', () => fake.counters.embeddings === 1, 2_000);
      // Nothing was in flight: it did not wait for the 400 ms window.
      expect(Date.now() - started).toBeLessThan(300);
      const a = ['coalesce a1', 'coalesce a2', 'coalesce shared'];
      const b = ['coalesce shared', 'coalesce b1'];
      const [ra, rb, rf] = await Promise.all([
        request(t.url).post('/embeddings').send({ texts: a }),
        request(t.url).post('/embeddings').send({ texts: b }),
        first,
      ]);
      expect(fake.counters.embeddings).toBe(2);
      expect(inputsSent(fake)[1].sort()).toEqual(['coalesce a1', 'coalesce a2', 'coalesce b1', 'coalesce shared']);
      expect((ra.body as EmbeddingsJson).embeddings).toEqual(a.map((x) => fakeEmbedding(x, DIMS)));
      expect((rb.body as EmbeddingsJson).embeddings).toEqual(b.map((x) => fakeEmbedding(x, DIMS)));
      expect((rf.body as EmbeddingsJson).embeddings).toEqual([fakeEmbedding('coalesce first', DIMS)]);
    });

    it('with EMBEDDINGS_COALESCE_WHEN_IDLE=true, a lone call waits out the window and shares it with a call arriving during it', async () => {
      const t = await app({ EMBEDDINGS_COALESCE_MS: '400', EMBEDDINGS_COALESCE_WHEN_IDLE: 'true', EMBEDDINGS_CACHE_SIZE: '0' });
      const started = Date.now();
      const first = request(t.url).post('/embeddings').send({ texts: ['idle first'] });
      first.then(() => undefined, () => undefined);
      await sleep(100);
      expect(fake.counters.embeddings).toBe(0);
      const [rf, rs] = await Promise.all([first, request(t.url).post('/embeddings').send({ texts: ['idle second'] })]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(390);
      expect(fake.counters.embeddings).toBe(1);
      expect(inputsSent(fake)[0].sort()).toEqual(['idle first', 'idle second']);
      expect((rf.body as EmbeddingsJson).embeddings).toEqual([fakeEmbedding('idle first', DIMS)]);
      expect((rs.body as EmbeddingsJson).embeddings).toEqual([fakeEmbedding('idle second', DIMS)]);
    });

    it('sends a full batch at once without waiting for the window', async () => {
      const t = await app({ EMBEDDINGS_COALESCE_MS: '1000', EMBEDDINGS_BATCH_SIZE: '4', EMBEDDINGS_CACHE_SIZE: '0' });
      const started = Date.now();
      await request(t.url).post('/embeddings').send({ texts: texts(8, 'full') }).expect(200);
      expect(Date.now() - started).toBeLessThan(900);
      expect(fake.counters.embeddings).toBe(2);
    });

    it('with the cache off, a repeated call goes upstream again', async () => {
      const t = await app({ EMBEDDINGS_CACHE_SIZE: '0' });
      await request(t.url).post('/embeddings').send({ texts: ['no cache'] }).expect(200);
      await request(t.url).post('/embeddings').send({ texts: ['no cache'] }).expect(200);
      expect(fake.counters.embeddings).toBe(2);
    });
  });

  describe('failures', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await app({ EMBEDDINGS_BATCH_SIZE: '10', EMBEDDINGS_CONCURRENCY: '1', EMBEDDINGS_CACHE_SIZE: '0', UPSTREAM_TIMEOUT_MS: '300' });
    });

    it('an upstream 500 in the third batch fails the whole call with 502, and the rest is not sent', async () => {
      fake.reset({ embeddingDims: DIMS, faults: [{ kind: 'none' }, { kind: 'none' }, { kind: 'status', status: 500 }] });
      const res = await request(t.url).post('/embeddings').send({ texts: texts(50, 'fail') }).expect(502);
      expect(res.body.error).toEqual(expect.objectContaining({ type: 'upstream_error' }));
      expect(res.body).not.toHaveProperty('embeddings');
      await sleep(50);
      expect(fake.counters.embeddings).toBe(3);
    });

    it.each([
      ['reset', 502, { kind: 'reset' as const }],
      ['malformed JSON', 502, { kind: 'malformed' as const }],
      ['stall', 504, { kind: 'stall' as const }],
      ['429', 429, { kind: 'status' as const, status: 429, retryAfter: '7' }],
    ])('upstream %s → %i', async (_name, status, fault) => {
      fake.reset({ embeddingDims: DIMS, fault });
      const res = await request(t.url).post('/embeddings').send({ texts: ['a fault'] }).expect(status);
      if (status === 429) expect(res.headers['retry-after']).toBe('7');
    });

    it('a wrong number of vectors from the upstream → 502, not a misaligned answer', async () => {
      fake.reset({ embeddingDims: DIMS, fault: { kind: 'status', status: 200, body: { data: [{ index: 0, embedding: [1, 2] }] } } });
      const res = await request(t.url).post('/embeddings').send({ texts: ['one', 'two'] }).expect(502);
      expect(res.body.error.message).toMatch(/1 items for 2 inputs/);
    });

    it('a client that disconnects takes its not-yet-sent batches out of the queue', async () => {
      fake.reset({ embeddingDims: DIMS, latencyMs: 200 });
      const controller = new AbortController();
      const call = fetch(`${t.url}/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts: texts(50, 'gone') }),
        signal: controller.signal,
      }).catch((error: Error) => error);
      await fake.waitFor(() => fake.counters.embeddings === 1);
      controller.abort();
      await call;
      await sleep(400);
      // 5 batches were due; only the one already sent reached the upstream (and was aborted).
      expect(fake.counters.embeddings).toBe(1);
      expect(fake.counters.inFlight).toBe(0);

      // The server is fine and the queue is empty: the next call is answered at once.
      fake.reset({ embeddingDims: DIMS });
      await request(t.url).post('/embeddings').send({ texts: ['after'] }).expect(200);
      expect(inputsSent(fake)).toEqual([['after']]);
    });
  });

  it('without OPENAI_API_KEY → 503 not_configured_error', async () => {
    const t = await app({ OPENAI_API_KEY: '' });
    const res = await request(t.url).post('/embeddings').send({ texts: ['a'] }).expect(503);
    expect(res.body.error.type).toBe('not_configured_error');
    expect(fake.counters.requests).toBe(0);
  });

  it('is listed in /docs-json', async () => {
    const t = apps[0];
    const res = await request(t.url).get('/docs-json').expect(200);
    expect(Object.keys(res.body.paths)).toContain('/embeddings');
  });
});
