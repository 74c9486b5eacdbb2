import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/app-config.js';
import { lingerAfterEarlyAnswer } from '../http/oversized-body.js';
import { ClientClosedError } from './client-closed.error.js';
import { ErrorResponse, toErrorResponse } from './error-response.js';

/** The single global filter: every error leaves in the shape of DESIGN.md; none escapes. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly config: AppConfig) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (error instanceof ClientClosedError || reply.raw.destroyed) {
      // Nobody to answer; the request is logged as 499 when its socket closes.
      if (!reply.sent) reply.hijack();
      reply.raw.destroy();
      return;
    }
    const response = toErrorResponse(error, { bodyLimitBytes: this.config.server.bodyLimitBytes });
    if (response.status >= 500 && response.body.error.type === 'internal_error') this.logUnexpected(error);
    // A body refused before it was read: let the client finish sending it so it can read the 413.
    if (response.status === 413) lingerAfterEarlyAnswer(reply, this.config.server.linger);
    sendError(reply, response);
  }

  private logUnexpected(error: unknown): void {
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : `Non-error thrown: ${String(error)}`);
  }
}

export function sendError(reply: FastifyReply, response: ErrorResponse): void {
  if (reply.sent || reply.raw.headersSent) {
    reply.raw.end();
    return;
  }
  void reply.code(response.status).headers(response.headers).type('application/json; charset=utf-8').send(response.body);
}
