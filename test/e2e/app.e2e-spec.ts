import request from 'supertest';
import { spawn } from 'node:child_process';
import { createApp } from '../../src/app.factory.js';
import { InvalidEnvironmentError } from '../../src/config/environment.loader.js';
import { postSse } from '../support/sse-client.js';
import { startTestApp, TestApp, useAppWithFakeUpstream } from '../support/test-app.js';

const hello = { messages: [{ role: 'user', content: 'hello there' }] };

describe('boot configuration', () => {
  it.each([
    ['PORT', 'abc'],
    ['UPSTREAM_TIMEOUT_MS', '-1'],
    ['OPENAI_BASE_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
  ])('%s=%s stops the boot with a message naming the key', async (key, value) => {
    const boot = createApp({ envFile: false, env: { [key]: value } });
    await expect(boot).rejects.toBeInstanceOf(InvalidEnvironmentError);
    await expect(boot).rejects.toThrow(new RegExp(`${key}:`));
  });

  it('node dist/main.js exits 1 naming the key (PORT=abc)', async () => {
    const child = spawn(process.execPath, ['dist/main.js'], { env: { PATH: process.env.PATH, PORT: 'abc' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/Invalid configuration: PORT: PORT must be an integer number \(got "abc"\)/);
  }, 20_000); // loading dist/ alone took 5.3 s on a loaded 2-core machine
});

describe('health and docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ OPENAI_API_KEY: '' });
  });
  afterAll(() => t.close());

  it('GET /health answers ok with no dependency configured', async () => {
    const res = await request(t.url).get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', uptime: expect.any(Number) });
    expect(res.headers['server-timing']).toMatch(/ballast;dur=/);
  });

  it('GET /docs serves Swagger UI', async () => {
    const res = await request(t.url).get('/docs').expect(200);
    expect(res.text).toMatch(/swagger-ui/i);
  });

  it('GET /docs-json documents every route with schemas and examples', async () => {
    const res = await request(t.url).get('/docs-json').expect(200);
    const doc = res.body as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> }; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { properties: Record<string, { example?: unknown }> }> };
    };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/chat/complete', '/chat/stream']));
    const complete = doc.paths['/chat/complete'].post;
    expect(complete.requestBody?.content['application/json'].schema.$ref).toMatch(/ChatRequestDto/);
    expect(Object.keys(complete.responses)).toEqual(expect.arrayContaining(['200', '400', '502', '503', '504']));
    expect(doc.components.schemas.ChatRequestDto.properties.messages.example).toBeDefined();
    expect(doc.components.schemas.ErrorResponseDto).toBeDefined();
  });
});

describe('request log', () => {
  const lines: string[] = [];
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const s = useAppWithFakeUpstream(
    { OPENAI_API_KEY: 'sk-never-logged', LOG_LEVEL: 'info' },
    { resetBeforeEach: false, logStream: { write: (line: string) => lines.push(line) } },
  );

  it('writes one line per request with id, route, status and durations, and never the key', async () => {
    await request(s.app.url).post('/chat/complete').set('x-request-id', 'trace-1').send(hello).expect(200);
    // Request lines are written in batches a few ms after the response (DeferredLines).
    await s.fake.waitFor(() => logs().some((l) => l.reqId === 'trace-1'));
    const line = logs().find((l) => l.reqId === 'trace-1');
    expect(line).toMatchObject({ route: '/chat/complete', status: 200, durationMs: expect.any(Number), upstreamMs: expect.any(Number) });
    expect(lines.join('\n')).not.toContain('sk-never-logged');
  });

  it('logs a client that left mid-stream as 499, not as an upstream error', async () => {
    s.fake.reset({ streamIntervalMs: 50, streamTokens: Array.from({ length: 50 }, (_, i) => `t${i} `) });
    await postSse(`${s.app.url}/chat/stream`, hello, (frame) => (frame.event === 'message' ? 'stop' : undefined));
    await s.fake.waitFor(() => s.fake.counters.streamsAborted === 1);
    await s.fake.waitFor(() => logs().some((l) => l.route === '/chat/stream'));
    const line = logs().find((l) => l.route === '/chat/stream');
    expect(line).toMatchObject({ status: 499, level: 30 });
  });
});
