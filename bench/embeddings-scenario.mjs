// Embeddings scenario of the ballast benchmark (run by bench/run.mjs; BENCH_ONLY=embeddings runs it
// alone): 64 texts per call, 32 concurrent callers, through ballast `POST /embeddings` vs the seed's
// approach (bench/seed-embeddings.mjs: one upstream request per text, all at once), both against the
// same fake upstream process.
//
// Load: a closed loop of 32 workers on one undici Pool (32 keep-alive connections); every call gets a
// freshly generated body, so in the "unique" rows no text is ever sent twice in the whole run and
// ballast's cache cannot answer anything (the "repeated" row sends one fixed body: cache hits).
// Each row: warm-up run, then the fake's counters are reset, then the measured run; the run ends when
// the last call started before the deadline has finished, so the counters cover exactly the measured
// calls.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { checkedClosedLoop } from './load-gen.mjs';
import {
  BALLAST_LOG_LEVEL,
  JSON_HEADERS,
  QUICK,
  ROOT,
  f0,
  f1,
  f2,
  mdTable,
  percentile,
  procCpuMs,
  startBallast,
  startForked,
  stopChild,
} from './lib.mjs';

const SEED_ENTRY = path.join(ROOT, 'bench', 'seed-embeddings.mjs');
const FAKE_MODULE = path.join(ROOT, 'dist-bench', 'test', 'support', 'fake-upstream.js');

export const EMB_CFG = QUICK
  ? { textsPerCall: 64, concurrency: 32, warmupSec: 1, durationSec: 2, latencies: [0, 20], dims: 8, verifyEvery: 16 }
  : { textsPerCall: 64, concurrency: 32, warmupSec: 2, durationSec: 8, latencies: [0, 20], dims: 8, verifyEvery: 16 };

/** ballast's embeddings settings for the scenario (all = the documented defaults, except where a row overrides). */
const BALLAST_EMB_ENV = {
  EMBEDDING_MODEL: 'text-embedding-3-small',
  EMBEDDINGS_BATCH_SIZE: '64',
  EMBEDDINGS_CONCURRENCY: '16',
  EMBEDDINGS_CACHE_SIZE: '10000',
  EMBEDDINGS_COALESCE_MS: '2',
};

const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing';
let callSeq = 0;
/** 64 texts never generated before in this process: "bench <call#> <i> lorem ipsum ..." (10 words). */
function uniqueTexts(n) {
  const call = ++callSeq;
  return Array.from({ length: n }, (_, i) => `bench ${call} ${i} ${FILLER} elit`);
}
const REPEATED_TEXTS = Array.from({ length: EMB_CFG.textsPerCall }, (_, i) => `bench repeated ${i} ${FILLER} elit`);
const REPEATED_BODY = JSON.stringify({ texts: REPEATED_TEXTS });

/**
 * Closed-loop load (checkedClosedLoop): `concurrency` workers, each sending its next call as soon as
 * the previous one is answered, until `durationMs` has passed; then waits for the calls still open.
 * Every answer is checked (status 2xx, one vector of `dims` numbers per text); every
 * `verifyEvery`-th call's vectors are compared with fakeEmbedding(text) (right vectors, right order).
 */
async function closedLoop(pool, { concurrency, durationMs, makeTexts, dims, verifyEvery, fakeEmbedding }) {
  let verified = 0;
  let seq = 0;
  const check = (text, texts, verify) => {
    try {
      const e = JSON.parse(text).embeddings;
      if (!Array.isArray(e) || e.length !== texts.length) return `${Array.isArray(e) ? e.length : 'no'} embeddings for ${texts.length} texts`;
      if (e.some((v) => !Array.isArray(v) || v.length !== dims)) return `a vector is not ${dims} numbers`;
      if (!verify) return null;
      verified++;
      for (let i = 0; i < texts.length; i++) {
        const want = fakeEmbedding(texts[i], dims);
        if (want.some((x, k) => x !== e[i][k])) return `embeddings[${i}] is not the vector of texts[${i}]`;
      }
      return null;
    } catch (err) {
      return `unparsable body: ${err.message}`;
    }
  };
  const makeRequest = () => {
    const { texts, body } = makeTexts();
    const verify = seq++ % verifyEvery === 0;
    return { kind: 'embeddings', path: '/embeddings', body, check: (status, headers, text) => check(text, texts, verify) };
  };
  const r = await checkedClosedLoop(pool, { workers: concurrency, makeRequest, durationMs }).done;
  return { lat: r.lat, ok: r.calls, non2xx: r.non2xx, errors: r.errors, bad: r.bad, verified, statusCodes: r.statusCodes, firstProblem: r.firstProblem, elapsedMs: r.elapsedMs };
}

/** One call with a duplicate in it; checks the vectors and their order exactly. */
async function smoke(origin, name, fakeEmbedding, dims) {
  const texts = ['smoke alpha', 'smoke beta', 'smoke alpha'];
  const pool = new Pool(origin, { connections: 1 });
  try {
    const res = await pool.request({ method: 'POST', path: '/embeddings', headers: JSON_HEADERS, body: JSON.stringify({ texts }) });
    const text = await res.body.text();
    if (res.statusCode !== 200) return `${name}: status ${res.statusCode} ${text.slice(0, 300)}`;
    const e = JSON.parse(text).embeddings;
    const want = texts.map((t) => fakeEmbedding(t, dims));
    if (JSON.stringify(e) !== JSON.stringify(want)) return `${name}: wrong vectors ${text.slice(0, 300)}`;
    return null;
  } catch (err) {
    return `${name}: ${err.message}`;
  } finally {
    await pool.close();
  }
}

/**
 * Runs the scenario against `fake` (from startFake()); starts and stops its own seed server and two
 * ballast instances (undici transport; default embeddings config, and EMBEDDINGS_COALESCE_MS=0).
 */
export async function runEmbeddings(fake) {
  let fakeEmbedding;
  try {
    ({ fakeEmbedding } = await import(pathToFileURL(FAKE_MODULE).href));
  } catch (err) {
    throw new Error(`${FAKE_MODULE}: ${err.message} (run "npx tsc -p bench/tsconfig.json" first)`);
  }
  const { textsPerCall, concurrency, warmupSec, durationSec, latencies, dims, verifyEvery } = EMB_CFG;
  const started = [];
  const smokeProblems = [];
  try {
    const seed = await startForked(SEED_ENTRY, 'seed-embeddings', { UPSTREAM_URL: fake.origin });
    started.push(seed);
    const bal = await startBallast('undici', fake.origin, { name: 'ballast-emb', env: BALLAST_EMB_ENV });
    started.push(bal);
    const balNc = await startBallast('undici', fake.origin, { name: 'ballast-emb-nocoalesce', env: { ...BALLAST_EMB_ENV, EMBEDDINGS_COALESCE_MS: '0' } });
    started.push(balNc);
    console.log(`  seed ${seed.origin}, ballast ${bal.origin}, ballast (coalesce 0) ${balNc.origin}`);

    await fake.setKnobs({ latencyMs: 0, embeddingDims: dims });
    for (const [name, origin] of [['seed', seed.origin], ['ballast', bal.origin], ['ballast-nocoalesce', balNc.origin]]) {
      const p = await smoke(origin, name, fakeEmbedding, dims);
      if (p) smokeProblems.push(p);
    }
    if (smokeProblems.length) {
      console.warn('WARNING: embeddings smoke check failed (continuing, see Problems in the report):');
      for (const p of smokeProblems) console.warn(`  ${p}`);
    }

    const unique = () => {
      const texts = uniqueTexts(textsPerCall);
      return { texts, body: JSON.stringify({ texts }) };
    };
    const repeated = () => ({ texts: REPEATED_TEXTS, body: REPEATED_BODY });
    const rows = [
      { name: 'seed (1 request per text)', key: 'seed', origin: seed.origin, pid: seed.cp.pid, makeTexts: unique },
      { name: 'ballast', key: 'ballast', origin: bal.origin, pid: bal.cp.pid, makeTexts: unique },
      { name: 'ballast, EMBEDDINGS_COALESCE_MS=0', key: 'ballast-nocoalesce', origin: balNc.origin, pid: balNc.cp.pid, makeTexts: unique },
      { name: 'ballast, repeated texts (cache hits)', key: 'ballast-repeated', origin: bal.origin, pid: bal.cp.pid, makeTexts: repeated },
    ];

    const out = { rows, byLatency: {}, smokeProblems };
    for (const latencyMs of latencies) {
      out.byLatency[latencyMs] = {};
      for (const row of rows) {
        const pool = new Pool(row.origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
        try {
          const opts = { concurrency, makeTexts: row.makeTexts, dims, verifyEvery, fakeEmbedding };
          await fake.setKnobs({ latencyMs, embeddingDims: dims });
          await closedLoop(pool, { ...opts, durationMs: warmupSec * 1000 });
          await fake.setKnobs({ latencyMs, embeddingDims: dims }); // counters from 0
          const cpu0 = [procCpuMs(row.pid), procCpuMs(fake.cp.pid)];
          const r = await closedLoop(pool, { ...opts, durationMs: durationSec * 1000 });
          const cpu1 = [procCpuMs(row.pid), procCpuMs(fake.cp.pid)];
          const c = await fake.getCounters();
          const calls = r.ok + r.non2xx + r.errors + r.bad;
          const res = {
            rps: r.ok / (r.elapsedMs / 1000),
            p50: percentile(r.lat, 50),
            p99: percentile(r.lat, 99),
            max: r.lat.length ? r.lat[r.lat.length - 1] : NaN,
            calls,
            ok: r.ok,
            non2xx: r.non2xx,
            errors: r.errors,
            bad: r.bad,
            verified: r.verified,
            statusCodes: r.statusCodes,
            firstProblem: r.firstProblem,
            upstreamRequests: c.embeddings,
            upstreamInputs: c.embeddingInputs,
            upstreamPerCall: c.embeddings / calls,
            inputsPerCall: c.embeddingInputs / calls,
            upstreamMaxInFlight: c.maxInFlight,
            upstreamInFlightAtEnd: c.inFlight,
            serverCpuPerCall: (cpu1[0] - cpu0[0]) / r.ok,
            fakeCpuPerCall: (cpu1[1] - cpu0[1]) / r.ok,
          };
          out.byLatency[latencyMs][row.key] = res;
          console.log(
            `  emb upstream ${latencyMs} ms ${row.key}: ${f0(res.rps)} calls/s, p50 ${f1(res.p50)} ms, p99 ${f1(res.p99)} ms, ${f2(res.upstreamPerCall)} upstream req/call${calls !== r.ok ? `, ${calls - r.ok} failed` : ''}`,
          );
        } finally {
          await pool.close();
        }
      }
    }
    for (const b of [bal, balNc]) {
      if (b.cp.exitCode !== null || b.cp.signalCode !== null) smokeProblems.push(`${b.cp.benchName} exited during the run:\n${b.lines.join('\n')}`);
    }
    const failed = Object.values(out.byLatency).some((byKey) => Object.entries(byKey).some(([k, r]) => k !== 'seed' && r.calls !== r.ok));
    if (failed || smokeProblems.length) {
      for (const b of [bal, balNc]) console.warn(`--- last output of ${b.cp.benchName} ---\n${b.lines.join('\n')}`);
    }
    return out;
  } finally {
    await Promise.all(started.map((s) => stopChild(s.cp)));
  }
}

/** The report section (Markdown) and the problems found. `level` = '##' or '###'. */
export function embeddingsReport(emb, level = '##') {
  const { textsPerCall, concurrency, warmupSec, durationSec, latencies, dims, verifyEvery } = EMB_CFG;
  const L = [];
  const problems = [...emb.smokeProblems.map((p) => `embeddings smoke: ${p}`)];
  L.push(`${level} Embeddings: ${textsPerCall} texts per call, concurrency ${concurrency}`);
  L.push('');
  L.push(
    `**seed** = bench/seed-embeddings.mjs, the seed's approach (one upstream \`POST /v1/embeddings {input: text}\` per text, all at once, one keep-alive http.Agent with maxSockets 100 / maxFreeSockets 20 like httpx's default pool); **ballast** = ballast \`POST /embeddings\` (undici transport, EMBEDDINGS_BATCH_SIZE=${BALLAST_EMB_ENV.EMBEDDINGS_BATCH_SIZE}, EMBEDDINGS_CONCURRENCY=${BALLAST_EMB_ENV.EMBEDDINGS_CONCURRENCY}, EMBEDDINGS_COALESCE_MS=${BALLAST_EMB_ENV.EMBEDDINGS_COALESCE_MS}, EMBEDDINGS_CACHE_SIZE=${BALLAST_EMB_ENV.EMBEDDINGS_CACHE_SIZE}, LOG_LEVEL=${BALLAST_LOG_LEVEL}); a second ballast instance runs with EMBEDDINGS_COALESCE_MS=0. Same fake upstream process (${dims}-dim vectors). ` +
      `Load: closed loop, ${concurrency} workers on one undici Pool (${concurrency} keep-alive connections), ${textsPerCall} texts per call (~10 words each), every call a new body with texts never sent before in the run (so nothing is a cache hit), except the "repeated texts" row, which sends one fixed body (informational: all cache hits after warm-up). ` +
      `${warmupSec} s warm-up, then the fake's counters are reset and ${durationSec} s measured per row; the run ends when the calls open at the deadline have finished, so upstream requests/inputs per call count exactly the measured calls. calls/s = 200 answers / run time; latency = call start → last body byte (200 answers only); upstream max in flight = most requests open at the fake at once (at 0 ms it answers each one synchronously, so this says little there); CPU ms/call = user + system CPU time of the server process (seed or ballast, all threads) and of the fake upstream process during the measured run, from /proc/<pid>/stat, per 200 answer (less sensitive to other load on the machine than calls/s). Every answer is checked (one ${dims}-number vector per text), every ${verifyEvery}th call's vectors are compared with the fake's and must match text for text.`,
  );
  L.push('');
  for (const lat of latencies) {
    const rs = emb.byLatency[lat];
    L.push(`${level}# upstream latency ${lat} ms`);
    L.push('');
    L.push(
      mdTable(
        ['target', 'calls/s', 'p50 ms', 'p99 ms', 'max ms', 'upstream req/call', 'upstream inputs/call', 'upstream max in flight', 'server CPU ms/call', 'fake CPU ms/call', 'calls ok', 'non-2xx', 'errors'],
        emb.rows.map((row) => {
          const r = rs[row.key];
          return [row.name, f0(r.rps), f1(r.p50), f1(r.p99), f1(r.max), f2(r.upstreamPerCall), f2(r.inputsPerCall), String(r.upstreamMaxInFlight), f2(r.serverCpuPerCall), f2(r.fakeCpuPerCall), String(r.ok), String(r.non2xx + r.bad), String(r.errors)];
        }),
      ),
    );
    L.push('');
  }
  L.push(`${level}# ballast vs seed`);
  L.push('');
  const ratioRows = [];
  for (const lat of latencies) {
    const s = emb.byLatency[lat].seed;
    for (const key of ['ballast', 'ballast-nocoalesce']) {
      const r = emb.byLatency[lat][key];
      const name = emb.rows.find((x) => x.key === key).name;
      ratioRows.push([`${lat} ms`, name, `${f2(r.rps / s.rps)}×`, `${f2(r.p50 / s.p50)}×`, `${f2(r.p99 / s.p99)}×`]);
    }
  }
  L.push(mdTable(['upstream latency', 'target', 'calls/s vs seed', 'p50 vs seed', 'p99 vs seed'], ratioRows, ['l', 'l', 'r', 'r', 'r']));
  L.push('');
  for (const lat of latencies) {
    for (const row of emb.rows) {
      const r = emb.byLatency[lat][row.key];
      if (r.non2xx || r.errors || r.bad) {
        problems.push(`embeddings ${lat} ms ${row.key}: non-2xx ${r.non2xx}, wrong bodies ${r.bad}, errors ${r.errors}, status codes ${JSON.stringify(r.statusCodes)} (first: ${r.firstProblem})`);
      }
      if (r.upstreamInFlightAtEnd) problems.push(`embeddings ${lat} ms ${row.key}: ${r.upstreamInFlightAtEnd} upstream requests still open after the run`);
    }
  }
  return { text: L.join('\n'), problems };
}
