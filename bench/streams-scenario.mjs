// Concurrent streams (issue 26): 1,000 SSE chat streams opened evenly over 2 s, each 20 tokens
// 100 ms apart (~2 s), against one fake upstream, in the same run: straight to it ("direct"),
// through a bare node:http relay that pipes the stream ("relay", bench/relay.mjs with an unbounded
// agent: the limit for any Node proxy here), and through ballast with its default settings on
// /chat/stream and /v1/chat/completions. Per stream: time to first token (from sending the request),
// every token counted, [DONE] seen (the fake waits 100 ms before each token, the first included;
// those 100 ms are taken off the time to first token). Per round: all-done time (first request sent → last stream
// ended) and the server's RSS growth per open stream ((peak RSS − RSS before) ÷ most streams open at
// once, RSS from /proc/<pid>/status every 25 ms). Targets (vs the relay, same run): every stream
// complete; TTFT p50 ≤ relay + 50 ms; p99 ≤ 2 × relay + 50 ms; all done ≤ 1.15 × relay; RSS growth
// ≤ 64 KB per open stream. Also the server's CPU (user + system, /proc/<pid>/stat) per stream of
// 20 events: steadier than latency on a shared machine.
//
//   node bench/streams-scenario.mjs [--quick]     on its own (report in bench/results/streams-run.md)
//   BENCH_ONLY=streams npm run bench              from run.mjs (runStreams)
//   BENCH_STREAMS_ROUNDS=3                        measured rounds per target (default 3; order rotates)
//   BENCH_STREAMS_CPU_PROF=/tmp/prof              ballast only, started with --cpu-prof into that folder
//                                                 (written when it exits at the end; read with
//                                                 node bench/prof-summary.mjs <file>)
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BALLAST_NODE_ARGS, f0, f1, f2, mdTable, percentile, procCpuMs, procRssMiB, QUICK, runStandalone, sleep, sortNum, startBallast, startFake, startRelay, stopChild } from './lib.mjs';

const CFG = (quick) => ({
  streams: quick ? 200 : 1000,
  openOverMs: quick ? 400 : 2000,
  tokens: 20,
  intervalMs: 100,
  // A full-size wave first: the first one grows V8's young generation (npm start's
  // --max-semi-space-size=64) and the upstream pool once; measured rounds see the steady state.
  warmupStreams: quick ? 200 : 1000,
  rounds: Number(process.env.BENCH_STREAMS_ROUNDS ?? (quick ? 1 : 3)),
  settleMs: 1000,
});

const TOKENS = Array.from({ length: 20 }, (_, i) => `tok${i} `);
const MESSAGES = [{ role: 'user', content: 'hello' }];
const OPENAI_BODY = JSON.stringify({ model: 'fake-model', messages: MESSAGES, stream: true });
const BALLAST_BODY = JSON.stringify({ messages: MESSAGES });

/** Keep-alive, unbounded: a round reuses the previous round's connections (no TIME_WAIT pile-up). */
const agents = new Map();
const agentFor = (origin) => agents.get(origin) ?? agents.set(origin, new http.Agent({ keepAlive: true, maxSockets: Infinity })).get(origin);

/** One SSE stream on node:http: when it was sent, when the first token came, how many tokens, whether [DONE] came, when it ended. */
function openStream(origin, reqPath, body) {
  return new Promise((resolve) => {
    const sent = performance.now();
    const result = { sent, first: NaN, end: NaN, tokens: 0, done: false, status: 0, error: null };
    const req = http.request(`${origin}${reqPath}`, { method: 'POST', agent: agentFor(origin), headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': Buffer.byteLength(body) } }, (res) => {
      result.status = res.statusCode;
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk) => {
        buf += chunk;
        let idx;
        while ((idx = buf.indexOf('\n\n')) !== -1) {
          const frame = buf.slice(0, idx);
          buf = buf.slice(idx + 2);
          if (!frame.startsWith('data: ')) continue;
          const data = frame.slice(6);
          if (data === '[DONE]') {
            result.done = true;
            continue;
          }
          // ballast {"content":"tok3 "}, OpenAI {"choices":[{"delta":{"content":"tok3 "}}]}
          if (data.includes('"content":"tok')) {
            if (result.tokens === 0) result.first = performance.now();
            result.tokens++;
          }
        }
      });
      res.on('end', () => {
        result.end = performance.now();
        resolve(result);
      });
      res.on('error', (error) => {
        result.error = error.message;
        result.end = performance.now();
        resolve(result);
      });
    });
    req.on('error', (error) => {
      result.error = error.message;
      result.end = performance.now();
      resolve(result);
    });
    req.end(body);
  });
}

/** `count` streams opened evenly over `overMs` (every ~2 ms), with the server's RSS sampled. */
async function wave(target, count, overMs, pid, firstTokenDelayMs) {
  const rss = [];
  const before = pid ? procRssMiB(pid) : NaN;
  const cpuBefore = pid ? procCpuMs(pid) : NaN;
  const sampler = pid ? setInterval(() => rss.push(procRssMiB(pid)), 25) : null;
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * overMs) / count;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(openStream(target.origin, target.path, target.body));
  }
  const results = await Promise.all(pending);
  if (sampler) clearInterval(sampler);
  const cpuMs = pid ? procCpuMs(pid) - cpuBefore : NaN;
  const ended = Math.max(...results.map((r) => r.end));
  // Most streams open at once (client side: from sending to the end of the answer).
  const edges = results.flatMap((r) => [[r.sent, 1], [r.end, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let maxOpen = 0;
  for (const [, d] of edges) maxOpen = Math.max(maxOpen, (open += d));
  // The fake sends its first token `firstTokenDelayMs` after the headers, like every other: not counted.
  const ttft = sortNum(results.filter((r) => r.tokens > 0).map((r) => r.first - r.sent - firstTokenDelayMs));
  const complete = results.filter((r) => r.status === 200 && r.tokens === TOKENS.length && r.done && !r.error).length;
  const peak = rss.length ? Math.max(...rss) : NaN;
  return {
    complete,
    count,
    failures: results.filter((r) => !(r.status === 200 && r.tokens === TOKENS.length && r.done && !r.error)).slice(0, 3).map((r) => `status ${r.status}, ${r.tokens} tokens, done ${r.done}${r.error ? `, ${r.error}` : ''}`),
    allDoneMs: ended - started,
    p50: percentile(ttft, 50),
    p99: percentile(ttft, 99),
    maxOpen,
    rssBefore: before,
    rssPeak: peak,
    rssPerStreamKB: ((peak - before) * 1024) / maxOpen,
    cpuMsPerStream: cpuMs / count,
  };
}

const median = (xs) => percentile(sortNum(xs.filter(Number.isFinite)), 50);

export async function runStreams({ quick = QUICK } = {}) {
  const cfg = CFG(quick);
  const cpuProfDir = process.env.BENCH_STREAMS_CPU_PROF;
  const problems = [];
  const fake = await startFake();
  await fake.setKnobs({ streamTokens: TOKENS, streamIntervalMs: cfg.intervalMs, recordRequests: false });
  const started = [];
  try {
    const relay = cpuProfDir ? null : await startRelay(fake.origin, { RELAY_MAX_SOCKETS: '0' });
    const ballast = await startBallast('undici', fake.origin, {
      name: 'ballast-streams',
      // The defaults: startBallast pins UPSTREAM_MAX_SOCKETS=256 (= default); nothing else is set.
      env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'info' },
      ...(cpuProfDir ? { nodeArgs: [...BALLAST_NODE_ARGS, '--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] } : {}),
    });
    started.push(...[relay, ballast].filter(Boolean));
    const targets = [
      ...(cpuProfDir
        ? []
        : [
            { name: 'direct', origin: fake.origin, path: '/v1/chat/completions', body: OPENAI_BODY, pid: null },
            { name: 'bare pipe relay', origin: relay.origin, path: '/v1/chat/completions', body: OPENAI_BODY, pid: relay.cp.pid },
          ]),
      { name: 'ballast /chat/stream', origin: ballast.origin, path: '/chat/stream', body: BALLAST_BODY, pid: ballast.cp.pid },
      { name: 'ballast /v1/chat/completions', origin: ballast.origin, path: '/v1/chat/completions', body: OPENAI_BODY, pid: ballast.cp.pid },
    ];
    console.log(`  streams: fake ${fake.origin}${relay ? `, relay ${relay.origin}` : ''}, ballast ${ballast.origin}; ${cfg.streams} streams over ${cfg.openOverMs} ms, ${cfg.rounds} rounds`);
    for (const t of targets) {
      const w = await wave(t, cfg.warmupStreams, cfg.openOverMs, null, cfg.intervalMs);
      if (w.complete !== w.count) problems.push(`${t.name} warm-up: ${w.count - w.complete} of ${w.count} incomplete (${w.failures.join('; ')})`);
      await sleep(cfg.settleMs);
    }
    const rounds = new Map(targets.map((t) => [t.name, []]));
    for (let r = 0; r < cfg.rounds; r++) {
      const order = targets.map((_, i) => targets[(i + r) % targets.length]);
      for (const t of order) {
        const result = await wave(t, cfg.streams, cfg.openOverMs, t.pid, cfg.intervalMs);
        rounds.get(t.name).push(result);
        console.log(`    round ${r + 1} ${t.name}: ${result.complete}/${result.count} complete, all done ${f0(result.allDoneMs)} ms, TTFT p50 ${f1(result.p50)} p99 ${f1(result.p99)} ms, max open ${result.maxOpen}, RSS +${f1(result.rssPeak - result.rssBefore)} MiB, CPU ${f2(result.cpuMsPerStream)} ms/stream`);
        if (result.complete !== result.count) problems.push(`${t.name} round ${r + 1}: ${result.count - result.complete} of ${result.count} streams incomplete (${result.failures.join('; ')})`);
        await sleep(cfg.settleMs);
      }
    }
    const summary = targets.map((t) => {
      const rs = rounds.get(t.name);
      return {
        name: t.name,
        complete: rs.reduce((s, x) => s + x.complete, 0),
        count: rs.reduce((s, x) => s + x.count, 0),
        allDoneMs: median(rs.map((x) => x.allDoneMs)),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
        maxOpen: median(rs.map((x) => x.maxOpen)),
        rssKB: t.pid ? Math.max(...rs.map((x) => x.rssPerStreamKB)) : NaN,
        cpuMs: t.pid ? median(rs.map((x) => x.cpuMsPerStream)) : NaN,
        rssBefore: t.pid ? rs[0].rssBefore : NaN,
      };
    });
    return { markdown: streamsReport(cfg, summary, !!cpuProfDir), problems, data: summary };
  } finally {
    for (const agent of agents.values()) agent.destroy();
    agents.clear();
    await Promise.all(started.map((x) => stopChild(x.cp)));
    await stopChild(fake.cp);
  }
}

function streamsReport(cfg, summary, profiling) {
  const relay = summary.find((s) => s.name === 'bare pipe relay');
  const verdict = (ok) => (ok ? 'met' : '**missed**');
  const rows = summary.map((s) => {
    const targets = [];
    if (relay && s.name.startsWith('ballast')) {
      targets.push(`p50 ≤ ${f0(relay.p50 + 50)}: ${verdict(s.p50 <= relay.p50 + 50)}`);
      targets.push(`p99 ≤ ${f0(2 * relay.p99 + 50)}: ${verdict(s.p99 <= 2 * relay.p99 + 50)}`);
      targets.push(`all done ≤ ${f0(1.15 * relay.allDoneMs)}: ${verdict(s.allDoneMs <= 1.15 * relay.allDoneMs)}`);
      targets.push(`RSS ≤ 64 KB: ${verdict(s.rssKB <= 64)}`);
      targets.push(`complete: ${verdict(s.complete === s.count)}`);
    }
    return [
      s.name,
      `${s.complete}/${s.count}`,
      f0(s.allDoneMs),
      relay ? f2(s.allDoneMs / relay.allDoneMs) : 'n/a',
      f1(s.p50),
      f1(s.p99),
      f0(s.maxOpen),
      Number.isFinite(s.rssKB) ? `${f1(s.rssKB)} (from ${f0(s.rssBefore)} MiB)` : '',
      Number.isFinite(s.cpuMs) ? f2(s.cpuMs) : '',
      targets.join('; '),
    ];
  });
  return [
    `${cfg.streams} SSE streams opened evenly over ${cfg.openOverMs} ms, each ${cfg.tokens} tokens ${cfg.intervalMs} ms apart; medians of ${cfg.rounds} round(s) per target (order rotated); time to first token from sending the request, less the ${cfg.intervalMs} ms the fake waits before every token; RSS growth the worst round${profiling ? '; **ballast under --cpu-prof (numbers not comparable)**' : ''}.`,
    '',
    mdTable(
      ['target', 'complete', 'all done ms', 'vs relay', 'TTFT p50 ms', 'TTFT p99 ms', 'max open', 'RSS KB / open stream', 'server CPU ms / stream', 'targets (vs the relay)'],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick') || QUICK;
  await runStandalone('Concurrent streams', 'streams-run.md', `node bench/${path.basename(fileURLToPath(import.meta.url))}${quick ? ' --quick' : ''}`, () => runStreams({ quick }));
}
