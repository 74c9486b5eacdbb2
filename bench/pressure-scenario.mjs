// Pressure scenarios of the ballast benchmark: `node bench/pressure-scenario.mjs [--quick]
// [--only=c1000|overload]` runs them on their own (own fake upstream, own ballast instances, report
// on stdout and in bench/results/pressure-run.md); run.mjs can import runC1000 / runOverload /
// runPressure instead. Each returns { markdown, problems, data }.
//
//   c1000     1000 concurrent callers, every upstream answer takes 1 s. Little's law: with N requests
//             always in flight and a response time R, throughput X = N / R, so the bound is
//             1000 / 1 s = 1000 req/s; target: ballast reaches ≥ 95 % of it with 0 errors. Same
//             load straight against the fake upstream for reference. ballast: UPSTREAM_MAX_SOCKETS=
//             2048, UPSTREAM_TIMEOUT_MS=10000, LOG_LEVEL=info (one log line per request, as in
//             production). Load: bench/load-gen.mjs closed loop, 1000 workers on one undici Pool with
//             1000 connections, started over 2 s; throughput = 200 answers that arrived in the
//             measured window (after the warm-up) / window length.
//             measured window (after the warm-up) / window length. An informational row repeats it
//             with a 2 s upstream (bound 500 req/s): same concurrency, half the CPU work per second.
//   overload  ballast with MAX_IN_FLIGHT=64 in front of a 200 ms upstream: capacity = what a closed
//             loop of 64 callers gets (≤ 64 / 200 ms = 320 req/s); then an open loop at 0.5× and at
//             2× that capacity. Targets at 2×: shed answers (503 overloaded_error, Retry-After) p99
//             ≤ 5 ms, accepted (200) answers keep the latency they have below capacity, RSS stays
//             bounded (sampled every second from /proc/<pid>/status), 0 transport errors. 200 ms so
//             that 2× capacity is a concurrency overload, well within the CPU: the same 64 callers
//             with a 0 ms upstream give ballast's CPU-bound capacity (~800-1600 req/s on the 2-core
//             bench machine). Informational rows: the same with a 50 ms upstream, where 2× capacity
//             (≈ 2 × 1280 req/s) is beyond the CPU as well.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { JSON_HEADERS, QUICK, f0, f1, f2, mdTable, pct, runStandalone, sleep, startBallast, startFake, stopChild } from './lib.mjs';
import { closedLoop, cpuMeter, fdLimit, listenOverflows, metricSum, openFds, openLoop, rssOf, sampler, scrapeMetrics, summarize } from './load-gen.mjs';

const MESSAGES = [{ role: 'user', content: 'hello' }];
const BALLAST_BODY = JSON.stringify({ messages: MESSAGES });
const OPENAI_BODY = JSON.stringify({ model: 'fake-model', messages: MESSAGES });

const checkChat200 = (status, _headers, text) => (status !== 200 ? `status ${status}: ${text.slice(0, 200)}` : text.includes('Echo: hello') ? null : `body ${text.slice(0, 200)}`);

/** 200 with the echo, or 503 overloaded_error / too_many_in_flight with Retry-After; anything else is a problem. */
function checkChatOr503(status, headers, text) {
  if (status === 200) return checkChat200(status, headers, text);
  if (status === 503) {
    if (!text.includes('"overloaded_error"') || !text.includes('too_many_in_flight')) return `503 body ${text.slice(0, 200)}`;
    if (headers['retry-after'] === undefined) return '503 without Retry-After';
    return null;
  }
  return `status ${status}: ${text.slice(0, 200)}`;
}

const cfgC1000 = (quick) => ({ connections: 1000, latencyMs: 1000, slowLatencyMs: 2000, rampSec: 2, warmupSec: 5, durationSec: quick ? 8 : 20, maxSockets: 2048, timeoutMs: 10000 });
const cfgOverload = (quick) => ({
  maxInFlight: 64,
  latencyMs: 200,
  cpuLatencyMs: 50,
  capacity: { workers: 64, warmupSec: quick ? 2 : 3, durationSec: quick ? 4 : 8 },
  below: { factor: 0.5, warmupSec: 2, durationSec: quick ? 4 : 10 },
  over: { factor: 2, rampSec: 1, warmupSec: 3, durationSec: quick ? 5 : 120 },
  over2: { factor: 2, rampSec: 1, warmupSec: 3, durationSec: quick ? 5 : 15 },
  poolConnections: 1024,
});

function somaxconn() {
  try {
    return fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim();
  } catch {
    return 'n/a';
  }
}

function newPool(origin, connections) {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 30_000, bodyTimeout: 30_000, connectTimeout: 10_000 });
}

async function withFake(fake, fn) {
  if (fake) return fn(fake);
  const own = await startFake();
  try {
    return await fn(own);
  } finally {
    await stopChild(own.cp);
  }
}

/** "ballast / fake / bench / machine" CPU %: one core = 100 %; machine = busy share of all cores (other work included). */
const cpuText = (c) => `${f0(c.server)} / ${f0(c.fake)} / ${f0(c.bench)} / ${f0(c.machineBusy)}`;

/** Says so at once when a server dies in the middle of a run (the run itself would only show refused connections). */
export function watchExit(proc) {
  proc.cp.once('exit', (code, signal) => {
    if (!proc.stopping) console.warn(`\n  !! ${proc.cp.benchName} (pid ${proc.cp.pid}) exited: code ${code}, signal ${signal}`);
  });
}

const badCount = (s) => s.errors + s.bad + Object.entries(s.statusCodes).reduce((a, [k, v]) => a + (k === '200' ? 0 : v), 0);

// ------------------------------------------------------------------------------------------------
// 1. c=1000, 1 s upstream

export async function runC1000({ quick = QUICK, fake } = {}) {
  const cfg = cfgC1000(quick);
  return withFake(fake, async (fk) => {
    const problems = [];
    const bal = await startBallast('undici', fk.origin, {
      name: 'ballast-c1000',
      env: { UPSTREAM_MAX_SOCKETS: String(cfg.maxSockets), UPSTREAM_TIMEOUT_MS: String(cfg.timeoutMs), LOG_LEVEL: 'info' },
    });
    watchExit(bal);
    const rows = [];
    try {
      const targets = [
        { key: 'direct', name: 'fake upstream, straight (`POST /v1/chat/completions`)', origin: fk.origin, path: '/v1/chat/completions', body: OPENAI_BODY, pid: fk.cp.pid },
        { key: 'ballast', name: 'ballast `POST /chat/complete`', origin: bal.origin, path: '/chat/complete', body: BALLAST_BODY, pid: bal.cp.pid },
        // informational: half the request rate for the same concurrency, to tell a concurrency limit from a CPU limit
        { key: 'ballast-slow', name: `ballast \`POST /chat/complete\`, ${cfg.slowLatencyMs} ms upstream (informational)`, origin: bal.origin, path: '/chat/complete', body: BALLAST_BODY, pid: bal.cp.pid, latencyMs: cfg.slowLatencyMs },
      ];
      for (const t of targets) {
        const latencyMs = t.latencyMs ?? cfg.latencyMs;
        await fk.setKnobs({ latencyMs, streamIntervalMs: 0, streamTokens: null });
        const pool = newPool(t.origin, cfg.connections);
        const fds = sampler(() => openFds(t.pid), 1000);
        const rss = sampler(rssOf(t.pid), 1000);
        const isBallast = t.key !== 'direct';
        if (isBallast) await scrapeMetrics(t.origin); // resets prom-client's event-loop histogram
        const cpu = cpuMeter({ server: t.pid, fake: fk.cp.pid });
        const lo0 = listenOverflows();
        try {
          const run = await closedLoop(pool, {
            workers: cfg.connections,
            makeRequest: () => ({ kind: 'chat', path: t.path, body: t.body, check: checkChat200 }),
            warmupMs: cfg.warmupSec * 1000,
            durationMs: cfg.durationSec * 1000,
            rampMs: cfg.rampSec * 1000,
          });
          const cpuPct = cpu();
          const listenDrops = listenOverflows() - lo0;
          const loop = isBallast ? loopLag(await scrapeMetrics(t.origin)) : null;
          const s = summarize(run);
          const c = await fk.getCounters();
          const lat = s.byStatus['200'] ?? {};
          const bound = cfg.connections / (latencyMs / 1000);
          const row = {
            ...t,
            latencyMs,
            bound,
            s,
            rps: s.rps,
            share: s.rps / bound,
            // Little's law the other way round: N = X × R; below N means callers spent time not waiting on an answer
            littleN: s.rps * (lat.mean / 1000),
            lat,
            bad: badCount(s),
            upstreamReq: c.chat,
            upstreamMaxInFlight: c.maxInFlight,
            maxFds: Math.max(...fds.stop().map((x) => x.v)),
            rssMax: Math.max(...rss.stop().map((x) => x.v)),
            cpu: cpuPct,
            loop,
            listenDrops,
          };
          rows.push(row);
          console.log(
            `  c=${cfg.connections} ${t.key}: ${f0(row.rps)} req/s = ${pct(row.share)} of ${bound}, p50 ${f0(lat.p50)} ms, p99 ${f0(lat.p99)} ms, max ${f0(lat.max)} ms, non-200/errors ${row.bad}, upstream max in flight ${row.upstreamMaxInFlight}, max fds ${row.maxFds}, CPU ${cpuText(cpuPct)}`,
          );
          if (row.bad) problems.push(`c1000 ${t.key}: ${row.bad} failed requests, status codes ${JSON.stringify(s.statusCodes)}, errors ${s.errors} (${s.problems.join('; ')})`);
          if (t.key === 'ballast' && row.share < 0.95) problems.push(`c1000 ballast: ${pct(row.share)} of the Little's-law bound (target ≥ 95 %)`);
          if (t.key !== 'direct' && row.upstreamReq !== s.total) problems.push(`c1000 ballast: ${row.upstreamReq} upstream requests for ${s.total} calls (retries?)`);
        } finally {
          await pool.destroy();
        }
      }
      if (bal.cp.exitCode !== null || bal.cp.signalCode !== null) problems.push(`ballast-c1000 exited during the run (code ${bal.cp.exitCode}, signal ${bal.cp.signalCode}):\n${bal.lines.slice(-10).join('\n')}`);
    } finally {
      bal.stopping = true;
      await stopChild(bal.cp);
    }
    const data = { cfg, rows, fdSelf: fdLimit('self'), somaxconn: somaxconn() };
    return { markdown: c1000Markdown(data), problems, data };
  });
}

function c1000Markdown({ cfg, rows, fdSelf, somaxconn: smc }) {
  const bound = cfg.connections / (cfg.latencyMs / 1000);
  const L = [];
  L.push(`### ${cfg.connections} concurrent callers, ${cfg.latencyMs} ms upstream (Little's law)`);
  L.push('');
  L.push(
    `Closed loop: ${cfg.connections} callers (bench/load-gen.mjs, one undici Pool with ${cfg.connections} keep-alive connections, callers started over ${cfg.rampSec} s), each sending its next request the moment its answer is read; the fake upstream answers every request after ${cfg.latencyMs} ms. ` +
      `Little's law bound: ${cfg.connections} in flight / ${cfg.latencyMs / 1000} s = **${bound} req/s**. The last row repeats the ballast run with a ${cfg.slowLatencyMs} ms upstream (bound ${cfg.connections / (cfg.slowLatencyMs / 1000)} req/s): same concurrency, half the CPU work per second, to tell a concurrency limit from a CPU limit. Throughput = 200 answers that arrived in the ${cfg.durationSec} s window after a ${cfg.warmupSec} s warm-up / ${cfg.durationSec} s; latency = request start → last body byte, requests started in the window. ` +
      `ballast: UPSTREAM_MAX_SOCKETS=${cfg.maxSockets}, UPSTREAM_TIMEOUT_MS=${cfg.timeoutMs}, UPSTREAM_MAX_RETRIES=2 (default), LOG_LEVEL=info. "N = X × mean R" applies Little's law the other way round (≈ ${cfg.connections} when callers never wait on anything but the answer). ` +
      `CPU %: one core = 100, machine = all cores busy incl. other work. Event-loop delay: prom-client's \`nodejs_eventloop_lag_p99_seconds\` / \`_max_\` over the row (/metrics scraped, and so reset, just before; the values include prom-client's 10 ms sampling interval, an idle ballast reads p99 ≈ 11.6 ms). Listen overflows = TcpExt ListenOverflows during the row (connections the kernel dropped because a listen backlog was full; whole machine). Client file-descriptor limit (ulimit -n, soft/hard): ${fdSelf ? `${fdSelf.soft}/${fdSelf.hard}` : 'n/a'}; net.core.somaxconn ${smc}.`,
  );
  L.push('');
  L.push(
    mdTable(
      ['target', 'bound req/s', 'req/s', 'share of bound', 'p50 ms', 'p99 ms', 'max ms', 'N = X × mean R', 'upstream max in flight', 'upstream req / call', 'max open fds', 'max RSS MiB', 'CPU % server / fake / bench / machine', 'ballast event-loop delay p99 / max ms', 'listen overflows', 'calls', 'non-200 + errors'],
      rows.map((r) => [r.name, f0(r.bound), f0(r.rps), pct(r.share), f1(r.lat.p50), f1(r.lat.p99), f1(r.lat.max), f0(r.littleN), String(r.upstreamMaxInFlight), r.key !== 'direct' ? f2(r.upstreamReq / r.s.total) : '—', String(r.maxFds), f0(r.rssMax), cpuText(r.cpu), r.loop ? `${f1(r.loop.p99)} / ${f1(r.loop.max)}` : '—', String(r.listenDrops), String(r.s.total), String(r.bad)]),
    ),
  );
  const b = rows.find((r) => r.key === 'ballast');
  L.push('');
  if (b) L.push(`Target ≥ 95 % of the bound with 0 errors: **${b.share >= 0.95 && b.bad === 0 ? 'PASS' : 'FAIL'}** (${pct(b.share)}, ${b.bad} failed).`);
  return L.join('\n');
}

// ------------------------------------------------------------------------------------------------
// 2. overload at 2× capacity

export async function runOverload({ quick = QUICK, fake } = {}) {
  const cfg = cfgOverload(quick);
  return withFake(fake, async (fk) => {
    const problems = [];
    const bal = await startBallast('undici', fk.origin, { name: 'ballast-overload', env: { MAX_IN_FLIGHT: String(cfg.maxInFlight), LOG_LEVEL: 'info' } });
    watchExit(bal);
    const out = { cfg };
    try {
      const pool = newPool(bal.origin, cfg.poolConnections);
      const mk = () => ({ kind: 'chat', path: '/chat/complete', body: BALLAST_BODY, check: checkChatOr503 });
      const pid = bal.cp.pid;
      try {
        const closed = async (latencyMs, warmupSec, durationSec) => {
          await fk.setKnobs({ latencyMs, streamIntervalMs: 0, streamTokens: null });
          await scrapeMetrics(bal.origin); // resets prom-client's event-loop histogram
          const cpu = cpuMeter({ server: pid, fake: fk.cp.pid });
          const lo0 = listenOverflows();
          const rss = sampler(rssOf(pid), 1000);
          const run = await closedLoop(pool, { workers: cfg.capacity.workers, makeRequest: mk, warmupMs: warmupSec * 1000, durationMs: durationSec * 1000 });
          const s = summarize(run);
          s.cpu = cpu();
          s.listenDrops = listenOverflows() - lo0;
          s.rss = rssSummary(rss.stop(), 0);
          s.loop = loopLag(await scrapeMetrics(bal.origin));
          s.latencyMs = latencyMs;
          console.log(`  overload: closed loop ${cfg.capacity.workers} callers, upstream ${latencyMs} ms: ${f0(s.rps)} req/s, 200 p50 ${f1(s.byStatus['200']?.p50)} ms, statuses ${JSON.stringify(s.statusCodes)}, CPU ${cpuText(s.cpu)}`);
          return s;
        };
        const open = async (latencyMs, capacity, factor, { warmupSec, durationSec, rampSec = 0 }) => {
          await fk.setKnobs({ latencyMs, streamIntervalMs: 0, streamTokens: null });
          const m0 = await scrapeMetrics(bal.origin);
          const cpu = cpuMeter({ server: pid, fake: fk.cp.pid });
          const lo0 = listenOverflows();
          const rss = sampler(rssOf(pid), 1000);
          const run = await openLoop(pool, { rate: factor * capacity, makeRequest: mk, warmupMs: warmupSec * 1000, durationMs: durationSec * 1000, rampMs: rampSec * 1000 });
          const s = summarize(run, { goodStatuses: [200] });
          s.cpu = cpu();
          s.listenDrops = listenOverflows() - lo0;
          s.loop = loopLag(await scrapeMetrics(bal.origin));
          await sleep(1000);
          s.rss = rssSummary(rss.stop(), warmupSec);
          const m1 = await scrapeMetrics(bal.origin);
          s.heapUsed = { before: metricSum(m0, 'nodejs_heap_size_used_bytes') / 2 ** 20, after: metricSum(m1, 'nodejs_heap_size_used_bytes') / 2 ** 20 };
          s.shedMetric = metricSum(m1, 'ballast_shed_requests_total', 'reason="in_flight"') - metricSum(m0, 'ballast_shed_requests_total', 'reason="in_flight"');
          s.latencyMs = latencyMs;
          s.factor = factor;
          s.rate = factor * capacity;
          s.offered = run.records.filter((r) => r.scheduled >= run.windowStart && r.scheduled < run.windowEnd).length / s.winSec;
          s.share503 = (s.byStatus['503']?.n ?? 0) / s.answeredInWindow;
          console.log(
            `  overload: open loop ${factor}× = ${f0(s.rate)} req/s, upstream ${latencyMs} ms: 200 ${f0(s.rps)}/s (p50 ${f1(s.byStatus['200']?.p50)}, p99 ${f1(s.byStatus['200']?.p99)} ms), 503 ${pct(s.share503)} (p50 ${f2(s.byStatus['503']?.p50)}, p99 ${f2(s.byStatus['503']?.p99)} ms), errors ${s.errors}, bad ${s.bad}, RSS ${f0(s.rss.start)} → max ${f0(s.rss.max)} → ${f0(s.rss.end)} MiB, client lag p99 ${f1(s.lag?.p99)} ms, max in flight ${s.maxInFlight}, CPU ${cpuText(s.cpu)}`,
          );
          return s;
        };
        // warm-up (JIT, connections); CPU-bound capacity (0 ms upstream); capacity at the test latency
        await closed(cfg.latencyMs, 2, 2);
        out.cpuCap = await closed(0, cfg.capacity.warmupSec, cfg.capacity.durationSec);
        out.cap = await closed(cfg.latencyMs, cfg.capacity.warmupSec, cfg.capacity.durationSec);
        out.below = await open(cfg.latencyMs, out.cap.rps, cfg.below.factor, cfg.below);
        out.over = await open(cfg.latencyMs, out.cap.rps, cfg.over.factor, cfg.over);
        // informational: a short upstream, so that 2× its MAX_IN_FLIGHT capacity is beyond what the CPU can serve
        out.cap2 = await closed(cfg.cpuLatencyMs, cfg.capacity.warmupSec, cfg.capacity.durationSec);
        out.over2 = await open(cfg.cpuLatencyMs, out.cap2.rps, cfg.over2.factor, cfg.over2);

        // after: one request answers 200 at once
        await sleep(1000);
        await fk.setKnobs({ latencyMs: 0 });
        const res = await fetch(`${bal.origin}/chat/complete`, { method: 'POST', headers: JSON_HEADERS, body: BALLAST_BODY });
        out.after = { status: res.status, body: (await res.text()).slice(0, 200) };
      } finally {
        await pool.destroy();
      }

      // targets (on the main rows) and problems
      const o = out.over;
      const b = out.below;
      out.targets = {
        shedFast: (o.byStatus['503']?.p99 ?? Infinity) <= 5,
        retryAfter: o.noRetryAfter503 === 0 && (o.byStatus['503']?.n ?? 0) > 0,
        // accepted requests keep their latency: p50 within 5 ms and p99 within 10 % of the 0.5× run
        latencyKept: o.byStatus['200'].p50 <= b.byStatus['200'].p50 + 5 && o.byStatus['200'].p99 <= b.byStatus['200'].p99 * 1.1,
        // RSS bounded: at the end of the measured window at most 10 % above its start
        rssBounded: o.rss.windowEnd <= o.rss.windowStart * 1.1,
        noErrors: [o, b].every((s) => s.errors === 0 && s.bad === 0 && otherStatuses(s) === 0),
      };
      for (const [k, v] of Object.entries(out.targets)) if (!v) problems.push(`overload: target ${k} missed`);
      // the informational rows (cap2, over2: CPU overload) only add notes
      out.notes = [];
      for (const [name, s] of Object.entries({ cpuCap: out.cpuCap, cap: out.cap, below: b, over: o, cap2: out.cap2, over2: out.over2 })) {
        const list = name.endsWith('2') ? out.notes : problems;
        if (s.errors || s.bad || otherStatuses(s)) list.push(`overload ${name}: errors ${s.errors}, bad ${s.bad}, statuses ${JSON.stringify(s.statusCodes)} (${s.problems.join('; ')})`);
        if (s.maxInFlight >= cfg.poolConnections) list.push(`overload ${name}: ${s.maxInFlight} requests in flight reached the client pool's ${cfg.poolConnections} connections (client-side queueing)`);
      }
      if ((b.byStatus['503']?.n ?? 0) > 0) problems.push(`overload: ${b.byStatus['503'].n} requests shed at ${cfg.below.factor}× capacity`);
      if (out.after.status !== 200) problems.push(`overload: after the run a request got ${out.after.status} ${out.after.body}`);
      if (bal.cp.exitCode !== null || bal.cp.signalCode !== null) problems.push(`ballast-overload exited during the run (code ${bal.cp.exitCode}, signal ${bal.cp.signalCode}):\n${bal.lines.slice(-10).join('\n')}`);
    } finally {
      bal.stopping = true;
      await stopChild(bal.cp);
    }
    return { markdown: overloadMarkdown(out), problems, data: out };
  });
}

/** ballast's event-loop delay p50 / p99 / max (ms) since the previous /metrics scrape (prom-client resets it on every scrape). */
const loopLag = (m) => ({ p50: metricSum(m, 'nodejs_eventloop_lag_p50_seconds') * 1000, p99: metricSum(m, 'nodejs_eventloop_lag_p99_seconds') * 1000, max: metricSum(m, 'nodejs_eventloop_lag_max_seconds') * 1000 });

const otherStatuses = (s) => Object.entries(s.statusCodes).filter(([k]) => k !== '200' && k !== '503').reduce((a, [, v]) => a + v, 0);

/** RSS samples {t, v} → start, max, end, and the values at the start / end of the measured window (after `warmupSec`). */
function rssSummary(samples, warmupSec) {
  const vals = samples.map((x) => x.v).filter(Number.isFinite);
  const afterWarm = samples.find((x) => x.t >= warmupSec) ?? samples[0];
  return { start: vals[0], max: Math.max(...vals), end: vals[vals.length - 1], windowStart: afterWarm.v, windowEnd: vals[vals.length - 1], samples: samples.map((x) => Math.round(x.v)) };
}

function overloadMarkdown(out) {
  const { cfg } = out;
  const L = [];
  const cap = out.cap.rps;
  const littleCap = (ms) => f0(cfg.maxInFlight / (ms / 1000));
  L.push(`### Overload: offered load at ${cfg.over.factor}× capacity, MAX_IN_FLIGHT=${cfg.maxInFlight}`);
  L.push('');
  L.push(
    `ballast with MAX_IN_FLIGHT=${cfg.maxInFlight} (everything else default, LOG_LEVEL=info) in front of a ${cfg.latencyMs} ms upstream. Capacity = closed loop of ${cfg.capacity.workers} callers, ${cfg.capacity.durationSec} s after ${cfg.capacity.warmupSec} s (≤ ${cfg.maxInFlight} / ${cfg.latencyMs} ms = ${littleCap(cfg.latencyMs)} req/s by Little's law): **${f0(cap)} req/s**. ` +
      `The upstream latency is chosen so that 2× this capacity stays well within what ballast's CPU can answer (first row: the same ${cfg.capacity.workers} callers with a 0 ms upstream, ${f0(out.cpuCap.rps)} req/s), i.e. the overload is one of concurrency, which is what MAX_IN_FLIGHT sheds; the last two rows (informational) repeat it with a ${cfg.cpuLatencyMs} ms upstream, where 2× capacity is also more than the CPU can serve. ` +
      `Open loop (bench/load-gen.mjs: each request sent at its scheduled time whatever happened to the earlier ones; one undici Pool of up to ${cfg.poolConnections} connections): ${cfg.below.factor}× capacity (${cfg.below.warmupSec} s warm-up, ${cfg.below.durationSec} s measured) and ${cfg.over.factor}× (${cfg.over.rampSec} s ramp inside ${cfg.over.warmupSec} s warm-up, ${cfg.over.durationSec} s measured; the informational row ${cfg.over2.durationSec} s). ` +
      `Latency = request start → last body byte as the client sees it, split by status; "own time" = ballast's \`Server-Timing: ballast;dur\` of the 503s (its time for the request, without the kernel and the client); requests scheduled in the window; 200/s = 200 answers that arrived in the window / window length; RSS = VmRSS of the ballast process every second from /proc/<pid>/status over the whole row (window start → end in brackets); CPU % = one core = 100, machine = all cores busy incl. other work; ballast event-loop delay = prom-client's \`nodejs_eventloop_lag_p99_seconds\` / \`_max_\` over the row (/metrics scraped, and so reset, just before it; the values include prom-client's 10 ms sampling interval, an idle ballast reads p99 ≈ 11.6 ms); client lag p99 = how late the generator sent requests (its own delay); listen overflows = TcpExt ListenOverflows during the row (whole machine). Every 503 must be \`overloaded_error\` / \`too_many_in_flight\` with Retry-After; every 200 must carry the echo.`,
  );
  L.push('');
  const row = (name, s, offered) => {
    const a = s.byStatus['200'] ?? {};
    const z = s.byStatus['503'] ?? {};
    return [
      name,
      offered,
      f0(s.rps),
      f1(a.p50),
      f1(a.p99),
      pct((z.n ?? 0) / s.answeredInWindow),
      z.n ? f2(z.p50) : '—',
      z.n ? f2(z.p99) : '—',
      z.n ? f2(z.max) : '—',
      s.serverTimeByStatus['503'] ? `${f2(s.serverTimeByStatus['503'].p50)} / ${f2(s.serverTimeByStatus['503'].p99)}` : '—',
      `${f0(s.rss.start)} / ${f0(s.rss.max)} / ${f0(s.rss.end)} (${f0(s.rss.windowStart)} → ${f0(s.rss.windowEnd)})`,
      cpuText(s.cpu),
      `${f1(s.loop.p99)} / ${f1(s.loop.max)}`,
      s.lag ? f1(s.lag.p99) : '—',
      String(s.listenDrops),
      String(s.errors + s.bad + otherStatuses(s)),
    ];
  };
  L.push(
    mdTable(
      ['load', 'offered req/s', '200/s', '200 p50 ms', '200 p99 ms', '503 share', '503 p50 ms', '503 p99 ms', '503 max ms', '503 ballast own time p50 / p99 ms', 'RSS MiB start / max / end', 'CPU % ballast / fake / bench / machine', 'ballast event-loop delay p99 / max ms', 'client lag p99 ms', 'listen overflows', 'errors + other'],
      [
        row(`closed loop, ${cfg.capacity.workers} callers, 0 ms upstream (CPU-bound)`, out.cpuCap, '—'),
        row(`closed loop, ${cfg.capacity.workers} callers, ${cfg.latencyMs} ms (capacity)`, out.cap, '—'),
        row(`open loop ${cfg.below.factor}×, ${cfg.latencyMs} ms`, out.below, f0(out.below.offered)),
        row(`**open loop ${cfg.over.factor}×, ${cfg.latencyMs} ms**`, out.over, f0(out.over.offered)),
        row(`closed loop, ${cfg.capacity.workers} callers, ${cfg.cpuLatencyMs} ms (capacity; informational)`, out.cap2, '—'),
        row(`open loop ${cfg.over.factor}×, ${cfg.cpuLatencyMs} ms (beyond the CPU; informational)`, out.over2, f0(out.over2.offered)),
      ],
    ),
  );
  L.push('');
  const t = out.targets;
  const o = out.over;
  L.push(
    mdTable(
      [`target at ${cfg.over.factor}×, ${cfg.latencyMs} ms`, 'result', ''],
      [
        ['shed answers p99 ≤ 5 ms (client-measured)', `${f2(o.byStatus['503']?.p99)} ms (p50 ${f2(o.byStatus['503']?.p50)}, max ${f2(o.byStatus['503']?.max)}); ballast's own time (Server-Timing) p50 ${f2(o.serverTimeByStatus['503']?.p50)} / p99 ${f2(o.serverTimeByStatus['503']?.p99)} / max ${f2(o.serverTimeByStatus['503']?.max)} ms`, t.shedFast ? 'PASS' : 'FAIL'],
        ['every 503 has Retry-After', `${o.byStatus['503']?.n ?? 0} shed in the window, ${o.noRetryAfter503} without (whole row); values: ${o.retryAfter.join(', ')}; ballast_shed_requests_total{reason="in_flight"} +${o.shedMetric}`, t.retryAfter ? 'PASS' : 'FAIL'],
        [`accepted keep their latency (vs ${cfg.below.factor}×: p50 ≤ +5 ms, p99 ≤ +10 %)`, `p50 ${f1(o.byStatus['200']?.p50)} vs ${f1(out.below.byStatus['200']?.p50)} ms, p99 ${f1(o.byStatus['200']?.p99)} vs ${f1(out.below.byStatus['200']?.p99)} ms (closed loop at capacity: p50 ${f1(out.cap.byStatus['200']?.p50)}, p99 ${f1(out.cap.byStatus['200']?.p99)} ms; upstream ${cfg.latencyMs} ms)`, t.latencyKept ? 'PASS' : 'FAIL'],
        ['RSS bounded (window end ≤ window start + 10 %)', `${f0(o.rss.windowStart)} → ${f0(o.rss.windowEnd)} MiB (max ${f0(o.rss.max)}); V8 heap used ${f1(o.heapUsed.before)} → ${f1(o.heapUsed.after)} MiB`, t.rssBounded ? 'PASS' : 'FAIL'],
        ['0 transport errors, no other status', `${o.errors} errors, ${o.bad} bad bodies, statuses ${JSON.stringify(o.statusCodes)}`, t.noErrors ? 'PASS' : 'FAIL'],
        ['throughput kept while shedding (200/s vs capacity)', `${f0(o.rps)} vs ${f0(cap)} req/s (${pct(o.rps / cap)})`, ''],
      ],
      ['l', 'l', 'l'],
    ),
  );
  L.push('');
  const why =
    cfg.over.durationSec >= 100
      ? `The window is ${cfg.over.durationSec} s because V8 lets the heap grow for the first ~100 s at this rate before its first major collection brings RSS back down (seen in a 150 s run: 162 → 254 MiB over 100 s, then 208-219 MiB flat); a shorter window only sees the growth phase.`
      : `(Quick run: ${cfg.over.durationSec} s is too short to see V8's first major collection, which comes after ~100 s at this rate; RSS only grows until then.)`;
  L.push(`RSS at ${cfg.over.factor}×, ${cfg.latencyMs} ms (MiB, every 5 s): ${o.rss.samples.filter((_, i) => i % 5 === 0).join(' ')}. ${why}`);
  if (out.notes.length) {
    L.push('');
    L.push(`Notes on the informational rows: ${out.notes.join('; ')}.`);
  }
  return L.join('\n');
}
// ------------------------------------------------------------------------------------------------

export async function runPressure({ quick = QUICK, fake, only } = {}) {
  const parts = [];
  const problems = [];
  const data = {};
  if (!only || only === 'c1000') {
    const r = await runC1000({ quick, fake });
    parts.push(r.markdown);
    problems.push(...r.problems);
    data.c1000 = r.data;
  }
  if (!only || only === 'overload') {
    const r = await runOverload({ quick, fake });
    parts.push(r.markdown);
    problems.push(...r.problems);
    data.overload = r.data;
  }
  return { markdown: parts.join('\n\n'), problems, data };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick') || QUICK;
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  await runStandalone(
    'Under pressure',
    `pressure-run${only ? `-${only}` : ''}.md`,
    `node bench/pressure-scenario.mjs${quick ? ' --quick' : ''}${only ? ` --only=${only}` : ''}`,
    () => runPressure({ quick, only }),
  );
}
