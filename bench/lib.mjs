// Shared helpers for the ballast benchmark (bench/run.mjs and its scenario modules): child-process
// management (every process started here is killed when the bench exits), the fake upstream, the relay
// and ballast launchers, statistics and Markdown formatting.
import { execSync, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { RawHttpPool } from './raw-http.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FAKE_ENTRY = path.join(ROOT, 'dist-bench', 'bench', 'fake-upstream-server.js');
const RELAY_ENTRY = path.join(ROOT, 'bench', 'relay.mjs');
const BALLAST_ENTRY = path.join(ROOT, 'dist', 'main.js');
/**
 * Node flags of `npm start` (package.json), so ballast runs here exactly as in production;
 * BENCH_BALLAST_NODE_ARGS (space-separated) replaces them for an experiment, and the report says so.
 */
export const BALLAST_NODE_ARGS =
  process.env.BENCH_BALLAST_NODE_ARGS !== undefined
    ? process.env.BENCH_BALLAST_NODE_ARGS.split(' ').filter(Boolean)
    : JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
        .scripts.start.split(' ')
        .filter((arg) => arg.startsWith('--'));
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

export const QUICK = process.env.BENCH_QUICK === '1';
export const BALLAST_LOG_LEVEL = process.env.BENCH_LOG_LEVEL || 'info';
export const JSON_HEADERS = { 'content-type': 'application/json' };
/**
 * The client the classify overload rows send their calls on (classify-overload.mjs): raw-http.mjs's
 * lean one (default), or undici (BENCH_OVERLOAD_CLIENT=undici), which costs the generator ~0.3 ms of
 * CPU per call instead of ~0.18, on the 2 cores ballast needs too.
 */
export const OVERLOAD_CLIENT = process.env.BENCH_OVERLOAD_CLIENT === 'undici' ? 'undici' : 'raw';

/** The pool an open-loop overload sends on: `client` 'raw' (raw-http.mjs) or 'undici'; never queues below `connections`. */
export function overloadPool(origin, connections, client = OVERLOAD_CLIENT) {
  if (client === 'raw') return new RawHttpPool(origin, { connections });
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
}

// ------------------------------------------------------------------------------------------------
// child processes

export const children = new Set();
export function track(cp, name) {
  cp.benchName = name;
  children.add(cp);
  cp.once('exit', () => children.delete(cp));
  return cp;
}
process.on('exit', () => {
  for (const cp of children) {
    try {
      cp.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\nbench: ${sig}, killing children`);
    process.exit(130); // the 'exit' handler kills them
  });
}

export async function stopChild(cp) {
  if (cp.exitCode !== null || cp.signalCode !== null) return;
  const exited = new Promise((resolve) => cp.once('exit', resolve));
  cp.kill('SIGTERM');
  const timer = setTimeout(() => cp.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/**
 * The last `max` lines of a log file (shown when something goes wrong). ballast's output goes to a
 * file in its temp dir, the way it goes to a log shipper in production, and not through a pipe that
 * this process reads: at LOG_LEVEL=info ballast writes a line per request, and if the load generator
 * were also the log reader, reading thousands of lines a second would slow the very client whose
 * timings the bench reports (and at c=1, wake it between request and answer).
 */
export function tailLines(file, max = 60) {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').filter(Boolean).slice(-max);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
}

// Temp dirs of the servers started here (their log files are read until the end), removed at exit.
const tempDirs = new Set();
process.on('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp dir (a server's working dir and log), removed when this process exits. */
export function benchTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function waitForReady(cp, name, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no 'ready' message within ${timeoutMs} ms`)), timeoutMs);
    cp.on('message', function onMsg(m) {
      if (m && m.type === 'ready') {
        clearTimeout(timer);
        cp.off('message', onMsg);
        resolve(m.port);
      }
    });
    cp.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited early (code ${code}, signal ${sig})`));
    });
  });
}

export async function startFake() {
  if (!fs.existsSync(FAKE_ENTRY)) throw new Error(`${FAKE_ENTRY} missing: run "npx tsc -p bench/tsconfig.json" first`);
  const cp = track(
    fork(FAKE_ENTRY, [], { env: { ...process.env, FAKE_KNOBS: JSON.stringify({ recordRequests: false }) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    'fake-upstream',
  );
  const port = await waitForReady(cp, 'fake upstream');
  let nextId = 1;
  const setKnobs = (knobs) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error('fake upstream: knobs not acknowledged')), 5000);
      cp.on('message', function onMsg(m) {
        if (m && m.type === 'knobs-ok' && m.id === id) {
          clearTimeout(timer);
          cp.off('message', onMsg);
          resolve(m.counters);
        }
      });
      cp.send({ type: 'knobs', id, knobs });
    });
  /** The fake's counters now, without resetting anything (knobs and counters stay as they are). */
  const getCounters = () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error('fake upstream: counters not answered')), 5000);
      cp.on('message', function onMsg(m) {
        if (m && m.type === 'counters-ok' && m.id === id) {
          clearTimeout(timer);
          cp.off('message', onMsg);
          resolve(m.counters);
        }
      });
      cp.send({ type: 'counters', id });
    });
  return { cp, port, origin: `http://127.0.0.1:${port}`, setKnobs, getCounters };
}

/** Forks a node:http helper server (relay.mjs, seed-embeddings.mjs) and waits for its { type: 'ready', port }. */
export async function startForked(entry, name, env) {
  const cp = track(
    fork(entry, [], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    name,
  );
  const port = await waitForReady(cp, name);
  return { cp, port, origin: `http://127.0.0.1:${port}` };
}

/** `env` adds to the relay's environment (RELAY_MAX_SOCKETS). */
export function startRelay(upstreamOrigin, env = {}) {
  return startForked(RELAY_ENTRY, 'relay', { UPSTREAM_URL: upstreamOrigin, ...env });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node dist/main.js` with `transport`; `opts.name` names it in messages (default
 * ballast-<transport>), `opts.env` adds to / overrides its environment, `opts.nodeArgs` replaces
 * BALLAST_NODE_ARGS (an experiment comparing Node flags side by side), `opts.entry` replaces dist/main.js
 * (another build, e.g. under .variants/).
 */
export async function startBallast(transport, upstreamOrigin, opts = {}) {
  const entry = opts.entry ? path.resolve(ROOT, opts.entry) : BALLAST_ENTRY;
  if (!fs.existsSync(entry)) throw new Error(`${entry} missing: run "npm run build" first`);
  const name = opts.name ?? `ballast-${transport}`;
  const port = await freePort();
  // Explicit, minimal environment; cwd is a temp dir so no .env file is picked up.
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    OPENAI_BASE_URL: `${upstreamOrigin}/v1`,
    OPENAI_API_KEY: 'sk-bench-fake',
    CHAT_MODEL: 'fake-model',
    LOG_LEVEL: BALLAST_LOG_LEVEL,
    UPSTREAM_TRANSPORT: transport,
    UPSTREAM_MAX_SOCKETS: '256', // = default
    SSE_HEARTBEAT_MS: '15000', // = default
    SHUTDOWN_GRACE_MS: '1000',
    // No embedded vector store (a PGlite worker, DATA_DIR locked to one process) unless a scenario asks.
    RETRIEVAL_ENABLED: 'false',
    // Node/V8 flags for ballast only (e.g. GC experiments), never for the helpers or this process.
    ...(process.env.BENCH_BALLAST_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_BALLAST_NODE_OPTIONS } : {}),
    ...opts.env,
  };
  const cwd = benchTempDir('ballast-bench-');
  // stdout and stderr to a file, not to this process (see tailLines).
  const logFile = path.join(cwd, 'ballast.log');
  const logFd = fs.openSync(logFile, 'a');
  const cp = track(spawn(process.execPath, [...(opts.nodeArgs ?? BALLAST_NODE_ARGS), entry], { cwd, env, stdio: ['ignore', logFd, logFd] }), name);
  fs.closeSync(logFd);
  const closed = new Promise((resolve) => cp.once('close', resolve));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (cp.exitCode !== null || cp.signalCode !== null) {
      await Promise.race([closed, sleep(2000)]); // collect its last words
      throw new Error(`${name}: \`node dist/main.js\` exited during startup (code ${cp.exitCode}, signal ${cp.signalCode}):\n${tailLines(logFile).join('\n')}`);
    }
    try {
      const res = await fetch(`${origin}/health`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stopChild(cp);
      throw new Error(`${name}: /health not 200 within 30 s:\n${tailLines(logFile).join('\n')}`);
    }
    await sleep(50);
  }
  return {
    cp,
    port,
    origin,
    logFile,
    /** Its last 60 log lines (read from the file when asked). */
    get lines() {
      return tailLines(logFile);
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One POST with a JSON body, read to the end. Returns { ms, status } (status 0 = transport error). */
export async function timedRequest(pool, reqPath, body) {
  const t0 = performance.now();
  try {
    const res = await pool.request({ method: 'POST', path: reqPath, headers: JSON_HEADERS, body });
    await res.body.arrayBuffer();
    return { ms: performance.now() - t0, status: res.statusCode };
  } catch (err) {
    return { ms: performance.now() - t0, status: 0, error: err };
  }
}

/** `n` sequential timedRequests on `pool`: their latencies in ms, in order; throws unless each is a 200. */
export async function sequentialLatencies(pool, reqPath, body, n) {
  const lat = new Array(n);
  for (let i = 0; i < n; i++) {
    const res = await timedRequest(pool, reqPath, body);
    if (res.status !== 200) throw new Error(`${reqPath}: ${res.error ? res.error.message : `HTTP ${res.status}`}`);
    lat[i] = res.ms;
  }
  return lat;
}

// ------------------------------------------------------------------------------------------------
// statistics and formatting

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
export const sortNum = (a) => [...a].sort((x, y) => x - y);
export const median = (a) => percentile(sortNum(a), 50);
export const mean = (a) => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : NaN);
export const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
export const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
export const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
export const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toString() : 'n/a');
export const signed3 = (x) => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + x.toFixed(3) : 'n/a');
export const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');

export function mdTable(header, rows, align) {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const sep = a.map((x) => (x === 'l' ? ':---' : '---:'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

// ------------------------------------------------------------------------------------------------
// requests

// ------------------------------------------------------------------------------------------------
// /proc readings (Linux; NaN elsewhere)

const CLK_TCK = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, all threads) a process has used so far, in ms. */
/** CPU time of every thread of `pid` in ns (schedstat of each task): finer than /proc/<pid>/stat's ticks. */
export function cpuNs(pid) {
  let total = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* thread gone */
    }
  }
  return total;
}

export function procCpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] = state (field 3)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process (VmRSS from /proc/<pid>/status), in MiB. */
export function procRssMiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** `git rev-parse --short HEAD` of the repo, or 'unknown'. */
export function gitShort() {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** What a standalone scenario run records about itself (date, git, node, cores, load, command). */
export function runMeta(command) {
  return {
    date: new Date().toISOString(),
    git: gitShort(),
    node: process.version,
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    load: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    command,
  };
}

export function metaMarkdown(m) {
  return `- date: ${m.date}; git: ${m.git}; node ${m.node}; ${m.nproc} cores (shared with other work); load average at start: ${m.load}\n- command: \`${m.command}\``;
}

/**
 * For a scenario run on its own (`node bench/<scenario>.mjs`): runs it, writes its report under
 * `## <title>` to bench/results/<fileName> and stdout, exits 1 if it found problems (or threw).
 */
export async function runStandalone(title, fileName, command, run) {
  const meta = runMeta(command);
  try {
    const { markdown, problems } = await run();
    const text = `## ${title}\n\n${metaMarkdown(meta)}\n\n${markdown}\n${problems.length ? `\n**Problems**\n\n${problems.map((p) => `- ${p}`).join('\n')}\n` : ''}`;
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, fileName);
    fs.writeFileSync(file, text);
    console.log(`\n${text}\nwritten to ${path.relative(ROOT, file)}`);
    process.exit(problems.length ? 1 : 0);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}

/** POSTs JSON through an undici Pool; answers the parsed body, throws on a status of 300 or more. */
export function jsonPoster(pool) {
  return async (p, body) => {
    const res = await pool.request({ method: 'POST', path: p, headers: JSON_HEADERS, body: JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`POST ${p}: ${res.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
}

/** Waits until ballast's /ready says its vector store is up. */
export async function waitVectorStoreUp(origin, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await (await fetch(`${origin}/ready`)).json();
    const store = body.details?.vector_store ?? body.info?.vector_store;
    if (store?.state === 'up') return;
    if (Date.now() > deadline) throw new Error(`vector store not up: ${JSON.stringify(store)}`);
    await sleep(200);
  }
}
