// Event-loop probe for the classify scenario (forked by bench/classify-scenario.mjs): sequential
// `GET /health` on its own keep-alive connection, from its own process, so the load generator's work
// in the bench process never delays a probe or its timestamp. Probes start every `intervalMs` (or as
// soon as the previous one is answered, if that is later), so the probe itself stays a light load.
//
// Env: PROBE_ORIGIN (http://127.0.0.1:PORT). IPC: sends { type: 'ready' }; answers
// { type: 'probe', id, n, warmup, intervalMs } with { type: 'probe-result', id, ms: [...], non200,
// errors, firstProblem }.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

const pool = new Pool(process.env.PROBE_ORIGIN, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });

async function once() {
  const t0 = performance.now();
  const res = await pool.request({ method: 'GET', path: '/health' });
  const body = await res.body.text();
  return { ms: performance.now() - t0, status: res.statusCode, body };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function probe(n, warmup, intervalMs) {
  const ms = [];
  let non200 = 0;
  let errors = 0;
  let firstProblem = null;
  let next = performance.now();
  for (let i = 0; i < warmup + n; i++) {
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    next = Math.max(next + intervalMs, performance.now());
    try {
      const r = await once();
      if (r.status !== 200 || !r.body.includes('"ok"')) {
        non200++;
        firstProblem ??= `status ${r.status}: ${r.body.slice(0, 200)}`;
      } else if (i >= warmup) ms.push(r.ms);
    } catch (err) {
      errors++;
      firstProblem ??= `transport error: ${err.message}`;
    }
  }
  return { ms, non200, errors, firstProblem };
}

process.on('message', async (m) => {
  if (m?.type === 'probe') {
    const r = await probe(m.n, m.warmup ?? 0, m.intervalMs ?? 0);
    process.send({ type: 'probe-result', id: m.id, ...r });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
