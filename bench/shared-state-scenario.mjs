// Shared state (issue 24): what REDIS_URL costs a request. `node bench/shared-state-scenario.mjs
// [--quick]` runs it on its own (report on stdout and in bench/results/shared-state-run.md); run.mjs
// runs it with BENCH_ONLY=shared-state. Returns { markdown, problems, data }.
//
//   Two ballast processes in front of the same fast fake upstream (0 ms), RATE_LIMIT_RPM at its
//   maximum (so nothing is refused: the limiter's work is measured, not its 429s), auth off (the
//   limit is per client IP, one counter, as a single hot key would be):
//     in-process   REDIS_URL unset: counters in memory (rate-limiter-flexible's memory store)
//     redis        REDIS_URL → a throwaway redis-server (Debian's, no persistence) on 127.0.0.1:
//                  one MULTI/EXEC round trip per request (src/auth/rate-limiter-redis-multi.ts)
//   and, in the same run, a bare PING round trip from this process with the same client library
//   (ioredis, same options as ballast's) to the same Redis, paced like the requests (each PING after
//   one request to the in-process ballast, so Redis has idled as long as between two requests) and,
//   for reference, back to back.
//
//   c=1     POST /chat/complete, sequential, one keep-alive connection per process, 3 processes per
//           target (two processes of one build differ by tens of µs at c=1); per round each process gets
//           SETTLE untimed requests then N timed ones, in an order rotated and reversed by round; the
//           PINGs are timed in the same round (paced). A target's p50 in a round is the median of its
//           processes' p50s; added = median over rounds of (p50 redis − p50 in-process). Target: added p50 ≤ 1.5 × the PING p50 (the limiter costs one round trip).
//           Also GET /ready on both, whose only difference is one PING that ballast itself sends: its
//           added p50 is what one round trip costs from inside ballast, the floor for any limiter.
//   c=64    autocannon, 64 connections, per round each target in turn. Target: redis ≥ 85 % of the
//           in-process throughput (median of the per-round ratios).
//
//   embeddings  the cross-instance hit path: a second ballast-redis ("A") embeds texts, then
//           ballast-redis ("B") is asked for each, one text per call at c=1, once: answered from
//           Redis with 0 upstream calls (checked on the fake's counters). Beside it, in the same
//           rounds: B's own LRU hit (the same texts again), and a miss (a new text, the fast fake
//           upstream at 0 ms, 1536-dim vectors). What matters: a cross-instance hit costs about a
//           Redis round trip over a local hit, and far less than any real upstream call.
//
//   After the run, ballast-redis's /metrics must show its EXEC round trips and no error; a
//   command cut at REDIS_TIMEOUT_MS (answered by the insurance limiter) is reported as a problem.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { QUICK, benchTempDir, f0, f1, f3, freePort, mdTable, median, pct, percentile, procCpuMs, runStandalone, sleep, sortNum, startBallast, startFake, stopChild, timedRequest, track } from './lib.mjs';
import { postLoad } from './post-load.mjs';

const BODY = JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] });
const PATH = '/chat/complete';
const MAX_RPM = '10000000';

const REDIS_SERVER = process.env.REDIS_SERVER_PATH || '/usr/bin/redis-server';

/** A throwaway redis-server on a free port, no persistence; resolves once it answers PING. */
export async function startRedis() {
  if (!fs.existsSync(REDIS_SERVER)) throw new Error(`no redis-server at ${REDIS_SERVER}: apt-get install -y redis-server (or set REDIS_SERVER_PATH)`);
  const port = await freePort();
  const dir = benchTempDir('ballast-bench-redis-');
  const cp = track(
    spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], { stdio: 'ignore' }),
    'redis-server',
  );
  const url = `redis://127.0.0.1:${port}/0`;
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (cp.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not come up on ${port}`);
      await sleep(50);
    }
  }
  return { cp, port, url };
}

/** A client as ballast makes it (src/shared-state/redis.connection.ts), for the PING reference. */
function benchClient(url) {
  return new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, disableClientInfo: true, maintNotifications: 'disabled' });
}

/**
 * `n` PINGs, timed. Back to back (`pace` undefined) both ends stay awake and a round trip is its
 * floor; paced, each PING follows one untimed request to the in-process ballast, so Redis has been
 * idle for as long as it is between two requests of the c=1 phase, which is what ballast-redis's
 * rate-limit call meets (waking an idle Redis costs: ~26 µs back to back vs ~108 µs after 0.5 ms
 * idle, measured on the bench machine).
 */
async function pingLatencies(client, n, pace) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    if (pace) await timedRequest(pace, PATH, BODY);
    const t0 = performance.now();
    await client.ping();
    out[i] = performance.now() - t0;
  }
  return out;
}

/** `n` sequential GETs of /ready (any status: its Redis check is one PING whatever the rest says). */
async function readyLatencies(pool, n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await pool.request({ method: 'GET', path: '/ready' });
    await res.body.dump();
    out[i] = performance.now() - t0;
  }
  return out;
}

async function sequential(pool, n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = await timedRequest(pool, PATH, BODY);
    if (r.status !== 200) throw new Error(`${PATH}: ${r.error ? r.error.message : `HTTP ${r.status}`}`);
    out[i] = r.ms;
  }
  return out;
}

function roundOrder(items, r) {
  const order = items.map((_, i) => items[(i + r) % items.length]);
  return r % 2 === 1 ? order.reverse() : order;
}

/**
 * The p50 of a histogram's series matching `match` (bucket counts summed over them), from two
 * scrapes' bucket counts (so only what happened between them), interpolated inside its bucket.
 */
async function histogramBuckets(origin, name, match) {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const buckets = new Map();
  for (const line of text.split('\n')) {
    const m = /^(\w+)_bucket\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name || !match.test(m[2])) continue;
    const le = /le="([^"]+)"/.exec(m[2])[1];
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[3]));
  }
  return buckets;
}
function histogramP50(before, after) {
  const bounds = [...after.keys()].filter((le) => le !== '+Inf').map(Number).sort((a, b) => a - b);
  const cum = bounds.map((b) => (after.get(String(b)) ?? 0) - (before.get(String(b)) ?? 0));
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  const half = total / 2;
  for (let i = 0; i < bounds.length; i++) {
    if (cum[i] >= half) {
      const lo = i === 0 ? 0 : bounds[i - 1];
      const below = i === 0 ? 0 : cum[i - 1];
      return lo + ((bounds[i] - lo) * (half - below)) / Math.max(1, cum[i] - below);
    }
  }
  return NaN;
}

/** Sum of a metric's samples whose labels match `match` (a regex on the label text), from /metrics. */
async function metricSum(origin, name, match = /.*/) {
  const text = await (await fetch(`${origin}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && match.test(m[2] ?? '')) sum += Number(m[3]);
  }
  return sum;
}

const DIMS = 1536;

/** One POST /embeddings of `texts`; checks a 200 with one DIMS-long vector per text. */
async function embedCall(pool, texts) {
  const t0 = performance.now();
  const res = await pool.request({ method: 'POST', path: '/embeddings', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts }) });
  const body = await res.body.text();
  const ms = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`/embeddings: HTTP ${res.statusCode} ${body.slice(0, 200)}`);
  const answer = JSON.parse(body);
  if (answer.embeddings.length !== texts.length || answer.embeddings.some((v) => v.length !== DIMS)) throw new Error('/embeddings: wrong answer shape');
  return ms;
}

async function embeddingsHitPath({ cfg, fake, a, b }) {
  const problems = [];
  await fake.setKnobs({ latencyMs: 0, embeddingDims: DIMS });
  const poolA = new Pool(a.origin, { connections: 1 });
  const poolB = new Pool(b.origin, { connections: 1 });
  const n = cfg.embN;
  const lat = { cross: [], local: [], miss: [] };
  const p50 = { cross: [], local: [], miss: [] };
  let crossUpstream = 0;
  let seq = 0;
  const fresh = (k) => Array.from({ length: k }, () => `bench text ${process.pid} ${seq++} ${'lorem ipsum '.repeat(8)}`);
  try {
    for (const t of fresh(50)) await embedCall(poolB, [t]); // warm-up: first calls, JIT
    for (let r = 0; r < cfg.embRounds; r++) {
      const shared = fresh(n);
      await embedCall(poolA, shared); // A pays the upstream and stores them in Redis
      await sleep(50); // A's writes are not awaited by its answer
      const order = roundOrder(['cross', 'miss'], r);
      for (const kind of order) {
        const before = (await fake.getCounters()).embeddings;
        const texts = kind === 'cross' ? shared : fresh(n);
        const out = [];
        for (const t of texts) out.push(await embedCall(poolB, [t]));
        const upstream = (await fake.getCounters()).embeddings - before;
        if (kind === 'cross') crossUpstream += upstream;
        else if (upstream !== n) problems.push(`embeddings: ${n} new texts cost ${upstream} upstream calls`);
        lat[kind].push(...out);
        p50[kind].push(median(out));
      }
      const out = [];
      for (const t of shared) out.push(await embedCall(poolB, [t])); // now in B's LRU
      lat.local.push(...out);
      p50.local.push(median(out));
    }
  } finally {
    await Promise.all([poolA.close(), poolB.close()]);
  }
  if (crossUpstream !== 0) problems.push(`embeddings: ${crossUpstream} upstream calls for texts another instance had embedded (expected 0)`);
  const row = (name, k) => [name, f3(median(p50[k])), f3(percentile(sortNum(lat[k]), 99)), f3(median(p50[k]) - median(p50.local))];
  const markdown = [
    `#### Embeddings: the cross-instance hit path (/embeddings, 1 text of ${DIMS} dims per call, c=1)`,
    '',
    `${cfg.embRounds} rounds × ${n} texts: instance A embeds them (one call), then B is asked for each once (cross-instance hit), then again (B's own LRU); a new text per call for the miss row (fast fake, 0 ms). Upstream calls during the cross-instance rows: **${crossUpstream}**.`,
    '',
    mdTable(['path on B', 'p50 ms', 'p99 ms', 'over a local hit, ms'], [row("local hit (B's LRU)", 'local'), row('cross-instance hit (Redis, embedded by A)', 'cross'), row('miss (upstream at 0 ms)', 'miss')]),
  ].join('\n');
  return { markdown, problems, data: { p50, crossUpstream } };
}

export async function runSharedState({ quick = QUICK } = {}) {
  const cfg = quick
    ? { rounds: 3, settle: 100, n: 100, pings: 100, thrRounds: 1, warmSec: 1, durSec: 2, embRounds: 2, embN: 50, c1Processes: 1 }
    : { rounds: 11, settle: 300, n: 400, pings: 400, thrRounds: 10, warmSec: 1, durSec: 2, embRounds: 8, embN: 100, c1Processes: 3 };
  const problems = [];
  const fake = await startFake();
  const redis = await startRedis();
  const env = { RATE_LIMIT_RPM: MAX_RPM, LOG_LEVEL: 'warn' };
  const inproc = await startBallast('undici', fake.origin, { name: 'ballast-in-process', env });
  const shared = await startBallast('undici', fake.origin, { name: 'ballast-redis', env: { ...env, REDIS_URL: redis.url } });
  const sharedA = await startBallast('undici', fake.origin, { name: 'ballast-redis-a', env: { ...env, REDIS_URL: redis.url } });
  // c=1 asks several processes of each build: two processes of one build differ by tens of µs at c=1
  // (their memory layout, the CPU they land on), as much as the effect measured, so one pair must not decide.
  const more = [];
  for (let i = 2; i <= cfg.c1Processes; i++) {
    more.push(
      { name: 'in-process', b: await startBallast('undici', fake.origin, { name: `ballast-in-process-${i}`, env }) },
      { name: 'redis', b: await startBallast('undici', fake.origin, { name: `ballast-redis-${i}`, env: { ...env, REDIS_URL: redis.url } }) },
    );
  }
  const targets = [
    { name: 'in-process', b: inproc },
    { name: 'redis', b: shared },
  ];
  const client = benchClient(redis.url);
  await client.connect();
  try {
    // c=1
    const c1Targets = [...targets, ...more].map((t) => ({ ...t, pool: new Pool(t.b.origin, { connections: 1, pipelining: 1 }) }));
    const poolsOf = (name) => c1Targets.filter((t) => t.name === name).map((t) => t.pool);
    for (const t of c1Targets) await sequential(t.pool, cfg.settle); // first contact, JIT
    const pacer = poolsOf('in-process')[0];
    const RTT = 'ballast_redis_command_duration_seconds';
    const EXEC_OK = /command="exec",outcome="ok"/;
    const rttBefore = await histogramBuckets(shared.origin, RTT, EXEC_OK);
    const ITEMS = ['in-process', 'redis', 'ping', 'ping-hot', 'ready:in-process', 'ready:redis'];
    const p50 = Object.fromEntries(ITEMS.map((k) => [k, []]));
    const all = Object.fromEntries(ITEMS.map((k) => [k, []]));
    for (let r = 0; r < cfg.rounds; r++) {
      for (const item of roundOrder(ITEMS, r)) {
        // A target's p50 in a round: the median of its processes' p50s.
        const perProcess = [];
        if (item.startsWith('ready:')) {
          for (const pool of roundOrder(poolsOf(item.slice('ready:'.length)), r)) {
            await readyLatencies(pool, cfg.settle / 4);
            const lat = await readyLatencies(pool, cfg.n / 2);
            perProcess.push(median(lat));
            all[item].push(...lat);
          }
        } else if (item === 'ping' || item === 'ping-hot') {
          const pace = item === 'ping' ? pacer : undefined;
          await pingLatencies(client, cfg.settle / 4, pace);
          const lat = await pingLatencies(client, cfg.pings, pace);
          perProcess.push(median(lat));
          all[item].push(...lat);
        } else {
          for (const pool of roundOrder(poolsOf(item), r)) {
            await sequential(pool, cfg.settle);
            const lat = await sequential(pool, cfg.n);
            perProcess.push(median(lat));
            all[item].push(...lat);
          }
        }
        p50[item].push(median(perProcess));
      }
    }
    await Promise.all(c1Targets.map((t) => t.pool.close()));
    const added = p50.redis.map((x, i) => x - p50['in-process'][i]);
    const addedP50 = median(added);
    const pingP50 = median(p50.ping);
    // The same round trip as ballast itself timed it, inside the requests of the c=1 phase.
    const inSituP50 = 1000 * histogramP50(rttBefore, await histogramBuckets(shared.origin, RTT, EXEC_OK));
    // A PING sent by ballast itself: /ready with REDIS_URL (its Redis check is one PING) minus without.
    const ownPingP50 = median(p50['ready:redis'].map((x, i) => x - p50['ready:in-process'][i]));
    const c1 = { addedP50, pingP50, inSituP50, ownPingP50, ratio: addedP50 / pingP50, p50, all };

    // c=64
    const rps = { 'in-process': [], redis: [] };
    // CPU per answered request (user + system, /proc): ballast's own, and redis-server's (redis target only).
    const cpu = { 'in-process': { ballast: 0, redis: 0, n: 0 }, redis: { ballast: 0, redis: 0, n: 0 } };
    for (let r = 0; r < cfg.thrRounds; r++) {
      for (const t of roundOrder(targets, r)) {
        await postLoad({ url: `${t.b.origin}${PATH}`, body: BODY, connections: 64, duration: cfg.warmSec });
        const cpu0 = [procCpuMs(t.b.cp.pid), procCpuMs(redis.cp.pid)];
        const res = await postLoad({ url: `${t.b.origin}${PATH}`, body: BODY, connections: 64, duration: cfg.durSec });
        cpu[t.name].ballast += procCpuMs(t.b.cp.pid) - cpu0[0];
        cpu[t.name].redis += procCpuMs(redis.cp.pid) - cpu0[1];
        cpu[t.name].n += res.requests.total;
        const bad = res.errors + res.timeouts + res.non2xx;
        if (bad) problems.push(`c=64 ${t.name} round ${r}: ${bad} failed requests (errors ${res.errors}, timeouts ${res.timeouts}, non-2xx ${res.non2xx})`);
        rps[t.name].push(res.requests.average);
      }
    }
    const ratios = rps.redis.map((x, i) => x / rps['in-process'][i]);
    const usPer = (name, who) => (1000 * cpu[name][who]) / cpu[name].n;
    const c64 = { rps, ratio: median(ratios), ratios, cpu };

    const emb = await embeddingsHitPath({ cfg, fake, a: sharedA, b: shared });
    problems.push(...emb.problems);

    // What ballast-redis did: every request one EXEC, none failed or cut at the timeout.
    const execOk = await metricSum(shared.origin, 'ballast_redis_command_duration_seconds_count', EXEC_OK);
    const execBad = await metricSum(shared.origin, 'ballast_redis_command_duration_seconds_count', /command="exec",outcome="(error|timeout)"/);
    const served = await metricSum(shared.origin, 'ballast_http_requests_total', /route="\/chat\/complete",status="200"/);
    if (execBad > 0) problems.push(`ballast-redis: ${execBad} rate-limit round trips failed or timed out (answered by the insurance limiter)`);
    if (execOk < served) problems.push(`ballast-redis: ${execOk} EXEC round trips for ${served} answered requests`);
    if (!(c1.ratio <= 1.5)) problems.push(`c=1: added p50 ${f3(addedP50)} ms is ${c1.ratio.toFixed(2)}× a PING (${f3(pingP50)} ms); target ≤ 1.5×`);
    if (!(c64.ratio >= 0.85)) problems.push(`c=64: redis at ${pct(c64.ratio)} of in-process throughput; target ≥ 85 %`);

    const sortedAll = (k) => sortNum(all[k]);
    const c1Rows = [
      ['in-process (REDIS_URL unset)', f3(median(p50['in-process'])), f3(percentile(sortedAll('in-process'), 99)), '', ''],
      ['redis (REDIS_URL set)', f3(median(p50.redis)), f3(percentile(sortedAll('redis'), 99)), `+${f3(addedP50)}`, ''],
      ['PING, ioredis, same Redis, one per request time (paced: the reference)', f3(pingP50), f3(percentile(sortedAll('ping'), 99)), '', ''],
      ['PING back to back (both ends awake: the floor)', f3(median(p50['ping-hot'])), f3(percentile(sortedAll('ping-hot'), 99)), '', `added p50 = ${(addedP50 / median(p50['ping-hot'])).toFixed(2)}× this`],
      ["MULTI/EXEC inside ballast-redis's requests (its histogram, interpolated)", f3(inSituP50), '', '', `added p50 = ${(addedP50 / inSituP50).toFixed(2)}× this round trip`],
      ["ballast's own PING: /ready added p50 with REDIS_URL (its Redis check is one PING; the floor for any one-round-trip limiter)", f3(ownPingP50), '', '', `added p50 = ${(addedP50 / ownPingP50).toFixed(2)}× this; this = ${(ownPingP50 / pingP50).toFixed(2)}× the paced PING`],
      ['**added p50 / PING p50**', '', '', '', `**${c1.ratio.toFixed(2)}×** (target ≤ 1.5×) ${c1.ratio <= 1.5 ? 'met' : '**missed**'}`],
    ];
    const c64Rows = [
      ['in-process', f0(median(rps['in-process'])), f1(usPer('in-process', 'ballast')), '–', ''],
      ['redis', f0(median(rps.redis)), f1(usPer('redis', 'ballast')), f1(usPer('redis', 'redis')), `**${pct(c64.ratio)}** of in-process (target ≥ 85 %) ${c64.ratio >= 0.85 ? 'met' : '**missed**'}`],
    ];
    const markdown = [
      `### Shared state: REDIS_URL set vs unset (rate limit on), ${PATH}, fast fake upstream (0 ms)`,
      '',
      `c=1: ${cfg.rounds} rounds × ${cfg.n} sequential requests per target and process (${cfg.c1Processes} processes each, after ${cfg.settle} untimed), ${cfg.pings} PINGs per round; p50 = median over rounds of the median of the processes' p50s, p99 over all requests (ms).`,
      '',
      mdTable(['target', 'p50 ms', 'p99 ms', 'added p50 ms', 'vs target'], c1Rows),
      '',
      `c=64: ${cfg.thrRounds} rounds × ${cfg.durSec} s per target (after ${cfg.warmSec} s), req/s = median of rounds; ratio = median of per-round ratios (${c64.ratios.map((x) => pct(x)).join(', ')}).`,
      '',
      mdTable(['target', 'req/s', 'ballast CPU µs/req', 'redis-server CPU µs/req', 'vs target'], c64Rows),
      '',
      `ballast-redis: ${f0(execOk)} MULTI/EXEC round trips ok, ${f0(execBad)} failed or timed out, for ${f0(served)} answered requests.`,
      '',
      emb.markdown,
    ].join('\n');
    return { markdown, problems, data: { c1, c64, embeddings: emb.data } };
  } finally {
    client.disconnect();
    await Promise.all([...more.map((t) => stopChild(t.b.cp)), stopChild(inproc.cp), stopChild(shared.cp), stopChild(sharedA.cp), stopChild(fake.cp), stopChild(redis.cp)]);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick') || QUICK;
  await runStandalone('Shared state (Redis)', 'shared-state-run.md', `node bench/shared-state-scenario.mjs${quick ? ' --quick' : ''}`, () => runSharedState({ quick }));
}
