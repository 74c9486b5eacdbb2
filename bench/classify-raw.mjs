// Raw baseline for the classify scenario (forked by bench/classify-scenario.mjs): the same worker
// file ballast runs (dist/local-model/classifier.worker.js), in a Piscina pool built exactly like
// ClassifierPool's (same workerData shape: candidates + loadLock; minThreads = maxThreads = threads,
// one task per worker at a time), fed batches of `batch` texts back to back with no HTTP and no
// micro-batcher: `threads` × 2 tasks are always submitted, so a worker never waits for its next batch.
//
// Env: RAW_THREADS, RAW_BATCH, RAW_MODEL, RAW_MODEL_PATH (absolute), RAW_CACHE_DIR.
// IPC: sends { type: 'ready', status } once the model is loaded (or { type: 'fatal', message });
// answers { type: 'run', id, durationMs, perThread } (perThread = tasks kept submitted per thread,
// default 2) with { type: 'result', id, texts, batches, elapsedMs,
// cpuMs, bad, firstProblem }; { type: 'stop' } destroys the pool and exits.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { checkOne, makeTexts } from './classify-texts.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORKER_FILE = path.join(ROOT, 'dist', 'local-model', 'classifier.worker.js');

const threads = Number(process.env.RAW_THREADS ?? 1);
const batch = Number(process.env.RAW_BATCH ?? 32);
const model = process.env.RAW_MODEL ?? 'bench-sentiment';
const localModelPath = process.env.RAW_MODEL_PATH ?? path.join(ROOT, 'dist-bench', 'models');
const cacheDir = process.env.RAW_CACHE_DIR ?? path.join(ROOT, '.cache', 'models');

const pool = new Piscina({
  filename: WORKER_FILE,
  minThreads: threads,
  maxThreads: threads,
  idleTimeout: Number.POSITIVE_INFINITY,
  concurrentTasksPerWorker: 1,
  workerData: {
    candidates: [{ name: model, localModelPath, allowRemote: false, cacheDir, fallback: false }],
    loadLock: new Int32Array(new SharedArrayBuffer(4)),
  },
});

/** CPU time of this process (all threads: the workers and this idle main thread), ms. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function run(durationMs, perThread) {
  let texts = 0;
  let batches = 0;
  let bad = 0;
  let firstProblem = null;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const end = t0 + durationMs;
  const feeder = async () => {
    while (performance.now() < end) {
      const { texts: batchTexts, labels } = makeTexts(batch);
      let out;
      try {
        out = await pool.run({ op: 'classify', texts: batchTexts });
      } catch (err) {
        bad++;
        firstProblem ??= `task failed: ${err.message}`;
        continue;
      }
      let problem = Array.isArray(out) && out.length === batchTexts.length ? null : `${Array.isArray(out) ? out.length : 'no'} results for ${batchTexts.length} texts`;
      for (let i = 0; !problem && i < out.length; i++) problem = checkOne(out[i], labels[i]);
      if (problem) {
        bad++;
        firstProblem ??= problem;
        continue;
      }
      texts += batchTexts.length;
      batches++;
    }
  };
  // Two tasks per worker (default): one running, one waiting in Piscina's queue for the moment it
  // finishes. One per worker = ballast's dispatch (its MicroBatcher keeps one batch per worker).
  await Promise.all(Array.from({ length: threads * perThread }, feeder));
  const elapsedMs = performance.now() - t0;
  return { texts, batches, elapsedMs, cpuMs: cpuMs() - cpu0, bad, firstProblem };
}

try {
  const status = await pool.run({ op: 'status' });
  process.send({ type: 'ready', status });
} catch (err) {
  process.send({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
  await pool.destroy();
  process.exit(1);
}

process.on('message', async (m) => {
  if (m?.type === 'run') {
    const r = await run(m.durationMs, m.perThread ?? 2);
    process.send({ type: 'result', id: m.id, ...r });
  } else if (m?.type === 'stop') {
    await pool.destroy();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
