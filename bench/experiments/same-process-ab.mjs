// Experiment, cited in docs/benchmarks.md, "Method" and "Tried and not kept": several builds in one process, to take process placement out.
// Compares builds of ballast by CPU per request with the noise of process placement removed: every
// build is loaded into ONE Node process (each its own Nest app on its own port), and the load goes
// to one app at a time, in interleaved rounds. Two processes of the same build differ by up to
// ~60 µs per request on this VM (docs/benchmarks.md), which hides any change worth a few per cent;
// apps that share a process share its placement, its V8 and the VM's minute.
//
//   node bench/experiments/same-process-ab.mjs <build dir> <build dir> ...   (e.g. dist .variants/head)
//
// What it resolves (2026-11-26, 40 rounds × 1 s): two copies of the same build read 1.001, 1.024 and
// 0.931 of each other in three runs, so only differences beyond ~7 % mean anything; one run put a
// build without the chat route schema 6-9 % faster and the next 2 % slower. The VM's speed moves by
// up to 2× within seconds, which one process does not cancel. Kept for large effects.
//
// Each build dir is a compiled `dist/` (its app.factory.js is imported). Env: SP_ROUNDS (8),
// SP_SEC (3 s per app per round), SP_CONC (64), SP_PATH (/chat/complete), SP_WARM (4000 requests).
// Prints, per build, the median over rounds of the main thread's and the whole process's CPU µs per
// request (from /proc/<pid>/task/*/schedstat), the median ratio to the first build within a round, and req/s.
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

if (process.argv[2] === '--serve') {
  // The server process: one app per build, all in this process.
  await import('reflect-metadata');
  const ports = [];
  for (const dir of process.argv.slice(3)) {
    const { createApp } = await import(path.resolve(ROOT, dir, 'app.factory.js'));
    const app = await createApp({ envFile: false, env: { PORT: '0' } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    ports.push(app.getHttpAdapter().getInstance().server.address().port);
  }
  process.send({ type: 'ready', ports });
} else {
  const builds = process.argv.slice(2);
  if (builds.length === 0) throw new Error('usage: same-process-ab.mjs <build dir> <build dir> ...');
  const ROUNDS = Number(process.env.SP_ROUNDS ?? 8);
  const SEC = Number(process.env.SP_SEC ?? 3);
  const CONC = Number(process.env.SP_CONC ?? 64);
  const PATH = process.env.SP_PATH ?? '/chat/complete';
  const WARM = Number(process.env.SP_WARM ?? 4000);

  const fake = fork(path.join(ROOT, 'dist-bench', 'bench', 'fake-upstream-server.js'), [], { env: { ...process.env, FAKE_KNOBS: '{"recordRequests":false}' } });
  const fakePort = await new Promise((resolve) => fake.on('message', (m) => m?.type === 'ready' && resolve(m.port)));
  const log = fs.openSync(path.join(fs.mkdtempSync('/tmp/same-process-ab-'), 'server.log'), 'w');
  const server = spawn(process.execPath, ['--max-semi-space-size=64', fileURLToPath(import.meta.url), '--serve', ...builds], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      OPENAI_BASE_URL: `http://127.0.0.1:${fakePort}/v1`,
      OPENAI_API_KEY: 'sk-bench',
      CHAT_MODEL: 'fake-model',
      LOG_LEVEL: 'info',
      UPSTREAM_MAX_SOCKETS: '256',
      CLASSIFIER_THREADS: '1',
    },
    stdio: ['ignore', log, log, 'ipc'],
  });
  process.on('exit', () => {
    server.kill('SIGKILL');
    fake.kill('SIGKILL');
  });
  const ports = await new Promise((resolve, reject) => {
    server.on('message', (m) => m?.type === 'ready' && resolve(m.ports));
    server.on('exit', (code) => reject(new Error(`server exited (${code}); see its log`)));
  });

  const cpuNs = (mainOnly) => {
    const tasks = mainOnly ? [String(server.pid)] : fs.readdirSync(`/proc/${server.pid}/task`);
    let total = 0;
    for (const t of tasks) {
      try {
        total += Number(fs.readFileSync(`/proc/${server.pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // a thread that ended meanwhile
      }
    }
    return total;
  };
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] });
  const pools = ports.map((port) => new Pool(`http://127.0.0.1:${port}`, { connections: CONC }));
  const call = async (pool) => {
    const res = await pool.request({ path: PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  };
  const closedLoop = async (pool, { count, untilMs }) => {
    let done = 0;
    let left = count ?? Infinity;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (left-- > 0 && (untilMs === undefined || performance.now() < untilMs)) {
          await call(pool);
          done++;
        }
      }),
    );
    return done;
  };

  for (const pool of pools) await closedLoop(pool, { count: WARM });
  const rows = builds.map(() => ({ main: [], all: [], rps: [] }));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < builds.length; k++) {
      const i = (k + round) % builds.length;
      await closedLoop(pools[i], { count: 500 });
      const m0 = cpuNs(true);
      const a0 = cpuNs(false);
      const t0 = performance.now();
      const n = await closedLoop(pools[i], { untilMs: t0 + SEC * 1000 });
      const dt = performance.now() - t0;
      rows[i].main.push((cpuNs(true) - m0) / 1000 / n);
      rows[i].all.push((cpuNs(false) - a0) / 1000 / n);
      rows[i].rps.push((n * 1000) / dt);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${ROUNDS} rounds × ${SEC} s per build, c=${CONC}, ${PATH}, one server process`);
  // The VM's speed drifts by up to 2× within seconds; the ratio to the first build in the same
  // round (measured a second or two apart) is steadier than either figure alone.
  const ratio = (i) => median(rows[i].main.map((x, r) => x / rows[0].main[r]));
  console.log('| build | main thread CPU µs/req (median) | vs first build, same round (median ratio) | process CPU µs/req | req/s | per round (main) |');
  console.log('| :--- | ---: | ---: | ---: | ---: | :--- |');
  builds.forEach((b, i) =>
    console.log(
      `| ${b} | ${median(rows[i].main).toFixed(1)} | ${ratio(i).toFixed(3)} | ${median(rows[i].all).toFixed(1)} | ${median(rows[i].rps).toFixed(0)} | ${rows[i].main.map((x) => x.toFixed(0)).join(' ')} |`,
    ),
  );
  await Promise.all(pools.map((p) => p.close()));
  process.exit(0);
}
