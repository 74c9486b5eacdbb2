// Uncached embeddings throughput and CPU per call (from /proc), ballast vs the bare relay in front
// of the fast upstream, in interleaved rounds (issue 22). After `npm run build && npx tsc -p
// bench/tsconfig.json`: `node bench/experiments/emb-uncached.mjs`. Env: ROUNDS (4), SECONDS_PER (5),
// PATHS (native,base64; also float), BALLAST_ENV (JSON: more env for ballast, e.g.
// '{"EMBEDDINGS_CACHE_SIZE":"0"}'), NODE_ARGS_B (ballast's node flags, e.g. with --trace-gc or
// --perf-basic-prof-only-functions), PROFILE_WAIT=1 (print ballast's pid, for `perf record -p`),
// WARM_CALLS (uncached calls per build before the rounds, default 1700: past the cache's fill), KEEP_LOG=<file> (copy ballast's log there at the end, e.g. the --trace-gc lines), ENTRIES (more
// builds to interleave beside dist/main.js, comma-separated, e.g. .variants/base/dist/main.js, or
// 'dist/main.js|--max-semi-space-size=64 --single-threaded-gc' for the same build under other flags, or
// 'dist/main.js||{"EMBEDDINGS_BATCH_SIZE":"64";"EMBEDDINGS_CONCURRENCY":"16"}' under more env (JSON, ';' for ',').
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { Pool } from 'undici';
import { f0, f2, JSON_HEADERS, median, procCpuMs, ROOT, startBallast, startForked, startRelay, stopChild, BALLAST_NODE_ARGS } from '../lib.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const SECONDS = Number(process.env.SECONDS_PER ?? 5);
const PATHS = (process.env.PATHS ?? 'native,base64').split(',');
let seq = 0;
const texts = () => { const c = ++seq; return Array.from({ length: 64 }, (_, i) => `wire ${c} ${i} the quick brown fox jumps over the lazy dog`); };
const bodyFor = (kind) => kind === 'native' ? JSON.stringify({ texts: texts() }) : JSON.stringify({ model: 'text-embedding-3-small', input: texts(), encoding_format: kind });
const pathFor = (kind, relay) => (kind === 'native' && !relay ? '/embeddings' : '/v1/embeddings');

async function loop(origin, kind, relay, pid) {
  const pool = new Pool(origin, { connections: 16, keepAliveTimeout: 60000 });
  const warm = performance.now() + 1000, end = warm + SECONDS * 1000;
  let calls = 0, cpu0;
  const w = async () => {
    while (performance.now() < end) {
      const res = await pool.request({ method: 'POST', path: pathFor(kind, relay), headers: JSON_HEADERS, body: bodyFor(relay && kind === 'native' ? 'float' : kind) });
      for await (const chunk of res.body) void chunk; // read whole: dump() closes the connection past 128 KB
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      const now = performance.now();
      if (now >= warm && now <= end) calls++;
    }
  };
  setTimeout(() => { cpu0 = procCpuMs(pid); }, 1000);
  await Promise.all(Array.from({ length: 16 }, w));
  const cpu = procCpuMs(pid) - cpu0;
  await pool.close();
  return { rate: calls / SECONDS, cpuPerCall: cpu / calls };
}

const fast = await startForked(path.join(ROOT, 'bench', 'fast-embeddings-upstream.mjs'), 'fast', { MODE: 'fast' });
const relay = await startRelay(fast.origin);
const nodeArgs = process.env.NODE_ARGS_B ? process.env.NODE_ARGS_B.split(' ') : BALLAST_NODE_ARGS;
const entries = ['dist/main.js', ...(process.env.ENTRIES ? process.env.ENTRIES.split(',') : [])];
const builds = [];
for (const spec of entries) {
  // `path` or `path|node flags` (the same build under other flags).
  const [entry, flags, envJson] = spec.split('|');
  const args = flags === undefined || flags === '' ? nodeArgs : flags.split(' ').filter(Boolean);
  const env = { LOG_LEVEL: 'warn', ...JSON.parse(process.env.BALLAST_ENV ?? '{}'), ...JSON.parse((envJson ?? '{}').replaceAll(';', ',')) };
  builds.push({ entry: spec, bal: await startBallast('undici', fast.origin, { name: `b ${spec}`, entry, nodeArgs: args, env }) });
}
const bal = builds[0].bal;
if (process.env.PROFILE_WAIT) { console.log('ballast pid', bal.cp.pid, 'origin', bal.origin); }
const res = {};
try {
  // WARM_CALLS (default 1700, ~109k texts): past the default cache's fill (100k), so rounds measure a
  // cache in its steady state (evicting as it stores), as a server that has been up a while runs.
  const warmCalls = Number(process.env.WARM_CALLS ?? 1700);
  for (const { bal: b } of builds) {
    const pool = new Pool(b.origin, { connections: 16 });
    let left = warmCalls;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (left-- > 0) {
        const r = await pool.request({ method: 'POST', path: '/embeddings', headers: JSON_HEADERS, body: bodyFor('native') });
        for await (const chunk of r.body) void chunk;
      }
    }));
    await pool.close();
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of PATHS) {
      const order = ['relay', ...builds.map((_, i) => i)];
      if (r % 2) order.reverse();
      for (const who of order) {
        const x = who === 'relay' ? await loop(relay.origin, kind, true, relay.cp.pid) : await loop(builds[who].bal.origin, kind, false, builds[who].bal.cp.pid);
        (res[`${kind} ${who}`] ??= []).push(x);
      }
    }
  }
  for (const kind of PATHS) {
    const R = res[`${kind} relay`];
    console.log(`${kind}: relay ${f0(median(R.map((x) => x.rate)))}/s ${f2(median(R.map((x) => x.cpuPerCall)))} ms cpu`);
    builds.forEach(({ entry }, i) => {
      const B = res[`${kind} ${i}`];
      console.log(`  ${entry}: ${f0(median(B.map((x) => x.rate)))}/s ${f2(median(B.map((x) => x.cpuPerCall)))} ms cpu (${B.map((x) => f2(x.cpuPerCall)).join(' ')}); ratios ${B.map((b, j) => f2(b.rate / R[j].rate)).join(' ')}`);
    });
  }
} finally {
  for (const { bal: b } of builds) await stopChild(b.cp);
  await stopChild(relay.cp); await stopChild(fast.cp);
  if (process.env.KEEP_LOG) fs.copyFileSync(bal.logFile, process.env.KEEP_LOG);
}
