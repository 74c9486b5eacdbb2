// Partial upstream failure (issue 21): fake upstreams that answer 500 to a random share of calls
// (0, 10, 30, 50 %), called going direct, through ballast with one upstream (OPENAI_BASE_URL) and
// through ballast with two (UPSTREAMS, both failing at the same rate), in the same run. Per row:
// the share of calls answered 200, and the upstream attempts per client call (the fakes' own
// counters). Targets at every row: ballast's success ≥ direct's, attempts ≤ 1.35× calls, and no
// `upstream_circuit_open`. ballast runs with its defaults (breakers, panic rule, retry budget,
// UPSTREAM_MAX_RETRIES=2), a fresh process per row so no row inherits another's breaker or budget.
//
//   node bench/partial-failure-scenario.mjs [--quick]   on its own (report in bench/results/partial-failure-run.md)
//   BENCH_ONLY=partial npm run bench                    through run.mjs (part of the default run)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { JSON_HEADERS, QUICK, f2, mdTable, pct, runStandalone, startBallast, startFake, stopChild } from './lib.mjs';

const RATES = [0, 0.1, 0.3, 0.5];
const CONCURRENCY = 4;
const MESSAGES = [{ role: 'user', content: 'hello' }];
const DIRECT_BODY = JSON.stringify({ model: 'fake-model', messages: MESSAGES });
const BALLAST_BODY = JSON.stringify({ messages: MESSAGES });
const SUCCESS_TARGET = 'success ≥ direct';
const ATTEMPTS_TARGET = 1.35;

/** `calls` POSTs at `CONCURRENCY`; the share answered 200 and a tally of the error codes of the rest. */
async function drive(origin, reqPath, body, calls) {
  const pool = new Pool(origin, { connections: CONCURRENCY, pipelining: 1 });
  let next = 0;
  let ok = 0;
  const codes = {};
  const worker = async () => {
    while (next < calls) {
      next++;
      const res = await pool.request({ method: 'POST', path: reqPath, headers: JSON_HEADERS, body });
      const text = await res.body.text();
      if (res.statusCode === 200) {
        ok++;
        continue;
      }
      let code = `HTTP ${res.statusCode}`;
      try {
        code = JSON.parse(text).error?.code ?? code;
      } catch {
        // not JSON: keep the status
      }
      codes[code] = (codes[code] ?? 0) + 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { success: ok / calls, codes, seconds };
}

const codesText = (codes) =>
  Object.entries(codes)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ') || '-';

export async function runPartialFailure({ quick = QUICK } = {}) {
  const calls = quick ? 300 : 1000;
  const a = await startFake();
  const b = await startFake();
  const rows = [];
  const problems = [];
  try {
    for (const rate of RATES) {
      const knobs = (seed) => ({ failureRate: rate, failureSeed: seed });
      // Going direct: one upstream, no gateway; every call is one attempt.
      await a.setKnobs(knobs(11));
      const direct = await drive(a.origin, '/v1/chat/completions', DIRECT_BODY, calls);
      rows.push({ rate, setup: 'direct (one upstream)', ...direct, attempts: 1 });

      for (const setup of ['ballast, one upstream', 'ballast, two upstreams']) {
        const two = setup.endsWith('two upstreams');
        const env = two
          ? {
              UPSTREAMS: JSON.stringify([
                { name: 'a', baseUrl: `${a.origin}/v1`, apiKeyEnv: 'A_KEY' },
                { name: 'b', baseUrl: `${b.origin}/v1`, apiKeyEnv: 'B_KEY' },
              ]),
              A_KEY: 'sk-a',
              B_KEY: 'sk-b',
            }
          : {};
        const ballast = await startBallast('undici', a.origin, { name: `ballast-${two ? 'two' : 'one'}-${rate * 100}`, env });
        try {
          await a.setKnobs(knobs(21));
          await b.setKnobs(knobs(31));
          const r = await drive(ballast.origin, '/chat/complete', BALLAST_BODY, calls);
          const upstreamCalls = (await a.getCounters()).chat + (two ? (await b.getCounters()).chat : 0);
          const row = { rate, setup, ...r, attempts: upstreamCalls / calls };
          rows.push(row);
          if (row.success + 1e-9 < direct.success) problems.push(`${pct(rate)} failures, ${setup}: success ${pct(row.success)} < direct ${pct(direct.success)}`);
          if (row.attempts > ATTEMPTS_TARGET) problems.push(`${pct(rate)} failures, ${setup}: ${f2(row.attempts)} attempts per call > ${ATTEMPTS_TARGET}`);
          if (r.codes.upstream_circuit_open) problems.push(`${pct(rate)} failures, ${setup}: ${r.codes.upstream_circuit_open} answers upstream_circuit_open`);
        } finally {
          await stopChild(ballast.cp);
        }
      }
    }
  } finally {
    await Promise.all([stopChild(a.cp), stopChild(b.cp)]);
  }

  const table = mdTable(
    ['upstream failures', 'setup', 'success', 'upstream attempts / call', 'errors answered', 'calls/s'],
    rows.map((r) => [pct(r.rate), r.setup, pct(r.success), r.setup.startsWith('direct') ? '1.00' : f2(r.attempts), codesText(r.codes), (calls / r.seconds).toFixed(0)]),
    ['r', 'l', 'r', 'r', 'l', 'r'],
  );
  const markdown = [
    `${calls} calls per row at c=${CONCURRENCY}. Fake upstreams answering 500 to a random share of calls (seeded). Targets at every row: ${SUCCESS_TARGET}, upstream attempts ≤ ${ATTEMPTS_TARGET}× calls, no \`upstream_circuit_open\`. ballast with its defaults, a fresh process per row.`,
    '',
    table,
  ].join('\n');
  return { markdown, problems, data: rows };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick') || QUICK;
  await runStandalone('Partial upstream failure', 'partial-failure-run.md', `node bench/partial-failure-scenario.mjs${quick ? ' --quick' : ''}`, () => runPartialFailure({ quick }));
}
