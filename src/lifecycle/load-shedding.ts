import underPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OverloadedError, ShuttingDownError } from '../common/errors/index.js';
import { sendError } from '../common/errors/all-exceptions.filter.js';
import { toErrorResponse } from '../common/errors/error-response.js';
import { AppConfig } from '../config/app-config.js';
import type { MetricsService } from '../metrics/metrics.service.js';
import { RequestTracker } from './request-tracker.js';

/** Probes are never shed, counted or refused while draining: they must answer under any load. */
const PROBES = new Set(['/health', '/ready', '/metrics']);

export function isProbe(request: FastifyRequest): boolean {
  // The route as the request lifecycle recorded it (its onRequest hook runs first).
  return PROBES.has(request.ballast?.route ?? request.routeOptions.url ?? '');
}

function refuse(reply: FastifyReply, error: OverloadedError, config: AppConfig): void {
  sendError(reply, toErrorResponse(error, { bodyLimitBytes: config.server.bodyLimitBytes }));
}

/**
 * Answered at once, before any body is read or any work starts: 503 `overloaded_error` with
 * Retry-After when MAX_IN_FLIGHT requests are already in progress or the event loop lags past
 * MAX_EVENT_LOOP_DELAY_MS (@fastify/under-pressure measures it), and 503 `shutting_down` with
 * `Connection: close` while draining. Registered after the request lifecycle hook, so refused
 * requests are still logged (status 503).
 */
export async function registerLoadShedding(
  fastify: FastifyInstance,
  config: AppConfig,
  tracker: RequestTracker,
  metrics: MetricsService,
): Promise<void> {
  const { maxInFlight, maxEventLoopDelayMs } = config.shedding;

  fastify.addHook('onRequest', (request, reply, done) => {
    if (isProbe(request)) return done();
    if (tracker.draining) {
      metrics.shed.inc({ reason: 'draining' });
      void reply.header('connection', 'close');
      refuse(reply, new ShuttingDownError(), config);
      return;
    }
    if (maxInFlight > 0 && tracker.inFlight >= maxInFlight) {
      metrics.shed.inc({ reason: 'in_flight' });
      refuse(reply, new OverloadedError(`Too many requests in progress (MAX_IN_FLIGHT=${maxInFlight}); retry shortly`, { code: 'too_many_in_flight', retryAfterSeconds: 1 }), config);
      return;
    }
    // Finished by the request lifecycle's one close listener (app.factory.ts wires onEnded).
    tracker.start(request.ballast);
    done();
  });

  if (maxEventLoopDelayMs > 0) {
    await fastify.register(underPressure, {
      maxEventLoopDelay: maxEventLoopDelayMs,
      sampleInterval: 100,
      // A returned value is sent as the reply (the plugin's typings say void, its code sends it);
      // undefined lets the request through.
      pressureHandler: ((request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
        if (isProbe(request)) return undefined;
        metrics.shed.inc({ reason: 'event_loop' });
        const error = new OverloadedError(`The server is overloaded (${type} ${Math.round(value ?? 0)}); retry shortly`, {
          code: 'event_loop_overloaded',
          retryAfterSeconds: 1,
        });
        const response = toErrorResponse(error, { bodyLimitBytes: config.server.bodyLimitBytes });
        void reply.code(response.status).headers(response.headers);
        return response.body;
      }) as unknown as FastifyUnderPressureOptions['pressureHandler'],
    });
  }
}
