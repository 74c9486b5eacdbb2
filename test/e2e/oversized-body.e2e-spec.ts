import { execFile } from 'node:child_process';
import net from 'node:net';
import OpenAI from 'openai';
import { request as undiciRequest } from 'undici';
import { BallastProcess } from '../support/ballast-process.js';
import { FAKE_UPSTREAM_KEY, useFakeUpstream } from '../support/test-app.js';

const LIMIT = 1_048_576;
const LINGER_MS = 2500;
const FIVE_MB = 5 * 1024 * 1024;
const big = Buffer.alloc(FIVE_MB, 'a');
/** A JSON chat body of about 5 MB (valid JSON, so only its size is wrong). */
const bigJson = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(FIVE_MB) }] });

interface Outcome {
  status: number;
  code?: string;
  error?: string;
}

function expect413(outcome: Outcome): void {
  expect(outcome).toEqual({ status: 413, code: 'body_too_large' });
}

async function readOutcome(res: Response): Promise<Outcome> {
  const body = (await res.json()) as { error?: { code?: string; type?: string; message?: string; param?: unknown } };
  expect(body.error).toEqual({ message: expect.stringContaining('BODY_LIMIT_BYTES'), type: 'invalid_request_error', param: null, code: 'body_too_large' });
  return { status: res.status, code: body.error?.code };
}

/** What a failed fetch says: the cause's code (EPIPE, ECONNRESET, UND_ERR_SOCKET, ...). */
function failure(error: unknown): Outcome {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return { status: 0, error: cause?.code ?? cause?.message ?? String(error) };
}

describe('oversized bodies: a readable 413 on every client, then a bounded lingering close', () => {
  // A separate process, as in production: in one process with its client, the server never resets
  // a connection the client is still writing to, and the EPIPE this guards against cannot happen.
  const upstream = useFakeUpstream();
  let ballast: BallastProcess | undefined;
  let url = '';
  beforeAll(async () => {
    ballast = await BallastProcess.start({
      OPENAI_BASE_URL: upstream.fake.baseUrl,
      OPENAI_API_KEY: FAKE_UPSTREAM_KEY,
      BODY_LIMIT_BYTES: String(LIMIT),
      BODY_LINGER_MS: String(LINGER_MS),
      BODY_LINGER_MAX_BYTES: String(16 * 1024 * 1024),
    });
    url = ballast.url;
  }, 40_000);
  afterAll(() => ballast?.stop(), 20_000);

  it("30 bodies of 5 MB through Node's fetch (20 with Content-Length, 10 chunked): 30 readable 413s, no EPIPE/ECONNRESET, no upstream call", async () => {
    const send = (chunked: boolean): Promise<Outcome> => {
      const body = chunked
        ? new ReadableStream<Uint8Array>({
            start(controller) {
              for (let i = 0; i < 20; i++) controller.enqueue(big.subarray((i * FIVE_MB) / 20, ((i + 1) * FIVE_MB) / 20));
              controller.close();
            },
          })
        : big;
      return fetch(`${url}/chat/complete`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        ...(chunked ? { duplex: 'half' } : {}),
      } as RequestInit).then(readOutcome, failure);
    };
    const outcomes: Outcome[] = [];
    // Four at a time, as a client pool would send them.
    const kinds = [...Array(20).fill(false), ...Array(10).fill(true)] as boolean[];
    for (let i = 0; i < kinds.length; i += 4) outcomes.push(...(await Promise.all(kinds.slice(i, i + 4).map(send))));
    expect(outcomes.filter((o) => o.status !== 413)).toEqual([]);
    outcomes.forEach(expect413);
    expect(upstream.fake.counters.requests).toBe(0);
    await fetch(`${url}/health`).then((r) => expect(r.status).toBe(200));
  }, 60_000);

  it('undici and the openai SDK read the 413 too', async () => {
    const res = await undiciRequest(`${url}/chat/complete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bigJson });
    expect(res.statusCode).toBe(413);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('body_too_large');

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const error = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'x'.repeat(FIVE_MB) }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('body_too_large');
    expect(upstream.fake.counters.requests).toBe(0);
  }, 30_000);

  it('curl (Content-Length, chunked, and its own Expect: 100-continue) reads the 413', async () => {
    // curl reads the body from stdin (--data-binary @-).
    const withBody = (extra: string[]) =>
      new Promise<string>((resolve) => {
        const child = execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'content-type: application/json', '--data-binary', '@-', ...extra, `${url}/chat/complete`], (error, stdout, stderr) =>
          resolve(error ? `failed: ${stderr}` : stdout),
        );
        child.stdin!.on('error', () => undefined);
        child.stdin!.end(big);
      });
    expect(await withBody(['-H', 'expect:'])).toBe('413'); // Content-Length, no Expect
    expect(await withBody(['-H', 'transfer-encoding: chunked', '-H', 'expect:'])).toBe('413');
    expect(await withBody([])).toBe('413'); // curl sends Expect: 100-continue for bodies over 1 MB
    expect(upstream.fake.counters.requests).toBe(0);
  }, 30_000);

  it('Expect: 100-continue with a Content-Length over the limit: 413 at once, no 100 Continue, nothing uploaded', async () => {
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.write(`POST /chat/complete HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${FIVE_MB}\r\nExpect: 100-continue\r\n\r\n`);
    for (let i = 0; i < 100 && !received.includes('body_too_large'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).not.toContain('100 Continue');
    expect(received).toContain('"code":"body_too_large"');
    socket.destroy();

    // Under the limit, the client is told to go on and the request is served.
    const small = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
    const ok = net.connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => ok.once('connect', resolve));
    let answer = '';
    ok.on('data', (d: Buffer) => (answer += d.toString()));
    ok.write(`POST /chat/complete HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${small.length}\r\nExpect: 100-continue\r\n\r\n`);
    for (let i = 0; i < 100 && !answer.includes('100 Continue'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(answer).toMatch(/^HTTP\/1\.1 100 Continue/);
    ok.write(small);
    for (let i = 0; i < 100 && !answer.includes('Echo: hi'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(answer).toContain('HTTP/1.1 200 OK');
    ok.destroy();
  });

  it('a slow sender is cut off at BODY_LINGER_MS after its 413 (and one past BODY_LINGER_MAX_BYTES at once)', async () => {
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    socket.write(`POST /chat/complete HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`);
    const started = Date.now();
    // 1 KB every 50 ms: would take hours to finish.
    const trickle = setInterval(() => socket.writable && socket.write(Buffer.alloc(1024, 'a')), 50);
    try {
      const end = await closed;
      expect(received).toMatch(/^HTTP\/1\.1 413 /);
      expect(end - started).toBeGreaterThanOrEqual(LINGER_MS - 100);
      expect(end - started).toBeLessThan(LINGER_MS + 2000);
    } finally {
      clearInterval(trickle);
    }

    const fast = net.connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => fast.once('connect', resolve));
    fast.on('error', () => undefined);
    let fastReceived = '';
    fast.on('data', (d: Buffer) => (fastReceived += d.toString()));
    const fastClosed = new Promise<number>((resolve) => fast.once('close', () => resolve(Date.now())));
    fast.write(`POST /chat/complete HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`);
    const fastStarted = Date.now();
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < 40 && fast.writable; i++) {
      if (!fast.write(chunk)) {
        await new Promise<void>((resolve) => {
          const go = (): void => {
            fast.off('drain', go).off('close', go);
            resolve();
          };
          fast.on('drain', go).on('close', go);
        });
      }
    }
    const fastEnd = await fastClosed;
    expect(fastReceived).toMatch(/^HTTP\/1\.1 413 /);
    expect(fastEnd - fastStarted).toBeLessThan(LINGER_MS); // cut at 16 MiB, not at the time bound
    expect(upstream.fake.counters.requests).toBe(0);
    await fetch(`${url}/health`).then((r) => expect(r.status).toBe(200));
  }, 20_000);
});
