// What the per-request instrumentation costs on the CPU, measured directly (the latency benchmark's
// noise on a shared 2-core VM is larger than the budget): the exact calls one POST /chat/complete
// makes into prom-client (request counter, duration and own-time histograms, one upstream attempt
// histogram) and the one pino request line, timed over many iterations after a warm-up.
//
//   npm run build && node bench/instrumentation-cost.mjs
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { MetricsService } from '../dist/metrics/metrics.service.js';
import { REDACTED_PATHS } from '../dist/common/logging/logger.factory.js';

const N = 200_000;
const metrics = new MetricsService();
const sink = new Writable({ write: (_chunk, _enc, done) => done() });
const root = pino({ level: 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
const redacting = root.child({ reqId: 'x' });
// What request-lifecycle.ts does: the request line carries only fields ballast sets, so its child
// logger has no redaction, and reqId is a field of the line.
const lines = root.child({}, { redact: [] });

function metricsOnce(i) {
  const labels = { method: 'POST', route: '/chat/complete', status: 200 };
  metrics.httpRequests.inc(labels);
  metrics.httpDuration.observe(labels, 0.0012 + (i % 7) / 1e4);
  metrics.ownTime.observe({ route: '/chat/complete' }, 0.0004);
  metrics.upstreamDuration.observe({ upstream: 'default', outcome: 'ok' }, 0.0008);
}
function logOnce(i) {
  lines.info({ reqId: 'x', method: 'POST', route: '/chat/complete', status: 200, durationMs: 1.234 + i / N, upstreamMs: 0.8 }, 'request completed');
}
function redactedLogOnce(i) {
  redacting.info({ method: 'POST', route: '/chat/complete', status: 200, durationMs: 1.234 + i / N, upstreamMs: 0.8 }, 'request completed');
}
function requestChildOnce(i) {
  return root.child({ reqId: i & 1023 ? 'a' : 'b' }, {});
}

function time(label, fn) {
  for (let i = 0; i < 20_000; i++) fn(i); // warm-up
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) fn(i);
    rounds.push(((performance.now() - t0) * 1000) / N);
  }
  rounds.sort((a, b) => a - b);
  console.log(`${label}: median ${rounds[2].toFixed(2)} µs per request (rounds: ${rounds.map((x) => x.toFixed(2)).join(', ')})`);
  return rounds[2];
}

const m = time('metrics (4 prom-client calls)', metricsOnce);
const l = time('request log line (pino, as ballast writes it: no redaction)', logOnce);
time('  for comparison: the same line through a redacting logger', redactedLogOnce);
time("  for comparison: Fastify's default per-request child logger (now made only on use)", requestChildOnce);
console.log(`total: ${(m + l).toFixed(2)} µs = ${((m + l) / 1000).toFixed(4)} ms per request (budget 0.05 ms)`);
