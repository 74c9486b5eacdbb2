// Load generator for the pressure and soak scenarios (bench/pressure-scenario.mjs,
// bench/soak-scenario.mjs), the classify overload rows (bench/classify-overload.mjs: openLoop) and
// the classify and embeddings throughput rows (checkedClosedLoop): closed
// loop (N workers, optionally paced to a fixed rate) or open loop (a fixed rate, each request sent
// at its scheduled time whatever happened to the earlier ones), on one pool (an undici Pool, or
// raw-http.mjs's RawHttpPool, which answers the same `request()`). Every request
// is recorded (kind, status, start, end, problem) so that latencies can be split by status and kind
// (autocannon pools all latencies together), and so that throughput can be counted in a
// steady-state window: answers that *arrived* in [windowStart, windowEnd), not "requests started
// during the run" (which, with a 1 s upstream, undercounts by up to one round trip per run).
//
// Each record also keeps ballast's own time from its Server-Timing header (ballast;dur=), so a tail
// can be told apart: inside ballast, or in the kernel / the client's event loop.
//
// A request spec is { kind, path, body, method?, headers?, check?(status, headers, text) → problem
// string or null }; `makeRequest()` returns a fresh one for every request.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { JSON_HEADERS, percentile, procCpuMs, procRssMiB, sleep, sortNum } from './lib.mjs';

/** One request, body read to the end. */
export async function doRequest(pool, spec) {
  const start = performance.now();
  let status = 0;
  let headers;
  let text = '';
  let error = null;
  try {
    const res = await pool.request({ method: spec.method ?? 'POST', path: spec.path, headers: spec.headers ?? JSON_HEADERS, body: spec.body });
    status = res.statusCode;
    headers = res.headers;
    text = await res.body.text();
  } catch (err) {
    error = `${err.code ?? err.name ?? ''} ${err.message}`.trim();
  }
  const end = performance.now();
  let problem = null;
  if (!error && spec.check) {
    try {
      problem = spec.check(status, headers, text);
    } catch (err) {
      problem = `check threw: ${err.message}`;
    }
  }
  // ballast's own time for this request (Server-Timing: ballast;dur=<ms>), when it sends one
  const st = headers?.['server-timing'];
  const m = typeof st === 'string' ? /ballast;dur=([\d.]+)/.exec(st) : null;
  return { kind: spec.kind, status, start, end, error, problem, retryAfter: headers?.['retry-after'], serverMs: m ? Number(m[1]) : undefined };
}

/**
 * Closed loop: `workers` loops, started evenly over `rampMs` (so hundreds of connections are not
 * opened in the same millisecond), each sending its next request as soon as the previous one is
 * answered; with `rate` > 0 each worker is paced to rate/workers requests per second (it waits for
 * its next slot; a late worker sends at once, without catching up). Runs for warmupMs + durationMs
 * (or until `signal`, an AbortSignal, aborts), then waits for the requests still open. The window is
 * [t0 + warmupMs, t0 + warmupMs + durationMs).
 */
export async function closedLoop(pool, { workers, makeRequest, warmupMs, durationMs, rampMs = 0, rate = 0, onRecord, signal }) {
  const records = [];
  const t0 = performance.now();
  const end = t0 + warmupMs + durationMs;
  let inFlight = 0;
  let maxInFlight = 0;
  const period = rate > 0 ? (1000 * workers) / rate : 0;
  const worker = async (i) => {
    const startAt = t0 + (rampMs * i) / workers;
    let next = startAt;
    await sleep(Math.max(0, startAt - performance.now()));
    while (performance.now() < end && !signal?.aborted) {
      if (period) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        if (performance.now() >= end || signal?.aborted) break;
        next = Math.max(next + period, performance.now());
      }
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      const r = await doRequest(pool, makeRequest());
      inFlight--;
      records.push(r);
      onRecord?.(r);
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));
  return { records, t0, windowStart: t0 + warmupMs, windowEnd: t0 + warmupMs + durationMs, endedAt: performance.now(), maxInFlight, lag: [] };
}

/**
 * closedLoop (no warm-up, no ramp, no pacing) with running counts for scenarios that check every
 * answer (classify, embeddings): runs until `durationMs` has passed or stop() is called, then waits
 * for the requests still open. A spec's `check(status, headers, text)` is asked only about answers
 * whose status passes `okStatus` (default 2xx). Resolves to { calls: good answers (ok status, check
 * passed), lat: their latencies in ms (sorted), non2xx: answers with another status, errors: transport
 * errors, bad: answers the check found a problem in, statusCodes: of every answer, firstProblem: the
 * first of those three kinds (in the order answers arrived), elapsedMs: start → last open request
 * answered }. Returns { done, stop() } (stop() resolves like done).
 */
export function checkedClosedLoop(pool, { workers, makeRequest, durationMs = Infinity, okStatus = (status) => status >= 200 && status < 300 }) {
  const r = { calls: 0, lat: [], non2xx: 0, errors: 0, bad: 0, statusCodes: {}, firstProblem: null, elapsedMs: 0 };
  const stopper = new AbortController();
  const checkedRequest = () => {
    const spec = makeRequest();
    // a non-ok status becomes the record's problem too, for firstProblem (records keep no body)
    return { ...spec, check: (status, headers, text) => (okStatus(status) ? (spec.check?.(status, headers, text) ?? null) : `status ${status}: ${text.slice(0, 200)}`) };
  };
  const onRecord = (rec) => {
    if (rec.error) {
      r.errors++;
      r.firstProblem ??= `transport error: ${rec.error}`;
      return;
    }
    r.statusCodes[rec.status] = (r.statusCodes[rec.status] ?? 0) + 1;
    if (!okStatus(rec.status)) {
      r.non2xx++;
      r.firstProblem ??= rec.problem;
    } else if (rec.problem) {
      r.bad++;
      r.firstProblem ??= rec.problem;
    } else {
      r.calls++;
      r.lat.push(rec.end - rec.start);
    }
  };
  const done = closedLoop(pool, { workers, makeRequest: checkedRequest, warmupMs: 0, durationMs, onRecord, signal: stopper.signal }).then((run) => {
    r.elapsedMs = run.endedAt - run.t0;
    r.lat = sortNum(r.lat);
    return r;
  });
  return {
    done,
    stop() {
      stopper.abort();
      return done;
    },
  };
}

/**
 * Open loop: `rate` requests per second (ramping up linearly over `rampMs`, inside the warm-up), each
 * sent at its scheduled time (a 1 ms timer sends whatever is due) whatever happened to the earlier
 * ones, for warmupMs + durationMs; then waits for the requests still open. `lag` = how late each
 * request of the window left (the load generator's own delay; large values mean the client, not the
 * server, was the bottleneck).
 */
export async function openLoop(pool, { rate, makeRequest, warmupMs, durationMs, rampMs = 0, onRecord }) {
  const records = [];
  const lag = [];
  const open = new Set();
  let inFlight = 0;
  let maxInFlight = 0;
  const total = warmupMs + durationMs;
  const ramp = Math.min(rampMs, warmupMs);
  const dueBy = (ms) => (ms < ramp ? (rate * ms * ms) / (2 * ramp * 1000) : (rate * (ms - ramp / 2)) / 1000);
  const scheduledAt = (n) => (n < (rate * ramp) / 2000 ? Math.sqrt((2 * ramp * 1000 * n) / rate) : (n * 1000) / rate + ramp / 2);
  const last = Math.floor(dueBy(total));
  const t0 = performance.now();
  let sent = 0;
  const fire = (scheduled) => {
    const now = performance.now();
    if (scheduled >= t0 + warmupMs) lag.push(now - scheduled);
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    const p = doRequest(pool, makeRequest()).then((r) => {
      inFlight--;
      r.scheduled = scheduled;
      records.push(r);
      onRecord?.(r);
    });
    open.add(p);
    p.finally(() => open.delete(p));
  };
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const el = performance.now() - t0;
      const due = Math.min(Math.floor(dueBy(Math.min(el, total))), last);
      while (sent < due) fire(t0 + scheduledAt(sent++));
      if (el >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  while (open.size) await Promise.all([...open]);
  return { records, t0, windowStart: t0 + warmupMs, windowEnd: t0 + total, endedAt: performance.now(), maxInFlight, lag: sortNum(lag) };
}

export function latStats(values) {
  const s = sortNum(values);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : NaN, mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN };
}

/**
 * Summary of a run. Throughput: good answers (2xx, or `goodStatuses`, no problem) that arrived in the
 * window / window length. Latencies, by status and by kind: requests that *started* in the window
 * (open loop: scheduled in it). Counts of everything (statuses, transport errors, bad bodies) cover
 * the whole run, warm-up included.
 */
export function summarize(run, { goodStatuses = [200] } = {}) {
  const { records, windowStart, windowEnd } = run;
  const winSec = (windowEnd - windowStart) / 1000;
  const inWindow = (r) => (r.scheduled ?? r.start) >= windowStart && (r.scheduled ?? r.start) < windowEnd;
  const good = (r) => !r.error && !r.problem && goodStatuses.includes(r.status);
  const statusCodes = {};
  const problems = [];
  let errors = 0;
  let bad = 0;
  let goodArrived = 0;
  const arrivedByKind = {};
  const latByStatus = {};
  const serverByStatus = {};
  const latByKind = {};
  const retryAfter = new Set();
  let noRetryAfter503 = 0;
  let answeredInWindow = 0;
  for (const r of records) {
    if (r.error) {
      errors++;
      if (problems.length < 5) problems.push(`transport error (${r.kind}): ${r.error}`);
    } else {
      statusCodes[r.status] = (statusCodes[r.status] ?? 0) + 1;
      if (r.problem) {
        bad++;
        if (problems.length < 5) problems.push(`${r.kind} ${r.status}: ${r.problem}`);
      }
      if (r.status === 503) {
        if (r.retryAfter === undefined) noRetryAfter503++;
        else retryAfter.add(String(r.retryAfter));
      }
    }
    if (good(r) && r.end >= windowStart && r.end < windowEnd) {
      goodArrived++;
      arrivedByKind[r.kind] = (arrivedByKind[r.kind] ?? 0) + 1;
    }
    if (!r.error && inWindow(r)) {
      answeredInWindow++;
      (latByStatus[r.status] ??= []).push(r.end - r.start);
      if (r.serverMs !== undefined) (serverByStatus[r.status] ??= []).push(r.serverMs);
      if (good(r)) (latByKind[r.kind] ??= []).push(r.end - r.start);
    }
  }
  const byStatus = Object.fromEntries(Object.entries(latByStatus).map(([k, v]) => [k, latStats(v)]));
  const serverTimeByStatus = Object.fromEntries(Object.entries(serverByStatus).map(([k, v]) => [k, latStats(v)]));
  const byKind = Object.fromEntries(Object.entries(latByKind).map(([k, v]) => [k, { ...latStats(v), rps: (arrivedByKind[k] ?? 0) / winSec }]));
  return {
    total: records.length,
    rps: goodArrived / winSec,
    winSec,
    answeredInWindow,
    statusCodes,
    errors,
    bad,
    problems,
    byStatus,
    serverTimeByStatus,
    byKind,
    retryAfter: [...retryAfter],
    noRetryAfter503,
    maxInFlight: run.maxInFlight,
    lag: run.lag.length ? latStats(run.lag) : null,
    drainMs: run.endedAt - windowEnd,
  };
}

/** Samples `fn()` every `intervalMs` (and once at start and at stop) with the time since start. */
export function sampler(fn, intervalMs) {
  const t0 = performance.now();
  const samples = [];
  const take = () => {
    try {
      samples.push({ t: (performance.now() - t0) / 1000, v: fn() });
    } catch {
      /* process gone */
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

export const rssOf = (pid) => () => procRssMiB(pid);

/** Number of open file descriptors of `pid` (NaN where /proc is not there). */
export function openFds(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** "Max open files" soft / hard limit of `pid` from /proc/<pid>/limits ('self' for this process). */
export function fdLimit(pid = 'self') {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? { soft: m[1], hard: m[2] } : null;
  } catch {
    return null;
  }
}

/** One Prometheus text scrape → Map "name{labels}" → value. */
export async function scrapeMetrics(origin) {
  const res = await fetch(`${origin}/metrics`);
  const text = await res.text();
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every series of metric `name` whose label text contains all of `has` (e.g. 'reason="in_flight"'). */
export function metricSum(metrics, name, ...has) {
  let sum = 0;
  for (const [k, v] of metrics) {
    const base = k.includes('{') ? k.slice(0, k.indexOf('{')) : k;
    if (base === name && has.every((h) => k.includes(h))) sum += v;
  }
  return sum;
}

/**
 * CPU meter: start() now, stop() → CPU % (of one core) over the interval for each named pid and for
 * this process ('bench'), plus the whole machine's busy % (all cores, from /proc/stat).
 */
export function cpuMeter(pids) {
  const t0 = performance.now();
  const c0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procCpuMs(pid)]));
  const s0 = process.cpuUsage();
  const m0 = machineJiffies();
  return () => {
    const sec = (performance.now() - t0) / 1000;
    const out = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, ((procCpuMs(pid) - c0[k]) / 1000 / sec) * 100]));
    const s = process.cpuUsage(s0);
    out.bench = ((s.user + s.system) / 1e6 / sec) * 100;
    const m1 = machineJiffies();
    out.machineBusy = (1 - (m1.idle - m0.idle) / (m1.total - m0.total)) * 100;
    return out;
  };
}

function machineJiffies() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return { idle: NaN, total: NaN };
  }
}

/**
 * TcpExt ListenOverflows from /proc/net/netstat: connections the kernel dropped because a listen
 * backlog was full (whole machine, so other work counts too; NaN where not Linux). A connection
 * dropped this way after the client saw it open ends in ECONNRESET on the client.
 */
export function listenOverflows() {
  try {
    const lines = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      if (!lines[i].startsWith('TcpExt:')) continue;
      const keys = lines[i].split(/\s+/);
      const vals = lines[i + 1].split(/\s+/);
      return Number(vals[keys.indexOf('ListenOverflows')]);
    }
  } catch {
    /* not Linux */
  }
  return NaN;
}
