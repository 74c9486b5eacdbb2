// Classify scenario of the ballast benchmark (run by bench/run.mjs; BENCH_ONLY=classify runs it
// alone): `POST /classify` on the bench-only model (scripts/generate-models.mjs --bench, ~2.5 ms of
// CPU per 14-word text in batches of 32 on one thread), measured three ways:
//
//   1. throughput: ballast vs a raw loop (bench/classify-raw.mjs) that drives the same worker file in
//      the same Piscina setup with the same thread count and batch size, no HTTP, always 2 batches
//      submitted (plus, for information, the same loop with 1 batch in flight, which is how ballast's
//      MicroBatcher dispatches); ballast by closed-loop HTTP load, single-text calls ({text}, 64
//      connections) and 32-text calls ({texts}, 4 connections). Interleaved rounds; target ballast
//      ≥ 80 % of raw.
//   2. event loop: sequential GET /health from a separate process (bench/health-probe.mjs, own
//      connection) at rest and while each load of 1. saturates the classifier; target p99 ≤ 10 ms.
//   3. overload: open-loop load at over.factor × the highest capacity measured in 1.; share of 503
//      answers, their latency (target p99 ≤ 5 ms), Retry-After on each, latency of the 200 answers,
//      RSS sampled every second. Each row's load comes from a fresh forked process
//      (classify-overload.mjs), not from the bench process with its history. Rows: {text} and
//      {texts} on a second instance with a small queue bounded in texts only (over.smallQueue,
//      CLASSIFIER_MAX_QUEUE_WAIT_MS=0), {text} on the first one (the defaults: 1024 texts and
//      500 ms of expected wait), {text} on a third instance with the default 1024 texts and no
//      bound in time, {text} at over.lowFactor on the small-queue instance, and a longer soak
//      (over.soakSec) on the first one for RSS.
//
// ballast: CLASSIFIER_THREADS=1 (2 cores: one for inference, one for the event loop and the load
// generator), CLASSIFIER_MAX_BATCH=32, CLASSIFIER_MAX_QUEUE=1024, CLASSIFIER_MAX_QUEUE_WAIT_MS=500
// and CLASSIFIER_BATCH_WAIT_MS=2 (the defaults), no fallback model, no downloads; measured once /ready is 200. Every text is unique
// (see classify-texts.mjs) and every 200 answer is checked (label of its sentence, model
// bench-sentiment). The bench model is generated first if dist-bench/models lacks it.
import { fork, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { BENCH_MODEL, checkAnswer, classifyBody, continueTextsAt, nextTextSeq } from './classify-texts.mjs';
import { checkedClosedLoop, listenOverflows } from './load-gen.mjs';
import {
  BALLAST_LOG_LEVEL,
  JSON_HEADERS,
  OVERLOAD_CLIENT,
  QUICK,
  ROOT,
  f0,
  f1,
  f2,
  f3,
  mdTable,
  median,
  pct,
  percentile,
  procCpuMs,
  procRssMiB,
  sleep,
  sortNum,
  startBallast,
  stopChild,
  track,
} from './lib.mjs';

const RAW_ENTRY = path.join(ROOT, 'bench', 'classify-raw.mjs');
const PROBE_ENTRY = path.join(ROOT, 'bench', 'health-probe.mjs');
const OVERLOAD_ENTRY = path.join(ROOT, 'bench', 'classify-overload.mjs');
const MODELS_DIR = path.join(ROOT, 'dist-bench', 'models');
const MODEL_FILE = path.join(MODELS_DIR, BENCH_MODEL, 'onnx', 'model.onnx');

export const CLS_CFG = {
  threads: 1,
  batch: 32,
  maxQueue: 1024,
  maxQueueWaitMs: 500,
  batchWaitMs: 2,
  single: { connections: 64 },
  // 4 × 32 texts: one batch in flight and three queued keep the worker busy (raw keeps two
  // submitted). 8 used to be here; 7 × 32 texts ahead is ~500-650 ms of work on this model, so
  // the default CLASSIFIER_MAX_QUEUE_WAIT_MS (500) refuses some of those calls, as it should.
  many: { connections: 4, texts: 32 },
  ...(QUICK
    ? { rounds: 1, warmupSec: 1, durationSec: 3, health: { n: 300, warmup: 50, intervalMs: 5, loadWarmupSec: 1 }, over: { factor: 2.5, lowFactor: 1.5, rampSec: 1, warmupSec: 2, durationSec: 3, soakSec: 6, connections: 4096, smallQueue: 256 } }
    : { rounds: 3, warmupSec: 2, durationSec: 8, health: { n: 2000, warmup: 200, intervalMs: 5, loadWarmupSec: 1 }, over: { factor: 2.5, lowFactor: 1.5, rampSec: 2, warmupSec: 4, durationSec: 10, soakSec: 60, connections: 4096, smallQueue: 256 } }),
};

const BALLAST_CLS_ENV = {
  LOCAL_MODEL: BENCH_MODEL,
  LOCAL_MODEL_PATH: MODELS_DIR,
  ALLOW_REMOTE_MODELS: 'false',
  LOCAL_MODEL_FALLBACK: '',
  CLASSIFIER_THREADS: String(CLS_CFG.threads),
  CLASSIFIER_MAX_BATCH: String(CLS_CFG.batch),
  CLASSIFIER_MAX_QUEUE: String(CLS_CFG.maxQueue),
  CLASSIFIER_MAX_QUEUE_WAIT_MS: String(CLS_CFG.maxQueueWaitMs),
  CLASSIFIER_BATCH_WAIT_MS: String(CLS_CFG.batchWaitMs),
};

// ------------------------------------------------------------------------------------------------
// setup

function ensureBenchModel() {
  if (fs.existsSync(MODEL_FILE)) return false;
  console.log(`  ${path.relative(ROOT, MODEL_FILE)} missing: node scripts/generate-models.mjs --bench`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'generate-models.mjs'), '--bench'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0 || !fs.existsSync(MODEL_FILE)) throw new Error(`generate-models.mjs --bench failed (status ${r.status}, signal ${r.signal})`);
  return true;
}

/**
 * The classifier part of a /ready body, whichever shape it has: `{model: {state, name, queued, ...}}`
 * (before terminus) or terminus' `{details: {model: {status, name, state}, classifier_queue: {...}}}`.
 */
function readyModel(j) {
  if (j?.details) {
    const m = j.details.model ?? {};
    const q = j.details.classifier_queue ?? {};
    return { state: m.status === 'up' ? 'ready' : (m.state ?? 'down'), name: m.name, fallback: m.fallback, threads: q.threads, queued: q.queued, batchesInFlight: q.batchesInFlight, workerRestarts: q.workerRestarts };
  }
  return j?.model ?? {};
}

/** Polls GET /ready until 200 (returns its classifier part); throws at once if the model is unavailable. */
async function waitReady(origin, name, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`${origin}/ready`);
      last = await res.text();
      if (res.status === 200) return readyModel(JSON.parse(last));
      if (readyModel(JSON.parse(last)).state === 'unavailable') throw new Error(`${name}: /ready says the model is unavailable: ${last}`);
    } catch (err) {
      if (/unavailable/.test(err.message)) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${name}: /ready not 200 within ${timeoutMs} ms (last: ${last.slice(0, 300)})`);
    await sleep(100);
  }
}

/** Forks a helper that answers { type: 'ready' } (or { type: 'fatal', message }) when it can work. */
function forkHelper(entry, name, env, timeoutMs = 120_000) {
  const cp = track(fork(entry, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), name);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${name}: not ready within ${timeoutMs} ms`)), timeoutMs);
    const onMsg = (m) => {
      if (m?.type === 'ready') done(null, m);
      else if (m?.type === 'fatal') done(new Error(`${name}: ${m.message}`));
    };
    const onExit = (code, sig) => done(new Error(`${name} exited during start-up (code ${code}, signal ${sig})`));
    function done(err, m) {
      clearTimeout(timer);
      cp.off('message', onMsg);
      cp.off('exit', onExit);
      if (err) reject(err);
      else resolve({ cp, ready: m });
    }
    cp.on('message', onMsg);
    cp.once('exit', onExit);
  });
}

let ipcSeq = 0;
/** Sends `msg` with a fresh id and resolves with the child's `replyType` message carrying that id. */
function ask(cp, msg, replyType, timeoutMs) {
  return new Promise((resolve, reject) => {
    const id = ++ipcSeq;
    const timer = setTimeout(() => done(new Error(`${cp.benchName}: no ${replyType} within ${timeoutMs} ms`)), timeoutMs);
    const onMsg = (m) => {
      if (m?.type === replyType && m.id === id) done(null, m);
    };
    const onExit = (code, sig) => done(new Error(`${cp.benchName} exited (code ${code}, signal ${sig})`));
    function done(err, m) {
      clearTimeout(timer);
      cp.off('message', onMsg);
      cp.off('exit', onExit);
      if (err) reject(err);
      else resolve(m);
    }
    cp.on('message', onMsg);
    cp.once('exit', onExit);
    cp.send({ ...msg, id });
  });
}

// ------------------------------------------------------------------------------------------------
// load

/**
 * Closed-loop load (checkedClosedLoop): `connections` workers on one Pool, each sending its next call
 * as soon as the previous one is answered, until `durationMs` has passed or stop() is called; then
 * waits for the calls still open. Every 200 body is checked; any other status is non-2xx.
 */
function closedLoop(pool, { connections, perRequest, durationMs = Infinity }) {
  const makeRequest = () => {
    const { body, labels } = classifyBody(perRequest);
    return { kind: 'classify', path: '/classify', body, check: (status, headers, text) => checkAnswer(text, labels, perRequest) };
  };
  const load = checkedClosedLoop(pool, { workers: connections, makeRequest, durationMs, okStatus: (status) => status === 200 });
  const done = load.done.then((r) => ({ texts: r.calls * perRequest, ...r, textsPerSec: (r.calls * perRequest) / (r.elapsedMs / 1000) }));
  return {
    done,
    stop() {
      load.stop();
      return done;
    },
  };
}

/**
 * RSS over the measured window (samples are 1 s apart, the first taken before the load): the highest
 * value in its first half and in its second half; a second half no higher than the first = levelled off.
 */
function rssHalves(samples, warmupSec, durationSec) {
  const win = samples.slice(1 + warmupSec, 1 + warmupSec + durationSec);
  if (win.length < 2) return { firstHalfMax: NaN, secondHalfMax: NaN };
  const mid = Math.floor(win.length / 2);
  return { firstHalfMax: Math.max(...win.slice(0, mid)), secondHalfMax: Math.max(...win.slice(mid)) };
}

/** VmRSS of `pid` every second until stop(); returns the samples (MiB). */
function rssSampler(pid) {
  const samples = [procRssMiB(pid)];
  const timer = setInterval(() => samples.push(procRssMiB(pid)), 1000);
  return {
    stop() {
      clearInterval(timer);
      samples.push(procRssMiB(pid));
      return samples;
    },
  };
}

/** Busy and total jiffies of the whole machine (all CPUs) from /proc/stat. */
function machineCpu() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { idle: f[3] + (f[4] ?? 0), total };
  } catch {
    return { idle: NaN, total: NaN };
  }
}


const stats = (sorted) => ({ p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1] : NaN, n: sorted.length });

// ------------------------------------------------------------------------------------------------
// scenario

/** Runs the scenario; `fake` (from startFake()) only gives ballast an upstream to point at. */
export async function runClassify(fake) {
  const cfg = CLS_CFG;
  const generated = ensureBenchModel();
  const started = [];
  const problems = [];
  try {
    const bal = await startBallast('undici', fake.origin, { name: 'ballast-classify', env: BALLAST_CLS_ENV });
    started.push(bal.cp);
    const raw = await forkHelper(RAW_ENTRY, 'classify-raw', {
      RAW_THREADS: String(cfg.threads),
      RAW_BATCH: String(cfg.batch),
      RAW_MODEL: BENCH_MODEL,
      RAW_MODEL_PATH: MODELS_DIR,
      RAW_CACHE_DIR: path.join(ROOT, '.cache', 'models'),
    });
    started.push(raw.cp);
    const readyT0 = performance.now();
    const ready = await waitReady(bal.origin, 'ballast-classify');
    const readyMs = performance.now() - readyT0;
    if (ready.name !== BENCH_MODEL || ready.fallback) throw new Error(`ballast-classify serves ${JSON.stringify(ready)}, not ${BENCH_MODEL}`);
    if (raw.ready.status?.model !== BENCH_MODEL) throw new Error(`classify-raw loaded ${JSON.stringify(raw.ready.status)}`);
    const probe = await forkHelper(PROBE_ENTRY, 'health-probe', { PROBE_ORIGIN: bal.origin });
    started.push(probe.cp);
    console.log(`  ballast ${bal.origin} (pid ${bal.cp.pid}) ready: ${ready.name}, ${ready.threads} thread(s); raw pid ${raw.cp.pid}`);

    const rows = [
      { key: 'raw', name: `raw loop (Piscina, ${cfg.batch}-text batches, 2 in flight)`, perThread: 2 },
      { key: 'raw1', name: `raw loop, 1 batch in flight (ballast's dispatch; informational)`, perThread: 1 },
      { key: 'single', name: `ballast {text}, ${cfg.single.connections} connections`, perRequest: 1, connections: cfg.single.connections },
      { key: 'many', name: `ballast {texts: ${cfg.many.texts}}, ${cfg.many.connections} connections`, perRequest: cfg.many.texts, connections: cfg.many.connections },
    ];
    const pool = new Pool(bal.origin, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
    const out = { cfg, generated, ready, readyMs, rows, thr: {}, health: {}, over: {}, recovery: null };
    try {
      // ---- 1. throughput, interleaved rounds
      for (const row of rows) out.thr[row.key] = [];
      for (let round = 0; round < cfg.rounds; round++) {
        const order = rows.map((_, i) => rows[(i + round) % rows.length]);
        for (const row of order) {
          let res;
          const box0 = machineCpu();
          if (row.perThread) {
            await ask(raw.cp, { type: 'run', durationMs: cfg.warmupSec * 1000, perThread: row.perThread }, 'result', 120_000);
            const m = await ask(raw.cp, { type: 'run', durationMs: cfg.durationSec * 1000, perThread: row.perThread }, 'result', 120_000);
            res = { texts: m.texts, calls: m.batches, elapsedMs: m.elapsedMs, textsPerSec: m.texts / (m.elapsedMs / 1000), cpuPerText: m.cpuMs / m.texts, bad: m.bad, firstProblem: m.firstProblem, non2xx: 0, errors: 0, p50: NaN, p99: NaN };
          } else {
            await closedLoop(pool, { connections: row.connections, perRequest: row.perRequest, durationMs: cfg.warmupSec * 1000 }).done;
            const cpu0 = procCpuMs(bal.cp.pid);
            const r = await closedLoop(pool, { connections: row.connections, perRequest: row.perRequest, durationMs: cfg.durationSec * 1000 }).done;
            const cpu1 = procCpuMs(bal.cp.pid);
            res = { ...r, lat: undefined, ...stats(r.lat), cpuPerText: (cpu1 - cpu0) / r.texts };
          }
          const box1 = machineCpu();
          res.machineBusyPct = (1 - (box1.idle - box0.idle) / (box1.total - box0.total)) * 100;
          out.thr[row.key].push(res);
          if (res.bad || res.non2xx || res.errors) problems.push(`classify throughput ${row.key} round ${round + 1}: bad ${res.bad}, non-2xx ${res.non2xx}, errors ${res.errors} (first: ${res.firstProblem})`);
          console.log(`  classify round ${round + 1}/${cfg.rounds} ${row.key}: ${f0(res.textsPerSec)} texts/s, CPU ${f2(res.cpuPerText)} ms/text`);
        }
      }
      const med = (key, field) => median(out.thr[key].map((x) => x[field]));
      out.capacity = { raw: med('raw', 'textsPerSec'), raw1: med('raw1', 'textsPerSec'), single: med('single', 'textsPerSec'), many: med('many', 'textsPerSec') };
      out.httpRows = rows.filter((row) => !row.perThread);

      // ---- 2. /health at rest and under load
      const probeOnce = async () => {
        const m = await ask(probe.cp, { type: 'probe', n: cfg.health.n, warmup: cfg.health.warmup, intervalMs: cfg.health.intervalMs }, 'probe-result', 300_000);
        return { ...stats(sortNum(m.ms)), non200: m.non200, errors: m.errors, firstProblem: m.firstProblem };
      };
      {
        const box0 = machineCpu();
        out.health.rest = await probeOnce();
        const box1 = machineCpu();
        out.health.rest.machineBusyPct = (1 - (box1.idle - box0.idle) / (box1.total - box0.total)) * 100;
      }
      console.log(`  /health at rest: p50 ${f2(out.health.rest.p50)} ms, p99 ${f2(out.health.rest.p99)} ms`);
      for (const row of out.httpRows) {
        const load = closedLoop(pool, { connections: row.connections, perRequest: row.perRequest });
        await sleep(cfg.health.loadWarmupSec * 1000);
        const cpu0 = procCpuMs(bal.cp.pid);
        const box0 = machineCpu();
        const t0 = performance.now();
        const h = await probeOnce();
        const sec = (performance.now() - t0) / 1000;
        const cpu1 = procCpuMs(bal.cp.pid);
        const box1 = machineCpu();
        const l = await load.stop();
        out.health[row.key] = { ...h, probeSec: sec, loadTextsPerSec: l.textsPerSec, ballastCpuPct: ((cpu1 - cpu0) / 1000 / sec) * 100, machineBusyPct: (1 - (box1.idle - box0.idle) / (box1.total - box0.total)) * 100, loadBad: l.bad + l.non2xx + l.errors };
        if (l.bad || l.non2xx || l.errors) problems.push(`classify health-under-load ${row.key}: load had bad ${l.bad}, non-2xx ${l.non2xx}, errors ${l.errors} (first: ${l.firstProblem})`);
        console.log(`  /health under ${row.key} load: p50 ${f2(h.p50)} ms, p99 ${f2(h.p99)} ms, max ${f2(h.max)} ms (load ${f0(l.textsPerSec)} texts/s)`);
      }
      for (const [k, h] of Object.entries(out.health)) if (h.non200 || h.errors) problems.push(`classify /health ${k}: non-200 ${h.non200}, errors ${h.errors} (first: ${h.firstProblem})`);
    } finally {
      await pool.close();
    }

    // ---- 3. overload: open loop above the highest capacity measured in 1.
    const capTexts = Math.max(out.capacity.raw, out.capacity.single, out.capacity.many);
    out.overCapTexts = capTexts;
    // Two more instances, identical but for the queue's bounds: a small queue bounded in texts only,
    // and the default 1024 texts without the bound in time (how the default queue did before it).
    const extra = {
      small: { name: 'ballast-classify-q', queue: cfg.over.smallQueue, waitMs: 0 },
      count: { name: 'ballast-classify-count', queue: cfg.maxQueue, waitMs: 0 },
    };
    const instances = { main: Object.assign(bal, { queue: cfg.maxQueue, waitMs: cfg.maxQueueWaitMs, label: 'default instance' }) };
    for (const [key, spec] of Object.entries(extra)) {
      const inst = await startBallast('undici', fake.origin, { name: spec.name, env: { ...BALLAST_CLS_ENV, CLASSIFIER_MAX_QUEUE: String(spec.queue), CLASSIFIER_MAX_QUEUE_WAIT_MS: String(spec.waitMs) } });
      started.push(inst.cp);
      await waitReady(inst.origin, spec.name);
      // Same warm-up as the first instance had (JIT, connections): the {text} load of section 1.
      const wpool = new Pool(inst.origin, { connections: cfg.single.connections, pipelining: 1, keepAliveTimeout: 60_000 });
      const w = await closedLoop(wpool, { connections: cfg.single.connections, perRequest: 1, durationMs: cfg.warmupSec * 2000 }).done;
      await wpool.close();
      if (w.bad || w.non2xx || w.errors) problems.push(`classify: warm-up of ${spec.name}: bad ${w.bad}, non-2xx ${w.non2xx}, errors ${w.errors} (first: ${w.firstProblem})`);
      // Object.assign, not a spread: `lines` is a getter that reads the log file when asked.
      instances[key] = Object.assign(inst, { queue: spec.queue, waitMs: spec.waitMs, label: `CLASSIFIER_MAX_QUEUE=${spec.queue}, CLASSIFIER_MAX_QUEUE_WAIT_MS=0 instance` });
    }
    const { factor, lowFactor } = cfg.over;
    const smallQ = `CLASSIFIER_MAX_QUEUE=${cfg.over.smallQueue}, no bound in time`;
    const defaults = `defaults: CLASSIFIER_MAX_QUEUE=${cfg.maxQueue}, CLASSIFIER_MAX_QUEUE_WAIT_MS=${cfg.maxQueueWaitMs}`;
    out.overRows = [
      { key: 'single-small', inst: 'small', perRequest: 1, factor, name: `{text}, ${factor}×, ${smallQ}` },
      { key: 'many-small', inst: 'small', perRequest: cfg.many.texts, factor, name: `{texts: ${cfg.many.texts}}, ${factor}×, ${smallQ}` },
      { key: 'single-default', inst: 'main', perRequest: 1, factor, name: `{text}, ${factor}×, ${defaults}` },
      { key: 'single-count', inst: 'count', perRequest: 1, factor, name: `{text}, ${factor}×, CLASSIFIER_MAX_QUEUE=${cfg.maxQueue}, no bound in time (CLASSIFIER_MAX_QUEUE_WAIT_MS=0)` },
      { key: 'single-small-low', inst: 'small', perRequest: 1, factor: lowFactor, name: `{text}, ${lowFactor}×, ${smallQ}` },
      // RSS over a longer overload: does it level off?
      { key: 'soak', inst: 'main', perRequest: 1, factor: lowFactor, durationSec: cfg.over.soakSec, name: `{text}, ${lowFactor}×, ${defaults}, ${cfg.over.soakSec} s soak` },
    ];
    for (const row of out.overRows) {
      const inst = instances[row.inst];
      const rate = (row.factor * capTexts) / row.perRequest;
      const durationSec = row.durationSec ?? cfg.over.durationSec;
      // The ramp, then long enough for the queue to fill at the planned excess rate (twice over), so
      // the measured window sees the steady state.
      const warmupSec = cfg.over.warmupSec + (2 * inst.queue) / ((row.factor - 1) * capTexts);
      // The load comes from a fresh process per row (bench/classify-overload.mjs): none of this
      // process's history (heap, pools, earlier results) can pause the client that times the calls.
      const { cp: gen } = await forkHelper(OVERLOAD_ENTRY, `overload generator (${row.key})`, {});
      gen.benchName = `overload generator (${row.key})`;
      try {
        const rss = rssSampler(inst.cp.pid);
        const cpu0 = procCpuMs(inst.cp.pid);
        const box0 = machineCpu();
        const lo0 = listenOverflows();
        const t0 = performance.now();
        const params = { rate, perRequest: row.perRequest, warmupMs: warmupSec * 1000, durationMs: durationSec * 1000, connections: cfg.over.connections, rampMs: cfg.over.rampSec * 1000 };
        const reply = await ask(gen, { type: 'run', origin: inst.origin, seq: nextTextSeq(), params }, 'result', (warmupSec + durationSec + 120) * 1000);
        if (reply.error) throw new Error(`overload generator (${row.key}): ${reply.error}`);
        const r = reply.r;
        continueTextsAt(reply.seq);
        const cpuSec = (performance.now() - t0) / 1000;
        const cpu1 = procCpuMs(inst.cp.pid);
        const box1 = machineCpu();
        const lo1 = listenOverflows();
        await sleep(1000);
        const samples = rss.stop();
        const answered = r.n200 + r.n503 + r.other + r.bad;
        const res = {
          queue: inst.queue,
          waitMs: inst.waitMs,
          rate,
          warmupSec,
          offered: r.offered,
          durationSec,
          offeredRate: r.offered / durationSec,
          share503: r.n503 / answered,
          answered,
          n200: r.n200,
          n503: r.n503,
          other: r.other,
          errors: r.errors,
          bad: r.bad,
          bad503: r.bad503,
          noRetryAfter: r.noRetryAfter,
          retryAfter: r.retryAfter,
          lat503: stats(r.lat503),
          lat200: stats(r.lat200),
          servedTextsPerSec: r.servedTexts / durationSec,
          lagP99: percentile(r.lag, 99),
          maxInFlight: r.maxInFlight,
          drainMs: r.drainMs,
          ballastCpuPct: ((cpu1 - cpu0) / 1000 / cpuSec) * 100,
          benchCpuPct: (reply.cpuMs / 1000 / cpuSec) * 100,
          machineBusyPct: (1 - (box1.idle - box0.idle) / (box1.total - box0.total)) * 100,
          listenOverflows: lo1 - lo0,
          factor: row.factor,
          rss: { start: samples[0], max: Math.max(...samples), end: samples[samples.length - 1], samples, ...rssHalves(samples, Math.round(warmupSec), durationSec) },
          statusCodes: r.statusCodes,
          firstProblem: r.firstProblem,
        };
        out.over[row.key] = res;
        console.log(
          `  overload ${row.key} at ${f1(rate)} calls/s (${row.factor}× ${f0(capTexts)} texts/s): 503 ${pct(res.share503)}, 503 p50 ${f2(res.lat503.p50)} / p99 ${f2(res.lat503.p99)} ms, 200 p50 ${f0(res.lat200.p50)} ms, served ${f0(res.servedTextsPerSec)} texts/s, RSS ${f0(res.rss.start)} → max ${f0(res.rss.max)} → ${f0(res.rss.end)} MiB`,
        );
        if (r.errors || r.bad || r.bad503 || r.other || r.noRetryAfter) {
          problems.push(`classify overload ${row.key}: errors ${r.errors}, bad 200 bodies ${r.bad}, bad 503 bodies ${r.bad503}, other statuses ${r.other}, 503 without Retry-After ${r.noRetryAfter}, status codes ${JSON.stringify(r.statusCodes)} (first: ${r.firstProblem})`);
        }
        if (r.maxInFlight >= cfg.over.connections) problems.push(`classify overload ${row.key}: ${r.maxInFlight} calls in flight reached the client pool's ${cfg.over.connections} connections (client-side queueing)`);
      } finally {
        await stopChild(gen);
      }
    }

    // ---- after the overload: back to normal?
    out.recovery = {};
    for (const [k, inst] of Object.entries(instances)) {
      const after = await waitReady(inst.origin, inst.cp.benchName, 10_000);
      const one = classifyBody(1);
      const res = await fetch(`${inst.origin}/classify`, { method: 'POST', headers: JSON_HEADERS, body: one.body });
      const text = await res.text();
      const rec = { label: inst.label, queued: after.queued, batchesInFlight: after.batchesInFlight, workerRestarts: after.workerRestarts, status: res.status, problem: res.status === 200 ? checkAnswer(text, one.labels, 1) : text.slice(0, 200) };
      out.recovery[k] = rec;
      if (rec.queued || rec.status !== 200 || rec.problem || rec.workerRestarts) problems.push(`classify after overload (${inst.cp.benchName}): ${JSON.stringify(rec)}`);
      if (inst.cp.exitCode !== null || inst.cp.signalCode !== null) problems.push(`${inst.cp.benchName} exited during the run:\n${inst.lines.join('\n')}`);
    }
    if (problems.length) for (const inst of Object.values(instances)) console.warn(`--- last output of ${inst.cp.benchName} ---\n${inst.lines.join('\n')}`);
    out.problems = problems;
    return out;
  } finally {
    for (const cp of started.reverse()) await stopChild(cp);
  }
}

// ------------------------------------------------------------------------------------------------
// report

const passFail = (ok) => (ok ? 'PASS' : 'FAIL');

/** The report section (Markdown) and the problems found. `level` = '##' or '###'. */
export function classifyReport(cls, level = '##') {
  const { cfg, rows, thr, health, over, capacity } = cls;
  const L = [];
  const problems = [...cls.problems];
  L.push(`${level} Local model (classify)`);
  L.push('');
  L.push(
    `Model **${BENCH_MODEL}** (\`node scripts/generate-models.mjs --bench\`: lexicon + 8 dense 768×768 layers per token; ${cls.generated ? 'generated by this run' : 'already in dist-bench/models'}), texts of 14 words (16 tokens), each unique in the run, half positive, half negative. ` +
      `ballast = \`node dist/main.js\` with LOCAL_MODEL=${BENCH_MODEL}, LOCAL_MODEL_PATH=dist-bench/models, ALLOW_REMOTE_MODELS=false, LOCAL_MODEL_FALLBACK= (none), CLASSIFIER_THREADS=${cfg.threads} (2 cores: one for inference, one for the event loop and the load generator), CLASSIFIER_MAX_BATCH=${cfg.batch}, CLASSIFIER_BATCH_WAIT_MS=${cfg.batchWaitMs}, CLASSIFIER_MAX_QUEUE=${cfg.maxQueue}, CLASSIFIER_MAX_QUEUE_WAIT_MS=${cfg.maxQueueWaitMs ?? 0}, LOG_LEVEL=${BALLAST_LOG_LEVEL}; /ready was 200 (${cls.ready.name}, ${cls.ready.threads} thread) ${f1(cls.readyMs / 1000)} s after /health. ` +
      `Every 200 answer is checked: model ${BENCH_MODEL}, the label of its sentence, a score in (0, 1].`,
  );
  L.push('');

  const rawCap = capacity.raw;
  const ratio = (key) => capacity[key] / rawCap;
  const overRows = cls.overRows;
  L.push(`${level}# Targets`);
  L.push('');
  const targetRows = [];
  for (const row of cls.httpRows) {
    targetRows.push([`throughput ${row.name.replace(/^ballast /, '')} vs raw (≥ 80%)`, `${pct(ratio(row.key))} (${f0(capacity[row.key])} vs ${f0(rawCap)} texts/s)`, passFail(ratio(row.key) >= 0.8)]);
  }
  for (const row of cls.httpRows) {
    const h = health[row.key];
    targetRows.push([`/health p99 while ${row.name.replace(/^ballast /, '').replace(/, \d+ connections$/, '')} load saturates (≤ 10 ms)`, `${f2(h.p99)} ms (at rest ${f2(health.rest.p99)} ms)`, passFail(h.p99 <= 10)]);
  }
  for (const row of overRows) {
    const o = over[row.key];
    if (row.key === 'soak') continue;
    targetRows.push([`503 p99, ${row.name} (≤ 5 ms)`, `${f2(o.lat503.p99)} ms; ${pct(o.share503)} answered 503`, passFail(o.lat503.p99 <= 5)]);
  }
  for (const row of overRows) {
    const o = over[row.key];
    const levelled = o.rss.secondHalfMax <= o.rss.firstHalfMax + 2;
    targetRows.push([
      `RSS under overload, ${row.name}`,
      `${f0(o.rss.start)} → max ${f0(o.rss.max)} → end ${f0(o.rss.end)} MiB; measured window: max ${f0(o.rss.firstHalfMax)} in the 1st half, ${f0(o.rss.secondHalfMax)} in the 2nd`,
      levelled ? 'levelled off' : 'still growing',
    ]);
  }
  L.push(mdTable(['target', 'result', 'verdict'], targetRows, ['l', 'r', 'l']));
  L.push('');

  // 1
  L.push(`${level}# 1. Throughput: ballast vs the raw pipeline`);
  L.push('');
  L.push(
    `**raw** = bench/classify-raw.mjs in its own process: Piscina with ballast's worker file (dist/local-model/classifier.worker.js), the same workerData (candidates = [${BENCH_MODEL}], loadLock) and pool options as ClassifierPool, ${cfg.threads} thread, ${cfg.batch}-text batches, 2 tasks always submitted so the worker never waits (the baseline); the "1 batch in flight" row submits the next batch only when the previous one is back, as ballast's MicroBatcher does (concurrency = threads), for information. ` +
      `**ballast** = closed-loop HTTP load from the bench process (undici Pool): {text} calls on ${cfg.single.connections} connections (enough to keep ${cfg.batch}-text batches full), and {texts: [${cfg.many.texts}]} calls on ${cfg.many.connections} connections. ` +
      `${cfg.rounds} interleaved round(s), the order rotating, each target ${cfg.warmupSec} s warm-up + ${cfg.durationSec} s measured; texts/s = checked texts / run time (the run ends when the calls open at the deadline are answered); the table gives the median over rounds and each round's value. CPU ms/text = user + system CPU of the serving process (all threads) per text, from /proc; it moves less with the VM's other load than texts/s. Machine busy = busy share of all cores of the VM over the measured run, from /proc/stat (100 % = both cores busy; includes the bench itself and other work on the VM).`,
  );
  L.push('');
  L.push(
    mdTable(
      ['target', 'texts/s (median)', 'vs raw', 'per round texts/s', 'CPU ms/text (median)', 'call p50 ms', 'call p99 ms', 'machine busy (median)', 'failed'],
      rows.map((row) => {
        const rs = thr[row.key];
        const m = median(rs.map((x) => x.textsPerSec));
        const bad = rs.reduce((sum, x) => sum + x.bad + x.non2xx + x.errors, 0);
        return [
          row.name,
          f0(m),
          pct(m / rawCap),
          rs.map((x) => f0(x.textsPerSec)).join(', '),
          f3(median(rs.map((x) => x.cpuPerText))),
          row.perThread ? '–' : f1(median(rs.map((x) => x.p50))),
          row.perThread ? '–' : f1(median(rs.map((x) => x.p99))),
          `${f0(median(rs.map((x) => x.machineBusyPct)))}%`,
          String(bad),
        ];
      }),
    ),
  );
  L.push('');

  // 2
  L.push(`${level}# 2. Event loop: /health while /classify is saturated`);
  L.push('');
  L.push(
    `bench/health-probe.mjs, a separate process with its own keep-alive connection, sends ${cfg.health.n} sequential \`GET /health\` (after ${cfg.health.warmup} warm-up), one every ${cfg.health.intervalMs} ms (or at once when the previous one took longer), and times each to the last body byte: once at rest, then while each ballast load of section 1 runs (started ${cfg.health.loadWarmupSec} s before the probe, stopped after it). ballast CPU = its CPU time over the probe's duration (100 % = one core).`,
  );
  L.push('');
  L.push(
    mdTable(
      ['condition', 'p50 ms', 'p99 ms', 'max ms', 'probes', 'classify texts/s meanwhile', 'ballast CPU', 'machine busy', 'p99 ≤ 10 ms'],
      [
        ['at rest', f3(health.rest.p50), f3(health.rest.p99), f3(health.rest.max), String(health.rest.n), '–', '–', `${f0(health.rest.machineBusyPct)}%`, passFail(health.rest.p99 <= 10)],
        ...cls.httpRows.map((row) => {
          const h = health[row.key];
          return [`under ${row.name} load`, f3(h.p50), f3(h.p99), f3(h.max), String(h.n), f0(h.loadTextsPerSec), `${f0(h.ballastCpuPct)}%`, `${f0(h.machineBusyPct)}%`, passFail(h.p99 <= 10)];
        }),
      ],
    ),
  );
  L.push('');

  // 3
  L.push(`${level}# 3. Overload`);
  L.push('');
  L.push(
    `Open-loop load from a fresh process per row (bench/classify-overload.mjs, forked by the bench, so no earlier section's history in the client pauses the calls it times): calls sent at a fixed rate of ${cfg.over.factor}× (one row ${cfg.over.lowFactor}×) the highest capacity measured in section 1 (${f0(cls.overCapTexts)} texts/s), whatever happened to earlier calls (one new body per call, so nothing is shared), on ${OVERLOAD_CLIENT === 'raw' ? 'bench/raw-http.mjs (a lean keep-alive HTTP/1.1 client: ~0.18 ms of CPU per call against undici\'s ~0.3, CPU the 2 cores ballast runs on do not lose; BENCH_OVERLOAD_CLIENT=undici for undici)' : 'an undici Pool (BENCH_OVERLOAD_CLIENT=undici)'} with up to ${cfg.over.connections} connections (so the client never queues). Warm-up per row: the rate ramps up linearly over ${cfg.over.rampSec} s (so the client does not open hundreds of connections at once), then holds; the warm-up lasts ${cfg.over.warmupSec} s plus the time to fill the queue twice over at the planned excess rate; then ${cfg.over.durationSec} s measured (the soak row: ${cfg.over.soakSec} s): only calls sent in that window count; the run then waits for every open call. Served texts/s = texts of 200 answers that arrived in the window (whenever sent). ` +
      `The rows without a bound in time use two more ballast instances, identical but for the queue's bounds (CLASSIFIER_MAX_QUEUE=${cfg.over.smallQueue} or ${cfg.maxQueue}, CLASSIFIER_MAX_QUEUE_WAIT_MS=0; started for this section and warmed up like the first); the rows with the defaults use the instance of sections 1 and 2. ` +
      `Every 503 is checked for \`overloaded_error\` / \`queue_full\` and a Retry-After header. RSS = VmRSS of that ballast process from /proc/<pid>/status, sampled every second from just before the load until 1 s after the last answer; \"levelled off\" = its highest value in the second half of the measured window is within 2 MiB of the first half's (V8 grows its heap in steps, so a short window can show growth that stops later; the soak row runs longer for that reason). Send lag = how late the generator sent a call vs its schedule (if large, the offered rate was lower than planned). CPU over the row (100 % = one core): ballast's process, the load generator's process, and the busy share of the whole machine (all cores; 100 % = every core busy) (other work on the VM included); listen overflows = the kernel's TcpExt ListenOverflows counter over the row (whole machine): connections dropped because a listen backlog was full, each costing the client a 1 s SYN retry.`,
  );
  L.push('');
  L.push(
    mdTable(
      ['call shape, rate, queue', 'offered calls/s (planned)', 'answered 503', '503 p50 ms', '503 p99 ms', '503 max ms', 'Retry-After', 'served texts/s', '200 p50 ms', '200 p99 ms', 'max in flight', 'send lag p99 ms', 'CPU ballast / bench / machine', 'listen overflows', 'RSS start / max / end MiB', 'failed'],
      overRows.map((row) => {
        const o = over[row.key];
        return [
          row.name,
          `${f1(o.offeredRate)} (${f1(o.rate)})`,
          `${pct(o.share503)} (${o.n503}/${o.answered})`,
          f2(o.lat503.p50),
          f2(o.lat503.p99),
          f2(o.lat503.max),
          o.noRetryAfter ? `missing on ${o.noRetryAfter}` : `on all (${o.retryAfter.join(', ')} s)`,
          f0(o.servedTextsPerSec),
          f0(o.lat200.p50),
          f0(o.lat200.p99),
          String(o.maxInFlight),
          f1(o.lagP99),
          `${f0(o.ballastCpuPct)}% / ${f0(o.benchCpuPct)}% / ${f0(o.machineBusyPct)}%`,
          String(o.listenOverflows),
          `${f0(o.rss.start)} / ${f0(o.rss.max)} / ${f0(o.rss.end)}`,
          String(o.errors + o.bad + o.bad503 + o.other),
        ];
      }),
    ),
  );
  L.push('');
  for (const row of overRows) L.push(`- RSS samples, ${row.name} (MiB, every second): ${over[row.key].rss.samples.map(f0).join(', ')}`);
  for (const [k, rec] of Object.entries(cls.recovery)) {
    L.push(`- After the overload (${rec.label ?? k}): /ready 200 with ${rec.queued} queued, ${rec.batchesInFlight} batches in flight, ${rec.workerRestarts} worker restarts; one {text} call: ${rec.status}${rec.problem ? ` (${rec.problem})` : ' ok'}.`);
  }
  L.push('');
  return { text: L.join('\n'), problems };
}
