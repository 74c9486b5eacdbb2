// Soak scenario of the ballast benchmark: `node bench/soak-scenario.mjs [--quick]` runs it on its own
// (own fake upstream and ballast; report on stdout and in bench/results/soak-run.md); run.mjs can
// import runSoak instead. Returns { markdown, problems, data }.
//
// Steady mixed load below capacity for 5 minutes (BENCH_QUICK / --quick: 30 s): 32 callers
// (bench/load-gen.mjs closed loop, each paced to rate/32 requests per second, one undici Pool with 32
// keep-alive connections), the requests in turn POST /chat/complete, POST /chat/stream, POST
// /embeddings (8 texts never sent before, so the cache keeps taking new entries and must hold at its
// size) and POST /classify (one unique text, local lexicon model); upstream latency 20 ms, stream
// events 2 ms apart. Every answer is checked. ballast's VmRSS is sampled every 5 s from
// /proc/<pid>/status and /metrics is scraped every 5 s (event-loop lag p99 of the last 5 s, heap,
// open fds). Targets: RSS drift (end − after warm-up) / after warm-up < 10 %, 0 errors, 0 non-2xx.
// Before the soak, 5 s + 5 s of the same mix without pacing (warm-up, then measured) give the capacity, so the soak rate can be
// shown to be below it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { checkOne, makeTexts } from './classify-texts.mjs';
import { JSON_HEADERS, QUICK, ROOT, f0, f1, f2, mdTable, pct, runStandalone, sleep, startBallast, startFake, stopChild } from './lib.mjs';
import { closedLoop, cpuMeter, metricSum, openFds, rssOf, sampler, scrapeMetrics, summarize } from './load-gen.mjs';

const LEXICON = 'lexicon-sentiment';

export const SOAK_CFG = (quick) => ({
  workers: 32,
  rate: Number(process.env.BENCH_SOAK_RATE) || 200,
  latencyMs: 20,
  streamIntervalMs: 2,
  embTexts: 8,
  capacityWarmSec: 5,
  capacitySec: 5,
  durationSec: quick ? 30 : 300,
  warmSec: quick ? 10 : 60,
  // robust drift: median RSS of this many seconds after the warm-up vs of the last this many seconds
  medianSec: quick ? 10 : 60,
  sampleSec: 5,
});

const BALLAST_SOAK_ENV = {
  LOG_LEVEL: 'info',
  LOCAL_MODEL: LEXICON,
  LOCAL_MODEL_PATH: path.join(ROOT, 'models'),
  ALLOW_REMOTE_MODELS: 'false',
  LOCAL_MODEL_FALLBACK: '',
  CLASSIFIER_THREADS: '1',
};

let seq = 0;
const KINDS = ['complete', 'stream', 'embeddings', 'classify'];

function makeRequest(embTexts) {
  const n = seq++;
  const kind = KINDS[n % KINDS.length];
  if (kind === 'complete' || kind === 'stream') {
    const content = `soak ${n} hello there`;
    const body = JSON.stringify({ messages: [{ role: 'user', content }] });
    if (kind === 'complete') {
      return { kind, path: '/chat/complete', body, check: (st, _h, t) => (st !== 200 ? `status ${st}: ${t.slice(0, 200)}` : t.includes(`Echo: ${content}`) ? null : `body ${t.slice(0, 200)}`) };
    }
    return {
      kind,
      path: '/chat/stream',
      body,
      headers: { ...JSON_HEADERS, accept: 'text/event-stream' },
      check: (st, _h, t) => (st !== 200 ? `status ${st}: ${t.slice(0, 200)}` : !t.includes('data: [DONE]') ? `no [DONE]: ${t.slice(-200)}` : /^event: ?error/m.test(t) ? `error event: ${t.slice(-200)}` : null),
    };
  }
  if (kind === 'embeddings') {
    const texts = Array.from({ length: embTexts }, (_, i) => `soak ${n} ${i} lorem ipsum dolor sit amet`);
    return {
      kind,
      path: '/embeddings',
      body: JSON.stringify({ texts }),
      check: (st, _h, t) => {
        if (st !== 200) return `status ${st}: ${t.slice(0, 200)}`;
        const e = JSON.parse(t).embeddings;
        return Array.isArray(e) && e.length === texts.length ? null : `embeddings ${t.slice(0, 200)}`;
      },
    };
  }
  const { texts, labels } = makeTexts(1);
  return {
    kind,
    path: '/classify',
    body: JSON.stringify({ text: texts[0] }),
    check: (st, _h, t) => {
      if (st !== 200) return `status ${st}: ${t.slice(0, 200)}`;
      const j = JSON.parse(t);
      return j.model !== LEXICON ? `model ${j.model}` : checkOne(j, labels[0]);
    },
  };
}

async function waitReady(origin, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${origin}/ready`);
      last = await res.text();
      if (res.status === 200) return JSON.parse(last);
    } catch {
      /* not yet */
    }
    await sleep(100);
  }
  throw new Error(`ballast-soak: /ready not 200 within ${timeoutMs} ms: ${last.slice(0, 300)}`);
}

/** Least-squares slope of v over t (MiB per minute when t is in s and v in MiB). */
function slopePerMin(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mv = points.reduce((a, p) => a + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return (num / den) * 60;
}

export async function runSoak({ quick = QUICK, fake } = {}) {
  const cfg = SOAK_CFG(quick);
  const ownFake = !fake;
  const fk = fake ?? (await startFake());
  const problems = [];
  let bal;
  try {
    bal = await startBallast('undici', fk.origin, { name: 'ballast-soak', env: BALLAST_SOAK_ENV });
    const { watchExit } = await import('./pressure-scenario.mjs');
    watchExit(bal);
    const ready = await waitReady(bal.origin);
    await fk.setKnobs({ latencyMs: cfg.latencyMs, streamIntervalMs: cfg.streamIntervalMs, streamTokens: null, embeddingDims: 8 });
    const pool = new Pool(bal.origin, { connections: cfg.workers, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const pid = bal.cp.pid;
    const out = { cfg, model: ready.info?.model?.name ?? ready.model?.name };
    try {
      // capacity of the mix: the same 32 callers, unpaced
      const capCpu = cpuMeter({ server: pid, fake: fk.cp.pid });
      const capRun = await closedLoop(pool, { workers: cfg.workers, makeRequest: () => makeRequest(cfg.embTexts), warmupMs: cfg.capacityWarmSec * 1000, durationMs: cfg.capacitySec * 1000 });
      out.capacity = summarize(capRun);
      out.capacity.cpu = capCpu();
      console.log(`  soak: capacity of the mix (${cfg.workers} callers, unpaced): ${f0(out.capacity.rps)} req/s, CPU ballast ${f0(out.capacity.cpu.server)} % / machine ${f0(out.capacity.cpu.machineBusy)} %, statuses ${JSON.stringify(out.capacity.statusCodes)}`);
      if (cfg.rate > 0.8 * out.capacity.rps) problems.push(`soak: the soak rate ${cfg.rate} req/s is more than 80 % of the capacity of the mix measured just before (${f0(out.capacity.rps)} req/s): not clearly below capacity (machine busy?)`);
      await sleep(2000);

      // the soak
      const m0 = await scrapeMetrics(bal.origin);
      const rss = sampler(rssOf(pid), cfg.sampleSec * 1000);
      const scrapes = [];
      const t0 = Date.now();
      let scraping = Promise.resolve();
      const scrapeTimer = setInterval(() => {
        scraping = scraping.then(async () => {
          try {
            const m = await scrapeMetrics(bal.origin);
            scrapes.push({
              t: (Date.now() - t0) / 1000,
              lagP99: metricSum(m, 'nodejs_eventloop_lag_p99_seconds') * 1000,
              heapUsed: metricSum(m, 'nodejs_heap_size_used_bytes') / 2 ** 20,
              fds: metricSum(m, 'process_open_fds'),
              inFlight: metricSum(m, 'ballast_http_requests_in_flight'),
            });
          } catch (err) {
            problems.push(`soak: /metrics scrape failed: ${err.message}`);
          }
        });
      }, cfg.sampleSec * 1000);
      let done = 0;
      const progress = setInterval(() => process.stdout.write(`  soak: ${Math.round((Date.now() - t0) / 1000)} s / ${cfg.durationSec} s, ${done} answers, RSS ${f0(rss.samples.at(-1)?.v)} MiB\r`), 5000);
      const cpu = cpuMeter({ server: pid, fake: fk.cp.pid });
      const run = await closedLoop(pool, {
        workers: cfg.workers,
        rate: cfg.rate,
        rampMs: 1000,
        makeRequest: () => makeRequest(cfg.embTexts),
        warmupMs: cfg.warmSec * 1000,
        durationMs: (cfg.durationSec - cfg.warmSec) * 1000,
        onRecord: () => done++,
      });
      out.cpu = cpu();
      clearInterval(progress);
      clearInterval(scrapeTimer);
      await scraping;
      const samples = rss.stop();
      process.stdout.write('\n');
      out.s = summarize(run);
      // after the load: nothing left open
      await sleep(2000);
      const m1 = await scrapeMetrics(bal.origin);
      out.after = {
        inFlight: metricSum(m1, 'ballast_http_requests_in_flight'),
        sseOpen: metricSum(m1, 'ballast_sse_streams_open'),
        fds: openFds(pid),
        rss: rssOf(pid)(),
        cacheHits: metricSum(m1, 'ballast_embeddings_cache_total', 'result="hit"') - metricSum(m0, 'ballast_embeddings_cache_total', 'result="hit"'),
        cacheMisses: metricSum(m1, 'ballast_embeddings_cache_total', 'result="miss"') - metricSum(m0, 'ballast_embeddings_cache_total', 'result="miss"'),
        shed: metricSum(m1, 'ballast_shed_requests_total') - metricSum(m0, 'ballast_shed_requests_total'),
      };
      const vals = samples.map((x) => x.v).filter(Number.isFinite);
      const warm = samples.find((x) => x.t >= cfg.warmSec) ?? samples[0];
      const end = samples.at(-1);
      const post = samples.filter((x) => x.t >= cfg.warmSec);
      const scrapesPost = scrapes.filter((x) => x.t >= cfg.warmSec);
      out.rss = {
        start: vals[0],
        warm: warm.v,
        warmT: warm.t,
        end: end.v,
        endT: end.t,
        max: Math.max(...vals),
        drift: (end.v - warm.v) / warm.v,
        slopePerMin: slopePerMin(post),
        medWarm: median(post.filter((x) => x.t < cfg.warmSec + cfg.medianSec).map((x) => x.v)),
        medEnd: median(samples.filter((x) => x.t >= end.t - cfg.medianSec).map((x) => x.v)),
        samples: samples.map((x) => Math.round(x.v)),
      };
      out.heap = { warm: scrapesPost[0]?.heapUsed, end: scrapes.at(-1)?.heapUsed, max: Math.max(...scrapes.map((x) => x.heapUsed)) };
      out.lag = { end: scrapes.at(-1)?.lagP99, max: Math.max(...scrapesPost.map((x) => x.lagP99)), median: median(scrapesPost.map((x) => x.lagP99)) };
      out.fds = { warm: scrapesPost[0]?.fds, end: scrapes.at(-1)?.fds, after: out.after.fds };
      out.scrapes = scrapes;
      const s = out.s;
      const non2xx = Object.entries(s.statusCodes).filter(([k]) => !k.startsWith('2')).reduce((a, [, v]) => a + v, 0);
      out.rss.medDrift = (out.rss.medEnd - out.rss.medWarm) / out.rss.medWarm;
      // both the point drift (one sample, depends on where V8's GC cycle is) and the median drift must be < 10 %
      out.targets = { drift: out.rss.drift < 0.1 && out.rss.medDrift < 0.1, noErrors: s.errors === 0 && s.bad === 0 && non2xx === 0 };
      console.log(
        `  soak: ${f0(s.rps)} req/s, ${s.total} requests, errors ${s.errors}, bad ${s.bad}, statuses ${JSON.stringify(s.statusCodes)}; RSS ${f0(out.rss.start)} → ${f0(out.rss.warm)} (at ${f0(out.rss.warmT)} s) → ${f0(out.rss.end)} MiB (max ${f0(out.rss.max)}), drift ${pct(out.rss.drift)}, slope ${f2(out.rss.slopePerMin)} MiB/min; event-loop p99 end ${f1(out.lag.end)} ms, max ${f1(out.lag.max)} ms`,
      );
      if (!out.targets.drift) problems.push(`soak: RSS drift ${pct(out.rss.drift)} (target < 10 %)`);
      if (!out.targets.noErrors) problems.push(`soak: errors ${s.errors}, bad bodies ${s.bad}, statuses ${JSON.stringify(s.statusCodes)} (${s.problems.join('; ')})`);
      if (out.after.inFlight || out.after.sseOpen) problems.push(`soak: after the load ${out.after.inFlight} requests in flight, ${out.after.sseOpen} SSE streams open`);
      if (bal.cp.exitCode !== null || bal.cp.signalCode !== null) problems.push(`ballast-soak exited during the run (code ${bal.cp.exitCode}, signal ${bal.cp.signalCode}):\n${bal.lines.slice(-10).join('\n')}`);
    } finally {
      await pool.destroy();
    }
    return { markdown: soakMarkdown(out), problems, data: out };
  } finally {
    if (bal) {
      bal.stopping = true;
      await stopChild(bal.cp);
    }
    if (ownFake) await stopChild(fk.cp);
  }
}

function median(a) {
  const s = [...a].filter(Number.isFinite).sort((x, y) => x - y);
  return s.length ? s[Math.ceil(s.length / 2) - 1] : NaN;
}

function soakMarkdown(out) {
  const { cfg, s } = out;
  const L = [];
  L.push(`### Soak: ${cfg.durationSec / 60 >= 1 ? `${cfg.durationSec / 60} minutes` : `${cfg.durationSec} s`} of steady mixed load`);
  L.push('');
  L.push(
    `ballast (LOG_LEVEL=info, defaults otherwise; /classify on the local \`${out.model}\` model, CLASSIFIER_THREADS=1) in front of a ${cfg.latencyMs} ms upstream (stream events ${cfg.streamIntervalMs} ms apart, 8-dim embeddings). ` +
      `Load: ${cfg.workers} callers (bench/load-gen.mjs closed loop, each paced to ${cfg.rate / cfg.workers} req/s: **${cfg.rate} req/s** in all; one undici Pool, ${cfg.workers} keep-alive connections), the requests in turn \`/chat/complete\`, \`/chat/stream\`, \`/embeddings\` (${cfg.embTexts} texts never sent before, so every text is a cache miss and the LRU cache keeps evicting once full) and \`/classify\` (one unique text). ` +
      `Capacity of the same mix, unpaced, just before: ${f0(out.capacity.rps)} req/s (the soak runs at ${pct(cfg.rate / out.capacity.rps)} of it). ` +
      `RSS = VmRSS of the ballast process every ${cfg.sampleSec} s from /proc/<pid>/status; drift = (end − after warm-up at ${f0(out.rss.warmT)} s) / after warm-up; slope = least-squares fit after the warm-up. Event-loop p99 = \`nodejs_eventloop_lag_p99_seconds\` from /metrics, scraped every ${cfg.sampleSec} s (prom-client resets the histogram on each scrape, so each value covers the last ${cfg.sampleSec} s; its values include prom-client's 10 ms sampling interval: an idle ballast reads p50 10.1 ms, p99 11.6 ms, so the delay proper is the value − ~10 ms). Every answer is checked (echo, [DONE] and no error event, one vector per text, the sentence's label).`,
  );
  L.push('');
  const kindRows = Object.entries(s.byKind).map(([k, v]) => [k, f0(v.rps), f1(v.p50), f1(v.p99), f1(v.max)]);
  L.push(mdTable(['route', 'req/s', 'p50 ms', 'p99 ms', 'max ms'], [...kindRows, ['all', f0(s.rps), '', '', '']]));
  L.push('');
  const non2xx = Object.entries(s.statusCodes).filter(([k]) => !k.startsWith('2')).reduce((a, [, v]) => a + v, 0);
  L.push(
    mdTable(
      ['measure', 'value', 'target'],
      [
        ['requests (all checked)', `${s.total} (statuses ${JSON.stringify(s.statusCodes)})`, ''],
        ['errors / non-2xx / wrong bodies', `${s.errors} / ${non2xx} / ${s.bad}`, `0 — **${out.targets.noErrors ? 'PASS' : 'FAIL'}**`],
        ['RSS MiB: start → after warm-up → end (max)', `${f0(out.rss.start)} → ${f0(out.rss.warm)} → ${f0(out.rss.end)} (${f0(out.rss.max)})`, ''],
        ['RSS drift: end vs after warm-up (single samples)', `${pct(out.rss.drift)}`, '< 10 %'],
        [`RSS drift: median of the last ${cfg.medianSec} s vs of the ${cfg.medianSec} s after warm-up`, `${f0(out.rss.medEnd)} vs ${f0(out.rss.medWarm)} MiB: ${pct(out.rss.medDrift)}`, '< 10 %'],
        ['RSS drift target (both < 10 %); least-squares slope after warm-up', `${f2(out.rss.slopePerMin)} MiB/min`, `**${out.targets.drift ? 'PASS' : 'FAIL'}**`],
        ['V8 heap used MiB: after warm-up → end (max)', `${f1(out.heap.warm)} → ${f1(out.heap.end)} (${f1(out.heap.max)})`, ''],
        ['event-loop lag p99, raw (last 5 s at the end; median / max of the 5 s windows)', `${f1(out.lag.end)} ms; ${f1(out.lag.median)} / ${f1(out.lag.max)} ms`, ''],
        ['open fds: after warm-up → end → 2 s after', `${out.fds.warm} → ${out.fds.end} → ${out.fds.after}`, ''],
        ['after the load: in flight / SSE streams open', `${out.after.inFlight} / ${out.after.sseOpen}`, '0 / 0'],
        ['embeddings cache hits / misses', `${out.after.cacheHits} / ${out.after.cacheMisses}`, ''],
        ['CPU % ballast / fake / bench / machine (one core = 100)', `${f0(out.cpu.server)} / ${f0(out.cpu.fake)} / ${f0(out.cpu.bench)} / ${f0(out.cpu.machineBusy)}`, ''],
      ],
      ['l', 'l', 'l'],
    ),
  );
  L.push('');
  L.push(`RSS samples (MiB, every ${cfg.sampleSec} s): ${out.rss.samples.join(' ')}`);
  L.push('');
  L.push(`Event-loop p99 per ${cfg.sampleSec} s (ms): ${out.scrapes.map((x) => f1(x.lagP99)).join(' ')}`);
  return L.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick') || QUICK;
  await runStandalone(
    'Soak',
    'soak-run.md',
    `node bench/soak-scenario.mjs${quick ? ' --quick' : ''}${process.env.BENCH_SOAK_RATE ? ` (BENCH_SOAK_RATE=${process.env.BENCH_SOAK_RATE})` : ''}`,
    () => runSoak({ quick }),
  );
}
