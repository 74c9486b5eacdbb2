// Experiment, cited in docs/benchmarks.md, "Retrieval": reads a window written by loop-stall-profile-preload.mjs
// (`node loop-stall-report.mjs /tmp/ballast-stalls-1.json [minGapMs]`): the main thread's busy time by
// package and by the innermost ballast (dist/) frame, over the whole window and inside the stalls
// over minGapMs (default 8), how many stalls overlap a GC pause, and the longest stalls with their top frames.
import fs from 'node:fs';

const { profile, gaps, gcs, cpuMs, runQueueMs } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const minGap = Number(process.argv[3] ?? 8);
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const pkg = (n) => {
  const u = n.callFrame.url;
  if (!u) return n.callFrame.functionName || '(native)';
  const m = u.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  if (u.startsWith('node:')) return u.replace('node:internal/', 'node:i/');
  return 'app:' + u.replace(/.*\/dist\//, '');
};
const appFrame = (id) => {
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const n = nodes.get(at);
    if (/\/dist\//.test(n.callFrame.url) && !n.callFrame.url.includes('node_modules')) return `${n.callFrame.functionName || '(anon)'} ${pkg(n)}:${n.callFrame.lineNumber}`;
  }
  return '(no ballast frame)';
};
// samples with their times
const samples = [];
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i];
  const dt = profile.timeDeltas[i + 1] ?? 0;
  samples.push([t, profile.samples[i], dt]);
}
const long = gaps.filter(([, d]) => d >= minGap);
const inGap = (ts) => long.find(([s, d]) => ts >= s && ts <= s + d * 1000);
const sum = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
const all = { pkg: new Map(), app: new Map() };
const gap = { pkg: new Map(), app: new Map() };
const perGap = new Map();
for (const [ts, id, dt] of samples) {
  const n = nodes.get(id);
  if (n.callFrame.functionName === '(idle)') continue;
  sum(all.pkg, pkg(n), dt);
  sum(all.app, appFrame(id), dt);
  const g = inGap(ts);
  if (g) {
    sum(gap.pkg, pkg(n), dt);
    sum(gap.app, appFrame(id), dt);
    if (!perGap.has(g)) perGap.set(g, new Map());
    sum(perGap.get(g), `${pkg(n)} / ${appFrame(id)}`, dt);
  }
}
const overlapsGc = ([s, d]) => gcs.some(([gs, gd]) => gs < s + d * 1000 && gs + gd * 1000 > s);
const windowMs = (samples.at(-1)[0] - profile.startTime) / 1000;
const top = (m, k = 15) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, us]) => `  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}`).join('\n');
const busy = [...all.pkg.values()].reduce((a, b) => a + b, 0);
console.log(`window ${windowMs.toFixed(0)} ms, main thread busy ${(busy / 1000).toFixed(0)} ms (CPU ${cpuMs?.toFixed(0)} ms, waited for a core ${runQueueMs?.toFixed(0)} ms); stalls >= ${minGap} ms: ${long.length} (${long.reduce((a, [, d]) => a + d, 0).toFixed(0)} ms), ${long.filter(overlapsGc).length} overlap a GC pause; GC pauses ${gcs.length} (${gcs.reduce((a, [, d]) => a + d, 0).toFixed(0)} ms, max ${Math.max(0, ...gcs.map(([, d]) => d)).toFixed(1)})`);
console.log(`--- busy by package, whole window\n${top(all.pkg)}\n--- busy by innermost ballast frame, whole window\n${top(all.app)}`);
console.log(`--- busy by package, inside stalls\n${top(gap.pkg)}\n--- busy by innermost ballast frame, inside stalls\n${top(gap.app)}`);
console.log('--- longest stalls');
for (const g of [...long].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
  const m = perGap.get(g) ?? new Map();
  const sampled = [...m.values()].reduce((a, b) => a + b, 0);
  console.log(`${g[1].toFixed(1)} ms (sampled busy ${(sampled / 1000).toFixed(1)} ms${overlapsGc(g) ? ', GC' : ''}):\n${top(m, 5)}`);
}
