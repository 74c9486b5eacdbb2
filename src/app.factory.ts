import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';
import { randomUUID } from 'node:crypto';
import { AppModule } from './app.module.js';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter.js';
import { createRootLogger } from './common/logging/logger.factory.js';
import { PinoNestLogger } from './common/logging/pino-nest.logger.js';
import { lazyRequestLoggerFactory } from './common/logging/request-logger.js';
import { refuseOversizedBeforeUpload } from './common/http/oversized-body.js';
import { registerRequestLifecycle } from './common/http/request-lifecycle.js';
import { AJV_OPTIONS } from './common/http/schema-validation.js';
import { createValidationPipe } from './common/http/validation.pipe.js';
import { AppConfig } from './config/app-config.js';
import { EnvironmentSource, loadEnvironment } from './config/environment.loader.js';
import { registerLoadShedding } from './lifecycle/load-shedding.js';
import { registerClassifyAdmission } from './local-model/classify-admission.js';
import { ClassifierService } from './local-model/classifier.service.js';
import { RequestTracker } from './lifecycle/request-tracker.js';
import { MetricsService } from './metrics/metrics.service.js';
import { setupSwagger } from './swagger.js';

export interface CreateAppOptions {
  /** Values that win over the process environment (tests, benchmarks). */
  env?: EnvironmentSource;
  /** Read `.env` from the working directory (default true). */
  envFile?: boolean;
  /** Where JSON log lines go (default stdout); tests capture them. */
  logStream?: { write(line: string): void };
}

/**
 * The signals that start a graceful shutdown: what orchestrators, `docker stop`, Ctrl-C and a closed
 * terminal send. Not Nest's default list, which also traps SIGUSR2 (so a heap snapshot taken with
 * `node --heapsnapshot-signal=SIGUSR2` would shut the server down) and the fault signals SIGSEGV,
 * SIGBUS, SIGFPE and SIGILL, which Node documents as unsafe to handle in JavaScript (the process
 * may hang instead of crashing, and a hung process is not restarted).
 */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** Builds the whole app (not listening): used by main.ts, the e2e tests and the benchmarks alike. */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  // Validate first: a bad value stops the boot before anything starts, with the key named.
  const env = loadEnvironment({ envFile: options.envFile === false ? undefined : '.env', overrides: options.env });
  const config = new AppConfig(env);

  const logger = createRootLogger({ level: config.server.logLevel, format: config.server.logFormat, stream: options.logStream });
  for (const warning of config.deprecations) logger.warn(warning);
  const adapter = new FastifyAdapter({
    bodyLimit: config.server.bodyLimitBytes,
    loggerInstance: logger,
    // We log one line per request ourselves (request-lifecycle.ts), with 499 for clients that left.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // request.log is made on first use: Fastify logs through it only on errors (request-logger.ts).
    childLoggerFactory: lazyRequestLoggerFactory,
    // Our drain answers requests that arrive while shutting down (503 shutting_down, OpenAI shape).
    return503OnClosing: false,
    // Hot routes validate their body with a route schema (@RouteSchema) instead of class-validator.
    ajv: { customOptions: { ...AJV_OPTIONS } },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(env), adapter, {
    logger: new PinoNestLogger(logger),
    // Throw boot errors to the caller (main.ts prints them and exits) instead of exiting inside Nest.
    abortOnError: false,
  });

  const fastify = app.getHttpAdapter().getInstance();
  refuseOversizedBeforeUpload(app.getHttpServer(), config.server.bodyLimitBytes);
  const metrics = app.get(MetricsService);
  const tracker = app.get(RequestTracker);
  registerRequestLifecycle(fastify, {
    metrics,
    // Requests are counted in flight from load shedding's admission until here (a no-op for probes).
    onEnded: (ctx) => tracker.finish(ctx),
    // While draining, every response asks its client to reconnect elsewhere.
    closingConnections: () => tracker.draining,
  });
  await registerLoadShedding(fastify, config, tracker, metrics);
  registerClassifyAdmission(fastify, app.get(ClassifierService), config);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter(app.get(AppConfig)));
  setupSwagger(app);
  app.enableShutdownHooks([...SHUTDOWN_SIGNALS]);
  return app;
}
