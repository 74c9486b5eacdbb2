import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn } from 'pino';
import { LOG_LEVELS } from '../../config/environment.schema.js';

/**
 * Fastify's per-request logger (`request.log`), made only when something logs through it. Fastify
 * builds a pino child per request by default: ~2–3 µs each with our redaction paths (every binding
 * goes through the wildcard redactor), plus an object kept for the request's life. ballast's own
 * request line does not use it (request-lifecycle.ts), and Fastify logs through it only on errors,
 * so on the hot path nothing is made; the first call makes the real child, with the same bindings
 * (`reqId`) and the root logger's redaction.
 */
export class LazyRequestLogger {
  private made?: FastifyBaseLogger;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions | undefined,
  ) {}

  /** The real child logger (made on first use). */
  get logger(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): LevelWithSilentOrString {
    return this.made?.level ?? this.options?.level ?? this.parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.logger.level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }

  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;
  declare silent: LogFn;
}

for (const level of LOG_LEVELS) {
  Object.defineProperty(LazyRequestLogger.prototype, level, {
    value: function (this: LazyRequestLogger, ...args: unknown[]): void {
      const logger = this.logger;
      (logger[level] as (...a: unknown[]) => void).apply(logger, args);
    },
    writable: true,
    configurable: true,
  });
}

/** Fastify's `childLoggerFactory`: a LazyRequestLogger per request (options only when there are some). */
export const lazyRequestLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  new LazyRequestLogger(logger, bindings, options && Object.keys(options).length > 0 ? options : undefined) as unknown as FastifyBaseLogger;
