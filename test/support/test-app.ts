import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.factory.js';
import type { EnvironmentSource } from '../../src/config/environment.loader.js';

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
