import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RequestContext } from './request-context.js';

/** Injects the request's RequestContext (made by the onRequest hook) into a handler. */
export const Ctx = createParamDecorator((_: unknown, host: ExecutionContext): RequestContext => {
  return host.switchToHttp().getRequest<FastifyRequest>().ballast;
});
