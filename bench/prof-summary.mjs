// Summarises a .cpuprofile: self time by package / node-internal module, top self functions,
// and inclusive time of functions whose name matches argv[3] (regex).
import fs from 'node:fs';
const prof = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const cat = (n) => {
  const u = n.callFrame.url;
  if (!u) return n.callFrame.functionName || '(native)';
  let m = u.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  m = u.match(/^node:(.*)/);
  if (m) return 'node:' + m[1].replace(/^internal\//, 'i/');
  return 'app:' + u.replace(/.*\/(dist|src|\.variants\/[^/]+)\//, '');
};
const total = [...dt.values()].reduce((a, b) => a + b, 0);
const idle = [...prof.nodes].filter((n) => n.callFrame.functionName === '(idle)').reduce((a, n) => a + (dt.get(n.id) ?? 0), 0);
const busy = total - idle;
const agg = (keyf) => {
  const m = new Map();
  for (const n of prof.nodes) { const t = dt.get(n.id); if (!t) continue; const k = keyf(n); m.set(k, (m.get(k) ?? 0) + t); }
  return [...m].sort((a, b) => b[1] - a[1]);
};
const N = Number(process.argv[4] ?? 1);
const fmt = (t) => `${(t / 1000).toFixed(0).padStart(6)} ms ${((t / busy) * 100).toFixed(1).padStart(5)}%${N > 1 ? ` ${(t / N).toFixed(1).padStart(6)} µs/req` : ''}`;
console.log(`total ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms${N > 1 ? ` = ${(busy / N).toFixed(1)} µs/req` : ''}`);
console.log('--- self by package/module');
for (const [k, t] of agg(cat).slice(0, 40)) if (k !== '(idle)') console.log(fmt(t), k);
console.log('--- top self functions');
for (const [k, t] of agg((n) => `${n.callFrame.functionName || '(anon)'} ${cat(n)}:${n.callFrame.lineNumber}`).slice(0, 40)) console.log(fmt(t), k);
if (process.argv[3]) {
  const re = new RegExp(process.argv[3]);
  // inclusive: sample counted once per matching ancestor name
  const incl = new Map();
  for (const n of prof.nodes) {
    const t = dt.get(n.id); if (!t) continue;
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const a = byId.get(id); const k = `${a.callFrame.functionName} ${cat(a)}:${a.callFrame.lineNumber}`;
      if (re.test(k) && !seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + t); }
    }
  }
  console.log('--- inclusive matching', re);
  for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(fmt(t), k);
}
