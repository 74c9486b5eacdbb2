// Experiment, cited in docs/benchmarks.md, "Retrieval": preload (node --import) for retrieval-search.mjs (PROFILE=c1|c16).
// Each SIGWINCH starts, and the next stops, a window on ballast's main thread: a CPU profile (sampled
// every PROF_INTERVAL_US, default 100), every event-loop stall over GAP_MS (default 4; a 1 ms interval
// timer that fired late) and every GC pause, on one clock (CLOCK_MONOTONIC, µs), and the thread's CPU
// time and run-queue wait (/proc schedstat). At the end of a window they are written to `${PROF_OUT}-<n>.json` (default /tmp/ballast-stalls); loop-stall-report.mjs
// says what ran during the stalls.
import fs from 'node:fs';
import { Session } from 'node:inspector';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const perfBaseUs = nowUs() - performance.now() * 1000;
  const gapMs = Number(process.env.GAP_MS ?? 4);
  const session = new Session();
  session.connect();
  let on = false;
  let windows = 0;
  let gaps = [];
  let gcs = [];
  let last = 0;
  let sched0 = [0, 0];
  // The main thread's CPU time and run-queue wait (runnable, but a core ran something else), ns.
  const schedstat = () => fs.readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
  setInterval(() => {
    const now = nowUs();
    if (on && now - last > gapMs * 1000) gaps.push([last, (now - last) / 1000]);
    last = now;
  }, 1).unref();
  new PerformanceObserver((list) => {
    if (!on) return;
    for (const e of list.getEntries()) gcs.push([perfBaseUs + e.startTime * 1000, e.duration, e.detail?.kind]);
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGWINCH', () => {
    if (!on) {
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: Number(process.env.PROF_INTERVAL_US ?? 100) }, () =>
          session.post('Profiler.start', () => {
            gaps = [];
            gcs = [];
            last = nowUs();
            sched0 = schedstat();
            on = true;
          }),
        ),
      );
    } else {
      on = false;
      const sched = schedstat();
      const cpuMs = (sched[0] - sched0[0]) / 1e6;
      const runQueueMs = (sched[1] - sched0[1]) / 1e6;
      session.post('Profiler.stop', (err, { profile }) => {
        fs.writeFileSync(`${process.env.PROF_OUT ?? '/tmp/ballast-stalls'}-${++windows}.json`, JSON.stringify({ profile, gaps, gcs, cpuMs, runQueueMs }));
      });
    }
  });
}
