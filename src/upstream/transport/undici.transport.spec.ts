import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../config/package-root.js';
import { AbortEmitter } from './abort-emitter.js';
import { ConnectionWaitAbortedError } from './connection-wait.js';
import { UndiciTransport } from './undici.transport.js';
import { TransportRequest } from './upstream-transport.js';

/**
 * `exchange()` (undici's dispatch() with a collecting handler) against a real server on 127.0.0.1:
 * what JSON calls rely on, including the paths `request()` + `text()` used to cover for us.
 */
describe('UndiciTransport.exchange', () => {
  type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;
  const routes = new Map<string, Route>();
  const seen: string[] = [];
  let server: http.Server;
  let origin: string;
  let transport: UndiciTransport;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      const route = routes.get(req.url ?? '');
      if (route) route(req, res);
      else res.writeHead(404).end('{"error":{"message":"no route"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    transport = new UndiciTransport({ maxSockets: 1, maxStreams: 1, poolWaitMs: 60_000, timeoutMs: 5_000, maxResponseBytes: 10_000 });
  });

  afterAll(async () => {
    await transport.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    routes.clear();
    seen.length = 0;
  });

  /** Promises 100 bytes, sends `start`, then drops the connection. */
  const brokenBody =
    (status: number, start: string): Route =>
    (_req, res) => {
      res.writeHead(status, { 'content-length': '100' });
      res.write(start);
      setTimeout(() => res.socket?.destroy(), 10);
    };

  const call = (path: string, signal = new AbortEmitter()): Promise<Awaited<ReturnType<UndiciTransport['exchange']>>> =>
    transport.exchange({ method: 'POST', origin, path, headers: { 'content-type': 'application/json' }, body: '{"q":1}', signal } satisfies TransportRequest);

  it('answers status, headers and the whole body; the request body and headers arrive', async () => {
    let received = '';
    routes.set('/ok', (req, res) => {
      req.setEncoding('utf8');
      req.on('data', (d: string) => (received += d));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'x-thing': 'yes' }).end('{"a":1}'));
    });
    const response = await call('/ok');
    expect(response.status).toBe(200);
    expect(response.text).toBe('{"a":1}');
    expect(response.header('X-Thing')).toBe('yes');
    expect(response.header('retry-after')).toBeUndefined();
    expect(received).toBe('{"q":1}');
  });

  it('joins a body sent in pieces, with multi-byte characters split between them', async () => {
    const bytes = Buffer.from('{"t":"日本語 🌍 héllo"}', 'utf8');
    routes.set('/pieces', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      let offset = 0;
      const next = (): void => {
        if (offset >= bytes.length) return void res.end();
        res.write(bytes.subarray(offset, offset + 5));
        offset += 5;
        setTimeout(next, 2);
      };
      next();
    });
    expect((await call('/pieces')).text).toBe('{"t":"日本語 🌍 héllo"}');
  });

  it('keeps an error status and its headers (429 with Retry-After)', async () => {
    routes.set('/limited', (_req, res) => res.writeHead(429, { 'retry-after': '3' }).end('{"error":{"message":"slow down"}}'));
    const response = await call('/limited');
    expect(response.status).toBe(429);
    expect(response.header('retry-after')).toBe('3');
    expect(response.text).toContain('slow down');
  });

  it('an error status whose body breaks off is still that status, with an empty body', async () => {
    routes.set('/broken-500', brokenBody(500, '{"error":'));
    const response = await call('/broken-500');
    expect(response.status).toBe(500);
    expect(response.text).toBe('');
  });

  it('a 2xx whose body breaks off fails (the answer is incomplete)', async () => {
    routes.set('/broken-200', brokenBody(200, '{"choices":'));
    await expect(call('/broken-200')).rejects.toThrow();
  });

  it('an answer past maxResponseBytes is not read: by its Content-Length, or as it streams in', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(20_000) });
    routes.set('/big', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(big));
    let written = 0;
    routes.set('/big-chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // no Content-Length: chunked
      const next = (): void => {
        if (res.destroyed || written >= 1_000_000) return void res.end();
        written += 4_000;
        res.write('x'.repeat(4_000), () => setImmediate(next));
      };
      next();
    });
    await expect(call('/big')).rejects.toMatchObject({ status: 502, code: 'upstream_response_too_large' });
    await expect(call('/big-chunked')).rejects.toMatchObject({ status: 502, code: 'upstream_response_too_large' });
    // It stopped reading: the server did not get to send its megabyte.
    await waitFor(() => written > 0);
    expect(written).toBeLessThan(1_000_000);
    // An error status with a huge body keeps its status.
    routes.set('/big-500', (_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('e'.repeat(20_000)));
    expect(await call('/big-500')).toMatchObject({ status: 500, text: '' });
  });

  it("send() (streams): a response body read whole stops at maxResponseBytes too (a stream request's error body)", async () => {
    let written = 0;
    routes.set('/big-500-chunked', (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      const next = (): void => {
        if (res.destroyed || written >= 1_000_000) return void res.end();
        written += 4_000;
        res.write('e'.repeat(4_000), () => setImmediate(next));
      };
      next();
    });
    routes.set('/small-500', (_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}'));
    const send = (path: string) => transport.send({ method: 'POST', origin, path, headers: {}, body: '{}', signal: new AbortEmitter() });
    expect(await (await send('/small-500')).text()).toBe('{"error":{"message":"boom"}}');
    const big = await send('/big-500-chunked');
    expect(big.status).toBe(500);
    await expect(big.text()).rejects.toMatchObject({ status: 502, code: 'upstream_response_too_large' });
    await waitFor(() => written > 0);
    expect(written).toBeLessThan(1_000_000);
  });

  it('cancelled while in flight: fails at once and the upstream sees its connection closed', async () => {
    let closed = false;
    routes.set('/slow', (_req, res) => res.on('close', () => (closed = true)));
    const signal = new AbortEmitter();
    const pending = call('/slow', signal);
    await waitFor(() => seen.includes('/slow'));
    signal.abort();
    await expect(pending).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
    await waitFor(() => closed);
  });

  it('cancelled while waiting for a connection (pool full): fails at once and is never sent', async () => {
    let finish: () => void = () => undefined;
    routes.set('/hold', (_req, res) => (finish = () => res.writeHead(200).end('{"held":true}')));
    routes.set('/queued', (_req, res) => res.writeHead(200).end('{}'));
    const holding = call('/hold');
    await waitFor(() => seen.includes('/hold'));
    const signal = new AbortEmitter();
    const queued = call('/queued', signal); // maxSockets 1: waits behind /hold
    const started = performance.now();
    signal.abort();
    await expect(queued).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
    expect(performance.now() - started).toBeLessThan(1_000);
    finish();
    expect((await holding).text).toBe('{"held":true}');
    expect(seen).not.toContain('/queued');
  });

  it('an already cancelled call fails without being sent', async () => {
    const signal = new AbortEmitter();
    signal.abort();
    await expect(call('/ok', signal)).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
    expect(seen).toEqual([]);
  });

  it('takes a real AbortSignal too (the readiness probe passes one)', async () => {
    routes.set('/slow', () => undefined);
    const controller = new AbortController();
    const pending = transport.exchange({ method: 'GET', origin, path: '/slow', headers: {}, signal: controller.signal });
    await waitFor(() => seen.includes('/slow'));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
  });

  it('connection refused fails with the system error code (mapped to 502 by the caller)', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await transport
      .exchange({ method: 'GET', origin: `http://127.0.0.1:${port}`, path: '/', headers: {}, signal: new AbortEmitter() })
      .then(() => undefined, (e: unknown) => e);
    const codes = [error, (error as { cause?: unknown })?.cause].map((e) => (e as { code?: string })?.code);
    expect(codes).toContain('ECONNREFUSED');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `send()` (streams) through StreamingHandler, and the bound on waiting for a connection. */
describe('UndiciTransport.send (streams) and the connection wait', () => {
  type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;
  const routes = new Map<string, Route>();
  const closed: string[] = [];
  let server: http.Server;
  let origin: string;
  let transport: UndiciTransport;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.on('close', () => closed.push(req.url ?? ''));
      const route = routes.get(req.url ?? '');
      if (route) route(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    transport = new UndiciTransport({ maxSockets: 1, maxStreams: 1, poolWaitMs: 200, timeoutMs: 5_000, maxResponseBytes: 10_000 });
  });

  afterAll(async () => {
    await transport.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    routes.clear();
    closed.length = 0;
  });

  const send = (path: string, signal = new AbortEmitter()) => transport.send({ method: 'POST', origin, path, headers: {}, body: '{}', signal });

  /** Writes `count` chunks `gapMs` apart, then ends. */
  const chunked =
    (count: number, gapMs: number): Route =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const next = (): void => {
        if (res.destroyed) return;
        if (sent === count) return void res.end();
        res.write(`data: ${sent++}\n\n`);
        setTimeout(next, gapMs);
      };
      next();
    };

  it('resolves at the headers, then yields every chunk as it arrives, and reports its wait', async () => {
    routes.set('/s', chunked(5, 5));
    const response = await send('/s');
    expect(response.status).toBe(200);
    expect(response.header('Content-Type')).toBe('text/event-stream');
    expect(response.waitedMs).toBeGreaterThanOrEqual(0);
    let text = '';
    for await (const chunk of response.chunks()) text += Buffer.from(chunk).toString();
    expect(text).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n');
  });

  it('a consumer that stops early closes the upstream request', async () => {
    routes.set('/long', chunked(1_000, 5));
    const response = await send('/long');
    for await (const chunk of response.chunks()) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    await waitFor(() => closed.includes('/long'));
  });

  it('a body cut mid-way fails the iteration', async () => {
    routes.set('/cut', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const response = await send('/cut');
    const read = async (): Promise<void> => {
      for await (const chunk of response.chunks()) void chunk;
    };
    await expect(read()).rejects.toThrow();
  });

  it('reads ahead at most ~64 KB for a consumer that does not read (the upstream is paused, not buffered)', async () => {
    let written = 0;
    routes.set('/firehose', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const next = (): void => {
        if (res.destroyed || written >= 20_000_000) return void res.end();
        written += 16_384;
        if (res.write(`data: ${'x'.repeat(16_376)}\n\n`)) setImmediate(next);
        else res.once('drain', next);
      };
      next();
    });
    const response = await send('/firehose');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Socket buffers on both sides hold some; without the pause all 20 MB would be read in.
    expect(written).toBeLessThan(8_000_000);
    response.discard();
    await waitFor(() => closed.includes('/firehose'));
  });

  it('cancelled mid-body: the iteration fails and the upstream request is closed', async () => {
    routes.set('/slow', chunked(1_000, 20));
    const signal = new AbortEmitter();
    const response = await send('/slow', signal);
    const iterator = response.chunks()[Symbol.asyncIterator]();
    await iterator.next();
    signal.abort();
    await expect(iterator.next()).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
    await waitFor(() => closed.includes('/slow'));
  });

  it('while every connection is busy, a request waits at most poolWaitMs, then fails with 503 upstream_pool_exhausted and is never sent', async () => {
    routes.set('/hold', chunked(30, 20)); // ~600 ms on the only stream connection
    routes.set('/queued', chunked(1, 0));
    const holder = await send('/hold');
    const started = performance.now();
    await expect(send('/queued')).rejects.toMatchObject({ status: 503, code: 'upstream_pool_exhausted', pool: 'stream' });
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(waited).toBeLessThan(500);
    holder.discard();
    // The abandoned request is dropped when a connection frees, not sent.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).not.toContain('/queued');
  });

  it('cancelled while every connection is busy: fails at once with the pool marked full (the caller maps a deadline then to 503)', async () => {
    routes.set('/hold', chunked(30, 20));
    const holder = await send('/hold');
    const signal = new AbortEmitter();
    const queued = send('/queued', signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    signal.abort();
    const error = await queued.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionWaitAbortedError);
    expect(error).toMatchObject({ code: 'UND_ERR_ABORTED', pool: 'stream', poolFull: true });
    expect((error as ConnectionWaitAbortedError).waitedMs).toBeGreaterThanOrEqual(40);
    holder.discard();
  });

  it('JSON calls have their own pool: a held stream connection does not block them', async () => {
    routes.set('/hold', chunked(30, 20));
    routes.set('/json', (_req, res) => res.writeHead(200).end('{}'));
    const holder = await send('/hold');
    const answer = await transport.exchange({ method: 'POST', origin, path: '/json', headers: {}, body: '{}', signal: new AbortEmitter() });
    expect(answer.status).toBe(200);
    expect(answer.waitedMs).toBeGreaterThanOrEqual(0);
    expect(transport.poolSnapshots()).toContainEqual({ pool: 'json', origin, connected: 1, running: 0, queued: 0 });
    holder.discard();
  });
});

describe('UndiciTransport with UPSTREAM_HTTP2 (an HTTP/2 upstream over TLS on 127.0.0.1)', () => {
  const tlsDir = join(PACKAGE_ROOT, 'test', 'support', 'tls');
  let server: http2.Http2SecureServer;
  let origin: string;
  const protocols: string[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();

  beforeAll(async () => {
    server = http2.createSecureServer({ key: readFileSync(join(tlsDir, 'localhost.key')), cert: readFileSync(join(tlsDir, 'localhost.crt')), allowHTTP1: true });
    server.on('session', (session) => sessions.add(session));
    server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      protocols.push(req.httpVersion);
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let n = 0;
        const timer = setInterval(() => {
          res.write(`data: ${n++}\n\n`);
          if (n === 5) {
            clearInterval(timer);
            res.end('data: [DONE]\n\n');
          }
        }, 20);
      } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const session of sessions) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => (protocols.length = 0));

  it('speaks HTTP/2 when on: 20 streams at once on ONE connection, JSON calls too', async () => {
    const ca = readFileSync(join(tlsDir, 'localhost.crt'));
    const transport = new UndiciTransport({ maxSockets: 1, maxStreams: 1, poolWaitMs: 2_000, timeoutMs: 5_000, maxResponseBytes: 10_000, http2: true, tls: { ca } });
    try {
      const read = async (): Promise<string> => {
        const response = await transport.send({ method: 'POST', origin, path: '/stream', headers: {}, body: '{}', signal: new AbortEmitter() });
        let text = '';
        for await (const chunk of response.chunks()) text += Buffer.from(chunk).toString();
        return text;
      };
      const texts = await Promise.all(Array.from({ length: 20 }, read));
      for (const text of texts) expect(text).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: [DONE]\n\n');
      const json = await transport.exchange({ method: 'POST', origin, path: '/json', headers: {}, body: '{}', signal: new AbortEmitter() });
      expect(json.text).toBe('{"ok":true}');
      expect(new Set(protocols)).toEqual(new Set(['2.0']));
      // maxStreams 1 would have queued them one by one over HTTP/1.1: they shared one connection.
      expect(transport.poolSnapshots().find((p) => p.pool === 'stream')?.connected).toBe(1);
    } finally {
      await transport.close();
    }
  });

  it('stays on HTTP/1.1 when off (the default)', async () => {
    const ca = readFileSync(join(tlsDir, 'localhost.crt'));
    const transport = new UndiciTransport({ maxSockets: 1, maxStreams: 1, poolWaitMs: 2_000, timeoutMs: 5_000, maxResponseBytes: 10_000, tls: { ca } });
    try {
      const json = await transport.exchange({ method: 'POST', origin, path: '/json', headers: {}, body: '{}', signal: new AbortEmitter() });
      expect(json.text).toBe('{"ok":true}');
      expect(protocols).toEqual(['1.1']);
    } finally {
      await transport.close();
    }
  });
});
