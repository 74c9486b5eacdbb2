import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import rateLimiterFlexible from 'rate-limiter-flexible';
import type { RateLimiterAbstract, RateLimiterRes as RateLimiterState } from 'rate-limiter-flexible';
import { RateLimitError } from '../common/errors/index.js';
import { IS_PUBLIC } from './public.decorator.js';

// A CommonJS package whose named exports Node's ESM loader cannot see statically.
const { RateLimiterRes } = rateLimiterFlexible;

/** The counter store: in memory by default; any rate-limiter-flexible store (Redis, ...) fits here. */
export const RATE_LIMITER = Symbol('RATE_LIMITER');

/**
 * RATE_LIMIT_RPM requests per minute per API key (its hash id, set by ApiKeyGuard) or, while auth is
 * off, per client IP. Every counted answer carries `x-ratelimit-*` headers (also in OpenAI's
 * `-requests` spelling); going over gets 429 with Retry-After. Health, readiness, metrics: never.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiterAbstract,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const tracker = request.ballast.clientId ? `key:${request.ballast.clientId}` : `ip:${request.ip}`;
    let state: RateLimiterState;
    try {
      state = await this.limiter.consume(tracker);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection; // the store failed: not the caller's fault
      const headers = this.headers(rejection);
      headers['retry-after'] = String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      throw new RateLimitError(
        `Rate limit exceeded: ${this.limiter.points} requests per minute per API key (RATE_LIMIT_RPM); see Retry-After`,
        headers,
      );
    }
    void reply.headers(this.headers(state));
    return true;
  }

  private headers(state: RateLimiterState): Record<string, string> {
    const limit = String(this.limiter.points);
    const remaining = String(Math.max(0, state.remainingPoints));
    const reset = String(Math.max(0, Math.ceil(state.msBeforeNext / 1000)));
    return {
      'x-ratelimit-limit': limit,
      'x-ratelimit-remaining': remaining,
      'x-ratelimit-reset': reset,
      'x-ratelimit-limit-requests': limit,
      'x-ratelimit-remaining-requests': remaining,
      'x-ratelimit-reset-requests': `${reset}s`,
    };
  }
}
