import type { FastifyInstance } from 'fastify';
import type { MetricsService } from '../../metrics/metrics.service.js';
import { DeferredLines } from '../logging/deferred-lines.js';
import { RequestContext } from './request-context.js';

/** Status we log for a request whose client left before the answer was written (nginx's convention). */
export const CLIENT_CLOSED_STATUS = 499;

export interface RequestLifecycleOptions {
  metrics: MetricsService;
  /** Told once per request, when its response has gone out or its client left (the in-flight count). */
  onEnded?: (ctx: RequestContext) => void;
  /** True while every response should ask its client to close the connection (the server is draining). */
  closingConnections?: () => boolean;
}

/**
 * Per-request plumbing kept out of controllers: a RequestContext whose signal fires when the client
 * disconnects, the request id echoed back, Server-Timing with ballast's own time, and one log line
 * per request (status 499 for a client that left), and the request's HTTP metrics.
 *
 * One `close` listener and one onSend hook per request serve everything that needs the end of a
 * request or its response headers (`onEnded`, `closingConnections`), rather than one more listener
 * and hook per feature, each run on every request.
 */
export function registerRequestLifecycle(fastify: FastifyInstance, options: RequestLifecycleOptions): void {
  const { metrics, onEnded, closingConnections } = options;
  // Declared up front so every request object has the property from construction: assigning an
  // undeclared one in the hook changed the object's shape per request (V8 map transitions/migrations).
  fastify.decorateRequest('ballast', null as unknown as RequestContext);
  // The request line carries only fields set here (no header, body or key), so it skips redaction,
  // which cost ~17 µs a line (pino's redact copies the object to censor 21 paths).
  // Written in batches a few ms after the response (deferred-lines.ts), off the next request's path.
  const lines = new DeferredLines(fastify.log.child({}, { redact: [] }));
  fastify.addHook('onClose', (_instance, done) => {
    lines.close();
    done();
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    const ctx = new RequestContext();
    ctx.route = request.routeOptions.url ?? 'unmatched';
    request.ballast = ctx;
    const res = reply.raw;
    // `on`, not `once`: a response emits 'close' once, and once() wraps every listener in two more objects.
    res.on('close', () => {
      const finished = res.writableFinished;
      if (!finished) ctx.markClientClosed();
      ctx.responseEnded();
      const status = finished ? res.statusCode : CLIENT_CLOSED_STATUS;
      const now = performance.now();
      const route = ctx.route;
      const durationMs = now - ctx.startedAt;
      metrics.httpDuration.series(request.method, route, status).observe(durationMs / 1000);
      metrics.ownTime.series(route).observe(ctx.ownMs(now) / 1000);
      const fields: { reqId: string; method: string; route: string; status: number; durationMs: number; upstreamMs: number; storeMs?: number } = {
        reqId: request.id,
        method: request.method,
        route,
        status,
        durationMs: round(durationMs),
        upstreamMs: round(ctx.upstreamMs),
      };
      if (ctx.usedStore) fields.storeMs = round(ctx.storeMs);
      if (status >= 500) lines.warn(fields, 'request failed');
      else lines.info(fields, finished ? 'request completed' : 'client closed request');
      // Last: a drain waiting for the in-flight count to reach 0 then finds this line queued.
      onEnded?.(ctx);
    });
    done();
  });

  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (closingConnections?.()) void reply.header('connection', 'close');
    void reply.header('x-request-id', request.id).header('server-timing', request.ballast.serverTiming());
    done(null, payload);
  });
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
