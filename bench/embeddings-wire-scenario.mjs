// Embeddings at wire speed (issue 22), run by bench/run.mjs (BENCH_ONLY=embeddings-wire) or on its
// own (`node bench/embeddings-wire-scenario.mjs` after `npm run build`): 64 texts x 1536 dims per
// call against a FAST upstream (bench/fast-embeddings-upstream.mjs: answers from precomputed vectors),
// beside the limits measured in the same run:
//   1. cached calls, c=16: ballast (/embeddings, /v1 float, /v1 base64) vs a server that only sends
//      one precomputed answer (the limit for a cache);
//   2. uncached calls, c=16, in interleaved rounds (ratio per round, then the median): ballast vs a
//      bare node:http relay piping the fast upstream (the limit for a proxy) vs going direct; ballast's
//      cache filled past its size first (steady state: every miss stores one vector and evicts one);
//   3. a fixed 25 uncached calls/s: /health p50/p99 (bench/health-probe.mjs, its own process) and call
//      p50/p99, ballast vs the relay;
//   4. memory per cached vector: RSS and heap before/after filling the cache with N vectors, as floats
//      and as base64.
// The load client reads every answer to its last byte without decoding it (so the bench process's own
// CPU stays small on the 2 shared cores); every 25th answer is parsed and checked in full.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { openLoop } from './load-gen.mjs';
import { f0, f1, f2, JSON_HEADERS, mdTable, median, percentile, QUICK, ROOT, runStandalone, sleep, sortNum, startBallast, startForked, startRelay, stopChild } from './lib.mjs';

const FAST_ENTRY = path.join(ROOT, 'bench', 'fast-embeddings-upstream.mjs');
const PROBE_ENTRY = path.join(ROOT, 'bench', 'health-probe.mjs');
const DIMS = 1536;
const TEXTS = 64;
const CFG = QUICK
  ? { concurrency: 16, warmupMs: 500, durationMs: 2000, rate: 25, fixedMs: 3000, memVectors: 10_000, rounds: 2, steadyFill: 12_000 }
  : { concurrency: 16, warmupMs: 1500, durationMs: 5000, rate: 25, fixedMs: 8000, memVectors: 100_000, rounds: 4, steadyFill: 110_000 };

let seq = 0;
const uniqueTexts = (n = TEXTS) => {
  const call = ++seq;
  return Array.from({ length: n }, (_, i) => `wire ${call} ${i} the quick brown fox jumps over the lazy dog`);
};
const CACHED_TEXTS = Array.from({ length: TEXTS }, (_, i) => `wire cached ${i} the quick brown fox jumps over the lazy dog`);

/** The answer's vectors (any of the three shapes), for the checks. */
function vectorsOf(text) {
  const body = JSON.parse(text);
  if (Array.isArray(body.embeddings)) return body.embeddings;
  return body.data.map((d) => (typeof d.embedding === 'string' ? Array.from(new Float32Array(new Uint8Array(Buffer.from(d.embedding, 'base64')).buffer)) : d.embedding));
}

function check(text, n) {
  const vectors = vectorsOf(text);
  if (vectors.length !== n) return `${vectors.length} vectors for ${n} texts`;
  if (vectors.some((v) => v.length !== DIMS)) return `a vector is not ${DIMS} numbers`;
  return null;
}

/** A closed loop of `concurrency` workers for `warmupMs + durationMs`; calls/s counted over the measured part. */
async function closedLoop(origin, { path: reqPath, body, concurrency, warmupMs, durationMs }) {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const t0 = performance.now();
  const measureFrom = t0 + warmupMs;
  const end = measureFrom + durationMs;
  let calls = 0;
  let n = 0;
  const lat = [];
  let problem = null;
  const worker = async () => {
    while (performance.now() < end) {
      const { text: sent, n: texts } = body();
      const started = performance.now();
      const res = await pool.request({ method: 'POST', path: reqPath, headers: JSON_HEADERS, body: sent });
      const verify = n++ % 25 === 0 || res.statusCode !== 200;
      const chunks = [];
      for await (const chunk of res.body) if (verify) chunks.push(chunk);
      const done = performance.now();
      if (verify) {
        const text = Buffer.concat(chunks).toString();
        problem ??= res.statusCode !== 200 ? `status ${res.statusCode}: ${text.slice(0, 200)}` : check(text, texts);
      }
      if (started >= measureFrom && done <= end) {
        calls++;
        lat.push(done - started);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  const s = sortNum(lat);
  return { rate: calls / (durationMs / 1000), p50: percentile(s, 50), p99: percentile(s, 99), problem };
}

const v1Body = (format, texts) => JSON.stringify({ model: 'text-embedding-3-small', input: texts, encoding_format: format });
const bodies = {
  nativeCached: () => ({ text: JSON.stringify({ texts: CACHED_TEXTS }), n: TEXTS }),
  floatCached: () => ({ text: v1Body('float', CACHED_TEXTS), n: TEXTS }),
  base64Cached: () => ({ text: v1Body('base64', CACHED_TEXTS), n: TEXTS }),
  native: () => ({ text: JSON.stringify({ texts: uniqueTexts() }), n: TEXTS }),
  float: () => ({ text: v1Body('float', uniqueTexts()), n: TEXTS }),
  base64: () => ({ text: v1Body('base64', uniqueTexts()), n: TEXTS }),
};

async function probeHealth(probe, n, intervalMs) {
  return new Promise((resolve) => {
    const id = Math.random();
    probe.cp.on('message', function onMsg(m) {
      if (m?.type === 'probe-result' && m.id === id) {
        probe.cp.off('message', onMsg);
        resolve(m);
      }
    });
    probe.cp.send({ type: 'probe', id, n, warmup: 20, intervalMs });
  });
}

/** A fixed rate of uncached calls to `origin` while /health is probed every 10 ms from its own process. */
async function fixedRate(origin, reqPath, body) {
  const probe = await startForked(PROBE_ENTRY, 'health-probe', { PROBE_ORIGIN: origin });
  const pool = new Pool(origin, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });
  try {
    const probing = probeHealth(probe, Math.floor(CFG.fixedMs / 12), 10);
    const run = await openLoop(pool, { rate: CFG.rate, makeRequest: () => ({ kind: 'emb', path: reqPath, body: body().text }), warmupMs: 500, durationMs: CFG.fixedMs });
    const health = await probing;
    const lat = sortNum(run.records.filter((r) => r.status === 200).map((r) => r.end - r.start));
    const bad = run.records.filter((r) => r.status !== 200).length;
    const h = sortNum(health.ms);
    return { healthP50: percentile(h, 50), healthP99: percentile(h, 99), callP50: percentile(lat, 50), callP99: percentile(lat, 99), bad };
  } finally {
    await pool.close();
    await stopChild(probe.cp);
  }
}

async function scrape(origin) {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: value('process_resident_memory_bytes'), heap: value('nodejs_heap_size_used_bytes'), cache: value('ballast_embeddings_cache_bytes'), entries: value('ballast_embeddings_cache_entries') };
}

/** Fills a fresh ballast's cache with `n` vectors through `reqPath`, 256 texts a call, 4 at a time. */
async function fill(origin, n, reqPath, makeBody) {
  const pool = new Pool(origin, { connections: 4, keepAliveTimeout: 60_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  let sent = 0;
  const worker = async () => {
    while (sent < n) {
      const texts = uniqueTexts(Math.min(256, n - sent));
      sent += texts.length;
      const res = await pool.request({ method: 'POST', path: reqPath, headers: JSON_HEADERS, body: makeBody(texts) });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`fill: status ${res.statusCode}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await pool.close();
}

async function memoryPerVector(fastOrigin, form) {
  const bal = await startBallast('undici', fastOrigin, { name: `ballast-mem-${form}`, env: { EMBEDDINGS_CACHE_SIZE: String(CFG.memVectors + 1000), LOG_LEVEL: 'warn' } });
  try {
    await fill(bal.origin, 512, '/embeddings', (texts) => JSON.stringify({ texts })); // code paths warm
    await sleep(500);
    const before = await scrape(bal.origin);
    const path_ = form === 'float' ? '/embeddings' : '/v1/embeddings';
    await fill(bal.origin, CFG.memVectors, path_, (texts) => (form === 'float' ? JSON.stringify({ texts }) : v1Body('base64', texts)));
    await sleep(1000);
    const after = await scrape(bal.origin);
    const vectors = after.entries - before.entries;
    return { form, vectors, rssKb: (after.rss - before.rss) / vectors / 1024, heapKb: (after.heap - before.heap) / vectors / 1024, cacheKb: (after.cache - before.cache) / vectors / 1024 };
  } finally {
    await stopChild(bal.cp);
  }
}

export async function runEmbeddingsWire() {
  const problems = [];
  const started = [];
  const note = (name, r) => r.problem && problems.push(`${name}: ${r.problem}`);
  try {
    const fast = await startForked(FAST_ENTRY, 'fast-embeddings', { MODE: 'fast' });
    const pre = await startForked(FAST_ENTRY, 'precomputed-embeddings', { MODE: 'precomputed' });
    started.push(fast, pre);
    const relay = await startRelay(fast.origin);
    started.push(relay);
    const bal = await startBallast('undici', fast.origin, { name: 'ballast-wire', env: { LOG_LEVEL: 'warn' } });
    started.push(bal);
    const loop = (origin, reqPath, body) => closedLoop(origin, { path: reqPath, body, concurrency: CFG.concurrency, warmupMs: CFG.warmupMs, durationMs: CFG.durationMs });

    console.log('  1. cached calls, c=16');
    const cached = {
      preFloat: await loop(pre.origin, '/v1/embeddings', bodies.floatCached),
      native: await loop(bal.origin, '/embeddings', bodies.nativeCached),
      float: await loop(bal.origin, '/v1/embeddings', bodies.floatCached),
      preBase64: await loop(pre.origin, '/v1/embeddings-base64', bodies.base64Cached),
      base64: await loop(bal.origin, '/v1/embeddings', bodies.base64Cached),
    };
    Object.entries(cached).forEach(([k, r]) => note(`cached ${k}`, r));

    console.log(`  2. uncached calls, c=16, ${CFG.rounds} interleaved rounds`);
    // Past the cache's fill first (its 100,000 entries by default, and the memory they take), so the
    // rounds measure what a server that has been up a while does on a miss: store and evict.
    await fill(bal.origin, CFG.steadyFill, '/embeddings', (texts) => JSON.stringify({ texts }));
    // Each ballast loop runs right after (or, in odd rounds, right before) the relay loop it is
    // compared with, and the ratio is taken per round: other work on the shared cores moves both alike.
    const pairs = [
      ['native', 'relay', bodies.native, '/embeddings', bodies.float],
      ['float', 'relay', bodies.float, '/v1/embeddings', bodies.float],
      ['base64', 'relayBase64', bodies.base64, '/v1/embeddings', bodies.base64],
    ];
    const runs = { direct: [], relay: [], relayBase64: [], native: [], float: [], base64: [] };
    const ratios = { native: [], float: [], base64: [] };
    for (let round = 0; round < CFG.rounds; round++) {
      runs.direct.push(await loop(fast.origin, '/v1/embeddings', bodies.float));
      for (const [name, relayName, body, path_, relayBody] of pairs) {
        const viaRelay = () => loop(relay.origin, '/v1/embeddings', relayBody);
        const viaBallast = () => loop(bal.origin, path_, body);
        const [r, b] = round % 2 === 0 ? [await viaRelay(), await viaBallast()] : [...[await viaBallast(), await viaRelay()].reverse()];
        runs[relayName].push(r);
        runs[name].push(b);
        ratios[name].push(b.rate / r.rate);
      }
    }
    const medianRun = (list) => ({ rate: median(list.map((r) => r.rate)), p50: median(list.map((r) => r.p50)), problem: list.find((r) => r.problem)?.problem ?? null });
    const uncached = Object.fromEntries(Object.entries(runs).map(([k, list]) => [k, medianRun(list)]));
    Object.entries(uncached).forEach(([k, r]) => note(`uncached ${k}`, r));
    const perRound = (name) => `${f2(median(ratios[name]))} (${ratios[name].map(f2).join(', ')})`;

    console.log(`  3. a fixed ${CFG.rate} uncached calls/s`);
    const fixed = { relay: await fixedRate(relay.origin, '/v1/embeddings', bodies.float), ballast: await fixedRate(bal.origin, '/embeddings', bodies.native) };
    for (const [k, r] of Object.entries(fixed)) if (r.bad) problems.push(`fixed rate ${k}: ${r.bad} answers not 200`);
    await stopChild(bal.cp);

    console.log(`  4. memory per cached vector (${CFG.memVectors} vectors)`);
    const memory = [await memoryPerVector(fast.origin, 'float'), await memoryPerVector(fast.origin, 'base64')];

    const ratio = (a, b) => f2(a.rate / b.rate);
    const rate = (r) => `${f0(r.rate)} (p50 ${f1(r.p50)} ms)`;
    const markdown = [
      `64 texts x ${DIMS} dims per call; fast upstream = bench/fast-embeddings-upstream.mjs (precomputed float32 vectors, shortest decimals); relay = bench/relay.mjs; c=${CFG.concurrency} closed loops of ${CFG.durationMs / 1000} s after ${CFG.warmupMs / 1000} s warm-up, one after another, same processes; before the uncached rounds, ${CFG.steadyFill} new texts through ballast (its cache past full).`,
      '',
      '**1. Cached calls (c=16), vs one precomputed answer**',
      '',
      mdTable(
        ['', 'calls/s', 'ballast / precomputed', 'target'],
        [
          ['precomputed answer, float', rate(cached.preFloat), '', ''],
          ['ballast `/embeddings`', rate(cached.native), ratio(cached.native, cached.preFloat), '≥ 0.4'],
          ['ballast `/v1/embeddings` float', rate(cached.float), ratio(cached.float, cached.preFloat), '≥ 0.4'],
          ['precomputed answer, base64', rate(cached.preBase64), '', ''],
          ['ballast `/v1/embeddings` base64', rate(cached.base64), ratio(cached.base64, cached.preBase64), '≥ 0.4'],
        ],
        ['l', 'r', 'r', 'r'],
      ),
      '',
      '**2. Uncached calls (c=16), vs the bare relay in front of the same fast upstream**',
      '',
      mdTable(
        ['', 'calls/s (median of rounds)', 'vs relay: median of per-round ratios (each round)', 'target'],
        [
          ['direct to the fast upstream', rate(uncached.direct), ratio(uncached.direct, uncached.relay), ''],
          ['bare relay, float', rate(uncached.relay), '1.00', ''],
          ['ballast `/embeddings`', rate(uncached.native), perRound('native'), '≥ 0.7'],
          ['ballast `/v1/embeddings` float', rate(uncached.float), perRound('float'), '≥ 0.7'],
          ['bare relay, base64', rate(uncached.relayBase64), '1.00', ''],
          ['ballast `/v1/embeddings` base64', rate(uncached.base64), perRound('base64'), '≥ 0.7'],
        ],
        ['l', 'r', 'r', 'r'],
      ),
      '',
      `**3. A fixed ${CFG.rate} uncached calls/s for ${CFG.fixedMs / 1000} s** (/health every 10 ms from its own process)`,
      '',
      mdTable(
        ['', '/health p50 / p99 ms', 'call p50 / p99 ms'],
        [
          ['bare relay', `${f1(fixed.relay.healthP50)} / ${f1(fixed.relay.healthP99)}`, `${f1(fixed.relay.callP50)} / ${f1(fixed.relay.callP99)}`],
          ['ballast `/embeddings`', `${f1(fixed.ballast.healthP50)} / ${f1(fixed.ballast.healthP99)}`, `${f1(fixed.ballast.callP50)} / ${f1(fixed.ballast.callP99)}`],
          ['target', `p99 ≤ max(20, 2x relay's) = ${f1(Math.max(20, 2 * fixed.relay.healthP99))}`, `p99 ≤ 2x relay's = ${f1(2 * fixed.relay.callP99)}`],
        ],
        ['l', 'r', 'r'],
      ),
      '',
      `**4. Memory per cached ${DIMS}-dim vector** (a fresh ballast, ${CFG.memVectors} vectors; RSS and heap from its /metrics; target ≤ 20 KB)`,
      '',
      mdTable(
        ['cached as', 'vectors', 'RSS KB / vector', 'heap KB / vector', 'cache bytes KB / vector'],
        memory.map((m) => [m.form === 'float' ? 'floats (`/embeddings`: the upstream text)' : 'base64 (`/v1` base64: the upstream base64 text)', String(m.vectors), f1(m.rssKb), f2(m.heapKb), f1(m.cacheKb)]),
        ['l', 'r', 'r', 'r', 'r'],
      ),
    ].join('\n');
    return { markdown, problems, cached, uncached, fixed, memory };
  } finally {
    for (const s of started) await stopChild(s.cp);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runStandalone('Embeddings at wire speed', 'embeddings-wire.md', `${QUICK ? 'BENCH_QUICK=1 ' : ''}node bench/embeddings-wire-scenario.mjs`, runEmbeddingsWire);
}
