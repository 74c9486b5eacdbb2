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
    // The embedded vector store (a PGlite worker, DATA_DIR locked) only where a suite asks for it.
    RETRIEVAL_ENABLED: 'false',
  };
  const app = await createApp({ envFile: false, logStream, env: { ...defaults, ...env } });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export interface FakeUpstreamOptions {
  /** Knobs the fake starts with, and goes back to before each test. */
  upstream?: Partial<FakeUpstreamKnobs>;
  /** Reset the fake before each test (default true). */
  resetBeforeEach?: boolean;
}

export interface AppWithFakeUpstreamOptions extends FakeUpstreamOptions {
  /** Receives the app's log lines (set LOG_LEVEL in `env` to get any). */
  logStream?: { write(line: string): void };
}

export interface FakeUpstreamSuite {
  readonly fake: FakeUpstream;
  /**
   * Starts an app pointed at the fake (OPENAI_BASE_URL and, unless `env` names another,
   * OPENAI_API_KEY = FAKE_UPSTREAM_KEY; `env` wins, e.g. UPSTREAMS). A test may close it itself;
   * whatever is still open is closed in afterAll, before the fake.
   */
  startApp(env?: EnvironmentSource, logStream?: { write(line: string): void }): Promise<TestApp>;
}

const started = <T>(value: T | undefined, helper: string): T => {
  if (value === undefined) throw new Error(`${helper}: not started yet (read it inside a hook or test)`);
  return value;
};

/**
 * For a describe block whose tests need apps with different settings in front of one fake upstream:
 * the FakeUpstream is started in beforeAll, reset before each test and closed in afterAll, after
 * every app `startApp` made (so no request is left talking to a closed fake).
 * Read `fake` inside hooks and tests, not while the describe block is being declared.
 */
export function useFakeUpstream(options: FakeUpstreamOptions = {}): FakeUpstreamSuite {
  const { upstream = {}, resetBeforeEach = true } = options;
  let fake: FakeUpstream | undefined;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    fake = await FakeUpstream.start(upstream);
  });
  afterAll(async () => {
    for (const t of apps.splice(0)) await t.close();
    await fake?.close();
  });
  if (resetBeforeEach) beforeEach(() => fake?.reset(upstream));
  return {
    get fake() {
      return started(fake, 'useFakeUpstream');
    },
    async startApp(env: EnvironmentSource = {}, logStream?: { write(line: string): void }): Promise<TestApp> {
      const target = started(fake, 'useFakeUpstream');
      const t = await startTestApp({ OPENAI_BASE_URL: target.baseUrl, OPENAI_API_KEY: FAKE_UPSTREAM_KEY, ...env }, logStream);
      let closing: Promise<void> | undefined;
      const app: TestApp = { ...t, close: () => (closing ??= t.close()) };
      apps.push(app);
      return app;
    },
  };
}

/**
 * For a describe block: a FakeUpstream plus an app pointed at it (OPENAI_BASE_URL and, unless `env`
 * names another, OPENAI_API_KEY = FAKE_UPSTREAM_KEY), started in beforeAll and closed in afterAll
 * (the app first, so no request is left talking to a closed fake); the fake is reset before each test.
 * `startApp` makes more apps on the same fake (see useFakeUpstream).
 * Read `fake` and `app` inside hooks and tests, not while the describe block is being declared.
 */
export function useAppWithFakeUpstream(
  env: EnvironmentSource = {},
  options: AppWithFakeUpstreamOptions = {},
): FakeUpstreamSuite & { readonly app: TestApp } {
  const { logStream, ...fakeOptions } = options;
  const suite = useFakeUpstream(fakeOptions);
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await suite.startApp(env, logStream);
  });
  return {
    get fake() {
      return suite.fake;
    },
    startApp: (more, lines) => suite.startApp(more, lines),
    get app() {
      return started(app, 'useAppWithFakeUpstream');
    },
  };
}
