// Experiment, cited in docs/benchmarks.md, "Local model (classify)": the heap after a full GC, round after round (is anything kept per call?).
// Does the classify path keep anything per call? ballast (dist/main.js with npm start's Node flags,
// the bench model, 1 worker, the default queue bounds) with --expose-gc and
// gc-on-signal-preload.mjs; ROUNDS (default 6) rounds
// of 15 s of open-loop {text} calls at RATE/s (default 700, ~1.5x capacity: some served, some
// refused); after each round a full GC in ballast (SIGWINCH) and its heapUsed / RSS printed. A flat
// heapUsed = nothing retained per call; RSS growth in between is garbage awaiting a mark-compact.
//   node bench/experiments/heap-after-gc.mjs        (from the repo root; needs dist-bench/models)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { Pool } from 'undici';
import { BALLAST_NODE_ARGS } from '../lib.mjs';
import { openLoop } from '../load-gen.mjs';
const out = fs.openSync('/tmp/heap-after-gc.log', 'w');
const cp = spawn(process.execPath, [...BALLAST_NODE_ARGS, '--expose-gc', '--import', new URL('./gc-on-signal-preload.mjs', import.meta.url).pathname, 'dist/main.js'], {
  cwd: process.cwd(),
  env: { PATH: process.env.PATH, PORT: '3996', HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'info', LOCAL_MODEL: 'bench-sentiment', LOCAL_MODEL_PATH: `${process.cwd()}/dist-bench/models`, ALLOW_REMOTE_MODELS: 'false', LOCAL_MODEL_FALLBACK: '', CLASSIFIER_THREADS: '1' },
  stdio: ['ignore', out, out],
});
process.on('exit', () => cp.kill('SIGKILL'));
await new Promise((r) => setTimeout(r, 4000));
let n = 0;
const rounds = Number(process.env.ROUNDS ?? 6);
for (let i = 0; i < rounds; i++) {
  const pool = new Pool('http://127.0.0.1:3996', { connections: 4096, pipelining: 1 });
  const run = await openLoop(pool, { rate: Number(process.env.RATE ?? 700), warmupMs: 0, durationMs: 15000, rampMs: 1000, makeRequest: () => ({ kind: 'one', path: '/classify', body: JSON.stringify({ text: `call ${n++} was a great and happy day for everyone here` }) }) });
  await pool.destroy();
  await new Promise((r) => setTimeout(r, 1500));
  cp.kill('SIGWINCH');
  await new Promise((r) => setTimeout(r, 1500));
  const st = {};
  for (const r of run.records) st[r.status] = (st[r.status] ?? 0) + 1;
  const line = fs.readFileSync('/tmp/heap-after-gc.log', 'utf8').split('\n').filter((l) => l.startsWith('AFTER-GC')).at(-1);
  console.log(`round ${i + 1}: ${JSON.stringify(st)} ${line}`);
}
process.exit(0);
