// ballast benchmark: the same fake OpenAI upstream measured straight ("direct"), through a bare
// node:http relay ("relay", the physical limit of any proxy) and through ballast (undici and axios
// transports, separate processes). Every server runs in its own child process; the load is generated
// here. Writes bench/results/latest.md.
//
//   npm run bench                 full run (~11 min: chat ~3.5 min, streams ~1.5 min, embeddings ~1.5 min, classify ~4 min, partial ~1 min)
//   BENCH_QUICK=1 npm run bench   smoke run (~5x shorter)
//   BENCH_LOG_LEVEL=warn ...      ballast's LOG_LEVEL (default info: one log line per request, written
//                                 to a file in ballast's temp dir, see tailLines() in lib.mjs)
//   BENCH_C1_SETTLE=600 ...       c=1: requests each target takes, timed but not measured, before
//                                 its measured block in every round (default 600)
//   BENCH_GIT='abc123 (export)'   what the report's "git:" line says (default: git rev-parse here)
//   BENCH_ONLY=embeddings ...     run only these scenarios (comma list; default all):
//                                   chat        added latency c=1, throughput c=64, SSE (direct, relay,
//                                               ballast-undici /chat/*, ballast-undici /v1, ballast-axios)
//                                   embeddings  64 texts per call at c=32, ballast vs the seed's
//                                               one-request-per-text approach (embeddings-scenario.mjs)
//                                   embeddings-wire  64 texts x 1536 dims on a fast upstream: cached vs a
//                                               precomputed answer, uncached vs a bare relay, /health at
//                                               25 calls/s, memory per cached vector (embeddings-wire-scenario.mjs)
//                                   classify    local model: throughput vs a raw worker loop, /health
//                                               under load, overload 503s and RSS (classify-scenario.mjs)
//                                   streams     1,000 concurrent SSE streams opened over 2 s: direct, a bare
//                                               pipe relay, ballast /chat/stream and /v1 (streams-scenario.mjs)
//                                   partial     0/10/30/50 % random upstream failures, one and two
//                                               upstreams: success and upstream attempts per call
//                                               beside going direct (partial-failure-scenario.mjs)
//                                   pressure    (opt-in) 1000 callers on a 1 s upstream; 2x overload
//                                               with MAX_IN_FLIGHT (pressure-scenario.mjs)
//                                   soak        (opt-in) 5 minutes of mixed load, RSS drift (soak-scenario.mjs)
//                                   shared-state (opt-in) REDIS_URL set vs unset: added p50 at c=1 vs a
//                                               PING, c=64 throughput (shared-state-scenario.mjs)
//                                   retrieval   (opt-in) embedded and pg stores: ingest, search per mode,
//                                               recall@10, /health (retrieval-scenario.mjs)
//
// Layout: run.mjs (chat scenarios, report, main), embeddings-scenario.mjs, classify-scenario.mjs (with
// classify-raw.mjs, health-probe.mjs, classify-texts.mjs), lib.mjs (processes, stats, formatting),
// relay.mjs and seed-embeddings.mjs (forked helper servers), fake-upstream-server.ts.
//
// ballast is started exactly as in production, `npm start`'s `node <flags> dist/main.js` with its config in the
// environment; if it does not come up (bad config, crash, no /health 200 within 30 s) the bench
// stops with its output and exit code 1. There is no fallback.
//
// Needs `npm run build` (dist/) and `tsc -p bench/tsconfig.json` (dist-bench/) first; `npm run bench`
// does both.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { runClassify, classifyReport } from './classify-scenario.mjs';
import { runEmbeddings, embeddingsReport } from './embeddings-scenario.mjs';
import { runEmbeddingsWire } from './embeddings-wire-scenario.mjs';
import {
  BALLAST_LOG_LEVEL,
  BALLAST_NODE_ARGS,
  JSON_HEADERS,
  QUICK,
  RESULTS_DIR,
  ROOT,
  children,
  f0,
  f1,
  f2,
  f3,
  mdTable,
  mean,
  median,
  pct,
  percentile,
  signed3,
  sortNum,
  startBallast,
  startFake,
  startRelay,
  stopChild,
  timedRequest,
} from './lib.mjs';
import { runPartialFailure } from './partial-failure-scenario.mjs';
import { postLoad } from './post-load.mjs';
import { runPressure } from './pressure-scenario.mjs';
import { runSharedState } from './shared-state-scenario.mjs';
import { runSoak } from './soak-scenario.mjs';
import { runStreams } from './streams-scenario.mjs';
import { runRetrieval } from './retrieval-scenario.mjs';

const CFG = QUICK
  ? {
      c1: { warmup: 100, rounds: 3, perRound: 60, settle: 100 },
      thr: { connections: 64, preWarmSec: 1, warmupSec: 1, durationSec: 2, rounds: 1, latencies: [0, 50] },
      sse: { tokens: 20, intervalMs: 10, warmup: 2, streams: 10 },
    }
  : {
      c1: { warmup: 500, rounds: 15, perRound: 300, settle: Number(process.env.BENCH_C1_SETTLE ?? 600) },
      thr: { connections: 64, preWarmSec: 3, warmupSec: 1, durationSec: 3, rounds: 6, latencies: [0, 50] },
      sse: { tokens: 20, intervalMs: 10, warmup: 5, streams: 50 },
    };

const MESSAGES = [{ role: 'user', content: 'hello' }];

/**
 * Processes started per server under test (the relay and ballast-undici): round r of every scenario
 * goes to process r mod INSTANCES. Two processes of one build differ by up to ~60 µs a request (CPU
 * placement, memory pages, code alignment: docs/benchmarks.md), and that offset belongs to the
 * process, so with one process per server it would set every round alike; with several it is sampled.
 */
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? (QUICK ? 1 : 3));
if (!Number.isInteger(INSTANCES) || INSTANCES < 1) {
  console.error(`bench: BENCH_INSTANCES must be a positive integer, got ${process.env.BENCH_INSTANCES}`);
  process.exit(1);
}

/**
 * The order the targets run in, in round (or stream) r: rotated by r, and reversed in odd rounds. A
 * rotation alone keeps who runs right after whom: `/v1` always followed `/chat/complete` on the same
 * process, so `/chat/complete` was always the one to run first on a process after another process
 * had run, which costs it (docs/benchmarks.md, "Method": settling). Reversing every other
 * round puts every pair of neighbours both ways round.
 */
function roundOrder(targets, r) {
  const order = targets.map((_, i) => targets[(i + r) % targets.length]);
  return r % 2 === 1 ? order.reverse() : order;
}

/** The process of target `t` that round (or stream) `r` goes to. */
const originFor = (t, r) => t.origins[r % t.origins.length];

const SCENARIOS = ['chat', 'streams', 'embeddings', 'embeddings-wire', 'classify', 'partial'];
// Long runs (~5 min each), or ones that need more than node (redis-server), only when asked for: BENCH_ONLY=pressure / soak / shared-state / retrieval.
const OPT_IN = ['pressure', 'soak', 'shared-state', 'retrieval'];
const ONLY = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((x) => x.trim())
  .filter(Boolean);
const unknownScenarios = ONLY.filter((x) => !SCENARIOS.includes(x) && !OPT_IN.includes(x));
if (unknownScenarios.length) {
  console.error(`bench: BENCH_ONLY: unknown scenario(s) ${unknownScenarios.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  process.exit(1);
}
const RUN = new Set(ONLY.length ? ONLY : SCENARIOS);

// ------------------------------------------------------------------------------------------------
// requests

/** Text of a content event (ballast: {"content"}, OpenAI: choices[0].delta.content), '' when none. */
function eventContent(data) {
  try {
    const j = JSON.parse(data);
    if (typeof j.content === 'string') return j.content;
    const c = j.choices?.[0]?.delta?.content;
    return typeof c === 'string' ? c : '';
  } catch {
    return '';
  }
}

/** One SSE stream; timestamps every event carrying content. */
async function sseRequest(pool, reqPath, body) {
  const t0 = performance.now();
  const times = [];
  let status = 0;
  let done = false;
  let errorEvent = false;
  try {
    const res = await pool.request({ method: 'POST', path: reqPath, headers: { ...JSON_HEADERS, accept: 'text/event-stream' }, body });
    status = res.statusCode;
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      const now = performance.now();
      buf += decoder.decode(chunk, { stream: true });
      if (buf.includes('\r')) buf = buf.replace(/\r\n?/g, '\n');
      let idx;
      while ((idx = buf.indexOf('\n\n')) !== -1) {
        const ev = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        for (const line of ev.split('\n')) {
          if (line.startsWith('event:') && line.slice(6).trim() === 'error') errorEvent = true;
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') done = true;
          else if (eventContent(data).length > 0) times.push(now);
        }
      }
    }
  } catch (err) {
    return { status: 0, error: err, times, done, errorEvent, t0, total: performance.now() - t0 };
  }
  return { status, times, done, errorEvent, t0, total: performance.now() - t0 };
}

// ------------------------------------------------------------------------------------------------
// scenarios

async function smokeCheck(targets) {
  const problems = [];
  for (const t of targets.flatMap((t) => t.origins.map((origin) => ({ ...t, origin })))) {
    const pool = new Pool(t.origin, { connections: 1 });
    try {
      const res = await pool.request({ method: 'POST', path: t.path, headers: JSON_HEADERS, body: t.body });
      const text = await res.body.text();
      if (res.statusCode !== 200 || !text.includes('Echo: hello')) problems.push(`${t.name} (${t.origin}) ${t.path}: ${res.statusCode} ${text.slice(0, 300)}`);
      const s = await sseRequest(pool, t.streamPath, t.streamBody);
      if (s.status !== 200 || s.times.length === 0 || !s.done) {
        problems.push(`${t.name} ${t.streamPath}: status ${s.status}, ${s.times.length} content events, done=${s.done}${s.error ? `, ${s.error.message}` : ''}`);
      }
    } catch (err) {
      problems.push(`${t.name}: ${err.message}`);
    } finally {
      await pool.close();
    }
  }
  return problems;
}

async function scenarioLatencyC1(targets, setKnobs) {
  await setKnobs({ latencyMs: 0, streamIntervalMs: 0, streamTokens: null });
  const { warmup, rounds, perRound, settle } = CFG.c1;
  // One pool per process: a target's rounds rotate over its processes (originFor).
  const pools = new Map(targets.flatMap((t) => t.origins).map((o) => [o, new Pool(o, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 })]));
  const stats = new Map(targets.map((t) => [t.name, { p50s: [], p99s: [], means: [], settleP50s: [], bad: 0, n: 0, firstBad: null }]));
  try {
    for (const t of targets) {
      for (const origin of t.origins) {
        const pool = pools.get(origin);
        for (let i = 0; i < warmup; i++) await timedRequest(pool, t.path, t.body);
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const t of roundOrder(targets, r)) {
        const pool = pools.get(originFor(t, r));
        const st = stats.get(t.name);
        // A process that resumes after idling (each one idles for seconds while the other targets and
        // instances take their turns) runs slower for its first ~600 sequential requests (~0.5 s),
        // the bare relay and the fake upstream too: bench/experiments/c1-resume.mjs,
        // docs/benchmarks.md. Those are timed but not measured, so every block reads the steady
        // state; their p50 is reported beside it.
        const first = new Array(settle);
        const lat = new Array(perRound);
        for (let i = 0; i < settle + perRound; i++) {
          const res = await timedRequest(pool, t.path, t.body);
          if (i < settle) first[i] = res.ms;
          else lat[i - settle] = res.ms;
          st.n++;
          if (res.status < 200 || res.status >= 300) {
            st.bad++;
            st.firstBad ??= res.error ? res.error.message : `HTTP ${res.status}`;
          }
        }
        if (settle) st.settleP50s.push(percentile(sortNum(first), 50));
        const sorted = sortNum(lat);
        st.p50s.push(percentile(sorted, 50));
        st.p99s.push(percentile(sorted, 99));
        st.means.push(mean(lat));
      }
      process.stdout.write(`  c=1 round ${r + 1}/${rounds}\r`);
    }
    process.stdout.write('\n');
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
  }
  const out = {};
  for (const t of targets) {
    const st = stats.get(t.name);
    out[t.name] = { p50: median(st.p50s), p99: median(st.p99s), mean: median(st.means), settleP50: median(st.settleP50s), bad: st.bad, n: st.n, firstBad: st.firstBad };
  }
  const d = out.direct;
  for (const name of Object.keys(out)) {
    out[name].addedP50 = out[name].p50 - d.p50;
    out[name].settleAddedP50 = out[name].settleP50 - d.settleP50;
    out[name].addedP99 = out[name].p99 - d.p99;
  }
  return out;
}

/**
 * Throughput at c=64, in interleaved rounds: each round runs every target once (warm-up, then the
 * measured run), in an order that changes from round to round (roundOrder), so that a busier
 * minute of the shared machine lands on every target rather than on whichever ran then. Per target:
 * the median over rounds of req/s and latency, and of the ratio to the relay *in the same round*.
 */
async function scenarioThroughput(targets, setKnobs) {
  const { connections, warmupSec, durationSec, rounds, latencies } = CFG.thr;
  const out = {};
  for (const latencyMs of latencies) {
    await setKnobs({ latencyMs, streamIntervalMs: 0, streamTokens: null });
    // Every process of every target once at c=64 before the rounds, unmeasured (as section 1 warms
    // each target up): without it a process's first round also pays for its first concurrent load
    // (heap growth, 64 upstream sockets, JIT of the concurrent paths), which 1 s of warm-up does not
    // cover, and that lands on whichever target runs first on it.
    for (const t of targets) for (const origin of t.origins) await postLoad({ url: origin + t.path, body: t.body, connections, duration: CFG.thr.preWarmSec });
    const runs = new Map(targets.map((t) => [t.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const t of roundOrder(targets, round)) {
        const url = originFor(t, round) + t.path;
        await postLoad({ url, body: t.body, connections, duration: warmupSec });
        const r = await postLoad({ url, body: t.body, connections, duration: durationSec });
        runs.get(t.name)[round] = r;
        console.log(`  c=${connections} upstream ${latencyMs} ms round ${round + 1}/${rounds} ${t.name}: ${f0(r['2xx'] / r.duration)} req/s`);
      }
    }
    const relayRuns = runs.get('relay');
    out[latencyMs] = {};
    for (const [name, rs] of runs) {
      const rps = rs.map((r) => r['2xx'] / r.duration);
      const sum = (key) => rs.reduce((a, r) => a + r[key], 0);
      out[latencyMs][name] = {
        rps: median(rps),
        perRound: rps,
        vsRelay: relayRuns ? median(rs.map((r, i) => r['2xx'] / r.duration / (relayRuns[i]['2xx'] / relayRuns[i].duration))) : NaN,
        p50: median(rs.map((r) => r.latency.p50)),
        p99: median(rs.map((r) => r.latency.p99)),
        ok: sum('2xx'),
        non2xx: sum('non2xx'),
        errors: sum('errors'),
        timeouts: sum('timeouts'),
        statusCodes: rs.map((r) => r.statusCodeStats),
      };
    }
  }
  return out;
}

async function scenarioSse(targets, setKnobs) {
  const { tokens, intervalMs, warmup, streams } = CFG.sse;
  const streamTokens = Array.from({ length: tokens }, (_, i) => `tok${i} `);
  await setKnobs({ latencyMs: 0, streamIntervalMs: intervalMs, streamTokens });
  const pools = new Map(targets.flatMap((t) => t.origins).map((o) => [o, new Pool(o, { connections: 1, keepAliveTimeout: 60_000 })]));
  const per = new Map(targets.map((t) => [t.name, { ttfe: [], meanGap: [], p99Gap: [], total: [], allGaps: [], bad: 0, badEvents: 0, firstBad: null }]));
  try {
    for (let i = 0; i < warmup; i++) for (const t of targets) for (const o of t.origins) await sseRequest(pools.get(o), t.streamPath, t.streamBody);
    for (let i = 0; i < streams; i++) {
      for (const t of roundOrder(targets, i)) {
        const st = per.get(t.name);
        const s = await sseRequest(pools.get(originFor(t, i)), t.streamPath, t.streamBody);
        if (s.status !== 200 || !s.done || s.errorEvent || s.times.length === 0) {
          st.bad++;
          st.firstBad ??= `status ${s.status}, done=${s.done}, errorEvent=${s.errorEvent}${s.error ? `, ${s.error.message}` : ''}`;
          continue;
        }
        if (s.times.length !== tokens) st.badEvents++;
        const gaps = [];
        for (let j = 1; j < s.times.length; j++) gaps.push(s.times[j] - s.times[j - 1]);
        st.ttfe.push(s.times[0] - s.t0);
        st.meanGap.push(mean(gaps));
        st.p99Gap.push(percentile(sortNum(gaps), 99));
        st.total.push(s.total);
        st.allGaps.push(...gaps);
      }
      process.stdout.write(`  sse stream ${i + 1}/${streams}\r`);
    }
    process.stdout.write('\n');
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
  }
  const out = {};
  for (const t of targets) {
    const st = per.get(t.name);
    out[t.name] = {
      ttfe: median(st.ttfe),
      meanGap: median(st.meanGap),
      p99Gap: median(st.p99Gap),
      pooledP99Gap: percentile(sortNum(st.allGaps), 99),
      total: median(st.total),
      n: st.ttfe.length,
      bad: st.bad,
      badEvents: st.badEvents,
      firstBad: st.firstBad,
    };
  }
  for (const name of Object.keys(out)) {
    out[name].addedTtfe = out[name].ttfe - out.direct.ttfe;
    out[name].ttfeVsRelay = out[name].ttfe / out.relay.ttfe;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// report

function report(meta, chat, emb, cls) {
  const L = [];
  L.push('# ballast benchmark');
  L.push('');
  L.push(`- date: ${meta.date}`);
  L.push(`- node: ${meta.node}`);
  L.push(`- nproc: ${meta.nproc} (${meta.cpu}); load average at start: ${meta.load}`);
  L.push(`- command: \`${meta.command}\``);
  if (chat) {
    L.push(`- ballast: \`node ${BALLAST_NODE_ARGS.join(' ')} dist/main.js\`${process.env.BENCH_BALLAST_NODE_ARGS !== undefined ? " (BENCH_BALLAST_NODE_ARGS: not the flags of `npm start`)" : " (as `npm start`)"}, LOG_LEVEL=${BALLAST_LOG_LEVEL} (stdout/stderr to a file in its temp dir, not read by the load generator), UPSTREAM_MAX_SOCKETS=256, SSE_HEARTBEAT_MS=15000, SHUTDOWN_GRACE_MS=1000; upstream = test/support/fake-upstream.ts in its own process; relay = bench/relay.mjs (node:http, one keep-alive Agent, maxSockets 256); load generated in the bench process; everything on 127.0.0.1`);
  } else {
    L.push(`- ballast: \`node ${BALLAST_NODE_ARGS.join(' ')} dist/main.js\`${process.env.BENCH_BALLAST_NODE_ARGS !== undefined ? " (BENCH_BALLAST_NODE_ARGS: not the flags of `npm start`)" : " (as `npm start`)"}, LOG_LEVEL=${BALLAST_LOG_LEVEL} (stdout/stderr to a file in its temp dir, not read by the load generator), UPSTREAM_MAX_SOCKETS=256, SHUTDOWN_GRACE_MS=1000; upstream = test/support/fake-upstream.ts in its own process; load generated in the bench process; everything on 127.0.0.1`);
  }
  if (meta.git) L.push(`- git: ${meta.git}`);
  L.push('');
  const problems = [];
  if (chat) {
    const r = chatReport(chat);
    L.push(r.text);
    problems.push(...r.problems);
  }
  if (emb) {
    const r = embeddingsReport(emb);
    L.push(r.text);
    problems.push(...r.problems);
  }
  if (cls) {
    const r = classifyReport(cls);
    L.push(r.text);
    problems.push(...r.problems);
  }
  if (problems.length) {
    L.push('## Problems');
    L.push('');
    for (const p of problems) L.push(`- ${p}`);
    L.push('');
  }
  return { text: L.join('\n'), problems };
}

function chatReport({ c1, thr, sse, targets }) {
  const names = targets.map((t) => t.name);
  const L = [];
  L.push(
    'Targets: **direct** = fake `POST /v1/chat/completions`; **relay** = relay → fake (same path); **ballast-undici** / **ballast-axios** = ballast `POST /chat/complete` (`/chat/stream` for SSE) → fake, `UPSTREAM_TRANSPORT=undici|axios`; **ballast-undici /v1** = the same ballast-undici processes, `POST /v1/chat/completions` with the body sent to direct/relay (`model` fake-model and `messages`, plus `stream: true` for SSE) → fake.' +
      (INSTANCES > 1
        ? ` ${INSTANCES} processes each of the relay and of ballast-undici (BENCH_INSTANCES); round r of every scenario (c=1 rounds, c=64 rounds, SSE streams) goes to process r mod ${INSTANCES}, so each process's own offset (placement on the VM, up to ~60 µs a request between two processes of one build) is sampled rather than fixed; ballast-axios and the fake upstream are one process each.`
        : ''),
  );
  L.push('');

  L.push('## Key ratios');
  L.push('');
  const relayAdd99 = c1.relay.addedP99;
  const keyRows = [];
  for (const n of ['ballast-undici', 'ballast-undici /v1', 'ballast-axios']) {
    const r = c1[n];
    const p99Ratio = r.addedP99 / relayAdd99;
    keyRows.push([
      n,
      `${signed3(r.addedP50)} ms ${r.addedP50 <= 0.4 ? 'PASS' : 'FAIL'}`,
      `${signed3(r.addedP99)} ms (${f2(p99Ratio)}× relay) ${r.addedP99 <= 1.5 * relayAdd99 ? 'PASS' : 'FAIL'}`,
      `${pct(thr[0]?.[n]?.vsRelay)} ${thr[0]?.[n]?.vsRelay >= 0.8 ? 'PASS' : 'FAIL'}`,
      pct(thr[50]?.[n]?.vsRelay),
      `${signed3(sse[n].addedTtfe)} ms`,
    ]);
  }
  keyRows.push([
    'relay',
    `${signed3(c1.relay.addedP50)} ms`,
    `${signed3(c1.relay.addedP99)} ms`,
    '100.0%',
    '100.0%',
    `${signed3(sse.relay.addedTtfe)} ms`,
  ]);
  L.push(
    mdTable(
      ['target', 'added p50 @c=1 (≤ 0.4 ms)', 'added p99 @c=1 (≤ 1.5× relay)', 'req/s vs relay @c=64, 0 ms (≥ 80%)', 'req/s vs relay @c=64, 50 ms', 'SSE TTFE added'],
      keyRows,
    ),
  );
  L.push('');

  L.push('## 1. Added latency, concurrency 1 (upstream latency 0 ms)');
  L.push('');
  L.push(
    `${CFG.c1.rounds} interleaved rounds × ${CFG.c1.perRound} sequential requests per target (after ${CFG.c1.warmup} warm-up requests each; the order rotates by round and is reversed in odd rounds), undici Pool with 1 keep-alive connection, timed with performance.now() up to the last body byte. In every round each target first takes ${CFG.c1.settle} requests that are timed but not measured (BENCH_C1_SETTLE): on this VM a process that resumes after idling runs slower for its first ~600 sequential requests, the bare relay and the fake upstream too (bench/experiments/c1-resume.mjs); the "after a switch" columns give their p50. Values are the median over rounds of each round's p50 / p99 / mean; added = target − direct.`,
  );
  L.push('');
  L.push(
    mdTable(
      ['target', 'p50 ms', 'p99 ms', 'mean ms', 'added p50 ms', 'added p99 ms', `p50 of the ${CFG.c1.settle} after a switch`, 'added, after a switch', 'non-2xx/errors'],
      names.map((n) => {
        const r = c1[n];
        return [n, f3(r.p50), f3(r.p99), f3(r.mean), signed3(r.addedP50), signed3(r.addedP99), f3(r.settleP50), signed3(r.settleAddedP50), `${r.bad}/${r.n}`];
      }),
    ),
  );
  L.push('');

  L.push(`## 2. Throughput, concurrency ${CFG.thr.connections}`);
  L.push('');
  L.push(
    `autocannon (programmatic, in the bench process), ${CFG.thr.connections} connections; first every process of every target ${CFG.thr.preWarmSec} s unmeasured (per upstream latency), then ${CFG.thr.rounds} interleaved round(s), each running every target once (${CFG.thr.warmupSec} s warm-up, then ${CFG.thr.durationSec} s measured) in an order that rotates by round and is reversed in odd rounds. req/s = 2xx responses / measured duration, median over rounds (each round's value listed); vs relay = median over rounds of the ratio to the relay's req/s in the same round; latency percentiles are autocannon's (whole ms, 2xx only), median over rounds.`,
  );
  L.push('');
  for (const lat of CFG.thr.latencies) {
    L.push(`### upstream latency ${lat} ms`);
    L.push('');
    L.push(
      mdTable(
        ['target', 'req/s', 'per round', 'vs relay', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'timeouts'],
        names.map((n) => {
          const r = thr[lat][n];
          return [n, f0(r.rps), r.perRound.map(f0).join(', '), pct(r.vsRelay), f1(r.p50), f1(r.p99), String(r.non2xx), String(r.errors), String(r.timeouts)];
        }),
      ),
    );
    L.push('');
  }

  L.push('## 3. SSE streaming');
  L.push('');
  L.push(
    `Upstream streams ${CFG.sse.tokens} tokens, one every ${CFG.sse.intervalMs} ms (the first also after ${CFG.sse.intervalMs} ms). ${CFG.sse.streams} sequential streams per target, interleaved, after ${CFG.sse.warmup} warm-up streams each; SSE parsed from the raw body. TTFE = request start → first \`data:\` event with content. Values are medians over streams; pooled p99 gap is over all gaps of all streams.`,
  );
  L.push('');
  L.push(
    mdTable(
      ['target', 'TTFE ms', 'added TTFE ms', 'TTFE / relay', 'mean gap ms', 'p99 gap ms', 'pooled p99 gap ms', 'stream total ms', 'streams ok', 'failed'],
      names.map((n) => {
        const r = sse[n];
        return [n, f3(r.ttfe), signed3(r.addedTtfe), f3(r.ttfeVsRelay), f3(r.meanGap), f3(r.p99Gap), f3(r.pooledP99Gap), f3(r.total), String(r.n), String(r.bad)];
      }),
    ),
  );
  L.push('');

  const problems = [];
  for (const n of names) {
    if (c1[n].bad) problems.push(`c=1 ${n}: ${c1[n].bad} non-2xx/errors (first: ${c1[n].firstBad})`);
    for (const lat of CFG.thr.latencies) {
      const r = thr[lat][n];
      if (r.non2xx || r.errors || r.timeouts) problems.push(`c=64/${lat} ms ${n}: non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}, status codes ${JSON.stringify(r.statusCodes)}`);
    }
    if (sse[n].bad) problems.push(`SSE ${n}: ${sse[n].bad} failed streams (first: ${sse[n].firstBad})`);
    if (sse[n].badEvents) problems.push(`SSE ${n}: ${sse[n].badEvents} streams without exactly ${CFG.sse.tokens} content events`);
  }
  return { text: L.join('\n'), problems };
}

// ------------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    nproc: (() => {
      try {
        return execSync('nproc', { encoding: 'utf8' }).trim();
      } catch {
        return String(os.availableParallelism());
      }
    })(),
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown cpu',
    load: os.loadavg().map((x) => x.toFixed(2)).join(' / '),
    command: `${ONLY.length ? `BENCH_ONLY=${ONLY.join(',')} ` : ''}${QUICK ? 'BENCH_QUICK=1 ' : ''}npm run bench`,
    // BENCH_GIT names the code when the bench runs outside a git checkout (e.g. a `git archive` export).
    git: (() => {
      if (process.env.BENCH_GIT) return process.env.BENCH_GIT;
      try {
        return execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() + (execSync('git status --porcelain', { cwd: ROOT, encoding: 'utf8' }).trim() ? ' (dirty)' : '');
      } catch {
        return null;
      }
    })(),
  };

  let exitCode = 0;
  try {
    console.log(`ballast bench${QUICK ? ' (BENCH_QUICK)' : ''}: ${[...RUN].join(', ')}; starting processes`);
    const fake = await startFake();
    const smoke = [];
    const chatServers = [];
    let chat = null;
    if (RUN.has('chat')) {
      const relays = [];
      const bus = [];
      for (let i = 0; i < INSTANCES; i++) {
        relays.push(await startRelay(fake.origin));
        bus.push(await startBallast('undici', fake.origin, { name: INSTANCES > 1 ? `ballast-undici-${i + 1}` : 'ballast-undici' }));
      }
      // axios is informational (undici is the default transport): one process.
      const ba = await startBallast('axios', fake.origin);
      chatServers.push(...relays, ...bus, ba);
      const listOf = (xs) => xs.map((x) => x.origin).join(' ');
      console.log(`  fake ${fake.origin}, relay ${listOf(relays)}, ballast-undici ${listOf(bus)}, ballast-axios ${ba.origin}`);

      const direct = { path: '/v1/chat/completions', body: JSON.stringify({ model: 'fake-model', messages: MESSAGES }), streamPath: '/v1/chat/completions', streamBody: JSON.stringify({ model: 'fake-model', messages: MESSAGES, stream: true }) };
      const viaBallast = { path: '/chat/complete', body: JSON.stringify({ messages: MESSAGES }), streamPath: '/chat/stream', streamBody: JSON.stringify({ messages: MESSAGES }) };
      const targets = [
        { name: 'direct', origins: [fake.origin], ...direct },
        { name: 'relay', origins: relays.map((x) => x.origin), ...direct },
        { name: 'ballast-undici', origins: bus.map((x) => x.origin), ...viaBallast },
        // The OpenAI-compatible surface of the same processes: the same body as direct/relay.
        { name: 'ballast-undici /v1', origins: bus.map((x) => x.origin), ...direct },
        { name: 'ballast-axios', origins: [ba.origin], ...viaBallast },
      ];

      smoke.push(...(await smokeCheck(targets)));
      if (smoke.length) {
        console.warn('WARNING: smoke check failed (continuing, see Problems in the report):');
        for (const p of smoke) console.warn(`  ${p}`);
      }

      console.log('scenario 1: added latency at c=1');
      const c1 = await scenarioLatencyC1(targets, fake.setKnobs);
      console.log('scenario 2: throughput at c=64');
      const thr = await scenarioThroughput(targets, fake.setKnobs);
      console.log('scenario 3: SSE');
      const sse = await scenarioSse(targets, fake.setKnobs);

      for (const b of [...bus, ba]) {
        if (b.cp.exitCode !== null || b.cp.signalCode !== null) smoke.push(`${b.cp.benchName} exited during the run:\n${b.lines.join('\n')}`);
      }
      chat = { c1, thr, sse, targets };
      // Done with them: nothing of the chat setup stays up while the next scenario runs.
      await Promise.all(chatServers.map((x) => stopChild(x.cp)));
    } else {
      console.log(`  fake ${fake.origin}`);
    }

    const extra = [];
    if (RUN.has('streams')) {
      console.log('scenario: 1,000 concurrent streams');
      const streams = await runStreams({ quick: QUICK });
      extra.push({ ...streams, markdown: `## Concurrent streams\n\n${streams.markdown}` });
    }

    let emb = null;
    if (RUN.has('embeddings')) {
      console.log('scenario: embeddings, 64 texts per call at c=32');
      emb = await runEmbeddings(fake);
    }

    let wire = null;
    if (RUN.has('embeddings-wire')) {
      console.log('scenario: embeddings at wire speed (64 x 1536 dims, fast upstream)');
      wire = await runEmbeddingsWire();
    }

    let cls = null;
    if (RUN.has('classify')) {
      console.log('scenario: classify (local model: throughput vs raw, /health under load, overload)');
      cls = await runClassify(fake);
    }

    if (wire) extra.push({ ...wire, markdown: `## Embeddings at wire speed\n\n${wire.markdown}` });
    if (RUN.has('partial')) {
      console.log('scenario: partial upstream failure (0/10/30/50 %, one and two upstreams, beside direct)');
      const partial = await runPartialFailure({ quick: QUICK });
      extra.push({ ...partial, markdown: `## Partial upstream failure\n\n${partial.markdown}` });
    }
    if (RUN.has('pressure')) {
      console.log('scenario: pressure (c=1000 on a 1 s upstream, 2x overload)');
      extra.push(await runPressure({ quick: QUICK }));
    }
    if (RUN.has('soak')) {
      console.log('scenario: soak');
      extra.push(await runSoak({ quick: QUICK }));
    }
    if (RUN.has('shared-state')) {
      console.log('scenario: shared state (REDIS_URL set vs unset)');
      extra.push(await runSharedState({ quick: QUICK }));
    }
    if (RUN.has('retrieval')) {
      console.log('scenario: retrieval (embedded and pg stores: ingest, search per mode, recall, /health)');
      const retrieval = await runRetrieval();
      extra.push({ ...retrieval, markdown: `## Retrieval\n\n${retrieval.markdown}` });
    }

    const reported = report(meta, chat, emb, cls);
    const text = [reported.text, ...extra.map((e) => e.markdown)].join('\n\n');
    const problems = [...reported.problems, ...extra.flatMap((e) => e.problems)];
    const smokeSection = smoke.length ? `\n## Smoke check\n\n${smoke.map((p) => `- ${p}`).join('\n')}\n` : '';
    const full = `${text}${smokeSection}\n_Total bench time ${((Date.now() - started) / 1000).toFixed(0)} s._\n`;
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), full);
    console.log('\n' + full);
    console.log(`written ${path.relative(ROOT, path.join(RESULTS_DIR, 'latest.md'))}`);
    if (problems.length || smoke.length) {
      for (const b of chatServers.filter((x) => x.cp.benchName?.startsWith('ballast'))) if (b.lines.some((l) => /error/i.test(l))) console.warn(`--- last output of ${b.cp.benchName} ---\n${b.lines.join('\n')}`);
    }
  } catch (err) {
    console.error('bench failed:', err instanceof Error ? (err.stack ?? err.message) : err);
    exitCode = 1;
  } finally {
    await Promise.all([...children].map(stopChild));
  }
  process.exitCode = exitCode;
}

await main();
