import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AuthenticationError } from '../common/errors/index.js';
import { AppConfig } from '../config/app-config.js';
import { ApiKeyMatcher, bearerToken } from './api-key.matcher.js';
import { IS_PUBLIC } from './public.decorator.js';

/**
 * Every route but the @Public() ones needs `Authorization: Bearer <one of API_KEYS>`. A missing or
 * wrong key gets the same 401, which names no key. The caller's key is never forwarded upstream
 * (UpstreamClient sends its own) and never logged: only its short hash id is kept, for rate limits.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly matcher: ApiKeyMatcher;

  constructor(
    config: AppConfig,
    private readonly reflector: Reflector,
  ) {
    this.matcher = new ApiKeyMatcher(config.access.apiKeys);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = bearerToken(request.headers.authorization);
    const keyId = token === undefined ? undefined : this.matcher.match(token);
    if (keyId === undefined) {
      throw new AuthenticationError(
        token === undefined
          ? 'Missing API key: send it as `Authorization: Bearer <key>`'
          : 'Invalid API key',
      );
    }
    request.ballast.clientId = keyId;
    return true;
  }
}
