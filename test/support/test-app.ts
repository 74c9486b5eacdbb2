import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.factory.js';
import type { EnvironmentSource } from '../../src/config/environment.loader.js';
import { FakeUpstream, type FakeUpstreamKnobs } from './fake-upstream.js';

/** The OPENAI_API_KEY `useAppWithFakeUpstream` gives the app unless `env` names another. */
export const FAKE_UPSTREAM_KEY = 'sk-upstream-secret-123';

export interface TestApp {
  app: NestFastifyApplication;
  /** http://127.0.0.1:<port> of the listening app (for fetch/undici-driven stream tests). */
  url: string;
  close(): Promise<void>;
}

/**
 * The real app on the Fastify adapter, listening on a random loopback port. `.env` is ignored,
 * logs are off unless a test asks, and models are never downloaded, so runs do not depend on the
 * developer's machine.
 */
export async function startTestApp(
  env: EnvironmentSource = {},
  logStream?: { write(line: string): void },
): Promise<TestApp> {
  const defaults = {
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Tests never touch the network; one classifier worker is plenty (2-core machines).
    ALLOW_REMOTE_MODELS: 'false',
    CLASSIFIER_THREADS: '1',
  };
  const app = await createApp({ envFile: false, logStream, env: { ...defaults, ...env } });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export interface AppWithFakeUpstreamOptions {
  /** Knobs the fake starts with, and goes back to before each test. */
  upstream?: Partial<FakeUpstreamKnobs>;
  /** Reset the fake before each test (default true). */
  resetBeforeEach?: boolean;
  /** Receives the app's log lines (set LOG_LEVEL in `env` to get any). */
  logStream?: { write(line: string): void };
}

/**
 * For a describe block: a FakeUpstream plus an app pointed at it (OPENAI_BASE_URL and, unless `env`
 * names another, OPENAI_API_KEY = FAKE_UPSTREAM_KEY), started in beforeAll and closed in afterAll
 * (the app first, so no request is left talking to a closed fake); the fake is reset before each test.
 * Read `fake` and `app` inside hooks and tests, not while the describe block is being declared.
 */
export function useAppWithFakeUpstream(
  env: EnvironmentSource = {},
  options: AppWithFakeUpstreamOptions = {},
): { readonly fake: FakeUpstream; readonly app: TestApp } {
  const { upstream = {}, resetBeforeEach = true, logStream } = options;
  let fake: FakeUpstream | undefined;
  let app: TestApp | undefined;
  beforeAll(async () => {
    fake = await FakeUpstream.start(upstream);
    app = await startTestApp({ OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY: FAKE_UPSTREAM_KEY, ...env }, logStream);
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
  });
  if (resetBeforeEach) beforeEach(() => fake?.reset(upstream));
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useAppWithFakeUpstream: not started yet (read it inside a hook or test)');
    return value;
  };
  return {
    get fake() {
      return started(fake);
    },
    get app() {
      return started(app);
    },
  };
}
