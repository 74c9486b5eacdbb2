import { jest } from '@jest/globals';
import Fastify from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import { createRootLogger } from './logger.factory.js';
import { LazyRequestLogger, lazyRequestLoggerFactory } from './request-logger.js';

function capture(): { lines: Array<Record<string, unknown>>; logger: FastifyBaseLogger } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createRootLogger({ level: 'info', format: 'json', stream: { write: (line) => lines.push(JSON.parse(line)) } });
  return { lines, logger };
}

describe('LazyRequestLogger', () => {
  it('makes no child logger until something logs through it', () => {
    const { logger } = capture();
    const child = jest.spyOn(logger, 'child');
    const lazy = new LazyRequestLogger(logger, { reqId: 'r-1' }, undefined);
    expect(lazy.level).toBe('info');
    expect(child).not.toHaveBeenCalled();
    lazy.debug('below the level');
    expect(child).toHaveBeenCalledTimes(1);
    lazy.info('again');
    expect(child).toHaveBeenCalledTimes(1);
  });

  it('logs with the request id and the root logger redaction', () => {
    const { lines, logger } = capture();
    const lazy = new LazyRequestLogger(logger, { reqId: 'r-2' }, undefined);
    lazy.warn({ headers: { authorization: 'Bearer sk-secret' }, status: 502 }, 'upstream said no');
    lazy.child({ step: 'retry' }).error('nested');
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, reqId: 'r-2', status: 502, msg: 'upstream said no', headers: { authorization: '[redacted]' } }),
      expect.objectContaining({ level: 50, reqId: 'r-2', step: 'retry', msg: 'nested' }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('sk-secret');
  });

  it("reports a route's own log level before the child exists, and logs at it", () => {
    const { lines, logger } = capture();
    const lazy = new LazyRequestLogger(logger, { reqId: 'r-4' }, { level: 'warn' });
    expect(lazy.level).toBe('warn');
    lazy.info('below the route level');
    lazy.warn('at the route level');
    expect(lines).toEqual([expect.objectContaining({ level: 40, reqId: 'r-4', msg: 'at the route level' })]);
  });

  it('passes a level change on to the real child only', () => {
    const { logger } = capture();
    const lazy = new LazyRequestLogger(logger, { reqId: 'r-3' }, undefined);
    lazy.level = 'debug';
    expect(lazy.level).toBe('debug');
    expect(logger.level).toBe('info');
  });

  it('is what Fastify hands out as request.log, and Fastify logs through it', async () => {
    const { lines, logger } = capture();
    const app = Fastify({ loggerInstance: logger, childLoggerFactory: lazyRequestLoggerFactory, genReqId: () => 'req-42' });
    app.get('/ok', (request) => ({ lazy: request.log instanceof LazyRequestLogger }));
    app.get('/boom', () => {
      throw new Error('handler failed');
    });
    try {
      const origin = await app.listen({ host: '127.0.0.1', port: 0 });
      lines.length = 0; // "Server listening at ..."
      expect(await (await fetch(`${origin}/ok`)).json()).toEqual({ lazy: true });
      expect((await fetch(`${origin}/boom`)).status).toBe(500);
      // Fastify's own request lines ("incoming request", "request completed", the error) go through it.
      expect(lines.length).toBeGreaterThanOrEqual(4);
      for (const line of lines) expect(line.reqId).toBe('req-42');
      expect(lines).toContainEqual(expect.objectContaining({ level: 50, err: expect.objectContaining({ message: 'handler failed' }) }));
    } finally {
      await app.close();
    }
  });
});
