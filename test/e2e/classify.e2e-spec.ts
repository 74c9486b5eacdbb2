import request from 'supertest';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ClassifierPool } from '../../src/local-model/classifier.pool.js';
import { ClassifierService } from '../../src/local-model/classifier.service.js';
import { startTestApp, TestApp } from '../support/test-app.js';
import { threadNiceness } from '../support/thread-niceness.js';

const FIXTURES = resolve(import.meta.dirname, '..', 'fixtures', 'models');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tiny fixture model, nothing remote, no fallback, one worker. */
const tinyModel = (env: Record<string, string> = {}) => ({
  LOCAL_MODEL: 'tiny-sentiment',
  LOCAL_MODEL_PATH: FIXTURES,
  ALLOW_REMOTE_MODELS: 'false',
  LOCAL_MODEL_FALLBACK: '',
  CLASSIFIER_THREADS: '1',
  ...env,
});

async function untilReady(t: TestApp, timeoutMs = 20_000): Promise<request.Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(t.url).get('/ready');
    if (res.status === 200 || res.body?.details?.model?.state === 'unavailable' || Date.now() > deadline) return res;
    await sleep(50);
  }
}

describe('POST /classify with the fixture model', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(tinyModel({ CLASSIFIER_MAX_INPUTS: '8', CLASSIFIER_MAX_TEXT_CHARS: '200' }));
    expect((await untilReady(t)).status).toBe(200);
  });
  afterAll(() => t.close());

  it('labels a clearly positive text POSITIVE and names the model', async () => {
    const res = await request(t.url).post('/classify').send({ text: 'I love this, it is wonderful and great' }).expect(200);
    expect(res.body).toEqual({ label: 'POSITIVE', score: expect.any(Number), model: 'tiny-sentiment' });
    expect(res.body.score).toBeGreaterThan(0.9);
  });

  it('labels a clearly negative text NEGATIVE', async () => {
    const res = await request(t.url).post('/classify').send({ text: 'This is terrible, awful, the worst. I hate it.' }).expect(200);
    expect(res.body.label).toBe('NEGATIVE');
    expect(res.body.score).toBeGreaterThan(0.9);
  });

  it('answers a batch in input order', async () => {
    const texts = ['great, excellent work', 'horrible and bad', 'happy and wonderful', 'awful'];
    const res = await request(t.url).post('/classify').send({ texts }).expect(200);
    expect(res.body.model).toBe('tiny-sentiment');
    expect(res.body.results.map((r: { label: string }) => r.label)).toEqual(['POSITIVE', 'NEGATIVE', 'POSITIVE', 'NEGATIVE']);
  });

  it('groups concurrent requests into micro-batches; each caller gets its own answer', async () => {
    const service = t.app.get(ClassifierService);
    const before = service.stats.batches;
    const texts = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? `great day number ${i}` : `awful day number ${i}`));
    const answers = await Promise.all(texts.map((text) => request(t.url).post('/classify').send({ text })));
    answers.forEach((res, i) => {
      expect(res.status).toBe(200);
      expect(res.body.label).toBe(i % 2 === 0 ? 'POSITIVE' : 'NEGATIVE');
    });
    expect(service.stats.batches - before).toBeLessThan(24);
  });

  it.each([
    ['text and texts together', { text: 'a', texts: ['b'] }, 'text', /either `text`.*or `texts`/],
    ['neither', {}, 'text', /either `text`/],
    ['an empty text', { text: '' }, 'text', /text must not be empty/],
    ['a number as text', { text: 5 }, 'text', /text must be a string \(got number\)/],
    ['a text over CLASSIFIER_MAX_TEXT_CHARS', { text: 'x'.repeat(201) }, 'text', /201 characters long; the limit is 200 \(CLASSIFIER_MAX_TEXT_CHARS\)/],
    ['an empty list', { texts: [] }, 'texts', /at least 1 text/],
    ['more than CLASSIFIER_MAX_INPUTS texts', { texts: Array(9).fill('ok') }, 'texts', /9 items; at most 8 .*CLASSIFIER_MAX_INPUTS/],
    ['a non-string in texts', { texts: ['ok', 'fine', null] }, 'texts[2]', /texts\[2\] must be a string \(got null\)/],
    ['texts not an array', { texts: 'nope' }, 'texts', /texts must be an array/],
  ])('%s → 400', async (_name, body, param, message) => {
    const res = await request(t.url).post('/classify').send(body).expect(400);
    expect(res.body.error).toEqual(expect.objectContaining({ type: 'invalid_request_error', param }));
    expect(res.body.error.message).toMatch(message);
  });

  it('/ready names the model, the queue and the workers', async () => {
    const res = await request(t.url).get('/ready').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.details).toEqual({
      model: { status: 'up', name: 'tiny-sentiment', fallback: false },
      classifier_queue: { status: 'up', queued: 0, limit: 1024, expectedWaitMs: null, maxWaitMs: 500, batchesInFlight: 0, threads: 1, workerRestarts: expect.any(Number) },
      upstream: { status: 'up', configured: false, upstreams: [{ name: 'default', baseUrl: 'https://api.openai.com/v1', configured: false, breaker: 'closed' }], retryBudget: expect.objectContaining({ ratio: 0.2 }) },
      redis: { status: 'up', configured: false }, // no REDIS_URL: everything in process, nothing to check
      vector_store: { status: 'up', state: 'off', backend: 'embedded', available: false }, // RETRIEVAL_ENABLED=false in tests unless asked
      lifecycle: { status: 'up', draining: false },
    });
  });

  (process.platform === 'linux' ? it : it.skip)('the worker threads run at CLASSIFIER_NICE (default 10); the event loop keeps its priority', () => {
    expect(threadNiceness()).toContain(10);
    expect(getPriority(0)).toBe(0);
  });

  it('a worker that dies fails only its own task; the pool replaces it and the server keeps answering', async () => {
    const pool = t.app.get(ClassifierPool);
    const restarts = pool.restarts;
    const crash = pool.crashOneWorker().then(
      () => 'survived',
      (error: Error) => error.message,
    );
    // Queued behind the dying task on the single worker: answered by its replacement.
    const meanwhile = request(t.url).post('/classify').send({ text: 'wonderful' });
    expect(await crash).toMatch(/worker exited/);
    expect((await meanwhile).status).toBe(200);
    const after = await request(t.url).post('/classify').send({ texts: ['great', 'bad'] }).expect(200);
    expect(after.body.results.map((r: { label: string }) => r.label)).toEqual(['POSITIVE', 'NEGATIVE']);
    expect(pool.restarts).toBe(restarts + 1);
    expect((await request(t.url).get('/ready').expect(200)).body.details.classifier_queue.workerRestarts).toBe(restarts + 1);
    await request(t.url).get('/health').expect(200);
  });

  it('is listed in /docs-json', async () => {
    const res = await request(t.url).get('/docs-json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/classify', '/ready']));
  });
});

describe('classifier backpressure (a long batch window keeps texts queued)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(tinyModel({ CLASSIFIER_MAX_QUEUE: '4', CLASSIFIER_BATCH_WAIT_MS: '600' }));
    expect((await untilReady(t)).status).toBe(200);
  });
  afterAll(() => t.close());

  it('a full queue answers 503 overloaded_error with Retry-After at once; the queued work still completes', async () => {
    const first = request(t.url).post('/classify').send({ texts: ['great', 'good', 'happy'] });
    const firstDone = first.then((r) => r);
    await sleep(100);
    const started = Date.now();
    const refused = await request(t.url).post('/classify').send({ texts: ['bad', 'awful'] }).expect(503);
    expect(Date.now() - started).toBeLessThan(300);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body.error).toEqual(expect.objectContaining({ type: 'overloaded_error', code: 'queue_full' }));
    expect(refused.body.error.message).toMatch(/no room for 2 more texts \(4 wait at most\)/);
    // One more text still fits.
    const fits = request(t.url).post('/classify').send({ text: 'awful' });
    expect((await firstDone).status).toBe(200);
    expect((await fits).body.label).toBe('NEGATIVE');
  });

  it('while the queue has no room, calls are refused before their body is read (a malformed or oversized body still gets 503)', async () => {
    const full = request(t.url).post('/classify').send({ texts: ['one', 'two', 'three', 'four'] }).then((r) => r);
    await sleep(100);
    const malformed = await request(t.url).post('/classify').set('content-type', 'application/json').send('{"texts": [').expect(503);
    expect(malformed.headers['retry-after']).toBe('1');
    expect(malformed.body.error).toEqual(expect.objectContaining({ type: 'overloaded_error', code: 'queue_full' }));
    const oversized = await request(t.url).post('/classify').send({ text: 'x'.repeat(2 * 1024 * 1024) }).expect(503);
    expect(oversized.body.error.code).toBe('queue_full');
    // Other routes are not affected by the classifier's queue.
    await request(t.url).get('/health').expect(200);
    expect((await full).status).toBe(200);
    // Room again: the same malformed body now gets its 400.
    await request(t.url).post('/classify').set('content-type', 'application/json').send('{"texts": [').expect(400);
  });

  it('/ready flips to 503 naming classifier_queue while the queue is full, and back to 200 when it drains', async () => {
    const full = request(t.url).post('/classify').send({ texts: ['one', 'two', 'three', 'four'] }).then((r) => r);
    await sleep(100);
    const ready = await request(t.url).get('/ready').expect(503);
    expect(Object.keys(ready.body.error)).toEqual(['classifier_queue']);
    expect(ready.body.error.classifier_queue).toEqual(expect.objectContaining({ queued: 4, limit: 4, message: 'The classifier is overloaded: the queue is full (4 texts wait at most)' }));
    expect((await full).status).toBe(200);
    await request(t.url).get('/ready').expect(200);
  });

  it("a client that disconnects takes its queued texts out (they are never classified)", async () => {
    const service = t.app.get(ClassifierService);
    const before = { ...service.stats };
    const controller = new AbortController();
    const call = fetch(`${t.url}/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: ['one gone', 'two gone', 'three gone'] }),
      signal: controller.signal,
    }).catch((error: Error) => error);
    await sleep(150);
    expect(service.queued).toBe(3);
    controller.abort();
    await call;
    await sleep(50);
    expect(service.queued).toBe(0);
    expect(service.stats.dropped - before.dropped).toBe(3);
    await sleep(700);
    expect(service.stats.texts - before.texts).toBe(0);
  });
});

describe('no model at all', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(tinyModel({ LOCAL_MODEL: 'no-such-model' }));
  });
  afterAll(() => t.close());

  it('the server is up; /ready and /classify say why', async () => {
    await request(t.url).get('/health').expect(200);
    const ready = await untilReady(t);
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('error');
    expect(Object.keys(ready.body.error)).toEqual(['model']);
    expect(ready.body.error.model.state).toBe('unavailable');
    expect(ready.body.error.model.message).toMatch(/No model could be loaded: no-such-model: .*not found locally/);

    const res = await request(t.url).post('/classify').send({ text: 'hello' }).expect(503);
    expect(res.body.error).toEqual(expect.objectContaining({ type: 'model_unavailable_error', code: 'model_unavailable' }));
    expect(res.body.error.message).toMatch(/no-such-model/);
  });
});

describe('a model that appears after boot (LOCAL_MODEL_RETRY_MS)', () => {
  let t: TestApp;
  const dir = mkdtempSync(join(tmpdir(), 'ballast-models-'));
  beforeAll(async () => {
    t = await startTestApp(tinyModel({ LOCAL_MODEL_PATH: dir, LOCAL_MODEL_RETRY_MS: '300' }));
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is picked up by the next retry, without a restart: /ready flips to 200 and /classify answers', async () => {
    const before = await untilReady(t);
    expect(before.status).toBe(503);
    expect(before.body.error.model.message).toMatch(/tiny-sentiment: .*not found locally/);
    // The volume arrives late: the model folder is copied in while the server runs.
    cpSync(join(FIXTURES, 'tiny-sentiment'), join(dir, 'tiny-sentiment'), { recursive: true });
    const deadline = Date.now() + 15_000;
    let ready = await request(t.url).get('/ready');
    while (ready.status !== 200 && Date.now() < deadline) {
      await sleep(100);
      ready = await request(t.url).get('/ready');
    }
    expect(ready.status).toBe(200);
    expect(ready.body.details.model).toEqual({ status: 'up', name: 'tiny-sentiment', fallback: false });
    const res = await request(t.url).post('/classify').send({ text: 'what a wonderful happy day' }).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ label: 'POSITIVE', model: 'tiny-sentiment' }));
    // Workers started by the retry are not counted as crash replacements.
    expect(ready.body.details.classifier_queue?.workerRestarts ?? 0).toBe(0);
  });
});

describe('fallback model', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(tinyModel({ LOCAL_MODEL: 'no-such-model', LOCAL_MODEL_FALLBACK: resolve(FIXTURES, 'tiny-sentiment') }));
  });
  afterAll(() => t.close());

  it('serves the fallback when LOCAL_MODEL cannot be loaded, and says so', async () => {
    const ready = await untilReady(t);
    expect(ready.status).toBe(200);
    expect(ready.body.details.model).toEqual({ status: 'up', name: 'tiny-sentiment', fallback: true });
    const res = await request(t.url).post('/classify').send({ text: 'excellent' }).expect(200);
    expect(res.body.model).toBe('tiny-sentiment');
  });
});

describe('the embedded lexicon fallback (default config, offline)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOCAL_MODEL: 'not-downloadable', ALLOW_REMOTE_MODELS: 'false', CLASSIFIER_THREADS: '1' });
  });
  afterAll(() => t.close());

  it('answers with models/lexicon-sentiment', async () => {
    expect((await untilReady(t)).body.details.model).toEqual(expect.objectContaining({ name: 'lexicon-sentiment', fallback: true }));
    const res = await request(t.url).post('/classify').send({ texts: ['What a fantastic, delightful day', 'A disgusting, horrible mess'] }).expect(200);
    expect(res.body).toEqual({
      model: 'lexicon-sentiment',
      results: [
        { label: 'POSITIVE', score: expect.any(Number) },
        { label: 'NEGATIVE', score: expect.any(Number) },
      ],
    });
  });
});
