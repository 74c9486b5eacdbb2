import type { FastifyInstance } from 'fastify';
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
 */
export function registerClassifyAdmission(fastify: FastifyInstance, classifier: ClassifierService, config: AppConfig): void {
  const { bodyLimitBytes } = config.server;
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.url !== CLASSIFY_ROUTE) return done();
    const refusal = classifier.admissionError();
    if (!refusal) return done();
    sendError(reply, toErrorResponse(refusal, { bodyLimitBytes }));
  });
}
