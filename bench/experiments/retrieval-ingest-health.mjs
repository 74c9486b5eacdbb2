// Experiment, cited in docs/benchmarks.md, "Retrieval": /health p99 while ingesting, alone and fast, for A/B of two builds.
// The ingest phase of retrieval-scenario.mjs (N one-chunk documents, 200 per call, 2 calls in flight,
// embeddings from retrieval-upstream.mjs) with /health probed every 10 ms, on one store path (B=embedded
// or pg: a PGlite socket server in its own process). ROOT=<checkout> runs that checkout's dist/ (default:
// this one), so two builds can be interleaved: `ROOT=/tmp/before B=pg N=10000 node <this file>`.
// BALLAST_ARGS adds Node flags to ballast (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p` or `--trace-gc`;
// its log is copied to LOG_COPY if set). Prints one JSON line: ingest rate, /health p50 / p99 / max.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(process.env.ROOT ?? path.join(here, '..', '..'));
const lib = await import(path.join(ROOT, 'bench', 'lib.mjs'));
const { textFor } = await import(path.join(ROOT, 'bench', 'retrieval-data.mjs'));
const backend = process.env.B ?? 'pg';
const N = Number(process.env.N ?? 10_000);
const DIMS = Number(process.env.DIMS ?? 384);
const startArgs = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start.split(' ').filter((a) => a.startsWith('--'));
// After the start script's flags, so that one of its flags given again here wins.
const nodeArgs = [...startArgs, ...(process.env.BALLAST_ARGS ?? '').split(' ').filter(Boolean)];

const upstream = await lib.startForked(path.join(ROOT, 'bench', 'retrieval-upstream.mjs'), 'retrieval-upstream', { DIMS: String(DIMS) });
const dataDir = lib.benchTempDir('ballast-ingest-health-');
const env = { RETRIEVAL_ENABLED: 'true', EMBEDDING_MODEL: 'bench-embed', EMBEDDINGS_CACHE_SIZE: '0', LOG_LEVEL: 'warn' };
let store;
if (backend === 'pg') {
  store = lib.track(spawn(process.execPath, [path.join(ROOT, 'test', 'support', 'pglite-socket-server.mjs'), path.join(dataDir, 'pg'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] }), 'pglite-socket');
  const port = await new Promise((resolve) => {
    let out = '';
    store.stdout.on('data', (c) => { out += c; const m = /listening (\d+)/.exec(out); if (m) resolve(m[1]); });
  });
  Object.assign(env, { DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, DATABASE_POOL_MAX: '4' });
} else env.DATA_DIR = path.join(dataDir, 'embedded');
const bal = await lib.startBallast('undici', upstream.origin, { name: `ballast-${backend}`, env, nodeArgs });
const pool = new Pool(bal.origin, { connections: 4 });
const post = lib.jsonPoster(pool);
await lib.waitVectorStoreUp(bal.origin);
await post('/collections', { name: 'ingest' });

let stopProbe;
const probed = new Promise((resolve) => {
  const ms = [];
  let running = true;
  stopProbe = () => (running = false);
  (async () => {
    while (running) {
      const t0 = performance.now();
      await (await fetch(`${bal.origin}/health`)).arrayBuffer();
      ms.push(performance.now() - t0);
      await lib.sleep(10);
    }
    resolve(lib.sortNum(ms));
  })();
});
const calls = Math.ceil(N / 200);
let next = 0;
const t0 = performance.now();
await Promise.all([0, 1].map(async () => {
  while (next < calls) {
    const c = next++;
    const documents = [];
    for (let i = c * 200; i < Math.min(N, (c + 1) * 200); i++) documents.push({ id: `v${i}`, text: textFor('v', i, N), metadata: { cluster: i % 7 } });
    await post('/collections/ingest/documents', { documents });
  }
}));
const seconds = (performance.now() - t0) / 1000;
stopProbe();
const health = await probed;
console.log(JSON.stringify({ root: ROOT, backend, N, DIMS, load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '), rate: N / seconds, healthP50: lib.percentile(health, 50), healthP99: lib.percentile(health, 99), healthMax: health[health.length - 1] }));
await pool.close();
await lib.stopChild(bal.cp);
if (process.env.LOG_COPY) fs.copyFileSync(bal.logFile, process.env.LOG_COPY);
if (store) await lib.stopChild(store);
await lib.stopChild(upstream.cp);
process.exit(0);
