// Experiment, cited in docs/benchmarks.md, "Local model (classify)": preload for classify-gc.mjs (LOOP_GAPS=1), event-loop stalls and GC pauses.
// Preload (node --import) for classify-gc.mjs: from LOOP_GAPS_START_MS after start, for
// LOOP_GAPS_MS, records on the main thread every event-loop stall over 5 ms (a 1 ms interval timer
// that fired late), every GC pause from perf_hooks, and the main thread's CPU time and run-queue
// wait from /proc (schedstat: time it was runnable but a core ran something else). Prints one
// `LOOP-GAPS` line to stderr: how many stalls, how many of them overlap a GC pause over 3 ms, and
// what the others add up to.
import fs from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const startMs = Number(process.env.LOOP_GAPS_START_MS ?? 9000);
  const windowMs = Number(process.env.LOOP_GAPS_MS ?? 10000);
  const schedstat = () => fs.readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
  const gaps = [];
  const pauses = [];
  let on = false;
  let last = 0;
  let before;
  setInterval(() => {
    const now = performance.now();
    if (on && now - last > 5) gaps.push([last, now - last]);
    last = now;
  }, 1).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (on && e.duration > 3) pauses.push([e.startTime, e.duration]);
  }).observe({ entryTypes: ['gc'] });
  setTimeout(() => {
    on = true;
    last = performance.now();
    before = schedstat();
  }, startMs).unref();
  setTimeout(() => {
    on = false;
    const after = schedstat();
    const overlapsGc = ([s, d]) => pauses.some(([ps, pd]) => ps < s + d && ps + pd > s);
    const sum = (a) => a.reduce((x, [, d]) => x + d, 0);
    const other = gaps.filter((g) => !overlapsGc(g));
    const ms = (ns) => Math.round(ns / 1e6);
    console.error(
      `LOOP-GAPS over ${windowMs} ms: main thread CPU ${ms(after[0] - before[0])} ms, run-queue wait ${ms(after[1] - before[1])} ms; ` +
        `stalls > 5 ms: ${gaps.length} (${Math.round(sum(gaps))} ms), ${gaps.length - other.length} overlap a GC pause > 3 ms ` +
        `(GC pauses > 3 ms: ${pauses.length}, ${Math.round(sum(pauses))} ms), ${other.length} do not (${Math.round(sum(other))} ms, ` +
        `max ${Math.max(0, ...other.map(([, d]) => d)).toFixed(1)} ms)`,
    );
  }, startMs + windowMs).unref();
}
