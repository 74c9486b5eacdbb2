// The floor of a vector search on this machine (issue 23): a bare server doing what a search through
// ballast must do, and nothing else (no Nest, Fastify, validation, limits, metrics or logs):
//   POST /collections/:name/search {query, top_k?} → the query embedded by the upstream (undici, one
//   call; no cache, as the benchmark runs ballast, unless EMBED_CACHE=1) → the same SQL as the benchmark's store SQL (ballast's
//   PgVectorStore, its session settings and its connection to the store) → {results}.
//   GET /health → 200 at once, for the /health probe.
// Embedded (DATA_DIR, a copy: PGlite opens a directory once): PGlite is owned by a worker thread, as in
// ballast, so each search also hops to it and back. pg (DATABASE_URL): a pool of DATABASE_POOL_MAX on
// the event loop. Forked with UPSTREAM_ORIGIN, COLLECTION, EF_SEARCH and one of those; sends { type: 'ready', port }.
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { Pool } from 'undici';
import { storeAdapter, storePool } from './retrieval-store.mjs';

const here = fileURLToPath(import.meta.url);
const { DATA_DIR, DATABASE_URL, DATABASE_POOL_MAX = '4', UPSTREAM_ORIGIN, COLLECTION, EF_SEARCH = '100' } = process.env;

/** The search: ballast's adapter on the store, with ballast's session settings. */
async function openStore(options) {
  const { store, collection } = await storeAdapter(await storePool(options, Number(EF_SEARCH)), COLLECTION);
  return (literal, topK) => store.searchVector(collection, literal, topK, []);
}

if (!isMainThread) {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const search = await openStore({ pglite: await PGlite.create({ dataDir: DATA_DIR, extensions: { vector } }) });
  parentPort.on('message', ({ id, literal, topK }) => {
    search(literal, topK).then(
      (hits) => parentPort.postMessage({ id, hits }),
      (error) => parentPort.postMessage({ id, error: String(error?.message ?? error) }),
    );
  });
  parentPort.postMessage({ ready: true });
} else {
  let search;
  if (DATABASE_URL) search = await openStore({ connectionString: DATABASE_URL, max: Number(DATABASE_POOL_MAX) });
  else {
    const worker = new Worker(here);
    const pending = new Map();
    let nextId = 1;
    await new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (m) => {
        if (m.ready) return resolve();
        const settle = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) settle.reject(new Error(m.error));
        else settle.resolve(m.hits);
      });
    });
    search = (literal, topK) => new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, literal, topK });
    });
  }
  const upstream = new Pool(UPSTREAM_ORIGIN, { connections: 64, keepAliveTimeout: 60_000 });
  // EMBED_CACHE=1: each query's vector remembered, as ballast's embeddings cache does (on by default there, off in the benchmark).
  const cache = process.env.EMBED_CACHE === '1' ? new Map() : undefined;
  const embed = async (text) => {
    const cached = cache?.get(text);
    if (cached) return cached;
    const res = await upstream.request({ method: 'POST', path: '/v1/embeddings', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bench-embed', input: [text] }) });
    const answer = await res.body.json();
    const literal = `[${answer.data[0].embedding.join(',')}]`;
    cache?.set(text, literal);
    return literal;
  };
  const send = (res, status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') return send(res, 200, { status: 'ok' });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      try {
        const { query, top_k: topK = 10 } = JSON.parse(body);
        send(res, 200, { results: await search(await embed(query), topK) });
      } catch (error) {
        send(res, 500, { error: { message: String(error?.message ?? error) } });
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
  process.on('SIGTERM', () => process.exit(0));
}
