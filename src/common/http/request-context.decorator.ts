import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RequestContext } from './request-context.js';

/** Injects the request's RequestContext (made by the onRequest hook) into a handler. */
export const Ctx = createParamDecorator((_: unknown, host: ExecutionContext): RequestContext => {
  return host.switchToHttp().getRequest<FastifyRequest>().ballast;
});

/**
 * What the hot routes take, as their only parameter (`@Req()`): the request whose body the route
 * schema (`@RouteSchema`) or the service has checked, with its RequestContext on `ballast`.
 * `@Body()` and `@Ctx()` are pipeable parameters, so Nest runs each through the global
 * ValidationPipe, which has nothing to do for them (the body is not a class-validator DTO) but
 * costs ~12 µs of promises per request on the response path (docs/benchmarks.md); `@Req()` is not
 * pipeable, so no pipe runs at all. Routes that take a DTO class keep `@Body()` and the pipe.
 */
export type CheckedRequest<Body = unknown> = FastifyRequest<{ Body: Body }>;
