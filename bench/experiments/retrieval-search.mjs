// Experiment, cited in docs/benchmarks.md, "Retrieval": where a search's time goes, and /health during c=16 search.
// One store path (B=embedded or pg: a PGlite socket server in its own process), N chunks of DIMS dims,
// ingested once into DATA (default /tmp/ballast-rs-<B>-<N>x<DIMS>, kept between runs, so builds can be
// compared on the same data: ROOT=<checkout> runs that checkout's dist/). Then, in this order:
//   c=1     PHASE_QUERIES (110, first 10 dropped) searches per mode through HTTP; the same vector SQL
//           and the collection lookup through the adapter straight to the store (pg: beside the idle
//           ballast; embedded: after it stopped), with ballast's own session settings; and the query's
//           embedding asked of the upstream directly (what the upstream costs, apart from ballast)
//   c=16    C16_SECONDS per mode, /health probed every 10 ms from a worker thread, p99 per mode
// PROFILE=c1 or c16 sends ballast SIGWINCH before and after each mode of that phase (see loop-stall-profile-preload.mjs); C1=0 skips c=1.
// BALLAST_ARGS adds Node flags to ballast (`--cpu-prof --cpu-prof-dir=/tmp/p`, `--import <preload>`),
// BALLAST_ENV adds JSON to its environment (e.g. '{"EMBEDDINGS_COALESCE_MS":"0"}'; the preload's PROF_OUT goes there too). One JSON line out.
// WARM=1 gives c=1 an unmeasured pass over the same queries first. INTERLEAVE=1 (data already ingested) times the
// same SQL straight to the store after each c=1 vector search (pg: the same server; embedded: a copy of DATA_DIR
// opened here), so both see the same moments of the machine. DUMP=<prefix> writes each c=1 mode's samples in order
// (total, ballast's own and upstream ms, the interleaved store SQL) to <prefix>-<mode>.json.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Pool } from 'undici';
import pg from 'pg';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(process.env.ROOT ?? path.join(here, '..', '..'));
const lib = await import(pathToFileURL(path.join(ROOT, 'bench', 'lib.mjs')).href);
const { textFor, vectorFor } = await import(pathToFileURL(path.join(ROOT, 'bench', 'retrieval-data.mjs')).href);
const { PGlite } = await import('@electric-sql/pglite');
const { PglitePgConnection } = await import('@electric-sql/pglite/node-postgres');
const { vector: pgvectorExtension } = await import('@electric-sql/pglite-pgvector');
const backend = process.env.B ?? 'pg';
const N = Number(process.env.N ?? 10_000);
const DIMS = Number(process.env.DIMS ?? 384);
const DATA = process.env.DATA ?? `/tmp/ballast-rs-${backend}-${N}x${DIMS}`;
const QUERIES = Number(process.env.PHASE_QUERIES ?? 110);
const C16_SECONDS = Number(process.env.C16_SECONDS ?? 4);
const MODES = (process.env.MODES ?? 'vector,text,hybrid').split(',');
const EF_SEARCH = 100;
const startArgs = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start.split(' ').filter((a) => a.startsWith('--'));
// After the start script's flags, so that one of its flags given again here wins.
const nodeArgs = [...startArgs, ...(process.env.BALLAST_ARGS ?? '').split(' ').filter(Boolean)];
const p = (sorted, q) => Number(lib.percentile(sorted, q).toFixed(2));
const summary = (ms) => { const s = lib.sortNum(ms.slice(10)); return { p50: p(s, 50), p99: p(s, 99), mean: Number((s.reduce((a, b) => a + b, 0) / s.length).toFixed(2)) }; };

fs.mkdirSync(DATA, { recursive: true });
const ingested = fs.existsSync(path.join(DATA, 'ingested'));
const upstream = await lib.startForked(path.join(ROOT, 'bench', 'retrieval-upstream.mjs'), 'retrieval-upstream', { DIMS: String(DIMS) });
const env = { RETRIEVAL_ENABLED: 'true', EMBEDDING_MODEL: 'bench-embed', EMBEDDINGS_CACHE_SIZE: '0', RETRIEVAL_HNSW_EF_SEARCH: String(EF_SEARCH), LOG_LEVEL: 'warn', ...JSON.parse(process.env.BALLAST_ENV ?? '{}') };
let store;
let storeUrl;
if (backend === 'pg') {
  store = lib.track(spawn(process.execPath, [path.join(ROOT, 'test', 'support', 'pglite-socket-server.mjs'), path.join(DATA, 'pg'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] }), 'pglite-socket');
  const port = await new Promise((resolve) => {
    let out = '';
    store.stdout.on('data', (c) => { out += c; const m = /listening (\d+)/.exec(out); if (m) resolve(m[1]); });
  });
  storeUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  Object.assign(env, { DATABASE_URL: storeUrl, DATABASE_POOL_MAX: '4' });
} else env.DATA_DIR = path.join(DATA, 'embedded');
// INTERLEAVE=1: each c=1 vector search through HTTP is followed by the same SQL straight to the store (pg: the
// same server; embedded: a copy of DATA_DIR opened in this process), so both see the same moment of the machine.
let interleaved;
if (process.env.INTERLEAVE === '1' && ingested) {
  let directPool;
  if (backend === 'pg') directPool = new pg.Pool({ connectionString: storeUrl, max: 1 });
  else {
    const copy = path.join(DATA, 'embedded-copy');
    fs.rmSync(copy, { recursive: true, force: true });
    fs.cpSync(env.DATA_DIR, copy, { recursive: true });
    fs.rmSync(path.join(copy, 'ballast.lock'), { force: true });
    const db = await PGlite.create({ dataDir: copy, extensions: { vector: pgvectorExtension } });
    class CopyClient extends pg.Client {
      constructor(config) {
        super({ ...config, connection: new PglitePgConnection({ pglite: db }) });
      }
    }
    directPool = new pg.Pool({ Client: CopyClient, max: 1 });
  }
  await directPool.query(`SET hnsw.ef_search = ${EF_SEARCH}`);
  await directPool.query('SET hnsw.iterative_scan = strict_order');
  const { PgVectorStore } = await import(pathToFileURL(path.join(ROOT, 'dist', 'retrieval', 'store', 'pg-vector.store.js')).href);
  const adapter = new PgVectorStore({ pool: async () => directPool }, { m: 16, efConstruction: 64 });
  interleaved = { adapter, collection: await adapter.findCollection(`bench-${N}-${DIMS}`), ms: [] };
}
const bal = await lib.startBallast('undici', upstream.origin, { name: `ballast-${backend}`, env, nodeArgs });
const pool = new Pool(bal.origin, { connections: 16, keepAliveTimeout: 60_000 });
const post = async (to, p, body) => {
  const res = await to.request({ method: 'POST', path: p, headers: lib.JSON_HEADERS, body: JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`POST ${p}: ${res.statusCode} ${text.slice(0, 300)}`);
  lastTiming = res.headers['server-timing'];
  return text;
};
let lastTiming;
/** Server-Timing's `ballast` (own time: all but waiting on the upstream), `store` (of it, waiting on the store) and `upstream` durations, ms. */
const timing = () => Object.fromEntries([...String(lastTiming).matchAll(/(\w+);dur=([\d.]+)/g)].map((m) => [m[1], Number(m[2])]));
for (;;) {
  const body = await (await fetch(`${bal.origin}/ready`)).json();
  if ((body.details?.vector_store ?? body.info?.vector_store)?.state === 'up') break;
  await lib.sleep(200);
}
const name = `bench-${N}-${DIMS}`;
if (!ingested) {
  await post(pool, '/collections', { name });
  const calls = Math.ceil(N / 200);
  let next = 0;
  await Promise.all([0, 1].map(async () => {
    while (next < calls) {
      const c = next++;
      const documents = [];
      for (let i = c * 200; i < Math.min(N, (c + 1) * 200); i++) documents.push({ id: `v${i}`, text: textFor('v', i, N), metadata: { cluster: i % 7 } });
      await post(pool, `/collections/${name}/documents`, { documents });
    }
  }));
  fs.writeFileSync(path.join(DATA, 'ingested'), '');
}
const out = { root: ROOT, backend, N, DIMS, env: process.env.BALLAST_ENV ?? '', load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '), c1: {}, c16: {} };

// c=1 through HTTP, per mode
const query = (q, mode) => ({ query: textFor('q', q, N), mode, top_k: 10 });
const mark = (phase) => { if (process.env.PROFILE === phase) process.kill(bal.cp.pid, 'SIGWINCH'); };
for (const mode of process.env.C1 === '0' ? [] : MODES) {
  mark('c1');
  const ms = [];
  const own = [];
  const upstreamMs = [];
  const storeMs = [];
  // WARM=1: one unmeasured pass over the same queries first (HTTP and, with INTERLEAVE, the store), as the benchmark does.
  if (process.env.WARM === '1') {
    for (let q = 0; q < QUERIES; q++) {
      await post(pool, `/collections/${name}/search`, query(q, mode));
      if (interleaved && mode === 'vector') await interleaved.adapter.searchVector(interleaved.collection, `[${Array.from(vectorFor('q', q, N, DIMS), (x) => x.toFixed(6)).join(',')}]`, 10, []);
    }
  }
  for (let q = 0; q < QUERIES; q++) {
    const t0 = performance.now();
    await post(pool, `/collections/${name}/search`, query(q, mode));
    ms.push(performance.now() - t0);
    const t = timing();
    own.push(t.ballast);
    upstreamMs.push(t.upstream);
    storeMs.push(t.store ?? 0);
    if (interleaved && mode === 'vector') {
      const literal = `[${Array.from(vectorFor('q', q, N, DIMS), (x) => x.toFixed(6)).join(',')}]`;
      const s0 = performance.now();
      await interleaved.adapter.searchVector(interleaved.collection, literal, 10, []);
      interleaved.ms.push(performance.now() - s0);
    }
  }
  if (interleaved && mode === 'vector') out.c1.interleavedStoreSql = summary(interleaved.ms);
  mark('c1');
  out.c1[mode] = { ...summary(ms), ownP50: summary(own).p50, ownP99: summary(own).p99, storeP50: summary(storeMs).p50, storeP99: summary(storeMs).p99, upstreamP50: summary(upstreamMs).p50, upstreamP99: summary(upstreamMs).p99 };
  if (process.env.DUMP) fs.writeFileSync(`${process.env.DUMP}-${mode}.json`, JSON.stringify({ ms, own, upstream: upstreamMs, storeSql: mode === 'vector' ? interleaved?.ms : undefined }));
}
// the query's embedding, asked of the upstream directly (same texts, one per request)
const up = new Pool(upstream.origin, { connections: 1 });
const upMs = [];
for (let q = 0; q < QUERIES; q++) {
  const t0 = performance.now();
  await post(up, '/v1/embeddings', { model: 'bench-embed', input: [textFor('q', q, N)] });
  upMs.push(performance.now() - t0);
}
out.c1.upstreamEmbed = summary(upMs);
await up.close();

/** The same SQL through the adapter straight to the store, with ballast's session settings. */
async function storeSql(makePool) {
  const { PgVectorStore } = await import(pathToFileURL(path.join(ROOT, 'dist', 'retrieval', 'store', 'pg-vector.store.js')).href);
  const direct = await makePool();
  await direct.query(`SET hnsw.ef_search = ${EF_SEARCH}`);
  await direct.query('SET hnsw.iterative_scan = strict_order');
  const adapter = new PgVectorStore({ pool: async () => direct }, { m: 16, efConstruction: 64 });
  const collection = await adapter.findCollection(name);
  const vec = [];
  const find = [];
  const text = [];
  for (let q = 0; q < QUERIES; q++) {
    const literal = `[${Array.from(vectorFor('q', q, N, DIMS), (x) => x.toFixed(6)).join(',')}]`;
    let t0 = performance.now();
    await adapter.searchVector(collection, literal, 10, []);
    vec.push(performance.now() - t0);
    t0 = performance.now();
    await adapter.findCollection(name);
    find.push(performance.now() - t0);
    t0 = performance.now();
    await adapter.searchText(collection, textFor('q', q, N), 10, []);
    text.push(performance.now() - t0);
  }
  await direct.end();
  return { vector: summary(vec), findCollection: summary(find), text: summary(text) };
}
if (backend === 'pg') out.storeSql = await storeSql(async () => new pg.Pool({ connectionString: storeUrl, max: 1 }));

// c=16 per mode with /health probed
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
let running = true; const ms = [];
parentPort.on('message', () => { running = false; });
(async () => {
  while (running) {
    const t0 = performance.now();
    try { const r = await fetch(workerData + '/health'); await r.arrayBuffer(); ms.push(performance.now() - t0); } catch { ms.push(Infinity); }
    await new Promise((r) => setTimeout(r, 10));
  }
  parentPort.postMessage(ms);
})();`;
for (const mode of C16_SECONDS > 0 ? MODES : []) {
  mark('c16');
  const probe = new Worker(PROBE, { eval: true, workerData: bal.origin });
  const probed = new Promise((resolve) => probe.once('message', resolve));
  const ms = [];
  const end = performance.now() + C16_SECONDS * 1000;
  let q = 1000;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await post(pool, `/collections/${name}/search`, query(q++, mode));
      ms.push(performance.now() - t0);
    }
  }));
  probe.postMessage('stop');
  mark('c16');
  const health = lib.sortNum(await probed);
  await probe.terminate();
  const s = lib.sortNum(ms);
  out.c16[mode] = { rps: Math.round(ms.length / C16_SECONDS), p50: p(s, 50), p99: p(s, 99), healthP50: p(health, 50), healthP99: p(health, 99), healthMax: p(health, 100) };
}
await pool.close();
await lib.stopChild(bal.cp);
if (process.env.LOG_COPY) fs.copyFileSync(bal.logFile, process.env.LOG_COPY);
if (backend === 'embedded') {
  const db = await PGlite.create({ dataDir: env.DATA_DIR, extensions: { vector: pgvectorExtension } });
  class DirectClient extends pg.Client {
    constructor(config) {
      super({ ...config, connection: new PglitePgConnection({ pglite: db }) });
    }
  }
  out.storeSql = await storeSql(async () => new pg.Pool({ Client: DirectClient, max: 1 }));
  await db.close();
}
if (store) await lib.stopChild(store);
await lib.stopChild(upstream.cp);
console.log(JSON.stringify(out));
process.exit(0);
