// Experiment, cited in docs/benchmarks.md, "Local model (classify)" and "Tried and not kept": the classify refusal tail under overload, one fresh server.
// GC under the classify single-text overload: ballast (dist/main.js, the bench model, queue 256,
// 1 worker) started with --trace-gc plus FLAGS (default --max-semi-space-size=64), open-loop
// {text} calls at 1075/s (2.5x the ~430 texts/s capacity) for 5 s warm-up + 10 s, then the 503
// latency percentiles next to the scavenge / mark-compact pause distribution from the trace.
//   FLAGS="--max-semi-space-size=16" node bench/experiments/classify-gc.mjs   (needs dist-bench/models)
// CLASSIFIER_MAX_QUEUE (default 256), CLASSIFIER_MAX_QUEUE_WAIT_MS and CLASSIFIER_NICE are passed on to ballast when set.
// LOOP_GAPS=1 also loads loop-gaps-preload.mjs (event-loop stalls vs GC pauses, run-queue wait).
// PRE_SEC=N first runs N s of closed-loop {text} load on 64 connections (what the bench's sections 1
// and 2 put the default instance through before its overload rows), then the overload.
// WORKER_SCHED_IDLE=1 moves the classifier worker's threads (those at CLASSIFIER_NICE) to the
// SCHED_IDLE policy with `chrt --idle` once the model has loaded (an experiment, not a setting);
// WORKER_SCHED=batch|idle|other picks the policy. GEN_NICE=N renices this process's thread (the load
// generator) once ballast is up. GEN=raw sends on bench/raw-http.mjs instead of an undici Pool (the
// classify bench's overload client); the generator's CPU per call is printed either way.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { overloadPool } from '../lib.mjs';
import { closedLoop, openLoop, summarize } from '../load-gen.mjs';
const flags = (process.env.FLAGS ?? '--max-semi-space-size=64').split(' ').filter(Boolean);
const out = fs.openSync('/tmp/gc-trace.txt', 'w');
const preload = process.env.LOOP_GAPS === '1' ? ['--import', new URL('./loop-gaps-preload.mjs', import.meta.url).pathname] : [];
const cp = spawn(process.execPath, [...flags, ...preload, '--trace-gc', 'dist/main.js'], {
  env: { PATH: process.env.PATH, PORT: '3994', HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'info', LOCAL_MODEL: 'bench-sentiment', LOCAL_MODEL_PATH: `${process.cwd()}/dist-bench/models`, ALLOW_REMOTE_MODELS: 'false', LOCAL_MODEL_FALLBACK: '', CLASSIFIER_THREADS: '1', CLASSIFIER_MAX_QUEUE: process.env.CLASSIFIER_MAX_QUEUE ?? '256', ...(process.env.CLASSIFIER_MAX_QUEUE_WAIT_MS ? { CLASSIFIER_MAX_QUEUE_WAIT_MS: process.env.CLASSIFIER_MAX_QUEUE_WAIT_MS } : {}), ...(process.env.CLASSIFIER_NICE ? { CLASSIFIER_NICE: process.env.CLASSIFIER_NICE } : {}) },
  stdio: ['ignore', out, out],
});
process.on('exit', () => cp.kill('SIGKILL'));
await new Promise((r) => setTimeout(r, 4000));
const workerSched = process.env.WORKER_SCHED_IDLE === '1' ? 'idle' : process.env.WORKER_SCHED;
if (workerSched) {
  const nice = Number(process.env.CLASSIFIER_NICE ?? 10);
  for (const tid of fs.readdirSync(`/proc/${cp.pid}/task`)) {
    const fields = fs.readFileSync(`/proc/${cp.pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    if (Number(fields[16]) === nice) spawnSync('chrt', [`--${workerSched}`, '-p', '0', tid], { stdio: 'inherit' });
  }
}
if (process.env.GEN_NICE) (await import('node:os')).setPriority(0, Number(process.env.GEN_NICE));
const pool = overloadPool('http://127.0.0.1:3994', 4096, process.env.GEN === 'raw' ? 'raw' : 'undici');
let n = 0;
if (Number(process.env.PRE_SEC) > 0) {
  await closedLoop(pool, { workers: 64, warmupMs: 0, durationMs: Number(process.env.PRE_SEC) * 1000, makeRequest: () => ({ kind: 'one', path: '/classify', body: JSON.stringify({ text: `pre ${n++} was a great and happy day for everyone here` }) }) });
}
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const run = await openLoop(pool, {
  rate: 1075, warmupMs: 5000, durationMs: 10000, rampMs: 2000,
  makeRequest: () => ({ kind: 'one', path: '/classify', body: JSON.stringify({ text: `call ${n++} was a great and happy day for everyone here` }) }),
});
const cpu1 = process.cpuUsage(cpu0);
console.log(`generator CPU ${((cpu1.user + cpu1.system) / 1000 / run.records.length).toFixed(3)} ms/call (user ${(cpu1.user / 1000 / run.records.length).toFixed(3)})`);
const s = summarize(run, { goodStatuses: [200, 503] });
const lat = (st) => run.records.filter((r) => r.status === st && r.start >= run.windowStart && r.start < run.windowEnd).map((r) => r.end - r.start).sort((a, b) => a - b);
const l503 = lat(503);
const p = (a, q) => a[Math.min(a.length - 1, Math.floor(q * a.length))];
console.log(`flags ${flags.join(' ')}: 503 n=${l503.length} p50 ${p(l503, 0.5).toFixed(2)} p99 ${p(l503, 0.99).toFixed(2)} max ${l503.at(-1).toFixed(2)}; 200 n=${lat(200).length}; statuses ${JSON.stringify(s.statusCodes)}`);
await pool.destroy();
cp.kill();
await new Promise((r) => setTimeout(r, 500));
const trace = fs.readFileSync('/tmp/gc-trace.txt', 'utf8').split('\n').filter((l) => /Scavenge|Mark-Compact|Mark-Sweep/.test(l));
// Each trace line names its isolate ([pid:0x...]); the main thread's is the first to collect (the
// worker starts later). Its pauses are the ones that stall the event loop; the worker's are listed apart.
const isolate = (l) => /^\[\d+:(0x[0-9a-f]+)\]/.exec(l)?.[1];
const mainIsolate = isolate(trace[0] ?? '');
const pauses = trace.map((l) => ({ kind: `${l.includes('Scavenge') ? 'scavenge' : 'mark-compact'}${isolate(l) === mainIsolate ? '' : ' (worker)'}`, ms: Number(/MB, ([\d.]+) \/ /.exec(l)?.[1] ?? NaN) })).filter((x) => !Number.isNaN(x.ms));
for (const k of ['scavenge', 'mark-compact', 'scavenge (worker)', 'mark-compact (worker)']) {
  const a = pauses.filter((x) => x.kind === k).map((x) => x.ms).sort((x, y) => x - y);
  if (a.length) console.log(`${k}: n=${a.length} p50 ${p(a, 0.5).toFixed(2)} p90 ${p(a, 0.9).toFixed(2)} max ${a.at(-1).toFixed(2)} ms, total ${a.reduce((x, y) => x + y, 0).toFixed(0)} ms`);
}
const gaps = fs.readFileSync('/tmp/gc-trace.txt', 'utf8').split('\n').find((l) => l.startsWith('LOOP-GAPS'));
if (gaps) console.log(gaps);
process.exit(0);
