import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { StoreConnection } from '../../src/retrieval/store/store-connection.js';
import { FakeUpstream, fakeEmbedding } from '../support/fake-upstream.js';
import { closedPort } from '../support/ports.js';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server.js';
import { postSse } from '../support/sse-client.js';
import { FAKE_UPSTREAM_KEY, startTestApp, TestApp } from '../support/test-app.js';

jest.setTimeout(180_000);

const DIMS = 8;
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'ballast-retrieval-'));
const embeddedInputs = (fake: FakeUpstream): string[] =>
  fake.requests.filter((r) => r.path === '/v1/embeddings').flatMap((r) => (r.body as { input: string[] }).input);

const THREE_CHUNKS = [
  'Refunds are paid within thirty days of a return being received.',
  'Shipping to most countries takes three to five working days.',
  'Accounts can be closed from the settings page at any time.',
].join('\n\n');
const CHUNKING = { size: 80, overlap: 0 };

describe('retrieval over HTTP (embedded store, fake upstream)', () => {
  let fake: FakeUpstream;
  let dir: string;
  let t: TestApp;
  const env = (): Record<string, string> => ({
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_API_KEY: FAKE_UPSTREAM_KEY,
    RETRIEVAL_ENABLED: 'true',
    DATA_DIR: dir,
    EMBEDDINGS_COALESCE_MS: '0',
    UPSTREAM_MAX_RETRIES: '0',
  });

  beforeAll(async () => {
    fake = await FakeUpstream.start({ embeddingDims: DIMS });
    dir = tempDir();
    t = await startTestApp(env());
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => fake.reset({ embeddingDims: DIMS }));

  describe('collections', () => {
    it('creates, reads, lists and deletes; a second create of the name is 409, an unknown name 404', async () => {
      const created = await request(t.url).post('/collections').send({ name: 'col-a', metadata: { owner: 'docs' } }).expect(201);
      expect(created.body).toEqual({ name: 'col-a', model: 'text-embedding-3-small', dimensions: null, metadata: { owner: 'docs' }, documents: 0, chunks: 0, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
      expect(Math.abs(Date.parse(created.body.created_at) - Date.now())).toBeLessThan(60_000);
      const again = await request(t.url).post('/collections').send({ name: 'col-a' }).expect(409);
      expect(again.body.error).toMatchObject({ type: 'invalid_request_error', code: 'collection_exists', param: 'name' });
      expect((await request(t.url).get('/collections').expect(200)).body.data.map((c: { name: string }) => c.name)).toContain('col-a');
      await request(t.url).get('/collections/col-a').expect(200);
      await request(t.url).delete('/collections/col-a').expect(200, { id: 'col-a', deleted: true });
      const gone = await request(t.url).get('/collections/col-a').expect(404);
      expect(gone.body.error).toEqual({ message: "No collection named 'col-a'", type: 'invalid_request_error', param: 'name', code: 'collection_not_found' });
      await request(t.url).delete('/collections/col-a').expect(404);
    });

    it('refuses a bad name with 400 naming the field', async () => {
      const res = await request(t.url).post('/collections').send({ name: '../etc' }).expect(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'name' });
    });
  });

  describe('documents', () => {
    beforeAll(async () => {
      await request(t.url).post('/collections').send({ name: 'docs' }).expect(201);
    });

    it('chunks, embeds each chunk once, and re-embeds exactly the one chunk of three that changed', async () => {
      const first = await request(t.url).post('/collections/docs/documents').send({ documents: [{ id: 'faq', text: THREE_CHUNKS, metadata: { lang: 'en' } }], chunking: CHUNKING }).expect(200);
      expect(first.body).toMatchObject({ collection: 'docs', documents: [{ id: 'faq', chunks: 3 }], embedded_chunks: 3, written_chunks: 3 });
      expect(first.body.usage.prompt_tokens).toBeGreaterThan(0);
      expect(fake.counters.embeddingInputs).toBe(3);

      // The same document again: nothing goes upstream, and no chunk row is written.
      const same = await request(t.url).post('/collections/docs/documents').send({ documents: [{ id: 'faq', text: THREE_CHUNKS, metadata: { lang: 'en' } }], chunking: CHUNKING }).expect(200);
      expect(same.body).toMatchObject({ embedded_chunks: 0, written_chunks: 0 });
      expect(fake.counters.embeddingInputs).toBe(3);

      const changed = THREE_CHUNKS.replace('three to five', 'two to four');
      const second = await request(t.url).post('/collections/docs/documents').send({ documents: [{ id: 'faq', text: changed, metadata: { lang: 'en' } }], chunking: CHUNKING }).expect(200);
      expect(second.body).toMatchObject({ documents: [{ id: 'faq', chunks: 3 }], embedded_chunks: 1, written_chunks: 1 });
      expect(fake.counters.embeddingInputs).toBe(4);
      expect(embeddedInputs(fake).slice(-1)).toEqual(['Shipping to most countries takes two to four working days.']);

      const doc = await request(t.url).get('/collections/docs/documents/faq').expect(200);
      expect(doc.body).toMatchObject({ id: 'faq', metadata: { lang: 'en' }, updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
      expect(Math.abs(Date.parse(doc.body.updated_at) - Date.now())).toBeLessThan(60_000);
      expect(doc.body.chunks.map((c: { text: string }) => c.text)).toEqual(changed.split('\n\n'));
      const stats = await request(t.url).get('/collections/docs').expect(200);
      expect(stats.body).toMatchObject({ dimensions: DIMS, documents: 1, chunks: 3 });
    });

    it('gives a document without id a new one, and deletes a document (then 404)', async () => {
      const res = await request(t.url).post('/collections/docs/documents').send({ documents: [{ text: 'A short note.' }] }).expect(200);
      const id = res.body.documents[0].id as string;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await request(t.url).delete(`/collections/docs/documents/${id}`).expect(200, { id, deleted: true });
      const gone = await request(t.url).get(`/collections/docs/documents/${id}`).expect(404);
      expect(gone.body.error.code).toBe('document_not_found');
    });

    it('answers 404 for documents of an unknown collection', async () => {
      const res = await request(t.url).post('/collections/nope/documents').send({ documents: [{ text: 'x' }] }).expect(404);
      expect(res.body.error.code).toBe('collection_not_found');
      await request(t.url).get('/collections/nope/documents/x').expect(404);
    });

    it('refuses empty text (400 naming it) and 10,000 documents in one call (413), writing nothing', async () => {
      const empty = await request(t.url).post('/collections/docs/documents').send({ documents: [{ id: 'ok', text: 'fine' }, { text: '   ' }] }).expect(400);
      expect(empty.body.error).toMatchObject({ param: 'documents[1].text', code: 'empty_text' });
      // The route schema names the field of a body of the wrong shape.
      const notText = await request(t.url).post('/collections/docs/documents').send({ documents: [{ id: 'ok', text: 'fine' }, { text: 7 }] }).expect(400);
      expect(notText.body.error).toMatchObject({ type: 'invalid_request_error', param: 'documents[1].text', message: 'documents[1].text must be a string' });
      const badSize = await request(t.url).post('/collections/docs/documents').send({ documents: [{ text: 'fine' }], chunking: { size: 5 } }).expect(400);
      expect(badSize.body.error).toMatchObject({ param: 'chunking.size', message: 'chunking.size must not be less than 10' });
      await request(t.url).post('/collections/docs/documents').send({ documents: 'fine' }).expect(400);
      await request(t.url).get('/collections/docs/documents/ok').expect(404);
      const many = Array.from({ length: 10_000 }, (_, i) => ({ text: `d${i}` }));
      const tooMany = await request(t.url).post('/collections/docs/documents').send({ documents: many }).expect(413);
      expect(tooMany.body.error).toMatchObject({ type: 'invalid_request_error', param: 'documents', code: 'too_many_documents' });
      expect(tooMany.body.error.message).toMatch(/RETRIEVAL_MAX_DOCUMENTS/);
      expect(fake.counters.embeddings).toBe(0);
    });

    it('an upsert one of whose embedding calls fails writes nothing (502); sent again, only the texts of the failed call go upstream', async () => {
      fake.reset({ embeddingDims: DIMS });
      await request(t.url).post('/collections').send({ name: 'batches' }).expect(201);
      // 150 one-chunk documents: three upstream calls (EMBEDDINGS_BATCH_SIZE 64); the second one fails.
      const documents = Array.from({ length: 150 }, (_, i) => ({ id: `b${i}`, text: `Batch document number ${i} about refunds.` }));
      fake.knobs.faults = [{ kind: 'none' }, { kind: 'status', status: 500 }];
      const failed = await request(t.url).post('/collections/batches/documents').send({ documents }).expect(502);
      expect(failed.body.error).toMatchObject({ type: 'upstream_error', code: 'upstream_http_error' });
      expect((await request(t.url).get('/collections/batches').expect(200)).body).toMatchObject({ documents: 0, chunks: 0 });
      await request(t.url).get('/collections/batches/documents/b0').expect(404);
      const firstCalls = fake.requests.filter((r) => r.path === '/v1/embeddings').map((r) => [...(r.body as { input: string[] }).input].sort());
      expect(firstCalls.map((inputs) => inputs.length).sort((a, b) => a - b)).toEqual([22, 64, 64]);

      fake.requests = [];
      const retried = await request(t.url).post('/collections/batches/documents').send({ documents }).expect(200);
      expect(retried.body).toMatchObject({ embedded_chunks: 150, written_chunks: 150 });
      const sentAgain = embeddedInputs(fake).sort();
      // Exactly one of the first attempt's calls went again: the two that answered were kept in the cache.
      expect(firstCalls.filter((inputs) => JSON.stringify(inputs) === JSON.stringify(sentAgain))).toHaveLength(1);
      expect((await request(t.url).get('/collections/batches').expect(200)).body).toMatchObject({ documents: 150, chunks: 150 });
    });

    it('answers 409 when the model starts returning vectors of other dimensions, and writes nothing', async () => {
      fake.reset({ embeddingDims: DIMS * 2 });
      const res = await request(t.url).post('/collections/docs/documents').send({ documents: [{ id: 'wide', text: 'A text never embedded before.' }] }).expect(409);
      expect(res.body.error).toMatchObject({ code: 'dimension_mismatch' });
      expect(res.body.error.message).toMatch(/holds 8-dimensional vectors, but the embedding model returned 16/);
      await request(t.url).get('/collections/docs/documents/wide').expect(404);
      const search = await request(t.url).post('/collections/docs/search').send({ query: 'another new query', mode: 'vector' }).expect(409);
      expect(search.body.error.code).toBe('dimension_mismatch');
    });
  });

  describe('search', () => {
    const DOCS = [
      { id: 'refunds', text: 'Refunds: we send your money back within 30 days of a return.', metadata: { section: 'billing', lang: 'en' } },
      { id: 'shipping', text: 'Shipping takes three to five working days.', metadata: { section: 'delivery', lang: 'en' } },
      { id: 'konto', text: 'Das Konto kann jederzeit geschlossen werden.', metadata: { section: 'accounts', lang: 'de' } },
      { id: 'evil', text: "Robert'); DROP TABLE retrieval_chunks;-- was here", metadata: { "k'); DELETE FROM retrieval_documents;--": "' OR '1'='1" } },
    ];
    beforeAll(async () => {
      fake.reset({ embeddingDims: DIMS });
      await request(t.url).post('/collections').send({ name: 'kb' }).expect(201);
      await request(t.url).post('/collections/kb/documents').send({ documents: DOCS }).expect(200);
    });

    it("exports each store operation's time and outcome, and the store's state, on /metrics", async () => {
      const count = (text: string, operation: string, outcome: string): number =>
        Number(new RegExp(`^ballast_vector_store_operation_seconds_count\\{operation="${operation}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      const before = (await request(t.url).get('/metrics').expect(200)).text;
      await request(t.url).post('/collections/kb/search').send({ query: 'money back', mode: 'vector' }).expect(200);
      await request(t.url).post('/collections/kb/search').send({ query: 'money back', mode: 'text' }).expect(200);
      await request(t.url).post('/collections').send({ name: 'kb' }).expect(409);
      const after = (await request(t.url).get('/metrics').expect(200)).text;
      expect(count(after, 'search_vector', 'ok') - count(before, 'search_vector', 'ok')).toBe(1);
      expect(count(after, 'search_text', 'ok') - count(before, 'search_text', 'ok')).toBe(1);
      expect(count(after, 'create_collection', 'error') - count(before, 'create_collection', 'error')).toBe(1);
      expect(after).toMatch(/^ballast_vector_store_up\{backend="embedded"\} 1$/m);
    });

    it('vector: the exact text of a chunk comes first with score ~1', async () => {
      const res = await request(t.url).post('/collections/kb/search').send({ query: DOCS[1].text, mode: 'vector', top_k: 2 }).expect(200);
      expect(res.body.mode).toBe('vector');
      expect(res.body.results).toHaveLength(2);
      expect(res.body.results[0]).toMatchObject({ id: 'shipping', chunk: 0, text: DOCS[1].text, metadata: DOCS[1].metadata });
      expect(res.body.results[0].score).toBeCloseTo(1, 4);
      // The store's part of ballast's own time is shown beside it; a route that never asks the store shows none.
      const timing = /ballast;dur=([\d.]+).*upstream;dur=([\d.]+).*store;dur=([\d.]+)/.exec(res.headers['server-timing']);
      expect(timing).not.toBeNull();
      expect(Number(timing![3])).toBeGreaterThan(0);
      expect(Number(timing![3])).toBeLessThanOrEqual(Number(timing![1]));
      const health = await request(t.url).get('/health').expect(200);
      expect(health.headers['server-timing']).not.toContain('store');
    });

    it('text: a question sharing only some words finds the refunds page', async () => {
      const res = await request(t.url).post('/collections/kb/search').send({ query: 'how do I get my money back?', mode: 'text' }).expect(200);
      expect(res.body.results[0]).toMatchObject({ id: 'refunds' });
      expect(res.body.results.map((r: { id: string }) => r.id)).not.toContain('shipping');
      expect(fake.counters.embeddings).toBe(0);
    });

    it('hybrid is the default and fuses both lists: the text match and the vector match both rank', async () => {
      const res = await request(t.url).post('/collections/kb/search').send({ query: 'money back', top_k: 4 }).expect(200);
      expect(res.body.mode).toBe('hybrid');
      expect(res.body.results[0].id).toBe('refunds');
      expect(res.body.results[0].score).toBeGreaterThan(res.body.results[1].score);
    });

    it('hybrid answers from its text list when the query cannot be embedded, and says so; vector fails; hybrid again once the upstream answers', async () => {
      const fallbacks = async (): Promise<number> =>
        Number(/^ballast_retrieval_fallbacks_total\{code="upstream_http_error"\} (\d+)$/m.exec((await request(t.url).get('/metrics').expect(200)).text)?.[1] ?? 0);
      const before = await fallbacks();
      fake.knobs.fault = { kind: 'status', status: 500 };
      try {
        const res = await request(t.url).post('/collections/kb/search').send({ query: 'money back when down', top_k: 2 }).expect(200);
        expect(res.body).toEqual({
          mode: 'text',
          results: [expect.objectContaining({ id: 'refunds', score: expect.any(Number) })],
          fallback: { from: 'hybrid', code: 'upstream_http_error', message: 'The upstream failed (HTTP 500)' },
        });
        expect(res.headers['server-timing']).toMatch(/store;dur=/);
        const vector = await request(t.url).post('/collections/kb/search').send({ query: 'money back when down', mode: 'vector' }).expect(502);
        expect(vector.body.error).toMatchObject({ type: 'upstream_error', code: 'upstream_http_error' });
        expect(await fallbacks()).toBe(before + 1);
      } finally {
        fake.knobs.fault = null;
      }
      const back = await request(t.url).post('/collections/kb/search').send({ query: 'money back when up again', top_k: 2 }).expect(200);
      expect(back.body.mode).toBe('hybrid');
      expect(back.body).not.toHaveProperty('fallback');
    });

    it('with a share of embedding calls failing, every hybrid search answers: those whose embedding failed from the text list', async () => {
      fake.reset({ embeddingDims: DIMS, failureRate: 0.5, failureSeed: 7 });
      try {
        const answers = [];
        for (let i = 0; i < 16; i++) {
          answers.push(await request(t.url).post('/collections/kb/search').send({ query: `money back, attempt ${i}`, top_k: 2 }).expect(200));
        }
        const fellBack = answers.filter((a) => a.body.fallback !== undefined);
        expect(fake.counters.randomFailures).toBeGreaterThan(0);
        expect(fake.counters.randomFailures).toBeLessThan(16);
        expect(fellBack).toHaveLength(fake.counters.randomFailures);
        for (const a of answers) expect(a.body.results[0].id).toBe('refunds');
        for (const a of fellBack) expect(a.body.mode).toBe('text');
      } finally {
        fake.reset({ embeddingDims: DIMS });
      }
    });

    it('filters: equals, $in, a key no document has (nothing), in every mode', async () => {
      for (const mode of ['vector', 'text', 'hybrid']) {
        const de = await request(t.url).post('/collections/kb/search').send({ query: 'Konto geschlossen money', mode, filter: { lang: 'de' } }).expect(200);
        expect(de.body.results.map((r: { id: string }) => r.id)).toEqual(['konto']);
        const within = await request(t.url).post('/collections/kb/search').send({ query: 'money shipping days', mode, top_k: 10, filter: { section: { $in: ['billing', 'delivery'] } } }).expect(200);
        expect(within.body.results.map((r: { id: string }) => r.id).sort()).toEqual(['refunds', 'shipping']);
        const none = await request(t.url).post('/collections/kb/search').send({ query: 'money', mode, filter: { colour: 'red' } }).expect(200);
        expect(none.body.results).toEqual([]);
      }
    });

    it.each([
      [{ section: { $gt: 1 } }, 'filter.section'],
      [{ section: { a: { b: 1 } } }, 'filter.section'],
      [{ $or: [] }, 'filter.$or'],
      [['billing'], 'filter'],
      [{ section: { $in: [] } }, 'filter.section.$in'],
    ])('a bad filter %j is 400 naming %s', async (filter, param) => {
      const res = await request(t.url).post('/collections/kb/search').send({ query: 'money', filter }).expect(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param, code: 'invalid_filter' });
    });

    it('refuses an empty query (400) and an unknown collection (404)', async () => {
      expect((await request(t.url).post('/collections/kb/search').send({ query: '  ' }).expect(400)).body.error.param).toBe('query');
      await request(t.url).post('/collections/none/search').send({ query: 'x' }).expect(404);
    });

    it('keeps SQL-looking text and metadata as plain data and finds them', async () => {
      const res = await request(t.url)
        .post('/collections/kb/search')
        .send({ query: 'DROP TABLE', mode: 'text', filter: { "k'); DELETE FROM retrieval_documents;--": "' OR '1'='1" } })
        .expect(200);
      expect(res.body.results).toEqual([expect.objectContaining({ id: 'evil', text: DOCS[3].text, metadata: DOCS[3].metadata })]);
      expect((await request(t.url).get('/collections/kb').expect(200)).body).toMatchObject({ documents: 4 });
    });

    it('keeps /health fast while ingesting and searching (generous bound; the tight one is the benchmark)', async () => {
      await request(t.url).post('/collections').send({ name: 'busy' }).expect(201);
      const work = (async () => {
        for (let round = 0; round < 4; round++) {
          const documents = Array.from({ length: 200 }, (_, i) => ({ id: `b${round}-${i}`, text: `Busy document ${round} ${i}. ${'Filler sentence here. '.repeat(20)}` }));
          await request(t.url).post('/collections/busy/documents').send({ documents, chunking: { size: 120, overlap: 0 } }).expect(200);
          await Promise.all(Array.from({ length: 20 }, (_, i) => request(t.url).post('/collections/busy/search').send({ query: `busy ${i}` }).expect(200)));
        }
      })();
      let done = false;
      void work.finally(() => (done = true));
      const latencies: number[] = [];
      while (!done) {
        const started = performance.now();
        await fetch(`${t.url}/health`).then((r) => r.text());
        latencies.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 5));
      }
      await work;
      latencies.sort((a, b) => a - b);
      const p99 = latencies[Math.floor(latencies.length * 0.99)];
      expect(latencies.length).toBeGreaterThan(20);
      expect(p99).toBeLessThan(250);
      expect(fake.counters.embeddingInputs).toBeGreaterThan(0);
    });
  });

  describe('grounded chat', () => {
    const chatMessages = (fakeUpstream: FakeUpstream): Array<{ role: string; content: string }> => {
      const chat = fakeUpstream.requests.filter((r) => r.path === '/v1/chat/completions');
      return (chat[chat.length - 1].body as { messages: Array<{ role: string; content: string }> }).messages;
    };
    beforeAll(async () => {
      fake.reset({ embeddingDims: DIMS });
      await request(t.url).post('/collections').send({ name: 'help' }).expect(201);
      await request(t.url)
        .post('/collections/help/documents')
        .send({
          documents: [
            { id: 'refunds', text: 'Refunds: we send your money back within 30 days of a return.', metadata: { lang: 'en' } },
            { id: 'shipping', text: 'Shipping takes three to five working days.', metadata: { lang: 'en' } },
            { id: 'konto', text: 'Geld zurück innerhalb von 30 Tagen.', metadata: { lang: 'de' } },
          ],
        })
        .expect(200);
    });

    it('/chat/complete: the passages reach the upstream in a system message; the answer carries sources', async () => {
      const res = await request(t.url)
        .post('/chat/complete')
        .send({ messages: [{ role: 'user', content: 'How do I get my money back?' }], retrieval: { collection: 'help', top_k: 2, filter: { lang: 'en' } } })
        .expect(200);
      expect(res.body.content).toBe('Echo: How do I get my money back?');
      expect(res.body.sources).toHaveLength(2);
      expect(res.body.sources[0]).toEqual({ id: 'refunds', chunk: 0, score: expect.any(Number), metadata: { lang: 'en' } });
      const sent = chatMessages(fake);
      expect(sent.map((m) => m.role)).toEqual(['system', 'user']);
      expect(sent[0].content).toMatch(/Cite the passages/);
      expect(sent[0].content).toContain('[1] (document "refunds", chunk 0)\nRefunds: we send your money back within 30 days of a return.');
      expect(sent[0].content).not.toContain('Geld');
    });

    it("grounded chat whose query cannot be embedded answers from text search's passages and says so, whole and streamed", async () => {
      fake.knobs.faults = [{ kind: 'status', status: 503 }];
      const res = await request(t.url)
        .post('/chat/complete')
        .send({ messages: [{ role: 'user', content: 'How do I get my money back, embeddings down?' }], retrieval: { collection: 'help', top_k: 1 } })
        .expect(200);
      expect(res.body.sources).toEqual([expect.objectContaining({ id: 'refunds' })]);
      expect(res.body.retrieval_fallback).toMatchObject({ from: 'hybrid', code: 'upstream_http_error' });
      expect(chatMessages(fake)[0].content).toContain('Refunds: we send your money back');
      fake.knobs.faults = [{ kind: 'status', status: 503 }];
      const stream = await postSse(`${t.url}/chat/stream`, { messages: [{ role: 'user', content: 'money back please, embeddings down' }], retrieval: { collection: 'help', top_k: 1 } });
      expect(stream.status).toBe(200);
      const first = JSON.parse(stream.frames.filter((f) => f.event === 'message')[0].data) as Record<string, unknown>;
      expect(first).toEqual({ sources: [expect.objectContaining({ id: 'refunds' })], retrieval_fallback: expect.objectContaining({ code: 'upstream_http_error' }) });
    });

    it('/chat/stream: one sources event before the first token, then the tokens', async () => {
      const res = await postSse(`${t.url}/chat/stream`, { messages: [{ role: 'user', content: 'money back please' }], retrieval: { collection: 'help', top_k: 1 } });
      expect(res.status).toBe(200);
      const data = res.frames.filter((f) => f.event === 'message').map((f) => f.data);
      expect(JSON.parse(data[0])).toEqual({ sources: [expect.objectContaining({ id: 'refunds', chunk: 0 })] });
      expect(data.slice(1, -1).map((d) => (JSON.parse(d) as { content: string }).content).join('')).toBe('Echo: money back please');
      expect(data[data.length - 1]).toBe('[DONE]');
      expect(chatMessages(fake)[0].content).toContain('Refunds: we send your money back');
    });

    it('without retrieval nothing changes; an unknown collection is 404 before any upstream call; a bad filter 400', async () => {
      const plain = await request(t.url).post('/chat/complete').send({ messages: [{ role: 'user', content: 'hi' }] }).expect(200);
      expect(plain.body).not.toHaveProperty('sources');
      expect(chatMessages(fake)).toEqual([{ role: 'user', content: 'hi' }]);
      const chatsBefore = fake.counters.chat;
      const unknown = await request(t.url).post('/chat/complete').send({ messages: [{ role: 'user', content: 'hi' }], retrieval: { collection: 'nope' } }).expect(404);
      expect(unknown.body.error).toMatchObject({ param: 'retrieval.collection', code: 'collection_not_found' });
      const bad = await request(t.url).post('/chat/stream').send({ messages: [{ role: 'user', content: 'hi' }], retrieval: { collection: 'help', filter: { lang: { $regex: 'x' } } } }).expect(400);
      expect(bad.body.error).toMatchObject({ param: 'retrieval.filter.lang', code: 'invalid_filter' });
      expect(fake.counters.chat).toBe(chatsBefore);
    });
  });

  describe('the embedded store', () => {
    it('keeps collections and documents across a restart of the app', async () => {
      const restartDir = tempDir();
      try {
        const first = await startTestApp({ ...env(), DATA_DIR: restartDir });
        await request(first.url).post('/collections').send({ name: 'durable', model: null }).expect(201);
        await request(first.url).post('/collections/durable/documents').send({ documents: [{ id: 'kept', text: 'Written before the restart.' }] }).expect(200);
        await first.close();
        const second = await startTestApp({ ...env(), DATA_DIR: restartDir });
        try {
          expect((await request(second.url).get('/collections/durable').expect(200)).body).toMatchObject({ documents: 1, chunks: 1 });
          const hit = await request(second.url).post('/collections/durable/search').send({ query: 'restart' }).expect(200);
          expect(hit.body.results).toEqual([expect.objectContaining({ id: 'kept', text: 'Written before the restart.' })]);
        } finally {
          await second.close();
        }
      } finally {
        rmSync(restartDir, { recursive: true, force: true });
      }
    });

    it('a store worker that dies: retrieval answers 503 with the reason, the rest of the API serves, /ready says so; it comes back with the data', async () => {
      const crashDir = tempDir();
      const app = await startTestApp({ ...env(), DATA_DIR: crashDir });
      try {
        await request(app.url).post('/collections').send({ name: 'phoenix', model: null }).expect(201);
        await request(app.url).post('/collections/phoenix/documents').send({ documents: [{ id: 'kept', text: 'Written before the worker died.' }] }).expect(200);
        await app.app.get(StoreConnection).embeddedStore!.terminate();

        const down = await request(app.url).post('/collections/phoenix/search').send({ query: 'worker' }).expect(503);
        expect(down.body.error).toMatchObject({ type: 'store_unavailable_error', code: 'store_unavailable', message: expect.stringMatching(/worker exited \(code 1\)/) });
        await request(app.url).get('/health').expect(200);
        await request(app.url).post('/embeddings').send({ texts: ['still works'] }).expect(200);
        const ready = await request(app.url).get('/ready');
        expect(ready.body.details.vector_store).toMatchObject({ state: 'down', backend: 'embedded', available: false, message: expect.stringMatching(/worker exited .*restarting it in \d+ ms/) });

        const deadline = Date.now() + 30_000;
        let hit = await request(app.url).post('/collections/phoenix/search').send({ query: 'worker' });
        while (hit.status !== 200 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          hit = await request(app.url).post('/collections/phoenix/search').send({ query: 'worker' });
        }
        expect(hit.status).toBe(200);
        expect(hit.body.results).toEqual([expect.objectContaining({ id: 'kept', text: 'Written before the worker died.' })]);
        expect((await request(app.url).get('/ready')).body.details.vector_store).toMatchObject({ state: 'up', available: true });
      } finally {
        await app.close();
        rmSync(crashDir, { recursive: true, force: true });
      }
    });

    it('refuses a second process on the same DATA_DIR at start-up, saying why', async () => {
      const child = spawn(process.execPath, [resolve('dist', 'main.js')], {
        env: { ...process.env, DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', RETRIEVAL_ENABLED: 'true', ALLOW_REMOTE_MODELS: 'false', CLASSIFIER_THREADS: '1', LOG_LEVEL: 'error' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((done) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('exit', (exitCode) => {
          clearTimeout(timer);
          done(exitCode);
        });
      });
      expect(code).toBe(1);
      expect(output).toMatch(new RegExp(`DATA_DIR ${dir.replace(/[/.]/g, '\\$&')} is in use by another ballast process \\(pid ${process.pid}\\)`));
      // The first owner still serves.
      await request(t.url).get('/collections').expect(200);
    });
  });
});

describe('retrieval: a text-only collection with no upstream key at all', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    t = await startTestApp({ RETRIEVAL_ENABLED: 'true', DATA_DIR: dir, OPENAI_API_KEY: '' });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ingests and searches (text is the default mode); vector mode is 400, an embedding collection 503 not configured', async () => {
    await request(t.url).post('/collections').send({ name: 'plain', model: null }).expect(201);
    const ingest = await request(t.url).post('/collections/plain/documents').send({ documents: [{ id: 'r', text: 'Refunds: your money back in 30 days.' }] }).expect(200);
    expect(ingest.body).toEqual({ collection: 'plain', documents: [{ id: 'r', chunks: 1 }], embedded_chunks: 0, written_chunks: 1 });
    const res = await request(t.url).post('/collections/plain/search').send({ query: 'how do I get my money back' }).expect(200);
    expect(res.body).toEqual({ mode: 'text', results: [expect.objectContaining({ id: 'r', chunk: 0 })] });
    const vector = await request(t.url).post('/collections/plain/search').send({ query: 'money', mode: 'vector' }).expect(400);
    expect(vector.body.error).toMatchObject({ param: 'mode', code: 'text_only_collection' });
    await request(t.url).post('/collections').send({ name: 'needs-key' }).expect(201);
    const noKey = await request(t.url).post('/collections/needs-key/documents').send({ documents: [{ text: 'x' }] }).expect(503);
    expect(noKey.body.error.type).toBe('not_configured_error');
  });
});

describe('retrieval: a vector store that cannot be reached fails only the retrieval routes', () => {
  let t: TestApp;
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await FakeUpstream.start({ embeddingDims: DIMS });
    const port = await closedPort();
    t = await startTestApp({
      RETRIEVAL_ENABLED: 'true',
      DATABASE_URL: `postgres://ballast:secret-pw@127.0.0.1:${port}/ballast`,
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: FAKE_UPSTREAM_KEY,
    });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('answers 503 store_unavailable with the reason on retrieval routes; /health, /ready and /embeddings still serve', async () => {
    const res = await request(t.url).post('/collections').send({ name: 'x' }).expect(503);
    expect(res.body.error).toMatchObject({ type: 'store_unavailable_error', code: 'store_unavailable' });
    expect(res.body.error.message).toMatch(/ECONNREFUSED/);
    expect(res.body.error.message).not.toMatch(/secret-pw/);
    expect(res.headers['retry-after']).toBe('5');
    await request(t.url).post('/collections/x/search').send({ query: 'q' }).expect(503);
    await request(t.url).get('/health').expect(200);
    // Readiness may wait on the classifier model here; the store is reported, never a reason to fail it.
    const ready = await request(t.url).get('/ready');
    expect(Object.keys(ready.body.error)).not.toContain('vector_store');
    expect(ready.body.details.vector_store).toMatchObject({ status: 'up', state: 'down', backend: 'postgres', available: false, message: expect.stringMatching(/ECONNREFUSED/) });
    await request(t.url).post('/embeddings').send({ texts: ['still works'] }).expect(200);
    const metrics = (await request(t.url).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^ballast_vector_store_up\{backend="postgres"\} 0$/m);
    expect(metrics).toMatch(/^ballast_vector_store_operation_seconds_count\{operation="create_collection",outcome="unavailable"\} [1-9]/m);
  });
});

describe('retrieval: two instances on one PostgreSQL (DATABASE_URL)', () => {
  let fake: FakeUpstream;
  let server: PostgresServer;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    fake = await FakeUpstream.start({ embeddingDims: DIMS });
    server = await startPostgresServer();
    const env = {
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: FAKE_UPSTREAM_KEY,
      RETRIEVAL_ENABLED: 'true',
      DATABASE_URL: server.url,
      DATABASE_POOL_MAX: '2',
      EMBEDDINGS_COALESCE_MS: '0',
      UPSTREAM_MAX_RETRIES: '0',
    };
    a = await startTestApp(env);
    b = await startTestApp(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await server?.stop();
    await fake?.close();
  });

  it('a search finds the collection another instance deleted and made again under the same name, and 404 once it is gone', async () => {
    await request(a.url).post('/collections').send({ name: 'shared' }).expect(201);
    await request(a.url).post('/collections/shared/documents').send({ documents: [{ id: 'old', text: 'Refunds take thirty days.' }] }).expect(200);
    // `a` searches it (and keeps its record for the next searches).
    const first = await request(a.url).post('/collections/shared/search').send({ query: 'refunds' }).expect(200);
    expect(first.body).toMatchObject({ mode: 'hybrid', results: [expect.objectContaining({ id: 'old' })] });

    // `b` replaces it: a text-only collection of the same name, under a new id.
    await request(b.url).delete('/collections/shared').expect(200);
    await request(b.url).post('/collections').send({ name: 'shared', model: null }).expect(201);
    await request(b.url).post('/collections/shared/documents').send({ documents: [{ id: 'new', text: 'Refunds take two weeks now.' }] }).expect(200);
    const second = await request(a.url).post('/collections/shared/search').send({ query: 'refunds' }).expect(200);
    expect(second.body).toEqual({ mode: 'text', results: [expect.objectContaining({ id: 'new' })] });
    const vector = await request(a.url).post('/collections/shared/search').send({ query: 'refunds', mode: 'vector' }).expect(400);
    expect(vector.body.error).toMatchObject({ param: 'mode', code: 'text_only_collection' });

    // `b` deletes it: `a` answers 404, not an empty list.
    await request(b.url).delete('/collections/shared').expect(200);
    const gone = await request(a.url).post('/collections/shared/search').send({ query: 'refunds' }).expect(404);
    expect(gone.body.error.code).toBe('collection_not_found');
  });
});
