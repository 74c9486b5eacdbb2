// A/B harness for per-request overhead: one fake upstream, the bare relay and N server variants, all
// measured in the same run, interleaved. Besides wall-clock latency it reports the server process's
// CPU time per request (sum of /proc/<pid>/task/*/schedstat, ns resolution), which is far less
// sensitive to a noisy shared machine than latency or req/s.
//
//   node bench/ab.mjs variants.json
//
// variants.json: [{ "name": "base", "entry": "dist/main.js", "env": {...}, "nodeArgs": [...] },
//                 { "name": "x", "cmd": ["node", "bench/experiments/hello.mjs"], "path": "/hello", "body": "{}" }]
// Entries default to ballast's `POST /chat/complete`; every variant gets PORT/HOST and ballast's env.
// Env: AB_ROUNDS (default 10), AB_PER_ROUND (300), AB_C64_SEC (5, 0 = skip), AB_REPEAT_C64 (1),
// AB_C64_RATE (req/s over all 64 connections; default unlimited). At a fixed rate below every
// server's capacity, CPU µs per request no longer depends on how saturated each server was.
// AB_INSTANCES (default 1; or "instances" per variant): processes started per variant, measured
// as separate targets and summarised as "<name> (median of N)". Two processes of one build differ
// by up to ~60 µs (docs/benchmarks.md), so compare medians over several processes.
import { spawn, fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { BALLAST_NODE_ARGS, benchTempDir, cpuNs, tailLines } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FAKE_ENTRY = path.join(ROOT, 'dist-bench', 'bench', 'fake-upstream-server.js');
const RELAY_ENTRY = path.join(ROOT, 'bench', 'relay.mjs');
const ROUNDS = Number(process.env.AB_ROUNDS ?? 10);
const PER_ROUND = Number(process.env.AB_PER_ROUND ?? 300);
const C64_SEC = Number(process.env.AB_C64_SEC ?? 5);
const REPEAT_C64 = Number(process.env.AB_REPEAT_C64 ?? 1);
const C64_RATE = process.env.AB_C64_RATE ? Number(process.env.AB_C64_RATE) : undefined;
const JSON_HEADERS = { 'content-type': 'application/json' };
const MESSAGES = [{ role: 'user', content: 'hello' }];

const INSTANCES = Number(process.env.AB_INSTANCES ?? 1);
const variants = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')).flatMap((v) => {
  const n = v.instances ?? INSTANCES;
  return n > 1 ? Array.from({ length: n }, (_, i) => ({ ...v, name: `${v.name}#${i + 1}`, group: v.name })) : [v];
});
const children = new Set();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
function ready(cp) {
  return new Promise((resolve, reject) => {
    cp.on('message', (m) => m?.type === 'ready' && resolve(m.port));
    cp.once('exit', (c) => reject(new Error(`exit ${c}`)));
  });
}

const fake = fork(FAKE_ENTRY, [], { env: { ...process.env, FAKE_KNOBS: '{"recordRequests":false}' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
children.add(fake);
const fakePort = await ready(fake);
const fakeOrigin = `http://127.0.0.1:${fakePort}`;
const relay = fork(RELAY_ENTRY, [], { env: { ...process.env, UPSTREAM_URL: fakeOrigin, PORT: '0' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
children.add(relay);
const relayPort = await ready(relay);

const targets = [
  { name: 'direct', origin: fakeOrigin, pid: fake.pid, path: '/v1/chat/completions', body: JSON.stringify({ model: 'fake-model', messages: MESSAGES }) },
  { name: 'relay', origin: `http://127.0.0.1:${relayPort}`, pid: relay.pid, path: '/v1/chat/completions', body: JSON.stringify({ model: 'fake-model', messages: MESSAGES }) },
];
for (const v of variants) {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? os.tmpdir(),
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    OPENAI_BASE_URL: `${fakeOrigin}/v1`,
    UPSTREAM_URL: fakeOrigin,
    OPENAI_API_KEY: 'sk-bench-fake',
    CHAT_MODEL: 'fake-model',
    LOG_LEVEL: 'info',
    UPSTREAM_TRANSPORT: 'undici',
    UPSTREAM_MAX_SOCKETS: '256',
    SHUTDOWN_GRACE_MS: '1000',
    ...(v.env ?? {}),
  };
  // ballast builds get `npm start`'s Node flags unless the variant names its own.
  const cmd = v.cmd ?? [process.execPath, ...(v.nodeArgs ?? BALLAST_NODE_ARGS), path.resolve(ROOT, v.entry ?? 'dist/main.js')];
  const cwd = benchTempDir('ab-');
  // The server's log goes to a file (as to a log shipper in production), not to a pipe this process
  // reads: the load generator must not also be the log consumer (see lib.mjs startBallast).
  const logPath = path.join(cwd, 'server.log');
  const logFd = fs.openSync(logPath, 'a');
  const cp = spawn(cmd[0] === 'node' ? process.execPath : cmd[0], cmd.slice(1).map((a) => (a.startsWith('bench/') || a.startsWith('dist') ? path.resolve(ROOT, a) : a)), { cwd, env, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  children.add(cp);
  const readTail = () => tailLines(logPath).join('\n');
  const origin = `http://127.0.0.1:${port}`;
  const body = v.body ?? JSON.stringify({ messages: MESSAGES });
  const reqPath = v.path ?? '/chat/complete';
  for (let i = 0; ; i++) {
    if (cp.exitCode !== null) throw new Error(`${v.name} exited: ${readTail()}`);
    try {
      const r = await fetch(origin + reqPath, { method: 'POST', headers: JSON_HEADERS, body });
      const t = await r.text();
      if (r.status === 200) break;
      if (i > 200) throw new Error(`${v.name}: ${r.status} ${t}`);
    } catch (e) {
      if (i > 300) throw e;
    }
    await sleep(100);
  }
  targets.push({ name: v.name, origin, pid: cp.pid, path: reqPath, body });
}
console.log(`load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${targets.map((t) => t.name).join(', ')}`);

const pct = (s, p) => s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1];
const med = (a) => pct([...a].sort((x, y) => x - y), 50);

// ---- c=1 latency + CPU/request
const pools = new Map(targets.map((t) => [t.name, new Pool(t.origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 })]));
const st = new Map(targets.map((t) => [t.name, { p50: [], p99: [], mean: [], cpu: [], bad: 0 }]));
async function one(t) {
  const t0 = performance.now();
  const res = await pools.get(t.name).request({ method: 'POST', path: t.path, headers: JSON_HEADERS, body: t.body });
  await res.body.arrayBuffer();
  if (res.statusCode !== 200) st.get(t.name).bad++;
  return performance.now() - t0;
}
for (const t of targets) for (let i = 0; i < 500; i++) await one(t);
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < targets.length; k++) {
    const t = targets[(k + r) % targets.length];
    const lat = new Array(PER_ROUND);
    const c0 = cpuNs(t.pid);
    for (let i = 0; i < PER_ROUND; i++) lat[i] = await one(t);
    const c1 = cpuNs(t.pid);
    lat.sort((a, b) => a - b);
    const s = st.get(t.name);
    s.p50.push(pct(lat, 50));
    s.p99.push(pct(lat, 99));
    s.mean.push(lat.reduce((a, b) => a + b, 0) / lat.length);
    s.cpu.push((c1 - c0) / PER_ROUND / 1000);
  }
}
await Promise.all([...pools.values()].map((p) => p.close()));

// ---- c=64 throughput + CPU/request
const thr = new Map(targets.map((t) => [t.name, { rps: [], cpu: [] }]));
if (C64_SEC > 0) {
  for (let rep = 0; rep < REPEAT_C64; rep++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(k + rep) % targets.length];
      const opts = { url: t.origin + t.path, method: 'POST', headers: JSON_HEADERS, body: t.body, connections: 64, pipelining: 1, ...(C64_RATE ? { overallRate: C64_RATE } : {}) };
      await autocannon({ ...opts, duration: 1 });
      const c0 = cpuNs(t.pid);
      const r = await autocannon({ ...opts, duration: C64_SEC });
      const c1 = cpuNs(t.pid);
      thr.get(t.name).rps.push(r['2xx'] / r.duration);
      thr.get(t.name).cpu.push((c1 - c0) / Math.max(1, r['2xx']) / 1000);
      if (r.non2xx || r.errors) console.log(`  ${t.name}: non2xx ${r.non2xx} errors ${r.errors}`);
    }
  }
}

const d = st.get('direct');
const relayRps = med(thr.get('relay').rps);
const rows = [['target', 'p50', 'added p50', 'p99', 'added p99', 'cpu µs/req c1', 'req/s c64', 'vs relay', 'cpu µs/req c64', 'bad']];
for (const t of targets) {
  const s = st.get(t.name);
  const h = thr.get(t.name);
  rows.push([
    t.name,
    med(s.p50).toFixed(3),
    (med(s.p50) - med(d.p50)).toFixed(3),
    med(s.p99).toFixed(3),
    (med(s.p99) - med(d.p99)).toFixed(3),
    med(s.cpu).toFixed(1),
    h.rps.length ? med(h.rps).toFixed(0) : '-',
    h.rps.length ? `${((med(h.rps) / relayRps) * 100).toFixed(1)}%` : '-',
    h.cpu.length ? med(h.cpu).toFixed(1) : '-',
    String(s.bad),
  ]);
}
// Variants started as several processes: the median of each column over their processes.
const groups = new Map();
for (const v of variants) if (v.group) groups.set(v.group, [...(groups.get(v.group) ?? []), rows.findIndex((r) => r[0] === v.name)]);
for (const [group, indexes] of groups) {
  const column = (c) => {
    const values = indexes.map((i) => parseFloat(rows[i][c])).filter((x) => !Number.isNaN(x));
    if (!values.length) return '-';
    values.sort((a, b) => a - b);
    const mid = values.length >> 1;
    const m = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    const digits = rows[indexes[0]][c].split('.')[1]?.replace('%', '').length ?? 0;
    return `${m.toFixed(digits)}${rows[indexes[0]][c].endsWith('%') ? '%' : ''}`;
  };
  rows.push([`${group} (median of ${indexes.length})`, ...rows[0].slice(1).map((_, k) => column(k + 1))]);
}
const out = rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
console.log(out);
console.log(`rounds ${ROUNDS}×${PER_ROUND}, c64 ${C64_SEC}s×${REPEAT_C64}${C64_RATE ? ` at ${C64_RATE} req/s` : ''}; load now ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const c of children) c.kill('SIGTERM');
await sleep(300);
process.exit(0);
