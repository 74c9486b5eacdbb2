// Experiment: what re-sending documents costs. Ingests N one-chunk documents (200 a call, 2 calls in flight) into a
// fresh embedded store (ROOT=<checkout> runs that checkout's dist/), then sends the same N again unchanged, then again
// with every tenth text changed; times each pass and counts the chunk rows PostgreSQL holds (dead ones included).
// One JSON line out. `node bench/experiments/retrieval-resync.mjs` (N, DIMS).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(process.env.ROOT ?? path.join(here, '..', '..'));
const lib = await import(pathToFileURL(path.join(ROOT, 'bench', 'lib.mjs')).href);
const { textFor } = await import(pathToFileURL(path.join(ROOT, 'bench', 'retrieval-data.mjs')).href);
const N = Number(process.env.N ?? 2000);
const DIMS = Number(process.env.DIMS ?? 384);
const dataDir = lib.benchTempDir('ballast-resync-');
const upstream = await lib.startForked(path.join(ROOT, 'bench', 'retrieval-upstream.mjs'), 'retrieval-upstream', { DIMS: String(DIMS) });
const env = { RETRIEVAL_ENABLED: 'true', EMBEDDING_MODEL: 'bench-embed', LOG_LEVEL: 'warn', DATA_DIR: dataDir };
const bal = await lib.startBallast('undici', upstream.origin, { name: 'ballast-resync', env });
const pool = new Pool(bal.origin, { connections: 4, headersTimeout: 600_000, bodyTimeout: 600_000 });
const post = lib.jsonPoster(pool);
await lib.waitVectorStoreUp(bal.origin);
const name = 'resync';
await post('/collections', { name });
async function pass(change) {
  const calls = Math.ceil(N / 200);
  let next = 0;
  let embedded = 0;
  const t0 = performance.now();
  await Promise.all([0, 1].map(async () => {
    while (next < calls) {
      const c = next++;
      const documents = [];
      for (let i = c * 200; i < Math.min(N, (c + 1) * 200); i++) documents.push({ id: `v${i}`, text: textFor('v', i, N) + (change(i) ? ' changed' : ''), metadata: { cluster: i % 7 } });
      const answer = await post(`/collections/${name}/documents`, { documents });
      embedded += answer.embedded_chunks;
    }
  }));
  return { seconds: Number(((performance.now() - t0) / 1000).toFixed(2)), embedded };
}
const out = { root: ROOT, N, DIMS };
out.first = await pass(() => false);
out.unchanged = await pass(() => false);
out.tenthChanged = await pass((i) => i % 10 === 0);
await pool.close();
await lib.stopChild(bal.cp);
await lib.stopChild(upstream.cp);
// Heap size of the chunks table as the store holds it (dead rows take room until a VACUUM).
const { PGlite } = await import('@electric-sql/pglite');
const { vector } = await import('@electric-sql/pglite-pgvector');
fs.rmSync(path.join(dataDir, 'ballast.lock'), { force: true });
const db = await PGlite.create({ dataDir, extensions: { vector } });
const size = await db.query(`SELECT pg_relation_size('retrieval_chunks')::float8 AS heap, pg_indexes_size('retrieval_chunks')::float8 AS indexes, (SELECT count(*) FROM retrieval_chunks)::int AS live`);
out.store = { heapMiB: Number((size.rows[0].heap / 2 ** 20).toFixed(1)), indexesMiB: Number((size.rows[0].indexes / 2 ** 20).toFixed(1)), liveRows: size.rows[0].live };
await db.close();
fs.rmSync(dataDir, { recursive: true, force: true });
console.log(JSON.stringify(out));
process.exit(0);
