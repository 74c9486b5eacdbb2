// The classify scenario's overload load generator (bench/classify-scenario.mjs, section 3), run in a
// fresh forked process for every overload row: a client's own pauses count in the latency it
// measures, and the bench process carries the history of everything it ran before (its heap, its
// pools, the results of sections 1 and 2), which a refusal measured in the bench process would pay
// for. The parent sends { type: 'run', id, origin, seq, params }; this process answers
// { type: 'result', id, r, cpuMs } (r as openLoop returns it; cpuMs = its own CPU over the run) and
// is then stopped.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { checkAnswer, classifyBody, continueTextsAt, nextTextSeq } from './classify-texts.mjs';
import { JSON_HEADERS, sortNum } from './lib.mjs';

/**
 * Open-loop load: `rate` calls per second, each sent at its scheduled time whatever happened to the
 * earlier ones, for warmupMs + durationMs; only calls scheduled in the measured window count, except
 * `servedTexts`: texts of 200 answers that arrived in the measured window, whenever they were sent
 * (the throughput while overloaded). Every 200 body is checked; every 503 must say queue_full and
 * carry Retry-After.
 */
export async function openLoop(pool, { rate, perRequest, warmupMs, durationMs, connections, rampMs = 0 }) {
  const r = {
    servedTexts: 0,
    offered: 0,
    n200: 0,
    n503: 0,
    other: 0,
    errors: 0,
    bad: 0,
    bad503: 0,
    noRetryAfter: 0,
    retryAfter: new Set(),
    lat200: [],
    lat503: [],
    lag: [],
    statusCodes: {},
    firstProblem: null,
    inFlight: 0,
    maxInFlight: 0,
  };
  const open = new Set();
  const fire = (scheduledAt, counted) => {
    const start = performance.now();
    if (counted) {
      r.offered++;
      r.lag.push(start - scheduledAt);
    }
    r.inFlight++;
    if (r.inFlight > r.maxInFlight) r.maxInFlight = r.inFlight;
    const { body, labels } = classifyBody(perRequest);
    const p = (async () => {
      let status = 0;
      let text;
      let headers;
      try {
        const res = await pool.request({ method: 'POST', path: '/classify', headers: JSON_HEADERS, body });
        status = res.statusCode;
        headers = res.headers;
        text = await res.body.text();
      } catch (err) {
        if (counted) {
          r.errors++;
          r.firstProblem ??= `transport error: ${err.code ?? ''} ${err.message}`;
        }
        return;
      } finally {
        r.inFlight--;
      }
      const now = performance.now();
      const ms = now - start;
      const problem = status === 200 ? checkAnswer(text, labels, perRequest) : null;
      if (status === 200 && !problem && now >= windowStart && now < windowEnd) r.servedTexts += perRequest;
      if (!counted) return;
      r.statusCodes[status] = (r.statusCodes[status] ?? 0) + 1;
      if (status === 200) {
        if (problem) {
          r.bad++;
          r.firstProblem ??= problem;
        } else {
          r.n200++;
          r.lat200.push(ms);
        }
      } else if (status === 503) {
        r.n503++;
        r.lat503.push(ms);
        const ra = headers['retry-after'];
        if (ra === undefined) r.noRetryAfter++;
        else r.retryAfter.add(String(ra));
        if (!text.includes('"queue_full"') || !text.includes('"overloaded_error"')) {
          r.bad503++;
          r.firstProblem ??= `503 body: ${text.slice(0, 200)}`;
        }
      } else {
        r.other++;
        r.firstProblem ??= `status ${status}: ${text.slice(0, 200)}`;
      }
    })();
    open.add(p);
    p.finally(() => open.delete(p));
  };
  const total = warmupMs + durationMs;
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = t0 + total;
  // The rate ramps up linearly over the first rampMs (inside the warm-up), so the client does not
  // open hundreds of connections in the same millisecond; constant from then on.
  const ramp = Math.min(rampMs, warmupMs);
  const dueBy = (ms) => (ms < ramp ? (rate * ms * ms) / (2 * ramp * 1000) : (rate * (ms - ramp / 2)) / 1000);
  const scheduledAt = (n) => (n < (rate * ramp) / 2000 ? Math.sqrt((2 * ramp * 1000 * n) / rate) : (n * 1000) / rate + ramp / 2);
  const last = Math.floor(dueBy(total));
  let sent = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const el = performance.now() - t0;
      const due = Math.min(Math.floor(dueBy(Math.min(el, total))), last);
      while (sent < due) {
        const scheduledMs = scheduledAt(sent);
        sent++;
        fire(t0 + scheduledMs, scheduledMs >= warmupMs);
      }
      if (el >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const drainStart = performance.now();
  while (open.size) await Promise.all([...open]);
  r.drainMs = performance.now() - drainStart;
  r.lat200 = sortNum(r.lat200);
  r.lat503 = sortNum(r.lat503);
  r.lag = sortNum(r.lag);
  r.retryAfter = [...r.retryAfter];
  r.connections = connections;
  return r;
}

if (process.send) {
  process.on('message', async (m) => {
    if (m?.type !== 'run') return;
    continueTextsAt(m.seq);
    const pool = new Pool(m.origin, { connections: m.params.connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
    const cpu0 = process.cpuUsage();
    try {
      const r = await openLoop(pool, m.params);
      const cpu = process.cpuUsage(cpu0);
      process.send({ type: 'result', id: m.id, r, seq: nextTextSeq(), cpuMs: (cpu.user + cpu.system) / 1000 });
    } catch (err) {
      process.send({ type: 'result', id: m.id, error: String(err?.stack ?? err) });
    } finally {
      await pool.destroy();
    }
  });
  process.send({ type: 'ready' });
}
