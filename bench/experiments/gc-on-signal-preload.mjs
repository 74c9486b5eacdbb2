// Experiment, cited in docs/benchmarks.md, "Local model (classify)": preload for heap-after-gc.mjs.
// Preload for bench/experiments/heap-after-gc.mjs (needs --expose-gc). SIGWINCH: a full GC, then
// heapUsed / heapTotal / RSS / external written to stderr as one AFTER-GC line.
process.on('SIGWINCH', () => {
  globalThis.gc();
  const m = process.memoryUsage();
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  process.stderr.write(`AFTER-GC heapUsed=${mib(m.heapUsed)} heapTotal=${mib(m.heapTotal)} rss=${mib(m.rss)} external=${mib(m.external)} arrayBuffers=${mib(m.arrayBuffers)}\n`);
});
