import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { sendError } from '../common/errors/all-exceptions.filter.js';
import { toErrorResponse } from '../common/errors/error-response.js';
import type { AppConfig } from '../config/app-config.js';
import type { ClassifierService } from './classifier.service.js';

/** The route this hook guards (ClassifyController's). */
export const CLASSIFY_ROUTE = '/classify';

/**
 * Refuses `/classify` calls while the classifier queue has no room for a single text, before their
 * body is read, parsed or validated: the 503 then costs little more than the HTTP exchange itself,
 * which is what keeps refusals fast on a machine whose other cores run the model. Calls that pass
 * are still checked against the queue with their real size when they submit (ClassifierService).
 * Attached to that route only (as a route-level hook when Nest registers it), so no other request
 * pays for the check; it runs after the global onRequest hooks (request context, load shedding).
 * Must be called before the app initialises its routes.
 */
export function registerClassifyAdmission(fastify: FastifyInstance, classifier: ClassifierService, config: AppConfig): void {
  const { bodyLimitBytes } = config.server;
  const admission: onRequestHookHandler = (_request, reply, done) => {
    const refusal = classifier.admissionError();
    if (!refusal) return done();
    sendError(reply, toErrorResponse(refusal, { bodyLimitBytes }));
  };
  fastify.addHook('onRoute', (route) => {
    if (route.url !== CLASSIFY_ROUTE) return;
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [admission] : [...(Array.isArray(existing) ? existing : [existing]), admission];
  });
}
