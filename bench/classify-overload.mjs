// The classify scenario's overload load generator (bench/classify-scenario.mjs, section 3), run in a
// fresh forked process for every overload row: a client's own pauses count in the latency it
// measures, and the bench process carries the history of everything it ran before (its heap, its
// pools, the results of sections 1 and 2), which a refusal measured in the bench process would pay
// for. The parent sends { type: 'run', id, origin, seq, params }; this process answers
// { type: 'result', id, r, cpuMs } (r as overloadRun returns it; cpuMs = its own CPU over the run) and
// is then stopped. The schedule is load-gen.mjs's openLoop; this file says what a call is and how
// its answer counts. The calls go out on lib.mjs's overloadPool (raw-http.mjs's lean client unless BENCH_OVERLOAD_CLIENT=undici).
import { checkAnswer, classifyBody, continueTextsAt, nextTextSeq } from './classify-texts.mjs';
import { openLoop } from './load-gen.mjs';
import { overloadPool, sortNum } from './lib.mjs';

/** One /classify call of `perRequest` new texts; its check knows the labels they must get. */
function classifyCall(perRequest) {
  const { body, labels } = classifyBody(perRequest);
  return {
    kind: 'classify',
    path: '/classify',
    body,
    check: (status, _headers, text) => {
      if (status === 200) return checkAnswer(text, labels, perRequest);
      if (status === 503) return text.includes('"queue_full"') && text.includes('"overloaded_error"') ? null : `503 body: ${text.slice(0, 200)}`;
      return `status ${status}: ${text.slice(0, 200)}`;
    },
  };
}

/**
 * Open-loop /classify load: `rate` calls per second for warmupMs + durationMs (ramping up over
 * rampMs), each sent at its scheduled time whatever happened to the earlier ones. Only calls
 * scheduled in the measured window count, except `servedTexts`: texts of checked 200 answers that
 * arrived in the window, whenever they were sent (the throughput while overloaded). Every 200 body
 * is checked; every 503 must say queue_full and carry Retry-After.
 */
export async function overloadRun(pool, { rate, perRequest, warmupMs, durationMs, rampMs = 0, connections }) {
  const run = await openLoop(pool, { rate, warmupMs, durationMs, rampMs, makeRequest: () => classifyCall(perRequest) });
  const { windowStart, windowEnd } = run;
  const r = { servedTexts: 0, offered: 0, n200: 0, n503: 0, other: 0, errors: 0, bad: 0, bad503: 0, noRetryAfter: 0, statusCodes: {}, firstProblem: null };
  const retryAfter = new Set();
  const lat200 = [];
  const lat503 = [];
  for (const c of run.records) {
    if (c.status === 200 && !c.error && !c.problem && c.end >= windowStart && c.end < windowEnd) r.servedTexts += perRequest;
    if (c.scheduled < windowStart || c.scheduled >= windowEnd) continue;
    r.offered++;
    if (c.error) {
      r.errors++;
      r.firstProblem ??= `transport error: ${c.error}`;
      continue;
    }
    r.statusCodes[c.status] = (r.statusCodes[c.status] ?? 0) + 1;
    if (c.status === 200) {
      if (c.problem) {
        r.bad++;
        r.firstProblem ??= c.problem;
      } else {
        r.n200++;
        lat200.push(c.end - c.start);
      }
    } else if (c.status === 503) {
      r.n503++;
      lat503.push(c.end - c.start);
      if (c.retryAfter === undefined) r.noRetryAfter++;
      else retryAfter.add(String(c.retryAfter));
      if (c.problem) {
        r.bad503++;
        r.firstProblem ??= c.problem;
      }
    } else {
      r.other++;
      r.firstProblem ??= c.problem;
    }
  }
  return { ...r, retryAfter: [...retryAfter], lat200: sortNum(lat200), lat503: sortNum(lat503), lag: run.lag, maxInFlight: run.maxInFlight, drainMs: run.endedAt - windowEnd, connections };
}

if (process.send) {
  process.on('message', async (m) => {
    if (m?.type !== 'run') return;
    continueTextsAt(m.seq);
    const pool = overloadPool(m.origin, m.params.connections);
    const cpu0 = process.cpuUsage();
    try {
      const r = await overloadRun(pool, m.params);
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
