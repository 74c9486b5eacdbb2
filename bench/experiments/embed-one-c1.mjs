// Experiment: one short text embedded at c=1, through ballast (/v1/embeddings, /embeddings) vs the upstream asked
// directly (retrieval-upstream.mjs, answers at once), interleaved blocks of BLOCK calls, ROUNDS rounds; embeddings
// cache off (every call goes upstream). p50 / p99 per target and ballast's Server-Timing split. One JSON line.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(process.env.ROOT ?? path.join(here, '..', '..'));
const lib = await import(pathToFileURL(path.join(ROOT, 'bench', 'lib.mjs')).href);
const BLOCK = Number(process.env.BLOCK ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const upstream = await lib.startForked(path.join(ROOT, 'bench', 'retrieval-upstream.mjs'), 'retrieval-upstream', { DIMS: '384' });
const env = { EMBEDDING_MODEL: 'bench-embed', EMBEDDINGS_CACHE_SIZE: '0', LOG_LEVEL: 'warn', RETRIEVAL_ENABLED: 'false', ...JSON.parse(process.env.BALLAST_ENV ?? '{}') };
const bal = await lib.startBallast('undici', upstream.origin, { name: 'ballast-embed-one', env });
const pools = { direct: new Pool(upstream.origin, { connections: 1 }), v1: new Pool(bal.origin, { connections: 1 }), own: new Pool(bal.origin, { connections: 1 }) };
const bodies = {
  direct: (t) => ({ path: '/v1/embeddings', body: { model: 'bench-embed', input: [t] } }),
  v1: (t) => ({ path: '/v1/embeddings', body: { model: 'bench-embed', input: [t], encoding_format: 'base64' } }),
  own: (t) => ({ path: '/embeddings', body: { texts: [t] } }),
};
const ms = { direct: [], v1: [], own: [] };
const split = { v1: { ballast: [], upstream: [] }, own: { ballast: [], upstream: [] } };
let seq = 0;
async function block(target, measure) {
  for (let i = 0; i < BLOCK; i++) {
    const { path: p, body } = bodies[target](`q${seq++}x1000 topic${seq % 10} alpha bravo`);
    const t0 = performance.now();
    const res = await pools[target].request({ method: 'POST', path: p, headers: lib.JSON_HEADERS, body: JSON.stringify(body) });
    await res.body.text();
    const t = performance.now() - t0;
    if (res.statusCode !== 200) throw new Error(`${target}: ${res.statusCode}`);
    if (!measure) continue;
    ms[target].push(t);
    if (split[target]) for (const m of String(res.headers['server-timing']).matchAll(/(\w+);dur=([\d.]+)/g)) split[target][m[1]]?.push(Number(m[2]));
  }
}
for (const target of Object.keys(ms)) await block(target, false);
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? ['own', 'v1', 'direct'] : ['direct', 'v1', 'own'];
  for (const target of order) await block(target, true);
}
const pct = (a, q) => Number(lib.percentile(lib.sortNum(a), q).toFixed(3));
const out = { root: ROOT, env: process.env.BALLAST_ENV ?? '' };
for (const [k, v] of Object.entries(ms)) out[k] = { p50: pct(v, 50), p99: pct(v, 99) };
for (const [k, v] of Object.entries(split)) out[k].split = { ballastP50: pct(v.ballast, 50), upstreamP50: pct(v.upstream, 50) };
for (const p of Object.values(pools)) await p.close();
await lib.stopChild(bal.cp);
await lib.stopChild(upstream.cp);
console.log(JSON.stringify(out));
process.exit(0);
