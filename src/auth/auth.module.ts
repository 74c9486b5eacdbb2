import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import rateLimiterFlexible from 'rate-limiter-flexible';
import { parseKeys } from '../config/app-config.js';
import type { EnvironmentSchema } from '../config/environment.schema.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { RATE_LIMITER, RateLimitGuard } from './rate-limit.guard.js';

/**
 * API keys and per-key rate limits, as global guards, in that order. A guard that is switched off
 * (no API_KEYS, RATE_LIMIT_RPM=0) is not registered at all, so it costs nothing per request.
 * Counters live in rate-limiter-flexible's in-memory store; for several instances sharing limits,
 * provide its RateLimiterRedis under RATE_LIMITER instead.
 */
@Module({})
export class AuthModule {
  static forRoot(env: EnvironmentSchema): DynamicModule {
    const providers: Provider[] = [];
    if (parseKeys(env.API_KEYS).length > 0) providers.push({ provide: APP_GUARD, useClass: ApiKeyGuard });
    const rpm = env.RATE_LIMIT_RPM;
    if (rpm > 0) {
      providers.push({ provide: RATE_LIMITER, useValue: new rateLimiterFlexible.RateLimiterMemory({ points: rpm, duration: 60 }) });
      providers.push({ provide: APP_GUARD, useClass: RateLimitGuard });
    }
    return { module: AuthModule, providers };
  }
}
