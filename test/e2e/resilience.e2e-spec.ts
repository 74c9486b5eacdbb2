import request from 'supertest';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeUpstream, fakeReply } from '../support/fake-upstream.js';
import { postSse } from '../support/sse-client.js';
import { FAKE_UPSTREAM_KEY as KEY, startTestApp, TestApp, useAppWithFakeUpstream, useFakeUpstream } from '../support/test-app.js';
import { closedPort } from '../support/ports.js';

const hello = { messages: [{ role: 'user', content: 'hello there' }] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The process is alive and well: liveness answers. */
async function alive(t: TestApp): Promise<void> {
  await request(t.url).get('/health').expect(200);
}

/** A real `node dist/main.js` on a free port, answering /health; its output is kept for the error message. */
async function spawnBallast(
  env: Record<string, string>,
  options: { nodeArgs?: string[]; cwd?: string } = {},
): Promise<{ child: ChildProcess; url: string; exited: Promise<{ code: number | null; signal: string | null }> }> {
  const port = await closedPort();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path.resolve('dist/main.js')], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ALLOW_REMOTE_MODELS: 'false', CLASSIFIER_THREADS: '1', RETRIEVAL_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 200) {
      child.kill('SIGKILL');
      throw new Error(`ballast did not start:\n${output}`);
    }
    await sleep(50);
  }
  return { child, url, exited };
}

describe('fault matrix: retries, deadline, mapping (one upstream, UPSTREAM_MAX_RETRIES=2)', () => {
  // Retry semantics only: the breaker and the retry budget are out of the way (they have their own suites).
  const s = useAppWithFakeUpstream({
    UPSTREAM_MAX_RETRIES: '2',
    UPSTREAM_TIMEOUT_MS: '3000',
    BREAKER_WINDOW: '10000',
    BREAKER_MIN_CALLS: '10000',
    RETRY_BUDGET_MIN_PER_SEC: '1000',
  });
  afterEach(() => alive(s.app));

  it('429 with Retry-After: waits that long, retries, succeeds', async () => {
    s.fake.reset({ faults: [{ kind: 'status', status: 429, retryAfter: '1' }] });
    const started = Date.now();
    const res = await request(s.app.url).post('/chat/complete').send(hello).expect(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(res.body.content).toBe(fakeReply(hello.messages));
    expect(s.fake.counters.chat).toBe(2);
  });

  it('500 then 200: retried (after a short backoff), succeeds', async () => {
    s.fake.reset({ faults: [{ kind: 'status', status: 500 }] });
    await request(s.app.url).post('/chat/complete').send(hello).expect(200);
    expect(s.fake.counters.chat).toBe(2);
  });

  it.each([
    ['500', { kind: 'status' as const, status: 500 }],
    ['502', { kind: 'status' as const, status: 502 }],
    ['503', { kind: 'status' as const, status: 503 }],
    ['connection reset', { kind: 'reset' as const }],
    ['malformed JSON', { kind: 'malformed' as const }],
  ])('%s forever: 502 after N+1 = 3 attempts', async (_name, fault) => {
    s.fake.reset({ fault });
    const res = await request(s.app.url).post('/chat/complete').send(hello).expect(502);
    expect(res.body.error.type).toBe('upstream_error');
    expect(s.fake.counters.chat).toBe(3);
  });

  it('a reset then 200: retried, succeeds', async () => {
    s.fake.reset({ faults: [{ kind: 'reset' }] });
    await request(s.app.url).post('/chat/complete').send(hello).expect(200);
    expect(s.fake.counters.chat).toBe(2);
  });

  it('a client error (404 unknown model) is not retried', async () => {
    await request(s.app.url).post('/chat/complete').send({ ...hello, model: 'unknown-model' }).expect(400);
    expect(s.fake.counters.chat).toBe(1);
  });

  it('a Retry-After longer than the deadline left is not waited for: 429 at once, with it', async () => {
    s.fake.reset({ fault: { kind: 'status', status: 429, retryAfter: '5' } });
    const started = Date.now();
    const res = await request(s.app.url).post('/chat/complete').send(hello).expect(429);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.headers['retry-after']).toBe('5');
    expect(s.fake.counters.chat).toBe(1);
  });

  it('one deadline for all attempts: a stall after a failure still ends in 504 at UPSTREAM_TIMEOUT_MS', async () => {
    s.fake.reset({ faults: [{ kind: 'status', status: 500 }], fault: { kind: 'stall' } });
    const started = Date.now();
    const res = await request(s.app.url).post('/chat/complete').send(hello).expect(504);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(2900);
    expect(took).toBeLessThan(3800);
    expect(res.body.error.type).toBe('timeout_error');
    expect(s.fake.counters.chat).toBe(2);
    await s.fake.waitFor(() => s.fake.counters.inFlight === 0);
  });

  it('a stream refused before it opened is retried; the client sees one clean stream', async () => {
    s.fake.reset({ faults: [{ kind: 'status', status: 503 }] });
    const res = await postSse(`${s.app.url}/chat/stream`, hello);
    expect(res.status).toBe(200);
    expect(res.frames.at(-1)?.data).toBe('[DONE]');
    expect(s.fake.counters.chat).toBe(2);
  });

  it('a stream cut mid-way is not retried (bytes were sent): it ends with an SSE error event', async () => {
    s.fake.reset({ fault: { kind: 'cut-stream', afterChunks: 2 } });
    const res = await postSse(`${s.app.url}/chat/stream`, hello);
    expect(res.status).toBe(200);
    expect(res.frames.some((f) => f.event === 'error')).toBe(true);
    expect(s.fake.counters.chat).toBe(1);
  });

  it('embeddings batches are retried too', async () => {
    s.fake.reset({ faults: [{ kind: 'status', status: 502 }] });
    const res = await request(s.app.url).post('/embeddings').send({ texts: ['retry me'] }).expect(200);
    expect(res.body.embeddings).toHaveLength(1);
    expect(s.fake.counters.embeddings).toBe(2);
  });
});

describe('fallback upstreams (UPSTREAMS)', () => {
  // Declared first, so its afterAll (jest runs them in declaration order) closes the apps before either fake.
  const fallbackSuite = useFakeUpstream();
  const primarySuite = useFakeUpstream();
  let primary: FakeUpstream;
  let fallback: FakeUpstream;
  beforeAll(() => {
    primary = primarySuite.fake;
    fallback = fallbackSuite.fake;
  });

  // UPSTREAMS replaces the OPENAI_BASE_URL pair startApp sets.
  const app = (upstreams: object[], env: Record<string, string> = {}): Promise<TestApp> =>
    fallbackSuite.startApp({
      UPSTREAMS: JSON.stringify(upstreams),
      PRIMARY_KEY: 'sk-primary',
      FALLBACK_KEY: 'sk-fallback',
      UPSTREAM_MAX_RETRIES: '0',
      BREAKER_WINDOW: '10000',
      BREAKER_MIN_CALLS: '10000',
      ...env,
    });

  it('primary down (connection refused) → the fallback answers, with its own key', async () => {
    const t = await app([
      { name: 'primary', baseUrl: `http://127.0.0.1:${await closedPort()}/v1`, apiKeyEnv: 'PRIMARY_KEY' },
      { name: 'fallback', baseUrl: fallback.baseUrl, apiKeyEnv: 'FALLBACK_KEY' },
    ]);
    const res = await request(t.url).post('/chat/complete').send(hello).expect(200);
    expect(res.body.content).toBe(fakeReply(hello.messages));
    expect(fallback.requests[0].headers.authorization).toBe('Bearer sk-fallback');
  });

  it('primary 500 → the fallback answers; primary healthy → it takes all the traffic', async () => {
    const t = await app([
      { name: 'primary', baseUrl: primary.baseUrl, apiKeyEnv: 'PRIMARY_KEY' },
      { name: 'fallback', baseUrl: fallback.baseUrl, apiKeyEnv: 'FALLBACK_KEY' },
    ]);
    primary.reset({ fault: { kind: 'status', status: 500 } });
    await request(t.url).post('/chat/complete').send(hello).expect(200);
    expect(primary.counters.chat).toBe(1);
    expect(fallback.counters.chat).toBe(1);

    primary.reset();
    fallback.reset();
    for (let i = 0; i < 5; i++) await request(t.url).post('/chat/complete').send(hello).expect(200);
    expect(primary.counters.chat).toBe(5);
    expect(fallback.counters.chat).toBe(0);
  });

  it('routes by model: an upstream that does not list the model is not asked', async () => {
    const t = await app([
      { name: 'primary', baseUrl: primary.baseUrl, apiKeyEnv: 'PRIMARY_KEY', models: ['fake-model'] },
      { name: 'fallback', baseUrl: fallback.baseUrl, apiKeyEnv: 'FALLBACK_KEY' },
    ]);
    await request(t.url).post('/chat/complete').send({ ...hello, model: 'other-model' }).expect(200);
    expect(primary.counters.chat).toBe(0);
    expect(fallback.counters.chat).toBe(1);
  });

  it('with weights, traffic is spread among the healthy upstreams', async () => {
    const t = await app([
      { name: 'primary', baseUrl: primary.baseUrl, apiKeyEnv: 'PRIMARY_KEY', weight: 1 },
      { name: 'fallback', baseUrl: fallback.baseUrl, apiKeyEnv: 'FALLBACK_KEY', weight: 1 },
    ]);
    for (let i = 0; i < 40; i++) await request(t.url).post('/chat/complete').send(hello).expect(200);
    expect(primary.counters.chat).toBeGreaterThan(5);
    expect(fallback.counters.chat).toBeGreaterThan(5);
    expect(primary.counters.chat + fallback.counters.chat).toBe(40);
  });

  it('a bad UPSTREAMS stops the boot naming the entry, never printing a key', async () => {
    await expect(
      startTestApp({ UPSTREAMS: JSON.stringify([{ name: 'a', baseUrl: 'http://x/v1', apiKeyEnv: 'MISSING_KEY_VAR' }]) }),
    ).rejects.toThrow(/UPSTREAMS: \[0\]\.apiKeyEnv names MISSING_KEY_VAR, which is not set/);
    await expect(startTestApp({ UPSTREAMS: '[{"name":"a"}]' })).rejects.toThrow(/UPSTREAMS: \[0\]\.baseUrl must be an http\(s\) URL/);
    await expect(startTestApp({ UPSTREAMS: 'nope' })).rejects.toThrow(/UPSTREAMS: not valid JSON/);
  });
});

describe('circuit breaker, one upstream (BREAKER_MIN_CALLS=3, BREAKER_COOLDOWN_MS=500)', () => {
  const s = useAppWithFakeUpstream({ UPSTREAM_MAX_RETRIES: '0', BREAKER_MIN_CALLS: '3', BREAKER_COOLDOWN_MS: '500' }, { resetBeforeEach: false });

  it('opens after 3 failures, yet the only upstream is still asked (panic rule): its own 502 is the answer, never circuit_open', async () => {
    s.fake.reset({ fault: { kind: 'status', status: 500 } });
    for (let i = 0; i < 3; i++) await request(s.app.url).post('/chat/complete').send(hello).expect(502);
    const ready = await request(s.app.url).get('/ready');
    const upstream = ready.body.details?.upstream ?? ready.body.error?.upstream;
    expect(upstream.upstreams).toEqual([expect.objectContaining({ name: 'default', breaker: 'open' })]);

    for (let i = 0; i < 5; i++) {
      const res = await request(s.app.url).post('/chat/complete').send(hello).expect(502);
      expect(res.body.error).toEqual(expect.objectContaining({ type: 'upstream_error', code: 'upstream_http_error' }));
    }
    expect(s.fake.counters.chat).toBe(8);

    s.fake.reset();
    await request(s.app.url).post('/chat/complete').send(hello).expect(200); // recovered: answered at once, breaker still open
    await sleep(600);
    await request(s.app.url).post('/chat/complete').send(hello).expect(200); // the probe, which closes it
    expect((await request(s.app.url).get('/ready')).body.details.upstream.upstreams[0].breaker).toBe('closed');
    await alive(s.app);
  });
});

interface CallResult {
  status: number;
  type?: string;
  code?: string;
}

/** `n` POST /chat/complete calls, `concurrency` at a time, through Node's fetch; every answer's status and error. */
async function calls(url: string, n: number, concurrency: number): Promise<CallResult[]> {
  const results: CallResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const res = await fetch(`${url}/chat/complete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hello) });
      const body = (await res.json()) as { error?: { type: string; code: string | null; message: string; param: unknown } };
      if (res.status !== 200) expect(body.error).toEqual({ message: expect.any(String), type: expect.any(String), param: null, code: expect.anything() });
      results.push({ status: res.status, type: body.error?.type, code: body.error?.code ?? undefined });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

const share = (results: CallResult[]) => results.filter((r) => r.status === 200).length / results.length;
const codes = (results: CallResult[]) => [...new Set(results.map((r) => r.code).filter((c) => c !== undefined))];

describe('partial failures: rate-based breakers, the panic rule, the retry budget (defaults)', () => {
  // Declared first, so its afterAll closes the apps before either fake.
  const aSuite = useFakeUpstream({ upstream: { recordRequests: false } });
  const bSuite = useFakeUpstream({ upstream: { recordRequests: false } });
  let a: FakeUpstream;
  let b: FakeUpstream;
  beforeAll(() => {
    a = aSuite.fake;
    b = bSuite.fake;
  });
  // UPSTREAMS replaces the OPENAI_BASE_URL pair startApp sets.
  const twoUpstreams = (env: Record<string, string> = {}): Promise<TestApp> =>
    aSuite.startApp({
      UPSTREAMS: JSON.stringify([
        { name: 'a', baseUrl: a.baseUrl, apiKeyEnv: 'A_KEY' },
        { name: 'b', baseUrl: b.baseUrl, apiKeyEnv: 'B_KEY' },
      ]),
      A_KEY: 'sk-a',
      B_KEY: 'sk-b',
      ...env,
    });

  it('two upstreams each failing 50 % at random, 300 calls at c=4: ≥ 55 % succeed, never circuit_open, attempts ≤ 1.35×', async () => {
    const t = await twoUpstreams();
    a.reset({ recordRequests: false, failureRate: 0.5, failureSeed: 1 });
    b.reset({ recordRequests: false, failureRate: 0.5, failureSeed: 2 });
    const results = await calls(t.url, 300, 4);
    const attempts = a.counters.chat + b.counters.chat;
    expect(share(results)).toBeGreaterThanOrEqual(0.55);
    expect(codes(results)).not.toContain('upstream_circuit_open');
    expect(codes(results)).toEqual(['upstream_http_error']);
    expect(attempts / 300).toBeLessThanOrEqual(1.35);
    await alive(t);
  }, 60_000);

  it('one upstream failing 50 %: ≥ 50 % succeed, never circuit_open, attempts ≤ 1.35×', async () => {
    const t = await aSuite.startApp();
    a.reset({ recordRequests: false, failureRate: 0.5, failureSeed: 3 });
    const results = await calls(t.url, 300, 4);
    expect(share(results)).toBeGreaterThanOrEqual(0.5);
    expect(codes(results)).toEqual(['upstream_http_error']);
    expect(a.counters.chat / 300).toBeLessThanOrEqual(1.35);
    await alive(t);
  }, 60_000);

  it('primary hard down, fallback healthy, 60 calls: all 200, the primary sees ≤ 20; once it recovers it has the traffic back within the cool-down', async () => {
    const t = await twoUpstreams({ BREAKER_COOLDOWN_MS: '500', BREAKER_COOLDOWN_MAX_MS: '1000' });
    a.reset({ fault: { kind: 'status', status: 503 } });
    b.reset();
    for (let i = 0; i < 60; i++) {
      await request(t.url).post('/chat/complete').send(hello).expect(200);
      await sleep(15); // ~1.5 s in all: long enough for failed probes (500 ms, then 1000 ms)
    }
    expect(a.counters.chat).toBeGreaterThanOrEqual(10); // it opened on the failure rate, not at the first failure
    expect(a.counters.chat).toBeLessThanOrEqual(20);
    expect(b.counters.chat).toBe(60);

    a.reset();
    b.reset();
    const recovered = Date.now();
    while (a.counters.chat === 0) {
      await request(t.url).post('/chat/complete').send(hello).expect(200);
      await sleep(20);
      expect(Date.now() - recovered).toBeLessThan(1000 + 700); // BREAKER_COOLDOWN_MAX_MS, and slack for a loaded machine
    }
    b.reset();
    for (let i = 0; i < 10; i++) await request(t.url).post('/chat/complete').send(hello).expect(200);
    expect(b.counters.chat).toBe(0);
    await alive(t);
  }, 60_000);

  it('both hard down for 150 calls: every answer an OpenAI-shaped 5xx, attempts ≤ 1.3×; after they recover, ≥ 95 % succeed within 10 s', async () => {
    const t = await twoUpstreams();
    const metric = async (result: string) => {
      const text = (await request(t.url).get('/metrics')).text;
      return Number(new RegExp(`^ballast_upstream_retries_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    };
    a.reset({ fault: { kind: 'status', status: 503 } });
    b.reset({ fault: { kind: 'status', status: 503 } });
    const started = Date.now();
    const down = await calls(t.url, 150, 4);
    expect(down.every((r) => r.status >= 500 && r.status < 600 && r.type === 'upstream_error')).toBe(true);
    expect(codes(down)).toEqual(['upstream_http_error']);
    expect((a.counters.chat + b.counters.chat) / 150).toBeLessThanOrEqual(1.3);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await metric('refused')).toBeGreaterThan(0);
    expect(await metric('taken')).toBe(a.counters.chat + b.counters.chat - 150);
    const ready = await request(t.url).get('/ready');
    const upstream = ready.body.details?.upstream ?? ready.body.error?.upstream;
    // 20 % of 150 requests plus the reserve of 10: 40 retries, spent (refusals counted above); each of
    // the 4 callers may have given one back unused when its request ended before the retry was sent.
    expect(upstream.retryBudget).toEqual({ available: expect.any(Number), requests: 150, retries: a.counters.chat + b.counters.chat - 150, ratio: 0.2, minPerSecond: 1, windowMs: 10_000 });
    expect(upstream.retryBudget.available).toBeLessThanOrEqual(4);
    expect(upstream.retryBudget.retries + upstream.retryBudget.available).toBe(40);
    expect(upstream.upstreams.map((u: { breaker: string }) => u.breaker)).toEqual(['open', 'open']);

    a.reset();
    b.reset();
    const recovered = Date.now();
    const up = await calls(t.url, 100, 4);
    expect(Date.now() - recovered).toBeLessThan(10_000);
    expect(share(up)).toBeGreaterThanOrEqual(0.95);
    await alive(t);
  }, 60_000);
});

describe('load shedding', () => {
  const suite = useFakeUpstream({ resetBeforeEach: false });
  let fake: FakeUpstream;
  beforeAll(() => {
    fake = suite.fake;
  });

  it('beyond MAX_IN_FLIGHT new requests get 503 overloaded_error with Retry-After at once; /health stays 200', async () => {
    const t = await suite.startApp({ MAX_IN_FLIGHT: '4' });
    try {
      fake.reset({ latencyMs: 400 });
      const slow = Array.from({ length: 4 }, () => request(t.url).post('/chat/complete').send(hello));
      const settled = Promise.all(slow);
      await fake.waitFor(() => fake.counters.inFlight === 4);
      const started = Date.now();
      const shed = await request(t.url).post('/chat/complete').send(hello).expect(503);
      expect(Date.now() - started).toBeLessThan(150);
      expect(shed.headers['retry-after']).toBe('1');
      expect(shed.body.error).toEqual(expect.objectContaining({ type: 'overloaded_error', code: 'too_many_in_flight' }));
      await request(t.url).get('/health').expect(200);
      await request(t.url).get('/ready');
      for (const res of await settled) expect(res.status).toBe(200);
      expect(fake.counters.chat).toBe(4);
      await request(t.url).post('/chat/complete').send(hello).expect(200);
    } finally {
      await t.close();
    }
  });

  it('while the event loop lags past MAX_EVENT_LOOP_DELAY_MS new requests get 503; /health stays 200', async () => {
    const t = await suite.startApp({ MAX_EVENT_LOOP_DELAY_MS: '30' });
    try {
      fake.reset();
      // Booting (in this same process) lags the loop too: wait until that has passed.
      for (let i = 0; (await request(t.url).post('/chat/complete').send(hello)).status !== 200; i++) {
        if (i > 40) throw new Error('never answered 200 after boot');
        await sleep(50);
      }
      // Block this process's event loop (the app runs in it) in slices, so the sampler sees lag.
      for (let i = 0; i < 6; i++) {
        const until = Date.now() + 120;
        while (Date.now() < until) {
          /* busy */
        }
        await sleep(5);
      }
      const shed = await request(t.url).post('/chat/complete').send(hello);
      expect(shed.status).toBe(503);
      expect(shed.body.error).toEqual(expect.objectContaining({ type: 'overloaded_error', code: 'event_loop_overloaded' }));
      await request(t.url).get('/health').expect(200);
      await sleep(400);
      await request(t.url).post('/chat/complete').send(hello).expect(200);
    } finally {
      await t.close();
    }
  });
});

describe('graceful shutdown', () => {
  const suite = useFakeUpstream({ resetBeforeEach: false });
  let fake: FakeUpstream;
  beforeAll(() => {
    fake = suite.fake;
  });

  it('SIGTERM with 20 requests in flight: all 20 complete, new ones are refused, the process exits', async () => {
    fake.reset({ latencyMs: 700 });
    const { child, url, exited } = await spawnBallast({ OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY: KEY, SHUTDOWN_GRACE_MS: '5000' });
    try {
      const inFlight = Array.from({ length: 20 }, () =>
        fetch(`${url}/chat/complete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hello) }).then(
          async (r) => ({ status: r.status, connection: r.headers.get('connection'), body: (await r.json()) as { content?: string } }),
          (error: Error) => ({ status: 0, connection: null, body: { content: error.message } }),
        ),
      );
      await fake.waitFor(() => fake.counters.inFlight === 20, 5000);
      child.kill('SIGTERM');
      await sleep(150);
      const late = await fetch(`${url}/chat/complete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hello) }).then(
        (r) => r.status,
        () => 0,
      );
      // Refused: the listening socket is closed (0) or, on a kept-alive connection, 503 shutting_down.
      expect([0, 503]).toContain(late);

      const answers = await Promise.all(inFlight);
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      // Answered while draining: each asks its client to reconnect elsewhere.
      expect(answers.map((a) => a.connection)).toEqual(Array(20).fill('close'));
      for (const a of answers) expect(a.body.content).toBe(fakeReply(hello.messages));
      const exit = await exited;
      expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
      expect(fake.counters.chat).toBe(20);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('SIGUSR2 for a heap snapshot (node --heapsnapshot-signal=SIGUSR2) does not shut ballast down', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-snapshot-'));
    const { child, url, exited } = await spawnBallast({}, { nodeArgs: ['--heapsnapshot-signal=SIGUSR2'], cwd: dir });
    let exit: { code: number | null; signal: string | null } | undefined;
    void exited.then((e) => (exit = e));
    try {
      child.kill('SIGUSR2');
      const snapshot = () => fs.readdirSync(dir).find((f) => f.endsWith('.heapsnapshot'));
      for (let i = 0; !snapshot() && i < 200; i++) await sleep(50);
      expect(snapshot()).toBeDefined();
      await sleep(500); // Nest's default signal list would be shutting the server down by now
      expect(exit).toBeUndefined();
      expect((await fetch(`${url}/health`)).status).toBe(200);
      child.kill('SIGTERM');
      const ended = await exited;
      expect(ended.code === 0 || ended.signal === 'SIGTERM').toBe(true);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('past SHUTDOWN_GRACE_MS, a stream still open gets an SSE error event and a plain request a 503 (nothing dropped silently)', async () => {
    const t = await suite.startApp({ SHUTDOWN_GRACE_MS: '300', UPSTREAM_TIMEOUT_MS: '10000' });
    fake.reset({ streamIntervalMs: 200, streamTokens: Array.from({ length: 50 }, (_, i) => `t${i} `) });
    const stream = postSse(`${t.url}/chat/stream`, hello);
    await fake.waitFor(() => fake.counters.streamsStarted === 1);
    fake.reset({ latencyMs: 5000, streamIntervalMs: 200 });
    const plain = request(t.url).post('/chat/complete').send(hello).then((r) => r);
    await fake.waitFor(() => fake.counters.chat === 1);

    const closing = t.close();
    const [streamed, answered] = await Promise.all([stream, plain]);
    await closing;

    expect(streamed.status).toBe(200);
    const error = streamed.frames.find((f) => f.event === 'error');
    expect(error).toBeDefined();
    expect(JSON.parse(error!.data).error.code).toBe('shutting_down');
    expect(answered.status).toBe(503);
    expect(answered.body.error).toEqual(expect.objectContaining({ type: 'overloaded_error', code: 'shutting_down' }));
    await fake.waitFor(() => fake.counters.inFlight === 0);
  });
});
