import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { AppConfig } from './config/app-config.js';
import { InvalidEnvironmentError } from './config/environment.loader.js';

async function main(): Promise<void> {
  const app = await createApp();
  const { port, host } = app.get(AppConfig).server;
  await app.listen({ port, host });
  Logger.log(`ballast listening on http://${host}:${port} (docs at /docs)`, 'Bootstrap');
}

process.on('unhandledRejection', (reason) => {
  // Logged, never fatal: one stray promise must not take every in-flight request down with it.
  Logger.error(`Unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`, 'Process');
});

main().catch((error: unknown) => {
  if (error instanceof InvalidEnvironmentError) {
    console.error(error.message);
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  }
  process.exit(1);
});
