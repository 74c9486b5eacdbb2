// Experiment: a c=1 vector search through ballast (embedded store) against its floor, on the data of
// retrieval-search.mjs (B=embedded, run it first to ingest). Per query, in turn: ballast (embeddings cache
// off as in the benchmark, or CACHE=<entries>: on, filled by the warm pass, and the bare server's too), the bare server
// (bench/retrieval-bare.mjs: node:http, the upstream call, a worker owning PGlite, nothing else), and the
// same SQL in this thread (the "store SQL"). Each on its own copy of the store. QUERIES (1010,
// first 10 dropped) after an unmeasured pass. One JSON line out: p50/p99 of each and the p99 ratios.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { PGlite } from '@electric-sql/pglite';
import { vector as pgvectorExtension } from '@electric-sql/pglite-pgvector';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..', '..');
const lib = await import(pathToFileURL(path.join(ROOT, 'bench', 'lib.mjs')).href);
const { textFor, vectorFor } = await import(pathToFileURL(path.join(ROOT, 'bench', 'retrieval-data.mjs')).href);
const N = Number(process.env.N ?? 10_000);
const DIMS = Number(process.env.DIMS ?? 384);
const DATA = process.env.DATA ?? `/tmp/ballast-rs-embedded-${N}x${DIMS}`;
const QUERIES = Number(process.env.QUERIES ?? 1010);
const EF_SEARCH = 100;
const name = `bench-${N}-${DIMS}`;
if (!fs.existsSync(path.join(DATA, 'ingested'))) throw new Error(`${DATA} not ingested: run B=embedded N=${N} DIMS=${DIMS} node bench/experiments/retrieval-search.mjs first`);

const copyOf = (to) => {
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(path.join(DATA, 'embedded'), to, { recursive: true });
  fs.rmSync(path.join(to, 'ballast.lock'), { force: true });
  return to;
};
const { storeAdapter, storePool } = await import(pathToFileURL(path.join(ROOT, 'bench', 'retrieval-store.mjs')).href);
const db = await PGlite.create({ dataDir: copyOf(path.join(DATA, 'floor-sql')), extensions: { vector: pgvectorExtension } });
const directPool = await storePool({ pglite: db }, EF_SEARCH);
const { store, collection } = await storeAdapter(directPool, name);

const upstream = await lib.startForked(path.join(ROOT, 'bench', 'retrieval-upstream.mjs'), 'retrieval-upstream', { DIMS: String(DIMS) });
const bare = await lib.startForked(path.join(ROOT, 'bench', 'retrieval-bare.mjs'), 'retrieval-bare', {
  DATA_DIR: copyOf(path.join(DATA, 'floor-bare')), COLLECTION: name, EF_SEARCH: String(EF_SEARCH), UPSTREAM_ORIGIN: upstream.origin, EMBED_CACHE: (process.env.CACHE ?? '0') === '0' ? '0' : '1',
});
const env = { RETRIEVAL_ENABLED: 'true', EMBEDDING_MODEL: 'bench-embed', EMBEDDINGS_CACHE_SIZE: process.env.CACHE ?? '0', RETRIEVAL_HNSW_EF_SEARCH: String(EF_SEARCH), LOG_LEVEL: 'warn', DATA_DIR: path.join(DATA, 'embedded') };
const startArgs = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start.split(' ').filter((a) => a.startsWith('--'));
const bal = await lib.startBallast('undici', upstream.origin, { name: 'ballast-embedded', env, nodeArgs: startArgs });
await lib.waitVectorStoreUp(bal.origin);
const ballastPool = new Pool(bal.origin, { connections: 1, keepAliveTimeout: 60_000 });
const barePool = new Pool(bare.origin, { connections: 1, keepAliveTimeout: 60_000 });
const search = async (pool, q) => {
  const res = await pool.request({ method: 'POST', path: `/collections/${name}/search`, headers: lib.JSON_HEADERS, body: JSON.stringify({ query: textFor('q', q, N), mode: 'vector', top_k: 10 }) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text).results.length;
};
const literal = (q) => `[${Array.from(vectorFor('q', q, N, DIMS), (x) => x.toFixed(6)).join(',')}]`;
const timed = async (fn) => { const t0 = performance.now(); await fn(); return performance.now() - t0; };
const samples = { ballast: [], bare: [], sql: [] };
for (const measured of [false, true]) {
  for (let q = 0; q < QUERIES; q++) {
    const b = await timed(() => search(ballastPool, q));
    const f = await timed(() => search(barePool, q));
    const s = await timed(() => store.searchVector(collection, literal(q), 10, []));
    if (measured && q >= 10) { samples.ballast.push(b); samples.bare.push(f); samples.sql.push(s); }
  }
}
await ballastPool.close();
await barePool.close();
await lib.stopChild(bal.cp);
await lib.stopChild(bare.cp);
await lib.stopChild(upstream.cp);
await directPool.end();
await db.close();
const at = (ms, q) => Number(lib.percentile(lib.sortNum(ms), q).toFixed(2));
const out = { N, DIMS, load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') };
for (const [k, ms] of Object.entries(samples)) out[k] = { p50: at(ms, 50), p99: at(ms, 99) };
out.ratioP99 = { ballastToSql: Number((out.ballast.p99 / out.sql.p99).toFixed(2)), bareToSql: Number((out.bare.p99 / out.sql.p99).toFixed(2)), ballastToBare: Number((out.ballast.p99 / out.bare.p99).toFixed(2)) };
console.log(JSON.stringify(out));
process.exit(0);
